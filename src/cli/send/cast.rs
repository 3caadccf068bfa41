//! `send --cast FILE`: the file made at the start (so that a path that
//! cannot be written fails before the session, not after it), and the
//! recording written into it at the end.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::time::SystemTime;

use super::SendArgs;
use crate::asciicast::Recorder;
use crate::transcript::Format;

/// The file for `--cast`, created now, with when the recording started.
pub(super) struct CastFile {
    file: File,
    started: SystemTime,
}

/// Opens the `--cast` file, if one is asked for.
pub(super) fn open(args: &SendArgs) -> Result<Option<CastFile>, String> {
    let Some(path) = &args.cast else {
        return Ok(None);
    };
    if args.format == Format::Json {
        return Err(
            "--cast records the text transcript; leave out --format json (or record it separately)"
                .into(),
        );
    }
    let file = File::create(path)
        .map_err(|e| format!("--cast {}: cannot create it: {e}", path.display()))?;
    Ok(Some(CastFile {
        file,
        started: SystemTime::now(),
    }))
}

/// Checks, before anything is sent, that `--save-chain`'s file can be
/// written: an existing file is opened without being cut short, a new one
/// is made and removed again (the chain is written after the handshake).
pub(super) fn check_save_chain(args: &SendArgs) -> Result<(), String> {
    let Some(path) = &args.conn.save_chain else {
        return Ok(());
    };
    let cannot =
        |e: std::io::Error| format!("--save-chain {}: cannot write it: {e}", path.display());
    if path.exists() {
        std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(cannot)?;
    } else {
        File::create(path).map_err(cannot)?;
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

/// Writes the recording into the `--cast` file.
pub(super) fn finish<W: Write>(
    args: &SendArgs,
    cast: Option<CastFile>,
    recorder: Recorder<W>,
) -> Result<(), String> {
    let (Some(file), Some(recording), Some(path)) = (cast, recorder.finish(), &args.cast) else {
        return Ok(());
    };
    let timestamp = file
        .started
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let title = match &args.server {
        Some(s) => format!("smtp-workbench send --server {s}"),
        None => "smtp-workbench send (the built-in demo server)".to_string(),
    };
    let mut out = BufWriter::new(file.file);
    recording
        .write_to(&mut out, timestamp, &title)
        .map_err(|e| format!("--cast {}: cannot write it: {e}", path.display()))
}
