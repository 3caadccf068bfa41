//! `send`'s message content from the flags: a ready file sent as it is, or
//! header fields and a body composed into a message.

use std::path::Path;
use std::time::SystemTime;

use super::super::args::SendArgs;
use super::super::exit::{usage, UsageError};
use crate::message::{self, Envelope, HeaderFields, Stamp};
use crate::proto::command::Address;

/// The content's bytes; what composing filled in goes to `notes`.
pub fn content(
    args: &SendArgs,
    envelope: &Envelope,
    notes: &mut Vec<String>,
) -> Result<Vec<u8>, UsageError> {
    if let Some(path) = &args.data {
        return std::fs::read(path).map_err(|e| usage(format!("--data {}: {e}", path.display())));
    }
    if let Some(path) = &args.message {
        let body = (args.body.is_some() || args.body_file.is_some())
            .then(|| body(args))
            .transpose()?;
        return super::everyday::from_eml(args, path, body, notes);
    }
    let body = body(args)?;
    let parts = super::everyday::parts(args, notes)?;
    let extra = args
        .headers
        .iter()
        .map(|h| message::parse_header(h).map_err(|e| usage(format!("--header: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let fields = HeaderFields {
        from: args.header_from.clone(),
        to: args.header_to.clone(),
        cc: args.cc.clone(),
        subject: args
            .subject
            .clone()
            .or_else(|| Some("smtp-workbench test".to_string())),
        extra,
    };
    let id_domain = envelope
        .mail_from
        .address()
        .and_then(Address::domain)
        .unwrap_or("smtp-workbench.invalid");
    let stamp = Stamp::new(SystemTime::now(), std::process::id(), id_domain);
    let composed = message::compose_parts(envelope, &fields, &body, &parts, &stamp)
        .map_err(|e| usage(e.to_string()))?;
    notes.extend(composed.notes);
    Ok(composed.bytes)
}

fn body(args: &SendArgs) -> Result<String, UsageError> {
    match (&args.body, &args.body_file) {
        (Some(b), _) => Ok(b.clone()),
        (None, Some(path)) => body_file(path),
        (None, None) => Ok("This is a test message sent with smtp-workbench.\n".to_string()),
    }
}

fn body_file(path: &Path) -> Result<String, UsageError> {
    let bytes =
        std::fs::read(path).map_err(|e| usage(format!("--body-file {}: {e}", path.display())))?;
    String::from_utf8(bytes).map_err(|_| {
        usage(format!(
            "--body-file {}: not UTF-8 text; send a ready message with --data instead",
            path.display()
        ))
    })
}
