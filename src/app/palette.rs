//! The palette's state: the filter, the selected item, an open prompt and
//! its input line, and the items offered, computed when what they depend on
//! changes (the session's stage, the envelope, a lesson), never while drawing.

use tui_textarea::TextArea;

use super::lesson;
use super::session::{Connection, SessionView};
use super::{AppState, Lower};
use crate::proto::auth::Mechanism;
use crate::proto::client::{Goal, Stage};
use crate::proto::command::{Address, Arg, Command, CommandError, ReversePath, Verb};
use crate::transport::dns::mx::recipient_domain;

/// A question the palette is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prompt {
    /// A raw line, sent exactly as typed.
    Raw,
    AuthUser(Mechanism),
    AuthPassword(Mechanism, String),
    /// HOST[:PORT] to connect to.
    Connect,
    /// A message file (.eml) for the composer.
    OpenMessage,
    /// A file to attach to the message.
    AttachFile,
}

/// What the palette offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemKind {
    /// Send this command (filled in from the envelope); → edits its line.
    Command(Command),
    /// A line to finish in the raw line before it goes: what the envelope
    /// gave is not a valid argument, or there is none.
    Draft(String),
    /// DATA, then the composed message once the server says 354.
    Data,
    Auth(Mechanism),
    RunTo(Goal),
    Raw,
    Connect,
    ConnectTo,
    /// Connect to the MX hosts of this domain (the first recipient's).
    ConnectMx(String),
    /// Connect as this profile of the config file says.
    ConnectProfile(String),
    /// Fill the composer from a message file.
    OpenMessage,
    /// Attach a file to the message.
    AttachFile,
    /// Take every attachment off the message.
    RemoveAttachments,
    Disconnect,
    CopyTranscript,
    CopyMessage,
    SaveText,
    SaveJson,
    /// Save the server's certificates of the last handshake (PEM).
    SaveChain,
    SaveCast,
    EnvelopeFromHeaders,
    HeadersFromEnvelope,
    /// Sign the composed message with the demo DKIM key.
    SignDkim,
    RevealSecrets,
    Analysis,
    ServerSide,
    /// A built-in lesson, by name.
    Lesson(&'static str),
    StopLesson,
    Help,
    Quit,
    // Replay and presenter mode (issue 13).
    /// The replay's next step.
    ReplayNext,
    /// The replay's steps up to its next mark.
    ReplayToMark,
    /// Presenter mode on or off (F4).
    Presenter,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub label: String,
    pub hint: String,
    pub kind: ItemKind,
}

#[derive(Default)]
pub struct PaletteState {
    pub filter: String,
    pub index: usize,
    pub prompt: Option<Prompt>,
    pub input: TextArea<'static>,
    /// The raw line stays open after Enter: DATA went from it, or the
    /// server waits for content (see `raw_data`).
    pub raw_held: bool,
    /// The items for the current stage, filtered (see `AppState::refresh`).
    items: Vec<Item>,
}

impl PaletteState {
    /// The items offered now, filtered.
    pub fn items(&self) -> &[Item] {
        &self.items
    }

    /// The selected item.
    pub fn selected(&self) -> Option<&Item> {
        self.items
            .get(self.index.min(self.items.len().saturating_sub(1)))
    }

    pub(super) fn set_items(&mut self, all: Vec<Item>) {
        let filter = self.filter.to_ascii_lowercase();
        self.items = all
            .into_iter()
            .filter(|i| filter.is_empty() || i.label.to_ascii_lowercase().contains(&filter))
            .collect();
    }

    pub fn clear_filter(&mut self) {
        self.filter.clear();
        self.index = 0;
    }

    /// Up or down the list, round.
    pub fn step(&mut self, down: bool) {
        let n = self.items.len();
        if n > 0 {
            self.index = if down {
                (self.index + 1) % n
            } else {
                (self.index + n - 1) % n
            };
        }
    }
}

fn item(label: String, hint: &str, kind: ItemKind) -> Item {
    Item {
        label,
        hint: hint.to_string(),
        kind,
    }
}

/// An item that sends `command`; when the envelope's text could not make
/// one, an item that opens the raw line with `typed` to fix first.
fn command(command: Result<Command, CommandError>, typed: String, hint: &str) -> Item {
    match command {
        Ok(c) => item(
            c.to_string().trim_end().to_string(),
            hint,
            ItemKind::Command(c),
        ),
        Err(e) => item(
            typed.clone(),
            &format!("cannot be sent as it is ({e}); Enter to edit it"),
            ItemKind::Draft(typed),
        ),
    }
}

/// An item for a command without arguments.
fn bare(c: Command, hint: &str) -> Item {
    command(Ok(c), String::new(), hint)
}

/// Every item for the state as it is, unfiltered.
pub(super) fn all_items(state: &AppState) -> Vec<Item> {
    // A replay offers its own items: nothing that would connect (issue 13).
    if state.replay.is_some() {
        return super::replay_run::items();
    }
    let mut v = Vec::new();
    let session = &state.session;
    match &session.conn {
        Connection::Connecting => {}
        Connection::Disconnected | Connection::Open(_) if !session.is_open() => {
            let again = if session.conn == Connection::Disconnected {
                "Connect"
            } else {
                "Reconnect"
            };
            v.push(item(
                format!("{again} to {}", session.target.label()),
                "open a new session",
                ItemKind::Connect,
            ));
            v.push(item(
                "Connect to…".into(),
                "another server, HOST[:PORT]",
                ItemKind::ConnectTo,
            ));
            v.extend(super::everyday::profile_items(state));
            let first = state.envelope.rcpts().into_iter().next();
            if let Some(d) = first.as_deref().and_then(recipient_domain) {
                v.push(item(
                    format!("Connect to the MX of {d}"),
                    "where mail for the first recipient goes, as an MTA finds it",
                    ItemKind::ConnectMx(d),
                ));
            }
        }
        Connection::Disconnected => {}
        Connection::Open(s) => {
            commands(state, s, &mut v);
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
    tools(state, &mut v);
    v
}

/// The SMTP commands the session suggests, filled in from the envelope.
// Long: one arm per verb the session can suggest, in the palette's order.
fn commands(state: &AppState, s: &SessionView, v: &mut Vec<Item>) {
    let caps = s.caps.clone().unwrap_or_default();
    let ehlo = &state.session.ehlo_name;
    let rcpts = state.envelope.rcpts();
    let unsent = state.session.unsent(&rcpts).first().copied();
    let mut later = Vec::new();
    for verb in &s.suggested {
        match verb {
            Verb::Ehlo => v.push(command(
                Command::ehlo(ehlo),
                format!("EHLO {ehlo}"),
                "introduce yourself; the reply lists the extensions",
            )),
            Verb::Helo => v.push(command(
                Command::helo(ehlo),
                format!("HELO {ehlo}"),
                "the old greeting, without extensions",
            )),
            Verb::StartTls => v.push(bare(Command::StartTls, "switch this connection to TLS")),
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
            Verb::Mail => {
                let sender = state.envelope.sender();
                v.push(command(
                    ReversePath::parse(&sender).map(|p| Command::mail(p, Vec::new())),
                    format!("MAIL FROM:<{sender}>"),
                    "start a transaction with the envelope sender",
                ))
            }
            Verb::Rcpt => match unsent {
                Some(r) => v.push(command(
                    Address::new(r.as_str()).map(|a| Command::rcpt(a, Vec::new())),
                    format!("RCPT TO:<{r}>"),
                    "add the next envelope recipient",
                )),
                // All sent: DATA comes first, the RCPT is there to edit.
                None => later.push(item(
                    "RCPT TO:<>".into(),
                    "all envelope recipients sent; Enter to type another",
                    ItemKind::Draft("RCPT TO:<>".into()),
                )),
            },
            Verb::Data => v.push(item(
                "DATA".into(),
                "send the composed message (headers and body)",
                ItemKind::Data,
            )),
            Verb::Rset => v.push(bare(Command::Rset, "abort the transaction")),
            Verb::Vrfy => {
                let who = rcpts
                    .first()
                    .cloned()
                    .unwrap_or_else(|| "postmaster".into());
                v.push(command(
                    Arg::new("VRFY argument", who.as_str()).map(Command::Vrfy),
                    format!("VRFY {who}"),
                    "ask whether a mailbox exists",
                ))
            }
            Verb::Expn => v.push(command(
                Arg::new("EXPN argument", "postmaster").map(Command::Expn),
                "EXPN postmaster".into(),
                "ask to expand a mailing list",
            )),
            Verb::Noop => v.push(bare(
                Command::Noop(None),
                "do nothing; checks the connection",
            )),
            Verb::Help => v.push(bare(Command::Help(None), "the server's own help")),
            Verb::Quit => v.push(bare(Command::Quit, "end the session politely")),
            // Transports: LMTP's greeting, and XCLIENT when offered.
            Verb::Lhlo => v.push(command(
                Command::lhlo(ehlo),
                format!("LHLO {ehlo}"),
                "introduce yourself to the LMTP server; the reply lists the extensions",
            )),
            Verb::Xclient => {
                let line = state.session.xclient.clone().unwrap_or_else(|| {
                    "XCLIENT NAME=mail.example.org ADDR=192.0.2.7 HELO=mail.example.org".into()
                });
                v.push(item(
                    format!("{line} …"),
                    "speak for another client (Postfix); Enter to edit, then EHLO again",
                    ItemKind::Draft(line),
                ))
            }
            _ => {}
        }
        if *verb == Verb::Data {
            v.append(&mut later);
        }
    }
    v.append(&mut later);
}

/// What the workbench itself offers, whatever the stage.
// Longer than 80 lines: a flat list of items, one push each, in palette order.
fn tools(state: &AppState, v: &mut Vec<Item>) {
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
        "Sign the message (DKIM, demo key)".into(),
        "add a DKIM-Signature field, d= From:'s domain where the demo zone publishes the key",
        ItemKind::SignDkim,
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
    if state.session.chain.is_some() {
        v.push(item(
            "Save the server's certificates".into(),
            "the chain of the last TLS handshake, as PEM, to a file in the current directory",
            ItemKind::SaveChain,
        ));
    }
    v.push(item(
        "Save transcript (asciicast)".into(),
        "a recording for asciinema play, as send --cast",
        ItemKind::SaveCast,
    ));
    v.push(item(
        if state.transcript.reveal {
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
        let label = if state.lower == to {
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
    if state.session.target.server.is_none() {
        v.push(view(
            Lower::ServerSide,
            "The server's side",
            "what the built-in server received, beside what a reader will see (F3)",
            ItemKind::ServerSide,
        ));
    }
    match &state.lesson {
        Some(_) => v.push(item(
            "Stop the lesson".into(),
            "leave the lesson; the session goes on",
            ItemKind::StopLesson,
        )),
        None => {
            for (name, l) in lesson::builtin_lessons() {
                v.push(item(
                    format!("Lesson: {}", l.title),
                    &l.summary,
                    ItemKind::Lesson(name),
                ));
            }
        }
    }
    // Everyday (issue 14): last but Help and Quit, so the usual items keep their places.
    v.push(item(
        "Open message…".into(),
        "fill the composer from a message file (.eml); the envelope stays",
        ItemKind::OpenMessage,
    ));
    v.push(item(
        "Attach file…".into(),
        "add a file to the message (multipart/mixed, base64; type guessed from its name)",
        ItemKind::AttachFile,
    ));
    if !state.message.attachments.is_empty() {
        v.push(item(
            "Remove attachments".into(),
            "take every attached file off the message",
            ItemKind::RemoveAttachments,
        ));
    }
    v.push(item("Help".into(), "keys and panes (?)", ItemKind::Help));
    v.push(item(
        "Quit".into(),
        "leave smtp-workbench (q)",
        ItemKind::Quit,
    ));
}
