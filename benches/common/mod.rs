//! What the frame benchmarks share: the median time of drawing a frame at
//! 120x40 in colour.

use std::time::{Duration, Instant};

use ratatui::backend::TestBackend;
use ratatui::{Frame, Terminal};
use smtp_workbench::tui::theme::{Palette, Theme};

/// The median of `frames` frames, each drawn by `draw` with the dark theme.
pub fn median_frame(frames: usize, mut draw: impl FnMut(&mut Frame, &Theme)) -> Duration {
    let theme = Theme {
        color: true,
        palette: Palette::Dark,
    };
    let mut t = Terminal::new(TestBackend::new(120, 40)).expect("a test terminal");
    let mut times: Vec<Duration> = (0..frames)
        .map(|_| {
            let start = Instant::now();
            t.draw(|f| draw(f, &theme)).expect("a frame");
            start.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}
