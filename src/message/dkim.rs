//! DKIM signing (RFC 6376) of a message about to go: the key read from a
//! PEM file (RSA in PKCS#8 or PKCS#1, Ed25519 in PKCS#8), the
//! DKIM-Signature field put at the top of the message, and the TXT record
//! that publishes the key's public half. mail-auth signs; it reads the
//! clock itself for the signature's `t=`.

use base64::Engine;
use mail_auth::common::crypto::{Algorithm, Ed25519Key, RsaKey, Sha256, SigningKey};
use mail_auth::common::headers::{HeaderWriter, Writable};
use mail_auth::dkim::DkimSigner;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer};

/// The header fields signed, where present (RFC 6376 5.4.1's list, less
/// the trace fields a relay adds).
const SIGNED: [&str; 9] = [
    "From",
    "To",
    "Cc",
    "Subject",
    "Date",
    "Message-ID",
    "Reply-To",
    "MIME-Version",
    "Content-Type",
];

/// A private key for signing. Its bytes are never shown: `Debug` names
/// only the algorithm.
pub enum DkimKey {
    Rsa(RsaKey<Sha256>),
    Ed25519(Ed25519Key),
}

impl std::fmt::Debug for DkimKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.algorithm())
    }
}

/// Why a key or a signature could not be made. The key's contents are
/// never part of the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DkimError {
    #[error("not a PEM private key (RSA as PKCS#8 or PKCS#1, or Ed25519 as PKCS#8)")]
    NotAKey,
    #[error("the key is not a usable RSA or Ed25519 key: {0}")]
    Unusable(String),
    #[error("cannot sign: {0}")]
    Sign(String),
}

impl DkimKey {
    /// Reads a PEM private key.
    pub fn from_pem(pem: &[u8]) -> Result<Self, DkimError> {
        if let Ok(der) = PrivatePkcs8KeyDer::from_pem_slice(pem) {
            // PKCS#8 holds either kind; Ed25519's is the one ring's RSA refuses.
            let der_bytes = der.secret_pkcs8_der().to_vec();
            return match RsaKey::<Sha256>::from_key_der(PrivateKeyDer::Pkcs8(der)) {
                Ok(k) => Ok(Self::Rsa(k)),
                Err(_) => Ed25519Key::from_pkcs8_maybe_unchecked_der(&der_bytes)
                    .map(Self::Ed25519)
                    .map_err(|e| DkimError::Unusable(e.to_string())),
            };
        }
        if let Ok(der) = PrivatePkcs1KeyDer::from_pem_slice(pem) {
            return RsaKey::<Sha256>::from_key_der(PrivateKeyDer::Pkcs1(der))
                .map(Self::Rsa)
                .map_err(|e| DkimError::Unusable(e.to_string()));
        }
        Err(DkimError::NotAKey)
    }

    /// `rsa-sha256` or `ed25519-sha256`.
    pub fn algorithm(&self) -> &'static str {
        match self {
            Self::Rsa(_) => "rsa-sha256",
            Self::Ed25519(_) => "ed25519-sha256",
        }
    }

    /// The TXT record's value: `v=DKIM1; k=rsa; p=…` (RFC 6376 3.6.1; for
    /// RSA `p=` is a SubjectPublicKeyInfo, for Ed25519 the raw key, RFC 8463).
    pub fn record_value(&self) -> String {
        let (k, public) = match self {
            Self::Rsa(key) => ("rsa", rsa_spki(&key.public_key())),
            Self::Ed25519(key) => ("ed25519", key.public_key()),
        };
        let p = base64::engine::general_purpose::STANDARD.encode(public);
        format!("v=DKIM1; k={k}; p={p}")
    }

    /// The record to publish, as a zone file line: the value split into
    /// quoted strings of at most 255 bytes (RFC 1035 3.3.14), on one line
    /// (without parentheses, which some zone readers take badly).
    pub fn zone_record(&self, selector: &str) -> String {
        let value = self.record_value();
        let strings: Vec<String> = value
            .as_bytes()
            .chunks(255)
            .map(|c| format!("\"{}\"", String::from_utf8_lossy(c)))
            .collect();
        format!("{selector}._domainkey IN TXT {}", strings.join(" "))
    }

    /// The message with a DKIM-Signature field for `domain` and `selector`
    /// at its top. `message` has CRLF line ends.
    pub fn sign(&self, message: &[u8], domain: &str, selector: &str) -> Result<Vec<u8>, DkimError> {
        let present: Vec<&str> = SIGNED
            .into_iter()
            .filter(|name| has_field(message, name))
            .collect();
        let signature = DkimSigner::from_key(Borrowed(self))
            .domain(domain)
            .selector(selector)
            .headers(present)
            .sign(message)
            .map_err(|e| DkimError::Sign(e.to_string()))?;
        let mut out = signature.to_header().into_bytes();
        out.extend_from_slice(message);
        Ok(out)
    }
}

/// The key lent to mail-auth's signer, which wants to own one.
struct Borrowed<'a>(&'a DkimKey);

impl SigningKey for Borrowed<'_> {
    type Hasher = Sha256;

    fn sign(&self, input: impl Writable) -> mail_auth::Result<Vec<u8>> {
        match self.0 {
            DkimKey::Rsa(k) => k.sign(input),
            DkimKey::Ed25519(k) => k.sign(input),
        }
    }

    fn algorithm(&self) -> Algorithm {
        match self.0 {
            DkimKey::Rsa(k) => k.algorithm(),
            DkimKey::Ed25519(k) => k.algorithm(),
        }
    }
}

/// Whether the header section has a field of this name.
pub fn has_field(message: &[u8], name: &str) -> bool {
    header_section(message).split(|&b| b == b'\n').any(|line| {
        line.len() > name.len()
            && line[name.len()] == b':'
            && line[..name.len()].eq_ignore_ascii_case(name.as_bytes())
    })
}

fn header_section(message: &[u8]) -> &[u8] {
    let end = memchr::memmem::find(message, b"\r\n\r\n").unwrap_or(message.len());
    &message[..end]
}

/// PKCS#1 RSAPublicKey wrapped as a SubjectPublicKeyInfo (RFC 5280 4.1,
/// RFC 3279 2.3.1), the form RFC 6376 3.6.1 publishes.
fn rsa_spki(pkcs1: &[u8]) -> Vec<u8> {
    const ALGORITHM: [u8; 15] = [
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    ];
    let mut bits = vec![0u8];
    bits.extend_from_slice(pkcs1);
    let mut body = ALGORITHM.to_vec();
    body.extend(der(0x03, &bits));
    der(0x30, &body)
}

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|&b| b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEMO: &[u8] = include_bytes!("../../assets/dkim/demo.key");

    #[test]
    fn the_demo_key_is_rsa_and_its_record_is_its_spki() {
        let key = DkimKey::from_pem(DEMO).unwrap();
        assert_eq!(key.algorithm(), "rsa-sha256");
        let record = key.record_value();
        assert!(
            record.starts_with("v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"),
            "{record}"
        );
        assert_eq!(format!("{key:?}"), "rsa-sha256");
    }

    #[test]
    fn a_zone_record_is_split_into_strings_of_255_bytes() {
        let key = DkimKey::from_pem(DEMO).unwrap();
        let line = key.zone_record("demo");
        assert!(
            line.starts_with("demo._domainkey IN TXT \"v=DKIM1; k=rsa; p="),
            "{line}"
        );
        let strings: Vec<&str> = line.split('"').skip(1).step_by(2).collect();
        assert_eq!(strings.len(), 2, "{line}");
        assert_eq!(strings[0].len(), 255);
        assert_eq!(strings.concat(), key.record_value());
    }

    #[test]
    fn an_ed25519_key_signs_with_ed25519_sha256() {
        let pkcs8 = Ed25519Key::generate_pkcs8().unwrap();
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            base64::engine::general_purpose::STANDARD.encode(&pkcs8)
        );
        let key = DkimKey::from_pem(pem.as_bytes()).unwrap();
        assert_eq!(key.algorithm(), "ed25519-sha256");
        assert!(key.record_value().starts_with("v=DKIM1; k=ed25519; p="));
        let signed = key
            .sign(
                b"From: a@client.example\r\nSubject: x\r\n\r\nhi\r\n",
                "client.example",
                "ed",
            )
            .unwrap();
        let text = String::from_utf8(signed).unwrap();
        assert!(
            text.starts_with("DKIM-Signature: v=1; a=ed25519-sha256;"),
            "{text}"
        );
        assert!(text.contains("h=Subject:From;"), "{text}");
    }

    #[test]
    fn what_is_not_a_key_is_said_without_its_contents() {
        let err =
            DkimKey::from_pem(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
                .unwrap_err();
        assert_eq!(err, DkimError::NotAKey);
    }
}
