//! The transcript's one copy in memory: every line's visible text in one
//! arena `String`, beside a fixed-size record per line. The screen draws
//! from it and every export (copy, save as text or JSON) rebuilds the
//! session's events from it, so nothing is kept twice.

use std::collections::VecDeque;
use std::time::Duration;

use crate::proto::client::Event;
use crate::proto::command::Verb;
use crate::proto::reply::{EnhancedStatus, Reply, ReplyCode, ReplyError};
use crate::proto::visible::visible;
use crate::transport::Timed;

/// What a transcript line is, for its marker and colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    /// A line the client sent.
    Client,
    /// A line of a server reply.
    Server,
    Info,
    Warning,
    Error,
}

/// One line to draw, owned: for lines that are not a session's events (the
/// session banner, tests, benchmarks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Time since the connection began; only on the first line of a group.
    pub at: Option<Duration>,
    pub kind: LineKind,
    /// Already made visible; secrets masked.
    pub text: String,
    /// The unmasked text when `text` hides a secret.
    pub secret: Option<String>,
    /// The reply code, on server lines.
    pub code: Option<u16>,
    /// On the last line of a reply: time since the line it answers.
    pub latency: Option<Duration>,
    /// A reply line that continues the one above.
    pub continued: bool,
}

/// One line as drawn, borrowed from the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineView<'a> {
    pub at: Option<Duration>,
    pub kind: LineKind,
    /// Already made visible; secrets masked.
    pub text: &'a str,
    /// The unmasked text when `text` hides a secret.
    pub secret: Option<&'a str>,
    pub code: Option<u16>,
    pub latency: Option<Duration>,
    pub continued: bool,
}

impl<'a> LineView<'a> {
    /// The text shown, secrets masked unless revealed.
    pub fn shown(&self, reveal: bool) -> &'a str {
        match (self.secret, reveal) {
            (Some(s), true) => s,
            _ => self.text,
        }
    }

    /// An owned copy, to push again (tests, benchmarks).
    pub fn to_line(&self) -> Line {
        Line {
            at: self.at,
            kind: self.kind,
            text: self.text.to_string(),
            secret: self.secret.map(str::to_string),
            code: self.code,
            latency: self.latency,
            continued: self.continued,
        }
    }

    /// Says whether the line hides a secret (for the theme).
    pub fn is_masked(&self, reveal: bool) -> bool {
        self.secret.is_some() && !reveal && self.text.contains(crate::proto::auth::MASK)
    }
}

/// What a lesson step looks at: a line sent, or a reply's code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Said<'a> {
    Sent { seq: u64, text: &'a str },
    Reply { answers: Option<u64>, code: u16 },
}

const NONE: u64 = u64::MAX;
const CONTINUED: u8 = 1;
/// The unmasked text is in `secrets`.
const SECRET: u8 = 2;
/// The server's bytes differ from the visible text; they are in `raws`.
const RAW: u8 = 4;
/// The first line of a session event (exported); other lines are drawn only.
const EVENT: u8 = 8;
/// An unreadable reply; its error is in `errors`.
const BAD_REPLY: u8 = 16;

/// The verbs a reply may answer, by their one-byte index (0: none).
const VERBS: [Verb; 16] = [
    Verb::Ehlo,
    Verb::Helo,
    Verb::StartTls,
    Verb::Auth,
    Verb::Mail,
    Verb::Rcpt,
    Verb::Data,
    Verb::Bdat { last: false },
    Verb::Bdat { last: true },
    Verb::Rset,
    Verb::Vrfy,
    Verb::Expn,
    Verb::Help,
    Verb::Noop,
    Verb::Quit,
    Verb::Other,
];

// 40 bytes: with 40-60 bytes of text a line stays under 100.
#[derive(Debug, Clone, Copy)]
struct Rec {
    /// Where the line's text ends in the arena (absolute; it starts where
    /// the line before ends).
    end: u64,
    /// Nanoseconds, or NONE.
    at: u64,
    latency: u64,
    /// A client line's `seq`; what a reply answers; or NONE.
    num: u64,
    /// 0: none.
    code: u16,
    /// Index + 1 in VERBS; 0: none.
    verb: u8,
    kind: LineKind,
    flags: u8,
}

/// The transcript's lines, oldest first; the oldest may have been dropped.
#[derive(Debug, Default, Clone)]
pub struct Lines {
    text: String,
    recs: VecDeque<Rec>,
    /// Absolute index of `recs[0]` (the lines dropped so far).
    first: u64,
    /// Absolute arena offset of `text[0]`.
    base: u64,
    secrets: VecDeque<(u64, Box<str>)>,
    raws: VecDeque<(u64, Box<[u8]>)>,
    errors: VecDeque<(u64, ReplyError)>,
}

fn nanos(d: Option<Duration>) -> u64 {
    d.map_or(NONE, |d| u64::try_from(d.as_nanos()).unwrap_or(NONE - 1))
}

fn duration(n: u64) -> Option<Duration> {
    (n != NONE).then(|| Duration::from_nanos(n))
}

fn find<T>(table: &VecDeque<(u64, T)>, at: u64) -> Option<&T> {
    let i = table.binary_search_by_key(&at, |(i, _)| *i).ok()?;
    table.get(i).map(|(_, v)| v)
}

fn drop_before<T>(table: &mut VecDeque<(u64, T)>, first: u64) {
    while table.front().is_some_and(|(i, _)| *i < first) {
        table.pop_front();
    }
}

impl Lines {
    /// Lines kept.
    pub fn len(&self) -> usize {
        self.recs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.recs.is_empty()
    }

    /// Lines dropped from the front so far.
    pub fn dropped(&self) -> usize {
        usize::try_from(self.first).unwrap_or(usize::MAX)
    }

    /// Lines ever pushed: where the next line will be, counting dropped ones.
    pub fn next_index(&self) -> u64 {
        self.first + self.recs.len() as u64
    }

    fn push(&mut self, text: &str, rec: Rec) {
        // Grown by an eighth, not doubled: at a million lines doubling
        // could leave as much unused as is used.
        if self.text.capacity() - self.text.len() < text.len() {
            let more = (self.text.len() / 8).max(text.len()).max(4096);
            self.text.reserve_exact(more);
        }
        if self.recs.len() == self.recs.capacity() {
            self.recs.reserve_exact((self.recs.len() / 8).max(64));
        }
        self.text.push_str(text);
        let end = self.base + self.text.len() as u64;
        self.recs.push_back(Rec { end, ..rec });
    }

    /// A line to draw that is not a session event (not exported).
    pub fn push_line(&mut self, line: Line) {
        let at = self.next_index();
        if let Some(s) = line.secret.as_deref() {
            self.secrets.push_back((at, s.into()));
        }
        let mut flags = 0;
        if line.continued {
            flags |= CONTINUED;
        }
        if line.secret.is_some() {
            flags |= SECRET;
        }
        self.push(
            &line.text,
            Rec {
                end: 0,
                at: nanos(line.at),
                latency: nanos(line.latency),
                num: NONE,
                code: line.code.unwrap_or(0),
                verb: 0,
                kind: line.kind,
                flags,
            },
        );
    }

    /// The lines of one session event.
    pub fn push_event(&mut self, timed: &Timed) {
        let at = self.next_index();
        let rec = Rec {
            end: 0,
            at: nanos(Some(timed.at)),
            latency: NONE,
            num: NONE,
            code: 0,
            verb: 0,
            kind: LineKind::Info,
            flags: EVENT,
        };
        match &timed.event {
            Event::Sent {
                seq,
                text,
                revealed,
            } => {
                let mut flags = EVENT;
                if let Some(r) = revealed {
                    self.secrets.push_back((at, r.as_str().into()));
                    flags |= SECRET;
                }
                let kind = LineKind::Client;
                self.push(
                    text,
                    Rec {
                        num: *seq,
                        kind,
                        flags,
                        ..rec
                    },
                );
            }
            Event::Reply {
                answers,
                verb,
                reply,
            } => self.push_reply(timed, *answers, *verb, reply, rec),
            Event::BadReply { answers, error } => {
                self.errors.push_back((at, error.clone()));
                let rec = Rec {
                    num: answers.unwrap_or(NONE),
                    kind: LineKind::Error,
                    flags: EVENT | BAD_REPLY,
                    ..rec
                };
                self.push(&format!("malformed reply: {error}"), rec);
            }
            Event::Info(s) => self.push(s, rec),
            Event::Warning(s) => self.push(
                s,
                Rec {
                    kind: LineKind::Warning,
                    ..rec
                },
            ),
            Event::Error(s) => self.push(
                s,
                Rec {
                    kind: LineKind::Error,
                    ..rec
                },
            ),
        }
    }

    fn push_reply(
        &mut self,
        timed: &Timed,
        answers: Option<u64>,
        verb: Option<Verb>,
        reply: &Reply,
        rec: Rec,
    ) {
        let verb = verb
            .and_then(|v| VERBS.iter().position(|x| *x == v))
            .map_or(0, |i| i as u8 + 1);
        let n = reply.lines.len();
        for (i, raw) in reply.lines.iter().enumerate() {
            let shown = visible(raw);
            let mut flags = if i == 0 { EVENT } else { CONTINUED };
            if shown.as_bytes() != raw.as_slice() {
                self.raws
                    .push_back((self.next_index(), raw.as_slice().into()));
                flags |= RAW;
            }
            let line = Rec {
                at: if i == 0 { rec.at } else { NONE },
                latency: if i + 1 == n {
                    nanos(timed.latency)
                } else {
                    NONE
                },
                num: answers.unwrap_or(NONE),
                code: reply.code.value(),
                verb,
                kind: LineKind::Server,
                flags,
                ..rec
            };
            self.push(&shown, line);
        }
    }

    /// Line `i` of those kept, oldest first.
    pub fn get(&self, i: usize) -> Option<LineView<'_>> {
        let rec = self.recs.get(i)?;
        let start = match i {
            0 => self.base,
            _ => self.recs.get(i - 1)?.end,
        };
        let text = self
            .text
            .get((start - self.base) as usize..(rec.end - self.base) as usize)?;
        let abs = self.first + i as u64;
        let secret = if rec.flags & SECRET != 0 {
            find(&self.secrets, abs).map(|s| &**s)
        } else {
            None
        };
        Some(LineView {
            at: duration(rec.at),
            kind: rec.kind,
            text,
            secret,
            code: (rec.code != 0).then_some(rec.code),
            latency: duration(rec.latency),
            continued: rec.flags & CONTINUED != 0,
        })
    }

    /// The newest line that is part of a reply, looking back at most `within` lines.
    pub fn last_reply(&self, within: usize) -> Option<LineView<'_>> {
        let n = self.len();
        (n.saturating_sub(within)..n)
            .rev()
            .find(|&i| self.recs.get(i).is_some_and(|r| r.code != 0))
            .and_then(|i| self.get(i))
    }

    /// Drops the oldest lines past `keep`; returns how many went.
    pub fn trim(&mut self, keep: usize) -> usize {
        let n = self.len().saturating_sub(keep);
        if n == 0 {
            return 0;
        }
        let cut = self.recs.get(n - 1).map_or(self.base, |r| r.end);
        self.text.drain(..(cut - self.base) as usize);
        self.base = cut;
        self.recs.drain(..n);
        self.first += n as u64;
        drop_before(&mut self.secrets, self.first);
        drop_before(&mut self.raws, self.first);
        drop_before(&mut self.errors, self.first);
        n
    }

    /// What lesson steps check, from absolute line `from` on.
    pub fn said_since(&self, from: u64) -> impl Iterator<Item = Said<'_>> + Clone {
        let skip = from.saturating_sub(self.first) as usize;
        (skip..self.len()).filter_map(move |i| {
            let rec = self.recs.get(i)?;
            if rec.flags & EVENT == 0 || rec.flags & BAD_REPLY != 0 {
                return None;
            }
            match rec.kind {
                LineKind::Client => Some(Said::Sent {
                    seq: rec.num,
                    text: self.get(i)?.text,
                }),
                LineKind::Server => Some(Said::Reply {
                    answers: (rec.num != NONE).then_some(rec.num),
                    code: rec.code,
                }),
                _ => None,
            }
        })
    }

    /// The session events kept, rebuilt one at a time (for the exports).
    pub fn events(&self) -> impl Iterator<Item = Timed> + '_ {
        (0..self.len()).filter_map(move |i| self.event_at(i))
    }

    fn event_at(&self, i: usize) -> Option<Timed> {
        let rec = self.recs.get(i)?;
        if rec.flags & EVENT == 0 {
            return None;
        }
        let line = self.get(i)?;
        let abs = self.first + i as u64;
        let answers = (rec.num != NONE).then_some(rec.num);
        let mut latency = line.latency;
        let event = match (rec.kind, rec.flags & BAD_REPLY != 0) {
            (_, true) => Event::BadReply {
                answers,
                error: find(&self.errors, abs)?.clone(),
            },
            (LineKind::Client, _) => Event::Sent {
                seq: rec.num,
                text: line.text.to_string(),
                revealed: line.secret.map(str::to_string),
            },
            (LineKind::Server, _) => {
                let mut lines = Vec::new();
                for j in i.. {
                    match self.recs.get(j) {
                        Some(r) if j == i || r.flags & CONTINUED != 0 => {
                            let shown = self.get(j)?;
                            latency = shown.latency;
                            lines.push(match r.flags & RAW {
                                0 => shown.text.as_bytes().to_vec(),
                                _ => find(&self.raws, self.first + j as u64)?.to_vec(),
                            });
                        }
                        _ => break,
                    }
                }
                let enhanced = lines
                    .first()
                    .and_then(|l| l.get(4..))
                    .and_then(EnhancedStatus::parse_prefix)
                    .map(|(e, _)| e);
                Event::Reply {
                    answers,
                    verb: usize::from(rec.verb)
                        .checked_sub(1)
                        .and_then(|v| VERBS.get(v))
                        .copied(),
                    reply: Reply {
                        code: ReplyCode::new(rec.code)?,
                        enhanced,
                        lines,
                        deviations: Vec::new(),
                    },
                }
            }
            (LineKind::Info, _) => Event::Info(line.text.to_string()),
            (LineKind::Warning, _) => Event::Warning(line.text.to_string()),
            (LineKind::Error, _) => Event::Error(line.text.to_string()),
        };
        Some(Timed {
            at: line.at.unwrap_or_default(),
            latency,
            event,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timed(ms: u64, latency: Option<u64>, event: Event) -> Timed {
        Timed {
            at: Duration::from_millis(ms),
            latency: latency.map(Duration::from_micros),
            event,
        }
    }

    fn events() -> Vec<Timed> {
        let code = |c| ReplyCode::new(c).unwrap();
        let mut escaped = Reply::new(code(250), "2.0.0 a\nliteral \u{241b} and ESC \u{1b}[2J");
        escaped.lines.push(b"250 bad \xff byte".to_vec());
        escaped.lines[1][3] = b'-';
        vec![
            timed(0, None, Event::Info("connected".into())),
            timed(
                1,
                Some(1234),
                Event::Reply {
                    answers: Some(0),
                    verb: None,
                    reply: Reply::new(code(220), "mx ESMTP"),
                },
            ),
            timed(
                2,
                None,
                Event::Sent {
                    seq: 1,
                    text: "AUTH PLAIN ********".into(),
                    revealed: Some("AUTH PLAIN AGEAYg==".into()),
                },
            ),
            timed(
                3,
                Some(999),
                Event::Reply {
                    answers: Some(1),
                    verb: Some(Verb::Bdat { last: true }),
                    reply: escaped,
                },
            ),
            timed(
                4,
                None,
                Event::BadReply {
                    answers: Some(2),
                    error: ReplyError::TooManyLines { limit: 1000 },
                },
            ),
            timed(5, None, Event::Warning("careful".into())),
            timed(6, None, Event::Error("gone".into())),
        ]
    }

    #[test]
    fn every_event_comes_back_as_it_went_in() {
        let mut lines = Lines::default();
        lines.push_line(Line {
            at: None,
            kind: LineKind::Info,
            text: "── session 1 ──".into(),
            secret: None,
            code: None,
            latency: None,
            continued: false,
        });
        for e in events() {
            lines.push_event(&e);
        }
        let back: Vec<Timed> = lines.events().collect();
        assert_eq!(back, events(), "the banner is drawn, not exported");
        let esc = lines.get(5).unwrap();
        assert_eq!(esc.text, "250-literal ␛ and ESC ␛[2J");
        assert!(esc.continued && esc.at.is_none());
        assert_eq!(lines.get(3).unwrap().shown(true), "AUTH PLAIN AGEAYg==");
        assert!(lines.get(3).unwrap().is_masked(false));
        assert_eq!(
            lines.get(7).unwrap().text,
            "malformed reply: reply has more than 1000 lines"
        );
    }

    #[test]
    fn dropping_the_oldest_keeps_the_rest_whole() {
        let mut lines = Lines::default();
        for e in events() {
            lines.push_event(&e);
        }
        // Into the middle of the three-line reply: its tail is drawn, not exported.
        assert_eq!(lines.trim(lines.len() - 4), 4);
        assert_eq!(lines.dropped(), 4);
        assert_eq!(lines.get(0).unwrap().text, "250-literal ␛ and ESC ␛[2J");
        let back: Vec<Timed> = lines.events().collect();
        assert_eq!(back, events()[4..].to_vec());
        assert_eq!(lines.said_since(0).count(), 0);
        assert_eq!(lines.next_index(), 9);
    }

    #[test]
    fn lessons_see_what_was_sent_and_answered() {
        let mut lines = Lines::default();
        for e in events() {
            lines.push_event(&e);
        }
        let said: Vec<Said> = lines.said_since(2).collect();
        assert_eq!(
            said,
            [
                Said::Sent {
                    seq: 1,
                    text: "AUTH PLAIN ********"
                },
                Said::Reply {
                    answers: Some(1),
                    code: 250
                }
            ]
        );
    }
}
