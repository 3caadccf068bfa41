//! The transcript as text or JSON lines: the forms `send` prints and the TUI
//! saves. Every byte from the server was made visible in `proto`, and JSON
//! escapes the rest, so nothing printed here can act on a terminal.

use std::io::{self, Write};
use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::analysis::auth::Verdict;
use crate::proto::client::Event;
use crate::proto::probe::Finding;
use crate::proto::visible::json_safe;
use crate::proto::{Reply, Verb};
use crate::transport::Timed;

/// The transcript's form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

impl Format {
    /// Each form by the name `--format` gives it.
    pub const NAMES: [(&'static str, Format); 2] = [("text", Self::Text), ("json", Self::Json)];
}

/// Writes transcript entries as they come.
pub struct Writer<W: Write> {
    out: W,
    format: Format,
    /// Show secrets instead of the mask (`--reveal-secrets`).
    reveal: bool,
    /// Base64 bodies folded into one line each, once `fold_parts` asks
    /// (`send`'s text form; JSON and the workbench's saves keep every line).
    parts: Option<crate::analysis::parts::PartFolder>,
}

impl<W: Write> Writer<W> {
    pub fn new(out: W, format: Format, reveal: bool) -> Self {
        Self {
            out,
            format,
            reveal,
            parts: None,
        }
    }

    /// Folds each base64 body of `content`, the message about to be sent,
    /// into one line in the text form; the summaries are worked out from
    /// the whole message, so they count the lines the session does not show.
    pub fn fold_parts(&mut self, content: &[u8]) {
        let mut folder = crate::analysis::parts::PartFolder::new();
        folder.expect(content);
        self.parts = Some(folder);
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    pub fn write(&mut self, entry: &Timed) -> io::Result<()> {
        match self.format {
            Format::Text => self.write_text(entry),
            Format::Json => {
                let v = json_entry(entry, self.reveal);
                writeln!(self.out, "{}", json_safe(&v.to_string()))
            }
        }
    }

    /// Writes a closing line: how the session ended and the exit status.
    pub fn write_result(&mut self, at: Duration, outcome: &str, exit: u8) -> io::Result<()> {
        let pending = self.parts.as_mut().and_then(|p| p.finish());
        if let Some(summary) = pending.filter(|_| self.format == Format::Text) {
            writeln!(self.out, "{} -> {summary}", stamp(at))?;
        }
        match self.format {
            Format::Text => writeln!(
                self.out,
                "{} == result: {outcome} (exit status {exit})",
                stamp(at)
            ),
            Format::Json => {
                let v = json!({
                    "t": secs(at),
                    "kind": "info",
                    "text": format!("result: {outcome}"),
                    "result": outcome,
                    "exit": exit,
                });
                writeln!(self.out, "{}", json_safe(&v.to_string()))
            }
        }
    }

    /// The form this writer writes.
    pub fn format(&self) -> Format {
        self.format
    }

    /// One JSON object of the caller's own as one line (load mode's
    /// summary), escaped as every other line is.
    pub fn write_json(&mut self, v: &Value) -> io::Result<()> {
        writeln!(self.out, "{}", json_safe(&v.to_string()))
    }

    /// An info line from the caller (not from a session), for example the
    /// notes about defaulted header fields.
    pub fn write_note(&mut self, at: Duration, text: &str) -> io::Result<()> {
        self.write(&Timed {
            at,
            latency: None,
            event: Event::Info(text.to_string()),
        })
    }

    /// One authentication result: text `== auth: spf=pass domain=…: sentence`,
    /// JSON `{"kind":"auth","method",…,"text"}`.
    pub fn write_auth(&mut self, at: Duration, verdict: &Verdict) -> io::Result<()> {
        match self.format {
            Format::Text => writeln!(self.out, "{} == {}", stamp(at), auth_line(verdict)),
            Format::Json => writeln!(self.out, "{}", json_auth(at, verdict)),
        }
    }

    /// One probe case's verdict: text `== probe: smuggling <LF>.<LF>: safe
    /// — reason`, JSON `{"kind":"probe","probe","case","verdict","reason"}`.
    pub fn write_probe(&mut self, at: Duration, finding: &Finding) -> io::Result<()> {
        match self.format {
            Format::Text => writeln!(self.out, "{} == {}", stamp(at), probe_line(finding)),
            Format::Json => {
                let v = json_probe(at, finding);
                writeln!(self.out, "{}", json_safe(&v.to_string()))
            }
        }
    }

    fn write_text(&mut self, entry: &Timed) -> io::Result<()> {
        let t = stamp(entry.at);
        match &entry.event {
            Event::Sent { text, revealed, .. } => {
                let shown = match (self.reveal, revealed) {
                    (true, Some(r)) => r,
                    _ => text,
                };
                use crate::analysis::parts::Fold;
                match self.parts.as_mut().map_or(Fold::Show, |p| p.line(shown)) {
                    Fold::Show => {}
                    Fold::Hide => return Ok(()),
                    Fold::Summary(s) => writeln!(self.out, "{t} -> {s}")?,
                }
                writeln!(self.out, "{t} -> {shown}")
            }
            Event::Reply { reply, .. } => {
                let n = reply.lines.len();
                for (i, line) in reply.lines.iter().enumerate() {
                    let lead = if i == 0 {
                        t.clone()
                    } else {
                        " ".repeat(t.len())
                    };
                    let shown = crate::proto::visible::visible(line);
                    match entry.latency.filter(|_| i + 1 == n) {
                        Some(l) => writeln!(self.out, "{lead} <- {shown}  ({})", millis(l))?,
                        None => writeln!(self.out, "{lead} <- {shown}")?,
                    }
                }
                Ok(())
            }
            Event::BadReply { error, .. } => writeln!(self.out, "{t} <! {error}"),
            Event::Info(s) => writeln!(self.out, "{t} == {s}"),
            Event::Warning(s) => writeln!(self.out, "{t} !! {s}"),
            Event::Error(s) => writeln!(self.out, "{t} ** {s}"),
        }
    }
}

/// The text line of a result, after the time stamp.
pub fn auth_line(v: &Verdict) -> String {
    let domain = if v.domain.is_empty() {
        String::new()
    } else {
        format!(" domain={}", v.domain)
    };
    format!(
        "auth: {}={}{domain}: {}",
        v.method.name(),
        v.result,
        v.sentence
    )
}

/// The JSON object of a result; `text` holds its sentence.
pub fn json_auth(at: Duration, v: &Verdict) -> Value {
    json!({
        "t": secs(at),
        "kind": "auth",
        "method": v.method.name(),
        "result": v.result.name(),
        "domain": v.domain,
        "reason": v.reason,
        "text": &*v.sentence,
    })
}

/// The text line of a probe case, after the time stamp; the case names
/// its control characters (`<LF>`), and the reason's server text was made
/// visible in `proto::probe`.
pub fn probe_line(f: &Finding) -> String {
    format!(
        "probe: {} {}: {} — {}",
        f.probe.name(),
        f.case,
        f.verdict.name(),
        f.reason
    )
}

/// The JSON object of a probe case (DESIGN.md's contract); `text` is the
/// text line.
pub fn json_probe(at: Duration, f: &Finding) -> Value {
    json!({
        "t": secs(at),
        "kind": "probe",
        "probe": f.probe.name(),
        "case": f.case,
        "verdict": f.verdict.name(),
        "reason": f.reason,
        "text": probe_line(f),
    })
}

fn secs(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}

fn stamp(d: Duration) -> String {
    format!("{:>7.3}", d.as_secs_f64())
}

fn millis(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// One JSON object for one entry. `kind` is `client`, `server`, `info` or
/// `error`; server replies carry `code`, `enhanced` and `lines`, and `raw`
/// when the server's bytes differ from what `lines` shows.
pub fn json_entry(entry: &Timed, reveal: bool) -> Value {
    let mut m = Map::new();
    m.insert("t".into(), json!(secs(entry.at)));
    match &entry.event {
        Event::Sent {
            seq,
            text,
            revealed,
        } => {
            let secret = revealed.is_some();
            let shown = match (reveal, revealed) {
                (true, Some(r)) => r.clone(),
                _ => text.clone(),
            };
            m.insert("kind".into(), json!("client"));
            m.insert("text".into(), json!(shown));
            m.insert("seq".into(), json!(seq));
            if secret {
                m.insert("masked".into(), json!(!reveal));
            }
        }
        Event::Reply {
            answers,
            verb,
            reply,
        } => reply_fields(&mut m, reply, *answers, *verb, entry.latency),
        Event::BadReply { answers, error } => {
            m.insert("kind".into(), json!("error"));
            m.insert("text".into(), json!(error.to_string()));
            m.insert("malformed_reply".into(), json!(true));
            if let Some(a) = answers {
                m.insert("answers".into(), json!(a));
            }
        }
        Event::Info(s) => {
            m.insert("kind".into(), json!("info"));
            m.insert("text".into(), json!(s));
        }
        Event::Warning(s) => {
            m.insert("kind".into(), json!("info"));
            m.insert("level".into(), json!("warning"));
            m.insert("text".into(), json!(s));
        }
        Event::Error(s) => {
            m.insert("kind".into(), json!("error"));
            m.insert("text".into(), json!(s));
        }
    }
    Value::Object(m)
}

/// A server reply's fields: its text, code and enhanced code, its lines as
/// shown and, where they differ, as sent; what it answered, and how long it
/// took.
fn reply_fields(
    m: &mut Map<String, Value>,
    reply: &Reply,
    answers: Option<u64>,
    verb: Option<Verb>,
    latency: Option<Duration>,
) {
    let lines: Vec<String> = reply
        .lines
        .iter()
        .map(|l| crate::proto::visible::visible(l))
        .collect();
    m.insert("kind".into(), json!("server"));
    m.insert("text".into(), json!(lines.join("\n")));
    m.insert("code".into(), json!(reply.code.value()));
    if let Some(e) = reply.enhanced {
        m.insert("enhanced".into(), json!(e.to_string()));
    }
    // A server's "␛" and its ESC look the same once made visible:
    // where the bytes differ from what shows, the bytes go too (as
    // JSON escapes them; invalid UTF-8 as U+FFFD, its byte in `lines`).
    if reply
        .lines
        .iter()
        .zip(&lines)
        .any(|(raw, shown)| raw.as_slice() != shown.as_bytes())
    {
        let raw: Vec<String> = reply
            .lines
            .iter()
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect();
        m.insert("raw".into(), json!(raw));
    }
    m.insert("lines".into(), json!(lines));
    if let Some(a) = answers {
        m.insert("answers".into(), json!(a));
    }
    if let Some(v) = verb {
        m.insert("command".into(), json!(v.name()));
    }
    if let Some(l) = latency {
        m.insert("latency_ms".into(), json!(secs(l * 1000)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::reply::{Reply, ReplyCode};

    fn entries() -> Vec<Timed> {
        let ms = Duration::from_millis;
        vec![
            Timed {
                at: ms(12),
                latency: Some(ms(12)),
                event: Event::Reply {
                    answers: Some(0),
                    verb: None,
                    reply: Reply::new(ReplyCode::new(220).unwrap(), "mx \u{1b}[2J ESMTP"),
                },
            },
            Timed {
                at: ms(13),
                latency: None,
                event: Event::Sent {
                    seq: 1,
                    text: "AUTH PLAIN ********".into(),
                    revealed: Some("AUTH PLAIN AGEAYg==".into()),
                },
            },
            Timed {
                at: ms(20),
                latency: Some(ms(7)),
                event: Event::Reply {
                    answers: Some(1),
                    verb: None,
                    reply: Reply::new(ReplyCode::new(250).unwrap(), "2.0.0 a\nb"),
                },
            },
            Timed {
                at: ms(21),
                latency: None,
                event: Event::Warning("careful".into()),
            },
        ]
    }

    fn render(format: Format, reveal: bool) -> String {
        let mut w = Writer::new(Vec::new(), format, reveal);
        for e in entries() {
            w.write(&e).unwrap();
        }
        String::from_utf8(w.into_inner()).unwrap()
    }

    #[test]
    fn text_form() {
        assert_eq!(
            render(Format::Text, false),
            "  0.012 <- 220 mx ␛[2J ESMTP  (12.0 ms)\n\
             \x20 0.013 -> AUTH PLAIN ********\n\
             \x20 0.020 <- 250-2.0.0 a\n\
             \x20       <- 250 b  (7.0 ms)\n\
             \x20 0.021 !! careful\n"
        );
        assert!(render(Format::Text, true).contains("AUTH PLAIN AGEAYg=="));
    }

    #[test]
    fn json_form() {
        let out = render(Format::Json, false);
        let lines: Vec<Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines[0]["kind"], "server");
        assert_eq!(lines[0]["code"], 220);
        assert_eq!(lines[0]["text"], "220 mx ␛[2J ESMTP");
        assert_eq!(lines[1]["kind"], "client");
        assert_eq!(lines[1]["text"], "AUTH PLAIN ********");
        assert_eq!(lines[1]["masked"], true);
        assert_eq!(lines[2]["enhanced"], "2.0.0");
        assert_eq!(lines[2]["latency_ms"], 7.0);
        assert_eq!(lines[3]["level"], "warning");
        assert!(!out.contains('\u{1b}'));
        assert_eq!(lines[0]["raw"][0], "220 mx \u{1b}[2J ESMTP");
        assert!(
            out.contains(r"\u001b[2J"),
            "ESC escaped as JSON does: {out}"
        );
        assert!(lines[2].get("raw").is_none(), "nothing differs: no raw");
    }

    #[test]
    fn an_auth_result_is_one_line_of_text_or_one_json_object() {
        use crate::analysis::auth::{Method, Outcome};
        let v = Verdict {
            method: Method::Spf,
            result: Outcome::Pass,
            domain: "client.example".into(),
            reason: "the record's verdict".into(),
            sentence: "SPF passes.".into(),
        };
        let mut w = Writer::new(Vec::new(), Format::Text, false);
        w.write_auth(Duration::from_millis(5), &v).unwrap();
        let text = String::from_utf8(w.into_inner()).unwrap();
        assert_eq!(
            text,
            "  0.005 == auth: spf=pass domain=client.example: SPF passes.\n"
        );
        let mut w = Writer::new(Vec::new(), Format::Json, false);
        w.write_auth(Duration::ZERO, &v).unwrap();
        let line: Value = serde_json::from_slice(&w.into_inner()).unwrap();
        assert_eq!(line["kind"], "auth");
        assert_eq!(line["method"], "spf");
        assert_eq!(line["result"], "pass");
        assert_eq!(line["domain"], "client.example");
        assert_eq!(line["reason"], "the record's verdict");
        assert_eq!(line["text"], "SPF passes.");
    }

    #[test]
    fn a_probe_case_is_one_line_of_text_or_one_json_object() {
        use crate::proto::probe::{Probe, Verdict};
        let f = Finding {
            probe: Probe::Smuggling,
            case: "<LF>.<LF>".into(),
            verdict: Verdict::Vulnerable,
            reason: "the server answered \"250 ok\" right after <LF>.<LF>".into(),
        };
        let mut w = Writer::new(Vec::new(), Format::Text, false);
        w.write_probe(Duration::from_millis(5), &f).unwrap();
        assert_eq!(
            String::from_utf8(w.into_inner()).unwrap(),
            "  0.005 == probe: smuggling <LF>.<LF>: vulnerable — the server answered \"250 ok\" \
             right after <LF>.<LF>\n"
        );
        let mut w = Writer::new(Vec::new(), Format::Json, false);
        w.write_probe(Duration::ZERO, &f).unwrap();
        let line: Value = serde_json::from_slice(&w.into_inner()).unwrap();
        assert_eq!(line["kind"], "probe");
        assert_eq!(line["probe"], "smuggling");
        assert_eq!(line["case"], "<LF>.<LF>");
        assert_eq!(line["verdict"], "vulnerable");
        assert_eq!(line["reason"], f.reason.as_str());
    }

    #[test]
    fn a_literal_control_picture_is_told_from_the_control() {
        let reply = |text: &str| Timed {
            at: Duration::ZERO,
            latency: None,
            event: Event::Reply {
                answers: Some(0),
                verb: None,
                reply: Reply::new(ReplyCode::new(220).unwrap(), text),
            },
        };
        let literal = json_entry(&reply("mx \u{241b}"), false);
        let control = json_entry(&reply("mx \u{1b}"), false);
        assert_eq!(literal["lines"], control["lines"], "both show as ␛");
        assert!(literal.get("raw").is_none());
        assert_eq!(control["raw"][0], "220 mx \u{1b}");
    }

    /// The bytes kept in `raw` never reach the terminal as they are: C1
    /// controls, DEL and bidi overrides are escaped in the printed line.
    #[test]
    fn raw_bytes_are_printed_escaped() {
        let entry = Timed {
            at: Duration::ZERO,
            latency: None,
            event: Event::Reply {
                answers: Some(0),
                verb: None,
                reply: Reply::new(ReplyCode::new(220).unwrap(), "mx \u{9b}2J \u{202e}x \u{7f}"),
            },
        };
        let mut w = Writer::new(Vec::new(), Format::Json, false);
        w.write(&entry).unwrap();
        let out = String::from_utf8(w.into_inner()).unwrap();
        assert!(!out.contains(['\u{9b}', '\u{202e}', '\u{7f}']), "{out:?}");
        let v: Value = serde_json::from_str(out.trim_end()).unwrap();
        assert_eq!(v["raw"][0], "220 mx \u{9b}2J \u{202e}x \u{7f}");
    }

    #[test]
    fn base64_bodies_fold_only_when_asked_and_never_in_json() {
        let message = "Content-Type: image/png; name=\"a.png\"\r\n\
                       Content-Transfer-Encoding: base64\r\n\r\nAAAA\r\nAAAA\r\n";
        let sent = |w: &mut Writer<Vec<u8>>| {
            for (seq, line) in message.split("\r\n").chain(["."]).enumerate() {
                let _ = w.write(&Timed {
                    at: Duration::from_millis(1),
                    latency: None,
                    event: Event::Sent {
                        seq: seq as u64,
                        text: line.into(),
                        revealed: None,
                    },
                });
            }
        };
        let mut folded = Writer::new(Vec::new(), Format::Text, false);
        folded.fold_parts(message.as_bytes());
        sent(&mut folded);
        let text = String::from_utf8(folded.into_inner()).expect("utf-8");
        assert!(
            text.contains("-> [attachment a.png, image/png, 6 bytes as 2 base64 lines]\n"),
            "{text}"
        );
        assert!(!text.contains("AAAA"), "{text}");
        for format in [Format::Text, Format::Json] {
            let mut plain = Writer::new(Vec::new(), format, false);
            if format == Format::Json {
                plain.fold_parts(message.as_bytes());
            }
            sent(&mut plain);
            let out = String::from_utf8(plain.into_inner()).expect("utf-8");
            assert_eq!(out.matches("AAAA").count(), 2, "{out}");
            assert!(!out.contains("[attachment"), "{out}");
        }
    }
}
