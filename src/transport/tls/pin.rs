//! Pinning the handshake to what a picky peer does: one protocol version
//! (`--tls-version`) and a set of cipher suites (`--tls-cipher`), by the
//! names IANA and rustls give them. One table per fact: the names here are
//! the ones `--help` and the errors list.

use rustls::crypto::ring::ALL_CIPHER_SUITES;
use rustls::{SupportedCipherSuite, SupportedProtocolVersion};

/// A protocol version `--tls-version` pins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsVersion {
    V12,
    V13,
}

impl TlsVersion {
    /// Each version by the name `--tls-version` gives it.
    pub const NAMES: [(&'static str, TlsVersion); 2] = [("1.2", Self::V12), ("1.3", Self::V13)];

    pub fn rustls(self) -> &'static SupportedProtocolVersion {
        match self {
            TlsVersion::V12 => &rustls::version::TLS12,
            TlsVersion::V13 => &rustls::version::TLS13,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            TlsVersion::V12 => "TLS 1.2",
            TlsVersion::V13 => "TLS 1.3",
        }
    }
}

/// The IANA name of a suite (RFC 8446 B.4 for TLS 1.3, RFC 8422 for the
/// ECDHE suites of TLS 1.2); rustls writes the TLS 1.3 ones `TLS13_…`.
fn iana_name(suite: &SupportedCipherSuite) -> String {
    let name = suite.suite().as_str().unwrap_or("?");
    match name.strip_prefix("TLS13_") {
        Some(rest) => format!("TLS_{rest}"),
        None => name.to_string(),
    }
}

/// Every suite this build can offer, by its IANA name.
pub fn known_suites() -> Vec<String> {
    ALL_CIPHER_SUITES.iter().map(iana_name).collect()
}

/// The suite named `name`: its IANA name or rustls' (`TLS13_…`), in any
/// case. An unknown name is an error that lists the known ones.
pub fn suite(name: &str) -> Result<SupportedCipherSuite, String> {
    let wanted = name.trim().to_ascii_uppercase();
    ALL_CIPHER_SUITES
        .iter()
        .find(|s| iana_name(s) == wanted || s.suite().as_str() == Some(wanted.as_str()))
        .copied()
        .ok_or_else(|| {
            format!(
                "{:?} is not a cipher suite this build offers; known: {}",
                name,
                known_suites().join(", ")
            )
        })
}

/// The suites for `names` (all when empty), kept to those of `version`
/// when one is pinned: an empty result is an error saying why.
pub fn suites(
    names: &[String],
    version: Option<TlsVersion>,
) -> Result<Vec<SupportedCipherSuite>, String> {
    let chosen: Vec<SupportedCipherSuite> = if names.is_empty() {
        ALL_CIPHER_SUITES.to_vec()
    } else {
        names.iter().map(|n| suite(n)).collect::<Result<_, _>>()?
    };
    let fits = |s: &SupportedCipherSuite| match version {
        None => true,
        Some(v) => s.version() == v.rustls(),
    };
    let kept: Vec<SupportedCipherSuite> = chosen.into_iter().filter(fits).collect();
    if kept.is_empty() {
        let v = version.map(TlsVersion::label).unwrap_or("any version");
        return Err(format!(
            "none of the cipher suites given (--tls-cipher) can be used with {v}: \
             TLS 1.3 suites are named TLS_AES_…/TLS_CHACHA20_…, TLS 1.2 ones TLS_ECDHE_…"
        ));
    }
    Ok(kept)
}

/// The name a negotiated suite is shown by.
pub fn shown(suite: &SupportedCipherSuite) -> String {
    iana_name(suite)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suites_by_iana_or_rustls_name_in_any_case() {
        for name in [
            "TLS_AES_128_GCM_SHA256",
            "tls13_aes_128_gcm_sha256",
            " TLS_AES_128_GCM_SHA256 ",
        ] {
            assert_eq!(
                suite(name).map(|s| shown(&s)),
                Ok("TLS_AES_128_GCM_SHA256".to_string()),
                "{name}"
            );
        }
        assert_eq!(
            suite("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384").map(|s| shown(&s)),
            Ok("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384".to_string())
        );
        let err = suite("RC4-MD5").unwrap_err();
        assert!(err.contains("\"RC4-MD5\""), "{err}");
        assert!(err.contains("TLS_CHACHA20_POLY1305_SHA256"), "{err}");
        assert!(
            err.contains("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
            "{err}"
        );
    }

    #[test]
    fn a_pinned_version_keeps_its_own_suites_and_refuses_none() {
        let all = suites(&[], None).unwrap();
        assert_eq!(all.len(), ALL_CIPHER_SUITES.len());
        let v12 = suites(&[], Some(TlsVersion::V12)).unwrap();
        assert!(v12.iter().all(|s| s.version() == &rustls::version::TLS12));
        assert!(!v12.is_empty());
        let only13 = vec!["TLS_AES_256_GCM_SHA384".to_string()];
        let err = suites(&only13, Some(TlsVersion::V12)).unwrap_err();
        assert!(err.contains("TLS 1.2"), "{err}");
        assert_eq!(suites(&only13, Some(TlsVersion::V13)).unwrap().len(), 1);
        assert!(suites(&["nope".into()], None).is_err());
    }
}
