use super::*;
use crate::app::test_support::*;
use crate::app::EnvelopeField;
use crate::proto::auth::Mechanism;
use crate::proto::client::{Event, Goal, RunEvent, Stage};
use crate::transport::Timed;
use std::time::Duration;

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

#[test]
fn the_classic_session_one_enter_at_a_time() {
    let mut s = connected();
    assert_eq!(s.palette.items()[0].label, "EHLO client.example");
    assert_eq!(
        sent(&update(&mut s, Action::Submit)),
        ["EHLO client.example"]
    );
    status(&mut s, view(Stage::Ready, Some(caps(false)), false));
    assert_eq!(
        sent(&update(&mut s, Action::Submit)),
        ["MAIL FROM:<student@client.example>"]
    );
    status(&mut s, view(Stage::Mail, Some(caps(false)), false));
    assert_eq!(
        sent(&update(&mut s, Action::Submit)),
        ["RCPT TO:<alice@example.test>"]
    );
    // The session counts what was sent; the palette offers the next one.
    status(
        &mut s,
        view_sent(Stage::Rcpt, Some(caps(false)), &["alice@example.test"]),
    );
    assert_eq!(
        sent(&update(&mut s, Action::Submit)),
        ["RCPT TO:<bob@example.test>"]
    );
    let both = ["alice@example.test", "bob@example.test"];
    status(&mut s, view_sent(Stage::Rcpt, Some(caps(false)), &both));
    // All recipients sent: DATA comes first, and hands the message to the
    // session, which sends it on 354; it adds no recipient.
    assert_eq!(s.palette.items()[0].kind, ItemKind::Data);
    let fx = update(&mut s, Action::Submit);
    let (goal, t) = run_of(&fx).expect("DATA is a run to the end");
    assert_eq!(goal, Goal::Delivered);
    assert!(t.rcpts.is_empty(), "{t:?}");
    let text = String::from_utf8(t.content.to_vec()).unwrap();
    assert!(
        text.starts_with(
            "From: Student <student@client.example>\r\nTo: Alice <alice@example.test>\r\nSubject:"
        ),
        "{text}"
    );
    assert!(!text.contains("Cc:"), "empty fields are left out: {text}");
    assert!(text.contains("\r\n\r\nHello Alice,\r\n"), "{text}");
}

#[test]
fn commands_the_envelope_cannot_make_open_the_raw_line() {
    let mut s = connected();
    status(&mut s, view(Stage::Ready, Some(caps(false)), false));
    s.envelope.mail_from = field("Student <student@client.example>");
    s.refresh();
    let first = &s.palette.items()[0];
    assert_eq!(
        first.kind,
        ItemKind::Draft("MAIL FROM:<Student <student@client.example>>".into())
    );
    assert!(first.hint.contains("cannot be sent as it is"), "{first:?}");
    assert!(sent(&update(&mut s, Action::Submit)).is_empty());
    assert_eq!(s.palette.prompt, Some(Prompt::Raw));
    assert_eq!(
        s.palette.input.lines(),
        ["MAIL FROM:<Student <student@client.example>>"]
    );
    // A run cannot go either, and says why.
    update(&mut s, Action::Cancel);
    let fx = run_to(&mut s, Goal::Mail);
    assert!(run_of(&fx).is_none());
    assert!(
        s.notice
            .as_deref()
            .is_some_and(|n| n.starts_with("the envelope cannot be sent as it is")),
        "{:?}",
        s.notice
    );
}

#[test]
fn data_needs_no_valid_sender_since_it_sends_no_mail() {
    let mut s = connected();
    let both = ["alice@example.test", "bob@example.test"];
    status(&mut s, view_sent(Stage::Rcpt, Some(caps(false)), &both));
    // MAIL went by hand as typed; the field still holds a display name.
    s.envelope.mail_from = field("Boss <ceo@example.test>");
    s.refresh();
    assert_eq!(s.palette.items()[0].kind, ItemKind::Data);
    let (goal, t) = run_of(&update(&mut s, Action::Submit)).expect("DATA goes");
    assert_eq!(goal, Goal::Delivered);
    assert!(t.rcpts.is_empty());
}

#[test]
fn run_to_hands_the_envelope_and_message_to_the_session() {
    let mut s = connected();
    let fx = run_to(&mut s, Goal::Rcpt);
    let (goal, t) = run_of(&fx).expect("a run");
    assert_eq!(goal, Goal::Rcpt);
    assert_eq!(t.ehlo, "client.example");
    assert_eq!(t.mail_from.to_string(), "<student@client.example>");
    let rcpts: Vec<&str> = t.rcpts.iter().map(|a| a.as_str()).collect();
    assert_eq!(rcpts, ["alice@example.test", "bob@example.test"]);
    assert_eq!(&t.content[..], &s.message.bytes()[..]);
}

#[test]
fn a_stopped_run_says_why_on_the_status_line() {
    let mut s = connected();
    let id = s.session.id;
    let why = "MAIL FROM was answered 530; see the transcript".to_string();
    update(
        &mut s,
        Action::Session {
            id,
            msg: SessionMsg::Run(RunEvent::Stopped(why)),
        },
    );
    assert_eq!(
        s.notice.as_deref(),
        Some("Run to stopped: MAIL FROM was answered 530; see the transcript")
    );
}

#[test]
fn run_to_is_not_offered_without_a_greeting() {
    let mut s = state();
    update(&mut s, Action::Submit);
    // Chosen while the greeting is awaited...
    status(&mut s, view(Stage::Connected, None, true));
    assert!(s
        .palette
        .items()
        .iter()
        .any(|i| matches!(i.kind, ItemKind::RunTo(_))));
    // ...and no longer once none came.
    status(&mut s, view(Stage::Connected, None, false));
    assert!(!s
        .palette
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
    assert_eq!(sent(&update(&mut s, Action::Submit)), ["HELLO wrong"]);
    assert!(s.palette.prompt.is_none());
}

#[test]
fn edit_puts_the_command_in_the_raw_line() {
    let mut s = connected();
    update(&mut s, Action::Edit);
    assert_eq!(s.palette.prompt, Some(Prompt::Raw));
    assert_eq!(s.palette.input.lines(), ["EHLO client.example"]);
    update(
        &mut s,
        Action::Input(KeyEvent::new(KeyCode::Char('x'), KeyModifiers::NONE)),
    );
    assert_eq!(
        sent(&update(&mut s, Action::Submit)),
        ["EHLO client.examplex"]
    );
}

#[test]
fn auth_asks_user_then_password_and_masks_it() {
    let mut s = connected();
    status(&mut s, view(Stage::Ready, Some(caps(false)), false));
    let i = s
        .palette
        .items()
        .iter()
        .position(|i| i.kind == ItemKind::Auth(Mechanism::Login))
        .unwrap();
    s.palette.index = i;
    update(&mut s, Action::Submit);
    assert_eq!(s.palette.prompt, Some(Prompt::AuthUser(Mechanism::Login)));
    update(&mut s, Action::Submit);
    assert!(matches!(
        s.palette.prompt,
        Some(Prompt::AuthPassword(Mechanism::Login, _))
    ));
    assert_eq!(s.palette.input.mask_char(), Some('•'));
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
    let labels: Vec<String> = s.palette.items().iter().map(|i| i.label.clone()).collect();
    assert_eq!(labels, ["QUIT", "Quit"]);
    assert_eq!(sent(&update(&mut s, Action::Submit)), ["QUIT"]);
    assert!(s.palette.filter.is_empty());
}

#[test]
fn envelope_and_headers_copy_both_ways_and_say_so() {
    let mut s = state();
    s.message.headers = field("From: Boss <ceo@example.test>\nTo: a@example.test, B <b@example.test>\nCc: c@example.test\nBcc: hidden@example.test\nSubject: x");
    let i = s
        .palette
        .items()
        .iter()
        .position(|i| i.kind == ItemKind::EnvelopeFromHeaders)
        .unwrap();
    s.palette.index = i;
    update(&mut s, Action::Submit);
    assert_eq!(s.envelope.sender(), "ceo@example.test");
    assert_eq!(
        s.envelope.rcpts(),
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
    s.envelope.mail_from = field("bounce@example.test");
    s.envelope.rcpts = field("x@example.test");
    let i = s
        .palette
        .items()
        .iter()
        .position(|i| i.kind == ItemKind::HeadersFromEnvelope)
        .unwrap();
    s.palette.index = i;
    update(&mut s, Action::Submit);
    assert_eq!(s.message.headers.lines()[0], "From: <bounce@example.test>");
    assert_eq!(s.message.headers.lines()[1], "To: <x@example.test>");
    assert_eq!(
        s.message.headers.lines()[2],
        "Cc: c@example.test",
        "other fields stay"
    );
}

#[test]
fn stale_session_messages_are_dropped() {
    let mut s = connected();
    let old = s.session.id;
    update(&mut s, Action::Submit); // EHLO goes to session 1
    let i = s
        .palette
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
        .palette
        .items()
        .iter()
        .position(|i| i.kind == ItemKind::Connect)
        .unwrap();
    s.palette.index = i;
    update(&mut s, Action::Submit);
    assert_eq!(s.session.id, old + 1);
    let lines = s.transcript.lines.len();
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
        s.transcript.lines.len(),
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
    let id = s.session.id;
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
fn paste_goes_to_the_focused_field_and_one_line_to_a_prompt() {
    let mut s = connected();
    update(&mut s, Action::RawLine);
    update(
        &mut s,
        Action::Paste("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>".into()),
    );
    assert_eq!(
        s.palette.input.lines(),
        ["MAIL FROM:<a@b>"],
        "a pasted line break never sends a second command"
    );
    update(&mut s, Action::Cancel);
    s.focus = Focus::Envelope;
    s.envelope.field = EnvelopeField::Rcpts;
    s.envelope.rcpts = field("");
    update(
        &mut s,
        Action::Paste("x@example.test\ny@example.test".into()),
    );
    assert_eq!(s.envelope.rcpts(), ["x@example.test", "y@example.test"]);
}

#[test]
fn findings_follow_the_servers_extensions() {
    let mut s = connected();
    s.focus = Focus::Composer;
    s.message.field = crate::app::MessageField::Body;
    update(&mut s, Action::Paste("Grüße\n".into()));
    let has_8bit = |s: &AppState| s.findings().iter().any(|f| f.tag == "8bit");
    assert!(!has_8bit(&s), "no extensions known yet");
    // EHLO answered without 8BITMIME: now the 8-bit text matters.
    status(&mut s, view(Stage::Ready, Some(caps(false)), false));
    assert!(has_8bit(&s), "{:?}", s.findings());
}

/// Once a handshake has shown the server's certificates, the palette
/// offers to save them, and choosing it asks the loop to write that PEM; a
/// new connection forgets them.
#[test]
fn the_servers_certificates_can_be_saved_once_known() {
    let mut s = connected();
    let id = s.session.id;
    let offered = |s: &AppState| {
        s.palette
            .items()
            .iter()
            .position(|i| i.kind == ItemKind::SaveChain)
    };
    assert_eq!(offered(&s), None);
    let pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".to_string();
    update(
        &mut s,
        Action::Session {
            id,
            msg: SessionMsg::Chain(pem.clone()),
        },
    );
    let i = offered(&s).expect("offered once a chain is known");
    assert_eq!(s.palette.items()[i].label, "Save the server's certificates");
    s.palette.index = i;
    assert_eq!(update(&mut s, Action::Submit), vec![Effect::SaveChain(pem)]);
    let again = s
        .palette
        .items()
        .iter()
        .position(|i| i.kind == ItemKind::Disconnect)
        .unwrap();
    s.palette.index = again;
    update(&mut s, Action::Submit);
    update(
        &mut s,
        Action::Session {
            id,
            msg: SessionMsg::Ended("gone".into()),
        },
    );
    let reconnect = s
        .palette
        .items()
        .iter()
        .position(|i| i.kind == ItemKind::Connect)
        .unwrap();
    s.palette.index = reconnect;
    update(&mut s, Action::Submit);
    assert_eq!(offered(&s), None);
}
