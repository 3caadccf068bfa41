//! The raw line during DATA typed by hand (issue 15): after a raw `DATA`,
//! and while the server waits for content (after its 354), Enter sends the
//! line and leaves the raw line open for the next, as telnet does, until
//! the lone `.` that ends the message.
//!
//! The lines go exactly as typed: dot-stuffing is the user's job, as in
//! telnet (a line that starts with `.` is sent with another `.` in front
//! by whoever types it). Doubling it here would make the raw line lie
//! about what it sends, and the seed article teaches the rule by hand.

use super::palette::Prompt;
use super::AppState;
use crate::proto::client::Stage;
use crate::proto::command::Verb;

/// Where the raw line stands towards a message typed by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RawData {
    /// An ordinary raw line: Enter sends and closes it.
    #[default]
    No,
    /// `DATA` went from the raw line; its reply is awaited, the line kept open.
    AwaitingGoAhead,
    /// The server said 354: each line is the message's content.
    Content,
}

/// Where the raw line stands now, from the session's stage.
pub fn raw_data(state: &AppState) -> RawData {
    if state.palette.prompt != Some(Prompt::Raw) {
        return RawData::No;
    }
    if state.session.view().map(|v| v.stage) == Some(Stage::Data) {
        RawData::Content
    } else if state.palette.raw_held {
        RawData::AwaitingGoAhead
    } else {
        RawData::No
    }
}

/// After `line` went from the raw line: whether the raw line stays open
/// for the next one. It does after `DATA`, and for each content line but
/// the lone `.`.
pub(super) fn stays_open(state: &mut AppState, line: &str) -> bool {
    let content = state.session.view().map(|v| v.stage) == Some(Stage::Data);
    let keep = if content {
        line != "."
    } else {
        Verb::of_line(line) == Verb::Data
    };
    state.palette.raw_held = keep;
    keep
}

/// A new view of the session: when the DATA sent from the raw line was
/// answered with anything but 354 (or the session ended), the raw line
/// kept open for the content closes, unless something is typed in it.
pub(super) fn on_status(state: &mut AppState) {
    if !state.palette.raw_held {
        return;
    }
    let Some(v) = state.session.view() else {
        state.palette.raw_held = false;
        return;
    };
    if v.stage == Stage::Data || v.awaiting {
        return;
    }
    state.palette.raw_held = false;
    let empty = state.palette.input.lines().iter().all(|l| l.is_empty());
    if state.palette.prompt == Some(Prompt::Raw) && empty {
        state.palette.prompt = None;
    }
}

/// The raw line's title and its help row, as the stage makes them.
pub fn prompt_text(state: &AppState) -> (&'static str, &'static str) {
    match raw_data(state) {
        RawData::No => (
            "Raw line (sent exactly as typed)",
            "Enter sends · Esc cancels",
        ),
        RawData::AwaitingGoAhead => (
            "Raw line: awaiting 354",
            "DATA sent: this line stays open for the message (header lines, an \
             empty line, the body, then a lone .) · Esc closes",
        ),
        RawData::Content => (
            "Raw line: the message",
            "a lone . ends the message · Enter sends the line and stays open · \
             a line starting with . needs another . (dot-stuffing, as in telnet) · \
             Esc closes",
        ),
    }
}

#[cfg(test)]
mod tests {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    use super::*;
    use crate::app::test_support::*;
    use crate::app::{update, Action};

    fn type_line(s: &mut AppState, text: &str) -> Vec<String> {
        for c in text.chars() {
            update(
                s,
                Action::Input(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
            );
        }
        sent(&update(s, Action::Submit))
    }

    #[test]
    fn the_raw_line_stays_open_from_data_to_the_lone_dot() {
        let mut s = connected();
        status(&mut s, view(Stage::Ready, None, false));
        update(&mut s, Action::RawLine);
        assert_eq!(type_line(&mut s, "DATA"), ["DATA"]);
        assert_eq!(s.palette.prompt, Some(Prompt::Raw), "kept open after DATA");
        assert_eq!(raw_data(&s), RawData::AwaitingGoAhead);
        // The 354 is awaited: still open, still waiting.
        status(&mut s, view(Stage::Ready, None, true));
        assert_eq!(raw_data(&s), RawData::AwaitingGoAhead);
        status(&mut s, view(Stage::Data, None, false));
        assert_eq!(raw_data(&s), RawData::Content);
        assert!(prompt_text(&s).1.starts_with("a lone . ends the message"));
        for line in [
            "From: Student <student@client.example>",
            "Subject: by hand",
            "",
            "Hello Alice,",
            "..a line that starts with a dot, stuffed by hand",
        ] {
            assert_eq!(type_line(&mut s, line), [line], "exactly as typed");
            assert_eq!(s.palette.prompt, Some(Prompt::Raw), "open after {line:?}");
        }
        assert_eq!(type_line(&mut s, "."), ["."]);
        assert_eq!(s.palette.prompt, None, "the lone . closes it");
        assert!(!s.palette.raw_held);
    }

    #[test]
    fn a_refused_data_closes_the_raw_line_kept_for_the_content() {
        let mut s = connected();
        status(&mut s, view(Stage::Greeted, None, false));
        update(&mut s, Action::RawLine);
        type_line(&mut s, "DATA");
        assert_eq!(s.palette.prompt, Some(Prompt::Raw));
        status(&mut s, view(Stage::Greeted, None, true));
        assert_eq!(s.palette.prompt, Some(Prompt::Raw));
        // 503: no 354, nothing awaited.
        status(&mut s, view(Stage::Greeted, None, false));
        assert_eq!(s.palette.prompt, None);
        assert_eq!(raw_data(&s), RawData::No);
    }

    #[test]
    fn other_raw_lines_close_after_enter_and_esc_closes_the_content_line() {
        let mut s = connected();
        update(&mut s, Action::RawLine);
        type_line(&mut s, "NOOP");
        assert_eq!(s.palette.prompt, None);
        status(&mut s, view(Stage::Data, None, false));
        update(&mut s, Action::RawLine);
        assert_eq!(raw_data(&s), RawData::Content);
        update(&mut s, Action::Cancel);
        assert_eq!(s.palette.prompt, None);
        assert!(!s.palette.raw_held);
    }
}
