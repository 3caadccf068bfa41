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
