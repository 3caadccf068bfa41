//! How a session ended, and the one sentence that says so.

use std::fmt;

use super::replies::Awaited;
use super::ClientSession;
use crate::proto::command::Verb;
use crate::proto::reply::Reply;

/// How a planned session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Everything asked for was done: the message was accepted (with its
    /// reply), or the session stopped where `--quit-after` said.
    Completed { accepted: Option<Reply> },
    /// A 4xx or 5xx reply ended the transaction.
    Refused(Reply),
    /// The server does not offer something the plan needs (STARTTLS, AUTH).
    NotOffered(String),
    /// The server broke the protocol: a malformed reply, an impossible one.
    Protocol(String),
    /// The connection ended early; says at which stage.
    ConnectionLost(String),
    /// The content was sent but the server's verdict never came.
    DeliveryUnknown(String),
    /// No reply within the deadline.
    TimedOut(String),
    /// TLS could not be set up.
    Tls(String),
    /// The plan itself could not be carried out (bad credentials form, …).
    Local(String),
}

impl fmt::Display for Outcome {
    /// The outcome as a one-line sentence.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Completed { accepted: Some(r) } => {
                write!(f, "message accepted: {}", r.summary())
            }
            Outcome::Completed { accepted: None } => f.write_str("stopped as asked"),
            Outcome::Refused(r) => write!(f, "refused: {}", r.summary()),
            Outcome::NotOffered(m)
            | Outcome::Protocol(m)
            | Outcome::ConnectionLost(m)
            | Outcome::DeliveryUnknown(m)
            | Outcome::TimedOut(m)
            | Outcome::Tls(m)
            | Outcome::Local(m) => f.write_str(m),
        }
    }
}

impl ClientSession {
    /// How the connection ending now (`what` says how) ends the session:
    /// after the final dot the message may or may not have been accepted.
    pub(super) fn loss(&self, what: &str) -> Outcome {
        match self.pending.front().map(|p| p.awaited) {
            Some(Awaited::DataEnd) | Some(Awaited::Command(Verb::Bdat { last: true })) => {
                Outcome::DeliveryUnknown(format!(
                    "{what} after the message content was sent and before the server \
                     answered it: delivery status unknown (the message may or may not \
                     have been accepted)"
                ))
            }
            Some(Awaited::Delivery(nth)) => self.lmtp_loss(what, nth),
            Some(a) => Outcome::ConnectionLost(format!(
                "{what} while waiting for the reply to {}{}",
                a.describe(),
                self.preamble_hint(Some(a))
            )),
            None => Outcome::ConnectionLost(format!("{what}, with no reply awaited")),
        }
    }
}
