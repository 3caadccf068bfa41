//! The built-in server's certificate: one given as PEM files, or one made at
//! start for the listen name, with its fingerprint for the user to check.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;

/// A server certificate ready for TLS.
#[derive(Clone)]
pub struct Identity {
    pub config: Arc<ServerConfig>,
    /// The leaf certificate, for a client that wants to trust exactly it.
    pub certificate: CertificateDer<'static>,
    /// SHA-256 of the certificate, as colon-separated hex.
    pub fingerprint: String,
    /// Where it came from, for the startup message.
    pub source: String,
}

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{0} holds no certificate")]
    NoCertificate(String),
    #[error("cannot make a certificate: {0}")]
    Generate(String),
    #[error("the certificate and key do not fit together: {0}")]
    Rustls(String),
}

fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, IdentityError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| IdentityError::Rustls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| IdentityError::Rustls(e.to_string()))?;
    Ok(Arc::new(config))
}

pub fn fingerprint(der: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, der)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// A self-signed certificate for these names, made now.
pub fn generate(names: &[String]) -> Result<Identity, IdentityError> {
    let err = |e: rcgen::Error| IdentityError::Generate(e.to_string());
    let mut params = rcgen::CertificateParams::new(names.to_vec()).map_err(err)?;
    if let Some(first) = names.first() {
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, first.clone());
    }
    params.distinguished_name.push(
        rcgen::DnType::OrganizationName,
        "smtp-workbench demo server",
    );
    let signing_key = rcgen::KeyPair::generate().map_err(err)?;
    let certificate = params.self_signed(&signing_key).map_err(err)?.der().clone();
    let key = PrivateKeyDer::try_from(signing_key.serialize_der())
        .map_err(|e| IdentityError::Generate(e.to_string()))?;
    Ok(Identity {
        config: server_config(vec![certificate.clone()], key)?,
        fingerprint: fingerprint(&certificate),
        certificate,
        source: format!("self-signed, made at start for {}", names.join(", ")),
    })
}

/// A certificate chain and key from PEM files.
pub fn load(cert: &Path, key: &Path) -> Result<Identity, IdentityError> {
    let read_err = |p: &Path, e: String| IdentityError::Read {
        path: p.display().to_string(),
        reason: e,
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| read_err(cert, e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| read_err(cert, e.to_string()))?;
    let Some(first) = chain.first().cloned() else {
        return Err(IdentityError::NoCertificate(cert.display().to_string()));
    };
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| read_err(key, e.to_string()))?;
    Ok(Identity {
        config: server_config(chain, key)?,
        fingerprint: fingerprint(&first),
        certificate: first,
        source: format!("from {}", cert.display()),
    })
}
