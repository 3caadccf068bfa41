//! Where a flag is given twice the last one wins (`args_override_self`, the
//! contract in the README), as scripts that append flags expect: shown for
//! every flag of every face by walking clap's own list of them, so a flag
//! added later is covered without a new line here (unless its value name
//! is new: then the test asks for a sample).

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Arg, ArgAction, ArgMatches, Command, CommandFactory, FromArgMatches, Parser};

use super::args::Cli;

/// Two valid values, different, for a flag that takes one.
fn samples(arg: &Arg) -> (String, String) {
    let possible: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| v.get_name().to_string())
        .collect();
    if possible.len() >= 2 {
        return (possible[0].clone(), possible[1].clone());
    }
    let name = arg
        .get_value_names()
        .and_then(|n| n.first())
        .map(|n| n.as_str().to_string())
        .unwrap_or_default();
    let (a, b) = match name.as_str() {
        "SECONDS" => ("5", "8"),
        "N" | "C" | "BYTES" | "MS" => ("3", "7"),
        "P" => ("0.1", "0.2"),
        "FILE" | "FILE.eml" => ("first.pem", "last.pem"),
        "DIR" | "PATH" => ("first-dir", "last-dir"),
        "HOST[:PORT]" => ("127.0.0.1:53", "127.0.0.2:5353"),
        "HOST[:PORT]|unix:PATH" => ("127.0.0.1:2525", "unix:last.sock"),
        "NAME=VALUE ..." => ("ADDR=192.0.2.1", "ADDR=192.0.2.2"),
        "TYPE" => ("text/plain", "application/pdf"),
        "SUITE" => ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384"),
        "ADDR:PORT" => ("127.0.0.1:2525", "127.0.0.1:2526"),
        "ADDR" if arg.get_id() == "client_ip" || arg.get_id() == "local_addr" => {
            ("192.0.2.1", "192.0.2.2")
        }
        "ADDR" | "ADDR [PARAM...]" | "MAILBOX" | "USER" => {
            ("first@example.test", "last@example.test")
        }
        "NAME" | "DOMAIN" | "DOMAIN[:PORT]" | "SEL" | "TEXT" | "VAR" => ("first", "last"),
        "NAME: VALUE" => ("X-First: 1", "X-Last: 2"),
        "NAME:PASSWORD" => ("first:pw", "last:pw"),
        "NAME|FILE" => ("first-session", "blind-copy"),
        "MECH" => ("PLAIN", "LOGIN"),
        _ => panic!(
            "--{}: add two sample values for the value name {name:?} to last_wins.rs",
            arg.get_id()
        ),
    };
    (a.to_string(), b.to_string())
}

fn flag(arg: &Arg) -> String {
    match (arg.get_long(), arg.get_short()) {
        (Some(l), _) => format!("--{l}"),
        (None, Some(s)) => format!("-{s}"),
        (None, None) => unreachable!("positionals are skipped"),
    }
}

fn takes_value(arg: &Arg) -> bool {
    matches!(arg.get_action(), ArgAction::Set | ArgAction::Append)
}

/// Parses `path` (the command, then its subcommand if any) with `args`,
/// adding what a flag requires (`--user` needs `--auth`) until clap is
/// satisfied: the matches of the innermost command.
fn parse(root: &Command, path: &[&str], args: &[String]) -> Result<ArgMatches, clap::Error> {
    let cmd = path[1..].iter().fold(root, |c, name| {
        c.find_subcommand(name).unwrap_or_else(|| panic!("{name}"))
    });
    let mut line: Vec<String> = path.iter().map(ToString::to_string).collect();
    for required in cmd.get_arguments().filter(|a| a.is_required_set()) {
        line.push(flag(required));
        line.push(samples(required).0);
    }
    line.extend(args.iter().cloned());
    for _ in 0..4 {
        match root.clone().try_get_matches_from(&line) {
            Ok(m) => {
                Cli::from_arg_matches(&m)?;
                let mut m = m;
                for name in &path[1..] {
                    m = m
                        .subcommand_matches(name)
                        .cloned()
                        .unwrap_or_else(|| panic!("{name}"));
                }
                return Ok(m);
            }
            Err(e) if e.kind() == ErrorKind::MissingRequiredArgument => {
                let Some(ContextValue::Strings(missing)) = e.get(ContextKind::InvalidArg) else {
                    return Err(e);
                };
                for m in missing.clone() {
                    let long = m.split_whitespace().next().unwrap_or_default();
                    let arg = cmd
                        .get_arguments()
                        .find(|a| a.get_long().is_some_and(|l| format!("--{l}") == long))
                        .unwrap_or_else(|| panic!("{m}"));
                    line.push(long.to_string());
                    if takes_value(arg) {
                        line.push(samples(arg).0);
                    }
                }
            }
            Err(e) => return Err(e),
        }
    }
    root.clone().try_get_matches_from(&line)
}

fn raw(m: &ArgMatches, id: &str) -> Vec<String> {
    m.get_raw(id)
        .map(|v| v.map(|s| s.to_string_lossy().into_owned()).collect())
        .unwrap_or_default()
}

/// Every flag of the command at `path`, each given twice: a one-value flag
/// keeps the second value, a switch stays on, a repeatable flag keeps both.
fn check_every_flag(path: &[&str]) -> usize {
    let mut root = Cli::command();
    root.build();
    let cmd = path[1..]
        .iter()
        .fold(&root, |c, name| c.find_subcommand(name).unwrap_or(c));
    let mut checked = 0;
    let flags: Vec<Arg> = cmd
        .get_arguments()
        .filter(|a| !a.is_positional())
        .filter(|a| !matches!(a.get_action(), ArgAction::Help | ArgAction::Version))
        .cloned()
        .collect();
    for arg in flags {
        let (id, name) = (arg.get_id().as_str().to_string(), flag(&arg));
        let (first, last) = match arg.get_action() {
            ArgAction::SetTrue | ArgAction::SetFalse | ArgAction::Count => (Vec::new(), Vec::new()),
            _ => {
                let (a, b) = samples(&arg);
                (vec![a], vec![b])
            }
        };
        let mut args = vec![name.clone()];
        args.extend(first.clone());
        args.push(name.clone());
        args.extend(last.clone());
        let m = parse(&root, path, &args)
            .unwrap_or_else(|e| panic!("{path:?} {args:?} was refused: {e}"));
        match arg.get_action() {
            ArgAction::Set => assert_eq!(raw(&m, &id), last, "{path:?} {args:?}"),
            ArgAction::Append => {
                let both: Vec<String> = first.iter().chain(&last).cloned().collect();
                assert_eq!(raw(&m, &id), both, "{path:?} {args:?}")
            }
            ArgAction::SetTrue => assert!(m.get_flag(&id), "{path:?} {args:?}"),
            other => panic!("{name}: no check for {other:?}"),
        }
        checked += 1;
    }
    checked
}

#[test]
fn every_flag_of_send_given_twice_keeps_the_last() {
    assert!(check_every_flag(&["smtp-workbench", "send"]) > 30);
}

#[test]
fn every_flag_of_the_workbench_given_twice_keeps_the_last() {
    assert!(check_every_flag(&["smtp-workbench"]) > 10);
}

#[test]
fn every_flag_of_serve_and_dkim_record_given_twice_keeps_the_last() {
    assert!(check_every_flag(&["smtp-workbench", "serve"]) > 20);
    assert!(check_every_flag(&["smtp-workbench", "dkim-record"]) >= 2);
    assert!(check_every_flag(&["smtp-workbench", "completions"]) == 0);
}

/// The README's example, down to the value `send` runs with.
#[test]
fn timeout_5_then_8_means_8() {
    let cli = Cli::try_parse_from(["smtp-workbench", "send", "--timeout", "5", "--timeout", "8"]);
    let cli = cli.unwrap_or_else(|e| panic!("{e}"));
    match cli.command {
        Some(super::Command::Send(args)) => assert_eq!(args.conn.timeout, 8.0),
        other => panic!("{other:?}"),
    }
    let cli = Cli::try_parse_from(["smtp-workbench", "--timeout", "5", "--timeout", "8"]);
    assert_eq!(cli.map(|c| c.conn.timeout).ok(), Some(8.0));
}
