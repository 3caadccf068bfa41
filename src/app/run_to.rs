//! "Run to …": sends what is missing for a goal (EHLO, MAIL FROM, the
//! RCPTs, DATA) whenever nothing is awaited, pipelined when offered, and
//! stops at a refusal. Kept apart so that it can give way to the protocol
//! core's planned session.

use super::envelope::addresses_in;
use super::session::Goal;
use super::update::control;
use super::{AppState, Effect};
use crate::proto::client::{Event, Stage};
use crate::proto::command::Verb;
use crate::transport::Control;

/// Ends a "Run to" early, saying why.
fn stop_goal(state: &mut AppState, why: &str) {
    state.session.goal = None;
    state.session.goal_last = None;
    state.notice = Some(format!("Run to stopped: {why}"));
}

/// A "Run to" stops at a refusal or at a reply it cannot read. A refused
/// recipient does not stop it while others may be accepted.
pub(super) fn stop_goal_at(state: &mut AppState, event: &Event) {
    match event {
        Event::BadReply { error, .. } => {
            stop_goal(state, &format!("a reply could not be read ({error})"));
        }
        Event::Reply {
            verb,
            reply,
            answers,
        } if !reply.code.is_positive() && *verb != Some(Verb::Rcpt) => {
            let what = match (verb, answers) {
                (Some(v), _) => v.name(),
                (None, Some(0)) => "the greeting",
                (None, _) => "a reply that answers no command",
            };
            stop_goal(
                state,
                &format!("{what} was answered {}; see the transcript", reply.code),
            );
        }
        _ => {}
    }
}

/// "Run to": sends what is missing for the goal whenever nothing is awaited.
pub(super) fn advance_goal(state: &mut AppState, fx: &mut Vec<Effect>) {
    let Some(goal) = state.session.goal else {
        return;
    };
    let Some(s) = state.session.view().cloned() else {
        return;
    };
    if s.awaiting || s.stage == Stage::Closed {
        return;
    }
    let caps = s.caps.clone().unwrap_or_default();
    let unsent = state.session.unsent(state.envelope.rcpts());
    let next = match s.stage {
        Stage::Greeted => format!("EHLO {}", state.session.ehlo_name),
        Stage::Ready if goal >= Goal::Mail => format!("MAIL FROM:<{}>", state.envelope.sender()),
        Stage::Mail | Stage::Rcpt if goal >= Goal::Rcpt && !unsent.is_empty() => {
            format!("RCPT TO:<{}>", unsent[0])
        }
        Stage::Rcpt if goal == Goal::Delivered => "DATA".into(),
        Stage::Mail if goal >= Goal::Rcpt => {
            return stop_goal(state, "no recipient was accepted, so DATA was not sent");
        }
        Stage::Connected => {
            return stop_goal(state, "the server has not greeted (no 220 was read)");
        }
        _ => {
            state.session.goal = None;
            state.session.goal_last = None;
            return;
        }
    };
    // A reply that did not move the session on (a positive code the
    // command cannot get, say) must not make the run send it again.
    if state.session.goal_last.as_ref() == Some(&(s.stage, next.clone())) {
        let why = format!("the reply to {next} did not move the session on");
        return stop_goal(state, &why);
    }
    state.session.goal_last = Some((s.stage, next.clone()));
    match s.stage {
        Stage::Ready if caps.pipelining && goal >= Goal::Rcpt => {
            // RFC 2920: MAIL, the RCPTs and DATA may go in one write.
            send_line(state, next, fx);
            for r in &unsent {
                send_line(state, format!("RCPT TO:<{r}>"), fx);
            }
            if goal == Goal::Delivered && !unsent.is_empty() {
                state.session.content_on_354 = true;
                send_line(state, "DATA".into(), fx);
                state.session.goal = None;
            }
        }
        Stage::Rcpt if next == "DATA" => {
            state.session.content_on_354 = true;
            send_line(state, next, fx);
            state.session.goal = None;
        }
        _ => send_line(state, next, fx),
    }
}

pub(super) fn send_line(state: &mut AppState, line: String, fx: &mut Vec<Effect>) {
    let verb = Verb::of_line(&line);
    if verb == Verb::Mail || verb == Verb::Rset {
        state.session.rcpts_sent.clear();
    }
    if verb == Verb::Rcpt {
        if let Some(a) = addresses_in(line.split_once(':').map_or("", |x| x.1)).first() {
            state.session.rcpts_sent.push(a.clone());
        }
    }
    control(state, Control::Raw(line), fx);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::palette::ItemKind;
    use crate::app::test_support::*;
    use crate::app::{update, Action};

    #[test]
    fn run_to_the_end_pipelines_when_offered() {
        let mut s = connected();
        status(&mut s, view(Stage::Ready, Some(caps(true)), false));
        let i = s
            .palette
            .items()
            .iter()
            .position(|i| i.kind == ItemKind::RunTo(Goal::Delivered))
            .unwrap();
        s.palette.index = i;
        let fx = update(&mut s, Action::Submit);
        assert_eq!(
            raw(&fx),
            [
                "MAIL FROM:<student@client.example>",
                "RCPT TO:<alice@example.test>",
                "RCPT TO:<bob@example.test>",
                "DATA"
            ]
        );
        let fx = status(&mut s, view(Stage::Data, Some(caps(true)), false));
        assert!(matches!(
            fx.as_slice(),
            [Effect::Control {
                control: Control::Content(_),
                ..
            }]
        ));
    }

    #[test]
    fn run_to_rcpt_without_pipelining_goes_step_by_step() {
        let mut s = connected();
        let i = s
            .palette
            .items()
            .iter()
            .position(|i| i.kind == ItemKind::RunTo(Goal::Rcpt))
            .unwrap();
        s.palette.index = i;
        assert_eq!(
            raw(&update(&mut s, Action::Submit)),
            ["EHLO client.example"]
        );
        assert_eq!(
            raw(&status(
                &mut s,
                view(Stage::Ready, Some(caps(false)), false)
            )),
            ["MAIL FROM:<student@client.example>"]
        );
        assert!(
            raw(&status(&mut s, view(Stage::Ready, Some(caps(false)), true))).is_empty(),
            "waits while a reply is due"
        );
        assert_eq!(
            raw(&status(&mut s, view(Stage::Mail, Some(caps(false)), false))),
            ["RCPT TO:<alice@example.test>"]
        );
        assert_eq!(
            raw(&status(&mut s, view(Stage::Rcpt, Some(caps(false)), false))),
            ["RCPT TO:<bob@example.test>"]
        );
        assert!(raw(&status(&mut s, view(Stage::Rcpt, Some(caps(false)), false))).is_empty());
        assert_eq!(s.session.goal, None);
    }

    #[test]
    fn run_to_stops_at_a_refusal_instead_of_sending_again() {
        let mut s = connected();
        status(&mut s, view(Stage::Ready, Some(caps(false)), false));
        assert_eq!(
            raw(&run_to(&mut s, Goal::Delivered)),
            ["MAIL FROM:<student@client.example>"]
        );
        event(
            &mut s,
            reply_to(Verb::Mail, "530 5.7.0 Authentication required"),
        );
        let fx = status(&mut s, view(Stage::Ready, Some(caps(false)), false));
        assert!(raw(&fx).is_empty(), "MAIL sent again: {fx:?}");
        assert_eq!(s.session.goal, None);
        assert_eq!(
            s.notice.as_deref(),
            Some("Run to stopped: MAIL FROM was answered 530; see the transcript")
        );
    }

    #[test]
    fn run_to_stops_when_a_reply_does_not_move_the_session_on() {
        let mut s = connected();
        status(&mut s, view(Stage::Ready, Some(caps(false)), false));
        run_to(&mut s, Goal::Rcpt);
        // A positive reply MAIL cannot get: the stage stays where it was.
        event(&mut s, reply_to(Verb::Mail, "354 what"));
        let fx = status(&mut s, view(Stage::Ready, Some(caps(false)), false));
        assert!(raw(&fx).is_empty(), "MAIL sent again: {fx:?}");
        assert_eq!(
            s.notice.as_deref(),
            Some("Run to stopped: the reply to MAIL FROM:<student@client.example> did not move the session on")
        );
    }

    #[test]
    fn run_to_stops_at_a_reply_it_cannot_read() {
        let mut s = connected();
        run_to(&mut s, Goal::Mail);
        event(
            &mut s,
            Event::BadReply {
                answers: Some(1),
                error: crate::proto::reply::ReplyError::TooManyLines { limit: 1000 },
            },
        );
        assert!(raw(&status(&mut s, view(Stage::Greeted, None, false))).is_empty());
        assert!(
            s.notice
                .as_deref()
                .is_some_and(|n| n.starts_with("Run to stopped: a reply could not be read")),
            "{:?}",
            s.notice
        );
    }

    #[test]
    fn run_to_says_when_no_recipient_was_accepted() {
        let mut s = connected();
        status(&mut s, view(Stage::Ready, Some(caps(false)), false));
        run_to(&mut s, Goal::Delivered);
        status(&mut s, view(Stage::Mail, Some(caps(false)), false));
        event(&mut s, reply_to(Verb::Rcpt, "550 5.1.1 no such user"));
        let fx = status(&mut s, view(Stage::Mail, Some(caps(false)), false));
        assert_eq!(
            raw(&fx),
            ["RCPT TO:<bob@example.test>"],
            "a refused RCPT does not stop it"
        );
        event(&mut s, reply_to(Verb::Rcpt, "550 5.1.1 no such user"));
        let fx = status(&mut s, view(Stage::Mail, Some(caps(false)), false));
        assert!(raw(&fx).is_empty(), "{fx:?}");
        assert_eq!(
            s.notice.as_deref(),
            Some("Run to stopped: no recipient was accepted, so DATA was not sent")
        );
    }

    #[test]
    fn run_to_without_a_greeting_says_so() {
        let mut s = state();
        update(&mut s, Action::Submit);
        // Chosen while the greeting is awaited...
        status(&mut s, view(Stage::Connected, None, true));
        assert!(raw(&run_to(&mut s, Goal::Delivered)).is_empty());
        // ...and the greeting could not be read: nothing awaited, no 220.
        let fx = status(&mut s, view(Stage::Connected, None, false));
        assert!(raw(&fx).is_empty());
        assert_eq!(
            s.notice.as_deref(),
            Some("Run to stopped: the server has not greeted (no 220 was read)")
        );
        // And it is no longer offered.
        assert!(!s
            .palette
            .items()
            .iter()
            .any(|i| matches!(i.kind, ItemKind::RunTo(_))));
    }
}
