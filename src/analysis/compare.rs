//! The envelope against the header fields: what the server acts on beside
//! what the reader sees, and what each difference means.

use super::Finding;
use crate::proto::visible::visible;

/// The envelope: MAIL FROM (None for the null sender `<>`) and RCPT TO.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvelopeSide {
    pub mail_from: Option<String>,
    pub rcpts: Vec<String>,
}

/// The address fields of a message's header section, and its subject.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderSide {
    pub from: Vec<String>,
    pub sender: Vec<String>,
    pub reply_to: Vec<String>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub bcc: Vec<String>,
    /// Made visible (no control characters).
    pub subject: Option<String>,
}

/// How the addresses are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressForm {
    /// `alice@example.test`: for comparing with the envelope.
    Bare,
    /// `Alice <alice@example.test>`, made visible: as a reader sees it.
    Shown,
}

impl HeaderSide {
    /// Reads the header fields of a message (only its header section), with
    /// bare addresses.
    pub fn from_message(message: &[u8]) -> Self {
        Self::read(message, AddressForm::Bare)
    }

    /// Reads the header fields of a message (only its header section).
    pub fn read(message: &[u8], form: AddressForm) -> Self {
        let Some(m) = mail_parser::MessageParser::default().parse_headers(message) else {
            return Self::default();
        };
        let list = |a: Option<&mail_parser::Address<'_>>| -> Vec<String> {
            let Some(a) = a else { return Vec::new() };
            a.iter()
                .filter_map(|addr| {
                    let mail = addr.address();
                    match form {
                        AddressForm::Bare => mail.map(str::to_string),
                        AddressForm::Shown => {
                            let mail = mail.unwrap_or_default();
                            let shown = match addr.name() {
                                Some(n) if !n.is_empty() => format!("{n} <{mail}>"),
                                _ => mail.to_string(),
                            };
                            Some(visible(shown.as_bytes()))
                        }
                    }
                })
                .collect()
        };
        Self {
            from: list(m.from()),
            sender: list(m.sender()),
            reply_to: list(m.reply_to()),
            to: list(m.to()),
            cc: list(m.cc()),
            bcc: list(m.bcc()),
            subject: m.subject().map(|s| visible(s.as_bytes())),
        }
    }
}

fn domain(a: &str) -> Option<String> {
    a.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase())
}

fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn contains(list: &[String], a: &str) -> bool {
    list.iter().any(|x| same(x, a))
}

/// Every difference between the envelope and the headers, with its meaning.
pub fn compare(env: &EnvelopeSide, h: &HeaderSide) -> Vec<Finding> {
    let mut out = senders(env, h);
    out.extend(recipients(env, h));
    out
}

/// The envelope sender against From:, Sender: and Reply-To:.
fn senders(env: &EnvelopeSide, h: &HeaderSide) -> Vec<Finding> {
    let mut out = Vec::new();
    match &env.mail_from {
        None => out.push(Finding::info(
            "null-sender",
            "MAIL FROM:<> is the null sender: a bounce or an automatic reply; \
             no bounce can come back for it",
        )),
        Some(s) => out.push(Finding::info(
            "return-path",
            format!("the recipient will see Return-Path: <{s}> (the envelope sender, added on delivery)"),
        )),
    }
    match h.from.as_slice() {
        [] => out.push(Finding::warning(
            "no-from",
            "no From: field: RFC 5322 requires one, and many servers refuse mail without it",
        )),
        [_, _, ..] if h.sender.is_empty() => out.push(Finding::warning(
            "many-from",
            "several From: addresses without a Sender: field (RFC 5322, section 3.6.2)",
        )),
        _ => {}
    }
    if let (Some(env_from), Some(from)) = (&env.mail_from, h.from.first()) {
        match (domain(env_from), domain(from)) {
            (Some(ed), Some(fd)) if ed != fd => out.push(Finding::warning(
                "from-domain",
                format!(
                    "From: domain {fd} differs from the envelope sender's domain {ed}: \
                     SPF checks the envelope domain, DMARC compares the From: domain, \
                     so DMARC passes only if a DKIM signature for {fd} aligns"
                ),
            )),
            _ if !same(env_from, from) => out.push(Finding::info(
                "from-mailbox",
                format!(
                    "From: {from} is not the envelope sender {env_from}: the reader sees \
                     and replies to From:, bounces go to the envelope sender"
                ),
            )),
            _ => {}
        }
    }
    if let Some(s) = h.sender.first() {
        out.push(Finding::info(
            "sender",
            format!("Sender: {s} names who actually sent it, on behalf of From:"),
        ));
    }
    if let Some(r) = h.reply_to.first() {
        out.push(Finding::info(
            "reply-to",
            format!("replies go to Reply-To: {r}, not to From:"),
        ));
    }
    out
}

/// The RCPT TO list against To:, Cc: and Bcc:. A Bcc: field in the content
/// is the message checks' to say (`lint`), once.
fn recipients(env: &EnvelopeSide, h: &HeaderSide) -> Vec<Finding> {
    let mut out = Vec::new();
    for r in &env.rcpts {
        if contains(&h.bcc, r) {
            out.push(Finding::info(
                "bcc",
                format!("<{r}> is in Bcc: and in the envelope: delivered, and hidden only if the Bcc: line is removed before sending"),
            ));
        } else if !contains(&h.to, r) && !contains(&h.cc, r) {
            out.push(Finding::warning(
                "blind-copy",
                format!("<{r}> is only in the envelope: a blind copy (delivered, shown to no one)"),
            ));
        }
    }
    for a in h.to.iter().chain(&h.cc) {
        if !contains(&env.rcpts, a) {
            out.push(Finding::warning(
                "header-only",
                format!("<{a}> is only in the headers: shown to the reader, never delivered by this transaction"),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_fields_bare_or_as_shown() {
        let m = b"From: Boss <ceo@example.test>\r\nTo: a@example.test, \"B\" <b@example.test>\r\n\
                  Subject: hi \x1b[2J\r\n\r\nbody\r\n";
        let bare = HeaderSide::from_message(m);
        assert_eq!(bare.from, ["ceo@example.test"]);
        assert_eq!(bare.to, ["a@example.test", "b@example.test"]);
        let shown = HeaderSide::read(m, AddressForm::Shown);
        assert_eq!(shown.from, ["Boss <ceo@example.test>"]);
        assert_eq!(shown.to, ["a@example.test", "B <b@example.test>"]);
        assert_eq!(shown.subject.as_deref(), Some("hi ␛[2J"));
        assert_eq!(
            HeaderSide::read(b"", AddressForm::Shown),
            HeaderSide::default()
        );
    }

    fn env(from: Option<&str>, rcpts: &[&str]) -> EnvelopeSide {
        EnvelopeSide {
            mail_from: from.map(str::to_string),
            rcpts: rcpts.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn headers(text: &str) -> HeaderSide {
        HeaderSide::from_message(format!("{text}\r\n\r\nbody\r\n").as_bytes())
    }

    fn tags(f: &[Finding]) -> Vec<&'static str> {
        f.iter().map(|f| f.tag).collect()
    }

    /// (MAIL FROM, RCPT TO list, header fields, the findings expected).
    type Case<'a> = (Option<&'a str>, &'a [&'a str], &'a str, &'a [&'a str]);

    #[test]
    fn table() {
        let cases: &[Case] = &[
            // Envelope and headers agree: only what Return-Path will say.
            (
                Some("a@x.example"),
                &["b@y.example"],
                "From: a@x.example\r\nTo: b@y.example",
                &["return-path"],
            ),
            // Case differences are not differences.
            (
                Some("A@X.example"),
                &["B@y.example"],
                "From: a@x.example\r\nTo: b@Y.example",
                &["return-path"],
            ),
            // A hidden recipient.
            (
                Some("a@x.example"),
                &["b@y.example", "c@y.example"],
                "From: a@x.example\r\nTo: b@y.example",
                &["return-path", "blind-copy"],
            ),
            // A recipient shown but never delivered.
            (
                Some("a@x.example"),
                &["b@y.example"],
                "From: a@x.example\r\nTo: b@y.example, d@y.example",
                &["return-path", "header-only"],
            ),
            // Cc counts as shown.
            (
                Some("a@x.example"),
                &["c@y.example"],
                "From: a@x.example\r\nCc: c@y.example",
                &["return-path"],
            ),
            // Bcc in the content.
            (
                Some("a@x.example"),
                &["c@y.example"],
                "From: a@x.example\r\nBcc: c@y.example",
                &["return-path", "bcc"],
            ),
            // From in another domain: SPF against DMARC.
            (
                Some("bounce@mailer.example"),
                &["b@y.example"],
                "From: ceo@bank.example\r\nTo: b@y.example",
                &["return-path", "from-domain"],
            ),
            // Same domain, another mailbox.
            (
                Some("bounce@x.example"),
                &["b@y.example"],
                "From: news@x.example\r\nTo: b@y.example",
                &["return-path", "from-mailbox"],
            ),
            // The null sender.
            (
                None,
                &["b@y.example"],
                "From: mailer-daemon@x.example\r\nTo: b@y.example",
                &["null-sender"],
            ),
            // No From at all.
            (
                Some("a@x.example"),
                &["b@y.example"],
                "To: b@y.example",
                &["return-path", "no-from"],
            ),
            // Several From without Sender; and Reply-To.
            (
                Some("a@x.example"),
                &["b@y.example"],
                "From: a@x.example, e@x.example\r\nReply-To: r@z.example\r\nTo: b@y.example",
                &["return-path", "many-from", "reply-to"],
            ),
            (
                Some("a@x.example"),
                &["b@y.example"],
                "From: a@x.example, e@x.example\r\nSender: a@x.example\r\nTo: b@y.example",
                &["return-path", "sender"],
            ),
        ];
        for (from, rcpts, hdrs, want) in cases {
            let got = compare(&env(*from, rcpts), &headers(hdrs));
            assert_eq!(tags(&got), *want, "{hdrs:?}: {got:#?}");
        }
    }

    #[test]
    fn meanings_name_the_addresses() {
        let got = compare(
            &env(Some("a@x.example"), &["b@y.example", "hidden@y.example"]),
            &headers("From: a@x.example\r\nTo: b@y.example"),
        );
        assert!(got.iter().any(|f| f.text == "<hidden@y.example> is only in the envelope: a blind copy (delivered, shown to no one)"));
    }
}
