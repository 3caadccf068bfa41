//! The workbench's everyday items: connecting to a profile of the config
//! file, and filling the composer from a real message (`--message`, "Open
//! message…"). Pure state changes; the loop reads files and keeps the TLS
//! settings a profile brings.

use std::path::PathBuf;

use super::palette::{Item, ItemKind};
use super::{field, AppState, Effect, ServerChoice};
use crate::message::eml::Eml;
use crate::transport::TlsMode;

/// One "Connect to profile NAME" item per profile.
pub fn profile_items(state: &AppState) -> Vec<Item> {
    state
        .profiles
        .iter()
        .map(|p| {
            let server = p.server.as_deref().unwrap_or("the built-in server");
            let tls = match p.tls {
                Some(TlsMode::StartTls) => ", STARTTLS",
                Some(TlsMode::Implicit) => ", implicit TLS",
                _ => "",
            };
            let auth = match (&p.auth, &p.user) {
                (Some(m), Some(u)) => format!(", AUTH {m} as {u}"),
                _ => String::new(),
            };
            Item {
                label: format!("Connect to profile {}", p.name),
                hint: format!("{server}{tls}{auth} (from the config file)"),
                kind: ItemKind::ConnectProfile(p.name.clone()),
            }
        })
        .collect()
}

/// Takes the profile's server, EHLO name, AUTH user and envelope sender;
/// the effect hands its CA file and TLS name to the loop. None when there
/// is no such profile.
pub fn use_profile(state: &mut AppState, name: &str) -> Option<Effect> {
    let p = state.profiles.iter().find(|p| p.name == name)?.clone();
    state.session.target = ServerChoice {
        server: p.server.clone(),
        implicit_tls: p.tls == Some(TlsMode::Implicit),
        mx: None,
    };
    if let Some(e) = &p.ehlo {
        state.session.ehlo_name = e.clone();
    }
    if let Some(u) = &p.user {
        state.session.auth_user = u.clone();
    }
    if let Some(m) = &p.mail_from {
        state.envelope.mail_from = field(m);
    }
    let mut said = vec![format!("profile {name}")];
    if p.tls == Some(TlsMode::StartTls) {
        said.push("STARTTLS is yours to send from the palette after EHLO".into());
    }
    if let (Some(m), Some(u)) = (&p.auth, &p.user) {
        said.push(format!("AUTH {m} asks for {u}'s password"));
    }
    if p.mail_from.is_some() {
        said.push("MAIL FROM set from it".into());
    }
    state.notice = Some(said.join("; "));
    Some(Effect::ProfileTls {
        ca_file: p.ca_file.clone(),
        tls_name: p.tls_name.clone(),
    })
}

/// Fills the composer with a message file's header fields and body. The
/// envelope stays as it is, and the notice says how to take it from the
/// headers.
pub fn open_message(state: &mut AppState, name: &str, bytes: &[u8]) {
    match Eml::parse(bytes) {
        Ok(eml) => {
            state.message.headers = field(&eml.header_lines().join("\n"));
            state.message.body = field(&eml.body_text());
            state.notice = Some(format!(
                "opened {name} ({} fields and the body); envelope unchanged: \"Envelope ← headers\" sets it",
                eml.fields.len()
            ));
        }
        Err(e) => state.notice = Some(format!("{name}: {e}")),
    }
}

/// The path typed at "Open message…"; nothing typed is no path.
pub fn message_path(typed: &str) -> Option<PathBuf> {
    let t = typed.trim();
    (!t.is_empty()).then(|| PathBuf::from(t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::profile::Config;
    use crate::app::Start;

    fn state() -> AppState {
        let mut s = AppState::new(Start::fixed());
        s.profiles = Config::parse(
            "c",
            "[profile.work]\nserver = \"mail.example.com:587\"\ntls = \"starttls\"\n\
             ca_file = \"/etc/ca.pem\"\nehlo = \"me.example.com\"\nauth = \"PLAIN\"\n\
             user = \"me@example.com\"\npassword_env = \"P\"\nmail_from = \"me@example.com\"\n",
        )
        .expect("parses")
        .profiles
        .into_values()
        .collect();
        s
    }

    #[test]
    fn a_profile_is_an_item_and_using_it_sets_the_target() {
        let mut s = state();
        let items = profile_items(&s);
        assert_eq!(items[0].label, "Connect to profile work");
        assert!(items[0]
            .hint
            .contains("mail.example.com:587, STARTTLS, AUTH PLAIN as me@example.com"));
        let fx = use_profile(&mut s, "work").expect("known");
        assert_eq!(
            s.session.target.server.as_deref(),
            Some("mail.example.com:587")
        );
        assert_eq!(s.session.ehlo_name, "me.example.com");
        assert_eq!(s.session.auth_user, "me@example.com");
        assert_eq!(s.envelope.sender(), "me@example.com");
        assert_eq!(
            fx,
            Effect::ProfileTls {
                ca_file: Some("/etc/ca.pem".into()),
                tls_name: None
            }
        );
        assert!(use_profile(&mut s, "nope").is_none());
    }

    #[test]
    fn opening_a_message_fills_the_composer_and_leaves_the_envelope() {
        let mut s = state();
        let before = (s.envelope.sender(), s.envelope.rcpts());
        open_message(
            &mut s,
            "c.eml",
            b"From: Bob <bob@example.org>\nTo: x@example.test,\n\ty@example.test\nSubject: Hi\n\nBody\n",
        );
        assert_eq!(
            s.message.headers.lines(),
            [
                "From: Bob <bob@example.org>",
                "To: x@example.test,",
                "\ty@example.test",
                "Subject: Hi"
            ]
        );
        assert_eq!(s.message.body.lines(), ["Body"]);
        assert_eq!((s.envelope.sender(), s.envelope.rcpts()), before);
        let notice = s.notice.clone().unwrap_or_default();
        assert!(notice.contains("envelope unchanged"), "{notice}");
        open_message(&mut s, "x", b"");
        assert!(s.notice.as_deref().unwrap_or("").contains("not a message"));
    }
}
