//! A message file (`.eml`) taken apart into its header fields and its body,
//! so that fields can be replaced one by one (`send --message` with the
//! header flags, the workbench's composer) and put back together. The body
//! is kept byte for byte (a MIME structure stays whole); only line ends are
//! made CRLF. mail-parser finds the fields and where the body starts.

use mail_parser::MessageParser;

/// A message file that is not a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmlError {
    #[error("not a message: no header fields at the start (a message begins with lines like \"From: …\")")]
    NoHeaders,
    #[error("the file is larger than {limit} bytes")]
    TooLarge { limit: usize },
}

/// The largest file taken: far above what servers accept, so that a wrong
/// file (a disk image) is refused before it is read into the composer.
pub const MAX_EML: usize = 64 * 1024 * 1024;

/// Header fields in order, `(name, value)`; a folded value keeps its
/// continuation lines (joined with `\n`); and the body's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eml {
    pub fields: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Eml {
    pub fn parse(bytes: &[u8]) -> Result<Self, EmlError> {
        if bytes.len() > MAX_EML {
            return Err(EmlError::TooLarge { limit: MAX_EML });
        }
        let message = MessageParser::default()
            .parse(bytes)
            .ok_or(EmlError::NoHeaders)?;
        let root = message.root_part();
        let fields: Vec<(String, String)> = root
            .headers
            .iter()
            .map(|h| {
                let raw = bytes
                    .get(h.offset_start as usize..h.offset_end as usize)
                    .unwrap_or_default();
                (h.name.as_str().to_string(), unfold_raw(raw))
            })
            .collect();
        if fields.is_empty() {
            return Err(EmlError::NoHeaders);
        }
        let body = bytes
            .get(root.offset_body as usize..)
            .unwrap_or_default()
            .to_vec();
        Ok(Eml { fields, body })
    }

    /// The first value of a field, by name (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Replaces every field of this name by one with `value`, where the
    /// first one stood (or at the end, when there was none).
    pub fn set(&mut self, name: &str, value: &str) {
        let at = self
            .fields
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(name));
        self.fields.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        let field = (name.to_string(), value.to_string());
        match at {
            Some(i) => self.fields.insert(i.min(self.fields.len()), field),
            None => self.fields.push(field),
        }
    }

    /// The header fields as composer lines: `Name: value`, a folded value
    /// on its own continuation lines.
    pub fn header_lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (name, value) in &self.fields {
            let mut lines = value.split('\n');
            out.push(format!("{name}: {}", lines.next().unwrap_or("")));
            out.extend(lines.map(str::to_string));
        }
        out
    }

    /// The body as text for the composer (invalid UTF-8 shown as U+FFFD).
    pub fn body_text(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        text.replace("\r\n", "\n")
    }

    /// The message again: the fields, a blank line, the body; CRLF line ends.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.body.len() + 1024);
        for line in self.header_lines() {
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&crlf(&self.body));
        if !out.ends_with(b"\r\n") {
            out.extend_from_slice(b"\r\n");
        }
        out
    }
}

/// A raw field value (after the colon, up to and with its line end):
/// the leading blank and the final line end dropped, continuation lines
/// kept with their leading white space, joined with `\n`.
fn unfold_raw(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let text = text.strip_prefix(' ').unwrap_or(&text);
    let lines: Vec<&str> = text
        .trim_end_matches(['\r', '\n'])
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    lines.join("\n")
}

/// Bare LF made CRLF; CRLF left alone.
fn crlf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 32);
    let mut prev = 0u8;
    for &b in bytes {
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        prev = b;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const EML: &str = "Return-Path: <bounce@example.org>\n\
From: \"Bob Example\" <bob@example.org>\n\
To: alice@example.test,\n\tcarol@example.test\n\
Subject: Invoice =?utf-8?q?f=C3=BCr?= you\n\
MIME-Version: 1.0\n\
Content-Type: multipart/mixed; boundary=\"b1\"\n\
\n\
--b1\n\
Content-Type: text/plain\n\
\n\
Hello.\n\
--b1--\n";

    #[test]
    fn fields_and_body_are_taken_apart_as_written() {
        let e = Eml::parse(EML.as_bytes()).expect("parses");
        let names: Vec<&str> = e.fields.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "Return-Path",
                "From",
                "To",
                "Subject",
                "MIME-Version",
                "Content-Type"
            ]
        );
        assert_eq!(
            e.get("to"),
            Some("alice@example.test,\n\tcarol@example.test")
        );
        // Encoded words stay encoded: what goes out is what came in.
        assert_eq!(e.get("Subject"), Some("Invoice =?utf-8?q?f=C3=BCr?= you"));
        assert!(e.body.starts_with(b"--b1\n"));
        assert_eq!(
            e.header_lines()[2..4],
            ["To: alice@example.test,", "\tcarol@example.test"]
        );
    }

    #[test]
    fn put_back_together_it_is_the_file_with_crlf() {
        let e = Eml::parse(EML.as_bytes()).expect("parses");
        assert_eq!(e.to_bytes(), EML.replace('\n', "\r\n").into_bytes());
        let crlf_file = EML.replace('\n', "\r\n");
        let e2 = Eml::parse(crlf_file.as_bytes()).expect("parses");
        assert_eq!(e2.to_bytes(), crlf_file.into_bytes());
    }

    #[test]
    fn set_replaces_every_field_of_the_name_in_place() {
        let mut e = Eml::parse(b"To: a@x\nSubject: s\nto: b@x\n\nbody\n").expect("parses");
        e.set("TO", "c@x");
        e.set("X-New", "1");
        assert_eq!(e.header_lines(), ["TO: c@x", "Subject: s", "X-New: 1"]);
    }

    #[test]
    fn not_a_message_is_an_error() {
        assert_eq!(Eml::parse(b""), Err(EmlError::NoHeaders));
        assert_eq!(Eml::parse(b"\n\njust text\n"), Err(EmlError::NoHeaders));
    }

    #[test]
    fn a_body_that_is_not_utf8_goes_out_byte_for_byte() {
        let e = Eml::parse(b"Subject: x\n\ncaf\xe9\n").expect("parses");
        assert_eq!(e.to_bytes(), b"Subject: x\r\n\r\ncaf\xe9\r\n");
        assert_eq!(e.body_text(), "caf\u{fffd}\n");
    }

    proptest::proptest! {
        /// Taken apart and put back together, a message is the same bytes
        /// (and so the same fields) the second time as the first.
        #[test]
        fn a_round_trip_keeps_every_field_and_the_body(
            fields in proptest::collection::vec(("[A-Za-z][A-Za-z0-9-]{0,12}", "[ -~]{0,40}"), 1..8),
            body in "([ -~]{0,30}\n){0,5}",
        ) {
            let mut text = String::new();
            for (n, v) in &fields {
                text.push_str(&format!("{n}: {}\n", v.trim()));
            }
            text.push('\n');
            text.push_str(&body);
            let once = Eml::parse(text.as_bytes()).expect("a message").to_bytes();
            let again = Eml::parse(&once).expect("still a message");
            proptest::prop_assert_eq!(again.to_bytes(), once);
            proptest::prop_assert_eq!(again.fields.len(), fields.len());
        }
    }
}
