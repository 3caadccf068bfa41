//! Hostile and broken servers against the workbench in a pseudo-terminal:
//! the screen says what went wrong, the transcript up to the failure stays,
//! the UI keeps answering keys, no raw control byte from the server reaches
//! the terminal, memory stays under 64 MB, and quitting restores the
//! terminal.

use std::time::{Duration, Instant};

use crate::hostile;
use crate::pty::{quit, Pty, ENTER};
use crate::support::serve;

const F1: &str = "\x1bOP";
const ESC: &str = "\x1b";

fn assert_small(pty: &Pty) {
    let peak = pty.peak_kib();
    // Shown with --nocapture: the figures for BENCHMARKS.md.
    eprintln!(
        "{}: peak resident set {peak} KiB",
        std::thread::current().name().unwrap_or("?")
    );
    assert!(
        peak < 64 * 1024,
        "the workbench used {peak} KiB, over 64 MB"
    );
}

/// The UI still answers: the help opens and closes.
fn assert_responsive(pty: &mut Pty) {
    pty.keys(F1);
    pty.wait_for("Esc ? q: close");
    pty.keys(ESC);
    let start = Instant::now();
    while pty.screen().contains("Esc ? q: close") {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "help never closed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn control_characters_and_invalid_utf8_never_reach_the_terminal() {
    let (addr, _server) = serve(|mut c| {
        c.send(b"220 evil \x1b]0;pwned\x07\x1b[2J\x9b \xff\xfe \xc2\x9b ESMTP\r\n");
        while c.line().is_some() {
            c.send(b"250 ok \x1b[31mred \x1b]52;c;aGVsbG8=\x07\r\n");
        }
    });
    let mut pty = Pty::spawn(&[&addr.to_string()]);
    pty.wait_for("220 evil");
    let screen = pty.screen();
    assert!(
        screen.contains("␛]0;pwned␇␛[2J\\x9b \\xff\\xfe \\u{9b} ESMTP"),
        "{screen}"
    );
    assert_ne!(pty.parser.lock().unwrap().screen().title(), "pwned");
    pty.keys(ENTER);
    pty.wait_for("250 ok ␛[31mred ␛]52;c;aGVsbG8=␇");
    // The clipboard escape from the server never went out as one.
    let raw = pty.raw();
    assert!(
        !raw.windows(7).any(|w| w == b"\x1b]52;c;"),
        "an OSC 52 from the server reached the terminal"
    );
    assert_small(&pty);
    quit(&mut pty, true);
}

/// Against a server past what SMTP allows, the workbench shows each of
/// `says`, hangs up (offering to reconnect), and still answers keys.
fn hangs_up_on(script: fn(crate::support::Conn), says: &[&str]) {
    let (addr, server) = serve(script);
    let mut pty = Pty::spawn(&[&addr.to_string()]);
    for s in says {
        pty.wait_for(s);
    }
    pty.wait_for("Reconnect to");
    assert_responsive(&mut pty);
    assert_small(&pty);
    quit(&mut pty, false);
    server.join().unwrap();
}

#[test]
fn a_ten_megabyte_line_without_an_end() {
    hangs_up_on(
        hostile::ten_megabyte_line,
        &[
            "malformed reply: reply line longer than 4096 bytes",
            "no SMTP server sends that; closing the connection",
        ],
    );
}

/// Replies without end: the workbench shows them as they come, warns, and
/// after a thousand that answer nothing closes the connection.
#[test]
fn a_flood_of_replies() {
    // The sentence's end is cut on the hint bar, after help and quit, at
    // 120 columns; the transcript keeps the whole line (in full when selected).
    hangs_up_on(hostile::flood, &["read: it floods; closing the"]);
}

#[test]
fn a_hundred_thousand_line_reply() {
    hangs_up_on(
        hostile::hundred_thousand_lines,
        &["malformed reply: reply has more than 1000 lines"],
    );
}

/// Thirty seconds of silence before the banner, against the default
/// 30-second limit: the UI answers keys all along, and the limit ends the
/// wait with a message that says what was awaited.
#[test]
fn a_thirty_second_stall_before_the_banner() {
    let (addr, server) = serve(|mut c| {
        c.stream
            .set_read_timeout(Some(Duration::from_secs(45)))
            .unwrap();
        // Silent until the client gives up (or 45 s pass).
        c.drain();
    });
    let started = Instant::now();
    let mut pty = Pty::spawn(&[&addr.to_string()]);
    pty.wait_for("connected to");
    // The status line says what the wait is for.
    pty.wait_for("stage: connected │ waiting for the server…");
    std::thread::sleep(Duration::from_secs(2));
    assert_responsive(&mut pty);
    pty.wait_for_within(
        "no reply within the time limit while waiting for the reply to the greeting",
        Duration::from_secs(45),
    );
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(29),
        "gave up after {waited:?}, before the 30 s limit"
    );
    pty.wait_for("Reconnect to");
    assert_responsive(&mut pty);
    assert_small(&pty);
    quit(&mut pty, false);
    server.join().unwrap();
}

#[test]
fn a_hang_up_in_the_middle_of_data() {
    let (addr, server) = serve(|mut c| {
        c.greet_and_ehlo(&["8BITMIME"]);
        for reply in [
            "250 2.1.0 ok\r\n",
            "250 2.1.5 ok\r\n",
            "250 2.1.5 ok\r\n",
            "354 go\r\n",
        ] {
            let _ = c.line();
            c.send(reply.as_bytes());
        }
        // Two lines of the content, then the line goes dead.
        let _ = c.line();
        let _ = c.line();
    });
    let mut pty = Pty::spawn(&[&addr.to_string()]);
    pty.wait_for("220 fake.example ESMTP");
    pty.keys("deliver");
    pty.keys(ENTER);
    pty.wait_for("354 go");
    pty.wait_for("the server closed the connection after the message content");
    let screen = pty.screen();
    // The transcript up to the failure stays.
    for line in ["RCPT TO:<bob@example.test>", "354 go", "→ Hello Alice,"] {
        assert!(screen.contains(line), "{line} is gone:\n{screen}");
    }
    pty.wait_for("Reconnect to");
    assert_small(&pty);
    quit(&mut pty, false);
    server.join().unwrap();
}

#[test]
fn a_421_in_the_middle_of_the_session() {
    let (addr, server) = serve(hostile::closing_with_421);
    let mut pty = Pty::spawn(&[&addr.to_string()]);
    pty.wait_for("220 fake.example ESMTP");
    pty.keys("deliver");
    pty.keys(ENTER);
    pty.wait_for("421 4.3.2 shutting down");
    pty.wait_for("Reconnect to");
    assert!(pty.screen().contains("stage: closed"), "{}", pty.screen());
    assert_small(&pty);
    quit(&mut pty, false);
    server.join().unwrap();
}
