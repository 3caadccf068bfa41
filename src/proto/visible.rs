//! Rendering bytes from the wire so that nothing in them can act on a terminal.
//!
//! A server can send anything: escape sequences that move the cursor or write
//! the clipboard (OSC 52), bells, C1 controls, invalid UTF-8. The transcript
//! shows every such byte as a visible symbol instead of passing it on.

use std::fmt::Write as _;

/// Makes `bytes` safe to print: C0 controls and DEL become the Unicode
/// control pictures (`␛`, `␍`, `␊`, …), C1 controls and the characters that
/// reorder text (bidi overrides) become `\u{…}`, invalid UTF-8 becomes `\xNN`.
/// Printable text, including non-ASCII, is kept as is.
pub fn visible(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        // Printable ASCII, most of what arrives, is copied a run at a time.
        let mut rest = chunk.valid();
        while let Some(i) = rest.bytes().position(|b| !(b' '..=b'~').contains(&b)) {
            out.push_str(&rest[..i]);
            let mut chars = rest[i..].chars();
            if let Some(c) = chars.next() {
                push_char(&mut out, c);
            }
            rest = chars.as_str();
        }
        out.push_str(rest);
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

fn push_char(out: &mut String, c: char) {
    match c {
        // U+2400..U+241F are the control pictures for 0x00..0x1F.
        '\u{0}'..='\u{1f}' => out.push(char::from_u32(0x2400 + c as u32).unwrap_or('?')),
        '\u{7f}' => out.push('\u{2421}'),
        c if acts_on_text(c) => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
        _ => out.push(c),
    }
}

/// C1 controls (one byte of them starts an escape sequence on some
/// terminals), the characters that reorder text (bidi overrides) and the
/// byte-order mark: printable in the sense of UTF-8, but they act.
fn acts_on_text(c: char) -> bool {
    matches!(
        c,
        '\u{80}'..='\u{9f}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
            | '\u{feff}'
    )
}

/// A line of JSON made safe to print: JSON escapes only C0 controls, so DEL,
/// C1 controls and bidi overrides in its strings are escaped here as
/// `\uXXXX`. The value it decodes to is the same; only its text changes.
pub fn json_safe(json: &str) -> std::borrow::Cow<'_, str> {
    if !json.chars().any(|c| c == '\u{7f}' || acts_on_text(c)) {
        return std::borrow::Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if c == '\u{7f}' || acts_on_text(c) {
            // Outside the BMP nothing here acts, so one \uXXXX suffices.
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// True when `bytes` would be shown exactly as they are by [`visible`].
pub fn is_plain(bytes: &[u8]) -> bool {
    std::str::from_utf8(bytes).is_ok_and(|s| visible(s.as_bytes()) == s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_safe_escapes_what_json_leaves_and_keeps_the_value() {
        let v = serde_json::json!({"raw": "mx \u{9b}2J \u{202e}x \u{7f} é \u{1b}"});
        let line = v.to_string();
        assert!(
            line.contains('\u{9b}'),
            "serde_json leaves C1 as it is: {line}"
        );
        let safe = json_safe(&line);
        assert!(
            !safe.chars().any(|c| c.is_control() || acts_on_text(c)),
            "{safe}"
        );
        assert!(safe.contains("\\u009b") && safe.contains("\\u202e") && safe.contains("\\u007f"));
        assert!(safe.contains('é'), "printable text is kept");
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn table() {
        let cases: &[(&[u8], &str)] = &[
            (b"250 OK", "250 OK"),
            (b"220 \x1b[31mred", "220 ␛[31mred"),
            (b"\x07bell", "␇bell"),
            (b"tab\there", "tab␉here"),
            (b"cr\rlf\n", "cr␍lf␊"),
            (b"nul\x00", "nul␀"),
            (b"del\x7f", "del␡"),
            (b"bad \xff\xfe", "bad \\xff\\xfe"),
            ("caf\u{e9}".as_bytes(), "caf\u{e9}"),
            ("c1 \u{9b}2J".as_bytes(), "c1 \\u{9b}2J"),
            ("rtl \u{202e}txt".as_bytes(), "rtl \\u{202e}txt"),
            (b"osc \x1b]52;c;aGk=\x07", "osc ␛]52;c;aGk=␇"),
        ];
        for (input, want) in cases {
            assert_eq!(visible(input), *want, "input {input:?}");
        }
    }

    /// Copying plain runs whole shows what showing each character does:
    /// every sequence of three pieces from plain text, controls, C1, bidi,
    /// multi-byte text and invalid bytes, in every order.
    #[test]
    fn plain_runs_are_shown_as_each_character_would_be() {
        fn each_char(bytes: &[u8]) -> String {
            let mut out = String::new();
            for chunk in bytes.utf8_chunks() {
                chunk.valid().chars().for_each(|c| push_char(&mut out, c));
                for b in chunk.invalid() {
                    let _ = write!(out, "\\x{b:02x}");
                }
            }
            out
        }
        let pieces: [&[u8]; 9] = [
            b"",
            b"250 OK",
            b"\x1b[",
            b"\r\n",
            b"~\x7f",
            "\u{9b}".as_bytes(),
            "\u{202e}é".as_bytes(),
            b"\xff",
            b"\xc3",
        ];
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    let input = [a, b, c].concat();
                    assert_eq!(visible(&input), each_char(&input), "{input:?}");
                }
            }
        }
    }

    #[test]
    fn never_emits_a_control_character() {
        let all: Vec<u8> = (0..=255u8).collect();
        let shown = visible(&all);
        assert!(!shown.chars().any(|c| c.is_control()), "{shown:?}");
    }

    #[test]
    fn plain_detection() {
        assert!(is_plain(b"250 OK"));
        assert!(!is_plain(b"250\x1b"));
        assert!(!is_plain(b"\xff"));
    }
}
