//! F2's authentication: the verdicts a receiver would give the composed
//! message and envelope (SPF for the HELO name and MAIL FROM, each DKIM
//! signature, DMARC, iprev), asked of the loop when one of their inputs
//! changes, one judgement at a time and the newest next; and the DKIM
//! signature the workbench added, with whether it still holds.

pub mod signing;

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::Effect;
use crate::analysis::auth::{Answer, Inputs, Judgement, Lookup};

pub use signing::Signed;

/// The built-in server's name, as the receiver in the verdicts.
const BUILTIN_RECEIVER: &str = "demo.example.test";

/// Where a judgement's DNS answers come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JudgeDns {
    /// The built-in server's offline world (`assets/zone/`).
    Demo,
    /// The resolver given with `--dns`.
    Server(SocketAddr),
}

/// One judgement for the loop to run: the message as it will go, its
/// envelope, and the address and DNS the receiver would use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JudgeRequest {
    /// CRLF line ends, not dot-stuffed.
    pub message: Vec<u8>,
    /// MAIL FROM's address; empty for the null sender.
    pub mail_from: String,
    pub helo: String,
    pub client_ip: IpAddr,
    /// Why this client address, in words.
    pub client_ip_whence: &'static str,
    pub dns: JudgeDns,
    /// The receiver's name (SPF's `%{r}`).
    pub receiver: String,
}

impl JudgeRequest {
    /// The judge's inputs, borrowed from this request.
    pub fn inputs(&self) -> Inputs<'_> {
        Inputs {
            message: &self.message,
            mail_from: &self.mail_from,
            helo: &self.helo,
            client_ip: self.client_ip,
            receiver: &self.receiver,
        }
    }

    /// Where the address and the answers came from, for F2's first line.
    pub fn basis(&self) -> String {
        let dns = match &self.dns {
            JudgeDns::Demo => {
                "the built-in server's offline zone (assets/zone; no DNS server asked)".to_string()
            }
            JudgeDns::Server(a) => format!("the DNS server at {a} (--dns)"),
        };
        format!(
            "client IP {} ({}); DNS from {dns}",
            self.client_ip, self.client_ip_whence
        )
    }
}

/// What is known of the judgement's inputs beside the message and envelope.
pub struct JudgeContext<'a> {
    pub builtin: bool,
    /// The real server's name, as the receiver.
    pub server: Option<&'a str>,
    pub mail_from: String,
    pub helo: &'a str,
    pub message: Vec<u8>,
}

/// F2's authentication state.
#[derive(Default)]
pub struct AuthState {
    /// `--client-ip`.
    pub client_ip: Option<IpAddr>,
    /// `--dns`.
    pub dns: Option<SocketAddr>,
    /// The address the current connection comes from, once connected.
    pub local_ip: Option<IpAddr>,
    /// Bumped whenever the request changes.
    revision: u64,
    /// The request for `revision`, or why there is none.
    wanted: Option<Result<JudgeRequest, String>>,
    /// The newest revision handed to the loop.
    asked: u64,
    /// A judgement is under way (at most one at a time).
    running: bool,
    /// The newest result taken in: its revision, request and judgement (or
    /// why none could be made).
    result: Option<(u64, JudgeRequest, Result<Judgement, String>)>,
    /// The signature the workbench added, while its field is in the message.
    pub signed: Option<Signed>,
    /// Why that signature no longer holds, as of the last refresh.
    broken: Option<String>,
    /// Each lookup (query and answer, not its TTL, which counts down)
    /// already put in the transcript: F2 judges again on every edit, and
    /// the same answers are not shown again.
    shown: HashSet<(String, &'static str, Answer)>,
}

/// The most lookups remembered as shown; past it the memory starts again
/// (a lookup is then shown once more), so a long session stays bounded.
const MAX_SHOWN: usize = 4096;

impl AuthState {
    pub fn new(client_ip: Option<IpAddr>, dns: Option<SocketAddr>) -> Self {
        Self {
            client_ip,
            dns,
            ..Self::default()
        }
    }

    /// Takes in the inputs as they are now; a change makes a new revision.
    /// Returns whether the signature the workbench made broke just now.
    pub(in crate::app) fn refresh(&mut self, cx: JudgeContext<'_>) -> bool {
        let was_broken = self.broken.is_some();
        self.broken = None;
        if let Some(s) = &self.signed {
            match s.check(&cx.message) {
                signing::Check::Holds => {}
                signing::Check::Gone => self.signed = None,
                signing::Check::Broken(why) => self.broken = Some(why),
            }
        }
        let wanted = self.request(cx);
        if self.wanted.as_ref() != Some(&wanted) {
            self.revision += 1;
            self.wanted = Some(wanted);
        }
        !was_broken && self.broken.is_some()
    }

    fn request(&self, cx: JudgeContext<'_>) -> Result<JudgeRequest, String> {
        let dns = match (cx.builtin, self.dns) {
            (true, _) => JudgeDns::Demo,
            (false, Some(a)) => JudgeDns::Server(a),
            (false, None) => {
                return Err(
                    "not judged: against a real server the workbench asks no DNS \
                            unasked; start it with --dns HOST[:PORT] (and --client-ip ADDR) \
                            to see SPF, DKIM and DMARC as the receiver will"
                        .into(),
                )
            }
        };
        let (client_ip, client_ip_whence) = match (self.client_ip, cx.builtin, self.local_ip) {
            (Some(ip), _, _) => (ip, "given with --client-ip"),
            (None, true, _) => (
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                "the built-in server sees the workbench on loopback; --client-ip sets another",
            ),
            (None, false, Some(ip)) => (
                ip,
                "the address this connection comes from; --client-ip sets another",
            ),
            (None, false, None) => {
                return Err(
                    "not judged yet: SPF judges the address the connection comes \
                            from; connect, or start with --client-ip ADDR"
                        .into(),
                )
            }
        };
        Ok(JudgeRequest {
            message: cx.message,
            mail_from: cx.mail_from,
            helo: cx.helo.to_string(),
            client_ip,
            client_ip_whence,
            dns,
            receiver: cx.server.unwrap_or(BUILTIN_RECEIVER).to_string(),
        })
    }

    /// Hands the newest request to the loop when none is running.
    pub(in crate::app) fn poll(&mut self, fx: &mut Vec<Effect>) {
        if self.running || self.asked == self.revision {
            return;
        }
        if let Some(Ok(request)) = &self.wanted {
            self.asked = self.revision;
            self.running = true;
            fx.push(Effect::Judge {
                revision: self.revision,
                request: request.clone(),
            });
        }
    }

    /// A judgement came back; one for an older revision is dropped (the
    /// newest is then asked for by `poll`).
    /// Returns the lookups of a result taken in that the transcript has
    /// not shown yet.
    pub(in crate::app) fn judged(
        &mut self,
        revision: u64,
        judgement: Result<Judgement, String>,
    ) -> Vec<Lookup> {
        self.running = false;
        if revision != self.revision {
            return Vec::new();
        }
        let Some(Ok(request)) = self.wanted.clone() else {
            return Vec::new();
        };
        let new = match &judgement {
            Ok(j) => j
                .lookups
                .iter()
                .filter(|l| self.first_shown(l))
                .cloned()
                .collect(),
            Err(_) => Vec::new(),
        };
        self.result = Some((revision, request, judgement));
        new
    }

    /// Whether `lookup` is shown now for the first time (and remember it).
    fn first_shown(&mut self, lookup: &Lookup) -> bool {
        if self.shown.len() >= MAX_SHOWN {
            self.shown.clear();
        }
        let answer = match &lookup.answer {
            Answer::Records(r, _) => Answer::Records(r.clone(), 0),
            other => other.clone(),
        };
        self.shown
            .insert((lookup.name.clone(), lookup.rtype, answer))
    }

    /// Why the inputs are not judged, when they are not.
    pub fn not_judged(&self) -> Option<&str> {
        match &self.wanted {
            Some(Err(why)) => Some(why),
            _ => None,
        }
    }

    /// The newest judgement and what it judged; it may be of older inputs
    /// (see `is_current`).
    pub fn result(&self) -> Option<(&JudgeRequest, Result<&Judgement, &str>)> {
        self.result
            .as_ref()
            .map(|(_, req, j)| (req, j.as_ref().map_err(String::as_str)))
    }

    /// Whether the result shown is of the inputs as they are now.
    pub fn is_current(&self) -> bool {
        self.result
            .as_ref()
            .is_some_and(|(r, _, _)| *r == self.revision)
    }

    /// Why the workbench's signature no longer holds, when it does not.
    pub fn broken(&self) -> Option<&str> {
        self.broken.as_deref()
    }

    /// For snapshots: a result as if judged now, with no DNS asked.
    #[cfg(test)]
    pub(crate) fn set_result(&mut self, judgement: Judgement) {
        if let Some(Ok(request)) = &self.wanted {
            self.result = Some((self.revision, request.clone(), Ok(judgement)));
        }
    }
}

#[cfg(test)]
mod tests;
