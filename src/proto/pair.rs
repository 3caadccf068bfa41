//! The tests' in-memory connection: proto's client session against a peer
//! (proto's server session, or a scripted server) with no sockets and no
//! clock, the number of steps capped so that a livelock fails a test
//! instead of hanging it.

use std::sync::OnceLock;
use std::time::Instant;

use super::client::{ClientSession, Event, Plan, Transfer};
use super::command::{Address, ReversePath};
use super::server::{ReceivedMessage, ServerConfig, ServerEnv, ServerEvent, ServerSession};

/// The tests' one moment: the sessions only compare instants, so the
/// tests give them this one and offsets from it. (`Instant` has no other
/// constructor; the clock is read here once, never by proto itself.)
pub(crate) fn at() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

/// Steps before a pair that has not finished is called a livelock.
const STEPS: usize = 1000;

/// The other end of the connection.
pub(crate) trait Peer {
    /// Bytes the client wrote.
    fn handle_input(&mut self, bytes: &[u8]);
    /// Bytes for the client.
    fn poll_transmit(&mut self) -> Option<Vec<u8>>;
    /// The peer has hung up.
    fn is_closed(&self) -> bool;
}

/// A client and its peer, connected in memory.
pub(crate) struct Pair<P> {
    pub client: ClientSession,
    pub server: P,
    /// What the client wrote, one entry per `poll_transmit`.
    pub writes: Vec<String>,
    /// What the client said, in order.
    pub events: Vec<Event>,
}

impl<P: Peer> Pair<P> {
    pub fn new(client: ClientSession, server: P) -> Self {
        Self {
            client,
            server,
            writes: Vec::new(),
            events: Vec::new(),
        }
    }

    /// Moves bytes both ways until neither side has anything more to say.
    /// A client still waiting for a reply then is a livelock, and panics;
    /// so does a pair that never stops talking.
    pub fn run(mut self) -> Self {
        for _ in 0..STEPS {
            if self.step() {
                continue;
            }
            if self.server.is_closed() && !self.client.is_closed() {
                self.client.handle_eof();
                self.take_events();
            }
            assert!(
                self.client.is_closed() || !self.client.awaiting_reply(),
                "stuck: the client waits and the server has nothing to say"
            );
            return self;
        }
        panic!("no end within {STEPS} steps");
    }

    /// One turn of each side; false when nothing moved.
    fn step(&mut self) -> bool {
        let mut moved = false;
        if let Some(bytes) = self.server.poll_transmit() {
            self.client.handle_input(at(), &bytes);
            moved = true;
        }
        if self.client.awaiting_tls() {
            self.client
                .handle_tls_established(at(), vec!["TLS up".into()]);
            moved = true;
        }
        self.take_events();
        if let Some(bytes) = self.client.poll_transmit() {
            self.writes
                .push(String::from_utf8_lossy(&bytes).into_owned());
            self.server.handle_input(&bytes);
            moved = true;
        }
        moved
    }

    fn take_events(&mut self) {
        self.events
            .extend(std::iter::from_fn(|| self.client.poll_event()));
    }
}

/// The lines `events` show as sent.
pub(crate) fn sent_lines(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Sent { text, .. } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

/// Proto's server session as a peer, with what it reported.
pub(crate) struct Served<'e, E: ServerEnv> {
    pub session: ServerSession,
    env: &'e mut E,
    pub messages: Vec<ReceivedMessage>,
    pub replies: Vec<String>,
    pub commands: Vec<String>,
}

impl<'e, E: ServerEnv> Served<'e, E> {
    pub fn new(config: ServerConfig, env: &'e mut E) -> Self {
        Self {
            session: ServerSession::new(config),
            env,
            messages: Vec::new(),
            replies: Vec::new(),
            commands: Vec::new(),
        }
    }
}

impl<E: ServerEnv> Peer for Served<'_, E> {
    fn handle_input(&mut self, bytes: &[u8]) {
        self.session.handle_input(bytes, self.env);
    }

    fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        let out = self.session.poll_transmit();
        while let Some(e) = self.session.poll_event() {
            match e {
                ServerEvent::Message(m) => self.messages.push(*m),
                ServerEvent::Reply(r) => self.replies.push(r),
                ServerEvent::Command(c) => self.commands.push(c),
                // The handshake always succeeds in memory.
                ServerEvent::StartTls => self.session.handle_tls_established(),
                // No rules in memory: proto's own tests drive them by hand.
                ServerEvent::Rule(_) | ServerEvent::Bounce(_) | ServerEvent::Close => {}
            }
        }
        out
    }

    fn is_closed(&self) -> bool {
        self.session.is_closed()
    }
}

/// A plan for the tests: EHLO `client.example`, this envelope and content,
/// DATA, nothing else asked for.
pub(crate) fn plan(mail_from: &str, rcpts: &[&str], content: &[u8]) -> Plan {
    Plan {
        ehlo: "client.example".into(),
        starttls: false,
        auth: None,
        vrfy: vec![],
        mail_from: ReversePath::parse(mail_from).unwrap(),
        mail_params: vec![],
        rcpts: rcpts
            .iter()
            .map(|&r| (Address::new(r).unwrap(), vec![]))
            .collect(),
        content: content.into(),
        transfer: Transfer::Data,
        pipelining: false,
        quit_after: None,
    }
}
