//! The terminal UI end to end: the real binary in a pseudo-terminal, keys
//! written to it as bytes, the screen read back through a terminal emulator
//! (vt100). Every wait is for text on the screen, bounded; nothing here
//! measures time.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use portable_pty::{native_pty_system, Child, CommandBuilder, MasterPty, PtySize};

use crate::serve::Serve;

const ENTER: &str = "\r";
const CTRL_R: &str = "\x12";
const CTRL_C: &str = "\x03";

const ROWS: u16 = 40;
const COLS: u16 = 120;
/// How long any one wait may last before the test fails.
const LIMIT: Duration = Duration::from_secs(15);
const POLL: Duration = Duration::from_millis(50);

/// The workbench in a pseudo-terminal; killed on drop.
struct Tui {
    child: Box<dyn Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    /// Kept so the pty stays open while the child runs.
    _master: Box<dyn MasterPty + Send>,
    parser: Arc<Mutex<vt100::Parser>>,
    /// Every byte the program wrote, in order.
    output: Arc<Mutex<Vec<u8>>>,
    /// Signalled when the reader reaches the end of the output.
    eof: Receiver<()>,
}

impl Tui {
    fn spawn(args: &[&str]) -> Self {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: ROWS,
                cols: COLS,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_smtp-workbench"));
        cmd.args(args);
        cmd.env("TERM", "xterm-256color");
        cmd.env_remove("NO_COLOR");
        cmd.cwd(std::env::temp_dir());
        let child = pair.slave.spawn_command(cmd).unwrap();
        // Only the child holds the slave side: its exit ends the reader.
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().unwrap();
        let writer = pair.master.take_writer().unwrap();
        let parser = Arc::new(Mutex::new(vt100::Parser::new(ROWS, COLS, 0)));
        let output = Arc::new(Mutex::new(Vec::new()));
        let (tx, eof) = channel();
        let (p, o) = (parser.clone(), output.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        p.lock().unwrap().process(&buf[..n]);
                        o.lock().unwrap().extend_from_slice(&buf[..n]);
                    }
                }
            }
            let _ = tx.send(());
        });
        Tui {
            child,
            writer,
            _master: pair.master,
            parser,
            output,
            eof,
        }
    }

    /// The screen's text, row by row.
    fn screen(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    fn rows(&self) -> Vec<String> {
        self.parser.lock().unwrap().screen().rows(0, COLS).collect()
    }

    /// Waits (bounded) until `ok` holds for the screen; panics with the
    /// screen otherwise.
    fn wait_until(&self, what: &str, ok: impl Fn(&Self) -> bool) {
        let start = Instant::now();
        loop {
            if ok(self) {
                return;
            }
            if start.elapsed() > LIMIT {
                panic!("the screen never showed {what}; it shows:\n{}", self.screen());
            }
            std::thread::sleep(POLL);
        }
    }

    /// Waits (bounded) until the screen shows `needle`.
    fn wait_for(&self, needle: &str) {
        self.wait_until(&format!("{needle:?}"), |t| t.screen().contains(needle));
    }

    /// Waits (bounded) until the palette's first item is `command`: the
    /// one Enter sends.
    fn wait_for_first_command(&self, command: &str) {
        let item = format!("│ {command}");
        self.wait_until(&format!("{command:?} first in the palette"), |t| {
            let rows = t.rows();
            rows.iter()
                .position(|r| r.contains("type to filter") || r.contains("filter: "))
                .and_then(|i| rows.get(i + 1))
                .is_some_and(|r| r.starts_with(&item))
        });
    }

    fn keys(&mut self, keys: &str) {
        self.writer.write_all(keys.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    /// Waits (bounded) for the program to end, then for the reader to take
    /// its last bytes; its exit code.
    fn wait_exit(&mut self) -> u32 {
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if start.elapsed() > LIMIT {
                panic!(
                    "the program did not exit; the screen shows:\n{}",
                    self.screen()
                );
            }
            std::thread::sleep(POLL);
        };
        // The end of the output follows the exit; what arrived is checked
        // by the callers, so a missing end shows up there.
        let _ = self.eof.recv_timeout(LIMIT);
        status.exit_code()
    }

    fn output(&self) -> Vec<u8> {
        self.output.lock().unwrap().clone()
    }

    /// Ctrl-C or `q` while a session is open: the workbench asks, `y`
    /// confirms; it exits with 0.
    fn quit_confirmed(&mut self, key: &str) {
        self.keys(key);
        self.wait_for("Quit anyway?");
        self.keys("y");
        assert_eq!(self.wait_exit(), 0, "exit code");
    }

    /// Sends QUIT from the palette, filtered by typing. The filter is typed
    /// in capitals: a lower-case `q` on an empty filter is the quit key.
    fn send_quit(&mut self) {
        self.keys("QUIT");
        self.wait_for("filter: QUIT");
        self.wait_for_first_command("QUIT");
        self.keys(ENTER);
        self.wait_for("221 ");
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The Message-ID shown in the Message pane.
fn message_id(tui: &Tui) -> Option<String> {
    tui.screen().lines().find_map(|l| {
        let rest = l.split("Message-ID: <").nth(1)?;
        let id = rest.split('>').next()?;
        (!id.is_empty() && rest.contains('>')).then(|| id.to_string())
    })
}

/// EHLO, MAIL FROM, RCPT TO alice, RCPT TO bob, DATA, each the palette's
/// first item and sent with Enter; returns when the server has queued the
/// message.
fn classic_session(tui: &mut Tui) {
    tui.wait_for_first_command("EHLO client.example.test");
    tui.keys(ENTER);
    tui.wait_for("250 CHUNKING");
    tui.wait_for_first_command("MAIL FROM:<student@client.example>");
    tui.keys(ENTER);
    tui.wait_for("250 2.1.0");
    tui.wait_for_first_command("RCPT TO:<alice@example.test>");
    tui.keys(ENTER);
    tui.wait_for("Envelope · 1/2 RCPT sent");
    tui.wait_for_first_command("RCPT TO:<bob@example.test>");
    tui.keys(ENTER);
    tui.wait_for("Envelope · 2/2 RCPT sent");
    tui.wait_for_first_command("DATA");
    tui.keys(ENTER);
    tui.wait_for("queued as");
}

#[test]
fn classic_session_by_hand_against_the_built_in_server() {
    let dir = tempfile::tempdir().unwrap();
    let mut serve = Serve::start(&["--maildir", dir.path().to_str().unwrap()]);
    let server = format!("127.0.0.1:{}", serve.port());
    let mut tui = Tui::spawn(&[&server, "--ehlo", "client.example.test"]);
    tui.wait_for("220 ");
    classic_session(&mut tui);
    tui.send_quit();
    tui.wait_for("221 2.0.0");
    // The session is closed: `q` quits without asking. `y` would be typed
    // into the shell, so it is sent only if the question is asked.
    tui.keys("q");
    tui.wait_until("the question or the end", |t| {
        t.screen().contains("Quit anyway?") || t.output().ends_with(b"\x1b[?1049l")
    });
    let status = match tui.child.try_wait().unwrap() {
        Some(s) => {
            let _ = tui.eof.recv_timeout(LIMIT);
            s.exit_code()
        }
        None if tui.screen().contains("Quit anyway?") => {
            tui.keys("y");
            tui.wait_exit()
        }
        None => tui.wait_exit(),
    };
    assert_eq!(status, 0, "exit code");

    let envelope = serve.wait_for("envelope:", Duration::from_secs(10));
    let mut log = vec![envelope];
    log.extend(serve.stop());
    let log = log.join("\n");
    assert!(
        log.contains("RCPT TO:<alice@example.test>, <bob@example.test>"),
        "{log}"
    );
    assert!(log.contains("MAIL FROM:<student@client.example>"), "{log}");

    let files: Vec<PathBuf> = std::fs::read_dir(dir.path().join("new"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let mail = std::fs::read_to_string(&files[0]).unwrap();
    assert!(
        mail.contains("Return-Path: <student@client.example>"),
        "{mail}"
    );
    assert!(mail.contains("\nTo: Alice <alice@example.test>\r\n"), "{mail}");
    assert!(mail.contains("Subject: Hello from smtp-workbench"), "{mail}");
    assert!(
        mail.contains("\n.A line that starts with a dot.\r\n"),
        "the dot-stuffed line arrives un-stuffed: {mail}"
    );
    assert!(!mail.contains("..A line"), "{mail}");
}

#[test]
fn raw_line_sends_a_wrong_command_and_shows_the_500() {
    let mut tui = Tui::spawn(&[]);
    tui.wait_for("220 ");
    tui.keys(CTRL_R);
    tui.wait_for("Raw line");
    tui.keys("HELLO wrong");
    tui.wait_for("│HELLO wrong");
    tui.keys(ENTER);
    tui.wait_for("→ HELLO wrong");
    tui.wait_for("500 5.5.2");
    tui.quit_confirmed(CTRL_C);
}

#[test]
fn control_characters_from_a_server_never_reach_the_terminal() {
    let (addr, server) = crate::support::serve(|mut c| {
        c.send(b"220 evil \x1b]0;pwned\x07\x1b[2J\x9b ESMTP\r\n");
        while c.line().is_some() {
            c.send(b"250 ok \x1b[31mred\r\n");
        }
    });
    let mut tui = Tui::spawn(&[&addr.to_string(), "--ehlo", "client.example.test"]);
    tui.wait_for("220 evil");
    let screen = tui.screen();
    assert!(screen.contains("␛]0;pwned␇␛[2J"), "{screen}");
    assert!(screen.contains("ESMTP"), "{screen}");
    assert_ne!(tui.parser.lock().unwrap().screen().title(), "pwned");
    tui.wait_for_first_command("EHLO client.example.test");
    tui.keys(ENTER);
    tui.wait_for("250 ok ␛[31mred");
    let out = tui.output();
    for bad in [&b"\x1b]0;pwned"[..], b"\x1b[31mred", b"\xc2\x9b", b"\x9b ESMTP"] {
        assert!(
            !out.windows(bad.len()).any(|w| w == bad),
            "{:?} reached the terminal",
            String::from_utf8_lossy(bad)
        );
    }
    tui.quit_confirmed(CTRL_C);
    assert_ne!(tui.parser.lock().unwrap().screen().title(), "pwned");
    drop(tui);
    server.join().unwrap();
}

#[test]
fn the_terminal_is_restored_on_quit() {
    let mut tui = Tui::spawn(&[]);
    tui.wait_for("220 ");
    {
        let parser = tui.parser.lock().unwrap();
        assert!(parser.screen().alternate_screen(), "the TUI draws on the alternate screen");
    }
    tui.quit_confirmed("q");
    let out = tui.output();
    let last = |seq: &[u8]| out.windows(seq.len()).rposition(|w| w == seq);
    let left = last(b"\x1b[?1049l").unwrap_or_else(|| {
        panic!(
            "the alternate screen is never left; the output ends with {:?}",
            String::from_utf8_lossy(&out[out.len().saturating_sub(200)..])
        )
    });
    let entered = last(b"\x1b[?1049h").expect("the alternate screen is entered");
    assert!(left > entered, "the alternate screen is left after it is entered");
    let tail = &out[left..];
    assert!(
        tail.len() < 128,
        "the alternate screen is left among the last bytes; after it come {:?}",
        String::from_utf8_lossy(tail)
    );
    let parser = tui.parser.lock().unwrap();
    let screen = parser.screen();
    assert!(!screen.alternate_screen(), "back on the main screen");
    assert!(!screen.hide_cursor(), "the cursor is shown again");
    assert_eq!(
        screen.mouse_protocol_mode(),
        vt100::MouseProtocolMode::None,
        "mouse reporting is off again"
    );
}

#[test]
#[ignore = "needs the Postfix peer"]
fn classic_session_by_hand_against_postfix() {
    fn env(name: &str) -> String {
        std::env::var(name).unwrap_or_else(|_| {
            panic!("{name} is not set: source /var/lib/smtp-peers/postfix.env (set -a) first")
        })
    }
    let server = format!(
        "{}:{}",
        env("PEERS_POSTFIX_HOST"),
        env("PEERS_POSTFIX_PORT_SMTP")
    );
    let new_mail = PathBuf::from(env("PEERS_POSTFIX_NEW_MAIL"));
    let started = SystemTime::now();
    let mut tui = Tui::spawn(&[&server, "--ehlo", "client.example.test"]);
    tui.wait_for("220 ");
    tui.wait_for("ESMTP Postfix");
    // The default envelope (alice@example.test, bob@example.test; bob an
    // alias of alice) is local to the Postfix peer: nothing to edit.
    tui.wait_for("alice@example.test");
    tui.wait_for("bob@example.test");
    classic_session(&mut tui);
    tui.wait_for("250 2.0.0 Ok: queued as");
    let id = message_id(&tui);
    tui.send_quit();
    tui.wait_for("221 2.0.0");
    tui.keys("q");
    tui.wait_until("the question or the end", |t| {
        t.screen().contains("Quit anyway?") || t.output().ends_with(b"\x1b[?1049l")
    });
    if tui.child.try_wait().unwrap().is_none() && tui.screen().contains("Quit anyway?") {
        tui.keys("y");
    }
    assert_eq!(tui.wait_exit(), 0, "exit code");

    let start = Instant::now();
    let found = loop {
        let hit = std::fs::read_dir(&new_mail)
            .unwrap_or_else(|e| panic!("{}: {e}", new_mail.display()))
            .flatten()
            .filter(|e| {
                id.is_some()
                    || e.metadata()
                        .and_then(|m| m.modified())
                        .is_ok_and(|t| t >= started)
            })
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .find(|text| match &id {
                Some(id) => text.contains(&format!("<{id}>")),
                None => text.contains("Subject: Hello from smtp-workbench"),
            });
        if let Some(text) = hit {
            break text;
        }
        assert!(
            start.elapsed() < LIMIT,
            "no file in {} holds the message (Message-ID {id:?})",
            new_mail.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        found.contains("Subject: Hello from smtp-workbench"),
        "{found}"
    );
    assert!(found.contains("\n.A line that starts with a dot.\n") || found.contains("\n.A line that starts with a dot.\r\n"), "{found}");
}
