//! The resolver itself: hickory, set up from `--dns` (or the system's
//! configuration) with a bounded time per lookup, and its answers and
//! errors put in the words of [`super::DnsError`].

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts};
use hickory_resolver::net::{DnsError as HickoryDnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RData, RecordType};
use hickory_resolver::TokioResolver;

use super::{shown_name, AddrKind, Answer, DnsError, Lookup, Mx, Record};

/// The resolver's configuration from `--dns` (None: the system's), with
/// time limits that fit in `limit`. The same pair builds mail-auth's
/// `MessageAuthenticator::new(config, opts)`, so that SPF, DKIM and DMARC
/// ask the same server the connection does.
pub fn resolver_config(
    server: Option<SocketAddr>,
    limit: Duration,
) -> Result<(ResolverConfig, ResolverOpts), String> {
    let (config, mut opts) = match server {
        Some(addr) => {
            let mut ns = NameServerConfig::udp_and_tcp(addr.ip());
            for c in &mut ns.connections {
                c.port = addr.port();
            }
            let mut opts = ResolverOpts::default();
            // --dns means that server: /etc/hosts must not answer for it.
            opts.use_hosts_file = ResolveHosts::Never;
            (ResolverConfig::from_name_servers(vec![ns]), opts)
        }
        None => hickory_resolver::system_conf::read_system_conf().map_err(|e| {
            format!("cannot read the system's DNS configuration (/etc/resolv.conf): {e}; give --dns ADDR")
        })?,
    };
    // Two tries each within half the limit: a lost UDP packet is retried,
    // and the whole lookup still ends within the limit.
    opts.timeout = (limit / 2).max(Duration::from_millis(50));
    opts.attempts = 2;
    opts.cache_size = 256;
    Ok((config, opts))
}

/// A tokio resolver for `--dns` (None: the system's).
pub fn resolver(server: Option<SocketAddr>, limit: Duration) -> Result<TokioResolver, String> {
    let (config, opts) = resolver_config(server, limit)?;
    let provider = hickory_resolver::net::runtime::TokioRuntimeProvider::default();
    TokioResolver::builder_with_config(config, provider)
        .with_options(opts)
        .build()
        .map_err(|e| format!("cannot set up the DNS resolver: {e}"))
}

/// Lookups through hickory, each bounded by `limit` as a whole.
#[derive(Clone)]
pub struct Hickory {
    pub resolver: TokioResolver,
    pub limit: Duration,
}

impl Hickory {
    async fn ask(&self, name: Name, kind: RecordType) -> Result<Vec<(RData, u32)>, DnsError> {
        match tokio::time::timeout(self.limit, self.resolver.lookup(name, kind)).await {
            Err(_) => Err(DnsError::Timeout(self.limit)),
            Ok(Err(e)) => Err(plain(&e, self.limit)),
            Ok(Ok(l)) => Ok(l
                .answers()
                .iter()
                .filter(|r| r.record_type() == kind)
                .map(|r| (r.data.clone(), r.ttl))
                .collect()),
        }
    }
}

/// A name as asked: fully qualified, so that no search domain is added.
pub(super) fn fqdn(name: &str) -> Result<Name, DnsError> {
    let mut n = Name::from_utf8(name)
        .map_err(|e| DnsError::Other(format!("{} is not a domain name: {e}", shown_name(name))))?;
    n.set_fqdn(true);
    Ok(n)
}

pub(super) fn plain(e: &NetError, limit: Duration) -> DnsError {
    match e {
        NetError::Timeout => DnsError::Timeout(limit),
        _ if e.is_nx_domain() => DnsError::NxDomain,
        _ if e.is_no_records_found() => DnsError::NoRecords,
        NetError::Dns(HickoryDnsError::ResponseCode(ResponseCode::ServFail)) => DnsError::ServFail,
        NetError::Dns(HickoryDnsError::ResponseCode(ResponseCode::Refused)) => DnsError::Refused,
        other => DnsError::Other(crate::proto::visible::visible(other.to_string().as_bytes())),
    }
}

impl Lookup for Hickory {
    async fn mx(&self, domain: &str) -> Result<Answer<Mx>, DnsError> {
        let found = self.ask(fqdn(domain)?, RecordType::MX).await?;
        let mut all: Vec<Record<Mx>> = found
            .into_iter()
            .filter_map(|(d, ttl)| match d {
                RData::MX(mx) => Some(Record {
                    value: Mx {
                        preference: mx.preference,
                        host: shown_name(&mx.exchange.to_utf8()),
                    },
                    ttl,
                }),
                _ => None,
            })
            .collect();
        all.sort_by_key(|r| r.value.preference);
        Ok(Answer::new(all))
    }

    async fn addrs(&self, host: &str, kind: AddrKind) -> Result<Answer<IpAddr>, DnsError> {
        let rtype = match kind {
            AddrKind::A => RecordType::A,
            AddrKind::Aaaa => RecordType::AAAA,
        };
        let found = self.ask(fqdn(host)?, rtype).await?;
        Ok(Answer::new(found.into_iter().filter_map(|(d, ttl)| {
            let value = match d {
                RData::A(a) => IpAddr::V4(a.0),
                RData::AAAA(a) => IpAddr::V6(a.0),
                _ => return None,
            };
            Some(Record { value, ttl })
        })))
    }

    async fn ptr(&self, ip: IpAddr) -> Result<Answer<String>, DnsError> {
        let found = self.ask(Name::from(ip), RecordType::PTR).await?;
        Ok(Answer::new(found.into_iter().filter_map(
            |(d, ttl)| match d {
                RData::PTR(p) => Some(Record {
                    value: shown_name(&p.0.to_utf8()),
                    ttl,
                }),
                _ => None,
            },
        )))
    }
}
