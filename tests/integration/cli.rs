//! Usage errors: exit status 2 and a message that says what to do.

use predicates::prelude::*;

use crate::support::bin;

fn usage_error(args: &[&str], says: &str) {
    bin()
        .args(args)
        .env_remove("NO_SUCH_VAR_FOR_TESTS")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(says));
}

#[test]
fn send_usage_errors() {
    let base = ["send", "--server", "127.0.0.1:1", "--mail-from", "a@b.test"];
    usage_error(
        &[
            "send",
            "--mail-from",
            "a@b",
            "--rcpt",
            "c@d",
            "--tls",
            "implicit",
        ],
        "implicit",
    );
    usage_error(&base, "--rcpt");
    usage_error(
        &["send", "--server", "127.0.0.1:1", "--rcpt", "c@d.test"],
        "--mail-from",
    );
    let mut v = base.to_vec();
    v.extend(["--rcpt", "c@d.test", "--quit-after", "lunch"]);
    usage_error(&v, "invalid value 'lunch'");
    let mut v = base.to_vec();
    v.extend(["--rcpt", "c@d.test", "--auth", "PLAIN"]);
    usage_error(&v, "--user");
    let mut v = base.to_vec();
    v.extend([
        "--rcpt",
        "c@d.test",
        "--auth",
        "PLAIN",
        "--user",
        "u",
        "--password-env",
        "NO_SUCH_VAR_FOR_TESTS",
    ]);
    usage_error(&v, "NO_SUCH_VAR_FOR_TESTS");
    let mut v = base.to_vec();
    v.extend(["--rcpt", "c@d.test SIZE=abc"]);
    usage_error(&v, "SIZE");
    let mut v = base.to_vec();
    v.extend(["--rcpt", "c@d.test", "--insecure"]);
    usage_error(&v, "--tls");
    let mut v = base.to_vec();
    v.extend(["--rcpt", "c@d.test\r\nRCPT TO:<e@f.test>"]);
    usage_error(&v, "control character");
    let mut v = base.to_vec();
    v.extend([
        "--rcpt",
        "c@d.test",
        "--auth",
        "NTLM",
        "--user",
        "u",
        "--password-env",
        "PATH",
    ]);
    usage_error(&v, "NTLM");
    usage_error(
        &[
            "send",
            "--server",
            "[::1",
            "--mail-from",
            "a@b",
            "--rcpt",
            "c@d",
        ],
        "--server",
    );
    let mut v = base.to_vec();
    v.extend(["--rcpt", "c@d.test", "--header", "NoColonHere"]);
    usage_error(&v, "':'");
    let mut v = base.to_vec();
    v.extend(["--rcpt", "c@d.test", "--data", "/nonexistent/message.eml"]);
    usage_error(&v, "--data");
}

#[test]
fn every_command_has_help() {
    for args in [&["--help"][..], &["send", "--help"]] {
        bin()
            .args(args)
            .assert()
            .success()
            .stdout(predicate::str::contains("Usage"));
    }
    bin().args(["send", "--help"]).assert().stdout(
        predicate::str::contains("--quit-after").and(predicate::str::contains("Exit status")),
    );
}

#[test]
fn send_without_a_server_uses_the_built_in_one_and_teaches() {
    bin()
        .args([
            "send", "--ehlo", "client.example.test", "--rcpt", "alice@example.test", "--rcpt",
            "hidden@example.test", "--header-to", "alice@example.test",
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("built-in demo server"))
        .stdout(predicate::str::contains(
            "<hidden@example.test> is only in the envelope: a blind copy (delivered, shown to no one)",
        ))
        .stdout(predicate::str::contains(
            "the built-in server stored message",
        ))
        .stdout(predicate::str::contains("RCPT TO:<alice@example.test>, <hidden@example.test>"));
    bin()
        .args([
            "send",
            "--ehlo",
            "client.example.test",
            "--rcpt",
            "someone@elsewhere.example",
        ])
        .assert()
        .code(5)
        .stdout(predicate::str::contains(
            "554 5.7.1 <someone@elsewhere.example>: Relay access denied",
        ))
        .stdout(predicate::str::contains(
            "why: try: authenticate (AUTH) before sending to other domains",
        ));
    bin()
        .args(["send", "--ehlo", "client.example.test", "--tls", "starttls"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "certificate checked against the built-in server's own certificate",
        ));
}

#[test]
fn load_mode_counts_replies() {
    bin()
        .args([
            "send",
            "--ehlo",
            "c.example.test",
            "--count",
            "50",
            "--concurrency",
            "5",
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "load: 50 messages over 5 concurrent sessions",
        ))
        .stdout(predicate::str::contains(
            "50 accepted; final replies: 250 ×50",
        ));
    bin()
        .args([
            "send",
            "--ehlo",
            "c.example.test",
            "--rcpt",
            "x@elsewhere.example",
            "--count",
            "4",
            "--concurrency",
            "2",
        ])
        .assert()
        .code(5)
        .stdout(predicate::str::contains(
            "0 accepted; final replies: 554 ×4",
        ));
    usage_error(&["send", "--count", "0"], "--count");
}

/// Where a flag is given twice the last one wins; repeatable flags add up.
#[test]
fn the_last_of_a_flag_given_twice_wins() {
    let out = bin()
        .args([
            "send",
            "--mail-from",
            "first@client.example",
            "--mail-from",
            "last@client.example",
            "--rcpt",
            "alice@example.test",
            "--rcpt",
            "bob@example.test",
            "--quit-after",
            "greeting",
            "--quit-after",
            "rcpt",
        ])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8_lossy(&out);
    assert!(out.contains("-> MAIL FROM:<last@client.example>"), "{out}");
    assert!(!out.contains("first@client.example"), "{out}");
    assert!(out.contains("-> RCPT TO:<alice@example.test>"), "{out}");
    assert!(out.contains("-> RCPT TO:<bob@example.test>"), "{out}");
}
