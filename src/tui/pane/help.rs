//! The overlays: the help, generated from the key table, and the question
//! before quitting with a session open.

use ratatui::layout::{Alignment, Rect};
use ratatui::text::{Line as TLine, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::block;
use crate::app::Focus;
use crate::tui::keymap::BINDINGS;
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
            Span::styled(format!("{:<18}", b.shown), theme.key()),
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
    use crate::tui::test_support::{busy, render, COLOR};

    #[test]
    fn snapshots_of_overlays() {
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
    }
}
