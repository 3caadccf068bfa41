//! How the built-in server judges what it accepts: SPF (MAIL FROM and
//! HELO), DKIM, DMARC and iprev through `analysis::auth`, against the DNS it
//! was given (its offline demo world unless told otherwise), within a time
//! limit; after the final dot and before the 250, as an MTA does, so that
//! the `Authentication-Results:` are in what it stores.

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::analysis::auth::{self, DnsSource, Inputs, Verdict, Zone, ZoneError};
use crate::proto::server::ReceivedMessage;

/// How long one message's checks may take in all: a check still waiting
/// then is a `temperror`. Short next to a client's 10-minute wait for the
/// reply to the final dot (RFC 5321, section 4.5.3.2.6), long enough for
/// live DNS to answer twice.
pub const LIMIT: Duration = Duration::from_secs(5);

/// The DNS the server judges with, made ready once and shared by every
/// connection.
#[derive(Debug, Clone)]
pub struct Judge {
    checks: auth::Judge,
    /// Where the answers come from, in words.
    source: String,
}

impl Judge {
    /// Judges with `dns`, each message within [`LIMIT`].
    pub fn new(dns: DnsSource) -> Self {
        Self {
            source: dns.describe(),
            checks: auth::Judge::new(dns, LIMIT),
        }
    }

    /// Judges from `zone`, read from the file `name`.
    pub fn zone(zone: Zone, name: &str) -> Self {
        Self {
            source: format!("the zone file {name} (no DNS server asked)"),
            ..Self::new(DnsSource::Zone(Arc::new(zone)))
        }
    }

    /// The offline demo world (`assets/zone/`), read once per process and
    /// shared by every server started in it.
    pub fn demo() -> Result<Self, ZoneError> {
        static DEMO: OnceLock<Arc<Zone>> = OnceLock::new();
        let zone = match DEMO.get() {
            Some(z) => z.clone(),
            None => {
                let read = Arc::new(Zone::demo()?);
                DEMO.get_or_init(|| read).clone()
            }
        };
        Ok(Self {
            source: "the offline demo zone of example.test and client.example \
                     (no DNS server asked)"
                .into(),
            ..Self::new(DnsSource::Zone(zone))
        })
    }

    /// Where the answers come from, in words, for the startup message.
    pub fn describe(&self) -> &str {
        &self.source
    }

    /// The verdicts on `m` as `hostname` receives it from `client`.
    pub async fn verdicts(
        &self,
        m: &ReceivedMessage,
        client: IpAddr,
        hostname: &str,
    ) -> Vec<Verdict> {
        let inputs = Inputs {
            message: &m.content,
            mail_from: &m.mail_from,
            helo: &m.helo,
            client_ip: client,
            receiver: hostname,
        };
        self.checks.judge(&inputs).await.verdicts
    }
}

/// The compact form for the log: `spf=pass dkim=pass dmarc=pass iprev=pass`.
pub fn compact(verdicts: &[Verdict]) -> String {
    verdicts
        .iter()
        .map(|v| format!("{}={}", v.method.name(), v.result))
        .collect::<Vec<_>>()
        .join(" ")
}
