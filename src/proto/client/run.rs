//! The one protocol driver: which commands take a session from where it is
//! toward a goal, in the order EHLO → MAIL → RCPT → DATA → content, and
//! what may go in one write when the server offers PIPELINING (RFC 2920).
//! The planned session ([`super::Plan`]) and a run by hand
//! ([`ClientSession::run_to`]) both ask [`next`]; neither repeats it.

use std::sync::Arc;

use super::{ClientSession, Stage};
use crate::proto::command::{Address, Command, ReversePath};
use crate::proto::reply::Reply;

/// How far a run goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Goal {
    /// MAIL FROM answered.
    Mail,
    /// Every recipient answered.
    Rcpt,
    /// DATA answered 354 and the content sent.
    Delivered,
}

/// What a run by hand sends: the envelope and the content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    pub ehlo: String,
    pub mail_from: ReversePath,
    pub rcpts: Vec<Address>,
    /// Sent on 354, dot-stuffed and ended by the session.
    pub content: Arc<[u8]>,
}

/// What a run by hand tells its owner, apart from the transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunEvent {
    /// The goal was reached (for `Delivered`: the content was sent).
    Reached(Goal),
    /// The run stopped early; why, in a sentence for a status line.
    Stopped(String),
}

/// One command (or the content) on the way to a goal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    Ehlo,
    Mail,
    /// The recipient at this index of the transaction.
    Rcpt(usize),
    Data,
    Content,
}

/// What to do now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Next {
    /// Send these, in one write.
    Send(Vec<Step>),
    /// A reply is due.
    Wait,
    Reached,
    /// It cannot go on; why.
    Stuck(&'static str),
}

/// Where a session is, as far as the driver cares.
pub(super) struct At<'a> {
    pub stage: Stage,
    pub awaiting: bool,
    pub goal: Goal,
    /// Indices of the recipients not yet sent in this transaction.
    pub unsent: &'a [usize],
    /// The server offers PIPELINING and it is wanted.
    pub pipelining: bool,
    /// DATA may join the pipelined group (not with BDAT).
    pub data_in_pipeline: bool,
}

/// The next commands toward the goal; the one place that decides them.
pub(super) fn next(at: &At) -> Next {
    if at.awaiting {
        return Next::Wait;
    }
    let goal = at.goal;
    let rcpts = at.unsent.iter().map(|&i| Step::Rcpt(i));
    match at.stage {
        Stage::Connected => Next::Stuck("the server has not greeted (no 220 was read)"),
        Stage::Greeted => Next::Send(vec![Step::Ehlo]),
        Stage::Ready => {
            let mut steps = vec![Step::Mail];
            if at.pipelining && goal >= Goal::Rcpt {
                steps.extend(rcpts);
                if goal == Goal::Delivered && at.data_in_pipeline && !at.unsent.is_empty() {
                    steps.push(Step::Data);
                }
            }
            Next::Send(steps)
        }
        Stage::Mail | Stage::Rcpt if goal >= Goal::Rcpt && !at.unsent.is_empty() => {
            Next::Send(vec![Step::Rcpt(at.unsent[0])])
        }
        Stage::Mail if goal >= Goal::Rcpt => {
            Next::Stuck("no recipient was accepted, so DATA was not sent")
        }
        Stage::Rcpt if goal == Goal::Delivered => Next::Send(vec![Step::Data]),
        Stage::Data if goal == Goal::Delivered => Next::Send(vec![Step::Content]),
        _ => Next::Reached,
    }
}

/// A run by hand under way.
#[derive(Debug)]
pub(super) struct Run {
    goal: Goal,
    transaction: Transaction,
    /// The first command last sent and the stage it was sent at: the same
    /// again means the reply did not move the session on.
    last: Option<(Stage, String)>,
}

impl ClientSession {
    /// Runs by hand toward `goal` from wherever the session is: EHLO when
    /// greeted, MAIL when ready, the recipients of `transaction` not yet
    /// sent in this transaction, DATA and the content. Pipelined when the
    /// server offers it. It stops at a refusal (a refused recipient does
    /// not stop it while others may be accepted), at a reply it cannot
    /// read, and when it cannot go on; [`Self::poll_run_event`] says so.
    pub fn run_to(&mut self, goal: Goal, transaction: Transaction) {
        self.run = Some(Run {
            goal,
            transaction,
            last: None,
        });
        self.advance_run();
    }

    /// The goal of the run by hand under way.
    pub fn running(&self) -> Option<Goal> {
        self.run.as_ref().map(|r| r.goal)
    }

    #[must_use]
    pub fn poll_run_event(&mut self) -> Option<RunEvent> {
        self.run_events.pop_front()
    }

    /// Indices of `rcpts` not yet sent in this transaction.
    pub(super) fn unsent(&self, rcpts: &[Address]) -> Vec<usize> {
        let wanted: Vec<&str> = rcpts.iter().map(Address::as_str).collect();
        unsent(&wanted, &self.rcpts_sent)
    }

    pub(super) fn advance_run(&mut self) {
        let Some(run) = self.run.as_ref() else { return };
        if self.stage == Stage::Closed || self.close_requested {
            return self.stop_run("the connection is closing".into());
        }
        let unsent = self.unsent(&run.transaction.rcpts);
        let at = At {
            stage: self.stage,
            awaiting: !self.pending.is_empty(),
            goal: run.goal,
            unsent: &unsent,
            pipelining: self.caps.as_ref().is_some_and(|c| c.pipelining),
            data_in_pipeline: true,
        };
        let steps = match next(&at) {
            Next::Wait => return,
            Next::Reached => return self.end_run(RunEvent::Reached(run.goal)),
            Next::Stuck(why) => return self.stop_run(why.to_string()),
            Next::Send(steps) => steps,
        };
        let t = run.transaction.clone();
        let goal = run.goal;
        let first = match steps[0] {
            Step::Content => ".".to_string(),
            step => match command(step, &t, self.lmtp()) {
                Ok(c) => c.to_string().trim_end().to_string(),
                Err(e) => return self.stop_run(e),
            },
        };
        let here = Some((self.stage, first.clone()));
        if self.run.as_ref().is_some_and(|r| r.last == here) {
            return self.stop_run(format!("the reply to {first} did not move the session on"));
        }
        if let Some(r) = self.run.as_mut() {
            r.last = here;
        }
        for step in steps {
            match step {
                Step::Content => {
                    self.send_content(&t.content);
                    return self.end_run(RunEvent::Reached(goal));
                }
                step => match command(step, &t, self.lmtp()) {
                    Ok(c) => self.send(&c),
                    Err(e) => return self.stop_run(e),
                },
            }
        }
    }

    /// A reply to a run by hand: a refusal stops it, but not a refused
    /// recipient while others may be accepted.
    pub(super) fn run_on_reply(&mut self, what: &str, reply: &Reply, rcpt: bool) {
        if self.run.is_some() && !reply.code.is_positive() && !rcpt {
            let why = format!("{what} was answered {}; see the transcript", reply.code);
            self.stop_run(why);
        }
    }

    pub(super) fn stop_run(&mut self, why: String) {
        if self.run.is_some() {
            self.end_run(RunEvent::Stopped(why));
        }
    }

    fn end_run(&mut self, event: RunEvent) {
        self.run = None;
        self.run_events.push_back(event);
    }
}

/// Indices of the `wanted` recipients not among those `sent`: one sent
/// address accounts for one copy of it, so a recipient listed twice is sent
/// twice. The one rule for the driver and for what a workbench shows.
pub fn unsent<S: AsRef<str>>(wanted: &[S], sent: &[String]) -> Vec<usize> {
    let mut sent: Vec<&str> = sent.iter().map(String::as_str).collect();
    let mut out = Vec::new();
    for (i, w) in wanted.iter().enumerate() {
        match sent.iter().position(|s| same_mailbox(s, w.as_ref())) {
            Some(p) => {
                sent.swap_remove(p);
            }
            None => out.push(i),
        }
    }
    out
}

/// The same mailbox: the local part as written (RFC 5321, section 2.4: it
/// may be case-sensitive), the domain in any case.
fn same_mailbox(a: &str, b: &str) -> bool {
    match (a.rsplit_once('@'), b.rsplit_once('@')) {
        (Some((la, da)), Some((lb, db))) => la == lb && da.eq_ignore_ascii_case(db),
        _ => a == b,
    }
}

/// The command for `step`, or why it cannot be made.
fn command(step: Step, t: &Transaction, lmtp: bool) -> Result<Command, String> {
    Ok(match step {
        Step::Ehlo if lmtp => Command::lhlo(&t.ehlo).map_err(|e| e.to_string())?,
        Step::Ehlo => Command::ehlo(&t.ehlo).map_err(|e| e.to_string())?,
        Step::Mail => Command::mail(t.mail_from.clone(), Vec::new()),
        Step::Rcpt(i) => Command::rcpt(t.rcpts[i].clone(), Vec::new()),
        Step::Data => Command::Data,
        Step::Content => return Err("the content is not a command".into()),
    })
}
