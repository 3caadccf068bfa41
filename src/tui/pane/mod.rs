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
