//! Checks of a composed message before DATA: what would be changed on the
//! wire, what a server may refuse, what the reader may see wrongly.

use super::Finding;
use crate::proto::capabilities::Capabilities;
use crate::proto::data;

fn header_section(message: &[u8]) -> &[u8] {
    let end = message
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 2)
        .or_else(|| message.windows(2).position(|w| w == b"\n\n").map(|i| i + 1))
        .unwrap_or(message.len());
    &message[..end]
}

fn has_field(headers: &[u8], name: &str) -> bool {
    headers.split(|&b| b == b'\n').any(|l| {
        l.len() > name.len()
            && l[..name.len()].eq_ignore_ascii_case(name.as_bytes())
            && l[name.len()] == b':'
    })
}

/// Checks `message` as it will be sent; `caps` is what the server offered,
/// when known.
pub fn lint(message: &[u8], caps: Option<&Capabilities>) -> Vec<Finding> {
    let mut out = Vec::new();
    let (_, report) = data::encode_data(message);
    if report.bare_lf.count > 0 {
        out.push(Finding::warning(
            "bare-lf",
            format!(
                "{} line(s) end in a bare LF (first: line {}); they will be sent as CRLF, \
                 and a server that checks strictly may refuse them",
                report.bare_lf.count, report.bare_lf.first_line
            ),
        ));
    }
    if report.bare_cr.count > 0 {
        out.push(Finding::warning(
            "bare-cr",
            format!(
                "{} bare CR(s) (first: line {}); they will be sent as CRLF",
                report.bare_cr.count, report.bare_cr.first_line
            ),
        ));
    }
    if report.long_lines.count > 0 {
        out.push(Finding::warning(
            "long-line",
            format!(
                "{} line(s) longer than 998 octets (first: line {}); RFC 5322 forbids them and servers may refuse or break them",
                report.long_lines.count, report.long_lines.first_line
            ),
        ));
    }
    if report.stuffed.count > 0 {
        out.push(Finding::info(
            "dot-stuffing",
            format!(
                "{} line(s) start with \".\" (first: line {}); each is sent with one more dot, which the server removes",
                report.stuffed.count, report.stuffed.first_line
            ),
        ));
    }
    let headers = header_section(message);
    if report.eight_bit {
        if let Some(c) = caps {
            if !c.eight_bit_mime {
                out.push(Finding::warning(
                    "8bit",
                    "the message has 8-bit bytes but the server did not announce 8BITMIME",
                ));
            }
        }
    }
    if !headers.is_ascii() && !caps.is_some_and(|c| c.smtputf8) {
        out.push(Finding::warning(
            "non-ascii-header",
            "a header field has non-ASCII text: encode it (RFC 2047, =?UTF-8?…?=) or use a server that offers SMTPUTF8",
        ));
    }
    for (name, why) in [
        ("From", "RFC 5322 requires it"),
        (
            "Date",
            "RFC 5322 requires it; servers may add one or refuse",
        ),
        (
            "Message-ID",
            "recommended; servers and readers use it to find duplicates and threads",
        ),
    ] {
        if !has_field(headers, name) {
            out.push(Finding::warning(
                "missing-field",
                format!("no {name}: field: {why}"),
            ));
        }
    }
    if has_field(headers, "Bcc") {
        out.push(Finding::warning(
            "bcc-header",
            "a Bcc: field is in the content: in a raw SMTP session it is sent to every recipient as it is",
        ));
    }
    if let Some(limit) = caps.and_then(Capabilities::size_limit) {
        if report.bytes > limit {
            out.push(Finding::warning(
                "too-big",
                format!(
                    "the message is {} bytes; the server's SIZE limit is {limit}",
                    report.bytes
                ),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(message: &str, caps: Option<&Capabilities>) -> Vec<&'static str> {
        lint(message.as_bytes(), caps)
            .iter()
            .map(|f| f.tag)
            .collect()
    }

    const GOOD: &str = "From: a@x.example\r\nTo: b@y.example\r\nDate: Sat, 28 Nov 2026 12:00:00 +0000\r\nMessage-ID: <1@x.example>\r\nSubject: hi\r\n\r\nbody\r\n";

    #[test]
    fn table() {
        let caps = Capabilities {
            size: Some(Some(100)),
            ..Capabilities::default()
        };
        let eight = Capabilities {
            eight_bit_mime: true,
            smtputf8: true,
            ..Capabilities::default()
        };
        let cases: Vec<(String, Option<&Capabilities>, Vec<&str>)> = vec![
            (GOOD.into(), None, vec![]),
            (GOOD.replace("\r\n", "\n"), None, vec!["bare-lf"]),
            (GOOD.replace("body\r\n", "a\rb\r\n"), None, vec!["bare-cr"]),
            (
                GOOD.replace("body", &"x".repeat(999)),
                None,
                vec!["long-line"],
            ),
            (GOOD.replace("body", &"x".repeat(998)), None, vec![]),
            (
                GOOD.replace("body", ".dot\r\n..two"),
                None,
                vec!["dot-stuffing"],
            ),
            (
                GOOD.replace("body", "café"),
                Some(&caps),
                vec!["8bit", "too-big"],
            ),
            (GOOD.replace("body", "café"), Some(&eight), vec![]),
            (
                GOOD.replace("Subject: hi", "Subject: café"),
                None,
                vec!["non-ascii-header"],
            ),
            (
                GOOD.replace("Subject: hi", "Subject: café"),
                Some(&eight),
                vec![],
            ),
            (
                GOOD.replace("Date: Sat, 28 Nov 2026 12:00:00 +0000\r\n", ""),
                None,
                vec!["missing-field"],
            ),
            (
                GOOD.replace("From: a@x.example\r\n", "")
                    .replace("Message-ID: <1@x.example>\r\n", ""),
                None,
                vec!["missing-field", "missing-field"],
            ),
            (
                GOOD.replace("Subject", "Bcc: c@z.example\r\nSubject"),
                None,
                vec!["bcc-header"],
            ),
            // A body line that looks like a header does not count as one.
            (GOOD.replace("body", "Bcc: not a header"), None, vec![]),
        ];
        for (message, caps, want) in cases {
            assert_eq!(tags(&message, caps), want, "{message:?}");
        }
    }
}
