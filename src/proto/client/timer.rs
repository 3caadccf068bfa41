//! The session's one deadline: how long the server may take to answer.
//! The session keeps it; the transport only asks when it falls due
//! ([`super::ClientSession::poll_timeout`]) and says when that time has come.

use std::time::{Duration, Instant};

/// The per-reply deadline. It restarts when the connection is made, when
/// a command has gone on the wire and whenever a reply is read, so it
/// bounds each reply as a whole, not the session.
#[derive(Debug, Default)]
pub(super) struct ReplyTimer {
    limit: Option<Duration>,
    deadline: Option<Instant>,
    /// Since when the owner was too far behind to take more events.
    paused_at: Option<Instant>,
}

impl ReplyTimer {
    pub(super) fn set_limit(&mut self, limit: Duration) {
        self.limit = Some(limit);
    }

    pub(super) fn restart(&mut self, now: Instant) {
        self.deadline = self.limit.map(|l| now + l);
    }

    pub(super) fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    pub(super) fn pause(&mut self, now: Instant) {
        self.paused_at.get_or_insert(now);
    }

    /// The wait while paused is not the server's: the deadline moves on by it.
    pub(super) fn resume(&mut self, now: Instant) {
        if let (Some(paused), Some(deadline)) = (self.paused_at.take(), self.deadline.as_mut()) {
            *deadline += now.saturating_duration_since(paused);
        }
    }
}
