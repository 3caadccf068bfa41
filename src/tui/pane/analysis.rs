//! The envelope beside the header fields, every finding with its meaning,
//! and the authentication verdicts a receiver would give (SPF, DKIM, DMARC,
//! iprev) with the client address and DNS used; all computed when an input
//! changes, never here.

use ratatui::layout::Rect;
use ratatui::text::{Line as TLine, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{block, clamp_offset, fit_title, halves, list_or_none, more, wrap_all};
use crate::analysis::auth::Outcome;
use crate::analysis::Level;
use crate::app::{AppState, Focus, LineKind};
use crate::tui::theme::Theme;

/// F2 in the lower pane, in place of the message.
pub fn analysis(state: &AppState, frame: &mut Frame, area: Rect, theme: &Theme) {
    let focused = state.focus == Focus::Composer;
    let keys = if focused {
        "↑ ↓ PgUp PgDn"
    } else {
        "Tab here, or the wheel"
    };
    pane(state, frame, area, theme, TITLE, focused, keys);
}

/// F2 beside the message, where the lower pane is wide enough for both
/// (see `layout::beside`): never focused, as the keys go to the message;
/// the wheel scrolls it, and F2 gives it the whole pane.
pub fn beside(state: &AppState, frame: &mut Frame, area: Rect, theme: &Theme) {
    pane(
        state,
        frame,
        area,
        theme,
        BESIDE_TITLE,
        false,
        "the wheel, or F2",
    );
}

const TITLE: &str = "Envelope against headers, authentication (F2: back to the message)";
const BESIDE_TITLE: &str = "Envelope against headers, authentication (F2: the whole pane)";

fn pane(
    state: &AppState,
    frame: &mut Frame,
    area: Rect,
    theme: &Theme,
    title: &str,
    focused: bool,
    keys: &str,
) {
    let title = fit_title(title, area.width);
    let b = block(&title, focused, theme);
    let inner = b.inner(area);
    let text = lines(state, usize::from(inner.width), theme);
    let content = u16::try_from(text.len()).unwrap_or(u16::MAX);
    let offset = clamp_offset(state.views.analysis.offset, content, inner.height);
    let b = match more(offset, content, inner.height, keys) {
        Some(m) => b.title_bottom(Span::styled(m, theme.hint())),
        None => b,
    };
    frame.render_widget(b, area);
    frame.render_widget(Paragraph::new(text).scroll((offset, 0)), inner);
}

/// The pane's rows once wrapped to `area`'s inner width, and the rows it
/// shows: the loop's measure for scrolling.
pub fn measure(state: &AppState, area: Rect) -> (u16, u16) {
    let inner = block("", false, &Theme::PLAIN).inner(area);
    let rows = lines(state, usize::from(inner.width), &Theme::PLAIN).len();
    (u16::try_from(rows).unwrap_or(u16::MAX), inner.height)
}

/// Everything F2 says, wrapped to `width`: the envelope against the
/// header fields beside the authentication verdicts where the width holds
/// two columns, else one above the other, the most telling first (as a
/// small pane shows the start): the two sides and the verdicts in one
/// line, the warnings, the verdicts with their sentences, the notes, the
/// DNS lookups.
fn lines(state: &AppState, width: usize, theme: &Theme) -> Vec<TLine<'static>> {
    let (sides, warnings, notes) = envelope_side(state, theme);
    let mut auth = vec![summary(state, theme)];
    auth.extend(broken(state, theme));
    let mut judged = Vec::new();
    verdicts(state, theme, &mut judged);
    let mut dns = Vec::new();
    lookups(state, theme, &mut dns);

    let column = |heading: &'static str, parts: [&[TLine<'static>]; 3]| {
        let mut lines = vec![TLine::from(Span::styled(heading, theme.label()))];
        lines.extend(parts.into_iter().flatten().cloned());
        lines
    };
    let left = column(
        "the envelope against the header fields",
        [&sides, &warnings, &notes],
    );
    let right = column(
        "what a receiver's authentication checks say",
        [&auth, &judged, &dns],
    );
    if let Some(rows) = halves(&left, &right, width, theme.hint()) {
        return rows;
    }
    let stacked: Vec<TLine<'static>> = sides
        .into_iter()
        .chain(auth)
        .chain(warnings)
        .chain(judged)
        .chain(notes)
        .chain(dns)
        .collect();
    wrap_all(&stacked, width)
}

/// The envelope and the header fields, one line each; then the findings
/// that compare them: the warnings, and the notes.
#[allow(clippy::type_complexity)]
fn envelope_side(
    state: &AppState,
    theme: &Theme,
) -> (
    Vec<TLine<'static>>,
    Vec<TLine<'static>>,
    Vec<TLine<'static>>,
) {
    let headers = state.header_side();
    let sides = vec![
        TLine::from(vec![
            Span::styled("envelope ", theme.label()),
            Span::raw(format!(
                "MAIL FROM:<{}>  RCPT TO: {}",
                state.envelope.sender(),
                list_or_none(&state.envelope.rcpts())
            )),
        ]),
        TLine::from(vec![
            Span::styled("headers  ", theme.label()),
            Span::raw(format!(
                "From: {}  To: {}  Cc: {}  Bcc: {}",
                list_or_none(&headers.from),
                list_or_none(&headers.to),
                list_or_none(&headers.cc),
                list_or_none(&headers.bcc)
            )),
        ]),
    ];
    let findings = |level: Level| {
        let (mark, style) = match level {
            Level::Warning => ("! ", theme.line(LineKind::Warning, None)),
            Level::Info => ("· ", theme.line(LineKind::Info, None)),
        };
        state
            .findings()
            .iter()
            .filter(|f| f.level == level)
            .map(|f| {
                TLine::from(vec![
                    Span::styled(mark, style),
                    Span::styled(f.text.clone(), style),
                ])
            })
            .collect::<Vec<_>>()
    };
    (sides, findings(Level::Warning), findings(Level::Info))
}

/// A signature the composed message no longer matches, said first.
fn broken(state: &AppState, theme: &Theme) -> Option<TLine<'static>> {
    state.auth.broken().map(|why| {
        TLine::from(Span::styled(
            format!("! the DKIM signature no longer holds: {why}"),
            theme.line(LineKind::Warning, None),
        ))
    })
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
fn verdicts(state: &AppState, theme: &Theme, lines: &mut Vec<TLine<'static>>) {
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
            Span::raw(v.sentence.to_string()),
        ]));
    }
}

/// The DNS lookups the judgement made.
fn lookups(state: &AppState, theme: &Theme, lines: &mut Vec<TLine<'static>>) {
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
    use crate::tui::test_support::{busy, render, screen_rows as screen, COLOR};

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
        for (w, h) in [(80, 24), (100, 30), (120, 40), (200, 50)] {
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

    /// Where the lower pane holds two columns of 42, F2 puts the envelope
    /// against the header fields beside the verdicts: a warning and a
    /// verdict's sentence on the same row, a rule between. At 120 columns
    /// they are one above the other, as before.
    #[test]
    fn f2_side_by_side_when_wide_stacked_when_narrow() {
        let mut s = busy();
        s.lower = Lower::Analysis;
        s.refresh();
        s.auth.set_result(judgement());
        let wide = screen(&render(&s, 200, 50, COLOR));
        let row = wide
            .iter()
            .find(|r| r.contains("the envelope against the header fields"))
            .expect("the left column's heading");
        assert!(
            row.contains("what a receiver's authentication checks say"),
            "both headings on one row: {row}"
        );
        assert!(row.contains(" │ "), "{row}");
        let narrow = screen(&render(&s, 120, 40, COLOR));
        assert!(
            !narrow
                .iter()
                .any(|r| r.contains("the envelope against the header")),
            "stacked: no column headings"
        );
        let summary = narrow
            .iter()
            .position(|r| r.contains("auth     spf-helo=pass"));
        let envelope = narrow.iter().position(|r| r.contains("envelope MAIL FROM"));
        assert!(envelope < summary, "the envelope first, then the verdicts");
    }

    /// With room to spare (200x50) the findings show beside the message
    /// without pressing F2; at 120x40 the message has the pane alone.
    #[test]
    fn f2_beside_the_message_at_200x50() {
        let mut s = busy();
        s.lower = Lower::Message;
        s.envelope.rcpts =
            tui_textarea::TextArea::from(["alice@example.test", "hidden@example.test"]);
        s.refresh();
        s.auth.set_result(judgement());
        for (w, h) in [(200, 50), (180, 45)] {
            let t = render(&s, w, h, COLOR);
            let rows = screen(&t);
            let title = rows
                .iter()
                .find(|r| r.contains("Message (what the reader sees)"))
                .expect("the message pane");
            assert!(
                title.contains("(F2: the whole pane)"),
                "F2's pane beside it at {w}x{h}: {title}"
            );
            assert!(
                rows.iter().any(|r| r.contains("is only in the envelope")),
                "a finding shows at {w}x{h}"
            );
            if w == 200 {
                insta::assert_snapshot!("beside_200x50", t.backend());
            }
        }
        let rows = screen(&render(&s, 120, 40, COLOR));
        assert!(!rows.iter().any(|r| r.contains("F2: the whole pane")));
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
