//! What the built-in server received: what it acted on (the envelope)
//! beside what the recipient's program will display (the header fields),
//! one above the other where the pane is narrow, with the authentication
//! verdicts it judged on receipt; it scrolls as F2 does.

use ratatui::layout::Rect;
use ratatui::text::{Line as TLine, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{block, clamp_offset, fit_title, more, side_by_side, wrap_all};
use crate::analysis::auth::{Method, Outcome, Verdict};
use crate::app::{AppState, Focus, LineKind};
use crate::server::Bounce;
use crate::tui::theme::Theme;

/// The latest message the built-in server accepted: what it acted on beside
/// what the recipient's program will display, or one above the other where
/// the pane is narrow; scrolled by rows where it is short.
pub fn server_side(state: &AppState, frame: &mut Frame, area: Rect, theme: &Theme) {
    let focused = state.focus == Focus::Composer;
    let title = fit_title(TITLE, area.width);
    let b = block(&title, focused, theme);
    let inner = b.inner(area);
    let text = lines(state, usize::from(inner.width), theme);
    let content = u16::try_from(text.len()).unwrap_or(u16::MAX);
    let offset = clamp_offset(state.views.server_side.offset, content, inner.height);
    let keys = if focused {
        "↑ ↓ PgUp PgDn"
    } else {
        "Tab here, or the wheel"
    };
    let b = match more(offset, content, inner.height, keys) {
        Some(m) => b.title_bottom(Span::styled(m, theme.hint())),
        None => b,
    };
    frame.render_widget(b, area);
    frame.render_widget(Paragraph::new(text).scroll((offset, 0)), inner);
}

const TITLE: &str = "The server's side (F3: back to the message)";

/// The pane's rows at `area`'s inner width, and the rows it shows: the
/// loop's measure for scrolling.
pub fn measure(state: &AppState, area: Rect) -> (u16, u16) {
    let inner = block("", false, &Theme::PLAIN).inner(area);
    let rows = lines(state, usize::from(inner.width), &Theme::PLAIN).len();
    (u16::try_from(rows).unwrap_or(u16::MAX), inner.height)
}

/// Everything the pane says, wrapped to `width`: the bounce and the
/// verdicts across the pane, then the two columns.
fn lines(state: &AppState, width: usize, theme: &Theme) -> Vec<TLine<'static>> {
    let Some(m) = state.stored.last() else {
        let text = if state.session.target.server.is_some() {
            "Only the built-in server shows its side: connect without a server argument."
        } else {
            "Nothing received yet. Deliver a message (\"Run to the end\") and it shows here."
        };
        return wrap_all(&[TLine::from(Span::styled(text, theme.hint()))], width);
    };
    let mut out = Vec::new();
    if let Some(b) = &m.bounce {
        out.extend(wrap_all(&bounce(b, &m.headers.from, theme), width));
    }
    out.extend(wrap_all(&verdicts(&m.verdicts, theme), width));
    let acted = acted(&m.received, theme);
    let shown = shown(&m.delivered, theme);
    match side_by_side(&acted, &shown, width, theme.hint()) {
        Some(rows) => out.extend(rows),
        None => {
            out.extend(wrap_all(&acted, width));
            out.extend(wrap_all(&shown, width));
        }
    }
    out
}

/// What the server acted on: the envelope, one RCPT TO a line as sent.
/// What the client sent is shown with its control characters visible.
fn acted(r: &crate::proto::server::ReceivedMessage, theme: &Theme) -> Vec<TLine<'static>> {
    let v = |s: &str| crate::proto::visible::visible(s.as_bytes());
    let mut lines = vec![
        TLine::from(Span::styled(
            format!("the server acted on the envelope (message {})", v(&r.id)),
            theme.label(),
        )),
        TLine::from(format!("client {} · EHLO {}", v(&r.client), v(&r.helo))),
        TLine::from(format!(
            "TLS {} · AUTH {}",
            if r.tls { "yes" } else { "no" },
            v(r.auth.as_deref().unwrap_or("no"))
        )),
        TLine::from(format!("MAIL FROM:<{}>", v(&r.mail_from))),
    ];
    lines.extend(
        r.rcpts
            .iter()
            .map(|(a, _)| TLine::from(format!("RCPT TO:<{}>", v(a)))),
    );
    lines
}

/// What the reader's program shows: the header section as delivered,
/// Return-Path and Received included.
fn shown(delivered: &[u8], theme: &Theme) -> Vec<TLine<'static>> {
    let delivered = String::from_utf8_lossy(delivered);
    let mut shown = vec![TLine::from(Span::styled(
        "the reader's program shows the headers",
        theme.label(),
    ))];
    for l in delivered.split("\r\n").take_while(|l| !l.is_empty()) {
        // A folded line's leading tab is layout, not content.
        let l = l
            .strip_prefix('\t')
            .map(|r| format!("  {r}"))
            .unwrap_or_else(|| l.to_string());
        shown.push(TLine::from(crate::proto::visible::visible(l.as_bytes())));
    }
    shown
}

/// The bounce above the columns, first because it is the news: what failed
/// after the 250, where the notification went (the envelope sender) and
/// the From: the reader saw, which it did not go to.
fn bounce(b: &Bounce, from: &[String], theme: &Theme) -> Vec<TLine<'static>> {
    let mut lines = vec![
        TLine::from(vec![
            Span::styled("bounce: ", theme.label()),
            Span::styled(b.what(), theme.line(LineKind::Server, Some(552))),
        ]),
        TLine::from(b.where_to()),
    ];
    if b.to().is_some() {
        let from = match from {
            [] => "no From: field".to_string(),
            all => format!("From: {}", all.join(", ")),
        };
        lines.push(TLine::from(format!("never to {from}")));
    }
    lines
}

/// The verdicts above the columns, as the receiver judged them: SPF on the
/// envelope, DMARC on From:, so they sit between the two. Each result in
/// the colour of a reply of its weight; DMARC's sentence after them,
/// because it is the one that decides whether an enforcing receiver keeps
/// the message. None when nothing was judged.
fn verdicts(verdicts: &[Verdict], theme: &Theme) -> Vec<TLine<'static>> {
    if verdicts.is_empty() {
        return Vec::new();
    }
    let mut spans = vec![Span::styled("the server judged: ", theme.label())];
    for (i, v) in verdicts.iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw(" "));
        }
        let text = match v.domain.as_str() {
            "" => format!("{}={}", v.method.name(), v.result),
            d => format!("{}={} ({d})", v.method.name(), v.result),
        };
        spans.push(Span::styled(
            text,
            theme.line(LineKind::Server, weight(v.result)),
        ));
    }
    let mut lines = vec![TLine::from(spans)];
    if let Some(d) = verdicts.iter().find(|v| v.method == Method::Dmarc) {
        lines.push(TLine::from(d.sentence.to_string()));
    }
    lines
}

/// A result drawn as a reply of the same weight: pass as a 2xx, a failure
/// as a 5xx, a softfail or a temporary error as a 4xx, no verdict plain.
fn weight(result: Outcome) -> Option<u16> {
    match result {
        Outcome::Pass => Some(250),
        Outcome::Fail | Outcome::PermError => Some(550),
        Outcome::SoftFail | Outcome::TempError => Some(450),
        Outcome::None | Outcome::Neutral => None,
    }
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
        for (w, h) in [(80, 24), (100, 30), (120, 40), (200, 50)] {
            insta::assert_snapshot!(
                format!("server_side_{w}x{h}"),
                render(&s, w, h, COLOR).backend()
            );
        }
        let text = format!("{:?}", render(&s, 120, 40, COLOR).backend().buffer());
        assert!(
            text.contains("RCPT TO:<alice@example.test>")
                && text.contains("RCPT TO:<hidden@example.test>"),
            "one RCPT TO a line, as sent"
        );
        assert!(text.contains("Return-Path: <student@client.example>"));
    }

    /// A spoofed From: example.test (DMARC p=reject) from the demo sender,
    /// judged by the server's own checks against its demo zone.
    #[test]
    fn the_verdicts_show_as_the_server_judged_them() {
        let mut s = busy();
        s.lower = Lower::ServerSide;
        let received = crate::proto::server::ReceivedMessage {
            id: "AB12C00004".into(),
            client: "127.0.0.1".into(),
            helo: "client.example".into(),
            tls: false,
            auth: None,
            mail_from: "student@client.example".into(),
            mail_params: vec![],
            rcpts: vec![("alice@example.test".into(), vec![])],
            content: b"From: The CEO <ceo@example.test>\r\nTo: Alice <alice@example.test>\r\nSubject: wire the money\r\n\r\nbody\r\n".to_vec(),
        };
        let judge = crate::server::Judge::demo().unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let verdicts = runtime.block_on(judge.verdicts(
            &received,
            "127.0.0.1".parse().unwrap(),
            "demo.example.test",
        ));
        let mut m = crate::server::StoredMessage::new(
            received,
            "demo.example.test",
            std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000),
        );
        m.judged("demo.example.test", verdicts);
        s.stored.push(std::sync::Arc::new(m));
        for (w, h) in [(80, 24), (120, 40), (200, 50)] {
            insta::assert_snapshot!(
                format!("server_side_verdicts_{w}x{h}"),
                render(&s, w, h, COLOR).backend()
            );
        }
        // At 200x50 the columns stand side by side and all of it shows.
        let screen = format!("{:?}", render(&s, 200, 50, COLOR).backend());
        assert!(
            screen.contains(" │ Return-Path: <student@client.example>"),
            "{screen}"
        );
        for needle in [
            "the server judged: spf-helo=pass (client.example)",
            "which publishes p=reject",
            "dmarc=fail (example.test)",
            "Authentication-Results: demo.example.test",
        ] {
            assert!(screen.contains(needle), "{needle:?} in {screen}");
        }
        // A failure is drawn as a 5xx reply is, a pass as a 2xx.
        let buffer = render(&s, 200, 50, COLOR).backend().buffer().clone();
        let fg_of = |word: &str| {
            (0..buffer.area.height).find_map(|y| {
                let row: String = (0..buffer.area.width)
                    .map(|x| buffer[(x, y)].symbol().to_string())
                    .collect();
                let x = row.find(word)? as u16;
                Some(buffer[(x, y)].style().fg)
            })
        };
        assert_eq!(fg_of("dmarc=fail"), Some(Some(ratatui::style::Color::Red)));
        assert_eq!(
            fg_of("iprev=pass"),
            Some(Some(ratatui::style::Color::Green))
        );
    }

    /// At 80x24 F3 is stacked and taller than its pane: focused, the keys
    /// scroll it (measured as the loop does) to the last header field.
    #[test]
    fn a_stacked_f3_scrolls_to_its_end() {
        use crate::app::{update, Focus};
        use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
        let mut s = busy();
        s.lower = Lower::ServerSide;
        s.focus = Focus::Composer;
        let received = crate::proto::server::ReceivedMessage {
            id: "AB12C00005".into(),
            client: "127.0.0.1".into(),
            helo: "client.example".into(),
            tls: false,
            auth: None,
            mail_from: "student@client.example".into(),
            mail_params: vec![],
            rcpts: vec![("alice@example.test".into(), vec![])],
            content: b"From: a@client.example\r\nTo: alice@example.test\r\nSubject: the last field\r\n\r\nbody\r\n".to_vec(),
        };
        s.stored
            .push(std::sync::Arc::new(crate::server::StoredMessage::new(
                received,
                "demo.example.test",
                std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000),
            )));
        let size = ratatui::layout::Rect::new(0, 0, 80, 24);
        crate::tui::layout::fit_views(&mut s, size);
        let top = format!("{:?}", render(&s, 80, 24, COLOR).backend());
        assert!(top.contains("▼ more below (↑ ↓ PgUp PgDn)"), "{top}");
        assert!(!top.contains("Subject: the last field"), "{top}");
        let key = KeyEvent::new(KeyCode::PageDown, KeyModifiers::NONE);
        for _ in 0..10 {
            let action = crate::tui::keymap::action(&s, key).unwrap();
            update(&mut s, action);
            crate::tui::layout::fit_views(&mut s, size);
        }
        let end = format!("{:?}", render(&s, 80, 24, COLOR).backend());
        assert!(end.contains("Subject: the last field"), "{end}");
        assert!(end.contains("▲ more above"), "{end}");
    }

    #[test]
    fn a_bounce_shows_where_it_went_beside_the_from_the_reader_saw() {
        let mut s = busy();
        s.lower = Lower::ServerSide;
        let received = crate::proto::server::ReceivedMessage {
            id: "AB12C00002".into(),
            client: "127.0.0.1".into(),
            helo: "client.example".into(),
            tls: false,
            auth: None,
            mail_from: "bounces@example.test".into(),
            mail_params: vec![],
            rcpts: vec![
                ("alice@example.test".into(), vec![]),
                ("bob@example.test".into(), vec![]),
            ],
            content: b"From: Shop News <news@shop.example>\r\nTo: Bob <bob@example.test>\r\nSubject: offers\r\n\r\nbody\r\n".to_vec(),
        };
        let mut m = crate::server::StoredMessage::new(
            received,
            "demo.example.test",
            std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000),
        );
        m.bounce = Some(crate::server::Bounce {
            failed: vec!["bob@example.test".into()],
            fate: crate::server::BounceFate::Stored {
                to: "bounces@example.test".into(),
                id: "AB12C00003".into(),
            },
        });
        s.stored.push(std::sync::Arc::new(m));
        for (w, h) in [(80, 24), (120, 40)] {
            insta::assert_snapshot!(
                format!("server_side_bounce_{w}x{h}"),
                render(&s, w, h, COLOR).backend()
            );
        }
        let screen = format!("{:?}", render(&s, 120, 40, COLOR).backend());
        for needle in [
            "bounce: <bob@example.test>: 552 5.2.2 mailbox over quota, after the 250",
            "to MAIL FROM <bounces@example.test>",
            "never to From: Shop News <news@shop.example>",
        ] {
            assert!(screen.contains(needle), "{needle:?} in {screen}");
        }
        // The failure is drawn as a 5xx reply is.
        let buffer = render(&s, 120, 40, COLOR).backend().buffer().clone();
        let cell = (0..buffer.area.height)
            .flat_map(|y| (0..buffer.area.width).map(move |x| (x, y)))
            .find(|&(x, y)| {
                buffer[(x, y)].symbol() == "<"
                    && x > 0
                    && buffer[(x - 1, y)].symbol() == " "
                    && buffer[(x.saturating_sub(2), y)].symbol() == ":"
            })
            .map(|p| buffer[p].style());
        assert_eq!(
            cell.and_then(|s| s.fg),
            Some(ratatui::style::Color::Red),
            "the bounce's headline is red"
        );
    }
}
