//! Content whose end is held back, for the smuggling probe: after DATA's
//! 354 the session sends the given bytes as they are (no stuffing, no
//! line-end repair, no closing dot), waits a bounded time for an answer
//! the server should not give, and only then sends the real
//! `<CR><LF>.<CR><LF>`. The wait is one more deadline beside the reply's
//! ([`ClientSession::poll_timeout`]); the session keeps no clock.

use std::time::{Duration, Instant};

use super::replies::Awaited;
use super::{ClientSession, Event, Plan};
use crate::proto::command::{Command, Verb};
use crate::proto::reply::{Reply, ReplyLimits};
use crate::proto::visible::visible;

/// What became of the held content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeldEnd {
    /// Not sent: the session never got DATA's 354.
    NotSent,
    /// Sent; no answer yet.
    Waiting,
    /// Answered before the wait was over: the server ended the data inside
    /// the held bytes.
    AnsweredEarly(Reply),
    /// The wait ran out with no answer, so the real end went.
    Released,
    /// The real end was answered.
    AnsweredAtEnd(Reply),
}

/// The held content's fate, and the reply that came after its answer:
/// after an early answer QUIT's (a 221), after the real end's the NOOP's
/// sent alone before QUIT (a 250).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldReport {
    pub end: HeldEnd,
    pub later: Option<Reply>,
}

#[derive(Debug)]
pub(super) struct Held {
    bytes: Vec<u8>,
    /// Sent after a silent wait.
    end: Vec<u8>,
    /// The NOOP after the real end's answer is out.
    noop_pending: bool,
    wait: Duration,
    /// Set once the bytes are written.
    deadline: Option<Instant>,
    report: HeldReport,
}

impl ClientSession {
    /// A session that runs `plan` but sends `content` after DATA's 354
    /// exactly as given and holds `end` (which must close the data with
    /// `<CR><LF>.<CR><LF>`) back for `wait`.
    pub fn with_held_end(
        limits: ReplyLimits,
        plan: Plan,
        content: Vec<u8>,
        end: Vec<u8>,
        wait: Duration,
    ) -> Self {
        let mut s = Self::with_plan(limits, plan);
        s.held = Some(Held {
            bytes: content,
            end,
            noop_pending: false,
            wait,
            deadline: None,
            report: HeldReport {
                end: HeldEnd::NotSent,
                later: None,
            },
        });
        s
    }

    /// What became of the held content, for a session made with
    /// [`Self::with_held_end`].
    pub fn held_report(&self) -> Option<&HeldReport> {
        self.held.as_ref().map(|h| &h.report)
    }

    /// After DATA's 354: sends the held bytes, shown line by line (a line
    /// ends at CRLF only, so bare CR and LF show as ␍ and ␊ where they
    /// are). False when there is nothing held.
    pub(super) fn send_held(&mut self) -> bool {
        let Some(h) = self.held.as_mut() else {
            return false;
        };
        if h.report.end != HeldEnd::NotSent {
            return false;
        }
        h.report.end = HeldEnd::Waiting;
        let bytes = std::mem::take(&mut h.bytes);
        let wait = h.wait;
        self.out.extend_from_slice(&bytes);
        let mut last_seq = None;
        for line in wire_lines(&bytes) {
            let seq = self.next_seq;
            self.next_seq += 1;
            last_seq = Some(seq);
            self.events.push_back(Event::Sent {
                seq,
                text: visible(line),
                revealed: None,
            });
        }
        self.info(format!(
            "probe: nothing more is sent for {}s; an answer now means the server took \
             what was just sent for the end of the data",
            wait.as_secs_f64()
        ));
        let seq = last_seq.unwrap_or(self.next_seq);
        self.await_reply(seq, Awaited::DataEnd);
        true
    }

    /// The held bytes have been written: the wait starts now.
    pub(super) fn held_written(&mut self, now: Instant) {
        if let Some(h) = self.held.as_mut() {
            if h.report.end == HeldEnd::Waiting && h.deadline.is_none() {
                h.deadline = Some(now + h.wait);
            }
        }
    }

    /// When the wait ends, while it runs.
    pub(super) fn held_deadline(&self) -> Option<Instant> {
        self.held
            .as_ref()
            .filter(|h| h.report.end == HeldEnd::Waiting)
            .and_then(|h| h.deadline)
    }

    /// The wait is over at `now` with no answer: the real end goes. True
    /// when that happened (the caller's reply deadline is not due then).
    pub(super) fn held_timeout(&mut self, now: Instant) -> bool {
        if self.held_deadline().is_none_or(|due| now < due) {
            return false;
        }
        let Some(h) = self.held.as_mut() else {
            return false;
        };
        h.report.end = HeldEnd::Released;
        let end = std::mem::take(&mut h.end);
        let wait = h.wait.as_secs_f64();
        self.info(format!(
            "probe: no answer within {wait}s: the server is still reading the content; \
             sending the rest (text first, on the same wire line, so that no CR just sent \
             joins the CRLF after it) and the real end <CR><LF>.<CR><LF>"
        ));
        self.out.extend_from_slice(&end);
        let mut seq = self.next_seq;
        for line in wire_lines(&end) {
            seq = self.next_seq;
            self.next_seq += 1;
            self.events.push_back(Event::Sent {
                seq,
                text: visible(line),
                revealed: None,
            });
        }
        // The awaited reply now answers the real end's dot.
        if let Some(p) = self
            .pending
            .iter_mut()
            .find(|p| p.awaited == Awaited::DataEnd)
        {
            p.seq = seq;
            p.on_wire = false;
        }
        true
    }

    /// Notes the answer to the held content and the reply after it.
    pub(super) fn held_on_reply(&mut self, awaited: Awaited, reply: &Reply) {
        let Some(h) = self.held.as_mut() else {
            return;
        };
        let r = &mut h.report;
        match (&r.end, awaited) {
            (HeldEnd::Waiting, Awaited::DataEnd) => r.end = HeldEnd::AnsweredEarly(reply.clone()),
            (HeldEnd::Released, Awaited::DataEnd) => {
                r.end = HeldEnd::AnsweredAtEnd(reply.clone());
                // One more command, answered alone before QUIT: a server
                // that had ended the data earlier and answered late is
                // one reply behind, and its answer to NOOP is not 250.
                h.noop_pending = true;
                self.send(&Command::Noop(None));
            }
            (HeldEnd::AnsweredAtEnd(_), Awaited::Command(Verb::Noop)) if h.noop_pending => {
                h.noop_pending = false;
                r.later = Some(reply.clone());
                self.quit();
            }
            (HeldEnd::AnsweredEarly(_), Awaited::Command(Verb::Quit)) if r.later.is_none() => {
                r.later = Some(reply.clone());
            }
            _ => {}
        }
    }

    /// QUIT waits while the NOOP after the real end is unanswered.
    pub(super) fn held_defers_quit(&self) -> bool {
        self.held.as_ref().is_some_and(|h| h.noop_pending)
    }
}

/// The bytes as wire lines: split after each CRLF, the CRLF not shown; a
/// last piece without one is a line too. Bare CR and LF stay inside.
fn wire_lines(bytes: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while let Some(i) = rest.windows(2).position(|w| w == b"\r\n") {
        out.push(&rest[..i]);
        rest = &rest[i + 2..];
    }
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::client::Outcome;
    use crate::proto::pair::{self, at};

    const WAIT: Duration = Duration::from_millis(500);
    const END: &[u8] = b"end\r\n.\r\n";

    /// A session after DATA's 354, its writes so far taken.
    fn at_354(content: &[u8]) -> ClientSession {
        let plan = pair::plan("a@client.example", &["b@mx.example"], b"unused");
        let mut s = ClientSession::with_held_end(
            ReplyLimits::default(),
            plan,
            content.to_vec(),
            END.to_vec(),
            WAIT,
        );
        s.set_reply_timeout(Duration::from_secs(30));
        for reply in [
            &b"220 mx ESMTP\r\n"[..],
            b"250 mx\r\n",
            b"250 ok\r\n",
            b"250 ok\r\n",
            b"354 go ahead\r\n",
        ] {
            let _ = s.poll_transmit();
            s.handle_written(at());
            s.handle_input(at(), reply);
        }
        s
    }

    fn sent(s: &mut ClientSession) -> Vec<String> {
        std::iter::from_fn(|| s.poll_event())
            .filter_map(|e| match e {
                Event::Sent { text, .. } => Some(text),
                _ => None,
            })
            .collect()
    }

    /// The code of the reply kept after the held end's answer.
    fn later_code(s: &ClientSession) -> Option<u16> {
        s.held_report()
            .unwrap()
            .later
            .as_ref()
            .map(|r| r.code.value())
    }

    #[test]
    fn an_answer_within_the_wait_is_early_and_nothing_more_is_sent() {
        let mut s = at_354(b"Subject: p\r\n\r\nmark\n.\n");
        assert_eq!(s.held_report().unwrap().end, HeldEnd::Waiting);
        let bytes = s.poll_transmit().unwrap();
        assert_eq!(bytes, b"Subject: p\r\n\r\nmark\n.\n");
        let shown = sent(&mut s);
        assert_eq!(shown[shown.len() - 3..], ["Subject: p", "", "mark␊.␊"]);
        s.handle_written(at());
        assert_eq!(s.poll_timeout(), Some(at() + WAIT));
        s.handle_input(at() + Duration::from_millis(10), b"250 2.0.0 queued\r\n");
        let report = s.held_report().unwrap().clone();
        assert!(matches!(report.end, HeldEnd::AnsweredEarly(ref r) if r.code.value() == 250));
        // Only QUIT follows: the data is over for the server.
        assert_eq!(s.poll_transmit().unwrap(), b"QUIT\r\n");
        s.handle_written(at());
        s.handle_input(at(), b"221 bye\r\n");
        assert_eq!(later_code(&s), Some(221));
        // A late call of the wait's deadline changes nothing.
        s.handle_timeout(at() + WAIT);
        assert!(s.poll_transmit().is_none());
    }

    #[test]
    fn silence_for_the_wait_sends_the_real_end() {
        for content in [&b"x\r\nmark\r.\r"[..], b"x\r\nmark\n.\r\n"] {
            let mut s = at_354(content);
            assert_eq!(s.poll_transmit().unwrap(), content);
            let _ = sent(&mut s);
            s.handle_written(at());
            // Early: nothing happens.
            s.handle_timeout(at() + WAIT / 2);
            assert!(s.poll_transmit().is_none());
            s.handle_timeout(at() + WAIT);
            assert_eq!(s.held_report().unwrap().end, HeldEnd::Released);
            assert_eq!(s.poll_transmit().unwrap(), END);
            assert_eq!(sent(&mut s), ["end", "."]);
            s.handle_written(at() + WAIT);
            // The reply deadline runs again from the real end.
            assert_eq!(
                s.poll_timeout(),
                Some(at() + WAIT + Duration::from_secs(30))
            );
            s.handle_input(at() + WAIT, b"250 2.0.0 queued\r\n");
            assert!(matches!(
                s.held_report().unwrap().end,
                HeldEnd::AnsweredAtEnd(ref r) if r.code.value() == 250
            ));
            assert!(matches!(s.outcome(), Some(Outcome::Completed { .. })));
            // NOOP alone, then QUIT once it is answered.
            assert_eq!(s.poll_transmit().unwrap(), b"NOOP\r\n");
            s.handle_written(at() + WAIT);
            s.handle_input(at() + WAIT, b"250 2.0.0 Ok\r\n");
            assert_eq!(later_code(&s), Some(250));
            assert_eq!(s.poll_transmit().unwrap(), b"QUIT\r\n");
        }
    }

    /// A server that refuses at the look-alike and hangs up before QUIT's
    /// answer: the session is over, and says so to the transport.
    #[test]
    fn a_hang_up_after_an_early_refusal_closes_the_session() {
        let mut s = at_354(b"mark\n.\n");
        let _ = s.poll_transmit();
        s.handle_written(at());
        s.handle_input(at(), b"521 5.5.2 Error: bare <LF> received\r\n");
        assert_eq!(s.poll_transmit().unwrap(), b"QUIT\r\n");
        s.handle_written(at());
        s.handle_eof();
        assert!(s.is_closed(), "the transport would read on");
        assert!(!s.awaiting_reply());
        assert!(matches!(s.outcome(), Some(Outcome::Refused(_))));
    }

    #[test]
    fn a_hang_up_during_the_wait_is_reported_as_such() {
        let mut s = at_354(b"mark\n.\n");
        let _ = s.poll_transmit();
        s.handle_written(at());
        s.handle_eof();
        assert_eq!(s.held_report().unwrap().end, HeldEnd::Waiting);
        assert!(matches!(s.outcome(), Some(Outcome::DeliveryUnknown(_))));
    }

    #[test]
    fn a_refusal_before_data_leaves_the_content_unsent() {
        let plan = pair::plan("a@client.example", &["b@mx.example"], b"unused");
        let mut s = ClientSession::with_held_end(
            ReplyLimits::default(),
            plan,
            b"x\n.\n".to_vec(),
            END.to_vec(),
            WAIT,
        );
        for reply in [
            &b"220 mx\r\n"[..],
            b"250 mx\r\n",
            b"250 ok\r\n",
            b"550 no such user\r\n",
        ] {
            let _ = s.poll_transmit();
            s.handle_input(at(), reply);
        }
        assert_eq!(s.held_report().unwrap().end, HeldEnd::NotSent);
        assert!(matches!(s.outcome(), Some(Outcome::Refused(_))));
        let rest = String::from_utf8(s.poll_transmit().unwrap()).unwrap();
        assert_eq!(rest, "QUIT\r\n");
    }

    #[test]
    fn wire_lines_split_at_crlf_only() {
        assert_eq!(
            wire_lines(b"a\r\nb\nc\r\n\r\nx\r.\r"),
            vec![&b"a"[..], b"b\nc", b"", b"x\r.\r"]
        );
        assert_eq!(wire_lines(b"a\r\n"), vec![&b"a"[..]]);
        assert!(wire_lines(b"").is_empty());
    }
}
