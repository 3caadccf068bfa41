//! One connection, plain TCP or TLS, as the client transport and the
//! built-in server both use it.

use std::io;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};
use tokio_rustls::TlsStream;

/// A TCP connection, plain or after a TLS handshake on either side.
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    /// A UNIX socket (`--server unix:PATH`): plain only.
    Unix(UnixStream),
}

impl Stream {
    /// The local end of the connection, under TLS or not.
    pub fn local_addr(&self) -> io::Result<std::net::SocketAddr> {
        match self {
            Stream::Plain(s) => s.local_addr(),
            Stream::Tls(s) => s.get_ref().0.local_addr(),
            Stream::Unix(_) => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "a UNIX socket has no IP address",
            )),
        }
    }

    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf).await,
            Stream::Tls(s) => s.read(buf).await,
            Stream::Unix(s) => s.read(buf).await,
        }
    }

    /// Writes all of `buf`; over TLS also flushes, so that a command is on
    /// the wire before its reply is awaited.
    pub async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.write_all(buf).await,
            Stream::Unix(s) => s.write_all(buf).await,
            Stream::Tls(s) => {
                s.write_all(buf).await?;
                s.flush().await
            }
        }
    }

    /// Closes the writing half; a peer already gone is no error here.
    pub async fn shutdown(&mut self) {
        let _ = match self {
            Stream::Plain(s) => s.shutdown().await,
            Stream::Tls(s) => s.shutdown().await,
            Stream::Unix(s) => s.shutdown().await,
        };
    }
}
