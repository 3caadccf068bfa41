//! The open-relay probe: the classic addresses that trick a badly
//! configured server into relaying mail for anyone (percent hack, bang
//! path, quoted local part, source route, outside to outside), each asked
//! at RCPT in its own transaction, and the RCPT reply read as a verdict.
//! The probe never sends DATA: nothing is relayed.

use super::{quote, Finding, Probe, Verdict};
use crate::proto::client::Outcome;
use crate::proto::reply::Reply;

/// The domain outside the server's, as the relay cases name it. `.example`
/// is reserved (RFC 2606): mail for it can go nowhere, even if accepted.
pub const OUTSIDE: &str = "outside.example";
/// The local part of the outside recipient.
pub const USER: &str = "relay-probe";

/// One relay case: the envelope it asks the server to take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayCase {
    pub name: &'static str,
    /// None: the sender given with `--mail-from`.
    pub mail_from: Option<String>,
    /// Written inside RCPT TO:<…> as it is.
    pub rcpt: String,
}

/// The cases against a server that takes mail for `domain`.
pub fn cases(domain: &str) -> Vec<RelayCase> {
    let case = |name, rcpt: String| RelayCase {
        name,
        mail_from: None,
        rcpt,
    };
    vec![
        case("percent hack", format!("{USER}%{OUTSIDE}@{domain}")),
        case("bang path", format!("{OUTSIDE}!{USER}@{domain}")),
        case(
            "quoted local part",
            format!("\"{USER}@{OUTSIDE}\"@{domain}"),
        ),
        case("quoted address", format!("\"{USER}@{OUTSIDE}\"")),
        case("source route", format!("@{domain}:{USER}@{OUTSIDE}")),
        RelayCase {
            name: "outside to outside",
            mail_from: Some(format!("{USER}-sender@{OUTSIDE}")),
            rcpt: format!("{USER}@{OUTSIDE}"),
        },
    ]
}

/// The verdict on one case from the RCPT reply (None when the session
/// ended before one came) and how the session ended.
pub fn judge(case: &RelayCase, rcpt: Option<&Reply>, outcome: Option<&Outcome>) -> Finding {
    let (verdict, reason) = match rcpt {
        Some(r) if r.code.is_positive() => (
            Verdict::Vulnerable,
            format!(
                "RCPT TO:<{}> was accepted: {} — the server takes mail it would have to \
                 relay outside (a 250 is not proof it would deliver; the probe sent no DATA)",
                case.rcpt,
                quote(r)
            ),
        ),
        Some(r) if r.code.is_permanent() => (
            Verdict::Safe,
            format!("RCPT TO:<{}> was refused: {}", case.rcpt, quote(r)),
        ),
        Some(r) => (
            Verdict::Inconclusive,
            format!(
                "RCPT TO:<{}> got a temporary refusal: {} — it may be accepted later \
                 (greylisting, a limit)",
                case.rcpt,
                quote(r)
            ),
        ),
        None => (
            Verdict::Inconclusive,
            format!(
                "no RCPT reply: {}",
                outcome.map_or("the session ended".to_string(), ToString::to_string)
            ),
        ),
    };
    Finding {
        probe: Probe::Relay,
        case: case.name.to_string(),
        verdict,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::reply::ReplyCode;

    fn reply(code: u16, text: &str) -> Reply {
        Reply::new(ReplyCode::new(code).unwrap(), text)
    }

    #[test]
    fn the_cases_name_the_server_domain_and_the_outside_one() {
        let c = cases("example.test");
        let rcpts: Vec<&str> = c.iter().map(|c| c.rcpt.as_str()).collect();
        assert_eq!(
            rcpts,
            [
                "relay-probe%outside.example@example.test",
                "outside.example!relay-probe@example.test",
                "\"relay-probe@outside.example\"@example.test",
                "\"relay-probe@outside.example\"",
                "@example.test:relay-probe@outside.example",
                "relay-probe@outside.example",
            ]
        );
        assert!(c[..5].iter().all(|c| c.mail_from.is_none()));
        assert_eq!(
            c[5].mail_from.as_deref(),
            Some("relay-probe-sender@outside.example")
        );
        // Every case is a valid RCPT argument.
        for case in &c {
            assert!(crate::proto::command::Address::new(case.rcpt.clone()).is_ok());
        }
    }

    #[test]
    fn the_rcpt_reply_reads_as_the_verdict() {
        let case = &cases("example.test")[0];
        let lost = Outcome::ConnectionLost("the server closed the connection".into());
        let table: [(Option<Reply>, Verdict, &str); 6] = [
            (
                Some(reply(250, "2.1.5 Ok")),
                Verdict::Vulnerable,
                "accepted",
            ),
            (
                Some(reply(251, "User not local; will forward")),
                Verdict::Vulnerable,
                "accepted",
            ),
            (
                Some(reply(554, "5.7.1 Relay access denied")),
                Verdict::Safe,
                "refused",
            ),
            (
                Some(reply(550, "5.1.1 no such user")),
                Verdict::Safe,
                "refused",
            ),
            (
                Some(reply(450, "4.7.1 greylisted")),
                Verdict::Inconclusive,
                "temporary",
            ),
            (
                None,
                Verdict::Inconclusive,
                "no RCPT reply: the server closed",
            ),
        ];
        for (r, want, words) in table {
            let f = judge(case, r.as_ref(), Some(&lost));
            assert_eq!(f.verdict, want, "{}", f.reason);
            assert!(f.reason.contains(words), "{}", f.reason);
            assert_eq!(f.case, "percent hack");
            assert_eq!(f.probe, Probe::Relay);
        }
    }
}
