//! One-line explanations of reply codes for the transcript's selected reply.
//! The full teaching tables come later; these are the codes an administrator
//! meets every day, in the project's own words (RFC 5321, section 4.2).

/// What the first digit says.
pub fn severity(code: u16) -> &'static str {
    match code / 100 {
        2 => "done: the command was accepted",
        3 => "go on: the server waits for more",
        4 => "not now: a temporary refusal, try again later",
        5 => "no: a permanent refusal, repeating will not help",
        _ => "not an SMTP reply code",
    }
}

/// A short explanation of a whole code, or of its digits when it is rare.
pub fn explain(code: u16) -> String {
    let specific = match code {
        211 => "system status",
        214 => "help text",
        220 => "the server is ready (greeting, or ready for TLS after STARTTLS)",
        221 => "the server closes the connection (after QUIT)",
        235 => "authentication succeeded",
        250 => "requested action done",
        251 => "the recipient is not local; the server will forward",
        252 => "cannot verify the user, but will accept mail for it",
        334 => "AUTH: the server sends a challenge (base64) and waits for the answer",
        354 => "send the message now; end it with a line holding only \".\"",
        421 => "the server is closing the connection (shutting down, timeout, too many errors)",
        450 => "mailbox busy or unavailable for now (often greylisting: retry later)",
        451 => "local error while processing; try again later",
        452 => "not enough storage, or too many recipients; try again later",
        454 => "TLS or authentication temporarily unavailable",
        500 => "syntax error: command not recognised, or line too long",
        501 => "syntax error in the arguments",
        502 => "command not implemented (or switched off)",
        503 => "bad sequence of commands: something must come first",
        504 => "parameter not implemented (e.g. an AUTH mechanism)",
        521 => "the server does not accept mail",
        530 => "authentication (or STARTTLS) required first",
        534 => "the authentication mechanism is too weak",
        535 => "authentication failed: wrong user name or password",
        538 => "encryption required for this authentication mechanism",
        550 => "mailbox unavailable: unknown user, or refused by policy",
        551 => "user not local",
        552 => "message too big for the server's limit, or storage exceeded",
        553 => "mailbox name not allowed (bad address syntax)",
        554 => "transaction failed (relay denied, no valid recipients, content refused)",
        555 => "a MAIL or RCPT parameter is not recognised",
        _ => "",
    };
    if specific.is_empty() {
        format!("{code}: {}", severity(code))
    } else {
        format!("{code}: {specific} ({})", severity(code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_unknown_codes() {
        assert!(explain(554).contains("relay denied"));
        assert!(explain(554).contains("permanent"));
        assert_eq!(explain(299), "299: done: the command was accepted");
        assert!(explain(450).contains("greylisting"));
    }
}
