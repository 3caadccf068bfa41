//! `send`'s authentication verdicts: where the client's address and the
//! DNS answers come from, the judgement made before MAIL, and its `auth:`
//! lines in the transcript.

use std::io::Write;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use super::super::args::SendArgs;
use super::super::exit::{usage, UsageError};
use crate::analysis::auth::{self, DnsSource, Inputs, Zone};
use crate::proto::client::{Plan, QuitAfter};
use crate::transcript::Writer;

/// What to judge, and with which DNS; the client's address may wait for
/// the connection.
pub struct AuthPlan {
    pub dns: DnsSource,
    /// `--client-ip`; None: the address the connection comes from.
    pub client_ip: Option<IpAddr>,
    pub limit: Duration,
}

/// The plan, or None when no message will go (VRFY only, `--quit-after`
/// before MAIL) or no DNS was chosen (a note then says how to ask).
pub fn plan(
    args: &SendArgs,
    plan: &Plan,
    builtin: bool,
    limit: Duration,
    notes: &mut Vec<String>,
) -> Result<Option<AuthPlan>, UsageError> {
    if plan.rcpts.is_empty() || args.quit_after.is_some_and(|q| q < QuitAfter::Mail) {
        return Ok(None);
    }
    let Some(dns) = dns_source(args, builtin)? else {
        notes.push(
            "auth: not judged; give --dns HOST[:PORT] (live DNS) or --zone FILE to see SPF, \
             DKIM and DMARC as the receiver will"
                .into(),
        );
        return Ok(None);
    };
    Ok(Some(AuthPlan {
        dns,
        client_ip: args.client_ip,
        limit,
    }))
}

/// `--zone FILE`, `--dns HOST[:PORT]`, or the built-in server's demo world
/// (`assets/zone/`). A real server without either: None, as asking the
/// system's resolver unasked would send the envelope's names to whatever DNS
/// the machine uses.
fn dns_source(args: &SendArgs, builtin: bool) -> Result<Option<DnsSource>, UsageError> {
    if let Some(path) = &args.zone {
        let zone = Zone::read(path).map_err(|e| usage(format!("--zone: {e}")))?;
        return Ok(Some(DnsSource::Zone(Arc::new(zone))));
    }
    if let Some(server) = args.conn.dns {
        return Ok(Some(DnsSource::Server(server)));
    }
    if !builtin {
        return Ok(None);
    }
    let zone = Zone::demo().map_err(|e| usage(format!("the demo zone: {e}")))?;
    Ok(Some(DnsSource::Zone(Arc::new(zone))))
}

/// Judges the message about to go and writes the `auth:` lines: where the
/// address and DNS came from, each lookup, then one line per result.
pub async fn judge<W: Write>(
    plan: &AuthPlan,
    session: &Plan,
    ip: IpAddr,
    receiver: &str,
    writer: &mut Writer<W>,
    at: Duration,
) {
    let whence = if plan.client_ip.is_some() {
        "given with --client-ip"
    } else {
        "the address this connection comes from; --client-ip sets another"
    };
    let _ = writer.write_note(
        at,
        &format!(
            "auth: client IP {ip} ({whence}); DNS from {}",
            plan.dns.describe()
        ),
    );
    let mail_from = session
        .mail_from
        .address()
        .map(ToString::to_string)
        .unwrap_or_default();
    let inputs = Inputs {
        message: &session.content,
        mail_from: &mail_from,
        helo: &session.ehlo,
        client_ip: ip,
        receiver,
    };
    let judgement = auth::judge(&inputs, &plan.dns, plan.limit).await;
    for lookup in &judgement.lookups {
        let _ = writer.write_note(at, &format!("auth: dns {lookup}"));
    }
    for verdict in &judgement.verdicts {
        let _ = writer.write_auth(at, verdict);
    }
}
