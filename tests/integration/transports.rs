//! The transports against scripted servers on loopback: LMTP (and one that
//! answers fewer replies than recipients), UNIX sockets, PROXY headers (and
//! a server that refuses them), XCLIENT, `--local-addr`, `--drop-after`.
//! Their real peers (Dovecot's LMTP, Postfix's PROXY and XCLIENT ports) are
//! at the end, ignored unless asked for.

use std::io::{BufReader, Read};
use std::net::SocketAddr;
use std::process::Output;
use std::time::{Duration, Instant};

use predicates::prelude::*;

use crate::peers::{token, wait_for_mail};
use crate::support::{
    bin, envelope_args, envelope_args_timeout, has_raw_control, peer_var, serve, Conn,
    PEER_ENVELOPE,
};

/// An LMTP server up to the 354, for `rcpts` recipients all accepted.
fn lmtp_up_to_354(c: &mut Conn, rcpts: usize) -> Vec<String> {
    c.send(b"220 lmtp.example LMTP ready\r\n");
    let mut got = vec![c.line().unwrap_or_default()];
    c.send(b"250-lmtp.example\r\n250 ENHANCEDSTATUSCODES\r\n");
    for reply in std::iter::once("250 2.1.0 ok\r\n")
        .chain(std::iter::repeat_n("250 2.1.5 ok\r\n", rcpts))
        .chain(["354 go\r\n"])
    {
        got.push(c.line().unwrap_or_default());
        c.send(reply.as_bytes());
    }
    got.extend(c.read_data());
    got
}

fn lmtp_args(addr: std::net::SocketAddr, timeout: &str) -> Vec<String> {
    let mut args = envelope_args_timeout(addr, timeout);
    args.extend(
        [
            "--rcpt",
            "second@fake.example",
            "--protocol",
            "lmtp",
            "--no-pipelining",
        ]
        .map(String::from),
    );
    args
}

#[test]
fn lmtp_shows_a_reply_per_recipient_and_exits_by_the_worst() {
    let (tx, rx) = std::sync::mpsc::channel();
    let (addr, server) = serve(move |mut c| {
        let got = lmtp_up_to_354(&mut c, 2);
        c.send(b"250 2.0.0 <rcpt@fake.example> saved\r\n552 5.2.2 <second@fake.example> quota exceeded\r\n");
        tx.send((got, c.line())).unwrap();
        c.send(b"221 bye\r\n");
    });
    bin()
        .args(lmtp_args(addr, "5"))
        .assert()
        .code(5)
        .stdout(predicate::str::contains("-> LHLO client.example.test"))
        .stdout(predicate::str::contains(
            "lmtp: <rcpt@fake.example> delivered: 250 2.0.0",
        ))
        .stdout(predicate::str::contains(
            "lmtp: <second@fake.example> not delivered, a permanent failure",
        ))
        .stdout(predicate::str::contains(
            "lmtp: delivered to 1 of 2 recipient(s)",
        ))
        .stdout(predicate::str::contains("(exit status 5)"));
    server.join().unwrap();
    let (got, after) = rx.recv().unwrap();
    assert_eq!(got[0], "LHLO client.example.test");
    assert_eq!(after.as_deref(), Some("QUIT"));
}

/// Hostile: the LMTP server answers one of two recipients and then says
/// nothing. It must end within the limit, naming the one never answered.
#[test]
fn an_lmtp_server_with_fewer_replies_than_recipients_ends_at_the_limit() {
    let (addr, server) = serve(|mut c| {
        lmtp_up_to_354(&mut c, 2);
        c.send(b"250 2.0.0 <rcpt@fake.example> saved\r\n");
        c.drain();
    });
    let started = Instant::now();
    let out = bin().args(lmtp_args(addr, "2")).output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "{:?}",
        started.elapsed()
    );
    server.join().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(
        text.contains("lmtp: <rcpt@fake.example> delivered"),
        "{text}"
    );
    assert!(
        text.contains(
            "the LMTP server answered 1 of 2 accepted recipient(s), and never <second@fake.example>"
        ),
        "{text}"
    );
    assert!(text.contains("delivery status unknown"), "{text}");
}

/// `serve --protocol lmtp`: LHLO, and a `--bounce` recipient refused after
/// the content, as a full mailbox is; only the other one is stored.
#[test]
fn serve_speaks_lmtp_and_refuses_a_full_mailbox_after_the_content() {
    let mut serve =
        crate::serve::Serve::start(&["--protocol", "lmtp", "--bounce", "bob@example.test"]);
    let server = serve.addr.to_string();
    bin()
        .args([
            "send",
            "--server",
            &server,
            "--protocol",
            "lmtp",
            "--ehlo",
            "client.example",
            "--mail-from",
            "me@client.example",
            "--rcpt",
            "alice@example.test",
            "--rcpt",
            "bob@example.test",
            "--timeout",
            "5",
        ])
        .assert()
        .code(5)
        .stdout(predicate::str::contains("-> LHLO client.example"))
        .stdout(predicate::str::contains(
            "lmtp: <alice@example.test> delivered: 250 2.0.0",
        ))
        .stdout(predicate::str::contains(
            "lmtp: <bob@example.test> not delivered, a permanent failure for this recipient \
             only (the others' replies stand): 552 5.2.2",
        ));
    let stored = serve.wait_for("envelope:", Duration::from_secs(10));
    assert!(
        stored.contains("RCPT TO:<alice@example.test>") && !stored.contains("bob"),
        "{stored}"
    );
    // EHLO to an LMTP server is refused: it takes only LHLO.
    bin()
        .args([
            "send",
            "--server",
            &server,
            "--mail-from",
            "a@b.test",
            "--rcpt",
            "alice@example.test",
        ])
        .assert()
        .stdout(predicate::str::contains("say LHLO"));
    serve.stop();
    // Without --server, send's own built-in server speaks LMTP when asked.
    bin()
        .args(["send", "--protocol", "lmtp"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "lmtp: delivered to 1 of 1 recipient(s)",
        ));
}

/// A UNIX socket in a directory of its own, served by `script`.
fn serve_unix(
    script: impl FnOnce(Conn) + Send + 'static,
) -> (
    tempfile::TempDir,
    std::path::PathBuf,
    std::thread::JoinHandle<()>,
) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lmtp.sock");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let handle = std::thread::spawn(move || {
        if let Ok((stream, _)) = listener.accept() {
            stream
                .set_read_timeout(Some(Duration::from_secs(30)))
                .unwrap();
            let tcp = unix_as_conn(stream);
            script(tcp);
        }
    });
    (dir, path, handle)
}

/// `Conn` speaks over TCP; a UNIX stream is relayed to it through a
/// loopback pair so the same helpers serve both.
fn unix_as_conn(unix: std::os::unix::net::UnixStream) -> Conn {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let near = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (far, _) = listener.accept().unwrap();
    let (mut u_in, mut u_out) = (unix.try_clone().unwrap(), unix);
    let (mut f_in, mut f_out) = (far.try_clone().unwrap(), far);
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut u_in, &mut f_out);
        let _ = f_out.shutdown(std::net::Shutdown::Write);
    });
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut f_in, &mut u_out);
        let _ = u_out.shutdown(std::net::Shutdown::Write);
    });
    near.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    Conn {
        reader: BufReader::new(near.try_clone().unwrap()),
        stream: near,
    }
}

#[test]
fn lmtp_over_a_unix_socket_says_what_it_connected_to() {
    let (_dir, path, server) = serve_unix(|mut c| {
        lmtp_up_to_354(&mut c, 1);
        c.send(b"250 2.0.0 saved\r\n");
        let _ = c.line();
        c.send(b"221 bye\r\n");
    });
    let server_arg = format!("unix:{}", path.display());
    bin()
        .args([
            "send",
            "--server",
            &server_arg,
            "--protocol",
            "lmtp",
            "--ehlo",
            "client.example.test",
            "--mail-from",
            "a@client.example.test",
            "--rcpt",
            "rcpt@fake.example",
            "--timeout",
            "5",
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(format!(
            "connected to the UNIX socket {}",
            path.display()
        )))
        .stdout(predicate::str::contains(
            "lmtp: delivered to 1 of 1 recipient(s)",
        ));
    server.join().unwrap();
}

#[test]
fn a_missing_unix_socket_is_a_clear_connection_failure() {
    let dir = tempfile::tempdir().unwrap();
    let server_arg = format!("unix:{}", dir.path().join("nothing").display());
    bin()
        .args([
            "send",
            "--server",
            &server_arg,
            "--mail-from",
            "a@b.test",
            "--rcpt",
            "c@d.test",
        ])
        .assert()
        .code(3)
        .stdout(predicate::str::contains("no UNIX socket at"));
    bin()
        .args(["send", "--server", &server_arg, "--tls", "starttls"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "a UNIX socket (unix:PATH) is plain",
        ));
}

/// `send --proxy VERSION --quit-after ehlo` to a server that reads the
/// header with `read_header`, then greets and answers EHLO and QUIT: what
/// it read, where it listened, and the run.
fn send_with_proxy<T: Send + 'static>(
    version: &str,
    read_header: impl FnOnce(&mut Conn) -> T + Send + 'static,
) -> (T, SocketAddr, Output) {
    let (tx, rx) = std::sync::mpsc::channel();
    let (addr, server) = serve(move |mut c| {
        tx.send(read_header(&mut c)).unwrap();
        c.greet_and_ehlo(&[]);
        let _ = c.line();
        c.send(b"221 bye\r\n");
    });
    let mut args = envelope_args(addr);
    args.extend(
        [
            "--proxy",
            version,
            "--proxy-source",
            "192.0.2.7:4321",
            "--quit-after",
            "ehlo",
        ]
        .map(String::from),
    );
    let out = bin().args(&args).output().unwrap();
    server.join().unwrap();
    (rx.recv().unwrap(), addr, out)
}

#[test]
fn a_proxy_v1_header_goes_before_anything_else() {
    let ((header, port), _, out) = send_with_proxy("v1", |c| {
        let header = c.line();
        (header, c.stream.local_addr().unwrap().port())
    });
    let line = format!("PROXY TCP4 192.0.2.7 127.0.0.1 4321 {port}");
    assert_eq!(header.as_deref(), Some(line.as_str()));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains(&format!("-> {line}")), "{text}");
}

#[test]
fn a_proxy_v2_header_is_shown_decoded() {
    let (header, addr, out) = send_with_proxy("v2", |c| {
        let mut header = [0u8; 28];
        c.reader.read_exact(&mut header).unwrap();
        header
    });
    assert_eq!(&header[..16], b"\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c");
    assert_eq!(&header[16..20], &[192, 0, 2, 7]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("-> [PROXY v2 header, 28 bytes] 0d0a 0d0a 000d 0a51"),
        "{text}"
    );
    assert!(
        text.contains("version 2, command PROXY, family AF_INET (IPv4), transport STREAM (TCP)")
            && text.contains(&format!(
                "proxy: source 192.0.2.7:4321 (the client it speaks for), destination {addr}"
            )),
        "{text}"
    );
    assert!(!has_raw_control(&out.stdout));
}

/// Hostile: servers that refuse the PROXY header, by hanging up or by
/// answering garbage. Each ends at once, says why, and prints nothing raw.
#[test]
fn a_server_that_refuses_the_proxy_header_gives_a_clear_error() {
    let hang_up = |mut c: Conn| {
        let _ = c.line();
    };
    let garbage = |mut c: Conn| {
        let _ = c.line();
        c.send(b"\x1b[2J-ERR proxy header refused\r\n");
        c.drain();
    };
    let scripts: [Box<dyn FnOnce(Conn) + Send>; 2] = [Box::new(hang_up), Box::new(garbage)];
    for script in scripts {
        let (addr, server) = serve(script);
        let mut args = envelope_args(addr);
        args.extend(["--proxy", "v1", "--proxy-source", "192.0.2.7:4321"].map(String::from));
        let started = Instant::now();
        let out = bin().args(&args).output().unwrap();
        assert!(started.elapsed() < Duration::from_secs(10));
        server.join().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(3), "{text}");
        assert!(text.contains("right after the PROXY header"), "{text}");
        assert!(!has_raw_control(&out.stdout), "{text:?}");
    }
}

/// A server that does not expect PROXY protocol greets, reads the header
/// as a command and answers 500 at once: the error says the header may be
/// why.
#[test]
fn a_500_to_the_proxy_header_says_the_header_may_be_why() {
    let (addr, server) = serve(|mut c: Conn| {
        // Read first, so that the greeting and the 500 arrive together,
        // before EHLO is sent, as from a server on the same machine.
        let _ = c.line();
        c.send(b"220 mx.example.test ESMTP\r\n500 5.5.2 Error: command not recognized\r\n");
        c.drain();
    });
    let mut args = envelope_args(addr);
    args.extend(["--proxy", "v1", "--proxy-source", "192.0.2.77:40000"].map(String::from));
    let out = bin().args(&args).output().unwrap();
    server.join().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_ne!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("out of step"), "{text}");
    assert!(text.contains("the PROXY header may be why"), "{text}");
}

#[test]
fn xclient_is_sent_after_ehlo_and_ehlo_again() {
    let (tx, rx) = std::sync::mpsc::channel();
    let (addr, server) = serve(move |mut c| {
        c.greet_and_ehlo(&["XCLIENT NAME ADDR HELO"]);
        let xclient = c.line();
        c.send(b"220 fake.example ESMTP\r\n");
        let ehlo = c.line();
        c.send(b"250 fake.example\r\n");
        let quit = c.line();
        c.send(b"221 bye\r\n");
        tx.send((xclient, ehlo, quit)).unwrap();
    });
    let mut args = envelope_args(addr);
    args.extend(
        [
            "--xclient",
            "NAME=relay.example ADDR=192.0.2.7 HELO=relay+1.example",
            "--quit-after",
            "ehlo",
        ]
        .map(String::from),
    );
    bin()
        .args(&args)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("XCLIENT accepted"));
    server.join().unwrap();
    let (xclient, ehlo, quit) = rx.recv().unwrap();
    assert_eq!(
        xclient.as_deref(),
        Some("XCLIENT NAME=relay.example ADDR=192.0.2.7 HELO=relay+2B1.example")
    );
    assert_eq!(ehlo.as_deref(), Some("EHLO client.example.test"));
    assert_eq!(quit.as_deref(), Some("QUIT"));
}

#[test]
fn xclient_not_offered_stops_with_exit_3() {
    let (addr, server) = serve(|mut c| {
        c.greet_and_ehlo(&["PIPELINING"]);
        let _ = c.line();
        c.send(b"221 bye\r\n");
    });
    let mut args = envelope_args(addr);
    args.extend(["--xclient", "ADDR=192.0.2.7"].map(String::from));
    bin()
        .args(&args)
        .assert()
        .code(3)
        .stdout(predicate::str::contains(
            "the server does not offer XCLIENT",
        ));
    server.join().unwrap();
}

#[test]
fn local_addr_is_the_peer_address_the_server_sees() {
    let (tx, rx) = std::sync::mpsc::channel();
    let (addr, server) = serve(move |mut c| {
        tx.send(c.stream.peer_addr().unwrap().ip()).unwrap();
        c.send(b"220 fake\r\n");
        let _ = c.line();
        c.send(b"221 bye\r\n");
    });
    let mut args = envelope_args(addr);
    args.extend(["--local-addr", "127.0.0.2", "--quit-after", "greeting"].map(String::from));
    bin()
        .args(&args)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("from 127.0.0.2 (--local-addr)"))
        .stdout(predicate::str::contains("from 127.0.0.2:"));
    server.join().unwrap();
    assert_eq!(rx.recv().unwrap().to_string(), "127.0.0.2");
    // An address that is not this machine's: a clear connection failure.
    let mut args = envelope_args(addr);
    args.extend(["--local-addr", "192.0.2.1"].map(String::from));
    bin()
        .args(&args)
        .assert()
        .code(3)
        .stdout(predicate::str::contains(
            "cannot bind to --local-addr 192.0.2.1",
        ));
    // -6 with an IPv4 local address is a usage error.
    let mut args = envelope_args(addr);
    args.extend(["--local-addr", "127.0.0.2", "-6"].map(String::from));
    bin().args(&args).assert().code(2);
}

#[test]
fn drop_after_rcpt_hangs_up_without_quit() {
    let (tx, rx) = std::sync::mpsc::channel();
    let (addr, server) = serve(move |mut c| {
        c.greet_and_ehlo(&[]);
        let mut got = Vec::new();
        for reply in ["250 2.1.0 ok\r\n", "250 2.1.5 ok\r\n"] {
            got.push(c.line());
            c.send(reply.as_bytes());
        }
        // What comes next: nothing, the end of the connection.
        got.push(c.line());
        tx.send(got).unwrap();
    });
    let mut args = envelope_args(addr);
    args.extend(["--drop-after", "rcpt"].map(String::from));
    bin()
        .args(&args)
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "hanging up without QUIT after RCPT TO",
        ));
    server.join().unwrap();
    let got = rx.recv().unwrap();
    assert!(
        got[1].as_deref().is_some_and(|l| l.starts_with("RCPT TO:")),
        "{got:?}"
    );
    assert_eq!(got[2], None, "expected a hang-up, got {got:?}");
    // --quit-after and --drop-after together are a usage error.
    let mut args = envelope_args(addr);
    args.extend(["--drop-after", "rcpt", "--quit-after", "mail"].map(String::from));
    bin().args(&args).assert().code(2);
}

#[test]
fn drop_after_content_hangs_up_in_the_middle_of_the_message() {
    let (tx, rx) = std::sync::mpsc::channel();
    let (addr, server) = serve(move |mut c| {
        c.greet_and_ehlo(&[]);
        for reply in ["250 ok\r\n", "250 ok\r\n", "354 go\r\n"] {
            let _ = c.line();
            c.send(reply.as_bytes());
        }
        let mut rest = Vec::new();
        let _ = c.reader.read_to_end(&mut rest);
        tx.send(String::from_utf8_lossy(&rest).into_owned())
            .unwrap();
    });
    let mut args = envelope_args(addr);
    args.extend(
        [
            "--drop-after",
            "content",
            "--body",
            "one\ntwo\nthree\nfour\nfive\nsix",
        ]
        .map(String::from),
    );
    bin()
        .args(&args)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("in the middle of the content"));
    server.join().unwrap();
    let rest = rx.recv().unwrap();
    assert!(
        !rest.contains("\r\n.\r\n") && !rest.contains("QUIT"),
        "{rest:?}"
    );
    assert!(
        rest.starts_with("From:") || rest.contains("Subject"),
        "{rest:?}"
    );
}

/// `-4` and `-6`, from the DNS issue, choose the family of a plain
/// connection's name too.
#[test]
fn minus_4_chooses_the_family_of_a_plain_connection() {
    let (addr, server) = serve(|mut c| {
        c.send(b"220 fake\r\n");
        let _ = c.line();
        c.send(b"221 bye\r\n");
    });
    let mut args = envelope_args(addr);
    args[2] = format!("localhost:{}", addr.port());
    args.extend(["-4", "--quit-after", "greeting"].map(String::from));
    bin()
        .args(&args)
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "localhost resolved to 127.0.0.1 (-4)",
        ));
    server.join().unwrap();
}

/// The workbench behind a pretend proxy, speaking LMTP: the PROXY v2
/// header shown decoded, LHLO offered, XCLIENT in the palette when offered,
/// and a reply per recipient after the content, on screen.
#[test]
fn the_workbench_speaks_lmtp_behind_a_proxy_v2_header() {
    use crate::pty::{quit, Pty, ENTER};
    let (tx, rx) = std::sync::mpsc::channel();
    let (addr, server) = serve(move |mut c| {
        let mut header = [0u8; 28];
        c.reader.read_exact(&mut header).unwrap();
        tx.send(header[16..20].to_vec()).unwrap();
        c.send(b"220 lmtp.example LMTP ready\r\n");
        let _ = c.line();
        c.send(b"250-lmtp.example\r\n250-PIPELINING\r\n250 XCLIENT NAME ADDR\r\n");
        // MAIL, two RCPTs and DATA, pipelined.
        for _ in 0..4 {
            let _ = c.line();
        }
        c.send(b"250 2.1.0 ok\r\n250 2.1.5 ok\r\n250 2.1.5 ok\r\n354 go\r\n");
        c.read_data();
        c.send(b"250 2.0.0 <alice> saved\r\n552 5.2.2 <bob> quota exceeded\r\n");
        c.drain();
    });
    let mut pty = Pty::spawn(&[
        &addr.to_string(),
        "--protocol",
        "lmtp",
        "--proxy",
        "v2",
        "--proxy-source",
        "192.0.2.7:4321",
        "--ehlo",
        "client.example.test",
    ]);
    pty.wait_for("[PROXY v2 header, 28 bytes] 0d0a 0d0a");
    pty.wait_for("proxy: source 192.0.2.7:4321");
    pty.wait_for("220 lmtp.example");
    pty.wait_for("LHLO client.example.test");
    pty.keys(ENTER);
    pty.wait_for("250 XCLIENT NAME ADDR");
    pty.wait_for("XCLIENT NAME=mail.example.org");
    pty.keys("Run to the end");
    pty.keys(ENTER);
    pty.wait_for("lmtp: delivered to 1 of 2 recipient(s)");
    let screen = pty.screen();
    assert!(
        screen.contains("lmtp: <alice@example.test> delivered"),
        "{screen}"
    );
    assert!(
        screen.contains("lmtp: <bob@example.test> not delivered"),
        "{screen}"
    );
    quit(&mut pty, true);
    server.join().unwrap();
    assert_eq!(rx.recv().unwrap(), [192, 0, 2, 7]);
}

// ------------------------------------------------ the real peers (ignored)

/// LMTP to Dovecot at `server`: alice takes the message, full refuses it
/// after the content (its quota), so both replies show and the exit is 5.
fn dovecot_lmtp(server: &str) {
    let t = token("lmtp");
    let out = bin()
        .args(["send", "--server", server, "--protocol", "lmtp"])
        .args(PEER_ENVELOPE)
        .args([
            "--rcpt",
            "full@example.test",
            "--subject",
            &t,
            "--body",
            &"x".repeat(4096),
            "--timeout",
            "20",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(5), "{text}");
    assert!(text.contains("-> LHLO client.example.test"), "{text}");
    assert!(
        text.contains("lmtp: <alice@example.test> delivered: 250"),
        "{text}"
    );
    assert!(
        text.contains("lmtp: <full@example.test> not delivered"),
        "{text}"
    );
    let maildir = peer_var("PEERS_DOVECOT_ALICE_NEW_MAIL");
    assert!(
        wait_for_mail(&maildir, &t, Duration::from_secs(10)).is_some(),
        "alice's mail is not in {maildir}"
    );
}

#[test]
#[ignore = "needs Dovecot's LMTP (tests/peers)"]
fn dovecot_lmtp_over_tcp() {
    dovecot_lmtp(&format!(
        "127.0.0.1:{}",
        peer_var("PEERS_DOVECOT_LMTP_PORT")
    ));
}

#[test]
#[ignore = "needs Dovecot's LMTP (tests/peers)"]
fn dovecot_lmtp_over_its_unix_socket() {
    dovecot_lmtp(&format!("unix:{}", peer_var("PEERS_DOVECOT_LMTP_SOCKET")));
}

/// A message with a fresh subject to Postfix's port `port_var`, with
/// `extra` flags, taken (exit 0): the transcript, and the first Received:
/// field of the message as it arrived (and the message).
fn postfix_received(port_var: &str, name: &str, extra: &[&str]) -> (String, String, String) {
    let t = token(name);
    let server = format!("127.0.0.1:{}", peer_var(port_var));
    let out = bin()
        .args(["send", "--server", &server])
        .args(extra)
        .args(PEER_ENVELOPE)
        .args(["--subject", &t, "--timeout", "20"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{text}");
    let mail = wait_for_mail(
        &peer_var("PEERS_POSTFIX_NEW_MAIL"),
        &t,
        Duration::from_secs(15),
    )
    .expect("the message did not arrive");
    (text, first_received(&mail), mail)
}

/// Postfix behind a pretend proxy: its Received: names the proxied source.
fn postfix_proxy(version: &str) {
    let (_, received, mail) = postfix_received(
        "PEERS_POSTFIX_PORT_PROXY",
        &format!("proxy-{version}"),
        &["--proxy", version, "--proxy-source", "192.0.2.77:40000"],
    );
    assert!(
        received.contains("(unknown [192.0.2.77])"),
        "{received}\n{mail}"
    );
}

/// The first Received: field, its continuation lines joined.
fn first_received(mail: &str) -> String {
    let mut lines = mail.lines().skip_while(|l| !l.starts_with("Received:"));
    let mut field = lines.next().unwrap_or_default().to_string();
    for l in lines.take_while(|l| l.starts_with([' ', '\t'])) {
        field.push(' ');
        field.push_str(l.trim());
    }
    field
}

#[test]
#[ignore = "needs Postfix's PROXY port (tests/peers)"]
fn postfix_behind_proxy_v1_sees_the_proxied_source() {
    postfix_proxy("v1");
}

#[test]
#[ignore = "needs Postfix's PROXY port (tests/peers)"]
fn postfix_behind_proxy_v2_sees_the_proxied_source() {
    postfix_proxy("v2");
}

#[test]
#[ignore = "needs Postfix's XCLIENT port (tests/peers)"]
fn postfix_xclient_stamps_the_named_client() {
    let (text, received, mail) = postfix_received(
        "PEERS_POSTFIX_PORT_XCLIENT",
        "xclient",
        &[
            "--xclient",
            "NAME=relay.client.example ADDR=192.0.2.88 HELO=relay.client.example",
        ],
    );
    assert!(text.contains("XCLIENT accepted"), "{text}");
    assert!(
        received.contains("(relay.client.example [192.0.2.88])"),
        "{received}\n{mail}"
    );
}
