//! The command palette: a lesson's instruction, the filter, the items the
//! state computed for the stage, the selected item's hint; or an open
//! prompt's input line.

use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line as TLine, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use super::{block, clamp_offset, ellipsize, field, fit_title, more, wrapped_rows};
use crate::app::{AppState, Focus, Prompt};
use crate::tui::theme::Theme;

fn title(state: &AppState) -> String {
    match &state.palette.prompt {
        Some(Prompt::Raw) => crate::app::raw_data::prompt_text(state).0.to_string(),
        Some(Prompt::AuthUser(m)) => format!("AUTH {m}: user name"),
        Some(Prompt::AuthPassword(m, _)) => format!("AUTH {m}: password (hidden)"),
        Some(Prompt::Connect) => "Connect to HOST[:PORT] (empty: built-in)".to_string(),
        Some(Prompt::OpenMessage) => "Open message: a file's path (.eml)".to_string(),
        Some(Prompt::AttachFile) => "Attach file: its path".to_string(),
        None => match &state.lesson {
            Some(run) => format!(
                "Lesson {}/{}: {}",
                (run.step + 1).min(run.lesson.steps.len()),
                run.lesson.steps.len(),
                run.lesson.title
            ),
            None => "Commands".to_string(),
        },
    }
}

pub fn palette(state: &AppState, frame: &mut Frame, area: Rect, theme: &Theme) {
    let focused = state.focus == Focus::Palette;
    let title = fit_title(&title(state), area.width);
    let b = block(&title, focused, theme);
    let inner = b.inner(area);
    frame.render_widget(b, area);
    if inner.height == 0 {
        return;
    }
    if state.palette.prompt.is_some() {
        let rows = Layout::default()
            .direction(Direction::Vertical)
            .constraints([Constraint::Length(1), Constraint::Min(0)])
            .split(inner);
        frame.render_widget(&field(&state.palette.input, focused, theme), rows[0]);
        let help = match state.palette.prompt {
            Some(Prompt::Raw) => crate::app::raw_data::prompt_text(state).1,
            _ => "Enter sends · Esc cancels",
        };
        frame.render_widget(
            Paragraph::new(help)
                .style(theme.hint())
                .wrap(Wrap { trim: true }),
            rows[1],
        );
        return;
    }
    // A lesson's instruction sits above the commands it is about, in at
    // most half the pane; the row below it says when more of it is hidden.
    let inner = match lesson_layout(state, inner, theme) {
        Some((text, content, view, parts)) => {
            let offset = clamp_offset(state.views.lesson.offset, content, view);
            let text_area = Rect {
                height: view,
                ..parts[0]
            };
            frame.render_widget(text.scroll((offset, 0)), text_area);
            let keys = if focused { "PgUp PgDn" } else { "the wheel" };
            if let Some(m) = more(offset, content, view, keys) {
                let row = Rect {
                    y: parts[0].y + view,
                    height: 1,
                    ..parts[0]
                };
                frame.render_widget(
                    Paragraph::new(m.trim().to_string()).style(theme.hint()),
                    row,
                );
            }
            parts[1]
        }
        None => inner,
    };
    items(state, frame, inner, theme);
}

type LessonLayout<'a> = (Paragraph<'a>, u16, u16, std::rc::Rc<[Rect]>);

/// The lesson's instruction, its rows once wrapped, the rows shown, and
/// the palette's inner area split: the instruction and a row below it,
/// then the commands. None without a lesson, or with a prompt open.
fn lesson_layout<'a>(state: &'a AppState, inner: Rect, theme: &Theme) -> Option<LessonLayout<'a>> {
    let run = state.lesson.as_ref()?;
    if state.palette.prompt.is_some() {
        return None;
    }
    let text = Paragraph::new(Span::styled(run.say(), theme.notice())).wrap(Wrap { trim: true });
    let content = wrapped_rows(&text, inner.width);
    let rows = content.saturating_add(1).min(inner.height / 2).max(2);
    let parts = Layout::default()
        .direction(Direction::Vertical)
        .constraints([Constraint::Length(rows), Constraint::Min(0)])
        .split(inner);
    Some((text, content, rows - 1, parts))
}

/// The lesson's rows once wrapped and the rows shown, for the palette's
/// `area`: the loop's measure for scrolling.
pub fn lesson_measure(state: &AppState, area: Rect) -> Option<(u16, u16)> {
    let inner = block("", false, &Theme::PLAIN).inner(area);
    lesson_layout(state, inner, &Theme::PLAIN).map(|(_, content, view, _)| (content, view))
}

fn items(state: &AppState, frame: &mut Frame, inner: Rect, theme: &Theme) {
    let focused = state.focus == Focus::Palette;
    let p = &state.palette;
    let items = p.items();
    let selected = p.index.min(items.len().saturating_sub(1));
    // The selected item's hint, wrapped to two rows where it needs them.
    let hint = items
        .get(selected)
        .map(|item| hint_paragraph(&item.hint, inner.width, theme));
    let hint_rows = hint.as_ref().map_or(0, |(_, rows)| *rows);
    let list_rows = inner.height.saturating_sub(1 + hint_rows) as usize;
    let filter_line = if p.filter.is_empty() {
        TLine::from(Span::styled(
            "type to filter · Enter sends · → edits",
            theme.hint(),
        ))
    } else {
        TLine::from(vec![
            Span::styled("filter: ", theme.label()),
            Span::raw(p.filter.clone()),
        ])
    };
    let first = selected.saturating_sub(list_rows.saturating_sub(1));
    let mut lines = vec![filter_line];
    for (i, item) in items.iter().enumerate().skip(first).take(list_rows) {
        let style = if i == selected && focused {
            theme.selected()
        } else {
            Style::default()
        };
        let label = ellipsize(&format!(" {}", item.label), usize::from(inner.width));
        lines.push(TLine::from(Span::styled(label, style)));
    }
    if items.is_empty() {
        lines.push(TLine::from(Span::styled(
            " nothing matches; Ctrl-R sends a raw line",
            theme.hint(),
        )));
    }
    let list_area = Rect {
        height: inner.height.saturating_sub(hint_rows),
        ..inner
    };
    frame.render_widget(Paragraph::new(lines), list_area);
    if let Some((hint, rows)) = hint {
        let hint_area = Rect {
            y: inner.y + inner.height.saturating_sub(rows),
            height: rows.min(inner.height),
            ..inner
        };
        frame.render_widget(hint, hint_area);
    }
}

/// A hint wrapped at word boundaries in at most two rows of `width`, cut
/// with an ellipsis where even two are not enough; and its rows.
fn hint_paragraph(hint: &str, width: u16, theme: &Theme) -> (Paragraph<'static>, u16) {
    let make = |t: String| {
        Paragraph::new(t)
            .style(theme.hint())
            .wrap(Wrap { trim: true })
    };
    let mut text = hint.to_string();
    let mut p = make(text.clone());
    let mut rows = wrapped_rows(&p, width);
    // Words off the end until it fits (a hint is a sentence: bounded).
    while rows > 2 {
        let Some(cut) = text.trim_end_matches('…').trim_end().rfind(' ') else {
            break;
        };
        text.truncate(cut);
        text.push('…');
        p = make(text.clone());
        rows = wrapped_rows(&p, width);
    }
    (p, rows.clamp(1, 2))
}

#[cfg(test)]
mod tests {
    use crate::app::{update, Action, LessonRun, Prompt};
    use crate::tui::test_support::{busy, render, COLOR};

    /// "introduce yourself; the re" was all the first hint showed at
    /// 80x24: it wraps to a second row now, each word whole.
    #[test]
    fn the_selected_items_hint_wraps_to_two_rows() {
        let mut s = busy();
        let mut v = s.session.view().unwrap().clone();
        v.stage = crate::proto::client::Stage::Greeted;
        v.suggested = vec![crate::proto::command::Verb::Ehlo];
        s.session.conn = crate::app::Connection::Open(v);
        s.refresh();
        assert!(s
            .palette
            .selected()
            .unwrap()
            .hint
            .starts_with("introduce yourself"));
        let t = render(&s, 80, 24, COLOR);
        insta::assert_snapshot!("hint_wrapped_80x24", t.backend());
        let buf = t.backend().buffer();
        let rows: Vec<String> = (0..24)
            .map(|y| (0..28).map(|x| buf[(x, y)].symbol().to_string()).collect())
            .collect();
        let text = rows.join("\n");
        assert!(text.contains("│introduce yourself; the   "), "{text}");
        assert!(text.contains("│reply lists the extensions│"), "{text}");
    }

    #[test]
    fn a_hint_too_long_for_two_rows_ends_with_an_ellipsis() {
        let theme = crate::tui::theme::Theme::PLAIN;
        let long = "one two three four five six seven eight nine ten eleven twelve";
        let (p, rows) = super::hint_paragraph(long, 20, &theme);
        assert_eq!(rows, 2);
        assert_eq!(super::wrapped_rows(&p, 20), 2);
        let (_, rows) = super::hint_paragraph("short", 20, &theme);
        assert_eq!(rows, 1);
    }

    #[test]
    fn snapshot_of_a_lesson() {
        let mut s = busy();
        let (n, t) = crate::app::lesson::builtin()[0];
        let lesson = crate::app::lesson::Lesson::parse(n, t).unwrap();
        s.lesson = Some(LessonRun {
            lesson,
            step: 1,
            from: 0,
        });
        s.refresh();
        for (w, h) in [(80, 24), (120, 40)] {
            insta::assert_snapshot!(format!("lesson_{w}x{h}"), render(&s, w, h, COLOR).backend());
        }
    }

    /// A long step at 80x24: the row below it says more is hidden, PgDn
    /// (the palette's key while a lesson runs) brings the end into view,
    /// and the next step starts at its top.
    #[test]
    fn a_long_lesson_step_scrolls() {
        use crate::app::Focus;
        use crate::tui::keymap;
        use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
        let (_, lesson) = crate::app::lesson::builtin_lessons()
            .iter()
            .find(|(n, _)| *n == "dkim-one-byte")
            .unwrap();
        let mut s = busy();
        s.lesson = Some(LessonRun {
            lesson: lesson.clone(),
            step: 0,
            from: 0,
        });
        s.focus = Focus::Palette;
        s.refresh();
        let size = ratatui::layout::Rect::new(0, 0, 80, 24);
        crate::tui::layout::fit_views(&mut s, size);
        let top = render(&s, 80, 24, COLOR);
        insta::assert_snapshot!("lesson_long_top_80x24", top.backend());
        let text = format!("{:?}", top.backend().buffer());
        assert!(text.contains("▼ more below (PgUp PgDn)"), "{text}");
        let pgdn = KeyEvent::new(KeyCode::PageDown, KeyModifiers::NONE);
        for _ in 0..4 {
            let action = keymap::action(&s, pgdn).unwrap();
            update(&mut s, action);
            crate::tui::layout::fit_views(&mut s, size);
        }
        let end = render(&s, 80, 24, COLOR);
        insta::assert_snapshot!("lesson_long_scrolled_80x24", end.backend());
        let text = format!("{:?}", end.backend().buffer());
        assert!(text.contains("▲ more above"), "{text}");
        assert!(text.contains("MAIL FROM."), "the step's end: {text}");
        assert!(s.views.lesson.offset > 0);
        if let Some(run) = s.lesson.as_mut() {
            run.step = 1;
        }
        // A step moves on through update; any action then sees the change.
        update(&mut s, Action::FocusNext);
        assert_eq!(s.views.lesson.offset, 0, "a new step starts at its top");
    }

    #[test]
    fn snapshots_of_prompts() {
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
        s.palette.prompt = Some(Prompt::AuthPassword(
            crate::proto::auth::Mechanism::Plain,
            "alice".into(),
        ));
        s.palette.input = tui_textarea::TextArea::from(["wonderland"]);
        s.palette.input.set_mask_char('•');
        let t = render(&s, 80, 24, COLOR);
        insta::assert_snapshot!("password_prompt_80x24", t.backend());
        let text = format!("{:?}", t.backend().buffer());
        assert!(!text.contains("wonderland"), "the password is never drawn");
    }
}
