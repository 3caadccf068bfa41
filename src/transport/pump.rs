//! The loop that runs a session over a connection: it connects, upgrades
//! to TLS when asked, writes what the session queues, reads what the server
//! sends, and tells the session the time. Every deadline is the session's
//! own ([`ClientSession::poll_timeout`]); connecting, the handshake and a
//! stalled write have their own time limits around the I/O.

use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::{timeout, timeout_at};

use super::clock::Clock;
use super::connect::{connect, handshake, Failure};
use super::dns::fcrdns::Reverse;
use super::{link, tls, ConnectOptions, Control, Observer, Stream, TlsMode, MAX_BACKLOG};
use crate::proto::client::{ClientSession, Event};
use crate::proto::reply::{Reply, ReplyCode};

/// What a TLS handshake needs: the configuration, where its trust comes
/// from (for the transcript), the names to verify and to send.
type TlsSetup = tls::Setup;

/// The TLS setup for a server reached by the name `host` (with `--mx`, the
/// MX host's name is the one its certificate carries).
fn tls_setup(opts: &ConnectOptions, host: &str) -> Result<TlsSetup, String> {
    let setup = tls::setup(&opts.tls, host).map_err(|e| e.to_string())?;
    Ok(setup.with_dane(
        opts.tls.dane,
        opts.target.port,
        opts.dns.server,
        opts.timeout,
    ))
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
// Long: one loop in the order each turn must go (write, upgrade, close,
// wait for the owner, read); each step is a call.
pub async fn run_with<O: Observer + ?Sized>(
    mut session: ClientSession,
    opts: &ConnectOptions,
    sink: &mut O,
    mut control: Option<&mut UnboundedReceiver<Control>>,
) -> ClientSession {
    let mut clock = Clock::new();
    session.set_reply_timeout(opts.timeout);
    let mut tls = None;
    if opts.tls_mode != TlsMode::None {
        match tls_setup(opts, &opts.target.host) {
            Ok(t) => tls = Some(t),
            Err(e) => {
                sink.event(clock.stamp(Event::Error(e.clone())));
                session.handle_tls_failed(e);
                drain(&mut session, &mut clock, sink, &mut None);
                return session;
            }
        }
    }
    let mut reverse = None;
    let opened = open(&mut session, opts, &mut tls, &mut reverse, &mut clock, sink).await;
    report_chain(&tls, sink);
    let Some(mut stream) = opened else {
        drain(&mut session, &mut clock, sink, &mut reverse);
        return session;
    };
    session.handle_connected(Instant::now());
    if let Ok(local) = stream.local_addr() {
        sink.connected(local);
    }
    // Connected: the owner learns the stage before the greeting comes (a
    // server may keep it waiting).
    sink.status(&session);
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        drain(&mut session, &mut clock, sink, &mut reverse);
        if let Some(bytes) = session.poll_transmit() {
            write(&mut session, &mut stream, &bytes, opts.timeout).await;
        }
        if session.awaiting_tls() {
            let upgraded = starttls(stream, &mut session, &mut tls, opts).await;
            report_chain(&tls, sink);
            match upgraded {
                Some(s) => stream = s,
                None => break,
            }
            continue;
        }
        if session.is_closed() {
            stream.shutdown().await;
            break;
        }
        if sink.backlog() > MAX_BACKLOG {
            wait_for_owner(&mut session, sink).await;
        }
        if !session.awaiting_reply() && control.is_none() {
            // Nothing to wait for and nothing to send: a plan that ended
            // without closing. Close rather than wait forever.
            session.close();
            continue;
        }
        let due = session.poll_timeout();
        let read = async {
            match due {
                Some(due) => timeout_at(due.into(), stream.read(&mut buf)).await,
                None => Ok(stream.read(&mut buf).await),
            }
        };
        let result = match control.as_deref_mut() {
            Some(rx) => tokio::select! {
                r = read => r,
                c = rx.recv() => {
                    apply(&mut session, c);
                    continue;
                }
            },
            None => read.await,
        };
        let now = Instant::now();
        match result {
            Ok(Ok(0)) => session.handle_eof(),
            Ok(Ok(n)) => session.handle_input(now, &buf[..n]),
            Ok(Err(e)) => {
                sink.event(clock.stamp(Event::Info(format!("read failed: {e}"))));
                session.handle_eof();
            }
            Err(_) => session.handle_timeout(now),
        }
    }
    drain(&mut session, &mut clock, sink, &mut reverse);
    if let Some(r) = reverse.as_mut() {
        for e in r.finish().await {
            sink.event(clock.stamp(e));
        }
    }
    session
}

/// Gives the owner the chain of the handshake just made, if one was.
fn report_chain<O: Observer + ?Sized>(tls: &Option<TlsSetup>, sink: &mut O) {
    if let Some(pem) = tls.as_ref().and_then(tls::Setup::take_last_pem) {
        sink.chain(pem);
    }
}

/// Connects, and for implicit TLS runs the handshake; None when that
/// failed (the session was told). When lookups are shown, FCrDNS of the
/// server's address starts beside the session (`reverse`).
async fn open<O: Observer + ?Sized>(
    session: &mut ClientSession,
    opts: &ConnectOptions,
    tls: &mut Option<TlsSetup>,
    reverse: &mut Option<Reverse>,
    clock: &mut Clock,
    sink: &mut O,
) -> Option<Stream> {
    if let Some(path) = &opts.link.unix {
        return match link::connect_unix(path, opts.timeout, &mut |e| sink.event(clock.stamp(e)))
            .await
        {
            Ok(s) => Some(Stream::Unix(s)),
            Err(m) => {
                session.handle_connect_failed(m);
                None
            }
        };
    }
    let connected = match connect(opts, &mut |e| sink.event(clock.stamp(e))).await {
        Ok(c) => c,
        Err(Failure::Unreachable(message)) => {
            session.handle_connect_failed(message);
            return None;
        }
        Err(Failure::NullMx(message)) => {
            // What an MTA reports for a null MX (RFC 7505, section 4.1).
            match ReplyCode::new(556) {
                Some(code) => session
                    .handle_refused_unconnected(Reply::new(code, &format!("5.1.10 {message}"))),
                None => session.handle_connect_failed(message),
            }
            return None;
        }
    };
    let mut tcp = connected.tcp;
    if let Some(proxy) = opts.link.proxy {
        if let Err(m) = link::send_proxy_header(&mut tcp, proxy, session, opts.timeout).await {
            sink.event(clock.stamp(Event::Error(m.clone())));
            session.handle_connect_failed(m);
            return None;
        }
    }
    if let (Some(dns), Ok(peer)) = (connected.dns, tcp.peer_addr()) {
        *reverse = Some(Reverse::start(dns, peer.ip()));
    }
    if let Some(domain) = &opts.tls.mta_sts {
        let mx = opts.tls.tls_name.as_deref().unwrap_or(&connected.host);
        let check = super::mta_sts::Check {
            domain,
            mx,
            tls: opts.tls_mode != TlsMode::None,
            dns: opts.dns.server,
            ca_file: opts.tls.ca_file.clone(),
            limit: opts.timeout,
        };
        for line in super::mta_sts::check(&check).await {
            sink.event(clock.stamp(Event::Info(line)));
        }
    }
    if opts.dns.mx && tls.is_some() {
        match tls_setup(opts, &connected.host) {
            Ok(t) => *tls = Some(t),
            Err(e) => {
                session.handle_tls_failed(e);
                return None;
            }
        }
    }
    let (Some(setup), TlsMode::Implicit) = (tls.as_ref(), opts.tls_mode) else {
        return Some(Stream::Plain(tcp));
    };
    match handshake(tcp, setup, opts.timeout).await {
        Ok((tls, details)) => {
            for d in details {
                sink.event(clock.stamp(Event::Info(d)));
            }
            session.set_implicit_tls();
            Some(Stream::Tls(Box::new(tls.into())))
        }
        Err(rejected) => {
            for d in rejected.details {
                sink.event(clock.stamp(Event::Info(d)));
            }
            session.handle_tls_failed(rejected.message);
            None
        }
    }
}

/// STARTTLS was answered 220: the handshake over the plain stream. None
/// when it failed (the session was told); the connection is then unusable.
async fn starttls(
    stream: Stream,
    session: &mut ClientSession,
    tls: &mut Option<TlsSetup>,
    opts: &ConnectOptions,
) -> Option<Stream> {
    let tcp = match stream {
        Stream::Plain(tcp) => tcp,
        Stream::Unix(_) => {
            session.handle_tls_failed("TLS over a UNIX socket is not supported".into());
            return None;
        }
        Stream::Tls(_) => {
            session.handle_tls_failed("STARTTLS inside TLS".into());
            return None;
        }
    };
    if tls.is_none() {
        // STARTTLS typed by hand on a plain connection.
        match tls_setup(opts, &opts.target.host) {
            Ok(t) => *tls = Some(t),
            Err(e) => {
                session.handle_tls_failed(e);
                return None;
            }
        }
    }
    let setup = tls.as_ref()?;
    match handshake(tcp, setup, opts.timeout).await {
        Ok((tls, details)) => {
            session.handle_tls_established(Instant::now(), details);
            Some(Stream::Tls(Box::new(tls.into())))
        }
        Err(rejected) => {
            for d in rejected.details {
                session.report_info(d);
            }
            session.handle_tls_failed(rejected.message);
            None
        }
    }
}

/// Writes what the session queued. A server that stops reading must not
/// block the write forever.
async fn write(session: &mut ClientSession, stream: &mut Stream, bytes: &[u8], limit: Duration) {
    match timeout(limit, stream.write_all(bytes)).await {
        Ok(Ok(())) => session.handle_written(Instant::now()),
        Ok(Err(e)) => session.handle_write_failure(&format!("write failed: {e}"), false),
        Err(_) => {
            let why = format!("writing did not finish within {}s", limit.as_secs_f64());
            session.handle_write_failure(&why, true);
        }
    }
}

/// The owner is behind: stop reading until it catches up; the session does
/// not count the wait against the server.
async fn wait_for_owner<O: Observer + ?Sized>(session: &mut ClientSession, sink: &mut O) {
    session.handle_pause(Instant::now());
    while sink.backlog() > MAX_BACKLOG / 2 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    session.handle_resume(Instant::now());
}

fn drain<O: Observer + ?Sized>(
    session: &mut ClientSession,
    clock: &mut Clock,
    sink: &mut O,
    reverse: &mut Option<Reverse>,
) {
    let mut any = false;
    if let Some(r) = reverse.as_mut() {
        for note in r.poll() {
            sink.event(clock.stamp(note));
        }
    }
    while let Some(e) = session.poll_event() {
        let notes = reverse.as_mut().map(|r| r.observe(&e)).unwrap_or_default();
        sink.event(clock.stamp(e));
        for note in notes {
            sink.event(clock.stamp(note));
        }
        any = true;
    }
    while let Some(e) = session.poll_run_event() {
        sink.run(e);
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
        Some(Control::Auth(m, c)) => session.start_auth(m, c),
        Some(Control::Run(goal, t)) => session.run_to(goal, t),
        Some(Control::Close) | None => session.hang_up(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::client::Outcome;
    use crate::transport::{Target, Timed, TlsOptions};

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
            dns: Default::default(),
            link: Default::default(),
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
