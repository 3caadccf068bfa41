//! `smtp-workbench serve`: the built-in demo server alone, for other clients.

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::time::SystemTime;

use super::args::ServeArgs;
use super::exit::{usage, UsageError, EXIT_CONNECTION, EXIT_OK, EXIT_USAGE};
use crate::analysis::auth::{DnsSource, Zone};
use crate::proto::server::Policy;
use crate::proto::visible::json_safe;
use crate::server::{self, report, Judge, LogEvent, Rules, ServerOptions, StoreLimits};
use crate::transcript::Format;

/// The policy the flags describe.
pub fn policy(args: &ServeArgs) -> Result<Policy, UsageError> {
    let mut p = Policy::default();
    if !args.domains.is_empty() {
        p.local_domains = args.domains.clone();
    }
    if !args.users.is_empty() {
        p.users = args
            .users
            .iter()
            .map(|u| {
                u.split_once(':')
                    .map(|(n, pw)| (n.to_string(), pw.to_string()))
                    .filter(|(n, _)| !n.is_empty())
                    .ok_or_else(|| usage(format!("--user {u:?}: write it as NAME:PASSWORD")))
            })
            .collect::<Result<_, _>>()?;
    }
    if !(0.0..=1.0).contains(&args.fail_rate) {
        return Err(usage("--fail-rate is a chance between 0 and 1"));
    }
    p.require_auth = args.require_auth;
    p.require_tls = args.require_tls;
    p.max_size = args.max_size;
    p.greylist_secs = args.greylist;
    p.tarpit_ms = args.tarpit;
    p.vrfy = args.vrfy;
    p.transient_failure = args.fail_rate;
    p.max_connections = args.max_connections.max(1);
    p.idle_timeout_secs = args.idle_timeout.max(1);
    p.allow_bare_lf = args.allow_bare_lf;
    p.bounce = args
        .bounce
        .iter()
        .map(|a| a.trim_start_matches('<').trim_end_matches('>').to_string())
        .collect();
    if let Some(a) = p.bounce.iter().find(|a| !a.contains('@')) {
        return Err(usage(format!(
            "--bounce {a:?}: give a recipient address, local@domain"
        )));
    }
    // Transports: LMTP.
    p.lmtp = args.protocol == crate::proto::client::Protocol::Lmtp;
    Ok(p)
}

/// Lines describing a policy, for the startup message.
pub fn describe_policy(p: &Policy) -> Vec<String> {
    let mut out = vec![format!(
        "local domains: {}; mail for other domains needs AUTH (else 554 5.7.1 Relay access denied)",
        p.local_domains.join(", ")
    )];
    let users: Vec<String> = p
        .users
        .iter()
        .map(|(u, pw)| format!("{u} (password {pw})"))
        .collect();
    out.push(format!("AUTH users: {}", users.join(", ")));
    let mut rules = Vec::new();
    if p.require_tls {
        rules.push("STARTTLS required".to_string());
    }
    if p.require_auth {
        rules.push("AUTH required".to_string());
    }
    if let Some(g) = p.greylist_secs {
        rules.push(format!("greylisting {g}s"));
    }
    if p.tarpit_ms > 0 {
        rules.push(format!("tarpit {} ms per reply", p.tarpit_ms));
    }
    if p.transient_failure > 0.0 {
        rules.push(format!(
            "451 drill on {:.0}% of RCPTs",
            p.transient_failure * 100.0
        ));
    }
    rules.push(format!("max size {} bytes", p.max_size));
    if p.lmtp {
        rules.push("LMTP (LHLO, a reply per recipient after the content)".to_string());
    }
    if !p.bounce.is_empty() && p.lmtp {
        rules.push(format!(
            "accepted at RCPT, then refused after the content (552 5.2.2): {}",
            p.bounce.join(", ")
        ));
    } else if !p.bounce.is_empty() {
        rules.push(format!(
            "accepted, then bounced to MAIL FROM ({} {}): {}",
            crate::server::bounce::STATUS,
            crate::server::bounce::REASON,
            p.bounce.join(", ")
        ));
    }
    rules.push(format!("vrfy {}", p.vrfy.name()));
    out.push(rules.join("; "));
    out
}

pub fn serve(args: &ServeArgs) -> u8 {
    match run(args) {
        Ok(()) => EXIT_OK,
        Err(ServeError::Usage(e)) => {
            eprintln!("smtp-workbench serve: {e}");
            EXIT_USAGE
        }
        Err(ServeError::Failed(e)) => {
            eprintln!("smtp-workbench serve: {e}");
            EXIT_CONNECTION
        }
    }
}

enum ServeError {
    Usage(UsageError),
    Failed(String),
}

fn run(args: &ServeArgs) -> Result<(), ServeError> {
    let policy = policy(args).map_err(ServeError::Usage)?;
    if args.dashboard && !std::io::stdout().is_terminal() {
        return Err(ServeError::Usage(usage(
            "--dashboard draws on a terminal, and stdout is not one; \
             without it the server logs to stdout (--format text or json)",
        )));
    }
    if !args.listen.ip().is_loopback() && !args.allow_remote {
        return Err(ServeError::Usage(usage(format!(
            "{} is not a loopback address; this is a test server without spam controls. \
             Add --allow-remote if you mean it.",
            args.listen
        ))));
    }
    let tls = identity(args).map_err(ServeError::Usage)?;
    let judge = judge(args).map_err(ServeError::Usage)?;
    let rules = rules(args).map_err(ServeError::Usage)?;
    let options = ServerOptions {
        listen: args.listen,
        hostname: args.hostname.clone(),
        tls: tls.clone(),
        maildir: args.maildir.clone(),
        store: StoreLimits {
            max_messages: args.store_messages.max(1),
            max_bytes: args.store_bytes,
        },
        log_lines: args.verbose || args.format == Format::Json || args.dashboard,
        judge: judge.clone(),
        rules: rules.clone(),
        sessions: args.dashboard,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ServeError::Failed(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async move {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let handle = server::start(options, policy.clone(), tx)
            .await
            .map_err(|e| ServeError::Failed(listen_failed(args.listen, &e)))?;
        let intro = intro(
            args,
            handle.local_addr,
            tls.as_ref(),
            &policy,
            judge.as_ref(),
            &rules,
        );
        let shown = if args.dashboard {
            crate::tui::dashboard::run(rx, intro, args.theme)
                .await
                .map_err(|e| ServeError::Failed(format!("the dashboard: {e}")))
        } else {
            log(args, intro, rx, &handle).await;
            Ok(())
        };
        handle.stop();
        shown
    })
}

/// The log on stdout until the server is stopped: the intro (text only),
/// each event, and how many messages were accepted.
async fn log(
    args: &ServeArgs,
    intro: Vec<String>,
    rx: tokio::sync::mpsc::UnboundedReceiver<server::LogEvent>,
    handle: &server::ServerHandle,
) {
    // Buffered, and flushed whenever no more events wait: a busy server
    // writes in batches, an idle one shows each line at once.
    let mut out = std::io::BufWriter::new(std::io::stdout());
    if args.format == Format::Text {
        for l in intro {
            let _ = writeln!(out, "{l}");
        }
        let _ = out.flush();
    }
    log_until_stopped(args, rx, &mut out).await;
    let accepted = handle
        .shared
        .store
        .lock()
        .map(|s| s.accepted())
        .unwrap_or(0);
    if args.format == Format::Text {
        let _ = writeln!(out, "stopped; {accepted} message(s) accepted");
    }
    let _ = out.flush();
}

/// The certificate for STARTTLS: the one given, else one made now for the
/// listen name; none with --no-tls.
fn identity(args: &ServeArgs) -> Result<Option<server::tls::Identity>, UsageError> {
    if args.no_tls {
        return Ok(None);
    }
    match (&args.tls_cert, &args.tls_key) {
        (Some(c), Some(k)) => server::tls::load(c, k),
        _ => server::tls::generate(&[
            args.hostname.clone(),
            "localhost".into(),
            args.listen.ip().to_string(),
        ]),
    }
    .map(Some)
    .map_err(|e| usage(e.to_string()))
}

/// The rules of `--rules FILE`, checked; none without it.
fn rules(args: &ServeArgs) -> Result<Rules, UsageError> {
    let Some(path) = &args.rules else {
        return Ok(Rules::default());
    };
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| usage(format!("--rules {name}: cannot read it: {e}")))?;
    Rules::parse(&name, &text).map_err(|e| usage(format!("--rules {e}")))
}

/// The rules, one line each, for the startup message.
pub fn describe_rules(rules: &Rules) -> Vec<String> {
    if rules.is_empty() {
        return Vec::new();
    }
    let mut out = vec![format!(
        "rules: {} (the first that matches fires)",
        rules.rules.len()
    )];
    out.extend(
        rules
            .rules
            .iter()
            .map(|r| format!("  {}: {}: {}", r.label(), r.describe_when(), r.describe())),
    );
    out
}

/// What judges each message: the offline demo zone unless `--zone FILE`
/// or `--dns HOST[:PORT]` says otherwise; nothing with `--no-auth-results`.
/// The zone is read once, here, and shared by every connection.
fn judge(args: &ServeArgs) -> Result<Option<Judge>, UsageError> {
    if args.no_auth_results {
        return Ok(None);
    }
    if let Some(path) = &args.zone {
        let zone = Zone::read(path).map_err(|e| usage(format!("--zone: {e}")))?;
        return Ok(Some(Judge::zone(zone, &path.display().to_string())));
    }
    if let Some(server) = args.dns {
        return Ok(Some(Judge::new(DnsSource::Server(server))));
    }
    Judge::demo()
        .map(Some)
        .map_err(|e| usage(format!("the demo zone: {e}")))
}

/// The startup message: where, which certificate, which policy, which DNS.
fn intro(
    args: &ServeArgs,
    addr: SocketAddr,
    tls: Option<&server::tls::Identity>,
    policy: &Policy,
    judge: Option<&Judge>,
    rules: &Rules,
) -> Vec<String> {
    let mut intro = vec![format!(
        "smtp-workbench demo server on {addr} as {}",
        args.hostname
    )];
    match tls {
        Some(t) => intro.push(format!(
            "STARTTLS: certificate {}; SHA-256 {}",
            t.source, t.fingerprint
        )),
        None => intro.push("STARTTLS: off".into()),
    }
    intro.extend(describe_policy(policy));
    intro.push(match judge.map(Judge::describe) {
        Some(dns) => format!(
            "authentication: SPF, DKIM, DMARC and iprev judged on each message with {dns}; \
             Authentication-Results added to what is stored"
        ),
        None => "authentication: not judged (--no-auth-results)".into(),
    });
    intro.extend(describe_rules(rules));
    if let Some(d) = &args.maildir {
        intro.push(format!(
            "accepted messages are also written to the Maildir {}",
            d.display()
        ));
    }
    if !args.listen.ip().is_loopback() {
        intro.push(
            "WARNING: listening beyond loopback; this test server has no spam controls".into(),
        );
    }
    intro.push(
        "a test server: it keeps what it accepts and never delivers onward. Ctrl-C stops it."
            .into(),
    );
    intro
}

/// Writes the server's log until it is stopped (Ctrl-C, SIGTERM) or stdout
/// is gone.
async fn log_until_stopped(
    args: &ServeArgs,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<LogEvent>,
    out: &mut impl Write,
) {
    let stop = shutdown_signal();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            event = rx.recv() => {
                let Some(event) = event else { break };
                let now = SystemTime::now();
                let line = match args.format {
                    Format::Text => report::text(&event, now, args.verbose),
                    Format::Json => Some(json_safe(&report::json(&event, now).to_string()).into_owned()),
                };
                if let Some(l) = line {
                    if writeln!(out, "{l}").is_err() {
                        break;
                    }
                }
                if rx.is_empty() {
                    let _ = out.flush();
                }
            }
            _ = &mut stop => break,
        }
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Why `serve` could not listen, and, where the port is taken (by a mail
/// server already there, often), how to pick another.
fn listen_failed(addr: SocketAddr, e: &std::io::Error) -> String {
    let mut text = format!("cannot listen on {addr}: {e}");
    if matches!(
        e.kind(),
        std::io::ErrorKind::AddrInUse | std::io::ErrorKind::PermissionDenied
    ) {
        text.push_str(&format!(
            "; pick another with --listen ADDR:PORT (--listen {}:0 lets the system choose a free port)",
            addr.ip()
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::args::{Cli, Command};

    fn serve_args(extra: &[&str]) -> ServeArgs {
        let cli = Cli::try_parse_from(["smtp-workbench", "serve"].iter().chain(extra)).unwrap();
        match cli.command {
            Some(Command::Serve(a)) => *a,
            _ => unreachable!("serve parses as serve"),
        }
    }

    #[test]
    fn bounce_addresses_reach_the_policy_and_its_description() {
        let p = policy(&serve_args(&[
            "--bounce",
            "<bob@example.test>",
            "--bounce",
            "c@d.test",
        ]))
        .unwrap();
        assert_eq!(p.bounce, ["bob@example.test", "c@d.test"]);
        let text = describe_policy(&p).join("\n");
        assert!(
            text.contains(
                "accepted, then bounced to MAIL FROM (5.2.2 mailbox over quota): \
                 bob@example.test, c@d.test"
            ),
            "{text}"
        );
        assert!(policy(&serve_args(&["--bounce", "bob"])).is_err());
    }
}
