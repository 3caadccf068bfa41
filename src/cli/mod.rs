//! The command line: the arguments, the face they pick (the workbench,
//! `send`, `serve`), and the exit statuses.
//!
//! Exit statuses (the contract in the README): 0 accepted or stopped as
//! asked, 2 usage error, 3 connection, TLS, timeout or protocol failure,
//! 4 a 4xx reply ended it, 5 a 5xx reply ended it.

mod args;
mod connection;
mod exit;
mod modes;
mod send;
mod serve;
mod workbench;

use std::process::ExitCode;

use clap::Parser;

pub use args::{Cli, Command, ConnectionArgs, SendArgs, ServeArgs};
pub use exit::{
    exit_status, UsageError, EXIT_CONNECTION, EXIT_OK, EXIT_PERMANENT, EXIT_TRANSIENT, EXIT_USAGE,
};
pub use send::{prepare, send, Prepared};

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Send(args)) => ExitCode::from(send(&args)),
        Some(Command::Serve(args)) => ExitCode::from(serve::serve(&args)),
        None => ExitCode::from(workbench::workbench(&cli)),
    }
}
