//! The built-in demo server over TCP and TLS with tokio: the listener, one
//! task per connection, the message store and Maildir, and the log of what
//! happened. The protocol is `proto::server`; this layer moves bytes, keeps
//! time and holds the state connections share (policy, greylist, store).

pub mod demo;
pub mod report;
pub mod store;
pub mod tls;

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::proto::server::{
    Policy, ReceivedMessage, ServerConfig, ServerEnv, ServerEvent, ServerSession,
};
use crate::transport::Stream;
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
    Disconnected {
        conn: u64,
        messages: u64,
    },
}

/// State shared by every connection.
pub struct Shared {
    policy: RwLock<Arc<Policy>>,
    pub store: Mutex<Store>,
    greylist: Mutex<HashMap<(String, String, String), Instant>>,
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
                connection(stream, peer, shared, options, acceptor, log).await;
            });
        }
    });
    Ok(ServerHandle {
        local_addr,
        shared,
        task,
    })
}

/// What a session asks of the world, answered from the shared state.
struct Env {
    shared: Arc<Shared>,
    rng: u64,
}

impl ServerEnv for Env {
    fn policy(&self) -> Arc<Policy> {
        self.shared.policy()
    }

    fn greylist(&mut self, client: &str, from: &str, to: &str) -> Option<u64> {
        let delay = Duration::from_secs(self.shared.policy().greylist_secs?);
        let mut map = self.shared.greylist.lock().ok()?;
        // Bounded: forget the oldest half when the table is full.
        if map.len() > 100_000 {
            let mut ages: Vec<Instant> = map.values().copied().collect();
            ages.sort();
            let cut = ages[ages.len() / 2];
            map.retain(|_, t| *t > cut);
        }
        let first = *map
            .entry((client.to_string(), from.to_lowercase(), to.to_lowercase()))
            .or_insert_with(Instant::now);
        let waited = first.elapsed();
        (waited < delay).then(|| (delay - waited).as_secs().max(1))
    }

    fn chance(&mut self) -> f64 {
        // xorshift64*: a drill needs variety, not cryptography.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let x = self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (x >> 11) as f64 / (1u64 << 53) as f64
    }

    fn unique(&mut self) -> String {
        let n = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let t = self
            .shared
            .started
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        format!("{:X}{:05X}", t & 0xFFFFF, n)
    }
}

/// Decrements the connection count however the task ends.
struct Slot(Arc<Shared>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    options: Arc<ServerOptions>,
    acceptor: Option<TlsAcceptor>,
    log: mpsc::UnboundedSender<LogEvent>,
) {
    let _ = stream.set_nodelay(true);
    let conn_id = shared.next_conn.fetch_add(1, Ordering::Relaxed);
    let open = shared.connections.fetch_add(1, Ordering::Relaxed) + 1;
    let _slot = Slot(shared.clone());
    let policy = shared.policy();
    let config = ServerConfig {
        hostname: options.hostname.clone(),
        client: peer.ip().to_string(),
        tls_available: acceptor.is_some(),
    };
    let mut session = if open > policy.max_connections {
        let why = format!(
            "Error: too many connections (the limit is {})",
            policy.max_connections
        );
        let _ = log.send(LogEvent::Refused {
            peer,
            why: why.clone(),
        });
        ServerSession::refuse(config, &why)
    } else {
        let _ = log.send(LogEvent::Connected {
            conn: conn_id,
            peer,
        });
        ServerSession::new(config)
    };
    let seed = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as u64
        ^ conn_id.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut env = Env {
        shared: shared.clone(),
        rng: seed | 1,
    };
    let mut conn = Stream::Plain(stream);
    let mut buf = vec![0u8; 16 * 1024];
    let mut messages = 0u64;
    loop {
        if let Some(bytes) = session.poll_transmit() {
            let tarpit = shared.policy().tarpit_ms;
            if tarpit > 0 {
                tokio::time::sleep(Duration::from_millis(tarpit)).await;
            }
            if conn.write_all(&bytes).await.is_err() {
                break;
            }
        }
        let mut start_tls = false;
        while let Some(event) = session.poll_event() {
            match event {
                // Every command and reply only for a log that shows them.
                ServerEvent::Command(_) | ServerEvent::Reply(_) if !options.log_lines => {}
                ServerEvent::Command(text) => {
                    let _ = log.send(LogEvent::Command {
                        conn: conn_id,
                        text,
                    });
                }
                ServerEvent::Reply(text) => {
                    let _ = log.send(LogEvent::Reply {
                        conn: conn_id,
                        text,
                    });
                }
                ServerEvent::StartTls => start_tls = true,
                ServerEvent::Message(m) => {
                    messages += 1;
                    let stored = store_message(&shared, &options.hostname, *m);
                    match stored {
                        Ok(s) => {
                            let _ = log.send(LogEvent::Message {
                                conn: conn_id,
                                message: s,
                            });
                        }
                        Err(e) => {
                            let _ = log.send(LogEvent::Problem {
                                conn: conn_id,
                                text: format!("could not store the message: {e}"),
                            });
                        }
                    }
                }
                ServerEvent::Close => {}
            }
        }
        if start_tls {
            let Some(acceptor) = &acceptor else {
                break;
            };
            let Stream::Plain(tcp) = conn else {
                // STARTTLS inside TLS: the session never asks for that.
                return disconnected(&log, conn_id, messages);
            };
            let limit = Duration::from_secs(shared.policy().idle_timeout_secs.max(1));
            match accept_tls(acceptor, tcp, limit).await {
                Ok((tls, detail)) => {
                    let _ = log.send(LogEvent::Tls {
                        conn: conn_id,
                        detail,
                    });
                    conn = Stream::Tls(Box::new(tls.into()));
                    session.handle_tls_established();
                }
                Err(text) => {
                    let _ = log.send(LogEvent::Problem {
                        conn: conn_id,
                        text,
                    });
                    // The connection went with the failed handshake.
                    return disconnected(&log, conn_id, messages);
                }
            }
            continue;
        }
        if session.is_closed() {
            break;
        }
        let idle = Duration::from_secs(shared.policy().idle_timeout_secs.max(1));
        match tokio::time::timeout(idle, conn.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => session.handle_input(&buf[..n], &mut env),
            Err(_) => session.handle_idle_timeout(),
        }
    }
    conn.shutdown().await;
    disconnected(&log, conn_id, messages);
}

fn disconnected(log: &mpsc::UnboundedSender<LogEvent>, conn: u64, messages: u64) {
    let _ = log.send(LogEvent::Disconnected { conn, messages });
}

/// The server side of the TLS handshake after its 220 to STARTTLS; the
/// version and cipher for the log, or why it failed.
async fn accept_tls(
    acceptor: &TlsAcceptor,
    tcp: TcpStream,
    limit: Duration,
) -> Result<(tokio_rustls::server::TlsStream<TcpStream>, String), String> {
    match tokio::time::timeout(limit, acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => {
            let detail = crate::transport::tls::established(tls.get_ref().1);
            Ok((tls, detail))
        }
        Ok(Err(e)) => Err(format!("TLS handshake failed: {e}")),
        Err(_) => Err("TLS handshake timed out".into()),
    }
}

fn store_message(
    shared: &Shared,
    hostname: &str,
    m: ReceivedMessage,
) -> io::Result<Arc<StoredMessage>> {
    let stored = StoredMessage::new(m, hostname, SystemTime::now());
    let mut store = shared
        .store
        .lock()
        .map_err(|_| io::Error::other("the store is poisoned"))?;
    store.add(stored)
}
