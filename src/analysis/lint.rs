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
    let (_, report) = data::encode_data(message);
    let mut out = counted(&report);
    let headers = header_section(message);
    out.extend(for_the_server(&report, headers, caps));
    out.extend(fields(headers));
    out.extend(too_big(&report, caps));
    out
}

/// What the DATA encoder counted, each as a finding.
fn counted(report: &data::DataReport) -> Vec<Finding> {
    let mut out = Vec::new();
    // What the encoder counted, each as "N what (first: line L); why".
    let counted: [(&data::LineCount, bool, &'static str, &str, &str); 4] = [
        (
            &report.bare_lf,
            true,
            "bare-lf",
            "line(s) end in a bare LF",
            "they will be sent as CRLF, and a server that checks strictly may refuse them",
        ),
        (
            &report.bare_cr,
            true,
            "bare-cr",
            "bare CR(s)",
            "they will be sent as CRLF",
        ),
        (
            &report.long_lines,
            true,
            "long-line",
            "line(s) longer than 998 octets",
            "RFC 5322 forbids them and servers may refuse or break them",
        ),
        (
            &report.stuffed,
            false,
            "dot-stuffing",
            "line(s) start with \".\"",
            "each is sent with one more dot, which the server removes",
        ),
    ];
    for (c, warn, tag, what, why) in counted {
        if c.count > 0 {
            let text = format!("{} {what} (first: line {}); {why}", c.count, c.first_line);
            out.push(if warn {
                Finding::warning(tag, text)
            } else {
                Finding::info(tag, text)
            });
        }
    }
    out
}

/// What this server (`caps`, once known) may refuse: 8-bit text without
/// 8BITMIME, non-ASCII header text without SMTPUTF8.
fn for_the_server(
    report: &data::DataReport,
    headers: &[u8],
    caps: Option<&Capabilities>,
) -> Vec<Finding> {
    let mut out = Vec::new();
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
    out
}

/// A message over the server's SIZE limit (RFC 1870).
fn too_big(report: &data::DataReport, caps: Option<&Capabilities>) -> Option<Finding> {
    let limit = caps.and_then(Capabilities::size_limit)?;
    (report.bytes > limit).then(|| {
        let text = format!(
            "the message is {} bytes; the server's SIZE limit is {limit}",
            report.bytes
        );
        Finding::warning("too-big", text)
    })
}

/// The header fields RFC 5322 wants, and a Bcc: everyone would see.
fn fields(headers: &[u8]) -> Vec<Finding> {
    let mut out = Vec::new();
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
