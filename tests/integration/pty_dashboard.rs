//! `serve --dashboard`, the teacher's view, as a teacher uses it: the real
//! binary in a pseudo-terminal, students connecting over TCP (one by the
//! book with AUTH, one typing escape sequences, one a rule refuses), the
//! screen read through a terminal emulator.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use crate::pty::{Pty, CTRL_C, ENTER};

const TAB: &str = "\t";
const DOWN: &str = "\x1b[B";
const ESC: &str = "\x1b";

/// The dashboard started on a free port, and that port, read off its
/// status line as a teacher would.
fn dashboard(extra: &[&str]) -> (Pty, SocketAddr) {
    let mut args = vec![
        "serve",
        "--dashboard",
        "--listen",
        "127.0.0.1:0",
        "--no-tls",
    ];
    args.extend_from_slice(extra);
    let pty = Pty::spawn(&args);
    pty.wait_for("listening on 127.0.0.1:");
    let screen = pty.screen();
    let at = screen.find("listening on ").unwrap() + "listening on ".len();
    let addr: String = screen[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
        .collect();
    (pty, addr.parse().unwrap())
}

/// A student at a raw socket: sends each line, reads each reply whole.
struct Student {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Student {
    fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        let mut s = Self { stream, reader };
        assert!(s.reply().starts_with("220"));
        s
    }

    fn reply(&mut self) -> String {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).unwrap();
            all.push_str(&line);
            if line.len() < 4 || line.as_bytes()[3] != b'-' {
                return all;
            }
        }
    }

    fn say(&mut self, line: &[u8]) -> String {
        self.stream.write_all(line).unwrap();
        self.stream.write_all(b"\r\n").unwrap();
        self.reply()
    }
}

#[test]
fn the_teacher_sees_each_student_live_with_control_characters_made_visible() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("class.toml");
    std::fs::write(
        &rules,
        "[[rule]]\nname = \"full\"\nwhen = { stage = \"rcpt\", rcpt = \"full@*\" }\n\
         reply = \"452 4.2.2 Mailbox full\"\n",
    )
    .unwrap();
    let (mut pty, addr) = dashboard(&["--rules", rules.to_str().unwrap()]);
    pty.wait_for("No one has connected yet");

    // Alice logs in and sends a message whose From: is not her envelope's.
    let mut alice = Student::connect(addr);
    assert!(alice.say(b"EHLO pc1.classroom.test").starts_with("250"));
    // \0alice@example.test\0wonderland
    let r = alice.say(b"AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdAB3b25kZXJsYW5k");
    assert!(r.starts_with("235"), "{r}");
    assert!(alice
        .say(b"MAIL FROM:<alice@client.example>")
        .starts_with("250"));
    assert!(alice.say(b"RCPT TO:<bob@example.test>").starts_with("250"));
    assert!(alice.say(b"RCPT TO:<full@example.test>").starts_with("452"));
    assert!(alice.say(b"DATA").starts_with("354"));
    let r = alice.say(b"From: Bank <ceo@bank.example>\r\nSubject: Pay now\r\n\r\nhello\r\n.");
    assert!(r.starts_with("250"), "{r}");

    // Mallory types escape sequences: a colour, a clear screen, OSC 52.
    let mut mallory = Student::connect(addr);
    mallory.say(b"HELO \x1b[31mred\x1b[2J\x1b]52;c;aGk=\x07");
    mallory.say(b"NOOP \x9b\x1b[?1049l");

    // Alice's session, selected first: her user, her transcript (the AUTH
    // secret masked), her message's card, the rule that fired.
    pty.wait_for("2 open, 2 sessions");
    pty.wait_for("● #1 alice@example.test ·");
    pty.wait_for("pc1.classroom.test");
    pty.wait_for("C: AUTH PLAIN ********");
    pty.wait_for("S: 452 4.2.2 Mailbox full");
    pty.wait_for("envelope  MAIL FROM:<alice@client.example>");
    pty.wait_for("headers   From: Bank <ceo@bank.example>");
    pty.wait_for("! From: domain bank.example differs");
    pty.wait_for("rule 1 (full) fired at rcpt");
    assert!(!pty.screen().contains("wonderland"));

    // Mallory's, one down: every byte she typed is shown, none acted.
    pty.keys(DOWN);
    pty.wait_for("C: HELO ␛[31mred␛[2J␛]52;c;aGk=␇");
    pty.wait_for("C: NOOP \\x9b␛[?1049l");
    let raw = pty.raw();
    // (The view clears its own screen: \x1b[2J alone proves nothing.)
    for acted in [&b"\x1b]52;"[..], b"\x1b[31mred", b"\x1b[2J\x1b]52"] {
        assert!(
            !raw.windows(acted.len()).any(|w| w == acted),
            "{:?} reached the terminal raw",
            String::from_utf8_lossy(acted)
        );
    }
    drop(mallory);
    pty.wait_for("1 open, 2 sessions");

    // The filter by student: alice's user name finds her alone.
    pty.keys("/");
    pty.keys("alice");
    pty.wait_for("Sessions (1 of 2) matching “alice”");
    pty.keys(ENTER);
    pty.wait_for("C: MAIL FROM:<alice@client.example>");
    pty.keys(ESC);
    pty.wait_for("Sessions (2)");

    // Help, then q leaves and gives the terminal back.
    pty.keys("?");
    pty.wait_for("filter by student: AUTH user, address or EHLO name");
    pty.keys(ESC);
    pty.keys(TAB);
    pty.keys("q");
    assert_eq!(pty.wait_exit(), 0);
    let raw = pty.raw();
    let tail = &raw[raw.len().saturating_sub(200)..];
    assert!(
        tail.windows(8).any(|w| w == b"\x1b[?1049l"),
        "the alternate screen is left on exit"
    );
    drop(alice);
}

#[test]
fn ctrl_c_stops_the_server_and_restores_the_terminal() {
    let (mut pty, addr) = dashboard(&[]);
    pty.keys(CTRL_C);
    assert_eq!(pty.wait_exit(), 0);
    let raw = pty.raw();
    let tail = &raw[raw.len().saturating_sub(200)..];
    assert!(tail.windows(8).any(|w| w == b"\x1b[?1049l"));
    assert!(
        TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_err(),
        "the server stopped with the view"
    );
}

#[test]
fn the_dashboard_needs_a_terminal_and_says_so() {
    let out = crate::support::bin()
        .args(["serve", "--dashboard", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--dashboard draws on a terminal"), "{err}");
}

#[test]
fn a_class_of_fifty_at_once_is_listed_and_the_view_still_takes_keys() {
    let (mut pty, addr) = dashboard(&[]);
    let students: Vec<Student> = (1..=50)
        .map(|i| {
            let mut s = Student::connect(addr);
            let ehlo = format!("EHLO pc{i:02}.classroom.test");
            assert!(s.say(ehlo.as_bytes()).starts_with("250"));
            for _ in 0..20 {
                assert!(s.say(b"NOOP").starts_with("250"));
            }
            s
        })
        .collect();
    pty.wait_for("50 open, 50 sessions");
    pty.keys("/");
    pty.keys("pc37");
    pty.wait_for("Sessions (1 of 50) matching “pc37”");
    pty.keys(ENTER);
    pty.wait_for("C: NOOP");
    // Home: the first page of the session, its EHLO at the top.
    pty.keys("\x1b[H");
    pty.wait_for("C: EHLO pc37.classroom.test");
    drop(students);
    pty.wait_for("0 open, 50 sessions");
    pty.keys(ESC);
    pty.keys("q");
    assert_eq!(pty.wait_exit(), 0);
}
