//! VRFY, EXPN and HELP: what a client may ask the server about, rather than
//! send mail. VRFY is answered as the policy's [`VrfyMode`] says.

use super::{Policy, ServerSession, VrfyMode};
use crate::proto::visible::visible;

impl ServerSession {
    pub(super) fn vrfy(&mut self, value: &str, policy: &Policy) {
        let v = visible(value.as_bytes());
        let text = match policy.vrfy {
            VrfyMode::Ambiguous => format!("252 2.0.0 {v}"),
            VrfyMode::Verify if policy.knows_user(value) => format!("250 2.0.0 <{v}>"),
            VrfyMode::Verify | VrfyMode::Refuse => {
                format!("550 5.1.1 <{v}>: Recipient address rejected: User unknown")
            }
            VrfyMode::Disabled => "502 5.5.1 VRFY command is disabled".to_string(),
        };
        if text.starts_with('2') {
            self.reply(&text);
        } else {
            self.error(&text);
        }
    }

    pub(super) fn expn(&mut self) {
        self.error("502 5.5.1 EXPN command is disabled");
    }

    pub(super) fn help(&mut self) {
        self.reply(
            "214-2.0.0 Commands: EHLO HELO STARTTLS AUTH MAIL RCPT DATA BDAT RSET\n\
             214 2.0.0 VRFY EXPN NOOP HELP QUIT",
        );
    }
}
