//! The message apart from the protocol: the envelope (what the server acts
//! on) and the content (header fields and body, what the reader sees), and
//! turning the content into bytes. No I/O and no clock: the time comes in as
//! an argument.

pub mod dkim;
pub mod eml;

use std::borrow::Cow;
use std::time::{SystemTime, UNIX_EPOCH};

use mail_builder::headers::address::Address as MbAddress;
use mail_builder::headers::date::Date;
use mail_builder::headers::raw::Raw;
use mail_builder::MessageBuilder;

use crate::proto::command::{Address, Param, ReversePath};

/// MAIL FROM and the RCPT TO list, with their parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub mail_from: ReversePath,
    pub mail_params: Vec<Param>,
    pub rcpts: Vec<(Address, Vec<Param>)>,
}

/// Header fields as the user gave them; `None` or empty means "not given".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderFields {
    pub from: Option<String>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub subject: Option<String>,
    /// Other fields, `(name, value)`, written as given.
    pub extra: Vec<(String, String)>,
}

/// What only the caller can know: the time and a unique id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// Seconds since the Unix epoch, for the Date field.
    pub unix_time: i64,
    /// The Message-ID, without angle brackets.
    pub message_id: String,
}

impl Stamp {
    /// The stamp of a message made at `at`: a Message-ID unique without a
    /// counter (the time to the nanosecond and `unique`, the process id, at
    /// `domain`), so two runs a moment apart never share one.
    pub fn new(at: SystemTime, unique: u32, domain: &str) -> Self {
        let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
        let secs = since.as_secs();
        Self {
            unix_time: i64::try_from(secs).unwrap_or(0),
            message_id: format!("{secs}.{}.{unique}@{domain}", since.subsec_nanos()),
        }
    }

    /// The Date field's value, as `compose` writes it (RFC 5322 3.3).
    pub fn date(&self) -> String {
        Date::new(self.unix_time).to_rfc822()
    }
}

/// A header field that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    #[error("header {0:?} has no ':' between name and value (write it as \"Name: value\")")]
    NoColon(String),
    #[error("header name {0:?} may only hold printable ASCII without spaces or ':'")]
    BadName(String),
    #[error("header {name} contains a line break; give one field per --header")]
    LineBreak { name: String },
}

/// The content in bytes, and what was filled in for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composed {
    pub bytes: Vec<u8>,
    /// Sentences for the transcript: which fields were defaulted, and how.
    pub notes: Vec<String>,
}

/// Parses `Name: value` as given to `--header`.
pub fn parse_header(s: &str) -> Result<(String, String), MessageError> {
    let (name, value) = s
        .split_once(':')
        .ok_or_else(|| MessageError::NoColon(s.to_string()))?;
    let name = name.trim();
    let ok = !name.is_empty() && name.bytes().all(|b| (33..=126).contains(&b) && b != b':');
    if !ok {
        return Err(MessageError::BadName(name.to_string()));
    }
    let value = value.trim();
    if value.contains(['\r', '\n']) {
        return Err(MessageError::LineBreak {
            name: name.to_string(),
        });
    }
    Ok((name.to_string(), value.to_string()))
}

/// Splits `Display Name <addr@example>` into its parts; a bare address has no name.
fn mailbox(s: &str) -> MbAddress<'static> {
    let s = s.trim();
    if let Some((name, rest)) = s.rsplit_once('<') {
        if let Some(addr) = rest.strip_suffix('>') {
            let name = name.trim().trim_matches('"').trim();
            let name = (!name.is_empty()).then(|| Cow::Owned(name.to_string()));
            return MbAddress::new_address(name, addr.trim().to_string());
        }
    }
    MbAddress::new_address(None::<Cow<'static, str>>, s.to_string())
}

/// Builds the message content. Where From or To is not given it takes the
/// envelope's values, and says so in `notes`: the two are separate things,
/// and the transcript must not hide that one was copied from the other.
pub fn compose(
    envelope: &Envelope,
    fields: &HeaderFields,
    body: &str,
    stamp: &Stamp,
) -> Result<Composed, MessageError> {
    compose_parts(envelope, fields, body, &Parts::default(), stamp)
}

/// What goes beside the text body: an HTML alternative and attachments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parts {
    pub html: Option<String>,
    pub attachments: Vec<Attachment>,
}

/// A file to attach: its name as the recipient sees it, its content type
/// and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// As `compose`, with an HTML alternative (multipart/alternative) and
/// attachments (multipart/mixed) where `parts` has them.
pub fn compose_parts(
    envelope: &Envelope,
    fields: &HeaderFields,
    body: &str,
    parts: &Parts,
    stamp: &Stamp,
) -> Result<Composed, MessageError> {
    let mut notes = Vec::new();
    for (name, value) in &fields.extra {
        if value.contains(['\r', '\n']) {
            return Err(MessageError::LineBreak { name: name.clone() });
        }
    }
    let from = match (&fields.from, envelope.mail_from.address()) {
        (Some(f), _) => Some(f.clone()),
        (None, Some(a)) => {
            notes.push(format!(
                "header From: not given; using the envelope sender {a}"
            ));
            Some(a.to_string())
        }
        (None, None) => {
            notes.push(
                "header From: not given and the envelope sender is <>; the message has no From"
                    .to_string(),
            );
            None
        }
    };
    let to: Vec<String> = if fields.to.is_empty() {
        let rcpts: Vec<String> = envelope.rcpts.iter().map(|(a, _)| a.to_string()).collect();
        if !rcpts.is_empty() {
            notes.push(format!(
                "header To: not given; using the envelope recipients {}",
                rcpts.join(", ")
            ));
        }
        rcpts
    } else {
        fields.to.clone()
    };

    let mut b = MessageBuilder::new();
    if let Some(from) = &from {
        b = b.from(mailbox(from));
    }
    if !to.is_empty() {
        b = b.to(MbAddress::new_list(to.iter().map(|t| mailbox(t)).collect()));
    }
    if !fields.cc.is_empty() {
        b = b.cc(MbAddress::new_list(
            fields.cc.iter().map(|t| mailbox(t)).collect(),
        ));
    }
    if let Some(subject) = &fields.subject {
        b = b.subject(subject.clone());
    }
    let has = |n: &str| fields.extra.iter().any(|(k, _)| k.eq_ignore_ascii_case(n));
    if !has("Date") {
        b = b.date(Date::new(stamp.unix_time));
    }
    if !has("Message-ID") {
        b = b.message_id(stamp.message_id.clone());
    }
    for (name, value) in &fields.extra {
        b = b.header(name.clone(), Raw::new(value.clone()));
    }
    b = b.text_body(body.to_string());
    if let Some(html) = &parts.html {
        b = b.html_body(html.clone());
    }
    for a in &parts.attachments {
        b = b.attachment(
            a.content_type.clone(),
            a.name.clone(),
            mail_builder::mime::BodyPart::Binary(Cow::Owned(a.bytes.clone())),
        );
    }
    let bytes = b.write_to_vec().unwrap_or_default();
    Ok(Composed { bytes, notes })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope() -> Envelope {
        Envelope {
            mail_from: ReversePath::parse("sender@client.example").unwrap(),
            mail_params: vec![],
            rcpts: vec![
                (Address::new("alice@example.test").unwrap(), vec![]),
                (Address::new("bob@example.test").unwrap(), vec![]),
            ],
        }
    }

    fn stamp() -> Stamp {
        Stamp {
            unix_time: 1_700_000_000,
            message_id: "1.2@client.example".into(),
        }
    }

    #[test]
    fn a_stamp_names_the_time_the_process_and_the_domain() {
        let at = UNIX_EPOCH + std::time::Duration::new(1_700_000_000, 42);
        let s = Stamp::new(at, 7, "client.example");
        assert_eq!(s.unix_time, 1_700_000_000);
        assert_eq!(s.message_id, "1700000000.42.7@client.example");
        assert_eq!(s.date(), "Tue, 14 Nov 2023 22:13:20 +0000");
    }

    fn text(c: &Composed) -> String {
        String::from_utf8(c.bytes.clone()).unwrap()
    }

    #[test]
    fn defaults_come_from_the_envelope_and_say_so() {
        let c = compose(&envelope(), &HeaderFields::default(), "hi\n", &stamp()).unwrap();
        let t = text(&c);
        assert!(t.contains("From: <sender@client.example>\r\n"), "{t}");
        assert!(
            t.contains("To: <alice@example.test>, <bob@example.test>\r\n"),
            "{t}"
        );
        assert!(t.contains("Message-ID: <1.2@client.example>\r\n"), "{t}");
        assert!(t.contains("Date: Tue, 14 Nov 2023"), "{t}");
        assert_eq!(c.notes.len(), 2);
        assert!(c.notes[0].contains("envelope sender"));
    }

    #[test]
    fn headers_given_differ_from_the_envelope() {
        let fields = HeaderFields {
            from: Some("Boss <ceo@example.test>".into()),
            to: vec!["everyone@example.test".into()],
            cc: vec!["cc@example.test".into()],
            subject: Some("Quarterly".into()),
            extra: vec![("X-Test".into(), "1".into())],
        };
        let c = compose(&envelope(), &fields, ".leading dot\n", &stamp()).unwrap();
        let t = text(&c);
        assert!(t.contains("From: \"Boss\" <ceo@example.test>\r\n"), "{t}");
        assert!(t.contains("To: <everyone@example.test>\r\n"), "{t}");
        assert!(t.contains("Cc: <cc@example.test>\r\n"), "{t}");
        assert!(t.contains("Subject: Quarterly\r\n"), "{t}");
        assert!(t.contains("X-Test: 1\r\n"), "{t}");
        assert!(t.contains("\r\n\r\n.leading dot"), "{t}");
        assert!(c.notes.is_empty());
    }

    #[test]
    fn header_parsing() {
        assert_eq!(
            parse_header("X-A: b c").unwrap(),
            ("X-A".to_string(), "b c".to_string())
        );
        assert!(parse_header("no colon").is_err());
        assert!(parse_header("Bad Name: x").is_err());
        assert!(parse_header(": x").is_err());
        assert!(parse_header("X: a\r\nBcc: evil").is_err());
    }

    #[test]
    fn null_sender_leaves_from_out() {
        let mut e = envelope();
        e.mail_from = ReversePath::Null;
        let c = compose(&e, &HeaderFields::default(), "x", &stamp()).unwrap();
        assert!(!text(&c).contains("From:"));
        assert!(c.notes[0].contains("<>"));
    }
}
