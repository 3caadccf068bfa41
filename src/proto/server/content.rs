//! DATA and BDAT: starting a transfer, receiving the content however it is
//! split into reads, the checks on it (size, bare LF, long lines) and the
//! verdict that queues the message or refuses it.

use super::{ReceivedMessage, ServerEnv, ServerEvent, ServerSession, State, MAX_TEXT_LINE};
use crate::proto::data::DataDecoder;

/// The content of the message being received, and what is counted of it
/// as the bytes stream past, so that the checks cover the whole content,
/// kept or not.
#[derive(Debug, Default)]
pub(super) struct Content {
    /// What is kept: past the size limit the bytes are counted, not kept, so
    /// a client sending without end cannot make the server's memory grow.
    pub(super) kept: Vec<u8>,
    /// Every byte received, kept or not.
    len: u64,
    /// Lines longer than RFC 5321 allows.
    long_lines: usize,
    /// The length of the line not yet ended.
    line_len: usize,
    /// LFs without a CR before them.
    bare_lf: usize,
    /// The last byte so far, to see a CR that ended the previous chunk.
    last: u8,
}

impl Content {
    /// Every byte received so far, kept or not.
    pub(super) fn len(&self) -> u64 {
        self.len
    }

    /// Counts a chunk and keeps what fits under `max` bytes.
    fn take(&mut self, chunk: &[u8], max: u64) {
        let mut rest = chunk;
        let mut before = self.last;
        while let Some(i) = memchr::memchr(b'\n', rest) {
            // The line with its LF; RFC 5321 counts the CRLF in the 1000.
            if self.line_len + i + 1 > MAX_TEXT_LINE {
                self.long_lines += 1;
            }
            let prev = if i == 0 { before } else { rest[i - 1] };
            if prev != b'\r' {
                self.bare_lf += 1;
            }
            before = b'\n';
            self.line_len = 0;
            rest = &rest[i + 1..];
        }
        self.line_len += rest.len();
        if let Some(&b) = chunk.last() {
            self.last = b;
        }
        self.len += chunk.len() as u64;
        let room = max.saturating_sub(self.kept.len() as u64) as usize;
        self.kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }

    /// The reply that refuses the content, if any.
    fn refusal(&self, max_size: u64, allow_bare_lf: bool) -> Option<String> {
        if self.len > max_size {
            Some("552 5.3.4 Error: message file too big".to_string())
        } else if self.bare_lf > 0 && !allow_bare_lf {
            Some(
                "554 5.6.0 Error: bare LF line ends in the content; SMTP needs CRLF \
                 (RFC 5321, section 2.3.8)"
                    .to_string(),
            )
        } else if self.long_lines > 0 {
            Some(format!(
                "554 5.6.0 Error: {} line(s) longer than 1000 octets (RFC 5321, section 4.5.3.1.6)",
                self.long_lines
            ))
        } else {
            None
        }
    }
}

impl ServerSession {
    pub(super) fn data(&mut self) {
        if self.mail.is_none() {
            self.error("503 5.5.1 Error: need MAIL command")
        } else if self.rcpts.is_empty() {
            self.error("554 5.5.1 Error: no valid recipients")
        } else if self.bdat_used {
            self.error("503 5.5.1 Error: DATA after BDAT")
        } else {
            self.reply("354 End data with <CR><LF>.<CR><LF>");
            self.state = State::Data(DataDecoder::new());
        }
    }

    pub(super) fn bdat(&mut self, chunk_size: usize, last: bool, env: &mut dyn ServerEnv) {
        // The chunk's bytes follow whatever the verdict; they are read (and
        // dropped on error) so the stream stays in step.
        if self.mail.is_none() || self.rcpts.is_empty() {
            self.errors += 1;
            self.pending_bdat_error =
                Some("503 5.5.1 Error: need MAIL and RCPT before BDAT".into());
        }
        self.bdat_used = true;
        self.state = State::Bdat {
            left: chunk_size,
            last,
        };
        if chunk_size == 0 {
            self.end_of_chunk(last, env);
        }
    }

    pub(super) fn take_content(&mut self, chunk: &[u8], env: &mut dyn ServerEnv) {
        let max = env.policy().max_size;
        self.content.take(chunk, max);
    }

    pub(super) fn end_of_data(&mut self, env: &mut dyn ServerEnv) {
        self.state = State::Command;
        self.finish_message(env);
    }

    pub(super) fn end_of_chunk(&mut self, last: bool, env: &mut dyn ServerEnv) {
        self.state = State::Command;
        if let Some(e) = self.pending_bdat_error.take() {
            if last && env.policy().lmtp {
                self.lmtp_refuse_all(&e);
            } else {
                self.reply(&e);
            }
            self.reset_transaction();
            return;
        }
        if last {
            self.finish_message(env);
        } else {
            let t = format!("250 2.0.0 {} bytes received", self.content.len);
            self.reply(&t);
        }
    }

    /// The message received in this transaction, for `rcpts`, its content
    /// taken out of the session.
    pub(super) fn received(
        &mut self,
        id: String,
        rcpts: Vec<(String, Vec<String>)>,
    ) -> ReceivedMessage {
        let (mail_from, mail_params) = self.mail.clone().unwrap_or_default();
        ReceivedMessage {
            id,
            client: self.config.client.clone(),
            helo: self.helo.clone().unwrap_or_default(),
            tls: self.tls,
            auth: self.auth.clone(),
            mail_from,
            mail_params,
            rcpts,
            content: std::mem::take(&mut self.content.kept),
        }
    }

    fn finish_message(&mut self, env: &mut dyn ServerEnv) {
        let ruling = self.dot_rules(env);
        if let Some(r) = &ruling {
            if self.heed(r) {
                return self.reset_transaction();
            }
            if r.bounce {
                self.rule_bounce = self.rcpts.iter().map(|(a, _)| a.clone()).collect();
            }
        }
        let policy = env.policy();
        match self.content.refusal(policy.max_size, policy.allow_bare_lf) {
            Some(e) if policy.lmtp => self.lmtp_refuse_all(&e),
            Some(e) => self.error(&e),
            None if policy.lmtp => self.lmtp_deliver(env, &policy),
            None => {
                let id = env.unique();
                let rcpts = std::mem::take(&mut self.rcpts);
                let message = self.received(id.clone(), rcpts);
                if !self.rule_bounce.is_empty() {
                    let failed = std::mem::take(&mut self.rule_bounce);
                    self.events.push_back(ServerEvent::Bounce(failed));
                }
                self.events
                    .push_back(ServerEvent::Message(Box::new(message)));
                let t = format!("250 2.0.0 Ok: queued as {id}");
                self.reply(&t);
            }
        }
        self.reset_transaction();
        if let Some(r) = ruling {
            self.heed_after(&r, usize::MAX);
        }
    }
}
