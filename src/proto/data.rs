//! Message content on the wire: the DATA encoder (CRLF line ends, dot-stuffing,
//! the closing `<CRLF>.<CRLF>`), BDAT chunks, and the decoder that undoes
//! the stuffing and finds the end (RFC 5321, sections 4.1.4 and 4.5.2).
//!
//! Both are streaming and keep a few bytes of state, so input may be split
//! anywhere.

/// How many of one kind of irregular line were seen, and the first one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LineCount {
    pub count: usize,
    /// 1-based line number of the first occurrence.
    pub first_line: usize,
}

impl LineCount {
    fn add(&mut self, line: usize) {
        if self.count == 0 {
            self.first_line = line;
        }
        self.count += 1;
    }
}

/// What the encoder changed or noticed in the content it was given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DataReport {
    /// Lines written, the last included.
    pub lines: usize,
    /// Content bytes after CRLF normalisation, before dot-stuffing.
    pub bytes: u64,
    /// Lines that ended in a bare LF, sent as CRLF.
    pub bare_lf: LineCount,
    /// Bare CRs, sent as CRLF.
    pub bare_cr: LineCount,
    /// Lines over 998 octets, which RFC 5322 forbids.
    pub long_lines: LineCount,
    /// Lines that began with "." and were sent with one more.
    pub stuffed: LineCount,
    /// The content did not end in a line end, so CRLF was added.
    pub added_final_crlf: bool,
    /// Bytes above 127 (the content needs 8BITMIME or SMTPUTF8).
    pub eight_bit: bool,
}

impl DataReport {
    /// One human sentence per thing worth telling, for the transcript.
    pub fn notes(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut tell = |c: &LineCount, what: &str| {
            if c.count > 0 {
                out.push(format!(
                    "{} {what} (first on line {})",
                    c.count, c.first_line
                ));
            }
        };
        tell(&self.bare_lf, "bare LF line end(s) sent as CRLF");
        tell(&self.bare_cr, "bare CR(s) sent as CRLF");
        tell(&self.long_lines, "line(s) longer than 998 octets");
        tell(
            &self.stuffed,
            "line(s) starting with \".\" sent with an extra dot",
        );
        if self.added_final_crlf {
            out.push("content did not end with a line end: CRLF added".into());
        }
        out
    }
}

/// Whether the encoder writes for DATA (dot-stuffed, with the closing dot)
/// or for BDAT (bytes counted, never stuffed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    Data,
    Bdat,
}

/// Turns message content into wire bytes. Feed with `encode`, end with `finish`.
#[derive(Debug)]
pub struct DataEncoder {
    framing: Framing,
    at_line_start: bool,
    pending_cr: bool,
    line: usize,
    line_len: usize,
    report: DataReport,
}

/// RFC 5322, section 2.1.1: at most 998 characters before the CRLF.
pub const MAX_LINE_OCTETS: usize = 998;

impl DataEncoder {
    pub fn new(framing: Framing) -> Self {
        Self {
            framing,
            at_line_start: true,
            pending_cr: false,
            line: 1,
            line_len: 0,
            report: DataReport::default(),
        }
    }

    /// Encodes `input`, appending wire bytes to `out`.
    pub fn encode(&mut self, input: &[u8], out: &mut Vec<u8>) {
        for &b in input {
            if self.pending_cr {
                self.pending_cr = false;
                if b == b'\n' {
                    self.end_line(out);
                    continue;
                }
                self.report.bare_cr.add(self.line);
                self.end_line(out);
            }
            match b {
                b'\r' => self.pending_cr = true,
                b'\n' => {
                    self.report.bare_lf.add(self.line);
                    self.end_line(out);
                }
                _ => {
                    if self.at_line_start && b == b'.' && self.framing == Framing::Data {
                        self.report.stuffed.add(self.line);
                        out.push(b'.');
                    }
                    if b > 127 {
                        self.report.eight_bit = true;
                    }
                    self.at_line_start = false;
                    self.line_len += 1;
                    self.report.bytes += 1;
                    out.push(b);
                }
            }
        }
    }

    fn end_line(&mut self, out: &mut Vec<u8>) {
        if self.line_len > MAX_LINE_OCTETS {
            self.report.long_lines.add(self.line);
        }
        out.extend_from_slice(b"\r\n");
        self.report.bytes += 2;
        self.report.lines = self.line;
        self.line += 1;
        self.line_len = 0;
        self.at_line_start = true;
    }

    /// Ends the content: a final CRLF if it lacked one, and for DATA the
    /// closing `.<CRLF>`.
    pub fn finish(mut self, out: &mut Vec<u8>) -> DataReport {
        if self.pending_cr {
            self.pending_cr = false;
            self.report.bare_cr.add(self.line);
            self.end_line(out);
        }
        if !self.at_line_start {
            self.report.added_final_crlf = true;
            self.end_line(out);
        }
        if self.framing == Framing::Data {
            out.extend_from_slice(b".\r\n");
        }
        self.report
    }
}

/// Encodes a whole message for DATA.
pub fn encode_data(content: &[u8]) -> (Vec<u8>, DataReport) {
    let mut out = Vec::with_capacity(content.len() + content.len() / 32 + 8);
    let mut enc = DataEncoder::new(Framing::Data);
    enc.encode(content, &mut out);
    let report = enc.finish(&mut out);
    (out, report)
}

/// What `encode_bdat` would report (its `bytes` is the SIZE of RFC 1870),
/// without building the encoded copy.
pub fn measure(content: &[u8]) -> DataReport {
    let mut enc = DataEncoder::new(Framing::Bdat);
    let mut scratch = Vec::with_capacity(80 * 1024);
    for piece in content.chunks(64 * 1024) {
        enc.encode(piece, &mut scratch);
        scratch.clear();
    }
    enc.finish(&mut scratch)
}

/// Normalises a whole message for BDAT (CRLF line ends, no stuffing).
pub fn encode_bdat(content: &[u8]) -> (Vec<u8>, DataReport) {
    let mut out = Vec::with_capacity(content.len() + content.len() / 32 + 8);
    let mut enc = DataEncoder::new(Framing::Bdat);
    enc.encode(content, &mut out);
    let report = enc.finish(&mut out);
    (out, report)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DecodeState {
    LineStart,
    Dot,
    DotCr,
    Middle,
    Cr,
    Done,
}

/// Reads DATA content from the wire: removes the stuffed dots and stops at
/// `<CRLF>.<CRLF>`. Only a real CRLF before the dot ends the content: a bare
/// LF followed by `.` does not (the SMTP smuggling attacks of 2023 rely on
/// receivers that accept it).
#[derive(Debug)]
pub struct DataDecoder {
    state: DecodeState,
}

impl Default for DataDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl DataDecoder {
    /// A decoder placed right after the DATA command's CRLF.
    pub fn new() -> Self {
        Self {
            state: DecodeState::LineStart,
        }
    }

    /// Decodes `input` into `out`. Returns `Some(n)` once the end was found
    /// after `n` bytes of `input`; the rest belongs to what follows.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Option<usize> {
        // The content is at most the input: one growth, not one per line.
        out.reserve(input.len());
        let mut i = 0;
        while i < input.len() {
            if self.state == DecodeState::Middle {
                // Inside a line: copy up to the next CR or LF in one go.
                let run = memchr::memchr2(b'\r', b'\n', &input[i..]).unwrap_or(input.len() - i);
                out.extend_from_slice(&input[i..i + run]);
                i += run;
                if i == input.len() {
                    break;
                }
            }
            let b = input[i];
            self.state = match (self.state, b) {
                (DecodeState::Done, _) => return Some(i),
                (DecodeState::LineStart, b'.') => DecodeState::Dot,
                (DecodeState::Dot, b'\r') => DecodeState::DotCr,
                (DecodeState::DotCr, b'\n') => {
                    self.state = DecodeState::Done;
                    return Some(i + 1);
                }
                (DecodeState::DotCr, _) => {
                    out.push(b'\r');
                    middle(b, out)
                }
                (DecodeState::Cr, b'\n') => {
                    out.push(b);
                    DecodeState::LineStart
                }
                (_, _) => middle(b, out),
            };
            i += 1;
        }
        (self.state == DecodeState::Done).then_some(input.len())
    }

    pub fn is_done(&self) -> bool {
        self.state == DecodeState::Done
    }
}

/// A content byte inside a line: kept, and a CR remembered.
fn middle(b: u8, out: &mut Vec<u8>) -> DecodeState {
    out.push(b);
    if b == b'\r' {
        DecodeState::Cr
    } else {
        DecodeState::Middle
    }
}

/// Splits content already encoded for BDAT into chunks of at most `size` bytes.
pub fn bdat_chunks(encoded: &[u8], size: usize) -> impl Iterator<Item = (&[u8], bool)> {
    let size = size.max(1);
    let count = encoded.len().div_ceil(size).max(1);
    (0..count).map(move |i| {
        let start = (i * size).min(encoded.len());
        let end = ((i + 1) * size).min(encoded.len());
        (&encoded[start..end], i + 1 == count)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn encoder_table() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"", b".\r\n"),
            (b"hi", b"hi\r\n.\r\n"),
            (b"hi\r\n", b"hi\r\n.\r\n"),
            (b"a\nb\n", b"a\r\nb\r\n.\r\n"),
            (b"a\rb", b"a\r\nb\r\n.\r\n"),
            (b".\r\n", b"..\r\n.\r\n"),
            (
                b"x\r\n.hidden\r\n..two\r\n",
                b"x\r\n..hidden\r\n...two\r\n.\r\n",
            ),
            (b"a\r\r\n", b"a\r\n\r\n.\r\n"),
            (b"end\r", b"end\r\n.\r\n"),
            (b" .not first\r\n", b" .not first\r\n.\r\n"),
        ];
        for (input, want) in cases {
            let (got, _) = encode_data(input);
            assert_eq!(
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(want),
                "input {:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn encoder_reports() {
        let (_, r) = encode_data(b"a\nb\rc\r\n.d\r\nlast");
        assert_eq!(
            r.bare_lf,
            LineCount {
                count: 1,
                first_line: 1
            }
        );
        assert_eq!(
            r.bare_cr,
            LineCount {
                count: 1,
                first_line: 2
            }
        );
        assert_eq!(
            r.stuffed,
            LineCount {
                count: 1,
                first_line: 4
            }
        );
        assert!(r.added_final_crlf);
        assert_eq!(r.lines, 5);
        assert!(!r.eight_bit);
        let long = vec![b'x'; 999];
        let (_, r) = encode_data(&long);
        assert_eq!(r.long_lines.count, 1);
        let (_, r) = encode_data(&vec![b'x'; 998]);
        assert_eq!(r.long_lines.count, 0);
        assert!(encode_data("caf\u{e9}".as_bytes()).1.eight_bit);
        assert_eq!(
            r.notes(),
            vec!["content did not end with a line end: CRLF added"]
        );
    }

    #[test]
    fn encoder_every_split_is_the_same() {
        let input = b"a\nb\r\n.c\rd\r\r\n..\r\nend\r";
        let (whole, whole_report) = encode_data(input);
        for cut in 0..=input.len() {
            let mut out = Vec::new();
            let mut enc = DataEncoder::new(Framing::Data);
            enc.encode(&input[..cut], &mut out);
            enc.encode(&input[cut..], &mut out);
            let report = enc.finish(&mut out);
            assert_eq!(out, whole, "cut at {cut}");
            assert_eq!(report, whole_report, "cut at {cut}");
        }
    }

    #[test]
    fn bdat_is_not_stuffed() {
        let (got, r) = encode_bdat(b".a\nb");
        assert_eq!(got, b".a\r\nb\r\n");
        assert_eq!(r.stuffed.count, 0);
        let chunks: Vec<_> = bdat_chunks(&got, 3).collect();
        assert_eq!(
            chunks,
            vec![(&b".a\r"[..], false), (b"\nb\r", false), (b"\n", true)]
        );
        let empty: Vec<_> = bdat_chunks(b"", 10).collect();
        assert_eq!(empty, vec![(&b""[..], true)]);
    }

    fn decode(wire: &[u8]) -> (Vec<u8>, Option<usize>) {
        let mut out = Vec::new();
        let mut d = DataDecoder::new();
        let end = d.feed(wire, &mut out);
        (out, end)
    }

    #[test]
    fn decoder_table() {
        let cases: &[(&[u8], &[u8], Option<usize>)] = &[
            (b".\r\n", b"", Some(3)),
            (b"a\r\n.\r\nQUIT\r\n", b"a\r\n", Some(6)),
            (b"..x\r\n.\r\n", b".x\r\n", Some(8)),
            (b"a\n.\r\nb\r\n.\r\n", b"a\n.\r\nb\r\n", Some(11)),
            (b"a\r\n.\r", b"a\r\n", None),
            (b"a\r\n.x\r\n.\r\n", b"a\r\nx\r\n", Some(10)),
            (b"a\r\n.\rb\r\n.\r\n", b"a\r\n\rb\r\n", Some(11)),
        ];
        for (wire, content, end) in cases {
            let got = decode(wire);
            assert_eq!(
                (String::from_utf8_lossy(&got.0).to_string(), got.1),
                (String::from_utf8_lossy(content).to_string(), *end),
                "wire {:?}",
                String::from_utf8_lossy(wire)
            );
        }
    }

    #[test]
    fn decoder_every_split_is_the_same() {
        let wire = b"..a\r\nb\n.\r\n\r.\r\n...\r\n.\r\nNEXT";
        let whole = decode(wire);
        for cut in 0..=wire.len() {
            let mut out = Vec::new();
            let mut d = DataDecoder::new();
            let first = d.feed(&wire[..cut], &mut out);
            let end = match first {
                Some(n) => n,
                None => cut + d.feed(&wire[cut..], &mut out).unwrap_or(usize::MAX - cut),
            };
            assert_eq!((out.clone(), Some(end)), whole, "cut at {cut}");
        }
    }

    /// CRLF normalisation as the encoder does it, and a final CRLF.
    fn normalised(body: &[u8]) -> Vec<u8> {
        let (mut out, _) = encode_bdat(body);
        if out.is_empty() {
            out.clear();
        }
        out
    }

    proptest! {
        #[test]
        fn stuffing_round_trips(body in proptest::collection::vec(
            prop_oneof![Just(b'.'), Just(b'\r'), Just(b'\n'), Just(b'a'), any::<u8>()], 0..200)) {
            let (wire, _) = encode_data(&body);
            let mut out = Vec::new();
            let mut d = DataDecoder::new();
            let end = d.feed(&wire, &mut out);
            prop_assert_eq!(end, Some(wire.len()));
            prop_assert_eq!(out, normalised(&body));
        }

        #[test]
        fn stuffed_content_never_ends_early(body in proptest::collection::vec(any::<u8>(), 0..200)) {
            let (wire, _) = encode_data(&body);
            // The only <CRLF>.<CRLF> is the final one.
            let ends = wire.windows(5).filter(|w| w == b"\r\n.\r\n").count()
                + usize::from(wire.starts_with(b".\r\n"));
            prop_assert_eq!(ends, 1);
        }
    }
}
