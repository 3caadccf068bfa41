//! Tests of the real binary: its command line, against scripted servers on
//! loopback, and (ignored unless asked for) against real third-party peers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth;
mod cast;
mod cli;
mod conventions;
mod corpus;
mod dns;
mod everyday;
mod fake;
mod hostile;
mod load;
mod peers;
mod probe;
mod pty;
mod pty_dashboard;
mod pty_data;
mod pty_hostile;
mod replay;
mod rules;
mod serve;
mod support;
mod tls;
mod transports;
mod verifiers;
