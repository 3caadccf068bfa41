//! `serve --rules FILE` as real clients see it: each matcher and action
//! against swaks, Python's smtplib and a raw socket typing as telnet
//! would; hang-ups seen from the client, a delay by the order of events,
//! the bounce as a parsed multipart/report in the sender's Maildir, and a
//! bad file refused at load with its line.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::serve::Serve;
use crate::support::maildir_file_with;

/// A rules file in a temporary directory (kept alive by the returned dir).
fn rules_file(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rules.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

fn serve_with(text: &str, extra: &[&str]) -> (Serve, tempfile::TempDir) {
    let (dir, path) = rules_file(text);
    let mut args = vec!["--rules", path.to_str().unwrap(), "--no-auth-results"];
    args.extend_from_slice(extra);
    (Serve::start(&args), dir)
}

fn classroom() -> String {
    format!("{}/assets/rules/classroom.toml", env!("CARGO_MANIFEST_DIR"))
}

/// A client typing as telnet would: one line, CRLF, read the reply.
struct Telnet {
    s: TcpStream,
    r: BufReader<TcpStream>,
}

impl Telnet {
    fn open(addr: SocketAddr) -> (Self, String) {
        let s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        let r = BufReader::new(s.try_clone().unwrap());
        let mut t = Self { s, r };
        let greeting = t.reply();
        (t, greeting)
    }

    /// One whole reply, all its lines; "" when the server hung up.
    fn reply(&mut self) -> String {
        let mut out = String::new();
        loop {
            let mut line = String::new();
            if self.r.read_line(&mut line).unwrap_or(0) == 0 {
                return out;
            }
            out.push_str(&line);
            if line.as_bytes().get(3) != Some(&b'-') {
                return out;
            }
        }
    }

    fn say(&mut self, line: &str) -> String {
        self.s.write_all(format!("{line}\r\n").as_bytes()).unwrap();
        self.reply()
    }
}

fn swaks(addr: SocketAddr, extra: &[&str]) -> String {
    let out = Command::new("swaks")
        .args(["--server", "127.0.0.1", "--port", &addr.port().to_string()])
        .args(["--ehlo", "swaks.example", "--timeout", "15"])
        .args(extra)
        .output()
        .unwrap();
    // swaks says what went wrong (a lost connection) on stderr.
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs a Python script with the server's port as `PORT`; its stdout.
fn python(addr: SocketAddr, script: &str) -> String {
    let out = Command::new("python3")
        .args(["-c", script])
        .env("PORT", addr.port().to_string())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "python: {err}");
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn a_bad_rules_file_exits_2_naming_the_line() {
    let cases = [
        ("[[rule]]\nwhen = { stage = \"rcpt\" }\nreply = \"452 ok\"\n\n[[rule]]\nwhen = { stage = \"helo\" }\nreply = \"452 x\"\n", "line 6: \"helo\" is not a stage"),
        ("[[rule]]\nwhen = { stage = \"rcpt\" }\nreply = \"250 fine\"\n", "line 3: a 250 does not fit stage \"rcpt\""),
        ("[[rule]]\nwhen = { stage = \"rcpt\", client = \"10.1.2.0/40\" }\nreply = \"452 x\"\n", "line 2: \"10.1.2.0/40\" is not an address or a CIDR"),
        ("[[rule]]\nwhen = { stage = \"rcpt\" }\nrate = { per_seconds = 9 }\n", "line 3: missing field `max`"),
        ("[[rule]]\nwhen = { stage = \"rcpt\" }\nrepley = \"452 x\"\n", "line 3: unknown field `repley`"),
        ("[[rule]]\nwhen = { stage = \"mail\", sender = \"[a\" }\nreply = \"452 x\"\n", "line 2: a bad glob"),
    ];
    for (text, said) in cases {
        let (_dir, path) = rules_file(text);
        let out = crate::support::bin()
            .args(["serve", "--listen", "127.0.0.1:0", "--rules"])
            .arg(&path)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(said), "{said}: {err}");
        assert!(err.contains(&path.display().to_string()), "{err}");
    }
    let out = crate::support::bin()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--rules",
            "/nonexistent/rules.toml",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read it"));
}

/// The classroom example by hand: greylisting's first try, the full
/// mailbox, then the rate limit at the sixth MAIL in the minute.
#[test]
fn the_classroom_example_typed_as_with_telnet() {
    let mut serve = Serve::start(&["--rules", &classroom(), "--no-auth-results"]);
    let (mut t, greeting) = Telnet::open(serve.addr);
    assert!(greeting.starts_with("220 "), "{greeting}");
    assert!(t.say("EHLO student.example").starts_with("250-"));
    assert_eq!(
        t.say("MAIL FROM:<student@client.example>"),
        "250 2.1.0 Ok\r\n"
    );
    assert_eq!(
        t.say("RCPT TO:<alice@example.test>"),
        "451 4.7.1 Greylisted: this is your first try, please try again\r\n"
    );
    serve.wait_for("rule 2 (greylist) fired at rcpt", Duration::from_secs(10));
    assert_eq!(t.say("RCPT TO:<alice@example.test>"), "250 2.1.5 Ok\r\n");
    assert_eq!(
        t.say("RCPT TO:<full@example.test>"),
        "452 4.2.2 Mailbox full\r\n"
    );
    serve.wait_for(
        "rule 3 (mailbox-full) fired at rcpt",
        Duration::from_secs(10),
    );
    assert!(t.say("DATA").starts_with("354 "));
    assert!(t
        .say("Subject: hi\r\n\r\nhello\r\n.")
        .starts_with("250 2.0.0 Ok: queued"));
    // Four more MAILs fit in the minute (five in all); the sixth is refused.
    for _ in 0..4 {
        assert_eq!(
            t.say("MAIL FROM:<student@client.example>"),
            "250 2.1.0 Ok\r\n"
        );
        assert_eq!(t.say("RSET"), "250 2.0.0 Ok\r\n");
    }
    assert_eq!(
        t.say("MAIL FROM:<student@client.example>"),
        "450 4.7.1 Too many messages from you, slow down\r\n"
    );
    serve.wait_for(
        "rule 1 (rate-limit) fired at mail: rate: more than 5 in 60 s",
        Duration::from_secs(10),
    );
    assert_eq!(t.say("QUIT"), "221 2.0.0 Bye\r\n");
}

/// `client` and `hangup = "before-reply"` at dot: the student at 127.0.0.2
/// (the classroom example) loses the connection after the dot, with no
/// reply, and nothing is stored; another address is served.
#[test]
fn swaks_from_one_address_is_hung_up_on_at_the_dot() {
    let mut serve = Serve::start(&["--rules", &classroom(), "--no-auth-results"]);
    let base = ["--from", "s@client.example", "--to", "alice@example.test"];
    // The greylist's first try first, from each address.
    let mut args = base.to_vec();
    args.extend(["--local-interface", "127.0.0.2"]);
    let _ = swaks(serve.addr, &args);
    let out = swaks(serve.addr, &args);
    assert!(out.contains(" -> ."), "{out}");
    assert!(!out.contains("Ok: queued"), "{out}");
    assert!(
        out.contains("*** Remote host closed connection unexpectedly"),
        "swaks saw the hang-up: {out}"
    );
    serve.wait_for(
        "rule 5 (hangup-at-dot) fired at dot",
        Duration::from_secs(10),
    );
    let _ = swaks(serve.addr, &base);
    let out = swaks(serve.addr, &base);
    assert!(
        out.contains("250 2.0.0 Ok: queued"),
        "127.0.0.1 is served: {out}"
    );
    crate::serve::stopped_having_accepted(serve, 1);
}

/// `sender` (a glob) with swaks, and `hangup = "after-reply"`: the reply,
/// then the connection goes.
#[test]
fn swaks_sender_glob_and_a_hangup_after_the_reply() {
    let (serve, _dir) = serve_with(
        "[[rule]]\nname = \"spam\"\nwhen = { stage = \"mail\", sender = \"*@SPAM.example\" }\nreply = \"550 5.7.1 No spam here\"\n\
         [[rule]]\nwhen = { stage = \"dot\", sender = \"once@*\" }\nhangup = \"after-reply\"\n",
        &[],
    );
    let out = swaks(
        serve.addr,
        &["--from", "bot@spam.example", "--to", "alice@example.test"],
    );
    assert!(out.contains("<** 550 5.7.1 No spam here"), "{out}");
    let out = swaks(
        serve.addr,
        &[
            "--from",
            "bot@spam.example.org",
            "--to",
            "alice@example.test",
        ],
    );
    assert!(out.contains("Ok: queued"), "{out}");
    let out = swaks(
        serve.addr,
        &[
            "--from",
            "once@client.example",
            "--to",
            "alice@example.test",
        ],
    );
    assert!(out.contains("<-  250 2.0.0 Ok: queued"), "{out}");
    assert!(
        !out.contains("221 2.0.0 Bye"),
        "hung up before QUIT's answer: {out}"
    );
    crate::serve::stopped_having_accepted(serve, 2);
}

/// `user` and `size_over` with smtplib: after AUTH alice may not send; a
/// big message is refused at MAIL by its SIZE= (smtplib gives one).
#[test]
fn smtplib_user_and_size_over() {
    let (serve, _dir) = serve_with(
        "[[rule]]\nwhen = { stage = \"mail\", user = \"alice@example.test\" }\nreply = \"550 5.7.1 Not you, alice\"\n\
         [[rule]]\nwhen = { stage = \"mail\", size_over = 2000 }\nreply = \"552 5.3.4 Too big for this class\"\n\
         [[rule]]\nwhen = { stage = \"dot\", size_over = 2000 }\nreply = \"552 5.3.4 Too big at the dot\"\n",
        &["--no-tls"],
    );
    let said = python(
        serve.addr,
        r#"
import os, smtplib
port = int(os.environ["PORT"])
def send(size, login):
    with smtplib.SMTP("127.0.0.1", port, timeout=15) as s:
        s.ehlo("py.example")
        if login:
            s.login("alice@example.test", "wonderland")
        try:
            s.sendmail("p@py.example", ["bob@example.test"], "Subject: x\r\n\r\n" + "y" * size)
            print("accepted")
        except smtplib.SMTPSenderRefused as e:
            print(e.smtp_code, e.smtp_error.decode())
send(10, True)
send(10, False)
send(5000, False)
"#,
    );
    assert_eq!(
        said,
        "550 5.7.1 Not you, alice\naccepted\n552 5.3.4 Too big for this class\n",
    );
    // Without SIZE= (typed by hand) the dot rule sees the content's size.
    let (mut t, _) = Telnet::open(serve.addr);
    t.say("EHLO by.hand");
    t.say("MAIL FROM:<p@hand.example>");
    t.say("RCPT TO:<bob@example.test>");
    t.say("DATA");
    let big = "z".repeat(900);
    t.s.write_all(format!("{big}\r\n{big}\r\n{big}\r\n").as_bytes())
        .unwrap();
    assert_eq!(t.say("."), "552 5.3.4 Too big at the dot\r\n");
    assert_eq!(t.say("QUIT"), "221 2.0.0 Bye\r\n");
    crate::serve::stopped_having_accepted(serve, 1);
}

/// `nth` and `rate` per client, with smtplib from two loopback addresses.
#[test]
fn smtplib_nth_and_a_rate_per_client() {
    let (serve, _dir) = serve_with(
        "[[rule]]\nwhen = { stage = \"connect\" }\nrate = { max = 2, per_seconds = 600, reply = \"421 4.7.0 Two connections a minute\" }\n\
         [[rule]]\nwhen = { stage = \"dot\", nth = 2 }\nreply = \"451 4.3.0 The second message waits\"\n",
        &["--no-tls"],
    );
    let said = python(
        serve.addr,
        r#"
import os, smtplib
port = int(os.environ["PORT"])
for src in ["127.0.0.1", "127.0.0.1", "127.0.0.1", "127.0.0.2"]:
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=15, source_address=(src, 0)) as s:
            s.sendmail("p@py.example", ["bob@example.test"], "Subject: x\r\n\r\ny")
            print(src, "accepted")
    except smtplib.SMTPDataError as e:
        print(src, e.smtp_code, e.smtp_error.decode())
    except smtplib.SMTPConnectError as e:
        print(src, e.smtp_code, e.smtp_error.decode())
    except smtplib.SMTPServerDisconnected as e:
        print(src, "disconnected")
"#,
    );
    assert_eq!(
        said,
        "127.0.0.1 accepted\n\
         127.0.0.1 451 4.3.0 The second message waits\n\
         127.0.0.1 421 4.7.0 Two connections a minute\n\
         127.0.0.2 accepted\n",
    );
}

/// A delay shown by the order of events: a client whose MAIL is held for
/// 4 s gets no reply while a second client runs a whole session.
#[test]
fn a_delay_holds_one_reply_while_another_session_runs() {
    let (serve, _dir) = serve_with(
        "[[rule]]\nname = \"slow\"\nwhen = { stage = \"mail\", sender = \"slow@*\" }\ndelay_ms = 4000\n",
        &[],
    );
    let (mut slow, _) = Telnet::open(serve.addr);
    slow.say("EHLO slow.example");
    slow.s
        .write_all(b"MAIL FROM:<slow@client.example>\r\n")
        .unwrap();
    let out = swaks(
        serve.addr,
        &[
            "--from",
            "fast@client.example",
            "--to",
            "alice@example.test",
        ],
    );
    assert!(out.contains("221 2.0.0 Bye"), "{out}");
    // The other session is over, and the slow client has still no reply.
    slow.s.set_nonblocking(true).unwrap();
    let mut byte = [0u8; 1];
    let early = slow.s.read(&mut byte);
    assert!(
        matches!(&early, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "a reply came before the other session ended: {early:?}"
    );
    slow.s.set_nonblocking(false).unwrap();
    assert_eq!(slow.reply(), "250 2.1.0 Ok\r\n");
    crate::serve::stopped_having_accepted(serve, 1);
}

/// A 554 greeting for one address (by CIDR), typed by hand: only QUIT.
#[test]
fn a_554_greeting_then_only_quit() {
    let (serve, _dir) = serve_with(
        "[[rule]]\nwhen = { stage = \"connect\", client = \"127.0.0.0/30\" }\nreply = \"554 5.7.1 This room is closed\"\n",
        &[],
    );
    let (mut t, greeting) = Telnet::open(serve.addr);
    assert_eq!(greeting, "554 5.7.1 This room is closed\r\n");
    assert!(t.say("EHLO me").starts_with("503 5.5.1"));
    assert_eq!(t.say("QUIT"), "221 2.0.0 Bye\r\n");
    assert_eq!(t.reply(), "", "closed");
}

/// `bounce = true` (the classroom's gone@): accepted, then a RFC 3464
/// report in the envelope sender's mailbox; the JSON log names the rule.
#[test]
fn a_bounce_rule_writes_a_multipart_report_to_the_envelope_sender() {
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("Maildir");
    let mut serve = Serve::start(&[
        "--rules",
        &classroom(),
        "--no-auth-results",
        "--maildir",
        maildir.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let args = [
        "--from",
        "teacher@example.test",
        "--to",
        "gone@example.test,alice@example.test",
        "--header",
        "From: Someone Else <other@elsewhere.example>",
    ];
    let first = swaks(serve.addr, &args);
    assert!(first.contains("451 4.7.1 Greylisted"), "{first}");
    let out = swaks(serve.addr, &args);
    assert!(out.contains("Ok: queued"), "{out}");
    let rule = serve.wait_for("\"name\":\"late-bounce\"", Duration::from_secs(10));
    let v: serde_json::Value = serde_json::from_str(&rule).unwrap();
    assert_eq!(v["event"], "rule");
    assert_eq!(v["rule"], 4);
    assert_eq!(v["stage"], "rcpt");
    assert_eq!(v["bounce"], true);
    let line = serve.wait_for("\"event\":\"message\"", Duration::from_secs(10));
    let m: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(
        m["bounce"]["recipients"],
        serde_json::json!(["gone@example.test"]),
        "{m}"
    );
    assert_eq!(m["bounce"]["to"], "teacher@example.test");
    serve.stop();

    let dsn = maildir_file_with(&maildir, "Return-Path: <>").expect("the bounce");
    let text = String::from_utf8_lossy(&dsn).to_string();
    assert!(
        text.contains("\r\nTo: <teacher@example.test>\r\n"),
        "MAIL FROM, not From: {text}"
    );
    let parsed = mail_parser::MessageParser::default().parse(&dsn).unwrap();
    use mail_parser::MimeHeaders;
    let ct = parsed.content_type().unwrap();
    assert_eq!((ct.ctype(), ct.subtype()), ("multipart", Some("report")));
    assert_eq!(ct.attribute("report-type"), Some("delivery-status"));
    let status = parsed
        .parts
        .iter()
        .find(|p| p.content_type().and_then(|c| c.subtype()) == Some("delivery-status"))
        .map(|p| String::from_utf8_lossy(p.contents()).to_string())
        .unwrap();
    assert!(
        status.contains("Final-Recipient: rfc822; gone@example.test\r\nAction: failed\r\n"),
        "{status}"
    );
    assert!(
        !status.contains("alice@example.test"),
        "alice was delivered: {status}"
    );
}

/// The classroom's slow EHLO for the student at 127.0.0.3, by order of
/// events: while that EHLO waits, a client from 127.0.0.1 runs a whole
/// session with smtplib; only then does the slow one get its 250.
#[test]
fn smtplib_the_classroom_slow_ehlo_for_one_address() {
    let serve = Serve::start(&["--rules", &classroom(), "--no-auth-results"]);
    let said = python(
        serve.addr,
        r#"
import os, select, smtplib, socket
port = int(os.environ["PORT"])
slow = socket.create_connection(("127.0.0.1", port), timeout=15, source_address=("127.0.0.3", 0))
f = slow.makefile("rb")
print(f.readline().decode().split(" ")[0])
slow.sendall(b"EHLO slow.example\r\n")
with smtplib.SMTP("127.0.0.1", port, timeout=15) as s:
    print("fast", s.ehlo("fast.example")[0], s.noop()[0])
ready, _, _ = select.select([slow], [], [], 0)
print("slow has its reply already:", bool(ready))
print("slow", f.readline().decode().strip())
"#,
    );
    assert_eq!(
        said,
        "220\nfast 250 250\nslow has its reply already: False\nslow 250-demo.example.test\n"
    );
}
