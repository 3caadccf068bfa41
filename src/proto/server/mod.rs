//! The server side of an SMTP session as a state machine with no I/O: the
//! built-in demo server's protocol. Bytes go in through
//! [`ServerSession::handle_input`], replies come out of `poll_transmit`, and
//! what happened (lines, replies, accepted messages) out of `poll_event`.
//!
//! Command lines are parsed by Stalwart's `smtp-proto` (sans-I/O and fuzzed
//! upstream); the line framing with its limits, the DATA decoder, the
//! policies and the session are ours. Time, chance and greylisting memory
//! come from the caller through [`ServerEnv`].
//!
//! This file holds the session's state, its inputs and outputs, the line
//! framing and the command dispatch. The commands are answered by stage:
//! the greeting, EHLO and STARTTLS in `greeting`, MAIL and RCPT in
//! `envelope`, DATA and BDAT with the checks on the content in `content`,
//! AUTH in `auth`, VRFY, EXPN and HELP in `vrfy`; the policy and what the
//! session asks of the world in `policy`; where the server's rules are
//! asked and what a rule that fired makes the session do in `checkpoint`
//! and `ruled`.

mod auth;
mod checkpoint;
mod content;
mod envelope;
mod greeting;
mod lmtp;
mod policy;
mod ruled;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_ruled;
mod vrfy;

use std::borrow::Cow;
use std::collections::VecDeque;

use smtp_proto::{Error as ParseError, Request};

use super::data::DataDecoder;
use super::visible::visible;
use auth::mask_auth;
pub use checkpoint::{Checkpoint, Hangup, Ruling, Stage};
use content::Content;
pub use policy::{Policy, ServerEnv, UnknownVrfyMode, VrfyMode};

/// RFC 5321, section 4.5.3.1.4: a command line is at most 512 octets with CRLF.
pub const MAX_COMMAND_LINE: usize = 512;
/// RFC 5321, section 4.5.3.1.6: a text line is at most 1000 octets with CRLF.
pub const MAX_TEXT_LINE: usize = 1000;
/// After this many errors in one session the server hangs up, as Postfix does.
pub const MAX_ERRORS: u32 = 20;
/// Recipients per message (RFC 5321, section 4.5.3.1.8 asks for at least 100).
pub const MAX_RECIPIENTS: usize = 100;

/// Facts about the connection, known when it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// The server's name in the greeting and EHLO.
    pub hostname: String,
    /// The client's address, for the record.
    pub client: String,
    /// STARTTLS can be offered (a certificate is loaded).
    pub tls_available: bool,
}

/// A message the server accepted, with everything it acted on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    pub id: String,
    pub client: String,
    pub helo: String,
    pub tls: bool,
    pub auth: Option<String>,
    /// The reverse path, without angle brackets ("" for the null sender).
    pub mail_from: String,
    pub mail_params: Vec<String>,
    pub rcpts: Vec<(String, Vec<String>)>,
    /// The content as received, dot-stuffing removed.
    pub content: Vec<u8>,
}

/// What happened, for the server's log and the TUI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerEvent {
    /// A command line as received, made visible; AUTH secrets masked.
    Command(String),
    /// A reply as sent (one entry per reply, lines joined with "\n").
    Reply(String),
    /// The transport must run the TLS handshake now, after writing the 220.
    StartTls,
    Message(Box<ReceivedMessage>),
    /// A server rule fired (before the reply it changes, if any).
    Rule(Ruling),
    /// Recipients of the next `Message` that a rule (`bounce = true`) fails
    /// after acceptance: the server bounces them to the envelope sender.
    Bounce(Vec<String>),
    /// The session is over: close after writing what is queued.
    Close,
}

/// A session as a teacher's view lists it ([`ServerSession::summary`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSummary {
    /// `connect`, `ehlo`, `auth`, `mail`, `rcpt`, `data`, `starttls` or `closed`.
    pub stage: &'static str,
    pub helo: Option<String>,
    pub user: Option<String>,
    pub tls: bool,
}

/// What the next bytes from the client are.
#[derive(Debug)]
enum State {
    /// Command lines.
    Command,
    /// DATA content up to the lone dot.
    Data(DataDecoder),
    /// The rest of a BDAT chunk.
    Bdat {
        left: usize,
        last: bool,
    },
    /// The answers of an AUTH exchange, one line each.
    AuthPlain,
    AuthLoginUser,
    AuthLoginPass {
        user: String,
    },
    AuthCram {
        challenge: String,
    },
    /// Nothing until the TLS handshake: the transport owns the bytes now.
    AwaitingTls,
    Closed,
}

/// The server side of one connection.
#[derive(Debug)]
pub struct ServerSession {
    config: ServerConfig,
    state: State,
    line: Vec<u8>,
    overflow: bool,
    helo: Option<String>,
    tls: bool,
    auth: Option<String>,
    mail: Option<(String, Vec<String>)>,
    rcpts: Vec<(String, Vec<String>)>,
    content: Content,
    /// BDAT was used in this transaction (DATA may not follow).
    bdat_used: bool,
    /// A BDAT refused up front: its bytes are read, then this is the reply.
    pending_bdat_error: Option<String>,
    errors: u32,
    /// What to write now.
    out: Vec<u8>,
    /// What to write after a rule's pause: (milliseconds, bytes), in order.
    later: VecDeque<(u64, Vec<u8>)>,
    /// A rule refused the connection with 554 at the greeting: only QUIT
    /// is served (RFC 5321, section 3.1).
    no_service: bool,
    /// Recipients of this transaction that a rule bounces after acceptance.
    rule_bounce: Vec<String>,
    events: VecDeque<ServerEvent>,
}

impl ServerSession {
    /// A session that has just accepted a connection; the greeting is queued.
    pub fn new(config: ServerConfig) -> Self {
        let mut s = Self {
            config,
            state: State::Command,
            line: Vec::new(),
            overflow: false,
            helo: None,
            tls: false,
            auth: None,
            mail: None,
            rcpts: Vec::new(),
            content: Content::default(),
            bdat_used: false,
            pending_bdat_error: None,
            errors: 0,
            out: Vec::new(),
            later: VecDeque::new(),
            no_service: false,
            rule_bounce: Vec::new(),
            events: VecDeque::new(),
        };
        s.greet();
        s
    }

    /// A session that has just accepted a connection, with the server's
    /// rules asked at `connect`: the greeting, a rule's own, or nothing.
    pub fn open(config: ServerConfig, env: &mut dyn ServerEnv) -> Self {
        let mut s = Self::new(config);
        s.connect_rules(env);
        s
    }

    /// A session refused at once (too many connections): 421 and close.
    pub fn refuse(config: ServerConfig, why: &str) -> Self {
        let mut s = Self::new(config);
        s.out.clear();
        s.events.clear();
        s.reply(&format!("421 4.7.0 {why}"));
        s.close();
        s
    }

    /// The bytes to write now. When it gives none, ask [`Self::poll_pause`].
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        (!self.out.is_empty()).then(|| std::mem::take(&mut self.out))
    }

    /// Once `poll_transmit` is drained: the milliseconds a rule asks to
    /// wait before the next bytes (which `poll_transmit` then gives).
    #[must_use]
    pub fn poll_pause(&mut self) -> Option<u64> {
        if !self.out.is_empty() {
            return None;
        }
        let (ms, bytes) = self.later.pop_front()?;
        self.out = bytes;
        Some(ms)
    }

    #[must_use]
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        self.events.pop_front()
    }

    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    /// What a teacher's view shows of this session now: its stage, the
    /// EHLO name and the AUTH user (as the client gave them, not yet made
    /// visible).
    pub fn summary(&self) -> SessionSummary {
        let stage = match &self.state {
            State::Closed => "closed",
            State::AwaitingTls => "starttls",
            State::AuthPlain
            | State::AuthLoginUser
            | State::AuthLoginPass { .. }
            | State::AuthCram { .. } => "auth",
            State::Data(_) | State::Bdat { .. } => "data",
            State::Command if !self.rcpts.is_empty() => "rcpt",
            State::Command if self.mail.is_some() => "mail",
            State::Command if self.helo.is_some() => "ehlo",
            State::Command => "connect",
        };
        SessionSummary {
            stage,
            helo: self.helo.clone(),
            user: self.auth.clone(),
            tls: self.tls,
        }
    }

    /// The TLS handshake after STARTTLS succeeded (RFC 3207, section 4.2:
    /// the session starts over, without the EHLO).
    pub fn handle_tls_established(&mut self) {
        self.tls = true;
        self.helo = None;
        self.auth = None;
        self.reset_transaction();
        self.state = State::Command;
    }

    /// The client was idle too long.
    pub fn handle_idle_timeout(&mut self) {
        self.reply("421 4.4.2 Error: timeout exceeded");
        self.close();
    }

    /// Takes bytes from the client.
    pub fn handle_input(&mut self, mut input: &[u8], env: &mut dyn ServerEnv) {
        while !input.is_empty() {
            match &mut self.state {
                State::Closed | State::AwaitingTls => return,
                State::Data(decoder) => {
                    let mut chunk = Vec::new();
                    let end = decoder.feed(input, &mut chunk);
                    self.take_content(&chunk, env);
                    match end {
                        Some(n) => {
                            input = &input[n..];
                            self.end_of_data(env);
                        }
                        None => input = &[],
                    }
                }
                State::Bdat { left, last } => {
                    let n = (*left).min(input.len());
                    let last = *last;
                    *left -= n;
                    let done = *left == 0;
                    let chunk = input[..n].to_vec();
                    input = &input[n..];
                    self.take_content(&chunk, env);
                    if done {
                        self.end_of_chunk(last, env);
                    }
                }
                _ => match input.iter().position(|&b| b == b'\n') {
                    Some(i) => {
                        self.push_line_bytes(&input[..=i]);
                        input = &input[i + 1..];
                        let line = std::mem::take(&mut self.line);
                        let overflow = std::mem::take(&mut self.overflow);
                        self.on_line(&line, overflow, env);
                        if matches!(self.state, State::AwaitingTls) {
                            // RFC 3207, section 5: nothing sent before the
                            // handshake may be taken as coming over TLS.
                            return;
                        }
                    }
                    None => {
                        self.push_line_bytes(input);
                        input = &[];
                    }
                },
            }
        }
    }

    fn push_line_bytes(&mut self, bytes: &[u8]) {
        let room = (MAX_COMMAND_LINE + 1).saturating_sub(self.line.len());
        if bytes.len() > room {
            self.overflow = true;
        }
        self.line.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    fn reply(&mut self, text: &str) {
        let out = match self.later.back_mut() {
            Some((_, bytes)) => bytes,
            None => &mut self.out,
        };
        for line in text.split('\n') {
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        self.events.push_back(ServerEvent::Reply(text.to_string()));
    }

    /// A reply that counts as an error; too many and the server hangs up.
    fn error(&mut self, text: &str) {
        self.reply(text);
        self.errors += 1;
        if self.errors >= MAX_ERRORS {
            self.reply("421 4.7.0 Error: too many errors");
            self.close();
        }
    }

    fn close(&mut self) {
        self.state = State::Closed;
        self.events.push_back(ServerEvent::Close);
    }

    fn reset_transaction(&mut self) {
        self.mail = None;
        self.rcpts.clear();
        self.content = Content::default();
        self.bdat_used = false;
        self.rule_bounce.clear();
    }

    fn on_line(&mut self, raw: &[u8], overflow: bool, env: &mut dyn ServerEnv) {
        let shown = raw.strip_suffix(b"\n").unwrap_or(raw);
        let shown = shown.strip_suffix(b"\r").unwrap_or(shown);
        let state = std::mem::replace(&mut self.state, State::Command);
        if matches!(
            state,
            State::AuthPlain
                | State::AuthLoginUser
                | State::AuthLoginPass { .. }
                | State::AuthCram { .. }
        ) {
            // An answer line of AUTH: logged, but never what it says.
            self.events
                .push_back(ServerEvent::Command(crate::proto::auth::MASK.into()));
        }
        match state {
            State::AuthPlain => return self.auth_plain(shown, env),
            State::AuthLoginUser => return self.auth_login_user(shown),
            State::AuthLoginPass { user } => return self.auth_login_pass(&user, shown, env),
            State::AuthCram { challenge } => return self.auth_cram(&challenge, shown, env),
            _ => {}
        }
        self.events
            .push_back(ServerEvent::Command(mask_auth(shown)));
        if overflow {
            return self.error("500 5.5.2 Error: command line too long (the limit is 512 octets)");
        }
        let mut line = raw.to_vec();
        if !line.ends_with(b"\n") {
            line.push(b'\n');
        }
        match Request::parse(&mut line.iter()) {
            Ok(request) => self.on_request(request, env),
            Err(e) => self.parse_error(e),
        }
    }

    fn parse_error(&mut self, e: ParseError) {
        let text = match e {
            ParseError::UnknownCommand => "500 5.5.2 Error: command not recognized".to_string(),
            ParseError::InvalidSenderAddress => "501 5.1.7 Bad sender address syntax".to_string(),
            ParseError::InvalidRecipientAddress => {
                "501 5.1.3 Bad recipient address syntax".to_string()
            }
            ParseError::SyntaxError { syntax } => format!("501 5.5.4 Syntax: {syntax}"),
            ParseError::InvalidParameter { param } => {
                format!("501 5.5.4 Invalid parameter: {param}")
            }
            ParseError::UnsupportedParameter { param } => {
                format!(
                    "555 5.5.4 Unsupported parameter: {}",
                    visible(param.as_bytes())
                )
            }
            other => format!("500 5.5.2 Error: {other:?}"),
        };
        self.error(&text);
    }

    fn on_request(&mut self, request: Request<Cow<'_, str>>, env: &mut dyn ServerEnv) {
        if self.no_service {
            return self.without_service(&request);
        }
        let ruling = self.ask_rules(&request, env);
        if ruling.as_ref().is_some_and(|r| self.heed(r)) {
            return;
        }
        let rcpts_before = self.rcpts.len();
        self.serve_request(request, env);
        if let Some(r) = ruling {
            self.heed_after(&r, rcpts_before);
        }
    }

    fn serve_request(&mut self, request: Request<Cow<'_, str>>, env: &mut dyn ServerEnv) {
        let policy = env.policy();
        match request {
            Request::Ehlo { .. } | Request::Helo { .. } if policy.lmtp => self.lmtp_wants_lhlo(),
            Request::Lhlo { host } if policy.lmtp => self.ehlo(&host, &policy),
            Request::Ehlo { host } => self.ehlo(&host, &policy),
            Request::Helo { host } | Request::Lhlo { host } => self.helo(&host),
            Request::StartTls => self.start_tls(),
            Request::Auth {
                mechanism,
                initial_response,
            } => self.auth_start(mechanism, &initial_response, &policy, env),
            Request::Mail { from } => self.mail(&from, &policy),
            Request::Rcpt { to } => self.rcpt(&to, &policy, env),
            Request::Data => self.data(),
            Request::Bdat {
                chunk_size,
                is_last,
            } => self.bdat(chunk_size, is_last, env),
            Request::Rset => {
                self.reset_transaction();
                self.reply("250 2.0.0 Ok");
            }
            Request::Noop { .. } => self.reply("250 2.0.0 Ok"),
            Request::Vrfy { value } => self.vrfy(&value, &policy),
            Request::Expn { .. } => self.expn(),
            Request::Help { .. } => self.help(),
            Request::Quit => {
                self.reply("221 2.0.0 Bye");
                self.close();
            }
            Request::Etrn { .. } | Request::Atrn { .. } | Request::Burl { .. } => {
                self.error("502 5.5.1 Error: command not implemented")
            }
        }
    }
}
