//! `send` against real third-party servers: Postfix and aiosmtpd, started on
//! loopback by the peer scripts (`.ci/run` does it). Ignored in a plain
//! `cargo test`; run them with `cargo test -- --ignored` once the peers are
//! up and their env files are exported.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use predicates::prelude::*;

use crate::support::{bin, peer_var as env, postfix_at as postfix};

/// A token that marks one test's message.
pub(crate) fn token(name: &str) -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{name}-{t}-{}", std::process::id())
}

/// Waits for a file in `dir` containing `needle`; returns its text.
pub(crate) fn wait_for_mail(dir: &str, needle: &str, limit: Duration) -> Option<String> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                if text.contains(needle) {
                    return Some(text);
                }
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

fn base(server: &str) -> Vec<String> {
    [
        "send",
        "--server",
        server,
        "--ehlo",
        "client.example.test",
        "--mail-from",
        "tester@client.example.test",
        "--timeout",
        "20",
    ]
    .map(String::from)
    .to_vec()
}

fn ca() -> String {
    env("PEERS_TLS_CA")
}

/// TLS in `mode` with the peers' CA, and AUTH as the peers' user with the
/// password in the environment variable `password_var`.
fn tls_auth(mode: &str, mech: &str, password_var: &str) -> Vec<String> {
    args(&[
        "--tls",
        mode,
        "--ca-file",
        &ca(),
        "--auth",
        mech,
        "--user",
        &env("PEERS_POSTFIX_USER"),
        "--password-env",
        password_var,
    ])
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
#[ignore = "needs the Postfix peer"]
fn postfix_delivers_with_envelope_and_headers_as_sent() {
    let t = token("plain");
    let mut a = base(&postfix("PEERS_POSTFIX_PORT_SMTP"));
    a.extend(args(&[
        "--rcpt",
        "alice@example.test",
        "--header-to",
        "Somebody Else <somebody@elsewhere.example>",
        "--header-from",
        "Display Name <display@client.example.test>",
        "--subject",
        &t,
    ]));
    bin()
        .args(&a)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("250 2.0.0 Ok: queued"));
    let mail = wait_for_mail(&env("PEERS_POSTFIX_NEW_MAIL"), &t, Duration::from_secs(15))
        .expect("the message did not arrive in the Maildir");
    assert!(
        mail.contains("Return-Path: <tester@client.example.test>"),
        "{mail}"
    );
    assert!(mail.contains("X-Original-To: alice@example.test"), "{mail}");
    assert!(
        mail.contains("To: \"Somebody Else\" <somebody@elsewhere.example>"),
        "{mail}"
    );
    assert!(
        mail.contains("From: \"Display Name\" <display@client.example.test>"),
        "{mail}"
    );
}

#[test]
#[ignore = "needs the Postfix peer"]
fn postfix_keeps_lines_that_start_with_a_dot() {
    let t = token("dots");
    let body = format!("{t}\n.one dot\n..two dots\n.\n. space\nend\n");
    let mut a = base(&postfix("PEERS_POSTFIX_PORT_SMTP"));
    a.extend(args(&[
        "--rcpt",
        "alice@example.test",
        "--subject",
        &t,
        "--body",
        &body,
    ]));
    bin().args(&a).assert().code(0);
    let mail = wait_for_mail(&env("PEERS_POSTFIX_NEW_MAIL"), &t, Duration::from_secs(15))
        .expect("the message did not arrive");
    let body_part = mail.split("\n\n").nth(1).unwrap_or_default();
    assert!(
        body_part.starts_with(&format!("{t}\n.one dot\n..two dots\n.\n. space\nend")),
        "{mail}"
    );
}

#[test]
#[ignore = "needs the Postfix peer"]
fn postfix_starttls_with_the_test_ca() {
    let mut a = base(&postfix("PEERS_POSTFIX_PORT_SMTP"));
    a.extend(args(&[
        "--rcpt",
        "alice@example.test",
        "--tls",
        "starttls",
        "--ca-file",
        &ca(),
    ]));
    bin()
        .args(&a)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("TLS established: TLS 1."))
        .stdout(predicate::str::contains(
            "certificate checked against the CA file",
        ));
}

#[test]
#[ignore = "needs the Postfix peer"]
fn postfix_starttls_refuses_a_wrong_name() {
    let mut a = base(&postfix("PEERS_POSTFIX_PORT_SMTP"));
    a.extend(args(&[
        "--rcpt",
        "alice@example.test",
        "--tls",
        "starttls",
        "--ca-file",
        &ca(),
        "--tls-name",
        "not-the-server.example",
    ]));
    bin()
        .args(&a)
        .assert()
        .code(3)
        .stdout(predicate::str::contains("not valid for the name"));
}

#[test]
#[ignore = "needs the Postfix peer"]
fn postfix_implicit_tls_with_auth_plain() {
    let t = token("implicit");
    let mut a = base(&postfix("PEERS_POSTFIX_PORT_SMTPS"));
    a.extend(args(&["--rcpt", "alice@example.test", "--subject", &t]));
    a.extend(tls_auth("implicit", "PLAIN", "PEERS_POSTFIX_PASS"));
    bin().args(&a).assert().code(0);
    assert!(wait_for_mail(&env("PEERS_POSTFIX_NEW_MAIL"), &t, Duration::from_secs(15)).is_some());
}

#[test]
#[ignore = "needs the Postfix peer"]
fn postfix_submission_auth_plain_and_login_masks_the_password() {
    let password = env("PEERS_POSTFIX_PASS");
    for mech in ["PLAIN", "LOGIN", "CRAM-MD5"] {
        let mut a = base(&postfix("PEERS_POSTFIX_PORT_SUBMISSION"));
        a.extend(args(&["--rcpt", "alice@example.test"]));
        a.extend(tls_auth("starttls", mech, "PEERS_POSTFIX_PASS"));
        let out = bin().args(&a).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{mech}: {text}");
        assert!(
            text.contains("235 2.7.0 Authentication successful"),
            "{mech}: {text}"
        );
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        for secret in [password.clone(), b64.encode(&password)] {
            assert!(
                !text.contains(&secret),
                "{mech} leaked the password: {text}"
            );
        }
    }
}

#[test]
#[ignore = "needs the Postfix peer"]
fn postfix_wrong_password_is_refused() {
    let mut a = base(&postfix("PEERS_POSTFIX_PORT_SUBMISSION"));
    a.extend(args(&["--rcpt", "alice@example.test"]));
    a.extend(tls_auth("starttls", "LOGIN", "WRONG_PASSWORD"));
    bin()
        .args(&a)
        .env("WRONG_PASSWORD", "not-the-password")
        .assert()
        .code(5)
        .stdout(predicate::str::contains("535 5.7.8"));
}

#[test]
#[ignore = "needs the Postfix peer"]
fn postfix_auth_is_not_offered_before_starttls() {
    let mut a = base(&postfix("PEERS_POSTFIX_PORT_SMTP"));
    a.extend(args(&[
        "--rcpt",
        "alice@example.test",
        "--auth",
        "PLAIN",
        "--user",
        "alice",
        "--password-env",
        "PEERS_POSTFIX_PASS",
    ]));
    bin()
        .args(&a)
        .assert()
        .code(3)
        .stdout(predicate::str::contains("does not offer AUTH"))
        .stdout(predicate::str::contains("--tls starttls"));
}

#[test]
#[ignore = "needs the Postfix peer"]
fn postfix_refuses_to_relay_with_554() {
    let mut a = base(&postfix("PEERS_POSTFIX_PORT_SMTP"));
    a.extend(args(&["--rcpt", "someone@external.example"]));
    bin()
        .args(&a)
        .assert()
        .code(5)
        .stdout(predicate::str::contains(
            "554 5.7.1 <someone@external.example>: Relay access denied",
        ));
}

#[test]
#[ignore = "needs the Postfix peer"]
fn postfix_vrfy() {
    let server = postfix("PEERS_POSTFIX_PORT_SMTP");
    bin()
        .args([
            "send",
            "--server",
            &server,
            "--ehlo",
            "c.example.test",
            "--vrfy",
            "alice",
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("<- 252 2.0.0 alice"));
    bin()
        .args([
            "send",
            "--server",
            &server,
            "--ehlo",
            "c.example.test",
            "--vrfy",
            "no-such-user",
        ])
        .assert()
        .code(5)
        .stdout(predicate::str::contains("550 5.1.1"));
}

#[test]
#[ignore = "needs the Postfix peer"]
fn postfix_quit_after_rcpt_delivers_nothing() {
    let t = token("quit-after-rcpt");
    let mut a = base(&postfix("PEERS_POSTFIX_PORT_SMTP"));
    a.extend(args(&[
        "--rcpt",
        "alice@example.test",
        "--subject",
        &t,
        "--quit-after",
        "rcpt",
    ]));
    bin()
        .args(&a)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("-> DATA").not());
    // A delivered message appears within well under a second here; give it
    // several, then make sure nothing came.
    assert!(wait_for_mail(&env("PEERS_POSTFIX_NEW_MAIL"), &t, Duration::from_secs(3)).is_none());
}

#[test]
#[ignore = "needs the Postfix peer"]
fn postfix_bdat() {
    let t = token("bdat");
    let mut a = base(&postfix("PEERS_POSTFIX_PORT_SMTP"));
    a.extend(args(&[
        "--rcpt",
        "alice@example.test",
        "--subject",
        &t,
        "--bdat",
        "--chunk-size",
        "100",
        "--body",
        ".a dot line, never stuffed in BDAT\n",
    ]));
    bin()
        .args(&a)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("BDAT 100\n").or(predicate::str::contains("-> BDAT 100")));
    let mail = wait_for_mail(&env("PEERS_POSTFIX_NEW_MAIL"), &t, Duration::from_secs(15)).unwrap();
    assert!(
        mail.contains("\n.a dot line, never stuffed in BDAT\n"),
        "{mail}"
    );
}

#[test]
#[ignore = "needs the Postfix peer"]
fn postfix_over_ipv6_when_available() {
    if std::env::var("PEERS_POSTFIX_IPV6").as_deref() != Ok("yes") {
        eprintln!("IPv6 loopback not configured; nothing to test");
        return;
    }
    let server = format!("[::1]:{}", env("PEERS_POSTFIX_PORT_SMTP"));
    let mut a = base(&server);
    a.extend(args(&["--rcpt", "alice@example.test"]));
    bin()
        .args(&a)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("connected to [::1]"));
}

#[test]
#[ignore = "needs the aiosmtpd peer"]
fn aiosmtpd_plain_transaction() {
    let t = token("aiosmtpd");
    let server = format!(
        "{}:{}",
        env("PEERS_AIOSMTPD_HOST"),
        env("PEERS_AIOSMTPD_PORT")
    );
    let mut a = base(&server);
    a.extend(args(&[
        "--rcpt",
        "anyone@aiosmtpd.example.test",
        "--rcpt",
        "second@aiosmtpd.example.test",
        "--header-to",
        "Shown <shown@example.test>",
        "--subject",
        &t,
    ]));
    bin()
        .args(&a)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("250 2.0.0 OK: message"));
    let jsonl = PathBuf::from(env("PEERS_AIOSMTPD_JSONL"));
    let start = Instant::now();
    let record = loop {
        let text = std::fs::read_to_string(&jsonl).unwrap_or_default();
        if let Some(line) = text.lines().find(|l| l.contains(&t)) {
            break line.to_string();
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no record of {t}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(record.contains("second@aiosmtpd.example.test"), "{record}");
    assert!(record.contains("tester@client.example.test"), "{record}");
}

#[test]
#[ignore = "needs the aiosmtpd peer"]
fn aiosmtpd_refusals_give_their_exit_status() {
    let server = format!(
        "{}:{}",
        env("PEERS_AIOSMTPD_HOST"),
        env("PEERS_AIOSMTPD_PORT")
    );
    for (rcpt, code) in [("reject-me@x.example", 5), ("tempfail-me@x.example", 4)] {
        let mut a = base(&server);
        a.extend(args(&["--rcpt", rcpt]));
        bin().args(&a).assert().code(code);
    }
}

/// The `send` examples of the README, run as written against the Postfix
/// peer. `ca.pem` stands for the peer's CA; a `# … (exit status N)` comment
/// after an example gives the status it must end with (else 0).
#[test]
#[ignore = "needs the Postfix peer"]
fn readme_examples_work_against_postfix() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let examples = readme
        .split("### Examples")
        .nth(1)
        .and_then(|s| s.split("\n### ").next())
        .expect("the README has an Examples section");
    let mut commands = Vec::new();
    let mut block: Option<Vec<String>> = None;
    for line in examples.lines() {
        match (&mut block, line.trim_start().starts_with("```")) {
            (None, true) => block = Some(Vec::new()),
            (Some(lines), true) => {
                commands.push(std::mem::take(lines).join("\n"));
                block = None;
            }
            (Some(lines), false) => lines.push(line.to_string()),
            (None, false) => {}
        }
    }
    assert!(commands.len() >= 5, "found {} examples", commands.len());
    let bin_dir = PathBuf::from(env!("CARGO_BIN_EXE_smtp-workbench"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for command in commands {
        let want = command
            .split("(exit status ")
            .nth(1)
            .and_then(|s| s.split(')').next())
            .and_then(|s| s.parse::<i32>().ok())
            .unwrap_or(0);
        let script = command.replace("--ca-file ca.pem", &format!("--ca-file {}", ca()));
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&script)
            .env("PATH", &path)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(want),
            "{script}\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
