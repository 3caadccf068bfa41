//! Runs by hand ("Run to …"): the one driver from wherever the session is,
//! pipelined or not, and each reason it stops.

use super::tests::Fake;
use super::*;
use crate::proto::command::{Address, ReversePath};
use crate::proto::pair::{at, Pair};

fn transaction() -> Transaction {
    Transaction {
        ehlo: "client.example".into(),
        mail_from: ReversePath::parse("student@client.example").unwrap(),
        rcpts: vec![
            Address::new("alice@example.test").unwrap(),
            Address::new("bob@example.test").unwrap(),
        ],
        content: b"Subject: hi\r\n\r\nHello\r\n".as_slice().into(),
    }
}

/// A session by hand against `fake`, greeted, then run toward `goal`.
fn run_to(goal: Goal, fake: Fake) -> Pair<Fake> {
    let mut pair = Pair::new(ClientSession::new(ReplyLimits::default()), fake).run();
    pair.client.run_to(goal, transaction());
    pair.run()
}

fn run_events(s: &mut ClientSession) -> Vec<RunEvent> {
    std::iter::from_fn(|| s.poll_run_event()).collect()
}

fn stopped(why: &str) -> Vec<RunEvent> {
    vec![RunEvent::Stopped(why.into())]
}

fn no_pipelining() -> Fake {
    let mut fake = Fake::new();
    fake.ehlo = "250-mx.example\r\n250 SIZE 1000000\r\n".into();
    fake
}

#[test]
fn to_the_end_pipelines_when_offered() {
    let mut p = run_to(Goal::Delivered, Fake::new());
    assert_eq!(
        p.writes,
        [
            "EHLO client.example\r\n",
            "MAIL FROM:<student@client.example>\r\nRCPT TO:<alice@example.test>\r\n\
             RCPT TO:<bob@example.test>\r\nDATA\r\n",
            "Subject: hi\r\n\r\nHello\r\n.\r\n",
        ]
    );
    assert_eq!(
        run_events(&mut p.client),
        [RunEvent::Reached(Goal::Delivered)]
    );
    assert_eq!(p.client.messages_accepted(), 1);
    assert_eq!(p.client.running(), None);
    // The final reply ended the transaction: the next one starts afresh.
    assert!(
        p.client.rcpts_sent().is_empty(),
        "{:?}",
        p.client.rcpts_sent()
    );
}

#[test]
fn to_rcpt_without_pipelining_goes_step_by_step() {
    let mut p = run_to(Goal::Rcpt, no_pipelining());
    assert_eq!(
        p.writes,
        [
            "EHLO client.example\r\n",
            "MAIL FROM:<student@client.example>\r\n",
            "RCPT TO:<alice@example.test>\r\n",
            "RCPT TO:<bob@example.test>\r\n",
        ]
    );
    assert_eq!(run_events(&mut p.client), [RunEvent::Reached(Goal::Rcpt)]);
    assert_eq!(
        p.client.rcpts_sent(),
        ["alice@example.test", "bob@example.test"]
    );
}

#[test]
fn it_goes_on_from_where_the_session_is() {
    let mut p = Pair::new(ClientSession::new(ReplyLimits::default()), no_pipelining()).run();
    // By hand: EHLO, MAIL, and one of the recipients, typed.
    for line in [
        "EHLO me",
        "MAIL FROM:<x@y>",
        "RCPT TO:<alice@Example.TEST> NOTIFY=NEVER",
    ] {
        p.client.send_raw(line).unwrap();
        p = p.run();
    }
    p.writes.clear();
    p.client.run_to(Goal::Rcpt, transaction());
    let mut p = p.run();
    assert_eq!(p.writes, ["RCPT TO:<bob@example.test>\r\n"]);
    assert_eq!(run_events(&mut p.client), [RunEvent::Reached(Goal::Rcpt)]);
}

#[test]
fn it_stops_at_a_refusal_instead_of_sending_again() {
    let fake = no_pipelining().on("MAIL", "530 5.7.0 Authentication required\r\n");
    let mut p = run_to(Goal::Delivered, fake);
    assert_eq!(
        p.writes.last().unwrap(),
        "MAIL FROM:<student@client.example>\r\n"
    );
    assert_eq!(
        run_events(&mut p.client),
        stopped("MAIL FROM was answered 530; see the transcript")
    );
    assert_eq!(p.client.running(), None);
}

#[test]
fn it_stops_when_a_reply_does_not_move_the_session_on() {
    // A positive reply MAIL cannot get: the stage stays where it was.
    let fake = no_pipelining().on("MAIL", "354 what\r\n");
    let mut p = run_to(Goal::Rcpt, fake);
    assert_eq!(p.writes.len(), 2, "MAIL sent again: {:?}", p.writes);
    assert_eq!(
        run_events(&mut p.client),
        stopped("the reply to MAIL FROM:<student@client.example> did not move the session on")
    );
}

#[test]
fn it_stops_at_a_reply_it_cannot_read() {
    let fake = no_pipelining().on("EHLO", "2x0 what\r\n");
    let mut p = run_to(Goal::Mail, fake);
    assert_eq!(p.writes, ["EHLO client.example\r\n"]);
    let events = run_events(&mut p.client);
    assert!(
        matches!(&events[..], [RunEvent::Stopped(w)] if w.starts_with("a reply could not be read")),
        "{events:?}"
    );
}

#[test]
fn it_says_when_no_recipient_was_accepted() {
    let fake = no_pipelining()
        .on("RCPT", "550 5.1.1 no such user\r\n")
        .on("RCPT", "550 5.1.1 no such user\r\n");
    let mut p = run_to(Goal::Delivered, fake);
    // A refused RCPT does not stop it: bob is still asked for.
    assert_eq!(p.writes.last().unwrap(), "RCPT TO:<bob@example.test>\r\n");
    assert_eq!(
        run_events(&mut p.client),
        stopped("no recipient was accepted, so DATA was not sent")
    );
}

#[test]
fn without_a_greeting_it_says_so() {
    let mut s = ClientSession::new(ReplyLimits::default());
    // Chosen while the greeting is awaited: it waits...
    s.run_to(Goal::Delivered, transaction());
    assert_eq!(s.poll_transmit(), None);
    assert_eq!(s.running(), Some(Goal::Delivered));
    // ...and the greeting refuses the session.
    s.handle_input(at(), b"554 go away\r\n");
    assert_eq!(
        run_events(&mut s),
        stopped("the greeting was answered 554; see the transcript")
    );
    // Chosen again now: no 220 was ever read.
    s.run_to(Goal::Delivered, transaction());
    assert_eq!(s.poll_transmit(), None);
    assert_eq!(
        run_events(&mut s),
        stopped("the server has not greeted (no 220 was read)")
    );
}

#[test]
fn recipients_sent_are_tracked_typed_and_raw_until_mail_or_rset() {
    let mut s = ClientSession::new(ReplyLimits::default());
    s.handle_input(at(), b"220 hi\r\n");
    s.send(&Command::rcpt(Address::new("a@x.example").unwrap(), vec![]));
    s.send_raw("rcpt to: <b@x.example> NOTIFY=NEVER").unwrap();
    s.send_raw("RCPT TO:c@x.example").unwrap();
    assert_eq!(
        s.rcpts_sent(),
        ["a@x.example", "b@x.example", "c@x.example"]
    );
    s.send_raw("RSET").unwrap();
    assert!(s.rcpts_sent().is_empty());
    s.send_raw("RCPT TO:<d@x.example>").unwrap();
    s.send(&Command::mail(ReversePath::Null, vec![]));
    assert!(s.rcpts_sent().is_empty());
}

#[test]
fn unsent_counts_copies_and_reads_the_domain_in_any_case() {
    let sent = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let cases: &[(&[&str], &[&str], &[usize])] = &[
        (&["a@x.example", "b@x.example"], &[], &[0, 1]),
        (&["a@x.example", "b@x.example"], &["a@X.Example"], &[1]),
        // The local part may be case-sensitive (RFC 5321, section 2.4).
        (&["a@x.example"], &["A@x.example"], &[0]),
        // Listed twice, sent once: one copy is still to go.
        (&["a@x.example", "a@x.example"], &["a@x.example"], &[1]),
        (&["a@x.example"], &["a@x.example", "a@x.example"], &[]),
    ];
    for (wanted, was_sent, want) in cases {
        assert_eq!(
            unsent(wanted, &sent(was_sent)),
            *want,
            "{wanted:?} {was_sent:?}"
        );
    }
}

/// A greeting that cannot be read answers the connection but greets no one:
/// a run chosen then says so and sends nothing.
#[test]
fn after_an_unreadable_greeting_a_run_says_none_came() {
    let mut s = ClientSession::new(ReplyLimits::default());
    s.handle_input(at(), b"2x0 what\r\n");
    assert_eq!(s.stage(), Stage::Connected);
    assert!(!s.awaiting_reply());
    s.run_to(Goal::Mail, transaction());
    assert_eq!(s.poll_transmit(), None);
    assert_eq!(
        run_events(&mut s),
        stopped("the server has not greeted (no 220 was read)")
    );
}
