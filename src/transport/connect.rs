//! Making the connection: resolving, connecting with a time limit, and the
//! TLS handshake, each failure said in words a user can act on.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use super::dns::mx::{self, RouteError};
use super::dns::{self, Hickory};
use super::{link, tls, ConnectOptions};
use crate::proto::client::Event;

/// Why no connection was made.
pub(super) enum Failure {
    /// No server answered, or none could be found; said plainly.
    Unreachable(String),
    /// The domain accepts no mail (null MX, RFC 7505).
    NullMx(String),
}

/// A connection made: the stream, the host name it was reached by (an MX
/// host with `--mx`) and the resolver when lookups are shown.
pub(super) struct Connected {
    pub tcp: TcpStream,
    pub host: String,
    pub dns: Option<Hickory>,
}

/// Finds the server and connects to the first address that answers: with
/// `--mx`, each MX host in turn; each failure said, then the next.
pub(super) async fn connect(
    opts: &ConnectOptions,
    emit: &mut (impl FnMut(Event) + ?Sized),
) -> Result<Connected, Failure> {
    let target = &opts.target;
    let dns = if opts.dns.shown() {
        Some(resolver(opts, emit).map_err(|m| {
            emit(Event::Error(m.clone()));
            Failure::Unreachable(m)
        })?)
    } else {
        None
    };
    let hosts = match (&dns, opts.dns.mx) {
        (Some(d), true) => match mx::hosts(d, &target.host, emit).await {
            Ok(h) => h,
            Err(RouteError::NullMx(m)) => return Err(Failure::NullMx(m)),
            Err(RouteError::Failed(m)) => {
                emit(Event::Error(m.clone()));
                return Err(Failure::Unreachable(m));
            }
        },
        _ => vec![target.host.clone()],
    };
    let mut last = format!("{} resolved to no address", target.host);
    for (i, host) in hosts.iter().enumerate() {
        if i > 0 {
            emit(Event::Info(format!("mx: trying the next host, {host}")));
        }
        let addrs = match &dns {
            Some(d) => mx::addresses(d, host, target.port, opts.dns.family, emit).await,
            None => system_addresses(host, target.port, opts, emit).await,
        };
        let addrs = match addrs.and_then(|a| link::of_local_family(host, a, opts.link.local_addr)) {
            Ok(a) => a,
            Err(m) => {
                emit(Event::Error(m.clone()));
                last = m;
                continue;
            }
        };
        for addr in addrs {
            match connect_one(addr, opts.link.local_addr, opts.timeout, emit).await {
                Ok(tcp) => {
                    return Ok(Connected {
                        tcp,
                        host: host.clone(),
                        dns,
                    })
                }
                Err(m) => last = m,
            }
        }
    }
    if hosts.len() > 1 {
        last = format!(
            "no MX host of {} could be reached (the last: {last})",
            target.host
        );
    }
    Err(Failure::Unreachable(last))
}

fn resolver(
    opts: &ConnectOptions,
    emit: &mut (impl FnMut(Event) + ?Sized),
) -> Result<Hickory, String> {
    let resolver = dns::resolver(opts.dns.server, opts.timeout)?;
    emit(Event::Info(match opts.dns.server {
        Some(s) => format!("dns: asking {s} (--dns)"),
        None => "dns: asking the system's resolver (/etc/resolv.conf)".into(),
    }));
    Ok(Hickory {
        resolver,
        limit: opts.timeout,
    })
}

/// The addresses of `host` from the system's resolver, as any program
/// finds them (/etc/hosts included), of the family asked for.
async fn system_addresses(
    host: &str,
    port: u16,
    opts: &ConnectOptions,
    emit: &mut (impl FnMut(Event) + ?Sized),
) -> Result<Vec<SocketAddr>, String> {
    let limit = opts.timeout;
    let addrs: Vec<SocketAddr> = match timeout(limit, tokio::net::lookup_host((host, port))).await {
        Ok(Ok(a)) => a.collect(),
        Ok(Err(e)) => return Err(format!("cannot resolve {host}: {e}")),
        Err(_) => {
            return Err(format!(
                "resolving {host} took longer than {}s",
                limit.as_secs_f64()
            ))
        }
    };
    let family = opts.dns.family;
    let kept: Vec<SocketAddr> = addrs
        .iter()
        .copied()
        .filter(|a| family.allows(a.ip()))
        .collect();
    if kept.is_empty() && !addrs.is_empty() {
        return Err(format!(
            "{host} has no address of the family {} asks for",
            family.flag()
        ));
    }
    if host.parse::<std::net::IpAddr>().is_err() && family != dns::Family::Any {
        emit(Event::Info(format!(
            "{host} resolved to {} ({})",
            kept.iter()
                .map(|a| a.ip().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            family.flag()
        )));
    }
    Ok(kept)
}

async fn connect_one(
    addr: SocketAddr,
    local: Option<std::net::IpAddr>,
    limit: Duration,
    emit: &mut (impl FnMut(Event) + ?Sized),
) -> Result<TcpStream, String> {
    emit(Event::Info(match local {
        Some(l) => format!("connecting to {addr} from {l} (--local-addr)"),
        None => format!("connecting to {addr}"),
    }));
    let last = match timeout(limit, link::connect_tcp(addr, local)).await {
        Ok(Ok(s)) => {
            let _ = s.set_nodelay(true);
            let local = s
                .local_addr()
                .map(|a| a.to_string())
                .unwrap_or_else(|_| "?".into());
            emit(Event::Info(format!("connected to {addr} from {local}")));
            return Ok(s);
        }
        Ok(Err(e)) => match e.kind() {
            io::ErrorKind::ConnectionRefused => format!(
                "connection to {addr} refused: nothing listens on that port, or a \
                 firewall rejects it"
            ),
            _ => format!("cannot connect to {addr}: {e}"),
        },
        Err(_) => format!(
            "no answer from {addr} within {}s (a firewall may drop the packets)",
            limit.as_secs_f64()
        ),
    };
    emit(Event::Error(last.clone()));
    Err(last)
}

/// A handshake that failed: the sentence for the outcome, and what was
/// learned on the way (the chain, what is wrong with it, DANE) to show first.
pub(super) struct Rejected {
    pub message: String,
    pub details: Vec<String>,
}

/// The TLS handshake with `setup`, within `limit`; with `--dane` the TLSA
/// records are looked up first and matched against the chain after.
pub(super) async fn handshake(
    tcp: TcpStream,
    setup: &tls::Setup,
    limit: Duration,
) -> Result<(TlsStream<TcpStream>, Vec<String>), Rejected> {
    let connector = TlsConnector::from(setup.config.clone());
    let (records, dane_lines) = match &setup.dane {
        Some(q) => tls::dane::lookup(q).await,
        None => (None, Vec::new()),
    };
    let result = timeout(limit, connector.connect(setup.connect_as.clone(), tcp)).await;
    let seen = setup.take_seen();
    let after = |details: &mut Vec<String>,
                 chain: &[rustls::pki_types::CertificateDer<'static>]| {
        details.extend(dane_lines.iter().cloned());
        if let Some(f) = &records {
            let tlsa: Vec<_> = f.answer.records.iter().map(|r| r.value.clone()).collect();
            let pkix_ok = seen.error.is_none() && !setup.insecure;
            let name_ok = tls::diagnose::leaf_carries(chain, &setup.checked);
            details.extend(tls::dane::verdict(&tlsa, chain, pkix_ok, name_ok));
        }
        details.extend(setup.save(chain));
    };
    match result {
        Ok(Ok(stream)) => {
            let mut details = tls::describe(stream.get_ref().1, setup, &seen);
            let chain: Vec<_> = stream
                .get_ref()
                .1
                .peer_certificates()
                .map(|c| c.iter().map(|d| d.clone().into_owned()).collect())
                .unwrap_or_default();
            after(&mut details, &chain);
            Ok((stream, details))
        }
        Ok(Err(e)) => {
            let mut details = if seen.chain.is_empty() {
                Vec::new()
            } else {
                setup.chain_lines(&seen)
            };
            after(&mut details, &seen.chain);
            Err(Rejected {
                message: tls::explain_handshake_error(&e, &setup.checked),
                details,
            })
        }
        Err(_) => Err(Rejected {
            message: format!(
                "the TLS handshake did not finish within {}s",
                limit.as_secs_f64()
            ),
            details: dane_lines,
        }),
    }
}
