//! A resolver that answers from a table, for tests: the demo zone's shape
//! without a network.

use std::collections::HashMap;
use std::net::IpAddr;

use super::{AddrKind, Answer, DnsError, Lookup, Mx, Record};

#[derive(Default)]
pub(crate) struct Table {
    pub mx: HashMap<String, Result<Vec<(u16, String)>, DnsError>>,
    pub addrs: HashMap<(String, &'static str), Vec<IpAddr>>,
    pub ptr: HashMap<IpAddr, Vec<String>>,
}

impl Table {
    /// example.test with a dead first MX and a live second; an implicit-MX
    /// domain; a null MX; a name that does not exist; a broken server.
    pub fn demo() -> Self {
        let mut t = Table::default();
        let mx = |v: &[(u16, &str)]| Ok(v.iter().map(|(p, h)| (*p, h.to_string())).collect());
        t.mx.insert(
            "example.test".into(),
            mx(&[(20, "mx.example.test"), (10, "dead.example.test")]),
        );
        t.mx.insert("implicit.test".into(), Err(DnsError::NoRecords));
        t.mx.insert("nullmx.test".into(), mx(&[(0, ".")]));
        t.mx.insert("broken.test".into(), Err(DnsError::ServFail));
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        t.addrs
            .insert(("dead.example.test".into(), "A"), vec![ip("127.0.0.2")]);
        t.addrs
            .insert(("mx.example.test".into(), "A"), vec![ip("127.0.0.1")]);
        t.addrs
            .insert(("mx.example.test".into(), "AAAA"), vec![ip("::1")]);
        t.addrs
            .insert(("v4only.example.test".into(), "A"), vec![ip("127.0.0.1")]);
        t.addrs
            .insert(("implicit.test".into(), "A"), vec![ip("127.0.0.1")]);
        t.ptr
            .insert(ip("127.0.0.1"), vec!["mx.example.test".into()]);
        t
    }

    fn known(&self, name: &str) -> bool {
        self.mx.contains_key(name) || self.addrs.keys().any(|(n, _)| n == name)
    }
}

fn records<T>(v: impl IntoIterator<Item = T>) -> Answer<T> {
    Answer::new(v.into_iter().map(|value| Record { value, ttl: 300 }))
}

impl Lookup for Table {
    async fn mx(&self, domain: &str) -> Result<Answer<Mx>, DnsError> {
        match self.mx.get(domain) {
            None => Err(DnsError::NxDomain),
            Some(Err(e)) => Err(e.clone()),
            Some(Ok(v)) => {
                let mut v = v.clone();
                v.sort_by_key(|(p, _)| *p);
                Ok(records(
                    v.into_iter()
                        .map(|(preference, host)| Mx { preference, host }),
                ))
            }
        }
    }

    async fn addrs(&self, host: &str, kind: AddrKind) -> Result<Answer<IpAddr>, DnsError> {
        let key = match kind {
            AddrKind::A => "A",
            AddrKind::Aaaa => "AAAA",
        };
        match self.addrs.get(&(host.to_string(), key)) {
            Some(v) => Ok(records(v.clone())),
            None if self.known(host) => Err(DnsError::NoRecords),
            None => Err(DnsError::NxDomain),
        }
    }

    async fn ptr(&self, ip: IpAddr) -> Result<Answer<String>, DnsError> {
        match self.ptr.get(&ip) {
            Some(v) => Ok(records(v.clone())),
            None => Err(DnsError::NxDomain),
        }
    }
}
