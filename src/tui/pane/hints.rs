//! The hint bar, in priority order: how to get help and how to quit
//! (always, in the keys that work here), the selected item in presenter
//! mode, the latest notice, then from the key table a replay's keys, the
//! focused pane's and the global ones, as many as the width holds.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line as TLine, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::app::{AppState, Focus};
use crate::tui::keymap::{self, BINDINGS};
use crate::tui::theme::Theme;

/// The spans of the bar and the columns left.
struct Bar<'a> {
    spans: Vec<Span<'a>>,
    left: usize,
}

impl<'a> Bar<'a> {
    /// A key and what it does, if both fit whole; or, for a key that must
    /// come before the others (`cut`), with what it does cut short.
    fn key(&mut self, shown: String, what: &str, cut: bool, theme: &Theme) -> bool {
        let key = Span::styled(format!(" {shown}"), theme.key());
        let mut what = Span::styled(format!(" {what} "), theme.hint());
        if key.width() + what.width() > self.left {
            // At least a few words of what it does, else nothing.
            let room = self.left.saturating_sub(key.width());
            if !cut || room < 12 {
                return false;
            }
            what = Span::styled(ellipsis(&what.content, room), theme.hint());
        }
        self.left -= key.width() + what.width();
        self.spans.extend([key, what]);
        true
    }

    /// Text, cut with an ellipsis to the columns left, then a separator.
    fn text(&mut self, text: &str, style: Style) {
        let shown = ellipsis(&format!(" {text} "), self.left.saturating_sub(1));
        let width = Span::raw(shown.as_str()).width() + 1;
        if shown.trim().is_empty() || width > self.left {
            return;
        }
        self.left -= width;
        self.spans.push(Span::styled(shown, style));
        self.spans.push(Span::raw("│"));
    }
}

/// `text` (a space at each end) in at most `cols` columns: whole, or cut
/// with "… " at its end.
fn ellipsis(text: &str, cols: usize) -> String {
    if Span::raw(text).width() <= cols {
        return text.to_string();
    }
    let mut cut = String::new();
    for c in text.trim_end().chars() {
        cut.push(c);
        if Span::raw(cut.as_str()).width() + 2 > cols {
            cut.pop();
            break;
        }
    }
    cut.push_str("… ");
    cut
}

pub fn hints(state: &AppState, frame: &mut Frame, area: Rect, theme: &Theme) {
    frame.render_widget(Paragraph::new(line(state, area.width, theme)), area);
}

/// The bar at this width.
fn line<'a>(state: &'a AppState, width: u16, theme: &Theme) -> TLine<'a> {
    let mut bar = Bar {
        spans: Vec::new(),
        left: usize::from(width),
    };
    // First and always: how to get help and how to quit from here.
    bar.key(keymap::help_key(state), "help", false, theme);
    bar.key(keymap::quit_key(state), "quit", false, theme);
    bar.spans.push(Span::raw("│"));
    bar.left = bar.left.saturating_sub(1);
    // Presenter mode hides the palette: its selected item shows here.
    if state.presenter && state.focus == Focus::Palette {
        if let Some(item) = state.palette.selected() {
            bar.text(&format!("▸ {}", item.label), theme.key());
        }
    }
    if let Some(n) = &state.notice {
        bar.text(n, theme.notice());
    }
    // A replay's keys first while one is open (issue 13); in presenter
    // mode without one, F4 (the way back); then the focused pane's keys:
    // these cut short rather than left out.
    let replay = (state.replay.is_some() || state.presenter)
        .then(keymap::replay_rows)
        .into_iter()
        .flatten()
        .filter(|b| state.replay.is_some() || b.offered(state));
    let local = BINDINGS
        .iter()
        .filter(|b| b.pane == Some(state.focus) && b.offered(state));
    let mut first = true;
    for b in replay.chain(local) {
        // The first of them is cut if it must be; the others fit or go.
        if bar.key(b.shown.into(), b.what, first, theme) {
            first = false;
        }
    }
    // Then the global ones, as many as fit whole, in order: a long one
    // skipped leaves room for a shorter one after it.
    let global = BINDINGS
        .iter()
        .filter(|b| b.pane.is_none() && b.hint && !keymap::help_or_quit(b));
    for b in global {
        bar.key(b.shown.into(), b.what, false, theme);
    }
    TLine::from(bar.spans)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::replay::Replay;
    use crate::app::{update, Action, Prompt};
    use crate::tui::test_support::busy;

    fn text(state: &AppState, width: u16) -> String {
        line(state, width, &Theme::PLAIN)
            .spans
            .iter()
            .map(|s| s.content.as_ref())
            .collect()
    }

    fn focused(focus: Focus, presenter: bool) -> AppState {
        let mut s = busy();
        s.focus = focus;
        s.presenter = presenter;
        s
    }

    fn replaying(focus: Focus, presenter: bool) -> AppState {
        let r = Replay::parse(
            "r.jsonl",
            "{\"kind\":\"client\",\"seq\":1,\"t\":0.0,\"text\":\"QUIT\"}",
        )
        .unwrap();
        let mut s = busy();
        update(&mut s, Action::StartReplay(Box::new(r)));
        s.notice = None;
        s.focus = focus;
        s.presenter = presenter;
        s
    }

    /// Every state the bar must hold help and quit in: each focus, a
    /// prompt open, a filter typed, a replay, presenter mode, a notice.
    fn states() -> Vec<(String, AppState)> {
        let mut out = Vec::new();
        for focus in [
            Focus::Palette,
            Focus::Envelope,
            Focus::Composer,
            Focus::Transcript,
        ] {
            out.push((format!("{focus:?}"), focused(focus, false)));
            out.push((format!("{focus:?}, presenter"), focused(focus, true)));
        }
        let mut s = busy();
        s.palette.prompt = Some(Prompt::Raw);
        out.push(("raw line open".into(), s));
        let mut s = busy();
        s.palette.prompt = Some(Prompt::AuthPassword(
            crate::proto::auth::Mechanism::Plain,
            "alice".into(),
        ));
        out.push(("password prompt".into(), s));
        let mut s = busy();
        s.palette.filter = "q".into();
        out.push(("filter typed".into(), s));
        let mut s = busy();
        s.notice = Some("a notice far longer than any terminal is wide: ".repeat(5));
        out.push(("long notice".into(), s));
        for focus in [Focus::Palette, Focus::Transcript] {
            out.push((format!("replay, {focus:?}"), replaying(focus, false)));
        }
        out.push(("replay, presenter".into(), replaying(Focus::Palette, true)));
        out
    }

    #[test]
    fn help_and_quit_always_show_first() {
        for (name, s) in states() {
            let help = keymap::help_key(&s);
            let quit = keymap::quit_key(&s);
            let first = format!(" {help} help  {quit} quit │");
            for width in [60, 80, 120] {
                let bar = text(&s, width);
                assert!(bar.starts_with(&first), "{name} at {width}: {bar}");
                let cols = Span::raw(bar.as_str()).width();
                assert!(cols <= usize::from(width), "{name} at {width}: {bar}");
            }
        }
    }

    #[test]
    fn the_quit_key_is_the_one_that_works_there() {
        let by_name: Vec<_> = states().into_iter().collect();
        let bar = |name: &str| {
            let s = &by_name.iter().find(|(n, _)| n == name).unwrap().1;
            text(s, 80)
        };
        assert!(bar("Transcript").starts_with(" ? help  q quit │"));
        assert!(
            bar("Palette").starts_with(" ? help  Ctrl-C quit │"),
            "q filters"
        );
        assert!(bar("raw line open").starts_with(" F1 help  Ctrl-C quit │"));
        assert!(bar("filter typed").starts_with(" F1 help  Ctrl-C quit │"));
        assert!(bar("Composer").starts_with(" F1 help  Ctrl-C quit │"));
        // The focused pane's keys come next.
        assert!(
            bar("Transcript").contains("↑ ↓ PgUp PgDn scroll"),
            "{}",
            bar("Transcript")
        );
        assert!(bar("Palette").contains("Enter send the selected command"));
        assert!(
            bar("Palette, presenter").contains("▸ "),
            "the selected item"
        );
        assert!(bar("Transcript, presenter").contains("F4 presenter mode"));
        assert!(bar("replay, Transcript").contains("Enter replay: the next step"));
        assert!(bar("long notice").contains("…"), "{}", bar("long notice"));
    }

    /// The bar in every state of `states`, one per line, at each width.
    #[test]
    fn snapshots_of_the_hint_bar() {
        for width in [60u16, 80, 120] {
            let rows: Vec<String> = states()
                .iter()
                .map(|(name, s)| format!("{name:<22}|{}|", text(s, width)))
                .collect();
            insta::assert_snapshot!(format!("hints_{width}"), rows.join("\n"));
        }
    }
}
