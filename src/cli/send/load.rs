//! `send --count N --concurrency C`: the same transaction N times over C
//! concurrent sessions, to reproduce a rate limit or measure a server. One
//! line of summary instead of N transcripts.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::proto::client::{ClientSession, Outcome, Plan};
use crate::proto::reply::ReplyLimits;
use crate::transport::{self, ConnectOptions, Timed};

/// What the runs came to.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally {
    pub sent: usize,
    pub accepted: usize,
    /// Final reply codes (the one that ended each transaction), counted.
    pub codes: BTreeMap<u16, usize>,
    /// Failures without a reply (connection, TLS, timeout, protocol), counted by kind.
    pub errors: BTreeMap<&'static str, usize>,
    pub elapsed: Duration,
}

impl Tally {
    fn add(&mut self, outcome: Option<&Outcome>) {
        self.sent += 1;
        match outcome {
            Some(Outcome::Completed { accepted: Some(r) }) => {
                self.accepted += 1;
                *self.codes.entry(r.code.value()).or_default() += 1;
            }
            Some(Outcome::Completed { accepted: None }) => self.accepted += 1,
            Some(Outcome::Refused(r)) => *self.codes.entry(r.code.value()).or_default() += 1,
            Some(Outcome::TimedOut(_)) => *self.errors.entry("timeout").or_default() += 1,
            Some(Outcome::Tls(_)) => *self.errors.entry("tls").or_default() += 1,
            Some(Outcome::Protocol(_)) => *self.errors.entry("protocol").or_default() += 1,
            Some(Outcome::DeliveryUnknown(_)) => {
                *self.errors.entry("delivery unknown").or_default() += 1
            }
            Some(Outcome::NotOffered(_)) => *self.errors.entry("not offered").or_default() += 1,
            Some(Outcome::Local(_)) => *self.errors.entry("local").or_default() += 1,
            Some(Outcome::ConnectionLost(_)) | None => {
                *self.errors.entry("connection").or_default() += 1
            }
        }
    }

    pub fn rate(&self) -> f64 {
        self.sent as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The sentence for the transcript.
    pub fn summary(&self, concurrency: usize) -> String {
        let codes: Vec<String> = self
            .codes
            .iter()
            .map(|(c, n)| format!("{c} ×{n}"))
            .collect();
        let errors: Vec<String> = self
            .errors
            .iter()
            .map(|(k, n)| format!("{k} ×{n}"))
            .collect();
        format!(
            "load: {} messages over {concurrency} concurrent sessions in {:.3} s: {:.1} messages/s; \
             {} accepted; final replies: {}{}",
            self.sent,
            self.elapsed.as_secs_f64(),
            self.rate(),
            self.accepted,
            if codes.is_empty() { "none".into() } else { codes.join(", ") },
            if errors.is_empty() { String::new() } else { format!("; failures: {}", errors.join(", ")) }
        )
    }

    /// 0 when every message was accepted; else the worst: 5, 4, then 3.
    pub fn exit_status(&self) -> u8 {
        if self.accepted == self.sent {
            return crate::cli::exit::EXIT_OK;
        }
        if self.codes.keys().any(|c| *c >= 500) {
            crate::cli::exit::EXIT_PERMANENT
        } else if self.codes.keys().any(|c| (400..500).contains(c)) {
            crate::cli::exit::EXIT_TRANSIENT
        } else {
            crate::cli::exit::EXIT_CONNECTION
        }
    }
}

/// Runs `plan` `count` times over `concurrency` sessions at once.
pub async fn run(plan: &Plan, connect: &ConnectOptions, count: usize, concurrency: usize) -> Tally {
    let next = Arc::new(AtomicUsize::new(0));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let start = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..concurrency.min(count).max(1) {
        let (plan, connect, next, tally) =
            (plan.clone(), connect.clone(), next.clone(), tally.clone());
        set.spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < count {
                let session = ClientSession::with_plan(ReplyLimits::default(), plan.clone());
                let session = transport::run(session, &connect, &mut |_: Timed| {}).await;
                if let Ok(mut t) = tally.lock() {
                    t.add(session.outcome());
                }
            }
        });
    }
    while set.join_next().await.is_some() {}
    let mut t = tally.lock().map(|t| t.clone()).unwrap_or_default();
    t.elapsed = start.elapsed();
    t
}
