//! The transports' flags (`--protocol`, `--server unix:PATH`, `--proxy`,
//! `--xclient`, `--local-addr`, `--drop-after`) checked and made into the
//! connection's link and the session's setup, for `send` and the workbench.

use super::args::ConnectionArgs;
use super::exit::{usage, UsageError};
use crate::proto::client::{Protocol, TransportSetup};
use crate::proto::command::Command;
use crate::transport::link::{unix_path, LinkOptions};
use crate::transport::TlsMode;

impl ConnectionArgs {
    /// How the bytes get to `server` (HOST[:PORT] or unix:PATH; None: the
    /// built-in server).
    pub(super) fn link(&self, server: Option<&str>) -> Result<LinkOptions, UsageError> {
        let unix = match server.map(unix_path) {
            Some(Some(Ok(p))) => Some(p),
            Some(Some(Err(e))) => return Err(usage(e)),
            _ => None,
        };
        if unix.is_some() {
            let other = if self.tls != TlsMode::None {
                Some("--tls")
            } else if self.proxy.is_some() {
                Some("--proxy")
            } else if self.local_addr.is_some() {
                Some("--local-addr")
            } else if self.ipv4 || self.ipv6 {
                Some("-4/-6")
            } else {
                None
            };
            if let Some(flag) = other {
                return Err(usage(format!(
                    "{flag} is for TCP connections; a UNIX socket (unix:PATH) is plain and local"
                )));
            }
        }
        if let Some(local) = self.local_addr {
            if (self.ipv4 && local.is_ipv6()) || (self.ipv6 && local.is_ipv4()) {
                return Err(usage(format!(
                    "--local-addr {local} is not of the family -4/-6 asks for"
                )));
            }
        }
        Ok(LinkOptions {
            unix,
            local_addr: self.local_addr,
            proxy: self.proxy.zip(self.proxy_source),
        })
    }

    /// LMTP, XCLIENT and `--drop-after` for the session; `lesson` when a
    /// lesson runs, whose server speaks SMTP.
    pub(super) fn transports(&self, lesson: bool) -> Result<TransportSetup, UsageError> {
        if lesson && self.protocol == Protocol::Lmtp {
            return Err(usage("lessons speak SMTP: leave out --protocol lmtp"));
        }
        let xclient = match &self.xclient {
            None => None,
            Some(text) => {
                Some(Command::xclient(text).map_err(|e| usage(format!("--xclient: {e}")))?)
            }
        };
        Ok(TransportSetup {
            protocol: self.protocol,
            xclient,
            drop_after: self.drop_after,
        })
    }
}
