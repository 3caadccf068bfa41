//! What a server offers in its EHLO reply (RFC 5321, section 4.1.1.1, and the
//! extensions' own RFCs).

use super::reply::Reply;
use super::visible::visible;

/// The extensions a server announced, read from its EHLO reply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// The domain the server gave on the first line.
    pub domain: String,
    pub pipelining: bool,
    /// SIZE was announced; `Some(0)` or `None` inside means no fixed limit.
    pub size: Option<Option<u64>>,
    pub starttls: bool,
    /// AUTH mechanisms, upper case, from `AUTH …` and the old `AUTH=…` form.
    pub auth: Vec<String>,
    pub eight_bit_mime: bool,
    pub smtputf8: bool,
    pub chunking: bool,
    pub binarymime: bool,
    pub dsn: bool,
    pub enhanced_status_codes: bool,
    pub vrfy: bool,
    pub etrn: bool,
    /// Every other keyword with its parameters, as the server wrote it.
    pub other: Vec<(String, String)>,
}

impl Capabilities {
    /// Reads the capabilities from a 250 reply to EHLO.
    pub fn from_ehlo(reply: &Reply) -> Self {
        let mut caps = Capabilities::default();
        let mut texts = reply.texts();
        if let Some(first) = texts.next() {
            let first = visible(first);
            caps.domain = first.split(' ').next().unwrap_or_default().to_string();
        }
        for text in texts {
            let line = visible(text);
            let line = line.trim();
            // `AUTH=LOGIN PLAIN` is what old Microsoft servers and clients used.
            let (keyword, params) = match line.split_once([' ', '=']) {
                Some((k, p)) => (k, p.trim()),
                None => (line, ""),
            };
            let upper = keyword.to_ascii_uppercase();
            match upper.as_str() {
                "PIPELINING" => caps.pipelining = true,
                "SIZE" => caps.size = Some(params.parse().ok().filter(|&n| n > 0)),
                "STARTTLS" => caps.starttls = true,
                "AUTH" => {
                    for mech in params.split_ascii_whitespace() {
                        let mech = mech.to_ascii_uppercase();
                        if !caps.auth.contains(&mech) {
                            caps.auth.push(mech);
                        }
                    }
                }
                "8BITMIME" => caps.eight_bit_mime = true,
                "SMTPUTF8" => caps.smtputf8 = true,
                "CHUNKING" => caps.chunking = true,
                "BINARYMIME" => caps.binarymime = true,
                "DSN" => caps.dsn = true,
                "ENHANCEDSTATUSCODES" => caps.enhanced_status_codes = true,
                "VRFY" => caps.vrfy = true,
                "ETRN" => caps.etrn = true,
                "" => {}
                _ => caps.other.push((keyword.to_string(), params.to_string())),
            }
        }
        caps
    }

    /// The size limit in bytes, when the server set one.
    pub fn size_limit(&self) -> Option<u64> {
        self.size.flatten()
    }

    pub fn offers_auth(&self, mechanism: &str) -> bool {
        self.auth.iter().any(|m| m.eq_ignore_ascii_case(mechanism))
    }

    /// The keywords as a short list, for a status line.
    pub fn summary(&self) -> Vec<String> {
        let mut out = Vec::new();
        let flags = [
            (self.pipelining, "PIPELINING"),
            (self.starttls, "STARTTLS"),
            (self.eight_bit_mime, "8BITMIME"),
            (self.smtputf8, "SMTPUTF8"),
            (self.chunking, "CHUNKING"),
            (self.binarymime, "BINARYMIME"),
            (self.dsn, "DSN"),
            (self.enhanced_status_codes, "ENHANCEDSTATUSCODES"),
            (self.vrfy, "VRFY"),
            (self.etrn, "ETRN"),
        ];
        if let Some(size) = self.size {
            out.push(match size {
                Some(n) => format!("SIZE {n}"),
                None => "SIZE".to_string(),
            });
        }
        out.extend(
            flags
                .iter()
                .filter(|(on, _)| *on)
                .map(|(_, k)| k.to_string()),
        );
        if !self.auth.is_empty() {
            out.push(format!("AUTH {}", self.auth.join(" ")));
        }
        out.extend(self.other.iter().map(|(k, p)| {
            if p.is_empty() {
                k.clone()
            } else {
                format!("{k} {p}")
            }
        }));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::reply::ReplyParser;

    fn caps(wire: &[u8]) -> Capabilities {
        let mut p = ReplyParser::default();
        p.feed(wire);
        Capabilities::from_ehlo(&p.poll_reply().unwrap().unwrap())
    }

    #[test]
    fn postfix_before_tls() {
        let c = caps(
            b"250-mail.example.test\r\n250-PIPELINING\r\n250-SIZE 1048576\r\n250-VRFY\r\n\
              250-ETRN\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n\
              250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n",
        );
        assert_eq!(c.domain, "mail.example.test");
        assert!(c.pipelining && c.starttls && c.eight_bit_mime && c.smtputf8);
        assert!(c.chunking && c.dsn && c.enhanced_status_codes && c.vrfy && c.etrn);
        assert_eq!(c.size_limit(), Some(1_048_576));
        assert!(c.auth.is_empty());
        assert!(c.other.is_empty());
    }

    #[test]
    fn auth_both_forms_and_unknown_keywords() {
        let c = caps(
            b"250-mx hello\r\n250-AUTH PLAIN LOGIN\r\n250-AUTH=LOGIN CRAM-MD5\r\n\
              250-X-EXPS GSSAPI NTLM\r\n250-size\r\n250 HELP\r\n",
        );
        assert_eq!(c.auth, ["PLAIN", "LOGIN", "CRAM-MD5"]);
        assert!(c.offers_auth("cram-md5"));
        assert_eq!(c.size, Some(None));
        assert_eq!(
            c.other,
            [
                ("X-EXPS".to_string(), "GSSAPI NTLM".to_string()),
                ("HELP".to_string(), String::new())
            ]
        );
        assert_eq!(
            c.summary(),
            [
                "SIZE",
                "AUTH PLAIN LOGIN CRAM-MD5",
                "X-EXPS GSSAPI NTLM",
                "HELP"
            ]
        );
    }

    #[test]
    fn size_zero_means_no_limit() {
        assert_eq!(caps(b"250-x\r\n250 SIZE 0\r\n").size_limit(), None);
    }
}
