//! smtp-workbench: a terminal workbench for stepping through SMTP sessions.
//!
//! Layers, top to bottom; a lower one never imports a higher one:
//!
//! ```text
//! main.rs, cli/   arguments, exit statuses, which face runs: args (clap types),
//!                 modes (names the flags take), exit, connection, workbench,
//!                 send/ (prepare, envelope, content, auth, sign, judge, load,
//!                 probe, progress, summary, percentile), serve, dkim_record,
//!                 conventions (completions, man), build_version (for build.rs)
//!    |
//! tui/            the terminal loop, the key table (keymap), theme, layout, and
//!                 pane/: one file per pane (status, palette, envelope,
//!                 composer, analysis, server_side, transcript, hints, help);
//!                 dashboard/: the teacher's view, `serve --dashboard` (model, draw)
//!    |
//! app/            AppState by pane (palette, envelope, message, session,
//!                 transcript/, auth/: F2's verdicts and signing), the one
//!                 Action enum (action), update() -> effects with no I/O,
//!                 lessons (lesson, lesson_run)
//!    |
//! server/         tokio: the built-in server: listener, connection, env,
//!                 TLS, store, Maildir, judge (authentication of what it
//!                 accepts), bounce (RFC 3464 reports), rules/ (`--rules`:
//!                 load and check, decide with the time passed in), report, demo
//! transcript.rs   the transcript's text and JSON forms; asciicast.rs, the
//!                 text as an asciicast v2 recording
//!    |
//! transport/      tokio: a client session over TCP/TLS: target, connect,
//!                 stream (plain or TLS, shared with server/), pump, clock;
//!                 tls/: setup, verify (the chain recorded), pin (versions,
//!                 suites), chain (shown, PEM), diagnose, dane; mta_sts/;
//!                 dns/: lookups shown as lines (hickory), mx, fcrdns, records
//!    |
//! analysis/       replies explained, envelope against headers (compare), checks
//!                 of a message (lint), findings; auth/: SPF, DKIM, DMARC and
//!                 iprev judged (mail-auth) against live DNS or a zone, a
//!                 sentence each
//! message/        a message's fields and stamps; dkim (signing, TXT records)
//!    |
//! proto/          SMTP with no I/O and no clock: replies, capabilities,
//!                 commands, DATA/BDAT, AUTH, visible bytes; client/ (the
//!                 session, replies, plan, the one driver (run), outcome,
//!                 content, timer, held) and server/ (the session, greeting,
//!                 envelope, content, auth, vrfy, policy, checkpoint and
//!                 ruled: where rules are asked and what they make it do);
//!                 probe/ (smuggling and relay: cases and verdicts); pair
//!                 (tests only)
//! ```

pub mod analysis;
pub mod app;
pub mod asciicast;
pub mod cli;
pub mod message;
pub mod proto;
pub mod server;
pub mod transcript;
pub mod transport;
pub mod tui;
