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

/// The message with its attachments: the header fields (less any MIME
/// fields of their own), then multipart/mixed of the text body and each
/// file, base64. The boundary is fixed by the body and the files (not by
/// the header fields, which a DKIM signature adds to), so that the body
/// signed is the body sent.
pub fn attached_bytes(m: &super::MessageState) -> Vec<u8> {
    use mail_builder::headers::content_type::ContentType;
    use mail_builder::mime::{BodyPart, MimePart};
    let mut out = Vec::new();
    let mut skipping = false;
    for h in m.headers.lines() {
        let folded = h.starts_with([' ', '\t']);
        if !folded {
            let name = h
                .split(':')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            skipping = matches!(
                name.as_str(),
                "content-type" | "content-transfer-encoding" | "mime-version"
            ) || h.trim_end().ends_with(':')
                || h.trim().is_empty();
        }
        if !skipping {
            out.extend_from_slice(h.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }
    out.extend_from_slice(b"MIME-Version: 1.0\r\n");
    let body = m.body.lines().join("\r\n") + "\r\n";
    let mut parts = vec![MimePart::new(
        "text/plain",
        BodyPart::Text(body.clone().into()),
    )];
    for a in &m.attachments {
        parts.push(
            MimePart::new(
                a.content_type.clone(),
                BodyPart::Binary(a.bytes.clone().into()),
            )
            .attachment(a.name.clone()),
        );
    }
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(body.as_bytes());
    for a in &m.attachments {
        ctx.update(a.name.as_bytes());
        ctx.update(&(a.bytes.len() as u64).to_be_bytes());
        ctx.update(&a.bytes);
    }
    let digest = ctx.finish();
    let boundary: String = digest.as_ref()[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    MimePart::new(
        ContentType::new("multipart/mixed").attribute("boundary", format!("=_sw_{boundary}")),
        BodyPart::Multipart(parts),
    )
    .write_part(&mut out);
    out
}

/// A file read for "Attach file…": its type guessed from its name.
pub fn attach(state: &mut AppState, name: &str, bytes: Vec<u8>) {
    let file = std::path::Path::new(name)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "attachment".into());
    let content_type = mime_guess::from_path(name)
        .first()
        .map(|m| m.essence_str().to_string())
        .unwrap_or_else(|| "application/octet-stream".into());
    state.notice = Some(format!(
        "attached {file} ({content_type}, {}); the message is multipart/mixed now",
        crate::analysis::parts::size(bytes.len() as u64)
    ));
    state.message.attachments.push(crate::message::Attachment {
        name: file,
        content_type,
        bytes,
    });
}

/// The Message pane's list of attachments, one line each.
pub fn attachment_lines(m: &super::MessageState) -> Vec<String> {
    m.attachments
        .iter()
        .map(|a| {
            format!(
                "+ {} ({}, {})",
                crate::proto::visible::visible(a.name.as_bytes()),
                a.content_type,
                crate::analysis::parts::size(a.bytes.len() as u64)
            )
        })
        .collect()
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

    #[test]
    fn attachments_make_a_multipart_message_with_the_files_bytes() {
        use mail_parser::{MessageParser, MimeHeaders};
        let mut s = state();
        let bytes: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
        attach(&mut s, "/some/dir/report.pdf", bytes.clone());
        assert!(s
            .notice
            .as_deref()
            .unwrap_or("")
            .contains("attached report.pdf (application/pdf, 5 KB)"));
        assert_eq!(
            attachment_lines(&s.message),
            ["+ report.pdf (application/pdf, 5 KB)"]
        );
        let wire = s.message.bytes();
        assert_eq!(
            wire,
            s.message.bytes(),
            "the same bytes every time (signing needs it)"
        );
        assert_eq!(wire, s.message.unsigned_bytes());
        // A signature changes the header fields, never the body it signs.
        let body_of = |w: &[u8]| {
            let at = w.windows(4).position(|x| x == b"\r\n\r\n").unwrap_or(0);
            w[at..].to_vec()
        };
        s.message
            .set_signature("DKIM-Signature: v=1; a=rsa-sha256; d=x; s=y; bh=z; b=w\r\n");
        assert_eq!(body_of(&s.message.bytes()), body_of(&wire));
        let m = MessageParser::default().parse(&wire).expect("parses");
        assert_eq!(m.subject(), Some("Hello from smtp-workbench"));
        let a = m.attachment(0).expect("attached");
        assert_eq!(a.attachment_name(), Some("report.pdf"));
        assert_eq!(a.contents(), bytes.as_slice());
        assert!(m
            .body_text(0)
            .unwrap_or_default()
            .starts_with("Hello Alice,"));
        let text = String::from_utf8_lossy(&wire);
        assert_eq!(text.matches("MIME-Version").count(), 1, "{text}");
    }
}
