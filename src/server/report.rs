//! The server's log as text or JSON lines: one line per connection and per
//! message, with the envelope beside the header fields so that the
//! difference shows, and the message's authentication verdicts.

use std::fmt::Write as _;
use std::time::SystemTime;

use serde_json::json;

use super::bounce::{self, Bounce, BounceFate};
use super::{judge, LogEvent, StoredMessage};
use crate::analysis::compare::push_list_or_none;
use crate::proto::server::{Hangup, Ruling};
use crate::transcript::json_auth;

/// `HH:MM:SS` in UTC, for log lines.
pub fn clock(t: SystemTime) -> String {
    let s = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    format!("{:02}:{:02}:{:02}", (s / 3600) % 24, (s / 60) % 60, s % 60)
}

/// A message's lines: what was accepted, the envelope against the header
/// fields, the verdicts and any bounce. Written into one buffer: the server
/// writes one for every message it takes.
fn message_text(t: &str, conn: u64, message: &StoredMessage) -> String {
    let r = &message.received;
    let h = &message.headers;
    let pad = " ".repeat(t.len() + 1);
    let mut out = String::with_capacity(256 + r.rcpts.len() * 40);
    let _ = write!(
        out,
        "{t} #{conn} message {} accepted ({} bytes",
        r.id,
        message.size()
    );
    if r.tls {
        out.push_str(", TLS");
    }
    if let Some(a) = &r.auth {
        out.push_str(", AUTH ");
        out.push_str(a);
    }
    let _ = writeln!(out, ") from {} (EHLO {})", r.client, r.helo);
    out.push_str(&pad);
    out.push_str("envelope: MAIL FROM:<");
    out.push_str(&r.mail_from);
    out.push_str(">  RCPT TO:");
    for (i, (a, _)) in r.rcpts.iter().enumerate() {
        out.push_str(if i == 0 { "<" } else { ", <" });
        out.push_str(a);
        out.push('>');
    }
    out.push('\n');
    out.push_str(&pad);
    for (name, items) in [
        ("headers:  From: ", &h.from),
        ("  To: ", &h.to),
        ("  Cc: ", &h.cc),
    ] {
        out.push_str(name);
        push_list_or_none(&mut out, items);
    }
    if let Some(s) = &h.subject {
        out.push_str("  Subject: ");
        out.push_str(s);
    }
    if !message.verdicts.is_empty() {
        out.push('\n');
        out.push_str(&pad);
        out.push_str("auth:     ");
        out.push_str(&judge::compact(&message.verdicts));
    }
    if let Some(b) = &message.bounce {
        let _ = write!(
            out,
            "\n{pad}bounce:   {}\n{pad}          {}",
            b.what(),
            b.where_to()
        );
    }
    out
}

/// The text form; `verbose` adds every command and reply. `None` for events
/// that the chosen detail leaves out.
pub fn text(event: &LogEvent, now: SystemTime, verbose: bool) -> Option<String> {
    let t = clock(now);
    Some(match event {
        LogEvent::Listening { addr } => format!("{t} listening on {addr}"),
        LogEvent::Connected { conn, peer } => format!("{t} #{conn} connect from {peer}"),
        LogEvent::Refused { peer, why } => format!("{t} refused {peer}: {why}"),
        LogEvent::Command { conn, text } if verbose => format!("{t} #{conn} <- {text}"),
        LogEvent::Reply { conn, text } if verbose => text
            .split('\n')
            .map(|l| format!("{t} #{conn} -> {l}"))
            .collect::<Vec<_>>()
            .join("\n"),
        LogEvent::Command { .. } | LogEvent::Reply { .. } | LogEvent::Session { .. } => {
            return None
        }
        LogEvent::Tls { conn, detail } => format!("{t} #{conn} {detail}"),
        LogEvent::Problem { conn, text } => format!("{t} #{conn} !! {text}"),
        LogEvent::Rule { conn, ruling } => format!(
            "{t} #{conn} {} fired at {}: {}",
            ruling.label(),
            ruling.stage.name(),
            ruling.why
        ),
        LogEvent::Disconnected { conn, messages } => {
            format!("{t} #{conn} disconnect ({messages} message(s))")
        }
        LogEvent::Message { conn, message } => message_text(&t, *conn, message),
    })
}

/// The JSON form: one object per event.
pub fn json(event: &LogEvent, now: SystemTime) -> serde_json::Value {
    let t = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    match event {
        LogEvent::Listening { addr } => {
            json!({"t": t, "event": "listening", "addr": addr.to_string()})
        }
        LogEvent::Connected { conn, peer } => {
            json!({"t": t, "event": "connect", "conn": conn, "peer": peer.to_string()})
        }
        LogEvent::Refused { peer, why } => {
            json!({"t": t, "event": "refused", "peer": peer.to_string(), "text": why})
        }
        LogEvent::Command { conn, text } => {
            json!({"t": t, "event": "command", "conn": conn, "text": text})
        }
        LogEvent::Reply { conn, text } => {
            json!({"t": t, "event": "reply", "conn": conn, "text": text})
        }
        LogEvent::Tls { conn, detail } => {
            json!({"t": t, "event": "tls", "conn": conn, "text": detail})
        }
        LogEvent::Problem { conn, text } => {
            json!({"t": t, "event": "problem", "conn": conn, "text": text})
        }
        LogEvent::Rule { conn, ruling } => rule_json(t, *conn, ruling),
        LogEvent::Disconnected { conn, messages } => {
            json!({"t": t, "event": "disconnect", "conn": conn, "messages": messages})
        }
        LogEvent::Session { conn, summary } => json!({
            "t": t,
            "event": "session",
            "conn": conn,
            "stage": summary.stage,
            "helo": summary.helo,
            "user": summary.user,
            "tls": summary.tls,
        }),
        LogEvent::Message { conn, message } => message_json(t, *conn, message),
    }
}

/// A rule that fired, with what it did.
fn rule_json(t: f64, conn: u64, ruling: &Ruling) -> serde_json::Value {
    json!({
        "t": t,
        "event": "rule",
        "conn": conn,
        "rule": ruling.index,
        "name": ruling.name,
        "stage": ruling.stage.name(),
        "reply": ruling.reply,
        "delay_ms": ruling.delay_ms,
        "hangup": ruling.hangup.map(|h| match h {
            Hangup::BeforeReply => "before-reply",
            Hangup::AfterReply => "after-reply",
        }),
        "bounce": ruling.bounce,
        "why": ruling.why,
    })
}

/// An accepted message: the envelope, the header fields beside it, the
/// verdicts and any bounce.
fn message_json(t: f64, conn: u64, message: &StoredMessage) -> serde_json::Value {
    let r = &message.received;
    let h = &message.headers;
    json!({
        "t": t,
        "event": "message",
        "conn": conn,
        "id": r.id,
        "client": r.client,
        "helo": r.helo,
        "tls": r.tls,
        "auth_user": r.auth,
        "mail_from": r.mail_from,
        "mail_params": r.mail_params,
        "rcpts": r.rcpts.iter().map(|(a, p)| json!({"address": a, "params": p})).collect::<Vec<_>>(),
        "size": message.size(),
        "header_from": h.from,
        "header_sender": h.sender,
        "header_reply_to": h.reply_to,
        "header_to": h.to,
        "header_cc": h.cc,
        "header_bcc": h.bcc,
        "subject": h.subject,
        "bounce": message.bounce.as_ref().map(bounce),
        "auth": auth(message),
    })
}

/// A message's verdicts in its JSON event: the objects `send` prints,
/// without their own time and kind; an empty list when nothing was judged.
fn auth(message: &StoredMessage) -> serde_json::Value {
    message
        .verdicts
        .iter()
        .map(|v| {
            let mut o = json_auth(std::time::Duration::ZERO, v);
            if let Some(o) = o.as_object_mut() {
                o.remove("t");
                o.remove("kind");
            }
            o
        })
        .collect()
}

/// A message's bounce in its JSON event: where it went and why.
fn bounce(b: &Bounce) -> serde_json::Value {
    let id = match &b.fate {
        BounceFate::Stored { id, .. } => Some(id),
        _ => None,
    };
    json!({
        "recipients": b.failed,
        "to": b.to(),
        "status": bounce::STATUS,
        "reason": bounce::REASON,
        "diagnostic": b.failed.iter().map(|r| bounce::diagnostic(r)).collect::<Vec<_>>(),
        "stored": b.stored(),
        "id": id,
        "text": b.where_to(),
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::server::store::sample;

    fn message(mail_from: &str, fate: Option<BounceFate>) -> LogEvent {
        let mut m = sample(
            mail_from,
            &["bob@example.test"],
            "From: The CEO <ceo@bank.example>\r\n\r\nhi\r\n",
        );
        m.bounce = fate.map(|fate| Bounce {
            failed: vec!["bob@example.test".into()],
            fate,
        });
        LogEvent::Message {
            conn: 1,
            message: Arc::new(m),
        }
    }

    const NOW: Duration = Duration::from_secs(3600 + 120 + 3);

    #[test]
    fn a_bounce_in_the_text_log_says_where_it_went_and_why() {
        let now = SystemTime::UNIX_EPOCH + NOW;
        let stored = BounceFate::Stored {
            to: "bounces@example.test".into(),
            id: "Q2".into(),
        };
        let out = text(&message("bounces@example.test", Some(stored)), now, false).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 5, "{out}");
        assert_eq!(
            lines[3],
            "         bounce:   <bob@example.test>: 552 5.2.2 mailbox over quota, after the \
             250"
        );
        assert_eq!(
            lines[4],
            "                   bounce from <> to MAIL FROM <bounces@example.test>: stored in \
             its mailbox (message Q2)"
        );
        assert!(
            lines[2].contains("From: The CEO <ceo@bank.example>"),
            "{out}"
        );
        let plain = text(&message("a@example.test", None), now, false).unwrap();
        assert_eq!(
            plain.lines().count(),
            3,
            "no bounce, no bounce line: {plain}"
        );
    }

    fn judged() -> LogEvent {
        use crate::analysis::auth::{Method, Outcome, Verdict};
        let mut m = sample(
            "student@client.example",
            &["bob@example.test"],
            "From: The CEO <ceo@example.test>\r\n\r\nhi\r\n",
        );
        let v = |method, result, domain: &str, reason: &str| Verdict {
            method,
            result,
            domain: domain.into(),
            reason: reason.into(),
            sentence: format!("{} said {result}.", method.name()).into(),
        };
        m.judged(
            "demo.example.test",
            vec![
                v(Method::Spf, Outcome::Pass, "client.example", ""),
                v(Method::Dkim, Outcome::None, "", "no signature"),
                v(Method::Dmarc, Outcome::Fail, "example.test", "p=reject"),
            ],
        );
        LogEvent::Message {
            conn: 1,
            message: Arc::new(m),
        }
    }

    /// The first lines in full: flags, every recipient, every header list,
    /// "(none)" for an empty one, the Subject.
    #[test]
    fn a_message_in_the_text_log_sets_the_envelope_above_the_headers() {
        let mut m = sample(
            "student@client.example",
            &["bob@example.test", "carol@example.test"],
            "From: A <a@client.example>, b@client.example\r\nTo: bob@example.test\r\n\
             Subject: hi\r\n\r\nhi\r\n",
        );
        m.received.tls = true;
        m.received.auth = Some("alice".into());
        let event = LogEvent::Message {
            conn: 7,
            message: Arc::new(m),
        };
        let out = text(&event, SystemTime::UNIX_EPOCH + NOW, false).unwrap();
        assert_eq!(
            out,
            "01:02:03 #7 message Q1 accepted (261 bytes, TLS, AUTH alice) from 127.0.0.1 \
             (EHLO client.example)\n         \
             envelope: MAIL FROM:<student@client.example>  RCPT TO:<bob@example.test>, \
             <carol@example.test>\n         \
             headers:  From: A <a@client.example>, b@client.example  To: bob@example.test  \
             Cc: (none)  Subject: hi"
        );
    }

    #[test]
    fn verdicts_in_the_text_log_are_one_compact_line() {
        let out = text(&judged(), SystemTime::UNIX_EPOCH + NOW, false).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 4, "{out}");
        assert_eq!(lines[3], "         auth:     spf=pass dkim=none dmarc=fail");
    }

    #[test]
    fn verdicts_in_the_json_event_are_the_objects_send_prints() {
        let v = json(&judged(), SystemTime::UNIX_EPOCH + NOW);
        let auth = v["auth"].as_array().unwrap();
        assert_eq!(auth.len(), 3, "{v}");
        assert_eq!(
            auth[2],
            serde_json::json!({"method": "dmarc", "result": "fail", "domain": "example.test",
                "reason": "p=reject", "text": "dmarc said fail."})
        );
        assert!(v["auth_user"].is_null(), "SMTP AUTH's user has its own key");
        let plain = json(
            &message("a@example.test", None),
            SystemTime::UNIX_EPOCH + NOW,
        );
        assert_eq!(plain["auth"], serde_json::json!([]), "not judged: {plain}");
    }

    #[test]
    fn a_bounce_in_the_json_event() {
        let now = SystemTime::UNIX_EPOCH + NOW;
        let remote = BounceFate::NotLocal {
            to: "x@remote.example".into(),
        };
        let v = json(&message("x@remote.example", Some(remote)), now);
        let b = &v["bounce"];
        assert_eq!(b["to"], "x@remote.example");
        assert_eq!(b["status"], "5.2.2");
        assert_eq!(b["reason"], "mailbox over quota");
        assert_eq!(b["stored"], false);
        assert_eq!(b["recipients"][0], "bob@example.test");
        assert!(b["id"].is_null());
        assert!(b["text"]
            .as_str()
            .unwrap()
            .contains("never delivers onward"));
        let v = json(&message("", Some(BounceFate::NullSender)), now);
        assert!(v["bounce"]["to"].is_null(), "{v}");
        assert_eq!(v["bounce"]["stored"], false);
        let v = json(&message("a@example.test", None), now);
        assert!(v["bounce"].is_null(), "{v}");
    }
}
