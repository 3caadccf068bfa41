//! The built-in server's session (command parser, DATA, BDAT, AUTH) against
//! arbitrary client bytes: no panic; every reply line is a code, a space or
//! hyphen, and CRLF; and how the bytes are split into reads (in one piece,
//! in two at a point the first byte picks, or byte by byte) never changes
//! what the server answers or does.

use std::sync::Arc;

use smtp_workbench::proto::server::{Policy, ServerConfig, ServerEnv, ServerEvent, ServerSession};

struct Env(Arc<Policy>, u64);

impl ServerEnv for Env {
    fn policy(&self) -> Arc<Policy> {
        self.0.clone()
    }
    fn greylist(&mut self, _: &str, _: &str, _: &str) -> Option<u64> {
        None
    }
    fn chance(&mut self) -> f64 {
        0.5
    }
    fn unique(&mut self) -> String {
        self.1 += 1;
        format!("Q{}", self.1)
    }
}

/// Feeds `parts` in order; the bytes sent and the events, in order.
fn run<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> (Vec<u8>, Vec<ServerEvent>) {
    let policy = Policy {
        max_size: 4096,
        ..Policy::default()
    };
    let mut env = Env(Arc::new(policy), 0);
    let mut s = ServerSession::new(ServerConfig {
        hostname: "fuzz.example".into(),
        client: "127.0.0.1".into(),
        tls_available: true,
    });
    let mut out = Vec::new();
    let mut events = Vec::new();
    let mut take = |s: &mut ServerSession| {
        if let Some(b) = s.poll_transmit() {
            out.extend_from_slice(&b);
        }
        events.extend(std::iter::from_fn(|| s.poll_event()));
    };
    // The greeting goes out before the client says anything.
    take(&mut s);
    for part in parts {
        s.handle_input(part, &mut env);
        take(&mut s);
    }
    (out, events)
}

pub fn check(data: &[u8]) {
    let Some((&cut, rest)) = data.split_first() else {
        return;
    };
    let cut = (usize::from(cut) * rest.len()) / 256;
    let whole = run([rest]);
    let split = run([&rest[..cut], &rest[cut..]]);
    assert_eq!(split, whole, "split at {cut} differs from one read");
    let drip = run(rest.chunks(1));
    assert_eq!(drip, whole, "byte-by-byte reads differ from one read");

    let (out, _) = whole;
    for line in out.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        assert!(line.ends_with(b"\r"), "{line:?}");
        assert!(
            line.len() >= 4 && line[..3].iter().all(u8::is_ascii_digit),
            "{line:?}"
        );
        assert!(line[3] == b' ' || line[3] == b'-', "{line:?}");
    }
}
