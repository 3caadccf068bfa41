//! Delivery that fails after the message was accepted: which recipients
//! the policy makes undeliverable, where the bounce goes (the envelope
//! sender, never From:), and the RFC 3464 delivery status notification the
//! server writes for it.
//!
//! The server said 250 at the end of DATA and took responsibility for the
//! message; when delivery then fails it can no longer refuse in the
//! session, so it reports the failure to MAIL FROM (RFC 5321, section 6.1).

use std::time::SystemTime;

use mail_builder::headers::content_type::ContentType;
use mail_builder::headers::date::Date;
use mail_builder::headers::raw::Raw;
use mail_builder::mime::MimePart;
use mail_builder::MessageBuilder;

use super::store::{unix_secs, StoredMessage};
use crate::proto::server::{Policy, ReceivedMessage};

/// RFC 3463, section 3.3: X.2.2, mailbox full.
pub const STATUS: &str = "5.2.2";
/// Why delivery failed, in words.
pub const REASON: &str = "mailbox over quota";

/// Where the notification of a failed delivery went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BounceFate {
    /// The sender's domain is local: the notification is in its mailbox,
    /// as message `id`.
    Stored { to: String, id: String },
    /// The sender's domain is elsewhere: the notification would go there.
    NotLocal { to: String },
    /// MAIL FROM:<>: nothing is sent, so that two servers never bounce
    /// bounces back and forth (RFC 5321, section 6.1).
    NullSender,
    /// Each failed recipient's NOTIFY left out FAILURE (RFC 3461, 4.1).
    NotRequested { to: String },
}

/// Recipients accepted at RCPT whose delivery then failed, and where the
/// notification went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bounce {
    pub failed: Vec<String>,
    pub fate: BounceFate,
}

impl Bounce {
    /// The envelope sender the notification is (or would be) sent to.
    pub fn to(&self) -> Option<&str> {
        match &self.fate {
            BounceFate::Stored { to, .. }
            | BounceFate::NotLocal { to }
            | BounceFate::NotRequested { to } => Some(to),
            BounceFate::NullSender => None,
        }
    }

    /// The notification is in the sender's mailbox here.
    pub fn stored(&self) -> bool {
        matches!(self.fate, BounceFate::Stored { .. })
    }

    /// The failed recipients as `<a>, <b>`.
    pub fn recipients(&self) -> String {
        let all: Vec<String> = self.failed.iter().map(|a| format!("<{a}>")).collect();
        all.join(", ")
    }

    /// What happened, for the log and F3: the failure and why.
    pub fn what(&self) -> String {
        format!(
            "{}: 552 {STATUS} {REASON}, after the 250",
            self.recipients()
        )
    }

    /// Where the notification went, for the log, JSON and F3.
    pub fn where_to(&self) -> String {
        match &self.fate {
            BounceFate::Stored { to, id } => {
                format!("bounce from <> to MAIL FROM <{to}>: stored in its mailbox (message {id})")
            }
            BounceFate::NotLocal { to } => format!(
                "bounce from <> would be sent to MAIL FROM <{to}>; this test server never \
                 delivers onward"
            ),
            BounceFate::NullSender => "no bounce: the sender is null (MAIL FROM:<>), and a \
                 bounce is never bounced (RFC 5321, section 6.1)"
                .into(),
            BounceFate::NotRequested { to } => {
                format!("no bounce to <{to}>: the recipients' NOTIFY asked for none (RFC 3461)")
            }
        }
    }
}

/// The reply that delivery to `rcpt` got, as the notification quotes it.
pub fn diagnostic(rcpt: &str) -> String {
    format!("552 {STATUS} <{rcpt}>: {REASON}")
}

/// The bounce for a message just accepted, when `policy` (or a rule, with
/// the recipients in `also`) fails any of its recipients; with the notification to store when the sender is local.
/// `id` names the notification and is asked for only when one is written.
pub(super) fn bounce(
    policy: &Policy,
    also: &[String],
    message: &StoredMessage,
    hostname: &str,
    now: SystemTime,
    id: impl FnOnce() -> String,
) -> Option<(Bounce, Option<StoredMessage>)> {
    let r = &message.received;
    let failed: Vec<&(String, Vec<String>)> = r
        .rcpts
        .iter()
        .filter(|(a, _)| policy.bounces(a) || also.contains(a))
        .collect();
    if failed.is_empty() {
        return None;
    }
    let names = failed.iter().map(|(a, _)| a.clone()).collect();
    let to = r.mail_from.clone();
    let notified: Vec<&(String, Vec<String>)> = failed
        .iter()
        .copied()
        .filter(|(_, params)| wants_failure_notice(params))
        .collect();
    let (fate, dsn) = if to.is_empty() {
        (BounceFate::NullSender, None)
    } else if notified.is_empty() {
        (BounceFate::NotRequested { to }, None)
    } else if !policy.is_local(&to) {
        (BounceFate::NotLocal { to }, None)
    } else {
        let id = id();
        let content = notification(message, &notified, hostname, now, &id);
        let received = ReceivedMessage {
            id: id.clone(),
            client: String::new(),
            helo: hostname.to_string(),
            tls: false,
            auth: None,
            mail_from: String::new(),
            mail_params: Vec::new(),
            rcpts: vec![(to.clone(), Vec::new())],
            content,
        };
        let dsn = StoredMessage::generated(received, hostname, now);
        (BounceFate::Stored { to, id }, Some(dsn))
    };
    Some((
        Bounce {
            failed: names,
            fate,
        },
        dsn,
    ))
}

/// RFC 3461, section 4.1: without NOTIFY, failures are reported.
fn wants_failure_notice(params: &[String]) -> bool {
    params
        .iter()
        .find_map(|p| p.strip_prefix("NOTIFY="))
        .is_none_or(|n| n.split(',').any(|k| k.eq_ignore_ascii_case("FAILURE")))
}

/// The value of a parameter `NAME=value` among `params`.
fn param<'a>(params: &'a [String], name: &str) -> Option<&'a str> {
    params.iter().find_map(|p| {
        p.split_once('=')
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

/// The delivery status notification (RFC 3464) for `failed`, in RFC 6522's
/// multipart/report: what happened in words, the machine-readable
/// `message/delivery-status`, and the returned header fields.
pub fn notification(
    message: &StoredMessage,
    failed: &[&(String, Vec<String>)],
    hostname: &str,
    now: SystemTime,
    id: &str,
) -> Vec<u8> {
    let r = &message.received;
    let report = MimePart::new(
        ContentType::new("multipart/report").attribute("report-type", "delivery-status"),
        vec![
            MimePart::new("text/plain", human_part(message, failed, hostname)),
            MimePart::new(
                ContentType::new("message/delivery-status"),
                status_fields(message, failed, hostname).into_bytes(),
            )
            .transfer_encoding("7bit"),
            returned_headers(&message.delivered),
        ],
    );
    let written = MessageBuilder::new()
        .from((
            "Mail Delivery System".to_string(),
            format!("MAILER-DAEMON@{hostname}"),
        ))
        .to(r.mail_from.as_str())
        .subject("Undelivered Mail Returned to Sender")
        .date(Date::new(unix_secs(now)))
        .message_id(format!("{id}@{hostname}"))
        // RFC 3834, section 5: an automatic reply, never to be answered by one.
        .header("Auto-Submitted", Raw::new("auto-replied"))
        .body(report)
        .write_to_vec();
    // Writing into a Vec fails only when memory does.
    written.unwrap_or_default()
}

/// The part a person reads: what failed, and why it comes to MAIL FROM.
fn human_part(
    message: &StoredMessage,
    failed: &[&(String, Vec<String>)],
    hostname: &str,
) -> String {
    let r = &message.received;
    let mut text = format!(
        "This is the mail system at {hostname}.\r\n\r\n\
         Your message {} was accepted (250 at the end of DATA), but it could\r\n\
         not be delivered to the following recipient(s):\r\n\r\n",
        r.id
    );
    for (rcpt, _) in failed {
        text.push_str(&format!("  <{rcpt}>: {}\r\n", diagnostic(rcpt)));
    }
    let from = match message.headers.from.as_slice() {
        [] => "no From: field".to_string(),
        all => format!("From: {}", all.join(", ")),
    };
    text.push_str(&format!(
        "\r\nHaving accepted the message, the server could no longer refuse it in\r\n\
         the session. It reports the failure to the envelope sender:\r\n\r\n\
         \x20 MAIL FROM:<{}>\r\n\r\n\
         and not to the header field the reader saw:\r\n\r\n\
         \x20 {from}\r\n\r\n\
         The message's header fields are attached.\r\n",
        r.mail_from
    ));
    text
}

/// The `message/delivery-status` fields (RFC 3464, section 2): one group
/// for the message, then one per failed recipient.
fn status_fields(
    message: &StoredMessage,
    failed: &[&(String, Vec<String>)],
    hostname: &str,
) -> String {
    let r = &message.received;
    let mut out = format!("Reporting-MTA: dns; {hostname}\r\n");
    if let Some(envid) = param(&r.mail_params, "ENVID") {
        out.push_str(&format!("Original-Envelope-Id: {envid}\r\n"));
    }
    let arrival = Date::new(unix_secs(message.at)).to_rfc822();
    out.push_str(&format!("Arrival-Date: {arrival}\r\n"));
    for (rcpt, params) in failed {
        out.push_str("\r\n");
        if let Some(orcpt) = param(params, "ORCPT") {
            out.push_str(&format!("Original-Recipient: {orcpt}\r\n"));
        }
        out.push_str(&format!(
            "Final-Recipient: rfc822; {rcpt}\r\nAction: failed\r\nStatus: {STATUS}\r\n\
             Diagnostic-Code: smtp; {}\r\n",
            diagnostic(rcpt)
        ));
    }
    out
}

/// The returned header fields as delivered (RFC 6522's
/// `text/rfc822-headers`), sent as they are: 7bit, or 8bit when a field
/// holds 8-bit bytes.
fn returned_headers(delivered: &[u8]) -> MimePart<'static> {
    let end = memchr::memmem::find(delivered, b"\r\n\r\n")
        .map(|i| i + 2)
        .unwrap_or(delivered.len());
    let headers = delivered[..end].to_vec();
    let encoding = if headers.is_ascii() { "7bit" } else { "8bit" };
    MimePart::new(ContentType::new("text/rfc822-headers"), headers).transfer_encoding(encoding)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use mail_parser::{MessageParser, MimeHeaders};

    use super::*;
    use crate::server::store::sample;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    /// A message from `mail_from` to alice and bob, whose From: is the CEO.
    fn accepted(mail_from: &str, bob_params: &[&str]) -> StoredMessage {
        let mut m = sample(
            mail_from,
            &["alice@example.test", "bob@example.test"],
            "From: The CEO <ceo@bank.example>\r\nTo: Bob <bob@example.test>\r\n\
             Subject: Figures\r\n\r\nThe body stays home.\r\n",
        );
        m.received.mail_params = vec!["ENVID=abc123".into()];
        m.received.rcpts[1].1 = bob_params.iter().map(|p| p.to_string()).collect();
        m
    }

    fn bob_bounces() -> Policy {
        Policy {
            bounce: vec!["Bob@Example.test".into()],
            ..Policy::default()
        }
    }

    fn run(policy: &Policy, m: &StoredMessage) -> Option<(Bounce, Option<StoredMessage>)> {
        bounce(
            policy,
            &[],
            m,
            "demo.example.test",
            at(1_700_000_060),
            || "DSN1".into(),
        )
    }

    #[test]
    fn no_bounce_when_every_recipient_is_delivered() {
        let m = accepted("bounces@example.test", &[]);
        assert!(run(&Policy::default(), &m).is_none());
    }

    #[test]
    fn the_notification_is_an_rfc_3464_report_to_mail_from_not_from() {
        let m = accepted("bounces@example.test", &["ORCPT=rfc822;bob@example.test"]);
        let (b, dsn) = run(&bob_bounces(), &m).unwrap();
        assert_eq!(b.failed, vec!["bob@example.test"]);
        assert_eq!(
            b.fate,
            BounceFate::Stored {
                to: "bounces@example.test".into(),
                id: "DSN1".into()
            }
        );
        assert!(b.stored() && b.to() == Some("bounces@example.test"));
        let dsn = dsn.unwrap();
        // The envelope of the notification: the null sender, to MAIL FROM.
        assert_eq!(dsn.received.mail_from, "");
        assert_eq!(
            dsn.received.rcpts,
            vec![("bounces@example.test".to_string(), vec![])]
        );
        assert!(dsn.delivered.starts_with(b"Return-Path: <>\r\nReceived: by demo.example.test (smtp-workbench) id DSN1\r\n\tfor <bounces@example.test>;"));

        let parsed = MessageParser::default()
            .parse(&dsn.received.content)
            .unwrap();
        let from = parsed.from().unwrap().first().unwrap();
        assert_eq!(from.address(), Some("MAILER-DAEMON@demo.example.test"));
        assert_eq!(from.name(), Some("Mail Delivery System"));
        let to: Vec<_> = parsed
            .to()
            .unwrap()
            .iter()
            .filter_map(|a| a.address())
            .collect();
        assert_eq!(to, vec!["bounces@example.test"], "MAIL FROM, not From:");
        assert_eq!(
            parsed.header_raw("Auto-Submitted").map(str::trim),
            Some("auto-replied")
        );
        assert_eq!(parsed.message_id(), Some("DSN1@demo.example.test"));
        let ct = parsed.content_type().unwrap();
        assert_eq!((ct.ctype(), ct.subtype()), ("multipart", Some("report")));
        assert_eq!(ct.attribute("report-type"), Some("delivery-status"));
        let parts = parsed.parts[0].sub_parts().unwrap();
        let types: Vec<String> = parts
            .iter()
            .map(|&i| {
                let ct = parsed.parts[i as usize].content_type().unwrap();
                format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or(""))
            })
            .collect();
        assert_eq!(
            types,
            [
                "text/plain",
                "message/delivery-status",
                "text/rfc822-headers"
            ]
        );
        let text = |i: usize| {
            String::from_utf8_lossy(parsed.parts[parts[i] as usize].contents()).to_string()
        };
        let human = text(0);
        assert!(
            human.contains("<bob@example.test>: 552 5.2.2 <bob@example.test>: mailbox over quota"),
            "{human}"
        );
        assert!(
            human.contains("MAIL FROM:<bounces@example.test>"),
            "{human}"
        );
        assert!(
            human.contains("From: The CEO <ceo@bank.example>"),
            "{human}"
        );
        let status = text(1);
        for field in [
            "Reporting-MTA: dns; demo.example.test\r\n",
            "Original-Envelope-Id: abc123\r\n",
            "Arrival-Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n\r\n",
            "Original-Recipient: rfc822;bob@example.test\r\n",
            "Final-Recipient: rfc822; bob@example.test\r\n",
            "Action: failed\r\n",
            "Status: 5.2.2\r\n",
            "Diagnostic-Code: smtp; 552 5.2.2 <bob@example.test>: mailbox over quota\r\n",
        ] {
            assert!(status.contains(field), "{field:?} in {status}");
        }
        assert!(
            !status.contains("alice"),
            "only the failed recipient: {status}"
        );
        let headers = text(2);
        assert!(
            headers.starts_with("Return-Path: <bounces@example.test>\r\n"),
            "{headers}"
        );
        assert!(headers.contains("Subject: Figures\r\n"), "{headers}");
        assert!(!headers.contains("The body stays home"), "{headers}");
    }

    #[test]
    fn a_null_sender_gets_no_bounce() {
        let m = accepted("", &[]);
        let (b, dsn) = run(&bob_bounces(), &m).unwrap();
        assert_eq!(b.fate, BounceFate::NullSender);
        assert!(dsn.is_none() && b.to().is_none() && !b.stored());
        assert!(
            b.where_to().contains("RFC 5321, section 6.1"),
            "{}",
            b.where_to()
        );
    }

    #[test]
    fn a_remote_sender_is_told_where_the_bounce_would_go() {
        let m = accepted("x@remote.example", &[]);
        let (b, dsn) = run(&bob_bounces(), &m).unwrap();
        assert_eq!(
            b.fate,
            BounceFate::NotLocal {
                to: "x@remote.example".into()
            }
        );
        assert!(dsn.is_none() && !b.stored());
        assert_eq!(
            b.where_to(),
            "bounce from <> would be sent to MAIL FROM <x@remote.example>; this test server \
             never delivers onward"
        );
    }

    #[test]
    fn notify_without_failure_asks_for_no_bounce() {
        let m = accepted("bounces@example.test", &["NOTIFY=NEVER"]);
        let (b, dsn) = run(&bob_bounces(), &m).unwrap();
        assert!(matches!(b.fate, BounceFate::NotRequested { .. }), "{b:?}");
        assert!(dsn.is_none());
        let m = accepted("bounces@example.test", &["NOTIFY=SUCCESS,FAILURE"]);
        assert!(run(&bob_bounces(), &m).unwrap().0.stored());
    }

    #[test]
    fn eight_bit_header_fields_are_returned_as_8bit() {
        let mut m = accepted("bounces@example.test", &[]);
        m.delivered = "Subject: Grüße\r\n\r\nbody\r\n".as_bytes().to_vec();
        let mut out = Vec::new();
        returned_headers(&m.delivered).write_part(&mut out);
        let out = String::from_utf8(out).unwrap();
        assert!(
            out.contains("Content-Transfer-Encoding: 8bit\r\n\r\nSubject: Grüße\r\n"),
            "{out}"
        );
        assert!(!out.contains("body"), "{out}");
    }
}
