//! A lesson under way: which step is current, setting the scene when one
//! starts, and moving on when the transcript shows a step done.

use super::lesson::{self, Lesson};
use super::update::{connect, control};
use super::{field, AppState, Effect};
use crate::transport::Control;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LessonRun {
    pub lesson: Lesson,
    /// The step to do now; `steps.len()` when all are done.
    pub step: usize,
    /// Transcript lines before this (absolute) index belong to earlier steps.
    pub from: u64,
}

impl LessonRun {
    pub fn done(&self) -> bool {
        self.step >= self.lesson.steps.len()
    }

    /// What to show: the current instruction, or that all is done.
    pub fn say(&self) -> String {
        match self.lesson.steps.get(self.step) {
            Some(s) => s.say.clone(),
            None => format!(
                "Lesson complete: {}. Choose another in the palette, or go on freely.",
                self.lesson.title
            ),
        }
    }
}

/// Sets the lesson's envelope, message and server policy, and connects
/// afresh to the built-in server.
pub(super) fn start(state: &mut AppState, l: Lesson, fx: &mut Vec<Effect>) {
    if let Some(e) = &l.envelope {
        state.envelope.mail_from = field(&e.mail_from);
        state.envelope.rcpts = field(&e.rcpts.join("\n"));
    }
    if let Some(m) = &l.message {
        let mut headers = m.headers.clone();
        // The lesson's fields, with today's Date and a fresh Message-ID kept.
        for name in ["Date:", "Message-ID:"] {
            let given = headers.iter().any(|h| {
                h.to_ascii_lowercase()
                    .starts_with(&name.to_ascii_lowercase())
            });
            let current = state
                .message
                .headers
                .lines()
                .iter()
                .find(|h| h.starts_with(name))
                .cloned();
            if let (false, Some(line)) = (given, current) {
                headers.push(line);
            }
        }
        state.message.headers = field(&headers.join("\n"));
        state.message.body = field(&m.body);
    }
    fx.push(Effect::SetPolicy(Box::new(l.policy())));
    fx.push(Effect::SetRules(Box::new(l.rules.clone())));
    state.notice = Some(format!("lesson: {}", l.title));
    state.lesson = Some(LessonRun {
        lesson: l,
        step: 0,
        from: state.transcript.lines.next_index(),
    });
    // A fresh session, with the lesson's policy.
    if state.session.target.server.is_none() {
        if state.session.is_open() {
            control(state, Control::Close, fx);
        }
        connect(state, fx);
    }
}

/// Moves the lesson on when the transcript shows the current step done.
pub(super) fn check(state: &mut AppState) {
    let Some(run) = state.lesson.as_mut() else {
        return;
    };
    let lines = &state.transcript.lines;
    while let Some(step) = run.lesson.steps.get(run.step) {
        if !lesson::satisfied(&step.expect, lines.said_since(run.from)) {
            break;
        }
        run.step += 1;
        run.from = lines.next_index();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::auth::{judge, DnsSource, Inputs, Method, Outcome, Zone};
    use crate::app::field;
    use crate::app::test_support::*;
    use crate::app::{update, Action};
    use crate::proto::client::Event;
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn a_lesson_sets_the_scene_and_follows_the_transcript() {
        let mut s = state();
        let (name, text) = lesson::builtin()
            .into_iter()
            .find(|(n, _)| *n == "greylisting")
            .unwrap();
        let l = lesson::Lesson::parse(name, text).unwrap();
        let fx = update(&mut s, Action::StartLesson(Box::new(l)));
        assert!(
            matches!(&fx[0], Effect::SetPolicy(p) if p.greylist_secs == Some(10)),
            "{fx:?}"
        );
        assert!(
            matches!(&fx[1], Effect::SetRules(r) if r.is_empty()),
            "{fx:?}"
        );
        assert!(matches!(&fx[2], Effect::Connect { .. }), "{fx:?}");
        assert_eq!(s.lesson.as_ref().unwrap().step, 0);
        let reply = |answers: u64, code: u16| Event::Reply {
            answers: Some(answers),
            verb: None,
            reply: crate::proto::reply::Reply::new(
                crate::proto::reply::ReplyCode::new(code).unwrap(),
                "x",
            ),
        };
        event(
            &mut s,
            Event::Sent {
                seq: 3,
                text: "RCPT TO:<alice@example.test>".into(),
                revealed: None,
            },
        );
        event(&mut s, reply(3, 450));
        assert_eq!(
            s.lesson.as_ref().unwrap().step,
            1,
            "450 to RCPT: the first step is done"
        );
        event(
            &mut s,
            Event::Sent {
                seq: 6,
                text: "RCPT TO:<alice@example.test>".into(),
                revealed: None,
            },
        );
        event(&mut s, reply(6, 450));
        assert_eq!(
            s.lesson.as_ref().unwrap().step,
            1,
            "a second 450 is not the retry accepted"
        );
        event(
            &mut s,
            Event::Sent {
                seq: 9,
                text: "RCPT TO:<alice@example.test>".into(),
                revealed: None,
            },
        );
        event(&mut s, reply(9, 250));
        assert_eq!(s.lesson.as_ref().unwrap().step, 2);
        event(
            &mut s,
            Event::Sent {
                seq: 12,
                text: "QUIT".into(),
                revealed: None,
            },
        );
        assert!(s.lesson.as_ref().unwrap().done());
    }

    fn reply(answers: u64, code: u16) -> Event {
        Event::Reply {
            answers: Some(answers),
            verb: None,
            reply: crate::proto::reply::Reply::new(
                crate::proto::reply::ReplyCode::new(code).unwrap(),
                "x",
            ),
        }
    }

    fn builtin(name: &str) -> Lesson {
        let (_, l) = lesson::builtin_lessons()
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("{name} is built in"));
        l.clone()
    }

    /// A fresh state with the built-in lesson `name` started.
    fn started(name: &str) -> AppState {
        let mut s = state();
        update(&mut s, Action::StartLesson(Box::new(builtin(name))));
        s
    }

    #[test]
    fn every_step_of_every_builtin_lesson_is_reachable() {
        for (name, l) in lesson::builtin_lessons() {
            let mut s = started(name);
            for (i, step) in l.steps.iter().enumerate() {
                // What the step asks for, said once: each step needs its own line.
                let seq = 100 + i as u64;
                let text = step.expect.sent.clone().unwrap_or_else(|| "NOOP".into());
                event(
                    &mut s,
                    Event::Sent {
                        seq,
                        text,
                        revealed: None,
                    },
                );
                if let Some(code) = step.expect.reply {
                    event(&mut s, reply(seq, code));
                }
                let run = s.lesson.as_ref().unwrap();
                assert_eq!(run.step, i + 1, "{name}: step {} done, and only it", i + 1);
            }
            assert!(s.lesson.as_ref().unwrap().done(), "{name}");
        }
    }

    /// The verdicts on what the workbench would send now, judged from the
    /// demo zone from 127.0.0.1, as the built-in server judges it.
    fn judged(s: &AppState) -> Vec<(Method, Outcome, String)> {
        let message = s.message.bytes();
        let mail_from = s.envelope.sender();
        let inputs = Inputs {
            message: &message,
            mail_from: &mail_from,
            helo: &s.session.ehlo_name,
            client_ip: [127, 0, 0, 1].into(),
            receiver: "demo.example.test",
        };
        let dns = DnsSource::Zone(Arc::new(Zone::demo().unwrap()));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(judge(&inputs, &dns, Duration::from_secs(5)))
            .verdicts
            .into_iter()
            .map(|v| (v.method, v.result, v.domain))
            .collect()
    }

    fn verdict(s: &AppState, method: Method) -> (Outcome, String) {
        judged(s)
            .into_iter()
            .find(|(m, _, _)| *m == method)
            .map(|(_, o, d)| (o, d))
            .unwrap_or_else(|| panic!("no {method:?} verdict"))
    }

    /// The address in a step's `MAIL FROM:<…>` check.
    fn mail_from_of(step: &lesson::Step) -> String {
        let sent = step.expect.sent.as_deref().unwrap();
        let addr = sent.strip_prefix("MAIL FROM:<").unwrap();
        addr.strip_suffix('>').unwrap().to_string()
    }

    fn replace_in(
        t: &tui_textarea::TextArea<'static>,
        from: &str,
        to: &str,
    ) -> tui_textarea::TextArea<'static> {
        let text = t.lines().join("\n");
        assert!(text.contains(from), "{from:?} in {text}");
        field(&text.replacen(from, to, 1))
    }

    #[test]
    fn the_spf_lesson_passes_then_fails_by_mail_from_alone() {
        let mut s = started("spf-judges-the-envelope");
        let from_before = s.message.headers.lines().to_vec();
        assert_eq!(
            verdict(&s, Method::Spf),
            (Outcome::Pass, "client.example".into())
        );
        let l = builtin("spf-judges-the-envelope");
        let second = mail_from_of(&l.steps[2]);
        assert_eq!(second, "student@parked.example.test");
        s.envelope.mail_from = field(&second);
        assert_eq!(
            verdict(&s, Method::Spf),
            (Outcome::Fail, "parked.example.test".into())
        );
        assert_eq!(
            s.message.headers.lines(),
            from_before,
            "From: never changed"
        );
    }

    #[test]
    fn the_dmarc_lesson_fails_alignment_then_a_look_alike_passes_everything() {
        let mut s = started("dmarc-judges-from");
        assert_eq!(
            verdict(&s, Method::Spf),
            (Outcome::Pass, "client.example".into())
        );
        assert_eq!(
            verdict(&s, Method::Dmarc),
            (Outcome::Fail, "example.test".into())
        );
        // The step's edit: a digit 1 for the l, then Envelope ← headers.
        s.message.headers = replace_in(&s.message.headers, "ceo@example.test", "ceo@examp1e.test");
        s.envelope.set_from_headers(&s.message);
        let l = builtin("dmarc-judges-from");
        assert_eq!(s.envelope.sender(), mail_from_of(&l.steps[2]));
        assert_eq!(s.envelope.rcpts(), ["alice@example.test"]);
        assert_eq!(
            verdict(&s, Method::Spf),
            (Outcome::Pass, "examp1e.test".into())
        );
        assert_eq!(verdict(&s, Method::Dmarc).0, Outcome::None);
        let from = &s.message.headers.lines()[0];
        assert_eq!(from, "From: Example Bank <ceo@examp1e.test>");
    }

    #[test]
    fn the_dkim_lesson_verifies_until_one_byte_of_the_body_changes() {
        let mut s = started("dkim-one-byte");
        assert_eq!(
            verdict(&s, Method::Dkim),
            (Outcome::Pass, "client.example".into())
        );
        let l = builtin("dkim-one-byte");
        let changed = l.steps[2].expect.sent.as_deref().unwrap();
        let before = s.message.body.lines()[0].clone();
        assert_eq!(
            before
                .bytes()
                .zip(changed.bytes())
                .filter(|(a, b)| a != b)
                .count(),
            1,
            "one byte: {before} against {changed}"
        );
        s.message.body = field(changed);
        assert_eq!(verdict(&s, Method::Dkim).0, Outcome::Fail);
    }
}
