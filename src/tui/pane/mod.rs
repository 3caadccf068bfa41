//! One file per pane, each drawing from `&AppState` alone: nothing here
//! changes the state or computes what the state already holds.

pub mod analysis;
pub mod composer;
pub mod envelope;
pub mod help;
pub mod hints;
pub mod palette;
pub mod server_side;
pub mod status;
pub mod transcript;

use ratatui::style::Style;
use ratatui::text::Span;
use ratatui::widgets::{Block, Borders};
use tui_textarea::TextArea;

use crate::tui::theme::Theme;

/// A pane's frame: its border and title, marked when focused.
pub(crate) fn block<'a>(title: &'a str, focused: bool, theme: &Theme) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .style(theme.base())
        .border_style(theme.block(focused))
        .title(Span::styled(format!(" {title} "), theme.title(focused)))
}

/// Where a scrolled view stands, for its pane's bottom border: rows
/// above and below the view, and the keys that reach them; None when all
/// of it shows.
pub(crate) fn more(offset: u16, content: u16, view: u16, keys: &str) -> Option<String> {
    let above = offset > 0;
    let below = u32::from(offset) + u32::from(view) < u32::from(content);
    let text = match (above, below) {
        (false, false) => return None,
        (true, true) => "▲ more above · ▼ more below",
        (true, false) => "▲ more above",
        (false, true) => "▼ more below",
    };
    Some(format!(" {text} ({keys}) "))
}

/// The rows a wrapped paragraph takes at this width.
pub(crate) fn wrapped_rows(text: &ratatui::widgets::Paragraph<'_>, width: u16) -> u16 {
    u16::try_from(text.line_count(width.max(1))).unwrap_or(u16::MAX)
}

/// The rows `offset` may take for `content` rows in a `view` of that height.
pub(crate) fn clamp_offset(offset: u16, content: u16, view: u16) -> u16 {
    offset.min(content.saturating_sub(view))
}

/// A text field to draw: the cursor shows only when the field has focus.
pub(crate) fn field<'a>(ta: &TextArea<'a>, focused: bool, theme: &Theme) -> TextArea<'a> {
    let mut t = ta.clone();
    t.set_cursor_line_style(Style::default());
    t.set_cursor_style(if focused {
        theme.selected()
    } else {
        Style::default()
    });
    t
}
