//! The client side of an SMTP session as a state machine with no I/O.
//!
//! Bytes from the server go in through [`ClientSession::handle_input`]; bytes
//! to write come out of [`ClientSession::poll_transmit`], and what happened
//! comes out of [`ClientSession::poll_event`]. The transport says when the
//! connection ends, when a deadline passed and when TLS is up; the session
//! never learns the time.
//!
//! A session can be driven one command at a time (the TUI), including wrong
//! commands sent on purpose as raw lines, or given a [`Plan`] that it runs by
//! itself up to a stop point (`send`). Both paths share the same reply
//! handling, so they cannot disagree about what a reply meant.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;

use super::auth::{AuthExchange, AuthLine, Credentials, Mechanism};
use super::capabilities::Capabilities;
use super::command::{Address, Command, CommandError, Param, ReversePath, Verb};
use super::data::{self, DataEncoder, DataReport, Framing};
use super::reply::{Deviation, Reply, ReplyError, ReplyLimits, ReplyParser};
use super::visible::visible;

/// How far a session has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// Connected; the greeting has not arrived.
    Connected,
    /// The server said 220; it waits for EHLO or HELO.
    Greeted,
    /// EHLO or HELO was accepted; a transaction can start.
    Ready,
    /// MAIL FROM was accepted.
    Mail,
    /// At least one RCPT TO was accepted.
    Rcpt,
    /// DATA was answered 354: what is sent now is the message.
    Data,
    /// QUIT was answered, or the connection is gone.
    Closed,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Connected => "connected",
            Stage::Greeted => "greeted",
            Stage::Ready => "ready",
            Stage::Mail => "mail",
            Stage::Rcpt => "rcpt",
            Stage::Data => "data",
            Stage::Closed => "closed",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a planned session stops and says QUIT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum QuitAfter {
    /// Hang up as soon as the connection is made, before the greeting.
    Connect,
    /// After the 220 greeting.
    Greeting,
    /// After the first EHLO (or HELO) is accepted.
    Ehlo,
    /// After TLS is up and EHLO was answered again over it.
    StartTls,
    /// After AUTH succeeded.
    Auth,
    /// After MAIL FROM was accepted.
    Mail,
    /// After the RCPT TO replies.
    Rcpt,
    /// After DATA was answered 354: the content is never sent and the
    /// connection is closed, so the server drops the transaction.
    Data,
}

impl QuitAfter {
    pub const ALL: [QuitAfter; 8] = [
        Self::Connect,
        Self::Greeting,
        Self::Ehlo,
        Self::StartTls,
        Self::Auth,
        Self::Mail,
        Self::Rcpt,
        Self::Data,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Connect => "connect",
            Self::Greeting => "greeting",
            Self::Ehlo => "ehlo",
            Self::StartTls => "starttls",
            Self::Auth => "auth",
            Self::Mail => "mail",
            Self::Rcpt => "rcpt",
            Self::Data => "data",
        }
    }
}

/// How the message content goes to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transfer {
    /// DATA, dot-stuffed.
    Data,
    /// BDAT chunks of at most this many bytes (RFC 3030).
    Bdat { chunk_size: usize },
}

/// One whole transaction for the session to run by itself.
#[derive(Debug, Clone)]
pub struct Plan {
    pub ehlo: String,
    /// Send STARTTLS after EHLO; fail when the server does not offer it.
    pub starttls: bool,
    pub auth: Option<(Mechanism, Credentials)>,
    /// VRFY these before the transaction. With no recipients, the session
    /// ends after them.
    pub vrfy: Vec<String>,
    pub mail_from: ReversePath,
    pub mail_params: Vec<Param>,
    pub rcpts: Vec<(Address, Vec<Param>)>,
    /// The message as the user wrote it; line ends are normalised on the way
    /// out. Shared, so a plan is cheap to copy (the load mode runs one per
    /// session) however large the message.
    pub content: Arc<[u8]>,
    pub transfer: Transfer,
    /// Send MAIL, the RCPTs and DATA in one write when the server offers PIPELINING.
    pub pipelining: bool,
    pub quit_after: Option<QuitAfter>,
}

/// How a planned session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Everything asked for was done: the message was accepted (with its
    /// reply), or the session stopped where `--quit-after` said.
    Completed { accepted: Option<Reply> },
    /// A 4xx or 5xx reply ended the transaction.
    Refused(Reply),
    /// The server does not offer something the plan needs (STARTTLS, AUTH).
    NotOffered(String),
    /// The server broke the protocol: a malformed reply, an impossible one.
    Protocol(String),
    /// The connection ended early; says at which stage.
    ConnectionLost(String),
    /// The content was sent but the server's verdict never came.
    DeliveryUnknown(String),
    /// No reply within the deadline.
    TimedOut(String),
    /// TLS could not be set up.
    Tls(String),
    /// The plan itself could not be carried out (bad credentials form, …).
    Local(String),
}

/// What the transcript shows: every line in both directions and what the
/// session made of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A line the client wrote, made visible, CRLF not shown. `revealed` is
    /// the same line unmasked when `text` hides a secret.
    Sent {
        seq: u64,
        text: String,
        revealed: Option<String>,
    },
    /// A whole reply; `answers` is the `seq` of the line it answers.
    Reply {
        answers: Option<u64>,
        verb: Option<Verb>,
        reply: Reply,
    },
    /// A reply that could not be read; it stands in for one reply.
    BadReply {
        answers: Option<u64>,
        error: ReplyError,
    },
    Info(String),
    Warning(String),
    Error(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Greeting,
    Command(Verb),
    /// The answer to an AUTH continuation line.
    AuthStep,
    /// The answer to the `.` that ends DATA content.
    DataEnd,
}

impl Expect {
    fn verb(self) -> Option<Verb> {
        match self {
            Expect::Greeting => None,
            Expect::Command(v) => Some(v),
            Expect::AuthStep => Some(Verb::Auth),
            Expect::DataEnd => Some(Verb::Data),
        }
    }

    /// Whether a positive (2xx or 3xx) `code` is one this can get (RFC 5321,
    /// section 4.3.2, and the extensions' RFCs). Negative codes always fit.
    fn can_get(self, code: u16) -> bool {
        let fits: &[u16] = match self {
            Expect::Greeting | Expect::Command(Verb::StartTls) => &[220],
            Expect::Command(Verb::Ehlo | Verb::Helo | Verb::Mail | Verb::Rset | Verb::Noop)
            | Expect::Command(Verb::Bdat { .. })
            | Expect::DataEnd => &[250],
            Expect::Command(Verb::Rcpt) => &[250, 251],
            Expect::Command(Verb::Data) => &[354],
            Expect::Command(Verb::Auth) | Expect::AuthStep => &[235, 334],
            Expect::Command(Verb::Vrfy) => &[250, 251, 252],
            Expect::Command(Verb::Expn) => &[250, 252],
            Expect::Command(Verb::Help) => &[211, 214],
            Expect::Command(Verb::Quit) => &[221],
            // A line typed by hand: any reply may be right.
            Expect::Command(Verb::Other) => return true,
        };
        fits.contains(&code)
    }

    fn describe(self) -> &'static str {
        match self {
            Expect::Greeting => "the greeting",
            Expect::Command(v) => v.name(),
            Expect::AuthStep => "AUTH",
            Expect::DataEnd => "the end of the message content",
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    seq: u64,
    expect: Expect,
    /// Its command has left through `poll_transmit`. A reply cannot answer
    /// a command that has not been sent.
    on_wire: bool,
}

#[derive(Debug)]
struct Driver {
    plan: Plan,
    /// RCPT replies seen in this transaction.
    rcpt_replies: usize,
    /// The next RCPT to send when not pipelining.
    next_rcpt: usize,
    pipelined: bool,
    /// VRFY queries sent so far.
    next_vrfy: usize,
    /// BDAT chunks still to send, as (offset, len, last).
    bdat: VecDeque<(usize, usize, bool)>,
    bdat_bytes: Vec<u8>,
    /// Once the outcome is known: send QUIT when no reply is outstanding.
    quit_when_idle: bool,
}

/// The client side of one SMTP connection.
#[derive(Debug)]
pub struct ClientSession {
    stage: Stage,
    parser: ReplyParser,
    pending: VecDeque<Pending>,
    out: Vec<u8>,
    events: VecDeque<Event>,
    next_seq: u64,
    replies: u64,
    caps: Option<Capabilities>,
    tls: bool,
    awaiting_tls: bool,
    authenticated: Option<String>,
    auth: Option<AuthExchange>,
    rcpt_accepted: usize,
    messages_accepted: usize,
    close_requested: bool,
    /// A 334 arrived for an AUTH typed by hand: the next raw line answers it.
    auth_challenge_open: bool,
    driver: Option<Driver>,
    outcome: Option<Outcome>,
    /// The worst refusal that did not end the session.
    partial_refusal: Option<Reply>,
    /// Content lines shown in this transaction's transcript so far, and
    /// those sent but not shown.
    content_shown: usize,
    content_hidden: Hidden,
    /// Replies that answered nothing or could not be read, in a session
    /// driven by hand.
    junk: usize,
    /// The kinds of RFC 5321 deviation already warned of.
    deviations_told: Vec<Deviation>,
    /// Lines numbered below this have gone out through `poll_transmit`.
    transmitted: u64,
}

impl ClientSession {
    /// A session driven by hand, waiting for the greeting.
    pub fn new(limits: ReplyLimits) -> Self {
        Self {
            stage: Stage::Connected,
            parser: ReplyParser::new(limits),
            pending: VecDeque::from([Pending {
                seq: 0,
                expect: Expect::Greeting,
                on_wire: true,
            }]),
            out: Vec::new(),
            events: VecDeque::new(),
            next_seq: 1,
            replies: 0,
            caps: None,
            tls: false,
            awaiting_tls: false,
            authenticated: None,
            auth: None,
            rcpt_accepted: 0,
            messages_accepted: 0,
            close_requested: false,
            auth_challenge_open: false,
            driver: None,
            outcome: None,
            partial_refusal: None,
            content_shown: 0,
            content_hidden: Hidden::default(),
            junk: 0,
            deviations_told: Vec::new(),
            transmitted: 0,
        }
    }

    /// A session that runs `plan` by itself.
    pub fn with_plan(limits: ReplyLimits, plan: Plan) -> Self {
        let mut s = Self::new(limits);
        let connect_only = plan.quit_after == Some(QuitAfter::Connect);
        s.driver = Some(Driver {
            plan,
            rcpt_replies: 0,
            next_rcpt: 0,
            next_vrfy: 0,
            pipelined: false,
            bdat: VecDeque::new(),
            bdat_bytes: Vec::new(),
            quit_when_idle: false,
        });
        if connect_only {
            s.info("stopping after the connection as asked (--quit-after connect)");
            s.finish(Outcome::Completed { accepted: None });
            s.close();
        }
        s
    }

    /// Starts a session already in TLS (implicit TLS, port 465).
    pub fn set_implicit_tls(&mut self) {
        self.tls = true;
    }

    // ----------------------------------------------------------------- state

    pub fn stage(&self) -> Stage {
        self.stage
    }

    pub fn capabilities(&self) -> Option<&Capabilities> {
        self.caps.as_ref()
    }

    pub fn is_tls(&self) -> bool {
        self.tls
    }

    pub fn authenticated_user(&self) -> Option<&str> {
        self.authenticated.as_deref()
    }

    /// True after `220` to STARTTLS: the transport must now run the TLS
    /// handshake and then call [`Self::handle_tls_established`].
    pub fn awaiting_tls(&self) -> bool {
        self.awaiting_tls
    }

    /// True when at least one reply is outstanding.
    pub fn awaiting_reply(&self) -> bool {
        !self.pending.is_empty()
    }

    /// How many replies (or malformed ones) have been read so far; the
    /// transport restarts its per-reply deadline whenever this changes.
    pub fn replies_received(&self) -> u64 {
        self.replies
    }

    /// The session wants the connection closed (after QUIT, or to abort).
    pub fn is_closed(&self) -> bool {
        self.close_requested
    }

    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }

    /// The worst refusal that did not end the session: a recipient refused
    /// while others were accepted, or a VRFY answered 5xx.
    pub fn partial_refusal(&self) -> Option<&Reply> {
        self.partial_refusal.as_ref()
    }

    pub fn messages_accepted(&self) -> usize {
        self.messages_accepted
    }

    /// The commands that make sense now, in the order a user would want them.
    pub fn suggested(&self) -> Vec<Verb> {
        let caps = self.caps.clone().unwrap_or_default();
        let mut v = Vec::new();
        match self.stage {
            Stage::Connected | Stage::Closed | Stage::Data => {}
            Stage::Greeted => v.extend([Verb::Ehlo, Verb::Helo, Verb::Noop, Verb::Help]),
            Stage::Ready => {
                v.push(Verb::Mail);
                if caps.starttls && !self.tls {
                    v.push(Verb::StartTls);
                }
                if !caps.auth.is_empty() && self.authenticated.is_none() {
                    v.push(Verb::Auth);
                }
                v.extend([
                    Verb::Vrfy,
                    Verb::Expn,
                    Verb::Ehlo,
                    Verb::Rset,
                    Verb::Noop,
                    Verb::Help,
                ]);
            }
            Stage::Mail => v.extend([Verb::Rcpt, Verb::Rset, Verb::Noop]),
            Stage::Rcpt => {
                v.extend([Verb::Rcpt, Verb::Data]);
                if caps.chunking {
                    v.push(Verb::Bdat { last: true });
                }
                v.extend([Verb::Rset, Verb::Noop]);
            }
        }
        if !matches!(self.stage, Stage::Closed | Stage::Data) {
            v.push(Verb::Quit);
        }
        v
    }

    // ---------------------------------------------------------------- output

    /// Bytes to write to the server, all that is queued, in one piece so that
    /// a pipelined group goes out in one write.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        if self.out.is_empty() {
            return None;
        }
        for p in &mut self.pending {
            p.on_wire = true;
        }
        self.transmitted = self.next_seq;
        Some(std::mem::take(&mut self.out))
    }

    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    // ----------------------------------------------------------------- input

    /// Takes bytes received from the server.
    pub fn handle_input(&mut self, bytes: &[u8]) {
        if self.stage == Stage::Closed || self.awaiting_tls {
            return;
        }
        self.parser.feed(bytes);
        while let Some(result) = self.parser.poll_reply() {
            self.replies += 1;
            // A reply read together with the one that made us queue a
            // command arrived before that command went out: it answers
            // nothing (a server talking out of turn, or replies flooded).
            let early = self.pending.front().is_some_and(|p| !p.on_wire);
            let pending = if early {
                None
            } else {
                self.pending.pop_front()
            };
            let answers = pending.map(|p| p.seq);
            match result {
                Ok(reply) => {
                    let expect = pending.map(|p| p.expect);
                    self.events.push_back(Event::Reply {
                        answers,
                        verb: expect.and_then(Expect::verb),
                        reply: reply.clone(),
                    });
                    // Each kind once: a server that ends every line with a
                    // bare LF does not need saying so on every reply.
                    for d in &reply.deviations {
                        if !self.deviations_told.contains(d) {
                            self.deviations_told.push(*d);
                            self.warn(format!(
                                "server deviates from RFC 5321: {d} (said once per session)"
                            ));
                        }
                    }
                    match expect {
                        Some(expect) => self.on_reply(expect, &reply),
                        None => self.unsolicited(&reply, early),
                    }
                }
                Err(error) => {
                    self.events.push_back(Event::BadReply {
                        answers,
                        error: error.clone(),
                    });
                    if self.driver.is_some() {
                        self.abort(error.to_string(), false);
                    } else if self.junk() {
                        // Unreadable replies by the thousand: a flood.
                    } else if matches!(
                        error,
                        ReplyError::LineTooLong { .. } | ReplyError::TooManyLines { .. }
                    ) {
                        // By hand the session goes on after a reply it
                        // could not read, but not after one past the
                        // limits: reading on would read more of the same.
                        let m =
                            format!("{error}: no SMTP server sends that; closing the connection");
                        self.abort(m, true);
                    }
                }
            }
            if self.awaiting_tls || self.close_requested {
                break;
            }
        }
    }

    /// The connection could not be made at all.
    pub fn handle_connect_failed(&mut self, message: String) {
        self.finish(Outcome::ConnectionLost(message));
        self.pending.clear();
        self.stage = Stage::Closed;
        self.close_requested = true;
    }

    /// The server closed the connection (or it broke).
    pub fn handle_eof(&mut self) {
        if self.stage == Stage::Closed {
            return;
        }
        let quitting = self
            .pending
            .iter()
            .any(|p| p.expect == Expect::Command(Verb::Quit));
        if quitting || (self.close_requested && self.pending.is_empty()) {
            self.stage = Stage::Closed;
            return;
        }
        let lost = self.describe_loss("the server closed the connection");
        self.error(lost.1.clone());
        self.finish(lost.0);
        self.stage = Stage::Closed;
        self.close_requested = true;
    }

    /// Writing to the server failed (`why`: the error, or a write that
    /// stalled past the limit when `timed_out`). When message content was
    /// being written its end never went out, so nothing can have been
    /// delivered: that is said plainly, unlike a loss after the final dot.
    pub fn handle_write_failure(&mut self, why: &str, timed_out: bool) {
        if self.stage == Stage::Closed {
            return;
        }
        // As for a hang-up: a server that goes away as QUIT is written has
        // done nothing wrong.
        if self
            .pending
            .iter()
            .any(|p| p.expect == Expect::Command(Verb::Quit))
        {
            self.stage = Stage::Closed;
            self.close_requested = true;
            return;
        }
        let content_in_flight = matches!(
            self.pending.back().map(|p| p.expect),
            Some(Expect::DataEnd | Expect::Command(Verb::Bdat { .. }))
        );
        let (outcome, message) = if content_in_flight {
            let m = format!(
                "the message content could not all be sent ({why}): its end never went \
                 out, so the server cannot have accepted it; nothing was delivered"
            );
            (Outcome::ConnectionLost(m.clone()), m)
        } else {
            self.describe_loss(&format!("writing to the server failed ({why})"))
        };
        let outcome = match outcome {
            Outcome::ConnectionLost(m) if timed_out => Outcome::TimedOut(m),
            other => other,
        };
        self.error(message);
        self.finish(outcome);
        self.stage = Stage::Closed;
        self.close_requested = true;
    }

    /// No reply came within the transport's deadline. The deadline covers a
    /// reply as a whole, so part of one may have come: that is shown.
    pub fn handle_timeout(&mut self) {
        let (outcome, mut message) = self.describe_loss("no reply within the time limit");
        if self.parser.has_partial() {
            let part = self.parser.partial_line();
            let shown = visible(&part[..part.len().min(80)]);
            let more = if part.len() > 80 { "…" } else { "" };
            message.push_str(&format!(
                "; part of a reply came, never finished (the limit covers a whole reply): \
                 \"{shown}{more}\""
            ));
        }
        let outcome = match outcome {
            Outcome::ConnectionLost(_) => Outcome::TimedOut(message.clone()),
            Outcome::DeliveryUnknown(_) => Outcome::DeliveryUnknown(message.clone()),
            other => other,
        };
        self.error(message);
        self.finish(outcome);
        self.stage = Stage::Closed;
        self.close_requested = true;
    }

    fn describe_loss(&self, what: &str) -> (Outcome, String) {
        let waiting = self.pending.front().map(|p| p.expect);
        match waiting {
            Some(Expect::DataEnd) | Some(Expect::Command(Verb::Bdat { last: true })) => {
                let m = format!(
                    "{what} after the message content was sent and before the server \
                     answered it: delivery status unknown (the message may or may not \
                     have been accepted)"
                );
                (Outcome::DeliveryUnknown(m.clone()), m)
            }
            Some(e) => {
                let m = format!("{what} while waiting for the reply to {}", e.describe());
                (Outcome::ConnectionLost(m.clone()), m)
            }
            None => {
                let m = format!("{what}, with no reply awaited");
                (Outcome::ConnectionLost(m.clone()), m)
            }
        }
    }

    /// The TLS handshake after STARTTLS succeeded; `details` are shown as
    /// info lines (version, cipher, certificate).
    pub fn handle_tls_established(&mut self, details: Vec<String>) {
        self.awaiting_tls = false;
        self.tls = true;
        // RFC 3207, section 4.2: everything learned before TLS is forgotten.
        self.caps = None;
        self.authenticated = None;
        self.stage = Stage::Greeted;
        for d in details {
            self.info(d);
        }
        if self.driver.is_some() {
            let ehlo = self.plan_ref().map(|p| p.ehlo.clone()).unwrap_or_default();
            self.plan_send_ehlo(&ehlo);
        }
    }

    /// The TLS handshake failed; the connection is unusable.
    pub fn handle_tls_failed(&mut self, message: String) {
        self.awaiting_tls = false;
        self.error(format!("TLS handshake failed: {message}"));
        self.finish(Outcome::Tls(message));
        self.stage = Stage::Closed;
        self.close_requested = true;
    }

    // -------------------------------------------------------------- commands

    /// Sends a typed command, whatever the stage: a workbench may send a
    /// command out of order on purpose.
    pub fn send(&mut self, command: &Command) {
        let line = command.to_string();
        let seq = self.write_line(line.trim_end_matches("\r\n"), None);
        self.expect(seq, Expect::Command(command.kind()));
    }

    /// Sends a line exactly as typed. In the DATA stage it is message
    /// content and only a lone `.` expects a reply; while an AUTH challenge
    /// is open it is the answer.
    pub fn send_raw(&mut self, line: &str) -> Result<(), CommandError> {
        if let Some(byte) = line.bytes().find(|b| matches!(b, b'\r' | b'\n')) {
            return Err(CommandError::ForbiddenByte {
                what: "a raw line",
                byte,
            });
        }
        let in_auth = self.pending.is_empty() && self.auth.is_none() && self.auth_challenge_open;
        self.auth_challenge_open = false;
        let seq = self.write_line(line, None);
        if self.stage == Stage::Data {
            if line == "." {
                self.expect(seq, Expect::DataEnd);
            }
        } else if in_auth {
            self.expect(seq, Expect::AuthStep);
        } else {
            self.expect(seq, Expect::Command(Verb::of_line(line)));
        }
        Ok(())
    }

    /// Starts AUTH with a mechanism; the session answers the challenges.
    pub fn start_auth(&mut self, mechanism: Mechanism, credentials: Credentials) {
        match AuthExchange::new(mechanism, credentials) {
            Ok(mut x) => {
                let line = x.first_line();
                self.auth = Some(x);
                self.write_auth_line(line, Expect::Command(Verb::Auth));
            }
            Err(e) => {
                self.error(e.to_string());
                if self.driver.is_some() {
                    self.finish(Outcome::Local(e.to_string()));
                    self.quit();
                }
            }
        }
    }

    /// Sends message content after a 354, dot-stuffed and ended with `.`.
    /// The transcript shows the first [`CONTENT_LINES_SHOWN`] lines, then
    /// how many more went, then the final `.`.
    pub fn send_content(&mut self, content: &[u8]) -> DataReport {
        let start = self.out.len();
        let mut encoder = DataEncoder::new(Framing::Data);
        encoder.encode(content, &mut self.out);
        let report = encoder.finish(&mut self.out);
        for note in report.notes() {
            self.info(note);
        }
        let end_mark = self.out.len() - b".\r\n".len();
        self.content_shown = 0;
        let hidden = show_content(
            &self.out[start..end_mark],
            &mut self.content_shown,
            &mut self.next_seq,
            &mut self.events,
        );
        if hidden.lines > 0 {
            self.info(hidden.sentence());
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.events.push_back(Event::Sent {
            seq,
            text: ".".into(),
            revealed: None,
        });
        self.expect(seq, Expect::DataEnd);
        report
    }

    /// Sends one BDAT chunk: the command line and its bytes. The transcript
    /// shows the transaction's first [`CONTENT_LINES_SHOWN`] content lines.
    pub fn send_bdat_chunk(&mut self, chunk: &[u8], last: bool) {
        let command = Command::Bdat {
            size: chunk.len(),
            last,
        };
        self.send(&command);
        let hidden = show_content(
            chunk,
            &mut self.content_shown,
            &mut self.next_seq,
            &mut self.events,
        );
        self.content_hidden.lines += hidden.lines;
        self.content_hidden.bytes += hidden.bytes;
        if last && self.content_hidden.lines > 0 {
            let sentence = std::mem::take(&mut self.content_hidden).sentence();
            self.info(sentence);
        }
        self.out.extend_from_slice(chunk);
    }

    /// Says QUIT.
    pub fn quit(&mut self) {
        if self.stage != Stage::Closed {
            self.send(&Command::Quit);
        }
    }

    /// Asks the transport to close the connection without QUIT.
    pub fn close(&mut self) {
        self.close_requested = true;
    }

    /// The user hangs up: closed without QUIT, and said so.
    pub fn hang_up(&mut self) {
        if self.stage != Stage::Closed {
            self.info("disconnected by the user");
        }
        self.pending.clear();
        self.stage = Stage::Closed;
        self.close_requested = true;
    }

    /// An error found outside the session (a raw line that cannot be sent).
    pub fn report_error(&mut self, message: String) {
        self.error(message);
    }

    // --------------------------------------------------------------- helpers

    fn write_line(&mut self, text: &str, revealed: Option<String>) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.out.extend_from_slice(text.as_bytes());
        self.out.extend_from_slice(b"\r\n");
        self.events.push_back(Event::Sent {
            seq,
            text: visible(text.as_bytes()),
            revealed,
        });
        seq
    }

    fn write_auth_line(&mut self, line: AuthLine, expect: Expect) {
        let revealed = (line.shown != line.wire).then(|| visible(line.wire.as_bytes()));
        let seq = self.next_seq;
        self.next_seq += 1;
        self.out.extend_from_slice(line.wire.as_bytes());
        self.out.extend_from_slice(b"\r\n");
        self.events.push_back(Event::Sent {
            seq,
            text: line.shown,
            revealed,
        });
        if !line.decoded.is_empty() {
            self.info(line.decoded);
        }
        self.auth_challenge_open = false;
        self.expect(seq, expect);
    }

    fn expect(&mut self, seq: u64, expect: Expect) {
        self.pending.push_back(Pending {
            seq,
            expect,
            on_wire: false,
        });
    }

    fn info(&mut self, s: impl Into<String>) {
        self.events.push_back(Event::Info(s.into()));
    }

    fn warn(&mut self, s: impl Into<String>) {
        self.events.push_back(Event::Warning(s.into()));
    }

    fn error(&mut self, s: impl Into<String>) {
        self.events.push_back(Event::Error(s.into()));
    }

    fn finish(&mut self, outcome: Outcome) {
        if self.outcome.is_none() {
            self.outcome = Some(outcome);
        }
    }

    /// A reply that answers no command: `early` when a command was queued
    /// but had not been sent yet. A 421 may come at any time (RFC 5321,
    /// section 3.8); anything else is the server out of step, which ends a
    /// planned session as a protocol error, since no later reply could be
    /// trusted to answer the command it seems to.
    fn unsolicited(&mut self, reply: &Reply, early: bool) {
        if reply.code.value() == 421 {
            self.warn("the server is closing the connection (421)");
            if self.driver.is_some() {
                self.finish(Outcome::Refused(reply.clone()));
            }
            self.close();
            return;
        }
        let m = if early {
            format!(
                "the server sent {} before the command it would answer was sent: it is out \
                 of step (a broken server, or one flooding replies)",
                reply.code
            )
        } else {
            format!(
                "a reply ({}) arrived with no command waiting for it",
                reply.code
            )
        };
        if self.driver.is_some() {
            self.abort(m, true);
            return;
        }
        // By hand the session goes on; a flood is told of a few times, not
        // once per reply, and ended.
        if self.junk() {
            return;
        }
        match self.junk {
            n if n < UNSOLICITED_TOLD => self.warn(m),
            UNSOLICITED_TOLD => self.warn(format!(
                "{m} (more such replies are shown without this warning)"
            )),
            _ => {}
        }
    }

    /// Ends the session as a protocol error: says `m` (as an error line when
    /// `say`), and sends nothing more. Whatever was queued and not yet sent
    /// (message content after a 354 read with a stray reply, say) is
    /// dropped, so that a session reported as failed never delivers.
    fn abort(&mut self, m: String, say: bool) {
        if say {
            self.error(m.clone());
        }
        // The transcript must not show as sent what never went out.
        let cut = self.transmitted;
        self.events
            .retain(|e| !matches!(e, Event::Sent { seq, .. } if *seq >= cut));
        self.out.clear();
        self.pending.retain(|p| p.on_wire);
        self.finish(Outcome::Protocol(m));
        self.close();
    }

    /// Counts a reply that answers nothing or could not be read, in a
    /// session driven by hand; true (and the session closed) at the limit.
    fn junk(&mut self) -> bool {
        self.junk += 1;
        if self.junk < JUNK_LIMIT {
            return false;
        }
        if self.junk == JUNK_LIMIT {
            let m = format!(
                "the server has sent {JUNK_LIMIT} replies that answer nothing or cannot be \
                 read: it floods; closing the connection"
            );
            self.abort(m, true);
        }
        true
    }

    // ------------------------------------------------ what a reply changes

    fn on_reply(&mut self, expect: Expect, reply: &Reply) {
        let code = reply.code.value();
        let ok = reply.code.is_positive() && code < 300;
        if reply.code.is_positive() && !expect.can_get(code) {
            let m = match expect {
                Expect::Greeting => format!(
                    "a greeting must be 220 (or 554 to refuse), not {code} (RFC 5321, \
                     section 4.3.2): the server is out of step or broken"
                ),
                _ => format!(
                    "{} cannot be answered with {code} (RFC 5321, section 4.3.2): the \
                     server is out of step or broken",
                    expect.describe()
                ),
            };
            if self.driver.is_some() {
                self.abort(m, true);
                return;
            }
            self.warn(m);
        }
        match expect {
            Expect::Greeting => {
                if code == 220 {
                    self.stage = Stage::Greeted;
                } else {
                    self.warn(format!(
                        "the server refused the session in its greeting ({code})"
                    ));
                }
            }
            Expect::Command(Verb::Ehlo) if ok => {
                let caps = Capabilities::from_ehlo(reply);
                let offered = caps.summary();
                if offered.is_empty() {
                    self.info("server offers no extensions: plain SMTP (RFC 5321) only");
                } else {
                    self.info(format!("server offers: {}", offered.join(", ")));
                }
                self.caps = Some(caps);
                self.stage = Stage::Ready;
            }
            Expect::Command(Verb::Helo) if ok => {
                self.caps = Some(Capabilities::default());
                self.stage = Stage::Ready;
            }
            Expect::Command(Verb::StartTls) if code == 220 => {
                let (replies, bytes) = self.parser.discard();
                if replies + bytes > 0 {
                    self.warn(format!(
                        "the server sent {replies} more reply(s) and {bytes} byte(s) after \
                         220 to STARTTLS, before TLS; dropped unread (RFC 3207, section 5)"
                    ));
                }
                self.awaiting_tls = true;
            }
            Expect::Command(Verb::Auth) | Expect::AuthStep => self.on_auth_reply(reply),
            Expect::Command(Verb::Mail) if ok => {
                self.stage = Stage::Mail;
                self.rcpt_accepted = 0;
            }
            Expect::Command(Verb::Rcpt) if ok => {
                self.stage = Stage::Rcpt;
                self.rcpt_accepted += 1;
            }
            Expect::Command(Verb::Data) if code == 354 => self.stage = Stage::Data,
            Expect::DataEnd | Expect::Command(Verb::Bdat { last: true }) => {
                if ok {
                    self.messages_accepted += 1;
                }
                self.stage = Stage::Ready;
            }
            Expect::Command(Verb::Bdat { last: false }) if !ok => self.stage = Stage::Ready,
            Expect::Command(Verb::Rset) if ok && self.stage > Stage::Ready => {
                self.stage = Stage::Ready;
            }
            Expect::Command(Verb::Quit) => {
                self.stage = Stage::Closed;
                self.close_requested = true;
            }
            _ => {}
        }
        if code == 421 && self.stage != Stage::Closed {
            self.warn("the server is closing the connection (421)");
            self.close_requested = true;
        }
        if self.driver.is_some() {
            self.plan_on_reply(expect, reply);
        }
    }

    fn on_auth_reply(&mut self, reply: &Reply) {
        match reply.code.value() {
            334 => {
                let text = reply.texts().next().unwrap_or_default().to_vec();
                match AuthExchange::decode_challenge(&text) {
                    Ok(challenge) => {
                        self.info(format!("challenge decoded: {}", visible(&challenge)));
                        if let Some(mut x) = self.auth.take() {
                            match x.respond(&challenge) {
                                Ok(line) => {
                                    self.auth = Some(x);
                                    self.write_auth_line(line, Expect::AuthStep);
                                }
                                Err(e) => self.auth_abort(e.to_string()),
                            }
                        } else {
                            self.auth_challenge_open = true;
                        }
                    }
                    Err(e) => {
                        if self.auth.is_some() {
                            self.auth_abort(e.to_string());
                        } else {
                            self.warn(e.to_string());
                            self.auth_challenge_open = true;
                        }
                    }
                }
            }
            235 => {
                let user = self
                    .auth
                    .take()
                    .map(|x| x.user().to_string())
                    .unwrap_or_else(|| "(typed by hand)".into());
                self.info(format!("authenticated as {}", visible(user.as_bytes())));
                self.authenticated = Some(user);
                self.auth_challenge_open = false;
            }
            _ => {
                self.auth = None;
                self.auth_challenge_open = false;
            }
        }
    }

    /// RFC 4954, section 4: a client cancels an exchange by sending `*`.
    fn auth_abort(&mut self, why: String) {
        self.error(format!("AUTH cancelled: {why}"));
        self.auth = None;
        let seq = self.write_line("*", None);
        self.expect(seq, Expect::AuthStep);
    }

    // ------------------------------------------------------------ the plan

    fn plan_ref(&self) -> Option<&Plan> {
        self.driver.as_ref().map(|d| &d.plan)
    }

    /// True, and QUIT queued, when the plan stops at `point`.
    fn checkpoint(&mut self, point: QuitAfter) -> bool {
        let stop = self
            .plan_ref()
            .and_then(|p| p.quit_after)
            .is_some_and(|q| q <= point);
        if stop {
            let q = self
                .plan_ref()
                .and_then(|p| p.quit_after)
                .map(QuitAfter::name);
            self.info(format!(
                "stopping as asked (--quit-after {})",
                q.unwrap_or_default()
            ));
            self.finish(Outcome::Completed { accepted: None });
            self.quit();
        }
        stop
    }

    fn plan_fail(&mut self, outcome: Outcome) {
        self.finish(outcome);
        if let Some(d) = self.driver.as_mut() {
            d.quit_when_idle = true;
        }
    }

    fn plan_send_ehlo(&mut self, name: &str) {
        match Command::ehlo(name) {
            Ok(c) => self.send(&c),
            Err(e) => {
                self.error(e.to_string());
                self.finish(Outcome::Local(e.to_string()));
                self.quit();
            }
        }
    }

    fn plan_on_reply(&mut self, expect: Expect, reply: &Reply) {
        let code = reply.code.value();
        let ok = code < 300;
        if self.outcome.is_some() {
            // Replies to pipelined commands after the outcome was decided.
            if expect == Expect::Command(Verb::Data) && code == 354 {
                self.warn(
                    "the server accepted DATA although the transaction had failed; \
                     closing without sending content so that nothing is delivered",
                );
                self.close();
                return;
            }
            self.quit_if_idle();
            return;
        }
        match expect {
            Expect::Greeting if code == 220 => {
                if !self.checkpoint(QuitAfter::Greeting) {
                    let ehlo = self.plan_ref().map(|p| p.ehlo.clone()).unwrap_or_default();
                    self.plan_send_ehlo(&ehlo);
                }
            }
            Expect::Command(Verb::Ehlo) if matches!(code, 500 | 502) => {
                // RFC 5321, section 3.2: a server that does not know EHLO
                // gets HELO.
                self.info("the server does not know EHLO; trying HELO");
                let ehlo = self.plan_ref().map(|p| p.ehlo.clone()).unwrap_or_default();
                match Command::helo(&ehlo) {
                    Ok(c) => self.send(&c),
                    Err(e) => self.plan_fail(Outcome::Local(e.to_string())),
                }
            }
            Expect::Command(Verb::Ehlo | Verb::Helo) if ok => self.plan_after_ehlo(),
            Expect::Command(Verb::StartTls) if code == 220 => {}
            Expect::Command(Verb::Auth) | Expect::AuthStep if code == 334 => {}
            Expect::Command(Verb::Auth) | Expect::AuthStep if code == 235 => {
                if !self.checkpoint(QuitAfter::Auth) {
                    self.plan_before_transaction();
                }
            }
            Expect::Command(Verb::Mail) if ok => {
                if !self.checkpoint(QuitAfter::Mail) {
                    let pipelined = self.driver.as_ref().is_some_and(|d| d.pipelined);
                    if !pipelined {
                        self.plan_send_next_rcpt();
                    }
                }
            }
            Expect::Command(Verb::Rcpt) => self.plan_on_rcpt(reply),
            Expect::Command(Verb::Data) if code == 354 => {
                if self.checkpoint_data() {
                    return;
                }
                let content = self
                    .plan_ref()
                    .map(|p| p.content.clone())
                    .unwrap_or_default();
                self.send_content(&content);
            }
            Expect::Command(Verb::Bdat { last: false }) if ok => self.plan_send_next_chunk(),
            Expect::DataEnd | Expect::Command(Verb::Bdat { last: true }) if ok => {
                self.finish(Outcome::Completed {
                    accepted: Some(reply.clone()),
                });
                self.quit();
            }
            Expect::Command(Verb::Vrfy) => {
                if !reply.code.is_positive() {
                    self.note_refusal(reply);
                }
                self.plan_before_transaction();
            }
            Expect::Command(Verb::Quit) => {}
            _ => self.plan_fail(Outcome::Refused(reply.clone())),
        }
        self.quit_if_idle();
    }

    fn quit_if_idle(&mut self) {
        let want = self.driver.as_ref().is_some_and(|d| d.quit_when_idle);
        if want && self.pending.is_empty() && !self.close_requested {
            if let Some(d) = self.driver.as_mut() {
                d.quit_when_idle = false;
            }
            self.quit();
        }
    }

    /// `--quit-after data`: DATA was accepted; hang up without content.
    fn checkpoint_data(&mut self) -> bool {
        let stop = self.plan_ref().and_then(|p| p.quit_after) == Some(QuitAfter::Data);
        if stop {
            self.info(
                "stopping as asked (--quit-after data): closing without sending the \
                 content, so the server drops the transaction",
            );
            self.finish(Outcome::Completed { accepted: None });
            self.close();
        }
        stop
    }

    fn plan_after_ehlo(&mut self) {
        let Some(plan) = self.plan_ref() else { return };
        let want_tls = plan.starttls;
        let want_auth = plan.auth.is_some();
        let caps = self.caps.clone().unwrap_or_default();
        if want_tls && !self.tls {
            if self.checkpoint(QuitAfter::Ehlo) {
                return;
            }
            if caps.starttls {
                self.send(&Command::StartTls);
            } else {
                let m = "the server does not offer STARTTLS in its EHLO reply".to_string();
                self.error(m.clone());
                self.plan_fail(Outcome::NotOffered(m));
            }
            return;
        }
        // Every stop point up to here has been passed: EHLO, TLS when it was
        // asked for, and AUTH when it was not.
        let point = if want_auth {
            QuitAfter::StartTls
        } else {
            QuitAfter::Auth
        };
        if self.checkpoint(point) {
            return;
        }
        let auth = self.plan_ref().and_then(|p| p.auth.clone());
        match auth {
            Some((mechanism, credentials)) if self.authenticated.is_none() => {
                if caps.auth.is_empty() {
                    let hint = if self.tls {
                        ""
                    } else {
                        " (many servers offer AUTH only after STARTTLS: try --tls starttls)"
                    };
                    let m = format!("the server does not offer AUTH{hint}");
                    self.error(m.clone());
                    self.plan_fail(Outcome::NotOffered(m));
                } else if !caps.offers_auth(mechanism.name()) {
                    let m = format!(
                        "the server does not offer AUTH {mechanism}; it offers {}",
                        caps.auth.join(" ")
                    );
                    self.error(m.clone());
                    self.plan_fail(Outcome::NotOffered(m));
                } else {
                    self.start_auth(mechanism, credentials);
                }
            }
            _ => self.plan_before_transaction(),
        }
    }

    /// VRFY queries come after EHLO and AUTH and before MAIL; their replies
    /// are reported but do not end the session.
    fn plan_before_transaction(&mut self) {
        let Some(d) = self.driver.as_mut() else {
            return;
        };
        if let Some(query) = d.plan.vrfy.get(d.next_vrfy).cloned() {
            d.next_vrfy += 1;
            match super::command::Arg::new("VRFY argument", query) {
                Ok(arg) => self.send(&Command::Vrfy(arg)),
                Err(e) => self.plan_fail(Outcome::Local(e.to_string())),
            }
            return;
        }
        let vrfy_only = d.plan.rcpts.is_empty() && !d.plan.vrfy.is_empty();
        if vrfy_only {
            self.finish(Outcome::Completed { accepted: None });
            self.quit();
        } else {
            self.plan_start_transaction();
        }
    }

    fn note_refusal(&mut self, reply: &Reply) {
        let worse = self
            .partial_refusal
            .as_ref()
            .is_none_or(|r| r.code.value() < reply.code.value());
        if worse {
            self.partial_refusal = Some(reply.clone());
        }
    }

    fn plan_start_transaction(&mut self) {
        let Some(plan) = self.plan_ref().cloned() else {
            return;
        };
        let caps = self.caps.clone().unwrap_or_default();
        // RFC 1870, section 3: the size counts CRLFs but neither the
        // stuffed dots nor the final ".": the normalised content.
        let report = data::measure(&plan.content);
        let (encoded_len, eight_bit) = (report.bytes, report.eight_bit);
        self.content_shown = 0;
        self.content_hidden = Hidden::default();
        let mut params = plan.mail_params.clone();
        if caps.size.is_some() && !params.iter().any(|p| p.is("SIZE")) {
            self.info(format!(
                "SIZE={encoded_len} added: the server announced SIZE (RFC 1870)"
            ));
            params.push(Param::size(encoded_len));
        }
        if eight_bit && !params.iter().any(|p| p.is("BODY")) {
            if caps.eight_bit_mime {
                self.info("BODY=8BITMIME added: the content has 8-bit bytes");
                params.push(Param::body_8bitmime());
            } else {
                self.warn("the content has 8-bit bytes but the server did not announce 8BITMIME");
            }
        }
        let intl = plan
            .mail_from
            .address()
            .is_some_and(Address::is_internationalized)
            || plan.rcpts.iter().any(|(a, _)| a.is_internationalized());
        if intl && !params.iter().any(|p| p.is("SMTPUTF8")) {
            if caps.smtputf8 {
                self.info("SMTPUTF8 added: an address is not ASCII (RFC 6531)");
                params.push(Param::smtputf8());
            } else {
                self.warn("an address is not ASCII but the server did not announce SMTPUTF8");
            }
        }
        if let Transfer::Bdat { .. } = plan.transfer {
            if !caps.chunking {
                self.warn("BDAT asked for but the server did not announce CHUNKING");
            }
        }
        let pipelined = plan.pipelining && caps.pipelining;
        if pipelined {
            self.info("PIPELINING: MAIL, RCPT and DATA go in one write (RFC 2920)");
        }
        if let Some(d) = self.driver.as_mut() {
            d.pipelined = pipelined;
            d.rcpt_replies = 0;
            d.next_rcpt = 0;
        }
        self.send(&Command::mail(plan.mail_from.clone(), params));
        if pipelined && plan.quit_after != Some(QuitAfter::Mail) {
            while self.plan_send_next_rcpt() {}
            if plan.quit_after != Some(QuitAfter::Rcpt) && plan.transfer == Transfer::Data {
                self.send(&Command::Data);
            }
        }
    }

    /// Sends the next RCPT; false when none is left.
    fn plan_send_next_rcpt(&mut self) -> bool {
        let Some(d) = self.driver.as_mut() else {
            return false;
        };
        let Some((to, params)) = d.plan.rcpts.get(d.next_rcpt).cloned() else {
            return false;
        };
        d.next_rcpt += 1;
        self.send(&Command::rcpt(to, params));
        true
    }

    fn plan_on_rcpt(&mut self, reply: &Reply) {
        let Some(d) = self.driver.as_mut() else {
            return;
        };
        d.rcpt_replies += 1;
        let all_answered = d.rcpt_replies >= d.plan.rcpts.len();
        let pipelined = d.pipelined;
        let transfer = d.plan.transfer;
        if !reply.code.is_positive() {
            self.note_refusal(reply);
        }
        if !all_answered {
            if !pipelined {
                self.plan_send_next_rcpt();
            }
            return;
        }
        if self.rcpt_accepted == 0 {
            let worst = self.partial_refusal.take();
            if let Some(r) = worst {
                self.plan_fail(Outcome::Refused(r));
            }
            return;
        }
        if let Some(r) = &self.partial_refusal {
            let m = format!(
                "{} of {} recipients accepted; the others were refused ({}), so the \
                 message goes only to the accepted ones",
                self.rcpt_accepted,
                self.plan_ref().map_or(0, |p| p.rcpts.len()),
                r.code
            );
            self.warn(m);
        }
        if self.checkpoint(QuitAfter::Rcpt) {
            return;
        }
        match transfer {
            Transfer::Data if !pipelined => self.send(&Command::Data),
            Transfer::Data => {}
            Transfer::Bdat { chunk_size } => {
                let content = self
                    .plan_ref()
                    .map(|p| p.content.clone())
                    .unwrap_or_default();
                let (wire, report) = data::encode_bdat(&content);
                for note in report.notes() {
                    self.info(note);
                }
                let chunks: VecDeque<(usize, usize, bool)> = data::bdat_chunks(&wire, chunk_size)
                    .scan(0usize, |offset, (chunk, last)| {
                        let start = *offset;
                        *offset += chunk.len();
                        Some((start, chunk.len(), last))
                    })
                    .collect();
                if let Some(d) = self.driver.as_mut() {
                    d.bdat = chunks;
                    d.bdat_bytes = wire;
                }
                self.plan_send_next_chunk();
            }
        }
    }

    fn plan_send_next_chunk(&mut self) {
        let Some(d) = self.driver.as_mut() else {
            return;
        };
        let Some((start, len, last)) = d.bdat.pop_front() else {
            return;
        };
        let chunk = d.bdat_bytes[start..start + len].to_vec();
        self.send_bdat_chunk(&chunk, last);
    }
}

/// The transcript shows this many content lines of a message; the rest are
/// counted. Nobody reads a large attachment line by line, and keeping every
/// line of a 25 MB message as transcript text would cost several times its
/// size in memory.
pub const CONTENT_LINES_SHOWN: usize = 1000;

/// In a session driven by hand, replies that answer nothing are warned of
/// this many times; at `JUNK_LIMIT` of those and unreadable ones together,
/// the session is closed.
const UNSOLICITED_TOLD: usize = 10;
const JUNK_LIMIT: usize = 1000;

/// Content lines sent but not shown in the transcript.
#[derive(Debug, Default, Clone, Copy)]
struct Hidden {
    lines: usize,
    bytes: u64,
}

impl Hidden {
    fn sentence(self) -> String {
        format!(
            "{} more content line(s), {} bytes, sent but not shown (the transcript shows \
             the first {CONTENT_LINES_SHOWN})",
            self.lines, self.bytes
        )
    }
}

/// Adds a transcript line for each wire line of `bytes` while fewer than
/// [`CONTENT_LINES_SHOWN`] are shown; what is left is counted.
fn show_content(
    bytes: &[u8],
    shown: &mut usize,
    next_seq: &mut u64,
    events: &mut VecDeque<Event>,
) -> Hidden {
    let mut hidden = Hidden::default();
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        if *shown >= CONTENT_LINES_SHOWN {
            hidden.lines += 1;
            hidden.bytes += line.len() as u64;
            continue;
        }
        *shown += 1;
        events.push_back(Event::Sent {
            seq: *next_seq,
            text: visible(line.strip_suffix(b"\r\n").unwrap_or(line)),
            revealed: None,
        });
        *next_seq += 1;
    }
    hidden
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::auth::Secret;

    /// A scripted server: answers each command by its verb, accepts
    /// everything by default, and keeps every line it received.
    struct Fake {
        ehlo: String,
        replies: Vec<(String, String)>,
        in_data: bool,
        received: Vec<String>,
        /// Bytes to append after the reply to one verb (e.g. after STARTTLS).
        trailer: Option<(String, String)>,
        /// Hang up instead of answering this verb.
        hang_up_at: Option<String>,
    }

    impl Fake {
        fn new() -> Self {
            Self {
                ehlo: "250-mx.example\r\n250-PIPELINING\r\n250-SIZE 1000000\r\n250-STARTTLS\r\n\
                       250-AUTH PLAIN LOGIN CRAM-MD5\r\n250-8BITMIME\r\n250 CHUNKING\r\n"
                    .into(),
                replies: Vec::new(),
                in_data: false,
                received: Vec::new(),
                trailer: None,
                hang_up_at: None,
            }
        }

        fn on(mut self, verb: &str, reply: &str) -> Self {
            self.replies.push((verb.to_string(), reply.to_string()));
            self
        }

        /// The reply to one line, or None when the line gets none.
        fn answer(&mut self, line: &str) -> Result<Option<String>, ()> {
            self.received.push(line.to_string());
            if self.in_data {
                if line == "." {
                    self.in_data = false;
                    return Ok(Some(self.reply_for("."))
                        .flatten()
                        .or(Some("250 2.0.0 queued\r\n".into())));
                }
                return Ok(None);
            }
            let verb = line
                .split([' ', ':'])
                .next()
                .unwrap_or_default()
                .to_ascii_uppercase();
            if self.hang_up_at.as_deref() == Some(verb.as_str()) {
                return Err(());
            }
            let reply = self
                .reply_for(&verb)
                .unwrap_or_else(|| match verb.as_str() {
                    "EHLO" => self.ehlo.clone(),
                    "DATA" => "354 go ahead\r\n".into(),
                    "STARTTLS" => "220 2.0.0 ready\r\n".into(),
                    "QUIT" => "221 2.0.0 bye\r\n".into(),
                    "AUTH" => "235 2.7.0 ok\r\n".into(),
                    _ => "250 2.0.0 ok\r\n".into(),
                });
            if reply.starts_with("354") {
                self.in_data = true;
            }
            let mut reply = reply;
            if let Some((v, extra)) = &self.trailer {
                if *v == verb {
                    reply.push_str(extra);
                }
            }
            Ok(Some(reply))
        }

        fn reply_for(&mut self, verb: &str) -> Option<String> {
            let i = self
                .replies
                .iter()
                .position(|(v, _)| v.eq_ignore_ascii_case(verb))?;
            Some(self.replies.remove(i).1)
        }
    }

    fn plan() -> Plan {
        Plan {
            ehlo: "client.example".into(),
            starttls: false,
            auth: None,
            vrfy: vec![],
            mail_from: ReversePath::parse("a@client.example").unwrap(),
            mail_params: vec![],
            rcpts: vec![
                (Address::new("b@mx.example").unwrap(), vec![]),
                (Address::new("c@mx.example").unwrap(), vec![]),
            ],
            content: b"Subject: hi\r\n\r\n.dot\r\n".as_slice().into(),
            transfer: Transfer::Data,
            pipelining: false,
            quit_after: None,
        }
    }

    /// Runs a session against the fake, step-capped so that a livelock
    /// fails the test instead of hanging it. Returns the session, the
    /// writes (one entry per poll_transmit) and the events.
    fn drive(mut s: ClientSession, fake: &mut Fake) -> (ClientSession, Vec<String>, Vec<Event>) {
        let mut writes = Vec::new();
        let mut events = Vec::new();
        let mut input = b"220 mx.example ESMTP\r\n".to_vec();
        for _ in 0..100 {
            if !input.is_empty() {
                s.handle_input(&std::mem::take(&mut input));
            }
            if s.awaiting_tls() {
                s.handle_tls_established(vec!["TLS up".into()]);
            }
            events.extend(std::iter::from_fn(|| s.poll_event()));
            if let Some(bytes) = s.poll_transmit() {
                let text = String::from_utf8(bytes).unwrap();
                writes.push(text.clone());
                let mut rest = text.as_str();
                while let Some((line, tail)) = rest.split_once("\r\n") {
                    rest = tail;
                    // A BDAT line is followed by exactly that many bytes.
                    if let Some(n) = line
                        .strip_prefix("BDAT ")
                        .and_then(|a| a.split(' ').next())
                        .and_then(|n| n.parse::<usize>().ok())
                    {
                        rest = &rest[n.min(rest.len())..];
                    }
                    match fake.answer(line) {
                        Ok(Some(r)) => input.extend_from_slice(r.as_bytes()),
                        Ok(None) => {}
                        Err(()) => {
                            s.handle_eof();
                            events.extend(std::iter::from_fn(|| s.poll_event()));
                            return (s, writes, events);
                        }
                    }
                }
                continue;
            }
            if s.is_closed() || input.is_empty() && !s.awaiting_reply() {
                return (s, writes, events);
            }
            if input.is_empty() {
                // The fake has nothing more to say and the client waits.
                return (s, writes, events);
            }
        }
        panic!("the session did not finish within 100 steps");
    }

    fn sent_lines(events: &[Event]) -> Vec<String> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Sent { text, .. } => Some(text.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_whole_transaction_one_command_at_a_time() {
        let mut fake = Fake::new();
        let (s, writes, events) = drive(
            ClientSession::with_plan(ReplyLimits::default(), plan()),
            &mut fake,
        );
        assert_eq!(
            writes,
            vec![
                "EHLO client.example\r\n",
                "MAIL FROM:<a@client.example> SIZE=21\r\n",
                "RCPT TO:<b@mx.example>\r\n",
                "RCPT TO:<c@mx.example>\r\n",
                "DATA\r\n",
                "Subject: hi\r\n\r\n..dot\r\n.\r\n",
                "QUIT\r\n",
            ]
        );
        assert_eq!(
            s.outcome(),
            Some(&Outcome::Completed {
                accepted: Some(Reply::new(ReplyCode::new(250).unwrap(), "2.0.0 queued"))
            })
        );
        assert_eq!(s.stage(), Stage::Closed);
        assert_eq!(s.messages_accepted(), 1);
        // The transcript shows exactly what went on the wire.
        let wire: String = writes.concat();
        let shown: String = sent_lines(&events)
            .iter()
            .map(|l| format!("{l}\r\n"))
            .collect();
        assert_eq!(shown, wire);
    }

    use crate::proto::reply::ReplyCode;

    /// A message of `n` body lines, each "line N".
    fn long_content(n: usize) -> Arc<[u8]> {
        let mut c = b"Subject: long\r\n\r\n".to_vec();
        for i in 1..=n {
            c.extend_from_slice(format!("line {i}\r\n").as_bytes());
        }
        c.into()
    }

    #[test]
    fn a_long_message_goes_whole_but_the_transcript_shows_its_head() {
        for transfer in [Transfer::Data, Transfer::Bdat { chunk_size: 4000 }] {
            let mut fake = Fake::new();
            let mut p = plan();
            p.content = long_content(2500);
            p.transfer = transfer;
            let (s, writes, events) = drive(
                ClientSession::with_plan(ReplyLimits::default(), p),
                &mut fake,
            );
            assert_eq!(s.messages_accepted(), 1, "{transfer:?}");
            // Every line went out.
            let wire = writes.concat();
            assert!(wire.contains("\r\nline 1\r\n"), "{transfer:?}");
            assert!(wire.contains("\r\nline 2500\r\n"), "{transfer:?}");
            let told: Vec<_> = events
                .iter()
                .filter_map(|e| match e {
                    Event::Info(t) if t.contains("sent but not shown") => Some(t.clone()),
                    _ => None,
                })
                .collect();
            assert_eq!(told.len(), 1, "{transfer:?}: {told:?}");
            let sent = sent_lines(&events);
            if transfer == Transfer::Data {
                // The header line, the blank line, then 998 of the body.
                assert!(sent.contains(&"line 998".to_string()));
                assert!(!sent.contains(&"line 999".to_string()));
                let bytes: usize = (999..=2500).map(|i| format!("line {i}\r\n").len()).sum();
                assert!(
                    told[0].starts_with(&format!("1502 more content line(s), {bytes} bytes")),
                    "{told:?}"
                );
                assert_eq!(sent[sent.len() - 2..], [".", "QUIT"]);
            } else {
                // BDAT chunks cut lines where the byte count falls; each
                // piece is a line of the transcript.
                assert!(!sent.contains(&"line 999".to_string()));
            }
        }
    }

    #[test]
    fn a_write_failure_in_the_content_means_nothing_was_delivered() {
        let mut s = ClientSession::with_plan(ReplyLimits::default(), plan());
        for turn in &TURNS[..6] {
            s.handle_input(turn);
            let _ = s.poll_transmit();
        }
        s.handle_write_failure("write failed: broken pipe", false);
        match s.outcome() {
            Some(Outcome::ConnectionLost(m)) => {
                assert!(m.contains("(write failed: broken pipe)"), "{m}");
                assert!(m.contains("nothing was delivered"), "{m}");
            }
            other => panic!("{other:?}"),
        }
        assert!(s.is_closed());

        // Before any content: where it happened, as for a hang-up.
        let mut s = ClientSession::with_plan(ReplyLimits::default(), plan());
        s.handle_input(b"220 mx\r\n");
        s.handle_write_failure("the server took no data for 30s", true);
        match s.outcome() {
            Some(Outcome::TimedOut(m)) => assert_eq!(
                m,
                "writing to the server failed (the server took no data for 30s) while \
                 waiting for the reply to EHLO"
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn size_is_the_normalised_length_without_a_copy() {
        let r = data::measure(b"a\nb\r\n.c");
        assert_eq!(r.bytes, data::encode_bdat(b"a\nb\r\n.c").0.len() as u64);
        assert_eq!(r.bytes, 10);
    }

    #[test]
    fn pipelining_sends_mail_rcpt_and_data_in_one_write() {
        let mut fake = Fake::new();
        let mut p = plan();
        p.pipelining = true;
        let (s, writes, _) = drive(
            ClientSession::with_plan(ReplyLimits::default(), p),
            &mut fake,
        );
        assert_eq!(
            writes[1],
            "MAIL FROM:<a@client.example> SIZE=21\r\nRCPT TO:<b@mx.example>\r\n\
             RCPT TO:<c@mx.example>\r\nDATA\r\n"
        );
        assert!(matches!(
            s.outcome(),
            Some(Outcome::Completed { accepted: Some(_) })
        ));
    }

    #[test]
    fn pipelined_refusal_of_mail_sends_no_content() {
        let mut fake = Fake::new()
            .on("MAIL", "550 5.7.1 sender refused\r\n")
            .on("RCPT", "503 5.5.1 need MAIL\r\n")
            .on("RCPT", "503 5.5.1 need MAIL\r\n")
            .on("DATA", "503 5.5.1 need RCPT\r\n");
        let mut p = plan();
        p.pipelining = true;
        let (s, writes, _) = drive(
            ClientSession::with_plan(ReplyLimits::default(), p),
            &mut fake,
        );
        assert_eq!(writes.last().map(String::as_str), Some("QUIT\r\n"));
        assert!(!writes.concat().contains("Subject"));
        match s.outcome() {
            Some(Outcome::Refused(r)) => assert_eq!(r.code.value(), 550),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_354_after_a_failed_pipeline_closes_without_content() {
        let mut fake = Fake::new()
            .on("RCPT", "550 5.1.1 no\r\n")
            .on("RCPT", "550 5.1.1 no\r\n");
        let mut p = plan();
        p.pipelining = true;
        let (s, writes, _) = drive(
            ClientSession::with_plan(ReplyLimits::default(), p),
            &mut fake,
        );
        assert!(s.is_closed());
        assert!(!writes.concat().contains("Subject"), "{writes:?}");
        assert!(matches!(s.outcome(), Some(Outcome::Refused(r)) if r.code.value() == 550));
    }

    #[test]
    fn one_refused_recipient_still_delivers_to_the_other() {
        let mut fake = Fake::new().on("RCPT", "550 5.1.1 unknown\r\n");
        let (s, writes, _) = drive(
            ClientSession::with_plan(ReplyLimits::default(), plan()),
            &mut fake,
        );
        assert!(writes.concat().contains("..dot"));
        assert!(matches!(
            s.outcome(),
            Some(Outcome::Completed { accepted: Some(_) })
        ));
        assert_eq!(s.partial_refusal().map(|r| r.code.value()), Some(550));
    }

    #[test]
    fn mixed_codes_in_the_final_reply_are_never_success() {
        // swaks delivers on this; it is a protocol error.
        let mut fake = Fake::new().on(".", "550-5.7.1 rejected\r\n250 2.0.0 queued\r\n");
        let (s, _, events) = drive(
            ClientSession::with_plan(ReplyLimits::default(), plan()),
            &mut fake,
        );
        assert!(
            matches!(s.outcome(), Some(Outcome::Protocol(_))),
            "{:?}",
            s.outcome()
        );
        assert!(events.iter().any(|e| matches!(e, Event::BadReply { .. })));
    }

    #[test]
    fn hang_up_after_the_final_dot_is_delivery_unknown() {
        let mut s = ClientSession::with_plan(ReplyLimits::default(), plan());
        s.handle_input(b"220 hi\r\n");
        let script = [
            &b"250 mx\r\n"[..],
            b"250 ok\r\n",
            b"250 ok\r\n",
            b"250 ok\r\n",
            b"354 go\r\n",
        ]
        .into_iter();
        for r in script {
            let _ = s.poll_transmit();
            s.handle_input(r);
        }
        assert!(s.poll_transmit().unwrap().ends_with(b"\r\n.\r\n"));
        s.handle_eof();
        assert!(
            matches!(s.outcome(), Some(Outcome::DeliveryUnknown(m)) if m.contains("delivery status unknown"))
        );
    }

    #[test]
    fn hang_up_at_each_stage_names_the_command() {
        for (verb, stage) in [
            ("EHLO", "EHLO"),
            ("MAIL", "MAIL FROM"),
            ("RCPT", "RCPT TO"),
            ("DATA", "DATA"),
        ] {
            let mut fake = Fake::new();
            fake.hang_up_at = Some(verb.to_string());
            let (s, _, _) = drive(
                ClientSession::with_plan(ReplyLimits::default(), plan()),
                &mut fake,
            );
            match s.outcome() {
                Some(Outcome::ConnectionLost(m)) => {
                    assert!(
                        m.ends_with(&format!("while waiting for the reply to {stage}")),
                        "{verb}: {m}"
                    )
                }
                other => panic!("{verb}: {other:?}"),
            }
        }
    }

    #[test]
    fn timeout_waiting_for_the_verdict_is_delivery_unknown() {
        let mut s = ClientSession::with_plan(ReplyLimits::default(), plan());
        for r in [
            "220 hi\r\n",
            "250 mx\r\n",
            "250 ok\r\n",
            "250 ok\r\n",
            "250 ok\r\n",
            "354 go\r\n",
        ] {
            s.handle_input(r.as_bytes());
            let _ = s.poll_transmit();
        }
        s.handle_timeout();
        assert!(matches!(s.outcome(), Some(Outcome::DeliveryUnknown(_))));
    }

    #[test]
    fn starttls_drops_what_followed_220_and_says_ehlo_again() {
        let mut fake = Fake::new();
        fake.trailer = Some(("STARTTLS".into(), "250 injected\r\n".into()));
        let mut p = plan();
        p.starttls = true;
        let (s, writes, events) = drive(
            ClientSession::with_plan(ReplyLimits::default(), p),
            &mut fake,
        );
        assert_eq!(writes[0], "EHLO client.example\r\n");
        assert_eq!(writes[1], "STARTTLS\r\n");
        assert_eq!(writes[2], "EHLO client.example\r\n");
        assert!(s.is_tls());
        assert!(events
            .iter()
            .any(|e| matches!(e, Event::Warning(w) if w.contains("dropped unread"))));
        assert!(matches!(
            s.outcome(),
            Some(Outcome::Completed { accepted: Some(_) })
        ));
    }

    #[test]
    fn starttls_not_offered_fails_before_mail() {
        let mut fake = Fake::new();
        fake.ehlo = "250-mx\r\n250 PIPELINING\r\n".into();
        let mut p = plan();
        p.starttls = true;
        let (s, writes, _) = drive(
            ClientSession::with_plan(ReplyLimits::default(), p),
            &mut fake,
        );
        assert!(matches!(s.outcome(), Some(Outcome::NotOffered(_))));
        assert!(!writes.concat().contains("MAIL"));
    }

    #[test]
    fn auth_login_masks_the_password() {
        let mut fake = Fake::new()
            .on("AUTH", "334 VXNlcm5hbWU6\r\n")
            .on("YWxpY2U=", "334 UGFzc3dvcmQ6\r\n")
            .on("c2VjcmV0", "235 2.7.0 ok\r\n");
        let mut p = plan();
        p.auth = Some((
            Mechanism::Login,
            Credentials {
                user: "alice".into(),
                secret: Secret::new("secret"),
            },
        ));
        p.quit_after = Some(QuitAfter::Auth);
        let (s, writes, events) = drive(
            ClientSession::with_plan(ReplyLimits::default(), p),
            &mut fake,
        );
        assert_eq!(s.authenticated_user(), Some("alice"));
        assert!(writes.concat().contains("c2VjcmV0\r\n"));
        let shown = sent_lines(&events).join("\n");
        assert!(
            !shown.contains("c2VjcmV0") && !shown.contains("secret"),
            "{shown}"
        );
        assert!(events.iter().any(|e| matches!(e,
            Event::Sent { text, revealed: Some(r), .. } if text == "********" && r == "c2VjcmV0")));
        assert_eq!(writes.last().map(String::as_str), Some("QUIT\r\n"));
    }

    #[test]
    fn quit_after_each_point() {
        let cases = [
            (QuitAfter::Greeting, "QUIT"),
            (QuitAfter::Ehlo, "EHLO"),
            (QuitAfter::StartTls, "EHLO"),
            (QuitAfter::Auth, "EHLO"),
            (QuitAfter::Mail, "MAIL"),
            (QuitAfter::Rcpt, "RCPT"),
        ];
        for (q, last_before_quit) in cases {
            let mut fake = Fake::new();
            let mut p = plan();
            p.quit_after = Some(q);
            let (s, writes, _) = drive(
                ClientSession::with_plan(ReplyLimits::default(), p),
                &mut fake,
            );
            let lines: Vec<&str> = writes
                .iter()
                .flat_map(|w| w.split_terminator("\r\n"))
                .collect();
            assert_eq!(lines.last(), Some(&"QUIT"), "{q:?}");
            if lines.len() > 1 {
                assert!(
                    lines[lines.len() - 2].starts_with(last_before_quit),
                    "{q:?}: {lines:?}"
                );
            }
            assert!(
                !fake.received.iter().any(|l| l == "."),
                "{q:?} sent content"
            );
            assert_eq!(
                s.outcome(),
                Some(&Outcome::Completed { accepted: None }),
                "{q:?}"
            );
        }
        // Connect: nothing at all is written.
        let (s, writes, _) = drive(
            ClientSession::with_plan(
                ReplyLimits::default(),
                Plan {
                    quit_after: Some(QuitAfter::Connect),
                    ..plan()
                },
            ),
            &mut Fake::new(),
        );
        assert!(writes.is_empty() && s.is_closed());
        // Data: DATA is accepted, then the connection closes with no content.
        let (s, writes, _) = drive(
            ClientSession::with_plan(
                ReplyLimits::default(),
                Plan {
                    quit_after: Some(QuitAfter::Data),
                    ..plan()
                },
            ),
            &mut Fake::new(),
        );
        assert_eq!(writes.last().map(String::as_str), Some("DATA\r\n"));
        assert!(s.is_closed());
    }

    #[test]
    fn ehlo_refused_falls_back_to_helo() {
        let mut fake = Fake::new().on("EHLO", "502 5.5.1 what?\r\n");
        let (s, writes, _) = drive(
            ClientSession::with_plan(ReplyLimits::default(), plan()),
            &mut fake,
        );
        assert_eq!(writes[1], "HELO client.example\r\n");
        // HELO means no SIZE parameter: the server announced nothing.
        assert_eq!(writes[2], "MAIL FROM:<a@client.example>\r\n");
        assert!(matches!(s.outcome(), Some(Outcome::Completed { .. })));
    }

    #[test]
    fn bdat_chunks() {
        let mut fake = Fake::new();
        let mut p = plan();
        p.transfer = Transfer::Bdat { chunk_size: 10 };
        let (s, writes, _) = drive(
            ClientSession::with_plan(ReplyLimits::default(), p),
            &mut fake,
        );
        let all = writes.concat();
        assert!(all.contains("BDAT 10\r\nSubject: h"), "{all}");
        assert!(all.contains("BDAT 1 LAST\r\n\n"), "{all}");
        assert!(all.contains(".dot"), "BDAT is never stuffed: {all}");
        assert!(matches!(
            s.outcome(),
            Some(Outcome::Completed { accepted: Some(_) })
        ));
    }

    #[test]
    fn by_hand_with_raw_lines() {
        let mut s = ClientSession::new(ReplyLimits::default());
        let mut wire = Vec::new();
        // Sends what was typed, as the transport does before reading.
        let mut raw = |s: &mut ClientSession, line: &str| {
            s.send_raw(line).unwrap();
            wire.extend(s.poll_transmit().unwrap_or_default());
        };
        s.handle_input(b"220 mx ESMTP\r\n");
        assert_eq!(s.stage(), Stage::Greeted);
        assert_eq!(s.suggested()[0], Verb::Ehlo);
        raw(&mut s, "ehlo me");
        s.handle_input(b"250-mx\r\n250 AUTH LOGIN\r\n");
        assert_eq!(s.stage(), Stage::Ready);
        assert!(s.suggested().contains(&Verb::Auth));
        raw(&mut s, "HELLO wrong");
        s.handle_input(b"500 5.5.2 unknown command\r\n");
        assert_eq!(s.stage(), Stage::Ready);
        raw(&mut s, "MAIL FROM:<a@b>");
        s.handle_input(b"250 ok\r\n");
        assert_eq!(s.stage(), Stage::Mail);
        raw(&mut s, "RCPT TO:<c@d>");
        s.handle_input(b"250 ok\r\n");
        raw(&mut s, "DATA");
        s.handle_input(b"354 go\r\n");
        assert_eq!(s.stage(), Stage::Data);
        raw(&mut s, "Subject: by hand");
        raw(&mut s, "");
        raw(&mut s, "QUIT"); // content, not a command
        assert!(!s.awaiting_reply());
        raw(&mut s, ".");
        assert!(s.awaiting_reply());
        s.handle_input(b"250 2.0.0 queued\r\n");
        assert_eq!(s.stage(), Stage::Ready);
        assert_eq!(s.messages_accepted(), 1);
        assert!(s.send_raw("a\r\nb").is_err());
        // AUTH typed by hand: the next raw line answers the challenge.
        raw(&mut s, "AUTH LOGIN");
        s.handle_input(b"334 VXNlcm5hbWU6\r\n");
        raw(&mut s, "YWxpY2U=");
        s.handle_input(b"334 UGFzc3dvcmQ6\r\n");
        raw(&mut s, "c2VjcmV0");
        s.handle_input(b"235 2.7.0 ok\r\n");
        assert!(s.authenticated_user().is_some());
        let wire = String::from_utf8(wire).unwrap();
        assert!(wire.ends_with("AUTH LOGIN\r\nYWxpY2U=\r\nc2VjcmV0\r\n"));
    }

    #[test]
    fn a_flood_of_replies_by_hand_is_warned_of_ten_times() {
        let mut s = ClientSession::new(ReplyLimits::default());
        s.handle_input(b"220 hi\r\n");
        s.handle_input(&b"250 ok\r\n".repeat(25));
        let events: Vec<_> = std::iter::from_fn(|| s.poll_event()).collect();
        let warnings: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                Event::Warning(w) => Some(w.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(warnings.len(), 10, "{warnings:?}");
        assert!(warnings[9].ends_with("(more such replies are shown without this warning)"));
        let replies = events.iter().filter(|e| matches!(e, Event::Reply { .. }));
        assert_eq!(replies.count(), 26, "every reply is still shown");
        assert!(!s.is_closed());
    }

    #[test]
    fn by_hand_a_flood_or_an_endless_line_closes_the_session() {
        let mut s = ClientSession::new(ReplyLimits::default());
        s.handle_input(b"220 hi\r\n");
        s.handle_input(&b"250 ok\r\n2x0 unreadable\r\n".repeat(499));
        assert!(!s.is_closed(), "998 of them are not yet a flood");
        s.handle_input(b"250 ok\r\n250 ok\r\n250 ok\r\n");
        assert!(s.is_closed());
        match s.outcome() {
            Some(Outcome::Protocol(m)) => assert!(
                m.starts_with(
                    "the server has sent 1000 replies that answer nothing or cannot be read"
                ),
                "{m}"
            ),
            other => panic!("{other:?}"),
        }

        let mut s = ClientSession::new(ReplyLimits::default());
        s.handle_input(b"220 ");
        s.handle_input(&[b'x'; 5000]);
        assert!(s.is_closed());
        assert!(matches!(s.outcome(), Some(Outcome::Protocol(m))
            if m == "reply line longer than 4096 bytes: no SMTP server sends that; \
                     closing the connection"));

        // A reply that is merely malformed leaves the session open.
        let mut s = ClientSession::new(ReplyLimits::default());
        s.handle_input(b"22O hello\r\n");
        assert!(!s.is_closed());
    }

    #[test]
    fn a_timeout_shows_the_part_of_a_reply_that_came() {
        let mut s = ClientSession::new(ReplyLimits::default());
        s.handle_input(b"220 slow.exa");
        s.handle_timeout();
        assert_eq!(
            s.outcome(),
            Some(&Outcome::TimedOut(
                "no reply within the time limit while waiting for the reply to the greeting; \
                 part of a reply came, never finished (the limit covers a whole reply): \
                 \"220 slow.exa\""
                    .into()
            ))
        );
        // A multi-line reply cut after a whole line shows that line.
        let mut s = ClientSession::new(ReplyLimits::default());
        s.handle_input(b"220-first\r\n");
        s.handle_timeout();
        assert!(matches!(s.outcome(), Some(Outcome::TimedOut(m)) if m.ends_with("\"220-first\"")));
    }

    #[test]
    fn a_421_closes_the_session() {
        let mut s = ClientSession::new(ReplyLimits::default());
        s.handle_input(b"220 hi\r\n");
        s.handle_input(b"421 4.4.2 idle too long\r\n");
        assert!(s.is_closed());
    }

    /// The conversation of `plan()`, one entry per turn of the server.
    const TURNS: &[&[u8]] = &[
        b"220 hi\r\n",
        b"250-mx\r\n250 SIZE 100\r\n",
        b"250 ok\r\n",
        b"250 ok\r\n",
        b"250 ok\r\n",
        b"354 go\r\n",
        b"250 queued\r\n",
        b"221 bye\r\n",
    ];

    /// Feeds `chunks`, sending what the session queues after each.
    fn converse(chunks: &[&[u8]]) -> (Vec<Event>, Option<Outcome>) {
        let mut s = ClientSession::with_plan(ReplyLimits::default(), plan());
        let mut events = Vec::new();
        for c in chunks {
            s.handle_input(c);
            let _ = s.poll_transmit();
            events.extend(std::iter::from_fn(|| s.poll_event()));
        }
        (events, s.outcome().cloned())
    }

    #[test]
    fn the_same_events_whatever_the_split_of_the_replies() {
        let whole = converse(TURNS);
        assert!(matches!(
            whole.1,
            Some(Outcome::Completed { accepted: Some(_) })
        ));
        for (turn, bytes) in TURNS.iter().enumerate() {
            for cut in 0..=bytes.len() {
                let mut chunks: Vec<&[u8]> = TURNS[..turn].to_vec();
                chunks.extend([&bytes[..cut], &bytes[cut..]]);
                chunks.extend(&TURNS[turn + 1..]);
                assert_eq!(converse(&chunks), whole, "turn {turn} cut at {cut}");
            }
        }
    }

    #[test]
    fn replies_before_their_command_was_sent_answer_nothing() {
        // The whole conversation in one read: everything after the greeting
        // arrived before EHLO went out.
        let (events, outcome) = converse(&[&TURNS.concat()]);
        let m = "the server sent 250 before the command it would answer was sent: it is \
                 out of step (a broken server, or one flooding replies)";
        assert_eq!(outcome, Some(Outcome::Protocol(m.into())));
        assert!(events.contains(&Event::Error(m.into())));
        // EHLO was queued, never sent: the transcript does not show it.
        assert!(sent_lines(&events).is_empty(), "{events:?}");
    }

    #[test]
    fn a_session_ended_as_a_protocol_error_sends_nothing_more() {
        // The 354 and a stray reply in one read: the content was queued on
        // the 354, and must not go out once the stray reply ends the session.
        let mut s = ClientSession::with_plan(ReplyLimits::default(), plan());
        for turn in &TURNS[..5] {
            s.handle_input(turn);
            let _ = s.poll_transmit();
        }
        let _ = std::iter::from_fn(|| s.poll_event()).count();
        s.handle_input(b"354 go\r\n250 stray\r\n");
        assert!(matches!(s.outcome(), Some(Outcome::Protocol(_))));
        assert_eq!(s.poll_transmit(), None, "content sent after the failure");
        assert!(s.is_closed());
        let events: Vec<_> = std::iter::from_fn(|| s.poll_event()).collect();
        assert!(sent_lines(&events).is_empty(), "shown as sent: {events:?}");
    }

    #[test]
    fn a_positive_reply_a_command_cannot_get_is_a_protocol_error() {
        for (turn, wrong, says) in [
            (5, &b"250 ok\r\n"[..], "DATA cannot be answered with 250"),
            (2, b"354 go\r\n", "MAIL FROM cannot be answered with 354"),
            (1, b"220 hi\r\n", "EHLO cannot be answered with 220"),
            (
                0,
                b"250 hi\r\n",
                "a greeting must be 220 (or 554 to refuse), not 250",
            ),
        ] {
            let mut chunks: Vec<&[u8]> = TURNS[..turn].to_vec();
            chunks.push(wrong);
            let (_, outcome) = converse(&chunks);
            match outcome {
                Some(Outcome::Protocol(m)) => assert!(m.starts_with(says), "{m}"),
                other => panic!("{says}: {other:?}"),
            }
        }
        // By hand, the same is a warning and the session goes on.
        let mut s = ClientSession::new(ReplyLimits::default());
        s.handle_input(b"220 hi\r\n");
        s.send_raw("NOOP").unwrap();
        let _ = s.poll_transmit();
        s.handle_input(b"354 go\r\n");
        let events: Vec<_> = std::iter::from_fn(|| s.poll_event()).collect();
        assert!(events.iter().any(|e| matches!(e, Event::Warning(w)
            if w.starts_with("NOOP cannot be answered with 354"))));
        assert!(!s.is_closed());
    }
}
