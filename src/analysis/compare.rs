//! The envelope against the header fields: what the server acts on beside
//! what the reader sees, and what each difference means.

use std::sync::LazyLock;

use mail_parser::{HeaderName, MessageParser};

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

/// A parser of the fields [`HeaderSide`] holds; the others (Received,
/// Date, DKIM-Signature, …) are skipped, not parsed: the server reads
/// every message it takes with it.
static FIELDS: LazyLock<MessageParser> = LazyLock::new(|| {
    [
        HeaderName::From,
        HeaderName::Sender,
        HeaderName::ReplyTo,
        HeaderName::To,
        HeaderName::Cc,
        HeaderName::Bcc,
    ]
    .into_iter()
    .fold(MessageParser::new(), MessageParser::header_address)
    .header_text(HeaderName::Subject)
    .default_header_ignore()
});

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
        Self::read_with(&FIELDS, message, form)
    }

    fn read_with(parser: &MessageParser, message: &[u8], form: AddressForm) -> Self {
        let Some(m) = parser.parse_headers(message) else {
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

/// Addresses joined by commas, or "(none)".
pub fn list_or_none(items: &[String]) -> String {
    let mut out = String::new();
    push_list_or_none(&mut out, items);
    out
}

/// [`list_or_none`] onto `out`, for a line written in one buffer.
pub fn push_list_or_none(out: &mut String, items: &[String]) {
    if items.is_empty() {
        out.push_str("(none)");
    }
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(item);
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

    /// Skipping the other fields reads what parsing them all reads:
    /// encoded words, folded lines, groups, repeated and broken fields, a
    /// header with no body, none at all.
    #[test]
    fn the_fields_parser_reads_what_the_full_parser_reads() {
        let messages: &[&[u8]] = &[
            b"From: Boss <ceo@example.test>\r\nTo: a@example.test\r\n\r\nbody\r\n",
            b"Received: from a (b [192.0.2.1])\r\n\tby c; Thu, 1 Jan 2026 00:00:00 +0000\r\n\
              Date: Thu, 1 Jan 2026 00:00:00 +0000\r\nMessage-ID: <1@x>\r\n\
              From: =?utf-8?q?B=C3=A9a?= <bea@example.test>\r\nSubject: =?utf-8?b?aMOp?=\r\n\
              \r\nbody\r\n",
            b"To: friends: a@example.test, b@example.test;\r\nCc: <c@example.test>,\r\n \
              d@example.test\r\nBcc: e@example.test\r\nReply-To: r@example.test\r\n\
              Sender: s@example.test\r\n\r\n",
            b"From: a@example.test\r\nFrom: b@example.test\r\nSubject: one\r\n\
              Subject: two\r\n\r\n",
            b"DKIM-Signature: v=1; a=rsa-sha256; d=example.test;\r\n b=abc\r\n\
              a line with no colon\r\nFrom: late@example.test\r\nSubject: hi\x1b[2J\r\n\r\n",
            b"From: only@example.test",
            b"",
        ];
        for m in messages {
            for form in [AddressForm::Bare, AddressForm::Shown] {
                assert_eq!(
                    HeaderSide::read(m, form),
                    HeaderSide::read_with(&MessageParser::default(), m, form),
                    "{:?}",
                    String::from_utf8_lossy(m)
                );
            }
        }
        let read = HeaderSide::read(messages[2], AddressForm::Bare);
        assert_eq!(read.to, ["a@example.test", "b@example.test"], "{read:?}");
        assert_eq!(read.cc, ["c@example.test", "d@example.test"]);
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
