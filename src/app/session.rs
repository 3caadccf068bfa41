//! The session as the workbench sees it: where to connect, the connection's
//! state as the session task last reported it, and what this session has
//! sent that the palette and "Run to" must remember.

use crate::proto::capabilities::Capabilities;
use crate::proto::client::Stage;
use crate::proto::command::Verb;

/// What the session task last said about its session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionView {
    pub stage: Stage,
    pub caps: Option<Capabilities>,
    pub tls: bool,
    pub auth: Option<String>,
    pub awaiting: bool,
    pub suggested: Vec<Verb>,
}

/// The connection as the user sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    Disconnected,
    Connecting,
    Open(SessionView),
}

/// Which server the workbench talks to: the built-in one (None) or
/// HOST[:PORT].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerChoice {
    pub server: Option<String>,
    /// Connect with implicit TLS (port 465 style).
    pub implicit_tls: bool,
}

impl ServerChoice {
    pub fn label(&self) -> String {
        match &self.server {
            None => "built-in demo server".into(),
            Some(s) => s.clone(),
        }
    }
}

/// How far "run to" goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Goal {
    Ehlo,
    Mail,
    Rcpt,
    /// The message delivered (DATA, content, the final reply).
    Delivered,
}

pub struct SessionState {
    pub target: ServerChoice,
    pub conn: Connection,
    /// The current session's id; messages of others are stale.
    pub id: u64,
    /// The address of the current session's server, once connected.
    pub peer: Option<String>,
    pub ehlo_name: String,
    /// Recipients already sent in this transaction.
    pub rcpts_sent: Vec<String>,
    pub goal: Option<Goal>,
    /// The last line a "Run to" sent, and the stage it was sent at: the
    /// same again means the reply did not move the session on.
    pub goal_last: Option<(Stage, String)>,
    /// DATA was sent from the palette: send the message on 354.
    pub content_on_354: bool,
    /// Default user for AUTH prompts.
    pub auth_user: String,
}

impl SessionState {
    pub fn new(target: ServerChoice, ehlo_name: String) -> Self {
        Self {
            target,
            conn: Connection::Disconnected,
            id: 0,
            peer: None,
            ehlo_name,
            rcpts_sent: Vec::new(),
            goal: None,
            goal_last: None,
            content_on_354: false,
            auth_user: "alice@example.test".into(),
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

    /// The envelope recipients not yet sent in this transaction.
    pub fn unsent(&self, rcpts: Vec<String>) -> Vec<String> {
        rcpts
            .into_iter()
            .filter(|r| !self.rcpts_sent.contains(r))
            .collect()
    }
}
