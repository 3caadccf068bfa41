//! Everyday use (issue 14): profiles from the config file, `config`,
//! `--message FILE.eml`, attachments and HTML. Every run points `HOME` and
//! `XDG_CONFIG_HOME` at a temp dir, so no test reads this machine's config.

use std::path::{Path, PathBuf};
use std::time::Duration;

use predicates::prelude::*;
use tempfile::TempDir;

use crate::peers::{token, wait_for_mail};
use crate::support::{bin, peer_var, PEER_ENVELOPE};

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

    /// `send -p PROFILE` with a sender and a recipient, in this home.
    fn send_profile(&self, profile: &str) -> assert_cmd::Command {
        let mut c = self.bin();
        c.args([
            "send",
            "-p",
            profile,
            "--mail-from",
            "a@b.test",
            "--rcpt",
            "c@d.test",
        ]);
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
    let other = crate::support::closed_port();
    home.bin()
        .args(["send", "-p", "far", "--server", &other.to_string()])
        .args([
            "--mail-from",
            "a@b.test",
            "--rcpt",
            "alice@example.test",
            "--timeout",
            "3",
        ])
        .assert()
        .code(3)
        .stdout(predicate::str::contains(other.to_string()))
        .stdout(predicate::str::contains(closed.to_string()).not());
}

/// A profile that authenticates as alice with `password` (its
/// `password_env` or `password_command` line) that cannot give one: `send
/// -p` is a usage error whose message has `says`.
fn a_profile_password_fails(password: &str, says: &str) {
    let home = Home::new(Some(&format!(
        "[profile.x]\nauth = \"PLAIN\"\nuser = \"alice@example.test\"\n{password}\n"
    )));
    home.send_profile("x")
        .env_remove("SMTP_WORKBENCH_TEST_UNSET")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(says));
}

#[test]
fn a_missing_password_variable_is_a_usage_error() {
    a_profile_password_fails(
        "password_env = \"SMTP_WORKBENCH_TEST_UNSET\"",
        "SMTP_WORKBENCH_TEST_UNSET: that environment variable is not set",
    );
}

#[test]
fn a_failing_password_command_is_a_usage_error_saying_why() {
    a_profile_password_fails(
        "password_command = \"echo 'gpg: decryption failed' >&2; exit 2\"",
        "exited with status 2: gpg: decryption failed",
    );
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
        let mut config = home.bin();
        config.arg("config");
        for mut run in [home.send_profile("x"), config] {
            let out = run.output().unwrap();
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
    home.send_profile("nope")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "no profile \"nope\" (profiles: demo)",
        ));
    let bare = Home::new(None);
    bare.send_profile("nope")
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

#[test]
#[ignore = "needs the Postfix peer"]
fn a_profile_alone_carries_starttls_and_auth_to_postfix_submission() {
    let home = Home::new(Some(&format!(
        "[profile.submission]\nserver = \"{}:{}\"\ntls = \"starttls\"\nca_file = \"{}\"\n\
         ehlo = \"client.example.test\"\nauth = \"PLAIN\"\n\
         user = \"{}\"\npassword_env = \"PEERS_POSTFIX_PASS\"\nmail_from = \"{}\"\n",
        peer_var("PEERS_POSTFIX_HOST"),
        peer_var("PEERS_POSTFIX_PORT_SUBMISSION"),
        peer_var("PEERS_TLS_CA"),
        peer_var("PEERS_POSTFIX_USER"),
        peer_var("PEERS_POSTFIX_USER"),
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
    assert!(!text.contains(&peer_var("PEERS_POSTFIX_PASS")), "{text}");
    assert!(wait_for_mail(
        &peer_var("PEERS_POSTFIX_NEW_MAIL"),
        &t,
        Duration::from_secs(15)
    )
    .is_some());
}

// -- Real messages: --message FILE.eml

const EML: &str = "From: \"Bob Example\" <bob@example.org>\n\
To: alice@example.test,\n\tcarol@example.test\n\
Subject: Complaint =?utf-8?q?f=C3=BCr?= you\n\
Date: Thu, 3 Dec 2026 10:00:00 +0000\n\
Message-ID: <complaint-1@example.org>\n\
X-Mailer: Thunderbird\n\
\n\
.a line that starts with a dot\n\
Hello.\n";

fn eml_file(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("complaint.eml");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn send_message_takes_the_files_fields_and_the_flags_replace_them() {
    let home = Home::new(None);
    let eml = eml_file(home.path(), EML);
    let out = home
        .bin()
        .args(["send", "--message"])
        .arg(&eml)
        .args([
            "--subject",
            "Re-sent",
            "--header",
            "X-Mailer: smtp-workbench",
        ])
        .args([
            "--mail-from",
            "tester@client.example",
            "--rcpt",
            "alice@example.test",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    for line in [
        "-> From: \"Bob Example\" <bob@example.org>",
        "-> To: alice@example.test,",
        "-> Subject: Re-sent",
        "-> Message-ID: <complaint-1@example.org>",
        "-> X-Mailer: smtp-workbench",
        "-> ..a line that starts with a dot",
        "MAIL FROM:<tester@client.example>",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }
    assert!(!text.contains("Thunderbird"), "{text}");
    assert!(
        text.contains(
            "replaced by the flags: Subject, X-Mailer; the envelope is --mail-from and --rcpt only"
        ),
        "{text}"
    );
}

#[test]
fn send_message_refuses_what_is_not_a_message_and_conflicts_with_data() {
    let home = Home::new(None);
    let eml = eml_file(home.path(), "\n\njust text\n");
    home.bin()
        .args(["send", "--message"])
        .arg(&eml)
        .args(["--mail-from", "a@b.test", "--rcpt", "c@d.test"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a message"));
    home.bin()
        .args(["send", "--message"])
        .arg(&eml)
        .arg("--data")
        .arg(&eml)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot be used with"));
}

// -- Attachments and HTML

fn binary_file(dir: &Path, name: &str, len: usize) -> (PathBuf, Vec<u8>) {
    let bytes: Vec<u8> = (0..len).map(|i| (i * 7919 % 251) as u8).collect();
    let p = dir.join(name);
    std::fs::write(&p, &bytes).unwrap();
    (p, bytes)
}

#[test]
fn an_attachment_is_one_line_in_the_transcript_and_every_line_in_json() {
    let home = Home::new(None);
    let (pdf, _) = binary_file(home.path(), "report.pdf", 123_456);
    let html = home.path().join("body.html");
    std::fs::write(&html, "<p>Hello</p>\n").unwrap();
    let run = |format: &str| {
        let out = home
            .bin()
            .args(["send", "--attach"])
            .arg(&pdf)
            .arg("--html")
            .arg(&html)
            .args(["--body", "Hello", "--format", format])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        String::from_utf8(out.stdout).unwrap()
    };
    let text = run("text");
    // 123,456 bytes are 164,608 base64 characters, 76 a line.
    assert!(
        text.contains("-> [attachment report.pdf, application/pdf, 121 KB as 2,166 base64 lines]"),
        "{text}"
    );
    assert!(
        text.contains("attaching report.pdf: application/pdf (guessed from its name)"),
        "{text}"
    );
    assert!(
        text.contains("Content-Type: multipart/alternative"),
        "{text}"
    );
    assert!(text.contains("-> <p>Hello</p>"), "{text}");
    let base64_lines = text
        .lines()
        .filter(|l| l.len() > 70 && l.rsplit(' ').next().is_some_and(|w| w.len() == 76))
        .count();
    assert_eq!(base64_lines, 0, "{text}");
    let json = run("json");
    let b64_in_json = json
        .lines()
        .filter(|l| l.contains("\"kind\":\"client\""))
        .filter(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let t = v["text"].as_str().unwrap_or("");
            t.len() == 76
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b))
        })
        .count();
    assert!(b64_in_json > 900, "JSON keeps the lines: {b64_in_json}");
    assert!(!json.contains("[attachment"), "JSON is not folded");
}

#[test]
fn attach_type_names_the_type_of_the_attach_before_it() {
    let home = Home::new(None);
    let (a, _) = binary_file(home.path(), "a.bin", 100);
    let (b, _) = binary_file(home.path(), "b.pdf", 100);
    let out = home
        .bin()
        .arg("send")
        .arg("--attach")
        .arg(&a)
        .args(["--attach-type", "image/png", "--attach"])
        .arg(&b)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("attaching a.bin: image/png (from --attach-type)"),
        "{text}"
    );
    assert!(
        text.contains("attaching b.pdf: application/pdf (guessed"),
        "{text}"
    );
    assert!(
        text.contains("[attachment a.bin, image/png, 100 bytes as 2 base64 lines]"),
        "{text}"
    );
    home.bin()
        .args(["send", "--attach-type", "image/png", "--attach"])
        .arg(&a)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "the --attach before it, and there is none",
        ));
    home.bin()
        .args(["send", "--attach"])
        .arg(&a)
        .args(["--attach-type", "image/png\r\nBcc: x"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("TYPE/SUBTYPE"));
}

// -- Through Postfix (2525), what it delivered parsed back

fn delivered(t: &str) -> Vec<u8> {
    let dir = peer_var("PEERS_POSTFIX_NEW_MAIL");
    wait_for_mail(&dir, t, Duration::from_secs(15))
        .unwrap_or_else(|| panic!("no mail with {t} in {dir}"))
        .into_bytes()
}

fn postfix_send(home: &Home) -> assert_cmd::Command {
    let mut c = home.bin();
    c.args(["send", "--server"])
        .arg(format!(
            "{}:{}",
            peer_var("PEERS_POSTFIX_HOST"),
            peer_var("PEERS_POSTFIX_PORT_SMTP")
        ))
        .args(["--timeout", "20"])
        .args(PEER_ENVELOPE);
    c
}

#[test]
#[ignore = "needs the Postfix peer"]
fn an_eml_goes_through_postfix_field_by_field() {
    use mail_parser::MessageParser;
    let home = Home::new(None);
    let t = token("eml");
    let text = EML.replace("complaint-1@example.org", &format!("{t}@example.org"));
    let eml = eml_file(home.path(), &text);
    postfix_send(&home)
        .arg("--message")
        .arg(&eml)
        .assert()
        .code(0);
    let got = delivered(&t);
    let sent = MessageParser::default().parse(text.as_bytes()).unwrap();
    let got = MessageParser::default().parse(&got).unwrap();
    for (name, value) in sent.headers_raw() {
        let found: Vec<&str> = got
            .headers_raw()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
            .collect();
        let norm = |v: &str| v.replace("\r\n", "\n");
        assert!(
            found.iter().any(|v| norm(v) == norm(value)),
            "{name}: sent {value:?}, delivered {found:?}"
        );
    }
    assert_eq!(got.subject(), Some("Complaint für you"));
    assert_eq!(
        got.body_text(0).as_deref().map(str::trim_end),
        Some(".a line that starts with a dot\nHello.")
    );
}

#[test]
#[ignore = "needs the Postfix peer"]
fn an_attachment_arrives_through_postfix_byte_for_byte() {
    use mail_parser::{MessageParser, MimeHeaders};
    let home = Home::new(None);
    let t = token("attach");
    let (pdf, bytes) = binary_file(home.path(), "report.pdf", 200_000);
    let html = home.path().join("body.html");
    std::fs::write(&html, "<p>Hello</p>\n").unwrap();
    postfix_send(&home)
        .args(["--subject", &t, "--body", "see attached", "--attach"])
        .arg(&pdf)
        .arg("--html")
        .arg(&html)
        .assert()
        .code(0);
    let got = delivered(&t);
    let got = MessageParser::default().parse(&got).unwrap();
    let a = got.attachment(0).expect("an attachment");
    assert_eq!(a.attachment_name(), Some("report.pdf"));
    let ct = a.content_type().unwrap();
    assert_eq!((ct.ctype(), ct.subtype()), ("application", Some("pdf")));
    assert!(
        a.contents() == bytes.as_slice(),
        "the attachment's bytes differ"
    );
    assert_eq!(
        got.body_html(0).as_deref().map(str::trim_end),
        Some("<p>Hello</p>")
    );
    assert_eq!(
        got.body_text(0).as_deref().map(str::trim_end),
        Some("see attached")
    );
}

// -- The workbench: --message, "Connect to profile …", "Open message…"

#[test]
fn the_workbench_opens_a_message_and_connects_to_a_profile() {
    use crate::pty::{quit_session_and_leave, Pty, ENTER};
    let dir = tempfile::tempdir().unwrap();
    let mut serve = crate::serve::Serve::start(&["--maildir", dir.path().to_str().unwrap()]);
    let home = Home::new(Some(&format!(
        "[profile.local]\nserver = \"{}\"\nehlo = \"profile.example.test\"\n\
         mail_from = \"profile@example.test\"\n",
        serve.addr
    )));
    let eml = eml_file(home.path(), EML);
    let xdg = home.path().join("xdg");
    let mut pty = Pty::spawn_env(
        &["--message", eml.to_str().unwrap()],
        &[("HOME", home.path()), ("XDG_CONFIG_HOME", &xdg)],
    );
    pty.wait_for("envelope unchanged");
    pty.wait_for("X-Mailer: Thunderbird");
    // Not signed: a real message goes as the file says.
    assert!(!pty.screen().contains("DKIM-Signature"), "{}", pty.screen());
    pty.wait_for("220 demo.example.test");
    pty.keys("Disconnect");
    pty.keys(ENTER);
    pty.wait_for("disconnected by the user");
    pty.keys("profile local");
    pty.wait_for("Connect to profile local");
    pty.keys(ENTER);
    pty.wait_for(&format!("session 2 with {}", serve.addr));
    pty.wait_for("MAIL FROM:");
    pty.keys("Run to the end");
    pty.keys(ENTER);
    pty.wait_for("queued as");
    quit_session_and_leave(&mut pty);
    let envelope = serve.wait_for("envelope:", Duration::from_secs(10));
    assert!(
        envelope.contains("MAIL FROM:<profile@example.test>"),
        "{envelope}"
    );
    serve.stop();
    let mail = crate::support::only_message(dir.path());
    assert!(
        mail.contains("Message-ID: <complaint-1@example.org>"),
        "{mail}"
    );
    assert!(
        mail.contains("To: alice@example.test,\r\n\tcarol@example.test\r\n"),
        "{mail}"
    );
    assert!(
        mail.contains("\r\n.a line that starts with a dot\r\n"),
        "{mail}"
    );
    // The Received: field names the EHLO the profile gave.
    assert!(mail.contains("profile.example.test"), "{mail}");
}
