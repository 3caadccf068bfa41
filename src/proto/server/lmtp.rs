//! LMTP (RFC 2033) in the built-in server (`serve --protocol lmtp`): LHLO
//! instead of EHLO, and after the content one reply per accepted
//! recipient. A recipient the policy bounces (`--bounce`) is refused there,
//! after the content, as Dovecot refuses a full mailbox: LMTP can say so
//! per recipient, so no bounce message is needed.

use super::policy::{Policy, ServerEnv};
use super::{ServerEvent, ServerSession};

impl ServerSession {
    /// EHLO and HELO to an LMTP server: it takes only LHLO.
    pub(super) fn lmtp_wants_lhlo(&mut self) {
        self.error("500 5.5.1 Error: this is an LMTP server: say LHLO (RFC 2033, section 4.1)");
    }

    /// The same refusal of the content, once for each recipient.
    pub(super) fn lmtp_refuse_all(&mut self, refusal: &str) {
        let n = self.rcpts.len().max(1);
        for _ in 0..n {
            self.reply(refusal);
        }
        self.errors += 1;
    }

    /// The end of the content: the message for the recipients it is
    /// delivered to, and a reply for each.
    pub(super) fn lmtp_deliver(&mut self, env: &mut dyn ServerEnv, policy: &Policy) {
        let id = env.unique();
        let rcpts = std::mem::take(&mut self.rcpts);
        let mut delivered = Vec::new();
        for (rcpt, params) in rcpts {
            if policy.bounces(&rcpt) {
                let t = format!("552 5.2.2 <{rcpt}> Error: mailbox full, not delivered");
                self.reply(&t);
            } else {
                let t = format!("250 2.0.0 <{rcpt}> Ok: delivered as {id}");
                self.reply(&t);
                delivered.push((rcpt, params));
            }
        }
        if delivered.is_empty() {
            return;
        }
        let message = self.received(id, delivered);
        self.events
            .push_back(ServerEvent::Message(Box::new(message)));
    }
}
