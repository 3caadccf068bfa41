//! The server's behaviour, changeable while it runs ([`Policy`], with the
//! VRFY mode as one named type), and what a session asks of the world
//! ([`ServerEnv`]): the policy now, greylisting memory, chance and unique
//! tokens and the rules, so that the session itself keeps no clock and no
//! randomness.

use std::sync::Arc;

use super::checkpoint::{Checkpoint, Ruling};

/// How VRFY is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VrfyMode {
    /// `252`: cannot verify, but will accept mail (what most servers do).
    #[default]
    Ambiguous,
    /// `250` for a known user, `550` for others.
    Verify,
    /// `550` always.
    Refuse,
    /// `502`: VRFY is switched off.
    Disabled,
}

impl VrfyMode {
    /// Each mode by the name `serve --vrfy` and lessons give it.
    pub const NAMES: [(&'static str, VrfyMode); 4] = [
        ("ambiguous", Self::Ambiguous),
        ("verify", Self::Verify),
        ("refuse", Self::Refuse),
        ("disabled", Self::Disabled),
    ];

    pub fn name(self) -> &'static str {
        // NAMES lists the modes in their declared order (a test checks it).
        Self::NAMES[self as usize].0
    }
}

/// A VRFY mode by a name that is none of `VrfyMode::NAMES`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a VRFY mode (ambiguous, verify, refuse or disabled)")]
pub struct UnknownVrfyMode(pub String);

impl std::str::FromStr for VrfyMode {
    type Err = UnknownVrfyMode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::NAMES
            .iter()
            .find(|(n, _)| *n == s)
            .map(|(_, m)| *m)
            .ok_or_else(|| UnknownVrfyMode(s.to_string()))
    }
}

/// The server's behaviour, changeable while it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Domains the server takes mail for; others are relaying. An address
    /// without a domain counts as local.
    pub local_domains: Vec<String>,
    /// MAIL needs AUTH first.
    pub require_auth: bool,
    /// MAIL and AUTH need STARTTLS first.
    pub require_tls: bool,
    /// Largest message in bytes, announced in EHLO as SIZE.
    pub max_size: u64,
    /// Greylisting: the first try of each (client, sender, recipient) gets
    /// 450 until this many seconds have passed.
    pub greylist_secs: Option<u64>,
    /// Milliseconds to wait before each reply (applied by the transport).
    pub tarpit_ms: u64,
    pub vrfy: VrfyMode,
    /// Chance, 0 to 1, that a RCPT gets a drill 451.
    pub transient_failure: f64,
    pub max_connections: usize,
    /// Seconds of silence before the server hangs up (applied by the transport).
    pub idle_timeout_secs: u64,
    /// Users for AUTH, (name, password).
    pub users: Vec<(String, String)>,
    /// Accept content with bare LF line ends instead of refusing it.
    pub allow_bare_lf: bool,
    /// Recipients accepted at RCPT whose delivery then fails (a mailbox
    /// over quota): the server bounces the message to its envelope sender.
    pub bounce: Vec<String>,
    /// Speak LMTP (RFC 2033): LHLO, and a reply per recipient after the
    /// content (a `bounce` recipient is refused there instead).
    pub lmtp: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            local_domains: vec!["example.test".into(), "localhost".into()],
            require_auth: false,
            require_tls: false,
            max_size: 10 * 1024 * 1024,
            greylist_secs: None,
            tarpit_ms: 0,
            vrfy: VrfyMode::Ambiguous,
            transient_failure: 0.0,
            max_connections: 100,
            idle_timeout_secs: 300,
            users: vec![("alice@example.test".into(), "wonderland".into())],
            allow_bare_lf: false,
            bounce: Vec::new(),
            lmtp: false,
        }
    }
}

impl Policy {
    /// True when the server takes mail for `address`'s domain, the domain
    /// it routes to ([`routes_to`]): `user%elsewhere@local` is not local.
    pub fn is_local(&self, address: &str) -> bool {
        match routes_to(address) {
            None => true,
            Some(domain) => self
                .local_domains
                .iter()
                .any(|d| d.eq_ignore_ascii_case(domain)),
        }
    }

    /// True when delivery to `rcpt` fails after the message is accepted.
    pub fn bounces(&self, rcpt: &str) -> bool {
        self.bounce.iter().any(|b| b.eq_ignore_ascii_case(rcpt))
    }

    pub(super) fn knows_user(&self, name: &str) -> bool {
        self.users.iter().any(|(u, _)| {
            u.eq_ignore_ascii_case(name)
                || u.split('@')
                    .next()
                    .is_some_and(|l| l.eq_ignore_ascii_case(name))
        })
    }

    pub(super) fn password_of(&self, user: &str) -> Option<&str> {
        self.users
            .iter()
            .find(|(u, _)| u == user || u.split('@').next() == Some(user))
            .map(|(_, p)| p.as_str())
    }
}

/// The domain mail for `address` goes to; None for a bare local part.
/// A local part that routes on by the old conventions routes to the domain
/// inside it, as Postfix reads such addresses (its `allow_percent_hack`
/// and `swap_bangpath`, and an `@` in a quoted local part) before its relay
/// check: `user%other@here`, `other!user@here` and `"user@other"@here` all
/// go to `other`. Taking them as local is the classic open relay.
pub fn routes_to(address: &str) -> Option<&str> {
    // A quoted local part alone: what is inside the quotes.
    let address = match address.strip_prefix('"').and_then(|a| a.strip_suffix('"')) {
        Some(inner) if !inner.contains('"') => inner,
        _ => address,
    };
    let (local, domain) = match address.rsplit_once('@') {
        Some((l, d)) => (l, Some(d)),
        None => (address, None),
    };
    let local = local.trim_matches('"');
    if local.contains('@') {
        return routes_to(local);
    }
    if let Some((_, d)) = local.rsplit_once('%') {
        return Some(d);
    }
    if let Some((d, _)) = local.split_once('!') {
        return Some(d);
    }
    domain
}

/// What the session needs from the world.
pub trait ServerEnv {
    /// The policy now; it may change between calls.
    fn policy(&self) -> Arc<Policy>;
    /// Greylisting: `None` to pass, or the seconds left to wait.
    fn greylist(&mut self, client: &str, from: &str, to: &str) -> Option<u64>;
    /// A number in [0, 1) for the transient-failure drill.
    fn chance(&mut self) -> f64;
    /// A unique token for queue ids and CRAM-MD5 challenges.
    fn unique(&mut self) -> String;
    /// The server's rules at `at`: what the first that matches says, if
    /// one fires. Without rules, none.
    fn rule(&mut self, at: &Checkpoint<'_>) -> Option<Ruling> {
        let _ = at;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The open-relay probe's addresses route outside; plain ones do not.
    #[test]
    fn an_address_routes_to_the_domain_its_local_part_names() {
        let table = [
            ("alice@example.test", Some("example.test")),
            ("alice", None),
            (
                "relay-probe%outside.example@example.test",
                Some("outside.example"),
            ),
            ("a%b%outside.example@example.test", Some("outside.example")),
            (
                "outside.example!relay-probe@example.test",
                Some("outside.example"),
            ),
            (
                "\"relay-probe@outside.example\"@example.test",
                Some("outside.example"),
            ),
            (
                "relay-probe@outside.example@example.test",
                Some("outside.example"),
            ),
            ("\"relay-probe@outside.example\"", Some("outside.example")),
            ("relay-probe%outside.example", Some("outside.example")),
        ];
        for (address, want) in table {
            assert_eq!(routes_to(address), want, "{address}");
        }
        let p = Policy::default();
        assert!(p.is_local("alice@EXAMPLE.test"));
        assert!(!p.is_local("relay-probe%outside.example@example.test"));
        assert!(p.is_local("alice%localhost@example.test"));
    }
}
