//! The command line: the arguments (`args`), the face they pick (the
//! workbench, `send`, `serve`), and the exit statuses (`exit`).

mod args;
#[cfg(test)]
mod build_version;
mod connection;
mod conventions;
mod dkim_record;
mod exit;
#[cfg(test)]
mod last_wins;
mod modes;
mod send;
mod serve;
mod transports;
mod workbench;

use std::process::ExitCode;

use clap::Parser;

pub use args::{
    Cli, Command, CompletionsArgs, ConnectionArgs, DkimRecordArgs, SendArgs, ServeArgs,
};
pub use conventions::{completion_script, man_page};
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
        Some(Command::Completions(args)) => ExitCode::from(conventions::completions(args.shell)),
        Some(Command::Man) => ExitCode::from(conventions::man()),
        None => ExitCode::from(workbench::workbench(&cli)),
    }
}
