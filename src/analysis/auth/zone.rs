//! The offline DNS world: a standard zone file (RFC 1035, section 5) read
//! into the answers the authentication checks ask for (TXT, MX, A, AAAA,
//! PTR), so a class or a test needs no DNS server.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::proto::serialize::txt::Parser;

/// The most TXT bytes one name may answer with. A larger answer needs TCP
/// and is a favourite of hostile zones (RFC 7208, section 3.4 asks records
/// to stay within 450 bytes); the answer is refused instead of read.
pub const MAX_TXT_BYTES: usize = 4096;

/// Every file of `assets/zone/`, each read into [`Zone::demo`].
const DEMO_FILES: [(&str, &str); 6] = [
    (
        "example.test.zone",
        include_str!("../../../assets/zone/example.test.zone"),
    ),
    (
        "examp1e.test.zone",
        include_str!("../../../assets/zone/examp1e.test.zone"),
    ),
    (
        "client.example.zone",
        include_str!("../../../assets/zone/client.example.zone"),
    ),
    (
        "127.in-addr.arpa.zone",
        include_str!("../../../assets/zone/127.in-addr.arpa.zone"),
    ),
    ("test.zone", include_str!("../../../assets/zone/test.zone")),
    (
        "example.zone",
        include_str!("../../../assets/zone/example.zone"),
    ),
];

/// One name's records, each record set with its TTL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Names {
    /// Each TXT record's strings joined, as RFC 7208 3.3 and RFC 6376 3.6.2.2 read them.
    pub txt: Option<(u32, Vec<Vec<u8>>)>,
    pub mx: Option<(u32, Vec<(u16, String)>)>,
    pub a: Option<(u32, Vec<Ipv4Addr>)>,
    pub aaaa: Option<(u32, Vec<Ipv6Addr>)>,
    pub ptr: Option<(u32, Vec<String>)>,
}

/// A zone: every name (lower case, with the final dot) and its records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Zone {
    names: HashMap<String, Names>,
}

/// A zone file that cannot be read, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("zone {source_name}: {message}")]
pub struct ZoneError {
    pub source_name: String,
    pub message: String,
}

impl Zone {
    /// Reads a zone file; `$INCLUDE` is taken relative to it.
    pub fn read(path: &Path) -> Result<Self, ZoneError> {
        let text = std::fs::read_to_string(path).map_err(|e| ZoneError {
            source_name: path.display().to_string(),
            message: e.to_string(),
        })?;
        Self::parse(&text, &path.display().to_string(), Some(path))
    }

    /// Parses zone text; `name` says where it came from in errors.
    pub fn parse(text: &str, name: &str, path: Option<&Path>) -> Result<Self, ZoneError> {
        let parser = Parser::new(text, path.map(Path::to_path_buf), None);
        let (_, sets) = parser.parse().map_err(|e| ZoneError {
            source_name: name.to_string(),
            message: e.to_string(),
        })?;
        let mut zone = Zone::default();
        for (key, set) in sets {
            let owner = fqdn(&key.name.to_string());
            let ttl = set.ttl();
            let entry = zone.names.entry(owner).or_default();
            let data: Vec<&RData> = set.records_without_rrsigs().map(|r| &r.data).collect();
            match key.record_type {
                RecordType::TXT => entry.txt = Some((ttl, collect(&data, txt_of))),
                RecordType::MX => entry.mx = Some((ttl, collect(&data, mx_of))),
                RecordType::A => entry.a = Some((ttl, collect(&data, a_of))),
                RecordType::AAAA => entry.aaaa = Some((ttl, collect(&data, aaaa_of))),
                RecordType::PTR => entry.ptr = Some((ttl, collect(&data, ptr_of))),
                _ => {}
            }
        }
        Ok(zone)
    }

    /// The demo world that ships with the tool (`assets/zone/`): example.test
    /// and its look-alike, the demo sender's client.example, loopback's
    /// reverse zone, and stubs of the parents `test.` and `example.`. The
    /// same files a real DNS server serves in the tests.
    pub fn demo() -> Result<Self, ZoneError> {
        let mut zone = Zone::default();
        for (name, text) in DEMO_FILES {
            zone.names.extend(Self::parse(text, name, None)?.names);
        }
        Ok(zone)
    }

    /// The records of `name` (any case, with or without the final dot).
    pub fn get(&self, name: &str) -> Option<&Names> {
        // Names asked as the zone keeps them (mail-auth asks for FQDNs)
        // are looked up without a copy.
        if name.ends_with('.') && !name.bytes().any(|b| b.is_ascii_uppercase()) {
            return self.names.get(name);
        }
        self.names.get(&fqdn(name))
    }

    /// The name a PTR query for `ip` asks about (RFC 1035 3.5, RFC 3596 2.5).
    pub fn reverse_name(ip: IpAddr) -> String {
        match ip {
            IpAddr::V4(v4) => {
                let o = v4.octets();
                format!("{}.{}.{}.{}.in-addr.arpa.", o[3], o[2], o[1], o[0])
            }
            IpAddr::V6(v6) => {
                let mut s = String::with_capacity(73);
                for byte in v6.octets().iter().rev() {
                    s.push_str(&format!("{:x}.{:x}.", byte & 0xf, byte >> 4));
                }
                s.push_str("ip6.arpa.");
                s
            }
        }
    }
}

/// Lower case with the final dot: the one spelling of a name used as a key.
pub fn fqdn(name: &str) -> String {
    let mut s = name.to_ascii_lowercase();
    if !s.ends_with('.') {
        s.push('.');
    }
    s
}

fn collect<T>(data: &[&RData], f: impl Fn(&RData) -> Option<T>) -> Vec<T> {
    data.iter().filter_map(|d| f(d)).collect()
}

fn txt_of(d: &RData) -> Option<Vec<u8>> {
    match d {
        RData::TXT(t) => Some(t.txt_data.iter().flat_map(|s| s.iter().copied()).collect()),
        _ => None,
    }
}

fn mx_of(d: &RData) -> Option<(u16, String)> {
    match d {
        RData::MX(m) => Some((m.preference, fqdn(&m.exchange.to_string()))),
        _ => None,
    }
}

fn a_of(d: &RData) -> Option<Ipv4Addr> {
    match d {
        RData::A(a) => Some(a.0),
        _ => None,
    }
}

fn aaaa_of(d: &RData) -> Option<Ipv6Addr> {
    match d {
        RData::AAAA(a) => Some(a.0),
        _ => None,
    }
}

fn ptr_of(d: &RData) -> Option<String> {
    match d {
        RData::PTR(p) => Some(fqdn(&p.0.to_string())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {

    /// The demo world reads whole: the keys, the policies and the hostile
    /// records the lessons and tests rely on are there as written.
    #[test]
    fn the_demo_world_reads_as_written() {
        let zone = Zone::demo().unwrap();
        let txt = |name: &str| {
            let (_, records) = zone.get(name).and_then(|n| n.txt.clone()).unwrap();
            records
                .iter()
                .map(|r| String::from_utf8_lossy(r).into_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(txt("client.example"), ["v=spf1 ip4:127.0.0.0/8 -all"]);
        assert_eq!(
            txt("_dmarc.example.test"),
            ["v=DMARC1; p=reject; adkim=r; aspf=r"]
        );
        // The published key is the demo key's public half, in both domains.
        let key = crate::message::dkim::DkimKey::from_pem(include_bytes!(
            "../../../assets/dkim/demo.key"
        ))
        .unwrap();
        assert_eq!(txt("demo._domainkey.client.example"), [key.record_value()]);
        assert_eq!(txt("demo._domainkey.example.test"), [key.record_value()]);
        assert!(txt("big.hostile.example.test")[0].len() > MAX_TXT_BYTES);
        let (_, mx) = zone.get("example.test").and_then(|n| n.mx.clone()).unwrap();
        assert_eq!(mx.len(), 2);
        assert!(zone.get("examp1e.test").is_some(), "the look-alike");
        assert!(zone
            .get("1.0.0.127.in-addr.arpa")
            .is_some_and(|n| n.ptr.is_some()));
    }

    use super::*;

    /// The offline world and the DNS server in the tests read the same
    /// files: every `assets/zone/*.zone` is in the demo world.
    #[test]
    fn the_demo_world_is_every_zone_file_in_assets() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/zone");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".zone"))
            .collect();
        on_disk.sort();
        let mut read: Vec<String> = DEMO_FILES.iter().map(|(n, _)| n.to_string()).collect();
        read.sort();
        assert_eq!(read, on_disk);
    }

    /// The parents' stubs hold an SOA and NS only: read without error, and
    /// nothing a check asks for (so `_dmarc.test.` is "no record").
    #[test]
    fn the_parent_stubs_read_and_answer_nothing() {
        for (file, apex) in [("test.zone", "test."), ("example.zone", "example.")] {
            let (_, text) = DEMO_FILES.iter().find(|(n, _)| *n == file).unwrap();
            let zone = Zone::parse(text, file, None).unwrap();
            assert_eq!(zone.get(apex), Some(&Names::default()), "{file}");
            assert!(zone.get(&format!("_dmarc.{apex}")).is_none());
        }
        let demo = Zone::demo().unwrap();
        assert!(demo.get("_dmarc.test.").is_none() && demo.get("_dmarc.example.").is_none());
        assert!(
            demo.get("_dmarc.example.test.").is_some(),
            "the child's records stay"
        );
    }

    const ZONE: &str = "\
$ORIGIN client.example.
$TTL 300
@        IN TXT \"v=spf1 ip4:192.0.2.0/24 \" \"-all\"
@        IN MX 10 mx.client.example.
mx       IN A 192.0.2.25
_dmarc   3600 IN TXT \"v=DMARC1; p=reject\"
25.2.0.192.in-addr.arpa. IN PTR mx.client.example.
";

    #[test]
    fn a_zone_file_gives_each_name_its_records() {
        let zone = Zone::parse(ZONE, "test", None).unwrap();
        let apex = zone.get("Client.Example").unwrap();
        assert_eq!(
            apex.txt,
            Some((300, vec![b"v=spf1 ip4:192.0.2.0/24 -all".to_vec()]))
        );
        assert_eq!(
            apex.mx,
            Some((300, vec![(10, "mx.client.example.".into())]))
        );
        assert_eq!(
            zone.get("_dmarc.client.example.")
                .unwrap()
                .txt
                .as_ref()
                .unwrap()
                .0,
            3600
        );
        let ptr = Zone::reverse_name("192.0.2.25".parse().unwrap());
        assert_eq!(ptr, "25.2.0.192.in-addr.arpa.");
        assert_eq!(
            zone.get(&ptr).unwrap().ptr,
            Some((300, vec!["mx.client.example.".into()]))
        );
    }

    #[test]
    fn the_reverse_name_of_an_ipv6_address_is_its_nibbles() {
        let name = Zone::reverse_name("2001:db8::1".parse().unwrap());
        assert!(name.starts_with("1.0.0.0.0.0.0.0."), "{name}");
        assert!(name.ends_with(".8.b.d.0.1.0.0.2.ip6.arpa."), "{name}");
    }

    #[test]
    fn strings_on_one_line_are_joined_and_parentheses_are_not_read_well() {
        let zone = Zone::parse(
            "$ORIGIN a.example.\n$TTL 1\nx IN TXT \"a;\" \"b\"\n",
            "t",
            None,
        );
        assert_eq!(
            zone.unwrap().get("x.a.example").unwrap().txt,
            Some((1, vec![b"a;b".to_vec()]))
        );
        // hickory 0.26 keeps the quotes of strings inside ( ), and reads a
        // ';' there as a comment: records to publish go on one line.
        assert!(Zone::parse("x.a.example. 1 IN TXT ( \"a;\" )\n", "t", None).is_err());
    }

    #[test]
    fn a_broken_zone_file_is_an_error_naming_it() {
        let err = Zone::parse("@ IN TXT", "broken.zone", None).unwrap_err();
        assert_eq!(err.source_name, "broken.zone");
    }
}
