//! A saved JSON transcript replayed step by step, offline: the file's lines
//! parsed into session events (the same `Timed` a live session gives, so
//! they go through the transcript's own code and are made visible there),
//! grouped into steps (a command and its reply), and what F2 needs (the
//! envelope, the message, the server's extensions) rebuilt from what has
//! been shown. No I/O: the caller reads the file and hands its text over.
//!
//! The file is what `send --format json` prints and what the workbench's
//! "Save transcript (JSON)" writes: one JSON object per line, with `kind`
//! (`client`, `server`, `info`, `error`, `auth`, …) and `text`, `code` on
//! replies. A presenter marks a pause by adding a line
//! `{"kind":"mark","text":"what to say here"}`, or a `"mark": true` (or a
//! string) key on any line: playing on (F5) stops before the marked step.

use std::time::Duration;

use serde_json::{Map, Value};

use crate::proto::capabilities::Capabilities;
use crate::proto::client::Event;
use crate::proto::reply::{EnhancedStatus, Reply, ReplyCode};
use crate::proto::visible::visible;
use crate::transport::Timed;

/// The largest file a replay reads; a transcript of a long session is a few
/// hundred kilobytes.
pub const MAX_FILE: usize = 16 << 20;
/// Bytes kept of one text (a line of a reply, a command, a note); the rest
/// is cut and the cut said.
pub const MAX_TEXT: usize = 4096;
/// Lines kept of one reply (as the reply parser's default limit).
pub const MAX_REPLY_LINES: usize = 1000;
/// Bytes kept of a mark's note (it goes on the status line).
const MAX_NOTE: usize = 200;

/// Why a file cannot be replayed, with the line at fault (1-based; 0: the
/// file as a whole).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {why}")]
pub struct ReplayError {
    pub line: usize,
    pub why: String,
}

fn bad(line: usize, why: impl Into<String>) -> ReplayError {
    ReplayError {
        line,
        why: why.into(),
    }
}

/// One step: the lines shown by one Enter, and the mark before it.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub events: Vec<Timed>,
    /// The presenter's note: playing on stops before this step.
    pub mark: Option<String>,
}

/// What F2 needs, rebuilt from the steps shown.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rebuilt {
    /// The last transaction's MAIL FROM address (`<>` for the null sender).
    pub mail_from: Option<String>,
    pub rcpts: Vec<String>,
    /// The message as sent after DATA's 354, dots unstuffed, lines joined
    /// with LF; `None` until its final `.` has been shown.
    pub message: Option<String>,
    /// The extensions of the last EHLO (or LHLO) answered with 250.
    pub caps: Option<Capabilities>,
    /// The name the last EHLO, LHLO or HELO gave (what SPF's HELO check judges).
    pub ehlo: Option<String>,
    /// The content went by BDAT, which a transcript does not keep.
    pub bdat: bool,
}

/// A replay under way.
#[derive(Debug, Clone, PartialEq)]
pub struct Replay {
    /// The file's name, for the status line.
    pub name: String,
    steps: Vec<Step>,
    /// Steps shown so far.
    shown: usize,
}

impl Replay {
    /// Parses a transcript; an error names the line at fault.
    pub fn parse(name: &str, text: &str) -> Result<Self, ReplayError> {
        if text.len() > MAX_FILE {
            return Err(bad(
                0,
                format!("the file is larger than {} MiB", MAX_FILE >> 20),
            ));
        }
        let mut b = Builder::default();
        for (i, line) in text.lines().enumerate() {
            let n = i + 1;
            if line.trim().is_empty() {
                continue;
            }
            let v: Value = serde_json::from_str(line)
                .map_err(|e| bad(n, format!("not a JSON object: {e}")))?;
            let Value::Object(m) = v else {
                return Err(bad(n, "not a JSON object"));
            };
            b.entry(n, &m)?;
        }
        let steps = b.finish();
        if steps.is_empty() {
            return Err(bad(
                0,
                "no transcript lines (expected the JSON lines of `send --format json`)",
            ));
        }
        Ok(Self {
            name: name.to_string(),
            steps,
            shown: 0,
        })
    }

    pub fn total(&self) -> usize {
        self.steps.len()
    }

    /// Steps shown so far.
    pub fn shown(&self) -> usize {
        self.shown
    }

    pub fn is_done(&self) -> bool {
        self.shown >= self.steps.len()
    }

    /// The next step to show, taken: its events go to the transcript.
    pub fn next_step(&mut self) -> Option<&Step> {
        let step = self.steps.get(self.shown)?;
        self.shown += 1;
        Some(step)
    }

    /// The mark before the step to come, when the replay waits at one.
    pub fn waiting_at(&self) -> Option<&str> {
        self.steps.get(self.shown).and_then(|s| s.mark.as_deref())
    }

    /// The steps shown so far, oldest first.
    pub fn shown_steps(&self) -> &[Step] {
        &self.steps[..self.shown]
    }

    /// The envelope, message and extensions as of the steps shown.
    pub fn rebuilt(&self) -> Rebuilt {
        rebuild(self.shown_steps().iter().flat_map(|s| &s.events))
    }
}

/// Groups entries into steps as they are read.
#[derive(Default)]
struct Builder {
    steps: Vec<Step>,
    current: Vec<Timed>,
    mark: Option<String>,
    /// The current step has its reply: a command after it starts another.
    answered: bool,
    /// A `seq` for client lines that lack one.
    seq: u64,
}

impl Builder {
    fn close(&mut self) {
        if !self.current.is_empty() {
            self.steps.push(Step {
                events: std::mem::take(&mut self.current),
                mark: self.mark.take(),
            });
        }
        self.answered = false;
    }

    fn set_mark(&mut self, note: String) {
        self.mark = Some(match self.mark.take() {
            Some(m) => format!("{m}; {note}"),
            None => note,
        });
    }

    fn entry(&mut self, n: usize, m: &Map<String, Value>) -> Result<(), ReplayError> {
        let kind = m
            .get("kind")
            .and_then(Value::as_str)
            .ok_or_else(|| bad(n, "no \"kind\" (client, server, info, error, mark)"))?;
        let at = time(m.get("t"));
        let note = mark_key(n, m)?;
        if kind == "mark" {
            if self.answered {
                self.close();
            }
            let text = m.get("text").and_then(Value::as_str).unwrap_or("");
            self.set_mark(clip(&visible(text.as_bytes()), MAX_NOTE));
            return Ok(());
        }
        let text = m.get("text").and_then(Value::as_str).ok_or_else(|| {
            // The kind is the file's: made visible before it is said.
            let kind = clip(&visible(kind.as_bytes()), 40);
            bad(n, format!("a \"{kind}\" line needs a \"text\" string"))
        })?;
        let (event, latency, ends_step) = match kind {
            "client" => {
                self.seq = m.get("seq").and_then(Value::as_u64).unwrap_or(self.seq + 1);
                let event = Event::Sent {
                    seq: self.seq,
                    text: shown(text),
                    revealed: None,
                };
                (event, None, false)
            }
            "server" => (
                Event::Reply {
                    answers: m.get("answers").and_then(Value::as_u64),
                    verb: None,
                    reply: reply(n, m, text)?,
                },
                m.get("latency_ms")
                    .and_then(Value::as_f64)
                    .and_then(|ms| Duration::try_from_secs_f64(ms / 1000.0).ok()),
                true,
            ),
            "error" => {
                let malformed = m.get("malformed_reply").and_then(Value::as_bool) == Some(true);
                (Event::Error(shown(text)), None, malformed)
            }
            "info" if m.get("level").and_then(Value::as_str) == Some("warning") => {
                (Event::Warning(shown(text)), None, false)
            }
            "info" => (Event::Info(shown(text)), None, false),
            // An authentication result, a probe's verdict or a kind a later
            // version adds: shown as information, its kind first.
            other => (
                Event::Info(shown(&format!("{other}: {}", label(m, text)))),
                None,
                false,
            ),
        };
        // A command after a reply, or a second reply, starts a step.
        if self.answered && (ends_step || matches!(event, Event::Sent { .. })) {
            self.close();
        }
        if let Some(note) = note {
            self.set_mark(note);
        }
        self.current.push(Timed { at, latency, event });
        self.answered |= ends_step;
        Ok(())
    }

    fn finish(mut self) -> Vec<Step> {
        self.close();
        self.steps
    }
}

/// An authentication line's method and result before its sentence.
fn label(m: &Map<String, Value>, text: &str) -> String {
    match (
        m.get("method").and_then(Value::as_str),
        m.get("result").and_then(Value::as_str),
    ) {
        (Some(method), Some(result)) => format!("{method}={result}: {text}"),
        _ => text.to_string(),
    }
}

/// The `"mark"` key of a line: `true` or a note; `false` or absent: none.
fn mark_key(n: usize, m: &Map<String, Value>) -> Result<Option<String>, ReplayError> {
    if m.get("kind").and_then(Value::as_str) == Some("mark") {
        return Ok(None);
    }
    match m.get("mark") {
        None | Some(Value::Bool(false)) | Some(Value::Null) => Ok(None),
        Some(Value::Bool(true)) => Ok(Some(String::new())),
        Some(Value::String(s)) => Ok(Some(clip(&visible(s.as_bytes()), MAX_NOTE))),
        Some(_) => Err(bad(n, "\"mark\" must be true or a note (a string)")),
    }
}

fn time(t: Option<&Value>) -> Duration {
    t.and_then(Value::as_f64)
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .unwrap_or_default()
}

/// A text from the file as the transcript shows it: controls made visible,
/// bounded.
fn shown(text: &str) -> String {
    clip(&visible(text.as_bytes()), MAX_TEXT)
}

/// At most `max` bytes of `text`, on a character boundary, the cut said.
fn clip(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes cut)", &text[..end], text.len() - end)
}

/// A reply from its line: the server's bytes from `raw` when the writer kept
/// them (they differ from what shows), else `lines`, else `text`; the
/// transcript makes them visible as it does a live reply's.
fn reply(n: usize, m: &Map<String, Value>, text: &str) -> Result<Reply, ReplayError> {
    let code = m
        .get("code")
        .and_then(Value::as_u64)
        .and_then(|c| u16::try_from(c).ok())
        .and_then(ReplyCode::new)
        .ok_or_else(|| bad(n, "a \"server\" line needs a \"code\" from 200 to 599"))?;
    let strings = |key: &str| -> Result<Option<Vec<String>>, ReplayError> {
        match m.get(key) {
            None => Ok(None),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| bad(n, format!("\"{key}\" must hold strings")))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(bad(n, format!("\"{key}\" must be a list of strings"))),
        }
    };
    let lines = match (strings("raw")?, strings("lines")?) {
        (Some(r), _) | (None, Some(r)) => r,
        (None, None) => text.split('\n').map(str::to_string).collect(),
    };
    if lines.is_empty() {
        return Err(bad(n, "a reply needs at least one line"));
    }
    let lines: Vec<Vec<u8>> = lines
        .into_iter()
        .take(MAX_REPLY_LINES)
        .map(|l| clip_bytes(l.into_bytes()))
        .collect();
    let enhanced = lines
        .first()
        .and_then(|l| l.get(4..))
        .and_then(EnhancedStatus::parse_prefix)
        .map(|(e, _)| e);
    Ok(Reply {
        code,
        enhanced,
        lines,
        deviations: Vec::new(),
    })
}

fn clip_bytes(mut line: Vec<u8>) -> Vec<u8> {
    if line.len() > MAX_TEXT {
        let cut = line.len() - MAX_TEXT;
        line.truncate(MAX_TEXT);
        line.extend_from_slice(format!("… ({cut} bytes cut)").as_bytes());
    }
    line
}

/// The address in `MAIL FROM:<a> SIZE=…` or `RCPT TO:<a>`, after `prefix`.
fn path_after(text: &str, prefix: &str) -> Option<String> {
    let head = text.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let rest = text[prefix.len()..].trim_start();
    let addr = match rest.strip_prefix('<') {
        Some(r) => match r.split_once('>') {
            Some(("", _)) => "<>",
            Some((a, _)) => a,
            None => r,
        },
        None => rest.split(' ').next().unwrap_or_default(),
    };
    Some(addr.to_string())
}

/// What F2 needs from a run of events: the last transaction's envelope and
/// message, and the server's extensions.
pub fn rebuild<'a>(events: impl Iterator<Item = &'a Timed>) -> Rebuilt {
    let mut out = Rebuilt::default();
    // The message's lines while between 354 and the final dot.
    let mut data: Option<Vec<String>> = None;
    let mut last_hello = false;
    for e in events {
        match &e.event {
            Event::Sent { text, .. } => {
                if let Some(lines) = &mut data {
                    if text == "." {
                        out.message = Some(lines.join("\n"));
                        data = None;
                    } else {
                        // RFC 5321 4.5.2: the client doubled a leading dot.
                        lines.push(text.strip_prefix('.').unwrap_or(text).to_string());
                    }
                    continue;
                }
                let verb = text.split(' ').next().unwrap_or_default();
                last_hello = verb.eq_ignore_ascii_case("EHLO") || verb.eq_ignore_ascii_case("LHLO");
                if last_hello || verb.eq_ignore_ascii_case("HELO") {
                    out.ehlo = text.split(' ').nth(1).map(str::to_string);
                }
                if let Some(from) = path_after(text, "MAIL FROM:") {
                    out.mail_from = Some(from);
                    out.rcpts.clear();
                    out.message = None;
                    out.bdat = false;
                } else if let Some(to) = path_after(text, "RCPT TO:") {
                    out.rcpts.push(to);
                } else if verb.eq_ignore_ascii_case("BDAT") {
                    out.bdat = true;
                }
            }
            Event::Reply { reply, .. } => {
                let code = reply.code.value();
                if code == 354 && data.is_none() && out.mail_from.is_some() {
                    data = Some(Vec::new());
                } else if code == 250 && last_hello {
                    out.caps = Some(Capabilities::from_ehlo(reply));
                    last_hello = false;
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests;
