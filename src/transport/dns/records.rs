//! The lookups behind TLS's checks of a server: TLSA records for DANE
//! (RFC 6698, RFC 7672) and TXT records for MTA-STS (RFC 8461). Each
//! answer is bounded like any other, and says whether the resolver marked
//! it authentic (the AD flag), which this tool itself does not check.

use hickory_resolver::proto::rr::{RData, RecordType};

use super::hickory::{fqdn, plain};
use super::{Answer, DnsError, Hickory, Record};

/// One TLSA record: certificate usage, selector, matching type and data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tlsa {
    pub usage: u8,
    pub selector: u8,
    pub matching: u8,
    pub data: Vec<u8>,
}

impl std::fmt::Display for Tlsa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hex: String = self.data.iter().map(|b| format!("{b:02x}")).collect();
        // A long full-certificate record is cut: the start identifies it.
        let shown = if hex.len() > 64 {
            format!("{}…", &hex[..64])
        } else {
            hex
        };
        write!(
            f,
            "{} {} {} {shown}",
            self.usage, self.selector, self.matching
        )
    }
}

/// An answer and whether the resolver set the AD (authentic data) flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flagged<T> {
    pub answer: Answer<T>,
    pub authentic: bool,
}

impl Hickory {
    async fn ask_flagged(
        &self,
        name: &str,
        kind: RecordType,
    ) -> Result<(Vec<(RData, u32)>, bool), DnsError> {
        let name = fqdn(name)?;
        match tokio::time::timeout(self.limit, self.resolver.lookup(name, kind)).await {
            Err(_) => Err(DnsError::Timeout(self.limit)),
            Ok(Err(e)) => Err(plain(&e, self.limit)),
            Ok(Ok(l)) => Ok((
                l.answers()
                    .iter()
                    .filter(|r| r.record_type() == kind)
                    .map(|r| (r.data.clone(), r.ttl))
                    .collect(),
                l.message().metadata.authentic_data,
            )),
        }
    }

    /// The TLSA records of `name` (`_PORT._tcp.HOST`).
    pub async fn tlsa(&self, name: &str) -> Result<Flagged<Tlsa>, DnsError> {
        let (found, authentic) = self.ask_flagged(name, RecordType::TLSA).await?;
        let answer = Answer::new(found.into_iter().filter_map(|(d, ttl)| match d {
            RData::TLSA(t) => Some(Record {
                value: Tlsa {
                    usage: t.cert_usage.into(),
                    selector: t.selector.into(),
                    matching: t.matching.into(),
                    data: t.cert_data,
                },
                ttl,
            }),
            _ => None,
        }));
        Ok(Flagged { answer, authentic })
    }

    /// The TXT records of `name`, each one string (its parts joined, RFC
    /// 7208 3.3 style), kept as raw bytes made text without loss of
    /// meaning: invalid UTF-8 is replaced.
    pub async fn txt(&self, name: &str) -> Result<Flagged<String>, DnsError> {
        let (found, authentic) = self.ask_flagged(name, RecordType::TXT).await?;
        let answer = Answer::new(found.into_iter().filter_map(|(d, ttl)| match d {
            RData::TXT(t) => {
                let joined: Vec<u8> = t.txt_data.iter().flat_map(|p| p.iter().copied()).collect();
                Some(Record {
                    value: String::from_utf8_lossy(&joined).into_owned(),
                    ttl,
                })
            }
            _ => None,
        }));
        Ok(Flagged { answer, authentic })
    }
}
