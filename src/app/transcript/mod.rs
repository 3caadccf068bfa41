//! The transcript pane's state: the lines (kept once, in `lines`), how far
//! the view is scrolled, the selected line, and whether secrets show.

pub mod lines;

pub use lines::{Footprint, Line, LineKind, LineView, Lines, Said, MAX_TEXT};

use crate::transport::Timed;

/// The transcript keeps this many lines; older ones are dropped in batches,
/// so a server that talks without end cannot grow the workbench's memory
/// without bound.
pub const MAX_LINES: usize = 1_000_000;
const DROP_BATCH: usize = 10_000;

pub struct TranscriptState {
    pub lines: Lines,
    /// Lines scrolled up from the newest; 0 follows new lines.
    pub scroll: usize,
    /// The line under the cursor, when scrolled.
    pub selected: Option<usize>,
    /// Lines the pane shows at once (set by the loop on resize).
    pub page: usize,
    /// Show AUTH secrets instead of the mask.
    pub reveal: bool,
    /// Long lines wrapped (`w`), continuations under the text; None
    /// until toggled: on below 100 columns (see `wraps`).
    pub wrap: Option<bool>,
    /// The terminal is 100 columns or wider (set by the loop on resize).
    pub wide: bool,
    /// Base64 bodies shown as one line each (issue 14)...
    parts: crate::analysis::parts::PartFolder,
    /// ...and the lines folded away, kept for the exports: each with the
    /// index of the line it stands before (the summary's), oldest first.
    folded: std::collections::VecDeque<(u64, Timed)>,
}

impl Default for TranscriptState {
    fn default() -> Self {
        Self {
            lines: Lines::default(),
            scroll: 0,
            selected: None,
            page: 10,
            reveal: false,
            wrap: None,
            wide: false,
            parts: Default::default(),
            folded: Default::default(),
        }
    }
}

impl TranscriptState {
    /// Whether long lines wrap in a terminal this wide: as toggled, else
    /// on below 100 columns.
    pub fn wraps(&self, columns: u16) -> bool {
        self.wrap.unwrap_or(columns < 100)
    }

    /// `w`: wrap on or off, from what the screen shows now.
    pub fn toggle_wrap(&mut self) {
        let now = self.wrap.unwrap_or(!self.wide);
        self.wrap = Some(!now);
    }

    /// The message about to go: the summaries of its base64 bodies count
    /// the lines the session does not show.
    pub fn expect_content(&mut self, content: &[u8]) {
        self.parts.expect(content);
    }

    /// Adds a session event's lines, keeping a scrolled view where it is.
    /// A line of a base64 body is kept apart for the exports, and the body
    /// shows as one line when it ends.
    pub fn push_event(&mut self, timed: &Timed) {
        use crate::analysis::parts::Fold;
        let before = self.lines.len();
        if let crate::proto::client::Event::Sent { text, .. } = &timed.event {
            match self.parts.line(text) {
                Fold::Show => {}
                Fold::Hide => {
                    self.folded
                        .push_back((self.lines.next_index(), timed.clone()));
                    return;
                }
                Fold::Summary(s) => self.lines.push_line(Line {
                    at: Some(timed.at),
                    kind: LineKind::Client,
                    text: s,
                    secret: None,
                    code: None,
                    latency: None,
                    continued: false,
                }),
            }
        }
        self.lines.push_event(timed);
        if self.scroll > 0 {
            // Scrolled up: stay on the same lines while new ones arrive.
            self.scroll += self.lines.len() - before;
        }
        self.trim();
    }

    /// Adds a line that is not a session event (the session banner).
    pub fn push_line(&mut self, line: Line) {
        self.lines.push_line(line);
        if self.scroll > 0 {
            self.scroll += 1;
        }
        self.trim();
    }

    fn trim(&mut self) {
        let mut n = 0;
        if self.lines.len() > MAX_LINES + DROP_BATCH {
            n += self.lines.trim(MAX_LINES);
        }
        // Only lines of kilobytes each come here before MAX_LINES. Kept
        // under MAX_TEXT after every push, the arena stays below the 4 GiB
        // its offsets reach.
        if self.lines.text_len() > MAX_TEXT {
            n += self.lines.trim_text(MAX_TEXT - MAX_TEXT / 8);
        }
        let first = self.lines.next_index() - self.lines.len() as u64;
        while self.folded.front().is_some_and(|(at, _)| *at < first) {
            self.folded.pop_front();
        }
        if n > 0 {
            self.selected = self.selected.and_then(|i| i.checked_sub(n));
            self.scroll = self.scroll.min(self.lines.len().saturating_sub(1));
        }
    }

    /// Scrolls up (positive) or down by lines, selecting the line at the
    /// bottom of the view while scrolled.
    pub fn scroll_by(&mut self, up: i64) {
        let max = self.lines.len().saturating_sub(1) as i64;
        let next = (self.scroll as i64 + up).clamp(0, max);
        self.scroll = next as usize;
        self.selected = (self.scroll > 0).then(|| self.lines.len().saturating_sub(1 + self.scroll));
    }

    /// To the oldest line.
    pub fn top(&mut self) {
        self.scroll_by(i64::MAX / 2);
    }

    /// To the newest line, following again.
    pub fn bottom(&mut self) {
        self.scroll = 0;
        self.selected = None;
    }

    pub fn selected_line(&self) -> Option<LineView<'_>> {
        self.selected.and_then(|i| self.lines.get(i))
    }

    /// The transcript in one of `send`'s forms, secrets masked unless revealed.
    pub fn export(&self, format: crate::transcript::Format) -> String {
        let mut w = crate::transcript::Writer::new(Vec::new(), format, self.reveal);
        let first = self.lines.next_index() - self.lines.len() as u64;
        let mut folded = self.folded.iter().peekable();
        for i in 0..self.lines.len() {
            // The lines folded away go back where they were sent.
            while let Some((_, e)) = folded.next_if(|(at, _)| *at <= first + i as u64) {
                let _ = w.write(e);
            }
            if let Some(e) = self.lines.event_at(i) {
                let _ = w.write(&e);
            }
        }
        for (_, e) in folded {
            let _ = w.write(e);
        }
        String::from_utf8_lossy(&w.into_inner()).into_owned()
    }

    /// The transcript as an asciicast v2 recording started at `timestamp`
    /// (Unix seconds), each line at its event's time, secrets masked
    /// unless revealed.
    pub fn export_cast(&self, timestamp: u64) -> String {
        let cast = crate::asciicast::Cast::of_events(self.lines.events(), self.reveal);
        let mut out = Vec::new();
        let _ = cast.write_to(&mut out, timestamp, "smtp-workbench");
        String::from_utf8_lossy(&out).into_owned()
    }

    /// What Copy takes: the selected line, or the whole transcript as text.
    pub fn copy_text(&self) -> String {
        match self.selected_line() {
            Some(l) => l.shown(self.reveal).to_string(),
            None => self.export(crate::transcript::Format::Text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::test_support::*;
    use crate::app::{update, Action, Effect, Focus};
    use crate::proto::client::Event;
    use crate::transcript::Format;

    #[test]
    fn scrolled_up_stays_put_and_g_follows_again() {
        let mut s = connected();
        s.transcript.page = 5;
        for i in 0..50 {
            event(&mut s, Event::Info(format!("line {i}")));
        }
        s.focus = Focus::Transcript;
        update(&mut s, Action::PageUp);
        assert_eq!(s.transcript.scroll, 5);
        let selected = s.transcript.selected;
        event(&mut s, Event::Info("new".into()));
        assert_eq!(s.transcript.scroll, 6, "new lines do not move the view");
        assert_eq!(s.transcript.selected, selected);
        update(&mut s, Action::Bottom);
        assert_eq!(s.transcript.scroll, 0);
        update(&mut s, Action::Scroll(-1000));
        assert_eq!(
            s.transcript.scroll,
            s.transcript.lines.len() - 1,
            "clamped at the oldest line"
        );
    }

    #[test]
    fn secrets_are_masked_until_revealed() {
        let mut s = connected();
        event(
            &mut s,
            Event::Sent {
                seq: 3,
                text: "AUTH PLAIN ********".into(),
                revealed: Some("AUTH PLAIN AGEAYg==".into()),
            },
        );
        let last = |s: &crate::app::AppState| {
            let t = &s.transcript;
            t.lines
                .get(t.lines.len() - 1)
                .unwrap()
                .shown(t.reveal)
                .to_string()
        };
        assert_eq!(last(&s), "AUTH PLAIN ********");
        assert!(!s.transcript.export(Format::Text).contains("AGEAYg"));
        update(&mut s, Action::RevealSecrets);
        assert_eq!(last(&s), "AUTH PLAIN AGEAYg==");
        assert!(s.transcript.export(Format::Text).contains("AGEAYg"));
    }

    #[test]
    fn copy_takes_the_selected_line_or_everything() {
        let mut s = connected();
        for i in 0..5 {
            event(&mut s, Event::Info(format!("line {i}")));
        }
        let fx = update(&mut s, Action::CopyTranscript);
        assert!(
            matches!(&fx[..], [Effect::Copy(t)] if t.contains("line 0") && t.contains("line 4"))
        );
        s.focus = Focus::Transcript;
        update(&mut s, Action::Up);
        update(&mut s, Action::Up);
        let fx = update(&mut s, Action::CopyTranscript);
        assert_eq!(fx, [Effect::Copy("line 2".into())]);
    }

    #[test]
    fn the_transcript_is_bounded() {
        let mut s = connected();
        let template = s.transcript.lines.get(0).unwrap().to_line();
        for _ in s.transcript.lines.len()..MAX_LINES + 10_000 {
            s.transcript.push_line(template.clone());
        }
        s.transcript.selected = Some(20_000);
        event(&mut s, Event::Info("one more".into()));
        assert_eq!(s.transcript.lines.len(), MAX_LINES);
        assert_eq!(s.transcript.lines.dropped(), 10_001);
        assert_eq!(s.transcript.selected, Some(20_000 - 10_001));
        let t = &s.transcript.lines;
        assert_eq!(t.get(t.len() - 1).unwrap().text, "one more");
    }

    #[test]
    fn a_base64_body_is_one_line_in_the_pane_and_every_line_in_the_exports() {
        let mut s = connected();
        let lines = [
            "DATA",
            "Content-Type: application/pdf; name=\"r.pdf\"",
            "Content-Transfer-Encoding: base64",
            "",
            "AAAA",
            "AAAA",
            "AAAA",
            ".",
        ];
        let before = s.transcript.lines.len();
        for (seq, l) in lines.iter().enumerate() {
            event(
                &mut s,
                Event::Sent {
                    seq: seq as u64,
                    text: l.to_string(),
                    revealed: None,
                },
            );
        }
        let t = &s.transcript;
        let shown: Vec<String> = (before..t.lines.len())
            .map(|i| t.lines.get(i).unwrap().shown(false).to_string())
            .collect();
        assert_eq!(
            shown[4..],
            [
                "[attachment r.pdf, application/pdf, 9 bytes as 3 base64 lines]",
                "."
            ]
        );
        for format in [Format::Text, Format::Json] {
            let out = t.export(format);
            assert_eq!(out.matches("AAAA").count(), 3, "{out}");
            assert!(!out.contains("[attachment"), "{out}");
        }
        // In the order they were sent.
        let text = t.export(Format::Text);
        let (b64, first, last) = (
            text.find("base64").unwrap(),
            text.find("AAAA").unwrap(),
            text.rfind("AAAA").unwrap(),
        );
        assert!(b64 < first && last < text.rfind("-> .").unwrap(), "{text}");
    }
}
