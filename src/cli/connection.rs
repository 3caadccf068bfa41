//! How to reach the server, from the flags: the checks `send` and the
//! workbench share (TLS options, timeout, EHLO name), and `send`'s
//! connection as a whole.

use std::time::Duration;

use hickory_resolver::config::{ResolverConfig, ResolverOpts};

use super::args::{ConnectionArgs, SendArgs, ServeArgs};
use super::exit::{usage, UsageError};
use crate::transport::dns::{self, mx, DnsOptions, Family};
use crate::transport::{ConnectOptions, Target, TlsMode, TlsOptions};

impl ConnectionArgs {
    pub(super) fn tls_options(&self) -> TlsOptions {
        TlsOptions {
            ca_file: self.ca_file.clone(),
            insecure: self.insecure,
            tls_name: self.tls_name.clone(),
            trust: Vec::new(),
            client_cert: self.tls_cert.clone().zip(self.tls_key.clone()),
            sni: self.tls_sni.clone(),
            version: self.tls_version,
            ciphers: self.tls_ciphers.clone(),
            save_chain: self.save_chain.clone(),
            dane: self.dane,
            mta_sts: self.mta_sts.clone(),
        }
    }

    /// The TLS flags of issue 12 checked before connecting, so that a
    /// missing or mismatched file is a usage error (exit 2), not a failed
    /// handshake: the client certificate and key, the SNI, the suites.
    /// `send` needs `--tls` for them (`need_mode`); the workbench may
    /// still choose STARTTLS from the palette.
    pub(super) fn check_tls_flags(&self, need_mode: bool) -> Result<(), UsageError> {
        let needs_tls = self.tls_cert.is_some()
            || self.tls_sni.is_some()
            || self.tls_version.is_some()
            || !self.tls_ciphers.is_empty()
            || self.save_chain.is_some()
            || self.dane;
        if need_mode && needs_tls && self.tls == TlsMode::None {
            return Err(usage(
                "--tls-cert, --tls-sni, --tls-version, --tls-cipher, --save-chain and --dane \
                 need --tls starttls or --tls implicit",
            ));
        }
        if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
            crate::transport::tls::client_identity(cert, key).map_err(|e| usage(e.to_string()))?;
        }
        if let Some(sni) = self.tls_sni.as_deref().filter(|s| !s.is_empty()) {
            if rustls::pki_types::ServerName::try_from(sni.to_string()).is_err() {
                return Err(usage(format!(
                    "--tls-sni: {sni:?} is not a host name (--tls-sni \"\" sends none)"
                )));
            }
        }
        crate::transport::tls::pin::suites(&self.tls_ciphers, self.tls_version)
            .map_err(|e| usage(format!("--tls-cipher: {e}")))?;
        if let Some(d) = &self.mta_sts {
            if d.is_empty() || d.contains(|c: char| c.is_whitespace() || c == '/' || c == ':') {
                return Err(usage(format!("--mta-sts: {d:?} is not a domain")));
            }
        }
        Ok(())
    }

    pub(super) fn timeout(&self) -> Result<Duration, UsageError> {
        if self.timeout > 0.0 && self.timeout <= 86_400.0 {
            Ok(Duration::from_secs_f64(self.timeout))
        } else {
            Err(usage("--timeout takes a number of seconds above 0"))
        }
    }

    /// `--dns`, `-4`/`-6` and whether `--mx` was given.
    pub(super) fn dns_options(&self) -> DnsOptions {
        DnsOptions {
            server: self.dns,
            family: match (self.ipv4, self.ipv6) {
                (true, _) => Family::V4,
                (_, true) => Family::V6,
                _ => Family::Any,
            },
            mx: self.mx.is_some(),
        }
    }

    /// The resolver's configuration from `--dns` (or the system's), bounded
    /// by `--timeout`: for mail-auth's `MessageAuthenticator::new`, so that
    /// authentication asks the same server the connection does.
    pub fn dns_config(&self) -> Result<(ResolverConfig, ResolverOpts), UsageError> {
        dns::resolver_config(self.dns, self.timeout()?).map_err(usage)
    }

    /// `--mx [DOMAIN][:PORT]`: the mail domain (None: the first
    /// recipient's, to be filled in) and the port (25 unless given).
    pub(super) fn mx(&self) -> Result<Option<(Option<String>, u16)>, UsageError> {
        let Some(mx) = &self.mx else {
            return Ok(None);
        };
        let (domain, port) = match mx.rsplit_once(':') {
            Some((d, p)) => match p.parse::<u16>() {
                Ok(n) if n > 0 => (d, n),
                _ => return Err(usage(format!("--mx: {p:?} is not a port number (1-65535)"))),
            },
            None => (mx.as_str(), 25),
        };
        let domain = domain.trim();
        if domain.contains(char::is_whitespace) {
            return Err(usage(format!("--mx: {domain:?} is not a domain")));
        }
        Ok(Some((
            (!domain.is_empty()).then(|| domain.to_string()),
            port,
        )))
    }

    /// The EHLO name; when it is this machine's, `notes` says so.
    pub(super) fn ehlo(&self, notes: &mut Vec<String>) -> Result<String, UsageError> {
        let ehlo = match &self.ehlo {
            Some(e) => e.clone(),
            None => {
                let h = host_name();
                notes.push(format!(
                    "EHLO name {h} (this machine's name; set another with --ehlo)"
                ));
                h
            }
        };
        if ehlo.is_empty() || ehlo.contains(char::is_whitespace) {
            return Err(usage(
                "--ehlo takes one name or address literal, without spaces",
            ));
        }
        Ok(ehlo)
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty() && !s.contains(char::is_whitespace))
        .unwrap_or_else(|| "localhost".to_string())
}

/// `send`'s connection, and whether it goes to the built-in server (no
/// `--server`; the target is then filled in once that server has a port).
pub(super) fn for_send(args: &SendArgs) -> Result<(ConnectOptions, bool), UsageError> {
    let tls_mode = args.conn.tls;
    if tls_mode == TlsMode::None
        && (args.conn.insecure || args.conn.ca_file.is_some() || args.conn.tls_name.is_some())
    {
        return Err(usage(
            "--insecure, --ca-file and --tls-name need --tls starttls or --tls implicit",
        ));
    }
    if args.conn.insecure && args.conn.ca_file.is_some() {
        return Err(usage("--insecure and --ca-file contradict each other"));
    }
    args.conn.check_tls_flags(true)?;
    let default_port = if tls_mode == TlsMode::Implicit {
        465
    } else {
        25
    };
    let mx = match args.conn.mx()? {
        None => None,
        Some((Some(domain), port)) => Some(Target { host: domain, port }),
        Some((None, port)) => {
            let first = args.rcpt.first().and_then(|r| mx::recipient_domain(r));
            let host = first.ok_or_else(|| {
                usage(
                    "--mx without a DOMAIN takes the first recipient's domain: \
                     give --rcpt ADDR or --mx DOMAIN",
                )
            })?;
            Some(Target { host, port })
        }
    };
    let (builtin, target) = match (&args.server, mx) {
        (_, Some(mx)) => (false, mx),
        (Some(server), None) => match args.conn.link(Some(server))?.unix {
            Some(path) => (false, Target::unix(&path)),
            None => (
                false,
                Target::parse(server, default_port)
                    .map_err(|e| usage(format!("--server: {e}")))?,
            ),
        },
        (None, None) if tls_mode == TlsMode::Implicit => {
            return Err(usage(
                "the built-in server speaks STARTTLS, not implicit TLS: use --tls starttls, or give --server",
            ))
        }
        (None, None) => (
            true,
            Target {
                host: "127.0.0.1".into(),
                port: 0,
            },
        ),
    };
    let literal = target.host.trim_start_matches('[').trim_end_matches(']');
    if args.conn.dane && args.conn.tls_name.is_none() && literal.parse::<std::net::IpAddr>().is_ok()
    {
        return Err(usage(format!(
            "--dane needs a host name, and {} is an address (TLSA records are published at \
             _PORT._tcp.HOST): give the server's name with --tls-name NAME",
            target.host
        )));
    }
    let connect = ConnectOptions {
        target,
        tls_mode,
        tls: args.conn.tls_options(),
        timeout: args.conn.timeout()?,
        dns: args.conn.dns_options(),
        link: args.conn.link(args.server.as_deref())?,
    };
    Ok((connect, builtin))
}

impl ServeArgs {
    /// The resolver's configuration from `serve --dns` (None: no `--dns`),
    /// each lookup bounded by five seconds.
    pub fn dns_config(&self) -> Result<Option<(ResolverConfig, ResolverOpts)>, UsageError> {
        match self.dns {
            None => Ok(None),
            Some(server) => dns::resolver_config(Some(server), std::time::Duration::from_secs(5))
                .map(Some)
                .map_err(usage),
        }
    }
}
