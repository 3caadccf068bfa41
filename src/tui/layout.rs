//! Where each pane goes on the screen, and the frame: every pane drawn from
//! `&AppState`, which drawing never changes.

use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use crate::app::{AppState, Lower};
use crate::tui::pane;
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

/// A screen's three rows: the status line, the panes, the hint bar (the
/// workbench's and the dashboard's).
pub fn rows(size: Rect) -> [Rect; 3] {
    Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(1),
            Constraint::Min(1),
            Constraint::Length(1),
        ])
        .areas(size)
}

pub fn areas(size: Rect) -> Areas {
    let rows = rows(size);
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

/// Presenter mode (F4): no palette and no envelope; the transcript and the
/// lower pane (the message, F2's explanations, F3) take the whole width, with
/// the same heights as in `areas`.
pub fn presenter_areas(size: Rect) -> Areas {
    let a = areas(size);
    let body = Rect {
        y: a.status.y + a.status.height,
        height: a.hints.y.saturating_sub(a.status.y + a.status.height),
        ..size
    };
    let right = Layout::default()
        .direction(Direction::Vertical)
        .constraints([Constraint::Min(5), Constraint::Length(a.composer.height)])
        .split(body);
    Areas {
        palette: Rect::default(),
        envelope: Rect::default(),
        transcript: right[0],
        composer: right[1],
        ..a
    }
}

/// The lower pane's width from which F2's findings show beside the message
/// without pressing F2: 180 columns give it 132, 200 give it 152; 160 give
/// 112, where each half would be too narrow for the message's lines.
pub const BESIDE_WIDTH: u16 = 130;

/// The message and F2 beside it, halves of the lower pane where it is
/// `BESIDE_WIDTH` wide or more; None where the message takes it all.
pub fn beside(lower: Rect) -> Option<(Rect, Rect)> {
    if lower.width < BESIDE_WIDTH {
        return None;
    }
    let half = lower.width / 2;
    Some((
        Rect {
            width: half,
            ..lower
        },
        Rect {
            x: lower.x + half,
            width: lower.width - half,
            ..lower
        },
    ))
}

/// The panes for this state: presenter mode's or the usual.
pub fn areas_for(state: &AppState, size: Rect) -> Areas {
    if state.presenter {
        presenter_areas(size)
    } else {
        areas(size)
    }
}

/// Lines of transcript visible at this terminal size (the same in
/// presenter mode, which widens the panes only).
pub fn transcript_rows(size: Rect) -> usize {
    areas(size).transcript.height.saturating_sub(2) as usize
}

/// Measures F2, the lesson's instruction and the help against their panes at this
/// size, so that `update` scrolls them no further than their content: the
/// loop's call before each frame (drawing never changes the state).
pub fn fit_views(state: &mut AppState, size: Rect) {
    let a = areas_for(state, size);
    let f2 = match state.lower {
        Lower::Analysis => Some(a.composer),
        Lower::Message => beside(a.composer).map(|(_, f2)| f2),
        Lower::ServerSide => None,
    };
    if let Some(area) = f2 {
        let (content, view) = pane::analysis::measure(state, area);
        state.views.analysis.fit(content, view);
    }
    if state.lower == Lower::ServerSide {
        let (content, view) = pane::server_side::measure(state, a.composer);
        state.views.server_side.fit(content, view);
    }
    if let Some((content, view)) = pane::palette::lesson_measure(state, a.palette) {
        state.views.lesson.fit(content, view);
    }
    if let Some((content, view)) = pane::transcript::explanation_measure(state, a.transcript, size)
    {
        state.views.explanation.fit(content, view);
    }
    if state.help {
        let (content, view) = pane::help::measure(size, state.replay.is_some());
        state.views.help.fit(content, view);
    }
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
    theme.paint_background(frame, size);
    let a = areas_for(state, size);
    pane::status::status(state, frame, a.status, theme);
    if !state.presenter {
        pane::palette::palette(state, frame, a.palette, theme);
        pane::envelope::envelope(state, frame, a.envelope, theme);
    }
    pane::transcript::transcript(state, frame, a.transcript, theme);
    match state.lower {
        Lower::Message => match beside(a.composer) {
            Some((message, f2)) => {
                pane::composer::composer(state, frame, message, theme);
                pane::analysis::beside(state, frame, f2, theme);
            }
            None => pane::composer::composer(state, frame, a.composer, theme),
        },
        Lower::Analysis => pane::analysis::analysis(state, frame, a.composer, theme),
        Lower::ServerSide => pane::server_side::server_side(state, frame, a.composer, theme),
    }
    pane::hints::hints(state, frame, a.hints, theme);
    if state.help {
        pane::help::help(state, frame, size, theme);
    } else if state.confirm_quit {
        pane::help::confirm(frame, size, theme);
    }
}

#[cfg(test)]
mod tests {
    use ratatui::backend::TestBackend;
    use ratatui::layout::Rect;
    use ratatui::style::{Color, Modifier};
    use ratatui::Terminal;

    use super::areas;
    use crate::app::Focus;
    use crate::tui::test_support::{broken, busy, empty, render, COLOR};
    use crate::tui::theme::Theme;

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

    /// Every pane's title fits its border or ends in an ellipsis: a title
    /// ratatui cut would run into the corner ("…server ac┐"). Likewise a
    /// palette item too long for its row ends in "…".
    #[test]
    fn no_title_is_cut_silently_at_any_size() {
        use crate::app::Lower;
        let mut states = vec![empty(), busy(), broken()];
        for lower in [Lower::Analysis, Lower::ServerSide] {
            let mut s = busy();
            s.lower = lower;
            states.push(s);
        }
        let mut lesson = busy();
        let (n, t) = crate::app::lesson::builtin()[3];
        lesson.lesson = Some(crate::app::LessonRun {
            lesson: crate::app::lesson::Lesson::parse(n, t).unwrap(),
            step: 0,
            from: 0,
        });
        states.push(lesson);
        for (w, h) in [(60, 18), (80, 24), (100, 30), (120, 40), (200, 50)] {
            for s in &states {
                let t = render(s, w, h, COLOR);
                let buf = t.backend().buffer();
                for y in 0..h {
                    for x in 1..w {
                        if buf[(x, y)].symbol() == "┐" {
                            let before = buf[(x - 1, y)].symbol();
                            assert!(
                                before == "─" || before == " ",
                                "a title cut at {w}x{h}, row {y}: {:?}",
                                (0..w).map(|x| buf[(x, y)].symbol()).collect::<String>()
                            );
                        }
                    }
                }
                let palette = areas(Rect::new(0, 0, w, h)).palette;
                let labels: Vec<String> =
                    s.palette.items().iter().map(|i| i.label.clone()).collect();
                for y in palette.y + 1..palette.y + palette.height - 1 {
                    let row: String = (palette.x + 1..palette.x + palette.width - 1)
                        .map(|x| buf[(x, y)].symbol())
                        .collect();
                    let shown = row.trim();
                    if let Some(cut) = shown.strip_suffix('…') {
                        assert!(labels.iter().any(|l| l.starts_with(cut)), "{row:?}");
                    } else if shown.starts_with("Lesson: ") {
                        assert!(
                            labels.iter().any(|l| l == shown),
                            "a palette item cut at {w}x{h}: {row:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn snapshot_of_a_terminal_too_small() {
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

        let plain = render(
            &s,
            120,
            40,
            Theme {
                color: false,
                palette: crate::tui::theme::Palette::Dark,
            },
        );
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
}
