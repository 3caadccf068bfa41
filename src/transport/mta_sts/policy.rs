//! MTA-STS text (RFC 8461): the `_mta-sts` TXT record and the policy file,
//! parsed with no I/O, and the MX host matched against the policy's
//! patterns. Both come from the network: every limit is an error with the
//! limit in it, and what is shown is made visible.

use crate::proto::visible::visible;

/// The largest policy body read (RFC 8461 3.3 suggests 64 KiB).
pub const MAX_POLICY: usize = 64 * 1024;
/// The longest `max_age` allowed (RFC 8461 3.2: about a year).
pub const MAX_AGE: u64 = 31_557_600;
/// The most `mx` lines kept.
pub const MAX_MX: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Enforce,
    Testing,
    None,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Testing => "testing",
            Mode::None => "none",
        }
    }
}

/// A policy as published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub mode: Mode,
    pub mx: Vec<String>,
    pub max_age: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("the policy is larger than {MAX_POLICY} bytes")]
    TooLarge,
    #[error("the policy has no \"version: STSv1\" line")]
    NoVersion,
    #[error("the policy's version is {0:?}, not STSv1")]
    BadVersion(String),
    #[error("the policy has no mode")]
    NoMode,
    #[error("the policy's mode {0:?} is not enforce, testing or none")]
    BadMode(String),
    #[error("the policy has no max_age")]
    NoMaxAge,
    #[error("the policy's max_age {0:?} is not a number of seconds up to {MAX_AGE}")]
    BadMaxAge(String),
    #[error("the policy's mode is {0} but it names no mx")]
    NoMx(&'static str),
    #[error("line {0} of the policy is not \"key: value\"")]
    BadLine(usize),
}

/// Parses a policy body. Lines end in CRLF or LF (RFC 8461 3.2 allows
/// both); unknown keys are ignored, as the RFC says.
pub fn parse(body: &[u8]) -> Result<Policy, PolicyError> {
    if body.len() > MAX_POLICY {
        return Err(PolicyError::TooLarge);
    }
    let text = String::from_utf8_lossy(body);
    let (mut version, mut mode, mut max_age) = (None, None, None);
    let mut mx = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let (key, value) = line.split_once(':').ok_or(PolicyError::BadLine(i + 1))?;
        let value = value.trim();
        match key.trim() {
            "version" if version.is_none() => version = Some(value.to_string()),
            "mode" if mode.is_none() => mode = Some(value.to_string()),
            "max_age" if max_age.is_none() => max_age = Some(value.to_string()),
            "mx" if mx.len() < MAX_MX => mx.push(value.to_ascii_lowercase()),
            _ => {}
        }
    }
    match version.as_deref() {
        None => return Err(PolicyError::NoVersion),
        Some("STSv1") => {}
        Some(v) => return Err(PolicyError::BadVersion(visible(v.as_bytes()))),
    }
    let mode = match mode.as_deref() {
        None => return Err(PolicyError::NoMode),
        Some("enforce") => Mode::Enforce,
        Some("testing") => Mode::Testing,
        Some("none") => Mode::None,
        Some(m) => return Err(PolicyError::BadMode(visible(m.as_bytes()))),
    };
    let max_age = match max_age {
        None => return Err(PolicyError::NoMaxAge),
        Some(a) => match a.parse::<u64>() {
            Ok(n) if n <= MAX_AGE && a.len() <= 10 => n,
            _ => return Err(PolicyError::BadMaxAge(visible(a.as_bytes()))),
        },
    };
    if mx.is_empty() && mode != Mode::None {
        return Err(PolicyError::NoMx(mode.name()));
    }
    Ok(Policy { mode, mx, max_age })
}

/// Whether `host` matches an `mx` pattern (RFC 8461 4.1: a leading `*.`
/// stands for exactly one label).
pub fn mx_matches(pattern: &str, host: &str) -> bool {
    crate::transport::tls::diagnose::name_covers(pattern, host)
}

/// The record `_mta-sts.DOMAIN` must carry: `v=STSv1; id=…;` (RFC 8461
/// 3.1). Returns the id, or why the record does not count.
pub fn parse_record(txt: &str) -> Result<String, String> {
    let mut fields = txt.split(';').map(str::trim).filter(|f| !f.is_empty());
    if fields.next() != Some("v=STSv1") {
        return Err("it does not start with v=STSv1".into());
    }
    let id = fields
        .find_map(|f| f.strip_prefix("id="))
        .ok_or("it has no id=")?;
    if id.is_empty() || id.len() > 32 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(format!(
            "its id {:?} is not 1 to 32 letters and digits",
            visible(id.as_bytes())
        ));
    }
    Ok(id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies() {
        let ok = b"version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmax_age: 604800\r\n";
        assert_eq!(
            parse(ok),
            Ok(Policy {
                mode: Mode::Enforce,
                mx: vec!["mail.example.com".into(), "*.example.net".into()],
                max_age: 604_800
            })
        );
        let table: Vec<(&[u8], Result<Mode, PolicyError>)> = vec![
            (
                b"version: STSv1\nmode: testing\nmx: a.test\nmax_age: 86400\n",
                Ok(Mode::Testing),
            ),
            (
                b"version: STSv1\nmode: none\nmax_age: 86400\nextension: x\n",
                Ok(Mode::None),
            ),
            (
                b"mode: enforce\nmx: a.test\nmax_age: 1\n",
                Err(PolicyError::NoVersion),
            ),
            (
                b"version: STSv2\nmode: enforce\nmx: a\nmax_age: 1\n",
                Err(PolicyError::BadVersion("STSv2".into())),
            ),
            (
                b"version: STSv1\nmx: a\nmax_age: 1\n",
                Err(PolicyError::NoMode),
            ),
            (
                b"version: STSv1\nmode: strict\nmx: a\nmax_age: 1\n",
                Err(PolicyError::BadMode("strict".into())),
            ),
            (
                b"version: STSv1\nmode: enforce\nmx: a\n",
                Err(PolicyError::NoMaxAge),
            ),
            (
                b"version: STSv1\nmode: enforce\nmx: a\nmax_age: 99999999999\n",
                Err(PolicyError::BadMaxAge("99999999999".into())),
            ),
            (
                b"version: STSv1\nmode: enforce\nmx: a\nmax_age: -1\n",
                Err(PolicyError::BadMaxAge("-1".into())),
            ),
            (
                b"version: STSv1\nmode: enforce\nmax_age: 1\n",
                Err(PolicyError::NoMx("enforce")),
            ),
            (b"version: STSv1\ngarbage\n", Err(PolicyError::BadLine(2))),
        ];
        for (body, want) in table {
            assert_eq!(
                parse(body).map(|p| p.mode),
                want,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        assert_eq!(
            parse(&vec![b'a'; MAX_POLICY + 1]),
            Err(PolicyError::TooLarge)
        );
        let hostile = b"version: STS\x1b[31m\nmode: enforce\nmx: a\nmax_age: 1\n";
        assert!(!parse(hostile).unwrap_err().to_string().contains('\x1b'));
    }

    #[test]
    fn mx_patterns() {
        assert!(mx_matches("mail.example.com", "MAIL.example.com."));
        assert!(mx_matches("*.example.net", "mx1.example.net"));
        assert!(!mx_matches("*.example.net", "a.b.example.net"));
        assert!(!mx_matches("*.example.net", "example.net"));
        assert!(!mx_matches("mail.example.com", "mail.example.org"));
    }

    proptest::proptest! {
        /// Any bytes: no panic, results within their limits, errors visible.
        #[test]
        fn any_bytes_parse_or_fail_in_words(body in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
            match parse(&body) {
                Ok(p) => proptest::prop_assert!(p.mx.len() <= MAX_MX && p.max_age <= MAX_AGE),
                Err(e) => proptest::prop_assert!(!e.to_string().chars().any(char::is_control)),
            }
        }

        /// A policy written from its parts parses back to them, whichever line end.
        #[test]
        fn written_policies_parse_back(
            mx in proptest::collection::vec("[a-z]{1,8}(\\.[a-z]{1,8}){1,3}", 1..5),
            max_age in 0..=MAX_AGE,
            crlf in proptest::bool::ANY,
        ) {
            let end = if crlf { "\r\n" } else { "\n" };
            let mut text = format!("version: STSv1{end}mode: enforce{end}");
            for m in &mx {
                text.push_str(&format!("mx: {m}{end}"));
            }
            text.push_str(&format!("max_age: {max_age}{end}"));
            let p = parse(text.as_bytes()).unwrap();
            proptest::prop_assert_eq!(p, Policy { mode: Mode::Enforce, mx, max_age });
        }
    }

    #[test]
    fn records() {
        assert_eq!(
            parse_record("v=STSv1; id=20160831085700Z;"),
            Ok("20160831085700Z".into())
        );
        assert_eq!(parse_record("v=STSv1;id=abc"), Ok("abc".into()));
        assert!(parse_record("v=spf1 -all").is_err());
        assert!(parse_record("v=STSv1;").is_err());
        assert!(parse_record("v=STSv1; id=a-b").is_err());
        assert!(parse_record(&format!("v=STSv1; id={}", "a".repeat(33))).is_err());
    }
}
