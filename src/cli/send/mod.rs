//! `smtp-workbench send`: one SMTP transaction without the UI, its
//! transcript on stdout (or, with `--count`, the load mode's summary).

mod auth;
mod cast;
mod content;
mod envelope;
mod everyday;
mod judge;
mod load;
mod percentile;
mod prepare;
mod probe;
mod progress;
mod sign;
mod summary;

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use super::args::SendArgs;
use super::exit::{exit_status, EXIT_CONNECTION, EXIT_USAGE};
use super::serve::describe_policy;
use crate::analysis::compare::{EnvelopeSide, HeaderSide};
use crate::analysis::{self, Level};
use crate::asciicast::Recorder;
use crate::proto::client::{ClientSession, Event, Outcome, Plan};
use crate::proto::reply::ReplyLimits;
use crate::proto::server::Policy;
use crate::server::{demo::Demo, ServerHandle};
use crate::transcript::Writer;
use crate::transport::{self, Timed};
pub use everyday::pair_attach_types;
pub use prepare::{prepare, Prepared};

/// Runs `send` and returns its exit status.
pub fn send(args: &SendArgs) -> u8 {
    let prepared = match prepare(args) {
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
    if let Err(e) = cast::check_save_chain(args) {
        eprintln!("smtp-workbench send: {e}");
        return EXIT_USAGE;
    }
    let cast = match cast::open(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("smtp-workbench send: {e}");
            return EXIT_USAGE;
        }
    };
    let stdout = std::io::stdout();
    let out = Recorder::new(stdout.lock(), cast.is_some());
    let mut writer = Writer::new(out, args.format, args.reveal_secrets);
    let exit = runtime.block_on(run(args, prepared, &mut writer));
    match cast::finish(args, cast, writer.into_inner()) {
        Ok(()) => exit,
        Err(e) => {
            eprintln!("smtp-workbench send: {e}");
            EXIT_USAGE
        }
    }
}

async fn run<W: Write>(args: &SendArgs, mut prepared: Prepared, writer: &mut Writer<W>) -> u8 {
    let builtin = if prepared.builtin {
        match start_builtin(&mut prepared).await {
            Ok(demo) => Some(demo),
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
    if let Some(p) = args.probe {
        return probe::run(p, &prepared, writer).await;
    }
    if args.count > 1 || args.concurrency > 1 {
        let _ = writer.flush();
        let progress = progress::Progress::stdout(args.count);
        let tally = load::run(
            &prepared.plan,
            &prepared.connect,
            args.count,
            args.concurrency,
            &progress,
        )
        .await;
        let exit = tally.exit_status();
        summary::write(writer, &tally, args.concurrency, exit);
        return exit;
    }
    for f in findings(&prepared.plan) {
        let text = format!("envelope/headers: {}", f.text);
        let event = match f.level {
            Level::Warning => Event::Warning(text),
            Level::Info => Event::Info(text),
        };
        let _ = writer.write(&Timed {
            at: Duration::ZERO,
            latency: None,
            event,
        });
    }
    writer.fold_parts(&prepared.plan.content);
    let (session, last) = converse(prepared, writer).await;
    if let Some(demo) = &builtin {
        for line in builtin_report(&demo.handle) {
            let _ = writer.write_note(last, &line);
        }
    }
    finish(writer, &session, last)
}

/// Runs the session, writing its events as they come. The authentication
/// verdicts go before the greeting: at once with `--client-ip`, else as
/// soon as the connection says where it comes from (the session goes on
/// meanwhile; its events wait in order behind the verdicts).
async fn converse<W: Write>(
    prepared: Prepared,
    writer: &mut Writer<W>,
) -> (ClientSession, Duration) {
    let Prepared {
        plan,
        connect,
        auth,
        transports,
        ..
    } = prepared;
    let receiver = connect.target.host.clone();
    let mut pending = auth;
    if let Some(a) = pending.as_ref() {
        if let Some(ip) = a.client_ip {
            judge::judge(a, &plan, ip, &receiver, writer, Duration::ZERO).await;
            pending = None;
        }
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Heard>();
    let mut session = ClientSession::with_plan(ReplyLimits::default(), plan.clone());
    session.set_transports(&transports);
    let run = async move { transport::run(session, &connect, &mut Relay(tx)).await };
    let show = async {
        let mut last = Duration::ZERO;
        while let Some(heard) = rx.recv().await {
            match heard {
                Heard::Event(e) => {
                    last = e.at;
                    let _ = writer.write(&e);
                }
                Heard::Connected(local) => {
                    if let Some(a) = pending.take() {
                        judge::judge(&a, &plan, local.ip(), &receiver, writer, last).await;
                    }
                }
            }
        }
        last
    };
    tokio::join!(run, show)
}

/// What the session task tells the printing side, in order.
enum Heard {
    Event(Timed),
    /// The connection is made, from this local address.
    Connected(SocketAddr),
}

/// Passes the session's events and its local address on, in order.
struct Relay(tokio::sync::mpsc::UnboundedSender<Heard>);

impl transport::Observer for Relay {
    fn event(&mut self, event: Timed) {
        let _ = self.0.send(Heard::Event(event));
    }

    fn connected(&mut self, local: SocketAddr) {
        let _ = self.0.send(Heard::Connected(local));
    }
}

/// No --server: the built-in server, in this process, on a loopback port
/// of its own choosing; the connection is pointed at it.
async fn start_builtin(prepared: &mut Prepared) -> Result<Demo, String> {
    // `send` reads the store at the end; the log is not needed.
    let (log, _) = tokio::sync::mpsc::unbounded_channel();
    let policy = Policy {
        // --protocol lmtp: the built-in server speaks it too.
        lmtp: prepared.transports.protocol == crate::proto::client::Protocol::Lmtp,
        ..Policy::default()
    };
    let demo = Demo::start(policy, log).await?;
    prepared.connect.target = demo.target();
    prepared.connect.tls = demo.trusting(&prepared.connect.tls);
    let policy = demo.handle.shared.policy();
    prepared.notes.insert(
        0,
        format!(
            "no --server given: talking to the built-in demo server on {} ({})",
            demo.addr(),
            describe_policy(&policy).join("; ")
        ),
    );
    Ok(demo)
}

/// The findings for the message about to be sent (the server's extensions
/// are not known yet); none when there is no transaction, only VRFY.
fn findings(plan: &Plan) -> Vec<analysis::Finding> {
    if plan.rcpts.is_empty() {
        return Vec::new();
    }
    let envelope = EnvelopeSide {
        mail_from: plan.mail_from.address().map(ToString::to_string),
        rcpts: plan.rcpts.iter().map(|(a, _)| a.to_string()).collect(),
    };
    let headers = HeaderSide::from_message(&plan.content);
    analysis::findings(&envelope, &headers, &plan.content, None)
}

/// The result line, after what a refusal means and what to try.
fn finish<W: Write>(writer: &mut Writer<W>, session: &ClientSession, last: Duration) -> u8 {
    let (exit, text) = exit_status(session);
    let refusal = match session.outcome() {
        Some(Outcome::Refused(r)) => Some(r),
        _ => session.partial_refusal(),
    };
    if let Some(r) = refusal {
        for line in analysis::explain::explain(r.code.value(), r.enhanced).lines() {
            let _ = writer.write_note(last, &format!("why: {line}"));
        }
    }
    let _ = writer.write_result(last, &text, exit);
    let _ = writer.flush();
    exit
}

/// What the built-in server kept: the envelope it acted on beside the
/// header fields the recipient will see.
fn builtin_report(handle: &ServerHandle) -> Vec<String> {
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
