//! `serve` as other programs see it: real clients (swaks, Python's smtplib,
//! Postfix's smtp-source), misbehaving clients, and the transport-level
//! policies (connection limit, idle timeout, tarpit).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{maildir_file_with, only_message};

/// A `serve` process on a free loopback port; stopped (by its PID) on drop.
pub struct Serve {
    child: Child,
    pub addr: SocketAddr,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Serve {
    pub fn start(extra: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_smtp-workbench"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut serve = Serve {
            child,
            addr: "127.0.0.1:1".parse().unwrap(),
            lines: rx,
        };
        let line = serve.wait_for("listening", Duration::from_secs(20));
        let addr = match serde_json::from_str::<serde_json::Value>(&line) {
            Ok(v) => v["addr"].as_str().unwrap().to_string(),
            Err(_) => line.rsplit(' ').next().unwrap().to_string(),
        };
        serve.addr = addr.parse().unwrap();
        serve
    }

    /// Waits for an output line containing `needle`; returns it.
    pub fn wait_for(&mut self, needle: &str, limit: Duration) -> String {
        let start = Instant::now();
        loop {
            let left = limit.saturating_sub(start.elapsed());
            match self.lines.recv_timeout(left) {
                Ok(l) if l.contains(needle) => return l,
                Ok(_) => {}
                Err(_) => panic!("serve never printed {needle:?}"),
            }
        }
    }

    /// Stops the server (SIGTERM, by PID) and returns the rest of its output.
    pub fn stop(mut self) -> Vec<String> {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let _ = self.child.wait();
        // The reader may still be passing on the last lines: take them until
        // it ends at the end of the output (bounded).
        let mut rest = Vec::new();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            rest.push(line);
        }
        rest
    }

    pub fn port(&self) -> String {
        self.addr.port().to_string()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Stops `serve` and checks its last words: `n` messages accepted.
pub fn stopped_having_accepted(serve: Serve, n: u64) {
    let rest = serve.stop();
    let said = format!("{n} message(s) accepted");
    assert!(rest.iter().any(|l| l.contains(&said)), "{rest:?}");
}

fn connect(addr: SocketAddr) -> (TcpStream, BufReader<TcpStream>) {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let r = BufReader::new(s.try_clone().unwrap());
    (s, r)
}

/// Reads one whole reply (all its lines).
fn reply(r: &mut BufReader<TcpStream>) -> String {
    let mut out = String::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return out;
        }
        out.push_str(&line);
        if line.as_bytes().get(3) != Some(&b'-') {
            return out;
        }
    }
}

fn say(s: &mut TcpStream, r: &mut BufReader<TcpStream>, line: &str) -> String {
    s.write_all(format!("{line}\r\n").as_bytes()).unwrap();
    reply(r)
}

/// `send` to `addr`: EHLO c.example, MAIL FROM a@c.example, RCPT TO
/// alice@example.test, then `extra`.
fn send(addr: SocketAddr, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_smtp-workbench"))
        .args(["send", "--server", &addr.to_string()])
        .args(["--ehlo", "c.example", "--mail-from", "a@c.example"])
        .args(["--rcpt", "alice@example.test"])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn python_smtplib_sends_through_starttls_and_auth() {
    let mut serve = Serve::start(&[]);
    let script = format!(
        "import smtplib\n\
         s = smtplib.SMTP('127.0.0.1', {port}, timeout=20)\n\
         s.ehlo('py.example')\n\
         s.starttls()\n\
         s.ehlo('py.example')\n\
         s.login('alice@example.test', 'wonderland')\n\
         refused = s.sendmail('py@client.example', ['alice@example.test', 'bob@example.test'],\n\
             'From: Py <py@client.example>\\r\\nTo: Team <team@example.test>\\r\\nSubject: smtplib\\r\\n\\r\\n.dot\\r\\n')\n\
         assert refused == {{}}, refused\n\
         s.quit()\n",
        port = serve.port()
    );
    let out = Command::new("python3")
        .arg("-c")
        .arg(&script)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = serve.wait_for("accepted", Duration::from_secs(10));
    assert!(line.contains("TLS, AUTH alice@example.test"), "{line}");
    let envelope = serve.wait_for("envelope:", Duration::from_secs(5));
    assert!(
        envelope.contains(
            "MAIL FROM:<py@client.example>  RCPT TO:<alice@example.test>, <bob@example.test>"
        ),
        "{envelope}"
    );
    let headers = serve.wait_for("headers:", Duration::from_secs(5));
    assert!(
        headers.contains("From: Py <py@client.example>  To: Team <team@example.test>"),
        "{headers}"
    );
}

#[test]
fn garbage_and_overlong_lines_get_replies_and_the_session_goes_on() {
    let serve = Serve::start(&[]);
    let (mut s, mut r) = connect(serve.addr);
    assert!(reply(&mut r).starts_with("220 "));
    s.write_all(&[0xff, 0x00, 0x1b, b'[', b'2', b'J']).unwrap();
    s.write_all(&vec![b'x'; 100_000]).unwrap();
    s.write_all(b"\r\n").unwrap();
    assert!(reply(&mut r).starts_with("500 5.5.2 Error: command line too long"));
    assert!(say(&mut s, &mut r, "\u{1b}]52;c;aGk=\u{7}").starts_with("500 5.5.2"));
    assert!(say(&mut s, &mut r, "EHLO c.example").contains("250 CHUNKING"));
    assert!(say(&mut s, &mut r, "QUIT").starts_with("221"));
    serve.stop();
}

#[test]
fn bare_lf_in_data_is_refused() {
    let serve = Serve::start(&[]);
    let (mut s, mut r) = connect(serve.addr);
    reply(&mut r);
    for line in [
        "EHLO c.example",
        "MAIL FROM:<a@c.example>",
        "RCPT TO:<alice@example.test>",
    ] {
        assert!(say(&mut s, &mut r, line).starts_with("250"));
    }
    assert!(say(&mut s, &mut r, "DATA").starts_with("354"));
    s.write_all(b"Subject: x\n\nbare LF\n.\n\r\n.\r\n").unwrap();
    assert!(reply(&mut r).starts_with("554 5.6.0"));
    serve.stop();
}

#[test]
fn a_client_hanging_up_mid_data_leaves_the_server_serving() {
    let mut serve = Serve::start(&[]);
    {
        let (mut s, mut r) = connect(serve.addr);
        reply(&mut r);
        for line in [
            "EHLO c.example",
            "MAIL FROM:<a@c.example>",
            "RCPT TO:<alice@example.test>",
            "DATA",
        ] {
            say(&mut s, &mut r, line);
        }
        s.write_all(b"Subject: half\r\n\r\nhalf a mess").unwrap();
    }
    serve.wait_for("disconnect (0 message(s))", Duration::from_secs(10));
    let (mut s, mut r) = connect(serve.addr);
    assert!(reply(&mut r).starts_with("220"));
    assert!(say(&mut s, &mut r, "QUIT").starts_with("221"));
    stopped_having_accepted(serve, 0);
}

#[test]
fn too_many_connections_get_421_and_the_others_are_served() {
    let serve = Serve::start(&["--max-connections", "3"]);
    let mut open = Vec::new();
    for _ in 0..3 {
        let (s, mut r) = connect(serve.addr);
        assert!(reply(&mut r).starts_with("220"));
        open.push((s, r));
    }
    let (_s, mut r) = connect(serve.addr);
    assert!(reply(&mut r).starts_with("421 4.7.0 Error: too many connections"));
    let (s, r) = &mut open[0];
    assert!(say(s, r, "NOOP").starts_with("250"));
    drop(open);
    serve.stop();
}

#[test]
fn an_idle_client_is_dropped_with_421() {
    let serve = Serve::start(&["--idle-timeout", "1"]);
    let (_s, mut r) = connect(serve.addr);
    assert!(reply(&mut r).starts_with("220"));
    assert!(reply(&mut r).starts_with("421 4.4.2"));
    let mut rest = Vec::new();
    assert_eq!(
        r.read_to_end(&mut rest).unwrap_or(0),
        0,
        "closed after the 421"
    );
    serve.stop();
}

#[test]
fn the_tarpit_delays_every_reply() {
    let serve = Serve::start(&["--tarpit", "400"]);
    let start = Instant::now();
    let (mut s, mut r) = connect(serve.addr);
    assert!(reply(&mut r).starts_with("220"));
    assert!(say(&mut s, &mut r, "NOOP").starts_with("250"));
    // A lower bound only: a tarpit can make a reply late, never early.
    assert!(start.elapsed() >= Duration::from_millis(800));
    serve.stop();
}

#[test]
fn a_non_loopback_address_needs_allow_remote() {
    let out = Command::new(env!("CARGO_BIN_EXE_smtp-workbench"))
        .args(["serve", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--allow-remote"));
}

#[test]
fn maildir_gets_each_message_and_json_log_has_the_envelope() {
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("Maildir");
    let mut serve = Serve::start(&["--maildir", maildir.to_str().unwrap(), "--format", "json"]);
    let out = send(
        serve.addr,
        &[
            "--rcpt",
            "hidden@example.test",
            "--header-to",
            "shown@example.test",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let line = serve.wait_for("\"event\":\"message\"", Duration::from_secs(10));
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["mail_from"], "a@c.example");
    assert_eq!(v["rcpts"][1]["address"], "hidden@example.test");
    assert_eq!(v["header_to"][0], "shown@example.test");
    let text = only_message(&maildir);
    // The server's verdicts sit between the two, as an MTA adds them.
    assert!(
        text.starts_with("Return-Path: <a@c.example>\r\nAuthentication-Results: "),
        "{text}"
    );
    assert!(
        text.contains("\r\nReceived: from c.example (127.0.0.1)"),
        "{text}"
    );
    serve.stop();
}

/// What swaks is asked besides the server and the envelope: plain,
/// STARTTLS, each AUTH mechanism, pipelining.
const SWAKS_CASES: &[&[&str]] = &[
    &[],
    &["--tls"],
    &[
        "--tls",
        "--auth",
        "PLAIN",
        "--auth-user",
        "alice@example.test",
        "--auth-password",
        "wonderland",
    ],
    &[
        "--tls",
        "--auth",
        "LOGIN",
        "--auth-user",
        "alice@example.test",
        "--auth-password",
        "wonderland",
    ],
    &[
        "--auth",
        "CRAM-MD5",
        "--auth-user",
        "alice@example.test",
        "--auth-password",
        "wonderland",
    ],
    &["--pipeline"],
];

#[test]
#[ignore = "needs swaks (installed with the peers)"]
fn swaks_against_serve() {
    let serve = Serve::start(&[]);
    let base = [
        "--server",
        "127.0.0.1",
        "--port",
        &serve.port(),
        "--ehlo",
        "swaks.example",
        "--from",
        "swaks@client.example",
        "--to",
        "alice@example.test",
    ];
    let cases = SWAKS_CASES;
    for extra in cases {
        let out = Command::new("swaks")
            .args(base)
            .args(*extra)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "swaks {extra:?}: {text}");
        assert!(
            text.contains("250 2.0.0 Ok: queued as"),
            "swaks {extra:?}: {text}"
        );
    }
    let out = Command::new("swaks")
        .args([
            "--server",
            "127.0.0.1",
            "--port",
            &serve.port(),
            "--ehlo",
            "s.example",
            "--from",
            "a@s.example",
            "--to",
            "someone@external.example",
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout)
        .contains("554 5.7.1 <someone@external.example>: Relay access denied"));
    let rest = serve.stop();
    assert!(
        rest.iter()
            .any(|l| l.contains(&format!("{} message(s) accepted", cases.len()))),
        "{rest:?}"
    );
}

#[test]
#[ignore = "needs Postfix's smtp-source (installed with the peers)"]
fn smtp_source_2000_messages_over_10_sessions_all_accounted_for() {
    let serve = Serve::start(&["--store-messages", "5000"]);
    let out = Command::new("smtp-source")
        .args([
            "-c",
            "-M",
            "bench.example.test",
            "-f",
            "bench@example.test",
            "-t",
            "sink@example.test",
            "-l",
            "1024",
            "-m",
            "2000",
            "-s",
            "10",
            &serve.addr.to_string(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rest = serve.stop();
    assert!(
        rest.iter()
            .any(|l| l == "stopped; 2000 message(s) accepted"),
        "{:?}",
        rest.last()
    );
}

/// A certificate for `name`, written as PEM files: (cert, key).
fn certificate_files(dir: &std::path::Path, name: &str) -> (String, String) {
    let made = rcgen::generate_simple_self_signed(vec![name.to_string()]).unwrap();
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    (
        cert.to_str().unwrap().to_string(),
        key.to_str().unwrap().to_string(),
    )
}

#[test]
fn a_given_certificate_is_served_and_its_name_checked() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate_files(dir.path(), "right.example");
    let serve = Serve::start(&["--tls-cert", &cert, "--tls-key", &key]);
    let send = |name: &str| {
        send(
            serve.addr,
            &["--tls", "starttls", "--ca-file", &cert, "--tls-name", name],
        )
    };
    let good = send("right.example");
    assert_eq!(
        good.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&good.stdout)
    );
    assert!(String::from_utf8_lossy(&good.stdout).contains("CN=rcgen self signed cert"));
    let wrong = send("wrong.example");
    assert_eq!(wrong.status.code(), Some(3));
    let text = String::from_utf8_lossy(&wrong.stdout);
    assert!(
        text.contains("not valid for the name \"wrong.example\""),
        "{text}"
    );
    assert!(
        text.contains("220 2.0.0 Ready to start TLS"),
        "the transcript up to the failure: {text}"
    );
    serve.stop();
}

#[test]
fn serve_bounce_writes_a_delivery_status_notification_to_the_envelope_sender() {
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("Maildir");
    let mut serve = Serve::start(&[
        "--bounce",
        "bob@example.test",
        "--maildir",
        maildir.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let out = Command::new(env!("CARGO_BIN_EXE_smtp-workbench"))
        .args([
            "send",
            "--server",
            &serve.addr.to_string(),
            "--ehlo",
            "c.example",
        ])
        .args(["--mail-from", "bounces@example.test"])
        .args(["--rcpt", "alice@example.test", "--rcpt", "bob@example.test"])
        .args(["--header-from", "Shop News <news@shop.example>"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("RCPT TO:<bob@example.test>") && stdout.contains("250 2.1.5 Ok"),
        "bob is accepted at RCPT: {stdout}"
    );
    let line = serve.wait_for("\"event\":\"message\"", Duration::from_secs(10));
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    let b = &v["bounce"];
    assert_eq!(b["to"], "bounces@example.test", "{v}");
    assert_eq!(b["recipients"], serde_json::json!(["bob@example.test"]));
    assert_eq!(b["status"], "5.2.2");
    assert_eq!(b["reason"], "mailbox over quota");
    assert_eq!(b["stored"], true);
    let dsn_id = b["id"].as_str().unwrap().to_string();
    assert_eq!(v["header_from"][0], "Shop News <news@shop.example>");
    serve.stop();

    let files = std::fs::read_dir(maildir.join("new")).unwrap().count();
    assert_eq!(files, 2, "the message and its bounce");
    let dsn = maildir_file_with(&maildir, "Return-Path: <>").expect("the bounce");
    let text = String::from_utf8_lossy(&dsn).to_string();
    assert!(
        text.contains("\r\nTo: <bounces@example.test>\r\n"),
        "MAIL FROM, never From: {text}"
    );
    let parsed = mail_parser::MessageParser::default().parse(&dsn).unwrap();
    assert_eq!(
        parsed.from().unwrap().first().unwrap().address(),
        Some("MAILER-DAEMON@demo.example.test")
    );
    assert_eq!(
        parsed.message_id(),
        Some(format!("{dsn_id}@demo.example.test").as_str())
    );
    use mail_parser::MimeHeaders;
    let ct = parsed.content_type().unwrap();
    assert_eq!(ct.subtype(), Some("report"));
    assert_eq!(ct.attribute("report-type"), Some("delivery-status"));
    let status = parsed
        .parts
        .iter()
        .find(|p| p.content_type().and_then(|c| c.subtype()) == Some("delivery-status"))
        .map(|p| String::from_utf8_lossy(p.contents()).to_string())
        .unwrap();
    assert!(
        status.contains(
            "Final-Recipient: rfc822; bob@example.test\r\nAction: failed\r\nStatus: 5.2.2\r\n"
        ),
        "{status}"
    );
    assert!(
        text.contains("\r\nFrom: \"Shop News\" <news@shop.example>\r\n"),
        "the returned headers: {text}"
    );
}

#[test]
fn serve_bounce_logs_local_remote_and_null_senders() {
    let mut serve = Serve::start(&["--bounce", "<bob@example.test>"]);
    let (mut s, mut r) = connect(serve.addr);
    reply(&mut r);
    assert!(say(&mut s, &mut r, "EHLO c.example").starts_with("250"));
    for sender in ["bounces@example.test", "x@remote.example", ""] {
        assert!(say(&mut s, &mut r, &format!("MAIL FROM:<{sender}>")).starts_with("250"));
        assert!(say(&mut s, &mut r, "RCPT TO:<bob@example.test>").starts_with("250 2.1.5"));
        assert!(say(&mut s, &mut r, "DATA").starts_with("354"));
        s.write_all(b"From: Shop <news@shop.example>\r\n\r\nhi\r\n.\r\n")
            .unwrap();
        assert!(reply(&mut r).starts_with("250 2.0.0 Ok: queued as"));
    }
    assert!(say(&mut s, &mut r, "QUIT").starts_with("221"));
    // (a line to wait for, what it says), in the order of the log.
    let lines = [
        (
            "bounce:",
            "<bob@example.test>: 552 5.2.2 mailbox over quota, after the 250",
        ),
        (
            "bounce from <>",
            "to MAIL FROM <bounces@example.test>: stored in its mailbox",
        ),
        (
            "would be sent",
            "would be sent to MAIL FROM <x@remote.example>; this test server never delivers onward",
        ),
        ("no bounce", "the sender is null (MAIL FROM:<>)"),
    ];
    for (needle, says) in lines {
        let line = serve.wait_for(needle, Duration::from_secs(10));
        assert!(line.contains(says), "{line}");
    }
    // The bounce written for the first one is not counted.
    stopped_having_accepted(serve, 3);
}

#[test]
fn serve_bounce_needs_an_address() {
    let out = Command::new(env!("CARGO_BIN_EXE_smtp-workbench"))
        .args(["serve", "--listen", "127.0.0.1:0", "--bounce", "bob"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--bounce \"bob\": give a recipient address"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn demo_key() -> String {
    format!("{}/assets/dkim/demo.key", env!("CARGO_MANIFEST_DIR"))
}

/// `send` as the demo sender: EHLO client.example, MAIL FROM
/// student@client.example (SPF passes from loopback in the demo zone).
fn send_as_demo_sender(addr: SocketAddr, extra: &[&str]) {
    let base = [
        "--ehlo",
        "client.example",
        "--mail-from",
        "student@client.example",
        "--tls",
        "none",
    ];
    let args: Vec<&str> = base.iter().chain(extra).copied().collect();
    let out = send(addr, &args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn serve_stores_authentication_results_as_the_demo_zone_says() {
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("Maildir");
    let mut serve = Serve::start(&["--maildir", maildir.to_str().unwrap(), "--format", "json"]);
    let key = demo_key();
    // Signed by message::dkim (through send) with the key the zone publishes.
    send_as_demo_sender(
        serve.addr,
        &[
            "--subject",
            "signed",
            "--dkim-key",
            &key,
            "--dkim-selector",
            "demo",
        ],
    );
    // From: says example.test, which publishes p=reject.
    send_as_demo_sender(
        serve.addr,
        &[
            "--subject",
            "spoofed",
            "--header-from",
            "CEO <ceo@example.test>",
        ],
    );
    let signed = maildir_file_with(&maildir, "Subject: signed").unwrap();
    let signed = String::from_utf8(signed).unwrap();
    assert!(
        signed.starts_with(
            "Return-Path: <student@client.example>\r\n\
             Authentication-Results: demo.example.test;\r\n\
             \tspf=pass smtp.helo=client.example;\r\n\
             \tspf=pass smtp.mailfrom=client.example;\r\n\
             \tdkim=pass header.d=client.example;\r\n\
             \tdmarc=pass header.from=client.example;\r\n\
             \tiprev=pass policy.iprev=127.0.0.1\r\n\
             Received: from client.example (127.0.0.1)"
        ),
        "{signed}"
    );
    let spoofed = maildir_file_with(&maildir, "Subject: spoofed").unwrap();
    let spoofed = String::from_utf8(spoofed).unwrap();
    assert!(
        spoofed.contains("\r\n\tdkim=none;\r\n\tdmarc=fail header.from=example.test;\r\n"),
        "{spoofed}"
    );
    // The JSON events carry the same verdicts, as the objects send prints.
    let first = serve.wait_for("\"event\":\"message\"", Duration::from_secs(10));
    let second = serve.wait_for("\"event\":\"message\"", Duration::from_secs(10));
    let auth = |line: &str| -> Vec<serde_json::Value> {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        v["auth"].as_array().unwrap().clone()
    };
    let methods: Vec<String> = auth(&first)
        .iter()
        .map(|a| {
            format!(
                "{}={}",
                a["method"].as_str().unwrap(),
                a["result"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        methods,
        [
            "spf-helo=pass",
            "spf=pass",
            "dkim=pass",
            "dmarc=pass",
            "iprev=pass"
        ]
    );
    let dmarc = auth(&second)
        .into_iter()
        .find(|a| a["method"] == "dmarc")
        .unwrap();
    assert_eq!(dmarc["result"], "fail");
    assert_eq!(dmarc["domain"], "example.test");
    assert!(
        dmarc["text"].as_str().unwrap().contains("p=reject"),
        "{dmarc}"
    );
    serve.stop();
}

#[test]
fn serve_zone_judges_from_the_given_zone_and_no_auth_results_judges_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let zone = dir.path().join("client.example.zone");
    std::fs::write(
        &zone,
        "$ORIGIN client.example.\n$TTL 300\n\
         @ SOA ns.client.example. hostmaster.client.example. ( 1 3600 600 86400 300 )\n\
         @ TXT \"v=spf1 -all\"\n",
    )
    .unwrap();
    let mut serve = Serve::start(&["--zone", zone.to_str().unwrap()]);
    send_as_demo_sender(serve.addr, &[]);
    let line = serve.wait_for("auth:", Duration::from_secs(10));
    assert!(
        line.contains("spf-helo=fail spf=fail dkim=none"),
        "client.example allows no one in this zone: {line}"
    );
    serve.stop();

    let dir2 = tempfile::tempdir().unwrap();
    let maildir = dir2.path().join("Maildir");
    let mut bare = Serve::start(&["--no-auth-results", "--maildir", maildir.to_str().unwrap()]);
    send_as_demo_sender(bare.addr, &["--subject", "bare"]);
    bare.wait_for("disconnect", Duration::from_secs(10));
    let rest = bare.stop();
    assert!(!rest.iter().any(|l| l.contains("auth:")), "{rest:?}");
    let text = String::from_utf8(maildir_file_with(&maildir, "Subject: bare").unwrap()).unwrap();
    assert!(!text.contains("Authentication-Results"), "{text}");
}

#[test]
fn serve_says_which_dns_it_judges_with_and_zone_conflicts_with_dns() {
    let out = Command::new(env!("CARGO_BIN_EXE_smtp-workbench"))
        .args(["serve", "--zone", "x.zone", "--dns", "127.0.0.1:5353"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(env!("CARGO_BIN_EXE_smtp-workbench"))
        .args(["serve", "--zone", "/nonexistent/x.zone"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--zone"));
    for (extra, says) in [
        (
            &[][..],
            "judged on each message with the offline demo zone of example.test",
        ),
        (
            &["--no-auth-results"][..],
            "authentication: not judged (--no-auth-results)",
        ),
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_smtp-workbench"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let intro: Vec<String> = BufReader::new(child.stdout.take().unwrap())
            .lines()
            .map_while(Result::ok)
            .take_while(|l| !l.contains("listening"))
            .collect();
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let _ = child.wait();
        assert!(intro.iter().any(|l| l.contains(says)), "{intro:?}");
    }
}

#[test]
fn a_port_in_use_says_to_pick_another_with_listen() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_smtp-workbench"))
        .args(["serve", "--listen", &addr])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains(&format!("cannot listen on {addr}")), "{err}");
    assert!(err.contains("--listen ADDR:PORT"), "{err}");
}
