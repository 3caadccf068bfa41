//! What the built-in server received: what it acted on (the envelope)
//! beside what the recipient's program will display (the header fields).

use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::text::{Line as TLine, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use super::block;
use crate::app::AppState;
use crate::tui::theme::Theme;

/// The latest message the built-in server accepted: what it acted on beside
/// what the recipient's program will display.
pub fn server_side(state: &AppState, frame: &mut Frame, area: Rect, theme: &Theme) {
    let b = block(
        "The server's side: it delivers by the envelope, the reader sees the headers (F3)",
        false,
        theme,
    );
    let inner = b.inner(area);
    frame.render_widget(b, area);
    let Some(m) = state.stored.last() else {
        let text = if state.session.target.server.is_some() {
            "Only the built-in server shows its side: connect without a server argument."
        } else {
            "Nothing received yet. Deliver a message (\"Run to the end\") and it shows here."
        };
        frame.render_widget(
            Paragraph::new(Span::styled(text, theme.hint())).wrap(Wrap { trim: true }),
            inner,
        );
        return;
    };
    let cols = Layout::default()
        .direction(Direction::Horizontal)
        .constraints([Constraint::Percentage(45), Constraint::Percentage(55)])
        .split(inner);
    let r = &m.received;
    let rcpts: Vec<String> = r.rcpts.iter().map(|(a, _)| format!("<{a}>")).collect();
    let acted = vec![
        TLine::from(Span::styled(
            format!("the server acted on (message {})", r.id),
            theme.label(),
        )),
        TLine::from(format!("client {} · EHLO {}", r.client, r.helo)),
        TLine::from(format!(
            "TLS {} · AUTH {}",
            if r.tls { "yes" } else { "no" },
            r.auth.as_deref().unwrap_or("no")
        )),
        TLine::from(format!("MAIL FROM:<{}>", r.mail_from)),
        TLine::from(format!("RCPT TO:{}", rcpts.join(", "))),
    ];
    frame.render_widget(Paragraph::new(acted).wrap(Wrap { trim: false }), cols[0]);
    let delivered = String::from_utf8_lossy(&m.delivered);
    let mut shown = vec![TLine::from(Span::styled(
        "the reader's program shows",
        theme.label(),
    ))];
    // The header section as delivered, Return-Path and Received included.
    for l in delivered.split("\r\n").take_while(|l| !l.is_empty()) {
        // A folded line's leading tab is layout, not content.
        let l = l
            .strip_prefix('\t')
            .map(|r| format!("  {r}"))
            .unwrap_or_else(|| l.to_string());
        shown.push(TLine::from(crate::proto::visible::visible(l.as_bytes())));
    }
    frame.render_widget(Paragraph::new(shown), cols[1]);
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::app::Lower;
    use crate::tui::test_support::{busy, render, COLOR};

    #[test]
    fn snapshots_of_the_servers_side() {
        let mut s = busy();
        s.lower = Lower::ServerSide;
        s.refresh();
        insta::assert_snapshot!(
            "server_side_empty_80x24",
            render(&s, 80, 24, COLOR).backend()
        );
        let received = crate::proto::server::ReceivedMessage {
            id: "AB12C00001".into(),
            client: "127.0.0.1".into(),
            helo: "client.example".into(),
            tls: true,
            auth: Some("alice@example.test".into()),
            mail_from: "student@client.example".into(),
            mail_params: vec!["SIZE=300".into()],
            rcpts: vec![
                ("alice@example.test".into(), vec![]),
                ("hidden@example.test".into(), vec![]),
            ],
            content: b"From: Boss <ceo@bank.example>\r\nTo: Alice <alice@example.test>\r\nSubject: hi\r\n\r\nbody\r\n".to_vec(),
        };
        s.stored
            .push(std::sync::Arc::new(crate::server::StoredMessage::new(
                received,
                "demo.example.test",
                std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000),
            )));
        for (w, h) in [(80, 24), (120, 40)] {
            insta::assert_snapshot!(
                format!("server_side_{w}x{h}"),
                render(&s, w, h, COLOR).backend()
            );
        }
        let text = format!("{:?}", render(&s, 120, 40, COLOR).backend().buffer());
        assert!(
            text.contains("RCPT TO:<alice@example.test>,")
                && text.contains("<hidden@example.test>")
        );
        assert!(text.contains("Return-Path: <student@client.example>"));
    }
}
