//! How to reach the server, from the flags: the checks `send` and the
//! workbench share (TLS options, timeout, EHLO name), and `send`'s
//! connection as a whole.

use std::time::Duration;

use super::args::{ConnectionArgs, SendArgs};
use super::exit::{usage, UsageError};
use crate::transport::{ConnectOptions, Target, TlsMode, TlsOptions};

impl ConnectionArgs {
    pub(super) fn tls_options(&self) -> TlsOptions {
        TlsOptions {
            ca_file: self.ca_file.clone(),
            insecure: self.insecure,
            tls_name: self.tls_name.clone(),
            trust: Vec::new(),
        }
    }

    pub(super) fn timeout(&self) -> Result<Duration, UsageError> {
        if self.timeout > 0.0 && self.timeout <= 86_400.0 {
            Ok(Duration::from_secs_f64(self.timeout))
        } else {
            Err(usage("--timeout takes a number of seconds above 0"))
        }
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
    let default_port = if tls_mode == TlsMode::Implicit {
        465
    } else {
        25
    };
    let (builtin, target) = match &args.server {
        Some(server) => (
            false,
            Target::parse(server, default_port).map_err(|e| usage(format!("--server: {e}")))?,
        ),
        None if tls_mode == TlsMode::Implicit => {
            return Err(usage(
                "the built-in server speaks STARTTLS, not implicit TLS: use --tls starttls, or give --server",
            ))
        }
        None => (
            true,
            Target {
                host: "127.0.0.1".into(),
                port: 0,
            },
        ),
    };
    let connect = ConnectOptions {
        target,
        tls_mode,
        tls: args.conn.tls_options(),
        timeout: args.conn.timeout()?,
    };
    Ok((connect, builtin))
}
