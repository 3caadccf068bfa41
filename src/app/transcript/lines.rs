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

/// The arena holds at most this much text: the records keep 32-bit offsets.
/// (A million lines of a typical session hold about 50 MB.)
pub const MAX_TEXT: usize = 1 << 31;

const CONTINUED: u8 = 1;
/// The unmasked text is in `secrets`.
const SECRET: u8 = 2;
/// The server's bytes differ from the visible text; they are in `raws`.
const RAW: u8 = 4;
/// The first line of a session event (exported); other lines are drawn only.
const EVENT: u8 = 8;
/// An unreadable reply; its error is in `errors`.
const BAD_REPLY: u8 = 16;
/// A time or number too large for the record; all three are in `wide`.
const WIDE: u8 = 32;

/// `Rec::at` when the line has no time (48 bits, all ones).
const AT_NONE: u64 = (1 << 48) - 1;
/// `Rec::latency` and `Rec::num` when there is none.
const NONE32: u32 = u32::MAX;

/// The verbs a reply may answer, by their one-byte index (0: none).
const VERBS: [Verb; 18] = [
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
    Verb::Lhlo,
    Verb::Xclient,
];

// 24 bytes: with 40-60 bytes of text a line stays well under 100. Times
// are kept to the nanosecond, as the exports round them their own way; what
// does not fit (a session past 78 hours, a reply slower than 4.29 s, a line
// number past four billion) goes whole into `Lines::wide`.
#[derive(Debug, Clone, Copy)]
struct Rec {
    /// Where the line's text ends in the arena: its absolute offset, wrapped
    /// to 32 bits (the line starts where the one before ends). The arena
    /// holds less than 4 GiB, so offsets relative to its start are exact.
    end: u32,
    /// Nanoseconds since the connection began, low 32 bits; `at_hi` holds
    /// the next 16; all ones: none.
    at_lo: u32,
    at_hi: u16,
    /// 0: none.
    code: u16,
    /// Nanoseconds, or NONE32.
    latency: u32,
    /// A client line's `seq`; what a reply answers; or NONE32.
    num: u32,
    /// Index + 1 in VERBS; 0: none.
    verb: u8,
    kind: LineKind,
    flags: u8,
}

/// A line's times and number in full: what a record holds in short.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Wide {
    at: Option<Duration>,
    latency: Option<Duration>,
    num: Option<u64>,
}

/// A line as pushed, before its times and number are packed.
#[derive(Debug, Clone, Copy)]
struct Meta {
    wide: Wide,
    code: u16,
    verb: u8,
    kind: LineKind,
    flags: u8,
}

/// Where the transcript's bytes go, by capacity (for the memory benchmark).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footprint {
    /// The fixed record of every line.
    pub records: usize,
    /// The lines' text.
    pub text: usize,
    /// Secrets, raw server bytes, reply errors and times too wide for a record.
    pub side: usize,
}

/// The transcript's lines, oldest first; the oldest may have been dropped.
#[derive(Debug, Default, Clone)]
pub struct Lines {
    text: String,
    recs: VecDeque<Rec>,
    /// Absolute index of `recs[0]` (the lines dropped so far).
    first: u64,
    /// Absolute arena offset of `text[0]`, wrapped to 32 bits like `Rec::end`.
    base: u32,
    secrets: VecDeque<(u64, Box<str>)>,
    raws: VecDeque<(u64, Box<[u8]>)>,
    errors: VecDeque<(u64, ReplyError)>,
    wide: VecDeque<(u64, Wide)>,
}

impl Wide {
    /// Packed as (at_lo, at_hi, latency, num), when each fits.
    fn pack(&self) -> Option<(u32, u16, u32, u32)> {
        let at = match self.at {
            None => AT_NONE,
            Some(d) => u64::try_from(d.as_nanos()).ok().filter(|&n| n < AT_NONE)?,
        };
        let latency = match self.latency {
            None => NONE32,
            Some(d) => u32::try_from(d.as_nanos()).ok().filter(|&n| n < NONE32)?,
        };
        let num = match self.num {
            None => NONE32,
            Some(n) => u32::try_from(n).ok().filter(|&n| n < NONE32)?,
        };
        Some((at as u32, (at >> 32) as u16, latency, num))
    }

    fn unpack(rec: &Rec) -> Self {
        let at = u64::from(rec.at_lo) | u64::from(rec.at_hi) << 32;
        Self {
            at: (at != AT_NONE).then(|| Duration::from_nanos(at)),
            latency: (rec.latency != NONE32).then(|| Duration::from_nanos(rec.latency.into())),
            num: (rec.num != NONE32).then_some(rec.num.into()),
        }
    }
}

/// The longest prefix of `text` within `max` bytes, on a character boundary.
fn clip(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
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

    /// The bytes the transcript holds, by where they go.
    pub fn footprint(&self) -> Footprint {
        use std::mem::size_of_val;
        let table = |len: usize, one: usize| len * one;
        Footprint {
            records: table(self.recs.capacity(), std::mem::size_of::<Rec>()),
            text: self.text.capacity(),
            side: table(
                self.secrets.capacity(),
                std::mem::size_of::<(u64, Box<str>)>(),
            ) + self.secrets.iter().map(|(_, s)| s.len()).sum::<usize>()
                + table(
                    self.raws.capacity(),
                    std::mem::size_of::<(u64, Box<[u8]>)>(),
                )
                + self
                    .raws
                    .iter()
                    .map(|(_, r)| size_of_val(&**r))
                    .sum::<usize>()
                + table(
                    self.errors.capacity(),
                    std::mem::size_of::<(u64, ReplyError)>(),
                )
                + table(self.wide.capacity(), std::mem::size_of::<(u64, Wide)>()),
        }
    }

    /// The bytes of text kept.
    pub fn text_len(&self) -> usize {
        self.text.len()
    }

    fn push(&mut self, text: &str, meta: Meta) {
        // One line cannot take the arena past what 32-bit offsets reach.
        let text = clip(text, MAX_TEXT);
        // Grown by an eighth, not doubled: at a million lines doubling
        // could leave as much unused as is used.
        if self.text.capacity() - self.text.len() < text.len() {
            let more = (self.text.len() / 8).max(text.len()).max(4096);
            self.text.reserve_exact(more);
        }
        if self.recs.len() == self.recs.capacity() {
            self.recs.reserve_exact((self.recs.len() / 8).max(64));
        }
        let mut flags = meta.flags;
        let (at_lo, at_hi, latency, num) = meta.wide.pack().unwrap_or_else(|| {
            self.wide.push_back((self.next_index(), meta.wide));
            flags |= WIDE;
            (0, 0, 0, 0)
        });
        self.text.push_str(text);
        self.recs.push_back(Rec {
            end: self.base.wrapping_add(self.text.len() as u32),
            at_lo,
            at_hi,
            code: meta.code,
            latency,
            num,
            verb: meta.verb,
            kind: meta.kind,
            flags,
        });
    }

    /// Line `i`'s times and number.
    fn wide(&self, i: usize, rec: &Rec) -> Wide {
        match rec.flags & WIDE {
            0 => Wide::unpack(rec),
            _ => find(&self.wide, self.first + i as u64)
                .copied()
                .unwrap_or_default(),
        }
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
            Meta {
                wide: Wide {
                    at: line.at,
                    latency: line.latency,
                    num: None,
                },
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
        let rec = Meta {
            wide: Wide {
                at: Some(timed.at),
                latency: None,
                num: None,
            },
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
                    Meta {
                        wide: Wide {
                            num: Some(*seq),
                            ..rec.wide
                        },
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
                let rec = Meta {
                    wide: Wide {
                        num: *answers,
                        ..rec.wide
                    },
                    kind: LineKind::Error,
                    flags: EVENT | BAD_REPLY,
                    ..rec
                };
                self.push(&format!("malformed reply: {error}"), rec);
            }
            Event::Info(s) => self.push(s, rec),
            Event::Warning(s) => self.push(
                s,
                Meta {
                    kind: LineKind::Warning,
                    ..rec
                },
            ),
            Event::Error(s) => self.push(
                s,
                Meta {
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
        rec: Meta,
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
            let line = Meta {
                wide: Wide {
                    at: rec.wide.at.filter(|_| i == 0),
                    latency: timed.latency.filter(|_| i + 1 == n),
                    num: answers,
                },
                code: reply.code.value(),
                verb,
                kind: LineKind::Server,
                flags,
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
        let offset = |end: u32| end.wrapping_sub(self.base) as usize;
        let text = self.text.get(offset(start)..offset(rec.end))?;
        let abs = self.first + i as u64;
        let secret = if rec.flags & SECRET != 0 {
            find(&self.secrets, abs).map(|s| &**s)
        } else {
            None
        };
        let wide = self.wide(i, rec);
        Some(LineView {
            at: wide.at,
            kind: rec.kind,
            text,
            secret,
            code: (rec.code != 0).then_some(rec.code),
            latency: wide.latency,
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
        self.text.drain(..cut.wrapping_sub(self.base) as usize);
        self.base = cut;
        self.recs.drain(..n);
        self.first += n as u64;
        drop_before(&mut self.secrets, self.first);
        drop_before(&mut self.raws, self.first);
        drop_before(&mut self.errors, self.first);
        drop_before(&mut self.wide, self.first);
        n
    }

    /// Drops the oldest lines until at most `max` bytes of text are kept;
    /// returns how many went.
    pub fn trim_text(&mut self, max: usize) -> usize {
        let total = self.text.len();
        // Ends grow line by line, so the lines to drop are a prefix.
        let n = self
            .recs
            .partition_point(|r| total - r.end.wrapping_sub(self.base) as usize > max);
        // Dropping those still leaves too much; the one after them is the last to go.
        let n = if total <= max {
            0
        } else {
            (n + 1).min(self.len())
        };
        self.trim(self.len() - n)
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
                    seq: self.wide(i, rec).num?,
                    text: self.get(i)?.text,
                }),
                LineKind::Server => Some(Said::Reply {
                    answers: self.wide(i, rec).num,
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

    pub fn event_at(&self, i: usize) -> Option<Timed> {
        let rec = self.recs.get(i)?;
        if rec.flags & EVENT == 0 {
            return None;
        }
        let line = self.get(i)?;
        let abs = self.first + i as u64;
        let answers = self.wide(i, rec).num;
        let mut latency = line.latency;
        let event = match (rec.kind, rec.flags & BAD_REPLY != 0) {
            (_, true) => Event::BadReply {
                answers,
                error: find(&self.errors, abs)?.clone(),
            },
            (LineKind::Client, _) => Event::Sent {
                seq: answers?,
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
    use crate::transcript::{Format, Writer};

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

    /// Events with times and numbers a record cannot hold, and times on
    /// the exports' rounding edges.
    fn awkward() -> Vec<Timed> {
        let at = |secs, nanos| Duration::new(secs, nanos);
        let mut out = events();
        out.extend([
            Timed {
                at: at(1, 234_500_000),
                latency: Some(at(0, 1_234_500)),
                event: Event::Reply {
                    answers: Some(3),
                    verb: Some(Verb::Rcpt),
                    reply: Reply::new(ReplyCode::new(554).unwrap(), "5.7.1 a\nb"),
                },
            },
            Timed {
                // Past 78 hours, and a seq past four billion.
                at: at(300_000, 999_999_999),
                latency: None,
                event: Event::Sent {
                    seq: 5_000_000_000,
                    text: "NOOP".into(),
                    revealed: None,
                },
            },
            Timed {
                at: at(300_001, 1),
                latency: Some(at(7, 5)),
                event: Event::Reply {
                    answers: Some(5_000_000_000),
                    verb: Some(Verb::Noop),
                    reply: Reply::new(ReplyCode::new(250).unwrap(), "2.0.0 Ok"),
                },
            },
        ]);
        out
    }

    fn written(events: impl Iterator<Item = Timed>, format: Format, reveal: bool) -> String {
        let mut w = Writer::new(Vec::new(), format, reveal);
        for e in events {
            w.write(&e).unwrap();
        }
        String::from_utf8(w.into_inner()).unwrap()
    }

    #[test]
    fn the_exports_are_what_the_writer_makes_of_the_events_themselves() {
        let mut lines = Lines::default();
        for e in awkward() {
            lines.push_event(&e);
        }
        assert_eq!(lines.events().collect::<Vec<_>>(), awkward());
        for format in [Format::Text, Format::Json] {
            for reveal in [false, true] {
                assert_eq!(
                    written(lines.events(), format, reveal),
                    written(awkward().into_iter(), format, reveal),
                    "{format:?}, reveal {reveal}"
                );
            }
        }
        let last = lines.get(lines.len() - 1).unwrap();
        assert_eq!(last.latency, Some(Duration::new(7, 5)), "kept whole");
    }

    #[test]
    fn a_line_stays_at_24_bytes_beside_its_text() {
        assert_eq!(std::mem::size_of::<Rec>(), 24);
    }

    #[test]
    fn trimming_by_text_drops_the_fewest_oldest_lines() {
        let mut lines = Lines::default();
        for e in events() {
            lines.push_event(&e);
        }
        let total = lines.text_len();
        assert_eq!(lines.trim_text(total), 0);
        let first = lines.get(0).unwrap().text.len();
        assert_eq!(lines.trim_text(total - 1), 1);
        assert_eq!(lines.text_len(), total - first);
        assert_eq!(lines.get(0).unwrap().text, "220 mx ESMTP");
        let n = lines.len();
        assert_eq!(lines.trim_text(0), n);
        assert!(lines.is_empty());
        assert_eq!(lines.next_index(), 9);
    }
}
