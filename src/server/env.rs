//! What a session asks of the world ([`ServerEnv`]), answered from the
//! state the connections share: the policy now, the greylist, a drill's
//! chance, unique queue ids and the rules.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::Shared;
use crate::proto::server::{Checkpoint, Policy, Ruling, ServerEnv};

/// One connection's view of the shared state.
pub(super) struct Env {
    shared: Arc<Shared>,
    /// The client's address, for the rules.
    client: IpAddr,
    rng: u64,
}

impl Env {
    /// Seeded from the time and the connection's number, so that two
    /// connections drill differently.
    pub(super) fn new(shared: Arc<Shared>, conn: u64, client: IpAddr) -> Self {
        let seed = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos() as u64
            ^ conn.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        Self {
            shared,
            client,
            rng: seed | 1,
        }
    }
}

impl ServerEnv for Env {
    fn policy(&self) -> Arc<Policy> {
        self.shared.policy()
    }

    fn greylist(&mut self, client: &str, from: &str, to: &str) -> Option<u64> {
        let delay = Duration::from_secs(self.shared.policy().greylist_secs?);
        let mut map = self.shared.greylist.lock().ok()?;
        // Bounded: forget the oldest half when the table is full.
        if map.len() > 100_000 {
            let mut ages: Vec<Instant> = map.values().copied().collect();
            ages.sort();
            let cut = ages[ages.len() / 2];
            map.retain(|_, t| *t > cut);
        }
        let first = *map
            .entry((client.to_string(), from.to_lowercase(), to.to_lowercase()))
            .or_insert_with(Instant::now);
        let waited = first.elapsed();
        (waited < delay).then(|| (delay - waited).as_secs().max(1))
    }

    fn chance(&mut self) -> f64 {
        // xorshift64*: a drill needs variety, not cryptography.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let x = self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (x >> 11) as f64 / (1u64 << 53) as f64
    }

    fn unique(&mut self) -> String {
        self.shared.queue_id()
    }

    fn rule(&mut self, at: &Checkpoint<'_>) -> Option<Ruling> {
        self.shared.rule(at, self.client)
    }
}
