//! Keys to actions. The table is the one source for both the key handling
//! and the help screen and hint bar, so they cannot disagree.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::app::{Action, AppState, Focus};

/// A binding: the keys as shown, what they do, and where they apply.
pub struct Binding {
    pub keys: &'static str,
    pub what: &'static str,
    /// `None`: everywhere.
    pub pane: Option<Focus>,
}

pub const BINDINGS: &[Binding] = &[
    Binding {
        keys: "Tab / Shift-Tab",
        what: "next / previous pane",
        pane: None,
    },
    Binding {
        keys: "Enter",
        what: "send the selected command",
        pane: Some(Focus::Palette),
    },
    Binding {
        keys: "→ / Ctrl-E",
        what: "edit the command before sending",
        pane: Some(Focus::Palette),
    },
    Binding {
        keys: "↑ ↓",
        what: "choose a command",
        pane: Some(Focus::Palette),
    },
    Binding {
        keys: "type",
        what: "filter the commands",
        pane: Some(Focus::Palette),
    },
    Binding {
        keys: "Ctrl-R",
        what: "raw line: send anything, exactly as typed",
        pane: None,
    },
    Binding {
        keys: "↑ ↓ PgUp PgDn",
        what: "scroll (and select a reply)",
        pane: Some(Focus::Transcript),
    },
    Binding {
        keys: "g / G",
        what: "oldest / newest line (G follows again)",
        pane: Some(Focus::Transcript),
    },
    Binding {
        keys: "↑ ↓ Enter",
        what: "move; MAIL FROM is one line, RCPT TO one per line",
        pane: Some(Focus::Envelope),
    },
    Binding {
        keys: "↑ ↓ Enter",
        what: "edit header lines, then the body",
        pane: Some(Focus::Composer),
    },
    Binding {
        keys: "Ctrl-Y",
        what: "copy the transcript",
        pane: None,
    },
    Binding {
        keys: "Ctrl-S",
        what: "reveal / mask AUTH secrets",
        pane: None,
    },
    Binding {
        keys: "F2",
        what: "message / envelope against headers",
        pane: None,
    },
    Binding {
        keys: "F3",
        what: "message / the built-in server's side",
        pane: None,
    },
    Binding {
        keys: "wheel",
        what: "scroll the transcript",
        pane: None,
    },
    Binding {
        keys: "? / F1",
        what: "help",
        pane: None,
    },
    Binding {
        keys: "Esc",
        what: "close, cancel, back to the palette",
        pane: None,
    },
    Binding {
        keys: "Ctrl-C / q",
        what: "quit; asks if connected; q not in palette",
        pane: None,
    },
];

/// The action for a key in the current state; text keys go to the focused
/// field unless they mean something there.
pub fn action(state: &AppState, key: KeyEvent) -> Option<Action> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let typing = match state.focus {
        Focus::Palette => state.prompt.is_some() || !state.filter.is_empty(),
        Focus::Envelope | Focus::Composer => true,
        Focus::Transcript => false,
    };
    if state.help {
        return Some(match key.code {
            KeyCode::Char('c') if ctrl => Action::Quit,
            _ => Action::ToggleHelp,
        });
    }
    Some(match (key.code, ctrl) {
        (KeyCode::Char('c'), true) => Action::Quit,
        (KeyCode::Char('r'), true) => Action::RawLine,
        (KeyCode::Char('y'), true) => Action::CopyTranscript,
        (KeyCode::Char('s'), true) => Action::RevealSecrets,
        (KeyCode::Char('e'), true) => Action::Edit,
        (KeyCode::Tab, _) => Action::FocusNext,
        (KeyCode::BackTab, _) => Action::FocusPrev,
        (KeyCode::F(1), _) => Action::ToggleHelp,
        (KeyCode::F(2), _) => Action::ToggleAnalysis,
        (KeyCode::F(3), _) => Action::ToggleServerSide,
        (KeyCode::Esc, _) => Action::Cancel,
        (KeyCode::Char('?'), false) if !typing => Action::ToggleHelp,
        // In the palette a letter filters (typing "quit" must find QUIT);
        // there Esc or Ctrl-C leave.
        (KeyCode::Char('q'), false) if !typing && state.focus != Focus::Palette => Action::Quit,
        (KeyCode::PageUp, _) => Action::PageUp,
        (KeyCode::PageDown, _) => Action::PageDown,
        (KeyCode::Enter, _) if state.focus == Focus::Palette => Action::Submit,
        (KeyCode::Right, _) if state.focus == Focus::Palette && state.prompt.is_none() => {
            Action::Edit
        }
        (KeyCode::Up, _)
            if matches!(state.focus, Focus::Palette | Focus::Transcript)
                && state.prompt.is_none() =>
        {
            Action::Up
        }
        (KeyCode::Down, _)
            if matches!(state.focus, Focus::Palette | Focus::Transcript)
                && state.prompt.is_none() =>
        {
            Action::Down
        }
        (KeyCode::Home, _) if state.focus == Focus::Transcript => Action::Top,
        (KeyCode::End, _) if state.focus == Focus::Transcript => Action::Bottom,
        _ => Action::Input(key),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::{Start, Target};

    fn state() -> AppState {
        AppState::new(Start {
            target: Target {
                server: None,
                implicit_tls: false,
            },
            ehlo_name: "c.example".into(),
            date: "d".into(),
            message_id: "m@c.example".into(),
        })
    }

    fn key(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    #[test]
    fn q_filters_in_the_palette_and_quits_elsewhere() {
        let mut s = state();
        assert_eq!(
            action(&s, key('q')),
            Some(Action::Input(key('q'))),
            "typing \"quit\" filters"
        );
        assert_eq!(action(&s, key('?')), Some(Action::ToggleHelp));
        s.focus = Focus::Transcript;
        assert_eq!(action(&s, key('q')), Some(Action::Quit));
        s.focus = Focus::Composer;
        assert_eq!(
            action(&s, key('q')),
            Some(Action::Input(key('q'))),
            "q is a letter in the message"
        );
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(
            action(&s, ctrl_c),
            Some(Action::Quit),
            "Ctrl-C quits from anywhere"
        );
    }
}
