//! TLS for the client with rustls: which roots to trust, which name to
//! check and which to send (SNI), the versions and suites offered, the
//! client certificate, and what to tell the user about the connection and
//! the server's whole chain (`chain`), including what is wrong with it
//! (`diagnose`) and whether DNS vouches for it (`dane`).

pub mod chain;
pub mod dane;
pub mod diagnose;
pub mod pin;
#[cfg(test)]
pub(crate) mod testchain;
pub mod verify;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, RootCertStore};

pub use pin::TlsVersion;
/// The certificate type of the chain functions, for their callers.
pub use rustls::pki_types::CertificateDer as Certificate;
use verify::{AcceptAnything, Recording, Seen, SeenSlot};

/// How to check the server's certificate, and what to offer it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// Trust only the certificates in this PEM file instead of the system roots.
    pub ca_file: Option<PathBuf>,
    /// Skip every check of the certificate (a visible warning says so).
    pub insecure: bool,
    /// The name to check the certificate against, instead of the host.
    pub tls_name: Option<String>,
    /// Trust exactly these certificates (the built-in server's own).
    pub trust: Vec<CertificateDer<'static>>,
    // -- TLS (issue 12): client certificates, SNI, pinning, the chain, DANE
    /// `--tls-cert` and `--tls-key`: a client certificate chain and its key.
    pub client_cert: Option<(PathBuf, PathBuf)>,
    /// `--tls-sni`: the name sent in the ClientHello (None: the checked
    /// name; an empty name: no SNI at all).
    pub sni: Option<String>,
    /// `--tls-version`: only this protocol version.
    pub version: Option<TlsVersion>,
    /// `--tls-cipher`: only these suites (names checked by `pin::suite`).
    pub ciphers: Vec<String>,
    /// `--save-chain`: write the server's certificates here as PEM.
    pub save_chain: Option<PathBuf>,
    /// `--dane`: look up TLSA records and match them against the chain.
    pub dane: bool,
    /// `--mta-sts DOMAIN`: fetch DOMAIN's policy and match the MX against it.
    pub mta_sts: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsSetupError {
    #[error("cannot read the CA file {path}: {reason}")]
    CaFile { path: String, reason: String },
    #[error("the CA file {0} holds no certificate")]
    EmptyCaFile(String),
    #[error("no trusted root certificates found on this system (use --ca-file FILE)")]
    NoSystemRoots,
    #[error("{0:?} is not a valid name to check a certificate against")]
    BadName(String),
    #[error("{0:?} is not a valid name to send as SNI (--tls-sni \"\" sends none)")]
    BadSni(String),
    #[error("--tls-cert {path}: {reason}")]
    ClientCert { path: String, reason: String },
    #[error("--tls-key {path}: {reason}")]
    ClientKey { path: String, reason: String },
    #[error("--tls-cipher: {0}")]
    Cipher(String),
    #[error("TLS setup failed: {0}")]
    Rustls(String),
}

fn default_provider() -> CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// The provider with the suites `--tls-cipher` and `--tls-version` leave.
fn provider(opts: &TlsOptions) -> Result<Arc<CryptoProvider>, TlsSetupError> {
    let suites = pin::suites(&opts.ciphers, opts.version).map_err(TlsSetupError::Cipher)?;
    Ok(Arc::new(CryptoProvider {
        cipher_suites: suites,
        ..default_provider()
    }))
}

/// Reads `--tls-cert` and `--tls-key` and checks that they belong
/// together: the chain (leaf first) and the key (PKCS#8, PKCS#1 RSA or
/// SEC1 EC), as rustls will use them.
pub fn client_identity(cert: &Path, key: &Path) -> Result<Arc<CertifiedKey>, TlsSetupError> {
    let cert_err = |reason: String| TlsSetupError::ClientCert {
        path: cert.display().to_string(),
        reason,
    };
    let key_err = |reason: String| TlsSetupError::ClientKey {
        path: key.display().to_string(),
        reason,
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| cert_err(pem_reason(e)))?
        .collect::<Result<_, _>>()
        .map_err(|e| cert_err(pem_reason(e)))?;
    if chain.is_empty() {
        return Err(cert_err(
            "holds no certificate (a PEM \"BEGIN CERTIFICATE\" block)".into(),
        ));
    }
    let der = PrivateKeyDer::from_pem_file(key).map_err(|e| key_err(pem_reason(e)))?;
    let signer = default_provider()
        .key_provider
        .load_private_key(der)
        .map_err(|e| key_err(format!("not a key rustls can sign with: {e}")))?;
    let certified = CertifiedKey::new(chain, signer);
    certified.keys_match().map_err(|e| {
        key_err(format!(
            "does not belong to the certificate in {} ({e}): give the key the certificate was made for",
            cert.display()
        ))
    })?;
    Ok(Arc::new(certified))
}

fn pem_reason(e: rustls::pki_types::pem::Error) -> String {
    use rustls::pki_types::pem::Error as E;
    match e {
        E::Io(io) if io.kind() == std::io::ErrorKind::NotFound => "no such file".into(),
        E::Io(io) => io.to_string(),
        E::NoItemsFound => "holds no PEM block of the kind needed".into(),
        other => format!("not valid PEM: {other:?}"),
    }
}

/// Everything one handshake needs, made for the host reached.
pub struct Setup {
    pub config: Arc<ClientConfig>,
    /// Where the trust comes from, for the transcript.
    pub source: String,
    /// The name the certificate must carry.
    pub checked: String,
    /// The name given to rustls: the SNI sent (when sent).
    pub connect_as: ServerName<'static>,
    /// The SNI sent, None when none is.
    pub sni: Option<String>,
    /// What the verifier saw of the last handshake.
    pub seen: SeenSlot,
    roots: Arc<Vec<CertificateDer<'static>>>,
    pub insecure: bool,
    pub save_chain: Option<PathBuf>,
    /// `--dane`: where to look the TLSA records up (see [`Setup::with_dane`]).
    pub dane: Option<dane::Query>,
    /// The subject of the client certificate given, if one is.
    pub client_cert: Option<String>,
    /// The chain of the last handshake, until its owner takes it.
    last: Mutex<Vec<CertificateDer<'static>>>,
}

/// The roots trusted for `opts`, and the sentence saying which they are.
fn roots(opts: &TlsOptions) -> Result<(Vec<CertificateDer<'static>>, String), TlsSetupError> {
    match &opts.ca_file {
        None if !opts.trust.is_empty() => Ok((
            opts.trust.clone(),
            "the built-in server's own certificate".to_string(),
        )),
        Some(path) => load_ca_file(path),
        None => {
            let found = rustls_native_certs::load_native_certs().certs;
            if found.is_empty() {
                return Err(TlsSetupError::NoSystemRoots);
            }
            let n = found.len();
            Ok((found, format!("the system's {n} trusted roots")))
        }
    }
}

fn load_ca_file(path: &Path) -> Result<(Vec<CertificateDer<'static>>, String), TlsSetupError> {
    let err = |reason: String| TlsSetupError::CaFile {
        path: path.display().to_string(),
        reason,
    };
    let iter = CertificateDer::pem_file_iter(path).map_err(|e| err(e.to_string()))?;
    let certs: Vec<CertificateDer<'static>> = iter
        .collect::<Result<_, _>>()
        .map_err(|e| err(e.to_string()))?;
    if certs.is_empty() {
        return Err(TlsSetupError::EmptyCaFile(path.display().to_string()));
    }
    Ok((certs, format!("the CA file {}", path.display())))
}

/// The handshake's setup for the server reached by the name `host`.
pub fn setup(opts: &TlsOptions, host: &str) -> Result<Setup, TlsSetupError> {
    let provider = provider(opts)?;
    let builder = match opts.version {
        Some(v) => ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[v.rustls()]),
        None => ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions(),
    }
    .map_err(|e| TlsSetupError::Rustls(e.to_string()))?;
    let checked = server_name(host, opts)?;
    let (inner, roots, source): (Arc<dyn rustls::client::danger::ServerCertVerifier>, _, _) =
        if opts.insecure {
            (
                Arc::new(AcceptAnything(provider.clone())),
                Vec::new(),
                "certificate NOT checked (--insecure): anyone in the path could read and change this session".to_string(),
            )
        } else {
            let (roots, source) = roots(opts)?;
            let mut store = RootCertStore::empty();
            let (added, _) = store.add_parsable_certificates(roots.iter().cloned());
            if added == 0 {
                return Err(match &opts.ca_file {
                    Some(p) => TlsSetupError::EmptyCaFile(p.display().to_string()),
                    None => TlsSetupError::NoSystemRoots,
                });
            }
            let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider)
                .build()
                .map_err(|e| TlsSetupError::Rustls(e.to_string()))?;
            (verifier, roots, source)
        };
    let seen: SeenSlot = Arc::new(Mutex::new(Seen::default()));
    let verifier = Recording {
        inner,
        checked: checked.clone(),
        seen: seen.clone(),
    };
    let builder = builder
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier));
    let mut client_cert = None;
    let mut config = match &opts.client_cert {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => {
            let identity = client_identity(cert, key)?;
            client_cert = identity.cert.first().map(subject);
            builder
                .with_client_cert_resolver(Arc::new(rustls::sign::SingleCertAndKey::from(identity)))
        }
    };
    let (connect_as, sni) = match opts.sni.as_deref() {
        Some("") => {
            config.enable_sni = false;
            (checked.clone(), None)
        }
        Some(name) => (
            ServerName::try_from(name.to_string())
                .map_err(|_| TlsSetupError::BadSni(name.to_string()))?,
            Some(name.to_string()),
        ),
        None => (checked.clone(), Some(checked.to_str().to_string())),
    };
    // rustls sends no SNI for an address (RFC 6066 3 allows only host names).
    let sni = sni.filter(|_| matches!(connect_as, ServerName::DnsName(_)));
    Ok(Setup {
        config: Arc::new(config),
        source,
        checked: checked.to_str().to_string(),
        connect_as,
        sni,
        seen,
        roots: Arc::new(roots),
        insecure: opts.insecure,
        save_chain: opts.save_chain.clone(),
        dane: None,
        client_cert,
        last: Mutex::new(Vec::new()),
    })
}

fn subject(der: &CertificateDer<'_>) -> String {
    use x509_parser::prelude::*;
    X509Certificate::from_der(der.as_ref())
        .map(|(_, c)| chain::field(&c.subject().to_string()))
        .unwrap_or_else(|_| "(unreadable)".into())
}

/// The name the certificate must carry: `--tls-name`, else the host.
pub fn server_name(host: &str, opts: &TlsOptions) -> Result<ServerName<'static>, TlsSetupError> {
    let name = opts.tls_name.as_deref().unwrap_or(host);
    let name = name.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(name.to_string()).map_err(|_| TlsSetupError::BadName(name.to_string()))
}

impl Setup {
    /// With `--dane`: the TLSA records of `_PORT._tcp.NAME` (the name
    /// checked), asked of `dns` (None: the system's resolver).
    pub fn with_dane(
        mut self,
        wanted: bool,
        port: u16,
        dns: Option<std::net::SocketAddr>,
        limit: std::time::Duration,
    ) -> Self {
        if wanted {
            self.dane = Some(dane::Query {
                host: self.checked.clone(),
                port,
                dns,
                limit,
            });
        }
        self
    }

    /// What the verifier saw of the handshake just made (and forgets it,
    /// for the next handshake with this setup).
    pub fn take_seen(&self) -> Seen {
        self.seen
            .lock()
            .map(|mut s| std::mem::take(&mut *s))
            .unwrap_or_default()
    }

    /// The chain described and diagnosed: the lines for the transcript.
    pub fn chain_lines(&self, seen: &Seen) -> Vec<String> {
        let now = chain::now();
        let mut out = chain::describe(&seen.chain, now);
        let trust_failed = matches!(
            seen.error,
            Some(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer
            ))
        );
        let problems = diagnose::diagnose(
            &seen.chain,
            &diagnose::Context {
                name: &self.checked,
                trust_failed,
                roots: &self.roots,
                now,
            },
        );
        for p in problems {
            out.push(format!("chain problem: {p}"));
        }
        out
    }

    /// The chain of the last handshake as PEM, once (None: none came).
    pub fn take_last_pem(&self) -> Option<String> {
        let chain = self.last.lock().map(|mut l| std::mem::take(&mut *l)).ok()?;
        (!chain.is_empty()).then(|| chain::pem(&chain))
    }

    /// Writes the chain to `--save-chain`'s file; the line says how it went.
    /// The chain is also kept for [`Setup::take_last_pem`].
    pub fn save(&self, chain: &[CertificateDer<'_>]) -> Option<String> {
        if let Ok(mut last) = self.last.lock() {
            *last = chain.iter().map(|c| c.clone().into_owned()).collect();
        }
        let path = self.save_chain.as_ref()?;
        if chain.is_empty() {
            return Some(format!(
                "--save-chain: the server sent no certificate; {} not written",
                path.display()
            ));
        }
        Some(match std::fs::write(path, chain::pem(chain)) {
            Ok(()) => format!(
                "saved the server's {} certificate(s) to {} (PEM)",
                chain.len(),
                path.display()
            ),
            Err(e) => format!("--save-chain: cannot write {}: {e}", path.display()),
        })
    }

    /// The SNI sent, for the transcript.
    pub fn sni_line(&self) -> String {
        match (&self.sni, self.checked.as_str()) {
            (Some(s), c) if s == c => format!("SNI sent: {s}"),
            (Some(s), c) => format!("SNI sent: {s} (the certificate is checked for {c})"),
            (None, c) if c.parse::<std::net::IpAddr>().is_ok() => {
                "no SNI sent (the server is reached by address)".to_string()
            }
            (None, _) => "no SNI sent (--tls-sni \"\")".to_string(),
        }
    }
}

/// Turns a handshake failure into a sentence a user can act on.
pub fn explain_handshake_error(e: &std::io::Error, name: &str) -> String {
    let inner = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
    match inner {
        Some(rustls::Error::InvalidCertificate(cert)) => {
            use rustls::CertificateError as C;
            match cert {
                C::NotValidForName | C::NotValidForNameContext { .. } => format!(
                    "the server's certificate is not valid for the name {name:?} \
                     (check the host name, or give the name it should carry with --tls-name)"
                ),
                C::UnknownIssuer => "the server's certificate was issued by an authority this \
                                     client does not trust (give the CA with --ca-file)"
                    .to_string(),
                C::ExpiredContext { not_after, .. } => format!(
                    "the server's certificate expired on {}",
                    chain::date(i64::try_from(not_after.as_secs()).unwrap_or(i64::MAX))
                ),
                C::Expired => "the server's certificate has expired".to_string(),
                C::NotValidYetContext { not_before, .. } => format!(
                    "the server's certificate is not valid until {}",
                    chain::date(i64::try_from(not_before.as_secs()).unwrap_or(i64::MAX))
                ),
                C::NotValidYet => "the server's certificate is not valid yet".to_string(),
                C::Other(e) if format!("{e:?}").contains("MaximumPathDepthExceeded") => {
                    "the path from the server's certificate to a root is longer than a \
                     verifier follows (more than 6 intermediates): the server sends a chain \
                     that no client will accept"
                        .to_string()
                }
                other => format!("the server's certificate was refused: {other:?}"),
            }
        }
        Some(rustls::Error::AlertReceived(alert)) => format!(
            "the server refused the handshake with the alert {alert:?} (a client \
             certificate it wants? a version or cipher it does not take?)"
        ),
        Some(other) => format!("TLS error: {other}"),
        None if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            "the server closed the connection during the TLS handshake".to_string()
        }
        None => e.to_string(),
    }
}

/// The version and cipher of an established connection, either side.
pub fn established(conn: &rustls::CommonState) -> String {
    let version = match conn.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLS 1.3",
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLS 1.2",
        _ => "unknown TLS version",
    };
    let suite = conn
        .negotiated_cipher_suite()
        .map(|s| pin::shown(&s))
        .unwrap_or_else(|| "unknown cipher".into());
    format!("TLS established: {version}, {suite}")
}

/// Sentences about an established connection: version, cipher, SNI and
/// ALPN, the whole chain, and what it was checked against.
pub fn describe(conn: &rustls::ClientConnection, setup: &Setup, seen: &Seen) -> Vec<String> {
    let alpn = match conn.alpn_protocol() {
        Some(p) => format!("ALPN {}", crate::proto::visible::visible(p)),
        None => "no ALPN (SMTP offers none)".to_string(),
    };
    let client = match &setup.client_cert {
        Some(subject) => format!("; client certificate {subject} offered if asked"),
        None => String::new(),
    };
    let mut out = vec![
        established(conn),
        format!("{}; {alpn}{client}", setup.sni_line()),
    ];
    let chain = if seen.chain.is_empty() {
        conn.peer_certificates()
            .map(|c| c.iter().map(|d| d.clone().into_owned()).collect())
            .unwrap_or_default()
    } else {
        seen.chain.clone()
    };
    out.extend(setup.chain_lines(&Seen {
        chain,
        error: seen.error.clone(),
    }));
    if setup.insecure {
        out.push(setup.source.clone());
    } else {
        out.push(format!(
            "certificate checked against {}, for the name {:?}",
            setup.source, setup.checked
        ));
    }
    out
}

#[cfg(test)]
mod tests;
