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
mod profile;
mod send;
mod serve;
mod transports;
mod workbench;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

pub use args::{
    Cli, Command, CompletionsArgs, ConnectionArgs, DkimRecordArgs, SendArgs, ServeArgs,
};
pub use conventions::{completion_script, man_page};
pub use exit::{
    exit_status, UsageError, EXIT_CONNECTION, EXIT_OK, EXIT_PERMANENT, EXIT_TRANSIENT, EXIT_USAGE,
};
pub use send::{prepare, send, Prepared};

pub fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    // --profile fills in what the command line left out.
    let profiled = match (&mut cli.command, matches.subcommand()) {
        (Some(Command::Send(args)), Some((_, m))) => {
            profile::apply_send(args, m).and_then(|()| send::pair_attach_types(args, m))
        }
        (None, _) => profile::apply_workbench(&mut cli, &matches),
        _ => Ok(()),
    };
    if let Err(e) = profiled {
        eprintln!("smtp-workbench: {e}");
        return ExitCode::from(EXIT_USAGE);
    }
    match cli.command {
        Some(Command::Send(args)) => ExitCode::from(send(&args)),
        Some(Command::Serve(args)) => ExitCode::from(serve::serve(&args)),
        Some(Command::DkimRecord(args)) => ExitCode::from(dkim_record::dkim_record(&args)),
        Some(Command::Completions(args)) => ExitCode::from(conventions::completions(args.shell)),
        Some(Command::Man) => ExitCode::from(conventions::man()),
        Some(Command::Config) => ExitCode::from(profile::config()),
        None => ExitCode::from(workbench::workbench(&cli)),
    }
}
