//! The text transcript as an asciicast v2 recording (`send --cast FILE`),
//! to share a session that plays in asciinema as it is: a header line
//! (version 2, width, height, timestamp, title), then one `[time, "o",
//! text]` event per transcript line, CRLF-ended, at the time it was
//! printed.
//!
//! [`Cast`] is the format, with the time passed in; [`Recorder`] is the
//! tee that `send` prints through, which keeps the clock. Every line is
//! made visible again before it is recorded, so that a player never gets a
//! control character from the server, whatever the transcript held.

use std::io::{self, Write};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::proto::visible::{json_safe, visible};
use crate::transcript::{Format, Writer};
use crate::transport::Timed;

/// Bytes of text recorded at most; past it the cast says so and stops.
pub const MAX_CAST_BYTES: usize = 16 * 1024 * 1024;
/// The terminal a cast asks for: as wide as its longest line, within these.
const WIDTH: (usize, usize) = (80, 200);
const HEIGHT: (usize, usize) = (24, 50);

/// An asciicast v2 recording being made.
#[derive(Debug, Default)]
pub struct Cast {
    /// (seconds from the start, the line's text with its CRLF).
    events: Vec<(f64, String)>,
    bytes: usize,
    widest: usize,
    truncated: bool,
}

impl Cast {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one transcript line (without its line end) shown at `at`.
    pub fn line(&mut self, at: Duration, text: &str) {
        if self.truncated {
            return;
        }
        let shown = visible(text.as_bytes());
        if self.bytes + shown.len() > MAX_CAST_BYTES {
            self.truncated = true;
            let note = format!("(the recording stops here: over {MAX_CAST_BYTES} bytes)\r\n");
            self.events.push((at.as_secs_f64(), note));
            return;
        }
        self.bytes += shown.len();
        self.widest = self.widest.max(shown.chars().count());
        self.events.push((at.as_secs_f64(), format!("{shown}\r\n")));
    }

    /// Writes the whole recording; `timestamp` (Unix seconds) is when it
    /// started, `title` what it shows.
    pub fn write_to(&self, out: &mut impl Write, timestamp: u64, title: &str) -> io::Result<()> {
        let header = json!({
            "version": 2,
            "width": self.widest.clamp(WIDTH.0, WIDTH.1),
            "height": self.events.len().clamp(HEIGHT.0, HEIGHT.1),
            "timestamp": timestamp,
            "title": visible(title.as_bytes()),
            "env": {"TERM": "xterm-256color"},
        });
        writeln!(out, "{}", json_safe(&header.to_string()))?;
        let mut last = 0.0f64;
        for (t, text) in &self.events {
            // Times never go back: lines written with an earlier stamp
            // (a note about the start) play in the order they were printed.
            last = last.max(*t);
            let event = json!([(last * 1e6).round() / 1e6, "o", text]);
            writeln!(out, "{}", json_safe(&event.to_string()))?;
        }
        out.flush()
    }
}

impl Cast {
    /// The text transcript of `events` (as `send` prints it, secrets
    /// masked unless `reveal`), each line at its event's time: what the
    /// workbench's "Save transcript (asciicast)" writes.
    pub fn of_events(events: impl IntoIterator<Item = Timed>, reveal: bool) -> Self {
        let mut cast = Self::new();
        for e in events {
            let mut w = Writer::new(Vec::new(), Format::Text, reveal);
            let _ = w.write(&e);
            let text = w.into_inner();
            for line in String::from_utf8_lossy(&text).lines() {
                cast.line(e.at, line);
            }
        }
        cast
    }
}

/// Passes what is printed on to `out`, and records each whole line in a
/// [`Cast`] at the time its end was printed.
pub struct Recorder<W: Write> {
    out: W,
    cast: Option<Cast>,
    partial: Vec<u8>,
    started: Instant,
}

impl<W: Write> Recorder<W> {
    /// A recorder that records when `record` is true (else a plain pass-through).
    pub fn new(out: W, record: bool) -> Self {
        Self {
            out,
            cast: record.then(Cast::new),
            partial: Vec::new(),
            started: Instant::now(),
        }
    }

    /// The recording, with a last unfinished line taken in.
    pub fn finish(mut self) -> Option<Cast> {
        let mut cast = self.cast.take()?;
        if !self.partial.is_empty() {
            let text = String::from_utf8_lossy(&self.partial).into_owned();
            cast.line(self.started.elapsed(), &text);
        }
        Some(cast)
    }
}

impl<W: Write> Write for Recorder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        if let Some(cast) = &mut self.cast {
            let mut rest = &buf[..n];
            while let Some(i) = memchr::memchr(b'\n', rest) {
                self.partial.extend_from_slice(&rest[..i]);
                let line = std::mem::take(&mut self.partial);
                let line = line.strip_suffix(b"\r").unwrap_or(&line);
                cast.line(self.started.elapsed(), &String::from_utf8_lossy(line));
                rest = &rest[i + 1..];
            }
            if self.partial.len() < 64 * 1024 {
                self.partial.extend_from_slice(rest);
            }
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(cast: &Cast) -> Vec<serde_json::Value> {
        let mut out = Vec::new();
        cast.write_to(&mut out, 1_700_000_000, "smtp-workbench send")
            .unwrap();
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn a_header_then_one_output_event_per_line_with_crlf() {
        let mut cast = Cast::new();
        cast.line(Duration::from_millis(1), "  0.001 <- 220 demo ESMTP");
        cast.line(Duration::from_micros(2_500_250), "  2.500 -> QUIT");
        let v = lines_of(&cast);
        assert_eq!(v[0]["version"], 2);
        assert_eq!(v[0]["width"], 80);
        assert_eq!(v[0]["height"], 24);
        assert_eq!(v[0]["timestamp"], 1_700_000_000u64);
        assert_eq!(v[0]["title"], "smtp-workbench send");
        assert_eq!(v[1], json!([0.001, "o", "  0.001 <- 220 demo ESMTP\r\n"]));
        assert_eq!(v[2], json!([2.50025, "o", "  2.500 -> QUIT\r\n"]));
        assert_eq!(v.len(), 3);
    }

    #[test]
    fn control_characters_stay_visible_and_never_reach_the_player() {
        let mut cast = Cast::new();
        // What the transcript shows (pictures) and what it never should (raw).
        cast.line(Duration::ZERO, "<- 220 \u{241b}[31mred");
        cast.line(Duration::ZERO, "<- 250 \x1b]52;c;x\x07 \u{9b}2J");
        let mut out = Vec::new();
        cast.write_to(&mut out, 0, "t\x1bx").unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains(['\x1b', '\x07', '\u{9b}']), "{text:?}");
        assert!(
            !text.contains("\\u001b"),
            "no escape for the player: {text}"
        );
        let v = lines_of(&cast);
        assert_eq!(v[1][2], "<- 220 \u{241b}[31mred\r\n");
        assert_eq!(v[2][2], "<- 250 \u{241b}]52;c;x\u{2407} \\u{9b}2J\r\n");
    }

    #[test]
    fn times_never_go_back_and_the_width_follows_the_longest_line() {
        let mut cast = Cast::new();
        cast.line(Duration::from_secs(2), &"x".repeat(130));
        cast.line(Duration::from_secs(1), "earlier stamp");
        cast.line(Duration::from_secs(3), &"y".repeat(500));
        let v = lines_of(&cast);
        assert_eq!(v[0]["width"], 200);
        assert_eq!(v[2][0], 2.0);
        assert_eq!(v[3][0], 3.0);
    }

    #[test]
    fn the_recorder_passes_everything_on_and_records_lines_split_anywhere() {
        let text = "  0.001 <- 220 hi\n  0.002 -> EHLO x\n  0.003 == result: ok";
        for cut in 0..text.len() {
            let mut r = Recorder::new(Vec::new(), true);
            r.write_all(&text.as_bytes()[..cut]).unwrap();
            r.write_all(&text.as_bytes()[cut..]).unwrap();
            assert_eq!(r.out, text.as_bytes());
            let cast = r.finish().unwrap();
            let got: Vec<&str> = cast.events.iter().map(|(_, t)| t.as_str()).collect();
            assert_eq!(
                got,
                [
                    "  0.001 <- 220 hi\r\n",
                    "  0.002 -> EHLO x\r\n",
                    "  0.003 == result: ok\r\n"
                ],
                "cut at {cut}"
            );
        }
        let r = Recorder::new(Vec::new(), false);
        assert!(r.finish().is_none());
    }

    #[test]
    fn events_become_lines_at_their_times_with_secrets_masked() {
        use crate::proto::client::Event;
        let at = |ms: u64, event: Event| Timed {
            at: Duration::from_millis(ms),
            latency: None,
            event,
        };
        let events = vec![
            at(5, Event::Info("connected".into())),
            at(
                1250,
                Event::Sent {
                    text: "AUTH PLAIN ********".into(),
                    revealed: Some("AUTH PLAIN c2VjcmV0".into()),
                    seq: 1,
                },
            ),
        ];
        let cast = Cast::of_events(events.clone(), false);
        assert_eq!(cast.events.len(), 2);
        assert_eq!(cast.events[0].0, 0.005);
        assert_eq!(
            cast.events[1],
            (1.25, "  1.250 -> AUTH PLAIN ********\r\n".into())
        );
        let revealed = Cast::of_events(events, true);
        assert!(revealed.events[1].1.contains("c2VjcmV0"));
    }

    #[test]
    fn a_cast_past_its_limit_says_so_and_stops() {
        let mut cast = Cast::new();
        let big = "z".repeat(MAX_CAST_BYTES / 2 + 1);
        cast.line(Duration::ZERO, &big);
        cast.line(Duration::ZERO, &big);
        cast.line(Duration::ZERO, "never");
        assert_eq!(cast.events.len(), 2);
        assert!(cast.events[1].1.contains("the recording stops here"));
    }
}
