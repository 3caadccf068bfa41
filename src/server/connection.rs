//! One connection of the built-in server: opening it (or refusing it past
//! the connection limit), the pump that moves bytes between the socket and
//! the session under the idle timeout and the tarpit, the STARTTLS upgrade,
//! and the log of what the session reported, with each accepted message
//! judged (SPF, DKIM, DMARC, iprev) and stored before its 250 goes (and
//! bounced to its envelope sender where the policy fails a recipient).

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;

use super::bounce;
use super::env::Env;
use super::{LogEvent, ServerOptions, Shared, StoredMessage};
use crate::analysis::auth::{Memo, Verdict};
use crate::proto::server::{
    ReceivedMessage, ServerConfig, ServerEvent, ServerSession, SessionSummary,
};
use crate::transport::Stream;

/// Serves one accepted connection to its end.
pub(super) async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    options: Arc<ServerOptions>,
    acceptor: Option<TlsAcceptor>,
    log: mpsc::UnboundedSender<LogEvent>,
) {
    let _ = stream.set_nodelay(true);
    let id = shared.next_conn.fetch_add(1, Ordering::Relaxed);
    let (_slot, open) = Slot::take(&shared);
    let mut conn = Connection {
        id,
        peer,
        shared,
        options,
        log,
        messages: 0,
        memo: Memo::default(),
        rule_bounce: Vec::new(),
    };
    let mut env = Env::new(conn.shared.clone(), id, peer.ip());
    let session = conn.open(peer, open, acceptor.is_some(), &mut env);
    let stream = conn
        .pump(session, &mut env, Stream::Plain(stream), acceptor.as_ref())
        .await;
    if let Some(mut stream) = stream {
        stream.shutdown().await;
    }
    conn.send(LogEvent::Disconnected {
        conn: conn.id,
        messages: conn.messages,
    });
}

/// Counts an open connection for as long as it lives, however its task ends.
struct Slot(Arc<Shared>);

impl Slot {
    /// The slot, and how many connections are open with this one.
    fn take(shared: &Arc<Shared>) -> (Self, usize) {
        let open = shared.connections.fetch_add(1, Ordering::Relaxed) + 1;
        (Self(shared.clone()), open)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What a connection's task knows besides its session and its stream.
struct Connection {
    id: u64,
    /// The client's address: what SPF and iprev judge.
    peer: SocketAddr,
    shared: Arc<Shared>,
    options: Arc<ServerOptions>,
    log: mpsc::UnboundedSender<LogEvent>,
    /// Messages accepted on this connection, for the log's last line.
    messages: u64,
    /// SPF and iprev as judged for this connection's earlier messages.
    memo: Memo,
    /// Recipients of the next message a rule bounces after acceptance.
    rule_bounce: Vec<String>,
}

impl Connection {
    /// The session for a new connection: a greeting, or a 421 when `open`
    /// connections are past the policy's limit.
    fn open(
        &self,
        peer: SocketAddr,
        open: usize,
        tls_available: bool,
        env: &mut Env,
    ) -> ServerSession {
        let max = self.shared.policy().max_connections;
        let config = ServerConfig {
            hostname: self.options.hostname.clone(),
            client: peer.ip().to_string(),
            tls_available,
        };
        if open > max {
            let why = format!("Error: too many connections (the limit is {max})");
            self.send(LogEvent::Refused {
                peer,
                why: why.clone(),
            });
            ServerSession::refuse(config, &why)
        } else {
            self.send(LogEvent::Connected {
                conn: self.id,
                peer,
            });
            ServerSession::open(config, env)
        }
    }

    /// Moves bytes between the client and the session until either ends.
    /// The stream to shut down, or `None` when it went with a failed
    /// STARTTLS.
    async fn pump(
        &mut self,
        mut session: ServerSession,
        env: &mut Env,
        mut stream: Stream,
        acceptor: Option<&TlsAcceptor>,
    ) -> Option<Stream> {
        let mut buf = vec![0u8; 16 * 1024];
        let mut shown = None;
        loop {
            // Before the replies go: an accepted message is judged and
            // stored before the client reads its 250.
            let start_tls = self.report(&mut session).await;
            if self.options.sessions {
                self.summarize(&session, &mut shown);
            }
            if !self.write(&mut session, &mut stream).await {
                break;
            }
            if start_tls {
                let Some(acceptor) = acceptor else {
                    break;
                };
                stream = self.upgrade(acceptor, stream).await?;
                session.handle_tls_established();
                continue;
            }
            if session.is_closed() {
                break;
            }
            match tokio::time::timeout(self.idle_limit(), stream.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => break,
                Ok(Ok(n)) => session.handle_input(&buf[..n], env),
                Err(_) => session.handle_idle_timeout(),
            }
        }
        Some(stream)
    }

    /// Writes what the session has to say, after the tarpit's delay and
    /// with the pauses its rules asked for; false when the client is gone.
    async fn write(&self, session: &mut ServerSession, stream: &mut Stream) -> bool {
        loop {
            if let Some(bytes) = session.poll_transmit() {
                let tarpit = self.shared.policy().tarpit_ms;
                if tarpit > 0 {
                    tokio::time::sleep(Duration::from_millis(tarpit)).await;
                }
                if stream.write_all(&bytes).await.is_err() {
                    return false;
                }
            }
            match session.poll_pause() {
                Some(ms) => tokio::time::sleep(Duration::from_millis(ms)).await,
                None => return true,
            }
        }
    }

    /// How long the client may stay silent, and the TLS handshake take.
    fn idle_limit(&self) -> Duration {
        Duration::from_secs(self.shared.policy().idle_timeout_secs.max(1))
    }

    /// The server side of the TLS handshake after the 220 to STARTTLS; the
    /// stream over TLS, or `None` when the connection went with the failure.
    async fn upgrade(&self, acceptor: &TlsAcceptor, stream: Stream) -> Option<Stream> {
        let Stream::Plain(tcp) = stream else {
            // STARTTLS inside TLS: the session never asks for that.
            return None;
        };
        match tokio::time::timeout(self.idle_limit(), acceptor.accept(tcp)).await {
            Ok(Ok(tls)) => {
                let detail = crate::transport::tls::established(tls.get_ref().1);
                self.send(LogEvent::Tls {
                    conn: self.id,
                    detail,
                });
                Some(Stream::Tls(Box::new(tls.into())))
            }
            Ok(Err(e)) => {
                self.problem(format!("TLS handshake failed: {e}"));
                None
            }
            Err(_) => {
                self.problem("TLS handshake timed out".into());
                None
            }
        }
    }

    /// Logs what the session reported and judges and stores the messages
    /// it accepted; true when it asks for the TLS handshake once its 220
    /// is written.
    async fn report(&mut self, session: &mut ServerSession) -> bool {
        let mut start_tls = false;
        while let Some(event) = session.poll_event() {
            match event {
                // Every command and reply only for a log that shows them.
                ServerEvent::Command(_) | ServerEvent::Reply(_) if !self.options.log_lines => {}
                ServerEvent::Command(text) => self.send(LogEvent::Command {
                    conn: self.id,
                    text,
                }),
                ServerEvent::Reply(text) => self.send(LogEvent::Reply {
                    conn: self.id,
                    text,
                }),
                ServerEvent::StartTls => start_tls = true,
                ServerEvent::Rule(ruling) => self.send(LogEvent::Rule {
                    conn: self.id,
                    ruling,
                }),
                ServerEvent::Bounce(rcpts) => self.rule_bounce = rcpts,
                ServerEvent::Message(m) => self.store(*m).await,
                ServerEvent::Close => {}
            }
        }
        start_tls
    }

    async fn store(&mut self, m: ReceivedMessage) {
        self.messages += 1;
        let hostname = &self.options.hostname;
        let verdicts = match &self.options.judge {
            Some(judge) => {
                let client = self.peer.ip();
                Some(
                    judge
                        .verdicts_again(&m, client, hostname, &mut self.memo)
                        .await,
                )
            }
            None => None,
        };
        let rule_bounce = std::mem::take(&mut self.rule_bounce);
        match store_message(&self.shared, hostname, m, verdicts, &rule_bounce) {
            Ok(message) => self.send(LogEvent::Message {
                conn: self.id,
                message,
            }),
            Err(e) => self.problem(format!("could not store the message: {e}")),
        }
    }

    /// Reports the session's summary when it differs from the one `shown`.
    fn summarize(&self, session: &ServerSession, shown: &mut Option<SessionSummary>) {
        let now = session.summary();
        if shown.as_ref() != Some(&now) {
            self.send(LogEvent::Session {
                conn: self.id,
                summary: now.clone(),
            });
            *shown = Some(now);
        }
    }

    fn problem(&self, text: String) {
        self.send(LogEvent::Problem {
            conn: self.id,
            text,
        });
    }

    /// A closed log receiver is fine: nobody is listening.
    fn send(&self, event: LogEvent) {
        let _ = self.log.send(event);
    }
}

/// Delivers an accepted message: into the store with its verdicts (when
/// judged), with the bounce of any recipient the policy fails, whose
/// notification goes to the sender's mailbox when that is here.
fn store_message(
    shared: &Shared,
    hostname: &str,
    m: ReceivedMessage,
    verdicts: Option<Vec<Verdict>>,
    rule_bounce: &[String],
) -> io::Result<Arc<StoredMessage>> {
    let now = SystemTime::now();
    let mut stored = StoredMessage::new(m, hostname, now);
    if let Some(v) = verdicts {
        stored.judged(hostname, v);
    }
    let bounced = bounce::bounce(
        &shared.policy(),
        rule_bounce,
        &stored,
        hostname,
        now,
        || shared.queue_id(),
    );
    let mut notification = None;
    if let Some((b, dsn)) = bounced {
        stored.bounce = Some(b);
        notification = dsn;
    }
    let mut store = shared
        .store
        .lock()
        .map_err(|_| io::Error::other("the store is poisoned"))?;
    let stored = store.add(stored)?;
    if let Some(dsn) = notification {
        store.add_notification(dsn)?;
    }
    Ok(stored)
}
