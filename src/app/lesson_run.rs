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
    use crate::app::test_support::*;
    use crate::app::{update, Action};
    use crate::proto::client::Event;

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
        assert!(matches!(&fx[1], Effect::Connect { .. }), "{fx:?}");
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
}
