//! `--replay`: what `send --format json` printed, stepped through in the
//! real workbench in a pseudo-terminal, offline; and a bad file refused.

use predicates::prelude::*;

use crate::pty::{quit, Pty, ENTER};
use crate::support::bin;

/// F5 as xterm sends it.
const F5: &str = "\x1b[15~";
/// F4 as xterm sends it.
const F4: &str = "\x1bOS";

/// A transaction against the built-in server, as JSON lines.
fn send_json() -> String {
    let out = bin()
        .args([
            "send",
            "--ehlo",
            "client.example",
            "--mail-from",
            "student@client.example",
            "--rcpt",
            "alice@example.test",
            "--subject",
            "Replayed",
            "--body",
            "Hello from a replay",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// The step count on the status line, as "step N of M".
fn step_of(pty: &Pty) -> (usize, usize) {
    let screen = pty.screen();
    let first = screen.lines().next().unwrap_or_default().to_string();
    let rest = first
        .split("step ")
        .nth(1)
        .unwrap_or_else(|| panic!("no step count on the status line: {first:?}"));
    let mut words = rest.split(' ');
    let n = words.next().unwrap().parse().unwrap();
    assert_eq!(words.next(), Some("of"));
    let m = words.next().unwrap().parse().unwrap();
    (n, m)
}

#[test]
fn a_send_json_transcript_replays_step_by_step_to_its_end() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("demo.jsonl");
    std::fs::write(&file, send_json()).unwrap();
    let mut pty = Pty::spawn(&["--replay", file.to_str().unwrap()]);
    pty.wait_for("REPLAY demo.jsonl │ step 0 of");
    let (_, total) = step_of(&pty);
    assert!(
        total >= 6,
        "greeting, EHLO, MAIL…, replies, the message, QUIT"
    );
    assert!(
        !pty.screen().contains("220 demo.example.test"),
        "nothing shown yet"
    );
    pty.keys(ENTER);
    pty.wait_for("220 demo.example.test ESMTP");
    assert_eq!(step_of(&pty), (1, total));
    assert!(
        !pty.screen().contains("EHLO client.example"),
        "one step at a time"
    );
    for n in 2..=total {
        pty.keys(ENTER);
        pty.wait_for(&format!("step {n} of {total}"));
    }
    pty.wait_for("the end");
    let screen = pty.screen();
    assert!(screen.contains("221 2.0.0 Bye"), "{screen}");
    assert!(
        screen.contains("student@client.example"),
        "the envelope rebuilt: {screen}"
    );
    pty.keys(ENTER);
    pty.wait_for("the replay is over");
    assert_eq!(step_of(&pty), (total, total));
    // Presenter mode: the palette goes, the transcript takes the width.
    pty.keys(F4);
    pty.wait_for_within("┌ Transcript", std::time::Duration::from_secs(5));
    assert!(!pty.screen().contains("┌ Commands"), "{}", pty.screen());
    assert!(
        pty.screen().contains("▸ Next step"),
        "the selected item on the hint bar"
    );
    quit(&mut pty, false);
}

#[test]
fn a_mark_added_by_hand_stops_playing_on() {
    let json = send_json();
    // The presenter's pause, before the DATA command goes.
    let mut marked = String::new();
    for line in json.lines() {
        if line.contains(r#""text":"MAIL FROM:"#) {
            marked.push_str("{\"kind\":\"mark\",\"text\":\"now the envelope\"}\n");
        }
        marked.push_str(line);
        marked.push('\n');
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("marked.jsonl");
    std::fs::write(&file, marked).unwrap();
    let mut pty = Pty::spawn(&["--replay", file.to_str().unwrap(), "--theme", "light"]);
    pty.wait_for("step 0 of");
    pty.keys(F5);
    pty.wait_for("mark: now the envelope");
    let (n, total) = step_of(&pty);
    assert!(n >= 2 && n < total, "{n} of {total}");
    assert!(pty.screen().contains("250-PIPELINING"));
    assert!(!pty.screen().contains("→ MAIL FROM"), "{}", pty.screen());
    pty.keys(F5);
    pty.wait_for("the end");
    // --theme light: white paper, and the commands in navy on it.
    let raw = pty.raw();
    let has = |seq: &[u8]| raw.windows(seq.len()).any(|w| w == seq);
    assert!(has(b"48;5;15m"), "a white background");
    assert!(has(b"38;5;18;48;5;15m"), "a command in navy on white");
    quit(&mut pty, false);
}

#[test]
fn a_malformed_replay_is_refused_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.jsonl");
    std::fs::write(
        &file,
        "{\"kind\":\"server\",\"code\":220,\"text\":\"220 hi\"}\n{\"kind\":\"server\",\"text\":\"x\"}\n",
    )
    .unwrap();
    bin()
        .args(["--replay", file.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "bad.jsonl: line 2: a \"server\" line needs a \"code\"",
        ));
    bin()
        .args(["--replay", "/nonexistent/x.jsonl"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--replay /nonexistent/x.jsonl"));
    let ok = dir.path().join("ok.jsonl");
    std::fs::write(
        &ok,
        "{\"kind\":\"server\",\"code\":220,\"text\":\"220 hi\"}\n",
    )
    .unwrap();
    bin()
        .args(["--replay", ok.to_str().unwrap(), "127.0.0.1:2525"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--replay is offline"));
    bin()
        .args(["--theme", "sepia"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("dark").and(predicate::str::contains("light")));
}

/// A transcript of a real Postfix session, replayed to its end offline.
#[test]
#[ignore = "needs the Postfix peer"]
fn a_postfix_transcript_replays_to_its_end() {
    let server = crate::support::postfix_at("PEERS_POSTFIX_PORT_SMTP");
    let out = bin()
        .args(["send", "--server", &server])
        .args(crate::support::PEER_ENVELOPE)
        .args(["--subject", "replayed from postfix", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("postfix.jsonl");
    std::fs::write(&file, &out.stdout).unwrap();
    let mut pty = Pty::spawn(&["--replay", file.to_str().unwrap()]);
    pty.wait_for("step 0 of");
    let (_, total) = step_of(&pty);
    for n in 1..=total {
        pty.keys(ENTER);
        pty.wait_for(&format!("step {n} of {total}"));
    }
    pty.wait_for("the end");
    assert!(pty.screen().contains("Ok: queued as"), "{}", pty.screen());
    quit(&mut pty, false);
}
