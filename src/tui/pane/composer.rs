//! The message pane: the header fields, then the body.

use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::text::Span;
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{block, field};
use crate::app::{AppState, Focus, MessageField};
use crate::tui::theme::Theme;

pub fn composer(state: &AppState, frame: &mut Frame, area: Rect, theme: &Theme) {
    let focused = state.focus == Focus::Composer;
    let m = &state.message;
    let b = block(
        "Message (what the reader sees): header fields, then the body",
        focused,
        theme,
    );
    let inner = b.inner(area);
    frame.render_widget(b, area);
    let header_rows = (m.headers.lines().len() as u16)
        .min(inner.height.saturating_sub(3))
        .max(1);
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(header_rows),
            Constraint::Length(1),
            Constraint::Min(1),
        ])
        .split(inner);
    let on_headers = focused && m.field == MessageField::Headers;
    frame.render_widget(&field(&m.headers, on_headers, theme), rows[0]);
    frame.render_widget(
        Paragraph::new(Span::styled("── body ──", theme.hint())),
        rows[1],
    );
    let on_body = focused && m.field == MessageField::Body;
    frame.render_widget(&field(&m.body, on_body, theme), rows[2]);
}
