//! `send`'s flags made into a plan: the connection, the envelope, the
//! content and AUTH, each checked by its own part, put together here.

use super::super::args::SendArgs;
use super::super::connection;
use super::super::exit::{usage, UsageError};
use super::judge::{self, AuthPlan};
use super::{auth, content, envelope, sign};
use crate::proto::client::{Plan, Transfer, TransportSetup};
use crate::transport::{ConnectOptions, TlsMode};

/// Everything `send` needs, checked before any connection is made.
pub struct Prepared {
    /// No --server: run the built-in server in this process.
    pub builtin: bool,
    pub plan: Plan,
    pub connect: ConnectOptions,
    /// Info lines for the transcript before the session starts.
    pub notes: Vec<String>,
    /// The authentication verdicts to show before MAIL, when a message goes.
    pub auth: Option<AuthPlan>,
    /// LMTP, XCLIENT, `--drop-after`.
    pub transports: TransportSetup,
}

pub fn prepare(args: &SendArgs) -> Result<Prepared, UsageError> {
    let (connect, builtin) = connection::for_send(args)?;
    if args.count == 0 || args.concurrency == 0 || args.concurrency > 10_000 {
        return Err(usage("--count takes 1 or more, --concurrency 1 to 10000"));
    }
    let mut notes: Vec<String> = args.conn.profile_note.iter().cloned().collect();
    let envelope = envelope::envelope(args, builtin, &mut notes)?;
    let mut composed = Vec::new();
    let content = content::content(args, &envelope, &mut composed)?;
    let content = sign::sign(args, content, &mut composed)?;
    // A probe sends messages of its own: what composing this one filled in
    // would mislead.
    if args.probe.is_none() {
        notes.append(&mut composed);
    }
    let auth = auth::auth(args)?;
    let ehlo = args.conn.ehlo(&mut notes)?;
    let plan = Plan {
        ehlo,
        starttls: connect.tls_mode == TlsMode::StartTls,
        auth,
        vrfy: args.vrfy.clone(),
        mail_from: envelope.mail_from,
        mail_params: envelope.mail_params,
        rcpts: envelope.rcpts,
        content: content.into(),
        transfer: if args.bdat {
            Transfer::Bdat {
                chunk_size: args.chunk_size.max(1),
            }
        } else {
            Transfer::Data
        },
        pipelining: !args.no_pipelining,
        quit_after: args.quit_after,
    };
    let judged = match args.probe {
        Some(_) => None,
        None => judge::plan(args, &plan, builtin, connect.timeout, &mut notes)?,
    };
    let transports = args.conn.transports(false)?;
    if args.quit_after.is_some() && transports.drop_after.is_some() {
        return Err(usage(
            "--quit-after and --drop-after contradict each other: one says QUIT, the other hangs up",
        ));
    }
    if args.count > 1 && transports != TransportSetup::default() {
        return Err(usage(
            "--count runs plain SMTP sessions: leave out --protocol lmtp, --xclient and --drop-after",
        ));
    }
    if args.probe.is_some() && (args.count > 1 || transports != TransportSetup::default()) {
        return Err(usage(
            "--probe runs its own plain SMTP sessions, one per case: leave out --count, --protocol lmtp, --xclient and --drop-after",
        ));
    }
    Ok(Prepared {
        builtin,
        plan,
        connect,
        notes,
        auth: judged,
        transports,
    })
}
