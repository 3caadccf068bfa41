//! The envelope: MAIL FROM and RCPT TO with the policy's checks (HELO
//! first, STARTTLS and AUTH when required, size, relaying, greylisting, the
//! transient-failure drill), and their parameters kept for the record.

use std::borrow::Cow;

use smtp_proto::{MailFrom, RcptTo};

use super::{Policy, ServerEnv, ServerSession, MAX_RECIPIENTS};
use crate::proto::visible::visible;

impl ServerSession {
    pub(super) fn mail(&mut self, from: &MailFrom<Cow<'_, str>>, policy: &Policy) {
        if self.helo.is_none() {
            return self.error("503 5.5.1 Error: send HELO/EHLO first");
        }
        if self.mail.is_some() {
            return self.error("503 5.5.1 Error: nested MAIL command");
        }
        if policy.require_tls && !self.tls {
            return self.error("530 5.7.0 Must issue a STARTTLS command first");
        }
        if policy.require_auth && self.auth.is_none() {
            return self.error("530 5.7.0 Authentication required");
        }
        if from.size as u64 > policy.max_size {
            return self.error("552 5.3.4 Message size exceeds fixed limit");
        }
        self.mail = Some((from.address.to_string(), mail_params(from)));
        self.reply("250 2.1.0 Ok");
    }

    pub(super) fn rcpt(
        &mut self,
        to: &RcptTo<Cow<'_, str>>,
        policy: &Policy,
        env: &mut dyn ServerEnv,
    ) {
        let Some((from, _)) = self.mail.clone() else {
            return self.error("503 5.5.1 Error: need MAIL command");
        };
        if self.rcpts.len() >= MAX_RECIPIENTS {
            return self.error("452 4.5.3 Error: too many recipients");
        }
        let addr = to.address.to_string();
        let shown = visible(addr.as_bytes());
        if !policy.is_local(&addr) && self.auth.is_none() {
            // Postfix's wording, which administrators know.
            return self.error(&format!("554 5.7.1 <{shown}>: Relay access denied"));
        }
        if policy.greylist_secs.is_some() {
            if let Some(wait) = env.greylist(&self.config.client, &from, &addr) {
                return self.error(&format!(
                    "450 4.7.1 <{shown}>: Recipient address rejected: Greylisted, \
                     try again in {wait} seconds"
                ));
            }
        }
        if policy.transient_failure > 0.0 && env.chance() < policy.transient_failure {
            return self.error("451 4.3.0 Error: temporary failure (a drill), try again later");
        }
        self.rcpts.push((addr, rcpt_params(to)));
        self.reply("250 2.1.5 Ok");
    }
}

fn mail_params(from: &MailFrom<Cow<'_, str>>) -> Vec<String> {
    let mut out = Vec::new();
    if from.size > 0 {
        out.push(format!("SIZE={}", from.size));
    }
    let flags = [
        (smtp_proto::MAIL_BODY_7BIT, "BODY=7BIT"),
        (smtp_proto::MAIL_BODY_8BITMIME, "BODY=8BITMIME"),
        (smtp_proto::MAIL_BODY_BINARYMIME, "BODY=BINARYMIME"),
        (smtp_proto::MAIL_SMTPUTF8, "SMTPUTF8"),
        (smtp_proto::MAIL_RET_FULL, "RET=FULL"),
        (smtp_proto::MAIL_RET_HDRS, "RET=HDRS"),
        (smtp_proto::MAIL_REQUIRETLS, "REQUIRETLS"),
    ];
    out.extend(
        flags
            .iter()
            .filter(|(f, _)| from.flags & f != 0)
            .map(|(_, n)| n.to_string()),
    );
    if let Some(id) = &from.env_id {
        out.push(format!("ENVID={}", visible(id.as_bytes())));
    }
    if let Some(a) = &from.auth {
        out.push(format!("AUTH={}", visible(a.as_bytes())));
    }
    out
}

fn rcpt_params(to: &RcptTo<Cow<'_, str>>) -> Vec<String> {
    let mut out = Vec::new();
    let notify: Vec<&str> = [
        (smtp_proto::RCPT_NOTIFY_SUCCESS, "SUCCESS"),
        (smtp_proto::RCPT_NOTIFY_FAILURE, "FAILURE"),
        (smtp_proto::RCPT_NOTIFY_DELAY, "DELAY"),
        (smtp_proto::RCPT_NOTIFY_NEVER, "NEVER"),
    ]
    .iter()
    .filter(|(f, _)| to.flags & f != 0)
    .map(|(_, n)| *n)
    .collect();
    if !notify.is_empty() {
        out.push(format!("NOTIFY={}", notify.join(",")));
    }
    if let Some(o) = &to.orcpt {
        out.push(format!("ORCPT={}", visible(o.as_bytes())));
    }
    out
}
