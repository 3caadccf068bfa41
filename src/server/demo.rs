//! The built-in demo server as the workbench and `send` start it in this
//! process: on a loopback port of its own, with a certificate made at start
//! that the client then trusts exactly (and no other), judging what it
//! accepts against the offline demo world.

use std::net::SocketAddr;

use rustls::pki_types::CertificateDer;
use tokio::sync::mpsc;

use super::{tls, Judge, LogEvent, ServerHandle, ServerOptions, StoreLimits};
use crate::proto::server::Policy;
use crate::transport::{Target, TlsOptions};

/// The name in the demo server's greeting and certificate.
const HOSTNAME: &str = "demo.example.test";

/// A demo server running in this process.
pub struct Demo {
    pub handle: ServerHandle,
    certificate: CertificateDer<'static>,
}

impl Demo {
    /// Starts the demo server with `policy`; events go to `log` (a closed
    /// receiver is fine).
    pub async fn start(
        policy: Policy,
        log: mpsc::UnboundedSender<LogEvent>,
    ) -> Result<Self, String> {
        let identity = tls::generate(&[HOSTNAME.into(), "localhost".into(), "127.0.0.1".into()])
            .map_err(|e| e.to_string())?;
        let certificate = identity.certificate.clone();
        let options = ServerOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            hostname: HOSTNAME.into(),
            tls: Some(identity),
            maildir: None,
            store: StoreLimits::default(),
            log_lines: false,
            judge: Some(Judge::demo().map_err(|e| format!("the demo zone: {e}"))?),
            rules: Default::default(),
            sessions: false,
        };
        let handle = super::start(options, policy, log)
            .await
            .map_err(|e| e.to_string())?;
        Ok(Self {
            handle,
            certificate,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.handle.local_addr
    }

    /// Where a client reaches it.
    pub fn target(&self) -> Target {
        Target {
            host: self.addr().ip().to_string(),
            port: self.addr().port(),
        }
    }

    /// The client's TLS options `tls`, trusting this server's certificate.
    pub fn trusting(&self, tls: &TlsOptions) -> TlsOptions {
        TlsOptions {
            trust: vec![self.certificate.clone()],
            ..tls.clone()
        }
    }
}
