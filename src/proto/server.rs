//! The server side of an SMTP session as a state machine with no I/O: the
//! built-in demo server's protocol. Bytes go in through
//! [`ServerSession::handle_input`], replies come out of `poll_transmit`, and
//! what happened (lines, replies, accepted messages) out of `poll_event`.
//!
//! Command lines are parsed by Stalwart's `smtp-proto` (sans-I/O and fuzzed
//! upstream); the line framing with its limits, the DATA decoder, the
//! policies and the session are ours. Time, chance and greylisting memory
//! come from the caller through [`ServerEnv`].

use std::borrow::Cow;
use std::collections::VecDeque;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use smtp_proto::{Error as ParseError, Request};

use super::auth::{cram_md5_digest, MASK};
use super::data::DataDecoder;
use super::visible::visible;

/// RFC 5321, section 4.5.3.1.4: a command line is at most 512 octets with CRLF.
pub const MAX_COMMAND_LINE: usize = 512;
/// RFC 5321, section 4.5.3.1.6: a text line is at most 1000 octets with CRLF.
pub const MAX_TEXT_LINE: usize = 1000;
/// After this many errors in one session the server hangs up, as Postfix does.
pub const MAX_ERRORS: u32 = 20;
/// Recipients per message (RFC 5321, section 4.5.3.1.8 asks for at least 100).
pub const MAX_RECIPIENTS: usize = 100;

/// How VRFY is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VrfyMode {
    /// `252`: cannot verify, but will accept mail (what most servers do).
    #[default]
    Ambiguous,
    /// `250` for a known user, `550` for others.
    Verify,
    /// `550` always.
    Refuse,
    /// `502`: VRFY is switched off.
    Disabled,
}

impl VrfyMode {
    /// Each mode by the name `serve --vrfy` and lessons give it.
    pub const NAMES: [(&'static str, VrfyMode); 4] = [
        ("ambiguous", Self::Ambiguous),
        ("verify", Self::Verify),
        ("refuse", Self::Refuse),
        ("disabled", Self::Disabled),
    ];

    pub fn name(self) -> &'static str {
        // NAMES lists the modes in their declared order (a test checks it).
        Self::NAMES[self as usize].0
    }
}

/// A VRFY mode by a name that is none of `VrfyMode::NAMES`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a VRFY mode (ambiguous, verify, refuse or disabled)")]
pub struct UnknownVrfyMode(pub String);

impl std::str::FromStr for VrfyMode {
    type Err = UnknownVrfyMode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::NAMES
            .iter()
            .find(|(n, _)| *n == s)
            .map(|(_, m)| *m)
            .ok_or_else(|| UnknownVrfyMode(s.to_string()))
    }
}

/// The server's behaviour, changeable while it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Domains the server takes mail for; others are relaying. An address
    /// without a domain counts as local.
    pub local_domains: Vec<String>,
    /// MAIL needs AUTH first.
    pub require_auth: bool,
    /// MAIL and AUTH need STARTTLS first.
    pub require_tls: bool,
    /// Largest message in bytes, announced in EHLO as SIZE.
    pub max_size: u64,
    /// Greylisting: the first try of each (client, sender, recipient) gets
    /// 450 until this many seconds have passed.
    pub greylist_secs: Option<u64>,
    /// Milliseconds to wait before each reply (applied by the transport).
    pub tarpit_ms: u64,
    pub vrfy: VrfyMode,
    /// Chance, 0 to 1, that a RCPT gets a drill 451.
    pub transient_failure: f64,
    pub max_connections: usize,
    /// Seconds of silence before the server hangs up (applied by the transport).
    pub idle_timeout_secs: u64,
    /// Users for AUTH, (name, password).
    pub users: Vec<(String, String)>,
    /// Accept content with bare LF line ends instead of refusing it.
    pub allow_bare_lf: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            local_domains: vec!["example.test".into(), "localhost".into()],
            require_auth: false,
            require_tls: false,
            max_size: 10 * 1024 * 1024,
            greylist_secs: None,
            tarpit_ms: 0,
            vrfy: VrfyMode::Ambiguous,
            transient_failure: 0.0,
            max_connections: 100,
            idle_timeout_secs: 300,
            users: vec![("alice@example.test".into(), "wonderland".into())],
            allow_bare_lf: false,
        }
    }
}

impl Policy {
    fn is_local(&self, address: &str) -> bool {
        match address.rsplit_once('@') {
            None => true,
            Some((_, domain)) => self
                .local_domains
                .iter()
                .any(|d| d.eq_ignore_ascii_case(domain)),
        }
    }

    fn knows_user(&self, name: &str) -> bool {
        self.users.iter().any(|(u, _)| {
            u.eq_ignore_ascii_case(name)
                || u.split('@')
                    .next()
                    .is_some_and(|l| l.eq_ignore_ascii_case(name))
        })
    }

    fn password_of(&self, user: &str) -> Option<&str> {
        self.users
            .iter()
            .find(|(u, _)| u == user || u.split('@').next() == Some(user))
            .map(|(_, p)| p.as_str())
    }
}

/// What the session needs from the world.
pub trait ServerEnv {
    /// The policy now; it may change between calls.
    fn policy(&self) -> std::sync::Arc<Policy>;
    /// Greylisting: `None` to pass, or the seconds left to wait.
    fn greylist(&mut self, client: &str, from: &str, to: &str) -> Option<u64>;
    /// A number in [0, 1) for the transient-failure drill.
    fn chance(&mut self) -> f64;
    /// A unique token for queue ids and CRAM-MD5 challenges.
    fn unique(&mut self) -> String;
}

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
    /// The session is over: close after writing what is queued.
    Close,
}

#[derive(Debug)]
enum State {
    Command,
    Data(DataDecoder),
    Bdat { left: usize, last: bool },
    AuthPlain,
    AuthLoginUser,
    AuthLoginPass { user: String },
    AuthCram { challenge: String },
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
    content: Vec<u8>,
    /// Content bytes beyond the size limit are counted, not kept.
    content_len: u64,
    long_lines: usize,
    line_len: usize,
    /// LFs of the content without a CR before them.
    bare_lf: usize,
    /// The content's last byte so far, to see a CR that ended the previous chunk.
    last: u8,
    /// BDAT was used in this transaction (DATA may not follow).
    bdat_used: bool,
    /// A BDAT refused up front: its bytes are read, then this is the reply.
    pending_bdat_error: Option<String>,
    errors: u32,
    out: Vec<u8>,
    events: VecDeque<ServerEvent>,
}

impl ServerSession {
    /// A session that has just accepted a connection; the greeting is queued.
    pub fn new(config: ServerConfig) -> Self {
        let greeting = format!("220 {} ESMTP smtp-workbench demo server", config.hostname);
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
            content: Vec::new(),
            content_len: 0,
            long_lines: 0,
            line_len: 0,
            bare_lf: 0,
            last: 0,
            bdat_used: false,
            pending_bdat_error: None,
            errors: 0,
            out: Vec::new(),
            events: VecDeque::new(),
        };
        s.reply(&greeting);
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

    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        (!self.out.is_empty()).then(|| std::mem::take(&mut self.out))
    }

    #[must_use]
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        self.events.pop_front()
    }

    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
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

    fn take_content(&mut self, chunk: &[u8], env: &mut dyn ServerEnv) {
        let max = env.policy().max_size;
        // Line lengths and bare LFs are counted as the bytes stream past, so
        // they cover the whole content, kept or not.
        let mut rest = chunk;
        let mut before = self.last;
        while let Some(i) = memchr::memchr(b'\n', rest) {
            // The line with its LF; RFC 5321 counts the CRLF in the 1000.
            if self.line_len + i + 1 > MAX_TEXT_LINE {
                self.long_lines += 1;
            }
            let prev = if i == 0 { before } else { rest[i - 1] };
            if prev != b'\r' {
                self.bare_lf += 1;
            }
            before = b'\n';
            self.line_len = 0;
            rest = &rest[i + 1..];
        }
        self.line_len += rest.len();
        if let Some(&b) = chunk.last() {
            self.last = b;
        }
        self.content_len += chunk.len() as u64;
        // Past the limit the bytes are counted, not kept: a client sending
        // without end cannot make the server's memory grow.
        let room = max.saturating_sub(self.content.len() as u64) as usize;
        self.content
            .extend_from_slice(&chunk[..chunk.len().min(room)]);
    }

    fn reply(&mut self, text: &str) {
        for line in text.split('\n') {
            self.out.extend_from_slice(line.as_bytes());
            self.out.extend_from_slice(b"\r\n");
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
        self.content.clear();
        self.content_len = 0;
        self.long_lines = 0;
        self.line_len = 0;
        self.bare_lf = 0;
        self.last = 0;
        self.bdat_used = false;
    }

    fn on_line(&mut self, raw: &[u8], overflow: bool, env: &mut dyn ServerEnv) {
        let shown = raw.strip_suffix(b"\n").unwrap_or(raw);
        let shown = shown.strip_suffix(b"\r").unwrap_or(shown);
        match std::mem::replace(&mut self.state, State::Command) {
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
        let policy = env.policy();
        match request {
            Request::Ehlo { host } => {
                self.reset_transaction();
                self.helo = Some(host.to_string());
                let mut lines = vec![
                    format!("250-{}", self.config.hostname),
                    "250-PIPELINING".into(),
                    format!("250-SIZE {}", policy.max_size),
                ];
                if policy.vrfy != VrfyMode::Disabled {
                    lines.push("250-VRFY".into());
                }
                if self.config.tls_available && !self.tls {
                    lines.push("250-STARTTLS".into());
                }
                if self.tls || !policy.require_tls {
                    lines.push("250-AUTH PLAIN LOGIN CRAM-MD5".into());
                }
                lines.extend([
                    "250-ENHANCEDSTATUSCODES".into(),
                    "250-8BITMIME".into(),
                    "250-SMTPUTF8".into(),
                    "250 CHUNKING".into(),
                ]);
                let text = lines.join("\n");
                self.reply(&text);
            }
            Request::Helo { host } | Request::Lhlo { host } => {
                self.reset_transaction();
                self.helo = Some(host.to_string());
                let t = format!("250 {}", self.config.hostname);
                self.reply(&t);
            }
            Request::StartTls => {
                if self.tls {
                    self.error("554 5.5.1 Error: TLS already active");
                } else if !self.config.tls_available {
                    self.error("454 4.7.0 TLS not available");
                } else {
                    self.reply("220 2.0.0 Ready to start TLS");
                    self.state = State::AwaitingTls;
                    self.line.clear();
                    self.events.push_back(ServerEvent::StartTls);
                }
            }
            Request::Auth {
                mechanism,
                initial_response,
            } => self.auth_start(mechanism, &initial_response, &policy, env),
            Request::Mail { from } => {
                if self.helo.is_none() {
                    return self.error("503 5.5.1 Error: send HELO/EHLO first");
                }
                if self.mail.is_some() {
                    return self.error("503 5.5.1 Error: nested MAIL command");
                }
                if policy.require_tls && !self.tls {
                    return self.error("530 5.7.0 Must issue a STARTTLS command first");
                }
                if policy.require_auth && self.auth.is_none() {
                    return self.error("530 5.7.0 Authentication required");
                }
                if from.size as u64 > policy.max_size {
                    return self.error("552 5.3.4 Message size exceeds fixed limit");
                }
                let params = mail_params(&from);
                self.mail = Some((from.address.to_string(), params));
                self.reply("250 2.1.0 Ok");
            }
            Request::Rcpt { to } => self.rcpt(&to, &policy, env),
            Request::Data => {
                if self.mail.is_none() {
                    self.error("503 5.5.1 Error: need MAIL command")
                } else if self.rcpts.is_empty() {
                    self.error("554 5.5.1 Error: no valid recipients")
                } else if self.bdat_used {
                    self.error("503 5.5.1 Error: DATA after BDAT")
                } else {
                    self.reply("354 End data with <CR><LF>.<CR><LF>");
                    self.state = State::Data(DataDecoder::new());
                }
            }
            Request::Bdat {
                chunk_size,
                is_last,
            } => {
                // The chunk's bytes follow whatever the verdict; they are
                // read (and dropped on error) so the stream stays in step.
                if self.mail.is_none() || self.rcpts.is_empty() {
                    self.errors += 1;
                    self.pending_bdat_error =
                        Some("503 5.5.1 Error: need MAIL and RCPT before BDAT".into());
                }
                self.bdat_used = true;
                self.state = State::Bdat {
                    left: chunk_size,
                    last: is_last,
                };
                if chunk_size == 0 {
                    self.end_of_chunk(is_last, env);
                }
            }
            Request::Rset => {
                self.reset_transaction();
                self.reply("250 2.0.0 Ok");
            }
            Request::Noop { .. } => self.reply("250 2.0.0 Ok"),
            Request::Vrfy { value } => {
                let v = visible(value.as_bytes());
                let text = match policy.vrfy {
                    VrfyMode::Ambiguous => format!("252 2.0.0 {v}"),
                    VrfyMode::Verify if policy.knows_user(&value) => format!("250 2.0.0 <{v}>"),
                    VrfyMode::Verify | VrfyMode::Refuse => {
                        format!("550 5.1.1 <{v}>: Recipient address rejected: User unknown")
                    }
                    VrfyMode::Disabled => "502 5.5.1 VRFY command is disabled".to_string(),
                };
                if text.starts_with('2') {
                    self.reply(&text);
                } else {
                    self.error(&text);
                }
            }
            Request::Expn { .. } => self.error("502 5.5.1 EXPN command is disabled"),
            Request::Help { .. } => self.reply(
                "214-2.0.0 Commands: EHLO HELO STARTTLS AUTH MAIL RCPT DATA BDAT RSET\n\
                 214 2.0.0 VRFY EXPN NOOP HELP QUIT",
            ),
            Request::Quit => {
                self.reply("221 2.0.0 Bye");
                self.close();
            }
            Request::Etrn { .. } | Request::Atrn { .. } | Request::Burl { .. } => {
                self.error("502 5.5.1 Error: command not implemented")
            }
        }
    }

    fn rcpt(
        &mut self,
        to: &smtp_proto::RcptTo<Cow<'_, str>>,
        policy: &Policy,
        env: &mut dyn ServerEnv,
    ) {
        let Some((from, _)) = self.mail.clone() else {
            return self.error("503 5.5.1 Error: need MAIL command");
        };
        if self.rcpts.len() >= MAX_RECIPIENTS {
            return self.error("452 4.5.3 Error: too many recipients");
        }
        let addr = to.address.to_string();
        let shown = visible(addr.as_bytes());
        if !policy.is_local(&addr) && self.auth.is_none() {
            // Postfix's wording, which administrators know.
            return self.error(&format!("554 5.7.1 <{shown}>: Relay access denied"));
        }
        if policy.greylist_secs.is_some() {
            if let Some(wait) = env.greylist(&self.config.client, &from, &addr) {
                return self.error(&format!(
                    "450 4.7.1 <{shown}>: Recipient address rejected: Greylisted, \
                     try again in {wait} seconds"
                ));
            }
        }
        if policy.transient_failure > 0.0 && env.chance() < policy.transient_failure {
            return self.error("451 4.3.0 Error: temporary failure (a drill), try again later");
        }
        self.rcpts.push((addr, rcpt_params(to)));
        self.reply("250 2.1.5 Ok");
    }

    fn end_of_data(&mut self, env: &mut dyn ServerEnv) {
        self.state = State::Command;
        self.finish_message(env);
    }

    fn end_of_chunk(&mut self, last: bool, env: &mut dyn ServerEnv) {
        self.state = State::Command;
        if let Some(e) = self.pending_bdat_error.take() {
            self.reply(&e);
            self.reset_transaction();
            return;
        }
        if last {
            self.finish_message(env);
        } else {
            let t = format!("250 2.0.0 {} bytes received", self.content_len);
            self.reply(&t);
        }
    }

    fn finish_message(&mut self, env: &mut dyn ServerEnv) {
        let policy = env.policy();
        let bare_lf = self.bare_lf > 0;
        let verdict = if self.content_len > policy.max_size {
            Err("552 5.3.4 Error: message file too big".to_string())
        } else if bare_lf && !policy.allow_bare_lf {
            Err(
                "554 5.6.0 Error: bare LF line ends in the content; SMTP needs CRLF \
                 (RFC 5321, section 2.3.8)"
                    .to_string(),
            )
        } else if self.long_lines > 0 {
            Err(format!(
                "554 5.6.0 Error: {} line(s) longer than 1000 octets (RFC 5321, section 4.5.3.1.6)",
                self.long_lines
            ))
        } else {
            Ok(())
        };
        match verdict {
            Err(e) => self.error(&e),
            Ok(()) => {
                let id = env.unique();
                let (mail_from, mail_params) = self.mail.clone().unwrap_or_default();
                let message = ReceivedMessage {
                    id: id.clone(),
                    client: self.config.client.clone(),
                    helo: self.helo.clone().unwrap_or_default(),
                    tls: self.tls,
                    auth: self.auth.clone(),
                    mail_from,
                    mail_params,
                    rcpts: std::mem::take(&mut self.rcpts),
                    content: std::mem::take(&mut self.content),
                };
                self.events
                    .push_back(ServerEvent::Message(Box::new(message)));
                let t = format!("250 2.0.0 Ok: queued as {id}");
                self.reply(&t);
            }
        }
        self.reset_transaction();
    }

    // ------------------------------------------------------------------ AUTH

    fn auth_start(
        &mut self,
        mechanism: u64,
        initial: &str,
        policy: &Policy,
        env: &mut dyn ServerEnv,
    ) {
        if self.helo.is_none() {
            return self.error("503 5.5.1 Error: send HELO/EHLO first");
        }
        if self.auth.is_some() {
            return self.error("503 5.5.1 Error: already authenticated");
        }
        if self.mail.is_some() {
            return self.error("503 5.5.1 Error: MAIL transaction in progress");
        }
        if policy.require_tls && !self.tls {
            return self
                .error("538 5.7.11 Encryption required for requested authentication mechanism");
        }
        match mechanism {
            smtp_proto::AUTH_PLAIN if initial.is_empty() => {
                self.reply("334 ");
                self.state = State::AuthPlain;
            }
            smtp_proto::AUTH_PLAIN => self.auth_plain(initial.as_bytes(), env),
            smtp_proto::AUTH_LOGIN if initial.is_empty() => {
                self.reply("334 VXNlcm5hbWU6");
                self.state = State::AuthLoginUser;
            }
            smtp_proto::AUTH_LOGIN => self.auth_login_user(initial.as_bytes()),
            smtp_proto::AUTH_CRAM_MD5 => {
                let challenge = format!("<{}@{}>", env.unique(), self.config.hostname);
                let t = format!("334 {}", B64.encode(&challenge));
                self.reply(&t);
                self.state = State::AuthCram { challenge };
            }
            _ => self.error("504 5.5.4 Unrecognized authentication type"),
        }
    }

    fn auth_answer(&mut self, line: &[u8]) -> Option<Vec<u8>> {
        self.events.push_back(ServerEvent::Command(MASK.into()));
        if line == b"*" {
            self.error("501 5.7.0 Authentication aborted");
            return None;
        }
        match B64.decode(line.trim_ascii()) {
            Ok(d) => Some(d),
            Err(_) => {
                self.error("501 5.5.2 Cannot decode the response (not base64)");
                None
            }
        }
    }

    fn auth_plain(&mut self, line: &[u8], env: &mut dyn ServerEnv) {
        let Some(decoded) = self.auth_answer(line) else {
            return;
        };
        let parts: Vec<&[u8]> = decoded.split(|&b| b == 0).collect();
        let ok = match parts.as_slice() {
            [_authz, user, pass] => Some((
                String::from_utf8_lossy(user).to_string(),
                String::from_utf8_lossy(pass).to_string(),
            )),
            _ => None,
        };
        match ok {
            Some((user, pass)) => self.auth_check(&user, &pass, env),
            None => self.error("501 5.5.2 Malformed PLAIN response"),
        }
    }

    fn auth_login_user(&mut self, line: &[u8]) {
        let Some(decoded) = self.auth_answer(line) else {
            return;
        };
        self.reply("334 UGFzc3dvcmQ6");
        self.state = State::AuthLoginPass {
            user: String::from_utf8_lossy(&decoded).to_string(),
        };
    }

    fn auth_login_pass(&mut self, user: &str, line: &[u8], env: &mut dyn ServerEnv) {
        let Some(decoded) = self.auth_answer(line) else {
            return;
        };
        let pass = String::from_utf8_lossy(&decoded).to_string();
        self.auth_check(user, &pass, env);
    }

    fn auth_cram(&mut self, challenge: &str, line: &[u8], env: &mut dyn ServerEnv) {
        let Some(decoded) = self.auth_answer(line) else {
            return;
        };
        let text = String::from_utf8_lossy(&decoded).to_string();
        let Some((user, digest)) = text.rsplit_once(' ') else {
            return self.error("501 5.5.2 Malformed CRAM-MD5 response");
        };
        let policy = env.policy();
        let ok = policy
            .password_of(user)
            .is_some_and(|p| cram_md5_digest(p.as_bytes(), challenge.as_bytes()) == digest);
        self.auth_result(user, ok);
    }

    fn auth_check(&mut self, user: &str, pass: &str, env: &mut dyn ServerEnv) {
        let ok = env.policy().password_of(user) == Some(pass);
        self.auth_result(user, ok);
    }

    fn auth_result(&mut self, user: &str, ok: bool) {
        if ok {
            self.auth = Some(user.to_string());
            self.reply("235 2.7.0 Authentication successful");
        } else {
            self.error("535 5.7.8 Error: authentication failed");
        }
    }
}

/// A command line made visible, with an AUTH initial response masked.
fn mask_auth(line: &[u8]) -> String {
    let shown = visible(line);
    let mut words = shown.splitn(3, ' ');
    match (words.next(), words.next(), words.next()) {
        (Some(verb), Some(mech), Some(_)) if verb.eq_ignore_ascii_case("AUTH") => {
            format!("{verb} {mech} {MASK}")
        }
        _ => shown,
    }
}

fn mail_params(from: &smtp_proto::MailFrom<Cow<'_, str>>) -> Vec<String> {
    let mut out = Vec::new();
    if from.size > 0 {
        out.push(format!("SIZE={}", from.size));
    }
    let flags = [
        (smtp_proto::MAIL_BODY_7BIT, "BODY=7BIT"),
        (smtp_proto::MAIL_BODY_8BITMIME, "BODY=8BITMIME"),
        (smtp_proto::MAIL_BODY_BINARYMIME, "BODY=BINARYMIME"),
        (smtp_proto::MAIL_SMTPUTF8, "SMTPUTF8"),
        (smtp_proto::MAIL_RET_FULL, "RET=FULL"),
        (smtp_proto::MAIL_RET_HDRS, "RET=HDRS"),
        (smtp_proto::MAIL_REQUIRETLS, "REQUIRETLS"),
    ];
    out.extend(
        flags
            .iter()
            .filter(|(f, _)| from.flags & f != 0)
            .map(|(_, n)| n.to_string()),
    );
    if let Some(id) = &from.env_id {
        out.push(format!("ENVID={}", visible(id.as_bytes())));
    }
    if let Some(a) = &from.auth {
        out.push(format!("AUTH={}", visible(a.as_bytes())));
    }
    out
}

fn rcpt_params(to: &smtp_proto::RcptTo<Cow<'_, str>>) -> Vec<String> {
    let mut out = Vec::new();
    let notify: Vec<&str> = [
        (smtp_proto::RCPT_NOTIFY_SUCCESS, "SUCCESS"),
        (smtp_proto::RCPT_NOTIFY_FAILURE, "FAILURE"),
        (smtp_proto::RCPT_NOTIFY_DELAY, "DELAY"),
        (smtp_proto::RCPT_NOTIFY_NEVER, "NEVER"),
    ]
    .iter()
    .filter(|(f, _)| to.flags & f != 0)
    .map(|(_, n)| *n)
    .collect();
    if !notify.is_empty() {
        out.push(format!("NOTIFY={}", notify.join(",")));
    }
    if let Some(o) = &to.orcpt {
        out.push(format!("ORCPT={}", visible(o.as_bytes())));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::auth::{Credentials, Mechanism, Secret};
    use crate::proto::client::{ClientSession, Outcome, Plan, QuitAfter, Transfer};
    use crate::proto::command::Address;
    use crate::proto::pair::{self, Pair, Served};
    use crate::proto::reply::ReplyLimits;
    use std::collections::HashMap;

    #[derive(Default)]
    struct TestEnv {
        policy: Policy,
        now: u64,
        first_seen: HashMap<(String, String, String), u64>,
        counter: u64,
        chance: f64,
    }

    impl ServerEnv for TestEnv {
        fn policy(&self) -> std::sync::Arc<Policy> {
            std::sync::Arc::new(self.policy.clone())
        }
        fn greylist(&mut self, client: &str, from: &str, to: &str) -> Option<u64> {
            let delay = self.policy.greylist_secs?;
            let key = (client.to_string(), from.to_string(), to.to_string());
            let first = *self.first_seen.entry(key).or_insert(self.now);
            let waited = self.now - first;
            (waited < delay).then(|| delay - waited)
        }
        fn chance(&mut self) -> f64 {
            self.chance
        }
        fn unique(&mut self) -> String {
            self.counter += 1;
            format!("Q{}", self.counter)
        }
    }

    /// A session that has said 354 to DATA, its replies so far taken.
    fn in_data(env: &mut TestEnv) -> ServerSession {
        let mut s = ServerSession::new(config());
        for line in [
            "EHLO c",
            "MAIL FROM:<a@b.example>",
            "RCPT TO:<alice@example.test>",
            "DATA",
        ] {
            s.handle_input(format!("{line}\r\n").as_bytes(), env);
        }
        let _ = s.poll_transmit();
        s
    }

    fn config() -> ServerConfig {
        ServerConfig {
            hostname: "demo.example.test".into(),
            client: "127.0.0.1".into(),
            tls_available: true,
        }
    }

    fn plan() -> Plan {
        Plan {
            pipelining: true,
            ..pair::plan(
                "sender@client.example",
                &["alice@example.test", "bob@example.test"],
                b"From: x\r\nSubject: t\r\n\r\n.leading dot\r\n..two\r\nend\r\n",
            )
        }
    }

    /// The proto client against this server in memory.
    fn pair(client: ClientSession, env: &mut TestEnv) -> Run<'_> {
        Pair::new(client, Served::new(config(), env)).run()
    }

    type Run<'e> = Pair<Served<'e, TestEnv>>;

    fn accepted(run: &Run) -> bool {
        matches!(
            run.client.outcome(),
            Some(Outcome::Completed { accepted: Some(_) })
        )
    }

    fn refused_with(run: &Run) -> Option<String> {
        match run.client.outcome() {
            Some(Outcome::Refused(r)) => Some(format!(
                "{} {}",
                r.code,
                r.enhanced.map(|e| e.to_string()).unwrap_or_default()
            )),
            _ => None,
        }
    }

    #[test]
    fn a_whole_pipelined_transaction_is_stored_as_sent() {
        let mut env = TestEnv::default();
        let run = pair(
            ClientSession::with_plan(ReplyLimits::default(), plan()),
            &mut env,
        );
        assert!(accepted(&run), "{:?}", run.client.outcome());
        let m = &run.server.messages[0];
        assert_eq!(m.mail_from, "sender@client.example");
        assert_eq!(
            m.mail_params,
            vec![format!("SIZE={}", plan().content.len())]
        );
        assert_eq!(
            m.rcpts.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
            ["alice@example.test", "bob@example.test"]
        );
        assert_eq!(m.helo, "client.example");
        assert_eq!(
            m.content,
            &*plan().content,
            "un-stuffed content equals what was given"
        );
        // Every reply carries an enhanced code but those RFC 2034 leaves
        // out: the greeting, EHLO's, and the 3xx intermediate ones.
        for r in &run.server.replies {
            let ok = r.starts_with("220 demo")
                || r.starts_with("250-demo")
                || r.starts_with('3')
                || r.get(4..)
                    .and_then(|t| crate::proto::reply::EnhancedStatus::parse_prefix(t.as_bytes()))
                    .is_some();
            assert!(ok, "no enhanced status: {r}");
        }
    }

    #[test]
    fn the_whole_command_set_by_hand() {
        let mut env = TestEnv::default();
        let mut s = ServerSession::new(config());
        let mut talk = |line: &str, s: &mut ServerSession| -> String {
            let _ = s.poll_transmit();
            s.handle_input(format!("{line}\r\n").as_bytes(), &mut env);
            String::from_utf8(s.poll_transmit().unwrap_or_default()).unwrap()
        };
        assert!(talk("MAIL FROM:<a@b>", &mut s).starts_with("503 5.5.1"));
        assert!(talk("HELP", &mut s).starts_with("214"));
        assert!(talk("NOOP", &mut s).starts_with("250 2.0.0"));
        assert!(talk("EHLO c.example", &mut s).contains("250 CHUNKING"));
        assert!(talk("HELO c.example", &mut s).starts_with("250 demo"));
        assert!(talk("FOO", &mut s).starts_with("500 5.5.2"));
        assert!(talk("RCPT TO:<a@example.test>", &mut s).starts_with("503 5.5.1"));
        assert!(talk("DATA", &mut s).starts_with("503 5.5.1"));
        assert!(talk("VRFY alice", &mut s).starts_with("252 2.0.0"));
        assert!(talk("EXPN list", &mut s).starts_with("502 5.5.1"));
        assert!(talk("MAIL FROM:<a@b.example> SIZE=999999999", &mut s).starts_with("552 5.3.4"));
        assert!(talk("MAIL FROM:<a@b.example>", &mut s).starts_with("250 2.1.0"));
        assert!(talk("MAIL FROM:<a@b.example>", &mut s).starts_with("503 5.5.1"));
        assert!(talk("DATA", &mut s).starts_with("554 5.5.1"));
        assert!(talk("RCPT TO:<x@elsewhere.example>", &mut s)
            .starts_with("554 5.7.1 <x@elsewhere.example>: Relay access denied"));
        assert!(
            talk("RCPT TO:<alice@example.test> NOTIFY=SUCCESS", &mut s).starts_with("250 2.1.5")
        );
        assert!(talk("DATA", &mut s).starts_with("354"));
        assert_eq!(
            talk("Subject: x\r\n\r\nbody\r\n.", &mut s).get(..9),
            Some("250 2.0.0")
        );
        assert!(talk("RSET", &mut s).starts_with("250 2.0.0"));
        let long = format!("NOOP {}", "x".repeat(600));
        assert!(talk(&long, &mut s).starts_with("500 5.5.2 Error: command line too long"));
        assert!(
            talk("NOOP", &mut s).starts_with("250"),
            "the session goes on after a long line"
        );
        assert!(talk("QUIT", &mut s).starts_with("221 2.0.0"));
        assert!(s.is_closed());
    }

    #[test]
    fn relaying_needs_auth_and_auth_works_for_each_mechanism() {
        for mech in [Mechanism::Plain, Mechanism::Login, Mechanism::CramMd5] {
            let mut env = TestEnv::default();
            let mut p = plan();
            p.rcpts = vec![(Address::new("someone@external.example").unwrap(), vec![])];
            let run = pair(
                ClientSession::with_plan(ReplyLimits::default(), p.clone()),
                &mut env,
            );
            assert_eq!(refused_with(&run).as_deref(), Some("554 5.7.1"));
            p.starttls = true;
            p.auth = Some((
                mech,
                Credentials {
                    user: "alice@example.test".into(),
                    secret: Secret::new("wonderland"),
                },
            ));
            let run = pair(
                ClientSession::with_plan(ReplyLimits::default(), p.clone()),
                &mut env,
            );
            assert!(accepted(&run), "{mech}: {:?}", run.client.outcome());
            assert_eq!(
                run.server.messages[0].auth.as_deref(),
                Some("alice@example.test")
            );
            assert!(run.server.messages[0].tls);
            assert!(
                !run.server
                    .commands
                    .iter()
                    .any(|c| c.contains("d29uZGVybGFuZ") || c.contains("wonderland")),
                "{mech}: secret in the server's log: {:?}",
                run.server.commands
            );
            p.auth = Some((
                mech,
                Credentials {
                    user: "alice@example.test".into(),
                    secret: Secret::new("wrong"),
                },
            ));
            let run = pair(
                ClientSession::with_plan(ReplyLimits::default(), p),
                &mut env,
            );
            assert_eq!(refused_with(&run).as_deref(), Some("535 5.7.8"), "{mech}");
        }
    }

    #[test]
    fn policies_give_the_codes_a_client_sees() {
        let mut env = TestEnv::default();
        env.policy.require_auth = true;
        let run = pair(
            ClientSession::with_plan(ReplyLimits::default(), plan()),
            &mut env,
        );
        assert_eq!(refused_with(&run).as_deref(), Some("530 5.7.0"));

        let mut env = TestEnv::default();
        env.policy.require_tls = true;
        let run = pair(
            ClientSession::with_plan(ReplyLimits::default(), plan()),
            &mut env,
        );
        assert_eq!(refused_with(&run).as_deref(), Some("530 5.7.0"));
        let run = pair(
            ClientSession::with_plan(
                ReplyLimits::default(),
                Plan {
                    starttls: true,
                    ..plan()
                },
            ),
            &mut env,
        );
        assert!(accepted(&run));

        let mut env = TestEnv::default();
        env.policy.max_size = 10;
        let run = pair(
            ClientSession::with_plan(ReplyLimits::default(), plan()),
            &mut env,
        );
        assert_eq!(refused_with(&run).as_deref(), Some("552 5.3.4"));

        let mut env = TestEnv::default();
        env.policy.transient_failure = 0.5;
        env.chance = 0.1;
        let run = pair(
            ClientSession::with_plan(ReplyLimits::default(), plan()),
            &mut env,
        );
        assert_eq!(refused_with(&run).as_deref(), Some("451 4.3.0"));

        for (mode, code) in [
            (VrfyMode::Ambiguous, "252"),
            (VrfyMode::Verify, "250"),
            (VrfyMode::Refuse, "550"),
            (VrfyMode::Disabled, "502"),
        ] {
            let mut env = TestEnv::default();
            env.policy.vrfy = mode;
            let p = Plan {
                vrfy: vec!["alice".into()],
                rcpts: vec![],
                ..plan()
            };
            let run = pair(
                ClientSession::with_plan(ReplyLimits::default(), p),
                &mut env,
            );
            assert!(
                run.server.replies.iter().any(|r| r.starts_with(code)),
                "{mode:?}: {:?}",
                run.server.replies
            );
        }
    }

    #[test]
    fn greylisting_defers_the_first_try_and_accepts_the_retry() {
        let mut env = TestEnv::default();
        env.policy.greylist_secs = Some(60);
        let run = pair(
            ClientSession::with_plan(ReplyLimits::default(), plan()),
            &mut env,
        );
        assert_eq!(refused_with(&run).as_deref(), Some("450 4.7.1"));
        env.now += 30;
        let run = pair(
            ClientSession::with_plan(ReplyLimits::default(), plan()),
            &mut env,
        );
        assert_eq!(refused_with(&run).as_deref(), Some("450 4.7.1"));
        assert!(run
            .server
            .replies
            .iter()
            .any(|r| r.contains("try again in 30 seconds")));
        env.now += 31;
        let run = pair(
            ClientSession::with_plan(ReplyLimits::default(), plan()),
            &mut env,
        );
        assert!(accepted(&run));
    }

    #[test]
    fn bdat_and_quit_points() {
        let mut env = TestEnv::default();
        let p = Plan {
            transfer: Transfer::Bdat { chunk_size: 7 },
            ..plan()
        };
        let run = pair(
            ClientSession::with_plan(ReplyLimits::default(), p),
            &mut env,
        );
        assert!(accepted(&run));
        assert_eq!(run.server.messages[0].content, &*plan().content);
        let p = Plan {
            quit_after: Some(QuitAfter::Rcpt),
            ..plan()
        };
        let run = pair(
            ClientSession::with_plan(ReplyLimits::default(), p),
            &mut env,
        );
        assert!(run.server.messages.is_empty());
        let p = Plan {
            quit_after: Some(QuitAfter::Data),
            ..plan()
        };
        let run = pair(
            ClientSession::with_plan(ReplyLimits::default(), p),
            &mut env,
        );
        assert!(run.server.messages.is_empty());
    }

    #[test]
    fn bare_lf_and_long_lines_are_refused() {
        for content in [&b"Subject: x\n\nbare\n"[..], &[b'y'; 1200][..]] {
            let mut env = TestEnv::default();
            let mut s = in_data(&mut env);
            s.handle_input(content, &mut env);
            s.handle_input(b"\r\n.\r\n", &mut env);
            let out = String::from_utf8(s.poll_transmit().unwrap()).unwrap();
            assert!(out.starts_with("554 5.6.0"), "{out}");
        }
    }

    #[test]
    fn a_crlf_split_between_reads_is_not_a_bare_lf() {
        let mut env = TestEnv::default();
        let mut s = in_data(&mut env);
        for part in [&b"Subject: x\r"[..], b"\n\r", b"\nbody\r", b"\n.\r\n"] {
            s.handle_input(part, &mut env);
        }
        let out = String::from_utf8(s.poll_transmit().unwrap()).unwrap();
        assert!(out.starts_with("250 2.0.0"), "{out}");
    }

    #[test]
    fn a_text_line_of_exactly_1000_octets_is_accepted() {
        for (len, ok) in [(998, true), (999, false)] {
            let mut env = TestEnv::default();
            let mut s = in_data(&mut env);
            s.handle_input(&vec![b'x'; len], &mut env);
            s.handle_input(b"\r\n.\r\n", &mut env);
            let out = String::from_utf8(s.poll_transmit().unwrap()).unwrap();
            assert_eq!(out.starts_with("250"), ok, "{len}: {out}");
        }
    }

    #[test]
    fn bytes_after_starttls_are_not_read_as_commands() {
        let mut env = TestEnv::default();
        let mut s = ServerSession::new(config());
        s.handle_input(b"EHLO c\r\n", &mut env);
        let _ = s.poll_transmit();
        s.handle_input(b"STARTTLS\r\nRSET\r\n", &mut env);
        let out = String::from_utf8(s.poll_transmit().unwrap()).unwrap();
        assert_eq!(out, "220 2.0.0 Ready to start TLS\r\n");
    }

    #[test]
    fn too_many_errors_end_the_session() {
        let mut env = TestEnv::default();
        let mut s = ServerSession::new(config());
        for _ in 0..MAX_ERRORS {
            s.handle_input(b"BOGUS\r\n", &mut env);
        }
        assert!(s.is_closed());
        let out = String::from_utf8(s.poll_transmit().unwrap()).unwrap();
        assert!(out.ends_with("421 4.7.0 Error: too many errors\r\n"));
    }

    #[test]
    fn content_past_the_limit_is_counted_not_kept() {
        let mut env = TestEnv::default();
        env.policy.max_size = 1000;
        let mut s = in_data(&mut env);
        let line = [b'z'; 998];
        for _ in 0..10_000 {
            s.handle_input(&line, &mut env);
            s.handle_input(b"\r\n", &mut env);
            assert!(s.content.len() <= 1000);
        }
        s.handle_input(b".\r\n", &mut env);
        let out = String::from_utf8(s.poll_transmit().unwrap()).unwrap();
        assert!(
            out.ends_with("552 5.3.4 Error: message file too big\r\n"),
            "{out}"
        );
    }
}
