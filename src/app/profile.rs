//! Named connection profiles, parsed from the config file's text
//! (`[profile.NAME]` tables): the server, TLS, EHLO, AUTH and the default
//! envelope sender. Reading the file, running a `password_command` and
//! applying a profile to the flags belong to the command line; this owns
//! the format, and every mistake in it names its line.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;

use crate::proto::auth::Mechanism;
use crate::transport::TlsMode;

/// Where the password of a profile's AUTH comes from; never the file itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    /// An environment variable, by name.
    Env(String),
    /// A shell command whose first line of output is the password.
    Command(String),
}

/// One `[profile.NAME]` table, checked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Profile {
    pub name: String,
    pub server: Option<String>,
    pub tls: Option<TlsMode>,
    pub ca_file: Option<PathBuf>,
    pub tls_name: Option<String>,
    pub ehlo: Option<String>,
    pub auth: Option<Mechanism>,
    pub user: Option<String>,
    pub password: Option<PasswordSource>,
    pub mail_from: Option<String>,
}

/// The profiles of a config file, by name (in name order).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Config {
    pub profiles: BTreeMap<String, Profile>,
}

/// A config file that cannot be used, with the line at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}, line {line}: {message}")]
pub struct ConfigError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    profile: BTreeMap<String, Spanned<RawProfile>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    server: Option<Spanned<String>>,
    tls: Option<Spanned<String>>,
    ca_file: Option<Spanned<String>>,
    tls_name: Option<Spanned<String>>,
    ehlo: Option<Spanned<String>>,
    auth: Option<Spanned<String>>,
    user: Option<Spanned<String>>,
    password_env: Option<Spanned<String>>,
    password_command: Option<Spanned<String>>,
    mail_from: Option<Spanned<String>>,
    // Read only to be refused with a message that says what to do instead.
    password: Option<Spanned<toml::Value>>,
}

/// The line (from 1) of a byte offset into `text`.
fn line_of(text: &str, at: usize) -> usize {
    text[..at.min(text.len())].matches('\n').count() + 1
}

impl Config {
    /// Parses a config file's text; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Self, ConfigError> {
        let error = |at: usize, message: String| ConfigError {
            file: file.to_string(),
            line: line_of(text, at),
            message,
        };
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            let at = e.span().map(|s| s.start).unwrap_or(0);
            // toml's message repeats the span as a snippet; the first line says it.
            let message = e.message().lines().next().unwrap_or("").trim().to_string();
            error(at, message)
        })?;
        let mut profiles = BTreeMap::new();
        for (name, table) in raw.profile {
            let at = table.span().start;
            let p = table.into_inner();
            let profile = p.check(&name, at, &error)?;
            profiles.insert(name, profile);
        }
        Ok(Config { profiles })
    }

    /// The profile by name, or an error listing the names there are.
    pub fn get(&self, name: &str) -> Result<&Profile, String> {
        self.profiles.get(name).ok_or_else(|| {
            if self.profiles.is_empty() {
                format!("no profile {name:?}: the config file has no [profile.NAME] table")
            } else {
                let names: Vec<&str> = self.profiles.keys().map(String::as_str).collect();
                format!("no profile {name:?} (profiles: {})", names.join(", "))
            }
        })
    }
}

fn string(v: Option<Spanned<String>>) -> Option<String> {
    v.map(Spanned::into_inner)
}

impl RawProfile {
    fn check(
        self,
        name: &str,
        at: usize,
        error: &dyn Fn(usize, String) -> ConfigError,
    ) -> Result<Profile, ConfigError> {
        if let Some(p) = &self.password {
            return Err(error(
                p.span().start,
                format!(
                    "profile {name}: a password is never stored in the config file; \
                     use password_env = \"VAR\" or password_command = \"…\""
                ),
            ));
        }
        let tls = match self.tls {
            None => None,
            Some(t) => Some(
                TlsMode::NAMES
                    .iter()
                    .find(|(n, _)| *n == t.get_ref())
                    .map(|(_, m)| *m)
                    .ok_or_else(|| {
                        error(
                            t.span().start,
                            format!("tls = {:?}: one of none, starttls, implicit", t.get_ref()),
                        )
                    })?,
            ),
        };
        let auth = match self.auth {
            None => None,
            Some(a) => Some(Mechanism::parse(a.get_ref()).ok_or_else(|| {
                error(
                    a.span().start,
                    format!(
                        "auth = {:?}: one of PLAIN, LOGIN, CRAM-MD5, XOAUTH2",
                        a.get_ref()
                    ),
                )
            })?),
        };
        let password = match (self.password_env, self.password_command) {
            (Some(_), Some(c)) => {
                return Err(error(
                    c.span().start,
                    format!("profile {name}: password_env or password_command, not both"),
                ))
            }
            (Some(e), None) => Some(PasswordSource::Env(e.into_inner())),
            (None, Some(c)) => Some(PasswordSource::Command(c.into_inner())),
            (None, None) => None,
        };
        for (key, v) in [("server", &self.server), ("user", &self.user)] {
            if let Some(v) = v {
                if v.get_ref().trim().is_empty() {
                    return Err(error(v.span().start, format!("{key} is empty")));
                }
            }
        }
        if auth.is_some() && self.user.is_none() {
            return Err(error(at, format!("profile {name}: auth needs user")));
        }
        Ok(Profile {
            name: name.to_string(),
            server: string(self.server),
            tls,
            ca_file: string(self.ca_file).map(PathBuf::from),
            tls_name: string(self.tls_name),
            ehlo: string(self.ehlo),
            auth,
            user: string(self.user),
            password,
            mail_from: string(self.mail_from),
        })
    }
}

impl Profile {
    /// The profile as TOML, for `config`: what it says, with a command's
    /// arguments masked (a token may be written there) and never a password.
    pub fn shown(&self, env_set: impl Fn(&str) -> bool) -> Vec<String> {
        let q = |s: &str| format!("{s:?}");
        let mut out = vec![format!("[profile.{}]", self.name)];
        let mut line = |k: &str, v: String| out.push(format!("{k} = {v}"));
        if let Some(s) = &self.server {
            line("server", q(s));
        }
        if let Some(t) = self.tls {
            let n = TlsMode::NAMES
                .iter()
                .find(|(_, m)| *m == t)
                .map(|(n, _)| *n);
            line("tls", q(n.unwrap_or("none")));
        }
        if let Some(c) = &self.ca_file {
            line("ca_file", q(&c.display().to_string()));
        }
        if let Some(n) = &self.tls_name {
            line("tls_name", q(n));
        }
        if let Some(e) = &self.ehlo {
            line("ehlo", q(e));
        }
        if let Some(a) = self.auth {
            line("auth", q(a.name()));
        }
        if let Some(u) = &self.user {
            line("user", q(u));
        }
        match &self.password {
            Some(PasswordSource::Env(v)) => {
                let set = if env_set(v) { "set" } else { "not set" };
                line("password_env", format!("{} # {set}", q(v)));
            }
            Some(PasswordSource::Command(c)) => {
                line("password_command", q(&mask_command(c)));
            }
            None => {}
        }
        if let Some(m) = &self.mail_from {
            line("mail_from", q(m));
        }
        out
    }
}

/// A command with everything after its program masked.
pub fn mask_command(c: &str) -> String {
    let c = c.trim();
    match c.split_once(char::is_whitespace) {
        Some((program, _)) => format!("{program} ****"),
        None => c.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[profile.work]
server = "mail.example.com:587"
tls = "starttls"
ca_file = "/etc/ssl/work.pem"
tls_name = "mail.example.com"
ehlo = "me.example.com"
auth = "PLAIN"
user = "me@example.com"
password_env = "WORK_SMTP_PASSWORD"
mail_from = "me@example.com"

[profile.home]
server = "127.0.0.1:2525"
auth = "LOGIN"
user = "me"
password_command = "pass show home-smtp"
"#;

    #[test]
    fn every_key_of_the_issue_is_read() {
        let c = Config::parse("c.toml", GOOD).expect("parses");
        let w = c.get("work").expect("work");
        assert_eq!(w.server.as_deref(), Some("mail.example.com:587"));
        assert_eq!(w.tls, Some(TlsMode::StartTls));
        assert_eq!(w.ca_file, Some(PathBuf::from("/etc/ssl/work.pem")));
        assert_eq!(w.tls_name.as_deref(), Some("mail.example.com"));
        assert_eq!(w.ehlo.as_deref(), Some("me.example.com"));
        assert_eq!(w.auth, Some(Mechanism::Plain));
        assert_eq!(w.user.as_deref(), Some("me@example.com"));
        assert_eq!(
            w.password,
            Some(PasswordSource::Env("WORK_SMTP_PASSWORD".into()))
        );
        assert_eq!(w.mail_from.as_deref(), Some("me@example.com"));
        let h = c.get("home").expect("home");
        assert_eq!(
            h.password,
            Some(PasswordSource::Command("pass show home-smtp".into()))
        );
        assert!(c.get("nope").unwrap_err().contains("profiles: home, work"));
    }

    #[test]
    fn an_empty_file_has_no_profiles() {
        let c = Config::parse("c.toml", "").expect("parses");
        assert!(c.profiles.is_empty());
        assert!(c.get("x").unwrap_err().contains("no [profile.NAME]"));
    }

    #[test]
    fn mistakes_name_their_line() {
        let table: &[(&str, usize, &str)] = &[
            (
                "[profile.a]\nserver = \"x\"\npassword = \"hunter2\"\n",
                3,
                "never stored",
            ),
            (
                "[profile.a]\nserver = \"x\"\nsrever = \"y\"\n",
                3,
                "unknown field",
            ),
            (
                "[profile.a]\n\ntls = \"ssl\"\n",
                3,
                "one of none, starttls, implicit",
            ),
            (
                "[profile.a]\nuser = \"u\"\nauth = \"NTLM\"\n",
                3,
                "PLAIN, LOGIN",
            ),
            ("[profile.a]\nserver = \"x\n", 2, ""),
            ("[profile.a]\nserver = 25\n", 2, "string"),
            (
                "[profile.a]\nuser = \"u\"\npassword_env = \"P\"\npassword_command = \"c\"\n",
                4,
                "not both",
            ),
            ("\n[profile.a]\nauth = \"PLAIN\"\n", 2, "auth needs user"),
            ("[profile.a]\nserver = \"  \"\n", 2, "server is empty"),
            ("[other]\n", 1, "unknown field"),
        ];
        for (text, line, says) in table {
            let e = Config::parse("c.toml", text).expect_err(text);
            assert_eq!(e.line, *line, "{text:?}: {e}");
            assert!(e.to_string().contains(says), "{text:?}: {e}");
            assert!(e.to_string().starts_with("c.toml, line "), "{e}");
        }
    }

    #[test]
    fn shown_masks_what_could_be_secret() {
        let c = Config::parse("c.toml", GOOD).expect("parses");
        let w = c.get("work").expect("work").shown(|_| true).join("\n");
        assert!(
            w.contains("password_env = \"WORK_SMTP_PASSWORD\" # set"),
            "{w}"
        );
        let h = c.get("home").expect("home").shown(|_| false).join("\n");
        assert!(h.contains("password_command = \"pass ****\""), "{h}");
        assert!(!h.contains("home-smtp"), "{h}");
        // What is shown parses back (less the masked command).
        Config::parse("shown", &w).expect("shown parses");
    }
}
