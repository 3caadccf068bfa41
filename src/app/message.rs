//! The message pane's state: the header fields and the body, what the
//! reader sees (kept apart from the envelope).

use crossterm::event::{KeyCode, KeyEvent};
use tui_textarea::TextArea;

use super::envelope::EnvelopeState;
use super::field;

/// Which part of the message has the cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageField {
    Headers,
    Body,
}

pub struct MessageState {
    /// One header field per line.
    pub headers: TextArea<'static>,
    pub body: TextArea<'static>,
    pub field: MessageField,
    /// Files attached with "Attach file…": with any, the message is
    /// multipart/mixed (see `everyday::attached_bytes`).
    pub attachments: Vec<crate::message::Attachment>,
}

impl MessageState {
    pub fn new(headers: &str, body: &str) -> Self {
        Self {
            headers: field(headers),
            body: field(body),
            field: MessageField::Headers,
            attachments: Vec::new(),
        }
    }

    /// The composed message: header lines, a blank line, the body; with
    /// attachments, a multipart/mixed message of the body and the files.
    pub fn bytes(&self) -> Vec<u8> {
        if !self.attachments.is_empty() {
            return super::everyday::attached_bytes(self);
        }
        let mut out = String::new();
        for h in self.headers.lines() {
            // An empty field ("Cc: ") is left out rather than sent empty; a
            // folded line (a signature's) may end in ':' and goes as it is.
            let folded = h.starts_with([' ', '\t']);
            if (!folded && h.trim_end().ends_with(':')) || h.trim().is_empty() {
                continue;
            }
            out.push_str(h);
            out.push_str("\r\n");
        }
        out.push_str("\r\n");
        out.push_str(&self.body.lines().join("\r\n"));
        out.push_str("\r\n");
        out.into_bytes()
    }

    /// The message without any DKIM-Signature field: what a new
    /// signature signs.
    pub fn unsigned_bytes(&self) -> Vec<u8> {
        let mut m = Self {
            headers: field(&self.headers.lines().join("\n")),
            body: field(&self.body.lines().join("\n")),
            field: self.field,
            attachments: self.attachments.clone(),
        };
        m.remove_signatures();
        m.bytes()
    }

    /// Removes every DKIM-Signature field, with its folded lines.
    fn remove_signatures(&mut self) {
        let mut inside = false;
        let kept: Vec<String> = self
            .headers
            .lines()
            .iter()
            .filter(|l| {
                if !l.starts_with([' ', '\t']) {
                    inside = l.to_ascii_lowercase().starts_with("dkim-signature:");
                }
                !inside
            })
            .cloned()
            .collect();
        self.headers = field(&kept.join("\n"));
    }

    /// Puts `signature` (a folded field, CRLF line ends) after the other
    /// header fields, in place of any earlier signature: below them it
    /// leaves From, To and Subject in view at the top of the pane.
    pub fn set_signature(&mut self, signature: &str) {
        self.remove_signatures();
        let mut lines: Vec<String> = self.headers.lines().to_vec();
        lines.extend(
            signature
                .split("\r\n")
                .filter(|l| !l.is_empty())
                .map(str::to_string),
        );
        self.headers = field(&lines.join("\n"));
    }

    pub fn input(&mut self, key: KeyEvent) {
        let headers_end = self.headers.cursor().0 + 1 >= self.headers.lines().len();
        match self.field {
            MessageField::Headers if key.code == KeyCode::Down && headers_end => {
                self.field = MessageField::Body;
            }
            MessageField::Body if key.code == KeyCode::Up && self.body.cursor().0 == 0 => {
                self.field = MessageField::Headers;
            }
            MessageField::Headers => {
                self.headers.input(key);
            }
            MessageField::Body => {
                self.body.input(key);
            }
        }
    }

    pub fn paste(&mut self, text: &str) {
        match self.field {
            MessageField::Headers => self.headers.insert_str(text),
            MessageField::Body => self.body.insert_str(text),
        };
    }

    /// Sets From and To from the envelope; other fields stay.
    pub fn set_from_envelope(&mut self, envelope: &EnvelopeState) -> String {
        let from = envelope.sender();
        let to = envelope.rcpts();
        let mut lines: Vec<String> = self.headers.lines().to_vec();
        let mut set = |name: &str, value: String| {
            let new = format!("{name}: {value}");
            match lines.iter().position(|l| {
                l.split_once(':')
                    .is_some_and(|(n, _)| n.trim().eq_ignore_ascii_case(name))
            }) {
                Some(i) => lines[i] = new,
                None => lines.insert(0, new),
            }
        };
        set("From", format!("<{from}>"));
        set(
            "To",
            to.iter()
                .map(|t| format!("<{t}>"))
                .collect::<Vec<_>>()
                .join(", "),
        );
        self.headers = field(&lines.join("\n"));
        "From and To set from the envelope".into()
    }
}
