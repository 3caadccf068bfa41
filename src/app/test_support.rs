//! The app's test fixtures: a state, a session view for a stage, and the
//! messages a session task would send.

use std::time::Duration;

use super::*;
use crate::proto::capabilities::Capabilities;
use crate::proto::client::{ClientSession, Event, Goal, Stage, Transaction};
use crate::proto::command::{Address, Command, ReversePath};
use crate::proto::reply::ReplyLimits;
use crate::transport::{Control, Timed};

pub fn state() -> AppState {
    AppState::new(Start::fixed())
}

/// What the session task would report at `stage`: the suggestions come
/// from a real session brought there.
pub fn view(stage: Stage, caps: Option<Capabilities>, awaiting: bool) -> SessionView {
    let now = std::time::Instant::now();
    let mut s = ClientSession::new(ReplyLimits::default());
    let step = |s: &mut ClientSession, command: Option<Command>, reply: &[u8]| {
        if let Some(c) = command {
            s.send(&c);
            let _ = s.poll_transmit();
        }
        s.handle_input(now, reply);
    };
    if stage > Stage::Connected {
        step(&mut s, None, b"220 hi\r\n");
    }
    if stage > Stage::Greeted {
        let ehlo = Command::ehlo("client.example").ok();
        step(
            &mut s,
            ehlo,
            b"250-hi\r\n250-STARTTLS\r\n250 AUTH PLAIN LOGIN\r\n",
        );
    }
    if stage > Stage::Ready {
        let from = ReversePath::parse("student@client.example").ok();
        let mail = from.map(|f| Command::mail(f, Vec::new()));
        step(&mut s, mail, b"250 ok\r\n");
    }
    if stage > Stage::Mail {
        let to = Address::new("alice@example.test").ok();
        step(
            &mut s,
            to.map(|a| Command::rcpt(a, Vec::new())),
            b"250 ok\r\n",
        );
    }
    assert_eq!(
        s.stage(),
        stage.min(Stage::Rcpt),
        "the fixture reached its stage"
    );
    SessionView {
        stage,
        caps,
        tls: false,
        auth: None,
        awaiting,
        suggested: s.suggested(),
        rcpts_sent: Vec::new(),
        running: None,
    }
}

/// The view at `stage` with `rcpts` sent in the transaction.
pub fn view_sent(stage: Stage, caps: Option<Capabilities>, rcpts: &[&str]) -> SessionView {
    SessionView {
        rcpts_sent: rcpts.iter().map(|r| r.to_string()).collect(),
        ..view(stage, caps, false)
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

/// The lines the effects send, typed or raw, as they go on the wire.
pub fn sent(fx: &[Effect]) -> Vec<String> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Control {
                control: Control::Raw(l),
                ..
            } => Some(l.clone()),
            Effect::Control {
                control: Control::Send(c),
                ..
            } => Some(c.to_string().trim_end().to_string()),
            _ => None,
        })
        .collect()
}

/// The run the effects hand to the session.
pub fn run_of(fx: &[Effect]) -> Option<(Goal, Transaction)> {
    fx.iter().find_map(|e| match e {
        Effect::Control {
            control: Control::Run(g, t),
            ..
        } => Some((*g, t.clone())),
        _ => None,
    })
}

pub fn connected() -> AppState {
    let mut s = state();
    let fx = update(&mut s, Action::Submit);
    // Besides connecting, the first update asks for F2's judgement.
    assert!(
        matches!(
            fx.as_slice(),
            [Effect::Connect { id: 1, .. }, Effect::Judge { .. }]
        ),
        "{fx:?}"
    );
    status(&mut s, view(Stage::Greeted, None, false));
    s
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
