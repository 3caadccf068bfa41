//! The workbench in a replay, step by step, in presenter mode, and in each
//! theme (issue 13).

use ratatui::backend::TestBackend;
use ratatui::style::{Color, Modifier};
use ratatui::Terminal;

use crate::app::replay::Replay;
use crate::app::{update, Action, AppState};
use crate::tui::test_support::{busy, empty, render, COLOR};
use crate::tui::theme::{Palette, Theme};

/// A short session: the greeting, EHLO, a refused relay behind a mark, QUIT.
const SHORT: &str = r#"{"kind":"info","t":0.0,"text":"connecting to 127.0.0.1:2525"}
{"kind":"server","code":220,"t":0.001,"latency_ms":1.0,"text":"220 mx.example.test ESMTP"}
{"kind":"client","seq":1,"t":0.002,"text":"EHLO client.example"}
{"kind":"server","code":250,"t":0.003,"latency_ms":1.0,"lines":["250-mx.example.test","250 PIPELINING"],"text":"250-mx.example.test\n250 PIPELINING"}
{"kind":"mark","text":"watch the refusal"}
{"kind":"client","seq":2,"t":0.004,"text":"MAIL FROM:<student@client.example>"}
{"kind":"client","seq":3,"t":0.004,"text":"RCPT TO:<someone@elsewhere.example>"}
{"kind":"server","code":250,"t":0.005,"latency_ms":1.0,"text":"250 2.1.0 Ok"}
{"kind":"server","code":554,"t":0.005,"latency_ms":1.0,"text":"554 5.7.1 Relay access denied \u001b[2J"}
{"kind":"client","seq":4,"t":0.006,"text":"QUIT"}
{"kind":"server","code":221,"t":0.006,"latency_ms":1.0,"text":"221 2.0.0 Bye"}"#;

fn replaying() -> AppState {
    let mut s = empty();
    let r = Replay::parse("short.jsonl", SHORT).unwrap();
    update(&mut s, Action::StartReplay(Box::new(r)));
    s
}

fn row(t: &Terminal<TestBackend>, y: u16) -> String {
    let buf = t.backend().buffer();
    (0..buf.area.width)
        .map(|x| buf[(x, y)].symbol().to_string())
        .collect()
}

#[test]
fn snapshots_at_each_step_of_a_replay() {
    for (w, h) in [(80, 24), (120, 40)] {
        let mut s = replaying();
        let total = s.replay.as_ref().unwrap().total();
        assert_eq!(total, 5);
        for step in 0..=total {
            let t = render(&s, w, h, COLOR);
            assert!(
                row(&t, 0).starts_with(&format!(" REPLAY short.jsonl │ step {step} of 5")),
                "{}",
                row(&t, 0)
            );
            insta::assert_snapshot!(format!("replay_step{step}_{w}x{h}"), t.backend());
            update(&mut s, Action::ReplayNext);
        }
        let screen = format!("{:?}", render(&s, w, h, COLOR).backend().buffer());
        assert!(screen.contains("␛[2J") && !screen.contains('\u{1b}'));
    }
}

#[test]
fn snapshots_of_presenter_mode() {
    for (w, h) in [(80, 24), (120, 40)] {
        let mut s = busy();
        update(&mut s, Action::TogglePresenter);
        let t = render(&s, w, h, COLOR);
        let screen = format!("{:?}", t.backend().buffer());
        assert!(!screen.contains("Commands"), "the palette is hidden");
        assert!(!screen.contains("Envelope ·"), "the envelope is hidden");
        assert!(row(&t, 1).starts_with("┌ Transcript"), "{}", row(&t, 1));
        assert!(row(&t, 1).ends_with('┐'), "the whole width");
        insta::assert_snapshot!(format!("presenter_{w}x{h}"), t.backend());
        assert!(
            row(&t, h - 1).starts_with(" ? help  Ctrl-C quit │ ▸ "),
            "the palette's selected item on the hint bar: {}",
            row(&t, h - 1)
        );
        // A replay in presenter mode, F2 open: the explanations at full width.
        let mut s = replaying();
        for _ in 0..4 {
            update(&mut s, Action::ReplayNext);
        }
        update(&mut s, Action::TogglePresenter);
        update(&mut s, Action::ToggleAnalysis);
        insta::assert_snapshot!(
            format!("presenter_replay_f2_{w}x{h}"),
            render(&s, w, h, COLOR).backend()
        );
    }
}

fn find(t: &Terminal<TestBackend>, needle: &str) -> (u16, u16) {
    let h = t.backend().buffer().area.height;
    for y in 0..h {
        let r = row(t, y);
        if let Some(i) = r.find(needle) {
            return (r[..i].chars().count() as u16, y);
        }
    }
    panic!("{needle:?} not on screen");
}

/// One transcript line cell by cell: the 554 refusal, its time, marker and
/// text, in the dark theme, the light one, and the light one under NO_COLOR.
#[test]
fn one_line_cell_by_cell_in_each_theme() {
    let s = busy();
    let light = Theme {
        color: true,
        palette: Palette::Light,
    };
    let check = |theme: Theme, time: Color, text: Color, paper: Color| {
        let t = render(&s, 120, 40, theme);
        let buf = t.backend().buffer();
        let (x, y) = find(&t, "554 5.7.1");
        // The time stamp starts 10 columns before the text ("  0.009 ← ").
        for dx in 0..10u16 {
            let c = &buf[(x - 10 + dx, y)];
            let want = if dx < 8 { time } else { text };
            assert_eq!(c.fg, want, "{theme:?}: cell {dx} of {:?}", row(&t, y));
            assert_eq!(c.bg, paper, "{theme:?}: cell {dx}");
        }
        for dx in 0.."554 5.7.1 <someone@elsewhere.example>: Relay access denied".len() as u16 {
            let c = &buf[(x + dx, y)];
            assert_eq!(c.fg, text, "{theme:?}: text cell {dx}");
            assert_eq!(c.bg, paper, "{theme:?}: text cell {dx}");
            assert!(
                c.modifier.contains(Modifier::BOLD),
                "5xx is bold in every theme"
            );
        }
        // The status line and a border, too.
        assert_eq!(
            buf[(0, 0)].bg,
            if theme.color {
                status_bg(theme)
            } else {
                Color::Reset
            }
        );
        t
    };
    check(COLOR, Color::DarkGray, Color::Red, Color::Reset);
    let t = check(
        light,
        Color::Indexed(238),
        Color::Indexed(124),
        Color::White,
    );
    let buf = t.backend().buffer();
    for y in 1..39 {
        for x in 0..120 {
            assert_ne!(
                buf[(x, y)].bg,
                Color::Reset,
                "the light theme paints its paper: {x},{y}"
            );
        }
    }
    let plain = Theme {
        color: false,
        palette: Palette::Light,
    };
    let t = check(plain, Color::Reset, Color::Reset, Color::Reset);
    let buf = t.backend().buffer();
    for y in 0..40 {
        for x in 0..120 {
            let c = &buf[(x, y)];
            assert!(
                c.fg == Color::Reset && c.bg == Color::Reset,
                "NO_COLOR wins: {x},{y}"
            );
        }
    }
}

fn status_bg(theme: Theme) -> Color {
    match theme.palette {
        Palette::Dark => Color::Blue,
        Palette::Light => Color::Indexed(18),
    }
}

/// The replay's keys come from the key table: Enter steps outside the
/// palette (there it runs the item, "Next step" first), F5 only in a
/// replay, F4 everywhere; the hint bar offers them first while replaying.
#[test]
fn the_replay_s_keys_and_hints() {
    use crate::app::Focus;
    use crate::tui::keymap::action;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let k = |c| KeyEvent::new(c, KeyModifiers::NONE);
    let mut live = empty();
    assert_eq!(
        action(&live, k(KeyCode::F(5))),
        Some(Action::Input(k(KeyCode::F(5))))
    );
    assert_eq!(
        action(&live, k(KeyCode::F(4))),
        Some(Action::TogglePresenter)
    );
    live.focus = Focus::Transcript;
    assert_eq!(
        action(&live, k(KeyCode::Enter)),
        Some(Action::Input(k(KeyCode::Enter)))
    );
    let mut s = replaying();
    assert_eq!(
        action(&s, k(KeyCode::Enter)),
        Some(Action::Submit),
        "the palette's item"
    );
    assert_eq!(s.palette.items()[0].label, "Next step");
    assert_eq!(action(&s, k(KeyCode::F(5))), Some(Action::ReplayToMark));
    for focus in [Focus::Envelope, Focus::Composer, Focus::Transcript] {
        s.focus = focus;
        assert_eq!(
            action(&s, k(KeyCode::Enter)),
            Some(Action::ReplayNext),
            "{focus:?}"
        );
    }
    s.notice = None;
    let t = render(&s, 120, 40, COLOR);
    let hints = row(&t, 39);
    assert!(
        hints.contains(
            " ? help  q quit │ Enter replay: the next step  F5 replay: on to the next mark  \
             F4 presenter mode"
        ),
        "{hints}"
    );
}
