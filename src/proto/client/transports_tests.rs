//! Tests of LMTP, XCLIENT, the PROXY preamble and `--drop-after`: planned
//! sessions against the scripted server, replies split at every byte.

use std::time::Duration;

use super::tests::Fake;
use super::*;
use crate::proto::pair::{self, at, sent_lines, Pair};

const LHLO: &str = "250-lmtp.example\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n\
                    250 CHUNKING\r\n";

fn lmtp_plan(rcpts: &[&str]) -> Plan {
    pair::plan("a@client.example", rcpts, b"Subject: hi\r\n\r\nhello\r\n")
}

fn lmtp(plan: Plan) -> ClientSession {
    let mut s = ClientSession::with_plan(ReplyLimits::default(), plan);
    s.set_protocol(Protocol::Lmtp);
    s
}

fn lines(writes: &[String]) -> Vec<String> {
    writes
        .iter()
        .flat_map(|w| w.split_terminator("\r\n"))
        .map(String::from)
        .collect()
}

fn infos(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Info(m) | Event::Warning(m) | Event::Error(m) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn lmtp_says_lhlo_and_gets_a_reply_per_accepted_recipient() {
    let fake = Fake::new()
        .on("LHLO", LHLO)
        .on("RCPT", "250 2.1.5 ok\r\n")
        .on("RCPT", "550 5.1.1 no such user\r\n")
        .on("RCPT", "250 2.1.5 ok\r\n")
        .on(
            ".",
            "250 2.0.0 <alice> delivered\r\n552 5.2.2 <full> quota exceeded\r\n",
        );
    let mut plan = lmtp_plan(&["alice@x.test", "nobody@x.test", "full@x.test"]);
    plan.pipelining = true;
    let Pair {
        client: s,
        writes,
        events,
        ..
    } = Pair::new(lmtp(plan), fake).run();
    let sent = lines(&writes);
    assert_eq!(sent[0], "LHLO client.example");
    assert_eq!(sent.last().map(String::as_str), Some("QUIT"));
    // Pipelined: MAIL, the RCPTs and DATA in one write.
    assert!(writes[1].starts_with("MAIL FROM:") && writes[1].ends_with("DATA\r\n"));
    let said = infos(&events);
    assert!(
        said.iter().any(
            |m| m.starts_with("lmtp: <alice@x.test> delivered: 250 2.0.0")
                && m.contains("reply 1 of 2")
        ),
        "{said:#?}"
    );
    assert!(
        said.iter().any(|m| m.starts_with(
            "lmtp: <full@x.test> not delivered, a permanent failure for this recipient only"
        ) && m.contains("552 5.2.2")),
        "{said:#?}"
    );
    assert!(said.contains(&"lmtp: delivered to 1 of 2 recipient(s)".to_string()));
    assert!(matches!(
        s.outcome(),
        Some(Outcome::Completed { accepted: Some(r) }) if r.code.value() == 250
    ));
    // The worst reply decides the exit status: 552, over the RCPT's 550.
    assert_eq!(s.partial_refusal().map(|r| r.code.value()), Some(552));
    assert_eq!(s.messages_accepted(), 1);
    // The transcript shows exactly what went on the wire.
    let shown: String = sent_lines(&events)
        .iter()
        .map(|l| format!("{l}\r\n"))
        .collect();
    assert_eq!(shown, writes.concat());
}

#[test]
fn lmtp_with_every_recipient_refused_after_the_content_is_refused() {
    let fake = Fake::new()
        .on("LHLO", LHLO)
        .on(".", "451 4.2.0 try later\r\n452 4.2.2 full for now\r\n");
    let Pair { client: s, .. } = Pair::new(lmtp(lmtp_plan(&["a@x.test", "b@x.test"])), fake).run();
    match s.outcome() {
        Some(Outcome::Refused(r)) => assert_eq!(r.code.value(), 452),
        other => panic!("{other:?}"),
    }
}

#[test]
fn lmtp_over_bdat_gets_a_reply_per_recipient_after_the_last_chunk() {
    let fake = Fake::new()
        .on("LHLO", LHLO)
        .on("BDAT", "250 2.0.0 a ok\r\n250 2.0.0 b ok\r\n");
    let mut plan = lmtp_plan(&["a@x.test", "b@x.test"]);
    plan.transfer = Transfer::Bdat { chunk_size: 1000 };
    let Pair {
        client: s, events, ..
    } = Pair::new(lmtp(plan), fake).run();
    assert!(
        matches!(s.outcome(), Some(Outcome::Completed { accepted: Some(_) })),
        "{events:#?}"
    );
    assert!(s.partial_refusal().is_none());
    assert!(infos(&events).contains(&"lmtp: delivered to 2 of 2 recipient(s)".to_string()));
}

/// Feeds the LMTP server's side turn by turn, as a transport would.
fn converse(chunks: &[&[u8]], limit: Option<Duration>) -> (Vec<Event>, Option<Outcome>) {
    let mut p = lmtp_plan(&["a@x.test", "b@x.test"]);
    p.pipelining = false;
    let mut s = lmtp(p);
    if let Some(l) = limit {
        s.set_reply_timeout(l);
        s.handle_connected(at());
    }
    let mut events = Vec::new();
    for c in chunks {
        s.handle_input(at(), c);
        let _ = s.poll_transmit();
        s.handle_written(at());
        events.extend(std::iter::from_fn(|| s.poll_event()));
    }
    if let Some(l) = limit {
        s.handle_timeout(at() + l);
        events.extend(std::iter::from_fn(|| s.poll_event()));
    }
    (events, s.outcome().cloned())
}

const TURNS: &[&[u8]] = &[
    b"220 lmtp.example LMTP\r\n",
    b"250-lmtp.example\r\n250 ENHANCEDSTATUSCODES\r\n",
    b"250 ok\r\n",
    b"250 ok\r\n",
    b"250 ok\r\n",
    b"354 go\r\n",
    b"250 2.0.0 a ok\r\n452 4.2.2 b over quota\r\n",
    b"221 bye\r\n",
];

#[test]
fn lmtp_replies_split_at_every_byte_give_the_same_events() {
    let whole = converse(TURNS, None);
    assert!(matches!(
        whole.1,
        Some(Outcome::Completed { accepted: Some(_) })
    ));
    for (turn, bytes) in TURNS.iter().enumerate() {
        for cut in 0..=bytes.len() {
            let mut chunks: Vec<&[u8]> = TURNS[..turn].to_vec();
            chunks.extend([&bytes[..cut], &bytes[cut..]]);
            chunks.extend(&TURNS[turn + 1..]);
            assert_eq!(converse(&chunks, None), whole, "turn {turn} cut at {cut}");
        }
    }
}

#[test]
fn fewer_lmtp_replies_than_recipients_end_at_the_deadline_naming_the_missing_one() {
    let mut turns = TURNS[..6].to_vec();
    turns.push(b"250 2.0.0 a ok\r\n");
    let (events, outcome) = converse(&turns, Some(Duration::from_secs(5)));
    match outcome {
        Some(Outcome::DeliveryUnknown(m)) => {
            assert!(m.starts_with("no reply within the time limit"), "{m}");
            assert!(
                m.contains("answered 1 of 2 accepted recipient(s), and never <b@x.test>"),
                "{m}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(infos(&events)
        .iter()
        .any(|m| m.starts_with("lmtp: <a@x.test> delivered")));
    // Or it hangs up instead: the same said at once.
    let mut s = lmtp(lmtp_plan(&["a@x.test", "b@x.test"]));
    for t in &turns {
        s.handle_input(at(), t);
        let _ = s.poll_transmit();
    }
    s.handle_eof();
    assert!(
        matches!(s.outcome(), Some(Outcome::DeliveryUnknown(m)) if m.contains("never <b@x.test>"))
    );
}

#[test]
fn more_lmtp_replies_than_recipients_is_a_protocol_error() {
    // In the same read as the others, or after QUIT went out.
    let mut extra = TURNS[..6].to_vec();
    extra.push(b"250 2.0.0 a ok\r\n250 2.0.0 b ok\r\n250 2.0.0 who?\r\n");
    let mut late = TURNS[..7].to_vec();
    late.push(b"250 2.0.0 who?\r\n");
    for turns in [extra, late] {
        let (events, outcome) = converse(&turns, None);
        match outcome {
            Some(Outcome::Protocol(m)) => assert!(
                m.starts_with("the LMTP server sent a reply (250) after the replies for all 2"),
                "{m}"
            ),
            other => panic!("{other:?} {events:#?}"),
        }
    }
}

#[test]
fn lmtp_by_hand_offers_lhlo_not_ehlo() {
    let mut s = ClientSession::new(ReplyLimits::default());
    s.set_protocol(Protocol::Lmtp);
    s.handle_input(at(), b"220 lmtp.example\r\n");
    assert_eq!(
        s.suggested(),
        vec![Verb::Lhlo, Verb::Noop, Verb::Help, Verb::Quit]
    );
    s.send(&Command::lhlo("c.example").unwrap());
    assert_eq!(
        s.poll_transmit().as_deref(),
        Some(&b"LHLO c.example\r\n"[..])
    );
    s.handle_input(at(), b"250-lmtp.example\r\n250 XCLIENT NAME ADDR\r\n");
    assert_eq!(s.stage(), Stage::Ready);
    assert!(s.suggested().contains(&Verb::Lhlo) && s.suggested().contains(&Verb::Xclient));
    assert!(!s.suggested().contains(&Verb::Ehlo));
    // By hand too, the content gets one reply per accepted recipient.
    for line in [
        "MAIL FROM:<a@c.example>",
        "RCPT TO:<x@l.example>",
        "RCPT TO:<y@l.example>",
    ] {
        s.send_raw(line).unwrap();
    }
    let _ = s.poll_transmit();
    s.handle_input(at(), b"250 ok\r\n250 ok\r\n250 ok\r\n");
    s.send(&Command::Data);
    let _ = s.poll_transmit();
    s.handle_input(at(), b"354 go\r\n");
    s.send_content(b"hi\r\n");
    let _ = s.poll_transmit();
    s.handle_input(at(), b"250 x ok\r\n");
    assert!(s.awaiting_reply(), "one reply of two");
    s.handle_input(at(), b"550 y refused\r\n");
    assert!(!s.awaiting_reply());
    assert_eq!(s.stage(), Stage::Ready);
    let said = infos(&std::iter::from_fn(|| s.poll_event()).collect::<Vec<_>>());
    assert!(said
        .iter()
        .any(|m| m.starts_with("lmtp: <y@l.example> not delivered")));
}

#[test]
fn xclient_goes_after_ehlo_then_ehlo_again() {
    let ehlo = "250-mx.example\r\n250-PIPELINING\r\n250 XCLIENT NAME ADDR PROTO HELO\r\n";
    let fake = Fake::new()
        .on("EHLO", ehlo)
        .on("XCLIENT", "220 mx.example ESMTP\r\n")
        .on("EHLO", ehlo);
    let mut s = ClientSession::with_plan(
        ReplyLimits::default(),
        pair::plan("a@client.example", &["b@mx.example"], b"hi\r\n"),
    );
    s.set_xclient(Command::xclient("NAME=relay.example ADDR=192.0.2.7").unwrap());
    let Pair {
        client: s,
        writes,
        events,
        ..
    } = Pair::new(s, fake).run();
    let sent = lines(&writes);
    assert_eq!(
        sent[..3],
        [
            "EHLO client.example",
            "XCLIENT NAME=relay.example ADDR=192.0.2.7",
            "EHLO client.example"
        ]
    );
    assert!(matches!(
        s.outcome(),
        Some(Outcome::Completed { accepted: Some(_) })
    ));
    assert!(infos(&events)
        .iter()
        .any(|m| m.starts_with("XCLIENT accepted") && m.contains("EHLO comes again")));
    // Not offered: said, and stopped.
    let mut s = ClientSession::with_plan(
        ReplyLimits::default(),
        pair::plan("a@client.example", &["b@mx.example"], b"hi\r\n"),
    );
    s.set_xclient(Command::xclient("ADDR=192.0.2.7").unwrap());
    let Pair {
        client: s, writes, ..
    } = Pair::new(s, Fake::new()).run();
    assert!(matches!(s.outcome(), Some(Outcome::NotOffered(m)) if m.contains("XCLIENT")));
    assert!(!lines(&writes).iter().any(|l| l.starts_with("XCLIENT")));
}

#[test]
fn drop_after_hangs_up_without_quit() {
    for (name, point) in DropAfter::NAMES {
        assert_eq!(point.name(), name);
        let mut s = ClientSession::with_plan(
            ReplyLimits::default(),
            pair::plan(
                "a@client.example",
                &["b@mx.example"],
                b"l1\r\nl2\r\nl3\r\nl4\r\n",
            ),
        );
        s.set_drop_after(point);
        let Pair {
            client: s,
            writes,
            events,
            server,
        } = Pair::new(s, Fake::new()).run();
        let sent = lines(&writes);
        assert!(!sent.contains(&"QUIT".to_string()), "{name}: {sent:?}");
        assert!(s.is_closed(), "{name}");
        assert_eq!(
            s.outcome(),
            Some(&Outcome::Completed { accepted: None }),
            "{name}"
        );
        assert!(!server.received.contains(&".".to_string()), "{name}");
        assert!(
            infos(&events).iter().any(|m| m.contains("without QUIT")),
            "{name}: {events:#?}"
        );
        if name == "rcpt" {
            assert!(
                sent.last().is_some_and(|l| l.starts_with("RCPT TO:")),
                "{sent:?}"
            );
        }
        if name == "content" {
            assert_eq!(sent.last().map(String::as_str), Some("l2"), "{sent:?}");
        }
    }
}

#[test]
fn a_greeting_that_never_comes_after_a_proxy_header_says_so() {
    let mut s = ClientSession::with_plan(
        ReplyLimits::default(),
        pair::plan("a@client.example", &["b@mx.example"], b"hi\r\n"),
    );
    s.handle_preamble_sent("PROXY TCP4 192.0.2.1 127.0.0.1 5000 25".into(), vec![]);
    s.handle_eof();
    let events: Vec<_> = std::iter::from_fn(|| s.poll_event()).collect();
    assert_eq!(
        sent_lines(&events),
        ["PROXY TCP4 192.0.2.1 127.0.0.1 5000 25"]
    );
    assert!(
        matches!(s.outcome(), Some(Outcome::ConnectionLost(m)) if m.contains("right after the PROXY header")),
        "{:?}",
        s.outcome()
    );
    // Garbage instead of a greeting.
    let mut s = ClientSession::with_plan(
        ReplyLimits::default(),
        pair::plan("a@client.example", &["b@mx.example"], b"hi\r\n"),
    );
    s.handle_preamble_sent("PROXY ...".into(), vec![]);
    s.handle_input(at(), b"HTTP/1.0 400 Bad Request\r\n");
    assert!(
        matches!(s.outcome(), Some(Outcome::Protocol(m)) if m.contains("PROXY header")),
        "{:?}",
        s.outcome()
    );
}

#[test]
fn a_reply_to_the_proxy_header_itself_says_the_header_may_be_why() {
    let mut s = ClientSession::with_plan(
        ReplyLimits::default(),
        pair::plan("a@client.example", &["b@mx.example"], b"hi\r\n"),
    );
    s.handle_preamble_sent("PROXY TCP4 192.0.2.77 127.0.0.1 40000 2525".into(), vec![]);
    // The greeting and, at once, the answer to the PROXY line read as a command.
    s.handle_input(
        at(),
        b"220 mx ESMTP\r\n500 5.5.2 Error: command not recognized\r\n",
    );
    assert!(
        matches!(s.outcome(), Some(Outcome::Protocol(m))
            if m.contains("out of step") && m.contains("the PROXY header may be why")),
        "{:?}",
        s.outcome()
    );
    // Without a PROXY header, no such hint.
    let mut s = ClientSession::with_plan(
        ReplyLimits::default(),
        pair::plan("a@client.example", &["b@mx.example"], b"hi\r\n"),
    );
    s.handle_input(
        at(),
        b"220 mx ESMTP\r\n500 5.5.2 Error: command not recognized\r\n",
    );
    assert!(
        matches!(s.outcome(), Some(Outcome::Protocol(m)) if !m.contains("PROXY")),
        "{:?}",
        s.outcome()
    );
}

#[test]
fn by_hand_drop_after_hangs_up_when_the_session_gets_there() {
    let mut s = ClientSession::new(ReplyLimits::default());
    s.set_drop_after(DropAfter::At(QuitAfter::Mail));
    s.handle_input(at(), b"220 hi\r\n");
    s.send(&Command::ehlo("c.example").unwrap());
    let _ = s.poll_transmit();
    s.handle_input(at(), b"250 hi\r\n");
    assert!(!s.is_closed());
    s.send_raw("MAIL FROM:<a@c.example>").unwrap();
    let _ = s.poll_transmit();
    s.handle_input(at(), b"250 ok\r\n");
    assert!(s.is_closed() && s.stage() == Stage::Closed);
    let said = infos(&std::iter::from_fn(|| s.poll_event()).collect::<Vec<_>>());
    assert!(
        said.iter()
            .any(|m| m == "hanging up without QUIT after MAIL FROM, as asked (--drop-after mail)"),
        "{said:?}"
    );
    assert_eq!(s.poll_transmit(), None, "nothing more, QUIT least of all");
}

#[test]
fn xclient_by_hand_sends_the_session_back_to_ehlo() {
    let mut s = ClientSession::new(ReplyLimits::default());
    s.handle_input(at(), b"220 hi\r\n");
    s.send(&Command::ehlo("c.example").unwrap());
    let _ = s.poll_transmit();
    s.handle_input(at(), b"250-hi\r\n250 XCLIENT ADDR NAME\r\n");
    assert!(s.suggested().contains(&Verb::Xclient));
    s.send_raw("XCLIENT ADDR=192.0.2.7").unwrap();
    let _ = s.poll_transmit();
    s.handle_input(at(), b"220 hi again\r\n");
    assert_eq!(s.stage(), Stage::Greeted);
    assert!(s.capabilities().is_none());
    assert_eq!(s.suggested()[0], Verb::Ehlo);
    // Refused: said, and the session stays where it was.
    let mut s = ClientSession::new(ReplyLimits::default());
    s.handle_input(at(), b"220 hi\r\n");
    s.send(&Command::ehlo("c.example").unwrap());
    let _ = s.poll_transmit();
    s.handle_input(at(), b"250 hi\r\n");
    s.send_raw("XCLIENT ADDR=192.0.2.7").unwrap();
    let _ = s.poll_transmit();
    s.handle_input(at(), b"550 5.7.0 Error: insufficient authorization\r\n");
    assert_eq!(s.stage(), Stage::Ready);
    let said = infos(&std::iter::from_fn(|| s.poll_event()).collect::<Vec<_>>());
    assert!(
        said.iter().any(|m| m.starts_with("XCLIENT refused (550)")),
        "{said:?}"
    );
}
