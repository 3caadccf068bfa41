//! Where to connect: `HOST[:PORT]` and IPv6 literals, parsed once.

use std::fmt;

/// A server to connect to: a host name, an IPv4 address or an IPv6 literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("no host given")]
    Empty,
    #[error("{0:?} is not a port number (1-65535)")]
    BadPort(String),
    #[error("an IPv6 address with a port is written in brackets: [{0}]:PORT")]
    AmbiguousIpv6(String),
}

impl Target {
    /// Parses `HOST`, `HOST:PORT`, `[IPV6]`, `[IPV6]:PORT` or a bare IPv6 address.
    pub fn parse(s: &str, default_port: u16) -> Result<Self, TargetError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(TargetError::Empty);
        }
        let port = |p: &str| match p.parse::<u16>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(TargetError::BadPort(p.to_string())),
        };
        if let Some(rest) = s.strip_prefix('[') {
            let (host, after) = rest.split_once(']').ok_or(TargetError::Empty)?;
            let p = match after.strip_prefix(':') {
                Some(p) => port(p)?,
                None if after.is_empty() => default_port,
                None => return Err(TargetError::BadPort(after.to_string())),
            };
            return Ok(Self {
                host: host.to_string(),
                port: p,
            });
        }
        if s.parse::<std::net::Ipv6Addr>().is_ok() {
            return Ok(Self {
                host: s.to_string(),
                port: default_port,
            });
        }
        match s.rsplit_once(':') {
            Some((h, _)) if h.contains(':') => Err(TargetError::AmbiguousIpv6(h.to_string())),
            Some((h, p)) => Ok(Self {
                host: h.to_string(),
                port: port(p)?,
            }),
            None => Ok(Self {
                host: s.to_string(),
                port: default_port,
            }),
        }
    }
}

impl Target {
    /// A UNIX socket, `unix:PATH`, as a target: shown as written.
    pub fn unix(path: &std::path::Path) -> Self {
        Self {
            host: format!("unix:{}", path.display()),
            port: 0,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.port == 0 && self.host.starts_with("unix:") {
            f.write_str(&self.host)
        } else if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let t = |s: &str| Target::parse(s, 25).map(|t| (t.host, t.port));
        assert_eq!(t("mx.example"), Ok(("mx.example".into(), 25)));
        assert_eq!(t("mx.example:2525"), Ok(("mx.example".into(), 2525)));
        assert_eq!(t("127.0.0.1:587"), Ok(("127.0.0.1".into(), 587)));
        assert_eq!(t("[::1]:2525"), Ok(("::1".into(), 2525)));
        assert_eq!(t("[::1]"), Ok(("::1".into(), 25)));
        assert_eq!(t("::1"), Ok(("::1".into(), 25)));
        assert!(matches!(t("mx:0"), Err(TargetError::BadPort(_))));
        assert!(matches!(t("mx:smtp"), Err(TargetError::BadPort(_))));
        assert!(matches!(t("fe80::1:x"), Err(TargetError::AmbiguousIpv6(_))));
        assert_eq!(t(""), Err(TargetError::Empty));
        assert_eq!(Target::parse("::1", 25).unwrap().to_string(), "[::1]:25");
    }
}
