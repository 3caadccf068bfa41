//! What the built-in server keeps: each accepted message with its envelope,
//! in a store bounded by count and bytes, and optionally as Maildir files.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::SystemTime;

use super::bounce::Bounce;
use crate::analysis::auth::{authentication_results, Verdict};
use crate::analysis::compare::{AddressForm, HeaderSide};
use crate::proto::server::ReceivedMessage;

/// Seconds since the Unix epoch, for Date: fields.
pub(super) fn unix_secs(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// How much the in-memory store holds before it drops the oldest message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreLimits {
    pub max_messages: usize,
    pub max_bytes: usize,
}

impl Default for StoreLimits {
    fn default() -> Self {
        Self {
            max_messages: 1000,
            max_bytes: 64 * 1024 * 1024,
        }
    }
}

/// An accepted message as delivered: `Return-Path:`, the
/// `Authentication-Results:` of the server's checks and `Received:`
/// prepended to the content, as an MTA does on final delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    pub received: ReceivedMessage,
    pub at: SystemTime,
    pub delivered: Vec<u8>,
    /// The header fields as the reader sees them, beside the envelope.
    pub headers: HeaderSide,
    /// Recipients whose delivery failed after the message was accepted,
    /// and where the notification went.
    pub bounce: Option<Bounce>,
    /// SPF, DKIM, DMARC and iprev as the server judged them on receipt;
    /// empty when it judged nothing.
    pub verdicts: Vec<Verdict>,
}

impl StoredMessage {
    /// A message a client sent, as delivered.
    pub fn new(received: ReceivedMessage, hostname: &str, at: SystemTime) -> Self {
        // RFC 3848: the "with" keyword says TLS (S) and AUTH (A).
        let with = match (received.tls, received.auth.is_some()) {
            (false, false) => "ESMTP",
            (true, false) => "ESMTPS",
            (false, true) => "ESMTPA",
            (true, true) => "ESMTPSA",
        };
        let by = format!(
            "from {} ({})\r\n\tby {hostname} (smtp-workbench) with {with}",
            received.helo, received.client
        );
        Self::stamped(received, &by, at)
    }

    /// A message the server wrote itself (a bounce): received from no
    /// client, so its `Received:` names only this server.
    pub fn generated(received: ReceivedMessage, hostname: &str, at: SystemTime) -> Self {
        Self::stamped(received, &format!("by {hostname} (smtp-workbench)"), at)
    }

    /// `received`'s content with `Return-Path:` and a `Received:` whose
    /// first clauses are `by`.
    fn stamped(received: ReceivedMessage, by: &str, at: SystemTime) -> Self {
        let date = mail_builder::headers::date::Date::new(unix_secs(at)).to_rfc822();
        let for_clause = match received.rcpts.as_slice() {
            [(one, _)] => format!("\r\n\tfor <{one}>"),
            _ => String::new(),
        };
        let stamp = format!(
            "Return-Path: <{}>\r\nReceived: {by} id {}{for_clause};\r\n\t{date}\r\n",
            received.mail_from, received.id
        );
        // One allocation for the stamp and the content.
        let mut delivered = Vec::with_capacity(stamp.len() + received.content.len());
        delivered.extend_from_slice(stamp.as_bytes());
        delivered.extend_from_slice(&received.content);
        let headers = HeaderSide::read(&received.content, AddressForm::Shown);
        Self {
            received,
            at,
            delivered,
            headers,
            bounce: None,
            verdicts: Vec::new(),
        }
    }

    /// Keeps the server's verdicts and adds their `Authentication-Results:`
    /// (RFC 8601, `hostname` its authserv-id) below `Return-Path:`, at the
    /// top of what the receiver added.
    /// Any `Authentication-Results:` that already claims this server's
    /// authserv-id came from the client, a forgery: it is removed first
    /// (RFC 8601, section 5), so the reader sees only the server's own.
    pub fn judged(&mut self, hostname: &str, verdicts: Vec<Verdict>) {
        let field = authentication_results(hostname, &verdicts);
        // One copy: Return-Path, the field, then the rest without forgeries.
        // Return-Path, the line this server wrote first, ends in CRLF.
        let at = memchr::memchr(b'\n', &self.delivered).map_or(0, |i| i + 1);
        let mut out = Vec::with_capacity(self.delivered.len() + field.len());
        out.extend_from_slice(&self.delivered[..at]);
        out.extend_from_slice(field.as_bytes());
        without_forged_results(&self.delivered[at..], hostname, &mut out);
        self.delivered = out;
        self.verdicts = verdicts;
    }

    pub fn size(&self) -> usize {
        self.delivered.len()
    }
}

/// `message` onto `out` without the `Authentication-Results:` fields
/// (folded lines included) whose authserv-id is `hostname`; the body is
/// left as it is.
fn without_forged_results(message: &[u8], hostname: &str, out: &mut Vec<u8>) {
    static BLANK_LINE: LazyLock<memchr::memmem::Finder<'static>> =
        LazyLock::new(|| memchr::memmem::Finder::new(b"\r\n\r\n"));
    let end = BLANK_LINE.find(message).map_or(message.len(), |i| i + 2);
    let (head, body) = message.split_at(end);
    // Kept lines are copied a run at a time: most messages carry no
    // forgery, and are copied in one piece.
    let (mut dropping, mut kept_from, mut at) = (false, 0, 0);
    while at < head.len() {
        let end = memchr::memchr(b'\n', &head[at..]).map_or(head.len(), |i| at + i + 1);
        let line = &head[at..end];
        let continued = line.first().is_some_and(|b| matches!(b, b' ' | b'\t'));
        if !continued {
            let drop = is_results_of(line, hostname);
            if drop && !dropping {
                out.extend_from_slice(&head[kept_from..at]);
            } else if !drop && dropping {
                kept_from = at;
            }
            dropping = drop;
        }
        at = end;
    }
    if !dropping {
        out.extend_from_slice(&head[kept_from..]);
    }
    out.extend_from_slice(body);
}

/// Whether a field's first line is `Authentication-Results:` naming `hostname`
/// as its authserv-id (the first token, before `;`).
fn is_results_of(line: &[u8], hostname: &str) -> bool {
    if !line.first().is_some_and(|b| b.eq_ignore_ascii_case(&b'a')) {
        return false;
    }
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return false;
    };
    let (name, value) = (&line[..colon], &line[colon + 1..]);
    if !name
        .trim_ascii()
        .eq_ignore_ascii_case(b"Authentication-Results")
    {
        return false;
    }
    let value = String::from_utf8_lossy(value);
    let id = value
        .split(';')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .next()
        .unwrap_or("");
    id.eq_ignore_ascii_case(hostname)
}

/// A message as the server's tests need one: from `mail_from` to `rcpts`
/// over a plain session from client.example, at a fixed time.
#[cfg(test)]
pub(crate) fn sample(mail_from: &str, rcpts: &[&str], content: &str) -> StoredMessage {
    StoredMessage::new(
        ReceivedMessage {
            id: "Q1".into(),
            client: "127.0.0.1".into(),
            helo: "client.example".into(),
            tls: false,
            auth: None,
            mail_from: mail_from.into(),
            mail_params: vec![],
            rcpts: rcpts.iter().map(|r| (r.to_string(), vec![])).collect(),
            content: content.as_bytes().to_vec(),
        },
        "demo.example.test",
        SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000),
    )
}

/// The messages the server accepted, newest last, bounded.
#[derive(Debug)]
pub struct Store {
    limits: StoreLimits,
    messages: VecDeque<Arc<StoredMessage>>,
    bytes: usize,
    accepted: u64,
    maildir: Option<PathBuf>,
}

static MAILDIR_COUNTER: AtomicU64 = AtomicU64::new(0);

impl Store {
    /// A store; with a Maildir, its `tmp`, `new` and `cur` are created now so
    /// that a bad path fails at start, not at the first message.
    pub fn new(limits: StoreLimits, maildir: Option<PathBuf>) -> io::Result<Self> {
        if let Some(dir) = &maildir {
            for sub in ["tmp", "new", "cur"] {
                std::fs::create_dir_all(dir.join(sub))?;
            }
        }
        Ok(Self {
            limits,
            messages: VecDeque::new(),
            bytes: 0,
            accepted: 0,
            maildir,
        })
    }

    /// Keeps a message a client sent (dropping the oldest past the limits)
    /// and writes it to the Maildir.
    pub fn add(&mut self, message: StoredMessage) -> io::Result<Arc<StoredMessage>> {
        let message = self.keep(message)?;
        self.accepted += 1;
        Ok(message)
    }

    /// Keeps a message the server wrote itself (a bounce to a local
    /// sender), like `add` but not counted as accepted.
    pub fn add_notification(&mut self, message: StoredMessage) -> io::Result<Arc<StoredMessage>> {
        self.keep(message)
    }

    fn keep(&mut self, message: StoredMessage) -> io::Result<Arc<StoredMessage>> {
        if let Some(dir) = &self.maildir {
            write_maildir(dir, &message)?;
        }
        let message = Arc::new(message);
        self.bytes += message.size();
        self.messages.push_back(message.clone());
        while self.messages.len() > self.limits.max_messages
            || (self.bytes > self.limits.max_bytes && self.messages.len() > 1)
        {
            if let Some(old) = self.messages.pop_front() {
                self.bytes -= old.size();
            }
        }
        Ok(message)
    }

    pub fn messages(&self) -> impl Iterator<Item = &Arc<StoredMessage>> {
        self.messages.iter()
    }

    pub fn len(&self) -> usize {
        self.messages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// Every message accepted from a client since the start, kept or not.
    pub fn accepted(&self) -> u64 {
        self.accepted
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

/// Writes into `tmp/`, then renames into `new/`: a reader of `new/` never
/// sees half a message. The name is made here from numbers only, so nothing
/// is ever written outside `dir`.
fn write_maildir(dir: &Path, message: &StoredMessage) -> io::Result<()> {
    let n = MAILDIR_COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = message
        .at
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let name = format!(
        "{}.M{}P{}Q{}.smtp-workbench",
        t.as_secs(),
        t.subsec_micros(),
        std::process::id(),
        n
    );
    let tmp = dir.join("tmp").join(&name);
    let new = dir.join("new").join(&name);
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&message.delivered)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &new)
}

#[cfg(test)]
mod tests {

    /// A client's Authentication-Results in this server's name is a
    /// forgery (RFC 8601, section 5): gone, folded lines and all; another
    /// server's stays, and so does the body. Forgeries first, last, one
    /// after another and none at all.
    #[test]
    fn forged_results_in_the_servers_name_are_removed() {
        const FORGED: &str = "Authentication-Results: demo.example.test; dkim=pass\r\n \
            header.d=bank.example\r\n";
        const OTHER: &str = "authentication-results: other.example; spf=pass\r\n";
        const BODY: &str = "\r\nAuthentication-Results: demo.example.test; in the body\r\n";
        let from = "From: a@client.example\r\n";
        let subject = "Subject: hi\r\n";
        let table: [(Vec<&str>, Vec<&str>); 5] = [
            (
                vec![from, FORGED, OTHER, subject],
                vec![from, OTHER, subject],
            ),
            (vec![FORGED, from, subject], vec![from, subject]),
            (vec![from, subject, FORGED], vec![from, subject]),
            (
                vec![from, FORGED, FORGED, subject, FORGED, OTHER],
                vec![from, subject, OTHER],
            ),
            (vec![from, OTHER, subject], vec![from, OTHER, subject]),
        ];
        for (head, want) in table {
            let message = head.concat() + BODY;
            let mut out = Vec::new();
            without_forged_results(message.as_bytes(), "Demo.Example.Test", &mut out);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                want.concat() + BODY,
                "{message:?}"
            );
        }
    }

    use super::*;

    fn message(id: &str, size: usize) -> StoredMessage {
        StoredMessage::new(
            ReceivedMessage {
                id: id.into(),
                client: "127.0.0.1".into(),
                helo: "c.example".into(),
                tls: true,
                auth: Some("alice".into()),
                mail_from: "a@c.example".into(),
                mail_params: vec![],
                rcpts: vec![("alice@example.test".into(), vec![])],
                content: format!(
                    "From: Boss <ceo@example.test>\r\nTo: x@example.test\r\nCc: y@example.test\r\n\
                     Subject: s\r\n\r\n{}\r\n",
                    "b".repeat(size)
                )
                .into_bytes(),
            },
            "demo.example.test",
            SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000),
        )
    }

    #[test]
    fn delivered_form_has_return_path_and_received() {
        let m = message("Q1", 1);
        let text = String::from_utf8(m.delivered.clone()).unwrap();
        assert!(text.starts_with("Return-Path: <a@c.example>\r\nReceived: from c.example (127.0.0.1)\r\n\tby demo.example.test (smtp-workbench) with ESMTPSA id Q1\r\n\tfor <alice@example.test>;"), "{text}");
        assert_eq!(m.headers.from, vec!["Boss <ceo@example.test>"]);
        assert_eq!(m.headers.to, vec!["x@example.test"]);
        assert_eq!(m.headers.cc, vec!["y@example.test"]);
    }

    #[test]
    fn verdicts_go_below_return_path_above_received() {
        use crate::analysis::auth::{Method, Outcome};
        let mut m = message("Q1", 1);
        m.judged(
            "demo.example.test",
            vec![Verdict {
                method: Method::Spf,
                result: Outcome::Pass,
                domain: "c.example".into(),
                reason: String::new(),
                sentence: "".into(),
            }],
        );
        let text = String::from_utf8(m.delivered.clone()).unwrap();
        assert!(
            text.starts_with(
                "Return-Path: <a@c.example>\r\nAuthentication-Results: demo.example.test;\r\n\
                 \tspf=pass smtp.mailfrom=c.example\r\nReceived: from c.example"
            ),
            "{text}"
        );
        assert_eq!(m.verdicts.len(), 1);
        assert!(
            text.ends_with("\r\n\r\nb\r\n"),
            "the content follows, unchanged"
        );
    }

    #[test]
    fn bounded_by_count_and_bytes() {
        let mut s = Store::new(
            StoreLimits {
                max_messages: 3,
                max_bytes: 100_000,
            },
            None,
        )
        .unwrap();
        for i in 0..10 {
            s.add(message(&format!("Q{i}"), 10)).unwrap();
        }
        assert_eq!(s.len(), 3);
        assert_eq!(s.accepted(), 10);
        assert_eq!(s.messages().next().unwrap().received.id, "Q7");
        let mut s = Store::new(
            StoreLimits {
                max_messages: 100,
                max_bytes: 5_000,
            },
            None,
        )
        .unwrap();
        for i in 0..10 {
            s.add(message(&format!("Q{i}"), 2_000)).unwrap();
        }
        assert!(
            s.bytes() <= 5_000 && s.len() == 2,
            "{} {}",
            s.bytes(),
            s.len()
        );
    }

    #[test]
    fn maildir_files_land_in_new_only() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::new(StoreLimits::default(), Some(dir.path().to_path_buf())).unwrap();
        s.add(message("Q1", 5)).unwrap();
        s.add(message("Q2", 5)).unwrap();
        let new: Vec<_> = std::fs::read_dir(dir.path().join("new")).unwrap().collect();
        assert_eq!(new.len(), 2);
        assert_eq!(
            std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
            0
        );
        let entries: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(entries.len(), 3, "{entries:?}");
    }
}
