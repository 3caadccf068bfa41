//! The app's test fixtures: a state, a session view for a stage, and the
//! messages a session task would send.

use std::time::Duration;

use super::*;
use crate::proto::capabilities::Capabilities;
use crate::proto::client::{Event, Stage};
use crate::proto::command::Verb;
use crate::transport::{Control, Timed};

pub fn state() -> AppState {
    AppState::new(Start::fixed())
}

pub fn view(stage: Stage, caps: Option<Capabilities>, awaiting: bool) -> SessionView {
    let mut s =
        crate::proto::client::ClientSession::new(crate::proto::reply::ReplyLimits::default());
    // The suggestions come from the real session for that stage.
    let script: &[&[u8]] = match stage {
        Stage::Connected => &[],
        Stage::Greeted => &[b"220 hi\r\n"],
        _ => &[b"220 hi\r\n"],
    };
    for l in script {
        s.handle_input(std::time::Instant::now(), l);
    }
    let suggested = match stage {
        Stage::Ready => vec![
            Verb::Mail,
            Verb::StartTls,
            Verb::Auth,
            Verb::Vrfy,
            Verb::Expn,
            Verb::Ehlo,
            Verb::Rset,
            Verb::Noop,
            Verb::Help,
            Verb::Quit,
        ],
        Stage::Mail => vec![Verb::Rcpt, Verb::Rset, Verb::Noop, Verb::Quit],
        Stage::Rcpt => vec![Verb::Rcpt, Verb::Data, Verb::Rset, Verb::Noop, Verb::Quit],
        _ => s.suggested(),
    };
    SessionView {
        stage,
        caps,
        tls: false,
        auth: None,
        awaiting,
        suggested,
    }
}

pub fn caps(pipelining: bool) -> Capabilities {
    Capabilities {
        pipelining,
        auth: vec!["PLAIN".into(), "LOGIN".into()],
        starttls: true,
        ..Capabilities::default()
    }
}

pub fn status(s: &mut AppState, v: SessionView) -> Vec<Effect> {
    let id = s.session.id;
    update(
        s,
        Action::Session {
            id,
            msg: SessionMsg::Status(v),
        },
    )
}

pub fn raw(fx: &[Effect]) -> Vec<String> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Control {
                control: Control::Raw(l),
                ..
            } => Some(l.clone()),
            _ => None,
        })
        .collect()
}

pub fn connected() -> AppState {
    let mut s = state();
    let fx = update(&mut s, Action::Submit);
    assert!(
        matches!(fx.as_slice(), [Effect::Connect { id: 1, .. }]),
        "{fx:?}"
    );
    status(&mut s, view(Stage::Greeted, None, false));
    s
}

pub fn reply_to(verb: Verb, text: &str) -> Event {
    let code = crate::proto::reply::ReplyCode::new(text[..3].parse().unwrap()).unwrap();
    Event::Reply {
        answers: Some(1),
        verb: Some(verb),
        reply: crate::proto::reply::Reply::new(code, &text[4..]),
    }
}

pub fn run_to(s: &mut AppState, goal: Goal) -> Vec<Effect> {
    s.palette.index = s
        .palette
        .items()
        .iter()
        .position(|i| i.kind == ItemKind::RunTo(goal))
        .unwrap();
    update(s, Action::Submit)
}

pub fn event(s: &mut AppState, e: Event) {
    let id = s.session.id;
    update(
        s,
        Action::Session {
            id,
            msg: SessionMsg::Event(Timed {
                at: Duration::from_millis(5),
                latency: None,
                event: e,
            }),
        },
    );
}
