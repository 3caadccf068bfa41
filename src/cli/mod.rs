//! The command line: the arguments (`args`), the face they pick (the
//! workbench, `send`, `serve`), and the exit statuses (`exit`).

mod args;
mod connection;
mod dkim_record;
mod exit;
mod modes;
mod send;
mod serve;
mod transports;
mod workbench;

use std::process::ExitCode;

use clap::Parser;

pub use args::{Cli, Command, ConnectionArgs, DkimRecordArgs, SendArgs, ServeArgs};
pub use exit::{
    exit_status, UsageError, EXIT_CONNECTION, EXIT_OK, EXIT_PERMANENT, EXIT_TRANSIENT, EXIT_USAGE,
};
pub use send::{prepare, send, Prepared};

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Send(args)) => ExitCode::from(send(&args)),
        Some(Command::Serve(args)) => ExitCode::from(serve::serve(&args)),
        Some(Command::DkimRecord(args)) => ExitCode::from(dkim_record::dkim_record(&args)),
        None => ExitCode::from(workbench::workbench(&cli)),
    }
}
