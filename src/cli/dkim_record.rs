//! `smtp-workbench dkim-record`: the TXT record that publishes a DKIM
//! key's public half, as a zone file line to paste.

use super::args::DkimRecordArgs;
use super::exit::{EXIT_OK, EXIT_USAGE};
use crate::message::dkim::DkimKey;

/// Prints the record and returns the exit status.
pub fn dkim_record(args: &DkimRecordArgs) -> u8 {
    match record(args) {
        Ok(line) => {
            println!("{line}");
            EXIT_OK
        }
        Err(e) => {
            eprintln!("smtp-workbench dkim-record: {e}");
            EXIT_USAGE
        }
    }
}

fn record(args: &DkimRecordArgs) -> Result<String, String> {
    let pem = std::fs::read(&args.key).map_err(|e| format!("--key {}: {e}", args.key.display()))?;
    let key = DkimKey::from_pem(&pem).map_err(|e| format!("--key {}: {e}", args.key.display()))?;
    if args.selector.is_empty() || !args.selector.split('.').all(is_label) {
        return Err(format!(
            "--selector {:?}: a selector is one or more DNS labels (letters, digits, hyphens)",
            args.selector
        ));
    }
    Ok(key.zone_record(&args.selector))
}

fn is_label(l: &str) -> bool {
    !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}
