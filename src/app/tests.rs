use super::*;
use crate::proto::capabilities::Capabilities;

fn state() -> AppState {
    AppState::new(Start::fixed())
}

#[test]
fn tab_cycles_focus() {
    let mut s = state();
    for want in [
        Focus::Envelope,
        Focus::Composer,
        Focus::Transcript,
        Focus::Palette,
    ] {
        update(&mut s, Action::FocusNext);
        assert_eq!(s.focus, want);
    }
    update(&mut s, Action::FocusPrev);
    assert_eq!(s.focus, Focus::Transcript);
}

fn view(stage: Stage, caps: Option<Capabilities>, awaiting: bool) -> SessionView {
    let mut s =
        crate::proto::client::ClientSession::new(crate::proto::reply::ReplyLimits::default());
    // The suggestions come from the real session for that stage.
    let script: &[&[u8]] = match stage {
        Stage::Connected => &[],
        Stage::Greeted => &[b"220 hi\r\n"],
        _ => &[b"220 hi\r\n"],
    };
    for l in script {
        s.handle_input(std::time::Instant::now(), l);
    }
    let suggested = match stage {
        Stage::Ready => vec![
            Verb::Mail,
            Verb::StartTls,
            Verb::Auth,
            Verb::Vrfy,
            Verb::Expn,
            Verb::Ehlo,
            Verb::Rset,
            Verb::Noop,
            Verb::Help,
            Verb::Quit,
        ],
        Stage::Mail => vec![Verb::Rcpt, Verb::Rset, Verb::Noop, Verb::Quit],
        Stage::Rcpt => vec![Verb::Rcpt, Verb::Data, Verb::Rset, Verb::Noop, Verb::Quit],
        _ => s.suggested(),
    };
    SessionView {
        stage,
        caps,
        tls: false,
        auth: None,
        awaiting,
        suggested,
    }
}

fn caps(pipelining: bool) -> Capabilities {
    Capabilities {
        pipelining,
        auth: vec!["PLAIN".into(), "LOGIN".into()],
        starttls: true,
        ..Capabilities::default()
    }
}

fn status(s: &mut AppState, v: SessionView) -> Vec<Effect> {
    let id = s.session_id;
    update(
        s,
        Action::Session {
            id,
            msg: SessionMsg::Status(v),
        },
    )
}

fn raw(fx: &[Effect]) -> Vec<String> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Control {
                control: Control::Raw(l),
                ..
            } => Some(l.clone()),
            _ => None,
        })
        .collect()
}

fn connected() -> AppState {
    let mut s = state();
    let fx = update(&mut s, Action::Submit);
    assert!(
        matches!(fx.as_slice(), [Effect::Connect { id: 1, .. }]),
        "{fx:?}"
    );
    status(&mut s, view(Stage::Greeted, None, false));
    s
}

#[test]
fn the_classic_session_one_enter_at_a_time() {
    let mut s = connected();
    assert_eq!(s.items()[0].label, "EHLO client.example");
    assert_eq!(
        raw(&update(&mut s, Action::Submit)),
        ["EHLO client.example"]
    );
    status(&mut s, view(Stage::Ready, Some(caps(false)), false));
    assert_eq!(
        raw(&update(&mut s, Action::Submit)),
        ["MAIL FROM:<student@client.example>"]
    );
    status(&mut s, view(Stage::Mail, Some(caps(false)), false));
    assert_eq!(
        raw(&update(&mut s, Action::Submit)),
        ["RCPT TO:<alice@example.test>"]
    );
    status(&mut s, view(Stage::Rcpt, Some(caps(false)), false));
    assert_eq!(
        raw(&update(&mut s, Action::Submit)),
        ["RCPT TO:<bob@example.test>"]
    );
    status(&mut s, view(Stage::Rcpt, Some(caps(false)), false));
    // All recipients sent: DATA comes first.
    assert_eq!(s.items()[0].kind, ItemKind::Data);
    assert_eq!(raw(&update(&mut s, Action::Submit)), ["DATA"]);
    let fx = status(&mut s, view(Stage::Data, Some(caps(false)), false));
    match fx.as_slice() {
        [Effect::Control {
            control: Control::Content(bytes),
            ..
        }] => {
            let text = String::from_utf8(bytes.clone()).unwrap();
            assert!(text.starts_with("From: Student <student@client.example>\r\nTo: Alice <alice@example.test>\r\nSubject:"), "{text}");
            assert!(!text.contains("Cc:"), "empty fields are left out: {text}");
            assert!(text.contains("\r\n\r\nHello Alice,\r\n"), "{text}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn run_to_the_end_pipelines_when_offered() {
    let mut s = connected();
    status(&mut s, view(Stage::Ready, Some(caps(true)), false));
    let i = s
        .items()
        .iter()
        .position(|i| i.kind == ItemKind::RunTo(Goal::Delivered))
        .unwrap();
    s.palette_index = i;
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
        .items()
        .iter()
        .position(|i| i.kind == ItemKind::RunTo(Goal::Rcpt))
        .unwrap();
    s.palette_index = i;
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
    assert_eq!(s.goal, None);
}

fn reply_to(verb: Verb, text: &str) -> Event {
    let code = crate::proto::reply::ReplyCode::new(text[..3].parse().unwrap()).unwrap();
    Event::Reply {
        answers: Some(1),
        verb: Some(verb),
        reply: crate::proto::reply::Reply::new(code, &text[4..]),
    }
}

fn run_to(s: &mut AppState, goal: Goal) -> Vec<Effect> {
    s.palette_index = s
        .items()
        .iter()
        .position(|i| i.kind == ItemKind::RunTo(goal))
        .unwrap();
    update(s, Action::Submit)
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
    assert_eq!(s.goal, None);
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
        .items()
        .iter()
        .any(|i| matches!(i.kind, ItemKind::RunTo(_))));
}

#[test]
fn raw_line_is_sent_exactly() {
    let mut s = connected();
    update(&mut s, Action::RawLine);
    for c in "HELLO wrong".chars() {
        update(
            &mut s,
            Action::Input(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
        );
    }
    assert_eq!(raw(&update(&mut s, Action::Submit)), ["HELLO wrong"]);
    assert!(s.prompt.is_none());
}

#[test]
fn edit_puts_the_command_in_the_raw_line() {
    let mut s = connected();
    update(&mut s, Action::Edit);
    assert_eq!(s.prompt, Some(Prompt::Raw));
    assert_eq!(s.input.lines(), ["EHLO client.example"]);
    update(
        &mut s,
        Action::Input(KeyEvent::new(KeyCode::Char('x'), KeyModifiers::NONE)),
    );
    assert_eq!(
        raw(&update(&mut s, Action::Submit)),
        ["EHLO client.examplex"]
    );
}

#[test]
fn auth_asks_user_then_password_and_masks_it() {
    let mut s = connected();
    status(&mut s, view(Stage::Ready, Some(caps(false)), false));
    let i = s
        .items()
        .iter()
        .position(|i| i.kind == ItemKind::Auth(Mechanism::Login))
        .unwrap();
    s.palette_index = i;
    update(&mut s, Action::Submit);
    assert_eq!(s.prompt, Some(Prompt::AuthUser(Mechanism::Login)));
    update(&mut s, Action::Submit);
    assert!(matches!(
        s.prompt,
        Some(Prompt::AuthPassword(Mechanism::Login, _))
    ));
    assert_eq!(s.input.mask_char(), Some('•'));
    for c in "wonderland".chars() {
        update(
            &mut s,
            Action::Input(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
        );
    }
    let fx = update(&mut s, Action::Submit);
    match fx.as_slice() {
        [Effect::Control {
            control: Control::Auth(Mechanism::Login, c),
            ..
        }] => {
            assert_eq!(c.user, "alice@example.test");
            assert_eq!(c.secret.expose(), "wonderland");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn filter_narrows_the_palette() {
    let mut s = connected();
    for c in "qui".chars() {
        update(
            &mut s,
            Action::Input(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
        );
    }
    let labels: Vec<String> = s.items().iter().map(|i| i.label.clone()).collect();
    assert_eq!(labels, ["QUIT", "Quit"]);
    assert_eq!(raw(&update(&mut s, Action::Submit)), ["QUIT"]);
    assert!(s.filter.is_empty());
}

#[test]
fn envelope_and_headers_copy_both_ways_and_say_so() {
    let mut s = state();
    s.headers = field("From: Boss <ceo@example.test>\nTo: a@example.test, B <b@example.test>\nCc: c@example.test\nBcc: hidden@example.test\nSubject: x");
    let i = s
        .items()
        .iter()
        .position(|i| i.kind == ItemKind::EnvelopeFromHeaders)
        .unwrap();
    s.palette_index = i;
    update(&mut s, Action::Submit);
    assert_eq!(s.envelope_sender(), "ceo@example.test");
    assert_eq!(
        s.envelope_rcpts(),
        [
            "a@example.test",
            "b@example.test",
            "c@example.test",
            "hidden@example.test"
        ]
    );
    assert!(s
        .notice
        .as_deref()
        .unwrap_or_default()
        .contains("envelope set from the headers"));
    s.mail_from = field("bounce@example.test");
    s.rcpts = field("x@example.test");
    let i = s
        .items()
        .iter()
        .position(|i| i.kind == ItemKind::HeadersFromEnvelope)
        .unwrap();
    s.palette_index = i;
    update(&mut s, Action::Submit);
    assert_eq!(s.headers.lines()[0], "From: <bounce@example.test>");
    assert_eq!(s.headers.lines()[1], "To: <x@example.test>");
    assert_eq!(
        s.headers.lines()[2],
        "Cc: c@example.test",
        "other fields stay"
    );
}

fn event(s: &mut AppState, e: Event) {
    let id = s.session_id;
    update(
        s,
        Action::Session {
            id,
            msg: SessionMsg::Event(Timed {
                at: Duration::from_millis(5),
                latency: None,
                event: e,
            }),
        },
    );
}

#[test]
fn scrolled_up_stays_put_and_g_follows_again() {
    let mut s = connected();
    s.page = 5;
    for i in 0..50 {
        event(&mut s, Event::Info(format!("line {i}")));
    }
    s.focus = Focus::Transcript;
    update(&mut s, Action::PageUp);
    assert_eq!(s.scroll, 5);
    let selected = s.selected;
    event(&mut s, Event::Info("new".into()));
    assert_eq!(s.scroll, 6, "new lines do not move the view");
    assert_eq!(s.selected, selected);
    update(&mut s, Action::Bottom);
    assert_eq!(s.scroll, 0);
    update(&mut s, Action::Scroll(-1000));
    assert_eq!(s.scroll, s.lines.len() - 1, "clamped at the oldest line");
}

#[test]
fn stale_session_messages_are_dropped() {
    let mut s = connected();
    let old = s.session_id;
    update(&mut s, Action::Submit); // EHLO goes to session 1
    let i = s
        .items()
        .iter()
        .position(|i| i.kind == ItemKind::Disconnect);
    assert!(i.is_some());
    // Reconnect: a new session id.
    update(
        &mut s,
        Action::Session {
            id: old,
            msg: SessionMsg::Ended("gone".into()),
        },
    );
    let i = s
        .items()
        .iter()
        .position(|i| i.kind == ItemKind::Connect)
        .unwrap();
    s.palette_index = i;
    update(&mut s, Action::Submit);
    assert_eq!(s.session_id, old + 1);
    let lines = s.lines.len();
    update(
        &mut s,
        Action::Session {
            id: old,
            msg: SessionMsg::Event(Timed {
                at: Duration::ZERO,
                latency: None,
                event: Event::Info("late".into()),
            }),
        },
    );
    assert_eq!(
        s.lines.len(),
        lines,
        "a message of the old session changes nothing"
    );
}

#[test]
fn quit_asks_while_connected() {
    let mut s = connected();
    assert!(update(&mut s, Action::Quit).is_empty());
    assert!(s.confirm_quit);
    // The server talking meanwhile does not dismiss the question.
    let id = s.session_id;
    update(
        &mut s,
        Action::Session {
            id,
            msg: SessionMsg::Event(Timed {
                at: Duration::ZERO,
                latency: None,
                event: Event::Info("the server goes on".into()),
            }),
        },
    );
    assert!(s.confirm_quit, "a session event dismissed the question");
    assert!(
        update(&mut s, Action::Cancel).is_empty(),
        "any other key stays"
    );
    assert!(!s.confirm_quit);
    update(&mut s, Action::Quit);
    assert_eq!(
        update(
            &mut s,
            Action::Input(KeyEvent::new(KeyCode::Char('y'), KeyModifiers::NONE))
        ),
        [Effect::Quit]
    );
    let mut s = state();
    assert_eq!(
        update(&mut s, Action::Quit),
        [Effect::Quit],
        "nothing open: no question"
    );
}

#[test]
fn secrets_are_masked_until_revealed() {
    let mut s = connected();
    event(
        &mut s,
        Event::Sent {
            seq: 3,
            text: "AUTH PLAIN ********".into(),
            revealed: Some("AUTH PLAIN AGEAYg==".into()),
        },
    );
    let line = s.lines.last().unwrap().clone();
    assert_eq!(shown(&line, s.reveal), "AUTH PLAIN ********");
    assert!(!transcript_text(&s).contains("AGEAYg"));
    update(&mut s, Action::RevealSecrets);
    assert_eq!(shown(&line, s.reveal), "AUTH PLAIN AGEAYg==");
    assert!(transcript_text(&s).contains("AGEAYg"));
}

#[test]
fn paste_goes_to_the_focused_field_and_one_line_to_a_prompt() {
    let mut s = connected();
    update(&mut s, Action::RawLine);
    update(
        &mut s,
        Action::Paste("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>".into()),
    );
    assert_eq!(
        s.input.lines(),
        ["MAIL FROM:<a@b>"],
        "a pasted line break never sends a second command"
    );
    update(&mut s, Action::Cancel);
    s.focus = Focus::Envelope;
    s.envelope_field = 1;
    s.rcpts = field("");
    update(
        &mut s,
        Action::Paste("x@example.test\ny@example.test".into()),
    );
    assert_eq!(s.envelope_rcpts(), ["x@example.test", "y@example.test"]);
}

#[test]
fn copy_takes_the_selected_line_or_everything() {
    let mut s = connected();
    for i in 0..5 {
        event(&mut s, Event::Info(format!("line {i}")));
    }
    let fx = update(&mut s, Action::CopyTranscript);
    assert!(matches!(&fx[..], [Effect::Copy(t)] if t.contains("line 0") && t.contains("line 4")));
    s.focus = Focus::Transcript;
    update(&mut s, Action::Up);
    update(&mut s, Action::Up);
    let fx = update(&mut s, Action::CopyTranscript);
    assert_eq!(fx, [Effect::Copy("line 2".into())]);
}

#[test]
fn the_transcript_is_bounded() {
    let mut s = connected();
    let template = s.lines[0].clone();
    s.lines = vec![template; MAX_LINES + 10_000];
    s.selected = Some(20_000);
    event(&mut s, Event::Info("one more".into()));
    assert_eq!(s.lines.len(), MAX_LINES);
    assert_eq!(s.dropped, 10_001);
    assert_eq!(s.selected, Some(20_000 - 10_001));
    assert_eq!(s.lines.last().unwrap().text, "one more");
}

#[test]
fn findings_follow_every_edit() {
    let mut s = state();
    let tags = |s: &AppState| s.findings().iter().map(|f| f.tag).collect::<Vec<_>>();
    // The default message: bob is in the envelope but not in the headers.
    assert!(tags(&s).contains(&"blind-copy"));
    s.focus = Focus::Envelope;
    s.envelope_field = 1;
    s.rcpts = field("alice@example.test");
    assert!(!tags(&s).contains(&"blind-copy"));
    s.focus = Focus::Composer;
    s.headers = field("From: ceo@bank.example\nTo: alice@example.test\nDate: x\nMessage-ID: <1@x>");
    assert!(tags(&s).contains(&"from-domain"));
    update(&mut s, Action::ToggleAnalysis);
    assert_eq!(s.lower, Lower::Analysis);
    update(&mut s, Action::ToggleServerSide);
    assert_eq!(s.lower, Lower::ServerSide);
    update(&mut s, Action::ToggleServerSide);
    assert_eq!(s.lower, Lower::Message);
}

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
