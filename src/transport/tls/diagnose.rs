//! What is wrong with a chain, in the words an administrator fixes it by:
//! a certificate expired (and when), not valid yet, not for the name asked
//! (and which names it does carry), an intermediate missing or out of
//! order, a self-signed certificate, a root nobody here trusts. The
//! verifier only says that it failed; this says why, from the chain itself.

use rustls::pki_types::CertificateDer;
use x509_parser::prelude::*;

use super::chain::{date, field, names};

/// One certificate of the chain, as far as the diagnosis needs it.
struct Link {
    subject: Vec<u8>,
    issuer: Vec<u8>,
    subject_text: String,
    issuer_text: String,
    not_before: i64,
    not_after: i64,
    names: Vec<String>,
}

fn link(der: &CertificateDer<'_>) -> Option<Link> {
    let (_, c) = X509Certificate::from_der(der.as_ref()).ok()?;
    Some(Link {
        subject: c.subject().as_raw().to_vec(),
        issuer: c.issuer().as_raw().to_vec(),
        subject_text: field(&c.subject().to_string()),
        issuer_text: field(&c.issuer().to_string()),
        not_before: c.validity().not_before.timestamp(),
        not_after: c.validity().not_after.timestamp(),
        names: names(&c),
    })
}

impl Link {
    fn self_issued(&self) -> bool {
        self.subject == self.issuer
    }
}

/// Whether `name` is one a certificate name covers (RFC 6125 6.4: a
/// wildcard stands for exactly one leftmost label).
pub fn name_covers(pattern: &str, name: &str) -> bool {
    let (p, n) = (pattern.to_ascii_lowercase(), name.to_ascii_lowercase());
    let n = n.trim_end_matches('.');
    match p.strip_prefix("*.") {
        Some(rest) => n
            .split_once('.')
            .is_some_and(|(first, tail)| !first.is_empty() && tail == rest),
        None => p.trim_end_matches('.') == n,
    }
}

/// Whether the server's own certificate (the chain's first) carries `name`.
pub fn leaf_carries(chain: &[CertificateDer<'_>], name: &str) -> bool {
    chain
        .first()
        .and_then(link)
        .is_some_and(|l| carries(&l.names, name))
}

fn carries(names: &[String], name: &str) -> bool {
    let name = name.trim_start_matches('[').trim_end_matches(']');
    names.iter().any(|n| match n.split_once(':') {
        Some(("DNS", d)) => name_covers(d, name),
        Some(("IP", ip)) => ip == name,
        _ => false,
    })
}

/// What the diagnosis knows besides the chain.
pub struct Context<'a> {
    /// The name the certificate must carry.
    pub name: &'a str,
    /// The verifier refused the chain's trust (unknown issuer): look for why.
    pub trust_failed: bool,
    /// The roots trusted here (empty with `--insecure`).
    pub roots: &'a [CertificateDer<'static>],
    pub now: i64,
}

/// The problems found, each a sentence; none for a sound chain.
pub fn diagnose(chain: &[CertificateDer<'_>], cx: &Context<'_>) -> Vec<String> {
    let links: Vec<Option<Link>> = chain.iter().map(link).collect();
    let mut out = Vec::new();
    for (i, l) in links.iter().enumerate() {
        match l {
            None => out.push(format!("certificate {} cannot be read at all", i + 1)),
            Some(l) if cx.now > l.not_after => out.push(format!(
                "certificate {} ({}) expired on {} ({} days ago)",
                i + 1,
                l.subject_text,
                date(l.not_after),
                (cx.now - l.not_after) / 86_400
            )),
            Some(l) if cx.now < l.not_before => out.push(format!(
                "certificate {} ({}) is not valid until {} (a clock wrong on one side, \
                 or a certificate put in place too early)",
                i + 1,
                l.subject_text,
                date(l.not_before)
            )),
            Some(_) => {}
        }
    }
    let links: Vec<Link> = links.into_iter().flatten().collect();
    if links.len() != chain.len() {
        return out;
    }
    let Some(leaf) = links.first() else {
        return out;
    };
    if !carries(&leaf.names, cx.name) {
        let shown: Vec<&str> = leaf.names.iter().take(10).map(String::as_str).collect();
        out.push(if shown.is_empty() {
            format!(
                "the certificate is not for {:?}: it carries no alternative names at all \
                 (only the subject {}; clients ignore the CN)",
                cx.name, leaf.subject_text
            )
        } else {
            format!(
                "the certificate is not for {:?}: it carries {}{}",
                cx.name,
                shown.join(", "),
                if leaf.names.len() > 10 { ", …" } else { "" }
            )
        });
    }
    order(&links, &mut out);
    if cx.trust_failed {
        trust(&links, cx.roots, &mut out);
    }
    out
}

/// Each certificate should be followed by its issuer (RFC 8446 4.4.2
/// allows other orders, RFC 5246 7.4.2 does not, and older clients fail).
fn order(links: &[Link], out: &mut Vec<String>) {
    for i in 0..links.len().saturating_sub(1) {
        let (cur, next) = (&links[i], &links[i + 1]);
        if cur.self_issued() || cur.issuer == next.subject {
            continue;
        }
        if let Some(j) = (i + 2..links.len()).find(|&j| links[j].subject == cur.issuer) {
            out.push(format!(
                "the chain is out of order: certificate {}'s issuer is certificate {}, which \
                 should come right after it (TLS 1.2 requires that order; many clients \
                 tolerate others)",
                i + 1,
                j + 1
            ));
        } else if !links
            .iter()
            .any(|l| l.issuer == next.subject && !l.self_issued())
        {
            out.push(format!(
                "certificate {} ({}) issues none of the others: it does not belong in this chain",
                i + 2,
                next.subject_text
            ));
        }
    }
}

/// Why the chain does not reach a trusted root: follow the issuers from
/// the leaf through what was sent and say where the path ends.
fn trust(links: &[Link], roots: &[CertificateDer<'static>], out: &mut Vec<String>) {
    let mut cur = 0;
    let mut steps = 0;
    while !links[cur].self_issued() && steps < links.len() {
        match (0..links.len()).find(|&j| j != cur && links[j].subject == links[cur].issuer) {
            Some(j) => cur = j,
            None => break,
        }
        steps += 1;
    }
    let top = &links[cur];
    if top.self_issued() {
        out.push(if cur == 0 {
            "the certificate is self-signed: no authority vouches for it (trust this very \
             certificate with --ca-file FILE if it is yours)"
                .to_string()
        } else {
            format!(
                "the chain ends in the root {}, which this client does not trust: an unknown \
                 CA (give it with --ca-file FILE if it is yours; a server should not send its root)",
                top.subject_text
            )
        });
        return;
    }
    let known = roots
        .iter()
        .filter_map(link)
        .any(|r| r.subject == top.issuer);
    out.push(if known {
        format!(
            "certificate {} names the trusted root {} as its issuer, but its signature does \
             not verify with that root's key (a root reissued under the same name?)",
            cur + 1,
            top.issuer_text
        )
    } else if cur == 0 {
        format!(
            "the server sent only its own certificate, issued by {}, which is not a trusted \
             root: the intermediate certificate is most likely missing from the server's \
             configuration (or {} belongs to a CA unknown here)",
            top.issuer_text, top.issuer_text
        )
    } else {
        format!(
            "the last certificate of the path ({}) is issued by {}, which was neither sent \
             nor is trusted here: an intermediate is missing, or the CA is unknown here",
            top.subject_text, top.issuer_text
        )
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::tls::chain::now;
    use crate::transport::tls::testchain::{leaf_with, self_signed, Ca};

    fn run(
        chain: &[CertificateDer<'static>],
        name: &str,
        trust_failed: bool,
        roots: &[CertificateDer<'static>],
    ) -> Vec<String> {
        diagnose(
            chain,
            &Context {
                name,
                trust_failed,
                roots,
                now: now(),
            },
        )
    }

    /// One chain per case the issue names, and what must be said of it.
    #[test]
    fn each_broken_chain_is_named_for_what_is_wrong() {
        let root = Ca::root("Test Root");
        let inter = root.intermediate("Test Intermediate");
        let other = Ca::root("Stranger Root");
        let good = leaf_with(&inter, &["mx.example.test"], -1, 90);
        let roots = vec![root.der.clone()];
        let cases: Vec<(&str, Vec<CertificateDer<'static>>, &str, bool, &str)> = vec![
            (
                "sound",
                vec![good.clone(), inter.der.clone()],
                "mx.example.test",
                false,
                "",
            ),
            (
                "expired",
                vec![
                    leaf_with(&inter, &["mx.example.test"], -100, -3),
                    inter.der.clone(),
                ],
                "mx.example.test",
                false,
                "expired on ",
            ),
            (
                "not yet valid",
                vec![
                    leaf_with(&inter, &["mx.example.test"], 3, 100),
                    inter.der.clone(),
                ],
                "mx.example.test",
                false,
                "is not valid until ",
            ),
            (
                "wrong name",
                vec![good.clone(), inter.der.clone()],
                "smtp.other.test",
                false,
                "not for \"smtp.other.test\": it carries DNS:mx.example.test",
            ),
            (
                "missing intermediate",
                vec![good.clone()],
                "mx.example.test",
                true,
                "intermediate certificate is most likely missing",
            ),
            (
                "out of order",
                vec![
                    leaf_with(&inter, &["mx.example.test"], -1, 90),
                    root.der.clone(),
                    inter.der.clone(),
                ],
                "mx.example.test",
                false,
                "out of order: certificate 1's issuer is certificate 3",
            ),
            (
                "self-signed",
                vec![self_signed(&["mx.example.test"])],
                "mx.example.test",
                true,
                "self-signed",
            ),
            (
                "unknown CA",
                vec![
                    leaf_with(&other, &["mx.example.test"], -1, 90),
                    other.der.clone(),
                ],
                "mx.example.test",
                true,
                "ends in the root CN=Stranger Root, which this client does not trust",
            ),
        ];
        for (case, chain, name, trust_failed, want) in cases {
            let got = run(&chain, name, trust_failed, &roots);
            if want.is_empty() {
                assert!(got.is_empty(), "{case}: {got:?}");
            } else {
                assert!(got.iter().any(|l| l.contains(want)), "{case}: {got:?}");
            }
        }
    }

    #[test]
    fn wildcards_cover_one_label() {
        assert!(name_covers("*.example.test", "mx.example.test"));
        assert!(name_covers("MX.example.test", "mx.EXAMPLE.test."));
        assert!(!name_covers("*.example.test", "a.b.example.test"));
        assert!(!name_covers("*.example.test", "example.test"));
        assert!(carries(&["IP:127.0.0.1".into()], "127.0.0.1"));
        assert!(carries(&["IP:::1".into()], "[::1]"));
    }

    #[test]
    fn a_twenty_certificate_chain_ends_and_says_little() {
        let root = Ca::root("Root");
        let mut cas = vec![root];
        for i in 0..19 {
            let next = cas[cas.len() - 1].intermediate(&format!("Level {i}"));
            cas.push(next);
        }
        let leaf = leaf_with(&cas[cas.len() - 1], &["deep.test"], -1, 9);
        let mut chain = vec![leaf];
        chain.extend(cas.iter().rev().map(|c| c.der.clone()));
        let got = run(&chain, "deep.test", true, &[]);
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].contains("ends in the root CN=Root"), "{got:?}");
    }
}
