//! Hostile and broken servers against `send`. Every case goes through
//! [`against`], which checks what each must show: the documented exit status
//! and a clear message, an end within the time limit, the transcript up to
//! the failure kept, no raw control byte from the server on stdout or
//! stderr, and a peak resident set under 64 MB.

use std::io::Write;
use std::process::Output;
use std::time::{Duration, Instant};

use crate::support::{envelope_args, envelope_args_timeout, has_raw_control, serve, Conn};

/// Runs `send` with `args`; its output and its own peak resident set in
/// KiB, from `wait4` (getrusage of the whole test process would mix in the
/// other tests' children). A run still going after 60 s is killed.
fn run_measured(args: &[String]) -> (Output, i64) {
    use std::io::Read;
    use std::os::unix::process::ExitStatusExt;
    use std::process::{Command, Stdio};

    // Reaped below with wait4, which std does not know of.
    #[allow(clippy::zombie_processes)]
    let mut child = Command::new(env!("CARGO_BIN_EXE_smtp-workbench"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let collect = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            v
        })
    };
    let stdout = collect(Box::new(child.stdout.take().unwrap()));
    let stderr = collect(Box::new(child.stderr.take().unwrap()));
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    let (done, watched) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if watched.recv_timeout(Duration::from_secs(60)).is_err() {
            // SAFETY: kill only sends a signal; the child is not yet reaped
            // (this thread is told before wait4 returns otherwise).
            #[allow(unsafe_code)]
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    });
    let mut status = 0;
    // SAFETY: wait4 writes only into the status and rusage we give it.
    #[allow(unsafe_code)]
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        let reaped = libc::wait4(pid, &mut status, 0, &mut usage);
        assert_eq!(reaped, pid, "wait4 failed");
        usage
    };
    let _ = done.send(());
    watchdog.join().unwrap();
    let out = Output {
        status: std::process::ExitStatus::from_raw(status),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    };
    (out, usage.ru_maxrss)
}

/// Runs `send` with `args` (which hold `--timeout`) and checks the common
/// promises; `says` must all be in the transcript. Returns the transcript.
fn against(args: &[String], code: i32, says: &[&str]) -> String {
    let limit: f64 = args
        .iter()
        .skip_while(|a| *a != "--timeout")
        .nth(1)
        .and_then(|t| t.parse().ok())
        .unwrap_or(30.0);
    let started = Instant::now();
    let (out, peak) = run_measured(args);
    let took = started.elapsed();
    check(&out, peak, code, says);
    // Slack for a loaded machine.
    let bound = Duration::from_secs_f64(limit) + Duration::from_secs(10);
    assert!(took < bound, "took {took:?} with a {limit} s limit");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn check(out: &Output, peak_kib: i64, code: i32, says: &[&str]) {
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(code), "{text}");
    for s in says {
        assert!(text.contains(s), "the transcript lacks {s:?}:\n{text}");
    }
    assert!(
        text.contains("connected to"),
        "the transcript up to the failure is kept:\n{text}"
    );
    assert!(!has_raw_control(&out.stdout), "raw control byte: {text:?}");
    assert!(
        !has_raw_control(&out.stderr),
        "raw control byte on stderr: {:?}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Shown with --nocapture: the figures for BENCHMARKS.md.
    eprintln!(
        "{}: exit {code}, peak resident set {peak_kib} KiB",
        std::thread::current().name().unwrap_or("?")
    );
    assert!(peak_kib > 0, "no peak memory measured");
    assert!(peak_kib < 64 * 1024, "send used {peak_kib} KiB, over 64 MB");
}

/// A server that answers EHLO, MAIL, RCPT and DATA (each after reading the
/// command), as a plain server would.
fn up_to_354(c: &mut Conn) {
    c.greet_and_ehlo(&[]);
    for reply in ["250 2.1.0 ok\r\n", "250 2.1.5 ok\r\n", "354 go\r\n"] {
        let _ = c.line();
        c.send(reply.as_bytes());
    }
}

fn no_pipelining(addr: std::net::SocketAddr) -> Vec<String> {
    let mut args = envelope_args(addr);
    args.push("--no-pipelining".into());
    args
}

// The servers that `send` here and the workbench in `pty_hostile.rs` both
// meet.

/// "220 " and then 10 MB with no line end.
pub fn ten_megabyte_line(mut c: Conn) {
    c.send(b"220 ");
    let chunk = vec![b'x'; 64 * 1024];
    for _ in 0..160 {
        if c.stream.write_all(&chunk).is_err() {
            return;
        }
    }
    c.drain();
}

/// A greeting of 100,000 lines.
pub fn hundred_thousand_lines(mut c: Conn) {
    let mut big = Vec::with_capacity(2_000_000);
    for i in 0..100_000 {
        big.extend_from_slice(format!("220-line {i}\r\n").as_bytes());
    }
    big.extend_from_slice(b"220 end\r\n");
    c.send(&big);
    c.drain();
}

/// A greeting, then "250 ok" without end, until the client hangs up.
pub fn flood(mut c: Conn) {
    let flood = b"250 ok\r\n".repeat(8192);
    // The greeting and the first of the flood in one write: whatever the
    // client reads first, replies come before EHLO.
    let mut first = b"220 flood.example ESMTP\r\n".to_vec();
    first.extend_from_slice(&flood);
    c.send(&first);
    while c.stream.write_all(&flood).is_ok() {}
}

/// A greeting and EHLO, then 421 to the next command.
pub fn closing_with_421(mut c: Conn) {
    c.greet_and_ehlo(&[]);
    let _ = c.line();
    c.send(b"421 4.3.2 shutting down\r\n");
}

#[test]
fn escape_sequences_and_invalid_utf8() {
    let (addr, server) = serve(|mut c| {
        c.send(b"220 evil \x1b[2J\x1b]52;c;aGVsbG8=\x07 \x9b31m \xc2\x9b \xff\xfe ESMTP\r\n");
        let _ = c.line();
        c.send(b"250-fake \x1bP bell\x07\r\n250 SIZE 100\r\n");
        let _ = c.line();
        c.send(b"250 ok \x1b[31mred\r\n");
        let _ = c.line();
        c.send(b"550 5.1.1 no \x1b]0;title\x07\r\n");
        let _ = c.line();
        c.send(b"221 bye\r\n");
    });
    against(
        &envelope_args(addr),
        5,
        &[
            "220 evil ␛[2J␛]52;c;aGVsbG8=␇ \\x9b31m \\u{9b} \\xff\\xfe ESMTP",
            "550 5.1.1 no ␛]0;title␇",
        ],
    );
    server.join().unwrap();
}

#[test]
fn a_ten_megabyte_line_without_an_end() {
    let (addr, server) = serve(ten_megabyte_line);
    against(
        &envelope_args(addr),
        3,
        &["reply line longer than 4096 bytes"],
    );
    server.join().unwrap();
}

#[test]
fn a_line_that_never_ends() {
    let (addr, server) = serve(|mut c| {
        c.send(b"220 ");
        // Until the client hangs up.
        let chunk = vec![b'y'; 4096];
        while c.stream.write_all(&chunk).is_ok() {}
    });
    against(&envelope_args(addr), 3, &["reply line longer than"]);
    server.join().unwrap();
}

#[test]
fn a_hundred_thousand_line_reply() {
    let (addr, server) = serve(hundred_thousand_lines);
    against(&envelope_args(addr), 3, &["reply has more than 1000 lines"]);
    server.join().unwrap();
}

/// Thirty seconds of silence before the banner. With the default 30-second
/// limit the client gives up at the limit, saying what it waited for; with a
/// longer limit it waits the stall out (as for a tarpitting server) and the
/// transaction goes through. Both clients run at once: one 30-second wait.
#[test]
fn a_thirty_second_stall_before_the_banner() {
    let stall = Duration::from_secs(30);
    let (silent, silent_server) = serve(|mut c| {
        // Silent until the client gives up, and longer than the stall.
        c.stream
            .set_read_timeout(Some(Duration::from_secs(45)))
            .unwrap();
        c.drain();
    });
    let (slow, slow_server) = serve(move |mut c| {
        std::thread::sleep(stall);
        up_to_354(&mut c);
        let _ = c.read_data();
        c.send(b"250 2.0.0 queued after the wait\r\n");
        let _ = c.line();
        c.send(b"221 2.0.0 bye\r\n");
    });
    let started = Instant::now();
    let mut default_limit = envelope_args(silent);
    // Drop "--timeout 5": the default applies.
    default_limit.truncate(default_limit.len() - 2);
    let waiting = std::thread::spawn(move || {
        let measured = run_measured(&default_limit);
        (measured, started.elapsed())
    });
    let mut patient = envelope_args_timeout(slow, "40");
    patient.push("--no-pipelining".into());
    let text = against(&patient, 0, &["queued after the wait"]);
    assert!(text.contains("(300"), "the wait shows as latency: {text}");
    let ((gave_up, peak), after) = waiting.join().unwrap();
    silent_server.join().unwrap();
    slow_server.join().unwrap();
    check(
        &gave_up,
        peak,
        3,
        &["no reply within the time limit while waiting for the reply to the greeting"],
    );
    assert!(
        after >= Duration::from_secs(29) && after < Duration::from_secs(40),
        "gave up after {after:?}, not at the default 30 s"
    );
}

#[test]
fn a_reply_dripped_forever_cannot_defeat_the_deadline() {
    let (addr, server) = serve(|mut c| {
        c.send(b"220 ");
        // One byte every 200 ms, never a line end: the deadline is on the
        // reply as a whole, so this must not keep the client waiting.
        for _ in 0..100 {
            std::thread::sleep(Duration::from_millis(200));
            if c.stream.write_all(b"x").is_err() {
                break;
            }
        }
    });
    against(
        &envelope_args_timeout(addr, "1"),
        3,
        &[
            "no reply within the time limit while waiting for the reply to the greeting; \
             part of a reply came, never finished (the limit covers a whole reply): \"220 x",
        ],
    );
    server.join().unwrap();
}

#[test]
fn replies_dripped_one_byte_at_a_time() {
    let (addr, server) = serve(|mut c| {
        let drip = |c: &mut Conn, s: &[u8]| {
            for b in s {
                let _ = c.stream.write_all(std::slice::from_ref(b));
                std::thread::sleep(Duration::from_millis(1));
            }
        };
        drip(&mut c, b"220 drip.example ESMTP\r\n");
        let _ = c.line();
        drip(&mut c, b"250-drip.example\r\n250 8BITMIME\r\n");
        for reply in [&b"250 2.1.0 ok\r\n"[..], b"250 2.1.5 ok\r\n", b"354 go\r\n"] {
            let _ = c.line();
            drip(&mut c, reply);
        }
        let _ = c.read_data();
        drip(&mut c, b"250 2.0.0 queued\r\n");
        let _ = c.line();
        drip(&mut c, b"221 2.0.0 bye\r\n");
    });
    against(&no_pipelining(addr), 0, &["<- 250 2.0.0 queued"]);
    server.join().unwrap();
}

#[test]
fn lf_only_replies_work_and_are_reported() {
    let (addr, server) = serve(|mut c| {
        c.send(b"220 lf.example ESMTP\n");
        let _ = c.line();
        c.send(b"250-lf.example\n250 SIZE 1000000\n");
        for reply in ["250 ok\n", "250 ok\n", "354 go\n"] {
            let _ = c.line();
            c.send(reply.as_bytes());
        }
        let _ = c.read_data();
        c.send(b"250 queued\n");
        let _ = c.line();
        c.send(b"221 bye\n");
    });
    let text = against(
        &no_pipelining(addr),
        0,
        &["line ended with a bare LF instead of CRLF (said once per session)"],
    );
    assert_eq!(text.matches("bare LF instead of CRLF").count(), 1, "{text}");
    server.join().unwrap();
}

#[test]
fn malformed_codes() {
    for (greeting, says) in [
        (
            &b"2x0 hello\r\n"[..],
            "does not start with a three-digit code",
        ),
        (b"999 hello\r\n", "outside the codes SMTP defines"),
        (b"220hello\r\n", "not followed by a space or a hyphen"),
    ] {
        let (addr, server) = serve(move |mut c| {
            c.send(greeting);
            c.drain();
        });
        against(&envelope_args(addr), 3, &[says]);
        server.join().unwrap();
    }
}

#[test]
fn different_codes_in_one_reply_are_a_protocol_error() {
    let (addr, server) = serve(|mut c| {
        up_to_354(&mut c);
        let _ = c.read_data();
        c.send(b"550-5.7.1 rejected\r\n250 2.0.0 queued\r\n");
        c.drain();
    });
    let text = against(
        &no_pipelining(addr),
        3,
        &["changes its code from 550 to 250"],
    );
    assert!(!text.contains("message accepted"), "{text}");
    server.join().unwrap();
}

#[test]
fn hang_up_at_each_stage_says_where() {
    for (answers, stage) in [
        (0, "the greeting"),
        (1, "EHLO"),
        (2, "MAIL FROM"),
        (3, "RCPT TO"),
        (4, "DATA"),
    ] {
        let (addr, server) = serve(move |mut c| {
            let replies = ["220 fake\r\n", "250 fake\r\n", "250 ok\r\n", "250 ok\r\n"];
            for (i, r) in replies.iter().take(answers).enumerate() {
                if i > 0 {
                    let _ = c.line();
                }
                c.send(r.as_bytes());
            }
            if answers > 0 {
                let _ = c.line();
            }
        });
        against(
            &no_pipelining(addr),
            3,
            &[&format!(
                "the server closed the connection while waiting for the reply to {stage}"
            )],
        );
        server.join().unwrap();
    }
}

/// The server hangs up while a large message is still being written: the
/// write fails, and the client says that the end of the message never went
/// out, so nothing was delivered.
#[test]
fn a_hang_up_in_the_middle_of_data() {
    let (addr, server) = serve(|mut c| {
        up_to_354(&mut c);
        // Three lines of the content, then hang up.
        for _ in 0..3 {
            let _ = c.line();
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("body.txt");
    let line = "a line of a large body, long enough to fill the socket buffers\n";
    std::fs::write(&body, line.repeat(65_536)).unwrap();
    let mut args = no_pipelining(addr);
    args.extend(["--body-file".into(), body.display().to_string()]);
    // Reset or broken pipe, as the timing falls.
    let text = against(
        &args,
        3,
        &[
            "<- 354 go",
            "the message content could not all be sent (write failed: ",
            "its end never went out, so the server cannot have accepted it; nothing was \
             delivered",
        ],
    );
    assert!(!text.contains("message accepted"), "{text}");
    server.join().unwrap();
}

#[test]
fn hang_up_after_the_final_dot_is_not_success() {
    let (addr, server) = serve(|mut c| {
        up_to_354(&mut c);
        let _ = c.read_data();
        // No reply: hang up.
    });
    against(&no_pipelining(addr), 3, &["delivery status unknown"]);
    server.join().unwrap();
}

#[test]
fn a_421_in_the_middle_ends_with_status_4() {
    let (addr, server) = serve(closing_with_421);
    against(
        &envelope_args(addr),
        4,
        &[
            "<- 421 4.3.2 shutting down",
            "the server is closing the connection (421)",
        ],
    );
    server.join().unwrap();
}

/// A server that sends replies without end, asked or not: the first one
/// read before its command was sent ends the session as a protocol error,
/// instead of being taken as the answer to EHLO (and the next to MAIL...).
#[test]
fn a_flood_of_replies() {
    let (addr, server) = serve(flood);
    let text = against(
        &envelope_args(addr),
        3,
        &["the server sent 250 before the command it would answer was sent"],
    );
    assert!(!text.contains("-> MAIL"), "{text}");
    server.join().unwrap();
}

#[test]
fn plaintext_after_starttls_is_a_tls_failure() {
    let (addr, server) = serve(|mut c| {
        c.greet_and_ehlo(&["STARTTLS"]);
        let _ = c.line();
        c.send(b"220 go ahead\r\nthis is not TLS at all\r\n");
        c.drain();
    });
    let mut args = envelope_args(addr);
    args.extend(["--tls", "starttls", "--insecure"].map(String::from));
    against(&args, 3, &["<- 220 go ahead", "TLS"]);
    server.join().unwrap();
}
