//! The PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and
//! 2, the PROXY command over TCP): what a proxy in front of a server sends
//! before anything else to say where the connection really came from.
//! Encoded here with no I/O, and decoded back from the same bytes for the
//! transcript, so what is shown is what was sent.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// The 12 bytes that start every version 2 header (section 2.2).
pub const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";

/// Which version of the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// The text line, `PROXY TCP4 src dst sport dport`.
    V1,
    /// The binary header.
    V2,
}

impl Version {
    /// Each version by the name `--proxy` gives it.
    pub const NAMES: [(&'static str, Version); 2] = [("v1", Self::V1), ("v2", Self::V2)];
}

/// A PROXY header for one TCP connection: the client the proxy speaks for
/// (`source`) and the address it connected to (`destination`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub source: SocketAddr,
    pub destination: SocketAddr,
}

/// Both addresses of one family: when one is IPv6, an IPv4 one becomes its
/// IPv4-mapped form (a header names one family for both, section 2.1).
fn same_family(h: &Header) -> (IpAddr, IpAddr) {
    let (s, d) = (h.source.ip(), h.destination.ip());
    match (s, d) {
        (IpAddr::V4(s4), IpAddr::V6(_)) => (IpAddr::V6(s4.to_ipv6_mapped()), d),
        (IpAddr::V6(_), IpAddr::V4(d4)) => (s, IpAddr::V6(d4.to_ipv6_mapped())),
        _ => (s, d),
    }
}

impl Header {
    /// The header's bytes in `version`.
    pub fn encode(&self, version: Version) -> Vec<u8> {
        let (src, dst) = same_family(self);
        let (sport, dport) = (self.source.port(), self.destination.port());
        match version {
            Version::V1 => {
                let family = if src.is_ipv4() { "TCP4" } else { "TCP6" };
                format!("PROXY {family} {src} {dst} {sport} {dport}\r\n").into_bytes()
            }
            Version::V2 => {
                let mut out = V2_SIGNATURE.to_vec();
                // Version 2 in the high nibble, command PROXY (1) in the low.
                out.push(0x21);
                let addresses: Vec<u8> = match (src, dst) {
                    (IpAddr::V4(s), IpAddr::V4(d)) => {
                        // AF_INET (1) and STREAM (1).
                        out.push(0x11);
                        [s.octets(), d.octets()].concat()
                    }
                    (s, d) => {
                        // AF_INET6 (2) and STREAM (1).
                        out.push(0x21);
                        [v6(s), v6(d)].concat()
                    }
                };
                let len = addresses.len() + 4;
                out.extend_from_slice(&(len as u16).to_be_bytes());
                out.extend_from_slice(&addresses);
                out.extend_from_slice(&sport.to_be_bytes());
                out.extend_from_slice(&dport.to_be_bytes());
                out
            }
        }
    }
}

fn v6(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V6(a) => a.octets(),
        IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
    }
}

/// A version 2 header read back: each field as the bytes say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedV2 {
    pub version: u8,
    /// 0 LOCAL, 1 PROXY.
    pub command: u8,
    /// 1 AF_INET, 2 AF_INET6 (high nibble of byte 14).
    pub family: u8,
    /// 1 STREAM (TCP), 2 DGRAM (low nibble).
    pub transport: u8,
    pub source: Option<SocketAddr>,
    pub destination: Option<SocketAddr>,
    /// The header's whole length, signature included.
    pub len: usize,
}

/// Why bytes are not a version 2 header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("not a PROXY v2 header: the 12-byte signature is missing")]
    NoSignature,
    #[error("a PROXY v2 header cut short: {need} bytes needed, {got} present")]
    Short { need: usize, got: usize },
}

/// Reads a version 2 header from the start of `bytes`.
pub fn decode_v2(bytes: &[u8]) -> Result<DecodedV2, DecodeError> {
    if bytes.len() < 16 {
        if !V2_SIGNATURE.starts_with(&bytes[..bytes.len().min(12)]) {
            return Err(DecodeError::NoSignature);
        }
        return Err(DecodeError::Short {
            need: 16,
            got: bytes.len(),
        });
    }
    if bytes[..12] != V2_SIGNATURE {
        return Err(DecodeError::NoSignature);
    }
    let len = 16 + usize::from(u16::from_be_bytes([bytes[14], bytes[15]]));
    if bytes.len() < len {
        return Err(DecodeError::Short {
            need: len,
            got: bytes.len(),
        });
    }
    let (family, transport) = (bytes[13] >> 4, bytes[13] & 0x0f);
    let body = &bytes[16..len];
    let port = |i: usize| u16::from_be_bytes([body[i], body[i + 1]]);
    let (source, destination) = match family {
        1 if body.len() >= 12 => {
            let ip = |i: usize| IpAddr::from([body[i], body[i + 1], body[i + 2], body[i + 3]]);
            (
                Some(SocketAddr::new(ip(0), port(8))),
                Some(SocketAddr::new(ip(4), port(10))),
            )
        }
        2 if body.len() >= 36 => {
            let ip = |i: usize| {
                let mut a = [0u8; 16];
                a.copy_from_slice(&body[i..i + 16]);
                IpAddr::from(a)
            };
            (
                Some(SocketAddr::new(ip(0), port(32))),
                Some(SocketAddr::new(ip(16), port(34))),
            )
        }
        _ => (None, None),
    };
    Ok(DecodedV2 {
        version: bytes[12] >> 4,
        command: bytes[12] & 0x0f,
        family,
        transport,
        source,
        destination,
        len,
    })
}

impl DecodedV2 {
    /// The version, command, family and transport by their names.
    pub fn kind(&self) -> String {
        let command = match self.command {
            0 => "LOCAL",
            1 => "PROXY",
            _ => "unknown",
        };
        let family = match self.family {
            0 => "AF_UNSPEC",
            1 => "AF_INET (IPv4)",
            2 => "AF_INET6 (IPv6)",
            3 => "AF_UNIX",
            _ => "unknown",
        };
        let transport = match self.transport {
            1 => "STREAM (TCP)",
            2 => "DGRAM (UDP)",
            _ => "UNSPEC",
        };
        format!(
            "version {}, command {command}, family {family}, transport {transport}",
            self.version
        )
    }

    /// The source and destination, `-` where the family has none.
    pub fn addresses(&self) -> (String, String) {
        let addr = |a: Option<SocketAddr>| a.map_or("-".to_string(), |a| a.to_string());
        (addr(self.source), addr(self.destination))
    }
}

impl fmt::Display for DecodedV2 {
    /// One line: every field by its name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (source, destination) = self.addresses();
        write!(
            f,
            "{}, source {source}, destination {destination}, {} bytes",
            self.kind(),
            self.len
        )
    }
}

/// A header's bytes as hexadecimal, in groups of two, for the transcript.
pub fn hex(bytes: &[u8]) -> String {
    bytes
        .chunks(2)
        .map(|c| c.iter().map(|b| format!("{b:02x}")).collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str, d: &str) -> Header {
        Header {
            source: s.parse().unwrap(),
            destination: d.parse().unwrap(),
        }
    }

    /// Version 1: the spec's examples (section 2.1), its longest lines.
    #[test]
    fn v1_lines() {
        let cases = [
            (
                h("255.255.255.255:65535", "255.255.255.255:65535"),
                "PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n",
            ),
            (
                h(
                    "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535",
                    "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535",
                ),
                "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff \
                 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n",
            ),
            (
                h("192.168.0.1:56324", "192.168.0.11:443"),
                "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n",
            ),
            // Mixed families: the IPv4 address as IPv4-mapped IPv6.
            (
                h("192.0.2.1:1000", "[::1]:25"),
                "PROXY TCP6 ::ffff:192.0.2.1 ::1 1000 25\r\n",
            ),
        ];
        for (header, line) in cases {
            let got = String::from_utf8(header.encode(Version::V1)).unwrap();
            assert_eq!(got, line);
            // The spec's bound: 107 bytes at most, CRLF included.
            assert!(got.len() <= 107);
        }
    }

    /// Version 2: the bytes HAProxy itself writes for a TCP4 connection
    /// from 172.19.0.1:42578 to 172.19.0.3:80, and their IPv6 counterpart.
    #[test]
    fn v2_bytes() {
        let got = h("172.19.0.1:42578", "172.19.0.3:80").encode(Version::V2);
        let want: Vec<u8> = [
            &V2_SIGNATURE[..],
            &[0x21, 0x11, 0x00, 0x0c],
            &[0xac, 0x13, 0x00, 0x01, 0xac, 0x13, 0x00, 0x03],
            &[0xa6, 0x52, 0x00, 0x50],
        ]
        .concat();
        assert_eq!(got, want);
        assert_eq!(hex(&got[..16]), "0d0a 0d0a 000d 0a51 5549 540a 2111 000c");
        let six = h("[2001:db8::1]:5000", "[::1]:25").encode(Version::V2);
        assert_eq!(six.len(), 16 + 36);
        assert_eq!(&six[12..16], &[0x21, 0x21, 0x00, 0x24]);
        assert_eq!(&six[48..], &[0x13, 0x88, 0x00, 0x19]);
    }

    #[test]
    fn v2_decodes_to_what_was_encoded() {
        for header in [
            h("172.19.0.1:42578", "172.19.0.3:80"),
            h("[2001:db8::1]:5000", "[::1]:25"),
        ] {
            let d = decode_v2(&header.encode(Version::V2)).unwrap();
            assert_eq!((d.version, d.command, d.transport), (2, 1, 1));
            assert_eq!(d.source, Some(header.source));
            assert_eq!(d.destination, Some(header.destination));
        }
        let d = decode_v2(&h("192.0.2.1:1000", "127.0.0.1:2528").encode(Version::V2)).unwrap();
        assert_eq!(
            d.to_string(),
            "version 2, command PROXY, family AF_INET (IPv4), transport STREAM (TCP), \
             source 192.0.2.1:1000, destination 127.0.0.1:2528, 28 bytes"
        );
    }

    #[test]
    fn v2_decoding_refuses_what_is_not_a_whole_header() {
        let whole = h("192.0.2.1:1000", "127.0.0.1:25").encode(Version::V2);
        assert_eq!(decode_v2(b"PROXY TCP4"), Err(DecodeError::NoSignature));
        for cut in 0..whole.len() {
            assert!(
                matches!(decode_v2(&whole[..cut]), Err(DecodeError::Short { .. })),
                "cut at {cut}"
            );
        }
        let mut bad = whole.clone();
        bad[3] = b'x';
        assert_eq!(decode_v2(&bad), Err(DecodeError::NoSignature));
    }
}
