//! The envelope beside the header fields, every finding with its meaning,
//! and the authentication verdicts a receiver would give (SPF, DKIM, DMARC,
//! iprev) with the client address and DNS used; all computed when an input
//! changes, never here.

use ratatui::layout::Rect;
use ratatui::text::{Line as TLine, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use super::{block, clamp_offset, fit_title, more, wrapped_rows};
use crate::analysis::auth::Outcome;
use crate::analysis::Level;
use crate::app::{AppState, Focus, LineKind};
use crate::tui::theme::Theme;

pub fn analysis(state: &AppState, frame: &mut Frame, area: Rect, theme: &Theme) {
    let focused = state.focus == Focus::Composer;
    let title = fit_title(
        "Envelope against headers, authentication (F2: back to the message)",
        area.width,
    );
    let b = block(&title, focused, theme);
    let inner = b.inner(area);
    let text = paragraph(state, theme);
    let content = wrapped_rows(&text, inner.width);
    let offset = clamp_offset(state.views.analysis.offset, content, inner.height);
    let keys = if focused {
        "↑ ↓ PgUp PgDn"
    } else {
        "Tab here, or the wheel"
    };
    let b = match more(offset, content, inner.height, keys) {
        Some(m) => b.title_bottom(Span::styled(m, theme.hint())),
        None => b,
    };
    frame.render_widget(b, area);
    frame.render_widget(text.scroll((offset, 0)), inner);
}

/// The pane's rows once wrapped to `area`'s inner width, and the rows it
/// shows: the loop's measure for scrolling.
pub fn measure(state: &AppState, area: Rect) -> (u16, u16) {
    let inner = block("", false, &Theme::PLAIN).inner(area);
    let text = paragraph(state, &Theme::PLAIN);
    (wrapped_rows(&text, inner.width), inner.height)
}

/// Everything F2 says, wrapped.
fn paragraph<'a>(state: &'a AppState, theme: &Theme) -> Paragraph<'a> {
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
    lines.push(summary(state, theme));
    if let Some(why) = state.auth.broken() {
        lines.push(TLine::from(Span::styled(
            format!("! the DKIM signature no longer holds: {why}"),
            theme.line(LineKind::Warning, None),
        )));
    }
    // Most telling first, as a small pane shows the start: the warnings,
    // the verdicts with their sentences, the notes, the DNS lookups.
    let findings = |level: Level, lines: &mut Vec<TLine<'a>>| {
        let (mark, style) = match level {
            Level::Warning => ("! ", theme.line(LineKind::Warning, None)),
            Level::Info => ("· ", theme.line(LineKind::Info, None)),
        };
        for f in state.findings().iter().filter(|f| f.level == level) {
            lines.push(TLine::from(vec![
                Span::styled(mark, style),
                Span::styled(f.text.as_str(), style),
            ]));
        }
    };
    findings(Level::Warning, &mut lines);
    verdicts(state, theme, &mut lines);
    findings(Level::Info, &mut lines);
    lookups(state, theme, &mut lines);
    Paragraph::new(lines).wrap(Wrap { trim: false })
}

/// One line: each method's result, or why there are none; small panes
/// show at least this.
fn summary(state: &AppState, theme: &Theme) -> TLine<'static> {
    let mut spans = vec![Span::styled("auth     ", theme.label())];
    if let Some(why) = state.auth.not_judged() {
        spans.push(Span::raw(why.to_string()));
        return TLine::from(spans);
    }
    match state.auth.result() {
        None => spans.push(Span::raw("judging…")),
        Some((_, Err(e))) => spans.push(Span::styled(
            format!("not judged: {e}"),
            theme.line(LineKind::Warning, None),
        )),
        Some((_, Ok(j))) => {
            for v in &j.verdicts {
                spans.push(Span::styled(
                    format!("{}={} ", v.method.name(), v.result),
                    style(v.result, theme),
                ));
            }
        }
    }
    if state.auth.result().is_some() && !state.auth.is_current() {
        spans.push(Span::raw("(judging the change…)"));
    }
    TLine::from(spans)
}

/// Each verdict with its sentence, after what it was judged with.
fn verdicts<'a>(state: &'a AppState, theme: &Theme, lines: &mut Vec<TLine<'a>>) {
    let Some((request, Ok(j))) = state.auth.result() else {
        return;
    };
    lines.push(TLine::from(vec![
        Span::styled("judged   ", theme.label()),
        Span::raw(request.basis()),
    ]));
    for v in &j.verdicts {
        let mark = match v.result {
            Outcome::Pass => "✓ ",
            Outcome::Fail | Outcome::SoftFail | Outcome::PermError | Outcome::TempError => "! ",
            Outcome::None | Outcome::Neutral => "· ",
        };
        let style = style(v.result, theme);
        lines.push(TLine::from(vec![
            Span::styled(mark, style),
            Span::styled(format!("{}={} ", v.method.name(), v.result), style),
            Span::raw(v.sentence.clone()),
        ]));
    }
}

/// The DNS lookups the judgement made.
fn lookups(state: &AppState, theme: &Theme, lines: &mut Vec<TLine<'_>>) {
    let Some((_, Ok(j))) = state.auth.result() else {
        return;
    };
    for l in &j.lookups {
        lines.push(TLine::from(Span::styled(
            format!("  dns {l}"),
            theme.line(LineKind::Info, None),
        )));
    }
}

fn style(outcome: Outcome, theme: &Theme) -> ratatui::style::Style {
    match outcome {
        Outcome::Pass => theme.line(LineKind::Server, Some(250)),
        Outcome::Fail | Outcome::SoftFail | Outcome::PermError | Outcome::TempError => {
            theme.line(LineKind::Warning, None)
        }
        Outcome::None | Outcome::Neutral => theme.line(LineKind::Info, None),
    }
}

#[cfg(test)]
mod tests {
    use crate::analysis::auth::{Answer, Judgement, Lookup, Method, Outcome, Verdict};
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

    /// A fixed judgement, as the demo zone gives the demo message signed
    /// and then edited: no DNS is asked in a snapshot.
    fn judgement() -> Judgement {
        let v = |method, result, domain: &str, sentence: &str| Verdict {
            method,
            result,
            domain: domain.into(),
            reason: String::new(),
            sentence: sentence.into(),
        };
        Judgement {
            verdicts: vec![
                v(Method::SpfHelo, Outcome::Pass, "client.example", "SPF passes for the HELO name client.example from 127.0.0.1."),
                v(Method::Spf, Outcome::Pass, "client.example", "SPF passes for client.example (MAIL FROM) from 127.0.0.1."),
                v(Method::Dkim, Outcome::Fail, "client.example", "The signature with d=client.example does not verify: the body hash (bh=) differs, so the body changed after signing."),
                v(Method::Dmarc, Outcome::Pass, "client.example", "From: says client.example, aligned with SPF's client.example: DMARC passes (p=none)."),
                v(Method::Iprev, Outcome::Pass, "127.0.0.1", "127.0.0.1 resolves to localhost, which resolves back to it."),
            ],
            lookups: vec![Lookup {
                name: "client.example.".into(),
                rtype: "TXT",
                answer: Answer::Records(vec!["v=spf1 ip4:127.0.0.0/8 -all".into()], 300),
            }],
        }
    }

    #[test]
    fn snapshots_of_the_authentication_verdicts() {
        let mut s = busy();
        s.lower = Lower::Analysis;
        s.refresh();
        s.auth.set_result(judgement());
        for (w, h) in [(80, 24), (120, 40)] {
            let t = render(&s, w, h, COLOR);
            insta::assert_snapshot!(format!("analysis_auth_{w}x{h}"), t.backend());
        }
        let text = format!("{:?}", render(&s, 120, 40, COLOR).backend().buffer());
        assert!(text.contains("dkim=fail"), "{text}");
        assert!(text.contains("client IP 127.0.0.1"), "{text}");
    }

    /// At 80x24 F2 holds a few rows of many: focused, it scrolls by keys
    /// (through `update`, measured as the loop does), says what is hidden,
    /// and the last verdict's sentence can be read whole.
    #[test]
    fn snapshots_of_f2_scrolled_and_unscrolled() {
        use crate::app::{update, Focus};
        use crate::tui::keymap;
        use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
        let key = |c| KeyEvent::new(c, KeyModifiers::NONE);
        for (w, h) in [(80, 24), (120, 40)] {
            let mut s = busy();
            s.lower = Lower::Analysis;
            s.focus = Focus::Composer;
            s.refresh();
            s.auth.set_result(judgement());
            let size = ratatui::layout::Rect::new(0, 0, w, h);
            crate::tui::layout::fit_views(&mut s, size);
            let top = render(&s, w, h, COLOR);
            insta::assert_snapshot!(format!("f2_top_{w}x{h}"), top.backend());
            let text = format!("{:?}", top.backend().buffer());
            assert!(text.contains("▼ more below (↑ ↓ PgUp PgDn)"), "{text}");
            assert!(!text.contains("more above"), "{text}");
            for _ in 0..20 {
                let action = keymap::action(&s, key(KeyCode::PageDown)).unwrap();
                update(&mut s, action);
                crate::tui::layout::fit_views(&mut s, size);
            }
            let down = render(&s, w, h, COLOR);
            insta::assert_snapshot!(format!("f2_scrolled_{w}x{h}"), down.backend());
            let text = format!("{:?}", down.backend().buffer());
            assert!(text.contains("▲ more above"), "{text}");
            assert!(
                text.contains("dns client.example. TXT"),
                "the end is reachable: {text}"
            );
            // Up goes back a row at a time.
            let before = s.views.analysis.offset;
            let up = keymap::action(&s, key(KeyCode::Up)).unwrap();
            update(&mut s, up);
            assert_eq!(s.views.analysis.offset, before - 1);
        }
    }

    #[test]
    fn a_real_server_without_dns_says_how_to_ask() {
        let mut s = busy();
        s.lower = Lower::Analysis;
        s.session.target.server = Some("mx.example.net".into());
        s.refresh();
        let text = format!("{:?}", render(&s, 120, 40, COLOR).backend().buffer());
        assert!(text.contains("not judged: against a real server"), "{text}");
    }
}
