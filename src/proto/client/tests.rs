//! The client session's tests: planned sessions against a scripted server,
//! sessions by hand, and replies split at every byte.

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::proto::auth::{Credentials, Mechanism, Secret};

use crate::proto::data;
use crate::proto::pair::{self, at, sent_lines, Pair, Peer};
use crate::proto::reply::ReplyCode;

/// A scripted server: answers each command by its verb, accepts
/// everything by default, and keeps every line it received.
pub(super) struct Fake {
    pub(super) ehlo: String,
    replies: Vec<(String, String)>,
    in_data: bool,
    pub(super) received: Vec<String>,
    /// Bytes to append after the reply to one verb (e.g. after STARTTLS).
    trailer: Option<(String, String)>,
    /// Hang up instead of answering this verb.
    hang_up_at: Option<String>,
    hung_up: bool,
    out: Vec<u8>,
}

impl Fake {
    pub(super) fn new() -> Self {
        Self {
            ehlo: "250-mx.example\r\n250-PIPELINING\r\n250-SIZE 1000000\r\n250-STARTTLS\r\n\
                   250-AUTH PLAIN LOGIN CRAM-MD5\r\n250-8BITMIME\r\n250 CHUNKING\r\n"
                .into(),
            replies: Vec::new(),
            in_data: false,
            received: Vec::new(),
            trailer: None,
            hang_up_at: None,
            hung_up: false,
            out: b"220 mx.example ESMTP\r\n".to_vec(),
        }
    }

    pub(super) fn on(mut self, verb: &str, reply: &str) -> Self {
        self.replies.push((verb.to_string(), reply.to_string()));
        self
    }

    /// The reply to one line, or None when the line gets none.
    fn answer(&mut self, line: &str) -> Result<Option<String>, ()> {
        self.received.push(line.to_string());
        if self.in_data {
            if line == "." {
                self.in_data = false;
                return Ok(Some(self.reply_for("."))
                    .flatten()
                    .or(Some("250 2.0.0 queued\r\n".into())));
            }
            return Ok(None);
        }
        let verb = line
            .split([' ', ':'])
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        if self.hang_up_at.as_deref() == Some(verb.as_str()) {
            return Err(());
        }
        let reply = self
            .reply_for(&verb)
            .unwrap_or_else(|| match verb.as_str() {
                "EHLO" => self.ehlo.clone(),
                "DATA" => "354 go ahead\r\n".into(),
                "STARTTLS" => "220 2.0.0 ready\r\n".into(),
                "QUIT" => "221 2.0.0 bye\r\n".into(),
                "AUTH" => "235 2.7.0 ok\r\n".into(),
                _ => "250 2.0.0 ok\r\n".into(),
            });
        if reply.starts_with("354") {
            self.in_data = true;
        }
        let mut reply = reply;
        if let Some((v, extra)) = &self.trailer {
            if *v == verb {
                reply.push_str(extra);
            }
        }
        Ok(Some(reply))
    }

    fn reply_for(&mut self, verb: &str) -> Option<String> {
        let i = self
            .replies
            .iter()
            .position(|(v, _)| v.eq_ignore_ascii_case(verb))?;
        Some(self.replies.remove(i).1)
    }
}

impl Peer for Fake {
    fn handle_input(&mut self, bytes: &[u8]) {
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        let mut rest = text.as_str();
        while let Some((line, tail)) = rest.split_once("\r\n") {
            rest = tail;
            if self.hung_up {
                return;
            }
            // A BDAT line is followed by exactly that many bytes.
            if let Some(n) = line
                .strip_prefix("BDAT ")
                .and_then(|a| a.split(' ').next())
                .and_then(|n| n.parse::<usize>().ok())
            {
                rest = &rest[n.min(rest.len())..];
            }
            match self.answer(line) {
                Ok(Some(r)) => self.out.extend_from_slice(r.as_bytes()),
                Ok(None) => {}
                Err(()) => {
                    // Gone: what it would have said to the lines before
                    // never arrives either.
                    self.hung_up = true;
                    self.out.clear();
                }
            }
        }
    }

    fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        (!self.out.is_empty()).then(|| std::mem::take(&mut self.out))
    }

    fn is_closed(&self) -> bool {
        self.hung_up
    }
}

fn plan() -> Plan {
    pair::plan(
        "a@client.example",
        &["b@mx.example", "c@mx.example"],
        b"Subject: hi\r\n\r\n.dot\r\n",
    )
}

/// Runs `plan` against `fake`.
fn drive(plan: Plan, fake: Fake) -> Pair<Fake> {
    Pair::new(ClientSession::with_plan(ReplyLimits::default(), plan), fake).run()
}

#[test]
fn a_whole_transaction_one_command_at_a_time() {
    let fake = Fake::new();
    let Pair {
        client: s,
        writes,
        events,
        ..
    } = drive(plan(), fake);
    assert_eq!(
        writes,
        vec![
            "EHLO client.example\r\n",
            "MAIL FROM:<a@client.example> SIZE=21\r\n",
            "RCPT TO:<b@mx.example>\r\n",
            "RCPT TO:<c@mx.example>\r\n",
            "DATA\r\n",
            "Subject: hi\r\n\r\n..dot\r\n.\r\n",
            "QUIT\r\n",
        ]
    );
    assert_eq!(
        s.outcome(),
        Some(&Outcome::Completed {
            accepted: Some(Reply::new(ReplyCode::new(250).unwrap(), "2.0.0 queued"))
        })
    );
    assert_eq!(s.stage(), Stage::Closed);
    assert_eq!(s.messages_accepted(), 1);
    // The transcript shows exactly what went on the wire.
    let wire: String = writes.concat();
    let shown: String = sent_lines(&events)
        .iter()
        .map(|l| format!("{l}\r\n"))
        .collect();
    assert_eq!(shown, wire);
}

/// A message of `n` body lines, each "line N".
fn long_content(n: usize) -> Arc<[u8]> {
    let mut c = b"Subject: long\r\n\r\n".to_vec();
    for i in 1..=n {
        c.extend_from_slice(format!("line {i}\r\n").as_bytes());
    }
    c.into()
}

#[test]
fn a_long_message_goes_whole_but_the_transcript_shows_its_head() {
    for transfer in [Transfer::Data, Transfer::Bdat { chunk_size: 4000 }] {
        let fake = Fake::new();
        let mut p = plan();
        p.content = long_content(2500);
        p.transfer = transfer;
        let Pair {
            client: s,
            writes,
            events,
            ..
        } = drive(p, fake);
        assert_eq!(s.messages_accepted(), 1, "{transfer:?}");
        // Every line went out.
        let wire = writes.concat();
        assert!(wire.contains("\r\nline 1\r\n"), "{transfer:?}");
        assert!(wire.contains("\r\nline 2500\r\n"), "{transfer:?}");
        let told: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                Event::Info(t) if t.contains("sent but not shown") => Some(t.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(told.len(), 1, "{transfer:?}: {told:?}");
        let sent = sent_lines(&events);
        if transfer == Transfer::Data {
            // The header line, the blank line, then 998 of the body.
            assert!(sent.contains(&"line 998".to_string()));
            assert!(!sent.contains(&"line 999".to_string()));
            let bytes: usize = (999..=2500).map(|i| format!("line {i}\r\n").len()).sum();
            assert!(
                told[0].starts_with(&format!("1502 more content line(s), {bytes} bytes")),
                "{told:?}"
            );
            assert_eq!(sent[sent.len() - 2..], [".", "QUIT"]);
        } else {
            // BDAT chunks cut lines where the byte count falls; each
            // piece is a line of the transcript.
            assert!(!sent.contains(&"line 999".to_string()));
        }
    }
}

#[test]
fn a_write_failure_in_the_content_means_nothing_was_delivered() {
    let mut s = ClientSession::with_plan(ReplyLimits::default(), plan());
    for turn in &TURNS[..6] {
        s.handle_input(at(), turn);
        let _ = s.poll_transmit();
    }
    s.handle_write_failure("write failed: broken pipe", false);
    match s.outcome() {
        Some(Outcome::ConnectionLost(m)) => {
            assert!(m.contains("(write failed: broken pipe)"), "{m}");
            assert!(m.contains("nothing was delivered"), "{m}");
        }
        other => panic!("{other:?}"),
    }
    assert!(s.is_closed());

    // Before any content: where it happened, as for a hang-up.
    let mut s = ClientSession::with_plan(ReplyLimits::default(), plan());
    s.handle_input(at(), b"220 mx\r\n");
    s.handle_write_failure("the server took no data for 30s", true);
    match s.outcome() {
        Some(Outcome::TimedOut(m)) => assert_eq!(
            m,
            "writing to the server failed (the server took no data for 30s) while \
             waiting for the reply to EHLO"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn size_is_the_normalised_length_without_a_copy() {
    let r = data::measure(b"a\nb\r\n.c");
    assert_eq!(r.bytes, data::encode_bdat(b"a\nb\r\n.c").0.len() as u64);
    assert_eq!(r.bytes, 10);
}

#[test]
fn pipelining_sends_mail_rcpt_and_data_in_one_write() {
    let fake = Fake::new();
    let mut p = plan();
    p.pipelining = true;
    let Pair {
        client: s, writes, ..
    } = drive(p, fake);
    assert_eq!(
        writes[1],
        "MAIL FROM:<a@client.example> SIZE=21\r\nRCPT TO:<b@mx.example>\r\n\
         RCPT TO:<c@mx.example>\r\nDATA\r\n"
    );
    assert!(matches!(
        s.outcome(),
        Some(Outcome::Completed { accepted: Some(_) })
    ));
}

#[test]
fn pipelined_refusal_of_mail_sends_no_content() {
    let fake = Fake::new()
        .on("MAIL", "550 5.7.1 sender refused\r\n")
        .on("RCPT", "503 5.5.1 need MAIL\r\n")
        .on("RCPT", "503 5.5.1 need MAIL\r\n")
        .on("DATA", "503 5.5.1 need RCPT\r\n");
    let mut p = plan();
    p.pipelining = true;
    let Pair {
        client: s, writes, ..
    } = drive(p, fake);
    assert_eq!(writes.last().map(String::as_str), Some("QUIT\r\n"));
    assert!(!writes.concat().contains("Subject"));
    match s.outcome() {
        Some(Outcome::Refused(r)) => assert_eq!(r.code.value(), 550),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_354_after_a_failed_pipeline_closes_without_content() {
    let fake = Fake::new()
        .on("RCPT", "550 5.1.1 no\r\n")
        .on("RCPT", "550 5.1.1 no\r\n");
    let mut p = plan();
    p.pipelining = true;
    let Pair {
        client: s, writes, ..
    } = drive(p, fake);
    assert!(s.is_closed());
    assert!(!writes.concat().contains("Subject"), "{writes:?}");
    assert!(matches!(s.outcome(), Some(Outcome::Refused(r)) if r.code.value() == 550));
}

#[test]
fn one_refused_recipient_still_delivers_to_the_other() {
    let fake = Fake::new().on("RCPT", "550 5.1.1 unknown\r\n");
    let Pair {
        client: s, writes, ..
    } = drive(plan(), fake);
    assert!(writes.concat().contains("..dot"));
    assert!(matches!(
        s.outcome(),
        Some(Outcome::Completed { accepted: Some(_) })
    ));
    assert_eq!(s.partial_refusal().map(|r| r.code.value()), Some(550));
}

#[test]
fn mixed_codes_in_the_final_reply_are_never_success() {
    // swaks delivers on this; it is a protocol error.
    let fake = Fake::new().on(".", "550-5.7.1 rejected\r\n250 2.0.0 queued\r\n");
    let Pair {
        client: s, events, ..
    } = drive(plan(), fake);
    assert!(
        matches!(s.outcome(), Some(Outcome::Protocol(_))),
        "{:?}",
        s.outcome()
    );
    assert!(events.iter().any(|e| matches!(e, Event::BadReply { .. })));
}

#[test]
fn hang_up_after_the_final_dot_is_delivery_unknown() {
    let mut s = ClientSession::with_plan(ReplyLimits::default(), plan());
    s.handle_input(at(), b"220 hi\r\n");
    let script = [
        &b"250 mx\r\n"[..],
        b"250 ok\r\n",
        b"250 ok\r\n",
        b"250 ok\r\n",
        b"354 go\r\n",
    ]
    .into_iter();
    for r in script {
        let _ = s.poll_transmit();
        s.handle_input(at(), r);
    }
    assert!(s.poll_transmit().unwrap().ends_with(b"\r\n.\r\n"));
    s.handle_eof();
    assert!(
        matches!(s.outcome(), Some(Outcome::DeliveryUnknown(m)) if m.contains("delivery status unknown"))
    );
}

#[test]
fn hang_up_at_each_stage_names_the_command() {
    for (verb, stage) in [
        ("EHLO", "EHLO"),
        ("MAIL", "MAIL FROM"),
        ("RCPT", "RCPT TO"),
        ("DATA", "DATA"),
    ] {
        let mut fake = Fake::new();
        fake.hang_up_at = Some(verb.to_string());
        let Pair { client: s, .. } = drive(plan(), fake);
        match s.outcome() {
            Some(Outcome::ConnectionLost(m)) => {
                assert!(
                    m.ends_with(&format!("while waiting for the reply to {stage}")),
                    "{verb}: {m}"
                )
            }
            other => panic!("{verb}: {other:?}"),
        }
    }
}

const LIMIT: Duration = Duration::from_secs(30);

/// A session with a reply deadline, connected at [`at`].
fn timed(mut s: ClientSession) -> ClientSession {
    s.set_reply_timeout(LIMIT);
    s.handle_connected(at());
    s
}

#[test]
fn the_deadline_is_the_sessions_own() {
    let mut s = ClientSession::new(ReplyLimits::default());
    s.handle_connected(at());
    assert_eq!(s.poll_timeout(), None, "no limit given");
    s.set_reply_timeout(LIMIT);
    s.handle_connected(at());
    assert_eq!(s.poll_timeout(), Some(at() + LIMIT), "the greeting is due");
    let later = at() + Duration::from_secs(10);
    s.handle_input(later, b"220 hi\r\n");
    assert_eq!(s.poll_timeout(), None, "nothing awaited: a user may think");
    s.send_raw("NOOP").unwrap();
    let _ = s.poll_transmit();
    let sent = later + Duration::from_secs(100);
    s.handle_written(sent);
    assert_eq!(s.poll_timeout(), Some(sent + LIMIT));
    // Part of a reply restarts nothing: the limit covers a reply whole.
    s.handle_input(sent + Duration::from_secs(1), b"250 o");
    assert_eq!(s.poll_timeout(), Some(sent + LIMIT));
    // The owner was behind for 20 s: that wait is not the server's.
    s.handle_pause(sent + Duration::from_secs(5));
    s.handle_resume(sent + Duration::from_secs(25));
    let due = sent + LIMIT + Duration::from_secs(20);
    assert_eq!(s.poll_timeout(), Some(due));
    s.handle_timeout(sent + LIMIT);
    assert_eq!(s.outcome(), None, "called early, nothing happens");
    s.handle_timeout(due);
    assert!(matches!(s.outcome(), Some(Outcome::TimedOut(_))));
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn timeout_waiting_for_the_verdict_is_delivery_unknown() {
    let mut s = timed(ClientSession::with_plan(ReplyLimits::default(), plan()));
    for r in [
        "220 hi\r\n",
        "250 mx\r\n",
        "250 ok\r\n",
        "250 ok\r\n",
        "250 ok\r\n",
        "354 go\r\n",
    ] {
        s.handle_input(at(), r.as_bytes());
        let _ = s.poll_transmit();
        s.handle_written(at());
    }
    s.handle_timeout(at() + LIMIT);
    assert!(matches!(s.outcome(), Some(Outcome::DeliveryUnknown(_))));
}

#[test]
fn starttls_drops_what_followed_220_and_says_ehlo_again() {
    let mut fake = Fake::new();
    fake.trailer = Some(("STARTTLS".into(), "250 injected\r\n".into()));
    let mut p = plan();
    p.starttls = true;
    let Pair {
        client: s,
        writes,
        events,
        ..
    } = drive(p, fake);
    assert_eq!(writes[0], "EHLO client.example\r\n");
    assert_eq!(writes[1], "STARTTLS\r\n");
    assert_eq!(writes[2], "EHLO client.example\r\n");
    assert!(s.is_tls());
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::Warning(w) if w.contains("dropped unread"))));
    assert!(matches!(
        s.outcome(),
        Some(Outcome::Completed { accepted: Some(_) })
    ));
}

#[test]
fn starttls_not_offered_fails_before_mail() {
    let mut fake = Fake::new();
    fake.ehlo = "250-mx\r\n250 PIPELINING\r\n".into();
    let mut p = plan();
    p.starttls = true;
    let Pair {
        client: s, writes, ..
    } = drive(p, fake);
    assert!(matches!(s.outcome(), Some(Outcome::NotOffered(_))));
    assert!(!writes.concat().contains("MAIL"));
}

#[test]
fn auth_login_masks_the_password() {
    let fake = Fake::new()
        .on("AUTH", "334 VXNlcm5hbWU6\r\n")
        .on("YWxpY2U=", "334 UGFzc3dvcmQ6\r\n")
        .on("c2VjcmV0", "235 2.7.0 ok\r\n");
    let mut p = plan();
    p.auth = Some((
        Mechanism::Login,
        Credentials {
            user: "alice".into(),
            secret: Secret::new("secret"),
        },
    ));
    p.quit_after = Some(QuitAfter::Auth);
    let Pair {
        client: s,
        writes,
        events,
        ..
    } = drive(p, fake);
    assert_eq!(s.authenticated_user(), Some("alice"));
    assert!(writes.concat().contains("c2VjcmV0\r\n"));
    let shown = sent_lines(&events).join("\n");
    assert!(
        !shown.contains("c2VjcmV0") && !shown.contains("secret"),
        "{shown}"
    );
    assert!(events.iter().any(|e| matches!(e,
        Event::Sent { text, revealed: Some(r), .. } if text == "********" && r == "c2VjcmV0")));
    assert_eq!(writes.last().map(String::as_str), Some("QUIT\r\n"));
}

#[test]
fn quit_after_each_point() {
    let cases = [
        (QuitAfter::Greeting, "QUIT"),
        (QuitAfter::Ehlo, "EHLO"),
        (QuitAfter::StartTls, "EHLO"),
        (QuitAfter::Auth, "EHLO"),
        (QuitAfter::Mail, "MAIL"),
        (QuitAfter::Rcpt, "RCPT"),
    ];
    for (q, last_before_quit) in cases {
        let fake = Fake::new();
        let mut p = plan();
        p.quit_after = Some(q);
        let Pair {
            client: s,
            server: fake,
            writes,
            ..
        } = drive(p, fake);
        let lines: Vec<&str> = writes
            .iter()
            .flat_map(|w| w.split_terminator("\r\n"))
            .collect();
        assert_eq!(lines.last(), Some(&"QUIT"), "{q:?}");
        if lines.len() > 1 {
            assert!(
                lines[lines.len() - 2].starts_with(last_before_quit),
                "{q:?}: {lines:?}"
            );
        }
        assert!(
            !fake.received.iter().any(|l| l == "."),
            "{q:?} sent content"
        );
        assert_eq!(
            s.outcome(),
            Some(&Outcome::Completed { accepted: None }),
            "{q:?}"
        );
    }
    // Connect: nothing at all is written.
    let Pair {
        client: s, writes, ..
    } = drive(
        Plan {
            quit_after: Some(QuitAfter::Connect),
            ..plan()
        },
        Fake::new(),
    );
    assert!(writes.is_empty() && s.is_closed());
    // Data: DATA is accepted, then the connection closes with no content.
    let Pair {
        client: s, writes, ..
    } = drive(
        Plan {
            quit_after: Some(QuitAfter::Data),
            ..plan()
        },
        Fake::new(),
    );
    assert_eq!(writes.last().map(String::as_str), Some("DATA\r\n"));
    assert!(s.is_closed());
}

#[test]
fn ehlo_refused_falls_back_to_helo() {
    let fake = Fake::new().on("EHLO", "502 5.5.1 what?\r\n");
    let Pair {
        client: s, writes, ..
    } = drive(plan(), fake);
    assert_eq!(writes[1], "HELO client.example\r\n");
    // HELO means no SIZE parameter: the server announced nothing.
    assert_eq!(writes[2], "MAIL FROM:<a@client.example>\r\n");
    assert!(matches!(s.outcome(), Some(Outcome::Completed { .. })));
}

#[test]
fn bdat_chunks() {
    let fake = Fake::new();
    let mut p = plan();
    p.transfer = Transfer::Bdat { chunk_size: 10 };
    let Pair {
        client: s, writes, ..
    } = drive(p, fake);
    let all = writes.concat();
    assert!(all.contains("BDAT 10\r\nSubject: h"), "{all}");
    assert!(all.contains("BDAT 1 LAST\r\n\n"), "{all}");
    assert!(all.contains(".dot"), "BDAT is never stuffed: {all}");
    assert!(matches!(
        s.outcome(),
        Some(Outcome::Completed { accepted: Some(_) })
    ));
}

#[test]
fn by_hand_with_raw_lines() {
    let mut s = ClientSession::new(ReplyLimits::default());
    let mut wire = Vec::new();
    // Sends what was typed, as the transport does before reading.
    let mut raw = |s: &mut ClientSession, line: &str| {
        s.send_raw(line).unwrap();
        wire.extend(s.poll_transmit().unwrap_or_default());
    };
    s.handle_input(at(), b"220 mx ESMTP\r\n");
    assert_eq!(s.stage(), Stage::Greeted);
    assert_eq!(s.suggested()[0], Verb::Ehlo);
    raw(&mut s, "ehlo me");
    s.handle_input(at(), b"250-mx\r\n250 AUTH LOGIN\r\n");
    assert_eq!(s.stage(), Stage::Ready);
    assert!(s.suggested().contains(&Verb::Auth));
    raw(&mut s, "HELLO wrong");
    s.handle_input(at(), b"500 5.5.2 unknown command\r\n");
    assert_eq!(s.stage(), Stage::Ready);
    raw(&mut s, "MAIL FROM:<a@b>");
    s.handle_input(at(), b"250 ok\r\n");
    assert_eq!(s.stage(), Stage::Mail);
    raw(&mut s, "RCPT TO:<c@d>");
    s.handle_input(at(), b"250 ok\r\n");
    raw(&mut s, "DATA");
    s.handle_input(at(), b"354 go\r\n");
    assert_eq!(s.stage(), Stage::Data);
    raw(&mut s, "Subject: by hand");
    raw(&mut s, "");
    raw(&mut s, "QUIT"); // content, not a command
    assert!(!s.awaiting_reply());
    raw(&mut s, ".");
    assert!(s.awaiting_reply());
    s.handle_input(at(), b"250 2.0.0 queued\r\n");
    assert_eq!(s.stage(), Stage::Ready);
    assert_eq!(s.messages_accepted(), 1);
    assert!(s.send_raw("a\r\nb").is_err());
    // AUTH typed by hand: the next raw line answers the challenge.
    raw(&mut s, "AUTH LOGIN");
    s.handle_input(at(), b"334 VXNlcm5hbWU6\r\n");
    raw(&mut s, "YWxpY2U=");
    s.handle_input(at(), b"334 UGFzc3dvcmQ6\r\n");
    raw(&mut s, "c2VjcmV0");
    s.handle_input(at(), b"235 2.7.0 ok\r\n");
    assert!(s.authenticated_user().is_some());
    let wire = String::from_utf8(wire).unwrap();
    assert!(wire.ends_with("AUTH LOGIN\r\nYWxpY2U=\r\nc2VjcmV0\r\n"));
}

#[test]
fn a_flood_of_replies_by_hand_is_warned_of_ten_times() {
    let mut s = ClientSession::new(ReplyLimits::default());
    s.handle_input(at(), b"220 hi\r\n");
    s.handle_input(at(), &b"250 ok\r\n".repeat(25));
    let events: Vec<_> = std::iter::from_fn(|| s.poll_event()).collect();
    let warnings: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::Warning(w) => Some(w.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(warnings.len(), 10, "{warnings:?}");
    assert!(warnings[9].ends_with("(more such replies are shown without this warning)"));
    let replies = events.iter().filter(|e| matches!(e, Event::Reply { .. }));
    assert_eq!(replies.count(), 26, "every reply is still shown");
    assert!(!s.is_closed());
}

#[test]
fn by_hand_a_flood_or_an_endless_line_closes_the_session() {
    let mut s = ClientSession::new(ReplyLimits::default());
    s.handle_input(at(), b"220 hi\r\n");
    s.handle_input(at(), &b"250 ok\r\n2x0 unreadable\r\n".repeat(499));
    assert!(!s.is_closed(), "998 of them are not yet a flood");
    s.handle_input(at(), b"250 ok\r\n250 ok\r\n250 ok\r\n");
    assert!(s.is_closed());
    match s.outcome() {
        Some(Outcome::Protocol(m)) => assert!(
            m.starts_with("the server has sent 1000 replies that answer nothing or cannot be read"),
            "{m}"
        ),
        other => panic!("{other:?}"),
    }

    let mut s = ClientSession::new(ReplyLimits::default());
    s.handle_input(at(), b"220 ");
    s.handle_input(at(), &[b'x'; 5000]);
    assert!(s.is_closed());
    assert!(matches!(s.outcome(), Some(Outcome::Protocol(m))
        if m == "reply line longer than 4096 bytes: no SMTP server sends that; \
                 closing the connection"));

    // A reply that is merely malformed leaves the session open.
    let mut s = ClientSession::new(ReplyLimits::default());
    s.handle_input(at(), b"22O hello\r\n");
    assert!(!s.is_closed());
}

#[test]
fn a_timeout_shows_the_part_of_a_reply_that_came() {
    let mut s = timed(ClientSession::new(ReplyLimits::default()));
    s.handle_input(at(), b"220 slow.exa");
    s.handle_timeout(at() + LIMIT);
    assert_eq!(
        s.outcome(),
        Some(&Outcome::TimedOut(
            "no reply within the time limit while waiting for the reply to the greeting; \
             part of a reply came, never finished (the limit covers a whole reply): \
             \"220 slow.exa\""
                .into()
        ))
    );
    // A multi-line reply cut after a whole line shows that line.
    let mut s = timed(ClientSession::new(ReplyLimits::default()));
    s.handle_input(at(), b"220-first\r\n");
    s.handle_timeout(at() + LIMIT);
    assert!(matches!(s.outcome(), Some(Outcome::TimedOut(m)) if m.ends_with("\"220-first\"")));
}

#[test]
fn a_421_closes_the_session() {
    let mut s = ClientSession::new(ReplyLimits::default());
    s.handle_input(at(), b"220 hi\r\n");
    s.handle_input(at(), b"421 4.4.2 idle too long\r\n");
    assert!(s.is_closed());
}

/// The conversation of `plan()`, one entry per turn of the server.
const TURNS: &[&[u8]] = &[
    b"220 hi\r\n",
    b"250-mx\r\n250 SIZE 100\r\n",
    b"250 ok\r\n",
    b"250 ok\r\n",
    b"250 ok\r\n",
    b"354 go\r\n",
    b"250 queued\r\n",
    b"221 bye\r\n",
];

/// Feeds `chunks`, sending what the session queues after each.
fn converse(chunks: &[&[u8]]) -> (Vec<Event>, Option<Outcome>) {
    let mut s = ClientSession::with_plan(ReplyLimits::default(), plan());
    let mut events = Vec::new();
    for c in chunks {
        s.handle_input(at(), c);
        let _ = s.poll_transmit();
        events.extend(std::iter::from_fn(|| s.poll_event()));
    }
    (events, s.outcome().cloned())
}

#[test]
fn the_same_events_whatever_the_split_of_the_replies() {
    let whole = converse(TURNS);
    assert!(matches!(
        whole.1,
        Some(Outcome::Completed { accepted: Some(_) })
    ));
    for (turn, bytes) in TURNS.iter().enumerate() {
        for cut in 0..=bytes.len() {
            let mut chunks: Vec<&[u8]> = TURNS[..turn].to_vec();
            chunks.extend([&bytes[..cut], &bytes[cut..]]);
            chunks.extend(&TURNS[turn + 1..]);
            assert_eq!(converse(&chunks), whole, "turn {turn} cut at {cut}");
        }
    }
}

#[test]
fn replies_before_their_command_was_sent_answer_nothing() {
    // The whole conversation in one read: everything after the greeting
    // arrived before EHLO went out.
    let (events, outcome) = converse(&[&TURNS.concat()]);
    let m = "the server sent 250 before the command it would answer was sent: it is \
             out of step (a broken server, or one flooding replies)";
    assert_eq!(outcome, Some(Outcome::Protocol(m.into())));
    assert!(events.contains(&Event::Error(m.into())));
    // EHLO was queued, never sent: the transcript does not show it.
    assert!(sent_lines(&events).is_empty(), "{events:?}");
}

#[test]
fn a_session_ended_as_a_protocol_error_sends_nothing_more() {
    // The 354 and a stray reply in one read: the content was queued on
    // the 354, and must not go out once the stray reply ends the session.
    let mut s = ClientSession::with_plan(ReplyLimits::default(), plan());
    for turn in &TURNS[..5] {
        s.handle_input(at(), turn);
        let _ = s.poll_transmit();
    }
    let _ = std::iter::from_fn(|| s.poll_event()).count();
    s.handle_input(at(), b"354 go\r\n250 stray\r\n");
    assert!(matches!(s.outcome(), Some(Outcome::Protocol(_))));
    assert_eq!(s.poll_transmit(), None, "content sent after the failure");
    assert!(s.is_closed());
    let events: Vec<_> = std::iter::from_fn(|| s.poll_event()).collect();
    assert!(sent_lines(&events).is_empty(), "shown as sent: {events:?}");
}

#[test]
fn a_positive_reply_a_command_cannot_get_is_a_protocol_error() {
    for (turn, wrong, says) in [
        (5, &b"250 ok\r\n"[..], "DATA cannot be answered with 250"),
        (2, b"354 go\r\n", "MAIL FROM cannot be answered with 354"),
        (1, b"220 hi\r\n", "EHLO cannot be answered with 220"),
        (
            0,
            b"250 hi\r\n",
            "a greeting must be 220 (or 554 to refuse), not 250",
        ),
    ] {
        let mut chunks: Vec<&[u8]> = TURNS[..turn].to_vec();
        chunks.push(wrong);
        let (_, outcome) = converse(&chunks);
        match outcome {
            Some(Outcome::Protocol(m)) => assert!(m.starts_with(says), "{m}"),
            other => panic!("{says}: {other:?}"),
        }
    }
    // By hand, the same is a warning and the session goes on.
    let mut s = ClientSession::new(ReplyLimits::default());
    s.handle_input(at(), b"220 hi\r\n");
    s.send_raw("NOOP").unwrap();
    let _ = s.poll_transmit();
    s.handle_input(at(), b"354 go\r\n");
    let events: Vec<_> = std::iter::from_fn(|| s.poll_event()).collect();
    assert!(events.iter().any(|e| matches!(e, Event::Warning(w)
        if w.starts_with("NOOP cannot be answered with 354"))));
    assert!(!s.is_closed());
}

/// The handshake's time is not counted against the reply awaited next: the
/// deadline starts again when TLS is up.
#[test]
fn the_reply_deadline_starts_again_after_the_tls_handshake() {
    let limit = std::time::Duration::from_secs(10);
    let t0 = pair::at();
    let mut p = plan();
    p.starttls = true;
    let mut s = ClientSession::with_plan(ReplyLimits::default(), p);
    s.set_reply_timeout(limit);
    s.handle_connected(t0);
    s.handle_input(t0, b"220 hi\r\n");
    let _ = s.poll_transmit();
    s.handle_written(t0);
    s.handle_input(t0, b"250-hi\r\n250 STARTTLS\r\n");
    let _ = s.poll_transmit();
    s.handle_written(t0);
    s.handle_input(t0, b"220 go ahead\r\n");
    assert!(s.awaiting_tls());
    let up = t0 + std::time::Duration::from_secs(9);
    s.handle_tls_established(up, Vec::new());
    // EHLO is queued again; its reply has the whole limit from `up`.
    assert_eq!(s.poll_timeout(), Some(up + limit));
}
