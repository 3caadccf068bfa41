//! `smtp-workbench serve`: the built-in demo server alone, for other clients.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::SystemTime;

use clap::{Args, ValueEnum};

use super::{FormatArg, UsageError, EXIT_CONNECTION, EXIT_OK, EXIT_USAGE};
use crate::proto::server::{Policy, VrfyMode};
use crate::server::{self, report, ServerOptions, StoreLimits};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VrfyArg {
    /// 252: cannot verify, will accept (what most servers say).
    Ambiguous,
    /// 250 for a known user, 550 for others.
    Verify,
    /// 550 always.
    Refuse,
    /// 502: VRFY switched off.
    Disabled,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
  smtp-workbench serve                                   # 127.0.0.1:2525, the demo policy\n  \
  smtp-workbench serve --require-auth --greylist 60 -v   # a stricter server, every line shown\n  \
  swaks --server 127.0.0.1 --port 2525 --to alice@example.test --from me@client.example\n\n\
It is a test and teaching server: it keeps what it accepts (in memory, and\n\
with --maildir as files) and never delivers anything onward.")]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:2525")]
    pub listen: SocketAddr,
    /// Allow listening on an address other than loopback.
    #[arg(long)]
    pub allow_remote: bool,
    /// The server's name in the greeting, EHLO and Received: fields.
    #[arg(long, value_name = "NAME", default_value = "demo.example.test")]
    pub hostname: String,
    /// A domain the server takes mail for (repeatable; default example.test
    /// and localhost). Others are relaying, which needs AUTH.
    #[arg(long = "domain", value_name = "DOMAIN")]
    pub domains: Vec<String>,
    /// A user for AUTH, NAME:PASSWORD (repeatable; default alice@example.test:wonderland).
    #[arg(long = "user", value_name = "NAME:PASSWORD")]
    pub users: Vec<String>,
    /// MAIL needs AUTH first.
    #[arg(long)]
    pub require_auth: bool,
    /// MAIL and AUTH need STARTTLS first.
    #[arg(long)]
    pub require_tls: bool,
    /// Largest message in bytes (announced as SIZE).
    #[arg(long, value_name = "BYTES", default_value_t = 10 * 1024 * 1024)]
    pub max_size: u64,
    /// Greylisting: refuse each new (client, sender, recipient) with 450
    /// until this many seconds have passed.
    #[arg(long, value_name = "SECONDS")]
    pub greylist: Option<u64>,
    /// Wait this many milliseconds before each reply.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub tarpit: u64,
    /// How VRFY is answered.
    #[arg(long, value_enum, default_value = "ambiguous")]
    pub vrfy: VrfyArg,
    /// Chance (0 to 1) that a RCPT gets a 451 drill failure.
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    pub fail_rate: f64,
    /// Connections at once; more get 421.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub max_connections: usize,
    /// Hang up on a client silent this long.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub idle_timeout: u64,
    /// Accept content with bare LF line ends (refused by default).
    #[arg(long)]
    pub allow_bare_lf: bool,
    /// Certificate chain (PEM) for STARTTLS; without it one is made at start.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// Private key (PEM) for --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Offer no STARTTLS at all.
    #[arg(long, conflicts_with_all = ["tls_cert", "tls_key", "require_tls"])]
    pub no_tls: bool,
    /// Also write each accepted message to this Maildir (tmp/, new/, cur/).
    #[arg(long, value_name = "DIR")]
    pub maildir: Option<PathBuf>,
    /// Messages kept in memory.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub store_messages: usize,
    /// Bytes kept in memory.
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024 * 1024)]
    pub store_bytes: usize,
    /// Log format on stdout.
    #[arg(long, value_enum, default_value = "text")]
    pub format: FormatArg,
    /// Show every command and reply.
    #[arg(short, long)]
    pub verbose: bool,
}

fn usage(s: impl Into<String>) -> UsageError {
    UsageError(s.into())
}

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
    p.vrfy = match args.vrfy {
        VrfyArg::Ambiguous => VrfyMode::Ambiguous,
        VrfyArg::Verify => VrfyMode::Verify,
        VrfyArg::Refuse => VrfyMode::Refuse,
        VrfyArg::Disabled => VrfyMode::Disabled,
    };
    p.transient_failure = args.fail_rate;
    p.max_connections = args.max_connections.max(1);
    p.idle_timeout_secs = args.idle_timeout.max(1);
    p.allow_bare_lf = args.allow_bare_lf;
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
    rules.push(format!("VRFY {:?}", p.vrfy).to_lowercase());
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
    if !args.listen.ip().is_loopback() && !args.allow_remote {
        return Err(ServeError::Usage(usage(format!(
            "{} is not a loopback address; this is a test server without spam controls. \
             Add --allow-remote if you mean it.",
            args.listen
        ))));
    }
    let tls = if args.no_tls {
        None
    } else {
        Some(
            match (&args.tls_cert, &args.tls_key) {
                (Some(c), Some(k)) => server::tls::load(c, k),
                _ => server::tls::generate(&[
                    args.hostname.clone(),
                    "localhost".into(),
                    args.listen.ip().to_string(),
                ]),
            }
            .map_err(|e| ServeError::Usage(usage(e.to_string())))?,
        )
    };
    let options = ServerOptions {
        listen: args.listen,
        hostname: args.hostname.clone(),
        tls: tls.clone(),
        maildir: args.maildir.clone(),
        store: StoreLimits {
            max_messages: args.store_messages.max(1),
            max_bytes: args.store_bytes,
        },
        log_lines: args.verbose || args.format == FormatArg::Json,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ServeError::Failed(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async move {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let handle = server::start(options, policy.clone(), tx)
            .await
            .map_err(|e| ServeError::Failed(format!("cannot listen on {}: {e}", args.listen)))?;
        // Buffered, and flushed whenever no more events wait: a busy server
        // writes in batches, an idle one shows each line at once.
        let mut out = std::io::BufWriter::new(std::io::stdout());
        if args.format == FormatArg::Text {
            let mut intro = vec![format!(
                "smtp-workbench demo server on {} as {}",
                handle.local_addr, args.hostname
            )];
            match &tls {
                Some(t) => intro.push(format!(
                    "STARTTLS: certificate {}; SHA-256 {}",
                    t.source, t.fingerprint
                )),
                None => intro.push("STARTTLS: off".into()),
            }
            intro.extend(describe_policy(&policy));
            if let Some(d) = &args.maildir {
                intro.push(format!("accepted messages are also written to the Maildir {}", d.display()));
            }
            if !args.listen.ip().is_loopback() {
                intro.push(
                    "WARNING: listening beyond loopback; this test server has no spam controls"
                        .into(),
                );
            }
            intro.push("a test server: it keeps what it accepts and never delivers onward. Ctrl-C stops it.".into());
            for l in intro {
                let _ = writeln!(out, "{l}");
            }
            let _ = out.flush();
        }
        let stop = shutdown_signal();
        tokio::pin!(stop);
        loop {
            tokio::select! {
                event = rx.recv() => {
                    let Some(event) = event else { break };
                    let now = SystemTime::now();
                    let line = match args.format {
                        FormatArg::Text => report::text(&event, now, args.verbose),
                        FormatArg::Json => Some(report::json(&event, now).to_string()),
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
        let accepted = handle
            .shared
            .store
            .lock()
            .map(|s| s.accepted())
            .unwrap_or(0);
        if args.format == FormatArg::Text {
            let _ = writeln!(out, "stopped; {accepted} message(s) accepted");
        }
        let _ = out.flush();
        handle.stop();
        Ok(())
    })
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
