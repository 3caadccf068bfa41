//! Frame cost of the workbench against transcript length: a frame draws only
//! the visible lines, so 1,000,000 lines should cost what 1,000 do.
//!
//!     cargo bench --bench render
//!
//! Prints the median time of a frame at 120x40 for each length and the
//! ratio to the shortest. (What a line takes in memory: the
//! `transcript_memory` benchmark.)

#![allow(clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use ratatui::backend::TestBackend;
use ratatui::Terminal;
use smtp_workbench::app::{AppState, Line, LineKind, Start};
use smtp_workbench::tui::layout;
use smtp_workbench::tui::theme::{Palette, Theme};

fn state(lines: usize) -> AppState {
    let mut s = AppState::new(Start::fixed());
    for i in 0..lines {
        s.transcript.lines.push_line(Line {
            at: Some(Duration::from_millis(i as u64)),
            kind: if i % 2 == 0 {
                LineKind::Client
            } else {
                LineKind::Server
            },
            text: format!("250 2.1.5 Ok line {i}"),
            secret: None,
            code: (i % 2 == 1).then_some(250),
            latency: None,
            continued: false,
        });
    }
    s
}

fn median_frame(s: &AppState, frames: usize) -> Duration {
    common::median_frame(frames, |f, theme| layout::draw(s, f, theme))
}

fn main() {
    // Time to the first frame: the state built and drawn once (the terminal's
    // own setup aside).
    let start = Instant::now();
    let s = state(0);
    let mut t = Terminal::new(TestBackend::new(120, 40)).expect("a test terminal");
    t.draw(|f| {
        layout::draw(
            &s,
            f,
            &Theme {
                color: true,
                palette: Palette::Dark,
            },
        )
    })
    .expect("a frame");
    println!(
        "first frame: {:.3} ms",
        start.elapsed().as_secs_f64() * 1000.0
    );
    let base = median_frame(&state(1_000), 200);
    println!("{:>10} {:>12} {:>8}", "lines", "frame", "ratio");
    for n in [1_000usize, 100_000, 1_000_000] {
        let s = state(n);
        let m = median_frame(&s, 200);
        println!(
            "{n:>10} {:>9.3} ms {:>8.2}",
            m.as_secs_f64() * 1000.0,
            m.as_secs_f64() / base.as_secs_f64()
        );
    }
}
