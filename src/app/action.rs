//! The workbench's one `Action` enum (every change to the state), the
//! `Effect`s `update` asks the loop to run, and the messages a session task
//! sends back.

use crossterm::event::KeyEvent;

use crate::app::lesson::Lesson;
use crate::app::session::{ServerChoice, SessionView};
use crate::proto::client::RunEvent;
use crate::transport::{Control, Timed};

/// Messages from a session task.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionMsg {
    /// The connection is made, to this address.
    Started {
        peer: String,
    },
    Event(Timed),
    /// The connection is made, from this local address (the client address
    /// SPF and iprev judge).
    Connected {
        local: std::net::SocketAddr,
    },
    Status(SessionView),
    /// How a "Run to" went: reached, or stopped and why.
    Run(RunEvent),
    /// The connection is over; the sentence says how.
    Ended(String),
    /// The server's certificates (PEM) from the last handshake.
    Chain(String),
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
    /// Wrap long transcript lines, or cut them (issue 15).
    ToggleWrap,
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
    /// Scroll F2 or the lesson's instruction (keys, or the wheel over it).
    ScrollView(crate::app::View, crate::app::Step),
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
    StartLesson(Box<Lesson>),
    /// Sign the composed message with the demo DKIM key (the palette's
    /// item; the loop asks for it at start).
    SignMessage,
    /// Internal: the DKIM-Signature field made for `message` (as it was
    /// when asked), or why none could be.
    Signed {
        message: Vec<u8>,
        domain: String,
        field: Result<String, String>,
    },
    /// Internal: a message file read for the composer (its name as typed),
    /// or why it could not be.
    MessageOpened {
        name: String,
        result: Result<Vec<u8>, String>,
    },
    /// Internal: a file read for "Attach file…", or why it could not be.
    AttachmentRead {
        name: String,
        result: Result<Vec<u8>, String>,
    },
    /// Internal: the authentication verdicts for revision `revision` of
    /// F2's inputs, or why none could be made; older revisions are dropped.
    Judged {
        revision: u64,
        judgement: Result<crate::analysis::auth::Judgement, String>,
    },
    // Replay and presenter mode (issue 13).
    /// Internal: open a saved transcript to replay (`--replay`).
    StartReplay(Box<crate::app::replay::Replay>),
    /// Show the replay's next step (a command and its reply).
    ReplayNext,
    /// Show the replay's steps up to its next mark (or its end).
    ReplayToMark,
    /// Presenter mode: hide the palette and the envelope, give the
    /// transcript and its explanations the whole width; again to leave.
    TogglePresenter,
}

/// What `update` asks the loop to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Connect {
        id: u64,
        target: ServerChoice,
    },
    Control {
        id: u64,
        control: Control,
    },
    Copy(String),
    /// Connect with this profile's CA file and TLS name from now on (None:
    /// the command line's).
    ProfileTls {
        ca_file: Option<std::path::PathBuf>,
        tls_name: Option<String>,
    },
    /// Read this message file and answer with `Action::MessageOpened`.
    OpenMessage(std::path::PathBuf),
    /// Read this file and answer with `Action::AttachmentRead`.
    ReadAttachment(std::path::PathBuf),
    /// Give the built-in server this policy.
    SetPolicy(Box<crate::proto::server::Policy>),
    /// Give the built-in server these rules (a lesson's; none is none).
    SetRules(Box<crate::server::Rules>),
    /// Save the transcript: `json` picks the form.
    Save {
        json: bool,
    },
    /// Save the server's certificates (PEM) to a file.
    SaveChain(String),
    /// Save the transcript as an asciicast v2 recording (as `send --cast`).
    SaveCast,
    /// Sign `message` with the demo key for `domain` (the clock gives `t=`)
    /// and answer with `Action::Signed`.
    Sign {
        message: Vec<u8>,
        domain: String,
    },
    /// Judge authentication and answer with `Action::Judged`, within the
    /// timeout.
    Judge {
        revision: u64,
        request: crate::app::auth::JudgeRequest,
    },
    Quit,
}
