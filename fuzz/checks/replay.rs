//! The replay's transcript parser (`app::replay`) on arbitrary bytes: no
//! panic; an error names a line within the input and carries no control
//! character; a replay steps to its end, every line it puts in the
//! transcript and every mark's note is free of control characters, and the
//! envelope rebuilt from it never panics.

use smtp_workbench::app::replay::Replay;
use smtp_workbench::app::Lines;

fn clean(s: &str) {
    assert!(
        !s.chars().any(|c| c.is_control()),
        "a control character in {s:?}"
    );
}

pub fn check(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut r = match Replay::parse("fuzz", &text) {
        Ok(r) => r,
        Err(e) => {
            assert!(e.line <= text.lines().count(), "{e}");
            clean(&e.to_string());
            return;
        }
    };
    let total = r.total();
    let mut lines = Lines::default();
    let mut steps = 0;
    while let Some(step) = r.next_step() {
        steps += 1;
        if let Some(m) = &step.mark {
            clean(m);
        }
        for e in &step.events {
            lines.push_event(e);
        }
    }
    assert_eq!(steps, total);
    for i in 0..lines.len() {
        clean(lines.get(i).map(|l| l.text).unwrap_or_default());
    }
    let _ = r.rebuilt();
}
