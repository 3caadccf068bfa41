//! Hostile and broken servers against `send`: each ends with the documented
//! exit status and a clear message, keeps the transcript up to the failure,
//! lets no raw control byte reach stdout, and stays under 64 MB.

use std::io::Write;

use predicates::prelude::*;

use crate::support::{bin, envelope_args, has_raw_control, serve};

/// The largest resident set of any child this test process has waited for,
/// in KiB (getrusage RUSAGE_CHILDREN).
fn children_peak_kib() -> i64 {
    // SAFETY: getrusage only writes into the struct we give it.
    #[allow(unsafe_code)]
    unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut u);
        u.ru_maxrss
    }
}

fn assert_small() {
    let peak = children_peak_kib();
    assert!(peak < 64 * 1024, "a child used {peak} KiB, over 64 MB");
}

#[test]
fn a_ten_megabyte_line_without_an_end() {
    let (addr, server) = serve(|mut c| {
        c.send(b"220 ");
        let chunk = vec![b'x'; 64 * 1024];
        for _ in 0..160 {
            if c.stream.write_all(&chunk).is_err() {
                break;
            }
        }
    });
    let out = bin().args(envelope_args(addr)).output().unwrap();
    server.join().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("reply line longer than 4096 bytes"), "{text}");
    assert!(
        text.contains("connected to"),
        "the transcript up to the failure is kept: {text}"
    );
    assert_small();
}

#[test]
fn a_line_that_never_ends() {
    let (addr, server) = serve(|mut c| {
        c.send(b"220 ");
        // Until the client hangs up.
        let chunk = vec![b'y'; 4096];
        while c.stream.write_all(&chunk).is_ok() {}
    });
    bin()
        .args(envelope_args(addr))
        .assert()
        .code(3)
        .stdout(predicate::str::contains("reply line longer than"));
    server.join().unwrap();
    assert_small();
}

#[test]
fn a_hundred_thousand_line_reply() {
    let (addr, server) = serve(|mut c| {
        let mut big = Vec::with_capacity(2_000_000);
        for i in 0..100_000 {
            big.extend_from_slice(format!("220-line {i}\r\n").as_bytes());
        }
        big.extend_from_slice(b"220 end\r\n");
        let _ = c.stream.write_all(&big);
        c.drain();
    });
    bin()
        .args(envelope_args(addr))
        .assert()
        .code(3)
        .stdout(predicate::str::contains("reply has more than 1000 lines"));
    server.join().unwrap();
    assert_small();
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
    let mut args = envelope_args(addr);
    args.push("--no-pipelining".into());
    bin()
        .args(&args)
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "line ended with a bare LF instead of CRLF",
        ));
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
        bin()
            .args(envelope_args(addr))
            .assert()
            .code(3)
            .stdout(predicate::str::contains(says));
        server.join().unwrap();
    }
}

#[test]
fn replies_dripped_one_byte_at_a_time() {
    let (addr, server) = serve(|mut c| {
        let drip = |c: &mut crate::support::Conn, s: &[u8]| {
            for b in s {
                let _ = c.stream.write_all(std::slice::from_ref(b));
                std::thread::sleep(std::time::Duration::from_millis(1));
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
    let out = bin()
        .args(envelope_args(addr))
        .arg("--no-pipelining")
        .output()
        .unwrap();
    server.join().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(!has_raw_control(&out.stdout));
}

/// Thirty seconds of silence before the banner. With the default 30-second
/// limit the client gives up at the limit, saying what it waited for; with a
/// longer limit it waits the stall out (as for a tarpitting server) and the
/// transaction goes through. Both clients run at once: one 30-second wait.
#[test]
fn a_thirty_second_stall_before_the_banner() {
    let stall = std::time::Duration::from_secs(30);
    let (silent, silent_server) = serve(|mut c| {
        // Silent until the client gives up, and longer than the stall.
        c.stream
            .set_read_timeout(Some(std::time::Duration::from_secs(45)))
            .unwrap();
        c.drain();
    });
    let (slow, slow_server) = serve(move |mut c| {
        std::thread::sleep(stall);
        c.greet_and_ehlo(&[]);
        for reply in ["250 2.1.0 ok\r\n", "250 2.1.5 ok\r\n", "354 go\r\n"] {
            let _ = c.line();
            c.send(reply.as_bytes());
        }
        let _ = c.read_data();
        c.send(b"250 2.0.0 queued after the wait\r\n");
        let _ = c.line();
        c.send(b"221 2.0.0 bye\r\n");
    });
    let started = std::time::Instant::now();
    let mut default_limit = std::process::Command::new(env!("CARGO_BIN_EXE_smtp-workbench"));
    let mut args = envelope_args(silent);
    // Drop "--timeout 5": the default applies.
    args.truncate(args.len() - 2);
    default_limit.args(&args);
    let waiting = std::thread::spawn(move || {
        let out = default_limit.output().unwrap();
        (out, started.elapsed())
    });
    let patient = bin()
        .args(crate::support::envelope_args_timeout(slow, "40"))
        .arg("--no-pipelining")
        .output()
        .unwrap();
    let (gave_up, after) = waiting.join().unwrap();
    silent_server.join().unwrap();
    slow_server.join().unwrap();

    let text = String::from_utf8_lossy(&gave_up.stdout);
    assert_eq!(gave_up.status.code(), Some(3), "{text}");
    assert!(
        text.contains("no reply within the time limit while waiting for the reply to the greeting"),
        "{text}"
    );
    assert!(
        text.contains("connected to"),
        "the transcript is kept: {text}"
    );
    assert!(
        after >= std::time::Duration::from_secs(29),
        "gave up after {after:?}, before the default 30 s"
    );

    let text = String::from_utf8_lossy(&patient.stdout);
    assert_eq!(patient.status.code(), Some(0), "{text}");
    assert!(text.contains("queued after the wait"), "{text}");
    assert_small();
}

/// The server hangs up while a large message is still being written: the
/// write fails, and the client says so and that the message was not
/// delivered.
#[test]
fn a_hang_up_in_the_middle_of_data() {
    let (addr, server) = serve(|mut c| {
        c.greet_and_ehlo(&[]);
        for reply in ["250 ok\r\n", "250 ok\r\n", "354 go\r\n"] {
            let _ = c.line();
            c.send(reply.as_bytes());
        }
        // Three lines of the content, then hang up.
        for _ in 0..3 {
            let _ = c.line();
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("body.txt");
    let line = "a line of a large body, long enough to fill the socket buffers\n";
    std::fs::write(&body, line.repeat(65_536)).unwrap();
    let out = bin()
        .args(envelope_args(addr))
        .arg("--no-pipelining")
        .arg("--body-file")
        .arg(&body)
        .output()
        .unwrap();
    server.join().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(text.contains("<- 354 go"), "the transcript is kept: {text}");
    // Reset or broken pipe, as the timing falls.
    assert!(
        text.contains("the message content could not all be sent (write failed: "),
        "{text}"
    );
    assert!(
        text.contains(
            "its end never went out, so the server cannot have accepted it; nothing was \
             delivered"
        ),
        "{text}"
    );
    assert!(!text.contains("message accepted"), "{text}");
    assert_small();
}
