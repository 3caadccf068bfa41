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
    if rebuilt.caps.is_some() || rebuilt.mail_from.is_some() {
        // The envelope pane counts the recipients the replay has shown sent.
        let mut view = SessionView::closed(rebuilt.caps);
        view.rcpts_sent = rebuilt.rcpts;
        state.session.conn = Connection::Open(view);
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

#[cfg(test)]
mod tests {
    use crate::app::replay::Replay;
    use crate::app::test_support::state;
    use crate::app::{update, Action, AppState, Effect, Focus, Lower};

    /// No effect that reaches a server (F2's judging runs against the
    /// built-in server's offline zone).
    fn offline(fx: &[Effect]) -> bool {
        !fx.iter()
            .any(|e| matches!(e, Effect::Control { .. } | Effect::Connect { .. }))
    }

    fn replaying() -> AppState {
        let text = include_str!("../../assets/replay/demo.jsonl");
        let mut s = state();
        let r = Replay::parse("demo.jsonl", text).unwrap();
        assert!(offline(&update(&mut s, Action::StartReplay(Box::new(r)))));
        s
    }

    #[test]
    fn each_next_shows_one_step_and_the_mark_stops_playing_on() {
        let mut s = replaying();
        assert!(s.transcript.lines.is_empty());
        assert_eq!(s.envelope.sender(), "", "not the workbench's demo envelope");
        assert!(offline(&update(&mut s, Action::ReplayNext)));
        assert_eq!(
            s.transcript.lines.len(),
            2,
            "the info line and the greeting"
        );
        update(&mut s, Action::ReplayToMark);
        let r = s.replay.as_ref().unwrap();
        assert_eq!(r.shown(), 3, "stopped before the marked step");
        assert_eq!(
            s.notice.as_deref(),
            Some("mark: Now the relay refusal (Enter goes on)")
        );
        assert_eq!(s.envelope.sender(), "student@client.example");
        assert!(s.session.caps().is_some_and(|c| c.pipelining));
        update(&mut s, Action::ReplayToMark);
        assert_eq!(s.replay.as_ref().unwrap().shown(), 6, "the next mark");
        update(&mut s, Action::ReplayToMark);
        assert!(s.replay.as_ref().unwrap().is_done());
        assert!(s
            .message
            .bytes()
            .starts_with(b"From: Student <student@client.example>\r\n"));
        assert_eq!(
            s.envelope.rcpts(),
            ["someone@elsewhere.example", "alice@example.test"]
        );
        let n = s.transcript.lines.len();
        update(&mut s, Action::ReplayNext);
        assert_eq!(s.transcript.lines.len(), n, "nothing past the end");
        assert!(s.notice.as_deref().unwrap().contains("the replay is over"));
    }

    #[test]
    fn nothing_connects_or_sends_in_a_replay() {
        let mut s = replaying();
        // The palette offers the replay's items; Enter on the first is a step.
        assert_eq!(s.palette.items()[0].label, "Next step");
        assert!(s
            .palette
            .items()
            .iter()
            .all(|i| !i.label.contains("Connect")));
        assert!(offline(&update(&mut s, Action::Submit)));
        assert_eq!(s.replay.as_ref().unwrap().shown(), 1);
        update(&mut s, Action::RawLine);
        update(&mut s, Action::Paste("NOOP".into()));
        let fx = update(&mut s, Action::Submit);
        assert!(offline(&fx), "{fx:?}");
        assert!(s.notice.as_deref().unwrap().contains("this is a replay"));
    }

    #[test]
    fn f2_says_what_it_cannot_rebuild() {
        let mut s = replaying();
        update(&mut s, Action::ToggleAnalysis);
        assert_eq!(s.lower, Lower::Analysis);
        assert!(s.notice.as_deref().unwrap().contains("no MAIL FROM yet"));
        update(&mut s, Action::ToggleAnalysis);
        for _ in 0..3 {
            update(&mut s, Action::ReplayNext);
        }
        update(&mut s, Action::ToggleAnalysis);
        assert!(s.notice.as_deref().unwrap().contains("only the envelope"));
        update(&mut s, Action::ToggleAnalysis);
        update(&mut s, Action::ReplayToMark);
        update(&mut s, Action::ReplayToMark);
        update(&mut s, Action::ToggleAnalysis);
        assert_eq!(s.notice, None, "the message is there");
    }

    #[test]
    fn presenter_mode_skips_the_hidden_envelope_and_a_prompt_ends_it() {
        let mut s = state();
        s.focus = Focus::Envelope;
        update(&mut s, Action::TogglePresenter);
        assert!(s.presenter);
        assert_eq!(s.focus, Focus::Palette, "the envelope is hidden");
        update(&mut s, Action::FocusNext);
        assert_eq!(s.focus, Focus::Composer, "Tab skips the envelope");
        update(&mut s, Action::FocusPrev);
        assert_eq!(s.focus, Focus::Palette);
        update(&mut s, Action::TogglePresenter);
        assert!(!s.presenter);
        update(&mut s, Action::FocusNext);
        assert_eq!(s.focus, Focus::Envelope);
        update(&mut s, Action::TogglePresenter);
        update(&mut s, Action::RawLine);
        assert!(!s.presenter, "the raw line is typed in the palette");
        assert_eq!(s.focus, Focus::Palette);
    }
}
