//! Time stamps and latencies for the transcript: when each event happened
//! since the connection attempt began, and how long each reply took. Only
//! for showing; the session's deadlines are its own.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use crate::proto::client::Event;

/// An event with the time it happened, since the start of the connection
/// attempt, and for replies the time since the line they answer was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timed {
    pub at: Duration,
    pub latency: Option<Duration>,
    pub event: Event,
}

/// Keeps time for the transcript.
pub(super) struct Clock {
    start: Instant,
    /// Lines sent and when, oldest first; dropped once answered.
    sent: VecDeque<(u64, Instant)>,
}

impl Clock {
    pub(super) fn new() -> Self {
        Self {
            start: Instant::now(),
            sent: VecDeque::new(),
        }
    }

    pub(super) fn stamp(&mut self, event: Event) -> Timed {
        let now = Instant::now();
        let latency = match &event {
            Event::Sent { seq, .. } => {
                self.sent.push_back((*seq, now));
                None
            }
            Event::Reply { answers, .. } | Event::BadReply { answers, .. } => {
                let answered = answers.unwrap_or(u64::MAX);
                let mut at = None;
                while let Some(&(seq, t)) = self.sent.front() {
                    if seq > answered {
                        break;
                    }
                    if seq == answered {
                        at = Some(t);
                    }
                    self.sent.pop_front();
                }
                match answers {
                    // The greeting answers the connection itself.
                    Some(0) => Some(now - self.start),
                    Some(_) => at.map(|t| now - t),
                    None => None,
                }
            }
            _ => None,
        };
        Timed {
            at: now - self.start,
            latency,
            event,
        }
    }
}
