//! What the teacher's view knows: every session the server reported, each
//! with its transcript, its accepted messages and the rules that fired,
//! all bounded; which one is selected, the filter by student, the scroll.
//! Built from the server's [`LogEvent`]s only; drawing reads it and never
//! changes it.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use crate::analysis::compare::{compare, EnvelopeSide, HeaderSide};
use crate::analysis::Finding;
use crate::app::LineKind;
use crate::proto::visible::visible;
use crate::server::{LogEvent, StoredMessage};

/// Sessions kept; past this the oldest closed ones go first.
pub const MAX_SESSIONS: usize = 1_000;
/// Transcript lines kept per session; past this the oldest go (and are
/// counted, so that the view says so).
pub const MAX_LINES: usize = 20_000;
/// Accepted messages and fired rules kept per session, newest last.
pub const MAX_CARDS: usize = 50;
/// A line from the network is cut here (made visible first), whatever
/// the server's own limits.
pub const MAX_LINE_CHARS: usize = 2_000;

/// One line of a session's transcript.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Seconds since the Unix epoch, for the HH:MM:SS column.
    pub at: u64,
    pub kind: LineKind,
    /// The reply's code for colour (servers' lines only).
    pub code: Option<u16>,
    /// Made visible: no byte of it acts on the terminal.
    pub text: String,
}

/// An accepted message, with what its envelope and header fields differ
/// in (worked out once, when it comes).
#[derive(Debug, Clone)]
pub struct Card {
    pub message: Arc<StoredMessage>,
    pub findings: Vec<Finding>,
}

impl Card {
    fn new(message: Arc<StoredMessage>) -> Self {
        let r = &message.received;
        let envelope = EnvelopeSide {
            mail_from: (!r.mail_from.is_empty()).then(|| r.mail_from.clone()),
            rcpts: r.rcpts.iter().map(|(a, _)| a.clone()).collect(),
        };
        let headers = HeaderSide::from_message(&r.content);
        let findings = compare(&envelope, &headers)
            .into_iter()
            // The card shows the envelope sender itself.
            .filter(|f| f.tag != "return-path")
            .map(|f| Finding {
                text: shown(&f.text),
                ..f
            })
            .collect();
        Self { message, findings }
    }
}

/// One client's session.
#[derive(Debug, Clone)]
pub struct Session {
    pub conn: u64,
    pub peer: SocketAddr,
    pub helo: Option<String>,
    pub user: Option<String>,
    pub stage: &'static str,
    pub tls: bool,
    pub open: bool,
    pub messages: u64,
    /// Replies of 4xx and 5xx the server gave.
    pub refusals: u64,
    pub lines: VecDeque<Entry>,
    /// Lines dropped from the front past [`MAX_LINES`].
    pub dropped: u64,
    pub cards: VecDeque<Card>,
    /// Each fired rule as one line: which, where and why.
    pub rules: VecDeque<String>,
}

impl Session {
    fn new(conn: u64, peer: SocketAddr) -> Self {
        Self {
            conn,
            peer,
            helo: None,
            user: None,
            stage: "connect",
            tls: false,
            open: true,
            messages: 0,
            refusals: 0,
            lines: VecDeque::new(),
            dropped: 0,
            cards: VecDeque::new(),
            rules: VecDeque::new(),
        }
    }

    fn push(&mut self, at: u64, kind: LineKind, code: Option<u16>, text: String) {
        if self.lines.len() >= MAX_LINES {
            self.lines.pop_front();
            self.dropped += 1;
        }
        self.lines.push_back(Entry {
            at,
            kind,
            code,
            text,
        });
    }

    /// True when `filter` (lower case) is in its AUTH user, address or
    /// EHLO name.
    pub fn matches(&self, filter: &str) -> bool {
        filter.is_empty()
            || self
                .user
                .as_deref()
                .is_some_and(|u| u.to_lowercase().contains(filter))
            || self.peer.to_string().contains(filter)
            || self
                .helo
                .as_deref()
                .is_some_and(|h| h.to_lowercase().contains(filter))
    }
}

/// Which pane the keys go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Focus {
    #[default]
    Sessions,
    Transcript,
    Messages,
}

/// The whole view's state.
#[derive(Debug, Default)]
pub struct Dashboard {
    /// The server's address, once it listens.
    pub listen: Option<SocketAddr>,
    /// What the server was started with (policy, TLS, rules), for the help.
    pub intro: Vec<String>,
    /// In the order they connected (connection numbers grow).
    pub sessions: VecDeque<Session>,
    /// Connections refused before a session began (too many at once).
    pub refused: u64,
    /// Sessions forgotten past [`MAX_SESSIONS`].
    pub forgotten: u64,
    /// The selected session's connection number.
    pub selected: Option<u64>,
    pub focus: Focus,
    /// The filter by student, as typed (matched in lower case).
    pub filter: String,
    /// The filter line takes the keys.
    pub filtering: bool,
    /// Transcript lines scrolled up from the live end (0 follows it).
    pub scroll: usize,
    /// Rows scrolled down in the messages pane.
    pub cards_scroll: usize,
    pub help: bool,
    /// Rows scrolled down in the help.
    pub help_scroll: usize,
    /// Set by `q`, Esc or Ctrl-C.
    pub quit: bool,
}

fn secs(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

/// Made visible and cut at [`MAX_LINE_CHARS`] (with "…").
pub fn shown(text: &str) -> String {
    let mut out = visible(text.as_bytes());
    if let Some((i, _)) = out.char_indices().nth(MAX_LINE_CHARS) {
        out.truncate(i);
        out.push('…');
    }
    out
}

impl Dashboard {
    /// Takes in one event of the server, at `now`.
    pub fn apply(&mut self, event: &LogEvent, now: SystemTime) {
        let at = secs(now);
        match event {
            LogEvent::Listening { addr } => self.listen = Some(*addr),
            LogEvent::Refused { .. } => self.refused += 1,
            LogEvent::Connected { conn, peer } => self.connected(*conn, *peer),
            LogEvent::Command { conn, text } => {
                if let Some(s) = self.session(*conn) {
                    s.push(at, LineKind::Client, None, shown(text));
                }
            }
            LogEvent::Reply { conn, text } => {
                if let Some(s) = self.session(*conn) {
                    let code = text.get(..3).and_then(|c| c.parse::<u16>().ok());
                    if code.is_some_and(|c| c >= 400) {
                        s.refusals += 1;
                    }
                    for line in text.split('\n') {
                        s.push(at, LineKind::Server, code, shown(line));
                    }
                }
            }
            LogEvent::Tls { conn, detail } => {
                if let Some(s) = self.session(*conn) {
                    s.push(at, LineKind::Info, None, shown(detail));
                }
            }
            LogEvent::Problem { conn, text } => {
                if let Some(s) = self.session(*conn) {
                    s.push(at, LineKind::Error, None, shown(text));
                }
            }
            LogEvent::Rule { conn, ruling } => {
                if let Some(s) = self.session(*conn) {
                    let line = shown(&format!(
                        "{} fired at {}: {}",
                        ruling.label(),
                        ruling.stage.name(),
                        ruling.why
                    ));
                    s.push(at, LineKind::Warning, None, line.clone());
                    if s.rules.len() >= MAX_CARDS {
                        s.rules.pop_front();
                    }
                    s.rules.push_back(line);
                }
            }
            LogEvent::Message { conn, message } => {
                if let Some(s) = self.session(*conn) {
                    s.messages += 1;
                    let line = format!("message {} accepted", message.received.id);
                    s.push(at, LineKind::Info, None, shown(&line));
                    if s.cards.len() >= MAX_CARDS {
                        s.cards.pop_front();
                    }
                    s.cards.push_back(Card::new(message.clone()));
                }
            }
            LogEvent::Session { conn, summary } => {
                if let Some(s) = self.session(*conn) {
                    s.stage = summary.stage;
                    s.helo = summary.helo.as_deref().map(shown);
                    s.user = summary.user.as_deref().map(shown);
                    s.tls = summary.tls;
                }
            }
            LogEvent::Disconnected { conn, .. } => {
                if let Some(s) = self.session(*conn) {
                    s.open = false;
                    s.stage = "closed";
                    s.push(at, LineKind::Info, None, "disconnected".into());
                }
            }
        }
    }

    fn connected(&mut self, conn: u64, peer: SocketAddr) {
        if self.sessions.len() >= MAX_SESSIONS {
            // The oldest closed session goes; if all are open, the oldest.
            let i = self.sessions.iter().position(|s| !s.open).unwrap_or(0);
            if let Some(gone) = self.sessions.remove(i) {
                if self.selected == Some(gone.conn) {
                    self.selected = None;
                }
            }
            self.forgotten += 1;
        }
        self.sessions.push_back(Session::new(conn, peer));
        if self.selected.is_none() {
            self.selected = Some(conn);
        }
    }

    /// The session of connection `conn`, if still kept.
    fn session(&mut self, conn: u64) -> Option<&mut Session> {
        let i = self.sessions.binary_search_by_key(&conn, |s| s.conn).ok()?;
        self.sessions.get_mut(i)
    }

    /// The sessions the filter lets through, in order.
    pub fn visible(&self) -> impl Iterator<Item = &Session> {
        let f = self.filter.to_lowercase();
        self.sessions.iter().filter(move |s| s.matches(&f))
    }

    /// The selected session, if the filter shows it.
    pub fn current(&self) -> Option<&Session> {
        let conn = self.selected?;
        self.visible().find(|s| s.conn == conn)
    }

    /// Sessions open now.
    pub fn open(&self) -> usize {
        self.sessions.iter().filter(|s| s.open).count()
    }

    /// Messages accepted in the sessions kept.
    pub fn messages(&self) -> u64 {
        self.sessions.iter().map(|s| s.messages).sum()
    }

    /// Moves the selection `by` sessions among those the filter shows.
    pub fn select_by(&mut self, by: isize) {
        let shown: Vec<u64> = self.visible().map(|s| s.conn).collect();
        if shown.is_empty() {
            return;
        }
        let at = self
            .selected
            .and_then(|c| shown.iter().position(|&x| x == c));
        let next = match at {
            Some(i) => (i as isize + by).clamp(0, shown.len() as isize - 1) as usize,
            None if by < 0 => shown.len() - 1,
            None => 0,
        };
        if self.selected != Some(shown[next]) {
            self.selected = Some(shown[next]);
            self.scroll = 0;
            self.cards_scroll = 0;
        }
    }

    /// Scrolls the transcript `by` lines up (positive) or down, bounded by
    /// the selected session's length.
    pub fn scroll_by(&mut self, by: isize) {
        let len = self.current().map_or(0, |s| s.lines.len());
        self.scroll = (self.scroll as isize + by).clamp(0, len.saturating_sub(1) as isize) as usize;
    }

    /// After the filter changed: keep the selection if the filter shows
    /// it, else take the first session it shows.
    pub fn refilter(&mut self) {
        if self.current().is_none() {
            let first = self.visible().next().map(|s| s.conn);
            self.selected = first;
            self.scroll = 0;
            self.cards_scroll = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::server::SessionSummary;

    fn peer(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    fn at() -> SystemTime {
        SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(9 * 3600)
    }

    fn student(d: &mut Dashboard, conn: u64, port: u16, user: Option<&str>, helo: &str) {
        d.apply(
            &LogEvent::Connected {
                conn,
                peer: peer(port),
            },
            at(),
        );
        d.apply(
            &LogEvent::Session {
                conn,
                summary: SessionSummary {
                    stage: "ehlo",
                    helo: Some(helo.into()),
                    user: user.map(Into::into),
                    tls: false,
                },
            },
            at(),
        );
    }

    #[test]
    fn a_session_is_listed_with_its_names_stage_and_counts() {
        let mut d = Dashboard::default();
        student(&mut d, 1, 40001, Some("alice@example.test"), "pc1.example");
        for (conn, text) in [(1, "MAIL FROM:<a@b.example>"), (1, "RCPT TO:<x@elsewhere>")] {
            d.apply(
                &LogEvent::Command {
                    conn,
                    text: text.into(),
                },
                at(),
            );
        }
        d.apply(
            &LogEvent::Reply {
                conn: 1,
                text: "250 2.1.0 Ok".into(),
            },
            at(),
        );
        d.apply(
            &LogEvent::Reply {
                conn: 1,
                text: "554 5.7.1 Relay access denied".into(),
            },
            at(),
        );
        d.apply(
            &LogEvent::Disconnected {
                conn: 1,
                messages: 0,
            },
            at(),
        );
        let s = d.current().unwrap();
        assert_eq!(s.helo.as_deref(), Some("pc1.example"));
        assert_eq!(s.user.as_deref(), Some("alice@example.test"));
        assert_eq!(s.refusals, 1);
        assert_eq!(s.stage, "closed");
        assert!(!s.open);
        let kinds: Vec<_> = s.lines.iter().map(|l| (l.kind, l.code)).collect();
        assert_eq!(
            kinds,
            [
                (LineKind::Client, None),
                (LineKind::Client, None),
                (LineKind::Server, Some(250)),
                (LineKind::Server, Some(554)),
                (LineKind::Info, None),
            ]
        );
    }

    #[test]
    fn what_a_student_types_is_made_visible_and_bounded() {
        let mut d = Dashboard::default();
        student(&mut d, 1, 40001, None, "\u{1b}]52;c;aGk=\u{7}evil");
        let long = "x".repeat(MAX_LINE_CHARS * 3);
        for text in ["EHLO \u{1b}[2J\u{1b}[31mred", "\u{9b}31m", long.as_str()] {
            d.apply(
                &LogEvent::Command {
                    conn: 1,
                    text: text.into(),
                },
                at(),
            );
        }
        let s = d.current().unwrap();
        assert_eq!(s.helo.as_deref(), Some("␛]52;c;aGk=␇evil"));
        assert_eq!(s.lines[0].text, "EHLO ␛[2J␛[31mred");
        assert_eq!(s.lines[1].text, "\\u{9b}31m");
        assert_eq!(s.lines[2].text.chars().count(), MAX_LINE_CHARS + 1);
        for l in &s.lines {
            assert!(!l.text.chars().any(|c| c.is_control()), "{:?}", l.text);
        }
    }

    #[test]
    fn lines_and_sessions_are_bounded_and_the_drop_counted() {
        let mut d = Dashboard::default();
        student(&mut d, 1, 40001, None, "a");
        for i in 0..MAX_LINES + 10 {
            d.apply(
                &LogEvent::Command {
                    conn: 1,
                    text: format!("NOOP {i}"),
                },
                at(),
            );
        }
        let s = d.current().unwrap();
        assert_eq!(s.lines.len(), MAX_LINES);
        assert_eq!(s.dropped, 10);
        assert_eq!(s.lines[0].text, "NOOP 10");
        // The first session stays open; the closed ones go first.
        for conn in 2..=(MAX_SESSIONS as u64 + 5) {
            d.apply(
                &LogEvent::Connected {
                    conn,
                    peer: peer(1),
                },
                at(),
            );
            d.apply(&LogEvent::Disconnected { conn, messages: 0 }, at());
        }
        assert_eq!(d.sessions.len(), MAX_SESSIONS);
        assert_eq!(d.forgotten, 5);
        assert_eq!(d.sessions[0].conn, 1);
        assert_eq!(d.selected, Some(1));
        // Events of a forgotten session are dropped, not misfiled.
        d.apply(
            &LogEvent::Command {
                conn: 2,
                text: "late".into(),
            },
            at(),
        );
        assert!(d
            .sessions
            .iter()
            .all(|s| s.lines.iter().all(|l| l.text != "late")));
    }

    #[test]
    fn the_filter_finds_a_student_by_user_address_or_ehlo_name() {
        let mut d = Dashboard::default();
        student(&mut d, 1, 40001, Some("alice@example.test"), "pc1.example");
        student(&mut d, 2, 40002, Some("bob@example.test"), "pc2.example");
        student(&mut d, 3, 40003, None, "Laptop.Carol");
        let shown = |d: &Dashboard| d.visible().map(|s| s.conn).collect::<Vec<_>>();
        for (filter, want) in [
            ("", vec![1, 2, 3]),
            ("BOB", vec![2]),
            ("40003", vec![3]),
            ("laptop", vec![3]),
            ("example", vec![1, 2]),
            ("nobody", vec![]),
        ] {
            d.filter = filter.into();
            d.refilter();
            assert_eq!(shown(&d), want, "{filter:?}");
            assert_eq!(d.selected, want.first().copied(), "{filter:?}");
        }
    }

    #[test]
    fn selection_moves_within_the_filtered_list_and_resets_the_scroll() {
        let mut d = Dashboard::default();
        for conn in 1..=3 {
            student(&mut d, conn, 40000 + conn as u16, None, "pc");
            d.apply(
                &LogEvent::Command {
                    conn,
                    text: "NOOP".into(),
                },
                at(),
            );
            d.apply(
                &LogEvent::Command {
                    conn,
                    text: "NOOP".into(),
                },
                at(),
            );
        }
        assert_eq!(d.selected, Some(1));
        d.scroll_by(5);
        assert_eq!(d.scroll, 1, "bounded by the transcript's length");
        d.select_by(1);
        assert_eq!((d.selected, d.scroll), (Some(2), 0));
        d.select_by(10);
        assert_eq!(d.selected, Some(3));
        d.select_by(-10);
        assert_eq!(d.selected, Some(1));
    }
}
