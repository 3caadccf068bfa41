//! Keys to actions: one table, `BINDINGS`, decides what a key does and
//! feeds the help screen and the hint bar, so the three cannot disagree.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::app::{Action, AppState, Focus, Lower, Step, View};

/// Which modifiers a key must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mods {
    Any,
    Ctrl,
    /// Without Ctrl (Shift allowed: `?` comes with it).
    NoCtrl,
}

/// When a key applies, beyond its code and modifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Always,
    /// Not while typing (a filter, a prompt, an envelope or message field).
    NotTyping,
    /// Not while typing, and not in the palette, where a letter filters
    /// (typing "quit" must find QUIT); there Esc or Ctrl-C leave.
    NotTypingOutsidePalette,
    In(Focus),
    /// In the palette's list (no prompt open).
    PaletteList,
    /// In the transcript, no prompt open.
    TranscriptNoPrompt,
    /// F2 open in the message's place, with the message's focus.
    Analysis,
    /// F3 open in the message's place, with the message's focus.
    ServerSide,
    /// In the palette's list while a lesson runs.
    Lesson,
    /// A replay is open (`--replay`) and no prompt.
    Replay,
    /// A replay is open, no prompt, and the palette's list is not focused
    /// (there Enter runs the item, "Next step" unless another is chosen).
    ReplayOutsidePalette,
}

/// One key of a row and the action it gives.
pub struct Bind {
    pub code: KeyCode,
    pub mods: Mods,
    pub when: When,
    pub action: Action,
}

const fn view(view: View, step: Step) -> Action {
    Action::ScrollView(view, step)
}

const fn bind(code: KeyCode, mods: Mods, when: When, action: Action) -> Bind {
    Bind {
        code,
        mods,
        when,
        action,
    }
}

/// A row of the table: the keys as the help shows them, what they do,
/// the pane it is listed under, whether the hint bar offers it, and the
/// keys it matches (none: keys the focused field takes, or the mouse).
pub struct Binding {
    pub shown: &'static str,
    pub what: &'static str,
    /// `None`: everywhere.
    pub pane: Option<Focus>,
    pub hint: bool,
    pub binds: &'static [Bind],
}

use KeyCode::{BackTab, Char, Down, End, Enter, Esc, Home, PageDown, PageUp, Right, Tab, Up, F};
use Mods::{Any, Ctrl, NoCtrl};

pub const BINDINGS: &[Binding] = &[
    // Replay (issue 13): first, so that Enter steps the replay in any pane.
    Binding {
        shown: "Enter",
        what: "replay: the next step",
        pane: None,
        hint: false,
        binds: &[bind(
            Enter,
            Any,
            When::ReplayOutsidePalette,
            Action::ReplayNext,
        )],
    },
    Binding {
        shown: "F5",
        what: "replay: on to the next mark",
        pane: None,
        hint: false,
        binds: &[bind(F(5), Any, When::Replay, Action::ReplayToMark)],
    },
    Binding {
        shown: "Tab / Shift-Tab",
        what: "next / previous pane",
        pane: None,
        hint: true,
        binds: &[
            bind(Tab, Any, When::Always, Action::FocusNext),
            bind(BackTab, Any, When::Always, Action::FocusPrev),
        ],
    },
    Binding {
        shown: "Enter",
        what: "send the selected command",
        pane: Some(Focus::Palette),
        hint: true,
        binds: &[bind(Enter, Any, When::In(Focus::Palette), Action::Submit)],
    },
    Binding {
        shown: "→ / Ctrl-E",
        what: "edit the command before sending",
        pane: Some(Focus::Palette),
        hint: true,
        binds: &[
            bind(Char('e'), Ctrl, When::Always, Action::Edit),
            bind(Right, Any, When::PaletteList, Action::Edit),
        ],
    },
    Binding {
        shown: "↑ ↓",
        what: "choose a command",
        pane: Some(Focus::Palette),
        hint: true,
        binds: &[
            bind(Up, Any, When::PaletteList, Action::Up),
            bind(Down, Any, When::PaletteList, Action::Down),
        ],
    },
    Binding {
        shown: "type",
        what: "filter the commands",
        pane: Some(Focus::Palette),
        hint: true,
        binds: &[],
    },
    Binding {
        shown: "Ctrl-R",
        what: "raw line: send anything, exactly as typed",
        pane: None,
        hint: true,
        binds: &[bind(Char('r'), Ctrl, When::Always, Action::RawLine)],
    },
    // Before the transcript's PgUp/PgDn, which apply everywhere else.
    Binding {
        shown: "↑ ↓ PgUp PgDn",
        what: "scroll F2 or F3 (open in the message's place)",
        pane: Some(Focus::Composer),
        hint: true,
        binds: &[
            bind(
                Up,
                Any,
                When::Analysis,
                view(View::Analysis, Step::Rows(-1)),
            ),
            bind(
                Down,
                Any,
                When::Analysis,
                view(View::Analysis, Step::Rows(1)),
            ),
            bind(
                PageUp,
                Any,
                When::Analysis,
                view(View::Analysis, Step::Pages(-1)),
            ),
            bind(
                PageDown,
                Any,
                When::Analysis,
                view(View::Analysis, Step::Pages(1)),
            ),
            bind(
                Up,
                Any,
                When::ServerSide,
                view(View::ServerSide, Step::Rows(-1)),
            ),
            bind(
                Down,
                Any,
                When::ServerSide,
                view(View::ServerSide, Step::Rows(1)),
            ),
            bind(
                PageUp,
                Any,
                When::ServerSide,
                view(View::ServerSide, Step::Pages(-1)),
            ),
            bind(
                PageDown,
                Any,
                When::ServerSide,
                view(View::ServerSide, Step::Pages(1)),
            ),
        ],
    },
    Binding {
        shown: "PgUp PgDn",
        what: "scroll the lesson's instruction",
        pane: Some(Focus::Palette),
        hint: false,
        binds: &[
            bind(
                PageUp,
                Any,
                When::Lesson,
                view(View::Lesson, Step::Pages(-1)),
            ),
            bind(
                PageDown,
                Any,
                When::Lesson,
                view(View::Lesson, Step::Pages(1)),
            ),
        ],
    },
    Binding {
        shown: "↑ ↓ PgUp PgDn",
        what: "scroll (and select a reply)",
        pane: Some(Focus::Transcript),
        hint: true,
        binds: &[
            bind(Up, Any, When::TranscriptNoPrompt, Action::Up),
            bind(Down, Any, When::TranscriptNoPrompt, Action::Down),
            bind(Char('k'), Any, When::In(Focus::Transcript), Action::Up),
            bind(Char('j'), Any, When::In(Focus::Transcript), Action::Down),
            bind(PageUp, Any, When::Always, Action::PageUp),
            bind(PageDown, Any, When::Always, Action::PageDown),
        ],
    },
    Binding {
        shown: "g / G",
        what: "oldest / newest line (G follows again)",
        pane: Some(Focus::Transcript),
        hint: true,
        binds: &[
            bind(Char('g'), Any, When::In(Focus::Transcript), Action::Top),
            bind(Char('G'), Any, When::In(Focus::Transcript), Action::Bottom),
            bind(Home, Any, When::In(Focus::Transcript), Action::Top),
            bind(End, Any, When::In(Focus::Transcript), Action::Bottom),
        ],
    },
    Binding {
        shown: "[ ]",
        what: "scroll the selected reply's explanation",
        pane: Some(Focus::Transcript),
        hint: false,
        binds: &[
            bind(
                Char('['),
                Any,
                When::In(Focus::Transcript),
                view(View::Explanation, Step::Rows(-1)),
            ),
            bind(
                Char(']'),
                Any,
                When::In(Focus::Transcript),
                view(View::Explanation, Step::Rows(1)),
            ),
        ],
    },
    Binding {
        shown: "w",
        what: "wrap long lines, or cut them",
        pane: Some(Focus::Transcript),
        hint: true,
        binds: &[bind(
            Char('w'),
            Any,
            When::In(Focus::Transcript),
            Action::ToggleWrap,
        )],
    },
    Binding {
        shown: "↑ ↓ Enter",
        what: "move; MAIL FROM is one line, RCPT TO one per line",
        pane: Some(Focus::Envelope),
        hint: true,
        binds: &[],
    },
    Binding {
        shown: "↑ ↓ Enter",
        what: "edit header lines, then the body",
        pane: Some(Focus::Composer),
        hint: true,
        binds: &[],
    },
    Binding {
        shown: "Ctrl-Y",
        what: "copy the transcript",
        pane: None,
        hint: true,
        binds: &[bind(Char('y'), Ctrl, When::Always, Action::CopyTranscript)],
    },
    Binding {
        shown: "Ctrl-S",
        what: "reveal / mask AUTH secrets",
        pane: None,
        hint: false,
        binds: &[bind(Char('s'), Ctrl, When::Always, Action::RevealSecrets)],
    },
    Binding {
        shown: "F2",
        what: "message / envelope against headers",
        pane: None,
        hint: true,
        binds: &[bind(F(2), Any, When::Always, Action::ToggleAnalysis)],
    },
    Binding {
        shown: "F3",
        what: "message / the built-in server's side",
        pane: None,
        hint: true,
        binds: &[bind(F(3), Any, When::Always, Action::ToggleServerSide)],
    },
    Binding {
        shown: "wheel",
        what: "scroll the pane under the mouse",
        pane: None,
        hint: false,
        binds: &[],
    },
    Binding {
        shown: "? / F1",
        what: "help",
        pane: None,
        hint: true,
        binds: &[
            bind(Char('?'), NoCtrl, When::NotTyping, Action::ToggleHelp),
            bind(F(1), Any, When::Always, Action::ToggleHelp),
        ],
    },
    Binding {
        shown: "Esc",
        what: "close, cancel, back to the palette",
        pane: None,
        hint: false,
        binds: &[bind(Esc, Any, When::Always, Action::Cancel)],
    },
    Binding {
        shown: "Ctrl-C / q",
        what: "quit; asks if connected; q not in palette",
        pane: None,
        hint: true,
        binds: &[
            bind(Char('c'), Ctrl, When::Always, Action::Quit),
            bind(
                Char('q'),
                NoCtrl,
                When::NotTypingOutsidePalette,
                Action::Quit,
            ),
        ],
    },
    // Presenter mode (issue 13).
    Binding {
        shown: "F4",
        what: "presenter mode: full-width transcript",
        pane: None,
        hint: false,
        binds: &[bind(F(4), Any, When::Always, Action::TogglePresenter)],
    },
];

impl When {
    fn holds(self, state: &AppState) -> bool {
        let no_prompt = state.palette.prompt.is_none();
        let typing = match state.focus {
            Focus::Palette => !no_prompt || !state.palette.filter.is_empty(),
            Focus::Envelope | Focus::Composer => true,
            Focus::Transcript => false,
        };
        match self {
            When::Always => true,
            When::NotTyping => !typing,
            When::NotTypingOutsidePalette => !typing && state.focus != Focus::Palette,
            When::In(f) => state.focus == f,
            When::PaletteList => state.focus == Focus::Palette && no_prompt,
            When::TranscriptNoPrompt => state.focus == Focus::Transcript && no_prompt,
            When::Analysis => state.focus == Focus::Composer && state.lower == Lower::Analysis,
            When::ServerSide => state.focus == Focus::Composer && state.lower == Lower::ServerSide,
            When::Lesson => state.focus == Focus::Palette && no_prompt && state.lesson.is_some(),
            When::Replay => state.replay.is_some() && no_prompt,
            When::ReplayOutsidePalette => {
                state.replay.is_some() && no_prompt && state.focus != Focus::Palette
            }
        }
    }
}

/// The rows the hint bar offers first while a replay is open.
pub fn replay_rows() -> impl Iterator<Item = &'static Binding> {
    BINDINGS.iter().filter(|b| {
        b.binds.iter().any(|k| {
            k.action == Action::ReplayNext
                || k.action == Action::ReplayToMark
                || k.action == Action::TogglePresenter
        })
    })
}

impl Bind {
    fn matches(&self, state: &AppState, key: &KeyEvent) -> bool {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let mods = match self.mods {
            Mods::Any => true,
            Mods::Ctrl => ctrl,
            Mods::NoCtrl => !ctrl,
        };
        self.code == key.code && mods && self.when.holds(state)
    }
}

impl Binding {
    /// Whether the hint bar offers this row now: a row of keys only while
    /// one of them applies (F2's scrolling only while F2 is open).
    pub fn offered(&self, state: &AppState) -> bool {
        self.binds.is_empty() || self.binds.iter().any(|b| b.when.holds(state))
    }
}

/// The keys that scroll the help while it is open (the wheel too); its
/// bottom edge names them. Ctrl-C quits; any other key (Esc, `?`, q...)
/// closes it.
const HELP_KEYS: &[(KeyCode, Step)] = &[
    (Up, Step::Rows(-1)),
    (Char('k'), Step::Rows(-1)),
    (Down, Step::Rows(1)),
    (Char('j'), Step::Rows(1)),
    (PageUp, Step::Pages(-1)),
    (PageDown, Step::Pages(1)),
    (Char(' '), Step::Pages(1)),
    (Home, Step::Rows(-i16::MAX)),
    (Char('g'), Step::Rows(-i16::MAX)),
    (End, Step::Rows(i16::MAX)),
    (Char('G'), Step::Rows(i16::MAX)),
];

/// What the help's bottom edge says about its keys.
pub const HELP_SCROLL: &str = "↑ ↓ PgUp PgDn, wheel";
pub const HELP_CLOSE: &str = "Esc ? q: close";

/// How a key of the row that gives `action` reads on the hint bar now:
/// of its keys that apply in this state, the one for this state (`?`
/// rather than F1, q rather than Ctrl-C), else the one that always applies
/// (F1 while typing, Ctrl-C where q is a letter).
fn key_now(state: &AppState, action: &Action) -> Option<String> {
    let binds = BINDINGS
        .iter()
        .flat_map(|b| b.binds)
        .filter(|b| &b.action == action && b.when.holds(state));
    let best = binds.min_by_key(|b| b.when == When::Always)?;
    Some(match (best.code, best.mods) {
        (Char(c), Ctrl) => format!("Ctrl-{}", c.to_ascii_uppercase()),
        (Char(c), _) => c.to_string(),
        (F(n), _) => format!("F{n}"),
        (Esc, _) => "Esc".into(),
        (other, _) => format!("{other:?}"),
    })
}

/// The key that opens the help here, for the hint bar.
pub fn help_key(state: &AppState) -> String {
    key_now(state, &Action::ToggleHelp).unwrap_or_else(|| "F1".into())
}

/// The key that quits from here, for the hint bar: q where it is not a
/// letter being typed, else Ctrl-C.
pub fn quit_key(state: &AppState) -> String {
    key_now(state, &Action::Quit).unwrap_or_else(|| "Ctrl-C".into())
}

/// Whether the row opens the help or quits: the hint bar shows those first.
pub fn help_or_quit(b: &Binding) -> bool {
    b.binds
        .iter()
        .any(|k| k.action == Action::ToggleHelp || k.action == Action::Quit)
}

/// The action for a key in the current state: the first bind in the table
/// that matches; else the key goes to the focused field.
pub fn action(state: &AppState, key: KeyEvent) -> Option<Action> {
    if state.help {
        // The help scrolls; Ctrl-C still quits; any other key closes it.
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && key.code == Char('c') {
            return Some(Action::Quit);
        }
        let scroll = HELP_KEYS
            .iter()
            .find(|(code, _)| !ctrl && *code == key.code);
        return Some(match scroll {
            Some((_, step)) => Action::ScrollView(View::Help, *step),
            None => Action::ToggleHelp,
        });
    }
    let found = BINDINGS
        .iter()
        .flat_map(|b| b.binds)
        .find(|b| b.matches(state, &key));
    Some(match found {
        Some(b) => b.action.clone(),
        None => Action::Input(key),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::{ServerChoice, Start};

    fn state() -> AppState {
        AppState::new(Start {
            target: ServerChoice {
                server: None,
                implicit_tls: false,
                mx: None,
            },
            ehlo_name: "c.example".into(),
            date: "d".into(),
            message_id: "m@c.example".into(),
            client_ip: None,
            dns: None,
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

    #[test]
    fn keys_follow_focus_prompt_and_help() {
        let k = |c: KeyCode| KeyEvent::new(c, KeyModifiers::NONE);
        let mut s = state();
        assert_eq!(action(&s, k(Enter)), Some(Action::Submit));
        assert_eq!(action(&s, k(Right)), Some(Action::Edit));
        assert_eq!(action(&s, k(Up)), Some(Action::Up));
        assert_eq!(action(&s, key('g')), Some(Action::Input(key('g'))));
        s.palette.prompt = Some(crate::app::Prompt::Raw);
        assert_eq!(action(&s, k(Right)), Some(Action::Input(k(Right))));
        assert_eq!(action(&s, k(Up)), Some(Action::Input(k(Up))));
        assert_eq!(action(&s, key('?')), Some(Action::Input(key('?'))));
        s.focus = Focus::Transcript;
        assert_eq!(
            action(&s, k(Up)),
            Some(Action::Input(k(Up))),
            "a prompt is open"
        );
        s.palette.prompt = None;
        assert_eq!(action(&s, key('g')), Some(Action::Top));
        assert_eq!(action(&s, key('G')), Some(Action::Bottom));
        assert_eq!(action(&s, key('w')), Some(Action::ToggleWrap));
        assert_eq!(
            action(&s, key(']')),
            Some(Action::ScrollView(View::Explanation, Step::Rows(1)))
        );
        assert_eq!(action(&s, k(End)), Some(Action::Bottom));
        assert_eq!(action(&s, key('k')), Some(Action::Up));
        assert_eq!(action(&s, k(Enter)), Some(Action::Input(k(Enter))));
        s.focus = Focus::Envelope;
        assert_eq!(action(&s, k(PageUp)), Some(Action::PageUp));
        assert_eq!(action(&s, k(Up)), Some(Action::Input(k(Up))));
        // F2 in the message's place takes the scrolling keys; the message
        // keeps them when it shows.
        s.focus = Focus::Composer;
        assert_eq!(action(&s, k(Down)), Some(Action::Input(k(Down))));
        s.lower = Lower::Analysis;
        let f2 = |step| Some(Action::ScrollView(View::Analysis, step));
        assert_eq!(action(&s, k(Down)), f2(Step::Rows(1)));
        assert_eq!(action(&s, k(PageUp)), f2(Step::Pages(-1)));
        // A lesson's instruction takes PgUp/PgDn in the palette.
        s.focus = Focus::Palette;
        assert_eq!(action(&s, k(PageDown)), Some(Action::PageDown));
        let (n, t) = crate::app::lesson::builtin()[0];
        s.lesson = Some(crate::app::LessonRun {
            lesson: crate::app::lesson::Lesson::parse(n, t).unwrap(),
            step: 0,
            from: 0,
        });
        assert_eq!(
            action(&s, k(PageDown)),
            Some(Action::ScrollView(View::Lesson, Step::Pages(1)))
        );
        assert_eq!(
            action(&s, k(Down)),
            Some(Action::Down),
            "Down still chooses"
        );
        s.help = true;
        assert_eq!(action(&s, key('x')), Some(Action::ToggleHelp));
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(action(&s, ctrl_c), Some(Action::Quit));
    }

    /// The help scrolls while open; Esc, `?` and q close it, and so does
    /// any key that does not scroll; Ctrl-C quits.
    #[test]
    fn the_help_scrolls_and_closes() {
        let k = |c: KeyCode| KeyEvent::new(c, KeyModifiers::NONE);
        let help = |step| Some(Action::ScrollView(View::Help, step));
        let mut s = state();
        s.help = true;
        assert_eq!(action(&s, k(Down)), help(Step::Rows(1)));
        assert_eq!(action(&s, k(Up)), help(Step::Rows(-1)));
        assert_eq!(action(&s, k(PageDown)), help(Step::Pages(1)));
        assert_eq!(action(&s, k(PageUp)), help(Step::Pages(-1)));
        assert_eq!(action(&s, key('j')), help(Step::Rows(1)));
        assert_eq!(action(&s, k(End)), help(Step::Rows(i16::MAX)));
        for close in [k(Esc), key('?'), key('q'), k(F(1)), k(Enter)] {
            assert_eq!(action(&s, close), Some(Action::ToggleHelp), "{close:?}");
        }
        let ctrl_j = KeyEvent::new(Char('j'), KeyModifiers::CONTROL);
        assert_eq!(action(&s, ctrl_j), Some(Action::ToggleHelp));
    }

    /// The hint bar's first two keys: `?` and q where they apply, F1 and
    /// Ctrl-C where a letter is typed (the palette, a prompt, a field).
    #[test]
    fn help_and_quit_keys_follow_what_is_typed() {
        let mut s = state();
        assert_eq!((help_key(&s), quit_key(&s)), ("?".into(), "Ctrl-C".into()));
        s.palette.filter = "qu".into();
        assert_eq!((help_key(&s), quit_key(&s)), ("F1".into(), "Ctrl-C".into()));
        s.palette.filter.clear();
        s.palette.prompt = Some(crate::app::Prompt::Raw);
        assert_eq!((help_key(&s), quit_key(&s)), ("F1".into(), "Ctrl-C".into()));
        s.focus = Focus::Transcript;
        assert_eq!((help_key(&s), quit_key(&s)), ("?".into(), "q".into()));
        s.palette.prompt = None;
        assert_eq!((help_key(&s), quit_key(&s)), ("?".into(), "q".into()));
        s.focus = Focus::Composer;
        assert_eq!((help_key(&s), quit_key(&s)), ("F1".into(), "Ctrl-C".into()));
    }
}
