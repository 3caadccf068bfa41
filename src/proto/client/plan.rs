//! The planned session: a whole transaction (`send`, the load mode) that the
//! session runs by itself from the greeting to QUIT, stopping where
//! `--quit-after` says.

use std::collections::VecDeque;
use std::sync::Arc;

use super::content::Hidden;
use super::replies::Awaited;
use super::run::{next, At, Goal, Next, Step};
use super::{ClientSession, Outcome};
use crate::proto::auth::{Credentials, Mechanism};
use crate::proto::command::{Address, Arg, Command, Param, ReversePath, Verb};
use crate::proto::data;
use crate::proto::reply::{Reply, ReplyLimits};

/// Where a planned session stops and says QUIT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum QuitAfter {
    /// Hang up as soon as the connection is made, before the greeting.
    Connect,
    /// After the 220 greeting.
    Greeting,
    /// After the first EHLO (or HELO) is accepted.
    Ehlo,
    /// After TLS is up and EHLO was answered again over it.
    StartTls,
    /// After AUTH succeeded.
    Auth,
    /// After MAIL FROM was accepted.
    Mail,
    /// After the RCPT TO replies.
    Rcpt,
    /// After DATA was answered 354: the content is never sent and the
    /// connection is closed, so the server drops the transaction.
    Data,
}

impl QuitAfter {
    /// The names `--quit-after` takes, in the order of a session.
    pub const NAMES: [(&'static str, QuitAfter); 8] = [
        ("connect", Self::Connect),
        ("greeting", Self::Greeting),
        ("ehlo", Self::Ehlo),
        ("starttls", Self::StartTls),
        ("auth", Self::Auth),
        ("mail", Self::Mail),
        ("rcpt", Self::Rcpt),
        ("data", Self::Data),
    ];

    pub fn name(self) -> &'static str {
        // NAMES lists the points in their declared order (a test checks it).
        Self::NAMES[self as usize].0
    }
}

/// How the message content goes to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transfer {
    /// DATA, dot-stuffed.
    Data,
    /// BDAT chunks of at most this many bytes (RFC 3030).
    Bdat { chunk_size: usize },
}

/// One whole transaction for the session to run by itself.
#[derive(Debug, Clone)]
pub struct Plan {
    pub ehlo: String,
    /// Send STARTTLS after EHLO; fail when the server does not offer it.
    pub starttls: bool,
    pub auth: Option<(Mechanism, Credentials)>,
    /// VRFY these before the transaction. With no recipients, the session
    /// ends after them.
    pub vrfy: Vec<String>,
    pub mail_from: ReversePath,
    pub mail_params: Vec<Param>,
    pub rcpts: Vec<(Address, Vec<Param>)>,
    /// The message as the user wrote it; line ends are normalised on the way
    /// out. Shared, so a plan is cheap to copy (the load mode runs one per
    /// session) however large the message.
    pub content: Arc<[u8]>,
    pub transfer: Transfer,
    /// Send MAIL, the RCPTs and DATA in one write when the server offers PIPELINING.
    pub pipelining: bool,
    pub quit_after: Option<QuitAfter>,
}

/// The plan and how far it has come.
#[derive(Debug)]
pub(super) struct Driver {
    pub(super) plan: Plan,
    /// RCPT replies seen in this transaction.
    rcpt_replies: usize,
    /// The next RCPT to send when not pipelining.
    next_rcpt: usize,
    pipelined: bool,
    /// VRFY queries sent so far.
    next_vrfy: usize,
    /// BDAT chunks still to send, as (offset, len, last).
    bdat: VecDeque<(usize, usize, bool)>,
    bdat_bytes: Vec<u8>,
    /// Once the outcome is known: send QUIT when no reply is outstanding.
    quit_when_idle: bool,
}
impl ClientSession {
    /// A session that runs `plan` by itself.
    pub fn with_plan(limits: ReplyLimits, plan: Plan) -> Self {
        let mut s = Self::new(limits);
        let connect_only = plan.quit_after == Some(QuitAfter::Connect);
        s.driver = Some(Driver {
            plan,
            rcpt_replies: 0,
            next_rcpt: 0,
            next_vrfy: 0,
            pipelined: false,
            bdat: VecDeque::new(),
            bdat_bytes: Vec::new(),
            quit_when_idle: false,
        });
        if connect_only {
            s.info("stopping after the connection as asked (--quit-after connect)");
            s.finish(Outcome::Completed { accepted: None });
            s.close();
        }
        s
    }

    // ------------------------------------------------------------ the plan

    pub(super) fn plan_ref(&self) -> Option<&Plan> {
        self.driver.as_ref().map(|d| &d.plan)
    }

    /// True, and QUIT queued, when the plan stops at `point`.
    fn checkpoint(&mut self, point: QuitAfter) -> bool {
        let stop = self
            .plan_ref()
            .and_then(|p| p.quit_after)
            .is_some_and(|q| q <= point);
        if stop {
            let q = self
                .plan_ref()
                .and_then(|p| p.quit_after)
                .map(QuitAfter::name);
            if self.tx.drop.is_none() {
                self.info(format!(
                    "stopping as asked (--quit-after {})",
                    q.unwrap_or_default()
                ));
            }
            self.finish(Outcome::Completed { accepted: None });
            if !self.drop_at(q.unwrap_or_default()) {
                self.quit();
            }
        }
        stop
    }

    fn plan_fail(&mut self, outcome: Outcome) {
        self.finish(outcome);
        if let Some(d) = self.driver.as_mut() {
            d.quit_when_idle = true;
        }
    }

    pub(super) fn plan_send_ehlo(&mut self, name: &str) {
        let hello = if self.lmtp() {
            Command::lhlo(name)
        } else {
            Command::ehlo(name)
        };
        match hello {
            Ok(c) => self.send(&c),
            Err(e) => {
                self.error(e.to_string());
                self.finish(Outcome::Local(e.to_string()));
                self.quit();
            }
        }
    }

    pub(super) fn plan_on_reply(&mut self, awaited: Awaited, reply: &Reply) {
        self.held_on_reply(awaited, reply);
        let code = reply.code.value();
        let ok = code < 300;
        if self.outcome.is_some() {
            // Replies to pipelined commands after the outcome was decided.
            if awaited == Awaited::Command(Verb::Data) && code == 354 {
                self.warn(
                    "the server accepted DATA although the transaction had failed; \
                     closing without sending content so that nothing is delivered",
                );
                self.close();
                return;
            }
            self.quit_if_idle();
            return;
        }
        match awaited {
            Awaited::Greeting if code == 220 => {
                if !self.checkpoint(QuitAfter::Greeting) {
                    let ehlo = self.plan_ref().map(|p| p.ehlo.clone()).unwrap_or_default();
                    self.plan_send_ehlo(&ehlo);
                }
            }
            Awaited::Command(Verb::Ehlo) if matches!(code, 500 | 502) => {
                // RFC 5321, section 3.2: a server that does not know EHLO
                // gets HELO.
                self.info("the server does not know EHLO; trying HELO");
                let ehlo = self.plan_ref().map(|p| p.ehlo.clone()).unwrap_or_default();
                match Command::helo(&ehlo) {
                    Ok(c) => self.send(&c),
                    Err(e) => self.plan_fail(Outcome::Local(e.to_string())),
                }
            }
            Awaited::Command(Verb::Ehlo | Verb::Helo | Verb::Lhlo) if ok => self.plan_after_ehlo(),
            Awaited::Command(Verb::Xclient) => self.plan_on_xclient(reply),
            Awaited::Delivery(nth) => self.plan_on_delivery(nth, reply),
            Awaited::Command(Verb::StartTls) if code == 220 => {}
            Awaited::Command(Verb::Auth) | Awaited::AuthStep if code == 334 => {}
            Awaited::Command(Verb::Auth) | Awaited::AuthStep if code == 235 => {
                if !self.checkpoint(QuitAfter::Auth) {
                    self.plan_before_transaction();
                }
            }
            Awaited::Command(Verb::Mail) if ok => {
                if !self.checkpoint(QuitAfter::Mail) {
                    self.plan_advance(Vec::new());
                }
            }
            Awaited::Command(Verb::Rcpt) => self.plan_on_rcpt(reply),
            Awaited::Command(Verb::Data) if code == 354 => {
                if self.checkpoint_data() || self.send_held() {
                    return;
                }
                let content = self
                    .plan_ref()
                    .map(|p| p.content.clone())
                    .unwrap_or_default();
                if !self.drop_mid_content(&content) {
                    self.send_content(&content);
                }
            }
            Awaited::Command(Verb::Bdat { last: false }) if ok => self.plan_send_next_chunk(),
            Awaited::DataEnd | Awaited::Command(Verb::Bdat { last: true }) if ok => {
                self.finish(Outcome::Completed {
                    accepted: Some(reply.clone()),
                });
                self.quit();
            }
            Awaited::Command(Verb::Vrfy) => {
                if !reply.code.is_positive() {
                    self.note_refusal(reply);
                }
                self.plan_before_transaction();
            }
            Awaited::Command(Verb::Quit) => {}
            _ => self.plan_fail(Outcome::Refused(reply.clone())),
        }
        self.quit_if_idle();
    }

    fn quit_if_idle(&mut self) {
        let want = self.driver.as_ref().is_some_and(|d| d.quit_when_idle);
        if want && self.pending.is_empty() && !self.close_requested {
            if let Some(d) = self.driver.as_mut() {
                d.quit_when_idle = false;
            }
            self.quit();
        }
    }

    /// `--quit-after data`: DATA was accepted; hang up without content.
    fn checkpoint_data(&mut self) -> bool {
        let stop = self.plan_ref().and_then(|p| p.quit_after) == Some(QuitAfter::Data);
        if stop {
            let flag = match self.tx.drop {
                Some(_) => "--drop-after data",
                None => "--quit-after data",
            };
            self.info(format!(
                "stopping as asked ({flag}): hanging up without QUIT and without sending \
                 the content, so the server drops the transaction"
            ));
            self.finish(Outcome::Completed { accepted: None });
            self.close();
        }
        stop
    }

    pub(super) fn plan_after_ehlo(&mut self) {
        if self.plan_xclient() {
            return;
        }
        let Some(plan) = self.plan_ref() else { return };
        let want_tls = plan.starttls;
        let want_auth = plan.auth.is_some();
        let caps = self.caps.clone().unwrap_or_default();
        if want_tls && !self.tls {
            if self.checkpoint(QuitAfter::Ehlo) {
                return;
            }
            if caps.starttls {
                self.send(&Command::StartTls);
            } else {
                let m = "the server does not offer STARTTLS in its EHLO reply".to_string();
                self.error(m.clone());
                self.plan_fail(Outcome::NotOffered(m));
            }
            return;
        }
        // Every stop point up to here has been passed: EHLO, TLS when it was
        // asked for, and AUTH when it was not.
        let point = if want_auth {
            QuitAfter::StartTls
        } else {
            QuitAfter::Auth
        };
        if self.checkpoint(point) {
            return;
        }
        let auth = self.plan_ref().and_then(|p| p.auth.clone());
        match auth {
            Some((mechanism, credentials)) if self.authenticated.is_none() => {
                if caps.auth.is_empty() {
                    let hint = if self.tls {
                        ""
                    } else {
                        " (many servers offer AUTH only after STARTTLS: try --tls starttls)"
                    };
                    let m = format!("the server does not offer AUTH{hint}");
                    self.error(m.clone());
                    self.plan_fail(Outcome::NotOffered(m));
                } else if !caps.offers_auth(mechanism.name()) {
                    let m = format!(
                        "the server does not offer AUTH {mechanism}; it offers {}",
                        caps.auth.join(" ")
                    );
                    self.error(m.clone());
                    self.plan_fail(Outcome::NotOffered(m));
                } else {
                    self.start_auth(mechanism, credentials);
                }
            }
            _ => self.plan_before_transaction(),
        }
    }

    /// VRFY queries come after EHLO and AUTH and before MAIL; their replies
    /// are reported but do not end the session.
    fn plan_before_transaction(&mut self) {
        let Some(d) = self.driver.as_mut() else {
            return;
        };
        if let Some(query) = d.plan.vrfy.get(d.next_vrfy).cloned() {
            d.next_vrfy += 1;
            match Arg::new("VRFY argument", query) {
                Ok(arg) => self.send(&Command::Vrfy(arg)),
                Err(e) => self.plan_fail(Outcome::Local(e.to_string())),
            }
            return;
        }
        let vrfy_only = d.plan.rcpts.is_empty() && !d.plan.vrfy.is_empty();
        if vrfy_only {
            self.finish(Outcome::Completed { accepted: None });
            self.quit();
        } else {
            self.plan_start_transaction();
        }
    }

    pub(super) fn note_refusal(&mut self, reply: &Reply) {
        let worse = self
            .partial_refusal
            .as_ref()
            .is_none_or(|r| r.code.value() < reply.code.value());
        if worse {
            self.partial_refusal = Some(reply.clone());
        }
    }

    fn plan_start_transaction(&mut self) {
        let Some(plan) = self.plan_ref().cloned() else {
            return;
        };
        let caps = self.caps.clone().unwrap_or_default();
        // RFC 1870, section 3: the size counts CRLFs but neither the
        // stuffed dots nor the final ".": the normalised content.
        let report = data::measure(&plan.content);
        let (encoded_len, eight_bit) = (report.bytes, report.eight_bit);
        self.content_shown = 0;
        self.content_hidden = Hidden::default();
        let mut params = plan.mail_params.clone();
        if caps.size.is_some() && !params.iter().any(|p| p.is("SIZE")) {
            self.info(format!(
                "SIZE={encoded_len} added: the server announced SIZE (RFC 1870)"
            ));
            params.push(Param::size(encoded_len));
        }
        if eight_bit && !params.iter().any(|p| p.is("BODY")) {
            if caps.eight_bit_mime {
                self.info("BODY=8BITMIME added: the content has 8-bit bytes");
                params.push(Param::body_8bitmime());
            } else {
                self.warn("the content has 8-bit bytes but the server did not announce 8BITMIME");
            }
        }
        let intl = plan
            .mail_from
            .address()
            .is_some_and(Address::is_internationalized)
            || plan.rcpts.iter().any(|(a, _)| a.is_internationalized());
        if intl && !params.iter().any(|p| p.is("SMTPUTF8")) {
            if caps.smtputf8 {
                self.info("SMTPUTF8 added: an address is not ASCII (RFC 6531)");
                params.push(Param::smtputf8());
            } else {
                self.warn("an address is not ASCII but the server did not announce SMTPUTF8");
            }
        }
        if let Transfer::Bdat { .. } = plan.transfer {
            if !caps.chunking {
                self.warn("BDAT asked for but the server did not announce CHUNKING");
            }
        }
        let pipelined = plan.pipelining && caps.pipelining;
        if pipelined {
            self.info("PIPELINING: MAIL, RCPT and DATA go in one write (RFC 2920)");
        }
        if let Some(d) = self.driver.as_mut() {
            d.pipelined = pipelined;
            d.rcpt_replies = 0;
            d.next_rcpt = 0;
        }
        self.plan_advance(params);
    }

    /// Sends what the one driver ([`next`]) says comes next in the
    /// transaction; `params` are MAIL's, should it be MAIL's turn. EHLO,
    /// BDAT and the content are the plan's own steps.
    fn plan_advance(&mut self, params: Vec<Param>) {
        let Some(d) = self.driver.as_ref() else {
            return;
        };
        let unsent: Vec<usize> = (d.next_rcpt..d.plan.rcpts.len()).collect();
        let goal = match d.plan.quit_after {
            Some(q) if q <= QuitAfter::Mail => Goal::Mail,
            Some(QuitAfter::Rcpt) => Goal::Rcpt,
            _ => Goal::Delivered,
        };
        let at = At {
            stage: self.stage,
            awaiting: !self.pending.is_empty(),
            goal,
            unsent: &unsent,
            pipelining: d.pipelined,
            data_in_pipeline: d.plan.transfer == Transfer::Data,
        };
        let Next::Send(steps) = next(&at) else {
            return;
        };
        let (from, rcpts, transfer) = (
            d.plan.mail_from.clone(),
            d.plan.rcpts.clone(),
            d.plan.transfer,
        );
        for step in steps {
            match step {
                Step::Mail => self.send(&Command::mail(from.clone(), params.clone())),
                Step::Rcpt(i) => {
                    if let Some(d) = self.driver.as_mut() {
                        d.next_rcpt = i + 1;
                    }
                    let (to, p) = rcpts[i].clone();
                    self.send(&Command::rcpt(to, p));
                }
                Step::Data if transfer == Transfer::Data => self.send(&Command::Data),
                _ => {}
            }
        }
    }

    fn plan_on_rcpt(&mut self, reply: &Reply) {
        let Some(d) = self.driver.as_mut() else {
            return;
        };
        d.rcpt_replies += 1;
        let all_answered = d.rcpt_replies >= d.plan.rcpts.len();
        let transfer = d.plan.transfer;
        if !reply.code.is_positive() {
            self.note_refusal(reply);
        }
        if !all_answered {
            return self.plan_advance(Vec::new());
        }
        if self.rcpt_accepted == 0 {
            let worst = self.partial_refusal.take();
            if let Some(r) = worst {
                self.plan_fail(Outcome::Refused(r));
            }
            return;
        }
        if let Some(r) = &self.partial_refusal {
            let m = format!(
                "{} of {} recipients accepted; the others were refused ({}), so the \
                 message goes only to the accepted ones",
                self.rcpt_accepted,
                self.plan_ref().map_or(0, |p| p.rcpts.len()),
                r.code
            );
            self.warn(m);
        }
        if self.checkpoint(QuitAfter::Rcpt) {
            return;
        }
        match transfer {
            Transfer::Data => self.plan_advance(Vec::new()),
            Transfer::Bdat { chunk_size } => {
                let content = self
                    .plan_ref()
                    .map(|p| p.content.clone())
                    .unwrap_or_default();
                let (wire, report) = data::encode_bdat(&content);
                for note in report.notes() {
                    self.info(note);
                }
                let chunks: VecDeque<(usize, usize, bool)> = data::bdat_chunks(&wire, chunk_size)
                    .scan(0usize, |offset, (chunk, last)| {
                        let start = *offset;
                        *offset += chunk.len();
                        Some((start, chunk.len(), last))
                    })
                    .collect();
                if let Some(d) = self.driver.as_mut() {
                    d.bdat = chunks;
                    d.bdat_bytes = wire;
                }
                self.plan_send_next_chunk();
            }
        }
    }

    fn plan_send_next_chunk(&mut self) {
        let Some(d) = self.driver.as_mut() else {
            return;
        };
        let Some((start, len, last)) = d.bdat.pop_front() else {
            return;
        };
        let chunk = d.bdat_bytes[start..start + len].to_vec();
        self.send_bdat_chunk(&chunk, last);
    }
}
