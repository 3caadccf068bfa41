//! The start of a session: the 220 greeting, EHLO with the extensions this
//! server offers under its policy, HELO, and STARTTLS.

use super::{Policy, ServerEvent, ServerSession, State, VrfyMode};

impl ServerSession {
    pub(super) fn greet(&mut self) {
        let greeting = format!(
            "220 {} ESMTP smtp-workbench demo server",
            self.config.hostname
        );
        self.reply(&greeting);
    }

    pub(super) fn ehlo(&mut self, host: &str, policy: &Policy) {
        self.reset_transaction();
        self.helo = Some(host.to_string());
        let mut lines = vec![
            format!("250-{}", self.config.hostname),
            "250-PIPELINING".into(),
            format!("250-SIZE {}", policy.max_size),
        ];
        if policy.vrfy != VrfyMode::Disabled {
            lines.push("250-VRFY".into());
        }
        if self.config.tls_available && !self.tls {
            lines.push("250-STARTTLS".into());
        }
        if self.tls || !policy.require_tls {
            lines.push("250-AUTH PLAIN LOGIN CRAM-MD5".into());
        }
        lines.extend([
            "250-ENHANCEDSTATUSCODES".into(),
            "250-8BITMIME".into(),
            "250-SMTPUTF8".into(),
            "250 CHUNKING".into(),
        ]);
        let text = lines.join("\n");
        self.reply(&text);
    }

    pub(super) fn helo(&mut self, host: &str) {
        self.reset_transaction();
        self.helo = Some(host.to_string());
        let t = format!("250 {}", self.config.hostname);
        self.reply(&t);
    }

    pub(super) fn start_tls(&mut self) {
        if self.tls {
            self.error("554 5.5.1 Error: TLS already active");
        } else if !self.config.tls_available {
            self.error("454 4.7.0 TLS not available");
        } else {
            self.reply("220 2.0.0 Ready to start TLS");
            self.state = State::AwaitingTls;
            self.line.clear();
            self.events.push_back(ServerEvent::StartTls);
        }
    }
}
