//! The envelope beside the header fields, and every finding with its
//! meaning; both computed by the state when an edit changes them.

use ratatui::layout::Rect;
use ratatui::text::{Line as TLine, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use super::block;
use crate::analysis::Level;
use crate::app::{AppState, LineKind};
use crate::tui::theme::Theme;

pub fn analysis(state: &AppState, frame: &mut Frame, area: Rect, theme: &Theme) {
    let b = block(
        "Envelope against headers (F2: back to the message)",
        false,
        theme,
    );
    let inner = b.inner(area);
    frame.render_widget(b, area);
    let headers = state.header_side();
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
                state.envelope.sender(),
                join(&state.envelope.rcpts())
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
    for f in state.findings() {
        let (mark, style) = match f.level {
            Level::Warning => ("! ", theme.line(LineKind::Warning, None)),
            Level::Info => ("· ", theme.line(LineKind::Info, None)),
        };
        lines.push(TLine::from(vec![
            Span::styled(mark, style),
            Span::styled(f.text.as_str(), style),
        ]));
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

#[cfg(test)]
mod tests {
    use crate::app::Lower;
    use crate::tui::test_support::{busy, render, COLOR};

    #[test]
    fn snapshots_of_the_envelope_against_headers_view() {
        let mut s = busy();
        s.lower = Lower::Analysis;
        s.envelope.rcpts =
            tui_textarea::TextArea::from(["alice@example.test", "hidden@example.test"]);
        s.refresh();
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
}
