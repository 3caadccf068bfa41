//! The DATA decoder (`proto::data::DataDecoder`) on arbitrary wire bytes,
//! against a reference written straight from RFC 5321 (sections 4.1.1.4 and
//! 4.5.2): the content ends at the first `<CRLF>.<CRLF>`, where the CRLF of
//! the DATA command counts as the first one, and never anywhere else (a bare
//! LF before the dot does not end it: SMTP smuggling); a dot that starts a
//! line is removed. However the bytes are split into reads, the decoder must
//! find the same end and give the same content.

use smtp_workbench::proto::data::DataDecoder;

/// Where the content ends (just after the `.<CRLF>`), if it does.
fn reference_end(wire: &[u8]) -> Option<usize> {
    let mut prefixed = b"\r\n".to_vec();
    prefixed.extend_from_slice(wire);
    prefixed
        .windows(5)
        .position(|w| w == b"\r\n.\r\n")
        .map(|p| p + 5 - 2)
}

/// The content with the dot that starts each line removed; a line starts at
/// the beginning and after each CRLF.
fn reference_unstuff(content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len());
    for (i, &b) in content.iter().enumerate() {
        let line_start = i == 0 || (i >= 2 && &content[i - 2..i] == b"\r\n");
        if !(line_start && b == b'.') {
            out.push(b);
        }
    }
    out
}

fn decode<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> (Option<usize>, Vec<u8>) {
    let mut d = DataDecoder::new();
    let mut out = Vec::new();
    let mut offset = 0;
    for part in parts {
        if let Some(n) = d.feed(part, &mut out) {
            assert!(d.is_done());
            return (Some(offset + n), out);
        }
        assert!(!d.is_done());
        offset += part.len();
    }
    (None, out)
}

pub fn check(data: &[u8]) {
    let Some((&cut, wire)) = data.split_first() else {
        return;
    };
    let cut = (usize::from(cut) * wire.len()) / 256;
    let whole = decode([wire]);
    assert_eq!(
        decode([&wire[..cut], &wire[cut..]]),
        whole,
        "split at {cut}"
    );
    assert_eq!(decode(wire.chunks(1)), whole, "byte by byte");

    let (end, out) = whole;
    assert_eq!(end, reference_end(wire), "end of data");
    match end {
        Some(end) => {
            // Everything before the final ".<CRLF>", un-stuffed.
            assert_eq!(out, reference_unstuff(&wire[..end - 3]), "content");
        }
        None => {
            // Still reading: at most a CR (after a line-start dot) held back.
            let all = reference_unstuff(wire);
            assert!(all.starts_with(&out), "content so far");
            assert!(all.len() - out.len() <= 1, "held back more than a CR");
        }
    }
}
