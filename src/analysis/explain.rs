//! Replies explained: the three digits (RFC 5321, section 4.2), the
//! enhanced status (RFC 3463), likely causes and what to try next. The
//! words are in `assets/replies.toml` and `assets/enhanced.toml`.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::proto::reply::EnhancedStatus;

#[derive(Debug, Default, Deserialize)]
struct CodeEntry {
    meaning: String,
    #[serde(default)]
    causes: Vec<String>,
    #[serde(default)]
    next: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
struct ReplyTable {
    first: BTreeMap<String, String>,
    second: BTreeMap<String, String>,
    codes: BTreeMap<String, CodeEntry>,
}

#[derive(Debug, Default, Deserialize)]
struct EnhancedTable {
    class: BTreeMap<String, String>,
    subject: BTreeMap<String, String>,
    detail: BTreeMap<String, String>,
}

const REPLIES: &str = include_str!("../../assets/replies.toml");
const ENHANCED: &str = include_str!("../../assets/enhanced.toml");

fn replies() -> &'static ReplyTable {
    static T: OnceLock<ReplyTable> = OnceLock::new();
    // The tables are part of the binary; a test proves they parse.
    T.get_or_init(|| toml::from_str(REPLIES).unwrap_or_default())
}

fn enhanced() -> &'static EnhancedTable {
    static T: OnceLock<EnhancedTable> = OnceLock::new();
    T.get_or_init(|| toml::from_str(ENHANCED).unwrap_or_default())
}

/// Everything said about one reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    pub code: u16,
    /// What the code as a whole means (or its first digit, when rare).
    pub meaning: String,
    /// The first and second digits, each explained.
    pub digits: String,
    /// The enhanced status, explained, when the reply had one.
    pub enhanced: Option<String>,
    pub causes: Vec<String>,
    pub next: Vec<String>,
}

impl Explanation {
    /// One line: the code and its meaning.
    pub fn summary(&self) -> String {
        match &self.enhanced {
            Some(e) => format!("{}: {}; {e}", self.code, self.meaning),
            None => format!("{}: {}", self.code, self.meaning),
        }
    }

    /// All of it, a sentence a line.
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![
            format!("{}: {}", self.code, self.meaning),
            self.digits.clone(),
        ];
        if let Some(e) = &self.enhanced {
            out.push(e.clone());
        }
        out.extend(self.causes.iter().map(|c| format!("likely cause: {c}")));
        out.extend(self.next.iter().map(|n| format!("try: {n}")));
        out
    }
}

fn digit(code: u16, i: u32) -> String {
    ((code / 10u16.pow(2 - i)) % 10).to_string()
}

/// Explains a reply code and, when given, its enhanced status.
pub fn explain(code: u16, status: Option<EnhancedStatus>) -> Explanation {
    let t = replies();
    let first = t
        .first
        .get(&digit(code, 0))
        .cloned()
        .unwrap_or_else(|| "not an SMTP reply class".into());
    let second = t
        .second
        .get(&digit(code, 1))
        .cloned()
        .unwrap_or_else(|| "unknown category".into());
    let entry = t.codes.get(&code.to_string());
    Explanation {
        code,
        meaning: entry
            .map(|e| e.meaning.clone())
            .unwrap_or_else(|| first.clone()),
        digits: format!(
            "first digit {}: {first}; second digit {}: {second}",
            digit(code, 0),
            digit(code, 1)
        ),
        enhanced: status.map(explain_enhanced),
        causes: entry.map(|e| e.causes.clone()).unwrap_or_default(),
        next: entry.map(|e| e.next.clone()).unwrap_or_default(),
    }
}

/// `5.7.1: permanent failure, security or policy: delivery not authorised…`
pub fn explain_enhanced(s: EnhancedStatus) -> String {
    let t = enhanced();
    let class = t
        .class
        .get(&s.class.to_string())
        .map(String::as_str)
        .unwrap_or("unknown class");
    let subject = t
        .subject
        .get(&s.subject.to_string())
        .map(String::as_str)
        .unwrap_or("unknown subject");
    match t.detail.get(&format!("{}.{}", s.subject, s.detail)) {
        Some(d) => format!("{s}: {class}, {subject}: {d}"),
        None => format!(
            "{s}: {class}, {subject} (detail {} not in the common list)",
            s.detail
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tables_parse() {
        let r: ReplyTable = toml::from_str(REPLIES).unwrap();
        assert!(r.codes.len() > 30);
        let e: EnhancedTable = toml::from_str(ENHANCED).unwrap();
        assert!(e.detail.len() > 40);
    }

    #[test]
    fn every_code_in_the_table_is_explained_with_its_digits() {
        for code in replies().codes.keys() {
            let code: u16 = code.parse().unwrap();
            let e = explain(code, None);
            assert!(!e.meaning.is_empty(), "{code}");
            assert!(e.digits.starts_with("first digit"), "{code}");
            assert!(
                crate::proto::reply::ReplyCode::new(code).is_some(),
                "{code} is a valid code"
            );
        }
    }

    #[test]
    fn relay_denied_says_what_to_do() {
        let e = explain(
            554,
            EnhancedStatus::parse_prefix(b"5.7.1 x").map(|(s, _)| s),
        );
        let all = e.lines().join("\n");
        assert!(all.contains("relaying refused"), "{all}");
        assert!(all.contains("authenticate"), "{all}");
        assert!(
            all.contains("5.7.1: permanent failure, security or policy: delivery not authorised"),
            "{all}"
        );
    }

    #[test]
    fn a_code_missing_from_the_table_is_explained_digit_by_digit() {
        let e = explain(557, None);
        assert_eq!(
            e.meaning,
            "no: a permanent refusal; repeating the same command will not help"
        );
        assert!(e.digits.contains("second digit 5: about the mail system"));
        let g = explain_enhanced(EnhancedStatus {
            class: 4,
            subject: 7,
            detail: 99,
        });
        assert_eq!(g, "4.7.99: persistent transient failure: may work later, security or policy (detail 99 not in the common list)");
    }

    #[test]
    fn greylisting() {
        let e = explain(450, EnhancedStatus::parse_prefix(b"4.7.1").map(|(s, _)| s));
        assert!(e.causes.iter().any(|c| c.contains("greylisting")));
    }
}
