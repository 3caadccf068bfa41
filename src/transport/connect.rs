//! Making the connection: resolving, connecting with a time limit, and the
//! TLS handshake, each failure said in words a user can act on.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use super::{tls, Target};
use crate::proto::client::Event;

pub(super) async fn connect(
    target: &Target,
    limit: Duration,
    emit: &mut (impl FnMut(Event) + ?Sized),
) -> Result<TcpStream, String> {
    let addrs: Vec<SocketAddr> = match timeout(
        limit,
        tokio::net::lookup_host((target.host.as_str(), target.port)),
    )
    .await
    {
        Ok(Ok(a)) => a.collect(),
        Ok(Err(e)) => {
            let m = format!("cannot resolve {}: {e}", target.host);
            emit(Event::Error(m.clone()));
            return Err(m);
        }
        Err(_) => {
            let m = format!(
                "resolving {} took longer than {}s",
                target.host,
                limit.as_secs_f64()
            );
            emit(Event::Error(m.clone()));
            return Err(m);
        }
    };
    let mut last = format!("{} resolved to no address", target.host);
    for addr in addrs {
        emit(Event::Info(format!("connecting to {addr}")));
        match timeout(limit, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => {
                let _ = s.set_nodelay(true);
                let local = s
                    .local_addr()
                    .map(|a| a.to_string())
                    .unwrap_or_else(|_| "?".into());
                emit(Event::Info(format!("connected to {addr} from {local}")));
                return Ok(s);
            }
            Ok(Err(e)) => {
                last = match e.kind() {
                    io::ErrorKind::ConnectionRefused => format!(
                        "connection to {addr} refused: nothing listens on that port, or a \
                         firewall rejects it"
                    ),
                    _ => format!("cannot connect to {addr}: {e}"),
                };
                emit(Event::Error(last.clone()));
            }
            Err(_) => {
                last = format!(
                    "no answer from {addr} within {}s (a firewall may drop the packets)",
                    limit.as_secs_f64()
                );
                emit(Event::Error(last.clone()));
            }
        }
    }
    Err(last)
}

pub(super) async fn handshake(
    tcp: TcpStream,
    config: &Arc<rustls::ClientConfig>,
    source: &str,
    name: &rustls::pki_types::ServerName<'static>,
    limit: Duration,
) -> Result<(TlsStream<TcpStream>, Vec<String>), String> {
    let connector = TlsConnector::from(config.clone());
    let name_text = name.to_str().to_string();
    match timeout(limit, connector.connect(name.clone(), tcp)).await {
        Ok(Ok(tls)) => {
            let details = tls::describe(tls.get_ref().1, source, &name_text);
            Ok((tls, details))
        }
        Ok(Err(e)) => Err(tls::explain_handshake_error(&e, &name_text)),
        Err(_) => Err(format!(
            "the TLS handshake did not finish within {}s",
            limit.as_secs_f64()
        )),
    }
}
