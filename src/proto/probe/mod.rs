//! Probes of a server's safety (`send --probe`): the cases each probe tries
//! and how a server's answers read as a verdict, with no I/O and no clock.
//! `smuggling` sends end-of-data look-alikes inside DATA; `relay` asks RCPT
//! for addresses that would make the server an open relay. Running them
//! (one connection per case) is the `send` face's part.

pub mod relay;
pub mod smuggling;

use std::fmt;

/// Which probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Probe {
    Smuggling,
    Relay,
}

impl Probe {
    /// Each probe by the name `--probe` gives it.
    pub const NAMES: [(&'static str, Probe); 2] =
        [("smuggling", Self::Smuggling), ("relay", Self::Relay)];

    pub fn name(self) -> &'static str {
        // NAMES lists the probes in their declared order (a test checks it).
        Self::NAMES[self as usize].0
    }
}

impl fmt::Display for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What one case says about the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verdict {
    Safe,
    /// The answers could not settle it; the reason says why.
    Inconclusive,
    Vulnerable,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Safe => "safe",
            Verdict::Inconclusive => "inconclusive",
            Verdict::Vulnerable => "vulnerable",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One case's verdict and the sentence behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub probe: Probe,
    /// The case's name as shown: `<LF>.<LF>`, `percent hack`, …
    pub case: String,
    pub verdict: Verdict,
    pub reason: String,
}

/// The summary of a probe's findings: how many of each verdict, and the
/// vulnerable cases by name.
pub fn summary(probe: Probe, findings: &[Finding]) -> String {
    let count = |v: Verdict| findings.iter().filter(|f| f.verdict == v).count();
    let vulnerable: Vec<&str> = findings
        .iter()
        .filter(|f| f.verdict == Verdict::Vulnerable)
        .map(|f| f.case.as_str())
        .collect();
    let mut s = format!(
        "probe {probe}: {} case(s): {} safe, {} vulnerable, {} inconclusive",
        findings.len(),
        count(Verdict::Safe),
        count(Verdict::Vulnerable),
        count(Verdict::Inconclusive)
    );
    if !vulnerable.is_empty() {
        s.push_str(&format!(" (vulnerable: {})", vulnerable.join(", ")));
    }
    s
}

/// Shown text of a reply for a reason: its code and first line, bounded and
/// made visible.
pub(crate) fn quote(reply: &crate::proto::reply::Reply) -> String {
    let s = reply.summary();
    let s = crate::proto::visible::visible(s.as_bytes());
    if s.chars().count() > 120 {
        let cut: String = s.chars().take(120).collect();
        format!("\"{cut}…\"")
    } else {
        format!("\"{s}\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_declared_order() {
        for (name, p) in Probe::NAMES {
            assert_eq!(p.name(), name);
        }
    }

    #[test]
    fn the_summary_counts_and_names_the_vulnerable_cases() {
        let f = |case: &str, verdict| Finding {
            probe: Probe::Smuggling,
            case: case.into(),
            verdict,
            reason: String::new(),
        };
        let s = summary(
            Probe::Smuggling,
            &[
                f("<LF>.<LF>", Verdict::Vulnerable),
                f("<CR>.<CR>", Verdict::Safe),
                f("<CR>.<LF>", Verdict::Inconclusive),
            ],
        );
        assert_eq!(
            s,
            "probe smuggling: 3 case(s): 1 safe, 1 vulnerable, 1 inconclusive \
             (vulnerable: <LF>.<LF>)"
        );
    }
}
