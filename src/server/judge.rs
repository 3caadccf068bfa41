//! How the built-in server judges what it accepts: SPF (MAIL FROM and
//! HELO), DKIM, DMARC and iprev through `analysis::auth`, against the DNS it
//! was given (its offline demo world unless told otherwise), within a time
//! limit; after the final dot and before the 250, as an MTA does, so that
//! the `Authentication-Results:` are in what it stores.

use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use crate::analysis::auth::{self, DnsSource, Inputs, Memo, Verdict, Zone, ZoneError};
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
    /// From an offline zone, which does not change while the server runs,
    /// SPF and iprev verdicts follow from their inputs alone: one memo
    /// serves every connection. Live DNS has TTLs: a memo per connection.
    shared: Option<Arc<Mutex<Memo>>>,
}

impl Judge {
    /// Judges with `dns`, each message within [`LIMIT`].
    pub fn new(dns: DnsSource) -> Self {
        Self {
            source: dns.describe(),
            shared: matches!(dns, DnsSource::Zone(_)).then(Arc::default),
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
        self.verdicts_again(m, client, hostname, &mut Memo::default())
            .await
    }

    /// The verdicts on `m`, the next message of a connection that kept
    /// what it judged in `memo`: SPF and iprev are judged once per
    /// connection and distinct input, as MTAs do (once per server and
    /// distinct input from an offline zone).
    pub async fn verdicts_again(
        &self,
        m: &ReceivedMessage,
        client: IpAddr,
        hostname: &str,
        memo: &mut Memo,
    ) -> Vec<Verdict> {
        let inputs = Inputs {
            message: &m.content,
            mail_from: &m.mail_from,
            helo: &m.helo,
            client_ip: client,
            receiver: hostname,
        };
        // A connection's first message starts from the server's memo and
        // leaves its own there; the lock is not held across the checks.
        let first = match &self.shared {
            Some(shared) if memo.is_empty() => {
                *memo = shared.lock().map(|m| m.clone()).unwrap_or_default();
                Some(shared)
            }
            _ => None,
        };
        let verdicts = self.checks.judge_again(&inputs, memo).await.verdicts;
        if let Some(Ok(mut kept)) = first.map(|s| s.lock()) {
            kept.clone_from(memo);
        }
        verdicts
    }
}

/// The compact form for the log: `spf=pass dkim=pass dmarc=pass iprev=pass`.
pub fn compact(verdicts: &[Verdict]) -> String {
    let mut out = String::with_capacity(verdicts.len() * 20);
    for (i, v) in verdicts.iter().enumerate() {
        let sep = if i == 0 { "" } else { " " };
        for piece in [sep, v.method.name(), "=", v.result.name()] {
            out.push_str(piece);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn received(mail_from: &str) -> ReceivedMessage {
        let content = "From: <student@client.example>\r\nTo: <alice@example.test>\r\n\
                       Subject: hi\r\n\r\nhello\r\n";
        crate::server::store::sample(mail_from, &["alice@example.test"], content).received
    }

    #[test]
    fn the_next_message_of_a_connection_gets_the_same_verdicts_and_a_new_sender_its_own() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let judge = Judge::demo().unwrap();
        let client: IpAddr = "127.0.0.1".parse().unwrap();
        let host = "demo.example.test";
        let mut memo = Memo::default();
        let mut again =
            |m: &ReceivedMessage| rt.block_on(judge.verdicts_again(m, client, host, &mut memo));
        let first = again(&received("student@client.example"));
        let second = again(&received("student@client.example"));
        assert_eq!(first, second);
        let other = again(&received("someone@example.test"));
        // A judge of its own: nothing judged before.
        let fresh = Judge::demo().unwrap();
        let fresh = rt.block_on(fresh.verdicts(&received("someone@example.test"), client, host));
        assert_eq!(other, fresh);
        assert_ne!(compact(&other), compact(&first), "{other:#?}");
        // Another connection, from the same zone: the same verdicts.
        let m = received("student@client.example");
        let next = rt.block_on(judge.verdicts_again(&m, client, host, &mut Memo::default()));
        assert_eq!(next, first);
    }
}
