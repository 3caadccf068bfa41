//! Runs a client session over TCP and TLS with tokio: connecting with a
//! deadline, STARTTLS and implicit TLS, a deadline on every reply, and time
//! stamps and latencies for the transcript. The protocol itself is in
//! `proto`; this layer only moves bytes and keeps time.

pub mod tls;

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout, timeout_at, Instant};
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::proto::client::{ClientSession, Event};
pub use tls::TlsOptions;

/// A server to connect to: a host name, an IPv4 address or an IPv6 literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("no host given")]
    Empty,
    #[error("{0:?} is not a port number (1-65535)")]
    BadPort(String),
    #[error("an IPv6 address with a port is written in brackets: [{0}]:PORT")]
    AmbiguousIpv6(String),
}

impl Target {
    /// Parses `HOST`, `HOST:PORT`, `[IPV6]`, `[IPV6]:PORT` or a bare IPv6 address.
    pub fn parse(s: &str, default_port: u16) -> Result<Self, TargetError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(TargetError::Empty);
        }
        let port = |p: &str| match p.parse::<u16>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(TargetError::BadPort(p.to_string())),
        };
        if let Some(rest) = s.strip_prefix('[') {
            let (host, after) = rest.split_once(']').ok_or(TargetError::Empty)?;
            let p = match after.strip_prefix(':') {
                Some(p) => port(p)?,
                None if after.is_empty() => default_port,
                None => return Err(TargetError::BadPort(after.to_string())),
            };
            return Ok(Self {
                host: host.to_string(),
                port: p,
            });
        }
        if s.parse::<std::net::Ipv6Addr>().is_ok() {
            return Ok(Self {
                host: s.to_string(),
                port: default_port,
            });
        }
        match s.rsplit_once(':') {
            Some((h, _)) if h.contains(':') => Err(TargetError::AmbiguousIpv6(h.to_string())),
            Some((h, p)) => Ok(Self {
                host: h.to_string(),
                port: port(p)?,
            }),
            None => Ok(Self {
                host: s.to_string(),
                port: default_port,
            }),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// How to secure the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    None,
    /// Plain at first, TLS after the STARTTLS command (RFC 3207).
    StartTls,
    /// TLS from the first byte (RFC 8314, port 465).
    Implicit,
}

/// Everything the transport needs besides the session.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub target: Target,
    pub tls_mode: TlsMode,
    pub tls: TlsOptions,
    /// For connecting, the TLS handshake, and each reply as a whole.
    pub timeout: Duration,
}

/// An event with the time it happened, since the start of the connection
/// attempt, and for replies the time since the line they answer was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timed {
    pub at: Duration,
    pub latency: Option<Duration>,
    pub event: Event,
}

/// What a running session tells its owner: each event as it happens, and
/// the session itself after each batch, for a view of its state.
pub trait Observer {
    fn event(&mut self, event: Timed);
    fn status(&mut self, _session: &ClientSession) {}
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
    Send(crate::proto::command::Command),
    /// A line exactly as typed.
    Raw(String),
    /// Message content after a 354: dot-stuffed and ended for the user.
    Content(Vec<u8>),
    Auth(
        crate::proto::auth::Mechanism,
        crate::proto::auth::Credentials,
    ),
    /// Say QUIT.
    Quit,
    /// Hang up without QUIT.
    Close,
}

enum Conn {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Conn {
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf).await,
            Conn::Tls(s) => s.read(buf).await,
        }
    }

    async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Conn::Plain(s) => s.write_all(buf).await,
            Conn::Tls(s) => {
                s.write_all(buf).await?;
                s.flush().await
            }
        }
    }

    async fn shutdown(&mut self) {
        let _ = match self {
            Conn::Plain(s) => s.shutdown().await,
            Conn::Tls(s) => s.shutdown().await,
        };
    }
}

/// Keeps time for the transcript.
struct Clock {
    start: Instant,
    /// Lines sent and when, oldest first; dropped once answered.
    sent: VecDeque<(u64, Instant)>,
}

impl Clock {
    fn stamp(&mut self, event: Event) -> Timed {
        let now = Instant::now();
        let latency = match &event {
            Event::Sent { seq, .. } => {
                self.sent.push_back((*seq, now));
                None
            }
            Event::Reply { answers, .. } | Event::BadReply { answers, .. } => {
                let answered = answers.unwrap_or(u64::MAX);
                let mut at = None;
                while let Some(&(seq, t)) = self.sent.front() {
                    if seq > answered {
                        break;
                    }
                    if seq == answered {
                        at = Some(t);
                    }
                    self.sent.pop_front();
                }
                match answers {
                    // The greeting answers the connection itself.
                    Some(0) => Some(now - self.start),
                    Some(_) => at.map(|t| now - t),
                    None => None,
                }
            }
            _ => None,
        };
        Timed {
            at: now - self.start,
            latency,
            event,
        }
    }
}

/// Connects and runs `session` until it ends; every event goes to `sink`
/// as it happens. Returns the session, whose `outcome` says how it ended.
pub async fn run<O: Observer + ?Sized>(
    session: ClientSession,
    opts: &ConnectOptions,
    sink: &mut O,
) -> ClientSession {
    run_with(session, opts, sink, None).await
}

/// Like [`run`], and also takes commands from `control` as they come: the
/// interactive face. No deadline applies while nothing is awaited, so a
/// user may think as long as they like; the server may still speak (a 421).
pub async fn run_with<O: Observer + ?Sized>(
    mut session: ClientSession,
    opts: &ConnectOptions,
    sink: &mut O,
    mut control: Option<&mut tokio::sync::mpsc::UnboundedReceiver<Control>>,
) -> ClientSession {
    let mut clock = Clock {
        start: Instant::now(),
        sent: VecDeque::new(),
    };
    fn emit<O: Observer + ?Sized>(clock: &mut Clock, e: Event, sink: &mut O) {
        sink.event(clock.stamp(e));
    }

    let make_tls = || {
        tls::client_config(&opts.tls)
            .and_then(|(c, src)| Ok((c, src, tls::server_name(&opts.target.host, &opts.tls)?)))
    };
    let mut tls_config = if opts.tls_mode == TlsMode::None {
        None
    } else {
        match make_tls() {
            Ok(c) => Some(c),
            Err(e) => {
                emit(&mut clock, Event::Error(e.to_string()), sink);
                session.handle_tls_failed(e.to_string());
                drain(&mut session, &mut clock, sink);
                return session;
            }
        }
    };

    let tcp = match connect(&opts.target, opts.timeout, &mut |e| {
        emit(&mut clock, e, sink)
    })
    .await
    {
        Ok(s) => s,
        Err(message) => {
            session.handle_connect_failed(message);
            drain(&mut session, &mut clock, sink);
            return session;
        }
    };
    let mut conn = Conn::Plain(tcp);

    if opts.tls_mode == TlsMode::Implicit {
        if let Some((config, source, name)) = &tls_config {
            let Conn::Plain(tcp) = conn else {
                return session;
            };
            match handshake(tcp, config, source, name, opts.timeout).await {
                Ok((tls, details)) => {
                    for d in details {
                        emit(&mut clock, Event::Info(d), sink);
                    }
                    session.set_implicit_tls();
                    conn = Conn::Tls(Box::new(tls));
                }
                Err(message) => {
                    session.handle_tls_failed(message);
                    drain(&mut session, &mut clock, sink);
                    return session;
                }
            }
        }
    }

    // Connected: the owner learns the stage before the greeting comes (a
    // server may keep it waiting).
    sink.status(&session);
    let mut buf = vec![0u8; 16 * 1024];
    let mut deadline = Instant::now() + opts.timeout;
    let mut replies_seen = session.replies_received();
    loop {
        drain(&mut session, &mut clock, sink);
        if let Some(bytes) = session.poll_transmit() {
            // A server that stops reading must not block the write forever.
            match timeout(opts.timeout, conn.write_all(&bytes)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    session.handle_write_failure(&format!("write failed: {e}"), false);
                    continue;
                }
                Err(_) => {
                    let why = format!(
                        "writing did not finish within {}s",
                        opts.timeout.as_secs_f64()
                    );
                    session.handle_write_failure(&why, true);
                    continue;
                }
            }
            // The reply deadline starts once the command is on the wire.
            deadline = Instant::now() + opts.timeout;
        }
        if session.awaiting_tls() {
            if tls_config.is_none() {
                // STARTTLS typed by hand on a plain connection.
                match make_tls() {
                    Ok(c) => tls_config = Some(c),
                    Err(e) => {
                        session.handle_tls_failed(e.to_string());
                        continue;
                    }
                }
            }
            let Some((config, source, name)) = &tls_config else {
                continue;
            };
            let Conn::Plain(tcp) = conn else {
                session.handle_tls_failed("STARTTLS inside TLS".into());
                break;
            };
            match handshake(tcp, config, source, name, opts.timeout).await {
                Ok((tls, details)) => {
                    conn = Conn::Tls(Box::new(tls));
                    session.handle_tls_established(details);
                    deadline = Instant::now() + opts.timeout;
                }
                Err(message) => {
                    session.handle_tls_failed(message);
                    drain(&mut session, &mut clock, sink);
                    return session;
                }
            }
            continue;
        }
        if session.is_closed() {
            conn.shutdown().await;
            break;
        }
        if sink.backlog() > MAX_BACKLOG {
            // The owner is behind: wait for it, and do not count the wait
            // against the server's time limit.
            let paused = Instant::now();
            while sink.backlog() > MAX_BACKLOG / 2 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            deadline += paused.elapsed();
        }
        let awaiting = session.awaiting_reply();
        if !awaiting && control.is_none() {
            // Nothing to wait for and nothing to send: a plan that ended
            // without closing. Close rather than wait forever.
            session.close();
            continue;
        }
        let read = async {
            if awaiting {
                timeout_at(deadline, conn.read(&mut buf)).await
            } else {
                Ok(conn.read(&mut buf).await)
            }
        };
        let result = match control.as_deref_mut() {
            Some(rx) => tokio::select! {
                r = read => Some(r),
                c = rx.recv() => {
                    apply(&mut session, c);
                    None
                }
            },
            None => Some(read.await),
        };
        let Some(result) = result else {
            continue;
        };
        match result {
            Ok(Ok(0)) => session.handle_eof(),
            Ok(Ok(n)) => {
                session.handle_input(&buf[..n]);
                if session.replies_received() != replies_seen {
                    replies_seen = session.replies_received();
                    deadline = Instant::now() + opts.timeout;
                }
            }
            Ok(Err(e)) => {
                emit(&mut clock, Event::Info(format!("read failed: {e}")), sink);
                session.handle_eof();
            }
            Err(_) => session.handle_timeout(),
        }
    }
    drain(&mut session, &mut clock, sink);
    session
}

fn drain<O: Observer + ?Sized>(session: &mut ClientSession, clock: &mut Clock, sink: &mut O) {
    let mut any = false;
    while let Some(e) = session.poll_event() {
        sink.event(clock.stamp(e));
        any = true;
    }
    if any {
        sink.status(session);
    }
}

/// Carries out one request of the owner; a closed channel hangs up.
fn apply(session: &mut ClientSession, control: Option<Control>) {
    match control {
        Some(Control::Send(c)) => session.send(&c),
        Some(Control::Raw(line)) => {
            if let Err(e) = session.send_raw(&line) {
                session.report_error(e.to_string());
            }
        }
        Some(Control::Content(bytes)) => {
            session.send_content(&bytes);
        }
        Some(Control::Auth(m, c)) => session.start_auth(m, c),
        Some(Control::Quit) => session.quit(),
        Some(Control::Close) | None => session.hang_up(),
    }
}

async fn connect(
    target: &Target,
    limit: Duration,
    emit: &mut (impl FnMut(Event) + ?Sized),
) -> Result<TcpStream, String> {
    let addrs: Vec<SocketAddr> = match timeout(
        limit,
        tokio::net::lookup_host((target.host.as_str(), target.port)),
    )
    .await
    {
        Ok(Ok(a)) => a.collect(),
        Ok(Err(e)) => {
            let m = format!("cannot resolve {}: {e}", target.host);
            emit(Event::Error(m.clone()));
            return Err(m);
        }
        Err(_) => {
            let m = format!(
                "resolving {} took longer than {}s",
                target.host,
                limit.as_secs_f64()
            );
            emit(Event::Error(m.clone()));
            return Err(m);
        }
    };
    let mut last = format!("{} resolved to no address", target.host);
    for addr in addrs {
        emit(Event::Info(format!("connecting to {addr}")));
        match timeout(limit, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => {
                let _ = s.set_nodelay(true);
                let local = s
                    .local_addr()
                    .map(|a| a.to_string())
                    .unwrap_or_else(|_| "?".into());
                emit(Event::Info(format!("connected to {addr} from {local}")));
                return Ok(s);
            }
            Ok(Err(e)) => {
                last = match e.kind() {
                    io::ErrorKind::ConnectionRefused => format!(
                        "connection to {addr} refused: nothing listens on that port, or a \
                         firewall rejects it"
                    ),
                    _ => format!("cannot connect to {addr}: {e}"),
                };
                emit(Event::Error(last.clone()));
            }
            Err(_) => {
                last = format!(
                    "no answer from {addr} within {}s (a firewall may drop the packets)",
                    limit.as_secs_f64()
                );
                emit(Event::Error(last.clone()));
            }
        }
    }
    Err(last)
}

async fn handshake(
    tcp: TcpStream,
    config: &std::sync::Arc<rustls::ClientConfig>,
    source: &str,
    name: &rustls::pki_types::ServerName<'static>,
    limit: Duration,
) -> Result<(TlsStream<TcpStream>, Vec<String>), String> {
    let connector = TlsConnector::from(config.clone());
    let name_text = name.to_str().to_string();
    match timeout(limit, connector.connect(name.clone(), tcp)).await {
        Ok(Ok(tls)) => {
            let details = tls::describe(tls.get_ref().1, source, &name_text);
            Ok((tls, details))
        }
        Ok(Err(e)) => Err(tls::explain_handshake_error(&e, &name_text)),
        Err(_) => Err(format!(
            "the TLS handshake did not finish within {}s",
            limit.as_secs_f64()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::client::Outcome;

    #[test]
    fn targets() {
        let t = |s: &str| Target::parse(s, 25).map(|t| (t.host, t.port));
        assert_eq!(t("mx.example"), Ok(("mx.example".into(), 25)));
        assert_eq!(t("mx.example:2525"), Ok(("mx.example".into(), 2525)));
        assert_eq!(t("127.0.0.1:587"), Ok(("127.0.0.1".into(), 587)));
        assert_eq!(t("[::1]:2525"), Ok(("::1".into(), 2525)));
        assert_eq!(t("[::1]"), Ok(("::1".into(), 25)));
        assert_eq!(t("::1"), Ok(("::1".into(), 25)));
        assert!(matches!(t("mx:0"), Err(TargetError::BadPort(_))));
        assert!(matches!(t("mx:smtp"), Err(TargetError::BadPort(_))));
        assert!(matches!(t("fe80::1:x"), Err(TargetError::AmbiguousIpv6(_))));
        assert_eq!(t(""), Err(TargetError::Empty));
        assert_eq!(Target::parse("::1", 25).unwrap().to_string(), "[::1]:25");
    }

    /// An owner that is behind (its backlog over the limit) stops the
    /// reading: what a server sends meanwhile waits in the socket buffers,
    /// not in memory. Once the owner catches up, reading goes on.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_backlog_pauses_the_reading() {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        use std::sync::Arc;
        use tokio::io::AsyncWriteExt;

        struct Slow {
            got: Arc<AtomicUsize>,
            caught_up: Arc<AtomicBool>,
        }
        impl Observer for Slow {
            fn event(&mut self, _: Timed) {
                self.got.fetch_add(1, Ordering::Relaxed);
            }
            fn backlog(&self) -> usize {
                if self.caught_up.load(Ordering::Relaxed) {
                    0
                } else {
                    MAX_BACKLOG + 1
                }
            }
        }

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut c, _) = listener.accept().await.unwrap();
            c.write_all(b"220 flood.example ESMTP\r\n").await.unwrap();
            // Replies nobody asked for, until the client hangs up.
            tokio::time::sleep(Duration::from_millis(200)).await;
            let flood = b"250 ok\r\n".repeat(4096);
            while c.write_all(&flood).await.is_ok() {}
        });
        let got = Arc::new(AtomicUsize::new(0));
        let caught_up = Arc::new(AtomicBool::new(false));
        let mut owner = Slow {
            got: got.clone(),
            caught_up: caught_up.clone(),
        };
        let (_ctl_tx, mut ctl_rx) = tokio::sync::mpsc::unbounded_channel();
        let opts = ConnectOptions {
            target: Target {
                host: addr.ip().to_string(),
                port: addr.port(),
            },
            tls_mode: TlsMode::None,
            tls: TlsOptions::default(),
            timeout: Duration::from_secs(30),
        };
        let session = tokio::spawn(async move {
            run_with(
                ClientSession::new(crate::proto::reply::ReplyLimits::default()),
                &opts,
                &mut owner,
                Some(&mut ctl_rx),
            )
            .await
        });
        // Long enough for an unpaused reader to take in the whole flood.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let held = got.load(Ordering::Relaxed);
        // The connection at most, and nothing of the flood.
        assert!(
            held < 10,
            "kept reading while the owner was behind: {held} events"
        );
        caught_up.store(true, Ordering::Relaxed);
        // Reading goes on, through the flood to its end: the session
        // closes it after 1000 replies that answer nothing.
        let session = tokio::time::timeout(Duration::from_secs(20), session)
            .await
            .expect("the session never ended")
            .unwrap();
        assert!(got.load(Ordering::Relaxed) > 1000);
        assert!(matches!(session.outcome(), Some(Outcome::Protocol(m)) if m.contains("it floods")));
        let _ = server.await;
    }
}
