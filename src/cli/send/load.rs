//! `send --count N --concurrency C`: the same transaction N times over C
//! concurrent sessions, to reproduce a rate limit or measure a server. A
//! progress bar on a terminal and a summary at the end (`summary.rs`)
//! instead of N transcripts.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::progress::Progress;
use crate::proto::client::{ClientSession, Event, Outcome, Plan};
use crate::proto::reply::ReplyLimits;
use crate::proto::Verb;
use crate::transport::{self, ConnectOptions, Observer, Timed};

/// What the runs came to.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally {
    pub sent: usize,
    pub accepted: usize,
    /// Final reply codes (the one that ended each transaction), counted.
    pub codes: BTreeMap<u16, usize>,
    /// The final replies of the transactions not accepted, counted by code.
    pub refused: BTreeMap<u16, usize>,
    /// Failures without a reply (connection, TLS, timeout, protocol), counted by kind.
    pub errors: BTreeMap<&'static str, usize>,
    /// Each run's whole time: from the start of the connection to the end
    /// of the session (QUIT's reply, or the failure), in the order they ended.
    pub transaction: Vec<Duration>,
    /// For each run that sent the final dot (or BDAT LAST) and had a reply
    /// to it: how long that reply took.
    pub final_dot: Vec<Duration>,
    pub elapsed: Duration,
}

/// One run's times, as `Tally::add` takes them.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub transaction: Duration,
    pub final_dot: Option<Duration>,
}

impl Tally {
    /// Counts one run; true when its message was accepted.
    pub fn add(&mut self, outcome: Option<&Outcome>, timing: Timing) -> bool {
        self.sent += 1;
        self.transaction.push(timing.transaction);
        self.final_dot.extend(timing.final_dot);
        let mut refused = |r: &crate::proto::Reply| {
            *self.codes.entry(r.code.value()).or_default() += 1;
            *self.refused.entry(r.code.value()).or_default() += 1;
        };
        let error = match outcome {
            Some(Outcome::Completed { accepted: Some(r) }) => {
                self.accepted += 1;
                *self.codes.entry(r.code.value()).or_default() += 1;
                return true;
            }
            Some(Outcome::Completed { accepted: None }) => {
                self.accepted += 1;
                return true;
            }
            Some(Outcome::Refused(r)) => {
                refused(r);
                return false;
            }
            Some(Outcome::TimedOut(_)) => "timeout",
            Some(Outcome::Tls(_)) => "tls",
            Some(Outcome::Protocol(_)) => "protocol",
            Some(Outcome::DeliveryUnknown(_)) => "delivery unknown",
            Some(Outcome::NotOffered(_)) => "not offered",
            Some(Outcome::Local(_)) => "local",
            Some(Outcome::ConnectionLost(_)) | None => "connection",
        };
        *self.errors.entry(error).or_default() += 1;
        false
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

/// Watches one run's events for the reply to the final dot: the DATA reply
/// that follows a 354 (a refused DATA has none), or BDAT LAST's.
#[derive(Debug, Default)]
struct FinalDot {
    after_354: bool,
    latency: Option<Duration>,
}

impl Observer for FinalDot {
    fn event(&mut self, timed: Timed) {
        let Event::Reply { verb, reply, .. } = &timed.event else {
            return;
        };
        match verb {
            Some(Verb::Data) if reply.code.value() == 354 => self.after_354 = true,
            Some(Verb::Data) if self.after_354 => {
                self.after_354 = false;
                self.latency = timed.latency;
            }
            Some(Verb::Bdat { last: true }) => self.latency = timed.latency,
            _ => {}
        }
    }
}

/// How often the bar's clock is redrawn while no run ends.
const TICK: Duration = Duration::from_millis(250);

/// Runs `plan` `count` times over `concurrency` sessions at once, each end
/// shown on `progress`.
pub async fn run(
    plan: &Plan,
    connect: &ConnectOptions,
    count: usize,
    concurrency: usize,
    progress: &Progress,
) -> Tally {
    let next = Arc::new(AtomicUsize::new(0));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let start = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..concurrency.min(count).max(1) {
        let (plan, connect, next, tally, progress) = (
            plan.clone(),
            connect.clone(),
            next.clone(),
            tally.clone(),
            progress.clone(),
        );
        set.spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < count {
                let session = ClientSession::with_plan(ReplyLimits::default(), plan.clone());
                let began = Instant::now();
                let mut dot = FinalDot::default();
                let session = transport::run(session, &connect, &mut dot).await;
                let timing = Timing {
                    transaction: began.elapsed(),
                    final_dot: dot.latency,
                };
                let accepted = tally.lock().map(|mut t| t.add(session.outcome(), timing));
                progress.record(accepted.unwrap_or(false));
            }
        });
    }
    let mut tick = tokio::time::interval(TICK);
    loop {
        tokio::select! {
            joined = set.join_next() => if joined.is_none() { break },
            _ = tick.tick() => progress.tick(),
        }
    }
    progress.finish();
    let mut t = tally.lock().map(|t| t.clone()).unwrap_or_default();
    t.elapsed = start.elapsed();
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::reply::{Reply, ReplyCode};

    fn reply(code: u16) -> Reply {
        let line = format!("{code} x");
        Reply {
            code: ReplyCode::new(code).unwrap(),
            enhanced: None,
            lines: vec![line.into_bytes()],
            deviations: Vec::new(),
        }
    }

    fn timed(verb: Option<Verb>, code: u16, ms: u64) -> Timed {
        Timed {
            at: Duration::ZERO,
            latency: Some(Duration::from_millis(ms)),
            event: Event::Reply {
                answers: None,
                verb,
                reply: reply(code),
            },
        }
    }

    /// A reply's verb, code and latency in milliseconds.
    type Heard = (Option<Verb>, u16, u64);

    #[test]
    fn the_final_dot_is_the_data_reply_after_354_or_bdat_last() {
        let cases: &[(&[Heard], Option<u64>)] = &[
            (
                &[
                    (Some(Verb::Mail), 250, 1),
                    (Some(Verb::Data), 354, 2),
                    (Some(Verb::Data), 250, 30),
                    (Some(Verb::Quit), 221, 4),
                ],
                Some(30),
            ),
            // DATA refused: no dot was sent.
            (
                &[(Some(Verb::Data), 554, 2), (Some(Verb::Quit), 221, 1)],
                None,
            ),
            // Refused after the dot counts too: that reply took the time.
            (
                &[(Some(Verb::Data), 354, 2), (Some(Verb::Data), 552, 9)],
                Some(9),
            ),
            (
                &[
                    (Some(Verb::Bdat { last: false }), 250, 3),
                    (Some(Verb::Bdat { last: true }), 250, 12),
                ],
                Some(12),
            ),
            (&[(None, 220, 1), (Some(Verb::Ehlo), 250, 1)], None),
        ];
        for (events, want) in cases {
            let mut dot = FinalDot::default();
            for (verb, code, ms) in *events {
                dot.event(timed(*verb, *code, *ms));
            }
            assert_eq!(dot.latency, want.map(Duration::from_millis), "{events:?}");
        }
    }

    #[test]
    fn every_run_is_counted_once_accepted_refused_or_failed() {
        let mut t = Tally::default();
        let ms = |n| Timing {
            transaction: Duration::from_millis(n),
            final_dot: Some(Duration::from_millis(1)),
        };
        let accepted = Outcome::Completed {
            accepted: Some(reply(250)),
        };
        assert!(t.add(Some(&accepted), ms(5)));
        assert!(t.add(Some(&Outcome::Completed { accepted: None }), ms(5)));
        assert!(!t.add(Some(&Outcome::Refused(reply(451))), ms(3)));
        assert!(!t.add(Some(&Outcome::Refused(reply(554))), ms(3)));
        assert!(!t.add(None, Timing::default()));
        assert_eq!(t.sent, 5);
        assert_eq!(t.accepted, 2);
        assert_eq!(t.refused, BTreeMap::from([(451, 1), (554, 1)]));
        assert_eq!(t.errors, BTreeMap::from([("connection", 1)]));
        assert_eq!(t.codes, BTreeMap::from([(250, 1), (451, 1), (554, 1)]));
        assert_eq!(t.transaction.len(), 5);
        assert_eq!(t.final_dot.len(), 4);
        assert_eq!(t.exit_status(), crate::cli::exit::EXIT_PERMANENT);
    }
}
