//! `send` against scripted servers on loopback: the broken and hostile
//! behaviours a real server can show, each with its exit status.

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
fn escape_sequences_from_the_server_never_reach_stdout() {
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
    let out = bin().args(envelope_args(addr)).output().unwrap();
    server.join().unwrap();
    assert_eq!(out.status.code(), Some(5));
    assert!(
        !has_raw_control(&out.stdout),
        "{:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("220 evil ␛[2J␛]52;c;aGVsbG8=␇ \\x9b31m \\u{9b} \\xff\\xfe ESMTP"),
        "{text}"
    );
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
            ["client", "server", "info", "error"].contains(&kind.as_str()),
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
fn a_server_that_never_greets_times_out() {
    let (addr, server) = serve(|mut c| {
        c.drain();
    });
    let args = envelope_args_timeout(addr, "1");
    bin()
        .args(&args)
        .assert()
        .code(3)
        .stdout(predicate::str::contains("no reply within the time limit"))
        .stdout(predicate::str::contains("the greeting"));
    server.join().unwrap();
}

#[test]
fn a_reply_dripped_forever_cannot_defeat_the_deadline() {
    let (addr, server) = serve(|mut c| {
        c.send(b"220 ");
        // One byte every 200 ms, never a line end: the deadline is on the
        // reply as a whole, so this must not keep the client waiting.
        for _ in 0..100 {
            std::thread::sleep(std::time::Duration::from_millis(200));
            if std::io::Write::write_all(&mut c.stream, b"x").is_err() {
                break;
            }
        }
    });
    let args = envelope_args_timeout(addr, "1");
    bin().args(&args).assert().code(3);
    server.join().unwrap();
}

#[test]
fn hang_up_after_the_final_dot_is_not_success() {
    let (addr, server) = serve(|mut c| {
        c.greet_and_ehlo(&[]);
        for reply in ["250 ok\r\n", "250 ok\r\n", "354 go\r\n"] {
            let _ = c.line();
            c.send(reply.as_bytes());
        }
        let _ = c.read_data();
        // No reply: hang up.
    });
    bin()
        .args(envelope_args(addr))
        .assert()
        .code(3)
        .stdout(predicate::str::contains("delivery status unknown"));
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
        bin()
            .args(envelope_args(addr))
            .arg("--no-pipelining")
            .assert()
            .code(3)
            .stdout(predicate::str::contains(format!(
                "waiting for the reply to {stage}"
            )));
        server.join().unwrap();
    }
}

#[test]
fn mixed_codes_in_one_reply_are_a_protocol_error() {
    let (addr, server) = serve(|mut c| {
        c.greet_and_ehlo(&[]);
        for reply in ["250 ok\r\n", "250 ok\r\n", "354 go\r\n"] {
            let _ = c.line();
            c.send(reply.as_bytes());
        }
        let _ = c.read_data();
        c.send(b"550-5.7.1 rejected\r\n250 2.0.0 queued\r\n");
        c.drain();
    });
    bin()
        .args(envelope_args(addr))
        .assert()
        .code(3)
        .stdout(predicate::str::contains("changes its code from 550 to 250"))
        .stdout(predicate::str::contains("message accepted").not());
    server.join().unwrap();
}

#[test]
fn a_421_in_the_middle_ends_with_status_4() {
    let (addr, server) = serve(|mut c| {
        c.greet_and_ehlo(&[]);
        let _ = c.line();
        c.send(b"421 4.3.2 shutting down\r\n");
    });
    bin()
        .args(envelope_args(addr))
        .assert()
        .code(4)
        .stdout(predicate::str::contains("421 4.3.2 shutting down"));
    server.join().unwrap();
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
fn plaintext_after_starttls_is_a_tls_failure() {
    let (addr, server) = serve(|mut c| {
        c.greet_and_ehlo(&["STARTTLS"]);
        let _ = c.line();
        c.send(b"220 go ahead\r\nthis is not TLS at all\r\n");
        c.drain();
    });
    let mut args = envelope_args(addr);
    args.extend(["--tls", "starttls", "--insecure"].map(String::from));
    bin()
        .args(&args)
        .assert()
        .code(3)
        .stdout(predicate::str::contains("TLS"));
    server.join().unwrap();
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
