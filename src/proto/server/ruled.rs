//! What the session does when a server rule fires: the checkpoint it
//! builds for each command, the rule's pause, its reply in place of the
//! server's own, its hang-up before or after the reply, and the recipients
//! it bounces after acceptance.

use std::borrow::Cow;

use smtp_proto::Request;

use super::checkpoint::{Checkpoint, Hangup, Ruling, Stage};
use super::{ServerEnv, ServerEvent, ServerSession};

impl ServerSession {
    /// The rules at `connect`: the greeting (after a rule's pause), a
    /// rule's own, or nothing.
    pub(super) fn connect_rules(&mut self, env: &mut dyn ServerEnv) {
        let Some(r) = env.rule(&Checkpoint::new(Stage::Connect)) else {
            return;
        };
        // `new` queued the greeting; the rule decides what goes instead.
        self.out.clear();
        self.events.clear();
        if self.heed(&r) {
            if r.reply.as_deref().is_some_and(|t| t.starts_with("554")) && !self.is_closed() {
                self.no_service = true;
            }
        } else {
            self.greet();
            self.heed_after(&r, 0);
        }
    }

    /// The rules for a command, when its stage is one rules are asked at.
    pub(super) fn ask_rules(
        &self,
        request: &Request<Cow<'_, str>>,
        env: &mut dyn ServerEnv,
    ) -> Option<Ruling> {
        let mut at = match request {
            Request::Ehlo { .. } | Request::Helo { .. } | Request::Lhlo { .. } => {
                Checkpoint::new(Stage::Ehlo)
            }
            Request::Mail { from } => {
                let mut at = Checkpoint::new(Stage::Mail);
                at.sender = Some(from.address.as_ref());
                at.size = (from.size > 0).then_some(from.size as u64);
                at
            }
            Request::Rcpt { to } => {
                let mut at = Checkpoint::new(Stage::Rcpt);
                at.rcpts = vec![to.address.as_ref()];
                at
            }
            Request::Data => {
                let mut at = Checkpoint::new(Stage::Data);
                at.rcpts = self.rcpts.iter().map(|(a, _)| a.as_str()).collect();
                at
            }
            Request::Quit => Checkpoint::new(Stage::Quit),
            _ => return None,
        };
        at.user = self.auth.as_deref();
        if at.sender.is_none() {
            at.sender = self.mail.as_ref().map(|(m, _)| m.as_str());
        }
        env.rule(&at)
    }

    /// The rules at the end of the content, before the 250.
    pub(super) fn dot_rules(&self, env: &mut dyn ServerEnv) -> Option<Ruling> {
        let mut at = Checkpoint::new(Stage::Dot);
        at.user = self.auth.as_deref();
        at.sender = self.mail.as_ref().map(|(m, _)| m.as_str());
        at.rcpts = self.rcpts.iter().map(|(a, _)| a.as_str()).collect();
        at.size = Some(self.content.len());
        env.rule(&at)
    }

    /// The rules once AUTH's credentials are read: `user` logging in.
    pub(super) fn auth_rules(&self, user: &str, env: &mut dyn ServerEnv) -> Option<Ruling> {
        let mut at = Checkpoint::new(Stage::Auth);
        at.user = Some(user);
        env.rule(&at)
    }

    /// Records the rule and does what comes before the server's own
    /// answer: the pause, a hang-up before the reply, the rule's reply.
    /// True when that answered the command (the server's own is skipped).
    pub(super) fn heed(&mut self, r: &Ruling) -> bool {
        self.events.push_back(ServerEvent::Rule(r.clone()));
        if r.delay_ms > 0 {
            self.later.push_back((r.delay_ms, Vec::new()));
        }
        if r.hangup == Some(Hangup::BeforeReply) {
            self.close();
            return true;
        }
        let Some(reply) = &r.reply else {
            return false;
        };
        self.reply(reply);
        // 421: the server is closing the channel (RFC 5321, section 3.8);
        // after QUIT's 221 it closes too.
        let closing = reply.starts_with("421") || r.stage == Stage::Quit;
        if closing || r.hangup == Some(Hangup::AfterReply) {
            self.close();
        }
        true
    }

    /// What comes after the server's own answer: the recipient just taken
    /// marked for the bounce, a hang-up after the reply.
    pub(super) fn heed_after(&mut self, r: &Ruling, rcpts_before: usize) {
        if r.bounce && self.rcpts.len() > rcpts_before {
            if let Some((a, _)) = self.rcpts.last() {
                self.rule_bounce.push(a.clone());
            }
        }
        if r.hangup == Some(Hangup::AfterReply) && !self.is_closed() {
            self.close();
        }
    }

    /// After a 554 greeting: QUIT, and nothing else.
    pub(super) fn without_service(&mut self, request: &Request<Cow<'_, str>>) {
        if matches!(request, Request::Quit) {
            self.reply("221 2.0.0 Bye");
            self.close();
        } else {
            self.error("503 5.5.1 Error: no service here (the greeting was 554); send QUIT");
        }
    }
}
