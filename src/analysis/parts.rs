//! MIME parts in the transcript: the content lines a client sends, read in
//! order, with each base64 body folded into one line that says what it is
//! (`[attachment report.pdf, application/pdf, 120 KB as 1,640 base64
//! lines]`) instead of a wall of base64. Only what is shown changes; the
//! exports keep every line. It reads the lines as the transcript shows them
//! (made visible: a tab is `␉`) and holds a few bounded strings, never a
//! part's body.

/// What to do with one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fold {
    /// Show the line.
    Show,
    /// Leave it out: it is inside a base64 body being folded.
    Hide,
    /// A folded body ended: show this summary, then the line.
    Summary(String),
}

/// The longest header value kept (a part's type and name are far shorter).
const MAX_VALUE: usize = 1000;

#[derive(Debug, Default)]
struct PartHeaders {
    content_type: Option<String>,
    disposition: Option<String>,
    base64: bool,
    /// The field the last line belonged to, for its continuation lines.
    last: Option<Field>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Type,
    Disposition,
}

/// Reads content lines in order; see [`Fold`].
#[derive(Debug, Default)]
pub struct PartFolder {
    headers: PartHeaders,
    /// Inside a base64 body: its lines and decoded bytes so far.
    body: Option<(usize, u64)>,
    /// The summaries of the whole message, worked out from its bytes
    /// ahead (`expect`): the session shows only its first content lines,
    /// and a summary must count the lines it did not show too.
    expected: std::collections::VecDeque<String>,
}

/// The summary of every base64 body of a message, in order: what the
/// folder would say if it saw every line.
pub fn summaries(content: &[u8]) -> Vec<String> {
    let mut f = PartFolder::new();
    let mut out = Vec::new();
    for line in content.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if let Fold::Summary(s) = f.line(&crate::proto::visible::visible(line)) {
            out.push(s);
        }
    }
    out.extend(f.finish());
    out
}

fn is_base64_line(line: &str) -> bool {
    !line.is_empty()
        && line.len() <= 998
        && line
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=')
}

fn decoded_len(line: &str) -> u64 {
    let pad = line.bytes().rev().take_while(|&b| b == b'=').count() as u64;
    (line.len() as u64 / 4 * 3).saturating_sub(pad)
}

fn push_bounded(into: &mut String, more: &str) {
    let room = MAX_VALUE.saturating_sub(into.len());
    into.extend(more.chars().take(room));
}

impl PartFolder {
    pub fn new() -> Self {
        Self::default()
    }

    /// The message about to be sent: its summaries stand in for those
    /// worked out from the lines shown (see `summaries`).
    pub fn expect(&mut self, content: &[u8]) {
        self.expected = summaries(content).into();
    }

    /// One line as sent (without its line end).
    pub fn line(&mut self, line: &str) -> Fold {
        if let Some((lines, bytes)) = self.body {
            if is_base64_line(line) {
                self.body = Some((lines + 1, bytes + decoded_len(line)));
                return Fold::Hide;
            }
            let summary = self.summary(lines, bytes);
            self.body = None;
            self.headers = PartHeaders::default();
            self.header_line(line);
            return Fold::Summary(summary);
        }
        self.header_line(line);
        Fold::Show
    }

    /// The summary of a body still being folded (the content ended).
    pub fn finish(&mut self) -> Option<String> {
        let (lines, bytes) = self.body.take()?;
        let s = self.summary(lines, bytes);
        self.headers = PartHeaders::default();
        Some(s)
    }

    fn header_line(&mut self, line: &str) {
        let h = &mut self.headers;
        if line.is_empty() {
            if h.base64 {
                self.body = Some((0, 0));
            } else {
                // A part that is not base64: its fields say nothing of the next.
                *h = PartHeaders::default();
            }
            return;
        }
        if line.starts_with("--") {
            *h = PartHeaders::default();
            return;
        }
        if let Some(rest) = line.strip_prefix([' ', '\u{2409}']) {
            let slot = match h.last {
                Some(Field::Type) => h.content_type.as_mut(),
                Some(Field::Disposition) => h.disposition.as_mut(),
                None => None,
            };
            if let Some(v) = slot {
                push_bounded(v, " ");
                push_bounded(v, rest.trim());
            }
            return;
        }
        h.last = None;
        let Some((name, value)) = line.split_once(':') else {
            return;
        };
        let value = value.trim();
        let mut bounded = String::new();
        push_bounded(&mut bounded, value);
        match name.trim().to_ascii_lowercase().as_str() {
            "content-type" => {
                h.content_type = Some(bounded);
                h.last = Some(Field::Type);
            }
            "content-disposition" => {
                h.disposition = Some(bounded);
                h.last = Some(Field::Disposition);
            }
            "content-transfer-encoding" => h.base64 = value.eq_ignore_ascii_case("base64"),
            _ => {}
        }
    }

    fn summary(&mut self, lines: usize, bytes: u64) -> String {
        if let Some(s) = self.expected.pop_front() {
            return s;
        }
        let h = &self.headers;
        let ctype = h
            .content_type
            .as_deref()
            .and_then(|t| t.split(';').next())
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .unwrap_or("application/octet-stream");
        let name = h
            .disposition
            .as_deref()
            .and_then(|d| param(d, "filename"))
            .or_else(|| h.content_type.as_deref().and_then(|t| param(t, "name")));
        let attachment = name.is_some()
            || h.disposition.as_deref().is_some_and(|d| {
                d.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("attachment")
            });
        let what = match (&name, attachment) {
            (Some(n), _) => format!("attachment {n}, {ctype}"),
            (None, true) => format!("attachment {ctype}"),
            (None, false) => format!("part {ctype}"),
        };
        format!(
            "[{what}, {} as {} base64 line{}]",
            size(bytes),
            thousands(lines as u64),
            if lines == 1 { "" } else { "s" }
        )
    }
}

/// A parameter's value (`name="x"` or `name=x`) from a header value.
fn param(value: &str, key: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        if !k.trim().eq_ignore_ascii_case(key) {
            return None;
        }
        let v = v.trim().trim_matches('"');
        let v: String = v.chars().take(100).collect();
        (!v.is_empty()).then_some(v)
    })
}

/// Bytes as people say them: `812 bytes`, `120 KB`, `3.4 MB` (of 1024).
pub fn size(bytes: u64) -> String {
    const K: f64 = 1024.0;
    let b = bytes as f64;
    if bytes < 1024 {
        format!("{bytes} bytes")
    } else if b < K * K {
        format!("{} KB", (b / K).round())
    } else {
        format!("{:.1} MB", b / K / K)
    }
}

/// `1640` as `1,640`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fold(lines: &[&str]) -> Vec<String> {
        let mut f = PartFolder::new();
        let mut out = Vec::new();
        for l in lines {
            match f.line(l) {
                Fold::Show => out.push(l.to_string()),
                Fold::Hide => {}
                Fold::Summary(s) => {
                    out.push(s);
                    out.push(l.to_string());
                }
            }
        }
        out.extend(f.finish());
        out
    }

    #[test]
    fn an_attachment_is_one_line() {
        let b64 = "A".repeat(76);
        let mut lines = vec![
            "Subject: x",
            "Content-Type: multipart/mixed; boundary=\"b\"",
            "",
            "--b",
            "Content-Type: text/plain; charset=\"utf-8\"",
            "",
            "hello",
            "--b",
            "Content-Type: application/pdf",
            "Content-Disposition: attachment;",
            "␉filename=\"report.pdf\"",
            "Content-Transfer-Encoding: base64",
            "",
        ];
        lines.extend(std::iter::repeat_n(b64.as_str(), 1640));
        lines.extend(["AAA=", "--b--", "."]);
        let out = fold(&lines);
        assert_eq!(
            out[13..],
            [
                "[attachment report.pdf, application/pdf, 91 KB as 1,641 base64 lines]",
                "--b--",
                "."
            ]
        );
        assert_eq!(out[6], "hello", "a text part is shown as it is");
    }

    #[test]
    fn a_base64_part_without_a_name_and_a_message_that_ends_in_one() {
        let out = fold(&[
            "Content-Type: text/html; charset=utf-8",
            "Content-Transfer-Encoding: BASE64",
            "",
            "PHA+SGk8L3A+Cg==",
        ]);
        assert_eq!(out[3], "[part text/html, 10 bytes as 1 base64 line]");
        let out = fold(&[
            "Content-Type: image/png; name=logo.png",
            "Content-Transfer-Encoding: base64",
            "",
            "AAAA",
            ".",
        ]);
        assert_eq!(
            out[3],
            "[attachment logo.png, image/png, 3 bytes as 1 base64 line]"
        );
        assert_eq!(out[4], ".");
    }

    #[test]
    fn plain_lines_that_look_like_base64_are_shown() {
        let out = fold(&["Subject: x", "", "QUIT", "Hello", "--", "RSET"]);
        assert_eq!(out, ["Subject: x", "", "QUIT", "Hello", "--", "RSET"]);
    }

    #[test]
    fn expected_summaries_count_what_was_not_shown() {
        let body = "QUJD\r\n".repeat(5000);
        let message = format!(
            "Content-Type: application/zip; name=\"a.zip\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{body}"
        );
        let want = "[attachment a.zip, application/zip, 15 KB as 5,000 base64 lines]";
        assert_eq!(summaries(message.as_bytes()), [want]);
        let mut f = PartFolder::new();
        f.expect(message.as_bytes());
        for l in [
            "Content-Type: application/zip",
            "Content-Transfer-Encoding: base64",
            "",
            "QUJD",
        ] {
            f.line(l);
        }
        assert_eq!(f.finish().as_deref(), Some(want));
    }

    #[test]
    fn sizes_and_counts_read_as_people_say_them() {
        assert_eq!(size(812), "812 bytes");
        assert_eq!(size(120 * 1024), "120 KB");
        assert_eq!(size(3_565_158), "3.4 MB");
        assert_eq!(thousands(1640), "1,640");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
