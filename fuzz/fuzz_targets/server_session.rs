//! The built-in server's session against arbitrary client bytes, split at an
//! arbitrary point: no panic, replies always CRLF-terminated lines with a
//! code, and nothing held without bound.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use smtp_workbench::proto::server::{Policy, ServerConfig, ServerEnv, ServerSession};

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

fuzz_target!(|data: &[u8]| {
    let Some((&cut, rest)) = data.split_first() else { return };
    let cut = (cut as usize * rest.len()) / 256;
    let mut policy = Policy::default();
    policy.max_size = 4096;
    let mut env = Env(Arc::new(policy), 0);
    let mut s = ServerSession::new(ServerConfig {
        hostname: "fuzz.example".into(),
        client: "127.0.0.1".into(),
        tls_available: true,
        implicit_tls: false,
    });
    let mut out = Vec::new();
    for part in [&rest[..cut], &rest[cut..]] {
        s.handle_input(part, &mut env);
        if let Some(b) = s.poll_transmit() {
            out.extend_from_slice(&b);
        }
        while s.poll_event().is_some() {}
    }
    // Every reply line: three digits, a space or hyphen, CRLF at the end.
    for line in out.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        assert!(line.ends_with(b"\r"), "{line:?}");
        assert!(line.len() >= 4 && line[..3].iter().all(u8::is_ascii_digit), "{line:?}");
        assert!(line[3] == b' ' || line[3] == b'-', "{line:?}");
    }
});
