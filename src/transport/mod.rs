//! Runs a client session over TCP and TLS with tokio: where to connect
//! (`target`), connecting and the TLS handshake (`connect`, `tls`), the one
//! plain-or-TLS stream (`stream`), the loop that moves bytes between the
//! stream and the session (`pump`) and the transcript's time stamps
//! (`clock`), the DNS lookups behind connecting, each shown (`dns`), and
//! MTA-STS policies fetched and matched (`mta_sts`).
//! The protocol and its deadlines are in `proto`; this layer
//! moves bytes and tells the session the time.

mod clock;
mod connect;
pub mod dns;
pub mod link;
pub mod mta_sts;
mod pump;
pub mod stream;
pub mod target;
pub mod tls;

use std::time::Duration;

use crate::proto::auth::{Credentials, Mechanism};
use crate::proto::client::{ClientSession, Goal, RunEvent, Transaction};
use crate::proto::command::Command;
pub use clock::Timed;
pub use link::LinkOptions;
pub use pump::{run, run_with};
pub use stream::Stream;
pub use target::{Target, TargetError};
pub use tls::TlsOptions;

/// How to secure the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    None,
    /// Plain at first, TLS after the STARTTLS command (RFC 3207).
    StartTls,
    /// TLS from the first byte (RFC 8314, port 465).
    Implicit,
}

impl TlsMode {
    /// Each mode by the name `--tls` gives it.
    pub const NAMES: [(&'static str, TlsMode); 3] = [
        ("none", Self::None),
        ("starttls", Self::StartTls),
        ("implicit", Self::Implicit),
    ];
}

/// Everything the transport needs besides the session.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub target: Target,
    pub tls_mode: TlsMode,
    pub tls: TlsOptions,
    /// For connecting, the TLS handshake, each DNS lookup, and each reply
    /// as a whole.
    pub timeout: Duration,
    /// `--dns`, `-4`/`-6`, `--mx`: how the target is found.
    pub dns: dns::DnsOptions,
    /// `--server unix:PATH`, `--local-addr`, `--proxy`.
    pub link: LinkOptions,
}

/// What a running session tells its owner: each event as it happens, and
/// the session itself after each batch, for a view of its state.
pub trait Observer {
    fn event(&mut self, event: Timed);
    fn status(&mut self, _session: &ClientSession) {}
    /// A run by hand ([`Control::Run`]) reached its goal or stopped, and why.
    fn run(&mut self, _event: RunEvent) {}
    /// The connection is made, from this local address: the client address
    /// a receiver's SPF and iprev would judge.
    fn connected(&mut self, _local: std::net::SocketAddr) {}
    /// The server's certificates as PEM, after each handshake (whether or
    /// not they were accepted): for saving them.
    fn chain(&mut self, _pem: String) {}
    /// How many events the owner has been given and not yet taken in. Above
    /// [`MAX_BACKLOG`] the session stops reading from the server until the
    /// owner catches up: a server that floods replies slows down instead of
    /// filling memory.
    fn backlog(&self) -> usize {
        0
    }
}

/// The most events an owner may have waiting before reading pauses.
pub const MAX_BACKLOG: usize = 10_000;

impl<F: FnMut(Timed)> Observer for F {
    fn event(&mut self, event: Timed) {
        self(event)
    }
}

/// What the owner of an interactive session asks it to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Control {
    /// A typed command, whatever the stage.
    Send(Command),
    /// A line exactly as typed.
    Raw(String),
    Auth(Mechanism, Credentials),
    /// Run by hand toward a goal: the session decides the commands.
    Run(Goal, Transaction),
    /// Hang up without QUIT.
    Close,
}
