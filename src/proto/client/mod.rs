//! The client side of an SMTP session as a state machine with no I/O.
//!
//! Bytes from the server go in through [`ClientSession::handle_input`]; bytes
//! to write come out of [`ClientSession::poll_transmit`], and what happened
//! comes out of [`ClientSession::poll_event`]. The transport says when the
//! connection ends and when TLS is up. Time comes in as an argument: the
//! session says when it next needs to act ([`ClientSession::poll_timeout`])
//! and is told when that time has come ([`ClientSession::handle_timeout`]);
//! it never reads a clock.
//!
//! A session can be driven one command at a time (the TUI), including wrong
//! commands sent on purpose as raw lines, or given a [`Plan`] that it runs by
//! itself up to a stop point (`send`). Both paths share the same reply
//! handling, so they cannot disagree about what a reply meant.
//!
//! This file holds the session's state, its inputs and its outputs; what a
//! reply changes is in `replies`, the planned session in `plan`, how a
//! session ended in `outcome`, and the content the transcript shows in
//! `content`.

mod content;
mod held;
mod outcome;
mod plan;
mod replies;
mod run;
#[cfg(test)]
mod run_tests;
#[cfg(test)]
mod tests;
mod timer;
mod transports;
#[cfg(test)]
mod transports_tests;

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use super::auth::{AuthExchange, AuthLine, Credentials, Mechanism};
use super::capabilities::Capabilities;
use super::command::{Command, CommandError, Verb};
use super::data::{DataEncoder, DataReport, Framing};
use super::reply::Reply;
use super::reply::{Deviation, ReplyError, ReplyLimits, ReplyParser};
use super::visible::visible;
pub use content::CONTENT_LINES_SHOWN;
use content::{show_content, Hidden};
pub use held::{HeldEnd, HeldReport};
pub use outcome::Outcome;
use plan::Driver;
pub use plan::{Plan, QuitAfter, Transfer};
use replies::Awaited;
use run::Run;
pub use run::{unsent, Goal, RunEvent, Transaction};
use timer::ReplyTimer;
use transports::Transports;
pub use transports::{DropAfter, Protocol, TransportSetup};

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

#[derive(Debug, Clone, Copy)]
struct Pending {
    seq: u64,
    awaited: Awaited,
    /// Its command has left through `poll_transmit`. A reply cannot answer
    /// a command that has not been sent.
    on_wire: bool,
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
    timer: ReplyTimer,
    /// A run by hand under way, and what it has to tell.
    run: Option<Run>,
    run_events: VecDeque<RunEvent>,
    /// Recipients sent in this transaction: cleared by MAIL and RSET.
    rcpts_sent: Vec<String>,
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
    /// LMTP, XCLIENT, a PROXY header, `--drop-after` (`transports`).
    tx: Transports,
    /// The smuggling probe's content, its end held back (`held`).
    held: Option<held::Held>,
}

impl ClientSession {
    /// A session driven by hand, waiting for the greeting.
    pub fn new(limits: ReplyLimits) -> Self {
        Self {
            stage: Stage::Connected,
            parser: ReplyParser::new(limits),
            pending: VecDeque::from([Pending {
                seq: 0,
                awaited: Awaited::Greeting,
                on_wire: true,
            }]),
            out: Vec::new(),
            events: VecDeque::new(),
            next_seq: 1,
            timer: ReplyTimer::default(),
            run: None,
            run_events: VecDeque::new(),
            rcpts_sent: Vec::new(),
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
            tx: Transports::default(),
            held: None,
        }
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

    /// How long the server may take over each reply; without a limit the
    /// session never times out.
    pub fn set_reply_timeout(&mut self, limit: Duration) {
        self.timer.set_limit(limit);
    }

    /// When the session next needs [`Self::handle_timeout`]: the deadline
    /// of the reply awaited, if any. While nothing is awaited there is none,
    /// so a user may think as long as they like.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.pending.is_empty() || self.close_requested || self.stage == Stage::Closed {
            return None;
        }
        match (self.timer.deadline(), self.held_deadline()) {
            (Some(reply), Some(held)) => Some(reply.min(held)),
            (reply, held) => reply.or(held),
        }
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

    /// The recipients sent in this transaction, typed or raw, as written.
    pub fn rcpts_sent(&self) -> &[String] {
        &self.rcpts_sent
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
            Stage::Greeted if self.lmtp() => v.extend([Verb::Lhlo, Verb::Noop, Verb::Help]),
            Stage::Greeted => v.extend([Verb::Ehlo, Verb::Helo, Verb::Noop, Verb::Help]),
            Stage::Ready => {
                v.push(Verb::Mail);
                if caps.starttls && !self.tls {
                    v.push(Verb::StartTls);
                }
                if !caps.auth.is_empty() && self.authenticated.is_none() {
                    v.push(Verb::Auth);
                }
                if caps
                    .other
                    .iter()
                    .any(|(k, _)| k.eq_ignore_ascii_case("XCLIENT"))
                {
                    v.push(Verb::Xclient);
                }
                let hello = if self.lmtp() { Verb::Lhlo } else { Verb::Ehlo };
                v.extend([
                    Verb::Vrfy,
                    Verb::Expn,
                    hello,
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
    pub fn handle_input(&mut self, now: Instant, bytes: &[u8]) {
        if self.stage == Stage::Closed || self.awaiting_tls {
            return;
        }
        self.parser.feed(bytes);
        while let Some(result) = self.parser.poll_reply() {
            self.timer.restart(now);
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
                    let awaited = pending.map(|p| p.awaited);
                    self.events.push_back(Event::Reply {
                        answers,
                        verb: awaited.and_then(Awaited::verb),
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
                    let excess = self.lmtp_excess(awaited, &reply);
                    if excess {
                        // The reply answered nothing: a command it seemed
                        // to answer still waits for its own.
                        if let Some(p) = pending {
                            self.pending.push_front(p);
                        }
                    }
                    match awaited {
                        _ if excess => {}
                        Some(awaited) => {
                            let rcpt = matches!(
                                awaited,
                                Awaited::Command(Verb::Rcpt) | Awaited::Delivery(_)
                            );
                            self.run_on_reply(awaited.describe(), &reply, rcpt);
                            self.on_reply(awaited, &reply);
                        }
                        None => {
                            self.run_on_reply("a reply that answers no command", &reply, false);
                            self.unsolicited(&reply, early);
                        }
                    }
                }
                Err(error) => {
                    self.events.push_back(Event::BadReply {
                        answers,
                        error: error.clone(),
                    });
                    self.stop_run(format!("a reply could not be read ({error})"));
                    let hint = self.preamble_hint(pending.map(|p| p.awaited));
                    if !hint.is_empty() {
                        self.error(format!("the greeting could not be read{hint}"));
                    }
                    if self.driver.is_some() {
                        self.abort(format!("{error}{hint}"), false);
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
        self.advance_run();
    }

    /// The connection is made (and TLS is up, for implicit TLS): the wait
    /// for the greeting begins.
    pub fn handle_connected(&mut self, now: Instant) {
        self.timer.restart(now);
    }

    /// What [`Self::poll_transmit`] gave has all been written: the wait for
    /// its replies begins.
    pub fn handle_written(&mut self, now: Instant) {
        self.timer.restart(now);
        self.held_written(now);
    }

    /// The owner is too far behind to take more events and reading stops
    /// until [`Self::handle_resume`]; that wait is not counted against the
    /// server.
    pub fn handle_pause(&mut self, now: Instant) {
        self.timer.pause(now);
    }

    pub fn handle_resume(&mut self, now: Instant) {
        self.timer.resume(now);
    }

    /// The connection could not be made at all.
    pub fn handle_connect_failed(&mut self, message: String) {
        self.finish(Outcome::ConnectionLost(message));
        self.pending.clear();
        self.stage = Stage::Closed;
        self.close_requested = true;
    }

    /// No connection was made because the destination refuses all mail
    /// before any server is asked (a null MX, RFC 7505): it ends as a
    /// refusal with `reply`, the one an MTA would report.
    pub fn handle_refused_unconnected(&mut self, reply: Reply) {
        self.handle_connect_failed(String::new());
        self.outcome = Some(Outcome::Refused(reply));
    }

    /// The server closed the connection (or it broke).
    pub fn handle_eof(&mut self) {
        if self.stage == Stage::Closed {
            return;
        }
        let quitting = self
            .pending
            .iter()
            .any(|p| p.awaited == Awaited::Command(Verb::Quit));
        if quitting || (self.close_requested && self.pending.is_empty()) {
            self.stage = Stage::Closed;
            // Nothing more can come: the transport must stop reading (a
            // server that hangs up on QUIT unanswered once made it read
            // the closed stream forever).
            self.pending.clear();
            self.close_requested = true;
            return;
        }
        let lost = self.loss("the server closed the connection");
        self.error(lost.to_string());
        self.finish(lost);
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
            .any(|p| p.awaited == Awaited::Command(Verb::Quit))
        {
            self.stage = Stage::Closed;
            self.close_requested = true;
            return;
        }
        let content_in_flight = matches!(
            self.pending.back().map(|p| p.awaited),
            Some(Awaited::DataEnd | Awaited::Delivery(_) | Awaited::Command(Verb::Bdat { .. }))
        );
        let outcome = if content_in_flight {
            Outcome::ConnectionLost(format!(
                "the message content could not all be sent ({why}): its end never went \
                 out, so the server cannot have accepted it; nothing was delivered"
            ))
        } else {
            self.loss(&format!("writing to the server failed ({why})"))
        };
        let outcome = match outcome {
            Outcome::ConnectionLost(m) if timed_out => Outcome::TimedOut(m),
            other => other,
        };
        self.error(outcome.to_string());
        self.finish(outcome);
        self.stage = Stage::Closed;
        self.close_requested = true;
    }

    /// The time [`Self::poll_timeout`] named has come: no reply within the
    /// limit. The limit covers a reply as a whole, so part of one may have
    /// come: that is shown. Called early, it does nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.held_timeout(now) {
            return;
        }
        if self.poll_timeout().is_none_or(|due| now < due) {
            return;
        }
        let lost = self.loss("no reply within the time limit");
        let mut message = lost.to_string();
        if self.parser.has_partial() {
            let part = self.parser.partial_line();
            let shown = visible(&part[..part.len().min(80)]);
            let more = if part.len() > 80 { "…" } else { "" };
            message.push_str(&format!(
                "; part of a reply came, never finished (the limit covers a whole reply): \
                 \"{shown}{more}\""
            ));
        }
        let outcome = match lost {
            Outcome::DeliveryUnknown(_) => Outcome::DeliveryUnknown(message.clone()),
            _ => Outcome::TimedOut(message.clone()),
        };
        self.error(message);
        self.finish(outcome);
        self.stage = Stage::Closed;
        self.close_requested = true;
    }

    /// The TLS handshake after STARTTLS succeeded at `now`; `details` are
    /// shown as info lines (version, cipher, certificate). The handshake's
    /// time is not the server's reply time: the deadline starts again.
    pub fn handle_tls_established(&mut self, now: Instant, details: Vec<String>) {
        self.timer.restart(now);
        self.awaiting_tls = false;
        self.tls = true;
        // RFC 3207, section 4.2: everything learned before TLS is forgotten.
        self.caps = None;
        self.authenticated = None;
        self.stage = Stage::Greeted;
        for d in details {
            self.info(d);
        }
        self.by_hand_drop_tls();
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
        self.await_reply(seq, Awaited::Command(command.kind()));
        match command {
            Command::Mail { .. } | Command::Rset => {
                self.rcpts_sent.clear();
                self.transaction_reset();
            }
            Command::Rcpt { to, .. } => {
                self.rcpts_sent.push(to.to_string());
                self.rcpt_sent(to.to_string());
            }
            _ => {}
        }
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
                self.await_reply(seq, Awaited::DataEnd);
            }
        } else if in_auth {
            self.await_reply(seq, Awaited::AuthStep);
        } else {
            let verb = Verb::of_line(line);
            self.await_reply(seq, Awaited::Command(verb));
            match verb {
                Verb::Mail | Verb::Rset => {
                    self.rcpts_sent.clear();
                    self.transaction_reset();
                }
                Verb::Rcpt => {
                    self.rcpts_sent.extend(raw_rcpt(line));
                    self.rcpt_sent(raw_rcpt(line).unwrap_or_else(|| line.to_string()));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Starts AUTH with a mechanism; the session answers the challenges.
    pub fn start_auth(&mut self, mechanism: Mechanism, credentials: Credentials) {
        match AuthExchange::new(mechanism, credentials) {
            Ok(mut x) => {
                let line = x.first_line();
                self.auth = Some(x);
                self.write_auth_line(line, Awaited::Command(Verb::Auth));
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
        self.await_reply(seq, Awaited::DataEnd);
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
        if self.stage != Stage::Closed && !self.held_defers_quit() {
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

    /// A fact found outside the session (the server's certificates after a
    /// failed handshake), shown as an info line in order.
    pub fn report_info(&mut self, message: String) {
        self.info(message);
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

    fn write_auth_line(&mut self, line: AuthLine, awaited: Awaited) {
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
        self.await_reply(seq, awaited);
    }

    fn await_reply(&mut self, seq: u64, awaited: Awaited) {
        if let Some(n) = self.lmtp_replies(awaited) {
            for nth in 0..n {
                self.pending.push_back(Pending {
                    seq,
                    awaited: Awaited::Delivery(nth),
                    on_wire: false,
                });
            }
            return;
        }
        self.pending.push_back(Pending {
            seq,
            awaited,
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
}

/// The address of a raw `RCPT TO:<address> ...` line, as written.
fn raw_rcpt(line: &str) -> Option<String> {
    let (_, rest) = line.split_once(':')?;
    let rest = rest.trim_start();
    let address = match rest.strip_prefix('<') {
        Some(r) => r.split_once('>')?.0,
        None => rest.split_whitespace().next()?,
    };
    Some(address.to_string())
}
