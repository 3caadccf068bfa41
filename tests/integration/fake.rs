//! `send` against scripted servers on loopback: what the server receives,
//! the JSON transcript, `--quit-after`, and nothing listening. Broken and
//! hostile servers are in `hostile.rs`.

use predicates::prelude::*;

use crate::support::{
    bin, closed_port, envelope_args, envelope_args_timeout, has_raw_control, serve,
};

#[test]
fn a_plain_transaction_and_what_the_server_received() {
    let (tx, rx) = std::sync::mpsc::channel();
    let (addr, server) = serve(move |mut c| {
        c.greet_and_ehlo(&["PIPELINING", "SIZE 1000"]);
        let mut got = vec![c.line().unwrap(), c.line().unwrap(), c.line().unwrap()];
        c.send(b"250 2.1.0 ok\r\n250 2.1.5 ok\r\n354 go\r\n");
        got.extend(c.read_data());
        c.send(b"250 2.0.0 queued as X1\r\n");
        got.push(c.line().unwrap());
        c.send(b"221 2.0.0 bye\r\n");
        tx.send(got).unwrap();
    });
    let mut args = envelope_args(addr);
    args.extend(
        [
            "--header-to",
            "Someone <someone@fake.example>",
            "--subject",
            "test",
            "--body",
            ".starts with a dot\n..two\n.",
        ]
        .map(String::from),
    );
    bin()
        .args(&args)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("<- 250 2.0.0 queued as X1"))
        .stdout(predicate::str::contains("result: message accepted"));
    server.join().unwrap();
    let got = rx.recv().unwrap();
    assert!(
        got[0].starts_with("MAIL FROM:<sender@client.example.test> SIZE="),
        "{got:?}"
    );
    assert_eq!(got[1], "RCPT TO:<rcpt@fake.example>");
    assert_eq!(got[2], "DATA");
    assert!(
        got.contains(&"To: \"Someone\" <someone@fake.example>".to_string()),
        "{got:?}"
    );
    assert!(got.contains(&"..starts with a dot".to_string()), "{got:?}");
    assert!(got.contains(&"...two".to_string()), "{got:?}");
    assert!(got.contains(&"..".to_string()), "{got:?}");
    assert_eq!(got.last().unwrap(), "QUIT");
}

#[test]
fn json_transcript_is_one_object_per_line() {
    let (addr, server) = serve(|mut c| {
        c.send(b"220 fake \x1b[1m\r\n");
        let _ = c.line();
        c.send(b"250 fake\r\n");
        let _ = c.line();
        c.send(b"451 4.7.1 greylisted, try again later\r\n");
        let _ = c.line();
        c.send(b"221 bye\r\n");
    });
    let mut args = envelope_args(addr);
    args.extend(["--format", "json"].map(String::from));
    let out = bin().args(&args).output().unwrap();
    server.join().unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert!(!has_raw_control(&out.stdout));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut kinds = std::collections::BTreeSet::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect(line);
        let kind = v["kind"].as_str().unwrap().to_string();
        assert!(
            ["client", "server", "info", "error", "auth"].contains(&kind.as_str()),
            "{line}"
        );
        assert!(v["text"].is_string(), "{line}");
        if kind == "server" {
            assert!(v["code"].is_u64(), "{line}");
        }
        kinds.insert(kind);
    }
    assert!(kinds.contains("client") && kinds.contains("server") && kinds.contains("info"));
    assert!(text.contains(r#""enhanced":"4.7.1""#), "{text}");
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last["exit"], 4);
}

#[test]
fn nothing_listening_is_a_connection_failure() {
    let args = envelope_args_timeout(closed_port(), "2");
    bin()
        .args(&args)
        .assert()
        .code(3)
        .stdout(predicate::str::contains("refused"));
}

#[test]
fn quit_after_greeting_sends_only_quit() {
    let (tx, rx) = std::sync::mpsc::channel();
    let (addr, server) = serve(move |mut c| {
        c.send(b"220 fake\r\n");
        tx.send(c.line()).unwrap();
        c.send(b"221 bye\r\n");
    });
    let mut args = envelope_args(addr);
    args.extend(["--quit-after", "greeting"].map(String::from));
    bin().args(&args).assert().code(0);
    server.join().unwrap();
    assert_eq!(rx.recv().unwrap().as_deref(), Some("QUIT"));
}
