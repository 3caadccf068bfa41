//! `send`'s DKIM signing from the flags: the key file, the selector and the
//! domain (From:'s unless `--dkim-domain`). The key's contents never reach
//! any output, errors included.

use super::super::args::SendArgs;
use super::super::exit::{usage, UsageError};
use crate::analysis::compare::HeaderSide;
use crate::message::dkim::DkimKey;

/// The content, signed when `--dkim-key` was given; a note says how.
pub fn sign(
    args: &SendArgs,
    content: Vec<u8>,
    notes: &mut Vec<String>,
) -> Result<Vec<u8>, UsageError> {
    let (Some(path), Some(selector)) = (&args.dkim_key, &args.dkim_selector) else {
        return Ok(content);
    };
    let shown = path.display();
    let pem = std::fs::read(path).map_err(|e| usage(format!("--dkim-key {shown}: {e}")))?;
    let key = DkimKey::from_pem(&pem).map_err(|e| usage(format!("--dkim-key {shown}: {e}")))?;
    let domain = match &args.dkim_domain {
        Some(d) => d.clone(),
        None => from_domain(&content).ok_or_else(|| {
            usage("--dkim-key: the message has no From: address to take the domain from; give --dkim-domain")
        })?,
    };
    let signed = key
        .sign(&content, &domain, selector)
        .map_err(|e| usage(format!("--dkim-key {shown}: {e}")))?;
    notes.push(format!(
        "signed with DKIM ({}) as d={domain}; s={selector}: the DKIM-Signature field is the first line of the content",
        key.algorithm()
    ));
    Ok(signed)
}

fn from_domain(content: &[u8]) -> Option<String> {
    let headers = HeaderSide::from_message(content);
    let from = headers.from.first()?;
    let addr = from
        .rsplit_once('<')
        .map_or(from.as_str(), |(_, a)| a.trim_end_matches('>'));
    addr.rsplit_once('@')
        .map(|(_, d)| d.trim().to_ascii_lowercase())
}
