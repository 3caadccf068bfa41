//! `send --probe smuggling|relay`: each case of the probe in a connection
//! of its own, its transcript as it goes, then one `probe:` line with the
//! case's verdict, a summary, and exit status 6 when a case found the
//! server vulnerable. What each case sends and how its answer reads are
//! `proto::probe`'s; this file runs the connections.

use std::io::Write;
use std::time::{Duration, Instant, SystemTime};

use super::super::exit::{EXIT_CONNECTION, EXIT_OK, EXIT_USAGE, EXIT_VULNERABLE};
use super::Prepared;
use crate::message::Stamp;
use crate::proto::client::{ClientSession, Event, Outcome, Plan, QuitAfter, Transfer};
use crate::proto::command::{Address, ReversePath, Verb};
use crate::proto::probe::relay::{self, RelayCase};
use crate::proto::probe::smuggling::{self, Letter, Variant, VARIANTS};
use crate::proto::probe::{summary, Finding, Probe, Verdict};
use crate::proto::reply::{Reply, ReplyLimits};
use crate::transcript::Writer;
use crate::transport::{self, ConnectOptions, Observer, Timed};

/// Runs `probe` against the prepared connection and envelope; returns the
/// exit status.
pub async fn run<W: Write>(probe: Probe, prepared: &Prepared, writer: &mut Writer<W>) -> u8 {
    let start = Instant::now();
    let mut findings = Vec::new();
    let stopped = match probe {
        Probe::Smuggling => smuggle(prepared, writer, start, &mut findings).await,
        Probe::Relay => match relay_domain(&prepared.plan) {
            Ok(domain) => relay(prepared, &domain, writer, start, &mut findings).await,
            Err(e) => {
                eprintln!("smtp-workbench send: {e}");
                return EXIT_USAGE;
            }
        },
    };
    let at = start.elapsed();
    let text = summary(probe, &findings);
    if let Some(why) = stopped {
        let _ = writer.write(&Timed {
            at,
            latency: None,
            event: Event::Error(format!("probe {probe} stopped: {why}")),
        });
        let _ = writer.write_result(at, &format!("{text}; stopped: {why}"), EXIT_CONNECTION);
        let _ = writer.flush();
        return EXIT_CONNECTION;
    }
    let exit = if findings.iter().any(|f| f.verdict == Verdict::Vulnerable) {
        EXIT_VULNERABLE
    } else {
        EXIT_OK
    };
    let _ = writer.write_result(at, &text, exit);
    let _ = writer.flush();
    exit
}

/// One look-alike per connection. Some(why) when the server could not be
/// reached (the probe stops there).
async fn smuggle<W: Write>(
    prepared: &Prepared,
    writer: &mut Writer<W>,
    start: Instant,
    findings: &mut Vec<Finding>,
) -> Option<String> {
    let wait = smuggling::wait(prepared.connect.timeout);
    let plan = &prepared.plan;
    let from = plan
        .mail_from
        .address()
        .map(ToString::to_string)
        .unwrap_or_default();
    let to = plan
        .rcpts
        .first()
        .map(|(a, _)| a.to_string())
        .unwrap_or_default();
    let _ = writer.write_note(
        start.elapsed(),
        &format!(
            "probe smuggling: {} end-of-data look-alikes, each in a transaction and a \
             connection of its own; after each, {}s of silence before the real end",
            VARIANTS.len(),
            wait.as_secs_f64()
        ),
    );
    for (i, v) in VARIANTS.iter().enumerate() {
        let domain = plan
            .mail_from
            .address()
            .and_then(Address::domain)
            .unwrap_or("smtp-workbench.invalid");
        let stamp = Stamp::new(SystemTime::now(), std::process::id(), domain);
        let date = stamp.date();
        let letter = Letter {
            from: &from,
            to: &to,
            date: &date,
            message_id: &stamp.message_id,
        };
        let content = smuggling::held_content(v, &letter);
        let _ = writer.write_note(
            start.elapsed(),
            &format!("probe smuggling {}/{}: {}", i + 1, VARIANTS.len(), v.name),
        );
        let session = ClientSession::with_held_end(
            ReplyLimits::default(),
            smuggling_plan(plan, &content),
            content,
            smuggling::END.to_vec(),
            wait,
        );
        let (session, heard) = converse(session, &prepared.connect, writer, start).await;
        if let Some(why) = unreachable(&session, &heard) {
            return Some(why);
        }
        let finding = judge_smuggling(v, &session, wait);
        let _ = writer.write_probe(start.elapsed(), &finding);
        findings.push(finding);
    }
    None
}

fn judge_smuggling(v: &Variant, session: &ClientSession, wait: Duration) -> Finding {
    match session.held_report() {
        Some(report) => smuggling::judge(v, report, session.outcome(), wait),
        None => Finding {
            probe: Probe::Smuggling,
            case: v.name.to_string(),
            verdict: Verdict::Inconclusive,
            reason: "the session held no probe content".into(),
        },
    }
}

/// The user's envelope and session, for one look-alike: DATA (the probe
/// holds its end back), no stop point, no VRFY.
fn smuggling_plan(plan: &Plan, content: &[u8]) -> Plan {
    let mut p = plan.clone();
    p.vrfy.clear();
    p.quit_after = None;
    p.transfer = Transfer::Data;
    // What SIZE= announces: the held bytes and the rest before the real
    // end's dot.
    let mut sized = content.to_vec();
    sized.extend_from_slice(&smuggling::END[..smuggling::END.len() - 3]);
    p.content = sized.into();
    p
}

/// The server's own domain for the relay cases: the first recipient's.
fn relay_domain(plan: &Plan) -> Result<String, String> {
    plan.rcpts
        .first()
        .and_then(|(a, _)| a.domain())
        .filter(|d| !d.is_empty())
        .map(ToString::to_string)
        .ok_or_else(|| {
            "--probe relay needs --rcpt with a domain the server takes mail for \
             (for example postmaster@your.domain); the relay cases are built on it"
                .to_string()
        })
}

async fn relay<W: Write>(
    prepared: &Prepared,
    domain: &str,
    writer: &mut Writer<W>,
    start: Instant,
    findings: &mut Vec<Finding>,
) -> Option<String> {
    let cases = relay::cases(domain);
    let _ = writer.write_note(
        start.elapsed(),
        &format!(
            "probe relay: {} cases against the server's domain {domain} (the first --rcpt's), \
             to {} (reserved, RFC 2606: nothing can be delivered there); each in a \
             connection of its own, ending after the RCPT reply (no DATA)",
            cases.len(),
            relay::OUTSIDE
        ),
    );
    if prepared.plan.auth.is_some() {
        let _ = writer.write(&Timed {
            at: start.elapsed(),
            latency: None,
            event: Event::Warning(
                "probe relay: the cases are sent after AUTH; a server may rightly relay for \
                 its own users, so an accepted case is no open relay then. Leave out --auth \
                 to test what anyone may do"
                    .into(),
            ),
        });
    }
    for (i, case) in cases.iter().enumerate() {
        let _ = writer.write_note(
            start.elapsed(),
            &format!("probe relay {}/{}: {}", i + 1, cases.len(), case.name),
        );
        let plan = match relay_plan(&prepared.plan, case) {
            Ok(p) => p,
            Err(e) => {
                let f = Finding {
                    probe: Probe::Relay,
                    case: case.name.to_string(),
                    verdict: Verdict::Inconclusive,
                    reason: format!("the case could not be sent: {e}"),
                };
                let _ = writer.write_probe(start.elapsed(), &f);
                findings.push(f);
                continue;
            }
        };
        let session = ClientSession::with_plan(ReplyLimits::default(), plan);
        let (session, heard) = converse(session, &prepared.connect, writer, start).await;
        if let Some(why) = unreachable(&session, &heard) {
            return Some(why);
        }
        let finding = relay::judge(case, heard.rcpt.as_ref(), session.outcome());
        let _ = writer.write_probe(start.elapsed(), &finding);
        findings.push(finding);
    }
    None
}

/// The user's session with the case's envelope, stopping after RCPT.
fn relay_plan(plan: &Plan, case: &RelayCase) -> Result<Plan, String> {
    let mut p = plan.clone();
    p.vrfy.clear();
    p.quit_after = Some(QuitAfter::Rcpt);
    p.transfer = Transfer::Data;
    if let Some(from) = &case.mail_from {
        p.mail_from = ReversePath::parse(from).map_err(|e| e.to_string())?;
        p.mail_params.clear();
    }
    let rcpt = Address::new(case.rcpt.clone()).map_err(|e| e.to_string())?;
    p.rcpts = vec![(rcpt, Vec::new())];
    p.content = Vec::new().into();
    Ok(p)
}

/// What a case's connection told besides its events.
#[derive(Default)]
struct Heard {
    connected: bool,
    /// The first RCPT reply.
    rcpt: Option<Reply>,
}

/// Writes a case's events as they come, on the probe's one time line.
struct Show<'a, W: Write> {
    writer: &'a mut Writer<W>,
    /// When this connection's clock started, on the probe's time line.
    offset: Duration,
    heard: Heard,
}

impl<W: Write> Observer for Show<'_, W> {
    fn event(&mut self, mut event: Timed) {
        if let Event::Reply {
            verb: Some(Verb::Rcpt),
            reply,
            ..
        } = &event.event
        {
            self.heard.rcpt.get_or_insert_with(|| reply.clone());
        }
        event.at += self.offset;
        let _ = self.writer.write(&event);
    }

    fn connected(&mut self, _local: std::net::SocketAddr) {
        self.heard.connected = true;
    }
}

async fn converse<W: Write>(
    session: ClientSession,
    connect: &ConnectOptions,
    writer: &mut Writer<W>,
    start: Instant,
) -> (ClientSession, Heard) {
    let mut show = Show {
        writer,
        offset: start.elapsed(),
        heard: Heard::default(),
    };
    let session = transport::run(session, connect, &mut show).await;
    (session, show.heard)
}

/// Why the probe cannot go on: the server was not reached, or TLS could
/// not be set up (every case would fail the same way).
fn unreachable(session: &ClientSession, heard: &Heard) -> Option<String> {
    match session.outcome() {
        Some(o @ Outcome::Tls(_)) => Some(o.to_string()),
        Some(o) if !heard.connected => Some(o.to_string()),
        None if !heard.connected => Some("the server could not be reached".into()),
        _ => None,
    }
}
