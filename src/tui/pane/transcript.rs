//! The transcript pane: only the visible lines are drawn, so a frame costs
//! the same for a thousand lines as for a million; under them the selected
//! line in full and a selected reply explained.

use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::text::{Line as TLine, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;

use super::block;
use crate::analysis::explain;
use crate::app::{AppState, Focus, LineKind, LineView};
use crate::proto::reply::EnhancedStatus;
use crate::tui::theme::Theme;

/// The explanation of a reply line: its code, and the enhanced status
/// that follows the code on the line, if any.
fn explain_line(line: &LineView) -> Option<explain::Explanation> {
    let status = line
        .text
        .get(4..)
        .and_then(|t| EnhancedStatus::parse_prefix(t.as_bytes()))
        .map(|(s, _)| s);
    line.code.map(|c| explain::explain(c, status))
}

fn title(state: &AppState) -> String {
    let t = &state.transcript;
    let mut title = if t.scroll > 0 {
        format!("Transcript · {} lines up · G follows", t.scroll)
    } else {
        "Transcript".to_string()
    };
    if t.lines.dropped() > 0 {
        title.push_str(&format!(" · {} oldest lines dropped", t.lines.dropped()));
    }
    title
}

pub fn transcript(state: &AppState, frame: &mut Frame, area: Rect, theme: &Theme) {
    let focused = state.focus == Focus::Transcript;
    let t = &state.transcript;
    let title = super::fit_title(&title(state), area.width);
    let b = block(&title, focused, theme);
    let mut inner = b.inner(area);
    frame.render_widget(b, area);
    if let Some(line) = t.selected_line() {
        inner = detail(state, &line, frame, inner, theme);
    } else if let Some(e) = t
        .lines
        // The latest reply, looked for among the last lines only, so that
        // a frame never walks a long transcript.
        .last_reply(1000)
        .and_then(|l| explain_line(&l))
    {
        // Wrapped in a strip of its own under the lines, never cut in the
        // border: the teaching layer's most important sentence.
        let text = vec![TLine::from(Span::styled(e.summary(), theme.hint()))];
        inner = strip(
            " the latest reply ",
            text,
            inner.height / 2,
            0,
            frame,
            inner,
            theme,
        );
    }
    let h = inner.height as usize;
    // Keep the selected line in view above the explanation.
    let end = t.lines.len().saturating_sub(t.scroll);
    let mut out = Vec::with_capacity(h);
    if t.wraps(frame.area().width) {
        // From the last line shown upwards, until the rows are full: the
        // scroll and the selection still count logical lines.
        let width = usize::from(inner.width);
        let mut rows: Vec<Vec<TLine>> = Vec::new();
        let mut total = 0;
        let mut index = end;
        while index > 0 && total < h {
            index -= 1;
            let Some(line) = t.lines.get(index) else {
                break;
            };
            let mut tl = row(&line, t.reveal, theme);
            if t.selected == Some(index) {
                tl = tl.style(theme.selected());
            }
            let wrapped = super::wrap_line(tl, width, TEXT_COLUMN);
            total += wrapped.len();
            rows.push(wrapped);
        }
        out.extend(rows.into_iter().rev().flatten());
        // The oldest line shown may lose its first rows, never the newest.
        out.drain(..total.saturating_sub(h));
    } else {
        for index in end.saturating_sub(h)..end {
            let Some(line) = t.lines.get(index) else {
                break;
            };
            let mut tl = row(&line, t.reveal, theme);
            if t.selected == Some(index) {
                tl = tl.style(theme.selected());
            }
            out.push(tl);
        }
    }
    if t.lines.is_empty() {
        let hint = match &state.replay {
            Some(_) => "A replay: Enter shows the first step.",
            None => "Nothing yet. Choose \"Connect\" in the palette (Enter).",
        };
        out.push(TLine::from(Span::styled(hint, theme.hint())));
    }
    frame.render_widget(Paragraph::new(out), inner);
}

/// Where a line's text starts: after the time (eight columns) and the
/// direction marker (two).
const TEXT_COLUMN: usize = 10;

/// One line: time, direction marker, text, and a reply's latency.
fn row<'a>(line: &LineView<'a>, reveal: bool, theme: &Theme) -> TLine<'a> {
    let time = match line.at {
        Some(t) => format!("{:>7.3} ", t.as_secs_f64()),
        None => " ".repeat(8),
    };
    let marker = match line.kind {
        LineKind::Client => "→ ",
        LineKind::Server => "← ",
        LineKind::Info => "· ",
        LineKind::Warning => "! ",
        LineKind::Error => "✗ ",
    };
    let text_style = if line.is_masked(reveal) {
        theme.masked()
    } else {
        theme.line(line.kind, line.code)
    };
    let mut spans = vec![
        Span::styled(time, theme.time()),
        Span::styled(marker, theme.line(line.kind, line.code)),
        Span::styled(line.shown(reveal), text_style),
    ];
    if let Some(l) = line.latency {
        spans.push(Span::styled(
            format!("  {:.1} ms", l.as_secs_f64() * 1000.0),
            theme.time(),
        ));
    }
    TLine::from(spans)
}

/// Under the lines, the selected line in full when it is wider than the
/// pane (a long refusal, an error), and a selected reply explained: the
/// strip's title and text.
fn detail_text<'a>(
    state: &AppState,
    line: &LineView,
    columns: u16,
    inner: Rect,
    theme: &Theme,
) -> Option<(&'static str, Vec<TLine<'a>>)> {
    let mut detail: Vec<TLine> = Vec::new();
    let mut title = " the selected line ";
    let width = usize::from(inner.width.max(1));
    let text = line.shown(state.transcript.reveal);
    // Time and marker take ten columns before the text; wrapped, the
    // line shows whole above already.
    let chars = text.chars().count();
    let wraps = state.transcript.wraps(columns);
    if !wraps && chars + TEXT_COLUMN > width {
        detail.push(TLine::from(Span::styled(
            text.to_string(),
            theme.line(line.kind, line.code),
        )));
    }
    if let Some(e) = explain_line(line) {
        title = " the selected reply ";
        for l in e.lines() {
            detail.push(TLine::from(Span::styled(l, theme.notice())));
        }
    }
    (!detail.is_empty()).then_some((title, detail))
}

/// The most rows the selected line's strip takes: the selected line itself
/// keeps two rows above, so that the explanation reads to its end.
fn detail_most(inner: Rect) -> u16 {
    inner.height.saturating_sub(2).max(inner.height / 2)
}

/// Under the lines, the selected line's strip; returns the area left for
/// the lines.
fn detail(
    state: &AppState,
    line: &LineView,
    frame: &mut Frame,
    inner: Rect,
    theme: &Theme,
) -> Rect {
    let columns = frame.area().width;
    let Some((title, text)) = detail_text(state, line, columns, inner, theme) else {
        return inner;
    };
    let offset = state.views.explanation.offset;
    strip(title, text, detail_most(inner), offset, frame, inner, theme)
}

/// The selected line's strip: its rows once wrapped and the rows shown,
/// for the transcript pane's `area` in a terminal of `size`; the loop's
/// measure for `[` and `]`. None without a selected line to explain.
pub fn explanation_measure(state: &AppState, area: Rect, size: Rect) -> Option<(u16, u16)> {
    let line = state.transcript.selected_line()?;
    let inner = block("", false, &Theme::PLAIN).inner(area);
    let (_, text) = detail_text(state, &line, size.width, inner, &Theme::PLAIN)?;
    let content = super::wrapped_rows(&Paragraph::new(text).wrap(Wrap { trim: true }), inner.width);
    let rows = content.saturating_add(1).min(detail_most(inner));
    Some((content, rows.saturating_sub(1)))
}

/// A strip under the lines, with a rule and a title, holding `text`
/// wrapped at word boundaries, at most `most` rows high (rule included),
/// scrolled by `offset` rows; returns the area left above it.
fn strip(
    title: &str,
    text: Vec<TLine>,
    most: u16,
    offset: u16,
    frame: &mut Frame,
    inner: Rect,
    theme: &Theme,
) -> Rect {
    let text = Paragraph::new(text).wrap(Wrap { trim: true });
    let content = super::wrapped_rows(&text, inner.width);
    let rows = content.saturating_add(1).min(most);
    if rows < 2 {
        return inner;
    }
    let view = rows - 1;
    let offset = super::clamp_offset(offset, content, view);
    // Cut where the pane is short: the rule says so and how to see the
    // rest, never silently.
    let above = offset > 0;
    let below = u32::from(offset) + u32::from(view) < u32::from(content);
    let title = match (above, below) {
        (false, false) => title.to_string(),
        (true, true) => format!("{title}· ▲ ▼ more: [ ] "),
        (true, false) => format!("{title}· ▲ more: [ "),
        (false, true) => format!("{title}· ▼ more: ] "),
    };
    let parts = Layout::default()
        .direction(Direction::Vertical)
        .constraints([Constraint::Min(1), Constraint::Length(rows)])
        .split(inner);
    let strip_block = Block::default()
        .borders(Borders::TOP)
        .border_style(theme.block(false))
        .title(Span::styled(title, theme.hint()));
    let strip_inner = strip_block.inner(parts[1]);
    frame.render_widget(strip_block, parts[1]);
    frame.render_widget(text.scroll((offset, 0)), strip_inner);
    parts[0]
}

#[cfg(test)]
mod tests {
    use crate::app::{Focus, Lines};
    use crate::tui::test_support::{busy, delivered, render, COLOR};

    /// The rows of a rendered screen, as text.
    fn rows(s: &crate::app::AppState, w: u16, h: u16) -> Vec<String> {
        let t = render(s, w, h, COLOR);
        let buf = t.backend().buffer().clone();
        (0..h)
            .map(|y| (0..w).map(|x| buf[(x, y)].symbol().to_string()).collect())
            .collect()
    }

    #[test]
    fn the_latest_reply_is_explained_to_its_end_never_in_the_border() {
        let s = delivered();
        let meaning = crate::analysis::explain::explain(250, None).meaning;
        for (w, h) in [(80, 24), (100, 30), (120, 40), (200, 50)] {
            insta::assert_snapshot!(
                format!("delivered_{w}x{h}"),
                render(&s, w, h, COLOR).backend()
            );
            let screen = rows(&s, w, h);
            // The explanation's words, read across the rows of the strip,
            // run to the end; and no border carries them.
            let joined: String = screen
                .iter()
                .map(|r| {
                    // The transcript pane's inside: after the palette's
                    // right border and its own left one.
                    let inner = r.rsplit("││").next().unwrap_or("");
                    inner.trim_end_matches([' ', '│']).to_string() + " "
                })
                .collect();
            let squeezed = joined.split_whitespace().collect::<Vec<_>>().join(" ");
            let summary = crate::analysis::explain::explain(
                250,
                crate::proto::reply::EnhancedStatus::parse_prefix(b"2.0.0").map(|(s, _)| s),
            )
            .summary();
            assert!(
                squeezed.contains(&summary),
                "{w}x{h}: {summary:?} not in\n{}",
                screen.join("\n")
            );
            assert!(summary.starts_with(&format!("250: {meaning}")));
            assert!(
                !screen.iter().any(|r| r.contains("└ 250")
                    || r.contains("250: the requested action was done;") && r.contains('┘')),
                "{w}x{h}: in the border\n{}",
                screen.join("\n")
            );
        }
    }

    #[test]
    fn a_selected_reply_is_explained_in_full() {
        let mut s = busy();
        s.focus = Focus::Transcript;
        let t = &mut s.transcript;
        let i = (0..t.lines.len())
            .position(|i| t.lines.get(i).unwrap().code == Some(554))
            .unwrap();
        t.scroll = t.lines.len() - 1 - i;
        t.selected = Some(i);
        for (w, h) in [(80, 24), (120, 40)] {
            insta::assert_snapshot!(
                format!("explained_{w}x{h}"),
                render(&s, w, h, COLOR).backend()
            );
        }
        let text = format!("{:?}", render(&s, 120, 40, COLOR).backend().buffer());
        assert!(text.contains("likely cause: relaying refused"), "{text}");
    }

    /// Where the pane is too short for all of it, `]` scrolls the
    /// selected reply's explanation to its last sentence, and the rule
    /// says what is above and below.
    #[test]
    fn a_cut_explanation_scrolls_to_its_end() {
        use crate::app::{update, Action, Step, View};
        use ratatui::layout::Rect;
        let mut s = busy();
        s.focus = Focus::Transcript;
        let t = &mut s.transcript;
        let i = (0..t.lines.len())
            .position(|i| t.lines.get(i).unwrap().code == Some(554))
            .unwrap();
        t.scroll = t.lines.len() - 1 - i;
        t.selected = Some(i);
        let size = Rect::new(0, 0, 80, 24);
        crate::tui::layout::fit_views(&mut s, size);
        let top = rows(&s, 80, 24).join("\n");
        assert!(top.contains("the selected reply · ▼ more: ] ─"), "{top}");
        let status = crate::proto::reply::EnhancedStatus::parse_prefix(b"5.7.1").map(|(s, _)| s);
        let last = crate::analysis::explain::explain(554, status)
            .lines()
            .pop()
            .unwrap();
        let start: String = last.chars().take(30).collect();
        assert!(!top.contains(&start), "{top}");
        for _ in 0..40 {
            update(&mut s, Action::ScrollView(View::Explanation, Step::Rows(1)));
            crate::tui::layout::fit_views(&mut s, size);
        }
        let end = rows(&s, 80, 24).join("\n");
        assert!(end.contains(&start), "{start:?} not in\n{end}");
        assert!(end.contains("the selected reply · ▲ more: [ ─"), "{end}");
        insta::assert_snapshot!("explained_end_80x24", render(&s, 80, 24, COLOR).backend());
    }

    #[test]
    fn wrap_on_and_off_at_each_size() {
        for name in ["first", "delivered"] {
            for (w, h) in [(80, 24), (100, 30), (120, 40), (200, 50)] {
                for (mode, wrap) in [("wrap", true), ("cut", false)] {
                    let mut s = if name == "first" { busy() } else { delivered() };
                    s.transcript.wrap = Some(wrap);
                    insta::assert_snapshot!(
                        format!("{name}_{mode}_{w}x{h}"),
                        render(&s, w, h, COLOR).backend()
                    );
                }
            }
        }
    }

    #[test]
    fn wrap_is_on_below_100_columns_until_toggled() {
        let mut s = busy();
        assert!(s.transcript.wraps(80));
        assert!(!s.transcript.wraps(100));
        // `w` flips what the screen shows now.
        s.transcript.wide = false;
        s.transcript.toggle_wrap();
        assert!(!s.transcript.wraps(80));
        s.transcript.toggle_wrap();
        assert!(s.transcript.wraps(200));
        let screen = rows(&s, 80, 24).join("\n");
        // The continuation sits under the text (column 10 of the pane).
        assert!(
            screen.contains("││          Relay access denied"),
            "{screen}"
        );
    }

    #[test]
    fn a_wrapped_row_breaks_at_a_space_and_indents_under_the_text() {
        use ratatui::text::{Line, Span};
        let line = Line::from(vec![
            Span::raw("  0.001 "),
            Span::raw("← "),
            Span::raw("250 one two three"),
        ]);
        let rows: Vec<String> = super::super::wrap_line(line, 20, 10)
            .iter()
            .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
            .collect();
        assert_eq!(rows, ["  0.001 ← 250 one ", "          two three"]);
        // No space to break at: mid-word, every row within the width.
        let long = Line::from(format!("  0.001 → {}", "x".repeat(25)));
        let rows = super::super::wrap_line(long, 20, 10);
        assert_eq!(rows.len(), 3);
        assert!(rows.iter().all(|r| r.width() <= 20));
        assert!(rows[1].to_string().starts_with("          x"));
    }

    #[test]
    fn a_frame_draws_only_the_visible_lines() {
        let mut s = busy();
        let template = s.transcript.lines.get(1).unwrap().to_line();
        let mut lines = Lines::default();
        for _ in 0..1_000_000 {
            lines.push_line(template.clone());
        }
        s.transcript.lines = lines;
        s.transcript.scroll = 500_000;
        s.transcript.selected = Some(499_999);
        // Draws at all, and shows the window asked for.
        let t = render(&s, 120, 40, COLOR);
        let text = format!("{:?}", t.backend().buffer());
        assert!(text.contains("500000 lines up"));
    }
}
