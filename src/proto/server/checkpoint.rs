//! Where the server's rules are asked ([`Stage`], [`Checkpoint`]) and what
//! a rule that fired tells the session to do ([`Ruling`]). The rules
//! themselves (matching, counting, rate windows) live above, in
//! `server::rules`; the session only asks at each stage and obeys, so that
//! it keeps no clock and no shared memory.

/// A point of the session where rules are asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stage {
    /// A client connected; before the greeting.
    Connect,
    /// EHLO or HELO.
    Ehlo,
    /// AUTH, once the credentials are read and checked (the user is known).
    Auth,
    Mail,
    Rcpt,
    /// The DATA command, before its 354.
    Data,
    /// The end of the content (the lone dot, or BDAT LAST), before the 250.
    Dot,
    Quit,
}

impl Stage {
    /// Each stage by the name rule files give it, in the declared order.
    pub const NAMES: [(&'static str, Stage); 8] = [
        ("connect", Self::Connect),
        ("ehlo", Self::Ehlo),
        ("auth", Self::Auth),
        ("mail", Self::Mail),
        ("rcpt", Self::Rcpt),
        ("data", Self::Data),
        ("dot", Self::Dot),
        ("quit", Self::Quit),
    ];

    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize].0
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, s)| *s)
    }

    /// True when a reply of `code` can stand in for the server's own at
    /// this stage without breaking the session: a refusal (4xx, 5xx) where
    /// the stage can refuse, 220 (or 421, 554) to a connection, 221 (or
    /// 421) to QUIT. A 2xx or
    /// 3xx elsewhere would tell the client a state the session is not in.
    pub fn takes_reply(self, code: u16) -> bool {
        match self {
            Self::Connect => code == 220 || code == 421 || code == 554,
            // RFC 5321, section 4.3.2: QUIT is answered 221; and 421, the
            // server closing, may answer anything (section 3.8).
            Self::Quit => code == 221 || code == 421,
            _ => (400..600).contains(&code),
        }
    }
}

/// What the session knows when it asks the rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint<'a> {
    pub stage: Stage,
    /// The AUTH user, once authenticated (at `Auth`: the one logging in).
    pub user: Option<&'a str>,
    /// The reverse path, from MAIL on ("" for the null sender).
    pub sender: Option<&'a str>,
    /// At RCPT the recipient asked for; at DATA and dot those accepted.
    pub rcpts: Vec<&'a str>,
    /// At MAIL its SIZE= (when given); at dot the content's size.
    pub size: Option<u64>,
}

impl<'a> Checkpoint<'a> {
    pub fn new(stage: Stage) -> Self {
        Self {
            stage,
            user: None,
            sender: None,
            rcpts: Vec::new(),
            size: None,
        }
    }
}

/// When a rule hangs up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hangup {
    /// Drop the connection without answering (at dot: mid-transaction, the
    /// message not taken).
    BeforeReply,
    /// Answer (the rule's reply or the server's own), then drop.
    AfterReply,
}

/// What a rule that fired tells the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ruling {
    /// Where it fired.
    pub stage: Stage,
    /// The rule's place in its file, from 1, and its `name` if it has one.
    pub index: usize,
    pub name: Option<String>,
    /// The reply in place of the server's own (checked at load to fit the
    /// stage: see [`Stage::takes_reply`]); lines joined with "\n".
    pub reply: Option<String>,
    /// Milliseconds to wait before answering.
    pub delay_ms: u64,
    pub hangup: Option<Hangup>,
    /// Accept, then bounce to the envelope sender (at RCPT: this recipient;
    /// at dot: every recipient).
    pub bounce: bool,
    /// Why it fired, for the log ("rate 3 per 60 s exceeded", …).
    pub why: String,
}

impl Ruling {
    /// The rule as the log names it: `rule 2 (greylist)`.
    pub fn label(&self) -> String {
        match &self.name {
            Some(n) => format!("rule {} ({n})", self.index),
            None => format!("rule {}", self.index),
        }
    }
}
