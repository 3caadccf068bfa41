//! AUTH on the server side: PLAIN, LOGIN and CRAM-MD5, each answer line
//! decoded and checked against the policy's users, with the secrets masked
//! in what the session reports.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use super::{Policy, ServerEnv, ServerSession, State};
use crate::proto::auth::{cram_md5_digest, MASK};
use crate::proto::visible::visible;

impl ServerSession {
    pub(super) fn auth_start(
        &mut self,
        mechanism: u64,
        initial: &str,
        policy: &Policy,
        env: &mut dyn ServerEnv,
    ) {
        if self.helo.is_none() {
            return self.error("503 5.5.1 Error: send HELO/EHLO first");
        }
        if self.auth.is_some() {
            return self.error("503 5.5.1 Error: already authenticated");
        }
        if self.mail.is_some() {
            return self.error("503 5.5.1 Error: MAIL transaction in progress");
        }
        if policy.require_tls && !self.tls {
            return self
                .error("538 5.7.11 Encryption required for requested authentication mechanism");
        }
        match mechanism {
            smtp_proto::AUTH_PLAIN if initial.is_empty() => {
                self.reply("334 ");
                self.state = State::AuthPlain;
            }
            smtp_proto::AUTH_PLAIN => self.auth_plain(initial.as_bytes(), env),
            smtp_proto::AUTH_LOGIN if initial.is_empty() => {
                self.reply("334 VXNlcm5hbWU6");
                self.state = State::AuthLoginUser;
            }
            smtp_proto::AUTH_LOGIN => self.auth_login_user(initial.as_bytes()),
            smtp_proto::AUTH_CRAM_MD5 => {
                let challenge = format!("<{}@{}>", env.unique(), self.config.hostname);
                let t = format!("334 {}", B64.encode(&challenge));
                self.reply(&t);
                self.state = State::AuthCram { challenge };
            }
            _ => self.error("504 5.5.4 Unrecognized authentication type"),
        }
    }

    /// An AUTH answer, typed on its own line or given with the command
    /// (whose log line is already masked): decoded, or the error replied.
    fn auth_answer(&mut self, line: &[u8]) -> Option<Vec<u8>> {
        if line == b"*" {
            self.error("501 5.7.0 Authentication aborted");
            return None;
        }
        match B64.decode(line.trim_ascii()) {
            Ok(d) => Some(d),
            Err(_) => {
                self.error("501 5.5.2 Cannot decode the response (not base64)");
                None
            }
        }
    }

    pub(super) fn auth_plain(&mut self, line: &[u8], env: &mut dyn ServerEnv) {
        let Some(decoded) = self.auth_answer(line) else {
            return;
        };
        let parts: Vec<&[u8]> = decoded.split(|&b| b == 0).collect();
        let ok = match parts.as_slice() {
            [_authz, user, pass] => Some((
                String::from_utf8_lossy(user).to_string(),
                String::from_utf8_lossy(pass).to_string(),
            )),
            _ => None,
        };
        match ok {
            Some((user, pass)) => self.auth_check(&user, &pass, env),
            None => self.error("501 5.5.2 Malformed PLAIN response"),
        }
    }

    pub(super) fn auth_login_user(&mut self, line: &[u8]) {
        let Some(decoded) = self.auth_answer(line) else {
            return;
        };
        self.reply("334 UGFzc3dvcmQ6");
        self.state = State::AuthLoginPass {
            user: String::from_utf8_lossy(&decoded).to_string(),
        };
    }

    pub(super) fn auth_login_pass(&mut self, user: &str, line: &[u8], env: &mut dyn ServerEnv) {
        let Some(decoded) = self.auth_answer(line) else {
            return;
        };
        let pass = String::from_utf8_lossy(&decoded).to_string();
        self.auth_check(user, &pass, env);
    }

    pub(super) fn auth_cram(&mut self, challenge: &str, line: &[u8], env: &mut dyn ServerEnv) {
        let Some(decoded) = self.auth_answer(line) else {
            return;
        };
        let text = String::from_utf8_lossy(&decoded).to_string();
        let Some((user, digest)) = text.rsplit_once(' ') else {
            return self.error("501 5.5.2 Malformed CRAM-MD5 response");
        };
        let policy = env.policy();
        let ok = policy
            .password_of(user)
            .is_some_and(|p| cram_md5_digest(p.as_bytes(), challenge.as_bytes()) == digest);
        self.auth_result(user, ok, env);
    }

    fn auth_check(&mut self, user: &str, pass: &str, env: &mut dyn ServerEnv) {
        let ok = env.policy().password_of(user) == Some(pass);
        self.auth_result(user, ok, env);
    }

    fn auth_result(&mut self, user: &str, ok: bool, env: &mut dyn ServerEnv) {
        let ruling = self.auth_rules(user, env);
        if ruling.as_ref().is_some_and(|r| self.heed(r)) {
            return;
        }
        if ok {
            self.auth = Some(user.to_string());
            self.reply("235 2.7.0 Authentication successful");
        } else {
            self.error("535 5.7.8 Error: authentication failed");
        }
        if let Some(r) = ruling {
            self.heed_after(&r, usize::MAX);
        }
    }
}

/// A command line made visible, with an AUTH initial response masked.
pub(super) fn mask_auth(line: &[u8]) -> String {
    let shown = visible(line);
    let mut words = shown.splitn(3, ' ');
    match (words.next(), words.next(), words.next()) {
        (Some(verb), Some(mech), Some(_)) if verb.eq_ignore_ascii_case("AUTH") => {
            format!("{verb} {mech} {MASK}")
        }
        _ => shown,
    }
}
