//! The workbench's state, one part per pane, and `update`, which changes it
//! by one `Action` and returns effects (connect, send this, copy that); it
//! does no I/O and reads no clock or terminal. The loop in `tui` runs the
//! effects and feeds their results back as actions tagged with the session
//! they belong to, so that results of an old connection are dropped.
//! What a frame shows (the palette's items, the findings) is computed here
//! when its inputs change, so that drawing only reads.

pub mod action;
pub mod auth;
pub mod envelope;
pub mod everyday;
pub mod lesson;
pub mod lesson_run;
pub mod message;
pub mod palette;
pub mod profile;
// The raw line during DATA typed by hand (issue 15).
pub mod raw_data;
pub mod replay;
pub mod replay_run;
pub mod scroll;
pub mod session;
pub mod transcript;
mod update;

#[cfg(test)]
mod test_support;

use std::sync::Arc;

use tui_textarea::TextArea;

pub use action::{Action, Effect, SessionMsg};
pub use auth::{AuthState, JudgeDns, JudgeRequest};
pub use envelope::{EnvelopeField, EnvelopeState};
pub use lesson_run::LessonRun;
pub use message::{MessageField, MessageState};
pub use palette::{Item, ItemKind, PaletteState, Prompt};
pub use scroll::{PaneScroll, Step, View, Views};
pub use session::{Connection, ServerChoice, SessionState, SessionView};
pub use transcript::{Line, LineKind, LineView, Lines, TranscriptState, MAX_LINES};
pub use update::update;

use crate::analysis::compare::{EnvelopeSide, HeaderSide};
use crate::analysis::Finding;
use crate::server::StoredMessage;

/// The panes, in Tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Palette,
    Envelope,
    Composer,
    Transcript,
}

impl Focus {
    const ORDER: [Focus; 4] = [
        Focus::Palette,
        Focus::Envelope,
        Focus::Composer,
        Focus::Transcript,
    ];

    fn step(self, forward: bool) -> Focus {
        let i = Self::ORDER.iter().position(|f| *f == self).unwrap_or(0);
        let n = Self::ORDER.len();
        Self::ORDER[if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        }]
    }
}

/// What the lower right pane shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lower {
    /// The message being composed.
    Message,
    /// The envelope against the header fields, with findings.
    Analysis,
    /// What the built-in server received and what a reader would see.
    ServerSide,
}

impl Lower {
    fn toggle(self, to: Lower) -> Lower {
        if self == to {
            Lower::Message
        } else {
            to
        }
    }
}

/// A text field holding `text`, the cursor at the end of a one-line field
/// and at the top of a longer one (so its first lines are in view).
pub(crate) fn field(text: &str) -> TextArea<'static> {
    let mut t = TextArea::from(text.lines().map(str::to_string).collect::<Vec<_>>());
    if t.lines().len() == 1 {
        t.move_cursor(tui_textarea::CursorMove::End);
    }
    t
}

/// What only the caller knows when the app starts.
pub struct Start {
    pub target: ServerChoice,
    pub ehlo_name: String,
    /// RFC 5322 date for the Date: field.
    pub date: String,
    pub message_id: String,
    /// `--client-ip`: the address SPF and iprev judge.
    pub client_ip: Option<std::net::IpAddr>,
    /// `--dns`: the resolver authentication asks against a real server.
    pub dns: Option<std::net::SocketAddr>,
}

impl Start {
    /// The built-in server, and a fixed date and Message-ID: the same state
    /// every time, for tests, snapshots and benchmarks.
    pub fn fixed() -> Self {
        Self {
            target: ServerChoice {
                server: None,
                implicit_tls: false,
                mx: None,
            },
            ehlo_name: "client.example".into(),
            date: "Sat, 28 Nov 2026 12:00:00 +0000".into(),
            message_id: "1@client.example".into(),
            client_ip: None,
            dns: None,
        }
    }
}

/// Everything the screen shows.
pub struct AppState {
    pub focus: Focus,
    /// What the lower right pane shows.
    pub lower: Lower,
    pub palette: PaletteState,
    pub envelope: EnvelopeState,
    pub message: MessageState,
    pub transcript: TranscriptState,
    pub session: SessionState,
    pub lesson: Option<LessonRun>,
    /// F2's and the lesson's scroll positions.
    pub views: Views,
    /// F2's authentication verdicts and the workbench's DKIM signature.
    pub auth: AuthState,
    /// Messages the built-in server accepted, newest last (at most 50).
    pub stored: Vec<Arc<StoredMessage>>,
    pub notice: Option<String>,
    /// The config file's profiles, for "Connect to profile …".
    pub profiles: Vec<profile::Profile>,
    pub help: bool,
    pub confirm_quit: bool,
    // Replay and presenter mode (issue 13).
    /// A saved transcript being replayed (`--replay`): nothing connects.
    pub replay: Option<replay::Replay>,
    /// F4: the palette hidden, the transcript and its explanations at full width.
    pub presenter: bool,
    /// The envelope against the headers and the message's checks, as of the
    /// last change to either (see `refresh`).
    findings: Vec<Finding>,
    /// The message's address fields, as of the last `refresh`.
    header_side: HeaderSide,
}

impl AppState {
    pub fn new(start: Start) -> Self {
        let headers = format!(
            "From: Student <student@client.example>\nTo: Alice <alice@example.test>\nCc: \nBcc: \n\
             Subject: Hello from smtp-workbench\nDate: {}\nMessage-ID: <{}>",
            start.date, start.message_id
        );
        let mut state = Self {
            focus: Focus::Palette,
            lower: Lower::Message,
            views: Views::default(),
            palette: PaletteState::default(),
            envelope: EnvelopeState::new(
                "student@client.example",
                "alice@example.test\nbob@example.test",
            ),
            message: MessageState::new(
                &headers,
                "Hello Alice,\n\nthis message was typed in smtp-workbench.\n.A line that starts with a dot.\n\nBye",
            ),
            transcript: TranscriptState::default(),
            session: SessionState::new(start.target, start.ehlo_name),
            lesson: None,
            auth: AuthState::new(start.client_ip, start.dns),
            stored: Vec::new(),
            notice: None,
            profiles: Vec::new(),
            help: false,
            confirm_quit: false,
            replay: None,
            presenter: false,
            findings: Vec::new(),
            header_side: HeaderSide::default(),
        };
        state.refresh();
        state
    }

    /// The envelope against the header fields, and the checks of the
    /// composed message, as they stood at the last `refresh`.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// Recomputes what the panes show from their inputs: the palette's items,
    /// the findings and what authentication is to judge. `update` calls it
    /// after every action that can change them; code that sets fields
    /// directly calls it after.
    pub fn refresh(&mut self) {
        self.refresh_items();
        self.refresh_findings();
        self.refresh_auth();
    }

    /// The message's address fields, as of the last `refresh`.
    pub fn header_side(&self) -> &HeaderSide {
        &self.header_side
    }

    fn refresh_items(&mut self) {
        let all = palette::all_items(self);
        self.palette.set_items(all);
    }

    fn refresh_findings(&mut self) {
        let message = self.message.bytes();
        let sender = self.envelope.sender();
        let env = EnvelopeSide {
            mail_from: (!sender.is_empty() && sender != "<>").then_some(sender),
            rcpts: self.envelope.rcpts(),
        };
        self.header_side = HeaderSide::from_message(&message);
        let mut out =
            crate::analysis::findings(&env, &self.header_side, &message, self.session.caps());
        // Warnings first: in a small pane they are what must show.
        out.sort_by_key(|f| std::cmp::Reverse(f.level));
        self.findings = out;
    }

    /// What F2's authentication judges, from the message, the envelope,
    /// the EHLO name and the target; a signature that broke just now is
    /// said on the status line as well.
    fn refresh_auth(&mut self) {
        let sender = self.envelope.sender();
        let target = &self.session.target;
        let cx = auth::JudgeContext {
            builtin: target.is_builtin(),
            server: target.server.as_deref(),
            mail_from: if sender == "<>" {
                String::new()
            } else {
                sender
            },
            helo: &self.session.ehlo_name,
            message: self.message.bytes(),
        };
        if self.auth.refresh(cx) {
            if let Some(why) = self.auth.broken() {
                self.notice = Some(format!(
                    "the DKIM signature no longer holds: {why}; sign again from the palette"
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::test_support::*;
    use crate::app::update;

    #[test]
    fn findings_follow_every_edit() {
        use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
        let key = |c| Action::Input(KeyEvent::new(c, KeyModifiers::NONE));
        let mut s = state();
        let tags = |s: &AppState| s.findings().iter().map(|f| f.tag).collect::<Vec<_>>();
        // The default message: bob is in the envelope but not in the headers.
        assert!(tags(&s).contains(&"blind-copy"));
        assert!(!tags(&s).contains(&"from-domain"));
        // Typed into MAIL FROM: the sender's domain no longer matches From:.
        s.focus = Focus::Envelope;
        for _ in "client.example".chars() {
            update(&mut s, key(KeyCode::Backspace));
        }
        for c in "bank.example".chars() {
            update(&mut s, key(KeyCode::Char(c)));
        }
        assert_eq!(s.envelope.sender(), "student@bank.example");
        assert!(tags(&s).contains(&"from-domain"), "{:?}", tags(&s));
        // Pasted into the header fields: a Reply-To is noticed.
        s.focus = Focus::Composer;
        update(&mut s, Action::Paste("Reply-To: r@x.example\n".into()));
        assert!(tags(&s).contains(&"reply-to"), "{:?}", tags(&s));
        update(&mut s, Action::ToggleAnalysis);
        assert_eq!(s.lower, Lower::Analysis);
        update(&mut s, Action::ToggleServerSide);
        assert_eq!(s.lower, Lower::ServerSide);
        update(&mut s, Action::ToggleServerSide);
        assert_eq!(s.lower, Lower::Message);
    }
}
