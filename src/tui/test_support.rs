//! The states the UI tests draw: empty, a busy session, a broken one.

use std::time::Duration;

use ratatui::backend::TestBackend;
use ratatui::Terminal;

use crate::app::{
    update, Action, AppState, Connection, Line, LineKind, SessionMsg, SessionView, Start,
};
use crate::proto::capabilities::Capabilities;
use crate::proto::client::Stage;
use crate::proto::command::Verb;
use crate::tui::layout::draw;
use crate::tui::theme::Theme;

pub fn empty() -> AppState {
    AppState::new(Start {
        message_id: "1.2@client.example".into(),
        ..Start::fixed()
    })
}

fn line(at: u64, kind: LineKind, text: &str, code: Option<u16>) -> Line {
    Line {
        at: Some(Duration::from_millis(at)),
        kind,
        text: text.into(),
        secret: None,
        code,
        latency: code.map(|_| Duration::from_micros(450)),
        continued: false,
    }
}

/// A session after EHLO, AUTH and a refused relay.
// Longer than 80 lines: the fixture's transcript, one line per entry.
pub fn busy() -> AppState {
    let mut s = empty();
    s.session.id = 1;
    s.session.peer = Some("127.0.0.1:2525".into());
    s.session.conn = Connection::Open(SessionView {
        stage: Stage::Ready,
        caps: Some(Capabilities {
            pipelining: true,
            size: Some(Some(10_485_760)),
            starttls: true,
            auth: vec!["PLAIN".into(), "LOGIN".into()],
            ..Capabilities::default()
        }),
        tls: false,
        auth: Some("alice@example.test".into()),
        awaiting: false,
        suggested: vec![
            Verb::Mail,
            Verb::StartTls,
            Verb::Vrfy,
            Verb::Rset,
            Verb::Noop,
            Verb::Quit,
        ],
        rcpts_sent: Vec::new(),
        running: None,
    });
    let lines = vec![
        line(
            0,
            LineKind::Info,
            "connected to 127.0.0.1:2525 from 127.0.0.1:40000",
            None,
        ),
        line(
            1,
            LineKind::Server,
            "220 demo.example.test ESMTP smtp-workbench demo server",
            Some(220),
        ),
        line(2, LineKind::Client, "EHLO client.example", None),
        line(3, LineKind::Server, "250-demo.example.test", Some(250)),
        Line {
            at: None,
            continued: true,
            ..line(3, LineKind::Server, "250 PIPELINING", Some(250))
        },
        Line {
            secret: Some("AUTH PLAIN AGFsaWNlAHdvbmRlcmxhbmQ=".into()),
            ..line(4, LineKind::Client, "AUTH PLAIN ********", None)
        },
        line(
            5,
            LineKind::Server,
            "235 2.7.0 Authentication successful",
            Some(235),
        ),
        line(
            6,
            LineKind::Client,
            "MAIL FROM:<student@client.example>",
            None,
        ),
        line(7, LineKind::Server, "250 2.1.0 Ok", Some(250)),
        line(
            8,
            LineKind::Client,
            "RCPT TO:<someone@elsewhere.example>",
            None,
        ),
        line(
            9,
            LineKind::Server,
            "554 5.7.1 <someone@elsewhere.example>: Relay access denied",
            Some(554),
        ),
        line(
            9,
            LineKind::Warning,
            "server deviates from RFC 5321: line ended with a bare LF instead of CRLF",
            None,
        ),
        line(
            10,
            LineKind::Server,
            "451 4.7.1 greylisted \u{241b}[2J",
            Some(451),
        ),
    ];
    for l in lines {
        s.transcript.push_line(l);
    }
    s.refresh();
    s
}

/// A session after a delivery: "Run to the end" against the demo server,
/// the latest reply a 250 with an enhanced status.
pub fn delivered() -> AppState {
    let mut s = empty();
    s.session.id = 1;
    s.session.peer = Some("127.0.0.1:2525".into());
    s.session.conn = Connection::Open(SessionView {
        stage: Stage::Ready,
        caps: Some(Capabilities {
            pipelining: true,
            ..Capabilities::default()
        }),
        tls: false,
        auth: None,
        awaiting: false,
        suggested: vec![Verb::Mail, Verb::Rset, Verb::Noop, Verb::Quit],
        rcpts_sent: Vec::new(),
        running: None,
    });
    let lines = vec![
        line(
            0,
            LineKind::Info,
            "connected to 127.0.0.1:2525 from 127.0.0.1:40000",
            None,
        ),
        line(
            1,
            LineKind::Server,
            "220 demo.example.test ESMTP smtp-workbench demo server",
            Some(220),
        ),
        line(2, LineKind::Client, "EHLO client.example", None),
        line(3, LineKind::Server, "250-demo.example.test", Some(250)),
        Line {
            at: None,
            continued: true,
            ..line(3, LineKind::Server, "250-SIZE 10485760", Some(250))
        },
        Line {
            at: None,
            continued: true,
            ..line(3, LineKind::Server, "250 PIPELINING", Some(250))
        },
        line(
            4,
            LineKind::Client,
            "MAIL FROM:<student@client.example>",
            None,
        ),
        line(5, LineKind::Server, "250 2.1.0 Ok", Some(250)),
        line(6, LineKind::Client, "RCPT TO:<alice@example.test>", None),
        line(7, LineKind::Server, "250 2.1.5 Ok", Some(250)),
        line(8, LineKind::Client, "DATA", None),
        line(
            9,
            LineKind::Server,
            "354 End data with <CR><LF>.<CR><LF>",
            Some(354),
        ),
        line(
            10,
            LineKind::Client,
            "(message: 412 bytes, 9 lines, dot-stuffed 0)",
            None,
        ),
        line(11, LineKind::Client, ".", None),
        line(
            12,
            LineKind::Server,
            "250 2.0.0 Ok: queued as 1A2B3C4D5E6F7A8B9C0D",
            Some(250),
        ),
    ];
    for l in lines {
        s.transcript.push_line(l);
    }
    s.refresh();
    s
}

/// The same with an error: the connection lost and said so.
pub fn broken() -> AppState {
    let mut s = busy();
    update(
        &mut s,
        Action::Session {
            id: 1,
            msg: SessionMsg::Ended(
                "the server closed the connection while waiting for the reply to RCPT TO".into(),
            ),
        },
    );
    s.transcript.push_line(line(
        11,
        LineKind::Error,
        "the server closed the connection while waiting for the reply to RCPT TO",
        None,
    ));
    s
}

pub fn render(state: &AppState, w: u16, h: u16, theme: Theme) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| draw(state, f, &theme)).unwrap();
    t
}

/// The screen's rows as text, cell by cell.
pub fn screen_rows(t: &Terminal<TestBackend>) -> Vec<String> {
    let buf = t.backend().buffer();
    (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
        })
        .collect()
}

pub const COLOR: Theme = Theme {
    color: true,
    palette: crate::tui::theme::Palette::Dark,
};
