//! The DNS answers the checks see, each one recorded for the transcript:
//! from an offline zone (every name answered, a miss as "no record"), or
//! from live DNS (mail-auth asks; what it learns passes through here).
//! mail-auth reaches both through its resolver caches.

use std::collections::HashMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use hickory_resolver::proto::op::ResponseCode;
use mail_auth::common::parse::TxtRecordParser;
use mail_auth::common::verify::DomainKey;
use mail_auth::dmarc::Dmarc;
use mail_auth::spf::Spf;
use mail_auth::{DnsError, DnssecStatus, Error, RecordSet, ResolverCache, Txt, MX};

use super::zone::{Names, Zone, MAX_TXT_BYTES};

/// One lookup the checks made: the query, and the answer with its TTL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    /// The name asked about, with the final dot.
    pub name: String,
    /// `TXT`, `MX`, `A`, `AAAA` or `PTR`.
    pub rtype: &'static str,
    pub answer: Answer,
}

/// What a lookup found.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Answer {
    /// The records, as text, and their TTL in seconds.
    Records(Vec<String>, u32),
    /// The name has no such record (NXDOMAIN, or no data).
    NoRecord,
    /// An answer the checks were not given (too large, say), and why.
    Refused(String),
    /// Live DNS gave nothing the checks kept: no record, or the lookup
    /// failed; the result that needed it says which.
    Unanswered,
}

impl Lookup {
    /// No record, or no address: RFC 7208 4.6.4 counts these as void.
    pub fn is_void(&self) -> bool {
        match &self.answer {
            Answer::NoRecord => true,
            Answer::Records(r, _) => r.is_empty(),
            _ => false,
        }
    }
}

impl fmt::Display for Lookup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: ", self.name, self.rtype)?;
        match &self.answer {
            Answer::Records(r, _) if r.is_empty() => f.write_str("no record"),
            Answer::Records(r, ttl) => write!(f, "{} (TTL {ttl} s)", r.join(", ")),
            Answer::NoRecord => f.write_str("no record"),
            Answer::Refused(why) => write!(f, "refused: {why}"),
            Answer::Unanswered => f.write_str("no answer kept (no record, or the lookup failed)"),
        }
    }
}

/// An offline zone's TXT records as mail-auth reads them (SPF, DKIM key,
/// DMARC policy), each parsed once and shared by every judgement against
/// that zone: it does not change while it judges. Only names the zone
/// holds are kept, so it is no larger than the zone.
#[derive(Default)]
pub struct ParsedTxt(Mutex<HashMap<String, Arc<ParsedName>>>);

/// One name's TXT records: as mail-auth reads them, and as the transcript
/// shows them (quoted, with what is not printable escaped).
struct ParsedName {
    txt: Txt,
    shown: Vec<String>,
}

impl ParsedTxt {
    fn get_or_parse(&self, name: &str, records: &[Vec<u8>]) -> Arc<ParsedName> {
        let parse = || {
            Arc::new(ParsedName {
                txt: parse_txt(name, records),
                shown: records.iter().map(|r| shown_txt(r)).collect(),
            })
        };
        let Ok(mut parsed) = self.0.lock() else {
            return parse();
        };
        if let Some(t) = parsed.get(name) {
            return Arc::clone(t);
        }
        let t = parse();
        parsed.insert(name.to_string(), Arc::clone(&t));
        t
    }
}

/// A TXT record as the transcript shows it: quoted, with what is not
/// printable escaped, so a hostile record cannot reach the terminal raw.
fn shown_txt(record: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(record))
}

/// The caches handed to mail-auth for one judgement.
pub struct Recorder {
    zone: Option<Arc<Zone>>,
    parsed: Arc<ParsedTxt>,
    /// The only address a PTR query is made for (iprev, SPF's `ptr`).
    client_ip: IpAddr,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    lookups: Vec<Lookup>,
    txt: HashMap<Box<str>, Txt>,
    mx: HashMap<Box<str>, RecordSet<MX>>,
    a: HashMap<Box<str>, RecordSet<Ipv4Addr>>,
    aaaa: HashMap<Box<str>, RecordSet<Ipv6Addr>>,
    ptr: HashMap<IpAddr, RecordSet<Box<str>>>,
}

impl Recorder {
    /// Answers from `zone` when given, else records what live DNS answers.
    pub fn new(zone: Option<Arc<Zone>>, client_ip: IpAddr) -> Self {
        Self::sharing(zone, client_ip, Arc::default())
    }

    /// As [`Self::new`], with the zone's TXT records parsed in `parsed`.
    pub fn sharing(zone: Option<Arc<Zone>>, client_ip: IpAddr, parsed: Arc<ParsedTxt>) -> Self {
        Self {
            zone,
            parsed,
            client_ip,
            state: Mutex::new(State::default()),
        }
    }

    /// The lookups so far, in the order they were made.
    pub fn lookups(&self) -> Vec<Lookup> {
        self.state
            .lock()
            .map(|s| s.lookups.clone())
            .unwrap_or_default()
    }

    fn record(&self, name: &str, rtype: &'static str, answer: Answer) {
        self.record_with(name, rtype, || answer);
    }

    /// Records the answer `answer()` gives, made only when the lookup is
    /// new or still unanswered: mail-auth's DMARC tree walk and ours ask
    /// the same names, and the answer's text is made once.
    fn record_with(&self, name: &str, rtype: &'static str, answer: impl FnOnce() -> Answer) {
        let Ok(mut s) = self.state.lock() else {
            return;
        };
        match s
            .lookups
            .iter_mut()
            .rev()
            .find(|l| l.name == name && l.rtype == rtype)
        {
            Some(l) if l.answer == Answer::Unanswered => l.answer = answer(),
            Some(_) => {}
            None => s.lookups.push(Lookup {
                name: name.to_string(),
                rtype,
                answer: answer(),
            }),
        }
    }

    /// Live DNS: a cached answer, or None (mail-auth then asks the resolver
    /// and tells [`Self::learn`]); the query is recorded either way.
    fn live<Q, V: Clone>(
        &self,
        q: &Q,
        rtype: &'static str,
        map: impl Fn(&State) -> &HashMap<Box<str>, V>,
    ) -> Option<V>
    where
        Box<str>: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let found = self.state.lock().ok().and_then(|s| map(&s).get(q).cloned());
        if found.is_none() {
            self.record(&name_of(q), rtype, Answer::Unanswered);
        }
        found
    }

    fn learn<V>(
        &self,
        key: Box<str>,
        value: V,
        rtype: &'static str,
        text: Vec<String>,
        until: Instant,
        put: impl FnOnce(&mut State, Box<str>, V),
    ) {
        let ttl = u32::try_from(until.saturating_duration_since(Instant::now()).as_secs())
            .unwrap_or(u32::MAX);
        self.record(&key, rtype, Answer::Records(text, ttl));
        if let Ok(mut s) = self.state.lock() {
            put(&mut s, key, value);
        }
    }

    /// Live DNS: `name` has no TXT record (`code` says NXDOMAIN or no data),
    /// as a lookup of ours learned. mail-auth keeps no negative answer, so
    /// this one is kept for it: the checks after ask DNS no second time, and
    /// the transcript says "no record" rather than "no answer kept".
    pub fn learn_missing(&self, name: &str, code: ResponseCode) {
        if self.zone.is_some() {
            return;
        }
        self.record(name, "TXT", Answer::NoRecord);
        if let Ok(mut s) = self.state.lock() {
            let missing = Txt::Error(Error::Dns(DnsError::RecordNotFound(code)));
            s.txt.insert(name.into(), missing);
        }
    }

    /// Whether the answers come from live DNS (no offline zone).
    pub fn is_live(&self) -> bool {
        self.zone.is_none()
    }

    /// Live DNS: `name` has no `rtype` record, as a lookup of ours asked
    /// again (mail-auth keeps no negative answer): the lookup is shown as
    /// "no record", and counts as void (RFC 7208 4.6.4). Only a TXT answer
    /// is kept for the checks; an empty address set would tell DMARC's
    /// NXDOMAIN test (RFC 9989 `np`) the name exists.
    pub fn learn_void(&self, name: &str, rtype: &'static str, code: ResponseCode) {
        if rtype == "TXT" {
            self.learn_missing(name, code);
        } else if self.is_live() {
            self.record(name, rtype, Answer::NoRecord);
        }
    }

    /// The zone's records of `name`, recorded as the answer.
    fn zone_answer<'z, T>(
        &self,
        zone: &'z Zone,
        name: &str,
        rtype: &'static str,
        pick: impl Fn(&'z Names) -> Option<&'z (u32, Vec<T>)>,
        show: impl Fn(&T) -> String,
    ) -> Option<&'z [T]> {
        match zone.get(name).and_then(pick) {
            Some((ttl, records)) => {
                self.record_with(name, rtype, || {
                    Answer::Records(records.iter().map(show).collect(), *ttl)
                });
                Some(records)
            }
            None => {
                self.record(name, rtype, Answer::NoRecord);
                None
            }
        }
    }

    fn zone_txt(&self, zone: &Zone, name: &str) -> Txt {
        let Some((ttl, records)) = zone.get(name).and_then(|n| n.txt.as_ref()) else {
            self.record(name, "TXT", Answer::NoRecord);
            return not_found();
        };
        let size: usize = records.iter().map(Vec::len).sum();
        if size > MAX_TXT_BYTES {
            let why = format!("{size} bytes of TXT, more than {MAX_TXT_BYTES}");
            self.record(name, "TXT", Answer::Refused(why.clone()));
            return Txt::Error(Error::Dns(DnsError::Resolver(why)));
        }
        let parsed = self.parsed.get_or_parse(name, records);
        self.record_with(name, "TXT", || Answer::Records(parsed.shown.clone(), *ttl));
        parsed.txt.clone()
    }
}

/// A TXT answer read as the record its name says it holds: a DKIM key
/// under `_domainkey`, a DMARC policy under `_dmarc`, else SPF. mail-auth
/// tries each record until one parses, and so does this.
fn parse_txt(name: &str, records: &[Vec<u8>]) -> Txt {
    fn first<T: TxtRecordParser + Into<Txt>>(records: &[Vec<u8>]) -> Txt {
        let mut result = Err(Error::Dns(DnsError::InvalidRecordType));
        for r in records {
            result = T::parse(r);
            if result.is_ok() {
                break;
            }
        }
        result.into()
    }
    if name.contains("._domainkey.") {
        first::<DomainKey>(records)
    } else if name.starts_with("_dmarc.") {
        first::<Dmarc>(records)
    } else {
        first::<Spf>(records)
    }
}

fn not_found() -> Txt {
    Txt::Error(Error::Dns(DnsError::RecordNotFound(ResponseCode::NXDomain)))
}

fn set<T>(items: Vec<T>) -> RecordSet<T> {
    RecordSet {
        rrset: items.into(),
        dnssec_status: DnssecStatus::Indeterminate,
    }
}

/// The name mail-auth asks about. `ResolverCache::get` is given it only as
/// some `Q: Hash` borrowed from the `Box<str>` key, and a `str` hashes as
/// its bytes and then 0xff, a byte no UTF-8 text holds: a hasher that keeps
/// the bytes gives the name back.
fn name_of<Q: Hash + ?Sized>(q: &Q) -> String {
    struct Bytes(Vec<u8>);
    impl Hasher for Bytes {
        fn finish(&self) -> u64 {
            0
        }
        fn write(&mut self, bytes: &[u8]) {
            self.0.extend_from_slice(bytes);
        }
    }
    let mut h = Bytes(Vec::with_capacity(64));
    q.hash(&mut h);
    if h.0.last() == Some(&0xff) {
        h.0.pop();
    }
    String::from_utf8(h.0).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn txt_text(t: &Txt) -> String {
    match t {
        Txt::Spf(_) | Txt::SpfMacro(_) => "an SPF record".into(),
        Txt::DomainKey(_) => "a DKIM key".into(),
        Txt::Dmarc(d) => format!("a DMARC policy (p={:?})", d.p).to_ascii_lowercase(),
        Txt::Error(e) => e.to_string(),
        _ => "a TXT record".into(),
    }
}

macro_rules! cache_by_name {
    ($v:ty, $rtype:literal, $field:ident, $zone:expr, $show:expr) => {
        impl ResolverCache<Box<str>, $v> for Recorder {
            fn get<Q>(&self, name: &Q) -> Option<$v>
            where
                Box<str>: std::borrow::Borrow<Q>,
                Q: Hash + Eq + ?Sized,
            {
                match &self.zone {
                    Some(zone) => Some($zone(self, zone.as_ref(), &name_of(name))),
                    None => self.live(name, $rtype, |s| &s.$field),
                }
            }
            fn remove<Q>(&self, _: &Q) -> Option<$v>
            where
                Box<str>: std::borrow::Borrow<Q>,
                Q: Hash + Eq + ?Sized,
            {
                None
            }
            fn insert(&self, key: Box<str>, value: $v, until: Instant) {
                let text = $show(&value);
                self.learn(key, value, $rtype, text, until, |s, k, v| {
                    s.$field.insert(k, v);
                });
            }
        }
    };
}

cache_by_name!(
    Txt,
    "TXT",
    txt,
    |r: &Recorder, z: &Zone, n: &str| r.zone_txt(z, n),
    |t: &Txt| vec![txt_text(t)]
);
cache_by_name!(
    RecordSet<MX>,
    "MX",
    mx,
    |r: &Recorder, z: &Zone, n: &str| {
        let found = r.zone_answer(z, n, "MX", |x| x.mx.as_ref(), |(p, h)| format!("{p} {h}"));
        let mut mx: Vec<(u16, String)> = found.map(<[_]>::to_vec).unwrap_or_default();
        mx.sort();
        set(mx
            .into_iter()
            .map(|(preference, host)| MX {
                preference,
                exchanges: vec![host.into_boxed_str()].into(),
            })
            .collect())
    },
    |v: &RecordSet<MX>| v
        .rrset
        .iter()
        .map(|m| format!("{} {}", m.preference, m.exchanges.join(" ")))
        .collect::<Vec<_>>()
);
cache_by_name!(
    RecordSet<Ipv4Addr>,
    "A",
    a,
    |r: &Recorder, z: &Zone, n: &str| set(r
        .zone_answer(z, n, "A", |x| x.a.as_ref(), ToString::to_string)
        .map(<[_]>::to_vec)
        .unwrap_or_default()),
    |v: &RecordSet<Ipv4Addr>| v.rrset.iter().map(ToString::to_string).collect::<Vec<_>>()
);
cache_by_name!(
    RecordSet<Ipv6Addr>,
    "AAAA",
    aaaa,
    |r: &Recorder, z: &Zone, n: &str| set(r
        .zone_answer(z, n, "AAAA", |x| x.aaaa.as_ref(), ToString::to_string)
        .map(<[_]>::to_vec)
        .unwrap_or_default()),
    |v: &RecordSet<Ipv6Addr>| v.rrset.iter().map(ToString::to_string).collect::<Vec<_>>()
);

impl ResolverCache<IpAddr, RecordSet<Box<str>>> for Recorder {
    fn get<Q>(&self, ip: &Q) -> Option<RecordSet<Box<str>>>
    where
        IpAddr: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        use std::borrow::Borrow;
        let name = Zone::reverse_name(self.client_ip);
        let asked: &Q = self.client_ip.borrow();
        if asked != ip {
            // Not the client: nothing this tool asks about; let mail-auth say.
            return None;
        }
        match &self.zone {
            Some(zone) => {
                let found = self.zone_answer(zone, &name, "PTR", |x| x.ptr.as_ref(), Clone::clone);
                let names = found.unwrap_or_default();
                Some(set(names.iter().map(|n| n.as_str().into()).collect()))
            }
            None => {
                let found = self
                    .state
                    .lock()
                    .ok()
                    .and_then(|s| s.ptr.get::<IpAddr>(&self.client_ip).cloned());
                if found.is_none() {
                    self.record(&name, "PTR", Answer::Unanswered);
                }
                found
            }
        }
    }
    fn remove<Q>(&self, _: &Q) -> Option<RecordSet<Box<str>>>
    where
        IpAddr: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        None
    }
    fn insert(&self, ip: IpAddr, value: RecordSet<Box<str>>, until: Instant) {
        let text = value.rrset.iter().map(ToString::to_string).collect();
        let name: Box<str> = Zone::reverse_name(ip).into();
        self.learn(name, (), "PTR", text, until, |_, _, _| {});
        if let Ok(mut s) = self.state.lock() {
            s.ptr.insert(ip, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_asked_for_comes_back_from_its_hash() {
        assert_eq!(name_of("client.example."), "client.example.");
        assert_eq!(name_of(""), "");
    }

    #[test]
    fn a_zone_record_is_parsed_once_for_every_judgement_sharing_it() {
        let zone = Zone::parse(
            "$ORIGIN example.\nclient.example. 60 IN TXT \"v=spf1 -all\"\n",
            "t",
            None,
        )
        .unwrap();
        let (zone, parsed) = (Arc::new(zone), Arc::new(ParsedTxt::default()));
        let spf = || {
            let r = Recorder::sharing(
                Some(zone.clone()),
                "192.0.2.9".parse().unwrap(),
                parsed.clone(),
            );
            let txt: Option<Txt> = r.get("client.example.");
            assert_eq!(
                r.lookups().len(),
                1,
                "each judgement still records its lookup"
            );
            match txt {
                Some(Txt::Spf(spf)) => spf,
                _ => panic!("not SPF"),
            }
        };
        assert!(Arc::ptr_eq(&spf(), &spf()));
    }

    #[test]
    fn a_zone_answers_every_name_and_records_each_lookup_once() {
        let zone = Zone::parse(
            "$ORIGIN client.example.\n$TTL 60\n@ IN TXT \"v=spf1 -all\"\nmx IN A 192.0.2.1\n",
            "t",
            None,
        )
        .unwrap();
        let r = Recorder::new(Some(Arc::new(zone)), "192.0.2.9".parse().unwrap());
        let txt: Option<Txt> = r.get("client.example.");
        assert!(matches!(txt, Some(Txt::Spf(_))));
        let _: Option<Txt> = r.get("client.example.");
        let missing: Option<Txt> = r.get("nowhere.example.");
        assert!(matches!(missing, Some(Txt::Error(_))));
        let a: Option<RecordSet<Ipv4Addr>> = r.get("mx.client.example.");
        assert_eq!(a.unwrap().rrset.len(), 1);
        let shown: Vec<String> = r.lookups().iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "client.example. TXT: \"v=spf1 -all\" (TTL 60 s)",
                "nowhere.example. TXT: no record",
                "mx.client.example. A: 192.0.2.1 (TTL 60 s)",
            ]
        );
    }
}
