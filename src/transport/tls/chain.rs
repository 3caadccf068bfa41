//! The server's certificates as the transcript shows them: for each one its
//! subject and names, issuer, key, signature algorithm, validity with the
//! days left, and SHA-256 fingerprint; and the chain as PEM for
//! `--save-chain`. The certificates come from the server: every text is
//! made visible and cut, and a long chain is cut with a count, so that a
//! hostile server can neither flood the transcript nor draw on it.

use rustls::pki_types::CertificateDer;
use x509_parser::prelude::*;
use x509_parser::public_key::PublicKey;

use crate::proto::visible::visible;

/// The most certificates described; a real chain has two to four.
pub const MAX_SHOWN: usize = 8;
/// The most names of one certificate shown.
pub const MAX_NAMES: usize = 10;
/// The longest text shown of one field (a subject, a name), in characters.
pub const MAX_FIELD: usize = 160;

/// A field of a certificate as shown: visible and at most [`MAX_FIELD`]
/// characters, with an ellipsis where it was cut.
pub fn field(raw: &str) -> String {
    let v = visible(raw.as_bytes());
    if v.chars().count() <= MAX_FIELD {
        return v;
    }
    let cut: String = v.chars().take(MAX_FIELD).collect();
    format!("{cut}…")
}

/// A date and time (seconds since 1970) as `2026-12-04 20:16 UTC`.
pub fn date(unix: i64) -> String {
    let (y, m, d) = ymd(unix);
    let secs = unix.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        secs / 3600,
        (secs % 3600) / 60
    )
}

/// The calendar day (UTC) of a time in seconds since 1970.
pub fn ymd(unix: i64) -> (i64, i64, i64) {
    let days = unix.div_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// The SHA-256 fingerprint of a certificate, as `AB:CD:…`.
pub fn fingerprint(der: &[u8]) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, der);
    d.as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The subject alternative names, shown (`DNS:…`, `IP:…`), all of them.
pub fn names(cert: &X509Certificate<'_>) -> Vec<String> {
    cert.subject_alternative_name()
        .ok()
        .flatten()
        .map(|ext| {
            ext.value
                .general_names
                .iter()
                .map(|n| match n {
                    GeneralName::DNSName(d) => format!("DNS:{d}"),
                    GeneralName::IPAddress(ip) => format!("IP:{}", ip_text(ip)),
                    GeneralName::RFC822Name(m) => format!("email:{m}"),
                    other => format!("{other}"),
                })
                .collect()
        })
        .unwrap_or_default()
}

pub fn ip_text(bytes: &[u8]) -> String {
    match bytes.len() {
        4 => std::net::Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]).to_string(),
        16 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(bytes);
            std::net::Ipv6Addr::from(a).to_string()
        }
        _ => format!("{bytes:02x?}"),
    }
}

fn key(cert: &X509Certificate<'_>) -> String {
    let spki = cert.public_key();
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok())
        .map(|o| match o.to_id_string().as_str() {
            "1.2.840.10045.3.1.7" => "P-256".to_string(),
            "1.3.132.0.34" => "P-384".to_string(),
            "1.3.132.0.35" => "P-521".to_string(),
            other => other.to_string(),
        });
    match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => format!("RSA {} bits", rsa.key_size()),
        Ok(PublicKey::EC(ec)) => match curve {
            Some(c) => format!("EC {c} ({} bits)", ec.key_size()),
            None => format!("EC {} bits", ec.key_size()),
        },
        Ok(PublicKey::DSA(y)) => format!("DSA {} bits", y.len() * 8),
        _ => match spki.algorithm.algorithm.to_id_string().as_str() {
            "1.3.101.112" => "Ed25519".to_string(),
            "1.3.101.113" => "Ed448".to_string(),
            other => format!("key algorithm {other}"),
        },
    }
}

/// The signature algorithm by the name RFCs give it.
fn signature(cert: &X509Certificate<'_>) -> String {
    let oid = cert.signature_algorithm.algorithm.to_id_string();
    let name = match oid.as_str() {
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption (weak)",
        "1.2.840.113549.1.1.4" => "md5WithRSAEncryption (broken)",
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.113549.1.1.10" => "RSASSA-PSS",
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1 (weak)",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.3.101.112" => "Ed25519",
        "1.3.101.113" => "Ed448",
        _ => return oid,
    };
    name.to_string()
}

/// How long is left of a validity, in words.
fn left(cert: &X509Certificate<'_>, now: i64) -> String {
    let v = cert.validity();
    let (from, to) = (v.not_before.timestamp(), v.not_after.timestamp());
    if now < from {
        format!(
            "NOT VALID YET: starts in {} days",
            (from - now + 86_399) / 86_400
        )
    } else if now > to {
        format!("EXPIRED {} days ago", (now - to) / 86_400)
    } else {
        format!("{} days left", (to - now) / 86_400)
    }
}

/// The lines of one certificate (`n` of `total`, from 1).
pub fn describe_one(der: &CertificateDer<'_>, n: usize, total: usize, now: i64) -> Vec<String> {
    let role = match n {
        1 => " (the server's own)",
        _ if n == total && total > 1 => " (the last sent)",
        _ => "",
    };
    let head = format!("certificate {n} of {total}{role}");
    let cert = match X509Certificate::from_der(der.as_ref()) {
        Ok((_, c)) => c,
        Err(e) => {
            return vec![format!(
                "{head}: cannot be read ({}); {} bytes, SHA-256 {}",
                field(&e.to_string()),
                der.len(),
                fingerprint(der)
            )]
        }
    };
    let all = names(&cert);
    let mut shown: Vec<String> = all.iter().take(MAX_NAMES).map(|n| field(n)).collect();
    if all.len() > MAX_NAMES {
        shown.push(format!("and {} more", all.len() - MAX_NAMES));
    }
    let names = if shown.is_empty() {
        "(no alternative names)".to_string()
    } else {
        shown.join(", ")
    };
    let v = cert.validity();
    vec![
        format!(
            "{head}: subject {}; names {names}",
            field(&cert.subject().to_string())
        ),
        format!(
            "  issuer {}; key {}; signed with {}",
            field(&cert.issuer().to_string()),
            key(&cert),
            signature(&cert)
        ),
        format!(
            "  valid from {} to {} ({}); SHA-256 {}",
            date(v.not_before.timestamp()),
            date(v.not_after.timestamp()),
            left(&cert, now),
            fingerprint(der)
        ),
    ]
}

/// The lines of a whole chain as the server sent it, at most
/// [`MAX_SHOWN`] certificates, and how many were left out.
pub fn describe(chain: &[CertificateDer<'_>], now: i64) -> Vec<String> {
    let total = chain.len();
    let mut out = vec![match total {
        0 => "the server sent no certificate".to_string(),
        1 => "the server sent 1 certificate:".to_string(),
        n => format!("the server sent {n} certificates:"),
    }];
    for (i, der) in chain.iter().enumerate().take(MAX_SHOWN) {
        out.extend(describe_one(der, i + 1, total, now));
    }
    if total > MAX_SHOWN {
        out.push(format!(
            "… and {} more certificates not shown (a chain is rarely longer than 4; \
             --save-chain FILE keeps them all)",
            total - MAX_SHOWN
        ));
    }
    out
}

/// The chain as PEM, in the order the server sent it.
pub fn pem(chain: &[CertificateDer<'_>]) -> String {
    use base64::Engine as _;
    let mut out = String::new();
    for der in chain {
        let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
        out.push_str("-----BEGIN CERTIFICATE-----\n");
        for line in b64.as_bytes().chunks(64) {
            out.push_str(&String::from_utf8_lossy(line));
            out.push('\n');
        }
        out.push_str("-----END CERTIFICATE-----\n");
    }
    out
}

/// The seconds since 1970 now.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::tls::testchain::{leaf_with, Ca};

    #[test]
    fn dates() {
        assert_eq!(date(0), "1970-01-01 00:00 UTC");
        assert_eq!(date(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(date(1_796_415_360), "2026-12-04 20:16 UTC");
        assert_eq!(date(-86_400), "1969-12-31 00:00 UTC");
    }

    #[test]
    fn one_certificate_says_everything_the_issue_asks_for() {
        let ca = Ca::root("Test Root");
        let leaf = leaf_with(&ca, &["mx.example.test", "mail.example.test"], -1, 90);
        let lines = describe(std::slice::from_ref(&leaf), now());
        let text = lines.join("\n");
        assert!(text.starts_with("the server sent 1 certificate:"), "{text}");
        assert!(text.contains("subject CN=mx.example.test"), "{text}");
        assert!(
            text.contains("names DNS:mx.example.test, DNS:mail.example.test"),
            "{text}"
        );
        assert!(text.contains("issuer CN=Test Root"), "{text}");
        assert!(text.contains("key EC P-256 (256 bits)"), "{text}");
        assert!(text.contains("signed with ecdsa-with-SHA256"), "{text}");
        assert!(text.contains("(89 days left)"), "{text}");
        assert!(text.contains(&fingerprint(leaf.as_ref())), "{text}");
        assert_eq!(fingerprint(leaf.as_ref()).len(), 32 * 3 - 1);
    }

    #[test]
    fn a_long_chain_and_hostile_names_are_cut_and_counted() {
        let ca = Ca::root("Test Root");
        let long = format!("a\x1b[31m{}.test", "x".repeat(500));
        let many: Vec<String> = (0..50).map(|i| format!("n{i}.example.test")).collect();
        let mut names: Vec<&str> = many.iter().map(String::as_str).collect();
        names.insert(0, &long);
        let leaf = leaf_with(&ca, &names, -1, 30);
        let chain: Vec<CertificateDer<'static>> = (0..20).map(|_| leaf.clone()).collect();
        let lines = describe(&chain, now());
        assert_eq!(lines.len(), 1 + MAX_SHOWN * 3 + 1);
        assert!(lines[0].contains("20 certificates"));
        assert!(lines
            .last()
            .unwrap()
            .contains("12 more certificates not shown"));
        for l in &lines {
            assert!(!l.contains('\x1b'), "{l}");
            assert!(l.chars().count() < 2 * MAX_FIELD * 2 + 400, "{l}");
        }
        assert!(lines[1].contains("and 41 more"), "{}", lines[1]);
    }

    #[test]
    fn expired_and_not_yet_valid_say_so() {
        let ca = Ca::root("Test Root");
        let old = leaf_with(&ca, &["old.test"], -100, -10);
        let text = describe(&[old], now()).join("\n");
        assert!(text.contains("EXPIRED 10 days ago"), "{text}");
        let early = leaf_with(&ca, &["early.test"], 5, 100);
        let text = describe(&[early], now()).join("\n");
        assert!(text.contains("NOT VALID YET: starts in 5 days"), "{text}");
    }

    #[test]
    fn pem_round_trips() {
        use rustls::pki_types::pem::PemObject;
        let ca = Ca::root("Test Root");
        let chain = vec![leaf_with(&ca, &["a.test"], -1, 9), ca.der.clone()];
        let text = pem(&chain);
        let back: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(text.as_bytes())
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(back, chain);
        assert_eq!(date(1_796_415_360), "2026-12-04 20:16 UTC");
    }
}
