//! The one sentence each result gets, tying it back to the envelope (MAIL
//! FROM, HELO, the client's address) and the header fields (From:). Plain
//! values in, text out, so every combination is a row of a table test.

use std::net::IpAddr;

use super::orgdomain::OrgDomains;
use super::verdict::{Alignment, Outcome};

/// A DMARC policy's request (RFC 7489 6.3, `p=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    None,
    Quarantine,
    Reject,
}

impl Policy {
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Quarantine => "quarantine",
            Self::Reject => "reject",
        }
    }

    fn consequence(self) -> &'static str {
        match self {
            Self::Reject => "a receiver that enforces DMARC will refuse this message",
            Self::Quarantine => "a receiver that enforces DMARC will put this message in spam",
            Self::None => {
                "the domain asks only for reports (p=none), so receivers deliver it anyway"
            }
        }
    }
}

/// What an SPF sentence needs.
#[derive(Debug, Clone, Copy)]
pub struct SpfFacts<'a> {
    /// The HELO name was judged, not MAIL FROM's domain.
    pub helo: bool,
    pub result: Outcome,
    pub domain: &'a str,
    pub ip: IpAddr,
    pub reason: &'a str,
    /// From:'s domain, for MAIL FROM's alignment.
    pub from: Option<&'a str>,
    /// The organizational domains DMARC's tree walk found.
    pub orgs: &'a OrgDomains,
}

pub fn spf(f: &SpfFacts) -> String {
    let (d, ip) = (f.domain, f.ip);
    let role = if f.helo { "HELO" } else { "MAIL FROM" };
    let mut s = match f.result {
        Outcome::Pass => {
            format!("SPF passes for {d} ({role}): {ip} is among the addresses {d} lets send")
        }
        Outcome::Fail => format!(
            "SPF fails for {d} ({role}): {d} says {ip} may not send for it, and a receiver that \
             enforces SPF refuses the message"
        ),
        Outcome::SoftFail => format!(
            "SPF soft-fails for {d} ({role}): {ip} is not among its senders, but {d} asks only \
             for suspicion (~all), so receivers usually accept and mark the message"
        ),
        Outcome::Neutral => format!(
            "SPF is neutral for {d} ({role}): {d} says nothing either way about {ip} (?all)"
        ),
        Outcome::None => format!(
            "{d} ({role}) publishes no SPF record, so nothing says which addresses may send for it"
        ),
        Outcome::TempError => format!(
            "SPF for {d} ({role}) could not be judged ({}): a receiver usually answers 4xx and \
             lets the client try again later",
            f.reason
        ),
        Outcome::PermError => format!(
            "SPF for {d} ({role}) is broken ({}): receivers treat the domain's own record as \
             unusable, often as a failure",
            f.reason
        ),
    };
    if let (false, Some(from)) = (f.helo, f.from) {
        match (f.result, Alignment::of(d, from, f.orgs)) {
            (Outcome::Pass, Alignment::No) => s.push_str(&format!(
                "; but From: says {from}, a different domain, so this pass cannot satisfy DMARC"
            )),
            (Outcome::Pass, a) => s.push_str(&format!("; From: says {from}, {}", a.words())),
            _ => {}
        }
    }
    s.push('.');
    s
}

/// What a DKIM sentence needs, for one signature.
#[derive(Debug, Clone, Copy)]
pub struct DkimFacts<'a> {
    pub result: Outcome,
    /// The signing domain, `d=`.
    pub d: &'a str,
    pub selector: &'a str,
    pub reason: &'a str,
    pub from: Option<&'a str>,
    pub orgs: &'a OrgDomains,
}

pub fn dkim(f: &DkimFacts) -> String {
    let (d, sel) = (f.d, f.selector);
    let mut s = match f.result {
        Outcome::Pass => format!(
            "The DKIM signature of {d} (selector {sel}) verifies: the signed header fields and \
             the body arrived as signed"
        ),
        Outcome::Fail => format!(
            "The DKIM signature of {d} (selector {sel}) does not verify ({}): the message \
             changed after signing, or another key signed it",
            f.reason
        ),
        Outcome::TempError => format!(
            "The DKIM signature of {d} (selector {sel}) could not be checked ({}): the key \
             lookup failed, so a receiver may try again later",
            f.reason
        ),
        _ => format!(
            "The DKIM signature of {d} (selector {sel}) cannot be used ({}): a receiver treats \
             the message as unsigned",
            f.reason
        ),
    };
    if let (Outcome::Pass, Some(from)) = (f.result, f.from) {
        match Alignment::of(d, from, f.orgs) {
            Alignment::No => s.push_str(&format!(
                "; but d={d} is not From:'s {from}, so this signature cannot satisfy DMARC"
            )),
            a => s.push_str(&format!("; d={d} against From: {from}: {}", a.words())),
        }
    }
    s.push('.');
    s
}

/// The sentence when the message carries no signature at all.
pub fn unsigned() -> String {
    "The message carries no DKIM-Signature field, so DMARC can pass only through SPF.".into()
}

/// What a DMARC sentence needs.
#[derive(Debug, Clone, Copy)]
pub struct DmarcFacts<'a> {
    pub result: Outcome,
    /// From:'s domain.
    pub from: &'a str,
    pub policy: Policy,
    /// SPF's result for MAIL FROM, and its domain.
    pub spf: (Outcome, &'a str),
    /// A passing DKIM signature's `d=` that aligns with From:, if any.
    pub dkim_aligned: Option<&'a str>,
    pub reason: &'a str,
    pub orgs: &'a OrgDomains,
}

pub fn dmarc(f: &DmarcFacts) -> String {
    let from = f.from;
    let (spf_result, spf_domain) = f.spf;
    let spf_aligned =
        spf_result == Outcome::Pass && Alignment::of(spf_domain, from, f.orgs) != Alignment::No;
    let p = f.policy.name();
    match f.result {
        Outcome::None => format!(
            "From: says {from}, which publishes no DMARC policy, so a receiver judges this \
             message by SPF and DKIM alone."
        ),
        Outcome::Pass => match (spf_aligned, f.dkim_aligned) {
            (true, _) => format!(
                "From: says {from} and SPF passes for {spf_domain} (MAIL FROM), which aligns \
                 with it: DMARC passes, whatever p={p} asks."
            ),
            (false, Some(d)) => format!(
                "From: says {from} and the DKIM signature of {d} aligns with it: DMARC passes, \
                 whatever p={p} asks."
            ),
            (false, None) => format!("From: says {from}, and DMARC passes under p={p}."),
        },
        Outcome::Fail => {
            let lead = if spf_result == Outcome::Pass {
                format!("SPF passes for {spf_domain} (MAIL FROM), but From: says {from}")
            } else {
                format!(
                    "SPF for {spf_domain} (MAIL FROM) is {spf_result} and no DKIM signature \
                     aligns with From: {from}"
                )
            };
            format!(
                "{lead}, which publishes p={p}: DMARC fails alignment and {}.",
                f.policy.consequence()
            )
        }
        _ => format!(
            "The DMARC policy of {from} (From:) could not be read ({}): a receiver cannot apply \
             it, and may defer the message.",
            f.reason
        ),
    }
}

/// What an iprev sentence needs: the result, the client's address and the
/// names its PTR record gave.
pub fn iprev(result: Outcome, ip: IpAddr, names: &[String], reason: &str) -> String {
    let name = names.first().map(|n| n.trim_end_matches('.')).unwrap_or("");
    match result {
        Outcome::Pass => format!(
            "The client's address {ip} resolves back to {name}, and {name} to {ip}: its reverse \
             DNS is forward-confirmed."
        ),
        Outcome::Fail => format!(
            "The client's address {ip} names {name} in reverse DNS, but {name} does not resolve \
             to {ip}: receivers that check iprev distrust such a client ({reason})."
        ),
        Outcome::TempError => format!(
            "The reverse lookup of the client's address {ip} failed ({reason}): a receiver may \
             defer the message."
        ),
        _ => format!(
            "The client's address {ip} has no usable reverse DNS ({reason}): many receivers \
             refuse or distrust a client without it."
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: &str = "192.0.2.10";

    fn ip() -> IpAddr {
        IP.parse().unwrap()
    }

    /// What a tree walk finds when client.example publishes DMARC.
    fn orgs() -> OrgDomains {
        OrgDomains::from_pairs([("news.client.example", "client.example")])
    }

    #[test]
    fn spf_sentences() {
        let orgs = orgs();
        let f = |helo, result, from| SpfFacts {
            helo,
            result,
            domain: "client.example",
            ip: ip(),
            reason: "why",
            from,
            orgs: &orgs,
        };
        let cases: [(SpfFacts, &str); 9] = [
            (f(false, Outcome::Pass, Some("client.example")), "SPF passes for client.example (MAIL FROM): 192.0.2.10 is among the addresses client.example lets send; From: says client.example, aligned, strict and relaxed."),
            (f(false, Outcome::Pass, Some("news.client.example")), "SPF passes for client.example (MAIL FROM): 192.0.2.10 is among the addresses client.example lets send; From: says news.client.example, aligned relaxed only (same organizational domain, not the same name)."),
            (f(false, Outcome::Pass, Some("bank.example")), "SPF passes for client.example (MAIL FROM): 192.0.2.10 is among the addresses client.example lets send; but From: says bank.example, a different domain, so this pass cannot satisfy DMARC."),
            (f(true, Outcome::Pass, Some("bank.example")), "SPF passes for client.example (HELO): 192.0.2.10 is among the addresses client.example lets send."),
            (f(false, Outcome::Fail, None), "SPF fails for client.example (MAIL FROM): client.example says 192.0.2.10 may not send for it, and a receiver that enforces SPF refuses the message."),
            (f(false, Outcome::SoftFail, None), "SPF soft-fails for client.example (MAIL FROM): 192.0.2.10 is not among its senders, but client.example asks only for suspicion (~all), so receivers usually accept and mark the message."),
            (f(false, Outcome::Neutral, None), "SPF is neutral for client.example (MAIL FROM): client.example says nothing either way about 192.0.2.10 (?all)."),
            (f(true, Outcome::None, None), "client.example (HELO) publishes no SPF record, so nothing says which addresses may send for it."),
            (f(false, Outcome::TempError, None), "SPF for client.example (MAIL FROM) could not be judged (why): a receiver usually answers 4xx and lets the client try again later."),
        ];
        for (facts, want) in cases {
            assert_eq!(spf(&facts), want);
        }
        assert!(spf(&f(false, Outcome::PermError, None))
            .starts_with("SPF for client.example (MAIL FROM) is broken (why)"));
    }

    #[test]
    fn dkim_sentences() {
        let orgs = orgs();
        let f = |result, from| DkimFacts {
            result,
            d: "client.example",
            selector: "demo",
            reason: "body hash mismatch",
            from,
            orgs: &orgs,
        };
        for (facts, want) in [
            (f(Outcome::Pass, Some("client.example")), "The DKIM signature of client.example (selector demo) verifies: the signed header fields and the body arrived as signed; d=client.example against From: client.example: aligned, strict and relaxed."),
            (f(Outcome::Pass, Some("bank.example")), "The DKIM signature of client.example (selector demo) verifies: the signed header fields and the body arrived as signed; but d=client.example is not From:'s bank.example, so this signature cannot satisfy DMARC."),
            (f(Outcome::Fail, Some("client.example")), "The DKIM signature of client.example (selector demo) does not verify (body hash mismatch): the message changed after signing, or another key signed it."),
            (f(Outcome::TempError, None), "The DKIM signature of client.example (selector demo) could not be checked (body hash mismatch): the key lookup failed, so a receiver may try again later."),
            (f(Outcome::PermError, None), "The DKIM signature of client.example (selector demo) cannot be used (body hash mismatch): a receiver treats the message as unsigned."),
        ] {
            assert_eq!(dkim(&facts), want);
        }
        assert!(unsigned().contains("no DKIM-Signature"));
    }

    #[test]
    fn dmarc_sentences() {
        let orgs = orgs();
        let f = |result, from, policy, spf, dkim_aligned| DmarcFacts {
            result,
            from,
            policy,
            spf,
            dkim_aligned,
            reason: "DNS timeout",
            orgs: &orgs,
        };
        for (facts, want) in [
            (f(Outcome::Fail, "bank.example", Policy::Reject, (Outcome::Pass, "client.example"), None), "SPF passes for client.example (MAIL FROM), but From: says bank.example, which publishes p=reject: DMARC fails alignment and a receiver that enforces DMARC will refuse this message."),
            (f(Outcome::Fail, "bank.example", Policy::Quarantine, (Outcome::Fail, "bank.example"), None), "SPF for bank.example (MAIL FROM) is fail and no DKIM signature aligns with From: bank.example, which publishes p=quarantine: DMARC fails alignment and a receiver that enforces DMARC will put this message in spam."),
            (f(Outcome::Fail, "bank.example", Policy::None, (Outcome::Pass, "client.example"), None), "SPF passes for client.example (MAIL FROM), but From: says bank.example, which publishes p=none: DMARC fails alignment and the domain asks only for reports (p=none), so receivers deliver it anyway."),
            (f(Outcome::Pass, "client.example", Policy::Reject, (Outcome::Pass, "client.example"), None), "From: says client.example and SPF passes for client.example (MAIL FROM), which aligns with it: DMARC passes, whatever p=reject asks."),
            (f(Outcome::Pass, "client.example", Policy::Reject, (Outcome::Fail, "other.example"), Some("client.example")), "From: says client.example and the DKIM signature of client.example aligns with it: DMARC passes, whatever p=reject asks."),
            (f(Outcome::None, "client.example", Policy::None, (Outcome::Pass, "client.example"), None), "From: says client.example, which publishes no DMARC policy, so a receiver judges this message by SPF and DKIM alone."),
            (f(Outcome::TempError, "client.example", Policy::None, (Outcome::Pass, "client.example"), None), "The DMARC policy of client.example (From:) could not be read (DNS timeout): a receiver cannot apply it, and may defer the message."),
        ] {
            assert_eq!(dmarc(&facts), want);
        }
    }

    #[test]
    fn iprev_sentences() {
        let names = vec!["mx.client.example.".to_string()];
        assert_eq!(iprev(Outcome::Pass, ip(), &names, ""), "The client's address 192.0.2.10 resolves back to mx.client.example, and mx.client.example to 192.0.2.10: its reverse DNS is forward-confirmed.");
        assert!(iprev(Outcome::Fail, ip(), &names, "x").contains("does not resolve to 192.0.2.10"));
        assert!(iprev(Outcome::None, ip(), &[], "no PTR record")
            .contains("no usable reverse DNS (no PTR record)"));
        assert!(iprev(Outcome::TempError, ip(), &[], "timeout").starts_with("The reverse lookup"));
    }
}
