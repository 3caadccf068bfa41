//! Starting the interactive workbench from the command line: the flags
//! checked and a lesson loaded before the terminal is taken over.

use std::io::IsTerminal as _;

use super::args::Cli;
use super::exit::{usage, UsageError, EXIT_CONNECTION, EXIT_OK, EXIT_USAGE};
use crate::app::lesson::{builtin, Lesson};
use crate::transport::{Target, TlsMode};

/// Runs the interactive workbench and returns its exit status.
pub fn workbench(cli: &Cli) -> u8 {
    // Checked first, so that a script can check a file to replay (or any
    // flag) without a terminal.
    let options = match options(cli) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("smtp-workbench: {e}");
            return EXIT_USAGE;
        }
    };
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        eprintln!(
            "smtp-workbench: the workbench needs a terminal. For scripts use \
             `smtp-workbench send` (see --help)."
        );
        return EXIT_USAGE;
    }
    match crate::tui::run(options) {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!("smtp-workbench: terminal error: {e}");
            EXIT_CONNECTION
        }
    }
}

/// The workbench's options from the flags, checked.
fn options(cli: &Cli) -> Result<crate::tui::Options, UsageError> {
    let link = cli.conn.link(cli.server.as_deref())?;
    if let (Some(s), None) = (&cli.server, &link.unix) {
        Target::parse(s, 25).map_err(|e| usage(format!("{s}: {e}")))?;
    }
    let transports = cli.conn.transports(cli.lesson.is_some())?;
    cli.conn.check_tls_flags(false)?;
    let lesson = match &cli.lesson {
        None => None,
        Some(l) => Some(load_lesson(l)?),
    };
    // Without a domain, the envelope's first recipient gives it on connecting.
    let mx = cli.conn.mx()?;
    let replay = cli.replay.as_deref().map(load_replay).transpose()?;
    if replay.is_some() && (cli.server.is_some() || cli.lesson.is_some() || mx.is_some()) {
        return Err(usage(
            "--replay is offline: leave out the server argument, --mx and --lesson",
        ));
    }
    if lesson.is_some() && (cli.server.is_some() || mx.is_some()) {
        return Err(usage(
            "lessons run against the built-in server: leave out the server argument",
        ));
    }
    Ok(crate::tui::Options {
        lesson,
        target: crate::app::ServerChoice {
            server: match &mx {
                Some((domain, _)) => domain.clone(),
                None => cli.server.clone(),
            },
            implicit_tls: cli.conn.tls == TlsMode::Implicit,
            mx: mx.map(|(_, port)| port),
        },
        tls: cli.conn.tls_options(),
        ehlo: cli.conn.ehlo(&mut Vec::new())?,
        timeout: cli.conn.timeout()?,
        dns: cli.conn.dns_options(),
        client_ip: cli.client_ip,
        link: crate::transport::LinkOptions { unix: None, ..link },
        transports,
        replay,
        palette: cli.theme,
        profiles: super::profile::profiles()?,
        profile_note: cli.conn.profile_note.clone(),
        message: match &cli.message {
            None => None,
            Some(p) => {
                let bytes = crate::tui::read_message(p)
                    .map_err(|e| usage(format!("--message {}: {e}", p.display())))?;
                crate::message::eml::Eml::parse(&bytes)
                    .map_err(|e| usage(format!("--message {}: {e}", p.display())))?;
                Some((p.display().to_string(), bytes))
            }
        },
    })
}

/// A saved transcript to replay, read (bounded) and parsed; an error names
/// the file and the line at fault.
fn load_replay(path: &std::path::Path) -> Result<crate::app::replay::Replay, UsageError> {
    use crate::app::replay::{Replay, MAX_FILE};
    use std::io::Read as _;
    let shown = path.display();
    let file = std::fs::File::open(path).map_err(|e| usage(format!("--replay {shown}: {e}")))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| usage(format!("--replay {shown}: {e}")))?;
    if bytes.len() > MAX_FILE {
        return Err(usage(format!(
            "--replay {shown}: larger than {} MiB; not a transcript of one session",
            MAX_FILE >> 20
        )));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        usage(format!(
            "--replay {shown}: not UTF-8 text (at byte {})",
            e.utf8_error().valid_up_to()
        ))
    })?;
    let name = path
        .file_name()
        .map(|n| crate::proto::visible::visible(n.as_encoded_bytes()))
        .unwrap_or_else(|| "transcript".into());
    Replay::parse(&name, &text).map_err(|e| usage(format!("--replay {shown}: {e}")))
}

/// A built-in lesson by name, or a lesson file; errors name the line.
fn load_lesson(name: &str) -> Result<Lesson, UsageError> {
    if let Some((n, text)) = builtin().into_iter().find(|(n, _)| *n == name) {
        return Lesson::parse(n, text).map_err(|e| usage(e.to_string()));
    }
    let text = std::fs::read_to_string(name).map_err(|e| {
        let names: Vec<&str> = builtin().iter().map(|(n, _)| *n).collect();
        usage(format!(
            "--lesson {name}: {e} (built-in lessons: {})",
            names.join(", ")
        ))
    })?;
    Lesson::parse(name, &text).map_err(|e| usage(format!("lesson {e}")))
}
