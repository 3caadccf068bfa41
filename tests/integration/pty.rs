//! The workbench as a person uses it: the real binary in a pseudo-terminal,
//! keys typed, the screen read through a terminal emulator (vt100).

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{native_pty_system, Child, CommandBuilder, PtySize};

use crate::serve::Serve;

pub const ENTER: &str = "\r";
pub const CTRL_R: &str = "\x12";
pub const CTRL_C: &str = "\x03";

pub struct Pty {
    child: Box<dyn Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    pub parser: Arc<Mutex<vt100::Parser>>,
    raw: Arc<Mutex<Vec<u8>>>,
}

impl Pty {
    pub fn spawn(args: &[&str]) -> Self {
        Self::spawn_sized(args, 40)
    }

    /// As [`Self::spawn`], with `rows` rows (120 columns): for a flow whose
    /// transcript must stay on screen whole (the wait polls the screen).
    pub fn spawn_sized(args: &[&str], rows: u16) -> Self {
        Self::spawn_with(env!("CARGO_BIN_EXE_smtp-workbench"), args, rows, &[])
    }

    /// Another program in the terminal (a shell that pipes the binary's
    /// output, for example).
    pub fn spawn_program(program: &str, args: &[&str]) -> Self {
        Self::spawn_with(program, args, 40, &[])
    }

    /// As `spawn`, with these environment variables set (a HOME of its own).
    pub fn spawn_env(args: &[&str], env: &[(&str, &std::path::Path)]) -> Self {
        Self::spawn_with(env!("CARGO_BIN_EXE_smtp-workbench"), args, 40, env)
    }

    fn spawn_with(
        program: &str,
        args: &[&str],
        rows: u16,
        env: &[(&str, &std::path::Path)],
    ) -> Self {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows,
                cols: 120,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let mut cmd = CommandBuilder::new(program);
        cmd.args(args);
        cmd.env("TERM", "xterm-256color");
        cmd.env_remove("NO_COLOR");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.cwd(std::env::temp_dir());
        let child = pair.slave.spawn_command(cmd).unwrap();
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().unwrap();
        let writer = pair.master.take_writer().unwrap();
        let parser = Arc::new(Mutex::new(vt100::Parser::new(rows, 120, 0)));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let (p, r) = (parser.clone(), raw.clone());
        std::thread::spawn(move || {
            // Keep the master alive as long as the reader runs.
            let _master = pair.master;
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                p.lock().unwrap().process(&buf[..n]);
                r.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Pty {
            child,
            writer,
            parser,
            raw,
        }
    }

    pub fn screen(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    /// Waits (bounded) until the screen shows `needle`.
    pub fn wait_for(&self, needle: &str) {
        self.wait_for_within(needle, Duration::from_secs(20));
    }

    /// Waits until the screen shows `needle`, at most `limit`.
    pub fn wait_for_within(&self, needle: &str, limit: Duration) {
        let start = Instant::now();
        while start.elapsed() < limit {
            if self.screen().contains(needle) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "the screen never showed {needle:?}; it shows:\n{}",
            self.screen()
        );
    }

    pub fn keys(&mut self, keys: &str) {
        self.writer.write_all(keys.as_bytes()).unwrap();
        self.writer.flush().unwrap();
        // Let the program read keys one batch at a time, as a person types.
        std::thread::sleep(Duration::from_millis(150));
    }

    /// Waits (bounded) for the program to end; its exit code.
    pub fn wait_exit(&mut self) -> u32 {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Let the reader take the last bytes.
                std::thread::sleep(Duration::from_millis(200));
                return status.exit_code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "the program did not exit; the screen shows:\n{}",
            self.screen()
        );
    }

    pub fn raw(&self) -> Vec<u8> {
        self.raw.lock().unwrap().clone()
    }

    /// The program's peak resident memory so far, in KiB (Linux).
    pub fn peak_kib(&self) -> u64 {
        let pid = self.child.process_id().unwrap();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// QUIT chosen from the palette, its 221 awaited, then the workbench left.
pub fn quit_session_and_leave(pty: &mut Pty) {
    pty.keys("quit");
    pty.keys(ENTER);
    pty.wait_for("221 2.0.0 Bye");
    quit(pty, false);
}

/// Ctrl-C; while a session is open the workbench asks first.
pub fn quit(pty: &mut Pty, session_open: bool) {
    pty.keys(CTRL_C);
    if session_open {
        pty.wait_for("Quit anyway?");
        pty.keys("y");
    }
    assert_eq!(pty.wait_exit(), 0);
    let raw = pty.raw();
    let tail = &raw[raw.len().saturating_sub(200)..];
    assert!(
        tail.windows(8).any(|w| w == b"\x1b[?1049l"),
        "the alternate screen is left on exit: {:?}",
        String::from_utf8_lossy(tail)
    );
}

#[test]
fn classic_session_by_hand_against_the_built_in_server() {
    let dir = tempfile::tempdir().unwrap();
    let mut serve = Serve::start(&["--maildir", dir.path().to_str().unwrap()]);
    let mut pty = Pty::spawn(&[&serve.addr.to_string(), "--ehlo", "client.example.test"]);
    pty.wait_for("220 demo.example.test");
    pty.keys(ENTER);
    pty.wait_for("250 CHUNKING");
    pty.keys(ENTER);
    pty.wait_for("250 2.1.0 Ok");
    pty.keys(ENTER);
    pty.wait_for("RCPT TO:<alice@example.test>");
    pty.wait_for("stage: rcpt");
    pty.keys(ENTER);
    pty.wait_for("RCPT TO:<bob@example.test>");
    pty.wait_for("Envelope · 2/2 RCPT sent");
    pty.keys(ENTER);
    pty.wait_for("queued as");
    quit_session_and_leave(&mut pty);
    let envelope = serve.wait_for("envelope:", Duration::from_secs(10));
    assert!(
        envelope.contains(
            "MAIL FROM:<student@client.example>  RCPT TO:<alice@example.test>, <bob@example.test>"
        ),
        "{envelope}"
    );
    serve.stop();
    let mail = crate::support::only_message(dir.path());
    assert!(
        mail.starts_with("Return-Path: <student@client.example>"),
        "{mail}"
    );
    assert!(mail.contains("To: Alice <alice@example.test>"), "{mail}");
    assert!(
        mail.contains("Subject: Hello from smtp-workbench"),
        "{mail}"
    );
    assert!(
        mail.contains("\r\n.A line that starts with a dot.\r\n"),
        "un-stuffed: {mail}"
    );
}

#[test]
fn raw_line_sends_a_wrong_command_and_shows_the_500() {
    let mut pty = Pty::spawn(&["--ehlo", "client.example.test"]);
    pty.wait_for("220 demo.example.test");
    pty.keys(CTRL_R);
    pty.wait_for("Raw line");
    pty.keys("HELLO wrong");
    pty.keys(ENTER);
    pty.wait_for("500 5.5.2 Error: command not recognized");
    quit(&mut pty, true);
}

/// At 24 rows the help is taller than the screen: it opens at its top,
/// says how to scroll and close on its edge, scrolls to its last row (F4)
/// with PgDn, and q closes it; the hint bar names `?` and the quit key.
#[test]
fn the_help_scrolls_on_a_short_screen_and_q_closes_it() {
    let mut pty = Pty::spawn_sized(&["--ehlo", "client.example.test"], 24);
    pty.wait_for("220 demo.example.test");
    assert!(
        pty.screen().contains(" ? help  Ctrl-C quit │"),
        "{}",
        pty.screen()
    );
    pty.keys("?");
    pty.wait_for("▼ more below: ↑ ↓ PgUp PgDn, wheel · Esc ? q: close");
    assert!(
        pty.screen().contains("The palette offers"),
        "{}",
        pty.screen()
    );
    assert!(!pty.screen().contains("full-width transcript"));
    pty.keys("\x1b[6~");
    pty.keys("\x1b[6~");
    pty.wait_for("F4                           presenter mode: full-width transcript");
    pty.wait_for("▲ more above");
    pty.keys("q");
    let start = std::time::Instant::now();
    while pty.screen().contains("Esc ? q: close") {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "help never closed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // q closed the help only: the palette keeps it, the workbench runs on.
    assert!(pty.screen().contains("┌ Commands"), "{}", pty.screen());
    quit(&mut pty, true);
}

#[test]
fn a_lesson_completed_end_to_end() {
    let mut pty = Pty::spawn(&["--ehlo", "client.example.test", "--lesson", "first-session"]);
    pty.wait_for("Lesson 1/5: The first session by hand");
    pty.wait_for("220 demo.example.test");
    for (step, reply) in [
        ("Lesson 2/5", "250 CHUNKING"),
        ("Lesson 3/5", "250 2.1.0 Ok"),
        ("Lesson 4/5", "250 2.1.5 Ok"),
        ("Lesson 5/5", "queued as"),
    ] {
        pty.keys(ENTER);
        pty.wait_for(reply);
        pty.wait_for(step);
    }
    finish_lesson(&mut pty);
}

#[test]
fn the_bounce_lesson_shows_the_bounce_in_the_envelope_senders_mailbox() {
    let mut pty = Pty::spawn(&[
        "--ehlo",
        "client.example.test",
        "--lesson",
        "bounces-go-to-mail-from",
    ]);
    pty.wait_for("Lesson 1/4: Bounces go to MAIL FROM");
    pty.wait_for("220 demo.example.test");
    pty.keys(ENTER);
    pty.wait_for("250 CHUNKING");
    for (step, reply) in [
        ("Lesson 2/4", "250 2.1.0 Ok"),
        ("Lesson 2/4", "RCPT TO:<alice@example.test>"),
        ("Lesson 3/4", "RCPT TO:<bob@example.test>"),
        ("Lesson 4/4", "queued as"),
    ] {
        pty.keys(ENTER);
        pty.wait_for(reply);
        pty.wait_for(step);
    }
    pty.keys(F3);
    pty.wait_for("bounce: <bob@example.test>: 552 5.2.2 mailbox over quota");
    pty.wait_for("to MAIL FROM <bounces@example.test>: stored in its mailbox");
    pty.wait_for("never to From: Shop News <news@shop.example>");
    finish_lesson(&mut pty);
}

const F3: &str = "\x1bOR";
const TAB: &str = "\t";
const SHIFT_TAB: &str = "\x1b[Z";
const BACKSPACE: &str = "\x7f";
const LEFT: &str = "\x1b[D";
const RIGHT: &str = "\x1b[C";
const DOWN: &str = "\x1b[B";
const PAGE_DOWN: &str = "\x1b[6~";

/// Starts the built-in lesson `name` and waits for its first step.
fn lesson(name: &str, first: &str) -> Pty {
    let pty = Pty::spawn(&["--ehlo", "client.example.test", "--lesson", name]);
    pty.wait_for(first);
    pty.wait_for("220 demo.example.test");
    pty
}

/// EHLO, MAIL FROM, RCPT TO and DATA, one Enter each, the first (EHLO) only
/// when `ehlo`; waits for the message to be queued and for step `next`.
fn deliver(pty: &mut Pty, ehlo: bool, next: &str) {
    if ehlo {
        pty.keys(ENTER);
        pty.wait_for("250 CHUNKING");
    }
    for _ in 0..3 {
        pty.keys(ENTER);
        std::thread::sleep(Duration::from_millis(300));
    }
    pty.wait_for(next);
}

/// F3, open in the message's place, scrolled down as a reader would (the
/// message pane focused, PgDn a page at a time) until it shows `needle`
/// (at 120 columns its columns stack, and the delivered message's
/// Authentication-Results: may be below the first page); then back to the
/// palette.
fn scroll_f3_to(pty: &mut Pty, needle: &str) {
    pty.keys(TAB);
    pty.keys(TAB);
    for _ in 0..8 {
        if pty.screen().contains(needle) {
            break;
        }
        pty.keys(PAGE_DOWN);
    }
    pty.wait_for(needle);
    pty.keys(SHIFT_TAB);
    pty.keys(SHIFT_TAB);
}

/// QUIT from the palette, the last step of a lesson, then leaves.
fn finish_lesson(pty: &mut Pty) {
    pty.keys("quit");
    pty.keys(ENTER);
    pty.wait_for("Lesson complete");
    quit(pty, false);
}

/// Back in the palette after an edit: MAIL FROM (once the palette offers
/// `mail_from`), then step `after_mail`, RCPT TO and DATA, then `after_data`.
fn send_again(pty: &mut Pty, mail_from: &str, after_mail: &str, after_data: &str) {
    pty.wait_for(mail_from);
    pty.keys(ENTER);
    pty.wait_for(after_mail);
    pty.keys(ENTER);
    pty.keys(ENTER);
    pty.wait_for(after_data);
}

#[test]
fn the_spf_lesson_sends_one_from_with_two_envelopes() {
    let mut pty = lesson(
        "spf-judges-the-envelope",
        "Lesson 1/5: SPF judges the envelope",
    );
    deliver(&mut pty, true, "Lesson 3/5");
    // The envelope, edited by hand: MAIL FROM only, From: stays.
    pty.keys(TAB);
    pty.keys(&BACKSPACE.repeat("student@client.example".len()));
    pty.keys("student@parked.example.test");
    pty.keys(SHIFT_TAB);
    send_again(
        &mut pty,
        "MAIL FROM:<student@parked.example.test>",
        "Lesson 4/5",
        "Lesson 5/5",
    );
    pty.keys(F3);
    pty.wait_for("The server's side");
    pty.wait_for("MAIL FROM:<student@parked.example.test>");
    pty.wait_for("From: Student <student@client.example>");
    // The server judged the envelope's domain, not From:'s.
    scroll_f3_to(&mut pty, "spf=fail smtp.mailfrom=parked");
    finish_lesson(&mut pty);
}

#[test]
fn the_dmarc_lesson_sends_a_spoofed_from_then_a_look_alike() {
    let mut pty = lesson("dmarc-judges-from", "Lesson 1/5: DMARC judges From:");
    deliver(&mut pty, true, "Lesson 3/5");
    pty.wait_for("From: Example Bank <ceo@example.test>");
    // From: in the message: a digit 1 for the l of example.test.
    pty.keys(TAB);
    pty.keys(TAB);
    pty.keys(&RIGHT.repeat("From: Example Bank <ceo@exampl".len()));
    pty.keys(BACKSPACE);
    pty.keys("1");
    pty.keys(SHIFT_TAB);
    pty.keys(SHIFT_TAB);
    pty.keys("← headers");
    pty.wait_for("Envelope ← headers");
    pty.keys(ENTER);
    send_again(
        &mut pty,
        "MAIL FROM:<ceo@examp1e.test>",
        "Lesson 4/5",
        "Lesson 5/5",
    );
    pty.keys(F3);
    pty.wait_for("The server's side");
    pty.wait_for("From: Example Bank <ceo@examp1e.test>");
    // The look-alike authenticates: SPF for itself, and no DMARC to fail.
    scroll_f3_to(&mut pty, "spf=pass smtp.mailfrom=examp1e");
    pty.wait_for("dmarc=none header.from=examp1e");
    finish_lesson(&mut pty);
}

#[test]
fn the_dkim_lesson_sends_a_signed_message_then_one_byte_changed() {
    let mut pty = lesson("dkim-one-byte", "Lesson 1/4");
    pty.wait_for("One byte after DKIM signing");
    deliver(&mut pty, true, "Lesson 3/4");
    pty.wait_for("DKIM-Signature: v=1; a=rsa-sha256; s=demo; d=client.example");
    pty.wait_for("Please pay the invoice today: EUR 100");
    // The body, past the header lines; its one line has the cursor at its end.
    pty.keys(TAB);
    pty.keys(TAB);
    pty.keys(&DOWN.repeat(8));
    pty.keys(&LEFT.repeat(2));
    pty.keys(BACKSPACE);
    pty.keys("9");
    pty.keys(SHIFT_TAB);
    pty.keys(SHIFT_TAB);
    deliver(&mut pty, false, "Lesson 4/4");
    pty.wait_for("Please pay the invoice today: EUR 900");
    // One byte, and the server's DKIM check fails.
    pty.keys(F3);
    pty.wait_for("The server's side");
    scroll_f3_to(&mut pty, "dkim=fail header.d=client.example");
    finish_lesson(&mut pty);
}

#[test]
fn a_malformed_lesson_file_is_refused_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.toml");
    std::fs::write(
        &path,
        "title = \"x\"\nsummary = \"y\"\n\n[[step]]\nsay = \"go\"\nexpect = { sent = 5 }\n",
    )
    .unwrap();
    let mut pty = Pty::spawn(&["--lesson", path.to_str().unwrap()]);
    assert_eq!(pty.wait_exit(), 2);
    let out = String::from_utf8_lossy(&pty.raw()).to_string();
    assert!(
        out.contains("broken.toml, line 6: invalid type: integer `5`, expected a string"),
        "{out}"
    );
}

#[test]
#[ignore = "needs the Postfix peer"]
fn classic_session_by_hand_against_postfix() {
    let host = std::env::var("PEERS_POSTFIX_HOST")
        .expect("PEERS_POSTFIX_HOST: start the peers (see .ci/run)");
    let port = std::env::var("PEERS_POSTFIX_PORT_SMTP").expect("PEERS_POSTFIX_PORT_SMTP");
    let maildir = std::env::var("PEERS_POSTFIX_NEW_MAIL").expect("PEERS_POSTFIX_NEW_MAIL");
    let mut pty = Pty::spawn(&[&format!("{host}:{port}"), "--ehlo", "client.example.test"]);
    pty.wait_for("220 mail.example.test ESMTP Postfix");
    pty.keys(ENTER);
    pty.wait_for("250 CHUNKING");
    for _ in 0..3 {
        pty.keys(ENTER);
        std::thread::sleep(Duration::from_millis(300));
    }
    pty.wait_for("Envelope · 2/2 RCPT sent");
    pty.keys(ENTER);
    pty.wait_for("250 2.0.0 Ok: queued as");
    // The Message-ID on screen finds the delivered file.
    let id = pty
        .screen()
        .lines()
        .find_map(|l| {
            l.split("Message-ID: <")
                .nth(1)
                .map(|r| r.split('>').next().unwrap_or("").to_string())
        })
        .filter(|id| !id.is_empty());
    quit_session_and_leave(&mut pty);
    let needle = id.unwrap_or_else(|| "Subject: Hello from smtp-workbench".into());
    let start = Instant::now();
    loop {
        let found = std::fs::read_dir(&maildir)
            .unwrap()
            .flatten()
            .any(|e| std::fs::read_to_string(e.path()).is_ok_and(|t| t.contains(&needle)));
        if found {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "no delivered file holds {needle}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
