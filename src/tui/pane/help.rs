//! The overlays: the help, generated from the key table, and the question
//! before quitting with a session open.

use ratatui::layout::{Alignment, Rect};
use ratatui::text::{Line as TLine, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::{block, clamp_offset, wrapped_rows};
use crate::app::{AppState, Focus};
use crate::tui::keymap::{Binding, When, BINDINGS, HELP_CLOSE, HELP_SCROLL};
use crate::tui::theme::Theme;

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

/// The help's width: the table's three columns, and its borders.
const WIDTH: u16 = 76;

/// The columns of a row's keys and pane, before what it does.
const KEYS_AND_PANE: usize = 29;

/// `text` in lines of at most `width` columns, broken between words (a
/// word longer than that stands alone and the paragraph's wrap cuts it).
fn hang(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split(' ') {
        match lines.last_mut() {
            Some(last) if last.is_empty() => last.push_str(word),
            Some(last) if last.chars().count() + 1 + word.chars().count() <= width.max(10) => {
                last.push(' ');
                last.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}

/// A row whose keys do something only while a replay (`--replay`) is open.
pub(crate) fn replay_only(b: &Binding) -> bool {
    !b.binds.is_empty()
        && b.binds
            .iter()
            .all(|k| matches!(k.when, When::Replay | When::ReplayOutsidePalette))
}

/// The rows the help lists: every row of the key table, grouped as the
/// table is, whatever the state (the help is where a key not offered now
/// is found) — but a replay's own rows only in a replay.
pub(crate) fn rows(replay: bool) -> impl Iterator<Item = &'static Binding> {
    BINDINGS.iter().filter(move |b| replay || !replay_only(b))
}

/// The help's rows: the introduction, then the rows of the key table.
fn paragraph(theme: &Theme, width: u16, replay: bool) -> Paragraph<'static> {
    let mut lines = vec![
        TLine::from("The palette offers the commands that fit the session's stage; the"),
        TLine::from("envelope is what the server delivers by, the message what the reader sees."),
        TLine::from(""),
    ];
    for b in rows(replay) {
        let pane = match b.pane {
            None => "",
            Some(Focus::Palette) => "palette",
            Some(Focus::Envelope) => "envelope",
            Some(Focus::Composer) => "message",
            Some(Focus::Transcript) => "transcript",
        };
        // What a row does wraps under itself, not under the keys.
        let mut what = hang(b.what, usize::from(width).saturating_sub(KEYS_AND_PANE));
        lines.push(TLine::from(vec![
            Span::styled(format!("{:<18}", b.shown), theme.key()),
            Span::raw(format!("{:<11}", pane)),
            Span::raw(what.remove(0)),
        ]));
        for more in what {
            lines.push(TLine::from(format!("{:KEYS_AND_PANE$}{more}", "")));
        }
    }
    // The introduction wraps where the help is narrower than its lines.
    Paragraph::new(lines)
        .alignment(Alignment::Left)
        .wrap(Wrap { trim: false })
}

/// Where the help goes at this size: as tall as its rows, or the screen.
fn area(size: Rect, replay: bool) -> Rect {
    let inner = WIDTH.min(size.width).saturating_sub(2);
    let rows = wrapped_rows(&paragraph(&Theme::PLAIN, inner, replay), inner);
    centered(size, WIDTH, rows.saturating_add(2))
}

/// The help's rows once wrapped at this size, and the rows it shows: the
/// loop's measure for scrolling it.
pub fn measure(size: Rect, replay: bool) -> (u16, u16) {
    let inner = block("", true, &Theme::PLAIN).inner(area(size, replay));
    (
        wrapped_rows(&paragraph(&Theme::PLAIN, inner.width, replay), inner.width),
        inner.height,
    )
}

/// The help over the panes; on a screen shorter than its rows it scrolls,
/// and its bottom edge says how, and how to close it.
pub fn help(state: &AppState, frame: &mut Frame, size: Rect, theme: &Theme) {
    let replay = state.replay.is_some();
    let area = area(size, replay);
    frame.render_widget(Clear, area);
    let b = block("Help", true, theme);
    let inner = b.inner(area);
    let text = paragraph(theme, inner.width, replay);
    let content = wrapped_rows(&text, inner.width);
    let offset = clamp_offset(state.views.help.offset, content, inner.height);
    let above = offset > 0;
    let below = u32::from(offset) + u32::from(inner.height) < u32::from(content);
    let edge = match (above, below) {
        (false, false) => format!(" {HELP_CLOSE} "),
        (true, true) => format!(" ▲▼ more: {HELP_SCROLL} · {HELP_CLOSE} "),
        (true, false) => format!(" ▲ more above: {HELP_SCROLL} · {HELP_CLOSE} "),
        (false, true) => format!(" ▼ more below: {HELP_SCROLL} · {HELP_CLOSE} "),
    };
    let b = b.title_bottom(Span::styled(edge, theme.hint()));
    frame.render_widget(b, area);
    frame.render_widget(text.scroll((offset, 0)), inner);
}

pub fn confirm(frame: &mut Frame, size: Rect, theme: &Theme) {
    let area = centered(size, 50, 5);
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new("A session is open. Quit anyway?\ny or Enter: quit · any other key: stay")
            .block(block("Quit?", true, theme))
            .wrap(Wrap { trim: true }),
        area,
    );
}

#[cfg(test)]
mod tests {
    use crate::app::{update, Action, Step, View};
    use crate::tui::layout::fit_views;
    use crate::tui::test_support::{busy, render, COLOR};
    use ratatui::layout::Rect;

    fn screen(t: &ratatui::Terminal<ratatui::backend::TestBackend>) -> String {
        crate::tui::test_support::screen_rows(t).join("\n")
    }

    /// Opens the help and scrolls it as the loop does: measure, then the
    /// action, at this size.
    fn scrolled(w: u16, h: u16, steps: &[Step]) -> crate::app::AppState {
        let mut s = busy();
        update(&mut s, Action::ToggleHelp);
        for step in steps {
            fit_views(&mut s, Rect::new(0, 0, w, h));
            update(&mut s, Action::ScrollView(View::Help, *step));
        }
        s
    }

    #[test]
    fn what_a_row_does_wraps_between_words() {
        assert_eq!(
            super::hang("move; MAIL FROM is one line, RCPT TO one per line", 45),
            ["move; MAIL FROM is one line, RCPT TO one per", "line"]
        );
        assert_eq!(super::hang("help", 45), ["help"]);
        assert_eq!(
            super::hang("a b c", 0),
            ["a b c"],
            "never below ten columns"
        );
    }

    #[test]
    fn snapshots_of_overlays() {
        let s = scrolled(120, 40, &[]);
        let big = render(&s, 120, 40, COLOR);
        insta::assert_snapshot!("help_120x40", big.backend());
        assert!(screen(&big).contains("Esc ? q: close"));
        assert!(!screen(&big).contains("more below"), "all of it shows");
        let s = scrolled(80, 24, &[]);
        let top = render(&s, 80, 24, COLOR);
        insta::assert_snapshot!("help_80x24", top.backend());
        assert!(screen(&top).contains("The palette offers"), "the intro");
        assert!(screen(&top).contains("▼ more below: ↑ ↓ PgUp PgDn, wheel · Esc ? q: close"));
        let s = scrolled(80, 24, &[Step::Pages(1), Step::Pages(1)]);
        let end = render(&s, 80, 24, COLOR);
        insta::assert_snapshot!("help_scrolled_80x24", end.backend());
        assert!(screen(&end).contains("F4"), "the last row");
        assert!(screen(&end).contains("▲ more above"));
        for (w, h) in [(100, 30), (200, 50)] {
            let t = render(&scrolled(w, h, &[]), w, h, COLOR);
            insta::assert_snapshot!(format!("help_{w}x{h}"), t.backend());
            assert!(screen(&t).contains("Esc ? q: close"));
        }
        let mut s = busy();
        s.confirm_quit = true;
        insta::assert_snapshot!("confirm_quit_80x24", render(&s, 80, 24, COLOR).backend());
    }

    /// A live session's help does not start with the replay's keys; a
    /// replay's help lists them.
    #[test]
    fn replay_rows_only_in_a_replay() {
        let live = screen(&render(&scrolled(120, 40, &[]), 120, 40, COLOR));
        assert!(!live.contains("replay:"), "{live}");
        assert!(live.contains("next / previous pane"));
        let mut s = crate::tui::test_support::empty();
        let r = crate::app::replay::Replay::parse(
            "r.jsonl",
            r#"{"kind":"client","seq":1,"t":0.0,"text":"EHLO a"}"#,
        )
        .unwrap();
        update(&mut s, Action::StartReplay(Box::new(r)));
        update(&mut s, Action::ToggleHelp);
        let replay = screen(&render(&s, 120, 40, COLOR));
        assert!(replay.contains("replay: the next step"), "{replay}");
        assert!(replay.contains("replay: on to the next mark"));
    }

    /// At 80x24 and smaller, every row of the key table can be scrolled
    /// into view, one row at a time, and the last stays the last.
    #[test]
    fn every_row_is_reachable_on_small_screens() {
        for (w, h) in [(80, 24), (60, 18), (70, 20)] {
            let mut s = scrolled(w, h, &[]);
            let mut seen = String::new();
            for _ in 0..60 {
                seen.push_str(&screen(&render(&s, w, h, COLOR)));
                fit_views(&mut s, Rect::new(0, 0, w, h));
                update(&mut s, Action::ScrollView(View::Help, Step::Rows(1)));
            }
            for b in super::rows(false) {
                let cut: String = b.what.chars().take(20).collect();
                assert!(seen.contains(&cut), "{w}x{h}: {:?} never shows", b.what);
            }
            let before = s.views.help.offset;
            fit_views(&mut s, Rect::new(0, 0, w, h));
            update(&mut s, Action::ScrollView(View::Help, Step::Rows(1)));
            assert_eq!(
                s.views.help.offset, before,
                "{w}x{h}: no further than the end"
            );
            // Closing and opening again starts at the top.
            update(&mut s, Action::ToggleHelp);
            update(&mut s, Action::ToggleHelp);
            assert_eq!(s.views.help.offset, 0);
        }
    }
}
