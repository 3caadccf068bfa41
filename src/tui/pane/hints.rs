//! The hint bar: the latest notice, then the focused pane's keys and the
//! global ones, from the key table.

use ratatui::layout::Rect;
use ratatui::text::{Line as TLine, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::app::AppState;
use crate::tui::keymap::BINDINGS;
use crate::tui::theme::Theme;

pub fn hints(state: &AppState, frame: &mut Frame, area: Rect, theme: &Theme) {
    let mut spans = Vec::new();
    if let Some(n) = &state.notice {
        spans.push(Span::styled(format!(" {n} "), theme.notice()));
        spans.push(Span::raw("│"));
    }
    // Presenter mode hides the palette: its selected item shows here.
    if state.presenter && state.focus == crate::app::Focus::Palette {
        if let Some(item) = state.palette.selected() {
            spans.push(Span::styled(format!(" ▸ {} ", item.label), theme.key()));
            spans.push(Span::raw("│"));
        }
    }
    // The focused pane's keys first, then the global ones.
    let local = BINDINGS
        .iter()
        .filter(|b| b.pane == Some(state.focus) && b.offered(state));
    let global = BINDINGS.iter().filter(|b| b.pane.is_none() && b.hint);
    // A replay's keys first while one is open (issue 13).
    let replay = state
        .replay
        .is_some()
        .then(crate::tui::keymap::replay_rows)
        .into_iter()
        .flatten();
    for b in replay.chain(local).chain(global).take(6) {
        spans.push(Span::styled(format!(" {}", b.shown), theme.key()));
        spans.push(Span::styled(format!(" {} ", b.what), theme.hint()));
    }
    frame.render_widget(Paragraph::new(TLine::from(spans)), area);
}
