//! MTA-STS (RFC 8461) for `--mta-sts DOMAIN`: the `_mta-sts.DOMAIN` TXT
//! record, the policy fetched from
//! `https://mta-sts.DOMAIN/.well-known/mta-sts.txt` (an HTTP/1.0 GET over
//! tokio-rustls, the certificate checked, the size and the time bounded,
//! no redirect followed), and the MX in use matched against it, with what
//! the mode means for a sending MTA. Each step is a transcript line.

pub mod policy;

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::TlsConnector;

use super::dns::{self, shown_name, Hickory, Lookup};
use super::tls::{self, TlsOptions};
use crate::proto::visible::visible;
use policy::{Mode, Policy, MAX_POLICY};

/// The HTTPS port of the policy host. RFC 8461 fixes 443; the environment
/// variable `SMTP_WORKBENCH_MTA_STS_PORT` moves it, for tests only (a test
/// cannot listen on 443).
fn https_port() -> u16 {
    std::env::var("SMTP_WORKBENCH_MTA_STS_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(443)
}

/// What the check needs besides the domain.
pub struct Check<'a> {
    pub domain: &'a str,
    /// The MX host in use (the name its certificate is checked for).
    pub mx: &'a str,
    /// Whether this session will use TLS at all.
    pub tls: bool,
    /// `--dns`, else the system's resolver.
    pub dns: Option<SocketAddr>,
    /// `--ca-file` is trusted for the policy host too (else the system's roots).
    pub ca_file: Option<std::path::PathBuf>,
    pub limit: Duration,
}

/// The lines of the whole check, each prefixed `mta-sts:` (or a DNS line).
pub async fn check(c: &Check<'_>) -> Vec<String> {
    let domain = shown_name(c.domain);
    let mut out = Vec::new();
    let resolver = match dns::resolver(c.dns, c.limit) {
        Ok(r) => Hickory {
            resolver: r,
            limit: c.limit,
        },
        Err(e) => return vec![format!("mta-sts: {e}")],
    };
    let name = format!("_mta-sts.{domain}");
    let txt = resolver.txt(&name).await;
    let shown = txt.as_ref().map(|f| f.answer.clone()).map_err(Clone::clone);
    out.push(dns::line(
        "TXT",
        &name,
        &shown.as_ref().map(visible_answer).map_err(Clone::clone),
    ));
    let records: Vec<String> = match txt {
        Ok(f) => f
            .answer
            .records
            .into_iter()
            .map(|r| r.value)
            .filter(|v| v.starts_with("v=STSv1"))
            .collect(),
        Err(e) if e.is_temporary() => {
            out.push(format!("mta-sts: the TXT lookup failed ({e}); a sender would use a policy it has cached, if any"));
            return out;
        }
        Err(_) => Vec::new(),
    };
    let id = match records.as_slice() {
        [] => {
            out.push(format!("mta-sts: {domain} publishes no MTA-STS record: no policy, senders use opportunistic TLS"));
            return out;
        }
        [one] => match policy::parse_record(one) {
            Ok(id) => id,
            Err(why) => {
                out.push(format!(
                    "mta-sts: the record does not count: {why} (RFC 8461 3.1)"
                ));
                return out;
            }
        },
        _ => {
            out.push("mta-sts: more than one v=STSv1 record: RFC 8461 3.1 says to treat that as no policy".into());
            return out;
        }
    };
    out.push(format!("mta-sts: record id {id}"));
    let host = format!("mta-sts.{domain}");
    let port = https_port();
    let policy = match fetch(&resolver, &host, port, c).await {
        Ok(p) => p,
        Err(e) => {
            out.push(format!(
                "mta-sts: https://{host}/.well-known/mta-sts.txt: {e}"
            ));
            out.push("mta-sts: without the policy a sender falls back to a cached one, else delivers as if none (RFC 8461 5)".into());
            return out;
        }
    };
    out.push(format!(
        "mta-sts: policy from https://{host}{}/.well-known/mta-sts.txt: mode {}, max_age {} ({} days), mx {}",
        if port == 443 { String::new() } else { format!(":{port}") },
        policy.mode.name(),
        policy.max_age,
        policy.max_age / 86_400,
        if policy.mx.is_empty() { "(none)".to_string() } else { policy.mx.iter().map(|m| visible(m.as_bytes())).collect::<Vec<_>>().join(", ") }
    ));
    out.push(verdict(&policy, c.mx, c.tls));
    out
}

fn visible_answer(a: &dns::Answer<String>) -> dns::Answer<String> {
    dns::Answer {
        records: a
            .records
            .iter()
            .map(|r| dns::Record {
                value: format!("\"{}\"", visible(r.value.as_bytes())),
                ttl: r.ttl,
            })
            .collect(),
        dropped: a.dropped,
    }
}

/// Whether the MX in use fits the policy, and what the mode makes of it.
pub fn verdict(p: &Policy, mx: &str, tls: bool) -> String {
    let mx = shown_name(mx);
    let fits = p.mx.iter().find(|pat| policy::mx_matches(pat, &mx));
    match (p.mode, fits) {
        (Mode::None, _) => "mta-sts: mode none: the domain has withdrawn its policy; nothing is enforced".to_string(),
        (Mode::Enforce, Some(pat)) if tls => format!(
            "mta-sts: the MX in use, {mx}, matches {}: under enforce a sender delivers here only over TLS with a certificate valid for {mx} (see the check above)",
            visible(pat.as_bytes())
        ),
        (Mode::Enforce, Some(pat)) => format!(
            "mta-sts: the MX in use, {mx}, matches {}, but this session does not use TLS: under enforce a sender would not deliver over it",
            visible(pat.as_bytes())
        ),
        (Mode::Enforce, None) => format!(
            "mta-sts: the MX in use, {mx}, matches NO mx of the policy: under enforce a sender would NOT deliver to this host (RFC 8461 5.1)"
        ),
        (Mode::Testing, Some(pat)) => format!(
            "mta-sts: the MX in use, {mx}, matches {}; mode testing: a sender delivers even if TLS fails, and reports (TLSRPT)",
            visible(pat.as_bytes())
        ),
        (Mode::Testing, None) => format!(
            "mta-sts: the MX in use, {mx}, matches no mx of the policy; mode testing: a sender still delivers and reports the failure (TLSRPT)"
        ),
    }
}

/// The address of the policy host: through `--dns` when given (as every
/// lookup), else the system's resolver.
async fn address(
    resolver: &Hickory,
    host: &str,
    port: u16,
    c: &Check<'_>,
) -> Result<SocketAddr, String> {
    if c.dns.is_some() {
        for kind in dns::Family::Any.kinds() {
            if let Ok(a) = resolver.addrs(host, *kind).await {
                if let Some(r) = a.records.first() {
                    return Ok(SocketAddr::new(r.value, port));
                }
            }
        }
        return Err(format!("{host} has no address"));
    }
    match timeout(c.limit, tokio::net::lookup_host((host, port))).await {
        Ok(Ok(mut a)) => a.next().ok_or_else(|| format!("{host} has no address")),
        Ok(Err(e)) => Err(format!("cannot resolve {host}: {e}")),
        Err(_) => Err(format!(
            "resolving {host} took longer than {}s",
            c.limit.as_secs_f64()
        )),
    }
}

/// Fetches and parses the policy, within the time limit as a whole.
async fn fetch(resolver: &Hickory, host: &str, port: u16, c: &Check<'_>) -> Result<Policy, String> {
    let addr = address(resolver, host, port, c).await?;
    match timeout(c.limit, get(addr, host, c)).await {
        Ok(r) => r,
        Err(_) => Err(format!("no policy within {}s", c.limit.as_secs_f64())),
    }
}

async fn get(addr: SocketAddr, host: &str, c: &Check<'_>) -> Result<Policy, String> {
    let opts = TlsOptions {
        ca_file: c.ca_file.clone(),
        ..Default::default()
    };
    let setup = tls::setup(&opts, host).map_err(|e| e.to_string())?;
    let tcp = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    let connector = TlsConnector::from(setup.config.clone());
    let mut stream = match connector.connect(setup.connect_as.clone(), tcp).await {
        Ok(s) => s,
        Err(e) => {
            let seen = setup.take_seen();
            let mut why = tls::explain_handshake_error(&e, host);
            for p in setup
                .chain_lines(&seen)
                .iter()
                .filter(|l| l.starts_with("chain problem"))
            {
                why.push_str("; ");
                why.push_str(p);
            }
            return Err(format!("the policy host's certificate is refused, so the policy does not count (RFC 8461 3.3): {why}"));
        }
    };
    let request = format!(
        "GET /.well-known/mta-sts.txt HTTP/1.0\r\nHost: {host}\r\nUser-Agent: smtp-workbench\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("cannot send the request: {e}"))?;
    // The head and a body of at most MAX_POLICY, and one byte to know more came.
    let limit = MAX_POLICY + 8 * 1024 + 1;
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                if got.len() >= limit {
                    return Err(format!("the response is larger than {} bytes", limit - 1));
                }
            }
            // A server that closes without close_notify: what came counts.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(format!("reading the response failed: {e}")),
        }
    }
    parse_response(&got)
}

/// The body of an HTTP/1.x 200 response; any other status (a redirect
/// too: RFC 8461 3.3 forbids following it) is an error that names it.
pub fn parse_response(raw: &[u8]) -> Result<Policy, String> {
    let split =
        memchr::memmem::find(raw, b"\r\n\r\n").ok_or("the response has no end of headers")?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let body = &raw[split + 4..];
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default();
    let code = status.split_whitespace().nth(1).unwrap_or_default();
    if !status.starts_with("HTTP/1.") || code != "200" {
        return Err(format!(
            "the server answered {:?}, not 200 (redirects are not followed, RFC 8461 3.3)",
            visible(status.chars().take(100).collect::<String>().as_bytes())
        ));
    }
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            if k.eq_ignore_ascii_case("transfer-encoding")
                && v.to_ascii_lowercase().contains("chunked")
            {
                return Err("the server sent a chunked body to an HTTP/1.0 request".into());
            }
            let kind = v.trim().to_ascii_lowercase();
            if k.eq_ignore_ascii_case("content-type") && !kind.starts_with("text/plain") {
                return Err(format!(
                    "the policy is served as {:?}, not text/plain (RFC 8461 3.3)",
                    visible(kind.chars().take(60).collect::<String>().as_bytes())
                ));
            }
        }
    }
    policy::parse(body).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses() {
        let ok = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nversion: STSv1\r\nmode: testing\r\nmx: *.example.test\r\nmax_age: 86400\r\n";
        assert_eq!(parse_response(ok).map(|p| p.mode), Ok(Mode::Testing));
        let moved = b"HTTP/1.1 301 Moved\r\nLocation: https://x/\r\n\r\n";
        assert!(parse_response(moved).unwrap_err().contains("301"));
        assert!(parse_response(b"HTTP/1.1 200 OK\r\n").is_err());
        let chunked =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
        assert!(parse_response(chunked).unwrap_err().contains("chunked"));
        let html = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\nversion: STSv1\r\n";
        assert!(parse_response(html).unwrap_err().contains("not text/plain"));
    }

    #[test]
    fn verdicts_say_what_each_mode_does() {
        let p = |mode| Policy {
            mode,
            mx: vec!["*.example.test".into()],
            max_age: 86_400,
        };
        assert!(verdict(&p(Mode::Enforce), "mx.example.test", true)
            .contains("delivers here only over TLS"));
        assert!(verdict(&p(Mode::Enforce), "mx.example.test", false).contains("does not use TLS"));
        assert!(verdict(&p(Mode::Enforce), "mx.other.test", true).contains("would NOT deliver"));
        assert!(verdict(&p(Mode::Testing), "mx.other.test", true).contains("still delivers"));
        assert!(verdict(&p(Mode::None), "mx.other.test", true).contains("withdrawn"));
    }
}
