//! The modes the command line takes by name (`--tls`, `--vrfy`,
//! `--quit-after`, `--format`), parsed through the names table each mode's
//! own type keeps: `--help` lists the names, and a wrong one is a usage error
//! that lists them. Only the help line of each value is the command line's.

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::error::ErrorKind;

use crate::proto::client::QuitAfter;
use crate::proto::client::{DropAfter, Protocol};
use crate::proto::probe::Probe;
use crate::proto::proxy::Version as ProxyVersion;
use crate::proto::server::VrfyMode;
use crate::transcript::Format;
use crate::transport::TlsMode;

/// A value parser that takes one of a table's names and gives its value.
#[derive(Clone)]
pub struct OneOf<T: 'static> {
    values: Vec<(&'static str, T, Option<&'static str>)>,
}

/// The parser for the names in `table`, each with its help line (if any).
pub fn one_of<T: Copy>(
    table: impl IntoIterator<Item = (&'static str, T)>,
    help: fn(T) -> Option<&'static str>,
) -> OneOf<T> {
    OneOf {
        values: table.into_iter().map(|(n, v)| (n, v, help(v))).collect(),
    }
}

impl<T> OneOf<T> {
    fn possible(&self) -> impl Iterator<Item = PossibleValue> + '_ {
        self.values.iter().map(|(name, _, help)| match help {
            Some(h) => PossibleValue::new(*name).help(*h),
            None => PossibleValue::new(*name),
        })
    }
}

impl<T: Clone + Send + Sync + 'static> TypedValueParser for OneOf<T> {
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<T, clap::Error> {
        // clap's own check, so the error and its list of names read as
        // for any other enumerated value.
        let name = PossibleValuesParser::new(self.possible()).parse_ref(cmd, arg, value)?;
        self.values
            .iter()
            .find(|(n, ..)| *n == name)
            .map(|(_, v, _)| v.clone())
            .ok_or_else(|| clap::Error::new(ErrorKind::InvalidValue).with_cmd(cmd))
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(self.possible()))
    }
}

/// `--tls`.
pub fn tls() -> OneOf<TlsMode> {
    one_of(TlsMode::NAMES, |m| {
        Some(match m {
            TlsMode::None => "Plain SMTP",
            TlsMode::StartTls => "Plain first, then STARTTLS after EHLO (RFC 3207)",
            TlsMode::Implicit => "TLS from the first byte, as on port 465 (RFC 8314)",
        })
    })
}

/// `--tls-version`.
pub fn tls_version() -> OneOf<crate::transport::tls::TlsVersion> {
    one_of(crate::transport::tls::TlsVersion::NAMES, |_| None)
}

/// `serve --vrfy`.
pub fn vrfy() -> OneOf<VrfyMode> {
    one_of(VrfyMode::NAMES, |m| {
        Some(match m {
            VrfyMode::Ambiguous => "252: cannot verify, will accept (what most servers say)",
            VrfyMode::Verify => "250 for a known user, 550 for others",
            VrfyMode::Refuse => "550 always",
            VrfyMode::Disabled => "502: VRFY switched off",
        })
    })
}

/// `send --quit-after`.
pub fn quit_after() -> OneOf<QuitAfter> {
    one_of(QuitAfter::NAMES, |_| None)
}

/// `--protocol`.
pub fn protocol() -> OneOf<Protocol> {
    one_of(Protocol::NAMES, |p| {
        Some(match p {
            Protocol::Smtp => "SMTP (RFC 5321)",
            Protocol::Lmtp => "LMTP (RFC 2033): LHLO, and a reply per recipient after the content",
        })
    })
}

/// `send --probe`.
pub fn probe() -> OneOf<Probe> {
    one_of(Probe::NAMES, |p| {
        Some(match p {
            Probe::Smuggling => "End-of-data look-alikes (<LF>.<LF>, …) inside DATA",
            Probe::Relay => "Open-relay addresses at RCPT (percent hack, bang path, …)",
        })
    })
}

/// `--proxy`.
pub fn proxy() -> OneOf<ProxyVersion> {
    one_of(ProxyVersion::NAMES, |v| {
        Some(match v {
            ProxyVersion::V1 => "the text header, PROXY TCP4 src dst sport dport",
            ProxyVersion::V2 => "the binary header",
        })
    })
}

/// `--drop-after`.
pub fn drop_after() -> OneOf<DropAfter> {
    one_of(DropAfter::NAMES, |_| None)
}

/// `--format`, of the transcript (`send`) or of the log (`serve`).
pub fn format() -> OneOf<Format> {
    one_of(Format::NAMES, |_| None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse<T: Clone + Send + Sync + 'static>(p: &OneOf<T>, s: &str) -> Result<T, clap::Error> {
        p.parse_ref(&clap::Command::new("t"), None, std::ffi::OsStr::new(s))
    }

    #[test]
    fn every_name_gives_its_own_value_and_a_typo_lists_them() {
        for (name, mode) in TlsMode::NAMES {
            assert_eq!(parse(&tls(), name).ok(), Some(mode), "{name}");
        }
        for (name, mode) in VrfyMode::NAMES {
            assert_eq!(parse(&vrfy(), name).ok(), Some(mode), "{name}");
            assert_eq!(name.parse::<VrfyMode>(), Ok(mode));
            assert_eq!(mode.name(), name);
        }
        for (name, q) in QuitAfter::NAMES {
            assert_eq!(parse(&quit_after(), name).ok(), Some(q), "{name}");
            assert_eq!(q.name(), name);
        }
        for (name, p) in Probe::NAMES {
            assert_eq!(parse(&probe(), name).ok(), Some(p), "{name}");
        }
        for (name, f) in Format::NAMES {
            assert_eq!(parse(&format(), name).ok(), Some(f), "{name}");
        }
        let e = parse(&vrfy(), "verfy").err().map(|e| e.to_string());
        let e = e.unwrap_or_default();
        assert!(e.contains("ambiguous, verify, refuse, disabled"), "{e}");
        assert!("verfy".parse::<VrfyMode>().is_err());
    }
}
