//! Fuzzes DATA content encoding and decoding.
//!
//! Any content, encoded with `encode_data` (CRLF normalised, dot-stuffed,
//! `.<CRLF>` appended), must decode with `DataDecoder` to the CRLF-normalised
//! content, and the decoder must find the end exactly at the end of the
//! encoded bytes: never earlier (that would be SMTP smuggling), whatever
//! follows, and however the wire bytes are split.

use smtp_workbench::proto::data::{encode_bdat, encode_data, DataDecoder};

pub fn check(data: &[u8]) {
    let (wire, _) = encode_data(data);
    // BDAT framing is the same normalisation without stuffing or the end mark.
    let (normalised, _) = encode_bdat(data);

    // One feed, with a following command on the same buffer.
    let mut buf = wire.clone();
    buf.extend_from_slice(b"QUIT\r\n");
    let mut out = Vec::new();
    let mut d = DataDecoder::new();
    let end = d.feed(&buf, &mut out);
    assert_eq!(end, Some(wire.len()), "end of data in the wrong place");
    assert!(d.is_done());
    assert_eq!(out, normalised, "decoded content differs");

    // Two feeds, split at a point picked from the content.
    let cut = data.first().map_or(0, |&b| usize::from(b)) * wire.len() / 255;
    let (a, b) = wire.split_at(cut);
    let mut out = Vec::new();
    let mut d = DataDecoder::new();
    let end = match d.feed(a, &mut out) {
        Some(n) => Some(n),
        None => d.feed(b, &mut out).map(|n| cut + n),
    };
    assert_eq!(
        end,
        Some(wire.len()),
        "split at {cut}: end in the wrong place"
    );
    assert_eq!(out, normalised, "split at {cut}: decoded content differs");
}
