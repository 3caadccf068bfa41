//! The envelope pane: MAIL FROM and the RCPT TO list, and how many of the
//! recipients were sent.

use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::text::Span;
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{block, field, fit_title_or};
use crate::app::{AppState, EnvelopeField, Focus};
use crate::tui::theme::Theme;

pub fn envelope(state: &AppState, frame: &mut Frame, area: Rect, theme: &Theme) {
    let focused = state.focus == Focus::Envelope;
    let e = &state.envelope;
    let rcpts = e.rcpts();
    let sent = rcpts.len() - state.session.unsent(&rcpts).len();
    let short = format!("Envelope · {sent}/{} RCPT sent", rcpts.len());
    let title = fit_title_or(
        &format!("{short} · what the server acts on"),
        &short,
        area.width,
    );
    let b = block(&title, focused, theme);
    let inner = b.inner(area);
    frame.render_widget(b, area);
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Min(0),
        ])
        .split(inner);
    frame.render_widget(
        Paragraph::new(Span::styled("MAIL FROM:", theme.label())),
        rows[0],
    );
    let on_from = focused && e.field == EnvelopeField::MailFrom;
    frame.render_widget(&field(&e.mail_from, on_from, theme), rows[1]);
    frame.render_widget(
        Paragraph::new(Span::styled("RCPT TO (one per line):", theme.label())),
        rows[2],
    );
    let on_rcpts = focused && e.field == EnvelopeField::Rcpts;
    frame.render_widget(&field(&e.rcpts, on_rcpts, theme), rows[3]);
}
