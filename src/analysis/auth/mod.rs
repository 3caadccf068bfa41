//! Authentication as a receiver would judge it: SPF for MAIL FROM's domain
//! and for the HELO name, each DKIM signature, the From: domain's DMARC
//! policy with alignment, and iprev for the client's address; each result
//! with one sentence tying it to the envelope and the headers, and every DNS
//! lookup made on the way. Used before sending (`send`, the workbench's F2)
//! and by the built-in server on receipt. No terminal and no printing.

mod checks;
pub mod lookups;
mod memo;
pub mod orgdomain;
pub mod sentence;
pub mod verdict;
pub mod zone;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig, ResolverOpts};
use mail_auth::MessageAuthenticator;

pub use lookups::{Answer, Lookup};
pub use memo::Memo;
pub use orgdomain::OrgDomains;
pub use verdict::{authentication_results, Alignment, Method, Outcome, Verdict};
pub use zone::{Zone, ZoneError};

/// Where the checks' DNS answers come from.
#[derive(Debug, Clone)]
pub enum DnsSource {
    /// The system's resolver (`/etc/resolv.conf`).
    System,
    /// A resolver at this address (`--dns HOST[:PORT]`).
    Server(SocketAddr),
    /// An offline zone: each name answered from it, any other as "no record".
    Zone(Arc<Zone>),
}

impl DnsSource {
    /// Where the answers come from, in words, for the first `auth:` line.
    pub fn describe(&self) -> String {
        match self {
            Self::System => "the system's resolver".into(),
            Self::Server(a) => format!("the DNS server at {a}"),
            Self::Zone(_) => "the offline zone (no DNS server asked)".into(),
        }
    }
}

/// What is judged: the message as it will go, its envelope, and the
/// address the receiver sees the client connect from.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// The message (header fields and body), CRLF line ends, not dot-stuffed.
    pub message: &'a [u8],
    /// MAIL FROM's address; empty for the null sender.
    pub mail_from: &'a str,
    /// The name given in HELO/EHLO.
    pub helo: &'a str,
    pub client_ip: IpAddr,
    /// The receiver's own name (SPF's `%{r}`; Authentication-Results).
    pub receiver: &'a str,
}

/// The results, in the order SPF (HELO), SPF (MAIL FROM), DKIM, DMARC,
/// iprev, and the lookups they made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    pub verdicts: Vec<Verdict>,
    pub lookups: Vec<Lookup>,
}

/// Judges `inputs` with DNS from `dns`, all of it within `limit`: a check
/// still waiting for DNS then is a `temperror` saying so.
pub async fn judge(inputs: &Inputs<'_>, dns: &DnsSource, limit: Duration) -> Judgement {
    Judge::new(dns.clone(), limit).judge(inputs).await
}

/// The checks' DNS made ready once, for a caller that judges many messages
/// (the built-in server): making mail-auth's resolver reads the system's
/// root certificates, which per message cost more than the checks.
#[derive(Clone)]
pub struct Judge {
    authenticator: Result<Arc<MessageAuthenticator>, String>,
    dns: DnsSource,
    limit: Duration,
    /// The zone's TXT records, parsed once for every message judged.
    parsed: Arc<lookups::ParsedTxt>,
}

impl Judge {
    pub fn new(dns: DnsSource, limit: Duration) -> Self {
        Self {
            authenticator: authenticator(&dns, limit).map(Arc::new),
            parsed: Arc::default(),
            dns,
            limit,
        }
    }

    /// Judges `inputs`, all of it within the limit.
    pub async fn judge(&self, inputs: &Inputs<'_>) -> Judgement {
        self.judge_again(inputs, &mut Memo::default()).await
    }

    /// Judges `inputs` as the next message of a connection that judged
    /// before into `memo`: SPF and iprev come from it when their inputs are
    /// the same (their lookups are then not among the judgement's).
    pub async fn judge_again(&self, inputs: &Inputs<'_>, memo: &mut Memo) -> Judgement {
        let authenticator = match &self.authenticator {
            Ok(a) => a,
            Err(e) => return checks::unreachable_dns(inputs, e),
        };
        let zone = match &self.dns {
            DnsSource::Zone(z) => Some(z.clone()),
            _ => None,
        };
        let recorder = lookups::Recorder::sharing(zone, inputs.client_ip, self.parsed.clone());
        let deadline = tokio::time::Instant::now() + self.limit;
        let verdicts =
            checks::run(authenticator, &recorder, inputs, memo, deadline, self.limit).await;
        Judgement {
            verdicts,
            lookups: recorder.lookups(),
        }
    }
}

impl std::fmt::Debug for Judge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Judge")
            .field("dns", &self.dns)
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

fn authenticator(dns: &DnsSource, limit: Duration) -> Result<MessageAuthenticator, String> {
    let mut opts = ResolverOpts::default();
    opts.timeout = limit.min(Duration::from_secs(5));
    opts.attempts = 2;
    let config = match dns {
        DnsSource::System => {
            return MessageAuthenticator::new_system_conf().map_err(|e| e.to_string())
        }
        DnsSource::Server(addr) => {
            let connections = [ConnectionConfig::udp(), ConnectionConfig::tcp()]
                .into_iter()
                .map(|mut c| {
                    c.port = addr.port();
                    c
                })
                .collect();
            ResolverConfig::from_parts(
                None,
                vec![],
                vec![NameServerConfig::new(addr.ip(), true, connections)],
            )
        }
        // Every question is answered from the zone before a resolver is
        // asked: it has no server to ask.
        DnsSource::Zone(_) => ResolverConfig::from_parts(None, vec![], vec![]),
    };
    MessageAuthenticator::new(config, opts).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests;
