//! What one check concluded: the method, its result in RFC 8601's words,
//! the domain judged, the reason, and the sentence that ties it back to the
//! envelope and the header fields. Also alignment (RFC 7489 3.1, RFC 9989 4.10.2).

use std::fmt;

use super::orgdomain::{normal, OrgDomains};

/// Which check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// SPF for MAIL FROM's domain.
    Spf,
    /// SPF for the HELO/EHLO name.
    SpfHelo,
    Dkim,
    Dmarc,
    Iprev,
}

impl Method {
    /// The name in `auth:` lines and in JSON's `method`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Spf => "spf",
            Self::SpfHelo => "spf-helo",
            Self::Dkim => "dkim",
            Self::Dmarc => "dmarc",
            Self::Iprev => "iprev",
        }
    }
}

/// A result, as RFC 8601 names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail,
    SoftFail,
    Neutral,
    None,
    TempError,
    PermError,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::SoftFail => "softfail",
            Self::Neutral => "neutral",
            Self::None => "none",
            Self::TempError => "temperror",
            Self::PermError => "permerror",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One result, ready to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub method: Method,
    pub result: Outcome,
    /// The domain judged (for iprev, the client address).
    pub domain: String,
    /// The technical reason, short (a record's error, the policy).
    pub reason: String,
    /// One sentence tying the result to the envelope and the headers.
    pub sentence: std::sync::Arc<str>,
}

/// How two domains align: RFC 7489 3.1, strict being the same name and
/// relaxed the same organizational domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alignment {
    Strict,
    Relaxed,
    No,
}

impl Alignment {
    /// `a` against `b`, as DMARC aligns them (RFC 9989 4.10.2, mail-auth's
    /// `is_aligned`): the same name is strict; the same organizational
    /// domain, as the DNS tree walk found it (`orgs`), is relaxed.
    pub fn of(a: &str, b: &str, orgs: &OrgDomains) -> Self {
        if normal(a) == normal(b) {
            Self::Strict
        } else if orgs.of(a) == orgs.of(b) {
            Self::Relaxed
        } else {
            Self::No
        }
    }

    /// "strict and relaxed", "relaxed only", "no".
    pub fn words(self) -> &'static str {
        match self {
            Self::Strict => "aligned, strict and relaxed",
            Self::Relaxed => "aligned relaxed only (same organizational domain, not the same name)",
            Self::No => "not aligned",
        }
    }
}

/// The Authentication-Results field (RFC 8601) for these verdicts, as a
/// receiver named `host` would add it, with CRLF.
pub fn authentication_results(host: &str, verdicts: &[Verdict]) -> String {
    // Written piece by piece: the server adds one to every message it
    // takes, and `format!` per piece cost it more than the checks did.
    let size = verdicts.iter().map(|v| v.domain.len() + 40).sum::<usize>();
    let mut out = String::with_capacity(host.len() + 32 + size);
    out.push_str("Authentication-Results: ");
    out.push_str(host);
    if verdicts.is_empty() {
        out.push_str("; none");
    }
    for v in verdicts {
        let prop = match v.method {
            Method::Spf => "smtp.mailfrom",
            Method::SpfHelo => "smtp.helo",
            Method::Dkim => "header.d",
            Method::Dmarc => "header.from",
            Method::Iprev => "policy.iprev",
        };
        let method = match v.method {
            Method::SpfHelo => "spf",
            m => m.name(),
        };
        for piece in [";\r\n\t", method, "=", v.result.name()] {
            out.push_str(piece);
        }
        if !v.domain.is_empty() {
            for piece in [" ", prop, "=", &v.domain] {
                out.push_str(piece);
            }
        }
    }
    out.push_str("\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alignment_table() {
        // The organizational domains a tree walk found: client.example's
        // own record, and a public suffix's record (psd=y) at co.uk.
        let orgs = OrgDomains::from_pairs([
            ("client.example", "client.example"),
            ("mail.client.example", "client.example"),
            ("a.client.example", "client.example"),
            ("b.client.example", "client.example"),
            ("news.example.co.uk", "example.co.uk"),
            ("other.co.uk", "other.co.uk"),
        ]);
        for (a, b, want) in [
            ("client.example", "client.example", Alignment::Strict),
            ("Client.Example.", "client.example", Alignment::Strict),
            ("mail.client.example", "client.example", Alignment::Relaxed),
            ("a.client.example", "b.client.example", Alignment::Relaxed),
            ("client.example", "bank.example", Alignment::No),
            ("client.example", "client.example.net", Alignment::No),
            ("news.example.co.uk", "other.co.uk", Alignment::No),
            // Not walked (no record found): each name is its own.
            ("a.b.example.test", "example.test", Alignment::No),
        ] {
            assert_eq!(Alignment::of(a, b, &orgs), want, "{a} {b}");
        }
    }

    #[test]
    fn authentication_results_name_each_method_and_its_property() {
        let v = |method, result, domain: &str| Verdict {
            method,
            result,
            domain: domain.into(),
            reason: String::new(),
            sentence: "".into(),
        };
        // The HELO check is spf by smtp.helo; a check with no domain names
        // none; no check at all is none.
        let cases = [
            (
                "demo.example.test",
                vec![
                    v(Method::Spf, Outcome::Pass, "client.example"),
                    v(Method::Dkim, Outcome::Fail, "client.example"),
                    v(Method::Iprev, Outcome::None, "192.0.2.1"),
                ],
                "Authentication-Results: demo.example.test;\r\n\tspf=pass smtp.mailfrom=client.example;\r\n\
                 \tdkim=fail header.d=client.example;\r\n\tiprev=none policy.iprev=192.0.2.1\r\n",
            ),
            (
                "mx",
                vec![
                    v(Method::SpfHelo, Outcome::None, "vm"),
                    v(Method::Dkim, Outcome::None, ""),
                    v(Method::Dmarc, Outcome::PermError, "client.example"),
                ],
                "Authentication-Results: mx;\r\n\tspf=none smtp.helo=vm;\r\n\tdkim=none;\r\n\t\
                 dmarc=permerror header.from=client.example\r\n",
            ),
            ("mx", vec![], "Authentication-Results: mx; none\r\n"),
        ];
        for (host, verdicts, want) in cases {
            assert_eq!(
                authentication_results(host, &verdicts),
                want,
                "{verdicts:?}"
            );
        }
    }
}
