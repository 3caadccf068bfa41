//! TLS for the client with rustls: which roots to trust, which name to
//! check, and what to tell the user about the connection and the certificate.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// How to check the server's certificate.
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
    #[error("TLS setup failed: {0}")]
    Rustls(String),
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The rustls configuration for these options, and a sentence saying what
/// the certificate will be checked against.
pub fn client_config(opts: &TlsOptions) -> Result<(Arc<ClientConfig>, String), TlsSetupError> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsSetupError::Rustls(e.to_string()))?;
    if opts.insecure {
        let config = builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnything(provider())))
            .with_no_client_auth();
        return Ok((
            Arc::new(config),
            "certificate NOT checked (--insecure): anyone in the path could read and change this session".into(),
        ));
    }
    let mut roots = RootCertStore::empty();
    let source = match &opts.ca_file {
        None if !opts.trust.is_empty() => {
            roots.add_parsable_certificates(opts.trust.clone());
            "the built-in server's own certificate".to_string()
        }
        Some(path) => {
            let (added, source) = load_ca_file(&mut roots, path)?;
            if added == 0 {
                return Err(TlsSetupError::EmptyCaFile(path.display().to_string()));
            }
            source
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                return Err(TlsSetupError::NoSystemRoots);
            }
            format!("the system's {added} trusted roots")
        }
    };
    let config = builder.with_root_certificates(roots).with_no_client_auth();
    Ok((Arc::new(config), source))
}

fn load_ca_file(roots: &mut RootCertStore, path: &Path) -> Result<(usize, String), TlsSetupError> {
    let err = |reason: String| TlsSetupError::CaFile {
        path: path.display().to_string(),
        reason,
    };
    let iter = CertificateDer::pem_file_iter(path).map_err(|e| err(e.to_string()))?;
    let certs: Vec<CertificateDer<'static>> = iter
        .collect::<Result<_, _>>()
        .map_err(|e| err(e.to_string()))?;
    let (added, _) = roots.add_parsable_certificates(certs);
    Ok((added, format!("the CA file {}", path.display())))
}

/// The name the certificate must carry: `--tls-name`, else the host.
pub fn server_name(host: &str, opts: &TlsOptions) -> Result<ServerName<'static>, TlsSetupError> {
    let name = opts.tls_name.as_deref().unwrap_or(host);
    let name = name.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(name.to_string()).map_err(|_| TlsSetupError::BadName(name.to_string()))
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
                C::Expired | C::ExpiredContext { .. } => {
                    "the server's certificate has expired".to_string()
                }
                C::NotValidYet | C::NotValidYetContext { .. } => {
                    "the server's certificate is not valid yet".to_string()
                }
                other => format!("the server's certificate was refused: {other:?}"),
            }
        }
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
        .and_then(|s| s.suite().as_str())
        .unwrap_or("unknown cipher");
    format!("TLS established: {version}, {suite}")
}

/// Sentences about an established connection: version, cipher, certificate.
pub fn describe(conn: &rustls::ClientConnection, checked_against: &str, name: &str) -> Vec<String> {
    let mut out = vec![established(conn)];
    if let Some(cert) = conn.peer_certificates().and_then(|c| c.first()) {
        // The certificate comes from the server: its text is made visible
        // like any other byte the server sends.
        out.push(crate::proto::visible::visible(
            describe_certificate(cert).as_bytes(),
        ));
    }
    if checked_against.starts_with("certificate NOT") {
        out.push(checked_against.to_string());
    } else {
        out.push(format!(
            "certificate checked against {checked_against}, for the name {name:?}"
        ));
    }
    out
}

fn describe_certificate(der: &CertificateDer<'_>) -> String {
    use x509_parser::prelude::*;
    match X509Certificate::from_der(der.as_ref()) {
        Ok((_, cert)) => {
            let names: Vec<String> = cert
                .subject_alternative_name()
                .ok()
                .flatten()
                .map(|ext| {
                    ext.value
                        .general_names
                        .iter()
                        .map(|n| match n {
                            GeneralName::DNSName(d) => format!("DNS:{d}"),
                            GeneralName::IPAddress(ip) => format!("IP:{}", ip_text(ip)),
                            other => format!("{other}"),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let not_after = cert.validity().not_after;
            let expiry = not_after
                .to_rfc2822()
                .unwrap_or_else(|_| not_after.to_string());
            format!(
                "server certificate: subject {}; names {}; issuer {}; expires {}",
                cert.subject(),
                if names.is_empty() {
                    "(none)".to_string()
                } else {
                    names.join(", ")
                },
                cert.issuer(),
                expiry
            )
        }
        Err(e) => format!("server certificate could not be read: {e}"),
    }
}

fn ip_text(bytes: &[u8]) -> String {
    match bytes.len() {
        4 => std::net::Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]).to_string(),
        16 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(bytes);
            std::net::Ipv6Addr::from(a).to_string()
        }
        _ => format!("{bytes:02x?}"),
    }
}

/// `--insecure`: accept any certificate, but still check the handshake's
/// signatures so the connection is at least encrypted to whoever answered.
#[derive(Debug)]
struct AcceptAnything(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnything {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
