//! The verifier the client uses: it checks the certificate against the
//! name asked for (`--tls-name`, else the host) whatever name the
//! ClientHello carried (`--tls-sni`), and records the chain the server sent
//! and the verdict, so that a chain that fails is still shown and
//! diagnosed instead of only refused.

use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// What the verifier saw of one handshake.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    /// The server's certificates in the order sent, its own first.
    pub chain: Vec<CertificateDer<'static>>,
    /// Why the chain was refused; None when it was accepted (or not checked).
    pub error: Option<rustls::Error>,
}

/// Where the verifier leaves what it saw; the handshake's owner reads it.
pub type SeenSlot = Arc<Mutex<Seen>>;

/// The most certificates kept of one chain. rustls bounds the handshake
/// message (64 KiB), so this bounds only what is kept and saved.
pub const MAX_KEPT: usize = 64;

#[derive(Debug)]
pub struct Recording {
    /// The check itself: webpki with the roots, or none (`--insecure`).
    pub inner: Arc<dyn ServerCertVerifier>,
    /// The name the certificate must carry.
    pub checked: ServerName<'static>,
    pub seen: SeenSlot,
}

impl ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _sent_as_sni: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let result = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            &self.checked,
            ocsp_response,
            now,
        );
        if let Ok(mut seen) = self.seen.lock() {
            seen.chain = std::iter::once(end_entity)
                .chain(intermediates)
                .take(MAX_KEPT)
                .map(|c| c.clone().into_owned())
                .collect();
            seen.error = result.as_ref().err().cloned();
        }
        result
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// `--insecure`: accept any certificate, but still check the handshake's
/// signatures so the connection is at least encrypted to whoever answered.
#[derive(Debug)]
pub struct AcceptAnything(pub Arc<CryptoProvider>);

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
