//! A replay under way in the workbench: each step's events go into the
//! transcript as a live session's would, and F2's envelope, message and
//! the server's extensions follow what has been shown. Nothing connects.

use super::palette::{Item, ItemKind};
use super::replay::Replay;
use super::session::{Connection, SessionView};
use super::{AppState, EnvelopeState, MessageState};

/// Opens a replay: an empty envelope and message (F2 must not judge the
/// workbench's demo message as if it were the replay's), nothing shown yet.
pub(super) fn start(state: &mut AppState, replay: Replay) {
    state.envelope = EnvelopeState::new("", "");
    state.message = MessageState::new("", "");
    state.session.conn = Connection::Disconnected;
    state.notice = Some(format!(
        "replay of {}: {} steps; Enter shows the next, F5 plays on to the next mark",
        replay.name,
        replay.total()
    ));
    state.replay = Some(replay);
}

/// Shows the next step, or (to_mark) steps until the replay waits at a
/// mark or ends; says where it stopped.
pub(super) fn step(state: &mut AppState, to_mark: bool) {
    let Some(replay) = state.replay.as_mut() else {
        return;
    };
    if replay.is_done() {
        state.notice = Some(format!(
            "the replay is over ({} steps); Ctrl-C quits",
            replay.total()
        ));
        return;
    }
    while let Some(step) = replay.next_step() {
        for e in &step.events {
            state.transcript.push_event(e);
        }
        if !to_mark || replay.waiting_at().is_some() {
            break;
        }
    }
    state.notice = match replay.waiting_at() {
        Some("") => Some("a mark: Enter goes on".into()),
        Some(note) => Some(format!("mark: {note} (Enter goes on)")),
        None if replay.is_done() => Some("the end of the replay; Ctrl-C quits".into()),
        None => None,
    };
    let rebuilt = replay.rebuilt();
    if let Some(from) = &rebuilt.mail_from {
        state.envelope = EnvelopeState::new(from, &rebuilt.rcpts.join("\n"));
    }
    if let Some(m) = &rebuilt.message {
        let (headers, body) = m.split_once("\n\n").unwrap_or((m, ""));
        state.message = MessageState::new(headers, body);
    }
    if let Some(name) = rebuilt.ehlo {
        state.session.ehlo_name = name;
    }
    if rebuilt.caps.is_some() {
        state.session.conn = Connection::Open(SessionView::closed(rebuilt.caps));
    }
}

/// Why F2 cannot judge the replay yet, when it cannot.
pub(super) fn f2_note(replay: &Replay) -> Option<String> {
    let r = replay.rebuilt();
    match (&r.mail_from, &r.message) {
        (None, _) => Some(
            "F2: the replay has shown no MAIL FROM yet, so there is no envelope to compare".into(),
        ),
        (Some(_), None) if r.bdat => Some(
            "F2: the message went by BDAT, which the transcript does not keep: only the envelope is compared".into(),
        ),
        (Some(_), None) => Some(
            "F2: the replay has not shown the message (DATA to its final dot) yet: only the envelope is compared".into(),
        ),
        _ => None,
    }
}

/// What the status line says of a replay: its file and the step count.
pub fn status(replay: &Replay) -> String {
    let mut s = format!(
        " REPLAY {} │ step {} of {}",
        replay.name,
        replay.shown(),
        replay.total()
    );
    if replay.is_done() {
        s.push_str(" │ the end");
    } else if replay.waiting_at().is_some() {
        s.push_str(" │ at a mark");
    }
    s.push_str(" │ offline: nothing is sent");
    s
}

/// The palette while replaying: the steps first (Enter runs the selected
/// item, and the selection comes back to "Next step"), then what works
/// offline.
pub(super) fn items() -> Vec<Item> {
    let item = |label: &str, hint: &str, kind| Item {
        label: label.into(),
        hint: hint.into(),
        kind,
    };
    vec![
        item(
            "Next step",
            "the next command and its reply (Enter)",
            ItemKind::ReplayNext,
        ),
        item(
            "Play on to the next mark",
            "every step up to the next mark (F5)",
            ItemKind::ReplayToMark,
        ),
        item(
            "Presenter mode",
            "the transcript at full width (F4)",
            ItemKind::Presenter,
        ),
        item(
            "Envelope against headers",
            "F2: rebuilt from MAIL, RCPT and DATA shown",
            ItemKind::Analysis,
        ),
        item(
            "Copy transcript",
            "what has been shown, to the clipboard (Ctrl-Y)",
            ItemKind::CopyTranscript,
        ),
        item(
            "Save transcript (text)",
            "what has been shown, to a file",
            ItemKind::SaveText,
        ),
        item(
            "Save transcript (JSON)",
            "what has been shown, to a file",
            ItemKind::SaveJson,
        ),
        item(
            "Reveal secrets",
            "a saved transcript keeps only the mask",
            ItemKind::RevealSecrets,
        ),
        item("Help", "keys and panes (? or F1)", ItemKind::Help),
        item("Quit", "leave the replay (Ctrl-C)", ItemKind::Quit),
    ]
}
