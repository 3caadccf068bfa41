//! What the integration tests share: the binary and a scripted server.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::Duration;

/// The binary under test, with a guard against hanging forever.
pub fn bin() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("smtp-workbench").unwrap();
    c.timeout(Duration::from_secs(60));
    c
}

/// A one-connection server on a loopback port that runs `script`.
pub fn serve(script: impl FnOnce(Conn) + Send + 'static) -> (SocketAddr, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = std::thread::spawn(move || {
        if let Ok((stream, _)) = listener.accept() {
            stream
                .set_read_timeout(Some(Duration::from_secs(30)))
                .unwrap();
            script(Conn {
                reader: BufReader::new(stream.try_clone().unwrap()),
                stream,
            });
        }
    });
    (addr, handle)
}

/// The server side of one connection.
pub struct Conn {
    pub stream: TcpStream,
    pub reader: BufReader<TcpStream>,
}

impl Conn {
    pub fn send(&mut self, bytes: &[u8]) {
        let _ = self.stream.write_all(bytes);
    }

    /// Reads one line, without its line end; `None` at the end.
    pub fn line(&mut self) -> Option<String> {
        let mut buf = Vec::new();
        match self.reader.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(
                String::from_utf8_lossy(&buf)
                    .trim_end_matches(['\r', '\n'])
                    .to_string(),
            ),
        }
    }

    /// Answers EHLO as a plain server would.
    pub fn greet_and_ehlo(&mut self, extensions: &[&str]) {
        self.send(b"220 fake.example ESMTP\r\n");
        let _ehlo = self.line();
        let mut reply = String::from("250");
        if extensions.is_empty() {
            reply.push_str(" fake.example\r\n");
        } else {
            reply.push_str("-fake.example\r\n");
            for (i, e) in extensions.iter().enumerate() {
                let sep = if i + 1 == extensions.len() { ' ' } else { '-' };
                reply.push_str(&format!("250{sep}{e}\r\n"));
            }
        }
        self.send(reply.as_bytes());
    }

    /// Reads until a line that is exactly ".", returning the content lines.
    pub fn read_data(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        while let Some(l) = self.line() {
            if l == "." {
                break;
            }
            lines.push(l);
        }
        lines
    }

    /// Waits until the client hangs up.
    pub fn drain(&mut self) {
        let mut buf = [0u8; 1024];
        while matches!(self.reader.read(&mut buf), Ok(n) if n > 0) {}
    }
}

/// A port where nothing listens (bound, then released).
pub fn closed_port() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

/// Standard envelope arguments for `send`, with a 5-second timeout.
pub fn envelope_args(addr: SocketAddr) -> Vec<String> {
    envelope_args_timeout(addr, "5")
}

/// Standard envelope arguments for `send` with this timeout in seconds.
pub fn envelope_args_timeout(addr: SocketAddr, timeout: &str) -> Vec<String> {
    vec![
        "send".into(),
        "--server".into(),
        addr.to_string(),
        "--ehlo".into(),
        "client.example.test".into(),
        "--mail-from".into(),
        "sender@client.example.test".into(),
        "--rcpt".into(),
        "rcpt@fake.example".into(),
        "--timeout".into(),
        timeout.into(),
    ]
}

/// True when `out` holds a byte that could act on a terminal.
pub fn has_raw_control(out: &[u8]) -> bool {
    let text = String::from_utf8_lossy(out);
    text.chars()
        .any(|c| c.is_control() && c != '\n' || ('\u{80}'..='\u{9f}').contains(&c))
}

/// A peer's setting from its env file; a clear panic when it is not set.
pub fn peer_var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: start the peers and export their env files (see .ci/run)")
    })
}

/// The Postfix peer's address for its port named by `port_var`.
pub fn postfix_at(port_var: &str) -> String {
    format!("{}:{}", peer_var("PEERS_POSTFIX_HOST"), peer_var(port_var))
}

/// The envelope the peer tests send with: a client's EHLO, a sender, and
/// alice (whose mail lands in a Maildir the tests read).
pub const PEER_ENVELOPE: [&str; 6] = [
    "--ehlo",
    "client.example.test",
    "--mail-from",
    "tester@client.example.test",
    "--rcpt",
    "alice@example.test",
];

/// A message file in the Maildir `dir`'s `new/` whose content has `needle`.
pub fn maildir_file_with(dir: &std::path::Path, needle: &str) -> Option<Vec<u8>> {
    std::fs::read_dir(dir.join("new"))
        .unwrap()
        .flatten()
        .map(|e| std::fs::read(e.path()).unwrap())
        .find(|t| String::from_utf8_lossy(t).contains(needle))
}

/// The one message in the Maildir `dir`'s `new/` (there must be exactly
/// one).
pub fn only_message(dir: &std::path::Path) -> String {
    let files: Vec<_> = std::fs::read_dir(dir.join("new")).unwrap().collect();
    assert_eq!(files.len(), 1, "messages in {}", dir.display());
    std::fs::read_to_string(files[0].as_ref().unwrap().path()).unwrap()
}
