//! The session as the workbench sees it: where to connect, and the
//! connection's state as the session task last reported it. What was sent
//! and what comes next are the protocol core's to know
//! (`proto::client::ClientSession`); the workbench only shows them.

use super::envelope::EnvelopeState;
use crate::proto::capabilities::Capabilities;
use crate::proto::client::{Goal, Stage};
use crate::proto::command::Verb;
use crate::transport::dns::mx::recipient_domain;

/// What the session task last said about its session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionView {
    pub stage: Stage,
    pub caps: Option<Capabilities>,
    pub tls: bool,
    pub auth: Option<String>,
    pub awaiting: bool,
    pub suggested: Vec<Verb>,
    /// The recipients sent in the current transaction, as the session
    /// counts them (typed or raw; MAIL and RSET start again).
    pub rcpts_sent: Vec<String>,
    /// The goal of a "Run to" under way.
    pub running: Option<Goal>,
}

impl SessionView {
    /// The view of a session that has ended, keeping what the server offered.
    pub fn closed(caps: Option<Capabilities>) -> Self {
        Self {
            stage: Stage::Closed,
            caps,
            tls: false,
            auth: None,
            awaiting: false,
            suggested: Vec::new(),
            rcpts_sent: Vec::new(),
            running: None,
        }
    }
}

/// The connection as the user sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    Disconnected,
    Connecting,
    Open(SessionView),
}

/// Which server the workbench talks to: the built-in one (None) or
/// HOST[:PORT]; with `mx`, where mail for a domain goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerChoice {
    pub server: Option<String>,
    /// Connect with implicit TLS (port 465 style).
    pub implicit_tls: bool,
    /// `server` is a mail domain: connect to its MX hosts on this port.
    /// Without a domain, the first recipient's (filled in on connecting).
    pub mx: Option<u16>,
}

impl ServerChoice {
    /// The MX hosts of `domain`, on `port`.
    pub fn mx_of(domain: &str, port: u16) -> Self {
        Self {
            server: Some(domain.to_string()),
            implicit_tls: false,
            mx: Some(port),
        }
    }

    pub fn label(&self) -> String {
        match (&self.server, self.mx) {
            (Some(d), Some(25)) => format!("the MX of {d}"),
            (Some(d), Some(port)) => format!("the MX of {d} (port {port})"),
            (None, Some(_)) => "the MX of the first recipient's domain".into(),
            (None, None) => "built-in demo server".into(),
            (Some(s), None) => s.clone(),
        }
    }

    /// The built-in server: no server and no MX.
    pub fn is_builtin(&self) -> bool {
        self.server.is_none() && self.mx.is_none()
    }
}

/// `--mx` without a domain: the first recipient's, from the envelope.
/// False when there is none to take.
pub fn fill_mx_domain(target: &mut ServerChoice, envelope: &EnvelopeState) -> bool {
    if target.mx.is_none() || target.server.is_some() {
        return true;
    }
    let first = envelope.rcpts().into_iter().next();
    target.server = first.as_deref().and_then(recipient_domain);
    target.server.is_some()
}

/// The session pane's state: where to connect, the session under way and
/// what its task last said of it.
pub struct SessionState {
    pub target: ServerChoice,
    pub conn: Connection,
    /// The current session's id; messages of others are stale.
    pub id: u64,
    /// The address of the current session's server, once connected.
    pub peer: Option<String>,
    pub ehlo_name: String,
    /// Default user for AUTH prompts.
    pub auth_user: String,
    /// `--xclient`'s line, for the palette's XCLIENT item.
    pub xclient: Option<String>,
    /// The server's certificates (PEM) from the last handshake, if any.
    pub chain: Option<String>,
}

impl SessionState {
    pub fn new(target: ServerChoice, ehlo_name: String) -> Self {
        Self {
            target,
            conn: Connection::Disconnected,
            id: 0,
            peer: None,
            ehlo_name,
            auth_user: "alice@example.test".into(),
            xclient: None,
            chain: None,
        }
    }

    pub fn view(&self) -> Option<&SessionView> {
        match &self.conn {
            Connection::Open(v) => Some(v),
            _ => None,
        }
    }

    pub fn caps(&self) -> Option<&Capabilities> {
        self.view().and_then(|s| s.caps.as_ref())
    }

    /// A session is under way (connecting, or open and not closed).
    pub fn is_open(&self) -> bool {
        matches!(&self.conn, Connection::Open(v) if v.stage != Stage::Closed)
            || self.conn == Connection::Connecting
    }

    /// The recipients sent in the current transaction.
    pub fn rcpts_sent(&self) -> &[String] {
        self.view().map_or(&[], |v| &v.rcpts_sent)
    }

    /// The envelope recipients (`rcpts`) not yet sent in this transaction,
    /// by the session's own rule ([`crate::proto::client::unsent`]).
    pub fn unsent<'a>(&self, rcpts: &'a [String]) -> Vec<&'a String> {
        crate::proto::client::unsent(rcpts, self.rcpts_sent())
            .into_iter()
            .map(|i| &rcpts[i])
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mx_without_a_domain_takes_the_first_recipients() {
        let envelope = EnvelopeState::new("me@client.test", "bob@example.test\ncarol@other.test");
        let mut t = ServerChoice {
            server: None,
            implicit_tls: false,
            mx: Some(2525),
        };
        assert_eq!(t.label(), "the MX of the first recipient's domain");
        assert!(fill_mx_domain(&mut t, &envelope));
        assert_eq!(t, ServerChoice::mx_of("example.test", 2525));
        assert_eq!(t.label(), "the MX of example.test (port 2525)");
        let mut none = ServerChoice {
            server: None,
            implicit_tls: false,
            mx: Some(25),
        };
        assert!(!fill_mx_domain(
            &mut none,
            &EnvelopeState::new("me@client.test", "")
        ));
        let mut builtin = ServerChoice {
            server: None,
            implicit_tls: false,
            mx: None,
        };
        assert!(fill_mx_domain(&mut builtin, &envelope));
        assert!(builtin.is_builtin());
    }
}
