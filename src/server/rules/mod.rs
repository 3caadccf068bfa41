//! The built-in server's rules (`serve --rules FILE`, and lessons): a list
//! of `[[rule]]`s, each a `when` (stage, client, user, sender, rcpt, nth,
//! size_over) and what to do (reply, delay_ms, hangup, bounce, rate). The
//! first rule that matches a checkpoint fires.
//!
//! Deciding is pure: the checkpoint, the client's address and the time come
//! in, the counters (`nth`) and rate windows are a [`RuleState`] the caller
//! keeps, and a [`Ruling`] comes out; no clock, no I/O. Loading and
//! checking a file, with the line of each error, is in `load`.

mod load;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use ipnet::IpNet;

use crate::proto::server::{Checkpoint, Hangup, Ruling, Stage};
pub use load::RulesError;

/// A glob on addresses (`*`, `?`, `[…]`), without regard to case.
#[derive(Debug, Clone)]
pub struct Pattern {
    glob: globset::Glob,
    matcher: globset::GlobMatcher,
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.glob == other.glob
    }
}
impl Eq for Pattern {}

impl Pattern {
    pub fn new(text: &str) -> Result<Self, globset::Error> {
        let glob = globset::GlobBuilder::new(text)
            .case_insensitive(true)
            .literal_separator(false)
            .backslash_escape(true)
            .build()?;
        let matcher = glob.compile_matcher();
        Ok(Self { glob, matcher })
    }

    pub fn matches(&self, address: &str) -> bool {
        self.matcher.is_match(address)
    }

    pub fn as_str(&self) -> &str {
        self.glob.glob()
    }
}

/// What a rule matches; every key given must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct When {
    /// None: every stage.
    pub stage: Option<Stage>,
    pub client: Option<IpNet>,
    /// The AUTH user, without regard to case; no match before AUTH.
    pub user: Option<String>,
    pub sender: Option<Pattern>,
    /// Any of the checkpoint's recipients.
    pub rcpt: Option<Pattern>,
    /// The client's Nth time at this stage (at every stage without one),
    /// counted from 1 across its connections.
    pub nth: Option<u64>,
    /// The size (SIZE= at MAIL, the content at dot) is over this.
    pub size_over: Option<u64>,
}

/// A per-client rate limit: past `max` matches in `per`, the rule fires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rate {
    pub max: u32,
    pub per: Duration,
    pub reply: String,
}

/// One `[[rule]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// From 1, in the file's order.
    pub index: usize,
    pub name: Option<String>,
    /// The line of its `[[rule]]`, for the startup summary.
    pub line: usize,
    pub when: When,
    pub reply: Option<String>,
    pub delay_ms: u64,
    pub hangup: Option<Hangup>,
    pub bounce: bool,
    pub rate: Option<Rate>,
}

/// The rules, in their order; empty is no rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules {
    pub rules: Vec<Rule>,
}

/// Clients remembered before the oldest counts are dropped.
const MAX_CLIENTS: usize = 10_000;

/// What deciding remembers between checkpoints, across connections.
#[derive(Debug, Default)]
pub struct RuleState {
    /// Times each client reached each stage (None: any stage).
    counts: HashMap<(IpAddr, Option<Stage>), u64>,
    /// The times a rate rule (by index) matched each client, in its
    /// window (whose length is kept with it, to forget it when it is over).
    windows: HashMap<(usize, IpAddr), (Duration, VecDeque<Instant>)>,
}

impl RuleState {
    fn count(&mut self, client: IpAddr, stage: Stage) {
        if self.counts.len() > MAX_CLIENTS * 9 {
            self.counts.clear();
        }
        *self.counts.entry((client, Some(stage))).or_default() += 1;
        *self.counts.entry((client, None)).or_default() += 1;
    }

    fn nth(&self, client: IpAddr, stage: Option<Stage>) -> u64 {
        self.counts.get(&(client, stage)).copied().unwrap_or(0)
    }

    /// True when the rule is past its limit for `client` now; else this
    /// match counts in its window.
    fn over(&mut self, index: usize, rate: &Rate, client: IpAddr, now: Instant) -> bool {
        if self.windows.len() > MAX_CLIENTS {
            self.windows.retain(|_, (per, w)| {
                w.back()
                    .is_some_and(|t| now.saturating_duration_since(*t) < *per)
            });
        }
        let (_, window) = self
            .windows
            .entry((index, client))
            .or_insert_with(|| (rate.per, VecDeque::new()));
        while window
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= rate.per)
        {
            window.pop_front();
        }
        if window.len() >= rate.max as usize {
            return true;
        }
        window.push_back(now);
        false
    }
}

impl When {
    fn matches(&self, at: &Checkpoint<'_>, client: IpAddr, state: &RuleState) -> bool {
        self.stage.is_none_or(|s| s == at.stage)
            && self.client.is_none_or(|net| net.contains(&client))
            && self
                .user
                .as_ref()
                .is_none_or(|u| at.user.is_some_and(|a| a.eq_ignore_ascii_case(u)))
            && self
                .sender
                .as_ref()
                .is_none_or(|p| at.sender.is_some_and(|s| p.matches(s)))
            && self
                .rcpt
                .as_ref()
                .is_none_or(|p| at.rcpts.iter().any(|r| p.matches(r)))
            && self.nth.is_none_or(|n| state.nth(client, self.stage) == n)
            && self
                .size_over
                .is_none_or(|max| at.size.is_some_and(|s| s > max))
    }
}

impl Rules {
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The ruling of the first rule that fires at `at` for `client` at
    /// `now`, counting this checkpoint in `state` first. A rate rule under
    /// its limit counts the match and lets the rules after it decide.
    pub fn decide(
        &self,
        at: &Checkpoint<'_>,
        client: IpAddr,
        now: Instant,
        state: &mut RuleState,
    ) -> Option<Ruling> {
        if self.rules.is_empty() {
            return None;
        }
        state.count(client, at.stage);
        for rule in &self.rules {
            if !rule.when.matches(at, client, state) {
                continue;
            }
            let (reply, why) = match &rule.rate {
                Some(rate) if state.over(rule.index, rate, client, now) => (
                    Some(rate.reply.clone()),
                    format!(
                        "rate: more than {} in {} s from {client}",
                        rate.max,
                        rate.per.as_secs()
                    ),
                ),
                Some(_) => continue,
                None => (rule.reply.clone(), rule.describe()),
            };
            return Some(Ruling {
                stage: at.stage,
                index: rule.index,
                name: rule.name.clone(),
                reply,
                delay_ms: rule.delay_ms,
                hangup: rule.hangup,
                bounce: rule.bounce,
                why,
            });
        }
        None
    }
}

impl Rule {
    /// What the rule does, in words, for the log and the startup summary.
    pub fn describe(&self) -> String {
        let mut what = Vec::new();
        if let Some(r) = &self.reply {
            what.push(format!("reply {r:?}"));
        }
        if self.delay_ms > 0 {
            what.push(format!("delay {} ms", self.delay_ms));
        }
        match self.hangup {
            Some(Hangup::BeforeReply) => what.push("hang up before the reply".into()),
            Some(Hangup::AfterReply) => what.push("hang up after the reply".into()),
            None => {}
        }
        if self.bounce {
            what.push("accept, then bounce to MAIL FROM".into());
        }
        if let Some(r) = &self.rate {
            what.push(format!(
                "rate {} per {} s, then {:?}",
                r.max,
                r.per.as_secs(),
                r.reply
            ));
        }
        what.join(", ")
    }

    /// The rule's matchers in words.
    pub fn describe_when(&self) -> String {
        let w = &self.when;
        let mut out = vec![format!(
            "at {}",
            w.stage.map(Stage::name).unwrap_or("every stage")
        )];
        if let Some(c) = w.client {
            out.push(format!("client {c}"));
        }
        if let Some(u) = &w.user {
            out.push(format!("user {u}"));
        }
        if let Some(p) = &w.sender {
            out.push(format!("sender {}", p.as_str()));
        }
        if let Some(p) = &w.rcpt {
            out.push(format!("rcpt {}", p.as_str()));
        }
        if let Some(n) = w.nth {
            out.push(format!("nth {n}"));
        }
        if let Some(s) = w.size_over {
            out.push(format!("size over {s}"));
        }
        out.join(", ")
    }

    /// The rule as the log names it: `rule 2 (greylist)`.
    pub fn label(&self) -> String {
        match &self.name {
            Some(n) => format!("rule {} ({n})", self.index),
            None => format!("rule {}", self.index),
        }
    }
}
