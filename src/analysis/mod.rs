//! What smtp-workbench teaches: replies explained from the tables in
//! `assets/`, the envelope compared with the header fields, and checks of a
//! composed message before DATA. No I/O and no terminal: plain values in,
//! findings out, for the TUI and `send` alike.

pub mod auth;
pub mod compare;
pub mod explain;
pub mod lint;
pub mod parts;

use crate::proto::capabilities::Capabilities;
use compare::{EnvelopeSide, HeaderSide};

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Worth knowing (a Reply-To, what Return-Path will say).
    Info,
    /// Probably a mistake, or a difference with consequences.
    Warning,
}

/// One thing the analysis noticed, with a one-line meaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub level: Level,
    /// A short stable tag, for tests and JSON (`blind-copy`, `bare-lf`, …).
    pub tag: &'static str,
    pub text: String,
}

impl Finding {
    fn info(tag: &'static str, text: impl Into<String>) -> Self {
        Self {
            level: Level::Info,
            tag,
            text: text.into(),
        }
    }

    fn warning(tag: &'static str, text: impl Into<String>) -> Self {
        Self {
            level: Level::Warning,
            tag,
            text: text.into(),
        }
    }
}

/// What the workbench and `send` show about a message before it goes: the
/// envelope against its header fields (`headers`, read from `message`),
/// then the checks of its content (`caps`, the server's extensions, once
/// EHLO has told them).
pub fn findings(
    envelope: &EnvelopeSide,
    headers: &HeaderSide,
    message: &[u8],
    caps: Option<&Capabilities>,
) -> Vec<Finding> {
    let mut out = compare::compare(envelope, headers);
    // A missing From: is told once, by the comparison, which also says
    // what servers do about it.
    let no_from = out.iter().any(|f| f.tag == "no-from");
    out.extend(
        lint::lint(message, caps)
            .into_iter()
            .filter(|f| !(no_from && f.tag == "missing-field" && f.text.starts_with("no From:"))),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_from_is_told_of_once() {
        let message = b"To: b@y.example\r\n\r\nhi\r\n";
        let envelope = EnvelopeSide {
            mail_from: Some("a@x.example".into()),
            rcpts: vec!["b@y.example".into()],
        };
        let headers = HeaderSide::from_message(message);
        let f = findings(&envelope, &headers, message, None);
        let told: Vec<_> = f
            .iter()
            .filter(|f| f.text.starts_with("no From:"))
            .collect();
        assert_eq!(told.len(), 1, "{f:?}");
        assert_eq!(told[0].tag, "no-from");
    }

    #[test]
    fn a_bcc_field_is_told_of_once() {
        let message = b"From: a@x.example\r\nTo: b@y.example\r\nBcc: c@y.example\r\n\r\nhi\r\n";
        let envelope = EnvelopeSide {
            mail_from: Some("a@x.example".into()),
            rcpts: vec!["b@y.example".into(), "c@y.example".into()],
        };
        let headers = HeaderSide::from_message(message);
        let all = findings(&envelope, &headers, message, None);
        let told = all.iter().filter(|f| f.tag == "bcc-header").count();
        assert_eq!(told, 1, "{all:#?}");
    }
}
