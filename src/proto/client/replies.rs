//! What a reply changes: the command it answers, the stage it moves the
//! session to, AUTH challenges, and replies that answer nothing.

use super::{ClientSession, Event, Outcome, Stage};
use crate::proto::auth::AuthExchange;
use crate::proto::capabilities::Capabilities;
use crate::proto::command::Verb;
use crate::proto::reply::Reply;
use crate::proto::visible::visible;

/// What a sent line waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Awaited {
    Greeting,
    Command(Verb),
    /// The answer to an AUTH continuation line.
    AuthStep,
    /// The answer to the `.` that ends DATA content.
    DataEnd,
    /// LMTP: the reply for the accepted recipient of this index, after the
    /// content (RFC 2033, section 4.2).
    Delivery(usize),
}

impl Awaited {
    pub(super) fn verb(self) -> Option<Verb> {
        match self {
            Awaited::Greeting => None,
            Awaited::Command(v) => Some(v),
            Awaited::AuthStep => Some(Verb::Auth),
            Awaited::DataEnd | Awaited::Delivery(_) => Some(Verb::Data),
        }
    }

    /// Whether a positive (2xx or 3xx) `code` is one this can get (RFC 5321,
    /// section 4.3.2, and the extensions' RFCs). Negative codes always fit.
    fn can_get(self, code: u16) -> bool {
        let fits: &[u16] = match self {
            Awaited::Greeting | Awaited::Command(Verb::StartTls) => &[220],
            Awaited::Command(Verb::Ehlo | Verb::Helo | Verb::Mail | Verb::Rset | Verb::Noop)
            | Awaited::Command(Verb::Bdat { .. })
            | Awaited::DataEnd
            | Awaited::Delivery(_)
            | Awaited::Command(Verb::Lhlo) => &[250],
            Awaited::Command(Verb::Xclient) => &[220, 250],
            Awaited::Command(Verb::Rcpt) => &[250, 251],
            Awaited::Command(Verb::Data) => &[354],
            Awaited::Command(Verb::Auth) | Awaited::AuthStep => &[235, 334],
            Awaited::Command(Verb::Vrfy) => &[250, 251, 252],
            Awaited::Command(Verb::Expn) => &[250, 252],
            Awaited::Command(Verb::Help) => &[211, 214],
            Awaited::Command(Verb::Quit) => &[221],
            // A line typed by hand: any reply may be right.
            Awaited::Command(Verb::Other) => return true,
        };
        fits.contains(&code)
    }

    pub(super) fn describe(self) -> &'static str {
        match self {
            Awaited::Greeting => "the greeting",
            Awaited::Command(v) => v.name(),
            Awaited::AuthStep => "AUTH",
            Awaited::DataEnd => "the end of the message content",
            Awaited::Delivery(_) => "the end of the message content (LMTP, for a recipient)",
        }
    }
}
/// the session is closed.
const UNSOLICITED_TOLD: usize = 10;
const JUNK_LIMIT: usize = 1000;

impl ClientSession {
    /// A reply that answers no command: `early` when a command was queued
    /// but had not been sent yet. A 421 may come at any time (RFC 5321,
    /// section 3.8); anything else is the server out of step, which ends a
    /// planned session as a protocol error, since no later reply could be
    /// trusted to answer the command it seems to.
    pub(super) fn unsolicited(&mut self, reply: &Reply, early: bool) {
        if reply.code.value() == 421 {
            self.warn("the server is closing the connection (421)");
            if self.driver.is_some() {
                self.finish(Outcome::Refused(reply.clone()));
            }
            self.close();
            return;
        }
        let mut m = if early {
            format!(
                "the server sent {} before the command it would answer was sent: it is out \
                 of step (a broken server, or one flooding replies)",
                reply.code
            )
        } else {
            format!(
                "a reply ({}) arrived with no command waiting for it",
                reply.code
            )
        };
        m.push_str(self.unsolicited_preamble_hint());
        if self.driver.is_some() {
            self.abort(m, true);
            return;
        }
        // By hand the session goes on; a flood is told of a few times, not
        // once per reply, and ended.
        if self.junk() {
            return;
        }
        match self.junk {
            n if n < UNSOLICITED_TOLD => self.warn(m),
            UNSOLICITED_TOLD => self.warn(format!(
                "{m} (more such replies are shown without this warning)"
            )),
            _ => {}
        }
    }

    /// Ends the session as a protocol error: says `m` (as an error line when
    /// `say`), and sends nothing more. Whatever was queued and not yet sent
    /// (message content after a 354 read with a stray reply, say) is
    /// dropped, so that a session reported as failed never delivers.
    pub(super) fn abort(&mut self, m: String, say: bool) {
        if say {
            self.error(m.clone());
        }
        // The transcript must not show as sent what never went out.
        let cut = self.transmitted;
        self.events
            .retain(|e| !matches!(e, Event::Sent { seq, .. } if *seq >= cut));
        self.out.clear();
        self.pending.retain(|p| p.on_wire);
        self.finish(Outcome::Protocol(m));
        self.close();
    }

    /// Counts a reply that answers nothing or could not be read, in a
    /// session driven by hand; true (and the session closed) at the limit.
    pub(super) fn junk(&mut self) -> bool {
        self.junk += 1;
        if self.junk < JUNK_LIMIT {
            return false;
        }
        if self.junk == JUNK_LIMIT {
            let m = format!(
                "the server has sent {JUNK_LIMIT} replies that answer nothing or cannot be \
                 read: it floods; closing the connection"
            );
            self.abort(m, true);
        }
        true
    }

    // ------------------------------------------------ what a reply changes

    // Long: one match, an arm per command, is the table of what each reply does.
    pub(super) fn on_reply(&mut self, awaited: Awaited, reply: &Reply) {
        let code = reply.code.value();
        let ok = reply.code.is_positive() && code < 300;
        if reply.code.is_positive() && !awaited.can_get(code) {
            let m = match awaited {
                Awaited::Greeting => format!(
                    "a greeting must be 220 (or 554 to refuse), not {code} (RFC 5321, \
                     section 4.3.2): the server is out of step or broken"
                ),
                _ => format!(
                    "{} cannot be answered with {code} (RFC 5321, section 4.3.2): the \
                     server is out of step or broken",
                    awaited.describe()
                ),
            };
            if self.driver.is_some() {
                self.abort(m, true);
                return;
            }
            self.warn(m);
        }
        match awaited {
            Awaited::Greeting => {
                if code == 220 {
                    self.stage = Stage::Greeted;
                } else {
                    self.warn(format!(
                        "the server refused the session in its greeting ({code})"
                    ));
                }
            }
            Awaited::Command(Verb::Ehlo | Verb::Lhlo) if ok => {
                let caps = Capabilities::from_ehlo(reply);
                let offered = caps.summary();
                if offered.is_empty() {
                    self.info("server offers no extensions: plain SMTP (RFC 5321) only");
                } else {
                    self.info(format!("server offers: {}", offered.join(", ")));
                }
                self.caps = Some(caps);
                self.stage = Stage::Ready;
            }
            Awaited::Command(Verb::Helo) if ok => {
                self.caps = Some(Capabilities::default());
                self.stage = Stage::Ready;
            }
            Awaited::Command(Verb::StartTls) if code == 220 => {
                let (replies, bytes) = self.parser.discard();
                if replies + bytes > 0 {
                    self.warn(format!(
                        "the server sent {replies} more reply(s) and {bytes} byte(s) after \
                         220 to STARTTLS, before TLS; dropped unread (RFC 3207, section 5)"
                    ));
                }
                self.awaiting_tls = true;
            }
            Awaited::Command(Verb::Auth) | Awaited::AuthStep => self.on_auth_reply(reply),
            Awaited::Command(Verb::Mail) if ok => {
                self.stage = Stage::Mail;
                self.rcpt_accepted = 0;
            }
            Awaited::Command(Verb::Rcpt) if ok => {
                self.stage = Stage::Rcpt;
                self.rcpt_accepted += 1;
                self.rcpt_answered(true);
            }
            Awaited::Command(Verb::Rcpt) => self.rcpt_answered(false),
            Awaited::Delivery(nth) => self.on_delivery(nth, reply),
            Awaited::Command(Verb::Xclient) => self.on_xclient_reply(reply),
            Awaited::Command(Verb::Data) if code == 354 => self.stage = Stage::Data,
            Awaited::DataEnd | Awaited::Command(Verb::Bdat { last: true }) => {
                if ok {
                    self.messages_accepted += 1;
                }
                // Accepted or not, the final reply ends the transaction
                // (RFC 5321, section 3.3): the next one starts afresh.
                self.stage = Stage::Ready;
                self.rcpts_sent.clear();
            }
            Awaited::Command(Verb::Bdat { last: false }) if !ok => {
                self.stage = Stage::Ready;
                self.rcpts_sent.clear();
            }
            Awaited::Command(Verb::Rset) if ok && self.stage > Stage::Ready => {
                self.stage = Stage::Ready;
            }
            Awaited::Command(Verb::Quit) => {
                self.stage = Stage::Closed;
                self.close_requested = true;
            }
            _ => {}
        }
        if code == 421 && self.stage != Stage::Closed {
            self.warn("the server is closing the connection (421)");
            self.close_requested = true;
        }
        if self.tx.preamble
            && code == 500
            && matches!(awaited, Awaited::Command(Verb::Ehlo | Verb::Lhlo))
        {
            self.warn(
                "500 to the first command after the greeting: the server probably read the \
                 PROXY header as a command, so it does not expect PROXY protocol",
            );
        }
        if self.driver.is_some() {
            self.plan_on_reply(awaited, reply);
        } else {
            self.by_hand_drop(awaited, reply);
        }
    }

    pub(super) fn on_auth_reply(&mut self, reply: &Reply) {
        match reply.code.value() {
            334 => {
                let text = reply.texts().next().unwrap_or_default().to_vec();
                match AuthExchange::decode_challenge(&text) {
                    Ok(challenge) => {
                        self.info(format!("challenge decoded: {}", visible(&challenge)));
                        if let Some(mut x) = self.auth.take() {
                            match x.respond(&challenge) {
                                Ok(line) => {
                                    self.auth = Some(x);
                                    self.write_auth_line(line, Awaited::AuthStep);
                                }
                                Err(e) => self.auth_abort(e.to_string()),
                            }
                        } else {
                            self.auth_challenge_open = true;
                        }
                    }
                    Err(e) => {
                        if self.auth.is_some() {
                            self.auth_abort(e.to_string());
                        } else {
                            self.warn(e.to_string());
                            self.auth_challenge_open = true;
                        }
                    }
                }
            }
            235 => {
                let user = self
                    .auth
                    .take()
                    .map(|x| x.user().to_string())
                    .unwrap_or_else(|| "(typed by hand)".into());
                self.info(format!("authenticated as {}", visible(user.as_bytes())));
                self.authenticated = Some(user);
                self.auth_challenge_open = false;
            }
            _ => {
                self.auth = None;
                self.auth_challenge_open = false;
            }
        }
    }

    /// RFC 4954, section 4: a client cancels an exchange by sending `*`.
    pub(super) fn auth_abort(&mut self, why: String) {
        self.error(format!("AUTH cancelled: {why}"));
        self.auth = None;
        let seq = self.write_line("*", None);
        self.await_reply(seq, Awaited::AuthStep);
    }
}
