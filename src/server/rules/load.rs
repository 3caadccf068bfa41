//! Loading a rules file: TOML into [`Rules`], every key, stage, reply,
//! address, glob and rate checked, each error naming its line (from
//! toml's spans), so that a typo fails at load and never in a lesson.

use std::ops::Range;
use std::time::Duration;

use ipnet::IpNet;
use serde::Deserialize;
use toml::Spanned;

use super::{Pattern, Rate, Rule, Rules, When};
use crate::proto::server::{Hangup, Stage};

/// A rules file that cannot be used, with the line at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}, line {line}: {message}")]
pub struct RulesError {
    pub name: String,
    pub line: usize,
    pub message: String,
}

/// A rules file: nothing but `[[rule]]`s.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    rule: Vec<Spanned<RawRule>>,
}

/// The `[[rule]]`s of a file that holds other things too (a lesson).
#[derive(Deserialize)]
struct Within {
    #[serde(default)]
    rule: Vec<Spanned<RawRule>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: Option<String>,
    when: Option<RawWhen>,
    reply: Option<Spanned<String>>,
    delay_ms: Option<u64>,
    hangup: Option<Spanned<String>>,
    bounce: Option<Spanned<bool>>,
    rate: Option<Spanned<RawRate>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWhen {
    stage: Option<Spanned<String>>,
    client: Option<Spanned<String>>,
    user: Option<String>,
    sender: Option<Spanned<String>>,
    rcpt: Option<Spanned<String>>,
    nth: Option<Spanned<u64>>,
    size_over: Option<Spanned<u64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRate {
    max: Spanned<u64>,
    per_seconds: Spanned<u64>,
    reply: Option<Spanned<String>>,
}

/// The longest reply a rule may give, as a command line (RFC 5321, 4.5.3.1.5).
const MAX_REPLY: usize = 512;
/// Longer than a day is a typo, not a drill.
const MAX_DELAY_MS: u64 = 24 * 60 * 60 * 1000;

impl Rules {
    /// Parses a rules file; `name` is for the error message.
    pub fn parse(name: &str, text: &str) -> Result<Self, RulesError> {
        let file: File = toml::from_str(text).map_err(|e| toml_error(name, text, &e))?;
        Checker { name, text }.rules(file.rule)
    }

    /// The `[[rule]]`s in a file that holds other tables too (a lesson);
    /// none is no rules.
    pub fn parse_within(name: &str, text: &str) -> Result<Self, RulesError> {
        let file: Within = toml::from_str(text).map_err(|e| toml_error(name, text, &e))?;
        Checker { name, text }.rules(file.rule)
    }
}

fn line_of(text: &str, at: usize) -> usize {
    text[..at.min(text.len())].matches('\n').count() + 1
}

fn toml_error(name: &str, text: &str, e: &toml::de::Error) -> RulesError {
    RulesError {
        name: name.to_string(),
        line: e.span().map(|s| line_of(text, s.start)).unwrap_or(1),
        message: e.message().to_string(),
    }
}

struct Checker<'a> {
    name: &'a str,
    text: &'a str,
}

impl Checker<'_> {
    fn error(&self, span: Range<usize>, message: impl Into<String>) -> RulesError {
        RulesError {
            name: self.name.to_string(),
            line: line_of(self.text, span.start),
            message: message.into(),
        }
    }

    fn rules(&self, raw: Vec<Spanned<RawRule>>) -> Result<Rules, RulesError> {
        let rules = raw
            .into_iter()
            .enumerate()
            .map(|(i, r)| self.rule(i + 1, r))
            .collect::<Result<_, _>>()?;
        Ok(Rules { rules })
    }

    fn rule(&self, index: usize, raw: Spanned<RawRule>) -> Result<Rule, RulesError> {
        let span = raw.span();
        let raw = raw.into_inner();
        let when = self.when(raw.when)?;
        let stage = when.stage;
        let reply = raw.reply.map(|r| self.reply(r, stage)).transpose()?;
        let hangup = raw.hangup.map(|h| self.hangup(h)).transpose()?;
        let bounce = match raw.bounce {
            Some(b) if *b.get_ref() => {
                if !matches!(stage, Some(Stage::Rcpt | Stage::Dot)) {
                    return Err(self.error(
                        b.span(),
                        "bounce = true needs stage \"rcpt\" or \"dot\" (it accepts, then bounces)",
                    ));
                }
                if reply.is_some() {
                    return Err(self.error(
                        b.span(),
                        "bounce = true accepts the message: it cannot go with a reply",
                    ));
                }
                true
            }
            _ => false,
        };
        let rate = match raw.rate {
            Some(r) => {
                if reply.is_some() {
                    return Err(self.error(
                        r.span(),
                        "a rule with a rate answers with the rate's reply: move `reply` into `rate`",
                    ));
                }
                Some(self.rate(r.into_inner(), stage)?)
            }
            None => None,
        };
        let delay_ms = raw.delay_ms.unwrap_or(0);
        if delay_ms > MAX_DELAY_MS {
            return Err(self.error(span, format!("delay_ms is over a day ({delay_ms})")));
        }
        if reply.is_none() && rate.is_none() && hangup.is_none() && !bounce && delay_ms == 0 {
            return Err(self.error(
                span,
                "a rule needs something to do: reply, delay_ms, hangup, bounce or rate",
            ));
        }
        Ok(Rule {
            index,
            name: raw.name,
            line: line_of(self.text, span.start),
            when,
            reply,
            delay_ms,
            hangup,
            bounce,
            rate,
        })
    }

    fn when(&self, raw: Option<RawWhen>) -> Result<When, RulesError> {
        let Some(raw) = raw else {
            return Ok(When::default());
        };
        let stage = match raw.stage {
            Some(s) => Some(Stage::from_name(s.get_ref()).ok_or_else(|| {
                let names: Vec<&str> = Stage::NAMES.iter().map(|(n, _)| *n).collect();
                self.error(
                    s.span(),
                    format!("{:?} is not a stage ({})", s.get_ref(), names.join(", ")),
                )
            })?),
            None => None,
        };
        let client = raw.client.map(|c| self.client(c)).transpose()?;
        let sender = match raw.sender {
            Some(p) => {
                if matches!(stage, Some(s) if s < Stage::Mail || s == Stage::Quit) {
                    return Err(self.error(
                        p.span(),
                        "sender is known from stage \"mail\" to \"dot\" only",
                    ));
                }
                Some(self.pattern(p)?)
            }
            None => None,
        };
        let rcpt = match raw.rcpt {
            Some(p) => {
                if matches!(stage, Some(s) if s < Stage::Rcpt || s == Stage::Quit) {
                    return Err(self.error(
                        p.span(),
                        "rcpt is known from stage \"rcpt\" to \"dot\" only",
                    ));
                }
                Some(self.pattern(p)?)
            }
            None => None,
        };
        let nth = match raw.nth {
            Some(n) if *n.get_ref() == 0 => {
                return Err(self.error(n.span(), "nth counts from 1"));
            }
            n => n.map(Spanned::into_inner),
        };
        let size_over = match raw.size_over {
            Some(s) => {
                if !matches!(stage, None | Some(Stage::Mail | Stage::Dot)) {
                    return Err(self.error(
                        s.span(),
                        "size_over is known at stage \"mail\" (its SIZE=) and \"dot\" only",
                    ));
                }
                Some(s.into_inner())
            }
            None => None,
        };
        Ok(When {
            stage,
            client,
            user: raw.user,
            sender,
            rcpt,
            nth,
            size_over,
        })
    }

    fn client(&self, raw: Spanned<String>) -> Result<IpNet, RulesError> {
        let text = raw.get_ref().trim();
        text.parse::<IpNet>()
            .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
            .map_err(|_| {
                self.error(
                    raw.span(),
                    format!("{text:?} is not an address or a CIDR (192.0.2.7, 10.0.0.0/8, ::1)"),
                )
            })
    }

    fn pattern(&self, raw: Spanned<String>) -> Result<Pattern, RulesError> {
        Pattern::new(raw.get_ref())
            .map_err(|e| self.error(raw.span(), format!("a bad glob: {}", e.kind())))
    }

    fn hangup(&self, raw: Spanned<String>) -> Result<Hangup, RulesError> {
        match raw.get_ref().as_str() {
            "before-reply" => Ok(Hangup::BeforeReply),
            "after-reply" => Ok(Hangup::AfterReply),
            other => Err(self.error(
                raw.span(),
                format!("hangup is \"before-reply\" or \"after-reply\", not {other:?}"),
            )),
        }
    }

    /// A reply as the rule gives it: one line, `NNN text`, whose code the
    /// stage can take (every stage when none is given).
    fn reply(&self, raw: Spanned<String>, stage: Option<Stage>) -> Result<String, RulesError> {
        let text = raw.get_ref();
        let code = reply_code(text).map_err(|why| self.error(raw.span(), why))?;
        let fits = match stage {
            Some(s) => s.takes_reply(code),
            None => Stage::NAMES.iter().all(|(_, s)| s.takes_reply(code)),
        };
        if !fits {
            let at = stage.map_or("every stage (no stage given)".to_string(), |s| {
                format!("stage \"{}\"", s.name())
            });
            return Err(self.error(
                raw.span(),
                format!(
                    "a {code} does not fit {at}: {}",
                    match stage {
                        Some(Stage::Connect) => "a greeting is 220, 421 or 554",
                        Some(Stage::Quit) => "QUIT is answered 221",
                        Some(_) => "a rule refuses there with a 4xx or 5xx",
                        None => "only 421 fits everywhere; give a stage",
                    }
                ),
            ));
        }
        Ok(text.clone())
    }

    fn rate(&self, raw: RawRate, stage: Option<Stage>) -> Result<Rate, RulesError> {
        let max = *raw.max.get_ref();
        if max == 0 || max > u64::from(u32::MAX) {
            return Err(self.error(raw.max.span(), "rate's max is a count from 1"));
        }
        let per = *raw.per_seconds.get_ref();
        if per == 0 {
            return Err(self.error(raw.per_seconds.span(), "rate's per_seconds is from 1"));
        }
        let reply = match raw.reply {
            Some(r) => self.reply(r, stage)?,
            None => format!(
                "421 4.7.0 Error: too many from you (more than {max} in {per} s), try again later"
            ),
        };
        Ok(Rate {
            max: max as u32,
            per: Duration::from_secs(per),
            reply,
        })
    }
}

/// The code of a reply a rule gives: three digits, the first 2 to 5, then
/// a space and text, on one line of printable characters.
fn reply_code(text: &str) -> Result<u16, String> {
    let bad = |why: &str| format!("{text:?} is not an SMTP reply: {why}");
    if text.len() > MAX_REPLY {
        return Err(bad("longer than 512 octets"));
    }
    if text.chars().any(|c| c.is_control()) {
        return Err(bad("one line, without control characters"));
    }
    let b = text.as_bytes();
    if b.len() < 3 || !b[..3].iter().all(u8::is_ascii_digit) {
        return Err(bad(
            "it starts with a three-digit code (\"452 4.2.2 Mailbox full\")",
        ));
    }
    if !(b'2'..=b'5').contains(&b[0]) || b[1] > b'5' {
        return Err(bad("the code's first digit is 2 to 5, its second 0 to 5"));
    }
    if b.len() > 3 && b[3] != b' ' {
        return Err(bad("a space follows the code"));
    }
    Ok(text[..3].parse().unwrap_or(0))
}
