//! The envelope pane's state: MAIL FROM and the RCPT TO list, what the
//! server delivers by (kept apart from the message's header fields).

use crossterm::event::{KeyCode, KeyEvent};
use tui_textarea::TextArea;

use super::field;
use super::message::MessageState;

/// Which envelope field has the cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvelopeField {
    MailFrom,
    Rcpts,
}

pub struct EnvelopeState {
    pub mail_from: TextArea<'static>,
    /// One recipient per line.
    pub rcpts: TextArea<'static>,
    pub field: EnvelopeField,
}

impl EnvelopeState {
    pub fn new(mail_from: &str, rcpts: &str) -> Self {
        Self {
            mail_from: field(mail_from),
            rcpts: field(rcpts),
            field: EnvelopeField::MailFrom,
        }
    }

    pub fn sender(&self) -> String {
        self.mail_from.lines().join("").trim().to_string()
    }

    pub fn rcpts(&self) -> Vec<String> {
        self.rcpts
            .lines()
            .iter()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect()
    }

    pub fn input(&mut self, key: KeyEvent) {
        let on_from = self.field == EnvelopeField::MailFrom;
        if key.code == KeyCode::Enter && on_from {
            self.field = EnvelopeField::Rcpts;
        } else if key.code == KeyCode::Up && !on_from && self.rcpts.cursor().0 == 0 {
            self.field = EnvelopeField::MailFrom;
        } else if key.code == KeyCode::Down && on_from {
            self.field = EnvelopeField::Rcpts;
        } else if on_from {
            self.mail_from.input(key);
        } else {
            self.rcpts.input(key);
        }
    }

    pub fn paste(&mut self, text: &str) {
        match self.field {
            EnvelopeField::MailFrom => {
                self.mail_from
                    .insert_str(text.lines().next().unwrap_or_default());
            }
            EnvelopeField::Rcpts => {
                self.rcpts.insert_str(text);
            }
        }
    }

    /// Copies the header addresses into the envelope and says what changed:
    /// never done silently, because the lesson is that the two differ.
    pub fn set_from_headers(&mut self, message: &MessageState) -> String {
        let headers = message.headers.lines();
        let from = header_values(headers, "From")
            .first()
            .map(|v| addresses_in(v))
            .unwrap_or_default();
        let mut rcpts = Vec::new();
        for name in ["To", "Cc", "Bcc"] {
            for v in header_values(headers, name) {
                rcpts.extend(addresses_in(v));
            }
        }
        if let Some(f) = from.first() {
            self.mail_from = field(f);
        }
        self.rcpts = field(&rcpts.join("\n"));
        format!(
            "envelope set from the headers: MAIL FROM <{}>, RCPT TO {}",
            self.sender(),
            rcpts.join(", ")
        )
    }
}

/// Extracts the addresses from header text: `<a@b>` forms, else words with `@`.
pub(crate) fn addresses_in(value: &str) -> Vec<String> {
    value
        .split(',')
        .filter_map(|part| {
            let part = part.trim();
            let addr = match (part.rfind('<'), part.rfind('>')) {
                (Some(a), Some(b)) if a < b => &part[a + 1..b],
                _ => part
                    .split_whitespace()
                    .find(|w| w.contains('@'))
                    .unwrap_or(""),
            };
            (!addr.is_empty()).then(|| addr.to_string())
        })
        .collect()
}

fn header_values<'a>(headers: &'a [String], name: &str) -> Vec<&'a str> {
    headers
        .iter()
        .filter_map(|h| {
            let (n, v) = h.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then_some(v)
        })
        .collect()
}
