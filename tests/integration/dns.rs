//! `send --dns` and `--mx`: a DNS server that never answers (a UDP socket
//! nobody reads) and the usage errors run everywhere; the rest is ignored
//! unless asked for, against the Knot peer serving assets/zone/ and Postfix
//! behind its live MX (`tests/peers/dns-up.sh`, `postfix-up.sh`; `.ci/run`
//! starts both and exports `PEERS_DNS`).

use std::time::{Duration, Instant};

use crate::support::bin;

pub(crate) fn peers_dns() -> String {
    std::env::var("PEERS_DNS").unwrap_or_else(|_| {
        panic!("PEERS_DNS is not set: start tests/peers/dns-up.sh and export its env file")
    })
}

fn send(args: &[&str]) -> (i32, String, Duration) {
    let started = Instant::now();
    let out = bin()
        .args([
            "send",
            "--ehlo",
            "client.example.test",
            "--mail-from",
            "tester@client.example.test",
        ])
        .args(args)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.code().unwrap_or(-1), text, started.elapsed())
}

/// `send --mx` through the DNS server at `dns`, with a 2 s limit: it must
/// fail as a connection failure (exit 3) well within the limit's reach.
fn against_a_broken_dns(dns: &str) -> String {
    let (code, out, took) = send(&[
        "--dns",
        dns,
        "--mx",
        "--rcpt",
        "alice@example.test",
        "--timeout",
        "2",
    ]);
    assert_eq!(code, 3, "{out}");
    assert!(took < Duration::from_secs(6), "took {took:?}");
    out
}

#[test]
fn a_dns_server_that_never_answers_ends_within_the_timeout() {
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let dns = silent.local_addr().unwrap().to_string();
    let out = against_a_broken_dns(&dns);
    assert!(
        out.contains("dns: MX example.test → no answer within 2s (timeout)"),
        "{out}"
    );
}

/// A DNS server that answers every query with garbage (and then with a
/// reply to another query, and an escape sequence) is no answer at all:
/// the run ends within the limit with a clear line, nothing raw printed.
#[test]
fn a_dns_server_that_answers_garbage_ends_within_the_timeout() {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let dns = socket.local_addr().unwrap().to_string();
    let server = std::thread::spawn(move || {
        socket
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut buf = [0u8; 512];
        for _ in 0..50 {
            let Ok((n, from)) = socket.recv_from(&mut buf) else {
                return;
            };
            let _ = socket.send_to(b"\x1b]52;c;Z2FyYmFnZQ==\x07 not dns at all", from);
            // A well-formed header with another query's id and a bogus count.
            let mut wrong = buf[..n.min(12)].to_vec();
            wrong.resize(12, 0);
            wrong[0] ^= 0xff;
            wrong[2] = 0x81;
            wrong[7] = 0xff;
            let _ = socket.send_to(&wrong, from);
        }
    });
    let out = against_a_broken_dns(&dns);
    assert!(out.contains("dns: MX example.test → "), "{out}");
    assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{out:?}");
    drop(server);
}

#[test]
fn mx_and_server_exclude_each_other_and_so_do_4_and_6() {
    let (code, _, _) = send(&[
        "--mx",
        "example.test",
        "--server",
        "127.0.0.1",
        "--rcpt",
        "a@b.test",
    ]);
    assert_eq!(code, 2);
    let (code, _, _) = send(&["-4", "-6", "--server", "127.0.0.1", "--rcpt", "a@b.test"]);
    assert_eq!(code, 2);
    let (code, _, _) = send(&[
        "--dns",
        "ns.example.test",
        "--server",
        "127.0.0.1",
        "--rcpt",
        "a@b.test",
    ]);
    assert_eq!(code, 2);
    // --mx without a domain and without a recipient has no domain to use.
    let (code, _, _) = send(&["--mx", "--vrfy", "alice"]);
    assert_eq!(code, 2);
}

#[test]
#[ignore = "needs the DNS and Postfix peers (tests/peers/dns-up.sh, postfix-up.sh)"]
fn mx_reaches_postfix_through_the_live_mx_after_the_dead_one() {
    let dns = peers_dns();
    let (code, out, _) = send(&[
        "--dns",
        &dns,
        "--mx",
        "example.test:2525",
        "--rcpt",
        "alice@example.test",
    ]);
    assert_eq!(code, 0, "{out}");
    for needle in [
        "dns: MX example.test → 10 dead.example.test (TTL 300), 20 mail.example.test (TTL 300)",
        "connection to 127.0.0.2:2525 refused",
        "mx: trying the next host, mail.example.test",
        "dns: A mail.example.test → 127.0.0.1 (TTL 300)",
        "dns: PTR 127.0.0.1",
        "message accepted",
    ] {
        assert!(out.contains(needle), "no {needle:?} in:\n{out}");
    }
}

#[test]
#[ignore = "needs the DNS and Postfix peers (tests/peers/dns-up.sh, postfix-up.sh)"]
fn minus_4_asks_for_a_records_only() {
    let dns = peers_dns();
    let (code, out, _) = send(&[
        "--dns",
        &dns,
        "-4",
        "--mx",
        ":2525",
        "--rcpt",
        "alice@example.test",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("dns: AAAA"), "{out}");
    assert!(out.contains("connected to 127.0.0.1:2525"), "{out}");
}

#[test]
#[ignore = "needs the DNS and Postfix peers (tests/peers/dns-up.sh, postfix-up.sh)"]
fn implicit_mx_null_mx_and_nxdomain() {
    let dns = peers_dns();
    // (domain for --mx, what else to pass, exit status, what the transcript says)
    let cases: [(&str, &[&str], i32, &[&str]); 3] = [
        (
            "implicit.example.test:2525",
            &["--quit-after", "ehlo"],
            0,
            &["the implicit MX"],
        ),
        (
            "nullmx.example.test",
            &[],
            5,
            &["publishes a null MX", "556 5.1.10"],
        ),
        (
            "nxdomain.example.test",
            &[],
            3,
            &["NXDOMAIN: the name does not exist"],
        ),
    ];
    for (domain, more, want, says) in cases {
        let mut args = vec![
            "--dns",
            &dns,
            "--mx",
            domain,
            "--rcpt",
            "alice@example.test",
        ];
        args.extend_from_slice(more);
        let (code, out, _) = send(&args);
        assert_eq!(code, want, "{domain}: {out}");
        for s in says {
            assert!(out.contains(s), "{domain}: {s:?} in {out}");
        }
    }
}

/// The workbench, as a user starts it: `--mx` goes where mail for the
/// domain goes, past the dead first MX, to Postfix, and says so on screen.
#[test]
#[ignore = "needs the DNS and Postfix peers: tests/peers/dns-up.sh and postfix-up.sh (.ci/run)"]
fn the_workbench_reaches_postfix_through_the_live_mx() {
    use crate::pty::{quit, Pty};
    let dns = peers_dns();
    let port = std::env::var("PEERS_POSTFIX_PORT_SMTP").unwrap_or_else(|_| "2525".into());
    let mx = format!("example.test:{port}");
    // Tall enough that the first lines stay on screen: the judgement's
    // lookups and the FCrDNS notes follow them.
    let mut pty = Pty::spawn_sized(
        &["--dns", &dns, "--mx", &mx, "--ehlo", "client.example.test"],
        100,
    );
    pty.wait_for("dns: MX example.test → 10 dead.example.test");
    pty.wait_for("mx: trying the next host, mail.example.test");
    pty.wait_for("220 mail.example.test ESMTP Postfix");
    quit(&mut pty, true);
}

/// The palette's "Connect to the MX of …" (the first recipient's domain),
/// chosen as a user does: after a first session, Disconnect, then the
/// item; the new session goes past the dead first MX to Postfix. The port
/// is --mx's (Postfix's test port is not 25), which the item keeps.
#[test]
#[ignore = "needs the DNS and Postfix peers: tests/peers/dns-up.sh and postfix-up.sh (.ci/run)"]
fn the_palettes_connect_to_the_mx_reaches_postfix_after_the_dead_mx() {
    use crate::pty::{quit, Pty, ENTER};
    let dns = peers_dns();
    let port = std::env::var("PEERS_POSTFIX_PORT_SMTP").unwrap_or_else(|_| "2525".into());
    let mx = format!("example.test:{port}");
    // Tall enough that both sessions' lines stay on screen.
    let mut pty = Pty::spawn_sized(
        &["--dns", &dns, "--mx", &mx, "--ehlo", "client.example.test"],
        150,
    );
    pty.wait_for("220 mail.example.test ESMTP Postfix");
    pty.keys("Disconnect");
    pty.keys(ENTER);
    pty.wait_for("Connect to the MX of example.test");
    // The filter went with the Enter; "MX of" finds only the item.
    pty.keys("MX of");
    pty.keys(ENTER);
    // What the second session said, read after its banner.
    let after = |pty: &Pty| {
        let screen = pty.screen();
        screen
            .find("session 2 with")
            .map(|i| screen[i..].to_string())
            .unwrap_or_default()
    };
    let started = Instant::now();
    let wanted = [
        "dns: MX example.test → 10 dead.example.test",
        "refused",
        "mx: trying the next host, mail.example.test",
        "220 mail.example.test ESMTP Postfix",
    ];
    while !wanted.iter().all(|w| after(&pty).contains(w)) {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "session 2 never showed all of {wanted:?}; the screen:\n{}",
            pty.screen()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    quit(&mut pty, true);
}
