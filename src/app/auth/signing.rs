//! The workbench's DKIM signature: the demo key (`assets/dkim/demo.key`,
//! published for client.example and example.test in the demo zone), the
//! signing domain chosen from From:, and whether the signature still holds
//! after an edit, compared as a verifier would (relaxed canonicalization).
//! Signing reads the clock (the signature's `t=`), so the loop signs, as an
//! effect; `update` only decides what to sign and takes the field in.

use crate::message::dkim::DkimKey;

const DEMO_KEY: &[u8] = include_bytes!("../../../assets/dkim/demo.key");
/// The selector the demo zone publishes the key under.
pub const DEMO_SELECTOR: &str = "demo";
/// The domains whose zones publish the demo key.
const DEMO_DOMAINS: [&str; 2] = ["client.example", "example.test"];

/// The `d=` to sign with for this From: domain, and a note when it cannot
/// be From:'s own: the demo key is published for two domains only.
pub fn choose_domain(from_domain: Option<&str>) -> (String, Option<String>) {
    match from_domain {
        Some(d) if DEMO_DOMAINS.iter().any(|k| k.eq_ignore_ascii_case(d)) => {
            (d.to_ascii_lowercase(), None)
        }
        other => {
            let from = other.unwrap_or("(no From: domain)");
            let note = format!(
                "From: is {from}, but the demo key is published only for client.example and \
                 example.test: signed with d=client.example, which does not align with From: \
                 (F2: DMARC)"
            );
            ("client.example".into(), Some(note))
        }
    }
}

/// The DKIM-Signature field for `message` (CRLF line ends) with the demo
/// key, folded, each line ending in CRLF. The loop calls this; it reads the
/// clock.
pub fn sign_demo(message: &[u8], domain: &str) -> Result<String, String> {
    let key = DkimKey::from_pem(DEMO_KEY).map_err(|e| format!("the demo key: {e}"))?;
    let signed = key
        .sign(message, domain, DEMO_SELECTOR)
        .map_err(|e| e.to_string())?;
    let field_len = signed.len() - message.len();
    String::from_utf8(signed[..field_len].to_vec()).map_err(|e| e.to_string())
}

/// What the workbench signed: its field, and the signed fields and body as
/// a relaxed verifier sees them, to tell when an edit breaks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    pub domain: String,
    /// The DKIM-Signature field, unfolded.
    field: String,
    /// The names in `h=`, lower case.
    names: Vec<String>,
    /// The header fields named in `h=`, every instance, canonicalized.
    fields: Vec<(String, String)>,
    body: Vec<String>,
}

/// Whether a signature still holds for the message as it is now.
#[derive(Debug, PartialEq, Eq)]
pub enum Check {
    Holds,
    /// Its field is no longer in the message.
    Gone,
    /// Why it no longer holds.
    Broken(String),
}

impl Signed {
    /// `field` as `sign_demo` made it for `message`.
    pub fn new(domain: &str, field: &str, message: &[u8]) -> Self {
        let field = unfold(field.trim_end());
        let names: Vec<String> = tag(&field, "h")
            .map(|h| {
                h.split(':')
                    .map(|n| n.trim().to_ascii_lowercase())
                    .collect()
            })
            .unwrap_or_default();
        let (fields, body) = canonical(message, &names);
        Self {
            domain: domain.to_string(),
            field,
            names,
            fields,
            body,
        }
    }

    pub fn check(&self, message: &[u8]) -> Check {
        let ours = header_fields(message)
            .into_iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case("DKIM-Signature"))
            .map(|(name, value)| format!("{name}:{value}"))
            .collect::<Vec<_>>();
        if ours.is_empty() {
            return Check::Gone;
        }
        if !ours.contains(&self.field) {
            return Check::Broken(
                "the DKIM-Signature field itself was edited after signing".into(),
            );
        }
        let (fields, body) = canonical(message, &self.names);
        let mut changed: Vec<String> = Vec::new();
        if body != self.body {
            changed.push("the body".into());
        }
        for name in &self.names {
            let of = |v: &[(String, String)]| {
                v.iter()
                    .filter(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())
                    .collect::<Vec<_>>()
            };
            let what = format!("the signed field {name}");
            if of(&fields) != of(&self.fields) && !changed.contains(&what) {
                changed.push(what);
            }
        }
        if changed.is_empty() {
            return Check::Holds;
        }
        let hash = if body != self.body { "bh=" } else { "b=" };
        Check::Broken(format!(
            "{} changed after signing, so its {hash} hash no longer matches",
            changed.join(" and ")
        ))
    }
}

/// The value of tag `name` in a DKIM-Signature field.
fn tag<'a>(field: &'a str, name: &str) -> Option<&'a str> {
    let value = field.split_once(':')?.1;
    value.split(';').find_map(|t| {
        let (k, v) = t.split_once('=')?;
        (k.trim() == name).then_some(v.trim())
    })
}

/// A folded field on one line (RFC 5322 2.2.3).
fn unfold(text: &str) -> String {
    text.replace("\r\n", "").replace('\n', "")
}

/// Each header field as (name, value), unfolded.
fn header_fields(message: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(message);
    let head = text.split("\r\n\r\n").next().unwrap_or_default();
    let mut out: Vec<(String, String)> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.1.push_str(line);
            }
        } else if let Some((name, value)) = line.split_once(':') {
            out.push((name.to_string(), value.to_string()));
        }
    }
    out
}

/// The fields named in `names` (every instance) and the body, each as
/// relaxed canonicalization has them (RFC 6376 3.4.2, 3.4.4).
fn canonical(message: &[u8], names: &[String]) -> (Vec<(String, String)>, Vec<String>) {
    let squeeze = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let fields = header_fields(message)
        .into_iter()
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), squeeze(&v)))
        .filter(|(n, _)| n != "dkim-signature" && names.contains(n))
        .collect();
    let text = String::from_utf8_lossy(message);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    let mut lines: Vec<String> = body.split("\r\n").map(squeeze).collect();
    while lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    (fields, lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MESSAGE: &[u8] = b"From: a@client.example\r\nSubject: x\r\n\r\nhello\r\n";

    fn signed_message() -> (Signed, Vec<u8>) {
        let field = sign_demo(MESSAGE, "client.example").unwrap();
        let signed = Signed::new("client.example", &field, MESSAGE);
        let mut m = MESSAGE.to_vec();
        let at = m.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 2;
        m.splice(at..at, field.bytes());
        (signed, m)
    }

    #[test]
    fn the_domain_is_from_s_when_the_demo_key_is_published_for_it() {
        assert_eq!(choose_domain(Some("Example.test")).0, "example.test");
        assert_eq!(
            choose_domain(Some("client.example")),
            ("client.example".into(), None)
        );
        let (d, note) = choose_domain(Some("bank.example"));
        assert_eq!(d, "client.example");
        assert!(note.unwrap().contains("From: is bank.example"));
    }

    #[test]
    fn a_signature_holds_until_the_body_or_a_signed_field_changes() {
        let (signed, m) = signed_message();
        assert_eq!(signed.check(&m), Check::Holds);
        // Relaxed: trailing blank lines and runs of spaces do not count.
        let text = String::from_utf8(m.clone()).unwrap();
        let spaced = text.replace("hello\r\n", "hello  \r\n\r\n");
        assert_eq!(signed.check(spaced.as_bytes()), Check::Holds);
        // An unsigned field added: still holds.
        let extra = text.replace("Subject: x\r\n", "Subject: x\r\nX-Note: y\r\n");
        assert_eq!(signed.check(extra.as_bytes()), Check::Holds);
        let body = text.replace("hello", "hellO");
        let Check::Broken(why) = signed.check(body.as_bytes()) else {
            panic!("holds after a body edit")
        };
        assert!(why.starts_with("the body changed after signing"), "{why}");
        assert!(why.contains("bh="), "{why}");
        let subject = text.replace("Subject: x", "Subject: y");
        let Check::Broken(why) = signed.check(subject.as_bytes()) else {
            panic!("holds after a Subject edit")
        };
        assert!(why.contains("the signed field subject"), "{why}");
        assert_eq!(signed.check(MESSAGE), Check::Gone);
    }
}
