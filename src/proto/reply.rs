//! Server replies: the code, the RFC 3463 enhanced status, and a streaming parser.
//!
//! The parser takes bytes as they arrive and hands out whole replies. "Need
//! more bytes" is simply no reply yet. Every limit is a typed error carrying
//! the limit, memory stays bounded whatever the server sends, and after an
//! error the parser skips to the end of the broken reply so that the next one
//! is read cleanly.

use std::collections::VecDeque;
use std::fmt;

use super::visible::visible;

/// A three-digit reply code, 200 to 559 with a second digit of 0 to 5
/// (RFC 5321, section 4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReplyCode(u16);

/// The first digit of a reply code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// 2yz: the command was accepted.
    PositiveCompletion,
    /// 3yz: accepted so far, the server waits for more (354 after DATA, 334 in AUTH).
    PositiveIntermediate,
    /// 4yz: refused for now; the same command may succeed later.
    TransientNegative,
    /// 5yz: refused; repeating the same command will not help.
    PermanentNegative,
}

impl ReplyCode {
    /// The code for `value`, or `None` when it is not a valid SMTP reply code.
    pub fn new(value: u16) -> Option<Self> {
        let valid = (200..=599).contains(&value) && (value / 10) % 10 <= 5;
        valid.then_some(Self(value))
    }

    pub fn value(self) -> u16 {
        self.0
    }

    pub fn severity(self) -> Severity {
        match self.0 / 100 {
            2 => Severity::PositiveCompletion,
            3 => Severity::PositiveIntermediate,
            4 => Severity::TransientNegative,
            _ => Severity::PermanentNegative,
        }
    }

    /// The second digit: 0 syntax, 1 information, 2 connections, 3 and 4
    /// unspecified, 5 mail system.
    pub fn category(self) -> u8 {
        ((self.0 / 10) % 10) as u8
    }

    pub fn detail(self) -> u8 {
        (self.0 % 10) as u8
    }

    pub fn is_positive(self) -> bool {
        self.0 < 400
    }

    pub fn is_transient(self) -> bool {
        self.severity() == Severity::TransientNegative
    }

    pub fn is_permanent(self) -> bool {
        self.severity() == Severity::PermanentNegative
    }
}

impl fmt::Display for ReplyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An RFC 3463 enhanced status code, `class.subject.detail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EnhancedStatus {
    pub class: u8,
    pub subject: u16,
    pub detail: u16,
}

impl EnhancedStatus {
    /// Reads an enhanced status at the start of `text`; returns it and the
    /// length it took, separator included.
    pub fn parse_prefix(text: &[u8]) -> Option<(Self, usize)> {
        let class = match text.first()? {
            b'2' => 2,
            b'4' => 4,
            b'5' => 5,
            _ => return None,
        };
        if text.get(1) != Some(&b'.') {
            return None;
        }
        let (subject, n1) = number(&text[2..])?;
        let pos = 2 + n1;
        if text.get(pos) != Some(&b'.') {
            return None;
        }
        let (detail, n2) = number(&text[pos + 1..])?;
        let end = pos + 1 + n2;
        let taken = match text.get(end) {
            None => end,
            Some(b' ') => end + 1,
            Some(_) => return None,
        };
        Some((
            Self {
                class,
                subject,
                detail,
            },
            taken,
        ))
    }
}

/// One to three digits.
fn number(s: &[u8]) -> Option<(u16, usize)> {
    let n = s.iter().take(4).take_while(|b| b.is_ascii_digit()).count();
    if n == 0 || n > 3 {
        return None;
    }
    let value = s[..n]
        .iter()
        .fold(0u16, |acc, b| acc * 10 + u16::from(b - b'0'));
    Some((value, n))
}

impl fmt::Display for EnhancedStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

/// Something a server did that RFC 5321 does not allow but that real servers
/// do; the reply is still read, and the deviation reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deviation {
    /// A line ended in LF alone instead of CRLF.
    BareLf,
    /// A line had the code and nothing after it, not even a space.
    CodeWithoutText,
    /// The enhanced status class differs from the reply code's first digit.
    EnhancedClassMismatch,
}

impl fmt::Display for Deviation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Deviation::BareLf => "line ended with a bare LF instead of CRLF",
            Deviation::CodeWithoutText => "reply code with no text after it",
            Deviation::EnhancedClassMismatch => "enhanced status class differs from the reply code",
        })
    }
}

/// One whole reply, single- or multi-line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: ReplyCode,
    /// The enhanced status of the first line, when it has one.
    pub enhanced: Option<EnhancedStatus>,
    /// Each line as received, without its line end.
    pub lines: Vec<Vec<u8>>,
    pub deviations: Vec<Deviation>,
}

impl Reply {
    /// A reply built from text, for tests and for the server side.
    pub fn new(code: ReplyCode, text: &str) -> Self {
        let lines: Vec<Vec<u8>> = text
            .split('\n')
            .enumerate()
            .map(|(i, l)| {
                let last = i == text.split('\n').count() - 1;
                format!("{code}{}{l}", if last { ' ' } else { '-' }).into_bytes()
            })
            .collect();
        let enhanced = text
            .split('\n')
            .next()
            .and_then(|l| EnhancedStatus::parse_prefix(l.as_bytes()))
            .map(|(e, _)| e);
        Self {
            code,
            enhanced,
            lines,
            deviations: Vec::new(),
        }
    }

    /// The text of each line after the code and separator.
    pub fn texts(&self) -> impl Iterator<Item = &[u8]> {
        self.lines.iter().map(|l| l.get(4..).unwrap_or_default())
    }

    /// The text of each line without the code and without a leading enhanced
    /// status, made visible.
    pub fn message_lines(&self) -> Vec<String> {
        self.texts()
            .map(|t| {
                let t = match EnhancedStatus::parse_prefix(t) {
                    Some((_, n)) => &t[n..],
                    None => t,
                };
                visible(t)
            })
            .collect()
    }

    /// The reply on one line: code, enhanced status and text.
    pub fn summary(&self) -> String {
        match self.enhanced {
            Some(e) => format!("{} {e} {}", self.code, self.message()),
            None => format!("{} {}", self.code, self.message()),
        }
    }

    /// All lines' text joined with spaces: a one-line summary.
    pub fn message(&self) -> String {
        self.message_lines().join(" ")
    }

    /// The reply as it would go on the wire, CRLF after every line.
    pub fn to_wire(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for l in &self.lines {
            out.extend_from_slice(l);
            out.extend_from_slice(b"\r\n");
        }
        out
    }
}

/// A malformed reply. Each error stands in for one reply: the parser has
/// skipped what remained of it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    #[error("reply line does not start with a three-digit code: {line}")]
    NotACode { line: String },
    #[error("reply code {code} is outside the codes SMTP defines: {line}")]
    CodeOutOfRange { code: u16, line: String },
    #[error("reply code is not followed by a space or a hyphen: {line}")]
    MissingSeparator { line: String },
    #[error(
        "multi-line reply changes its code from {first} to {found}: {line} \
         (a protocol error, not a success)"
    )]
    CodeMismatch {
        first: u16,
        found: u16,
        line: String,
    },
    #[error("reply line longer than {limit} bytes")]
    LineTooLong { limit: usize },
    #[error("reply has more than {limit} lines")]
    TooManyLines { limit: usize },
}

/// How much the parser accepts before it gives up on a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyLimits {
    /// Bytes in one line, line end excluded. RFC 5321 allows 510; real
    /// servers send more, so the default is generous.
    pub max_line: usize,
    /// Lines in one reply.
    pub max_lines: usize,
}

impl Default for ReplyLimits {
    fn default() -> Self {
        Self {
            max_line: 4096,
            max_lines: 1000,
        }
    }
}

#[derive(Debug)]
struct Partial {
    code: ReplyCode,
    lines: Vec<Vec<u8>>,
    deviations: Vec<Deviation>,
}

/// A streaming reply parser: `feed` bytes, then `poll_reply` until `None`.
#[derive(Debug, Default)]
pub struct ReplyParser {
    limits: ReplyLimits,
    line: Vec<u8>,
    /// The current line passed `max_line`; its bytes past the limit are dropped.
    overflow: bool,
    partial: Option<Partial>,
    /// After an error inside a multi-line reply: drop lines up to its last one.
    skipping: bool,
    ready: VecDeque<Result<Reply, ReplyError>>,
}

impl ReplyParser {
    pub fn new(limits: ReplyLimits) -> Self {
        Self {
            limits,
            ..Self::default()
        }
    }

    /// Takes bytes received from the server.
    pub fn feed(&mut self, mut input: &[u8]) {
        while !input.is_empty() {
            match input.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    self.push_bytes(&input[..i]);
                    input = &input[i + 1..];
                    self.end_line();
                }
                None => {
                    self.push_bytes(input);
                    input = &[];
                }
            }
        }
    }

    /// The next complete reply, or a malformed one; `None` until more bytes arrive.
    #[must_use]
    pub fn poll_reply(&mut self) -> Option<Result<Reply, ReplyError>> {
        self.ready.pop_front()
    }

    /// The last bytes read of a reply that is not finished: the line being
    /// read (up to the line limit), or else the last whole line of an
    /// unfinished multi-line reply. For saying what came of it.
    pub fn partial_line(&self) -> &[u8] {
        match (&self.partial, self.line.is_empty()) {
            (Some(p), true) => p.lines.last().map_or(&[][..], Vec::as_slice),
            _ => &self.line,
        }
    }

    /// True when bytes of an unfinished reply are held.
    pub fn has_partial(&self) -> bool {
        !self.line.is_empty() || self.overflow || self.partial.is_some()
    }

    /// Drops everything held, returning how many replies and loose bytes were
    /// dropped. Used after `220` to STARTTLS: whatever followed it in
    /// plaintext must never be read as if it came over TLS (CVE-2011-0411).
    pub fn discard(&mut self) -> (usize, usize) {
        let replies = self.ready.len() + usize::from(self.partial.is_some());
        let bytes = self.line.len();
        self.line.clear();
        self.overflow = false;
        self.partial = None;
        self.skipping = false;
        self.ready.clear();
        (replies, bytes)
    }

    fn push_bytes(&mut self, bytes: &[u8]) {
        if self.overflow {
            // The rest of a line already reported too long.
            return;
        }
        let room = self.limits.max_line + 1 - self.line.len().min(self.limits.max_line + 1);
        // Keep one byte past the limit so a CR at the limit is still seen as
        // the line end; anything beyond is dropped.
        self.line.extend_from_slice(&bytes[..bytes.len().min(room)]);
        if bytes.len() > room {
            // Reported now, not when the line ends: a line may never end.
            self.overflow = true;
            let continues = self.line.get(3) == Some(&b'-');
            self.fail(
                ReplyError::LineTooLong {
                    limit: self.limits.max_line,
                },
                continues,
            );
        }
    }

    fn end_line(&mut self) {
        let mut line = std::mem::take(&mut self.line);
        let overflow = std::mem::take(&mut self.overflow);
        let bare_lf = if line.last() == Some(&b'\r') {
            line.pop();
            false
        } else {
            true
        };
        // The fourth byte says whether more lines of this reply follow.
        let continues = line.get(3) == Some(&b'-');

        if overflow {
            // Reported when it passed the limit; its end is just dropped.
            return;
        }
        if self.skipping {
            if !continues {
                self.skipping = false;
            }
            return;
        }
        if line.len() > self.limits.max_line {
            self.fail(
                ReplyError::LineTooLong {
                    limit: self.limits.max_line,
                },
                continues,
            );
            return;
        }
        match self.parse_line(&line) {
            Ok((code, no_text)) => {
                let partial = self.partial.get_or_insert_with(|| Partial {
                    code,
                    lines: Vec::new(),
                    deviations: Vec::new(),
                });
                if partial.code != code {
                    let first = partial.code.value();
                    self.fail(
                        ReplyError::CodeMismatch {
                            first,
                            found: code.value(),
                            line: visible(&line),
                        },
                        continues,
                    );
                    return;
                }
                if partial.lines.len() == self.limits.max_lines {
                    self.fail(
                        ReplyError::TooManyLines {
                            limit: self.limits.max_lines,
                        },
                        continues,
                    );
                    return;
                }
                for (flag, deviation) in [
                    (bare_lf, Deviation::BareLf),
                    (no_text, Deviation::CodeWithoutText),
                ] {
                    if flag && !partial.deviations.contains(&deviation) {
                        partial.deviations.push(deviation);
                    }
                }
                partial.lines.push(line);
                if !continues {
                    if let Some(done) = self.partial.take() {
                        self.ready.push_back(Ok(finish(done)));
                    }
                }
            }
            Err(e) => self.fail(e, continues),
        }
    }

    /// Checks one line's code and separator; says whether it had no text.
    fn parse_line(&self, line: &[u8]) -> Result<(ReplyCode, bool), ReplyError> {
        let digits = line.get(..3).filter(|d| d.iter().all(u8::is_ascii_digit));
        let Some(digits) = digits else {
            return Err(ReplyError::NotACode {
                line: visible(line),
            });
        };
        let value = digits
            .iter()
            .fold(0u16, |acc, b| acc * 10 + u16::from(b - b'0'));
        let code = ReplyCode::new(value).ok_or_else(|| ReplyError::CodeOutOfRange {
            code: value,
            line: visible(line),
        })?;
        match line.get(3) {
            None => Ok((code, true)),
            Some(b' ' | b'-') => Ok((code, false)),
            Some(_) => Err(ReplyError::MissingSeparator {
                line: visible(line),
            }),
        }
    }

    fn fail(&mut self, error: ReplyError, continues: bool) {
        self.partial = None;
        self.skipping = continues;
        self.ready.push_back(Err(error));
    }
}

fn finish(p: Partial) -> Reply {
    let mut deviations = p.deviations;
    let enhanced = p
        .lines
        .first()
        .and_then(|l| l.get(4..))
        .and_then(EnhancedStatus::parse_prefix)
        .map(|(e, _)| e);
    if let Some(e) = enhanced {
        if u16::from(e.class) != p.code.value() / 100 {
            deviations.push(Deviation::EnhancedClassMismatch);
        }
    }
    Reply {
        code: p.code,
        enhanced,
        lines: p.lines,
        deviations,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(input: &[u8]) -> Vec<Result<Reply, ReplyError>> {
        let mut p = ReplyParser::default();
        p.feed(input);
        std::iter::from_fn(|| p.poll_reply()).collect()
    }

    /// A compact view of a parse result for table tests.
    fn summary(r: &Result<Reply, ReplyError>) -> String {
        match r {
            Ok(r) => format!(
                "{} {} [{}] {:?}",
                r.code,
                r.enhanced.map(|e| e.to_string()).unwrap_or("-".into()),
                r.message_lines().join("|"),
                r.deviations
            ),
            Err(e) => format!("error {e}"),
        }
    }

    #[test]
    fn table() {
        let cases: &[(&[u8], &[&str])] = &[
            (b"220 mail.example.test ESMTP\r\n", &["220 - [mail.example.test ESMTP] []"]),
            (
                b"250-mx.example\r\n250-PIPELINING\r\n250 SIZE 1000\r\n",
                &["250 - [mx.example|PIPELINING|SIZE 1000] []"],
            ),
            (
                b"550 5.7.1 <a@b>: Relay access denied\r\n",
                &["550 5.7.1 [<a@b>: Relay access denied] []"],
            ),
            (b"250 2.0.0\r\n", &["250 2.0.0 [] []"]),
            (b"250 OK\n", &["250 - [OK] [BareLf]"]),
            (b"250\r\n", &["250 - [] [CodeWithoutText]"]),
            (b"250-\r\n250 \r\n", &["250 - [|] []"]),
            (b"550 2.1.0 odd\r\n", &["550 2.1.0 [odd] [EnhancedClassMismatch]"]),
            (b"250 2.0 not enhanced\r\n", &["250 - [2.0 not enhanced] []"]),
            (b"250 2.0.0000 not enhanced\r\n", &["250 - [2.0.0000 not enhanced] []"]),
            (
                b"hello\r\n",
                &["error reply line does not start with a three-digit code: hello"],
            ),
            (
                b"25\r\n",
                &["error reply line does not start with a three-digit code: 25"],
            ),
            (
                b"2a0 x\r\n",
                &["error reply line does not start with a three-digit code: 2a0 x"],
            ),
            (
                b"199 x\r\n",
                &["error reply code 199 is outside the codes SMTP defines: 199 x"],
            ),
            (
                b"600 x\r\n",
                &["error reply code 600 is outside the codes SMTP defines: 600 x"],
            ),
            (
                b"260 x\r\n",
                &["error reply code 260 is outside the codes SMTP defines: 260 x"],
            ),
            (
                b"250xOK\r\n",
                &["error reply code is not followed by a space or a hyphen: 250xOK"],
            ),
            (
                b"550-denied\r\n250 OK\r\n",
                &["error multi-line reply changes its code from 550 to 250: 250 OK (a protocol error, not a success)"],
            ),
            (
                b"550-a\r\n250-b\r\n250 c\r\n354 go\r\n",
                &[
                    "error multi-line reply changes its code from 550 to 250: 250-b (a protocol error, not a success)",
                    "354 - [go] []",
                ],
            ),
            (
                b"250 \x1b[2Jhi\r\n",
                &["250 - [\u{241b}[2Jhi] []"],
            ),
            (b"250 a\r\n251 b\r\n", &["250 - [a] []", "251 - [b] []"]),
            (b"250 incomplete", &[]),
            (b"250-first\r\n", &[]),
        ];
        for (input, want) in cases {
            let got: Vec<String> = parse_all(input).iter().map(summary).collect();
            assert_eq!(got, *want, "input {:?}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn every_split_gives_the_same_replies() {
        let inputs: &[&[u8]] = &[
            b"220 hi\r\n250-a\r\n250-b\r\n250 2.0.0 c\r\n",
            b"550-x\r\n250 y\r\n221 bye\n",
            b"250 \xff\x1b\r\n354 go ahead\r\n",
            b"bad\r\n250 ok\r\n",
        ];
        for input in inputs {
            let whole = parse_all(input);
            for cut in 0..=input.len() {
                let mut p = ReplyParser::default();
                let mut got = Vec::new();
                p.feed(&input[..cut]);
                got.extend(std::iter::from_fn(|| p.poll_reply()));
                p.feed(&input[cut..]);
                got.extend(std::iter::from_fn(|| p.poll_reply()));
                assert_eq!(got, whole, "cut at {cut}");
            }
            // One byte at a time, as a server that drips its replies.
            let mut p = ReplyParser::default();
            let mut got = Vec::new();
            for b in input.iter() {
                p.feed(std::slice::from_ref(b));
                got.extend(std::iter::from_fn(|| p.poll_reply()));
            }
            assert_eq!(got, whole);
        }
    }

    #[test]
    fn overlong_line_is_an_error_with_bounded_memory() {
        let limits = ReplyLimits {
            max_line: 100,
            max_lines: 10,
        };
        let mut p = ReplyParser::new(limits);
        p.feed(b"250-");
        p.feed(&[b'x'; 1000]);
        // Reported at once, before the line ends (it may never end).
        assert_eq!(
            p.poll_reply(),
            Some(Err(ReplyError::LineTooLong { limit: 100 }))
        );
        for _ in 0..10_000 {
            p.feed(&[b'x'; 1000]);
            assert!(p.line.len() <= 101);
        }
        assert!(p.poll_reply().is_none(), "reported once");
        p.feed(b"\r\n250-more\r\n250 end\r\n220 next\r\n");
        // The rest of the broken reply is skipped; the next one reads cleanly.
        let next = p.poll_reply().unwrap().unwrap();
        assert_eq!(next.code.value(), 220);
        assert!(p.poll_reply().is_none());
    }

    #[test]
    fn line_exactly_at_the_limit_is_accepted() {
        let limits = ReplyLimits {
            max_line: 10,
            max_lines: 10,
        };
        let mut p = ReplyParser::new(limits);
        p.feed(b"250 123456\r\n250 1234567\r\n");
        assert!(p.poll_reply().unwrap().is_ok());
        assert_eq!(
            p.poll_reply(),
            Some(Err(ReplyError::LineTooLong { limit: 10 }))
        );
    }

    #[test]
    fn too_many_lines_is_an_error() {
        let mut p = ReplyParser::new(ReplyLimits {
            max_line: 100,
            max_lines: 3,
        });
        for _ in 0..100_000 {
            p.feed(b"250-x\r\n");
        }
        p.feed(b"250 end\r\n221 bye\r\n");
        assert_eq!(
            p.poll_reply(),
            Some(Err(ReplyError::TooManyLines { limit: 3 }))
        );
        assert_eq!(p.poll_reply().unwrap().unwrap().code.value(), 221);
        assert!(p.poll_reply().is_none());
    }

    #[test]
    fn discard_drops_everything_after_starttls() {
        let mut p = ReplyParser::default();
        p.feed(b"220 go ahead\r\n250 injected\r\n250 par");
        assert_eq!(p.poll_reply().unwrap().unwrap().code.value(), 220);
        assert_eq!(p.discard(), (1, 7));
        assert!(p.poll_reply().is_none());
        assert!(!p.has_partial());
    }

    #[test]
    fn code_parts() {
        let c = ReplyCode::new(451).unwrap();
        assert_eq!(c.severity(), Severity::TransientNegative);
        assert_eq!((c.category(), c.detail()), (5, 1));
        assert!(c.is_transient() && !c.is_permanent() && !c.is_positive());
        assert!(ReplyCode::new(354).unwrap().is_positive());
        assert!(ReplyCode::new(599).is_none());
        assert!(ReplyCode::new(100).is_none());
    }

    #[test]
    fn reply_new_round_trips_through_the_parser() {
        let r = Reply::new(ReplyCode::new(250).unwrap(), "2.0.0 first\nsecond");
        let parsed = parse_all(&r.to_wire());
        assert_eq!(parsed, vec![Ok(r)]);
    }
}
