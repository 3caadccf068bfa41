//! Exit statuses, in one place (the contract in the README): 0 accepted or
//! stopped as asked, 2 usage error, 3 connection, TLS, timeout or protocol
//! failure, 4 a 4xx reply ended it, 5 a 5xx reply ended it, 6 a probe
//! (`--probe`) found the server vulnerable.

use crate::proto::client::{ClientSession, Outcome};

pub const EXIT_OK: u8 = 0;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_CONNECTION: u8 = 3;
pub const EXIT_TRANSIENT: u8 = 4;
pub const EXIT_PERMANENT: u8 = 5;
/// A probe (`send --probe`) found the server vulnerable in at least one case.
pub const EXIT_VULNERABLE: u8 = 6;

/// A usage problem found after clap: exit status 2 with this message.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

pub fn usage(s: impl Into<String>) -> UsageError {
    UsageError(s.into())
}

/// The exit status for how a session ended, and the sentence for it.
pub fn exit_status(session: &ClientSession) -> (u8, String) {
    let Some(outcome) = session.outcome() else {
        return (
            EXIT_CONNECTION,
            "the session ended without a result".to_string(),
        );
    };
    let text = outcome.to_string();
    let by_code = |code: u16| {
        if (400..500).contains(&code) {
            EXIT_TRANSIENT
        } else {
            EXIT_PERMANENT
        }
    };
    let exit = match outcome {
        Outcome::Completed { .. } => match session.partial_refusal() {
            Some(r) => {
                return (
                    by_code(r.code.value()),
                    format!("{text}, but the server refused: {}", r.summary()),
                )
            }
            None => EXIT_OK,
        },
        Outcome::Refused(r) => by_code(r.code.value()),
        Outcome::Local(_) => EXIT_USAGE,
        _ => EXIT_CONNECTION,
    };
    (exit, text)
}
