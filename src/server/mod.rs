//! The built-in demo server over TCP and TLS with tokio: the listener, one
//! task per connection, the message store and Maildir, and the log of what
//! happened. The protocol is `proto::server`; this layer moves bytes, keeps
//! time and holds the state connections share (policy, greylist, store).
//!
//! This file holds the options, the log's events, the shared state and the
//! listener. One connection's task is in `connection`, what a session asks
//! of the world in `env`, the accepted messages in `store`, a delivery that
//! fails after acceptance and its bounce to MAIL FROM in `bounce`, the
//! log's text and JSON forms in `report`, the certificate in `tls`, what it
//! judges of each message (SPF, DKIM, DMARC, iprev) and with which DNS in
//! `judge`, the rules asked at each stage (`serve --rules`) in `rules`, and the demo server the workbench and `send --demo` start in
//! `demo`.

pub mod bounce;
mod connection;
pub mod demo;
mod env;
pub mod judge;
pub mod report;
pub mod rules;
pub mod store;
pub mod tls;

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::proto::server::{Checkpoint, Policy, Ruling, SessionSummary};
pub use bounce::{Bounce, BounceFate};
pub use judge::Judge;
pub use rules::{RuleState, Rules, RulesError};
pub use store::{Store, StoreLimits, StoredMessage};

/// How to run the server.
#[derive(Clone)]
pub struct ServerOptions {
    pub listen: SocketAddr,
    /// The name in the greeting, EHLO and Received: fields.
    pub hostname: String,
    pub tls: Option<tls::Identity>,
    pub maildir: Option<PathBuf>,
    pub store: StoreLimits,
    /// Send every command and reply to the log (else only connections,
    /// TLS, messages and problems).
    pub log_lines: bool,
    /// Judges each accepted message before its 250; None judges nothing.
    pub judge: Option<Judge>,
    /// The rules asked at each stage (`serve --rules`); empty is none.
    pub rules: Rules,
    /// Report each session's stage, EHLO name and AUTH user as they change
    /// ([`LogEvent::Session`], for the teacher's view).
    pub sessions: bool,
}

/// One thing that happened, for `serve`'s output and the TUI.
#[derive(Debug, Clone)]
pub enum LogEvent {
    Listening {
        addr: SocketAddr,
    },
    Connected {
        conn: u64,
        peer: SocketAddr,
    },
    Refused {
        peer: SocketAddr,
        why: String,
    },
    Command {
        conn: u64,
        text: String,
    },
    Reply {
        conn: u64,
        text: String,
    },
    Tls {
        conn: u64,
        detail: String,
    },
    Message {
        conn: u64,
        message: Arc<StoredMessage>,
    },
    Problem {
        conn: u64,
        text: String,
    },
    /// A rule fired.
    Rule {
        conn: u64,
        ruling: Ruling,
    },
    Disconnected {
        conn: u64,
        messages: u64,
    },
    /// A session's stage, EHLO name or AUTH user changed (only with
    /// [`ServerOptions::sessions`]).
    Session {
        conn: u64,
        summary: SessionSummary,
    },
}

/// State shared by every connection.
pub struct Shared {
    policy: RwLock<Arc<Policy>>,
    pub store: Mutex<Store>,
    greylist: Mutex<HashMap<(String, String, String), Instant>>,
    rules: RwLock<Arc<Rules>>,
    rule_state: Mutex<RuleState>,
    connections: AtomicUsize,
    next_conn: AtomicU64,
    next_id: AtomicU64,
    started: SystemTime,
}

impl Shared {
    /// Changes the policy for every connection from now on.
    pub fn set_policy(&self, policy: Policy) {
        if let Ok(mut p) = self.policy.write() {
            *p = Arc::new(policy);
        }
    }

    /// Changes the rules for every connection from now on; the counters
    /// and rate windows start again.
    pub fn set_rules(&self, rules: Rules) {
        if let Ok(mut r) = self.rules.write() {
            *r = Arc::new(rules);
        }
        if let Ok(mut s) = self.rule_state.lock() {
            *s = RuleState::default();
        }
    }

    /// The first rule that fires at `at` for `client` now, counted.
    pub(crate) fn rule(&self, at: &Checkpoint<'_>, client: IpAddr) -> Option<Ruling> {
        let rules = self.rules.read().ok()?.clone();
        if rules.is_empty() {
            return None;
        }
        let mut state = self.rule_state.lock().ok()?;
        rules.decide(at, client, Instant::now(), &mut state)
    }

    /// A queue id no other message of this server has.
    fn queue_id(&self) -> String {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        let t = self
            .started
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        format!("{:X}{:05X}", t & 0xFFFFF, n)
    }

    /// The policy now; cheap (a shared pointer), so callers ask often.
    pub fn policy(&self) -> Arc<Policy> {
        self.policy
            .read()
            .map(|p| p.clone())
            .unwrap_or_else(|_| Arc::new(Policy::default()))
    }
}

/// A running server.
pub struct ServerHandle {
    pub local_addr: SocketAddr,
    pub shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl ServerHandle {
    pub fn stop(&self) {
        self.task.abort();
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Binds and starts accepting; events go to `log` (a closed receiver is fine).
pub async fn start(
    options: ServerOptions,
    policy: Policy,
    log: mpsc::UnboundedSender<LogEvent>,
) -> io::Result<ServerHandle> {
    let listener = TcpListener::bind(options.listen).await?;
    let local_addr = listener.local_addr()?;
    let shared = Arc::new(Shared {
        policy: RwLock::new(Arc::new(policy)),
        store: Mutex::new(Store::new(options.store, options.maildir.clone())?),
        greylist: Mutex::new(HashMap::new()),
        rules: RwLock::new(Arc::new(options.rules.clone())),
        rule_state: Mutex::new(RuleState::default()),
        connections: AtomicUsize::new(0),
        next_conn: AtomicU64::new(1),
        next_id: AtomicU64::new(1),
        started: SystemTime::now(),
    });
    let _ = log.send(LogEvent::Listening { addr: local_addr });
    let acceptor = options
        .tls
        .as_ref()
        .map(|t| TlsAcceptor::from(t.config.clone()));
    let options = Arc::new(options);
    let task_shared = shared.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, peer)) = listener.accept().await else {
                // Out of file descriptors and the like: wait, go on.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            let shared = task_shared.clone();
            let options = options.clone();
            let acceptor = acceptor.clone();
            let log = log.clone();
            tokio::spawn(async move {
                connection::serve(stream, peer, shared, options, acceptor, log).await;
            });
        }
    });
    Ok(ServerHandle {
        local_addr,
        shared,
        task,
    })
}
