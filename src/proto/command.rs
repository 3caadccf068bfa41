//! Client commands as types: each one's `Display` is its exact line on the wire.
//!
//! Arguments are checked when they are built. A CR, LF or NUL would let one
//! argument smuggle a second command onto the wire, so it is an error and is
//! never stripped silently.

use std::fmt;

/// A command argument that failed its check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("{what} contains {}, which would end the command line early", byte_name(*.byte))]
    ForbiddenByte { what: &'static str, byte: u8 },
    #[error("{what} is empty")]
    Empty { what: &'static str },
    #[error("{what} contains {found:?}, which is not allowed there")]
    ForbiddenChar { what: &'static str, found: char },
    #[error("parameter {keyword}: {reason}")]
    BadParameter { keyword: String, reason: String },
    #[error("BDAT chunk of {size} bytes: a chunk needs at least one byte unless it is the LAST")]
    EmptyChunk { size: usize },
}

fn byte_name(b: u8) -> String {
    match b {
        b'\r' => "a CR (0x0d)".into(),
        b'\n' => "an LF (0x0a)".into(),
        0 => "a NUL (0x00)".into(),
        other => format!("byte 0x{other:02x}"),
    }
}

fn check_line_safe(what: &'static str, s: &str) -> Result<(), CommandError> {
    match s.bytes().find(|b| matches!(b, b'\r' | b'\n' | 0)) {
        Some(byte) => Err(CommandError::ForbiddenByte { what, byte }),
        None => Ok(()),
    }
}

/// A mailbox as written between the angle brackets of MAIL FROM or RCPT TO.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Address(String);

impl Address {
    pub fn new(s: impl Into<String>) -> Result<Self, CommandError> {
        let s = s.into();
        check_line_safe("address", &s)?;
        if s.is_empty() {
            return Err(CommandError::Empty { what: "address" });
        }
        if let Some(c) = s.chars().find(|c| matches!(c, '<' | '>')) {
            return Err(CommandError::ForbiddenChar {
                what: "address",
                found: c,
            });
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after the last `@`, if any.
    pub fn domain(&self) -> Option<&str> {
        self.0.rsplit_once('@').map(|(_, d)| d)
    }

    /// True when the address needs SMTPUTF8 (RFC 6531).
    pub fn is_internationalized(&self) -> bool {
        !self.0.is_ascii()
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The envelope sender: a mailbox, or the null path `<>` that bounces use.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReversePath {
    Null,
    Mailbox(Address),
}

impl ReversePath {
    /// `""` and `"<>"` are the null path; anything else must be an address.
    pub fn parse(s: &str) -> Result<Self, CommandError> {
        match s.trim() {
            "" | "<>" => Ok(Self::Null),
            other => {
                let inner = other
                    .strip_prefix('<')
                    .and_then(|o| o.strip_suffix('>'))
                    .unwrap_or(other);
                Ok(Self::Mailbox(Address::new(inner)?))
            }
        }
    }

    pub fn address(&self) -> Option<&Address> {
        match self {
            Self::Null => None,
            Self::Mailbox(a) => Some(a),
        }
    }
}

impl fmt::Display for ReversePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Null => f.write_str("<>"),
            Self::Mailbox(a) => write!(f, "<{a}>"),
        }
    }
}

/// A plain argument (EHLO name, VRFY string, …): no CR, LF or NUL.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Arg(String);

impl Arg {
    pub fn new(what: &'static str, s: impl Into<String>) -> Result<Self, CommandError> {
        let s = s.into();
        check_line_safe(what, &s)?;
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An ESMTP parameter of MAIL or RCPT, `KEYWORD` or `KEYWORD=value`
/// (RFC 5321, section 4.1.2). The known keywords have their values checked.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Param {
    keyword: String,
    value: Option<String>,
}

impl Param {
    /// Checks and builds a parameter from its wire form parts.
    pub fn new(keyword: &str, value: Option<&str>) -> Result<Self, CommandError> {
        let bad = |reason: &str| CommandError::BadParameter {
            keyword: keyword.to_string(),
            reason: reason.to_string(),
        };
        let keyword_ok = keyword
            .bytes()
            .enumerate()
            .all(|(i, b)| b.is_ascii_alphanumeric() || (i > 0 && b == b'-'));
        if keyword.is_empty() || !keyword_ok {
            return Err(bad("a keyword is letters, digits and hyphens"));
        }
        if let Some(v) = value {
            // esmtp-value: any printable ASCII but '=' and space.
            if v.is_empty() || !v.bytes().all(|b| (33..=126).contains(&b) && b != b'=') {
                return Err(bad("a value is printable ASCII with no '=' or space"));
            }
        }
        let upper = keyword.to_ascii_uppercase();
        let value_upper = value.map(str::to_ascii_uppercase);
        match (upper.as_str(), value_upper.as_deref()) {
            ("SIZE", Some(v)) if v.parse::<u64>().is_ok() => {}
            ("SIZE", _) => return Err(bad("SIZE=<number of bytes>")),
            ("BODY", Some("7BIT" | "8BITMIME" | "BINARYMIME")) => {}
            ("BODY", _) => return Err(bad("BODY=7BIT, 8BITMIME or BINARYMIME")),
            ("SMTPUTF8", None) => {}
            ("SMTPUTF8", Some(_)) => return Err(bad("SMTPUTF8 takes no value")),
            ("RET", Some("FULL" | "HDRS")) => {}
            ("RET", _) => return Err(bad("RET=FULL or RET=HDRS")),
            ("ENVID", Some(_)) => {}
            ("ENVID", None) => return Err(bad("ENVID=<xtext>")),
            ("NOTIFY", Some(v)) => {
                let parts: Vec<&str> = v.split(',').collect();
                let known = parts
                    .iter()
                    .all(|p| matches!(*p, "SUCCESS" | "FAILURE" | "DELAY" | "NEVER"));
                if !known || (parts.contains(&"NEVER") && parts.len() > 1) {
                    return Err(bad("NOTIFY=NEVER or a list of SUCCESS, FAILURE, DELAY"));
                }
            }
            ("NOTIFY", None) => return Err(bad("NOTIFY needs a value")),
            ("ORCPT", Some(v))
                if v.split_once(';')
                    .is_some_and(|(t, a)| !t.is_empty() && !a.is_empty()) => {}
            ("ORCPT", _) => {
                return Err(bad(
                    "ORCPT=<address type>;<xtext address>, e.g. rfc822;bob@example.test",
                ))
            }
            _ => {}
        }
        Ok(Self {
            keyword: keyword.to_string(),
            value: value.map(str::to_string),
        })
    }

    /// Parses `KEYWORD` or `KEYWORD=value`.
    pub fn parse(s: &str) -> Result<Self, CommandError> {
        match s.split_once('=') {
            Some((k, v)) => Self::new(k, Some(v)),
            None => Self::new(s, None),
        }
    }

    pub fn size(bytes: u64) -> Self {
        Self {
            keyword: "SIZE".into(),
            value: Some(bytes.to_string()),
        }
    }

    pub fn body_8bitmime() -> Self {
        Self {
            keyword: "BODY".into(),
            value: Some("8BITMIME".into()),
        }
    }

    pub fn smtputf8() -> Self {
        Self {
            keyword: "SMTPUTF8".into(),
            value: None,
        }
    }

    /// `ORCPT=rfc822;<address>`, the address xtext-encoded (RFC 3461, section 4).
    pub fn orcpt(address: &str) -> Self {
        Self {
            keyword: "ORCPT".into(),
            value: Some(format!("rfc822;{}", xtext(address))),
        }
    }

    pub fn keyword(&self) -> &str {
        &self.keyword
    }

    pub fn value(&self) -> Option<&str> {
        self.value.as_deref()
    }

    pub fn is(&self, keyword: &str) -> bool {
        self.keyword.eq_ignore_ascii_case(keyword)
    }
}

impl fmt::Display for Param {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(v) => write!(f, "{}={v}", self.keyword),
            None => f.write_str(&self.keyword),
        }
    }
}

/// RFC 3461 xtext: `+` and `=`, controls and non-ASCII as `+XX`.
pub fn xtext(s: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if (33..=126).contains(&b) && b != b'+' && b != b'=' {
            out.push(b as char);
        } else {
            let _ = write!(out, "+{b:02X}");
        }
    }
    out
}

/// One SMTP command. `Display` writes the exact wire line, CRLF included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Ehlo(Arg),
    Helo(Arg),
    StartTls,
    /// `AUTH mechanism [initial-response]`; the response is base64 already.
    Auth {
        mechanism: Arg,
        initial_response: Option<Arg>,
    },
    Mail {
        from: ReversePath,
        params: Vec<Param>,
    },
    Rcpt {
        to: Address,
        params: Vec<Param>,
    },
    Data,
    /// `BDAT size [LAST]` (RFC 3030); the chunk's bytes follow the line.
    Bdat {
        size: usize,
        last: bool,
    },
    Rset,
    Vrfy(Arg),
    Expn(Arg),
    Help(Option<Arg>),
    Noop(Option<Arg>),
    Quit,
    // Transports: LMTP and XCLIENT.
    /// `LHLO name`: LMTP's EHLO (RFC 2033, section 4.1).
    Lhlo(Arg),
    /// `XCLIENT NAME=value ...` (Postfix's XCLIENT_README): the attributes
    /// as given, each value xtext-encoded on the wire.
    Xclient(Vec<(String, String)>),
}

impl Command {
    pub fn ehlo(name: &str) -> Result<Self, CommandError> {
        Ok(Self::Ehlo(domain_arg(name)?))
    }

    pub fn helo(name: &str) -> Result<Self, CommandError> {
        Ok(Self::Helo(domain_arg(name)?))
    }

    pub fn lhlo(name: &str) -> Result<Self, CommandError> {
        Ok(Self::Lhlo(domain_arg(name)?))
    }

    /// `XCLIENT` from `NAME=value` words: the names are upper-cased and
    /// must be letters; a value may be empty (Postfix reads that as
    /// unknown) and is xtext-encoded when sent.
    pub fn xclient(attributes: &str) -> Result<Self, CommandError> {
        check_line_safe("XCLIENT attributes", attributes)?;
        let mut attrs = Vec::new();
        for word in attributes.split_ascii_whitespace() {
            let (name, value) = word
                .split_once('=')
                .ok_or_else(|| CommandError::BadParameter {
                    keyword: word.to_string(),
                    reason: "an XCLIENT attribute is NAME=VALUE".into(),
                })?;
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphabetic()) {
                return Err(CommandError::BadParameter {
                    keyword: name.to_string(),
                    reason: "an XCLIENT attribute name is letters only (NAME, ADDR, PORT, \
                             PROTO, HELO, LOGIN, DESTADDR, DESTPORT)"
                        .into(),
                });
            }
            attrs.push((name.to_ascii_uppercase(), value.to_string()));
        }
        if attrs.is_empty() {
            return Err(CommandError::Empty {
                what: "XCLIENT attributes",
            });
        }
        Ok(Self::Xclient(attrs))
    }

    pub fn mail(from: ReversePath, params: Vec<Param>) -> Self {
        Self::Mail { from, params }
    }

    pub fn rcpt(to: Address, params: Vec<Param>) -> Self {
        Self::Rcpt { to, params }
    }

    pub fn bdat(size: usize, last: bool) -> Result<Self, CommandError> {
        if size == 0 && !last {
            return Err(CommandError::EmptyChunk { size });
        }
        Ok(Self::Bdat { size, last })
    }

    pub fn kind(&self) -> Verb {
        match self {
            Self::Ehlo(_) => Verb::Ehlo,
            Self::Helo(_) => Verb::Helo,
            Self::StartTls => Verb::StartTls,
            Self::Auth { .. } => Verb::Auth,
            Self::Mail { .. } => Verb::Mail,
            Self::Rcpt { .. } => Verb::Rcpt,
            Self::Data => Verb::Data,
            Self::Bdat { last, .. } => Verb::Bdat { last: *last },
            Self::Rset => Verb::Rset,
            Self::Vrfy(_) => Verb::Vrfy,
            Self::Expn(_) => Verb::Expn,
            Self::Help(_) => Verb::Help,
            Self::Noop(_) => Verb::Noop,
            Self::Quit => Verb::Quit,
            Self::Lhlo(_) => Verb::Lhlo,
            Self::Xclient(_) => Verb::Xclient,
        }
    }
}

fn domain_arg(name: &str) -> Result<Arg, CommandError> {
    let arg = Arg::new("EHLO name", name)?;
    if name.is_empty() {
        return Err(CommandError::Empty { what: "EHLO name" });
    }
    if let Some(c) = name.chars().find(|c| c.is_whitespace()) {
        return Err(CommandError::ForbiddenChar {
            what: "EHLO name",
            found: c,
        });
    }
    Ok(arg)
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ehlo(d) => write!(f, "EHLO {d}")?,
            Self::Helo(d) => write!(f, "HELO {d}")?,
            Self::StartTls => f.write_str("STARTTLS")?,
            Self::Auth {
                mechanism,
                initial_response,
            } => {
                write!(f, "AUTH {mechanism}")?;
                if let Some(r) = initial_response {
                    // RFC 4954: an empty initial response is sent as "=".
                    if r.as_str().is_empty() {
                        f.write_str(" =")?;
                    } else {
                        write!(f, " {r}")?;
                    }
                }
            }
            Self::Mail { from, params } => {
                write!(f, "MAIL FROM:{from}")?;
                for p in params {
                    write!(f, " {p}")?;
                }
            }
            Self::Rcpt { to, params } => {
                write!(f, "RCPT TO:<{to}>")?;
                for p in params {
                    write!(f, " {p}")?;
                }
            }
            Self::Data => f.write_str("DATA")?,
            Self::Bdat { size, last } => {
                write!(f, "BDAT {size}")?;
                if *last {
                    f.write_str(" LAST")?;
                }
            }
            Self::Rset => f.write_str("RSET")?,
            Self::Vrfy(s) => write!(f, "VRFY {s}")?,
            Self::Expn(s) => write!(f, "EXPN {s}")?,
            Self::Help(None) => f.write_str("HELP")?,
            Self::Help(Some(s)) => write!(f, "HELP {s}")?,
            Self::Noop(None) => f.write_str("NOOP")?,
            Self::Noop(Some(s)) => write!(f, "NOOP {s}")?,
            Self::Quit => f.write_str("QUIT")?,
            Self::Lhlo(d) => write!(f, "LHLO {d}")?,
            Self::Xclient(attrs) => {
                f.write_str("XCLIENT")?;
                for (name, value) in attrs {
                    write!(f, " {name}={}", xtext(value))?;
                }
            }
        }
        f.write_str("\r\n")
    }
}

/// Which command a line is, whether typed as a `Command` or as a raw line;
/// the session uses it to know what the reply means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    Ehlo,
    Helo,
    StartTls,
    Auth,
    Mail,
    Rcpt,
    Data,
    Bdat {
        last: bool,
    },
    Rset,
    Vrfy,
    Expn,
    Help,
    Noop,
    Quit,
    /// Anything else: an unknown or misspelled command.
    Other,
    // Transports.
    Lhlo,
    Xclient,
}

impl Verb {
    /// Classifies a raw line by its first word, as a server would.
    pub fn of_line(line: &str) -> Self {
        let mut words = line.split_ascii_whitespace();
        let first = words.next().unwrap_or_default().to_ascii_uppercase();
        match first.as_str() {
            "EHLO" => Self::Ehlo,
            "HELO" => Self::Helo,
            "STARTTLS" => Self::StartTls,
            "AUTH" => Self::Auth,
            "MAIL" => Self::Mail,
            "RCPT" => Self::Rcpt,
            "DATA" => Self::Data,
            "BDAT" => Self::Bdat {
                last: words.nth(1).is_some_and(|w| w.eq_ignore_ascii_case("LAST")),
            },
            "RSET" => Self::Rset,
            "VRFY" => Self::Vrfy,
            "EXPN" => Self::Expn,
            "HELP" => Self::Help,
            "NOOP" => Self::Noop,
            "QUIT" => Self::Quit,
            "LHLO" => Self::Lhlo,
            "XCLIENT" => Self::Xclient,
            _ => Self::Other,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Ehlo => "EHLO",
            Self::Helo => "HELO",
            Self::StartTls => "STARTTLS",
            Self::Auth => "AUTH",
            Self::Mail => "MAIL FROM",
            Self::Rcpt => "RCPT TO",
            Self::Data => "DATA",
            Self::Bdat { .. } => "BDAT",
            Self::Rset => "RSET",
            Self::Vrfy => "VRFY",
            Self::Expn => "EXPN",
            Self::Help => "HELP",
            Self::Noop => "NOOP",
            Self::Quit => "QUIT",
            Self::Other => "command",
            Self::Lhlo => "LHLO",
            Self::Xclient => "XCLIENT",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> Address {
        Address::new(s).unwrap()
    }

    #[test]
    fn xclient_attributes_are_checked() {
        assert!(Command::xclient("").is_err());
        assert!(Command::xclient("ADDR").is_err());
        assert!(Command::xclient("AD-DR=1").is_err());
        assert!(Command::xclient("ADDR=1\r\nQUIT").is_err());
        assert_eq!(Verb::of_line("xclient ADDR=1"), Verb::Xclient);
        assert_eq!(Verb::of_line("LHLO x"), Verb::Lhlo);
    }

    #[test]
    fn wire_lines() {
        let cases: Vec<(Command, &str)> = vec![
            (Command::ehlo("client.example").unwrap(), "EHLO client.example\r\n"),
            (Command::helo("[127.0.0.1]").unwrap(), "HELO [127.0.0.1]\r\n"),
            (Command::StartTls, "STARTTLS\r\n"),
            (
                Command::Auth {
                    mechanism: Arg::new("m", "PLAIN").unwrap(),
                    initial_response: Some(Arg::new("r", "AGEAYg==").unwrap()),
                },
                "AUTH PLAIN AGEAYg==\r\n",
            ),
            (
                Command::Auth {
                    mechanism: Arg::new("m", "EXTERNAL").unwrap(),
                    initial_response: Some(Arg::new("r", "").unwrap()),
                },
                "AUTH EXTERNAL =\r\n",
            ),
            (
                Command::mail(ReversePath::Mailbox(addr("a@b.example")), vec![Param::size(1234)]),
                "MAIL FROM:<a@b.example> SIZE=1234\r\n",
            ),
            (Command::mail(ReversePath::Null, vec![]), "MAIL FROM:<>\r\n"),
            (
                Command::rcpt(
                    addr("bob@example.test"),
                    vec![
                        Param::parse("NOTIFY=SUCCESS,FAILURE").unwrap(),
                        Param::orcpt("bob+x=y@example.test"),
                    ],
                ),
                "RCPT TO:<bob@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob+2Bx+3Dy@example.test\r\n",
            ),
            (Command::Data, "DATA\r\n"),
            (Command::bdat(65, true).unwrap(), "BDAT 65 LAST\r\n"),
            (Command::bdat(0, true).unwrap(), "BDAT 0 LAST\r\n"),
            (Command::Rset, "RSET\r\n"),
            (Command::Vrfy(Arg::new("v", "alice").unwrap()), "VRFY alice\r\n"),
            (Command::Expn(Arg::new("v", "list").unwrap()), "EXPN list\r\n"),
            (Command::Help(None), "HELP\r\n"),
            (Command::Noop(Some(Arg::new("n", "x").unwrap())), "NOOP x\r\n"),
            (Command::Quit, "QUIT\r\n"),
            (Command::lhlo("client.example").unwrap(), "LHLO client.example\r\n"),
            (
                Command::xclient("name=mail.example.org ADDR=192.0.2.7 HELO=a+b=c LOGIN=")
                    .unwrap(),
                "XCLIENT NAME=mail.example.org ADDR=192.0.2.7 HELO=a+2Bb+3Dc LOGIN=\r\n",
            ),
        ];
        for (cmd, wire) in cases {
            assert_eq!(cmd.to_string(), wire);
            assert_eq!(Verb::of_line(wire.trim_end()), cmd.kind(), "{wire}");
        }
    }

    #[test]
    fn smuggling_bytes_are_errors() {
        for bad in ["a@b\r\nRCPT TO:<c@d>", "a@b\n", "a\0@b"] {
            assert!(matches!(
                Address::new(bad),
                Err(CommandError::ForbiddenByte { .. })
            ));
        }
        assert!(Command::ehlo("x\r\nQUIT").is_err());
        assert!(Command::ehlo("two words").is_err());
        assert!(Command::ehlo("").is_err());
        assert!(Arg::new("VRFY", "a\rb").is_err());
        assert!(Address::new("a>b").is_err());
        assert_eq!(
            Address::new("a\r").unwrap_err().to_string(),
            "address contains a CR (0x0d), which would end the command line early"
        );
    }

    #[test]
    fn params_are_checked() {
        let ok = [
            "SIZE=10",
            "BODY=8BITMIME",
            "body=7bit",
            "SMTPUTF8",
            "RET=HDRS",
            "ENVID=QQ314159",
            "NOTIFY=NEVER",
            "NOTIFY=SUCCESS,DELAY",
            "ORCPT=rfc822;bob@example.test",
            "X-FOO=bar",
            "XYZ",
        ];
        for p in ok {
            assert_eq!(Param::parse(p).unwrap().to_string(), p);
        }
        let bad = [
            "SIZE=ten",
            "SIZE",
            "BODY=9BIT",
            "SMTPUTF8=yes",
            "RET=ALL",
            "ENVID",
            "NOTIFY=NEVER,SUCCESS",
            "NOTIFY=SOMETIMES",
            "ORCPT=bob",
            "=x",
            "-X=1",
            "X=a b",
            "X=a\rb",
            "X=",
        ];
        for p in bad {
            assert!(Param::parse(p).is_err(), "{p} should be refused");
        }
    }

    #[test]
    fn reverse_path_forms() {
        assert_eq!(ReversePath::parse("<>").unwrap(), ReversePath::Null);
        assert_eq!(ReversePath::parse("").unwrap(), ReversePath::Null);
        assert_eq!(ReversePath::parse("<a@b>").unwrap().to_string(), "<a@b>");
        assert_eq!(ReversePath::parse("a@b").unwrap().to_string(), "<a@b>");
    }

    #[test]
    fn verbs_of_raw_lines() {
        assert_eq!(Verb::of_line("mail from:<a@b>"), Verb::Mail);
        assert_eq!(Verb::of_line("BDAT 10 last"), Verb::Bdat { last: true });
        assert_eq!(Verb::of_line("BDAT 10"), Verb::Bdat { last: false });
        assert_eq!(Verb::of_line("HELLO"), Verb::Other);
        assert_eq!(Verb::of_line(""), Verb::Other);
    }
}
