//! Everyday use (issue 14): profiles from the config file, `config`,
//! `--message FILE.eml`, attachments and HTML. Every run points `HOME` and
//! `XDG_CONFIG_HOME` at a temp dir, so no test reads this machine's config.

use std::path::{Path, PathBuf};
use std::time::Duration;

use predicates::prelude::*;
use tempfile::TempDir;

use crate::peers::{token, wait_for_mail};
use crate::support::bin;

/// A home of its own with this config file (none when `config` is None).
struct Home {
    dir: TempDir,
}

impl Home {
    fn new(config: Option<&str>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        if let Some(text) = config {
            let d = dir.path().join("xdg").join("smtp-workbench");
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("config.toml"), text).unwrap();
        }
        Home { dir }
    }

    fn config_path(&self) -> PathBuf {
        self.dir.path().join("xdg/smtp-workbench/config.toml")
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn bin(&self) -> assert_cmd::Command {
        let mut c = bin();
        c.env("HOME", self.dir.path())
            .env("XDG_CONFIG_HOME", self.dir.path().join("xdg"));
        c
    }
}

const BUILTIN: &str = r#"
[profile.demo]
tls = "starttls"
ehlo = "profile.example.test"
mail_from = "profile@example.test"
"#;

#[test]
fn a_profile_fills_in_what_the_command_line_leaves_out() {
    let home = Home::new(Some(BUILTIN));
    let out = home
        .bin()
        .args(["send", "-p", "demo", "--rcpt", "alice@example.test"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("EHLO profile.example.test"), "{text}");
    assert!(text.contains("STARTTLS"), "{text}");
    assert!(text.contains("MAIL FROM:<profile@example.test>"), "{text}");
    assert!(
        text.contains("profile demo: tls, ehlo, mail_from from the config file"),
        "{text}"
    );
}

#[test]
fn a_flag_on_the_command_line_wins_over_the_profile_even_at_its_default() {
    let home = Home::new(Some(BUILTIN));
    let out = home
        .bin()
        .args([
            "send",
            "--profile",
            "demo",
            "--tls",
            "none",
            "--ehlo",
            "flag.example.test",
            "--mail-from",
            "flag@example.test",
            "--rcpt",
            "alice@example.test",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("EHLO flag.example.test"), "{text}");
    assert!(!text.contains("> STARTTLS"), "{text}");
    assert!(text.contains("MAIL FROM:<flag@example.test>"), "{text}");
    assert!(!text.contains("profile.example.test"), "{text}");
    assert!(
        text.contains("every key it has was given on the command line"),
        "{text}"
    );
}

#[test]
fn the_profiles_server_is_used_and_the_flag_overrides_it() {
    let closed = crate::support::closed_port();
    let home = Home::new(Some(&format!(
        "[profile.far]\nserver = \"{closed}\"\nehlo = \"far.example.test\"\n"
    )));
    home.bin()
        .args(["send", "-p", "far", "--mail-from", "a@b.test"])
        .args(["--rcpt", "alice@example.test", "--timeout", "3"])
        .assert()
        .code(3)
        .stdout(predicate::str::contains(closed.to_string()));
}

#[test]
fn a_missing_password_variable_is_a_usage_error() {
    let home = Home::new(Some(
        "[profile.x]\nauth = \"PLAIN\"\nuser = \"alice@example.test\"\n\
         password_env = \"SMTP_WORKBENCH_TEST_UNSET\"\n",
    ));
    home.bin()
        .env_remove("SMTP_WORKBENCH_TEST_UNSET")
        .args([
            "send",
            "-p",
            "x",
            "--mail-from",
            "a@b.test",
            "--rcpt",
            "c@d.test",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "SMTP_WORKBENCH_TEST_UNSET: that environment variable is not set",
        ));
}

#[test]
fn a_failing_password_command_is_a_usage_error_saying_why() {
    let home = Home::new(Some(
        "[profile.x]\nauth = \"PLAIN\"\nuser = \"alice@example.test\"\n\
         password_command = \"echo 'gpg: decryption failed' >&2; exit 2\"\n",
    ));
    home.bin()
        .args([
            "send",
            "-p",
            "x",
            "--mail-from",
            "a@b.test",
            "--rcpt",
            "c@d.test",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "exited with status 2: gpg: decryption failed",
        ));
}

#[test]
fn a_password_command_that_works_authenticates() {
    let home = Home::new(Some(
        "[profile.x]\nauth = \"PLAIN\"\nuser = \"alice@example.test\"\n\
         password_command = \"printf 'wonderland\\\\n'\"\n",
    ));
    let out = home
        .bin()
        .args(["send", "-p", "x", "--tls", "starttls"])
        .args([
            "--mail-from",
            "alice@example.test",
            "--rcpt",
            "bob@example.test",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("235"), "{text}");
    // Once, in the built-in server's description of itself; never on the wire.
    assert_eq!(text.matches("wonderland").count(), 1, "{text}");
}

#[test]
fn a_malformed_config_file_names_its_line() {
    for (text, line, says) in [
        (
            "[profile.x]\nserver = \"a\"\n\nserver = \"b\"\n",
            4,
            "duplicate key",
        ),
        ("[profile.x]\nserver = \"a\n", 2, ""),
        (
            "[profile.x]\nuser = \"u\"\npassword = \"hunter2\"\n",
            3,
            "never stored",
        ),
        ("[profile.x]\nport = 25\n", 2, "unknown field `port`"),
        (
            "[profile.x]\ntls = \"yes\"\n",
            2,
            "one of none, starttls, implicit",
        ),
    ] {
        let home = Home::new(Some(text));
        let want = format!("{}, line {line}: ", home.config_path().display());
        for run in [
            vec![
                "send",
                "-p",
                "x",
                "--mail-from",
                "a@b.test",
                "--rcpt",
                "c@d.test",
            ],
            vec!["config"],
        ] {
            let out = home.bin().args(&run).output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{text:?}: {err}");
            assert!(err.contains(&want) && err.contains(says), "{text:?}: {err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
    }
}

#[test]
fn an_unknown_profile_lists_the_known_ones() {
    let home = Home::new(Some(BUILTIN));
    home.bin()
        .args([
            "send",
            "-p",
            "nope",
            "--mail-from",
            "a@b.test",
            "--rcpt",
            "c@d.test",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "no profile \"nope\" (profiles: demo)",
        ));
    let bare = Home::new(None);
    bare.bin()
        .args([
            "send",
            "-p",
            "nope",
            "--mail-from",
            "a@b.test",
            "--rcpt",
            "c@d.test",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("there is no config file at"));
}

#[test]
fn config_prints_the_path_and_the_profiles_masked() {
    let home = Home::new(Some(
        "[profile.work]\nserver = \"mail.example.com:587\"\ntls = \"starttls\"\n\
         auth = \"PLAIN\"\nuser = \"me@example.com\"\npassword_env = \"SMTP_WB_SET\"\n\
         [profile.home]\nuser = \"me\"\nauth = \"LOGIN\"\n\
         password_command = \"pass show secret-entry\"\n",
    ));
    let out = home
        .bin()
        .env("SMTP_WB_SET", "hunter2")
        .arg("config")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.starts_with(&format!(
            "# config file: {}\n",
            home.config_path().display()
        )),
        "{text}"
    );
    assert!(
        text.contains("[profile.work]\nserver = \"mail.example.com:587\""),
        "{text}"
    );
    assert!(
        text.contains("password_env = \"SMTP_WB_SET\" # set"),
        "{text}"
    );
    assert!(text.contains("password_command = \"pass ****\""), "{text}");
    assert!(
        !text.contains("hunter2") && !text.contains("secret-entry"),
        "{text}"
    );
    // Without XDG_CONFIG_HOME, ~/.config.
    let out = home
        .bin()
        .env_remove("XDG_CONFIG_HOME")
        .arg("config")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let want = home.path().join(".config/smtp-workbench/config.toml");
    assert!(
        text.contains(&format!("# config file: {}", want.display())),
        "{text}"
    );
    assert!(text.contains("not there yet"), "{text}");
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: start the peers and export their env files (see .ci/run)")
    })
}

#[test]
#[ignore = "needs the Postfix peer"]
fn a_profile_alone_carries_starttls_and_auth_to_postfix_submission() {
    let home = Home::new(Some(&format!(
        "[profile.submission]\nserver = \"{}:{}\"\ntls = \"starttls\"\nca_file = \"{}\"\n\
         ehlo = \"client.example.test\"\nauth = \"PLAIN\"\n\
         user = \"{}\"\npassword_env = \"PEERS_POSTFIX_PASS\"\nmail_from = \"{}\"\n",
        env("PEERS_POSTFIX_HOST"),
        env("PEERS_POSTFIX_PORT_SUBMISSION"),
        env("PEERS_TLS_CA"),
        env("PEERS_POSTFIX_USER"),
        env("PEERS_POSTFIX_USER"),
    )));
    let t = token("profile");
    let out = home
        .bin()
        .args(["send", "-p", "submission", "--rcpt", "alice@example.test"])
        .args(["--subject", &t])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("STARTTLS"), "{text}");
    assert!(text.contains("235 2.7.0"), "{text}");
    assert!(!text.contains(&env("PEERS_POSTFIX_PASS")), "{text}");
    assert!(wait_for_mail(&env("PEERS_POSTFIX_NEW_MAIL"), &t, Duration::from_secs(15)).is_some());
}
