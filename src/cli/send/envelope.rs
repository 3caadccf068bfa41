//! `send`'s envelope from the flags: MAIL FROM and RCPT TO with their
//! parameters. With the built-in server, parts left out are made up for the
//! demonstration, and a note says so.

use super::super::args::SendArgs;
use super::super::exit::{usage, UsageError};
use crate::message::Envelope;
use crate::proto::client::QuitAfter;
use crate::proto::command::{Address, Param, ReversePath};

/// The envelope the flags give; `builtin` when no `--server` was given.
pub fn envelope(
    args: &SendArgs,
    builtin: bool,
    notes: &mut Vec<String>,
) -> Result<Envelope, UsageError> {
    let vrfy_only = !args.vrfy.is_empty() && args.rcpt.is_empty() && args.mail_from.is_none();
    // The built-in server with parts of the envelope missing: a
    // demonstration, with those parts made up for it (and said so).
    let demo = builtin && !vrfy_only;
    let mut mail_from = args.mail_from.clone();
    let mut rcpt = args.rcpt.clone();
    if demo && mail_from.is_none() {
        mail_from = Some("student@client.example".into());
        notes.push(
            "no --mail-from: using MAIL FROM:<student@client.example> for the demo server".into(),
        );
    }
    if demo && rcpt.is_empty() {
        rcpt = vec!["alice@example.test".into()];
        notes.push("no --rcpt: using RCPT TO:<alice@example.test> for the demo server".into());
    }
    let quit_after = args.quit_after;
    let needs_envelope = !vrfy_only && quit_after.is_none_or(|q| q >= QuitAfter::Mail);
    let needs_rcpt = !vrfy_only && quit_after.is_none_or(|q| q >= QuitAfter::Rcpt);

    let (mail_from, mail_params) = match &mail_from {
        Some(m) => {
            let (addr, params) = split_address_and_params(m)?;
            let path = ReversePath::parse(&addr).map_err(|e| usage(format!("--mail-from: {e}")))?;
            (path, params)
        }
        None if needs_envelope => {
            return Err(usage(
                "give the envelope sender with --mail-from ADDR (or \"<>\" for a bounce)",
            ))
        }
        None => (ReversePath::Null, Vec::new()),
    };
    if rcpt.is_empty() && needs_rcpt {
        return Err(usage(
            "give at least one envelope recipient with --rcpt ADDR",
        ));
    }
    let rcpts = rcpt
        .iter()
        .map(|r| {
            let (addr, params) = split_address_and_params(r)?;
            let addr = addr.trim_start_matches('<').trim_end_matches('>');
            let addr = Address::new(addr).map_err(|e| usage(format!("--rcpt: {e}")))?;
            Ok((addr, params))
        })
        .collect::<Result<Vec<_>, UsageError>>()?;
    Ok(Envelope {
        mail_from,
        mail_params,
        rcpts,
    })
}

fn split_address_and_params(s: &str) -> Result<(String, Vec<Param>), UsageError> {
    // A control character would otherwise pass as a word separator; it is an
    // error, never silently dropped.
    if let Some(c) = s.chars().find(|c| c.is_control()) {
        return Err(usage(format!(
            "{s:?} contains the control character {c:?}; addresses and parameters may not"
        )));
    }
    let mut words = s.split(' ').filter(|w| !w.is_empty());
    let addr = words.next().unwrap_or_default().to_string();
    let params = words
        .map(|w| Param::parse(w).map_err(|e| usage(format!("{s:?}: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((addr, params))
}
