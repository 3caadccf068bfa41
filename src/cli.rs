//! The command line: arguments, the faces they pick, and exit statuses.
//!
//! Exit statuses (the contract in the README): 0 accepted or stopped as
//! asked, 2 usage error, 3 connection, TLS, timeout or protocol failure,
//! 4 a 4xx reply ended it, 5 a 5xx reply ended it.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::message::{self, Envelope, HeaderFields, Stamp};
use crate::proto::auth::{Credentials, Mechanism, Secret};
use crate::proto::client::{ClientSession, Outcome, Plan, QuitAfter, Transfer};
use crate::proto::command::{Address, Param, ReversePath};
use crate::proto::reply::ReplyLimits;
use crate::server;
use crate::transcript::{self, Writer};
use crate::transport::{self, ConnectOptions, Target, TlsMode, TlsOptions};

mod load;
mod serve;
pub use serve::ServeArgs;

pub const EXIT_OK: u8 = 0;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_CONNECTION: u8 = 3;
pub const EXIT_TRANSIENT: u8 = 4;
pub const EXIT_PERMANENT: u8 = 5;

#[derive(Debug, Parser)]
#[command(
    name = "smtp-workbench",
    version,
    about = "Step through SMTP sessions by hand: telnet to port 25, done properly.",
    after_help = "Exit status of `send`: 0 accepted (or stopped as --quit-after asked), \
                  2 usage error, 3 connection, TLS, timeout or protocol failure, \
                  4 a 4xx reply ended it, 5 a 5xx reply ended it."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The server for the interactive workbench, HOST[:PORT]; without it,
    /// the built-in demo server on a loopback port.
    pub server: Option<String>,
    #[command(flatten)]
    pub conn: ConnectionArgs,
    /// Start with a lesson: a built-in one by name (first-session,
    /// envelope-vs-headers, blind-copy, relay-denied, dot-stuffing,
    /// greylisting, starttls-auth) or a TOML file of your own.
    #[arg(long, value_name = "NAME|FILE")]
    pub lesson: Option<String>,
}

/// How to reach the server: the flags `send` and the workbench share.
#[derive(Debug, Args)]
pub struct ConnectionArgs {
    /// Transport security: none; starttls (after EHLO; in the workbench,
    /// from the palette); implicit (TLS from the first byte, port 465).
    #[arg(long, value_enum, default_value = "none")]
    pub tls: TlsArg,
    /// Do not check the server's certificate at all (a warning says so).
    #[arg(long)]
    pub insecure: bool,
    /// Trust the CA certificates in this PEM file instead of the system's roots.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// The name the certificate must carry, when connecting by address.
    #[arg(long, value_name = "NAME")]
    pub tls_name: Option<String>,
    /// The name to give in EHLO (default: this machine's host name).
    #[arg(long, value_name = "NAME")]
    pub ehlo: Option<String>,
    /// Seconds to wait for the connection, the TLS handshake and each reply.
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    pub timeout: f64,
}

impl ConnectionArgs {
    fn tls_options(&self) -> TlsOptions {
        TlsOptions {
            ca_file: self.ca_file.clone(),
            insecure: self.insecure,
            tls_name: self.tls_name.clone(),
            trust: Vec::new(),
        }
    }

    fn timeout(&self) -> Result<Duration, UsageError> {
        if self.timeout > 0.0 && self.timeout <= 86_400.0 {
            Ok(Duration::from_secs_f64(self.timeout))
        } else {
            Err(usage("--timeout takes a number of seconds above 0"))
        }
    }

    fn ehlo(&self, notes: &mut Vec<String>) -> Result<String, UsageError> {
        let ehlo = match &self.ehlo {
            Some(e) => e.clone(),
            None => {
                let h = host_name();
                notes.push(format!(
                    "EHLO name {h} (this machine's name; set another with --ehlo)"
                ));
                h
            }
        };
        if ehlo.is_empty() || ehlo.contains(char::is_whitespace) {
            return Err(usage(
                "--ehlo takes one name or address literal, without spaces",
            ));
        }
        Ok(ehlo)
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one SMTP transaction without the UI; the transcript goes to stdout.
    Send(Box<SendArgs>),
    /// Run the built-in demo server alone, for other clients (swaks, a mail
    /// program, a class).
    Serve(Box<ServeArgs>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TlsArg {
    /// Plain SMTP.
    None,
    /// Plain first, then STARTTLS after EHLO (RFC 3207).
    Starttls,
    /// TLS from the first byte, as on port 465 (RFC 8314).
    Implicit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum QuitAfterArg {
    Connect,
    Greeting,
    Ehlo,
    Starttls,
    Auth,
    Mail,
    Rcpt,
    Data,
}

impl From<QuitAfterArg> for QuitAfter {
    fn from(q: QuitAfterArg) -> Self {
        match q {
            QuitAfterArg::Connect => QuitAfter::Connect,
            QuitAfterArg::Greeting => QuitAfter::Greeting,
            QuitAfterArg::Ehlo => QuitAfter::Ehlo,
            QuitAfterArg::Starttls => QuitAfter::StartTls,
            QuitAfterArg::Auth => QuitAfter::Auth,
            QuitAfterArg::Mail => QuitAfter::Mail,
            QuitAfterArg::Rcpt => QuitAfter::Rcpt,
            QuitAfterArg::Data => QuitAfter::Data,
        }
    }
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
  smtp-workbench send --server 127.0.0.1:2525 --mail-from me@client.test --rcpt alice@example.test\n  \
  smtp-workbench send --server mail.example.test:587 --tls starttls --auth PLAIN --user alice \\\n      \
  --password-env SMTP_PASSWORD --mail-from alice@example.test --rcpt bob@example.test\n  \
  smtp-workbench send --server mx.example.test --quit-after rcpt --mail-from a@b.test --rcpt c@d.test\n\n\
Exit status: 0 accepted (or stopped as --quit-after asked), 2 usage error, 3 connection, TLS,\n\
timeout or protocol failure, 4 a 4xx reply ended it, 5 a 5xx reply ended it.")]
pub struct SendArgs {
    /// The server, HOST[:PORT] (port 25, or 465 with --tls implicit).
    /// Without it, the built-in demo server runs in this process.
    #[arg(long, value_name = "HOST[:PORT]")]
    pub server: Option<String>,
    #[command(flatten)]
    pub conn: ConnectionArgs,
    /// Authenticate with this SASL mechanism: PLAIN, LOGIN, CRAM-MD5 or XOAUTH2.
    #[arg(long, value_name = "MECH", requires = "user")]
    pub auth: Option<String>,
    /// The user name for --auth.
    #[arg(long, value_name = "USER", requires = "auth")]
    pub user: Option<String>,
    /// Read the password from this environment variable (else it is asked for).
    #[arg(long, value_name = "VAR", requires = "auth")]
    pub password_env: Option<String>,

    /// Envelope sender (MAIL FROM), optionally with parameters:
    /// "me@example.test BODY=8BITMIME". Use "<>" for the null sender.
    #[arg(long, value_name = "ADDR [PARAM...]", allow_hyphen_values = true)]
    pub mail_from: Option<String>,
    /// Envelope recipient (RCPT TO), repeatable, optionally with parameters:
    /// "bob@example.test NOTIFY=SUCCESS,FAILURE".
    #[arg(long, value_name = "ADDR [PARAM...]")]
    pub rcpt: Vec<String>,

    /// Ask the server about this address or name with VRFY, after EHLO (and
    /// AUTH); repeatable. Without --rcpt the session ends after the answers,
    /// and the exit status follows the worst of them.
    #[arg(long, value_name = "NAME")]
    pub vrfy: Vec<String>,

    /// Header From: (default: the envelope sender).
    #[arg(long, value_name = "MAILBOX")]
    pub header_from: Option<String>,
    /// Header To:, repeatable (default: the envelope recipients).
    #[arg(long, value_name = "MAILBOX")]
    pub header_to: Vec<String>,
    /// Header Cc:, repeatable.
    #[arg(long, value_name = "MAILBOX")]
    pub cc: Vec<String>,
    /// Header Subject:.
    #[arg(long, value_name = "TEXT")]
    pub subject: Option<String>,
    /// Any other header field, "Name: value", repeatable.
    #[arg(long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// The body text.
    #[arg(long, value_name = "TEXT", conflicts_with = "body_file")]
    pub body: Option<String>,
    /// Read the body text from a file.
    #[arg(long, value_name = "FILE")]
    pub body_file: Option<PathBuf>,
    /// Send this file as the whole message (headers and body) exactly as it
    /// is; only line ends are made CRLF and leading dots stuffed.
    #[arg(long, value_name = "FILE", conflicts_with_all = [
        "header_from", "header_to", "cc", "subject", "headers", "body", "body_file"
    ])]
    pub data: Option<PathBuf>,

    /// Use BDAT (CHUNKING, RFC 3030) instead of DATA.
    #[arg(long)]
    pub bdat: bool,
    /// BDAT chunk size in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 65536, requires = "bdat")]
    pub chunk_size: usize,
    /// Do not pipeline MAIL, RCPT and DATA even when the server offers PIPELINING.
    #[arg(long)]
    pub no_pipelining: bool,
    /// Stop after this step and say QUIT.
    #[arg(long, value_enum, value_name = "STEP")]
    pub quit_after: Option<QuitAfterArg>,
    /// Transcript format on stdout.
    #[arg(long, value_enum, default_value = "text")]
    pub format: FormatArg,
    /// Show AUTH secrets in the transcript instead of masking them.
    #[arg(long)]
    pub reveal_secrets: bool,
    /// Send the message this many times (a load mode: one summary line with
    /// messages per second and the final replies counted, no transcript).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub count: usize,
    /// With --count: sessions at once.
    #[arg(long, value_name = "C", default_value_t = 1)]
    pub concurrency: usize,
}

/// A usage problem found after clap: exit status 2 with this message.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

fn usage(s: impl Into<String>) -> UsageError {
    UsageError(s.into())
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Send(args)) => ExitCode::from(send(&args)),
        Some(Command::Serve(args)) => ExitCode::from(serve::serve(&args)),
        None => ExitCode::from(workbench(&cli)),
    }
}

/// Runs the interactive workbench.
fn workbench(cli: &Cli) -> u8 {
    use std::io::IsTerminal as _;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        eprintln!(
            "smtp-workbench: the workbench needs a terminal. For scripts use \
             `smtp-workbench send` (see --help)."
        );
        return EXIT_USAGE;
    }
    let checked = (|| -> Result<crate::tui::Options, UsageError> {
        if let Some(s) = &cli.server {
            Target::parse(s, 25).map_err(|e| usage(format!("{s}: {e}")))?;
        }
        let lesson = match &cli.lesson {
            None => None,
            Some(l) => Some(load_lesson(l)?),
        };
        if lesson.is_some() && cli.server.is_some() {
            return Err(usage(
                "lessons run against the built-in server: leave out the server argument",
            ));
        }
        Ok(crate::tui::Options {
            lesson,
            target: crate::app::ServerChoice {
                server: cli.server.clone(),
                implicit_tls: cli.conn.tls == TlsArg::Implicit,
            },
            tls: cli.conn.tls_options(),
            ehlo: cli.conn.ehlo(&mut Vec::new())?,
            timeout: cli.conn.timeout()?,
        })
    })();
    let options = match checked {
        Ok(o) => o,
        Err(e) => {
            eprintln!("smtp-workbench: {e}");
            return EXIT_USAGE;
        }
    };
    match crate::tui::run(options) {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!("smtp-workbench: terminal error: {e}");
            EXIT_CONNECTION
        }
    }
}

/// A built-in lesson by name, or a lesson file; errors name the line.
fn load_lesson(name: &str) -> Result<crate::app::lesson::Lesson, UsageError> {
    use crate::app::lesson::{builtin, Lesson};
    if let Some((n, text)) = builtin().into_iter().find(|(n, _)| *n == name) {
        return Lesson::parse(n, text).map_err(|e| usage(e.to_string()));
    }
    let text = std::fs::read_to_string(name).map_err(|e| {
        let names: Vec<&str> = builtin().iter().map(|(n, _)| *n).collect();
        usage(format!(
            "--lesson {name}: {e} (built-in lessons: {})",
            names.join(", ")
        ))
    })?;
    Lesson::parse(name, &text).map_err(|e| usage(format!("lesson {e}")))
}

/// Runs `send` and returns its exit status.
pub fn send(args: &SendArgs) -> u8 {
    let mut prepared = match prepare(args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("smtp-workbench send: {e}");
            return EXIT_USAGE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("smtp-workbench send: cannot start the async runtime: {e}");
            return EXIT_CONNECTION;
        }
    };
    let format = match args.format {
        FormatArg::Text => transcript::Format::Text,
        FormatArg::Json => transcript::Format::Json,
    };
    let stdout = std::io::stdout();
    let mut writer = Writer::new(stdout.lock(), format, args.reveal_secrets);
    runtime.block_on(async {
        // No --server: the built-in server, in this process, on a loopback
        // port of its own choosing.
        let builtin = if prepared.builtin {
            // `send` reads the store at the end; the log is not needed.
            let (log, _) = tokio::sync::mpsc::unbounded_channel();
            match server::start_demo(log).await {
                Ok((handle, certificate)) => {
                    prepared.connect.target = Target {
                        host: handle.local_addr.ip().to_string(),
                        port: handle.local_addr.port(),
                    };
                    prepared.connect.tls.trust = vec![certificate];
                    let policy = handle.shared.policy();
                    prepared.notes.insert(
                        0,
                        format!(
                            "no --server given: talking to the built-in demo server on {} ({})",
                            handle.local_addr,
                            serve::describe_policy(&policy).join("; ")
                        ),
                    );
                    Some(handle)
                }
                Err(e) => {
                    eprintln!("smtp-workbench send: cannot start the built-in server: {e}");
                    return EXIT_CONNECTION;
                }
            }
        } else {
            None
        };
        for note in &prepared.notes {
            let _ = writer.write_note(Duration::ZERO, note);
        }
        if args.count > 1 || args.concurrency > 1 {
            let tally = load::run(
                &prepared.plan,
                &prepared.connect,
                args.count,
                args.concurrency,
            )
            .await;
            let exit = tally.exit_status();
            let _ = writer.write_result(tally.elapsed, &tally.summary(args.concurrency), exit);
            let _ = writer.flush();
            return exit;
        }
        for f in analyse(&prepared.plan) {
            let text = format!("envelope/headers: {}", f.text);
            let event = match f.severity {
                crate::analysis::Severity::Warning => crate::proto::client::Event::Warning(text),
                crate::analysis::Severity::Info => crate::proto::client::Event::Info(text),
            };
            let _ = writer.write(&transport::Timed {
                at: Duration::ZERO,
                latency: None,
                event,
            });
        }
        let session = ClientSession::with_plan(ReplyLimits::default(), prepared.plan);
        let mut last = Duration::ZERO;
        let session = transport::run(session, &prepared.connect, &mut |e: transport::Timed| {
            last = e.at;
            let _ = writer.write(&e);
        })
        .await;
        if let Some(handle) = &builtin {
            for line in builtin_report(handle) {
                let _ = writer.write_note(last, &line);
            }
        }
        let (exit, text) = exit_status(&session);
        // A refusal comes with what it means and what to try.
        let refusal = match session.outcome() {
            Some(Outcome::Refused(r)) => Some(r),
            _ => session.partial_refusal(),
        };
        if let Some(r) = refusal {
            for line in crate::analysis::explain::explain(r.code.value(), r.enhanced).lines() {
                let _ = writer.write_note(last, &format!("why: {line}"));
            }
        }
        let _ = writer.write_result(last, &text, exit);
        let _ = writer.flush();
        exit
    })
}

/// What the built-in server kept: the envelope it acted on beside the
/// header fields the recipient will see.
fn builtin_report(handle: &server::ServerHandle) -> Vec<String> {
    let Ok(store) = handle.shared.store.lock() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for m in store.messages() {
        let r = &m.received;
        let rcpts: Vec<String> = r.rcpts.iter().map(|(a, _)| format!("<{a}>")).collect();
        out.push(format!(
            "the built-in server stored message {}: envelope MAIL FROM:<{}> RCPT TO:{}; \
             headers From: {} To: {} Cc: {}",
            r.id,
            r.mail_from,
            rcpts.join(", "),
            join_or_none(&m.headers.from),
            join_or_none(&m.headers.to),
            join_or_none(&m.headers.cc),
        ));
    }
    out
}

fn join_or_none(v: &[String]) -> String {
    if v.is_empty() {
        "(none)".into()
    } else {
        v.join(", ")
    }
}

/// The exit status for how a session ended, and the sentence for it.
pub fn exit_status(session: &ClientSession) -> (u8, String) {
    let Some(outcome) = session.outcome() else {
        return (
            EXIT_CONNECTION,
            "the session ended without a result".to_string(),
        );
    };
    let text = transport::describe_outcome(outcome);
    let by_code = |code: u16| {
        if (400..500).contains(&code) {
            EXIT_TRANSIENT
        } else {
            EXIT_PERMANENT
        }
    };
    let exit = match outcome {
        Outcome::Completed { .. } => match session.partial_refusal() {
            Some(r) => {
                return (
                    by_code(r.code.value()),
                    format!(
                        "{text}, but the server refused: {}",
                        transport::reply_summary(r)
                    ),
                )
            }
            None => EXIT_OK,
        },
        Outcome::Refused(r) => by_code(r.code.value()),
        Outcome::Local(_) => EXIT_USAGE,
        _ => EXIT_CONNECTION,
    };
    (exit, text)
}

/// Everything `send` needs, checked before any connection is made.
/// The envelope against the headers of the message about to be sent, and
/// the checks of its content (the server's extensions are not known yet).
fn analyse(plan: &Plan) -> Vec<crate::analysis::Finding> {
    use crate::analysis::compare::{compare, EnvelopeSide, HeaderSide};
    if plan.rcpts.is_empty() {
        return Vec::new();
    }
    let env = EnvelopeSide {
        mail_from: plan.mail_from.address().map(ToString::to_string),
        rcpts: plan.rcpts.iter().map(|(a, _)| a.to_string()).collect(),
    };
    let mut out = compare(&env, &HeaderSide::from_message(&plan.content));
    out.extend(crate::analysis::lint::lint(&plan.content, None));
    out
}

pub struct Prepared {
    /// No --server: run the built-in server in this process.
    pub builtin: bool,
    pub plan: Plan,
    pub connect: ConnectOptions,
    /// Info lines for the transcript before the session starts.
    pub notes: Vec<String>,
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

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty() && !s.contains(char::is_whitespace))
        .unwrap_or_else(|| "localhost".to_string())
}

pub fn prepare(args: &SendArgs) -> Result<Prepared, UsageError> {
    let tls_mode = match args.conn.tls {
        TlsArg::None => TlsMode::None,
        TlsArg::Starttls => TlsMode::StartTls,
        TlsArg::Implicit => TlsMode::Implicit,
    };
    if tls_mode == TlsMode::None
        && (args.conn.insecure || args.conn.ca_file.is_some() || args.conn.tls_name.is_some())
    {
        return Err(usage(
            "--insecure, --ca-file and --tls-name need --tls starttls or --tls implicit",
        ));
    }
    if args.conn.insecure && args.conn.ca_file.is_some() {
        return Err(usage("--insecure and --ca-file contradict each other"));
    }
    let default_port = if tls_mode == TlsMode::Implicit {
        465
    } else {
        25
    };
    let (builtin, target) = match &args.server {
        Some(server) => (
            false,
            Target::parse(server, default_port).map_err(|e| usage(format!("--server: {e}")))?,
        ),
        None if tls_mode == TlsMode::Implicit => {
            return Err(usage(
                "the built-in server speaks STARTTLS, not implicit TLS: use --tls starttls, or give --server",
            ))
        }
        // Filled in once the built-in server has its port.
        None => (
            true,
            Target {
                host: "127.0.0.1".into(),
                port: 0,
            },
        ),
    };
    let timeout = args.conn.timeout()?;
    if args.count == 0 || args.concurrency == 0 || args.concurrency > 10_000 {
        return Err(usage("--count takes 1 or more, --concurrency 1 to 10000"));
    }
    let quit_after: Option<QuitAfter> = args.quit_after.map(Into::into);
    let vrfy_only = !args.vrfy.is_empty() && args.rcpt.is_empty() && args.mail_from.is_none();
    let mut notes = Vec::new();
    // The built-in server with no envelope given: a demonstration, with an
    // envelope made up for it (and said so).
    // The built-in server with parts of the envelope missing: a
    // demonstration, with those parts made up for it (and said so).
    let demo = builtin && !vrfy_only;
    let mut args_mail_from = args.mail_from.clone();
    let mut args_rcpt = args.rcpt.clone();
    if demo && args_mail_from.is_none() {
        args_mail_from = Some("student@client.example".into());
        notes.push(
            "no --mail-from: using MAIL FROM:<student@client.example> for the demo server".into(),
        );
    }
    if demo && args_rcpt.is_empty() {
        args_rcpt = vec!["alice@example.test".into()];
        notes.push("no --rcpt: using RCPT TO:<alice@example.test> for the demo server".into());
    }
    let needs_envelope = !vrfy_only && quit_after.is_none_or(|q| q >= QuitAfter::Mail);
    let needs_rcpt = !vrfy_only && quit_after.is_none_or(|q| q >= QuitAfter::Rcpt);

    let (mail_from, mail_params) = match &args_mail_from {
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
    if args_rcpt.is_empty() && needs_rcpt {
        return Err(usage(
            "give at least one envelope recipient with --rcpt ADDR",
        ));
    }
    let rcpts = args_rcpt
        .iter()
        .map(|r| {
            let (addr, params) = split_address_and_params(r)?;
            let addr = addr.trim_start_matches('<').trim_end_matches('>');
            let addr = Address::new(addr).map_err(|e| usage(format!("--rcpt: {e}")))?;
            Ok((addr, params))
        })
        .collect::<Result<Vec<_>, UsageError>>()?;
    let envelope = Envelope {
        mail_from: mail_from.clone(),
        mail_params: mail_params.clone(),
        rcpts: rcpts.clone(),
    };

    let content = match &args.data {
        Some(path) => {
            std::fs::read(path).map_err(|e| usage(format!("--data {}: {e}", path.display())))?
        }
        None => {
            let body = match (&args.body, &args.body_file) {
                (Some(b), _) => b.clone(),
                (None, Some(path)) => {
                    let bytes = std::fs::read(path)
                        .map_err(|e| usage(format!("--body-file {}: {e}", path.display())))?;
                    String::from_utf8(bytes).map_err(|_| {
                        usage(format!(
                            "--body-file {}: not UTF-8 text; send a ready message with --data instead",
                            path.display()
                        ))
                    })?
                }
                (None, None) => "This is a test message sent with smtp-workbench.\n".to_string(),
            };
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
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            let id_domain = mail_from
                .address()
                .and_then(Address::domain)
                .unwrap_or("smtp-workbench.invalid")
                .to_string();
            let stamp = Stamp {
                unix_time: i64::try_from(now.as_secs()).unwrap_or(0),
                message_id: format!(
                    "{}.{}.{}@{id_domain}",
                    now.as_secs(),
                    now.subsec_nanos(),
                    std::process::id()
                ),
            };
            let composed = message::compose(&envelope, &fields, &body, &stamp)
                .map_err(|e| usage(e.to_string()))?;
            notes.extend(composed.notes);
            composed.bytes
        }
    };

    let auth = match &args.auth {
        Some(mech) => {
            let mechanism = Mechanism::parse(mech).ok_or_else(|| {
                usage(format!(
                    "--auth {mech}: not a mechanism this tool knows (PLAIN, LOGIN, CRAM-MD5, XOAUTH2)"
                ))
            })?;
            let user = args.user.clone().unwrap_or_default();
            let password = match &args.password_env {
                Some(var) => std::env::var(var).map_err(|_| {
                    usage(format!(
                        "--password-env {var}: that environment variable is not set"
                    ))
                })?,
                None => {
                    if !std::io::stdin().is_terminal() {
                        return Err(usage(
                            "--auth needs a password: use --password-env VAR when there is no terminal to ask on",
                        ));
                    }
                    rpassword::prompt_password(format!("Password for {user}: "))
                        .map_err(|e| usage(format!("cannot read the password: {e}")))?
                }
            };
            Some((
                mechanism,
                Credentials {
                    user,
                    secret: Secret::new(password),
                },
            ))
        }
        None => None,
    };
    let ehlo = args.conn.ehlo(&mut notes)?;
    let plan = Plan {
        ehlo,
        starttls: tls_mode == TlsMode::StartTls,
        auth,
        vrfy: args.vrfy.clone(),
        mail_from,
        mail_params,
        rcpts,
        content: content.into(),
        transfer: if args.bdat {
            Transfer::Bdat {
                chunk_size: args.chunk_size.max(1),
            }
        } else {
            Transfer::Data
        },
        pipelining: !args.no_pipelining,
        quit_after,
    };
    let connect = ConnectOptions {
        target,
        tls_mode,
        tls: args.conn.tls_options(),
        timeout,
    };
    Ok(Prepared {
        builtin,
        plan,
        connect,
        notes,
    })
}
