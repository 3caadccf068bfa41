//! SASL mechanisms for SMTP AUTH (RFC 4954): PLAIN (RFC 4616), LOGIN,
//! CRAM-MD5 (RFC 2195) and XOAUTH2. Secrets never appear in `Debug` output
//! and are masked in every line this module describes.

use std::fmt;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};

use super::visible::visible;

/// What the transcript shows in place of a secret.
pub const MASK: &str = "********";

/// A password or token. `Debug` and `Display` print the mask.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The secret itself, for the wire only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

/// A SASL mechanism the client can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    Plain,
    Login,
    CramMd5,
    XOAuth2,
}

impl Mechanism {
    pub const ALL: [Mechanism; 4] = [Self::Plain, Self::Login, Self::CramMd5, Self::XOAuth2];

    pub fn name(self) -> &'static str {
        match self {
            Self::Plain => "PLAIN",
            Self::Login => "LOGIN",
            Self::CramMd5 => "CRAM-MD5",
            Self::XOAuth2 => "XOAUTH2",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(s))
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Who to authenticate as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user: String,
    pub secret: Secret,
}

/// A line the client sends during AUTH: the wire text and what to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthLine {
    /// Exactly what goes on the wire, without CRLF.
    pub wire: String,
    /// The same line with the secret replaced by the mask.
    pub shown: String,
    /// What the line carries, decoded, with the secret masked.
    pub decoded: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("the server's AUTH challenge is not valid base64: {0}")]
    BadChallenge(String),
    #[error("the server asked for more than {0} expects")]
    UnexpectedChallenge(&'static str),
    #[error("user name or secret contains a NUL byte, which {0} cannot carry")]
    Nul(&'static str),
}

/// One run of a mechanism: the first line, then a response per challenge.
#[derive(Debug, Clone)]
pub struct AuthExchange {
    mechanism: Mechanism,
    credentials: Credentials,
    step: u8,
}

impl AuthExchange {
    pub fn new(mechanism: Mechanism, credentials: Credentials) -> Result<Self, AuthError> {
        if mechanism == Mechanism::Plain
            && (credentials.user.contains('\0') || credentials.secret.0.contains('\0'))
        {
            return Err(AuthError::Nul("PLAIN"));
        }
        Ok(Self {
            mechanism,
            credentials,
            step: 0,
        })
    }

    pub fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    pub fn user(&self) -> &str {
        &self.credentials.user
    }

    /// The AUTH command line. PLAIN and XOAUTH2 carry the credentials in it
    /// (an initial response); LOGIN and CRAM-MD5 wait for a challenge.
    pub fn first_line(&mut self) -> AuthLine {
        let user = &self.credentials.user;
        let secret = self.credentials.secret.expose();
        let name = self.mechanism.name();
        match self.mechanism {
            Mechanism::Plain => {
                let payload = B64.encode(format!("\0{user}\0{secret}"));
                AuthLine {
                    wire: format!("AUTH PLAIN {payload}"),
                    shown: format!("AUTH PLAIN {MASK}"),
                    decoded: format!(
                        "PLAIN response: authorization id \"\", user \"{}\", password {MASK}",
                        visible(user.as_bytes())
                    ),
                }
            }
            Mechanism::XOAuth2 => {
                let payload = B64.encode(format!("user={user}\x01auth=Bearer {secret}\x01\x01"));
                AuthLine {
                    wire: format!("AUTH XOAUTH2 {payload}"),
                    shown: format!("AUTH XOAUTH2 {MASK}"),
                    decoded: format!(
                        "XOAUTH2 response: user \"{}\", bearer token {MASK}",
                        visible(user.as_bytes())
                    ),
                }
            }
            Mechanism::Login | Mechanism::CramMd5 => AuthLine {
                wire: format!("AUTH {name}"),
                shown: format!("AUTH {name}"),
                decoded: String::new(),
            },
        }
    }

    /// Decodes a 334 challenge's text for the transcript.
    pub fn decode_challenge(text: &[u8]) -> Result<Vec<u8>, AuthError> {
        let trimmed = text.trim_ascii();
        B64.decode(trimmed)
            .map_err(|_| AuthError::BadChallenge(visible(trimmed)))
    }

    /// The answer to one 334 challenge (already base64-decoded).
    pub fn respond(&mut self, challenge: &[u8]) -> Result<AuthLine, AuthError> {
        self.step += 1;
        let user = self.credentials.user.clone();
        let secret = self.credentials.secret.expose().to_string();
        match (self.mechanism, self.step) {
            (Mechanism::Login, 1) => Ok(AuthLine {
                wire: B64.encode(&user),
                shown: B64.encode(&user),
                decoded: format!("LOGIN user name \"{}\"", visible(user.as_bytes())),
            }),
            (Mechanism::Login, 2) => Ok(AuthLine {
                wire: B64.encode(&secret),
                shown: MASK.into(),
                decoded: format!("LOGIN password {MASK}"),
            }),
            (Mechanism::CramMd5, 1) => {
                let digest = cram_md5_digest(secret.as_bytes(), challenge);
                Ok(AuthLine {
                    wire: B64.encode(format!("{user} {digest}")),
                    shown: MASK.into(),
                    decoded: format!(
                        "CRAM-MD5 response: user \"{}\", HMAC-MD5 digest {MASK}",
                        visible(user.as_bytes())
                    ),
                })
            }
            // XOAUTH2 answers a failure challenge (a JSON error) with an
            // empty line, after which the server sends its final reply.
            (Mechanism::XOAuth2, 1) => Ok(AuthLine {
                wire: String::new(),
                shown: String::new(),
                decoded: "XOAUTH2: empty response to the error challenge".into(),
            }),
            _ => Err(AuthError::UnexpectedChallenge(self.mechanism.name())),
        }
    }
}

/// Lower-case hex HMAC-MD5 of the challenge keyed with the password.
pub fn cram_md5_digest(secret: &[u8], challenge: &[u8]) -> String {
    use std::fmt::Write as _;
    let Ok(mut mac) = Hmac::<md5::Md5>::new_from_slice(secret) else {
        // HMAC takes keys of any length; this branch cannot run.
        return String::new();
    };
    mac.update(challenge);
    mac.finalize()
        .into_bytes()
        .iter()
        .fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> Credentials {
        Credentials {
            user: "alice@example.test".into(),
            secret: Secret::new("wonderland"),
        }
    }

    #[test]
    fn plain_initial_response() {
        let mut x = AuthExchange::new(Mechanism::Plain, creds()).unwrap();
        let line = x.first_line();
        assert_eq!(
            line.wire,
            format!(
                "AUTH PLAIN {}",
                B64.encode("\0alice@example.test\0wonderland")
            )
        );
        assert_eq!(line.shown, "AUTH PLAIN ********");
        assert!(!line.decoded.contains("wonderland"));
        assert!(x.respond(b"").is_err());
    }

    #[test]
    fn login_steps() {
        let mut x = AuthExchange::new(Mechanism::Login, creds()).unwrap();
        assert_eq!(x.first_line().wire, "AUTH LOGIN");
        let challenge = AuthExchange::decode_challenge(b"VXNlcm5hbWU6").unwrap();
        assert_eq!(challenge, b"Username:");
        assert_eq!(
            x.respond(&challenge).unwrap().wire,
            B64.encode("alice@example.test")
        );
        let pass = x.respond(b"Password:").unwrap();
        assert_eq!(pass.wire, B64.encode("wonderland"));
        assert_eq!(pass.shown, MASK);
        assert!(x.respond(b"more?").is_err());
    }

    #[test]
    fn cram_md5_matches_rfc_2195() {
        // The example of RFC 2195, section 2.
        let digest = cram_md5_digest(
            b"tanstaaftanstaaf",
            b"<1896.697170952@postoffice.reston.mci.net>",
        );
        assert_eq!(digest, "b913a602c7eda7a495b4e6e7334d3890");
        let mut x = AuthExchange::new(Mechanism::CramMd5, creds()).unwrap();
        let line = x.respond(b"<1.2@x>").unwrap();
        assert_eq!(line.shown, MASK);
        let decoded = String::from_utf8(B64.decode(line.wire).unwrap()).unwrap();
        assert!(decoded.starts_with("alice@example.test "));
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let x = AuthExchange::new(Mechanism::Login, creds()).unwrap();
        assert!(!format!("{x:?}").contains("wonderland"));
    }

    #[test]
    fn bad_challenge_and_nul() {
        assert!(AuthExchange::decode_challenge(b"%%%").is_err());
        let bad = Credentials {
            user: "a\0b".into(),
            secret: Secret::new("x"),
        };
        assert!(AuthExchange::new(Mechanism::Plain, bad).is_err());
    }
}
