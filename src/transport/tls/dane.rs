//! DANE for SMTP (RFC 6698, RFC 7671, RFC 7672): the TLSA records of
//! `_PORT._tcp.HOST`, shown, and matched against the chain the server sent
//! (usages 0-3, selectors 0/1, matching types 0/1/2), with a verdict. This
//! tool does not validate DNSSEC itself: it says so, and what the
//! resolver's AD flag said, rather than implying a security it cannot give.

use std::net::SocketAddr;
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use x509_parser::prelude::*;

use super::chain::field;
use crate::transport::dns::records::{Flagged, Tlsa};
use crate::transport::dns::{self, shown_name, DnsError, Hickory};

/// Where to look the records up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The name the certificate is checked for (the MX host's).
    pub host: String,
    pub port: u16,
    /// `--dns`, else the system's resolver.
    pub dns: Option<SocketAddr>,
    pub limit: Duration,
}

impl Query {
    pub fn name(&self) -> String {
        format!("_{}._tcp.{}", self.port, shown_name(&self.host))
    }
}

/// The records found (None when the lookup failed or found none) and the
/// lines saying what was asked and answered.
pub async fn lookup(q: &Query) -> (Option<Flagged<Tlsa>>, Vec<String>) {
    let name = q.name();
    let resolver = match dns::resolver(q.dns, q.limit) {
        Ok(r) => Hickory {
            resolver: r,
            limit: q.limit,
        },
        Err(e) => return (None, vec![format!("dane: {e}")]),
    };
    let result = resolver.tlsa(&name).await;
    let shown = result
        .as_ref()
        .map(|f| f.answer.clone())
        .map_err(Clone::clone);
    let mut lines = vec![dns::line("TLSA", &name, &shown)];
    match result {
        Ok(f) if !f.answer.records.is_empty() => {
            lines.push(dnssec_line(f.authentic));
            (Some(f), lines)
        }
        Ok(_) | Err(DnsError::NoRecords) | Err(DnsError::NxDomain) => {
            lines.push(format!(
                "dane: {name} publishes no TLSA records: DANE does not apply, a sender \
                 falls back to its usual (opportunistic) TLS"
            ));
            (None, lines)
        }
        Err(e) => {
            lines.push(format!(
                "dane: the TLSA lookup failed ({e}): a DANE-aware sender would defer the \
                 mail rather than deliver without knowing (RFC 7672 2.2.2)"
            ));
            (None, lines)
        }
    }
}

fn dnssec_line(authentic: bool) -> String {
    if authentic {
        "dane: DNSSEC: NOT validated by this tool; the resolver set the AD flag (it says it \
         validated), which counts only if that resolver and the path to it are trusted"
            .to_string()
    } else {
        "dane: DNSSEC: NOT validated (this tool checks no signatures and the resolver did not \
         set the AD flag): these records show what DNS says, not that it is authentic"
            .to_string()
    }
}

/// The part of a certificate a selector picks: the whole certificate (0)
/// or its SubjectPublicKeyInfo (1).
fn selected(der: &CertificateDer<'_>, selector: u8) -> Option<Vec<u8>> {
    match selector {
        0 => Some(der.as_ref().to_vec()),
        1 => {
            let (_, c) = X509Certificate::from_der(der.as_ref()).ok()?;
            Some(c.public_key().raw.to_vec())
        }
        _ => None,
    }
}

/// The association data a matching type makes of `bytes`: the bytes
/// themselves (0), SHA-256 (1) or SHA-512 (2).
fn matched(bytes: &[u8], matching: u8) -> Option<Vec<u8>> {
    use ring::digest::{digest, SHA256, SHA512};
    match matching {
        0 => Some(bytes.to_vec()),
        1 => Some(digest(&SHA256, bytes).as_ref().to_vec()),
        2 => Some(digest(&SHA512, bytes).as_ref().to_vec()),
        _ => None,
    }
}

/// Which certificate of the chain a record matches (0 the server's own),
/// or why it cannot be used.
fn find(record: &Tlsa, chain: &[CertificateDer<'_>]) -> Result<Option<usize>, &'static str> {
    if record.usage > 3 {
        return Err("an unknown certificate usage");
    }
    if record.selector > 1 {
        return Err("an unknown selector");
    }
    if record.matching > 2 {
        return Err("an unknown matching type");
    }
    // End-entity usages match the server's own certificate; trust-anchor
    // usages a certificate above it.
    let candidates: Vec<usize> = match record.usage {
        1 | 3 => vec![0],
        _ => (1..chain.len()).collect(),
    };
    Ok(candidates.into_iter().find(|&i| {
        selected(&chain[i], record.selector)
            .and_then(|s| matched(&s, record.matching))
            .is_some_and(|d| d == record.data)
    }))
}

const USAGE: [&str; 4] = ["PKIX-TA", "PKIX-EE", "DANE-TA", "DANE-EE"];

fn subject(der: &CertificateDer<'_>) -> String {
    X509Certificate::from_der(der.as_ref())
        .map(|(_, c)| field(&c.subject().to_string()))
        .unwrap_or_else(|_| "(unreadable)".into())
}

/// Each record matched against the chain, and the verdict. `pkix_ok`:
/// the chain passed the usual check (for usages 0 and 1, which need it);
/// `name_ok`: the certificate carries the name (DANE-TA needs it).
pub fn verdict(
    records: &[Tlsa],
    chain: &[CertificateDer<'_>],
    pkix_ok: bool,
    name_ok: bool,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut usable = 0;
    let mut passed = false;
    for r in records {
        match find(r, chain) {
            Err(why) => out.push(format!("dane: TLSA {r}: unusable ({why}): ignored")),
            Ok(found) => {
                usable += 1;
                let usage = USAGE[usize::from(r.usage)];
                let Some(i) = found else {
                    out.push(format!(
                        "dane: TLSA {r} ({usage}): matches no certificate sent"
                    ));
                    continue;
                };
                let who = format!("certificate {} ({})", i + 1, subject(&chain[i]));
                let (ok, why) = match r.usage {
                    3 => (true, "DANE-EE: this key is the server's, whatever the CA, the names and the dates (RFC 7672 3.1.1)".to_string()),
                    2 if name_ok => (true, "DANE-TA: the chain leads to this trust anchor and the name matches".to_string()),
                    2 => (false, "DANE-TA: but the certificate does not carry the name, which DANE-TA still requires".to_string()),
                    _ if pkix_ok => (true, format!("{usage}: and the usual CA check passed (RFC 7672 3.1.3: SMTP clients treat usages 0 and 1 as unusable)")),
                    _ => (false, format!("{usage}: but the usual CA check failed, which this usage also requires")),
                };
                passed |= ok;
                out.push(format!("dane: TLSA {r} matches {who}: {why}"));
            }
        }
    }
    out.push(if passed {
        "dane: verdict: MATCH — a TLSA record vouches for this server's certificate (as far as the records are authentic: see DNSSEC above)".to_string()
    } else if usable == 0 {
        "dane: verdict: no usable TLSA record — a DANE sender must still use TLS but cannot authenticate the server (RFC 7672 2.2)".to_string()
    } else {
        "dane: verdict: MISMATCH — no TLSA record matches the chain; a DANE-aware sender would not deliver to this server (RFC 7672 2.2)".to_string()
    });
    out
}

/// A TLSA record for a certificate, as `--dane` would want it published
/// (3 1 1: DANE-EE, the public key, SHA-256).
pub fn record_for(der: &CertificateDer<'_>) -> Option<Tlsa> {
    let spki = selected(der, 1)?;
    Some(Tlsa {
        usage: 3,
        selector: 1,
        matching: 1,
        data: matched(&spki, 1)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::tls::testchain::{leaf_with, Ca};

    /// Every usage, selector and matching type against a chain, each with
    /// the record that must match and one that must not.
    #[test]
    fn records_match_by_usage_selector_and_matching_type() {
        let root = Ca::root("Root");
        let inter = root.intermediate("Inter");
        let leaf = leaf_with(&inter, &["mx.example.test"], -1, 30);
        let chain = vec![leaf.clone(), inter.der.clone()];
        let other = leaf_with(&inter, &["other.test"], -1, 30);
        for usage in 0..=3u8 {
            for selector in 0..=1u8 {
                for matching in 0..=2u8 {
                    let target = if usage == 1 || usage == 3 {
                        &leaf
                    } else {
                        &inter.der
                    };
                    let wrong = if usage == 1 || usage == 3 {
                        &other
                    } else {
                        &root.der
                    };
                    let make = |c: &CertificateDer<'_>| Tlsa {
                        usage,
                        selector,
                        matching,
                        data: matched(&selected(c, selector).unwrap(), matching).unwrap(),
                    };
                    let case = format!("{usage} {selector} {matching}");
                    let want = if usage == 1 || usage == 3 { 0 } else { 1 };
                    assert_eq!(find(&make(target), &chain), Ok(Some(want)), "{case}");
                    assert_eq!(find(&make(wrong), &chain), Ok(None), "{case}");
                }
            }
        }
        let bad = Tlsa {
            usage: 4,
            selector: 0,
            matching: 0,
            data: vec![],
        };
        assert!(find(&bad, &chain).is_err());
    }

    #[test]
    fn verdicts() {
        let root = Ca::root("Root");
        let leaf = leaf_with(&root, &["mx.example.test"], -1, 30);
        let chain = vec![leaf.clone()];
        let good = record_for(&leaf).unwrap();
        let text = verdict(std::slice::from_ref(&good), &chain, false, false).join("\n");
        assert!(text.contains("verdict: MATCH"), "{text}");
        assert!(text.contains("DANE-EE"), "{text}");
        let other = record_for(&leaf_with(&root, &["x.test"], -1, 30)).unwrap();
        let text = verdict(&[other], &chain, true, true).join("\n");
        assert!(text.contains("verdict: MISMATCH"), "{text}");
        let pkix = Tlsa {
            usage: 1,
            ..good.clone()
        };
        assert!(verdict(std::slice::from_ref(&pkix), &chain, true, true)
            .join("\n")
            .contains("MATCH —"));
        assert!(verdict(&[pkix], &chain, false, true)
            .join("\n")
            .contains("MISMATCH"));
        let odd = Tlsa { usage: 9, ..good };
        assert!(verdict(&[odd], &chain, true, true)
            .join("\n")
            .contains("no usable"));
    }

    #[test]
    fn the_query_name() {
        let q = Query {
            host: "mx.example.test.".into(),
            port: 25,
            dns: None,
            limit: Duration::from_secs(1),
        };
        assert_eq!(q.name(), "_25._tcp.mx.example.test");
    }
}
