//! Frame cost of `serve --dashboard` for a class: 50 sessions of 10,000
//! transcript lines each, the selected one drawn at 120x40. A frame walks
//! back only the rows it shows, so it should cost about what a short
//! session does; the aim is under 2 ms.
//!
//!     cargo bench --bench dashboard
//!
//! Prints the median frame time (of 200) for 1 session of 100 lines and
//! for 50 sessions of 10,000 lines, and their ratio.

#![allow(clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use smtp_workbench::proto::server::SessionSummary;
use smtp_workbench::server::LogEvent;
use smtp_workbench::tui::dashboard::{draw, Dashboard};

fn class(sessions: u64, lines: usize) -> Dashboard {
    let mut d = Dashboard::default();
    let now = SystemTime::now();
    d.apply(
        &LogEvent::Listening {
            addr: SocketAddr::from(([127, 0, 0, 1], 2525)),
        },
        now,
    );
    for conn in 1..=sessions {
        let peer = SocketAddr::from(([127, 0, 0, 1], 40000 + conn as u16));
        d.apply(&LogEvent::Connected { conn, peer }, now);
        d.apply(
            &LogEvent::Session {
                conn,
                summary: SessionSummary {
                    stage: "rcpt",
                    helo: Some(format!("pc{conn}.classroom.test")),
                    user: Some(format!("student{conn}")),
                    tls: conn % 2 == 0,
                },
            },
            now,
        );
        for i in 0..lines / 2 {
            d.apply(
                &LogEvent::Command {
                    conn,
                    text: format!("RCPT TO:<student{conn}-{i}@example.test>"),
                },
                now,
            );
            d.apply(
                &LogEvent::Reply {
                    conn,
                    text: "250 2.1.5 Ok".into(),
                },
                now,
            );
        }
    }
    // The middle of the list, as a teacher would pick one.
    d.select_by(sessions as isize / 2);
    d
}

fn median_frame(d: &Dashboard, frames: usize) -> Duration {
    common::median_frame(frames, |f, theme| draw::draw(d, f, theme))
}

fn main() {
    let small = median_frame(&class(1, 100), 200);
    let big = median_frame(&class(50, 10_000), 200);
    println!("{:>28} {:>10}", "at 120x40", "frame");
    println!(
        "{:>28} {:>7.3} ms",
        "1 session, 100 lines",
        small.as_secs_f64() * 1000.0
    );
    println!(
        "{:>28} {:>7.3} ms   ratio {:.2}  (aim: under 2 ms)",
        "50 sessions, 10,000 lines",
        big.as_secs_f64() * 1000.0,
        big.as_secs_f64() / small.as_secs_f64()
    );
}
