//! The workbench's state and its one `Action` enum. `update` changes the
//! state and returns effects (connect, send this, copy that); it does no I/O
//! and reads no clock or terminal. The loop in `tui` runs the effects and
//! feeds their results back as actions tagged with the session they belong
//! to, so that results of an old connection are dropped.

pub mod lesson;

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tui_textarea::TextArea;

use crate::proto::auth::{Credentials, Mechanism, Secret, MASK};
use crate::proto::capabilities::Capabilities;
use crate::proto::client::{Event, Stage};
use crate::proto::command::Verb;
use crate::proto::visible::visible;
use crate::transport::{Control, Timed};

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

/// Who wrote a transcript line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    Client,
    Server,
    Info,
    Warning,
    Error,
}

/// One line of the transcript as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Time since the connection began; only on the first line of a group.
    pub at: Option<Duration>,
    pub dir: Dir,
    /// Already made visible; secrets masked.
    pub text: String,
    /// The unmasked text when `text` hides a secret.
    pub secret: Option<String>,
    /// The reply code, on server lines.
    pub code: Option<u16>,
    /// On the last line of a reply: time since the line it answers.
    pub latency: Option<Duration>,
    /// A reply line that continues the one above.
    pub continued: bool,
}

/// What the session task last said about its session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionView {
    pub stage: Stage,
    pub caps: Option<Capabilities>,
    pub tls: bool,
    pub auth: Option<String>,
    pub awaiting: bool,
    pub suggested: Vec<Verb>,
}

/// The connection as the user sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conn {
    Disconnected,
    Connecting,
    Open(SessionView),
}

/// Where to connect: the built-in server (None) or HOST[:PORT].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub server: Option<String>,
    /// Connect with implicit TLS (port 465 style).
    pub implicit_tls: bool,
}

impl Target {
    pub fn label(&self) -> String {
        match &self.server {
            None => "built-in demo server".into(),
            Some(s) => s.clone(),
        }
    }
}

/// A question the palette is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prompt {
    /// A raw line, sent exactly as typed.
    Raw,
    AuthUser(Mechanism),
    AuthPassword(Mechanism, String),
    /// HOST[:PORT] to connect to.
    Connect,
}

/// How far "run to" goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Goal {
    Ehlo,
    Mail,
    Rcpt,
    /// The message delivered (DATA, content, the final reply).
    Delivered,
}

/// What the palette offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemKind {
    /// Send this line (a command filled in from the envelope).
    Line(String),
    /// DATA, then the composed message once the server says 354.
    Data,
    Auth(Mechanism),
    RunTo(Goal),
    Raw,
    Connect,
    ConnectTo,
    Disconnect,
    CopyTranscript,
    CopyMessage,
    SaveText,
    SaveJson,
    EnvelopeFromHeaders,
    HeadersFromEnvelope,
    RevealSecrets,
    Analysis,
    ServerSide,
    /// A built-in lesson, by name.
    Lesson(&'static str),
    StopLesson,
    Help,
    Quit,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub label: String,
    pub hint: String,
    pub kind: ItemKind,
}

/// Messages from a session task.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionMsg {
    /// The connection is made, to this address.
    Started {
        peer: String,
    },
    Event(Timed),
    Status(SessionView),
    /// The connection is over; the sentence says how.
    Ended(String),
}

/// Every change to the state. Bindable actions have a key in the keymap
/// (`tui::keymap`); the others come from the loop.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Ask to quit (confirms while a session is open).
    Quit,
    /// Quit at once.
    ForceQuit,
    /// Move focus to the next pane.
    FocusNext,
    /// Move focus to the previous pane.
    FocusPrev,
    /// Show or hide the help.
    ToggleHelp,
    /// Switch the lower right pane between the message and the envelope
    /// compared with the headers.
    ToggleAnalysis,
    /// Switch the lower right pane to what the built-in server received.
    ToggleServerSide,
    /// Open the raw line: whatever is typed is sent exactly.
    RawLine,
    /// Up in a list.
    Up,
    /// Down in a list.
    Down,
    /// Scroll the transcript by a page.
    PageUp,
    PageDown,
    /// To the oldest line.
    Top,
    /// To the newest line, following again.
    Bottom,
    /// Enter: run the selected item, send the line.
    Submit,
    /// Put the selected command in the raw line to edit it before sending.
    Edit,
    /// Esc: close what is open, clear the filter.
    Cancel,
    /// Show or mask AUTH secrets in the transcript.
    RevealSecrets,
    CopyTranscript,
    /// Mouse wheel over the transcript: lines up (negative) or down.
    Scroll(i32),
    /// A key for the focused text field.
    Input(KeyEvent),
    /// Text pasted into the terminal, for the focused field.
    Paste(String),
    /// Internal: a message from session `id`.
    Session {
        id: u64,
        msg: SessionMsg,
    },
    /// Internal: the result of an effect, for the status line.
    Notice(String),
    /// Internal: the built-in server accepted a message.
    Stored(std::sync::Arc<crate::server::StoredMessage>),
    /// Start a lesson: its policy, envelope and message, then its steps.
    StartLesson(Box<lesson::Lesson>),
}

/// What `update` asks the loop to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Connect {
        id: u64,
        target: Target,
    },
    Control {
        id: u64,
        control: Control,
    },
    Copy(String),
    /// Give the built-in server this policy.
    SetPolicy(Box<crate::proto::server::Policy>),
    /// Save the transcript: `json` picks the form.
    Save {
        json: bool,
    },
    Quit,
}

/// Everything the screen shows.
pub struct AppState {
    pub focus: Focus,
    pub target: Target,
    pub conn: Conn,
    /// The current session's id; messages of others are stale.
    pub session_id: u64,
    pub ehlo_name: String,
    pub lines: Vec<Line>,
    /// Every event as received, for saving in `send`'s forms.
    pub events: Vec<Timed>,
    /// Lines scrolled up from the newest; 0 follows new lines.
    pub scroll: usize,
    /// The transcript line under the cursor, when scrolled.
    pub selected: Option<usize>,
    pub filter: String,
    pub palette_index: usize,
    pub prompt: Option<Prompt>,
    pub input: TextArea<'static>,
    pub mail_from: TextArea<'static>,
    pub rcpts: TextArea<'static>,
    /// Which envelope field has the cursor: 0 MAIL FROM, 1 RCPT TO.
    pub envelope_field: usize,
    /// Recipients already sent in this transaction.
    pub rcpts_sent: Vec<String>,
    pub headers: TextArea<'static>,
    pub body: TextArea<'static>,
    /// Which composer field has the cursor: 0 headers, 1 body.
    pub composer_field: usize,
    pub notice: Option<String>,
    pub help: bool,
    pub confirm_quit: bool,
    pub reveal: bool,
    pub goal: Option<Goal>,
    /// The last line a "Run to" sent, and the stage it was sent at: the
    /// same again means the reply did not move the session on.
    pub goal_last: Option<(Stage, String)>,
    /// DATA was sent from the palette: send the message on 354.
    pub content_on_354: bool,
    /// Default user for AUTH prompts.
    pub auth_user: String,
    /// Lines the transcript pane shows at once (set by the loop on resize).
    pub page: usize,
    /// The address of the current session's server, once connected.
    pub peer: Option<String>,
    /// Transcript lines dropped from the front (past `MAX_LINES`).
    pub dropped: usize,
    /// What the lower right pane shows.
    pub lower: Lower,
    /// Messages the built-in server accepted, newest last (at most 50).
    pub stored: Vec<std::sync::Arc<crate::server::StoredMessage>>,
    pub lesson: Option<LessonRun>,
}

/// A lesson under way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LessonRun {
    pub lesson: lesson::Lesson,
    /// The step to do now; `steps.len()` when all are done.
    pub step: usize,
    /// Events before this index belong to earlier steps.
    pub from: usize,
}

impl LessonRun {
    pub fn done(&self) -> bool {
        self.step >= self.lesson.steps.len()
    }

    /// What to show: the current instruction, or that all is done.
    pub fn say(&self) -> String {
        match self.lesson.steps.get(self.step) {
            Some(s) => s.say.clone(),
            None => format!(
                "Lesson complete: {}. Choose another in the palette, or go on freely.",
                self.lesson.title
            ),
        }
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
fn field(text: &str) -> TextArea<'static> {
    let mut t = TextArea::from(text.lines().map(str::to_string).collect::<Vec<_>>());
    if t.lines().len() == 1 {
        t.move_cursor(tui_textarea::CursorMove::End);
    }
    t
}

/// What only the caller knows when the app starts.
pub struct Start {
    pub target: Target,
    pub ehlo_name: String,
    /// RFC 5322 date for the Date: field.
    pub date: String,
    pub message_id: String,
}

impl Start {
    /// The built-in server, and a fixed date and Message-ID: the same state
    /// every time, for tests, snapshots and benchmarks.
    pub fn fixed() -> Self {
        Self {
            target: Target {
                server: None,
                implicit_tls: false,
            },
            ehlo_name: "client.example".into(),
            date: "Sat, 28 Nov 2026 12:00:00 +0000".into(),
            message_id: "1@client.example".into(),
        }
    }
}

impl AppState {
    pub fn new(start: Start) -> Self {
        let headers = format!(
            "From: Student <student@client.example>\nTo: Alice <alice@example.test>\nCc: \nBcc: \n\
             Subject: Hello from smtp-workbench\nDate: {}\nMessage-ID: <{}>",
            start.date, start.message_id
        );
        Self {
            focus: Focus::Palette,
            target: start.target,
            conn: Conn::Disconnected,
            session_id: 0,
            ehlo_name: start.ehlo_name,
            lines: Vec::new(),
            events: Vec::new(),
            scroll: 0,
            selected: None,
            filter: String::new(),
            palette_index: 0,
            prompt: None,
            input: TextArea::default(),
            mail_from: field("student@client.example"),
            rcpts: field("alice@example.test\nbob@example.test"),
            envelope_field: 0,
            rcpts_sent: Vec::new(),
            headers: field(&headers),
            body: field("Hello Alice,\n\nthis message was typed in smtp-workbench.\n.A line that starts with a dot.\n\nBye"),
            composer_field: 0,
            notice: None,
            help: false,
            confirm_quit: false,
            reveal: false,
            goal: None,
            goal_last: None,
            content_on_354: false,
            auth_user: "alice@example.test".into(),
            page: 10,
            peer: None,
            dropped: 0,
            lower: Lower::Message,
            stored: Vec::new(),
            lesson: None,
        }
    }

    pub fn session(&self) -> Option<&SessionView> {
        match &self.conn {
            Conn::Open(v) => Some(v),
            _ => None,
        }
    }

    fn is_open(&self) -> bool {
        matches!(&self.conn, Conn::Open(v) if v.stage != Stage::Closed)
            || self.conn == Conn::Connecting
    }

    pub fn envelope_sender(&self) -> String {
        self.mail_from.lines().join("").trim().to_string()
    }

    pub fn envelope_rcpts(&self) -> Vec<String> {
        self.rcpts
            .lines()
            .iter()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect()
    }

    /// The composed message: header lines, a blank line, the body.
    pub fn message(&self) -> Vec<u8> {
        let mut out = String::new();
        for h in self.headers.lines() {
            // An empty field ("Cc: ") is left out rather than sent empty.
            if h.trim_end().ends_with(':') || h.trim().is_empty() {
                continue;
            }
            out.push_str(h);
            out.push_str("\r\n");
        }
        out.push_str("\r\n");
        out.push_str(&self.body.lines().join("\r\n"));
        out.push_str("\r\n");
        out.into_bytes()
    }

    /// The envelope against the header fields, and the checks of the
    /// composed message, as they stand now.
    pub fn findings(&self) -> Vec<crate::analysis::Finding> {
        use crate::analysis::compare::{compare, EnvelopeSide, HeaderSide};
        let message = self.message();
        let sender = self.envelope_sender();
        let env = EnvelopeSide {
            mail_from: (!sender.is_empty() && sender != "<>").then_some(sender),
            rcpts: self.envelope_rcpts(),
        };
        let mut out = compare(&env, &HeaderSide::from_message(&message));
        let caps = self.session().and_then(|s| s.caps.as_ref());
        out.extend(crate::analysis::lint::lint(&message, caps));
        out
    }

    /// The palette's items for the current stage, filtered.
    pub fn items(&self) -> Vec<Item> {
        let filter = self.filter.to_ascii_lowercase();
        self.all_items()
            .into_iter()
            .filter(|i| filter.is_empty() || i.label.to_ascii_lowercase().contains(&filter))
            .collect()
    }

    fn all_items(&self) -> Vec<Item> {
        let mut v = Vec::new();
        let item = |label: String, hint: &str, kind: ItemKind| Item {
            label,
            hint: hint.to_string(),
            kind,
        };
        let line = |l: String, hint: &str| item(l.clone(), hint, ItemKind::Line(l));
        match &self.conn {
            Conn::Connecting => {}
            Conn::Disconnected | Conn::Open(_) if !self.is_open() => {
                let again = if self.conn == Conn::Disconnected {
                    "Connect"
                } else {
                    "Reconnect"
                };
                v.push(item(
                    format!("{again} to {}", self.target.label()),
                    "open a new session",
                    ItemKind::Connect,
                ));
                v.push(item(
                    "Connect to…".into(),
                    "another server, HOST[:PORT]",
                    ItemKind::ConnectTo,
                ));
            }
            Conn::Disconnected => {}
            Conn::Open(s) => {
                let caps = s.caps.clone().unwrap_or_default();
                let unsent: Vec<String> = self
                    .envelope_rcpts()
                    .into_iter()
                    .filter(|r| !self.rcpts_sent.contains(r))
                    .collect();
                let mut later = Vec::new();
                for verb in &s.suggested {
                    match verb {
                        Verb::Ehlo => v.push(line(
                            format!("EHLO {}", self.ehlo_name),
                            "introduce yourself; the reply lists the extensions",
                        )),
                        Verb::Helo => v.push(line(
                            format!("HELO {}", self.ehlo_name),
                            "the old greeting, without extensions",
                        )),
                        Verb::StartTls => {
                            v.push(line("STARTTLS".into(), "switch this connection to TLS"))
                        }
                        Verb::Auth => {
                            for m in [Mechanism::Plain, Mechanism::Login, Mechanism::CramMd5] {
                                if caps.offers_auth(m.name()) {
                                    v.push(item(
                                        format!("AUTH {m}"),
                                        "authenticate; asks for user and password",
                                        ItemKind::Auth(m),
                                    ));
                                }
                            }
                        }
                        Verb::Mail => v.push(line(
                            format!("MAIL FROM:<{}>", self.envelope_sender()),
                            "start a transaction with the envelope sender",
                        )),
                        Verb::Rcpt => match unsent.first() {
                            Some(r) => v.push(line(
                                format!("RCPT TO:<{r}>"),
                                "add the next envelope recipient",
                            )),
                            // All sent: DATA comes first, the RCPT is there to edit.
                            None => later.push(line(
                                "RCPT TO:<>".into(),
                                "all envelope recipients sent; → to edit another",
                            )),
                        },
                        Verb::Data => v.push(item(
                            "DATA".into(),
                            "send the composed message (headers and body)",
                            ItemKind::Data,
                        )),
                        Verb::Rset => v.push(line("RSET".into(), "abort the transaction")),
                        Verb::Vrfy => v.push(line(
                            format!(
                                "VRFY {}",
                                self.envelope_rcpts()
                                    .first()
                                    .cloned()
                                    .unwrap_or_else(|| "postmaster".into())
                            ),
                            "ask whether a mailbox exists",
                        )),
                        Verb::Expn => v.push(line(
                            "EXPN postmaster".into(),
                            "ask to expand a mailing list",
                        )),
                        Verb::Noop => {
                            v.push(line("NOOP".into(), "do nothing; checks the connection"))
                        }
                        Verb::Help => v.push(line("HELP".into(), "the server's own help")),
                        Verb::Quit => v.push(line("QUIT".into(), "end the session politely")),
                        _ => {}
                    }
                    if *verb == Verb::Data {
                        v.append(&mut later);
                    }
                }
                v.append(&mut later);
                // Without a 220 greeting (none could be read, or the server
                // refused with 554), there is nothing to run to; while the
                // greeting is awaited, a run may be chosen ahead.
                let greeted = s.stage != Stage::Connected || s.awaiting;
                if s.stage < Stage::Data && greeted {
                    v.push(item(
                        "Run to MAIL FROM".into(),
                        "send what is missing up to MAIL FROM",
                        ItemKind::RunTo(Goal::Mail),
                    ));
                    v.push(item(
                        "Run to RCPT TO".into(),
                        "… up to the last RCPT TO",
                        ItemKind::RunTo(Goal::Rcpt),
                    ));
                    v.push(item(
                        "Run to the end (deliver)".into(),
                        "… and DATA with the message; pipelined when offered",
                        ItemKind::RunTo(Goal::Delivered),
                    ));
                }
                v.push(item(
                    "Disconnect".into(),
                    "hang up without QUIT",
                    ItemKind::Disconnect,
                ));
            }
        }
        v.push(item(
            "Raw line…".into(),
            "type any line, sent exactly as typed (Ctrl-R)",
            ItemKind::Raw,
        ));
        v.push(item(
            "Envelope ← headers".into(),
            "copy From/To/Cc/Bcc into MAIL FROM and RCPT TO",
            ItemKind::EnvelopeFromHeaders,
        ));
        v.push(item(
            "Headers ← envelope".into(),
            "copy MAIL FROM and RCPT TO into From and To",
            ItemKind::HeadersFromEnvelope,
        ));
        v.push(item(
            "Copy transcript".into(),
            "to the clipboard (Ctrl-Y)",
            ItemKind::CopyTranscript,
        ));
        v.push(item(
            "Copy message".into(),
            "the composed message, to the clipboard",
            ItemKind::CopyMessage,
        ));
        v.push(item(
            "Save transcript (text)".into(),
            "to a file in the current directory",
            ItemKind::SaveText,
        ));
        v.push(item(
            "Save transcript (JSON)".into(),
            "one JSON object per line, as send --format json",
            ItemKind::SaveJson,
        ));
        v.push(item(
            if self.reveal {
                "Mask secrets"
            } else {
                "Reveal secrets"
            }
            .into(),
            "show or hide AUTH secrets in the transcript (Ctrl-S)",
            ItemKind::RevealSecrets,
        ));
        // The lower right pane's views: each item switches to its view, or back.
        let view = |to: Lower, label: &str, hint: &str, kind: ItemKind| {
            let label = if self.lower == to {
                "Show the message"
            } else {
                label
            };
            item(label.into(), hint, kind)
        };
        v.push(view(
            Lower::Analysis,
            "Envelope against headers",
            "what the server acts on beside what the reader sees (F2)",
            ItemKind::Analysis,
        ));
        if self.target.server.is_none() {
            v.push(view(
                Lower::ServerSide,
                "The server's side",
                "what the built-in server received, beside what a reader will see (F3)",
                ItemKind::ServerSide,
            ));
        }
        match &self.lesson {
            Some(_) => v.push(item(
                "Stop the lesson".into(),
                "leave the lesson; the session goes on",
                ItemKind::StopLesson,
            )),
            None => {
                for (name, text) in lesson::builtin() {
                    if let Ok(l) = lesson::Lesson::parse(name, text) {
                        v.push(item(
                            format!("Lesson: {}", l.title),
                            &l.summary,
                            ItemKind::Lesson(name),
                        ));
                    }
                }
            }
        }
        v.push(item("Help".into(), "keys and panes (?)", ItemKind::Help));
        v.push(item(
            "Quit".into(),
            "leave smtp-workbench (q)",
            ItemKind::Quit,
        ));
        v
    }
}

/// Extracts the addresses from header text: `<a@b>` forms, else words with `@`.
fn addresses_in(value: &str) -> Vec<String> {
    value
        .split(',')
        .filter_map(|part| {
            let part = part.trim();
            let addr = match (part.rfind('<'), part.rfind('>')) {
                (Some(a), Some(b)) if a < b => &part[a + 1..b],
                _ => part
                    .split_whitespace()
                    .find(|w| w.contains('@'))
                    .unwrap_or(""),
            };
            (!addr.is_empty()).then(|| addr.to_string())
        })
        .collect()
}

fn header_values<'a>(headers: &'a [String], name: &str) -> Vec<&'a str> {
    headers
        .iter()
        .filter_map(|h| {
            let (n, v) = h.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then_some(v)
        })
        .collect()
}

/// Applies one action; returns what the loop must do.
pub fn update(state: &mut AppState, action: Action) -> Vec<Effect> {
    let mut fx = Vec::new();
    if !matches!(
        action,
        Action::Session { .. } | Action::Notice(_) | Action::Stored(_)
    ) {
        state.notice = None;
    }
    // The question stays while the session goes on (a busy server must not
    // dismiss it); the user's next key answers it.
    let background = matches!(
        action,
        Action::Session { .. } | Action::Notice(_) | Action::Stored(_)
    );
    if state.confirm_quit && !background {
        state.confirm_quit = false;
        match action {
            Action::Input(KeyEvent {
                code: KeyCode::Char('y'),
                ..
            })
            | Action::Quit
            | Action::Submit => {
                fx.push(Effect::Quit);
                return fx;
            }
            _ => return fx,
        }
    }
    match action {
        Action::Quit => {
            if state.is_open() {
                state.confirm_quit = true;
            } else {
                fx.push(Effect::Quit);
            }
        }
        Action::ForceQuit => fx.push(Effect::Quit),
        Action::FocusNext => state.focus = state.focus.step(true),
        Action::FocusPrev => state.focus = state.focus.step(false),
        Action::ToggleHelp => state.help = !state.help,
        Action::ToggleAnalysis => state.lower = state.lower.toggle(Lower::Analysis),
        Action::ToggleServerSide => state.lower = state.lower.toggle(Lower::ServerSide),
        Action::StartLesson(l) => start_lesson(state, *l, &mut fx),
        Action::Stored(m) => {
            state.stored.push(m);
            if state.stored.len() > 50 {
                state.stored.remove(0);
            }
        }
        Action::RawLine => open_prompt(state, Prompt::Raw, ""),
        Action::Cancel => {
            if state.help {
                state.help = false;
            } else if state.prompt.is_some() {
                state.prompt = None;
                state.input = TextArea::default();
            } else if !state.filter.is_empty() {
                state.filter.clear();
                state.palette_index = 0;
            } else if state.focus != Focus::Palette {
                state.focus = Focus::Palette;
            } else {
                return update(state, Action::Quit);
            }
        }
        Action::Up | Action::Down => {
            let down = action == Action::Down;
            match state.focus {
                Focus::Palette if state.prompt.is_none() => {
                    let n = state.items().len();
                    if n > 0 {
                        state.palette_index = if down {
                            (state.palette_index + 1) % n
                        } else {
                            (state.palette_index + n - 1) % n
                        };
                    }
                }
                Focus::Transcript => scroll(state, if down { -1 } else { 1 }),
                _ => {}
            }
        }
        Action::PageUp => scroll(state, state.page as i64),
        Action::PageDown => scroll(state, -(state.page as i64)),
        Action::Top => scroll(state, i64::MAX / 2),
        Action::Bottom => {
            state.scroll = 0;
            state.selected = None;
        }
        Action::Scroll(n) => scroll(state, -(n as i64)),
        Action::RevealSecrets => state.reveal = !state.reveal,
        Action::CopyTranscript => {
            // With a line selected, that line; else the whole transcript.
            let text = match state.selected.and_then(|i| state.lines.get(i)) {
                Some(l) => shown(l, state.reveal).to_string(),
                None => transcript_text(state),
            };
            fx.push(Effect::Copy(text));
        }
        Action::Edit => {
            if state.prompt.is_none() {
                if let Some(item) = state.items().get(state.palette_index) {
                    if let ItemKind::Line(l) = &item.kind {
                        let l = l.clone();
                        open_prompt(state, Prompt::Raw, &l);
                    }
                }
            }
        }
        Action::Submit => submit(state, &mut fx),
        Action::Input(key) => input(state, key),
        Action::Paste(text) => paste(state, &text),
        Action::Notice(n) => state.notice = Some(n),
        Action::Session { id, msg } => {
            if id == state.session_id {
                session_msg(state, msg, &mut fx);
            }
        }
    }
    fx
}

fn open_prompt(state: &mut AppState, prompt: Prompt, text: &str) {
    state.input = field(text);
    if matches!(prompt, Prompt::AuthPassword(..)) {
        state.input.set_mask_char('•');
    }
    state.prompt = Some(prompt);
    state.focus = Focus::Palette;
}

fn scroll(state: &mut AppState, up: i64) {
    let max = state.lines.len().saturating_sub(1) as i64;
    let next = (state.scroll as i64 + up).clamp(0, max);
    state.scroll = next as usize;
    state.selected = (state.scroll > 0).then(|| state.lines.len().saturating_sub(1 + state.scroll));
}

/// The transcript in one of `send`'s forms, secrets masked unless revealed.
pub fn transcript_as(state: &AppState, format: crate::transcript::Format) -> String {
    let mut w = crate::transcript::Writer::new(Vec::new(), format, state.reveal);
    for e in &state.events {
        let _ = w.write(e);
    }
    String::from_utf8_lossy(&w.into_inner()).into_owned()
}

/// The transcript as text, as `send` prints it.
pub fn transcript_text(state: &AppState) -> String {
    transcript_as(state, crate::transcript::Format::Text)
}

fn input(state: &mut AppState, key: KeyEvent) {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match state.focus {
        Focus::Palette => {
            if state.prompt.is_some() {
                // One line only: Enter is Submit, handled by the keymap.
                state.input.input(key);
            } else {
                match key.code {
                    KeyCode::Char(c) if !ctrl => {
                        state.filter.push(c);
                        state.palette_index = 0;
                    }
                    KeyCode::Backspace => {
                        state.filter.pop();
                        state.palette_index = 0;
                    }
                    _ => {}
                }
            }
        }
        Focus::Envelope => {
            if key.code == KeyCode::Enter && state.envelope_field == 0 {
                state.envelope_field = 1;
            } else if key.code == KeyCode::Up
                && state.envelope_field == 1
                && state.rcpts.cursor().0 == 0
            {
                state.envelope_field = 0;
            } else if key.code == KeyCode::Down && state.envelope_field == 0 {
                state.envelope_field = 1;
            } else if state.envelope_field == 0 {
                state.mail_from.input(key);
            } else {
                state.rcpts.input(key);
            }
        }
        Focus::Composer => {
            let headers_end = state.headers.cursor().0 + 1 >= state.headers.lines().len();
            if state.composer_field == 0 && key.code == KeyCode::Down && headers_end {
                state.composer_field = 1;
            } else if state.composer_field == 1
                && key.code == KeyCode::Up
                && state.body.cursor().0 == 0
            {
                state.composer_field = 0;
            } else if state.composer_field == 0 {
                state.headers.input(key);
            } else {
                state.body.input(key);
            }
        }
        Focus::Transcript => match key.code {
            KeyCode::Char('g') => scroll(state, i64::MAX / 2),
            KeyCode::Char('G') => {
                state.scroll = 0;
                state.selected = None;
            }
            KeyCode::Char('k') => scroll(state, 1),
            KeyCode::Char('j') => scroll(state, -1),
            _ => {}
        },
    }
}

fn paste(state: &mut AppState, text: &str) {
    match state.focus {
        Focus::Palette if state.prompt.is_some() => {
            // One line only: a pasted line break would send half a command.
            let first = text.lines().next().unwrap_or_default();
            state.input.insert_str(first);
        }
        Focus::Palette => {
            state
                .filter
                .push_str(text.lines().next().unwrap_or_default());
            state.palette_index = 0;
        }
        Focus::Envelope if state.envelope_field == 0 => {
            state
                .mail_from
                .insert_str(text.lines().next().unwrap_or_default());
        }
        Focus::Envelope => {
            state.rcpts.insert_str(text);
        }
        Focus::Composer if state.composer_field == 0 => {
            state.headers.insert_str(text);
        }
        Focus::Composer => {
            state.body.insert_str(text);
        }
        Focus::Transcript => {}
    }
}

fn control(state: &AppState, control: Control, fx: &mut Vec<Effect>) {
    fx.push(Effect::Control {
        id: state.session_id,
        control,
    });
}

fn send_line(state: &mut AppState, line: String, fx: &mut Vec<Effect>) {
    let verb = Verb::of_line(&line);
    if verb == Verb::Mail || verb == Verb::Rset {
        state.rcpts_sent.clear();
    }
    if verb == Verb::Rcpt {
        if let Some(a) = addresses_in(line.split_once(':').map_or("", |x| x.1)).first() {
            state.rcpts_sent.push(a.clone());
        }
    }
    control(state, Control::Raw(line), fx);
}

fn connect(state: &mut AppState, fx: &mut Vec<Effect>) {
    state.session_id += 1;
    state.conn = Conn::Connecting;
    state.peer = None;
    state.rcpts_sent.clear();
    state.goal = None;
    state.content_on_354 = false;
    state.lines.push(Line {
        at: None,
        dir: Dir::Info,
        text: format!(
            "── session {} with {} ──",
            state.session_id,
            state.target.label()
        ),
        secret: None,
        code: None,
        latency: None,
        continued: false,
    });
    fx.push(Effect::Connect {
        id: state.session_id,
        target: state.target.clone(),
    });
}

fn submit(state: &mut AppState, fx: &mut Vec<Effect>) {
    if state.focus != Focus::Palette {
        // Enter in a text field is a new line there.
        input(state, KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
        return;
    }
    if let Some(prompt) = state.prompt.take() {
        let text = state.input.lines().join("");
        state.input = TextArea::default();
        match prompt {
            Prompt::Raw => send_line(state, text, fx),
            Prompt::AuthUser(m) => {
                state.auth_user = text.clone();
                open_prompt(state, Prompt::AuthPassword(m, text), "");
            }
            Prompt::AuthPassword(m, user) => control(
                state,
                Control::Auth(
                    m,
                    Credentials {
                        user,
                        secret: Secret::new(text),
                    },
                ),
                fx,
            ),
            Prompt::Connect => {
                let t = text.trim();
                state.target = Target {
                    server: (!t.is_empty()).then(|| t.to_string()),
                    implicit_tls: false,
                };
                if state.is_open() {
                    control(state, Control::Close, fx);
                }
                connect(state, fx);
            }
        }
        return;
    }
    let items = state.items();
    let Some(item) = items
        .get(state.palette_index.min(items.len().saturating_sub(1)))
        .cloned()
    else {
        return;
    };
    state.filter.clear();
    state.palette_index = 0;
    match item.kind {
        ItemKind::Line(l) => send_line(state, l, fx),
        ItemKind::Data => {
            state.content_on_354 = true;
            send_line(state, "DATA".into(), fx);
            let warnings = crate::analysis::lint::lint(
                &state.message(),
                state.session().and_then(|s| s.caps.as_ref()),
            )
            .iter()
            .filter(|f| f.severity == crate::analysis::Severity::Warning)
            .count();
            if warnings > 0 {
                state.notice = Some(format!(
                    "the message has {warnings} warning(s): F2 shows them"
                ));
            }
        }
        ItemKind::Auth(m) => {
            let user = state.auth_user.clone();
            open_prompt(state, Prompt::AuthUser(m), &user);
        }
        ItemKind::RunTo(goal) => {
            state.goal = Some(goal);
            state.goal_last = None;
            advance_goal(state, fx);
        }
        ItemKind::Raw => open_prompt(state, Prompt::Raw, ""),
        ItemKind::Connect => {
            if state.is_open() {
                control(state, Control::Close, fx);
            }
            connect(state, fx);
        }
        ItemKind::ConnectTo => {
            let current = state.target.server.clone().unwrap_or_default();
            open_prompt(state, Prompt::Connect, &current);
        }
        ItemKind::Disconnect => control(state, Control::Close, fx),
        ItemKind::CopyTranscript => fx.push(Effect::Copy(transcript_text(state))),
        ItemKind::CopyMessage => fx.push(Effect::Copy(
            String::from_utf8_lossy(&state.message()).into_owned(),
        )),
        ItemKind::SaveText => fx.push(Effect::Save { json: false }),
        ItemKind::SaveJson => fx.push(Effect::Save { json: true }),
        ItemKind::EnvelopeFromHeaders => envelope_from_headers(state),
        ItemKind::HeadersFromEnvelope => headers_from_envelope(state),
        ItemKind::RevealSecrets => state.reveal = !state.reveal,
        ItemKind::Analysis => state.lower = state.lower.toggle(Lower::Analysis),
        ItemKind::ServerSide => state.lower = state.lower.toggle(Lower::ServerSide),
        ItemKind::Lesson(name) => {
            let found = lesson::builtin().into_iter().find(|(n, _)| *n == name);
            if let Some(Ok(l)) = found.map(|(n, t)| lesson::Lesson::parse(n, t)) {
                start_lesson(state, l, fx);
            }
        }
        ItemKind::StopLesson => {
            state.lesson = None;
            state.notice = Some("lesson stopped; the demo server keeps the lesson's policy until you reconnect or start another".into());
        }
        ItemKind::Help => state.help = true,
        ItemKind::Quit => {
            if state.is_open() {
                state.confirm_quit = true;
            } else {
                fx.push(Effect::Quit);
            }
        }
    }
}

fn start_lesson(state: &mut AppState, l: lesson::Lesson, fx: &mut Vec<Effect>) {
    if let Some(e) = &l.envelope {
        state.mail_from = field(&e.mail_from);
        state.rcpts = field(&e.rcpts.join("\n"));
    }
    if let Some(m) = &l.message {
        let mut headers = m.headers.clone();
        // The lesson's fields, with today's Date and a fresh Message-ID kept.
        for name in ["Date:", "Message-ID:"] {
            let given = headers.iter().any(|h| {
                h.to_ascii_lowercase()
                    .starts_with(&name.to_ascii_lowercase())
            });
            let current = state
                .headers
                .lines()
                .iter()
                .find(|h| h.starts_with(name))
                .cloned();
            if let (false, Some(line)) = (given, current) {
                headers.push(line);
            }
        }
        state.headers = field(&headers.join("\n"));
        state.body = field(&m.body);
    }
    fx.push(Effect::SetPolicy(Box::new(l.policy())));
    state.notice = Some(format!("lesson: {}", l.title));
    state.lesson = Some(LessonRun {
        lesson: l,
        step: 0,
        from: state.events.len(),
    });
    // A fresh session, with the lesson's policy.
    if state.target.server.is_none() {
        if state.is_open() {
            control(state, Control::Close, fx);
        }
        connect(state, fx);
    }
}

/// Moves the lesson on when the transcript shows the current step done.
fn check_lesson(state: &mut AppState) {
    let Some(run) = state.lesson.as_mut() else {
        return;
    };
    while let Some(step) = run.lesson.steps.get(run.step) {
        let from = run.from.min(state.events.len());
        if !lesson::satisfied(&step.expect, &state.events[from..]) {
            break;
        }
        run.step += 1;
        run.from = state.events.len();
    }
}

/// Copies the header addresses into the envelope, saying what changed:
/// never done silently, because the lesson is that the two differ.
fn envelope_from_headers(state: &mut AppState) {
    let headers: Vec<String> = state.headers.lines().to_vec();
    let from = header_values(&headers, "From")
        .first()
        .map(|v| addresses_in(v))
        .unwrap_or_default();
    let mut rcpts = Vec::new();
    for name in ["To", "Cc", "Bcc"] {
        for v in header_values(&headers, name) {
            rcpts.extend(addresses_in(v));
        }
    }
    if let Some(f) = from.first() {
        state.mail_from = field(f);
    }
    state.rcpts = field(&rcpts.join("\n"));
    state.notice = Some(format!(
        "envelope set from the headers: MAIL FROM <{}>, RCPT TO {}",
        state.envelope_sender(),
        rcpts.join(", ")
    ));
}

fn headers_from_envelope(state: &mut AppState) {
    let from = state.envelope_sender();
    let to = state.envelope_rcpts();
    let mut lines: Vec<String> = state.headers.lines().to_vec();
    let mut set = |name: &str, value: String| {
        let new = format!("{name}: {value}");
        match lines.iter().position(|l| {
            l.split_once(':')
                .is_some_and(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        }) {
            Some(i) => lines[i] = new,
            None => lines.insert(0, new),
        }
    };
    set("From", format!("<{from}>"));
    set(
        "To",
        to.iter()
            .map(|t| format!("<{t}>"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    state.headers = field(&lines.join("\n"));
    state.notice = Some("From and To set from the envelope".into());
}

/// Ends a "Run to" early, saying why.
fn stop_goal(state: &mut AppState, why: &str) {
    state.goal = None;
    state.goal_last = None;
    state.notice = Some(format!("Run to stopped: {why}"));
}

/// A "Run to" stops at a refusal or at a reply it cannot read. A refused
/// recipient does not stop it while others may be accepted.
fn stop_goal_at(state: &mut AppState, event: &Event) {
    match event {
        Event::BadReply { error, .. } => {
            stop_goal(state, &format!("a reply could not be read ({error})"));
        }
        Event::Reply {
            verb,
            reply,
            answers,
        } if !reply.code.is_positive() && *verb != Some(Verb::Rcpt) => {
            let what = match (verb, answers) {
                (Some(v), _) => v.name(),
                (None, Some(0)) => "the greeting",
                (None, _) => "a reply that answers no command",
            };
            stop_goal(
                state,
                &format!("{what} was answered {}; see the transcript", reply.code),
            );
        }
        _ => {}
    }
}

/// "Run to": sends what is missing for the goal whenever nothing is awaited.
fn advance_goal(state: &mut AppState, fx: &mut Vec<Effect>) {
    let Some(goal) = state.goal else { return };
    let Some(s) = state.session().cloned() else {
        return;
    };
    if s.awaiting || s.stage == Stage::Closed {
        return;
    }
    let caps = s.caps.clone().unwrap_or_default();
    let unsent: Vec<String> = state
        .envelope_rcpts()
        .into_iter()
        .filter(|r| !state.rcpts_sent.contains(r))
        .collect();
    let next = match s.stage {
        Stage::Greeted => format!("EHLO {}", state.ehlo_name),
        Stage::Ready if goal >= Goal::Mail => format!("MAIL FROM:<{}>", state.envelope_sender()),
        Stage::Mail | Stage::Rcpt if goal >= Goal::Rcpt && !unsent.is_empty() => {
            format!("RCPT TO:<{}>", unsent[0])
        }
        Stage::Rcpt if goal == Goal::Delivered => "DATA".into(),
        Stage::Mail if goal >= Goal::Rcpt => {
            return stop_goal(state, "no recipient was accepted, so DATA was not sent");
        }
        Stage::Connected => {
            return stop_goal(state, "the server has not greeted (no 220 was read)");
        }
        _ => {
            state.goal = None;
            state.goal_last = None;
            return;
        }
    };
    // A reply that did not move the session on (a positive code the
    // command cannot get, say) must not make the run send it again.
    if state.goal_last.as_ref() == Some(&(s.stage, next.clone())) {
        let why = format!("the reply to {next} did not move the session on");
        return stop_goal(state, &why);
    }
    state.goal_last = Some((s.stage, next.clone()));
    match s.stage {
        Stage::Ready if caps.pipelining && goal >= Goal::Rcpt => {
            // RFC 2920: MAIL, the RCPTs and DATA may go in one write.
            send_line(state, next, fx);
            for r in &unsent {
                send_line(state, format!("RCPT TO:<{r}>"), fx);
            }
            if goal == Goal::Delivered && !unsent.is_empty() {
                state.content_on_354 = true;
                send_line(state, "DATA".into(), fx);
                state.goal = None;
            }
        }
        Stage::Rcpt if next == "DATA" => {
            state.content_on_354 = true;
            send_line(state, next, fx);
            state.goal = None;
        }
        _ => send_line(state, next, fx),
    }
}

fn session_msg(state: &mut AppState, msg: SessionMsg, fx: &mut Vec<Effect>) {
    match msg {
        SessionMsg::Started { peer } => state.peer = Some(peer),
        SessionMsg::Event(timed) => {
            if state.goal.is_some() {
                stop_goal_at(state, &timed.event);
            }
            push_lines(state, &timed);
            state.events.push(timed);
            trim(state);
            check_lesson(state);
        }
        SessionMsg::Status(view) => {
            let data_now = view.stage == Stage::Data;
            state.conn = Conn::Open(view);
            if data_now && state.content_on_354 {
                state.content_on_354 = false;
                let message = state.message();
                control(state, Control::Content(message), fx);
            }
            advance_goal(state, fx);
        }
        SessionMsg::Ended(why) => {
            state.goal = None;
            let stage_closed = SessionView {
                stage: Stage::Closed,
                caps: state.session().and_then(|s| s.caps.clone()),
                tls: false,
                auth: None,
                awaiting: false,
                suggested: Vec::new(),
            };
            state.conn = Conn::Open(stage_closed);
            state.notice = Some(why);
        }
    }
}

/// The transcript keeps this many lines (and events for saving); older ones
/// are dropped in batches, so a server that talks without end cannot grow
/// the workbench's memory without bound.
pub const MAX_LINES: usize = 1_000_000;
const DROP_BATCH: usize = 10_000;

fn trim(state: &mut AppState) {
    if state.lines.len() > MAX_LINES + DROP_BATCH {
        let n = state.lines.len() - MAX_LINES;
        state.lines.drain(..n);
        state.dropped += n;
        state.selected = state.selected.and_then(|i| i.checked_sub(n));
        state.scroll = state.scroll.min(state.lines.len().saturating_sub(1));
    }
    if state.events.len() > MAX_LINES + DROP_BATCH {
        let n = state.events.len() - MAX_LINES;
        state.events.drain(..n);
    }
}

fn push_lines(state: &mut AppState, timed: &Timed) {
    let before = state.lines.len();
    let mut push = |line: Line| state.lines.push(line);
    match &timed.event {
        Event::Sent { text, revealed, .. } => push(Line {
            at: Some(timed.at),
            dir: Dir::Client,
            text: text.clone(),
            secret: revealed.clone(),
            code: None,
            latency: None,
            continued: false,
        }),
        Event::Reply { reply, .. } => {
            let n = reply.lines.len();
            for (i, l) in reply.lines.iter().enumerate() {
                push(Line {
                    at: (i == 0).then_some(timed.at),
                    dir: Dir::Server,
                    text: visible(l),
                    secret: None,
                    code: Some(reply.code.value()),
                    latency: if i + 1 == n { timed.latency } else { None },
                    continued: i > 0,
                });
            }
        }
        Event::BadReply { error, .. } => push(Line {
            at: Some(timed.at),
            dir: Dir::Error,
            text: format!("malformed reply: {error}"),
            secret: None,
            code: None,
            latency: None,
            continued: false,
        }),
        Event::Info(s) | Event::Warning(s) | Event::Error(s) => push(Line {
            at: Some(timed.at),
            dir: match &timed.event {
                Event::Info(_) => Dir::Info,
                Event::Warning(_) => Dir::Warning,
                _ => Dir::Error,
            },
            text: s.clone(),
            secret: None,
            code: None,
            latency: None,
            continued: false,
        }),
    }
    if state.scroll > 0 {
        // Scrolled up: stay on the same lines while new ones arrive.
        state.scroll += state.lines.len() - before;
    }
}

/// The text a transcript line shows, secrets masked unless revealed.
pub fn shown(line: &Line, reveal: bool) -> &str {
    match (&line.secret, reveal) {
        (Some(s), true) => s,
        _ => &line.text,
    }
}

/// Says whether a line hides a secret (for the theme).
pub fn is_masked(line: &Line, reveal: bool) -> bool {
    line.secret.is_some() && !reveal && line.text.contains(MASK)
}

#[cfg(test)]
mod tests;
