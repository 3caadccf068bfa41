//! Where mail for a domain goes, as an MTA finds it (RFC 5321 5.1): the MX
//! hosts in preference order, the domain itself when it has no MX (the
//! implicit MX), nowhere when it publishes a null MX (RFC 7505); then each
//! host's addresses, of the family `-4`/`-6` chose. Each lookup is a line.

use std::net::{IpAddr, SocketAddr};

use super::{line, shown_name, DnsError, Family, Lookup};
use crate::proto::client::Event;
use crate::proto::command::Address;

/// The most MX hosts tried; a hostile zone may list hundreds.
pub const MAX_HOSTS: usize = 10;

/// Why there is nowhere to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteError {
    /// The domain says it accepts no mail (RFC 7505): a permanent refusal.
    NullMx(String),
    /// No host could be found, said plainly.
    Failed(String),
}

/// The domain of a recipient as `--rcpt` or the envelope pane gives it
/// ("ADDR [PARAM...]", with or without angle brackets).
pub fn recipient_domain(rcpt: &str) -> Option<String> {
    let addr = rcpt.split_whitespace().next()?;
    let addr = addr.trim_start_matches('<').trim_end_matches('>');
    let domain = Address::new(addr).ok()?.domain()?.to_string();
    (!domain.is_empty()).then_some(domain)
}

/// The hosts mail for `domain` goes to, most preferred first.
pub async fn hosts<L: Lookup>(
    dns: &L,
    domain: &str,
    emit: &mut (impl FnMut(Event) + ?Sized),
) -> Result<Vec<String>, RouteError> {
    let domain = shown_name(domain);
    let answer = dns.mx(&domain).await;
    emit(Event::Info(line("MX", &domain, &answer)));
    match answer {
        Ok(a) if a.records.iter().any(|r| r.value.host == ".") => {
            let m = format!(
                "{domain} publishes a null MX (\"0 .\", RFC 7505): it accepts no mail at all"
            );
            emit(Event::Info(format!("mx: {m}")));
            Err(RouteError::NullMx(m))
        }
        Ok(a) if !a.records.is_empty() => {
            let mut hosts: Vec<String> = Vec::new();
            for r in a.records {
                if !hosts.contains(&r.value.host) && hosts.len() < MAX_HOSTS {
                    hosts.push(r.value.host);
                }
            }
            emit(Event::Info(format!(
                "mx: mail for {domain} goes to {} (lowest preference first)",
                hosts.join(", then ")
            )));
            Ok(hosts)
        }
        Ok(_) | Err(DnsError::NoRecords) => {
            emit(Event::Info(format!(
                "mx: {domain} has no MX records: mail goes to the domain's own address \
                 (the implicit MX, RFC 5321 5.1)"
            )));
            Ok(vec![domain])
        }
        Err(DnsError::NxDomain) => Err(RouteError::Failed(format!(
            "{domain} does not exist (NXDOMAIN): no mail can go there"
        ))),
        Err(e) => Err(RouteError::Failed(format!(
            "the MX lookup for {domain} failed: {e}; an MTA would keep the message and try later"
        ))),
    }
}

/// The addresses of `host` on `port`, of the family asked for; each lookup
/// a line. An address literal is itself.
pub async fn addresses<L: Lookup>(
    dns: &L,
    host: &str,
    port: u16,
    family: Family,
    emit: &mut (impl FnMut(Event) + ?Sized),
) -> Result<Vec<SocketAddr>, String> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return if family.allows(ip) {
            Ok(vec![SocketAddr::new(ip, port)])
        } else {
            Err(format!(
                "{ip} is not of the family {} asks for",
                family.flag()
            ))
        };
    }
    let mut found = Vec::new();
    let mut why = Vec::new();
    for &kind in family.kinds() {
        let answer = dns.addrs(host, kind).await;
        emit(Event::Info(line(&kind.to_string(), host, &answer)));
        match answer {
            Ok(a) => found.extend(
                a.records
                    .into_iter()
                    .map(|r| SocketAddr::new(r.value, port)),
            ),
            Err(e) => why.push(format!("{kind}: {e}")),
        }
    }
    if found.is_empty() {
        let kinds: Vec<String> = family.kinds().iter().map(|k| k.to_string()).collect();
        return Err(format!(
            "{host} has no {} address ({})",
            kinds.join(" or "),
            why.join("; ")
        ));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::super::table::Table;
    use super::*;

    fn run<T>(f: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }

    fn hosts_of(t: &Table, domain: &str) -> (Result<Vec<String>, RouteError>, Vec<String>) {
        let mut lines = Vec::new();
        let r = run(hosts(t, domain, &mut |e| {
            if let Event::Info(s) = e {
                lines.push(s)
            }
        }));
        (r, lines)
    }

    #[test]
    fn recipient_domains() {
        let d = |s: &str| recipient_domain(s);
        assert_eq!(d("bob@example.test"), Some("example.test".into()));
        assert_eq!(
            d("<bob@example.test> NOTIFY=NEVER"),
            Some("example.test".into())
        );
        assert_eq!(d("postmaster"), None);
        assert_eq!(d(""), None);
    }

    #[test]
    fn mx_hosts_in_preference_order() {
        let t = Table::demo();
        let (r, lines) = hosts_of(&t, "example.test");
        assert_eq!(
            r,
            Ok(vec!["dead.example.test".into(), "mx.example.test".into()])
        );
        assert_eq!(
            lines[0],
            "dns: MX example.test → 10 dead.example.test (TTL 300), 20 mx.example.test (TTL 300)"
        );
        assert!(
            lines[1].contains("dead.example.test, then mx.example.test"),
            "{lines:?}"
        );
    }

    #[test]
    fn implicit_mx_null_mx_and_nxdomain() {
        let t = Table::demo();
        let (r, lines) = hosts_of(&t, "implicit.test");
        assert_eq!(r, Ok(vec!["implicit.test".into()]));
        assert!(lines[1].contains("implicit MX"), "{lines:?}");

        let (r, lines) = hosts_of(&t, "nullmx.test");
        assert!(matches!(r, Err(RouteError::NullMx(m)) if m.contains("RFC 7505")));
        assert_eq!(lines[0], "dns: MX nullmx.test → 0 . (TTL 300)");

        let (r, _) = hosts_of(&t, "nowhere.test");
        assert!(matches!(r, Err(RouteError::Failed(m)) if m.contains("NXDOMAIN")));

        let (r, _) = hosts_of(&t, "broken.test");
        assert!(matches!(r, Err(RouteError::Failed(m)) if m.contains("SERVFAIL")));
    }

    #[test]
    fn addresses_by_family() {
        let t = Table::demo();
        let mut lines = Vec::new();
        let mut emit = |e: Event| {
            if let Event::Info(s) = e {
                lines.push(s)
            }
        };
        let any = run(addresses(&t, "mx.example.test", 25, Family::Any, &mut emit));
        assert_eq!(
            any,
            Ok(vec![
                "127.0.0.1:25".parse().unwrap(),
                "[::1]:25".parse().unwrap()
            ])
        );
        let v6 = run(addresses(&t, "mx.example.test", 25, Family::V6, &mut emit));
        assert_eq!(v6, Ok(vec!["[::1]:25".parse().unwrap()]));
        let none = run(addresses(
            &t,
            "v4only.example.test",
            25,
            Family::V6,
            &mut emit,
        ));
        assert!(matches!(none, Err(m) if m.contains("has no AAAA address")));
        let lit = run(addresses(&t, "127.0.0.1", 2525, Family::V6, &mut emit));
        assert!(lit.is_err());
        assert!(lines.contains(&"dns: AAAA mx.example.test → ::1 (TTL 300)".to_string()));
    }
}
