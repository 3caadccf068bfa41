//! The message content as the transcript shows it: its first lines, and
//! how many more went.

use std::collections::VecDeque;

use super::Event;
use crate::proto::visible::visible;

/// size in memory.
pub const CONTENT_LINES_SHOWN: usize = 1000;

/// In a session driven by hand, replies that answer nothing are warned of
/// this many times; at `JUNK_LIMIT` of those and unreadable ones together,
/// Content lines sent but not shown in the transcript.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Hidden {
    pub(super) lines: usize,
    pub(super) bytes: u64,
}

impl Hidden {
    pub(super) fn sentence(self) -> String {
        format!(
            "{} more content line(s), {} bytes, sent but not shown (the transcript shows \
             the first {CONTENT_LINES_SHOWN})",
            self.lines, self.bytes
        )
    }
}

/// Adds a transcript line for each wire line of `bytes` while fewer than
/// [`CONTENT_LINES_SHOWN`] are shown; what is left is counted.
pub(super) fn show_content(
    bytes: &[u8],
    shown: &mut usize,
    next_seq: &mut u64,
    events: &mut VecDeque<Event>,
) -> Hidden {
    let mut hidden = Hidden::default();
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        if *shown >= CONTENT_LINES_SHOWN {
            hidden.lines += 1;
            hidden.bytes += line.len() as u64;
            continue;
        }
        *shown += 1;
        events.push_back(Event::Sent {
            seq: *next_seq,
            text: visible(line.strip_suffix(b"\r\n").unwrap_or(line)),
            revealed: None,
        });
        *next_seq += 1;
    }
    hidden
}
