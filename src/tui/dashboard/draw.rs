//! The teacher's view on screen: the status line, the sessions, the
//! selected session's transcript, its messages as envelope-against-headers
//! cards with their verdicts and the rules that fired, and the hint bar.
//! A frame draws only what shows: the transcript is walked back from its
//! live end for as many rows as the pane has, so 10,000 lines cost what
//! 40 do.

use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line as TLine, Span};
use ratatui::widgets::{Clear, Paragraph};
use ratatui::Frame;

use super::model::{Card, Dashboard, Focus, Session};
use crate::analysis::Level;
use crate::app::LineKind;
use crate::server::judge;
use crate::tui::pane::{block, fit_title, list_or_none, wrap_line};
use crate::tui::theme::Theme;

/// Where each pane goes.
pub struct Areas {
    pub status: Rect,
    pub sessions: Rect,
    pub transcript: Rect,
    pub messages: Rect,
    pub hints: Rect,
}

pub fn areas(size: Rect) -> Areas {
    let rows = crate::tui::layout::rows(size);
    let left = (size.width * 38 / 100).clamp(30, 64);
    let cols = Layout::default()
        .direction(Direction::Horizontal)
        .constraints([Constraint::Length(left), Constraint::Min(1)])
        .split(rows[1]);
    let right = Layout::default()
        .direction(Direction::Vertical)
        .constraints([Constraint::Percentage(58), Constraint::Min(4)])
        .split(cols[1]);
    Areas {
        status: rows[0],
        sessions: cols[0],
        transcript: right[0],
        messages: right[1],
        hints: rows[2],
    }
}

pub fn draw(d: &Dashboard, frame: &mut Frame, theme: &Theme) {
    let size = frame.area();
    theme.paint_background(frame, size);
    let a = areas(size);
    status(d, frame, a.status, theme);
    sessions(d, frame, a.sessions, theme);
    transcript(d, frame, a.transcript, theme);
    messages(d, frame, a.messages, theme);
    hints(d, frame, a.hints, theme);
    if d.help {
        help(d, frame, size, theme);
    }
}

fn status(d: &Dashboard, frame: &mut Frame, area: Rect, theme: &Theme) {
    let listen = d
        .listen
        .map_or_else(|| "starting…".to_string(), |a| format!("listening on {a}"));
    let mut parts = vec![
        "Teacher's view".to_string(),
        listen,
        match d.sessions.len() {
            1 => format!("{} open, 1 session", d.open()),
            n => format!("{} open, {n} sessions", d.open()),
        },
        match d.messages() {
            1 => "1 message".to_string(),
            n => format!("{n} messages"),
        },
    ];
    if d.refused > 0 {
        parts.push(format!("{} refused (too many)", d.refused));
    }
    if d.forgotten > 0 {
        parts.push(format!("{} oldest forgotten", d.forgotten));
    }
    let text = fit_title(&parts.join(" │ "), area.width.saturating_add(3));
    frame.render_widget(
        Paragraph::new(format!(" {text}")).style(theme.status()),
        area,
    );
}

/// Each session in two rows: number, address, stage and counts; then the
/// EHLO name and the AUTH user.
fn sessions(d: &Dashboard, frame: &mut Frame, area: Rect, theme: &Theme) {
    let focused = d.focus == Focus::Sessions;
    let shown: Vec<&Session> = d.visible().collect();
    let title = if d.filter.is_empty() {
        format!("Sessions ({})", shown.len())
    } else {
        format!(
            "Sessions ({} of {}) matching “{}”",
            shown.len(),
            d.sessions.len(),
            d.filter
        )
    };
    let title = fit_title(&title, area.width);
    let b = block(&title, focused, theme);
    let inner = b.inner(area);
    frame.render_widget(b, area);
    let width = usize::from(inner.width);
    if shown.is_empty() {
        let text = if d.sessions.is_empty() {
            match d.listen {
                Some(a) => format!(
                    "No one has connected yet. Students connect to {a}, \
                     with telnet, the workbench or a mail program."
                ),
                None => "The server is starting.".into(),
            }
        } else {
            "No session matches the filter (Esc clears it).".into()
        };
        let lines = wrap_line(TLine::from(text), width, 0);
        frame.render_widget(Paragraph::new(lines).style(theme.hint()), inner);
        return;
    }
    let at = d
        .selected
        .and_then(|c| shown.iter().position(|s| s.conn == c))
        .unwrap_or(0);
    // Each session wrapped (nothing cut), then the page of rows that
    // holds the selection.
    let view = usize::from(inner.height).max(1);
    let mut lines: Vec<TLine<'static>> = Vec::new();
    let mut found = false;
    for (i, s) in shown.iter().enumerate() {
        let style = if i == at {
            theme.selected()
        } else {
            theme.base()
        };
        let rows = session_rows(s, width, style);
        if !lines.is_empty() && lines.len() + rows.len() > view {
            if found {
                break;
            }
            lines.clear();
        }
        lines.extend(rows);
        found |= i == at;
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// One session's rows: who (AUTH user, EHLO name), then where from, its
/// stage and counts; wrapped under the text.
fn session_rows(s: &Session, width: usize, style: Style) -> Vec<TLine<'static>> {
    let mark = if s.open { "●" } else { "○" };
    let who = match (&s.user, &s.helo) {
        (Some(u), Some(h)) => format!("{u} · {h}"),
        (Some(u), None) => u.clone(),
        (None, Some(h)) => h.clone(),
        (None, None) => "(no EHLO yet)".into(),
    };
    let tls = if s.tls { " TLS" } else { "" };
    let first = format!("{mark} #{} {who}", s.conn);
    let second = format!(
        "   {} {}{tls} · {} msg · {} refused",
        s.peer, s.stage, s.messages, s.refusals
    );
    let mut rows = wrap_line(TLine::from(first).style(style), width, 3);
    rows.extend(wrap_line(TLine::from(second).style(style), width, 5));
    rows
}

/// The selected session's lines, newest at the bottom, wrapped with each
/// continuation under the text.
fn transcript(d: &Dashboard, frame: &mut Frame, area: Rect, theme: &Theme) {
    let focused = d.focus == Focus::Transcript;
    let Some(s) = d.current() else {
        let b = block("Transcript", focused, theme);
        frame.render_widget(b, area);
        return;
    };
    let who = s.user.as_deref().or(s.helo.as_deref()).unwrap_or("");
    let title = fit_title(
        &format!("Transcript of #{} {who} ({})", s.conn, s.peer),
        area.width,
    );
    let mut b = block(&title, focused, theme);
    let end = s.lines.len().saturating_sub(d.scroll);
    let rows = usize::from(area.height.saturating_sub(2));
    let width = usize::from(area.width.saturating_sub(2));
    let mut out: Vec<TLine<'static>> = Vec::new();
    let mut first = end;
    while first > 0 && out.len() < rows {
        first -= 1;
        let mut wrapped = line(&s.lines[first], width, theme);
        wrapped.append(&mut out);
        out = wrapped;
    }
    // Scrolled to the top (Home): the first page, filled downwards.
    let mut last = end;
    while first == 0 && out.len() < rows && last < s.lines.len() {
        out.extend(line(&s.lines[last], width, theme));
        last += 1;
    }
    out.truncate(if first == 0 { rows } else { out.len() });
    // Only the last rows when the oldest line shown wrapped past the top.
    let skip = out.len().saturating_sub(rows);
    let out: Vec<TLine<'static>> = out.into_iter().skip(skip).collect();
    let earlier = first as u64 + s.dropped;
    let later = s.lines.len() - last;
    let mut notes = Vec::new();
    if earlier > 0 {
        notes.push(format!("▲ {earlier} earlier"));
    }
    if later > 0 {
        notes.push(format!("▼ {later} later (End: live)"));
    }
    if s.dropped > 0 {
        notes.push(format!("{} oldest not kept", s.dropped));
    }
    if !notes.is_empty() {
        b = b.title_bottom(Span::styled(
            format!(" {} ", notes.join(" · ")),
            theme.hint(),
        ));
    }
    let inner = b.inner(area);
    frame.render_widget(b, area);
    frame.render_widget(Paragraph::new(out), inner);
}

/// One transcript entry: `HH:MM:SS C: text`, wrapped.
fn line(e: &super::model::Entry, width: usize, theme: &Theme) -> Vec<TLine<'static>> {
    let marker = match e.kind {
        LineKind::Client => "C:",
        LineKind::Server => "S:",
        LineKind::Info => " ·",
        LineKind::Warning => " !",
        LineKind::Error => "!!",
    };
    let t = e.at;
    let time = format!("{:02}:{:02}:{:02} ", (t / 3600) % 24, (t / 60) % 60, t % 60);
    let head = time.len() + marker.len() + 1;
    let l = TLine::from(vec![
        Span::styled(time, theme.time()),
        Span::styled(format!("{marker} "), theme.line(e.kind, e.code)),
        Span::styled(e.text.clone(), theme.line(e.kind, e.code)),
    ]);
    wrap_line(l, width, head)
}

/// The selected session's accepted messages (newest first), each as its
/// envelope beside its header fields with what differs, its verdicts
/// and its bounce; then the rules that fired.
fn messages(d: &Dashboard, frame: &mut Frame, area: Rect, theme: &Theme) {
    let focused = d.focus == Focus::Messages;
    let Some(s) = d.current() else {
        frame.render_widget(block("Messages and rules", focused, theme), area);
        return;
    };
    let title = fit_title(
        &format!(
            "Messages ({}) and rules fired ({}) of #{}",
            s.cards.len(),
            s.rules.len(),
            s.conn
        ),
        area.width,
    );
    let width = usize::from(area.width.saturating_sub(2));
    let mut lines: Vec<TLine<'static>> = Vec::new();
    for card in s.cards.iter().rev() {
        card_lines(card, width, theme, &mut lines);
    }
    if !s.rules.is_empty() {
        push(&mut lines, width, theme.label(), "rules fired".into());
        for r in s.rules.iter().rev() {
            push(
                &mut lines,
                width,
                theme.line(LineKind::Warning, None),
                format!("  {r}"),
            );
        }
    }
    if lines.is_empty() {
        push(
            &mut lines,
            width,
            theme.hint(),
            "No message accepted and no rule fired in this session yet.".into(),
        );
    }
    let view = usize::from(area.height.saturating_sub(2));
    let offset = d.cards_scroll.min(lines.len().saturating_sub(view));
    let mut b = block(&title, focused, theme);
    if let Some(more) = crate::tui::pane::more(
        u16::try_from(offset).unwrap_or(u16::MAX),
        u16::try_from(lines.len()).unwrap_or(u16::MAX),
        u16::try_from(view).unwrap_or(u16::MAX),
        "Tab here, ↑ ↓",
    ) {
        b = b.title_bottom(Span::styled(more, theme.hint()));
    }
    let inner = b.inner(area);
    frame.render_widget(b, area);
    let shown: Vec<TLine<'static>> = lines.into_iter().skip(offset).take(view).collect();
    frame.render_widget(Paragraph::new(shown), inner);
}

/// One accepted message: its envelope beside its header fields, one field
/// a line, what differs, its verdicts and its bounce.
fn card_lines(card: &Card, width: usize, theme: &Theme, lines: &mut Vec<TLine<'static>>) {
    let m = &card.message;
    let r = &m.received;
    let mut flags = vec![format!("{} bytes", m.size())];
    if r.tls {
        flags.push("TLS".into());
    }
    if let Some(u) = &r.auth {
        flags.push(format!("AUTH {}", super::model::shown(u)));
    }
    push(
        lines,
        width,
        theme.label(),
        format!("message {} ({})", r.id, flags.join(", ")),
    );
    let mut rows = vec![format!("envelope  MAIL FROM:<{}>", r.mail_from)];
    rows.extend(
        r.rcpts
            .iter()
            .map(|(a, _)| format!("          RCPT TO:<{a}>")),
    );
    let h = &m.headers;
    rows.push(format!("headers   From: {}", list_or_none(&h.from)));
    rows.push(format!("          To: {}", list_or_none(&h.to)));
    if !h.cc.is_empty() {
        rows.push(format!("          Cc: {}", list_or_none(&h.cc)));
    }
    if let Some(subject) = &h.subject {
        rows.push(format!("          Subject: {subject}"));
    }
    for row in rows {
        push(
            lines,
            width,
            theme.base(),
            super::model::shown(&format!("  {row}")),
        );
    }
    for f in &card.findings {
        let (mark, style) = match f.level {
            Level::Warning => ("!", theme.line(LineKind::Warning, None)),
            Level::Info => ("·", theme.hint()),
        };
        push(lines, width, style, format!("  {mark} {}", f.text));
    }
    if !m.verdicts.is_empty() {
        let text = format!("  auth      {}", judge::compact(&m.verdicts));
        push(lines, width, theme.base(), text);
    }
    if let Some(b) = &m.bounce {
        push(
            lines,
            width,
            theme.base(),
            format!("  bounce    {}", b.what()),
        );
        let text = format!("            {}", b.where_to());
        push(lines, width, theme.base(), text);
    }
}

/// `text` wrapped into `lines`, continuations under its text.
fn push(lines: &mut Vec<TLine<'static>>, width: usize, style: Style, text: String) {
    let indent = text.len() - text.trim_start_matches(' ').len() + 2;
    lines.extend(wrap_line(TLine::styled(text, style), width, indent));
}

/// The keys, help and quit first.
fn hints(d: &Dashboard, frame: &mut Frame, area: Rect, theme: &Theme) {
    let keys: &[(&str, &str)] = if d.filtering {
        &[("Enter", "keep the filter"), ("Esc", "clear it")]
    } else {
        &[
            ("?", "help"),
            ("q", "quit"),
            ("↑ ↓", "select"),
            ("Tab", "next pane"),
            ("/", "filter by student"),
            ("PgUp PgDn", "scroll"),
            ("End", "live"),
        ]
    };
    let mut spans = vec![Span::raw(" ")];
    if d.filtering {
        spans.push(Span::styled("filter: ", theme.label()));
        spans.push(Span::raw(format!("{}▏  ", d.filter)));
    }
    let mut used: usize = spans.iter().map(Span::width).sum();
    for (k, what) in keys {
        let w = k.chars().count() + what.chars().count() + 3;
        if used + w > usize::from(area.width) {
            break;
        }
        used += w;
        spans.push(Span::styled(*k, theme.key()));
        spans.push(Span::styled(format!(" {what}  "), theme.hint()));
    }
    frame.render_widget(Paragraph::new(TLine::from(spans)).style(theme.base()), area);
}

fn help(d: &Dashboard, frame: &mut Frame, size: Rect, theme: &Theme) {
    let w = size.width.saturating_sub(8).min(80);
    let h = size.height.saturating_sub(4).min(24);
    let area = Rect {
        x: size.x + (size.width - w) / 2,
        y: size.y + (size.height - h) / 2,
        width: w,
        height: h,
    };
    let mut text = vec![
        "The teacher's view of the built-in server: every session live.".to_string(),
        String::new(),
        "↑ ↓        select a session (in the sessions pane)".into(),
        "Tab        next pane: sessions, transcript, messages".into(),
        "PgUp PgDn  scroll the transcript; the wheel too".into(),
        "Home End   the transcript's first page; its live end".into(),
        "/          filter by student: AUTH user, address or EHLO name".into(),
        "Esc        clear the filter; close this help".into(),
        "↑ ↓        (here) scroll this help".into(),
        "q, Ctrl-C  stop the server and leave".into(),
        String::new(),
        "C: is what the client sent (control characters shown as ␛ ␍ ␊ …),".into(),
        "S: the server's reply; AUTH secrets are masked.".into(),
    ];
    if !d.intro.is_empty() {
        text.push(String::new());
        text.extend(d.intro.iter().cloned());
    }
    let width = usize::from(w.saturating_sub(2));
    let lines: Vec<TLine<'static>> = text
        .into_iter()
        .flat_map(|t| wrap_line(TLine::from(t), width, 11))
        .collect();
    let view = usize::from(h.saturating_sub(2));
    let offset = d.help_scroll.min(lines.len().saturating_sub(view));
    let mut b = block("Help (? or Esc closes)", true, theme);
    if let Some(more) = crate::tui::pane::more(
        u16::try_from(offset).unwrap_or(u16::MAX),
        u16::try_from(lines.len()).unwrap_or(u16::MAX),
        u16::try_from(view).unwrap_or(u16::MAX),
        "↑ ↓",
    ) {
        b = b.title_bottom(Span::styled(more, theme.hint()));
    }
    let lines: Vec<TLine<'static>> = lines.into_iter().skip(offset).collect();
    frame.render_widget(Clear, area);
    frame.render_widget(Paragraph::new(lines).block(b).style(theme.base()), area);
}

#[cfg(test)]
pub(crate) use tests::class as tests_support_class;

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::sync::Arc;
    use std::time::{Duration, SystemTime};

    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    use super::*;
    use crate::proto::server::{ReceivedMessage, SessionSummary};
    use crate::server::{LogEvent, StoredMessage};
    use crate::tui::theme::Palette;

    fn at(s: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(9 * 3600 + s)
    }

    fn ev(d: &mut Dashboard, e: LogEvent, t: u64) {
        d.apply(&e, at(t));
    }

    /// Two students: one delivers a message whose From: differs from its
    /// envelope, one types an escape sequence and is refused.
    pub(crate) fn class() -> Dashboard {
        let mut d = Dashboard::default();
        ev(
            &mut d,
            LogEvent::Listening {
                addr: SocketAddr::from(([127, 0, 0, 1], 2525)),
            },
            0,
        );
        ev(
            &mut d,
            LogEvent::Connected {
                conn: 1,
                peer: SocketAddr::from(([127, 0, 0, 1], 40001)),
            },
            1,
        );
        ev(
            &mut d,
            LogEvent::Connected {
                conn: 2,
                peer: SocketAddr::from(([127, 0, 0, 1], 40002)),
            },
            2,
        );
        let lines = [
            (1, "C", "EHLO pc1.classroom.test"),
            (1, "S", "250-demo.example.test\n250 AUTH PLAIN LOGIN"),
            (1, "C", "AUTH PLAIN ********"),
            (1, "S", "235 2.7.0 Authentication successful"),
            (2, "C", "HELO \u{1b}[31mred\u{1b}[0m"),
            (2, "S", "250 demo.example.test"),
            (1, "C", "MAIL FROM:<student1@client.example>"),
            (1, "S", "250 2.1.0 Ok"),
            (1, "C", "RCPT TO:<alice@example.test>"),
            (1, "S", "250 2.1.5 Ok"),
            (1, "C", "DATA"),
            (1, "S", "354 End data with <CR><LF>.<CR><LF>"),
            (2, "C", "MAIL FROM:<x@elsewhere.example>"),
            (2, "S", "250 2.1.0 Ok"),
            (2, "C", "RCPT TO:<someone@elsewhere.example>"),
            (2, "S", "554 5.7.1 Relay access denied"),
        ];
        for (i, (conn, dir, text)) in lines.into_iter().enumerate() {
            let e = if dir == "C" {
                LogEvent::Command {
                    conn,
                    text: text.into(),
                }
            } else {
                LogEvent::Reply {
                    conn,
                    text: text.into(),
                }
            };
            ev(&mut d, e, 3 + i as u64);
        }
        let received = ReceivedMessage {
            id: "1A2B300001".into(),
            client: "127.0.0.1".into(),
            helo: "pc1.classroom.test".into(),
            tls: false,
            auth: Some("student1".into()),
            mail_from: "student1@client.example".into(),
            mail_params: vec![],
            rcpts: vec![("alice@example.test".into(), vec![])],
            content: b"From: Bank <ceo@bank.example>\r\nTo: alice@example.test\r\n\
                       Subject: Pay now\r\n\r\nhello\r\n"
                .to_vec(),
        };
        let message = Arc::new(StoredMessage::new(received, "demo.example.test", at(20)));
        ev(&mut d, LogEvent::Message { conn: 1, message }, 20);
        ev(
            &mut d,
            LogEvent::Reply {
                conn: 1,
                text: "250 2.0.0 Ok: queued as 1A2B300001".into(),
            },
            20,
        );
        for (conn, stage, helo, user) in [
            (1, "ehlo", "pc1.classroom.test", Some("student1")),
            (2, "rcpt", "\u{1b}[31mred\u{1b}[0m", None),
        ] {
            ev(
                &mut d,
                LogEvent::Session {
                    conn,
                    summary: SessionSummary {
                        stage,
                        helo: Some(helo.into()),
                        user: user.map(Into::into),
                        tls: false,
                    },
                },
                21,
            );
        }
        d
    }

    fn render(d: &Dashboard, w: u16, h: u16) -> String {
        let theme = Theme {
            color: false,
            palette: Palette::Dark,
        };
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| draw(d, f, &theme)).unwrap();
        let buf = t.backend().buffer().clone();
        let mut out = String::new();
        for y in 0..h {
            for x in 0..w {
                out.push_str(buf[(x, y)].symbol());
            }
            out.push('\n');
        }
        out
    }

    #[test]
    fn two_students_at_each_size() {
        let d = class();
        for (w, h) in [(80, 24), (120, 40), (200, 50)] {
            insta::assert_snapshot!(format!("dashboard_{w}x{h}"), render(&d, w, h));
        }
    }

    #[test]
    fn the_second_student_selected_shows_the_escape_sequence_made_visible() {
        let mut d = class();
        d.select_by(1);
        let screen = render(&d, 120, 40);
        assert!(screen.contains("HELO ␛[31mred␛[0m"), "{screen}");
        assert!(screen.contains("554 5.7.1 Relay access denied"), "{screen}");
        insta::assert_snapshot!("dashboard_second_120x40", screen);
    }

    #[test]
    fn the_card_shows_the_envelope_beside_the_headers_and_what_differs() {
        let screen = render(&class(), 120, 40);
        assert!(
            screen.contains("MAIL FROM:<student1@client.example>"),
            "{screen}"
        );
        assert!(screen.contains("From: Bank <ceo@bank.example>"), "{screen}");
        assert!(
            screen.contains("From: domain bank.example differs"),
            "{screen}"
        );
    }

    #[test]
    fn a_filter_that_matches_no_one_says_how_to_clear_it() {
        let mut d = class();
        d.filter = "nobody".into();
        d.refilter();
        let screen = render(&d, 120, 40);
        assert!(
            screen.contains("No session matches the filter (Esc clears"),
            "{screen}"
        );
        assert!(screen.contains("matching “nobody”"), "{screen}");
        // Narrower, the title is cut, and says so.
        let screen = render(&d, 80, 24);
        assert!(screen.contains("Sessions (0 of 2) matchin…"), "{screen}");
    }

    #[test]
    fn help_and_quit_are_always_on_the_hint_bar() {
        let d = class();
        for w in [60, 80, 120] {
            let screen = render(&d, w, 24);
            let last = screen.lines().last().unwrap();
            assert!(
                last.contains("? help") && last.contains("q quit"),
                "{w}: {last}"
            );
        }
    }

    #[test]
    fn the_help_lists_the_keys_and_scrolls_to_the_server_settings() {
        let mut d = class();
        d.help = true;
        d.intro = (1..=12).map(|i| format!("setting {i}")).collect();
        let screen = render(&d, 80, 24);
        assert!(screen.contains("▼ more below (↑ ↓)"), "{screen}");
        assert!(!screen.contains("setting 12"), "{screen}");
        insta::assert_snapshot!("dashboard_help_80x24", screen);
        d.help_scroll = 100;
        let screen = render(&d, 80, 24);
        assert!(screen.contains("setting 12"), "{screen}");
        assert!(screen.contains("▲ more above"), "{screen}");
    }

    #[test]
    fn the_sessions_pane_pages_to_the_selection() {
        let mut d = class();
        for conn in 3..=30 {
            let peer = SocketAddr::from(([127, 0, 0, 1], 40000 + conn as u16));
            ev(&mut d, LogEvent::Connected { conn, peer }, 30);
        }
        let screen = render(&d, 80, 24);
        assert!(
            screen.contains("#1 student1") && !screen.contains("#25 "),
            "{screen}"
        );
        d.select_by(24);
        assert_eq!(d.selected, Some(25));
        let screen = render(&d, 80, 24);
        assert!(screen.contains("#25 (no EHLO yet)"), "{screen}");
        assert!(!screen.contains("#1 student1"), "{screen}");
    }

    #[test]
    fn a_scrolled_transcript_says_what_is_above_and_below() {
        let mut d = class();
        for i in 0..20 {
            ev(
                &mut d,
                LogEvent::Command {
                    conn: 1,
                    text: format!("NOOP {i}"),
                },
                30,
            );
        }
        d.scroll_by(3);
        let screen = render(&d, 80, 24);
        // 33 lines, 11 rows, 3 below them: 19 above.
        assert!(
            screen.contains("▲ 19 earlier · ▼ 3 later (End: live)"),
            "{screen}"
        );
        assert!(
            screen.contains("C: NOOP 16") && !screen.contains("C: NOOP 17"),
            "{screen}"
        );
        // Home: the first page, from the greeting down, and what is below.
        d.scroll_by(isize::MAX / 2);
        let screen = render(&d, 80, 24);
        assert!(screen.contains("C: EHLO pc1.classroom.test"), "{screen}");
        assert!(screen.contains("S: 354 End data"), "{screen}");
        assert!(screen.contains("▼ 22 later"), "{screen}");
        assert!(!screen.contains("earlier"), "{screen}");
    }
}
