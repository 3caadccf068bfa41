//! The SMTP smuggling probe: end-of-data look-alikes, each sent inside the
//! content of its own transaction, and how the server's answer (or its
//! silence) reads as a verdict.
//!
//! A receiver that takes a look-alike such as `<LF>.<LF>` as the end of the
//! data reads what follows it as new commands: a sender whose outbound
//! server passes the look-alike on can smuggle a second message, with any
//! envelope, through it (SEC Consult, "SMTP Smuggling", 2023). The probe
//! sends the content up to and including the look-alike and then nothing:
//! an answer at that point means the server ended the data there. Silence
//! means it is still reading, so the real `<CR><LF>.<CR><LF>` follows.
//! Nothing is ever sent after a look-alike the server took as the end, so
//! no second message is smuggled.

use std::time::Duration;

use super::{quote, Finding, Probe, Verdict};
use crate::proto::client::{HeldEnd, HeldReport, Outcome};
use crate::proto::reply::Reply;

/// One end-of-data look-alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variant {
    /// As the case is named: `<LF>.<LF>`.
    pub name: &'static str,
    /// Its bytes on the wire.
    pub bytes: &'static [u8],
}

/// The look-alikes: bare LF and bare CR around the dot and their mixes,
/// the CR-doubled forms, and the NUL before the dot that SEC Consult's
/// research and its scanner name. The real end is `<CR><LF>.<CR><LF>`.
pub const VARIANTS: [Variant; 11] = [
    v("<LF>.<LF>", b"\n.\n"),
    v("<LF>.<CR><LF>", b"\n.\r\n"),
    v("<CR><LF>.<LF>", b"\r\n.\n"),
    v("<CR>.<CR>", b"\r.\r"),
    v("<CR><LF>.<CR>", b"\r\n.\r"),
    v("<CR>.<CR><LF>", b"\r.\r\n"),
    v("<LF>.<CR>", b"\n.\r"),
    v("<CR>.<LF>", b"\r.\n"),
    v("<CR><LF>.<CR><CR><LF>", b"\r\n.\r\r\n"),
    v("<CR><CR><LF>.<CR><CR><LF>", b"\r\r\n.\r\r\n"),
    v("<CR><LF><NUL>.<CR><LF>", b"\r\n\0.\r\n"),
];

const fn v(name: &'static str, bytes: &'static [u8]) -> Variant {
    Variant { name, bytes }
}

/// A variant by its name, as `VARIANTS` writes it.
pub fn variant(name: &str) -> Option<&'static Variant> {
    VARIANTS.iter().find(|v| v.name == name)
}

/// The text the look-alike follows, on the same line: what a reader of the
/// message sees where the probe's sequence is.
pub const MARK: &str = "smtp-workbench probe sequence follows:";

/// What goes after a look-alike the server did not answer: text first,
/// on the same wire line, then the real end. A CRLF straight after a
/// look-alike that ends in a bare CR would make `<CR><CR><LF>`, and with
/// it another look-alike (`<CR><LF>.<CR>` would become
/// `<CR><LF>.<CR><CR><LF>`): the text keeps each case to its own sequence.
pub const END: &[u8] = b" (smtp-workbench probe: end of the test)\r\n.\r\n";

/// What the message around one look-alike says of itself.
#[derive(Debug, Clone)]
pub struct Letter<'a> {
    pub from: &'a str,
    pub to: &'a str,
    /// The Date field's value.
    pub date: &'a str,
    /// The Message-ID, without angle brackets.
    pub message_id: &'a str,
}

/// The probe message's bytes on the wire up to and including `variant`:
/// header fields and a body that say it is a probe, CRLF line ends, no
/// line starting with a dot (nothing to stuff), then [`MARK`] and the
/// look-alike. Nothing of it may end the data but the look-alike itself.
pub fn held_content(variant: &Variant, letter: &Letter<'_>) -> Vec<u8> {
    let lines = [
        format!("From: <{}>", letter.from),
        format!("To: <{}>", letter.to),
        format!(
            "Subject: smtp-workbench SMTP smuggling probe {}",
            variant.name
        ),
        format!("Date: {}", letter.date),
        format!("Message-ID: <{}>", letter.message_id),
        "X-Smtp-Workbench-Probe: smuggling".to_string(),
        String::new(),
        "This message is a probe sent by smtp-workbench (send --probe smuggling).".to_string(),
        format!(
            "It tests whether the server takes {} as the end of the message data.",
            variant.name
        ),
        "It carries nothing else and may be deleted.".to_string(),
        String::new(),
    ];
    let mut out = Vec::new();
    for line in lines {
        // Header values come from the envelope: no CR, LF or leading dot
        // gets through (a dot at a line's start could only follow a CRLF).
        let clean: String = line.chars().filter(|c| !matches!(c, '\r' | '\n')).collect();
        out.extend_from_slice(clean.trim_start_matches('.').as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(MARK.as_bytes());
    out.extend_from_slice(variant.bytes);
    out
}

/// How long to wait for an answer after the look-alike: a tenth of the
/// reply timeout, at least half a second and at most five, and never more
/// than half the timeout (the wait must end before the reply's deadline,
/// so that silence is told from a timeout). A server that
/// took the look-alike as the end answers as fast as it answers any end of
/// data; one that is slower is caught after the real end (it then answers
/// more than once) and reported inconclusive.
pub fn wait(reply_timeout: Duration) -> Duration {
    (reply_timeout / 10)
        .clamp(Duration::from_millis(500), Duration::from_secs(5))
        .min(reply_timeout / 2)
}

/// True when a reply says the server refuses bare CR or LF line ends.
pub fn names_bare_line_ends(reply: &Reply) -> bool {
    let m = reply.message().to_ascii_lowercase();
    [
        "bare", "<lf>", "<cr>", "line end", "line-end", "newline", "crlf",
    ]
    .iter()
    .any(|w| m.contains(w))
}

/// The verdict on one look-alike from what became of the held content
/// (`report`) and how the session ended.
pub fn judge(
    variant: &Variant,
    report: &HeldReport,
    outcome: Option<&Outcome>,
    wait: Duration,
) -> Finding {
    let (verdict, reason) = verdict(variant, report, outcome, wait);
    Finding {
        probe: Probe::Smuggling,
        case: variant.name.to_string(),
        verdict,
        reason,
    }
}

fn verdict(
    variant: &Variant,
    report: &HeldReport,
    outcome: Option<&Outcome>,
    wait: Duration,
) -> (Verdict, String) {
    let name = variant.name;
    let secs = wait.as_secs_f64();
    let ended = || outcome.map_or("the session ended".to_string(), ToString::to_string);
    match &report.end {
        HeldEnd::NotSent => (
            Verdict::Inconclusive,
            format!(
                "the probe message was never sent ({}); the probe needs a transaction the \
                 server accepts up to DATA (give --mail-from and --rcpt it takes)",
                ended()
            ),
        ),
        HeldEnd::AnsweredEarly(r) if r.code.is_positive() => (
            Verdict::Vulnerable,
            format!(
                "the server answered {} right after {name}, before the real end: it took \
                 {name} as the end of the data, so whatever followed would be read as new \
                 commands (a second, smuggled message)",
                quote(r)
            ),
        ),
        HeldEnd::AnsweredEarly(r) if names_bare_line_ends(r) => (
            Verdict::Safe,
            format!(
                "the server refused the input at {name}: {} (it refuses bare line ends)",
                quote(r)
            ),
        ),
        HeldEnd::AnsweredEarly(r) => (
            Verdict::Inconclusive,
            format!(
                "the server answered {} after {name}, before the real end: either it ended \
                 the data there and refused the message (what followed would still be read \
                 as commands), or it refuses such input without saying why",
                quote(r)
            ),
        ),
        HeldEnd::Waiting => match outcome {
            Some(Outcome::ConnectionLost(_) | Outcome::DeliveryUnknown(_)) => (
                Verdict::Safe,
                format!(
                    "the server closed the connection after {name} without a reply: it \
                     refuses such input"
                ),
            ),
            _ => (
                Verdict::Inconclusive,
                format!("no answer after {name}: {}", ended()),
            ),
        },
        HeldEnd::Released => (
            Verdict::Inconclusive,
            format!(
                "no reply within {secs}s of {name}, and none to the real end \
                 <CR><LF>.<CR><LF> either: {}",
                ended()
            ),
        ),
        HeldEnd::AnsweredAtEnd(r) => at_end(name, secs, r, report.later.as_ref(), outcome),
    }
}

/// The real end was answered `r`: the look-alike was content, unless
/// more replies came than commands went (a late answer to the look-alike,
/// then the real end read as commands).
fn at_end(
    name: &str,
    secs: f64,
    r: &Reply,
    later: Option<&Reply>,
    outcome: Option<&Outcome>,
) -> (Verdict, String) {
    let out_of_step = matches!(outcome, Some(Outcome::Protocol(_)))
        || later.is_none_or(|l| l.code.value() != 250);
    if out_of_step {
        let after = match later {
            Some(l) => format!("{} to the NOOP after it", quote(l)),
            None if matches!(outcome, Some(Outcome::Protocol(_))) => {
                "a reply nothing asked for".to_string()
            }
            None => "no answer to the NOOP after it".to_string(),
        };
        return (
            Verdict::Inconclusive,
            format!(
                "the real end was answered {}, then came {after}: more replies than \
                 commands, as when a server ends the data at {name} and answers after \
                 the {secs}s wait; try again with a longer --timeout",
                quote(r)
            ),
        );
    }
    if !r.code.is_positive() && names_bare_line_ends(r) {
        return (
            Verdict::Safe,
            format!(
                "no reply within {secs}s of {name}: the server read on; it refused the \
                 message at the real end: {} (it refuses bare line ends)",
                quote(r)
            ),
        );
    }
    (
        Verdict::Safe,
        format!(
            "no reply within {secs}s of {name}: the server read it as content and answered \
             only the real end <CR><LF>.<CR><LF>: {}",
            quote(r)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::reply::ReplyCode;

    fn reply(code: u16, text: &str) -> Reply {
        Reply::new(ReplyCode::new(code).unwrap(), text)
    }

    fn report(end: HeldEnd, later: Option<Reply>) -> HeldReport {
        HeldReport { end, later }
    }

    const WAIT: Duration = Duration::from_millis(500);

    fn verdict_of(report: &HeldReport, outcome: Option<&Outcome>) -> Finding {
        judge(&VARIANTS[0], report, outcome, WAIT)
    }

    #[test]
    fn the_variants_are_the_named_sequences_and_none_is_the_real_end() {
        for v in VARIANTS {
            let shown: String = v
                .bytes
                .iter()
                .map(|b| match b {
                    b'\r' => "<CR>".to_string(),
                    b'\n' => "<LF>".to_string(),
                    0 => "<NUL>".to_string(),
                    b => (*b as char).to_string(),
                })
                .collect();
            assert_eq!(shown, v.name);
            assert_ne!(v.bytes, b"\r\n.\r\n");
            assert_eq!(variant(v.name), Some(&v));
        }
        let names: std::collections::HashSet<_> = VARIANTS.iter().map(|v| v.name).collect();
        assert_eq!(names.len(), VARIANTS.len(), "no variant twice");
    }

    #[test]
    fn the_held_content_holds_no_real_end_and_ends_with_the_variant() {
        let letter = Letter {
            from: "me@client.test",
            to: "alice@example.test",
            date: "Fri, 4 Dec 2026 20:00:00 +0000",
            message_id: "1.2.3@client.test",
        };
        for v in VARIANTS {
            let c = held_content(&v, &letter);
            assert!(c.ends_with(v.bytes), "{}", v.name);
            let before = &c[..c.len() - v.bytes.len()];
            assert!(before.ends_with(MARK.as_bytes()));
            assert!(!c.windows(5).any(|w| w == b"\r\n.\r\n"), "{}", v.name);
            assert!(
                !before.contains(&b'\n')
                    || before.windows(2).all(|w| w[1] != b'\n' || w[0] == b'\r')
            );
            assert!(!before.split(|&b| b == b'\n').any(|l| l.starts_with(b".")));
            let text = String::from_utf8_lossy(&c);
            assert!(text.contains("Subject: smtp-workbench SMTP smuggling probe"));
            assert!(text.contains(v.name));
        }
        // An address cannot smuggle a line end into the header.
        let evil = Letter {
            to: "a@b\r\n.\r\nMAIL FROM:<x@y>",
            ..letter
        };
        let c = held_content(&VARIANTS[3], &evil);
        assert!(!c.windows(5).any(|w| w == b"\r\n.\r\n"));
    }

    /// After a look-alike, the rest sent makes no other look-alike: every
    /// sequence ends only within the case's own, or within the real end.
    #[test]
    fn the_end_sent_after_a_look_alike_makes_no_other_one() {
        for v in VARIANTS {
            let mut wire = MARK.as_bytes().to_vec();
            wire.extend_from_slice(v.bytes);
            let own = wire.len();
            wire.extend_from_slice(END);
            assert!(wire.ends_with(b"\r\n.\r\n"));
            let patterns = VARIANTS.iter().map(|w| w.bytes).chain([&b"\r\n.\r\n"[..]]);
            for p in patterns {
                for (i, w) in wire.windows(p.len()).enumerate() {
                    let end = i + p.len();
                    assert!(
                        // Inside the case's own sequence, or inside the real end.
                        w != p || (i >= own - v.bytes.len() && end <= own) || i >= wire.len() - 5,
                        "{}: {:?} ends at {end}",
                        v.name,
                        String::from_utf8_lossy(p)
                    );
                }
            }
        }
    }

    #[test]
    fn the_wait_follows_the_timeout_within_bounds() {
        assert_eq!(wait(Duration::from_secs(30)), Duration::from_secs(3));
        assert_eq!(wait(Duration::from_secs(1)), Duration::from_millis(500));
        assert_eq!(wait(Duration::from_millis(600)), Duration::from_millis(300));
        assert_eq!(wait(Duration::from_secs(300)), Duration::from_secs(5));
    }

    /// Every kind of answer, and the verdict it reads as.
    #[test]
    fn every_reply_kind_reads_as_its_verdict() {
        let lost = Outcome::ConnectionLost("the server closed the connection".into());
        let unknown = Outcome::DeliveryUnknown("the server closed the connection after".into());
        let timed = Outcome::TimedOut("no reply within the time limit".into());
        let protocol = Outcome::Protocol("a reply (500) arrived with no command".into());
        let refused = Outcome::Refused(reply(550, "5.1.1 no such user"));
        let ok = Outcome::Completed {
            accepted: Some(reply(250, "2.0.0 Ok: queued as X")),
        };
        let cases: Vec<(HeldReport, Option<&Outcome>, Verdict, &str)> = vec![
            (
                report(HeldEnd::NotSent, None),
                Some(&refused),
                Verdict::Inconclusive,
                "never sent",
            ),
            (
                report(
                    HeldEnd::AnsweredEarly(reply(250, "2.0.0 Ok: queued as X")),
                    Some(reply(221, "Bye")),
                ),
                Some(&ok),
                Verdict::Vulnerable,
                "took <LF>.<LF> as the end",
            ),
            (
                report(
                    HeldEnd::AnsweredEarly(reply(521, "5.5.2 Error: bare <LF> received")),
                    None,
                ),
                Some(&refused),
                Verdict::Safe,
                "refuses bare line ends",
            ),
            (
                report(HeldEnd::AnsweredEarly(reply(554, "5.7.1 spam")), None),
                Some(&refused),
                Verdict::Inconclusive,
                "either it ended the data there",
            ),
            (
                report(HeldEnd::Waiting, None),
                Some(&unknown),
                Verdict::Safe,
                "closed the connection",
            ),
            (
                report(HeldEnd::Waiting, None),
                Some(&lost),
                Verdict::Safe,
                "closed the connection",
            ),
            (
                report(HeldEnd::Waiting, None),
                Some(&timed),
                Verdict::Inconclusive,
                "no answer",
            ),
            (
                report(HeldEnd::Released, None),
                Some(&timed),
                Verdict::Inconclusive,
                "none to the real end",
            ),
            (
                report(
                    HeldEnd::AnsweredAtEnd(reply(250, "2.0.0 Ok")),
                    Some(reply(250, "2.0.0 Ok")),
                ),
                Some(&ok),
                Verdict::Safe,
                "read it as content",
            ),
            (
                // Postfix's answer to a command after the data that it
                // did not expect, taken for the NOOP's.
                report(
                    HeldEnd::AnsweredAtEnd(reply(250, "2.0.0 Ok")),
                    Some(reply(221, "2.7.0 Error: I can break rules, too. Goodbye.")),
                ),
                Some(&ok),
                Verdict::Inconclusive,
                "more replies than commands",
            ),
            (
                report(HeldEnd::AnsweredAtEnd(reply(250, "2.0.0 Ok")), None),
                Some(&ok),
                Verdict::Inconclusive,
                "no answer to the NOOP",
            ),
            (
                report(
                    HeldEnd::AnsweredAtEnd(reply(
                        554,
                        "5.6.0 Error: bare LF line ends in the content",
                    )),
                    Some(reply(250, "2.0.0 Ok")),
                ),
                Some(&refused),
                Verdict::Safe,
                "refused the message at the real end",
            ),
            (
                report(
                    HeldEnd::AnsweredAtEnd(reply(550, "5.7.1 content rejected")),
                    Some(reply(250, "2.0.0 Ok")),
                ),
                Some(&refused),
                Verdict::Safe,
                "read it as content",
            ),
            (
                report(
                    HeldEnd::AnsweredAtEnd(reply(250, "2.0.0 Ok")),
                    Some(reply(502, "5.5.2 Error: command not recognized")),
                ),
                Some(&ok),
                Verdict::Inconclusive,
                "more replies than commands",
            ),
            (
                report(HeldEnd::AnsweredAtEnd(reply(250, "2.0.0 Ok")), None),
                Some(&protocol),
                Verdict::Inconclusive,
                "more replies than commands",
            ),
        ];
        for (i, (report, outcome, want, words)) in cases.iter().enumerate() {
            let f = verdict_of(report, *outcome);
            assert_eq!(f.verdict, *want, "case {i}: {}", f.reason);
            assert!(f.reason.contains(words), "case {i}: {}", f.reason);
            assert_eq!(f.case, "<LF>.<LF>");
            assert_eq!(f.probe, Probe::Smuggling);
        }
    }

    #[test]
    fn a_server_reply_is_shown_bounded_and_visible() {
        let long = format!("5.5.2 \u{1b}[2J {}", "x".repeat(400));
        let f = verdict_of(
            &report(HeldEnd::AnsweredEarly(reply(554, &long)), None),
            None,
        );
        assert!(!f.reason.contains('\u{1b}'), "{}", f.reason);
        assert!(f.reason.len() < 600, "{}", f.reason);
    }
}
