//! DATA typed by hand in the raw line, as the seed article teaches with
//! telnet (issue 15): the raw line opened once for DATA stays open through
//! the header lines, the empty line and the body, until the lone ".".

use std::time::Duration;

use crate::pty::{quit, Pty, CTRL_R, ENTER};
use crate::serve::Serve;

/// A line through the raw line, opened for it alone.
fn raw(pty: &mut Pty, line: &str, then: &str) {
    pty.keys(CTRL_R);
    pty.wait_for("Raw line (sent exactly as typed)");
    pty.keys(line);
    pty.keys(ENTER);
    pty.wait_for(then);
}

#[test]
fn the_seed_session_typed_by_hand_with_one_raw_line_for_the_content() {
    let dir = tempfile::tempdir().unwrap();
    let mut serve = Serve::start(&["--maildir", dir.path().to_str().unwrap()]);
    let mut pty = Pty::spawn(&[&serve.addr.to_string(), "--ehlo", "client.example.test"]);
    pty.wait_for("220 demo.example.test");
    raw(
        &mut pty,
        "HELO client.example.test",
        "250 demo.example.test",
    );
    raw(
        &mut pty,
        "MAIL FROM:<student@client.example>",
        "250 2.1.0 Ok",
    );
    raw(&mut pty, "RCPT TO:<alice@example.test>", "250 2.1.5 Ok");
    // Opened once: DATA, then the whole message.
    pty.keys(CTRL_R);
    pty.wait_for("Raw line (sent exactly as typed)");
    pty.keys("DATA");
    pty.keys(ENTER);
    pty.wait_for("354 ");
    pty.wait_for("Raw line: the message");
    pty.wait_for("a lone . ends the message");
    pty.wait_for("dot-stuffing");
    let content = [
        "From: Student <student@client.example>",
        "To: Alice <alice@example.test>",
        "Subject: typed by hand",
        "",
        "Hello Alice,",
        "..a dot, doubled by hand",
        "Bye",
    ];
    for line in content {
        pty.keys(line);
        pty.keys(ENTER);
        if !line.is_empty() {
            // Each line shows in the transcript as it goes.
            pty.wait_for(&format!("→ {line}"));
        }
        assert!(
            pty.screen().contains("Raw line: the message"),
            "still open after {line:?}:\n{}",
            pty.screen()
        );
    }
    pty.keys(".");
    pty.keys(ENTER);
    pty.wait_for("queued as");
    assert!(
        !pty.screen().contains("Raw line:"),
        "the lone . closes the raw line:\n{}",
        pty.screen()
    );
    raw(&mut pty, "QUIT", "221 2.0.0 Bye");
    quit(&mut pty, false);
    serve.wait_for("envelope:", Duration::from_secs(10));
    serve.stop();
    let files: Vec<_> = std::fs::read_dir(dir.path().join("new")).unwrap().collect();
    assert_eq!(files.len(), 1);
    let mail = std::fs::read_to_string(files[0].as_ref().unwrap().path()).unwrap();
    assert!(
        mail.contains(
            "From: Student <student@client.example>\r\nTo: Alice <alice@example.test>\r\n\
             Subject: typed by hand\r\n\r\nHello Alice,\r\n.a dot, doubled by hand\r\nBye\r\n"
        ),
        "{mail}"
    );
}
