//! The message pane: the header fields, then the body.

use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::text::Span;
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{block, field, fit_title_or};
use crate::app::{AppState, Focus, MessageField};
use crate::tui::theme::Theme;

pub fn composer(state: &AppState, frame: &mut Frame, area: Rect, theme: &Theme) {
    let focused = state.focus == Focus::Composer;
    let m = &state.message;
    let title = fit_title_or(
        "Message (what the reader sees): header fields, then the body",
        "Message (what the reader sees)",
        area.width,
    );
    let b = block(&title, focused, theme);
    let inner = b.inner(area);
    frame.render_widget(b, area);
    // Attachments (issue 14) are listed under the body, one line each, in
    // a third of the pane at most and at least one line that names them.
    let attached = crate::app::everyday::attachment_lines(m);
    let attached_rows = if attached.is_empty() {
        0
    } else {
        (attached.len() as u16 + 1).min((inner.height.saturating_sub(3) / 3).max(1))
    };
    let header_rows = (m.headers.lines().len() as u16)
        .min(inner.height.saturating_sub(3 + attached_rows))
        .max(1);
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(header_rows),
            Constraint::Length(1),
            Constraint::Min(1),
            Constraint::Length(attached_rows),
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
    if attached_rows == 1 {
        let names: Vec<&str> = m.attachments.iter().map(|a| a.name.as_str()).collect();
        let line = format!("── attached: {} ──", names.join(", "));
        let line = crate::proto::visible::visible(line.as_bytes());
        frame.render_widget(Paragraph::new(Span::styled(line, theme.hint())), rows[3]);
    } else if attached_rows > 1 {
        let mut lines = vec![ratatui::text::Line::from(Span::styled(
            format!("── attached ({}) ──", attached.len()),
            theme.hint(),
        ))];
        lines.extend(attached.into_iter().map(ratatui::text::Line::from));
        frame.render_widget(Paragraph::new(lines), rows[3]);
    }
}

#[cfg(test)]
mod tests {
    use crate::tui::test_support::{empty, render, COLOR};

    #[test]
    fn snapshots_of_a_message_with_attachments() {
        let mut s = empty();
        crate::app::everyday::attach(&mut s, "/tmp/report.pdf", vec![0; 123_456]);
        crate::app::everyday::attach(&mut s, "notes.txt", b"hello".to_vec());
        for (w, h) in [(80, 24), (120, 40)] {
            insta::assert_snapshot!(
                format!("attachments_{w}x{h}"),
                render(&s, w, h, COLOR).backend()
            );
        }
    }
}
