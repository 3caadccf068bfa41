//! Fuzzes the streaming SMTP reply parser.
//!
//! Input layout: bytes 0-1 pick `max_line` (1..=600), byte 2 picks
//! `max_lines` (1..=50), bytes 3-4 pick where the payload is split; the rest
//! is the payload, as a server would send it.
//!
//! Checked: splitting the payload (in two, or byte by byte) never changes the
//! result; every reply respects the limits and has one code on every line;
//! nothing made visible contains a control character; and a reply written
//! back with `to_wire` parses to the same reply.

use smtp_workbench::proto::reply::{Reply, ReplyError, ReplyLimits, ReplyParser};
use smtp_workbench::proto::visible::visible;

type Outcome = Vec<Result<Reply, ReplyError>>;

fn drain(p: &mut ReplyParser, out: &mut Outcome) {
    out.extend(std::iter::from_fn(|| p.poll_reply()));
}

/// Feeds `chunks` in order, polling after each, and returns every result
/// plus the parser's leftover state (`has_partial`, then `discard`).
fn run<'a>(
    limits: ReplyLimits,
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> (Outcome, bool, (usize, usize)) {
    let mut p = ReplyParser::new(limits);
    let mut out = Vec::new();
    for c in chunks {
        p.feed(c);
        drain(&mut p, &mut out);
    }
    let partial = p.has_partial();
    let dropped = p.discard();
    assert!(!p.has_partial(), "has_partial after discard");
    assert!(p.poll_reply().is_none(), "a reply after discard");
    (out, partial, dropped)
}

fn assert_no_control(s: &str, what: &str) {
    if let Some(c) = s.chars().find(|c| c.is_control()) {
        panic!("{what} contains control char {:?}: {s:?}", c);
    }
}

pub fn check(data: &[u8]) {
    if data.len() < 5 {
        return;
    }
    let limits = ReplyLimits {
        max_line: usize::from(u16::from_le_bytes([data[0], data[1]]) % 600) + 1,
        max_lines: usize::from(data[2] % 50) + 1,
    };
    let payload = &data[5..];
    let cut = usize::from(u16::from_le_bytes([data[3], data[4]])) % (payload.len() + 1);
    let (first, second) = payload.split_at(cut);

    let whole = run(limits, [payload]);
    let split = run(limits, [first, second]);
    assert_eq!(split, whole, "split at {cut} differs from one feed");
    let drip = run(limits, payload.chunks(1));
    assert_eq!(drip, whole, "byte-by-byte feed differs from one feed");

    for result in &whole.0 {
        let reply = match result {
            Ok(reply) => reply,
            Err(e) => {
                match e {
                    ReplyError::LineTooLong { limit } => assert_eq!(*limit, limits.max_line),
                    ReplyError::TooManyLines { limit } => assert_eq!(*limit, limits.max_lines),
                    _ => {}
                }
                assert_no_control(&e.to_string(), "error message");
                continue;
            }
        };
        let n = reply.lines.len();
        assert!(
            (1..=limits.max_lines).contains(&n),
            "{n} lines, max_lines {}",
            limits.max_lines
        );
        let code = reply.code.value().to_string();
        for line in &reply.lines {
            assert!(
                line.len() <= limits.max_line,
                "line of {} bytes, max_line {}",
                line.len(),
                limits.max_line
            );
            assert!(
                line.starts_with(code.as_bytes()),
                "line {:?} does not start with code {code}",
                visible(line)
            );
            assert!(!line.contains(&b'\n'), "LF inside a line");
            assert_no_control(&visible(line), "visible(line)");
        }
        for m in reply.message_lines() {
            assert_no_control(&m, "message line");
        }

        // What went out on the wire comes back as the same reply.
        let (again, partial, _) = run(limits, [reply.to_wire().as_slice()]);
        assert!(!partial, "to_wire left a partial reply");
        match again.as_slice() {
            [Ok(r)] => {
                assert_eq!(r.code, reply.code, "code changed through to_wire");
                assert_eq!(r.lines, reply.lines, "lines changed through to_wire");
                assert_eq!(r.enhanced, reply.enhanced, "enhanced status changed");
            }
            other => panic!("to_wire of {reply:?} parsed as {other:?}"),
        }
    }
}
