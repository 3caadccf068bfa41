//! `send`'s everyday content: a real message file (`--message FILE.eml`)
//! with the header flags replacing its fields, and attachments (`--attach`,
//! `--attach-type`) and an HTML alternative (`--html`) for a composed one.

use std::path::Path;

use clap::ArgMatches;

use super::super::args::SendArgs;
use super::super::exit::{usage, UsageError};
use crate::message::eml::Eml;
use crate::message::{self, Attachment, Parts};

/// The largest file `--attach` and `--html` read: servers refuse far less.
const MAX_PART: u64 = 64 * 1024 * 1024;

/// Pairs each `--attach-type` with the `--attach` just before it on the
/// command line (clap keeps the two lists apart; their indices tell).
pub fn pair_attach_types(args: &mut SendArgs, m: &ArgMatches) -> Result<(), UsageError> {
    let files: Vec<usize> = m
        .indices_of("attach")
        .map(Iterator::collect)
        .unwrap_or_default();
    let types: Vec<usize> = m
        .indices_of("attach_type")
        .map(Iterator::collect)
        .unwrap_or_default();
    let mut paired: Vec<Option<String>> = vec![None; files.len()];
    for (t, at) in args.attach_type.iter().zip(types) {
        let Some(i) = files.iter().rposition(|&f| f < at) else {
            return Err(usage(format!(
                "--attach-type {t}: it names the type of the --attach before it, and there is none"
            )));
        };
        if let Some(earlier) = &paired[i] {
            return Err(usage(format!(
                "--attach-type {t}: the --attach before it already has --attach-type {earlier}"
            )));
        }
        check_type(t)?;
        paired[i] = Some(t.clone());
    }
    args.attach_types = paired;
    Ok(())
}

/// A content type as `type/subtype`, nothing that could break the header.
fn check_type(t: &str) -> Result<(), UsageError> {
    let ok = t.split_once('/').is_some_and(|(a, b)| {
        let token = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&c))
        };
        token(a) && token(b)
    });
    if ok {
        Ok(())
    } else {
        Err(usage(format!(
            "--attach-type {t:?}: give a content type as TYPE/SUBTYPE, e.g. application/pdf"
        )))
    }
}

fn read(flag: &str, path: &Path) -> Result<Vec<u8>, UsageError> {
    let fail = |e: String| usage(format!("{flag} {}: {e}", path.display()));
    let len = std::fs::metadata(path)
        .map_err(|e| fail(e.to_string()))?
        .len();
    if len > MAX_PART {
        return Err(fail(format!("larger than {MAX_PART} bytes")));
    }
    std::fs::read(path).map_err(|e| fail(e.to_string()))
}

/// The HTML alternative and the attachments the flags ask for.
pub fn parts(args: &SendArgs, notes: &mut Vec<String>) -> Result<Parts, UsageError> {
    let html = match &args.html {
        None => None,
        Some(p) => Some(
            String::from_utf8(read("--html", p)?)
                .map_err(|_| usage(format!("--html {}: not UTF-8 text", p.display())))?,
        ),
    };
    let mut attachments = Vec::new();
    for (i, path) in args.attach.iter().enumerate() {
        let bytes = read("--attach", path)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "attachment".into());
        let given = args.attach_types.get(i).cloned().flatten();
        let (content_type, how) = match given {
            Some(t) => (t, "from --attach-type"),
            None => match mime_guess::from_path(path).first() {
                Some(m) => (m.essence_str().to_string(), "guessed from its name"),
                None => (
                    "application/octet-stream".to_string(),
                    "its name says nothing",
                ),
            },
        };
        notes.push(format!(
            "attaching {name}: {content_type} ({how}), {} bytes",
            bytes.len()
        ));
        attachments.push(Attachment {
            name,
            content_type,
            bytes,
        });
    }
    Ok(Parts { html, attachments })
}

/// `--message FILE.eml`: the file's fields and body, the header flags
/// replacing fields of the same name, `--body`/`--body-file` the body.
pub fn from_eml(
    args: &SendArgs,
    path: &Path,
    body: Option<String>,
    notes: &mut Vec<String>,
) -> Result<Vec<u8>, UsageError> {
    let bytes = read("--message", path)?;
    let mut eml =
        Eml::parse(&bytes).map_err(|e| usage(format!("--message {}: {e}", path.display())))?;
    let mut replaced: Vec<String> = Vec::new();
    let mut set = |eml: &mut Eml, name: &str, value: &str| {
        eml.set(name, value);
        if !replaced.iter().any(|r| r.eq_ignore_ascii_case(name)) {
            replaced.push(name.to_string());
        }
    };
    if let Some(f) = &args.header_from {
        set(&mut eml, "From", f);
    }
    if !args.header_to.is_empty() {
        set(&mut eml, "To", &args.header_to.join(", "));
    }
    if !args.cc.is_empty() {
        set(&mut eml, "Cc", &args.cc.join(", "));
    }
    if let Some(s) = &args.subject {
        set(&mut eml, "Subject", s);
    }
    // The first --header of a name replaces the file's fields of that
    // name; more of the same name are added after it (Received, Comments).
    let mut seen: Vec<String> = Vec::new();
    for h in &args.headers {
        let (name, value) =
            message::parse_header(h).map_err(|e| usage(format!("--header: {e}")))?;
        if seen.iter().any(|s| s.eq_ignore_ascii_case(&name)) {
            eml.fields.push((name, value));
        } else {
            set(&mut eml, &name, &value);
            seen.push(name);
        }
    }
    if let Some(b) = body {
        eml.body = b.into_bytes();
        replaced.push("the body".into());
    }
    let from_file = eml.fields.len();
    notes.push(format!(
        "--message {}: {from_file} header fields and the body from the file{}; \
         the envelope is --mail-from and --rcpt only (the file's From and To do not change it)",
        path.display(),
        if replaced.is_empty() {
            String::new()
        } else {
            format!(", replaced by the flags: {}", replaced.join(", "))
        }
    ));
    Ok(eml.to_bytes())
}
