use super::*;

const DEMO: &str = include_str!("../../../assets/replay/demo.jsonl");

fn demo() -> Replay {
    Replay::parse("demo.jsonl", DEMO).unwrap()
}

fn texts(step: &Step) -> Vec<String> {
    step.events
        .iter()
        .map(|e| match &e.event {
            Event::Sent { text, .. } => format!("-> {text}"),
            Event::Reply { reply, .. } => format!("<- {}", reply.code.value()),
            Event::Info(s) => format!("== {s}"),
            Event::Warning(s) => format!("!! {s}"),
            Event::Error(s) => format!("** {s}"),
            Event::BadReply { .. } => "<!".into(),
        })
        .collect()
}

#[test]
fn steps_are_a_command_and_its_reply_with_their_information() {
    let mut r = demo();
    assert_eq!(r.total(), 8);
    let mut all = Vec::new();
    while let Some(s) = r.next_step() {
        all.push((texts(s), s.mark.clone()));
    }
    assert!(r.is_done());
    assert_eq!(
        all[0].0,
        ["== connecting to 127.0.0.1:2525", "<- 220"],
        "information before the greeting goes with it"
    );
    assert_eq!(all[1].0[0], "-> EHLO client.example");
    assert!(
        all[1].0[2].starts_with("== server offers"),
        "information after a reply stays with it: {:?}",
        all[1].0
    );
    assert_eq!(
        all[3].0,
        ["-> RCPT TO:<someone@elsewhere.example>", "<- 554"]
    );
    assert_eq!(all[3].1.as_deref(), Some("Now the relay refusal"));
    assert_eq!(
        all[6].1.as_deref(),
        Some("The message itself"),
        "a mark key"
    );
    assert_eq!(
        all[6].0.len(),
        8,
        "the message's lines, the dot and the 250"
    );
    assert_eq!(
        all[7].0.last().unwrap(),
        "== result: message accepted: 250 2.0.0 Ok: queued as 1"
    );
    assert!(r.next_step().is_none(), "nothing past the end");
    assert_eq!(r.shown(), 8);
}

#[test]
fn pipelined_commands_stay_in_wire_order() {
    let text = r#"{"kind":"client","seq":2,"text":"MAIL FROM:<a@x.example>"}
{"kind":"client","seq":3,"text":"RCPT TO:<b@y.example>"}
{"kind":"client","seq":4,"text":"DATA"}
{"kind":"server","code":250,"text":"250 2.1.0 Ok"}
{"kind":"server","code":250,"text":"250 2.1.5 Ok"}
{"kind":"server","code":354,"text":"354 go on"}
{"kind":"info","text":"content did not end with a line end: CRLF added"}
{"kind":"client","seq":5,"text":"Subject: x"}"#;
    let mut r = Replay::parse("p", text).unwrap();
    let steps: Vec<_> = std::iter::from_fn(|| r.next_step().map(texts)).collect();
    assert_eq!(steps.len(), 4);
    assert_eq!(
        steps[0].len(),
        4,
        "three commands in one write, the first reply"
    );
    assert_eq!(steps[1], ["<- 250"]);
    assert_eq!(steps[2][0], "<- 354");
    assert_eq!(
        steps[3],
        ["-> Subject: x"],
        "a step without a reply at the end"
    );
}

#[test]
fn waiting_at_a_mark_and_its_forms() {
    let text = r#"{"kind":"server","code":220,"text":"220 hi"}
{"kind":"mark","text":"look \u001b[31m here"}
{"kind":"client","text":"EHLO a"}
{"kind":"server","code":250,"text":"250 ok"}
{"kind":"client","text":"NOOP","mark":true}
{"kind":"server","code":250,"text":"250 ok"}"#;
    let mut r = Replay::parse("m", text).unwrap();
    assert_eq!(r.waiting_at(), None);
    r.next_step();
    assert_eq!(r.waiting_at(), Some("look ␛[31m here"), "made visible");
    r.next_step();
    assert_eq!(r.waiting_at(), Some(""), "a bare mark");
    r.next_step();
    assert_eq!(r.waiting_at(), None);
}

#[test]
fn malformed_files_are_refused_with_the_line() {
    let ok = r#"{"kind":"server","code":220,"text":"220 hi"}"#;
    let cases: &[(&str, usize, &str)] = &[
        ("", 0, "no transcript lines"),
        ("\n\n", 0, "no transcript lines"),
        (
            "{\"kind\":\"mark\",\"text\":\"x\"}",
            0,
            "no transcript lines",
        ),
        ("220 hi", 1, "not a JSON object"),
        ("[1,2]", 1, "not a JSON object"),
        ("{\"text\":\"x\"}", 1, "no \"kind\""),
        ("{\"kind\":\"client\"}", 1, "needs a \"text\""),
        ("{\"kind\":\"server\",\"text\":\"hi\"}", 1, "\"code\""),
        (
            "{\"kind\":\"server\",\"code\":99,\"text\":\"hi\"}",
            1,
            "\"code\"",
        ),
        (
            "{\"kind\":\"server\",\"code\":70000,\"text\":\"hi\"}",
            1,
            "\"code\"",
        ),
        (
            "{\"kind\":\"server\",\"code\":250,\"text\":\"x\",\"lines\":[1]}",
            1,
            "strings",
        ),
        (
            "{\"kind\":\"server\",\"code\":250,\"text\":\"x\",\"lines\":\"x\"}",
            1,
            "list",
        ),
        (
            "{\"kind\":\"server\",\"code\":250,\"text\":\"x\",\"lines\":[]}",
            1,
            "at least one",
        ),
        (
            "{\"kind\":\"info\",\"text\":\"x\",\"mark\":3}",
            1,
            "\"mark\"",
        ),
    ];
    for (input, line, why) in cases {
        let e = Replay::parse("f", input).unwrap_err();
        assert_eq!(e.line, *line, "{input:?}: {e}");
        assert!(e.to_string().contains(why), "{input:?}: {e}");
    }
    let e = Replay::parse("f", &format!("{ok}\n{ok}\n{{oops")).unwrap_err();
    assert_eq!(e.line, 3);
    assert!(
        e.to_string().starts_with("line 3: not a JSON object"),
        "{e}"
    );
    let big = "x".repeat(MAX_FILE + 1);
    assert!(Replay::parse("f", &big).unwrap_err().why.contains("larger"));
}

#[test]
fn untrusted_text_is_made_visible_and_bounded() {
    let long = "y".repeat(MAX_TEXT + 10);
    let text = format!(
        "{{\"kind\":\"server\",\"code\":220,\"text\":\"220 a\",\"lines\":[\"220 mx ␛ lit\"],\"raw\":[\"220 mx \\u001b[2J\"]}}\n\
         {{\"kind\":\"client\",\"text\":\"NOOP\\u0007\\u009b\"}}\n\
         {{\"kind\":\"info\",\"text\":\"{long}\"}}\n\
         {{\"kind\":\"auth\",\"method\":\"spf\",\"result\":\"pass\",\"text\":\"fine\"}}"
    );
    let mut r = Replay::parse("u", &text).unwrap();
    let s = r.next_step().unwrap().clone();
    let Event::Reply { reply, .. } = &s.events[0].event else {
        panic!("{s:?}")
    };
    assert_eq!(
        reply.lines[0], b"220 mx \x1b[2J",
        "raw kept: the transcript makes it visible"
    );
    let mut lines = crate::app::Lines::default();
    for e in s.events.iter().chain(&r.next_step().unwrap().events) {
        lines.push_event(e);
    }
    assert_eq!(lines.get(0).unwrap().text, "220 mx ␛[2J");
    assert_eq!(lines.get(1).unwrap().text, "NOOP␇\\u{9b}");
    let info = lines.get(2).unwrap().text;
    assert!(
        info.len() < MAX_TEXT + 40 && info.ends_with("(10 bytes cut)"),
        "{info}"
    );
    assert_eq!(lines.get(3).unwrap().text, "auth: spf=pass: fine");
}

#[test]
fn the_envelope_message_and_extensions_are_rebuilt_from_what_was_shown() {
    let mut r = demo();
    assert_eq!(r.rebuilt(), Rebuilt::default());
    for _ in 0..2 {
        r.next_step();
    }
    let b = r.rebuilt();
    assert!(b.caps.as_ref().is_some_and(|c| c.pipelining), "{b:?}");
    assert_eq!(b.mail_from, None);
    assert_eq!(b.ehlo.as_deref(), Some("client.example"));
    while r.next_step().is_some() {}
    let b = r.rebuilt();
    assert_eq!(b.mail_from.as_deref(), Some("student@client.example"));
    assert_eq!(
        b.rcpts,
        ["someone@elsewhere.example", "alice@example.test"],
        "as sent, the refused one too"
    );
    let m = b.message.unwrap();
    assert!(m.starts_with("From: Student <student@client.example>\nTo: "));
    assert!(
        m.ends_with("\n\nHello Alice,\n.a line that starts with a dot"),
        "{m}"
    );
}

#[test]
fn paths_as_sent() {
    let cases = [
        ("MAIL FROM:<a@b> SIZE=12", "MAIL FROM:", Some("a@b")),
        ("mail from: <a@b>", "MAIL FROM:", Some("a@b")),
        ("MAIL FROM:<>", "MAIL FROM:", Some("<>")),
        ("RCPT TO:c@d NOTIFY=NEVER", "RCPT TO:", Some("c@d")),
        ("RCPT TO:<c@d", "RCPT TO:", Some("c@d")),
        ("RSET", "RCPT TO:", None),
        ("MAIL", "MAIL FROM:", None),
    ];
    for (text, prefix, want) in cases {
        assert_eq!(path_after(text, prefix).as_deref(), want, "{text}");
    }
}

/// Every prefix of a valid file either parses or names a line within it.
#[test]
fn a_file_cut_at_every_byte_is_refused_or_replayed() {
    for cut in 0..DEMO.len() {
        let Some(part) = DEMO.get(..cut) else {
            continue;
        };
        match Replay::parse("cut", part) {
            Ok(r) => assert!(r.total() >= 1),
            Err(e) => assert!(e.line <= part.lines().count(), "{cut}: {e}"),
        }
    }
}

/// What a transcript shows, line by line: kind, code and text.
fn shown_lines(events: &[Timed]) -> Vec<(crate::app::LineKind, Option<u16>, String)> {
    let mut lines = crate::app::Lines::default();
    for e in events {
        lines.push_event(e);
    }
    (0..lines.len())
        .filter_map(|i| lines.get(i))
        .map(|l| (l.kind, l.code, l.text.to_string()))
        .collect()
}

fn all_events(r: &mut Replay) -> Vec<Timed> {
    let mut out = Vec::new();
    while let Some(s) = r.next_step() {
        out.extend(s.events.iter().cloned());
    }
    out
}

/// The workbench's "Save transcript (JSON)" of a replay replays the same.
#[test]
fn the_workbench_s_own_save_replays_the_same() {
    let mut s = crate::app::test_support::state();
    let r = demo();
    crate::app::update(&mut s, crate::app::Action::StartReplay(Box::new(r)));
    crate::app::update(&mut s, crate::app::Action::ReplayToMark);
    crate::app::update(&mut s, crate::app::Action::ReplayToMark);
    crate::app::update(&mut s, crate::app::Action::ReplayToMark);
    let saved = s.transcript.export(crate::transcript::Format::Json);
    let mut again = Replay::parse("saved", &saved).unwrap();
    assert_eq!(
        again.total(),
        8,
        "the marks are the presenter's, the steps the same"
    );
    let mut first = demo();
    assert_eq!(
        shown_lines(&all_events(&mut again)),
        shown_lines(&all_events(&mut first))
    );
}

mod roundtrip {
    use super::*;
    use proptest::prelude::*;

    fn text() -> impl Strategy<Value = String> {
        // Printable text with the controls and look-alikes a server may send.
        proptest::collection::vec(
            prop_oneof![
                "[ -~]{0,12}",
                Just("\u{1b}[2J".to_string()),
                Just("\u{241b}".to_string()),
                Just("\u{9b}".to_string()),
                Just("\u{202e}".to_string()),
                Just("\u{7f}\t".to_string()),
                Just("é".to_string()),
            ],
            0..4,
        )
        .prop_map(|v| v.concat())
    }

    fn event() -> impl Strategy<Value = Event> {
        prop_oneof![
            (1u64..100, text()).prop_map(|(seq, text)| Event::Sent {
                seq,
                text: visible(text.as_bytes()),
                revealed: None,
            }),
            (
                proptest::sample::select(vec![
                    220u16, 221, 235, 250, 251, 334, 354, 421, 451, 452, 500, 530, 550, 554
                ]),
                proptest::collection::vec(text(), 1..4),
            )
                .prop_map(|(code, lines)| {
                    let code = ReplyCode::new(code).unwrap();
                    Event::Reply {
                        answers: None,
                        verb: None,
                        reply: Reply::new(code, &lines.join("\n")),
                    }
                }),
            text().prop_map(|t| Event::Info(visible(t.as_bytes()))),
            text().prop_map(|t| Event::Warning(visible(t.as_bytes()))),
            text().prop_map(|t| Event::Error(visible(t.as_bytes()))),
        ]
    }

    proptest! {
        /// Whatever `send --format json` writes replays to the same lines.
        #[test]
        fn what_send_writes_replays_the_same(events in proptest::collection::vec(event(), 1..12)) {
            let timed: Vec<Timed> = events
                .into_iter()
                .enumerate()
                .map(|(i, event)| Timed {
                    at: Duration::from_millis(i as u64),
                    latency: None,
                    event,
                })
                .collect();
            let mut w = crate::transcript::Writer::new(Vec::new(), crate::transcript::Format::Json, false);
            for e in &timed {
                w.write(e).unwrap();
            }
            let json = String::from_utf8(w.into_inner()).unwrap();
            let mut r = Replay::parse("p", &json).unwrap();
            prop_assert_eq!(shown_lines(&all_events(&mut r)), shown_lines(&timed));
        }
    }
}
