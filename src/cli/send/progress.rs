//! Load mode's progress bar (indicatif): drawn on stdout while stdout is a
//! terminal, hidden when it is not (a pipe, a file, CI), and cleared before
//! the summary is written, so what stays on the screen is the summary.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The bar's line: elapsed time, the bar, messages done of all, the rate,
/// and how many failed so far.
const TEMPLATE: &str = "{elapsed_precise} [{bar:40}] {pos}/{len} messages, {per_sec:1} {msg}";

/// Messages done, on the terminal. Clones share one bar.
#[derive(Clone)]
pub struct Progress {
    bar: ProgressBar,
    failed: Arc<AtomicUsize>,
}

impl Progress {
    /// A bar for `count` messages on stdout; hidden unless it is a terminal.
    pub fn stdout(count: usize) -> Self {
        Self::to(count, ProgressDrawTarget::stdout())
    }

    /// A bar drawn to `target`.
    pub fn to(count: usize, target: ProgressDrawTarget) -> Self {
        let bar = ProgressBar::with_draw_target(Some(count as u64), target);
        if let Ok(style) = ProgressStyle::with_template(TEMPLATE) {
            // ASCII: the bar reads the same on every terminal and font.
            bar.set_style(style.progress_chars("=> "));
        }
        Self {
            bar,
            failed: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// One message is done: accepted or not.
    pub fn record(&self, accepted: bool) {
        if !accepted {
            let failed = self.failed.fetch_add(1, Ordering::Relaxed) + 1;
            self.bar.set_message(format!("({failed} not accepted)"));
        }
        self.bar.inc(1);
    }

    /// Redraws the elapsed time while no message ends (a slow server).
    pub fn tick(&self) {
        self.bar.tick();
    }

    /// Takes the bar off the screen.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_counts_messages_and_the_ones_not_accepted() {
        let p = Progress::to(4, ProgressDrawTarget::hidden());
        p.record(true);
        p.record(false);
        p.clone().record(false);
        assert_eq!(p.bar.position(), 3);
        assert_eq!(p.bar.message(), "(2 not accepted)");
        p.finish();
        assert!(p.bar.is_finished());
    }
}
