//! Lessons: guided scenarios kept as TOML (the built-in ones in
//! `assets/lessons/`). A lesson sets the built-in server's policy and
//! rules (`[[rule]]`, as `serve --rules` reads them), fills in
//! the envelope and the message, and checks each step from the transcript.

use serde::Deserialize;

use std::sync::OnceLock;

use crate::app::transcript::Said;
use crate::proto::server::{Policy, VrfyMode};
use crate::server::Rules;

/// What a step waits for: a line the client sent (by its start) and/or a
/// reply code — to that line when both are given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    pub sent: Option<String>,
    pub reply: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// The instruction shown to the student.
    pub say: String,
    pub expect: Check,
}

/// The built-in server's behaviour for the lesson; unset fields keep the demo policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSpec {
    pub require_auth: Option<bool>,
    pub require_tls: Option<bool>,
    pub greylist_secs: Option<u64>,
    pub max_size: Option<u64>,
    /// One of `VrfyMode::NAMES`; another word is an error naming its line.
    #[serde(default, deserialize_with = "vrfy_mode")]
    pub vrfy: Option<VrfyMode>,
    /// Recipients accepted, then bounced to the envelope sender.
    #[serde(default)]
    pub bounce: Vec<String>,
}

fn vrfy_mode<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<VrfyMode>, D::Error> {
    let name = String::deserialize(d)?;
    name.parse().map(Some).map_err(serde::de::Error::custom)
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvelopeSpec {
    pub mail_from: String,
    pub rcpts: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageSpec {
    pub headers: Vec<String>,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lesson {
    pub title: String,
    pub summary: String,
    #[serde(default)]
    pub server: ServerSpec,
    pub envelope: Option<EnvelopeSpec>,
    pub message: Option<MessageSpec>,
    #[serde(rename = "step")]
    pub steps: Vec<Step>,
    /// The built-in server's `[[rule]]`s, as `serve --rules` takes them
    /// (read by `Rules::parse_within`, which names the line of an error).
    #[serde(default, rename = "rule")]
    rule_tables: RuleTables,
    #[serde(skip)]
    pub rules: Rules,
}

/// The `[[rule]]` tables, let through here and read into [`Rules`] after.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct RuleTables;

impl<'de> Deserialize<'de> for RuleTables {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(d).map(|_| RuleTables)
    }
}

/// A lesson file that cannot be used, with the line at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}, line {line}: {message}")]
pub struct LessonError {
    pub name: String,
    pub line: usize,
    pub message: String,
}

impl Lesson {
    /// Parses a lesson; `name` is for the error message.
    pub fn parse(name: &str, text: &str) -> Result<Self, LessonError> {
        let mut lesson: Lesson = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
                .unwrap_or(1);
            LessonError {
                name: name.to_string(),
                line,
                message: e.message().to_string(),
            }
        })?;
        lesson.rules = Rules::parse_within(name, text).map_err(|e| LessonError {
            name: name.to_string(),
            line: e.line,
            message: e.message,
        })?;
        if lesson.steps.is_empty() {
            return Err(LessonError {
                name: name.to_string(),
                line: text.lines().count().max(1),
                message: "a lesson needs at least one [[step]]".into(),
            });
        }
        if let Some(i) = lesson
            .steps
            .iter()
            .position(|s| s.expect.sent.is_none() && s.expect.reply.is_none())
        {
            let line = text
                .match_indices("[[step]]")
                .nth(i)
                .map(|(at, _)| text[..at].matches('\n').count() + 1)
                .unwrap_or(1);
            return Err(LessonError {
                name: name.to_string(),
                line,
                message: "a step's expect needs `sent`, `reply` or both".into(),
            });
        }
        Ok(lesson)
    }

    /// The demo policy changed as the lesson says.
    pub fn policy(&self) -> Policy {
        let mut p = Policy::default();
        let s = &self.server;
        if let Some(v) = s.require_auth {
            p.require_auth = v;
        }
        if let Some(v) = s.require_tls {
            p.require_tls = v;
        }
        if let Some(v) = s.max_size {
            p.max_size = v;
        }
        p.greylist_secs = s.greylist_secs.filter(|&g| g > 0);
        if let Some(v) = s.vrfy {
            p.vrfy = v;
        }
        p.bounce = s.bounce.clone();
        p
    }
}

/// The lessons that come with smtp-workbench.
pub fn builtin() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "first-session",
            include_str!("../../assets/lessons/first-session.toml"),
        ),
        (
            "envelope-vs-headers",
            include_str!("../../assets/lessons/envelope-vs-headers.toml"),
        ),
        (
            "blind-copy",
            include_str!("../../assets/lessons/blind-copy.toml"),
        ),
        (
            "relay-denied",
            include_str!("../../assets/lessons/relay-denied.toml"),
        ),
        (
            "dot-stuffing",
            include_str!("../../assets/lessons/dot-stuffing.toml"),
        ),
        (
            "greylisting",
            include_str!("../../assets/lessons/greylisting.toml"),
        ),
        (
            "starttls-auth",
            include_str!("../../assets/lessons/starttls-auth.toml"),
        ),
        (
            "bounces-go-to-mail-from",
            include_str!("../../assets/lessons/bounces-go-to-mail-from.toml"),
        ),
        (
            "spf-judges-the-envelope",
            include_str!("../../assets/lessons/spf-judges-the-envelope.toml"),
        ),
        (
            "dmarc-judges-from",
            include_str!("../../assets/lessons/dmarc-judges-from.toml"),
        ),
        (
            "dkim-one-byte",
            include_str!("../../assets/lessons/dkim-one-byte.toml"),
        ),
    ]
}

/// The built-in lessons, parsed once.
pub fn builtin_lessons() -> &'static [(&'static str, Lesson)] {
    static PARSED: OnceLock<Vec<(&'static str, Lesson)>> = OnceLock::new();
    PARSED.get_or_init(|| {
        builtin()
            .into_iter()
            // Each parses: `every_builtin_lesson_parses` checks it.
            .filter_map(|(name, text)| Lesson::parse(name, text).ok().map(|l| (name, l)))
            .collect()
    })
}

/// True when what was said (oldest first) satisfies `check`.
pub fn satisfied<'a>(check: &Check, said: impl Iterator<Item = Said<'a>> + Clone) -> bool {
    // The lines the client sent that the step names, by their start.
    let sent: Vec<u64> = match &check.sent {
        None => Vec::new(),
        Some(prefix) => {
            let prefix = prefix.to_ascii_uppercase();
            said.clone()
                .filter_map(|e| match e {
                    Said::Sent { seq, text } if text.to_ascii_uppercase().starts_with(&prefix) => {
                        Some(seq)
                    }
                    _ => None,
                })
                .collect()
        }
    };
    let replied = |code: u16, to_sent: bool| {
        said.clone().any(|e| {
            matches!(e, Said::Reply { answers, code: c }
                if c == code && (!to_sent || answers.is_some_and(|a| sent.contains(&a))))
        })
    };
    match (&check.sent, check.reply) {
        (Some(_), None) => !sent.is_empty(),
        (Some(_), Some(code)) => replied(code, true),
        (None, Some(code)) => replied(code, false),
        (None, None) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_lesson_parses() {
        for (name, text) in builtin() {
            let l = Lesson::parse(name, text).unwrap_or_else(|e| panic!("{e}"));
            assert!(!l.steps.is_empty(), "{name}");
        }
        assert!(builtin().len() >= 11);
    }

    #[test]
    fn errors_name_the_line() {
        let text =
            "title = \"x\"\nsummary = \"y\"\n\n[[step]]\nsay = \"do it\"\nexpect = { sent = 5 }\n";
        let e = Lesson::parse("bad.toml", text).unwrap_err();
        assert_eq!(e.line, 6, "{e}");
        assert!(e.to_string().starts_with("bad.toml, line 6: "), "{e}");
        let e =
            Lesson::parse("bad.toml", "title = \"x\"\nsummary = \"y\"\nstep = 3\n").unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        let e = Lesson::parse(
            "empty.toml",
            "title = \"x\"\nsummary = \"y\"\n[[step]]\nsay = \"z\"\nexpect = {}\n",
        )
        .unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        let e = Lesson::parse("typo.toml", "title = \"x\"\nsumary = \"y\"\n").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
    }

    #[test]
    fn a_vrfy_mode_is_one_of_the_names_and_a_typo_names_its_line() {
        let lesson = |vrfy: &str| {
            format!("title = \"x\"\nsummary = \"y\"\n[server]\nvrfy = \"{vrfy}\"\n[[step]]\nsay = \"z\"\nexpect = {{ reply = 250 }}\n")
        };
        let l = Lesson::parse("ok.toml", &lesson("refuse")).unwrap();
        assert_eq!(l.policy().vrfy, VrfyMode::Refuse);
        let e = Lesson::parse("typo.toml", &lesson("verfy")).unwrap_err();
        assert_eq!(e.line, 4, "{e}");
        assert!(e.message.contains("\"verfy\" is not a VRFY mode"), "{e}");
    }

    #[test]
    fn the_bounce_lesson_sets_a_bouncing_recipient_and_a_local_envelope_sender() {
        let (_, l) = builtin_lessons()
            .iter()
            .find(|(n, _)| *n == "bounces-go-to-mail-from")
            .unwrap();
        let p = l.policy();
        assert_eq!(p.bounce, vec!["bob@example.test"]);
        let e = l.envelope.as_ref().unwrap();
        assert!(
            p.is_local(&e.mail_from),
            "the bounce lands in a mailbox here"
        );
        assert!(e.rcpts.iter().any(|r| p.bounces(r)));
        let from = &l.message.as_ref().unwrap().headers[0];
        assert!(from.starts_with("From:") && !from.contains(&e.mail_from));
    }

    #[test]
    fn a_lesson_carries_rules_and_a_bad_one_names_its_line() {
        let lesson = |reply: &str| {
            format!("title = \"x\"\nsummary = \"y\"\n[[step]]\nsay = \"z\"\nexpect = {{ reply = 452 }}\n\n[[rule]]\nname = \"full\"\nwhen = {{ stage = \"rcpt\", rcpt = \"bob@*\" }}\nreply = \"{reply}\"\n")
        };
        let l = Lesson::parse("ok.toml", &lesson("452 4.2.2 Mailbox full")).unwrap();
        assert_eq!(l.rules.rules.len(), 1);
        assert_eq!(l.rules.rules[0].name.as_deref(), Some("full"));
        let e = Lesson::parse("bad.toml", &lesson("250 fine")).unwrap_err();
        assert_eq!(e.line, 10, "{e}");
        assert!(e.message.contains("does not fit stage \"rcpt\""), "{e}");
        assert!(builtin_lessons()
            .iter()
            .all(|(_, l)| l.rules.rules.len() < 100));
    }

    fn sent(seq: u64, text: &str) -> Said<'_> {
        Said::Sent { seq, text }
    }

    fn reply(answers: u64, code: u16) -> Said<'static> {
        Said::Reply {
            answers: Some(answers),
            code,
        }
    }

    #[test]
    fn steps_are_checked_from_the_transcript() {
        let events = [
            sent(1, "EHLO me"),
            reply(1, 250),
            sent(2, "RCPT TO:<a@b>"),
            reply(2, 554),
        ];
        let e = |sent: Option<&str>, reply: Option<u16>| Check {
            sent: sent.map(str::to_string),
            reply,
        };
        assert!(satisfied(
            &e(Some("ehlo"), Some(250)),
            events.iter().copied()
        ));
        assert!(!satisfied(
            &e(Some("EHLO"), Some(554)),
            events.iter().copied()
        ));
        assert!(satisfied(
            &e(Some("RCPT"), Some(554)),
            events.iter().copied()
        ));
        assert!(satisfied(&e(None, Some(554)), events.iter().copied()));
        assert!(!satisfied(&e(Some("DATA"), None), events.iter().copied()));
    }
}
