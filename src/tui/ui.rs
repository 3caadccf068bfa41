//! Drawing: one function per pane, each from `&AppState` alone. Nothing
//! here changes the state; scroll positions and selections live in it.

use ratatui::layout::{Alignment, Constraint, Direction, Layout, Rect};
use ratatui::text::{Line as TLine, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;
use tui_textarea::TextArea;

use crate::analysis::{explain, Severity};
use crate::app::{self, AppState, Conn, Dir, Focus, Prompt};
use crate::proto::client::Stage;
use crate::proto::reply::EnhancedStatus;
use crate::tui::keymap::BINDINGS;
use crate::tui::theme::Theme;

pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 18;

/// Where each pane goes for a terminal of this size.
pub struct Areas {
    pub status: Rect,
    pub palette: Rect,
    pub envelope: Rect,
    pub transcript: Rect,
    pub composer: Rect,
    pub hints: Rect,
}

pub fn areas(size: Rect) -> Areas {
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(1),
            Constraint::Min(1),
            Constraint::Length(1),
        ])
        .split(size);
    let left_width = (size.width * 36 / 100).clamp(28, 48);
    let cols = Layout::default()
        .direction(Direction::Horizontal)
        .constraints([Constraint::Length(left_width), Constraint::Min(1)])
        .split(rows[1]);
    let left = Layout::default()
        .direction(Direction::Vertical)
        .constraints([Constraint::Min(6), Constraint::Length(8)])
        .split(cols[0]);
    let composer_height = (rows[1].height * 42 / 100).max(8);
    let right = Layout::default()
        .direction(Direction::Vertical)
        .constraints([Constraint::Min(5), Constraint::Length(composer_height)])
        .split(cols[1]);
    Areas {
        status: rows[0],
        palette: left[0],
        envelope: left[1],
        transcript: right[0],
        composer: right[1],
        hints: rows[2],
    }
}

/// Lines of transcript visible at this terminal size.
pub fn transcript_rows(size: Rect) -> usize {
    areas(size).transcript.height.saturating_sub(2) as usize
}

pub fn draw(state: &AppState, frame: &mut Frame, theme: &Theme) {
    let size = frame.area();
    if size.width < MIN_WIDTH || size.height < MIN_HEIGHT {
        let text = format!(
            "smtp-workbench needs at least {MIN_WIDTH}x{MIN_HEIGHT}; this terminal is {}x{}.\n\
             Make it larger, or press q to quit.",
            size.width, size.height
        );
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), size);
        return;
    }
    let a = areas(size);
    status(state, frame, a.status, theme);
    palette(state, frame, a.palette, theme);
    envelope(state, frame, a.envelope, theme);
    transcript(state, frame, a.transcript, theme);
    match state.lower {
        app::Lower::Message => composer(state, frame, a.composer, theme),
        app::Lower::Analysis => analysis(state, frame, a.composer, theme),
        app::Lower::ServerSide => server_side(state, frame, a.composer, theme),
    }
    hints(state, frame, a.hints, theme);
    if state.help {
        help(frame, size, theme);
    } else if state.confirm_quit {
        confirm(frame, size, theme);
    }
}

fn block<'a>(title: &'a str, focused: bool, theme: &Theme) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(theme.block(focused))
        .title(Span::styled(format!(" {title} "), theme.title(focused)))
}

pub fn status(state: &AppState, frame: &mut Frame, area: Rect, theme: &Theme) {
    let server = match (&state.peer, &state.target.server) {
        (Some(p), None) => format!("{} {p}", state.target.label()),
        _ => state.target.label(),
    };
    // Most telling first: a narrow terminal cuts the end.
    let mut parts = Vec::new();
    match &state.conn {
        Conn::Disconnected => parts.push(" not connected".into()),
        Conn::Connecting => parts.push(" connecting…".into()),
        Conn::Open(s) => {
            parts.push(format!(" stage: {}", s.stage));
            if s.stage == Stage::Connected && !s.awaiting {
                parts.push("no 220 greeting: QUIT, Disconnect or a raw line".into());
            }
            if s.awaiting {
                parts.push("waiting for the server…".into());
            }
            parts.push(format!("TLS: {}", if s.tls { "yes" } else { "no" }));
            parts.push(format!("AUTH: {}", s.auth.as_deref().unwrap_or("no")));
        }
    }
    parts.push(server);
    if let Some(c) = state.session().and_then(|s| s.caps.as_ref()) {
        parts.push(c.summary().join(" "));
    }
    let text = parts.join(" │ ");
    frame.render_widget(Paragraph::new(text).style(theme.status()), area);
}

pub fn palette(state: &AppState, frame: &mut Frame, area: Rect, theme: &Theme) {
    let focused = state.focus == Focus::Palette;
    let title = match &state.prompt {
        Some(Prompt::Raw) => "Raw line (sent exactly as typed)".to_string(),
        Some(Prompt::AuthUser(m)) => format!("AUTH {m}: user name"),
        Some(Prompt::AuthPassword(m, _)) => format!("AUTH {m}: password (hidden)"),
        Some(Prompt::Connect) => "Connect to HOST[:PORT] (empty: built-in)".to_string(),
        None => match &state.lesson {
            Some(run) => format!(
                "Lesson {}/{}: {}",
                (run.step + 1).min(run.lesson.steps.len()),
                run.lesson.steps.len(),
                run.lesson.title
            ),
            None => "Commands".to_string(),
        },
    };
    let b = block(&title, focused, theme);
    let inner = b.inner(area);
    frame.render_widget(b, area);
    if inner.height == 0 {
        return;
    }
    if state.prompt.is_some() {
        let rows = Layout::default()
            .direction(Direction::Vertical)
            .constraints([Constraint::Length(1), Constraint::Min(0)])
            .split(inner);
        let mut input: TextArea = state.input.clone();
        input.set_cursor_line_style(ratatui::style::Style::default());
        input.set_cursor_style(if focused {
            theme.selected()
        } else {
            ratatui::style::Style::default()
        });
        frame.render_widget(&input, rows[0]);
        let help = "Enter sends · Esc cancels";
        frame.render_widget(
            Paragraph::new(help)
                .style(theme.hint())
                .wrap(Wrap { trim: true }),
            rows[1],
        );
        return;
    }
    // A lesson's instruction sits above the commands it is about.
    let inner = match &state.lesson {
        Some(run) => {
            let say = run.say();
            let width = inner.width.max(1) as usize;
            let rows = (say.chars().count().div_ceil(width) as u16 + 1).min(inner.height / 2);
            let parts = Layout::default()
                .direction(Direction::Vertical)
                .constraints([Constraint::Length(rows), Constraint::Min(0)])
                .split(inner);
            frame.render_widget(
                Paragraph::new(Span::styled(say, theme.notice())).wrap(Wrap { trim: true }),
                parts[0],
            );
            parts[1]
        }
        None => inner,
    };
    let items = state.items();
    let list_rows = inner.height.saturating_sub(2) as usize;
    let filter_line = if state.filter.is_empty() {
        TLine::from(Span::styled(
            "type to filter · Enter sends · → edits",
            theme.hint(),
        ))
    } else {
        TLine::from(vec![
            Span::styled("filter: ", theme.label()),
            Span::raw(state.filter.clone()),
        ])
    };
    let selected = state.palette_index.min(items.len().saturating_sub(1));
    let first = selected.saturating_sub(list_rows.saturating_sub(1));
    let mut lines = vec![filter_line];
    for (i, item) in items.iter().enumerate().skip(first).take(list_rows) {
        let style = if i == selected && focused {
            theme.selected()
        } else {
            ratatui::style::Style::default()
        };
        lines.push(TLine::from(Span::styled(format!(" {}", item.label), style)));
    }
    if items.is_empty() {
        lines.push(TLine::from(Span::styled(
            " nothing matches; Ctrl-R sends a raw line",
            theme.hint(),
        )));
    }
    frame.render_widget(Paragraph::new(lines), inner);
    if let Some(item) = items.get(selected) {
        let hint_area = Rect {
            y: inner.y + inner.height.saturating_sub(1),
            height: 1,
            ..inner
        };
        frame.render_widget(
            Paragraph::new(item.hint.clone()).style(theme.hint()),
            hint_area,
        );
    }
}

fn field<'a>(ta: &TextArea<'a>, focused: bool, theme: &Theme) -> TextArea<'a> {
    let mut t = ta.clone();
    t.set_cursor_line_style(ratatui::style::Style::default());
    t.set_cursor_style(if focused {
        theme.selected()
    } else {
        ratatui::style::Style::default()
    });
    t
}

pub fn envelope(state: &AppState, frame: &mut Frame, area: Rect, theme: &Theme) {
    let focused = state.focus == Focus::Envelope;
    let rcpts = state.envelope_rcpts();
    let sent = rcpts
        .iter()
        .filter(|r| state.rcpts_sent.contains(r))
        .count();
    let title = format!(
        "Envelope · {sent}/{} RCPT sent · what the server acts on",
        rcpts.len()
    );
    let b = block(&title, focused, theme);
    let inner = b.inner(area);
    frame.render_widget(b, area);
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Min(0),
        ])
        .split(inner);
    frame.render_widget(
        Paragraph::new(Span::styled("MAIL FROM:", theme.label())),
        rows[0],
    );
    frame.render_widget(
        &field(
            &state.mail_from,
            focused && state.envelope_field == 0,
            theme,
        ),
        rows[1],
    );
    frame.render_widget(
        Paragraph::new(Span::styled("RCPT TO (one per line):", theme.label())),
        rows[2],
    );
    frame.render_widget(
        &field(&state.rcpts, focused && state.envelope_field == 1, theme),
        rows[3],
    );
}

pub fn composer(state: &AppState, frame: &mut Frame, area: Rect, theme: &Theme) {
    let focused = state.focus == Focus::Composer;
    let b = block(
        "Message (what the reader sees): header fields, then the body",
        focused,
        theme,
    );
    let inner = b.inner(area);
    frame.render_widget(b, area);
    let header_rows = (state.headers.lines().len() as u16)
        .min(inner.height.saturating_sub(3))
        .max(1);
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(header_rows),
            Constraint::Length(1),
            Constraint::Min(1),
        ])
        .split(inner);
    frame.render_widget(
        &field(&state.headers, focused && state.composer_field == 0, theme),
        rows[0],
    );
    frame.render_widget(
        Paragraph::new(Span::styled("── body ──", theme.hint())),
        rows[1],
    );
    frame.render_widget(
        &field(&state.body, focused && state.composer_field == 1, theme),
        rows[2],
    );
}

/// The envelope beside the header fields, and every difference with its
/// meaning; drawn from the current fields, so it follows every edit.
pub fn analysis(state: &AppState, frame: &mut Frame, area: Rect, theme: &Theme) {
    let b = block(
        "Envelope against headers (F2: back to the message)",
        false,
        theme,
    );
    let inner = b.inner(area);
    frame.render_widget(b, area);
    let headers = crate::analysis::compare::HeaderSide::from_message(&state.message());
    let join = |v: &[String]| {
        if v.is_empty() {
            "(none)".to_string()
        } else {
            v.join(", ")
        }
    };
    let mut lines = vec![
        TLine::from(vec![
            Span::styled("envelope ", theme.label()),
            Span::raw(format!(
                "MAIL FROM:<{}>  RCPT TO: {}",
                state.envelope_sender(),
                join(&state.envelope_rcpts())
            )),
        ]),
        TLine::from(vec![
            Span::styled("headers  ", theme.label()),
            Span::raw(format!(
                "From: {}  To: {}  Cc: {}  Bcc: {}",
                join(&headers.from),
                join(&headers.to),
                join(&headers.cc),
                join(&headers.bcc)
            )),
        ]),
    ];
    // Warnings first: in a small pane they are what must show.
    let mut findings = state.findings();
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    for f in findings {
        let (mark, style) = match f.severity {
            Severity::Warning => ("! ", theme.line(Dir::Warning, None)),
            Severity::Info => ("· ", theme.line(Dir::Info, None)),
        };
        lines.push(TLine::from(vec![
            Span::styled(mark, style),
            Span::styled(f.text, style),
        ]));
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

/// The latest message the built-in server accepted: what it acted on beside
/// what the recipient's program will display.
pub fn server_side(state: &AppState, frame: &mut Frame, area: Rect, theme: &Theme) {
    let b = block(
        "The server's side: it delivers by the envelope, the reader sees the headers (F3)",
        false,
        theme,
    );
    let inner = b.inner(area);
    frame.render_widget(b, area);
    let Some(m) = state.stored.last() else {
        let text = if state.target.server.is_some() {
            "Only the built-in server shows its side: connect without a server argument."
        } else {
            "Nothing received yet. Deliver a message (\"Run to the end\") and it shows here."
        };
        frame.render_widget(
            Paragraph::new(Span::styled(text, theme.hint())).wrap(Wrap { trim: true }),
            inner,
        );
        return;
    };
    let cols = Layout::default()
        .direction(Direction::Horizontal)
        .constraints([Constraint::Percentage(45), Constraint::Percentage(55)])
        .split(inner);
    let r = &m.received;
    let rcpts: Vec<String> = r.rcpts.iter().map(|(a, _)| format!("<{a}>")).collect();
    let acted = vec![
        TLine::from(Span::styled(
            format!("the server acted on (message {})", r.id),
            theme.label(),
        )),
        TLine::from(format!("client {} · EHLO {}", r.client, r.helo)),
        TLine::from(format!(
            "TLS {} · AUTH {}",
            if r.tls { "yes" } else { "no" },
            r.auth.as_deref().unwrap_or("no")
        )),
        TLine::from(format!("MAIL FROM:<{}>", r.mail_from)),
        TLine::from(format!("RCPT TO:{}", rcpts.join(", "))),
    ];
    frame.render_widget(Paragraph::new(acted).wrap(Wrap { trim: false }), cols[0]);
    let delivered = String::from_utf8_lossy(&m.delivered);
    let mut shown = vec![TLine::from(Span::styled(
        "the reader's program shows",
        theme.label(),
    ))];
    // The header section as delivered, Return-Path and Received included.
    for l in delivered.split("\r\n").take_while(|l| !l.is_empty()) {
        // A folded line's leading tab is layout, not content.
        let l = l
            .strip_prefix('\t')
            .map(|r| format!("  {r}"))
            .unwrap_or_else(|| l.to_string());
        shown.push(TLine::from(crate::proto::visible::visible(l.as_bytes())));
    }
    frame.render_widget(Paragraph::new(shown), cols[1]);
}

/// The explanation of a reply line: its code, and the enhanced status
/// that follows the code on the line, if any.
fn explain_line(line: &app::Line) -> Option<explain::Explanation> {
    let status = line
        .text
        .get(4..)
        .and_then(|t| EnhancedStatus::parse_prefix(t.as_bytes()))
        .map(|(s, _)| s);
    line.code.map(|c| explain::explain(c, status))
}

/// Draws only the visible lines: the cost of a frame does not depend on the
/// length of the transcript.
pub fn transcript(state: &AppState, frame: &mut Frame, area: Rect, theme: &Theme) {
    let focused = state.focus == Focus::Transcript;
    let mut title = if state.scroll > 0 {
        format!("Transcript · {} lines up · G follows", state.scroll)
    } else {
        "Transcript".to_string()
    };
    if state.dropped > 0 {
        title.push_str(&format!(" · {} oldest lines dropped", state.dropped));
    }
    let explained = state
        .selected
        .and_then(|i| state.lines.get(i))
        // The latest reply, looked for among the last lines only, so that
        // a frame never walks a long transcript.
        .or_else(|| {
            state
                .lines
                .iter()
                .rev()
                .take(1000)
                .find(|l| l.code.is_some())
        })
        .and_then(|l| explain_line(l).map(|e| e.summary()));
    let mut b = block(&title, focused, theme);
    if let Some(e) = explained {
        b = b.title_bottom(Span::styled(format!(" {e} "), theme.hint()));
    }
    let mut inner = b.inner(area);
    frame.render_widget(b, area);
    // Under the lines, the selected line in full when it is wider than the
    // pane (a long refusal, an error), and a selected reply explained.
    let mut detail: Vec<TLine> = Vec::new();
    let mut detail_rows = 0usize;
    let mut title = " the selected line ";
    if let Some(line) = state.selected.and_then(|i| state.lines.get(i)) {
        let width = usize::from(inner.width.max(1));
        let text = app::shown(line, state.reveal);
        // Time and marker take ten columns before the text.
        let chars = text.chars().count();
        if chars + 10 > width {
            detail_rows += chars.div_ceil(width);
            detail.push(TLine::from(Span::styled(
                text.to_string(),
                theme.line(line.dir, line.code),
            )));
        }
        if let Some(e) = explain_line(line) {
            title = " the selected reply ";
            for l in e.lines() {
                detail_rows += l.chars().count().div_ceil(width).max(1);
                detail.push(TLine::from(Span::styled(l, theme.notice())));
            }
        }
    }
    if !detail.is_empty() {
        let lines = detail;
        let rows = u16::try_from(detail_rows.saturating_add(1))
            .unwrap_or(u16::MAX)
            .min(inner.height / 2);
        let parts = Layout::default()
            .direction(Direction::Vertical)
            .constraints([Constraint::Min(1), Constraint::Length(rows)])
            .split(inner);
        let explain_block = Block::default()
            .borders(Borders::TOP)
            .border_style(theme.block(false))
            .title(Span::styled(title, theme.hint()));
        let explain_inner = explain_block.inner(parts[1]);
        frame.render_widget(explain_block, parts[1]);
        frame.render_widget(
            Paragraph::new(lines).wrap(Wrap { trim: true }),
            explain_inner,
        );
        inner = parts[0];
    }
    let h = inner.height as usize;
    // Keep the selected line in view above the explanation.
    let end = state.lines.len().saturating_sub(state.scroll);
    let start = end.saturating_sub(h);
    let mut out = Vec::with_capacity(h);
    for (i, line) in state.lines[start..end].iter().enumerate() {
        let index = start + i;
        let time = match line.at {
            Some(t) => format!("{:>7.3} ", t.as_secs_f64()),
            None => " ".repeat(8),
        };
        let marker = match line.dir {
            Dir::Client => "→ ",
            Dir::Server => "← ",
            Dir::Info => "· ",
            Dir::Warning => "! ",
            Dir::Error => "✗ ",
        };
        let text = app::shown(line, state.reveal);
        let text_style = if app::is_masked(line, state.reveal) {
            theme.masked()
        } else {
            theme.line(line.dir, line.code)
        };
        let mut spans = vec![
            Span::styled(time, theme.time()),
            Span::styled(marker, theme.line(line.dir, line.code)),
            Span::styled(text.to_string(), text_style),
        ];
        if let Some(l) = line.latency {
            spans.push(Span::styled(
                format!("  {:.1} ms", l.as_secs_f64() * 1000.0),
                theme.time(),
            ));
        }
        let mut tl = TLine::from(spans);
        if state.selected == Some(index) {
            tl = tl.style(theme.selected());
        }
        out.push(tl);
    }
    if state.lines.is_empty() {
        out.push(TLine::from(Span::styled(
            "Nothing yet. Choose \"Connect\" in the palette (Enter).",
            theme.hint(),
        )));
    }
    frame.render_widget(Paragraph::new(out), inner);
}

pub fn hints(state: &AppState, frame: &mut Frame, area: Rect, theme: &Theme) {
    let mut spans = Vec::new();
    if let Some(n) = &state.notice {
        spans.push(Span::styled(format!(" {n} "), theme.notice()));
        spans.push(Span::raw("│"));
    }
    // The focused pane's keys first, then the global ones.
    let local = BINDINGS.iter().filter(|b| b.pane == Some(state.focus));
    let global = BINDINGS
        .iter()
        .filter(|b| b.pane.is_none() && !matches!(b.keys, "wheel" | "Esc" | "Ctrl-S"));
    for b in local.chain(global).take(6) {
        spans.push(Span::styled(format!(" {}", b.keys), theme.key()));
        spans.push(Span::styled(format!(" {} ", b.what), theme.hint()));
    }
    frame.render_widget(Paragraph::new(TLine::from(spans)), area);
}

fn centered(size: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(size.width);
    let h = h.min(size.height);
    Rect {
        x: size.x + (size.width - w) / 2,
        y: size.y + (size.height - h) / 2,
        width: w,
        height: h,
    }
}

pub fn help(frame: &mut Frame, size: Rect, theme: &Theme) {
    let full = BINDINGS.len() as u16 + 7;
    let area = centered(size, 76, full);
    frame.render_widget(Clear, area);
    // On a small terminal every key still shows; the introduction goes.
    let mut lines = if size.height >= full {
        vec![
            TLine::from("The palette offers the commands that fit the session's stage; the"),
            TLine::from(
                "envelope is what the server delivers by, the message what the reader sees.",
            ),
            TLine::from(""),
        ]
    } else {
        Vec::new()
    };
    for b in BINDINGS {
        let pane = match b.pane {
            None => "",
            Some(Focus::Palette) => "palette",
            Some(Focus::Envelope) => "envelope",
            Some(Focus::Composer) => "message",
            Some(Focus::Transcript) => "transcript",
        };
        lines.push(TLine::from(vec![
            Span::styled(format!("{:<18}", b.keys), theme.key()),
            Span::raw(format!("{:<11}", pane)),
            Span::raw(b.what),
        ]));
    }
    lines.push(TLine::from(""));
    lines.push(TLine::from(Span::styled(
        "any key closes this help",
        theme.hint(),
    )));
    frame.render_widget(
        Paragraph::new(lines)
            .block(block("Help", true, theme))
            .alignment(Alignment::Left),
        area,
    );
}

fn confirm(frame: &mut Frame, size: Rect, theme: &Theme) {
    let area = centered(size, 50, 5);
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new("A session is open. Quit anyway?\ny or Enter: quit · any other key: stay")
            .block(block("Quit?", true, theme))
            .wrap(Wrap { trim: true }),
        area,
    );
}

/// True while the session can take commands (for the tests' benefit).
pub fn can_send(state: &AppState) -> bool {
    matches!(&state.conn, Conn::Open(s) if s.stage != Stage::Closed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::{update, Action, Line, SessionMsg, SessionView, Start};
    use crate::proto::capabilities::Capabilities;
    use crate::proto::command::Verb;
    use ratatui::backend::TestBackend;
    use ratatui::style::{Color, Modifier};
    use ratatui::Terminal;
    use std::time::Duration;

    fn empty() -> AppState {
        AppState::new(Start {
            message_id: "1.2@client.example".into(),
            ..Start::fixed()
        })
    }

    fn line(at: u64, dir: Dir, text: &str, code: Option<u16>) -> Line {
        Line {
            at: Some(Duration::from_millis(at)),
            dir,
            text: text.into(),
            secret: None,
            code,
            latency: code.map(|_| Duration::from_micros(450)),
            continued: false,
        }
    }

    /// A session after EHLO, AUTH and a refused relay.
    fn busy() -> AppState {
        let mut s = empty();
        s.session_id = 1;
        s.peer = Some("127.0.0.1:2525".into());
        s.conn = Conn::Open(SessionView {
            stage: Stage::Ready,
            caps: Some(Capabilities {
                pipelining: true,
                size: Some(Some(10_485_760)),
                starttls: true,
                auth: vec!["PLAIN".into(), "LOGIN".into()],
                ..Capabilities::default()
            }),
            tls: false,
            auth: Some("alice@example.test".into()),
            awaiting: false,
            suggested: vec![
                Verb::Mail,
                Verb::StartTls,
                Verb::Vrfy,
                Verb::Rset,
                Verb::Noop,
                Verb::Quit,
            ],
        });
        s.lines = vec![
            line(
                0,
                Dir::Info,
                "connected to 127.0.0.1:2525 from 127.0.0.1:40000",
                None,
            ),
            line(
                1,
                Dir::Server,
                "220 demo.example.test ESMTP smtp-workbench demo server",
                Some(220),
            ),
            line(2, Dir::Client, "EHLO client.example", None),
            line(3, Dir::Server, "250-demo.example.test", Some(250)),
            Line {
                at: None,
                continued: true,
                ..line(3, Dir::Server, "250 PIPELINING", Some(250))
            },
            Line {
                secret: Some("AUTH PLAIN AGFsaWNlAHdvbmRlcmxhbmQ=".into()),
                ..line(4, Dir::Client, "AUTH PLAIN ********", None)
            },
            line(
                5,
                Dir::Server,
                "235 2.7.0 Authentication successful",
                Some(235),
            ),
            line(6, Dir::Client, "MAIL FROM:<student@client.example>", None),
            line(7, Dir::Server, "250 2.1.0 Ok", Some(250)),
            line(8, Dir::Client, "RCPT TO:<someone@elsewhere.example>", None),
            line(
                9,
                Dir::Server,
                "554 5.7.1 <someone@elsewhere.example>: Relay access denied",
                Some(554),
            ),
            line(
                9,
                Dir::Warning,
                "server deviates from RFC 5321: line ended with a bare LF instead of CRLF",
                None,
            ),
            line(
                10,
                Dir::Server,
                "451 4.7.1 greylisted \u{241b}[2J",
                Some(451),
            ),
        ];
        s
    }

    /// The same with an error: the connection lost and said so.
    fn broken() -> AppState {
        let mut s = busy();
        update(
            &mut s,
            Action::Session {
                id: 1,
                msg: SessionMsg::Ended(
                    "the server closed the connection while waiting for the reply to RCPT TO"
                        .into(),
                ),
            },
        );
        s.lines.push(line(
            11,
            Dir::Error,
            "the server closed the connection while waiting for the reply to RCPT TO",
            None,
        ));
        s
    }

    fn render(state: &AppState, w: u16, h: u16, theme: Theme) -> Terminal<TestBackend> {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| draw(state, f, &theme)).unwrap();
        t
    }

    const COLOR: Theme = Theme { color: true };

    #[test]
    fn snapshots_of_every_pane() {
        for (w, h) in [(80, 24), (120, 40)] {
            insta::assert_snapshot!(
                format!("empty_{w}x{h}"),
                render(&empty(), w, h, COLOR).backend()
            );
            for focus in [
                Focus::Palette,
                Focus::Envelope,
                Focus::Composer,
                Focus::Transcript,
            ] {
                let mut s = busy();
                s.focus = focus;
                insta::assert_snapshot!(
                    format!("busy_{focus:?}_{w}x{h}").to_lowercase(),
                    render(&s, w, h, COLOR).backend()
                );
            }
            insta::assert_snapshot!(
                format!("error_{w}x{h}"),
                render(&broken(), w, h, COLOR).backend()
            );
        }
    }

    #[test]
    fn snapshots_of_the_envelope_against_headers_view() {
        let mut s = busy();
        s.lower = crate::app::Lower::Analysis;
        s.rcpts = tui_textarea::TextArea::from(["alice@example.test", "hidden@example.test"]);
        for (w, h) in [(80, 24), (120, 40)] {
            let t = render(&s, w, h, COLOR);
            insta::assert_snapshot!(format!("analysis_{w}x{h}"), t.backend());
        }
        let text = format!("{:?}", render(&s, 120, 40, COLOR).backend().buffer());
        assert!(
            text.contains("<hidden@example.test> is only in the envelope"),
            "{text}"
        );
    }

    #[test]
    fn snapshots_of_the_servers_side() {
        let mut s = busy();
        s.lower = crate::app::Lower::ServerSide;
        insta::assert_snapshot!(
            "server_side_empty_80x24",
            render(&s, 80, 24, COLOR).backend()
        );
        let received = crate::proto::server::ReceivedMessage {
            id: "AB12C00001".into(),
            client: "127.0.0.1".into(),
            helo: "client.example".into(),
            tls: true,
            auth: Some("alice@example.test".into()),
            mail_from: "student@client.example".into(),
            mail_params: vec!["SIZE=300".into()],
            rcpts: vec![
                ("alice@example.test".into(), vec![]),
                ("hidden@example.test".into(), vec![]),
            ],
            content: b"From: Boss <ceo@bank.example>\r\nTo: Alice <alice@example.test>\r\nSubject: hi\r\n\r\nbody\r\n".to_vec(),
        };
        s.stored
            .push(std::sync::Arc::new(crate::server::StoredMessage::new(
                received,
                "demo.example.test",
                std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000),
            )));
        for (w, h) in [(80, 24), (120, 40)] {
            insta::assert_snapshot!(
                format!("server_side_{w}x{h}"),
                render(&s, w, h, COLOR).backend()
            );
        }
        let text = format!("{:?}", render(&s, 120, 40, COLOR).backend().buffer());
        assert!(
            text.contains("RCPT TO:<alice@example.test>,")
                && text.contains("<hidden@example.test>")
        );
        assert!(text.contains("Return-Path: <student@client.example>"));
    }

    #[test]
    fn a_selected_reply_is_explained_in_full() {
        let mut s = busy();
        s.focus = Focus::Transcript;
        let i = s.lines.iter().position(|l| l.code == Some(554)).unwrap();
        s.scroll = s.lines.len() - 1 - i;
        s.selected = Some(i);
        for (w, h) in [(80, 24), (120, 40)] {
            insta::assert_snapshot!(
                format!("explained_{w}x{h}"),
                render(&s, w, h, COLOR).backend()
            );
        }
        let text = format!("{:?}", render(&s, 120, 40, COLOR).backend().buffer());
        assert!(text.contains("likely cause: relaying refused"), "{text}");
    }

    #[test]
    fn snapshot_of_a_lesson() {
        let mut s = busy();
        let (n, t) = crate::app::lesson::builtin()[0];
        let lesson = crate::app::lesson::Lesson::parse(n, t).unwrap();
        s.lesson = Some(crate::app::LessonRun {
            lesson,
            step: 1,
            from: 0,
        });
        for (w, h) in [(80, 24), (120, 40)] {
            insta::assert_snapshot!(format!("lesson_{w}x{h}"), render(&s, w, h, COLOR).backend());
        }
    }

    #[test]
    fn snapshots_of_overlays_and_prompts() {
        let mut s = busy();
        s.help = true;
        insta::assert_snapshot!("help_120x40", render(&s, 120, 40, COLOR).backend());
        let small = render(&s, 80, 24, COLOR);
        insta::assert_snapshot!("help_80x24", small.backend());
        let text = format!("{:?}", small.backend().buffer());
        assert!(
            text.contains("Ctrl-C / q") && text.contains("F3"),
            "every key shows at 80x24"
        );
        let mut s = busy();
        s.confirm_quit = true;
        insta::assert_snapshot!("confirm_quit_80x24", render(&s, 80, 24, COLOR).backend());
        let mut s = busy();
        update(&mut s, Action::RawLine);
        for c in "HELLO wrong".chars() {
            update(
                &mut s,
                Action::Input(crossterm::event::KeyEvent::new(
                    crossterm::event::KeyCode::Char(c),
                    crossterm::event::KeyModifiers::NONE,
                )),
            );
        }
        insta::assert_snapshot!("raw_prompt_80x24", render(&s, 80, 24, COLOR).backend());
        let mut s = busy();
        s.prompt = Some(crate::app::Prompt::AuthPassword(
            crate::proto::auth::Mechanism::Plain,
            "alice".into(),
        ));
        s.input = tui_textarea::TextArea::from(["wonderland"]);
        s.input.set_mask_char('•');
        let t = render(&s, 80, 24, COLOR);
        insta::assert_snapshot!("password_prompt_80x24", t.backend());
        let text = format!("{:?}", t.backend().buffer());
        assert!(!text.contains("wonderland"), "the password is never drawn");
        insta::assert_snapshot!("too_small_50x15", render(&busy(), 50, 15, COLOR).backend());
    }

    fn find(t: &Terminal<TestBackend>, needle: &str) -> (u16, u16) {
        let buf = t.backend().buffer();
        for y in 0..buf.area.height {
            let row: String = (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect();
            if let Some(i) = row.find(needle) {
                // Byte offset to column: the rows here are ASCII up to the needle.
                let col = row[..i].chars().count() as u16;
                return (col, y);
            }
        }
        panic!("{needle:?} not on screen");
    }

    #[test]
    fn styles_cell_by_cell() {
        let mut s = busy();
        s.focus = Focus::Transcript;
        let t = render(&s, 120, 40, COLOR);
        let buf = t.backend().buffer();
        let (x, y) = find(&t, "554 5.7.1");
        assert_eq!(buf[(x, y)].fg, Color::Red, "5xx in red");
        assert!(buf[(x, y)].modifier.contains(Modifier::BOLD));
        let (x, y) = find(&t, "451 4.7.1");
        assert_eq!(buf[(x, y)].fg, Color::Yellow, "4xx in yellow");
        let (x, y) = find(&t, "235 2.7.0");
        assert_eq!(buf[(x, y)].fg, Color::Green, "2xx in green");
        let (x, y) = find(&t, "AUTH PLAIN ****");
        assert_eq!(buf[(x, y)].fg, Color::Magenta, "a masked secret stands out");
        let (x, y) = find(&t, "Transcript");
        assert!(
            buf[(x, y)].modifier.contains(Modifier::REVERSED),
            "the focused pane's title"
        );
        let (x, y) = find(&t, "Commands");
        assert!(!buf[(x, y)].modifier.contains(Modifier::REVERSED));

        let plain = render(&s, 120, 40, Theme { color: false });
        let buf = plain.backend().buffer();
        for y in 0..buf.area.height {
            for x in 0..buf.area.width {
                let c = &buf[(x, y)];
                assert!(
                    c.fg == Color::Reset && c.bg == Color::Reset,
                    "NO_COLOR: colour at {x},{y}"
                );
            }
        }
        let (x, y) = find(&plain, "Transcript");
        assert!(
            buf[(x, y)].modifier.contains(Modifier::REVERSED),
            "focus still shows without colour"
        );
    }

    #[test]
    fn control_pictures_not_escapes_on_screen() {
        let t = render(&busy(), 120, 40, COLOR);
        let text = format!("{:?}", t.backend().buffer());
        assert!(text.contains("␛[2J"));
        assert!(!text.contains('\u{1b}'));
    }

    #[test]
    fn a_frame_draws_only_the_visible_lines() {
        let mut s = busy();
        let template = s.lines[1].clone();
        s.lines = vec![template; 1_000_000];
        s.scroll = 500_000;
        s.selected = Some(499_999);
        // Draws at all, and shows the window asked for.
        let t = render(&s, 120, 40, COLOR);
        let text = format!("{:?}", t.backend().buffer());
        assert!(text.contains("500000 lines up"));
    }

    #[test]
    fn the_status_line_says_when_the_server_is_awaited() {
        let mut s = busy();
        let first_row = |s: &AppState| {
            let t = render(s, 120, 40, COLOR);
            let buf = t.backend().buffer().clone();
            (0..120)
                .map(|x| buf[(x, 0)].symbol().to_string())
                .collect::<String>()
        };
        assert!(!first_row(&s).contains("waiting for the server"));
        if let Conn::Open(v) = &mut s.conn {
            v.awaiting = true;
        }
        assert!(
            first_row(&s).starts_with(" stage: ready │ waiting for the server… │ TLS: no"),
            "{}",
            first_row(&s)
        );
    }
}
