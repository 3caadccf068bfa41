//! DNS lookups made for the user, each shown in the transcript: the
//! resolver built from `--dns` (or the system's), the lookups behind it
//! (`Lookup`: MX, A/AAAA, PTR), the route to a domain's MX hosts (`mx`) and
//! the server's address resolved back and forward again (`fcrdns`).
//!
//! DNS data is untrusted: every name is made visible before it is shown,
//! the records kept per answer are bounded, and every lookup ends within
//! the time limit, whatever the server does.

pub mod fcrdns;
mod hickory;
pub mod mx;
pub mod records;

use std::fmt;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

pub use hickory::{resolver, resolver_config, Hickory};

use crate::proto::visible::visible;

/// The most records of one answer that are kept and shown; the rest are
/// counted. A hostile zone may answer with hundreds.
pub const MAX_RECORDS: usize = 20;

/// Which addresses to connect to: `-4`, `-6`, or both (IPv4 first).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Family {
    #[default]
    Any,
    V4,
    V6,
}

impl Family {
    pub fn allows(self, ip: IpAddr) -> bool {
        match self {
            Family::Any => true,
            Family::V4 => ip.is_ipv4(),
            Family::V6 => ip.is_ipv6(),
        }
    }

    /// The address record types to ask for, in the order they are tried.
    pub fn kinds(self) -> &'static [AddrKind] {
        match self {
            Family::Any => &[AddrKind::A, AddrKind::Aaaa],
            Family::V4 => &[AddrKind::A],
            Family::V6 => &[AddrKind::Aaaa],
        }
    }

    /// The flag that asked for this family, for sentences.
    pub fn flag(self) -> &'static str {
        match self {
            Family::Any => "",
            Family::V4 => "-4",
            Family::V6 => "-6",
        }
    }
}

/// An address record type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddrKind {
    A,
    Aaaa,
}

impl fmt::Display for AddrKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AddrKind::A => "A",
            AddrKind::Aaaa => "AAAA",
        })
    }
}

/// How the client resolves names: `--dns`, `-4`/`-6`, `--mx`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DnsOptions {
    /// `--dns HOST:PORT`: this server instead of the system's.
    pub server: Option<SocketAddr>,
    pub family: Family,
    /// The target's host is a mail domain: connect to its MX hosts.
    pub mx: bool,
}

impl DnsOptions {
    /// Whether lookups go through the DNS resolver (and are shown): with
    /// `--dns` or `--mx`. A plain `--server NAME` otherwise uses the
    /// system's resolver as any program would, /etc/hosts included.
    pub fn shown(&self) -> bool {
        self.server.is_some() || self.mx
    }
}

/// One record of an answer, with its TTL in seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<T> {
    pub value: T,
    pub ttl: u32,
}

/// An MX record: its preference and the host name, made visible, without
/// the final dot ("." for a null MX).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mx {
    pub preference: u16,
    pub host: String,
}

/// The records of an answer (at most [`MAX_RECORDS`]) and how many more
/// there were.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer<T> {
    pub records: Vec<Record<T>>,
    pub dropped: usize,
}

impl<T> Answer<T> {
    pub fn new(all: impl IntoIterator<Item = Record<T>>) -> Self {
        let mut records = Vec::new();
        let mut dropped = 0;
        for r in all {
            if records.len() < MAX_RECORDS {
                records.push(r);
            } else {
                dropped += 1;
            }
        }
        Self { records, dropped }
    }
}

/// Why a lookup gave no answer, in the words a DNS administrator uses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnsError {
    #[error("no answer within {}s (timeout)", .0.as_secs_f64())]
    Timeout(Duration),
    #[error("NXDOMAIN: the name does not exist")]
    NxDomain,
    #[error("no records of that type (the name exists)")]
    NoRecords,
    #[error("SERVFAIL: the server could not answer")]
    ServFail,
    #[error("REFUSED: the server refuses to answer this")]
    Refused,
    #[error("{0}")]
    Other(String),
}

impl DnsError {
    /// A failure that says nothing about the name: asking again later may
    /// answer. A mail client stops there instead of falling back.
    pub fn is_temporary(&self) -> bool {
        !matches!(self, DnsError::NxDomain | DnsError::NoRecords)
    }
}

/// The lookups the tool makes; [`Hickory`] asks a DNS server, tests
/// answer from a table.
pub trait Lookup {
    fn mx(&self, domain: &str) -> impl Future<Output = Result<Answer<Mx>, DnsError>> + Send;
    fn addrs(
        &self,
        host: &str,
        kind: AddrKind,
    ) -> impl Future<Output = Result<Answer<IpAddr>, DnsError>> + Send;
    fn ptr(&self, ip: IpAddr) -> impl Future<Output = Result<Answer<String>, DnsError>> + Send;
}

/// A name from DNS as it is shown: visible, without the final dot, and cut
/// at 255 bytes (the longest a domain name can be).
pub fn shown_name(raw: &str) -> String {
    let name = raw
        .strip_suffix('.')
        .filter(|n| !n.is_empty())
        .unwrap_or(raw);
    let mut end = name.len().min(255);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    visible(&name.as_bytes()[..end])
}

/// The transcript line of one lookup: `dns: TYPE NAME → answers` or the
/// error. The same words in the text and the JSON form (an info line).
pub fn line<T: fmt::Display>(
    kind: &str,
    name: &str,
    result: &Result<Answer<T>, DnsError>,
) -> String {
    match result {
        Ok(a) => {
            let mut shown: Vec<String> = a
                .records
                .iter()
                .map(|r| format!("{} (TTL {})", r.value, r.ttl))
                .collect();
            if a.dropped > 0 {
                shown.push(format!("and {} more not shown", a.dropped));
            }
            if shown.is_empty() {
                shown.push("no records".into());
            }
            format!("dns: {kind} {name} → {}", shown.join(", "))
        }
        Err(e) => format!("dns: {kind} {name} → {e}"),
    }
}

impl fmt::Display for Mx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.preference, self.host)
    }
}

/// Parses `--dns HOST[:PORT]` (port 53 unless given). HOST is an address:
/// the resolver cannot be found by a name without a resolver.
pub fn parse_server(s: &str) -> Result<SocketAddr, String> {
    let t = super::Target::parse(s, 53).map_err(|e| e.to_string())?;
    let ip: IpAddr = t.host.parse().map_err(|_| {
        format!(
            "{} is not an IP address (the DNS server is given by address)",
            t.host
        )
    })?;
    Ok(SocketAddr::new(ip, t.port))
}

#[cfg(test)]
pub(crate) mod table;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_say_the_query_the_answers_and_the_errors() {
        let ok = Ok(Answer::new([
            Record {
                value: Mx {
                    preference: 10,
                    host: "dead.example.test".into(),
                },
                ttl: 300,
            },
            Record {
                value: Mx {
                    preference: 20,
                    host: "mx.example.test".into(),
                },
                ttl: 300,
            },
        ]));
        assert_eq!(
            line("MX", "example.test", &ok),
            "dns: MX example.test → 10 dead.example.test (TTL 300), 20 mx.example.test (TTL 300)"
        );
        let nx: Result<Answer<Mx>, _> = Err(DnsError::NxDomain);
        assert_eq!(
            line("MX", "nowhere.test", &nx),
            "dns: MX nowhere.test → NXDOMAIN: the name does not exist"
        );
        let slow: Result<Answer<IpAddr>, _> = Err(DnsError::Timeout(Duration::from_secs(2)));
        assert_eq!(
            line("A", "mx.example.test", &slow),
            "dns: A mx.example.test → no answer within 2s (timeout)"
        );
    }

    #[test]
    fn answers_are_bounded_and_names_visible() {
        let many = Answer::new((0..100).map(|i| Record {
            value: IpAddr::from([10, 0, 0, i as u8]),
            ttl: 1,
        }));
        assert_eq!(many.records.len(), MAX_RECORDS);
        assert_eq!(many.dropped, 100 - MAX_RECORDS);
        assert!(line("A", "x", &Ok(many)).ends_with("and 80 more not shown"));
        assert_eq!(shown_name("mx.example.test."), "mx.example.test");
        assert_eq!(shown_name("."), ".");
        assert_eq!(shown_name("a\x1b[31m.test."), "a␛[31m.test");
        assert_eq!(shown_name(&"a".repeat(1000)).len(), 255);
    }

    #[test]
    fn dns_servers() {
        assert_eq!(
            parse_server("127.0.0.1:5353"),
            Ok("127.0.0.1:5353".parse().unwrap())
        );
        assert_eq!(
            parse_server("127.0.0.1"),
            Ok("127.0.0.1:53".parse().unwrap())
        );
        assert_eq!(
            parse_server("[::1]:5353"),
            Ok("[::1]:5353".parse().unwrap())
        );
        assert!(parse_server("ns.example.test").is_err());
        assert!(parse_server("127.0.0.1:0").is_err());
    }
}
