//! The status line: the session's stage, TLS, AUTH, the server and its
//! extensions, most telling first.

use ratatui::layout::Rect;
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::app::{AppState, Connection};
use crate::proto::client::Stage;
use crate::tui::theme::Theme;

pub fn status(state: &AppState, frame: &mut Frame, area: Rect, theme: &Theme) {
    // A replay says so first, with its step count (issue 13).
    if let Some(r) = &state.replay {
        let mut text = crate::app::replay_run::status(r);
        if let Some(c) = state.session.caps() {
            text.push_str(" │ ");
            text.push_str(&c.summary().join(" "));
        }
        frame.render_widget(Paragraph::new(text).style(theme.status()), area);
        return;
    }
    let session = &state.session;
    let server = match (&session.peer, &session.target.server) {
        (Some(p), None) => format!("{} {p}", session.target.label()),
        _ => session.target.label(),
    };
    // Most telling first: a narrow terminal cuts the end.
    let mut parts = Vec::new();
    match &session.conn {
        Connection::Disconnected => parts.push(" not connected".into()),
        Connection::Connecting => parts.push(" connecting…".into()),
        Connection::Open(s) => {
            parts.push(format!(" stage: {}", s.stage));
            if s.stage == Stage::Connected && !s.awaiting {
                parts.push("no 220 greeting: QUIT, Disconnect or a raw line".into());
            }
            if s.awaiting {
                parts.push("waiting for the server…".into());
            }
            parts.push(format!("TLS: {}", if s.tls { "yes" } else { "no" }));
            parts.push(format!("AUTH: {}", s.auth.as_deref().unwrap_or("no")));
        }
    }
    parts.push(server);
    if let Some(c) = session.caps() {
        parts.push(c.summary().join(" "));
    }
    let text = parts.join(" │ ");
    frame.render_widget(Paragraph::new(text).style(theme.status()), area);
}

#[cfg(test)]
mod tests {
    use crate::app::{AppState, Connection};
    use crate::tui::test_support::{busy, render, COLOR};

    #[test]
    fn the_status_line_says_when_the_server_is_awaited() {
        let mut s = busy();
        let first_row = |s: &AppState| {
            let t = render(s, 120, 40, COLOR);
            let buf = t.backend().buffer().clone();
            (0..120)
                .map(|x| buf[(x, 0)].symbol().to_string())
                .collect::<String>()
        };
        assert!(!first_row(&s).contains("waiting for the server"));
        if let Connection::Open(v) = &mut s.session.conn {
            v.awaiting = true;
        }
        assert!(
            first_row(&s).starts_with(" stage: ready │ waiting for the server… │ TLS: no"),
            "{}",
            first_row(&s)
        );
    }
}
