//! SMTP with no I/O and no clock: replies, capabilities, commands, content
//! encoding, AUTH and the client session. Bytes come in through `feed` or
//! `handle_*` calls and go out through `poll_*` calls; nothing here touches a
//! socket, a thread or the time of day.

pub mod auth;
pub mod capabilities;
pub mod client;
pub mod command;
pub mod data;
#[cfg(test)]
pub(crate) mod pair;
pub mod probe;
pub mod proxy;
pub mod reply;
pub mod server;
pub mod visible;

pub use auth::{Credentials, Mechanism, Secret};
pub use capabilities::Capabilities;
pub use client::{ClientSession, Event, Outcome, Plan, QuitAfter, Stage};
pub use command::{Address, Command, CommandError, Param, ReversePath, Verb};
pub use reply::{EnhancedStatus, Reply, ReplyCode, ReplyError, ReplyLimits, ReplyParser};
