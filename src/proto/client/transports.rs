//! What the session does differently for the transports an admin meets
//! besides plain SMTP: LMTP (LHLO, then one reply per accepted recipient
//! after the content, RFC 2033), XCLIENT after EHLO (Postfix's
//! XCLIENT_README), a PROXY header sent before the greeting (shown only:
//! the transport writes it), and hanging up without QUIT (`--drop-after`).

use std::collections::VecDeque;

use super::content::show_content;
use super::replies::Awaited;
use super::{ClientSession, Outcome, QuitAfter, Stage};
use crate::proto::command::{Command, Verb};
use crate::proto::data::{DataEncoder, Framing};
use crate::proto::reply::Reply;

/// The protocol spoken over the connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Protocol {
    #[default]
    Smtp,
    /// LMTP (RFC 2033): LHLO instead of EHLO, and a reply per accepted
    /// recipient after the content.
    Lmtp,
}

impl Protocol {
    /// Each protocol by the name `--protocol` gives it.
    pub const NAMES: [(&'static str, Protocol); 2] = [("smtp", Self::Smtp), ("lmtp", Self::Lmtp)];
}

/// Where `--drop-after` hangs up without QUIT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropAfter {
    /// At the same points as `--quit-after`.
    At(QuitAfter),
    /// After the 354, in the middle of the content: the end never goes.
    Content,
}

impl DropAfter {
    /// The names `--drop-after` takes, in the order of a session.
    pub const NAMES: [(&'static str, DropAfter); 9] = [
        ("connect", Self::At(QuitAfter::Connect)),
        ("greeting", Self::At(QuitAfter::Greeting)),
        ("ehlo", Self::At(QuitAfter::Ehlo)),
        ("starttls", Self::At(QuitAfter::StartTls)),
        ("auth", Self::At(QuitAfter::Auth)),
        ("mail", Self::At(QuitAfter::Mail)),
        ("rcpt", Self::At(QuitAfter::Rcpt)),
        ("data", Self::At(QuitAfter::Data)),
        ("content", Self::Content),
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::At(q) => q.name(),
            Self::Content => "content",
        }
    }
}

/// What a face asks of the transports for a session: given once, before
/// the session starts ([`ClientSession::set_transports`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransportSetup {
    pub protocol: Protocol,
    /// `--xclient`: sent after EHLO by a planned session.
    pub xclient: Option<Command>,
    pub drop_after: Option<DropAfter>,
}

/// The session's state for these transports; all of it defaults to plain
/// SMTP.
#[derive(Debug, Default)]
pub(super) struct Transports {
    pub(super) protocol: Protocol,
    /// XCLIENT for a planned session to send after EHLO, and whether it
    /// has been answered.
    xclient: Option<Command>,
    xclient_done: bool,
    pub(super) drop: Option<DropAfter>,
    /// A PROXY header went before anything else.
    pub(super) preamble: bool,
    /// The recipients of RCPTs whose replies are still to come, in order.
    rcpt_queue: VecDeque<String>,
    /// The recipients accepted in this transaction.
    accepted: Vec<String>,
    /// LMTP: the accepted recipients the replies after the content answer.
    deliveries: Vec<String>,
    delivered: usize,
    first_delivered: Option<Reply>,
    /// The last LMTP reply after the content has come: one more is excess.
    after_deliveries: bool,
}

impl ClientSession {
    /// Applies everything `setup` asks for.
    pub fn set_transports(&mut self, setup: &TransportSetup) {
        self.set_protocol(setup.protocol);
        if let Some(x) = &setup.xclient {
            self.set_xclient(x.clone());
        }
        if let Some(d) = setup.drop_after {
            self.set_drop_after(d);
        }
    }

    /// Speaks `protocol` (LMTP: LHLO, and a reply per recipient after the
    /// content).
    pub fn set_protocol(&mut self, protocol: Protocol) {
        self.tx.protocol = protocol;
    }

    pub fn protocol(&self) -> Protocol {
        self.tx.protocol
    }

    pub(super) fn lmtp(&self) -> bool {
        self.tx.protocol == Protocol::Lmtp
    }

    /// A planned session sends `xclient` after EHLO, then EHLO again; when
    /// the server does not offer XCLIENT it stops there.
    pub fn set_xclient(&mut self, xclient: Command) {
        self.tx.xclient = Some(xclient);
    }

    /// Hangs up without QUIT at `point` (`--drop-after`). A planned session
    /// stops there; one driven by hand hangs up when it gets there.
    pub fn set_drop_after(&mut self, point: DropAfter) {
        self.tx.drop = Some(point);
        if let (Some(d), DropAfter::At(q)) = (self.driver.as_mut(), point) {
            d.plan.quit_after = Some(q);
        }
        if point == DropAfter::At(QuitAfter::Connect) {
            self.info("hanging up as soon as the connection is made, without QUIT, as asked (--drop-after connect)");
            self.finish(Outcome::Completed { accepted: None });
            self.close();
        }
    }

    /// The transport sent a preamble before anything else (a PROXY
    /// header): `sent` is shown as the line sent, `details` as information.
    pub fn handle_preamble_sent(&mut self, sent: String, details: Vec<String>) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.transmitted = self.next_seq;
        self.events.push_back(super::Event::Sent {
            seq,
            text: sent,
            revealed: None,
        });
        for d in details {
            self.info(d);
        }
        self.tx.preamble = true;
    }

    /// What a greeting that never came may mean after a PROXY header.
    pub(super) fn preamble_hint(&self, awaited: Option<Awaited>) -> &'static str {
        if self.tx.preamble && awaited == Some(Awaited::Greeting) {
            "; right after the PROXY header: the server may not take PROXY protocol, or not \
             from this address (Postfix: smtpd_upstream_proxy_protocol; HAProxy: accept-proxy)"
        } else {
            ""
        }
    }

    /// What a reply that answers no command may mean after a PROXY header:
    /// the server read the header as a command and answered it.
    pub(super) fn unsolicited_preamble_hint(&self) -> &'static str {
        if self.tx.preamble {
            "; the PROXY header may be why: a server that does not expect PROXY protocol \
             reads it as a command and answers it (Postfix: smtpd_upstream_proxy_protocol; \
             HAProxy: accept-proxy)"
        } else {
            ""
        }
    }

    // ------------------------------------------------------------- LMTP

    /// A RCPT for `to` went out: its reply is due in turn.
    pub(super) fn rcpt_sent(&mut self, to: String) {
        self.tx.rcpt_queue.push_back(to);
    }

    /// MAIL or RSET went out: a new transaction.
    pub(super) fn transaction_reset(&mut self) {
        self.tx.accepted.clear();
    }

    pub(super) fn rcpt_answered(&mut self, ok: bool) {
        if let Some(to) = self.tx.rcpt_queue.pop_front() {
            if ok {
                self.tx.accepted.push(to);
            }
        }
    }

    /// LMTP: how many replies the end of the content gets (one per accepted
    /// recipient, RFC 2033, section 4.2), the recipients noted; None for
    /// SMTP's one.
    pub(super) fn lmtp_replies(&mut self, awaited: Awaited) -> Option<usize> {
        let last = matches!(
            awaited,
            Awaited::DataEnd | Awaited::Command(Verb::Bdat { last: true })
        );
        if !self.lmtp() || !last || self.tx.accepted.is_empty() {
            return None;
        }
        self.tx.deliveries = std::mem::take(&mut self.tx.accepted);
        self.tx.delivered = 0;
        self.tx.first_delivered = None;
        self.tx.after_deliveries = false;
        Some(self.tx.deliveries.len())
    }

    /// The LMTP reply for the `nth` accepted recipient: said against it.
    pub(super) fn on_delivery(&mut self, nth: usize, reply: &Reply) {
        let total = self.tx.deliveries.len();
        let who = self.tx.deliveries.get(nth).cloned().unwrap_or_default();
        let code = reply.code.value();
        let verdict = match code {
            200..=299 => {
                self.tx.delivered += 1;
                if self.tx.first_delivered.is_none() {
                    self.tx.first_delivered = Some(reply.clone());
                }
                "delivered".to_string()
            }
            400..=499 => "not delivered, a temporary failure for this recipient only (the \
                          others' replies stand; try it again later)"
                .to_string(),
            _ => "not delivered, a permanent failure for this recipient only (the others' \
                  replies stand)"
                .to_string(),
        };
        self.info(format!(
            "lmtp: <{who}> {verdict}: {} (reply {} of {total}, one per accepted recipient)",
            reply.summary(),
            nth + 1
        ));
        if nth + 1 == total {
            if self.tx.delivered > 0 {
                self.messages_accepted += 1;
            }
            self.info(format!(
                "lmtp: delivered to {} of {total} recipient(s)",
                self.tx.delivered
            ));
            self.stage = Stage::Ready;
            self.rcpts_sent.clear();
            self.tx.after_deliveries = true;
        }
    }

    /// A planned session after the LMTP reply for the `nth` recipient: at
    /// the last, delivered when any was, else refused by the worst reply.
    pub(super) fn plan_on_delivery(&mut self, nth: usize, reply: &Reply) {
        if !reply.code.is_positive() {
            self.note_refusal(reply);
        }
        if nth + 1 < self.tx.deliveries.len() {
            return;
        }
        match self.tx.first_delivered.clone() {
            Some(first) => self.finish(Outcome::Completed {
                accepted: Some(first),
            }),
            None => {
                let worst = self.partial_refusal.take().unwrap_or_else(|| reply.clone());
                self.finish(Outcome::Refused(worst));
            }
        }
        self.quit();
    }

    /// A reply after the LMTP replies for every recipient: more replies
    /// than recipients, which no later reply can be trusted past. True when
    /// `reply` was that (and has been dealt with).
    pub(super) fn lmtp_excess(&mut self, awaited: Option<Awaited>, reply: &Reply) -> bool {
        if !self.tx.after_deliveries {
            return false;
        }
        let quit_answer =
            awaited == Some(Awaited::Command(Verb::Quit)) && reply.code.value() == 221;
        if awaited.is_some() && (quit_answer || awaited != Some(Awaited::Command(Verb::Quit))) {
            self.tx.after_deliveries = false;
            return false;
        }
        let m = format!(
            "the LMTP server sent a reply ({}) after the replies for all {} accepted \
             recipient(s): more replies than recipients breaks RFC 2033 (section 4.2), so \
             no later reply can be trusted to answer its command",
            reply.code,
            self.tx.deliveries.len()
        );
        if self.driver.is_some() {
            self.outcome = Some(Outcome::Protocol(m.clone()));
            self.abort(m, true);
        } else {
            self.warn(m);
        }
        true
    }

    /// The connection ends while LMTP replies are due: which recipients
    /// never got theirs.
    pub(super) fn lmtp_loss(&self, what: &str, nth: usize) -> Outcome {
        let total = self.tx.deliveries.len();
        let missing: Vec<String> = self.tx.deliveries[nth.min(total)..]
            .iter()
            .map(|r| format!("<{r}>"))
            .collect();
        Outcome::DeliveryUnknown(format!(
            "{what} after the message content was sent: the LMTP server answered {nth} of \
             {total} accepted recipient(s), and never {} (LMTP gives one reply per accepted \
             recipient, RFC 2033, section 4.2): delivery status unknown for them",
            missing.join(", ")
        ))
    }

    // ---------------------------------------------------------- XCLIENT

    /// A planned session after EHLO: true when XCLIENT was sent (or the
    /// plan ended because it is not offered), so the rest waits.
    pub(super) fn plan_xclient(&mut self) -> bool {
        if self.tx.xclient_done {
            return false;
        }
        let Some(cmd) = self.tx.xclient.clone() else {
            return false;
        };
        let offered = self.caps.as_ref().is_some_and(|c| {
            c.other
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("XCLIENT"))
        });
        if offered {
            self.send(&cmd);
        } else {
            let m = "the server does not offer XCLIENT in its EHLO reply (Postfix offers it \
                     only to the clients in smtpd_authorized_xclient_hosts)"
                .to_string();
            self.error(m.clone());
            self.finish(Outcome::NotOffered(m));
            self.quit();
        }
        true
    }

    /// The reply to XCLIENT: 220 is a new greeting, after which EHLO must
    /// come again.
    pub(super) fn on_xclient_reply(&mut self, reply: &Reply) {
        match reply.code.value() {
            220 => {
                self.info(
                    "XCLIENT accepted: the server now treats the session as coming from the \
                     client it names, and has greeted again (220), forgetting the EHLO: \
                     EHLO comes again (Postfix's XCLIENT_README)",
                );
                self.stage = Stage::Greeted;
                self.caps = None;
            }
            250 => self.info("XCLIENT accepted (250)"),
            code => self.info(format!(
                "XCLIENT refused ({code}): Postfix allows it only from the clients in \
                 smtpd_authorized_xclient_hosts, and refuses attributes it does not know"
            )),
        }
    }

    /// A planned session after the reply to XCLIENT.
    pub(super) fn plan_on_xclient(&mut self, reply: &Reply) {
        self.tx.xclient_done = true;
        match reply.code.value() {
            220 => {
                let ehlo = self.plan_ref().map(|p| p.ehlo.clone()).unwrap_or_default();
                self.plan_send_ehlo(&ehlo);
            }
            250 => self.plan_after_ehlo(),
            _ => {
                self.finish(Outcome::Refused(reply.clone()));
                self.quit();
            }
        }
    }

    // ------------------------------------------------------- drop-after

    /// A planned stop at `point` under `--drop-after`: hang up without
    /// QUIT and say so. False when the stop is a QUIT.
    pub(super) fn drop_at(&mut self, point: &str) -> bool {
        if self.tx.drop.is_none() {
            return false;
        }
        let after = match point {
            "connect" => "connecting",
            "greeting" => "the greeting",
            "ehlo" => "EHLO",
            "starttls" => "STARTTLS",
            "auth" => "AUTH",
            "mail" => "MAIL FROM",
            "rcpt" => "RCPT TO",
            other => other,
        };
        self.info(format!(
            "hanging up without QUIT after {after}, as asked (--drop-after {}): the server \
             is left to deal with the half-finished session",
            self.tx.drop.map(DropAfter::name).unwrap_or_default()
        ));
        self.close();
        true
    }

    /// `--drop-after content`, on 354: about half the content goes, then
    /// the connection is hung up; the end never goes, so nothing can be
    /// delivered. True when it did so.
    pub(super) fn drop_mid_content(&mut self, content: &[u8]) -> bool {
        if self.tx.drop != Some(DropAfter::Content) {
            return false;
        }
        let mut wire = Vec::new();
        let mut encoder = DataEncoder::new(Framing::Data);
        encoder.encode(content, &mut wire);
        // Cut at a line end near the middle, so the transcript shows whole
        // lines; a one-line message is cut in its middle.
        let half = wire.len() / 2;
        let cut = wire[..half]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(half, |i| i + 1);
        let part = &wire[..cut];
        let hidden = show_content(
            part,
            &mut self.content_shown,
            &mut self.next_seq,
            &mut self.events,
        );
        if hidden.lines > 0 {
            self.info(hidden.sentence());
        }
        self.out.extend_from_slice(part);
        self.info(format!(
            "hanging up without QUIT in the middle of the content, as asked (--drop-after \
             content): {cut} of {} bytes sent, the final \".\" never, so the server must \
             drop the message",
            wire.len() + 3
        ));
        self.finish(Outcome::Completed { accepted: None });
        self.close();
        true
    }

    /// A session driven by hand under `--drop-after`: hangs up when a reply
    /// takes it to the point.
    pub(super) fn by_hand_drop(&mut self, awaited: Awaited, reply: &Reply) {
        let Some(point) = self.tx.drop else { return };
        let code = reply.code.value();
        let reached = match awaited {
            Awaited::Greeting if code == 220 => Some(QuitAfter::Greeting),
            Awaited::Command(Verb::Ehlo | Verb::Helo | Verb::Lhlo) if code == 250 => {
                Some(QuitAfter::Ehlo)
            }
            Awaited::Command(Verb::Auth) | Awaited::AuthStep if code == 235 => {
                Some(QuitAfter::Auth)
            }
            Awaited::Command(Verb::Mail) if code == 250 => Some(QuitAfter::Mail),
            Awaited::Command(Verb::Rcpt) if reply.code.is_positive() => Some(QuitAfter::Rcpt),
            Awaited::Command(Verb::Data) if code == 354 => Some(QuitAfter::Data),
            _ => None,
        };
        let wanted = match point {
            DropAfter::At(q) => q,
            DropAfter::Content => QuitAfter::Data,
        };
        if reached == Some(wanted) {
            self.info(format!(
                "hanging up without QUIT after {}, as asked (--drop-after {})",
                awaited.describe(),
                point.name()
            ));
            self.hang_up_quietly();
        }
    }

    /// STARTTLS's handshake is done: a session driven by hand under
    /// `--drop-after starttls` hangs up now.
    pub(super) fn by_hand_drop_tls(&mut self) {
        if self.driver.is_none() && self.tx.drop == Some(DropAfter::At(QuitAfter::StartTls)) {
            self.info(
                "hanging up without QUIT after the TLS handshake, as asked (--drop-after starttls)",
            );
            self.hang_up_quietly();
        }
    }

    fn hang_up_quietly(&mut self) {
        self.pending.clear();
        self.stage = Stage::Closed;
        self.close_requested = true;
    }
}
