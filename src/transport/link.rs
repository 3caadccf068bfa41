//! How the bytes reach the server besides plain TCP to the target: a UNIX
//! socket (`--server unix:PATH`), a bound local address (`--local-addr`),
//! and a PROXY header written before anything else (`--proxy`), each said
//! in the transcript.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpSocket, TcpStream, UnixStream};
use tokio::time::timeout;

use crate::proto::client::{ClientSession, Event};
use crate::proto::proxy::{self, Header, Version};

/// The transports' part of the connection options; the default is plain
/// TCP from any local address, with no header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkOptions {
    /// `--server unix:PATH`: this UNIX socket instead of TCP.
    pub unix: Option<PathBuf>,
    /// `--local-addr`: the outgoing socket is bound to this address.
    pub local_addr: Option<IpAddr>,
    /// `--proxy v1|v2 --proxy-source ADDR:PORT`: a PROXY header first,
    /// naming this source.
    pub proxy: Option<(Version, SocketAddr)>,
}

/// The socket's path when `server` is `unix:PATH`; None for a host.
pub fn unix_path(server: &str) -> Option<Result<PathBuf, String>> {
    let path = server.strip_prefix("unix:")?;
    if path.is_empty() {
        return Some(Err(
            "unix: needs the socket's path, as in unix:/run/dovecot/lmtp".into(),
        ));
    }
    Some(Ok(PathBuf::from(path)))
}

/// Connects to the UNIX socket at `path`; every failure said plainly.
pub(super) async fn connect_unix(
    path: &Path,
    limit: Duration,
    emit: &mut (impl FnMut(Event) + ?Sized),
) -> Result<UnixStream, String> {
    let shown = path.display();
    emit(Event::Info(format!(
        "connecting to the UNIX socket {shown}"
    )));
    let m = match timeout(limit, UnixStream::connect(path)).await {
        Ok(Ok(s)) => {
            emit(Event::Info(format!("connected to the UNIX socket {shown}")));
            return Ok(s);
        }
        Ok(Err(e)) => match e.kind() {
            io::ErrorKind::NotFound => format!(
                "no UNIX socket at {shown}: is the server running, and is that the path \
                 of its socket?"
            ),
            io::ErrorKind::PermissionDenied => format!(
                "not allowed to connect to the UNIX socket {shown}: the socket's owner and \
                 mode (and its directory's) decide who may"
            ),
            io::ErrorKind::ConnectionRefused => format!(
                "nothing listens on the UNIX socket {shown} (the file is there, the server \
                 is not)"
            ),
            _ => format!("cannot connect to the UNIX socket {shown}: {e}"),
        },
        Err(_) => format!(
            "the UNIX socket {shown} did not answer within {}s",
            limit.as_secs_f64()
        ),
    };
    emit(Event::Error(m.clone()));
    Err(m)
}

/// Connects to `addr` from `local` (any port), or from wherever the system
/// chooses.
pub(super) async fn connect_tcp(addr: SocketAddr, local: Option<IpAddr>) -> io::Result<TcpStream> {
    let Some(local) = local else {
        return TcpStream::connect(addr).await;
    };
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.bind(SocketAddr::new(local, 0)).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot bind to --local-addr {local}: {e} (is it an address of this machine?)"),
        )
    })?;
    socket.connect(addr).await
}

/// `--local-addr` allows only addresses of its own family: those of
/// `addrs` that it can reach, or why none is left.
pub(super) fn of_local_family(
    host: &str,
    addrs: Vec<SocketAddr>,
    local: Option<IpAddr>,
) -> Result<Vec<SocketAddr>, String> {
    let Some(local) = local else {
        return Ok(addrs);
    };
    let kept: Vec<SocketAddr> = addrs
        .iter()
        .copied()
        .filter(|a| a.is_ipv4() == local.is_ipv4())
        .collect();
    if kept.is_empty() && !addrs.is_empty() {
        let family = if local.is_ipv4() { "IPv4" } else { "IPv6" };
        return Err(format!(
            "{host} has no {family} address, and --local-addr {local} can reach only those"
        ));
    }
    Ok(kept)
}

/// Writes the PROXY header on `tcp` before anything else, the destination
/// being the address actually connected to, and has the session show it.
pub(super) async fn send_proxy_header(
    tcp: &mut TcpStream,
    (version, source): (Version, SocketAddr),
    session: &mut ClientSession,
    limit: Duration,
) -> Result<(), String> {
    let destination = tcp
        .peer_addr()
        .map_err(|e| format!("the PROXY header needs the server's address: {e}"))?;
    let header = Header {
        source,
        destination,
    };
    let bytes = header.encode(version);
    match timeout(limit, tcp.write_all(&bytes)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(format!("the PROXY header could not be sent: {e}")),
        Err(_) => {
            return Err(format!(
                "the PROXY header could not be sent within {}s",
                limit.as_secs_f64()
            ))
        }
    }
    let (shown, details) = describe(&bytes, version);
    session.handle_preamble_sent(shown, details);
    Ok(())
}

/// The header as the transcript shows it: v1 as its line, v2 as its bytes
/// and, read back from them, its fields.
fn describe(bytes: &[u8], version: Version) -> (String, Vec<String>) {
    match version {
        Version::V1 => {
            let line = String::from_utf8_lossy(bytes).trim_end().to_string();
            let why = "proxy: PROXY protocol v1 header sent before anything else; the server \
                       should now take the connection as coming from its source";
            (line, vec![why.to_string()])
        }
        Version::V2 => {
            let shown = format!(
                "[PROXY v2 header, {} bytes] {}",
                bytes.len(),
                proxy::hex(bytes)
            );
            // Two short lines rather than one long one: a pane shows them whole.
            let decoded = match proxy::decode_v2(bytes) {
                Ok(d) => {
                    let (source, destination) = d.addresses();
                    vec![
                        format!("proxy: PROXY v2 header sent before anything else: {}", d.kind()),
                        format!("proxy: source {source} (the client it speaks for), destination {destination}"),
                    ]
                }
                Err(e) => vec![format!("proxy: {e}")],
            };
            (shown, decoded)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_address_keeps_its_own_family() {
        let addrs: Vec<SocketAddr> =
            vec!["[::1]:25".parse().unwrap(), "127.0.0.1:25".parse().unwrap()];
        let v4 = Some("127.0.0.2".parse().unwrap());
        assert_eq!(
            of_local_family("mx", addrs.clone(), v4),
            Ok(vec!["127.0.0.1:25".parse().unwrap()])
        );
        let only6 = vec!["[::1]:25".parse().unwrap()];
        let e = of_local_family("mx", only6, v4).unwrap_err();
        assert_eq!(
            e,
            "mx has no IPv4 address, and --local-addr 127.0.0.2 can reach only those"
        );
        assert_eq!(of_local_family("mx", addrs.clone(), None), Ok(addrs));
    }

    #[test]
    fn the_transcript_shows_v1_as_its_line_and_v2_decoded() {
        let h = Header {
            source: "192.0.2.7:4000".parse().unwrap(),
            destination: "127.0.0.1:2528".parse().unwrap(),
        };
        let (line, _) = describe(&h.encode(Version::V1), Version::V1);
        assert_eq!(line, "PROXY TCP4 192.0.2.7 127.0.0.1 4000 2528");
        let (shown, details) = describe(&h.encode(Version::V2), Version::V2);
        assert!(
            shown.starts_with("[PROXY v2 header, 28 bytes] 0d0a 0d0a 000d 0a51"),
            "{shown}"
        );
        assert_eq!(
            details,
            [
                "proxy: PROXY v2 header sent before anything else: version 2, command PROXY, \
                 family AF_INET (IPv4), transport STREAM (TCP)",
                "proxy: source 192.0.2.7:4000 (the client it speaks for), destination \
                 127.0.0.1:2528"
            ]
        );
    }
}
