//! The server session's tests: whole transactions by proto's client in
//! memory (`proto::pair`) under each policy, and lines typed by hand for
//! the replies, the limits and the DATA checks.

use super::*;
use crate::proto::auth::{Credentials, Mechanism, Secret};
use crate::proto::client::{ClientSession, Outcome, Plan, QuitAfter, Transfer};
use crate::proto::command::Address;
use crate::proto::pair::{self, Pair, Served};
use crate::proto::reply::ReplyLimits;
use std::collections::HashMap;

#[derive(Default)]
struct TestEnv {
    policy: Policy,
    now: u64,
    first_seen: HashMap<(String, String, String), u64>,
    counter: u64,
    chance: f64,
}

impl ServerEnv for TestEnv {
    fn policy(&self) -> std::sync::Arc<Policy> {
        std::sync::Arc::new(self.policy.clone())
    }
    fn greylist(&mut self, client: &str, from: &str, to: &str) -> Option<u64> {
        let delay = self.policy.greylist_secs?;
        let key = (client.to_string(), from.to_string(), to.to_string());
        let first = *self.first_seen.entry(key).or_insert(self.now);
        let waited = self.now - first;
        (waited < delay).then(|| delay - waited)
    }
    fn chance(&mut self) -> f64 {
        self.chance
    }
    fn unique(&mut self) -> String {
        self.counter += 1;
        format!("Q{}", self.counter)
    }
}

/// A session that has said 354 to DATA, its replies so far taken.
fn in_data(env: &mut TestEnv) -> ServerSession {
    let mut s = ServerSession::new(config());
    for line in [
        "EHLO c",
        "MAIL FROM:<a@b.example>",
        "RCPT TO:<alice@example.test>",
        "DATA",
    ] {
        s.handle_input(format!("{line}\r\n").as_bytes(), env);
    }
    let _ = s.poll_transmit();
    s
}

fn config() -> ServerConfig {
    ServerConfig {
        hostname: "demo.example.test".into(),
        client: "127.0.0.1".into(),
        tls_available: true,
    }
}

fn plan() -> Plan {
    Plan {
        pipelining: true,
        ..pair::plan(
            "sender@client.example",
            &["alice@example.test", "bob@example.test"],
            b"From: x\r\nSubject: t\r\n\r\n.leading dot\r\n..two\r\nend\r\n",
        )
    }
}

/// A client running `plan` against this server in memory.
fn serve(plan: Plan, env: &mut TestEnv) -> Run<'_> {
    let client = ClientSession::with_plan(ReplyLimits::default(), plan);
    Pair::new(client, Served::new(config(), env)).run()
}

type Run<'e> = Pair<Served<'e, TestEnv>>;

fn accepted(run: &Run) -> bool {
    matches!(
        run.client.outcome(),
        Some(Outcome::Completed { accepted: Some(_) })
    )
}

fn refused_with(run: &Run) -> Option<String> {
    match run.client.outcome() {
        Some(Outcome::Refused(r)) => Some(format!(
            "{} {}",
            r.code,
            r.enhanced.map(|e| e.to_string()).unwrap_or_default()
        )),
        _ => None,
    }
}

#[test]
fn a_whole_pipelined_transaction_is_stored_as_sent() {
    let mut env = TestEnv::default();
    let run = serve(plan(), &mut env);
    assert!(accepted(&run), "{:?}", run.client.outcome());
    let m = &run.server.messages[0];
    assert_eq!(m.mail_from, "sender@client.example");
    assert_eq!(
        m.mail_params,
        vec![format!("SIZE={}", plan().content.len())]
    );
    assert_eq!(
        m.rcpts.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
        ["alice@example.test", "bob@example.test"]
    );
    assert_eq!(m.helo, "client.example");
    assert_eq!(
        m.content,
        &*plan().content,
        "un-stuffed content equals what was given"
    );
    // Every reply carries an enhanced code but those RFC 2034 leaves
    // out: the greeting, EHLO's, and the 3xx intermediate ones.
    for r in &run.server.replies {
        let ok = r.starts_with("220 demo")
            || r.starts_with("250-demo")
            || r.starts_with('3')
            || r.get(4..)
                .and_then(|t| crate::proto::reply::EnhancedStatus::parse_prefix(t.as_bytes()))
                .is_some();
        assert!(ok, "no enhanced status: {r}");
    }
}

#[test]
fn the_whole_command_set_by_hand() {
    let mut env = TestEnv::default();
    let mut s = ServerSession::new(config());
    let mut talk = |line: &str, s: &mut ServerSession| -> String {
        let _ = s.poll_transmit();
        s.handle_input(format!("{line}\r\n").as_bytes(), &mut env);
        String::from_utf8(s.poll_transmit().unwrap_or_default()).unwrap()
    };
    assert!(talk("MAIL FROM:<a@b>", &mut s).starts_with("503 5.5.1"));
    assert!(talk("HELP", &mut s).starts_with("214"));
    assert!(talk("NOOP", &mut s).starts_with("250 2.0.0"));
    assert!(talk("EHLO c.example", &mut s).contains("250 CHUNKING"));
    assert!(talk("HELO c.example", &mut s).starts_with("250 demo"));
    assert!(talk("FOO", &mut s).starts_with("500 5.5.2"));
    assert!(talk("RCPT TO:<a@example.test>", &mut s).starts_with("503 5.5.1"));
    assert!(talk("DATA", &mut s).starts_with("503 5.5.1"));
    assert!(talk("VRFY alice", &mut s).starts_with("252 2.0.0"));
    assert!(talk("EXPN list", &mut s).starts_with("502 5.5.1"));
    assert!(talk("MAIL FROM:<a@b.example> SIZE=999999999", &mut s).starts_with("552 5.3.4"));
    assert!(talk("MAIL FROM:<a@b.example>", &mut s).starts_with("250 2.1.0"));
    assert!(talk("MAIL FROM:<a@b.example>", &mut s).starts_with("503 5.5.1"));
    assert!(talk("DATA", &mut s).starts_with("554 5.5.1"));
    assert!(talk("RCPT TO:<x@elsewhere.example>", &mut s)
        .starts_with("554 5.7.1 <x@elsewhere.example>: Relay access denied"));
    assert!(talk("RCPT TO:<alice@example.test> NOTIFY=SUCCESS", &mut s).starts_with("250 2.1.5"));
    assert!(talk("DATA", &mut s).starts_with("354"));
    assert_eq!(
        talk("Subject: x\r\n\r\nbody\r\n.", &mut s).get(..9),
        Some("250 2.0.0")
    );
    assert!(talk("RSET", &mut s).starts_with("250 2.0.0"));
    let long = format!("NOOP {}", "x".repeat(600));
    assert!(talk(&long, &mut s).starts_with("500 5.5.2 Error: command line too long"));
    assert!(
        talk("NOOP", &mut s).starts_with("250"),
        "the session goes on after a long line"
    );
    assert!(talk("QUIT", &mut s).starts_with("221 2.0.0"));
    assert!(s.is_closed());
}

#[test]
fn relaying_needs_auth_and_auth_works_for_each_mechanism() {
    for mech in [Mechanism::Plain, Mechanism::Login, Mechanism::CramMd5] {
        let mut env = TestEnv::default();
        let mut p = plan();
        p.rcpts = vec![(Address::new("someone@external.example").unwrap(), vec![])];
        let run = serve(p.clone(), &mut env);
        assert_eq!(refused_with(&run).as_deref(), Some("554 5.7.1"));
        p.starttls = true;
        p.auth = Some((
            mech,
            Credentials {
                user: "alice@example.test".into(),
                secret: Secret::new("wonderland"),
            },
        ));
        let run = serve(p.clone(), &mut env);
        assert!(accepted(&run), "{mech}: {:?}", run.client.outcome());
        assert_eq!(
            run.server.messages[0].auth.as_deref(),
            Some("alice@example.test")
        );
        assert!(run.server.messages[0].tls);
        assert!(
            !run.server
                .commands
                .iter()
                .any(|c| c.contains("d29uZGVybGFuZ") || c.contains("wonderland")),
            "{mech}: secret in the server's log: {:?}",
            run.server.commands
        );
        p.auth = Some((
            mech,
            Credentials {
                user: "alice@example.test".into(),
                secret: Secret::new("wrong"),
            },
        ));
        let run = serve(p, &mut env);
        assert_eq!(refused_with(&run).as_deref(), Some("535 5.7.8"), "{mech}");
    }
}

#[test]
fn policies_give_the_codes_a_client_sees() {
    let mut env = TestEnv::default();
    env.policy.require_auth = true;
    let run = serve(plan(), &mut env);
    assert_eq!(refused_with(&run).as_deref(), Some("530 5.7.0"));

    let mut env = TestEnv::default();
    env.policy.require_tls = true;
    let run = serve(plan(), &mut env);
    assert_eq!(refused_with(&run).as_deref(), Some("530 5.7.0"));
    let run = serve(
        Plan {
            starttls: true,
            ..plan()
        },
        &mut env,
    );
    assert!(accepted(&run));

    let mut env = TestEnv::default();
    env.policy.max_size = 10;
    let run = serve(plan(), &mut env);
    assert_eq!(refused_with(&run).as_deref(), Some("552 5.3.4"));

    let mut env = TestEnv::default();
    env.policy.transient_failure = 0.5;
    env.chance = 0.1;
    let run = serve(plan(), &mut env);
    assert_eq!(refused_with(&run).as_deref(), Some("451 4.3.0"));

    for (mode, code) in [
        (VrfyMode::Ambiguous, "252"),
        (VrfyMode::Verify, "250"),
        (VrfyMode::Refuse, "550"),
        (VrfyMode::Disabled, "502"),
    ] {
        let mut env = TestEnv::default();
        env.policy.vrfy = mode;
        let p = Plan {
            vrfy: vec!["alice".into()],
            rcpts: vec![],
            ..plan()
        };
        let run = serve(p, &mut env);
        assert!(
            run.server.replies.iter().any(|r| r.starts_with(code)),
            "{mode:?}: {:?}",
            run.server.replies
        );
    }
}

#[test]
fn greylisting_defers_the_first_try_and_accepts_the_retry() {
    let mut env = TestEnv::default();
    env.policy.greylist_secs = Some(60);
    let run = serve(plan(), &mut env);
    assert_eq!(refused_with(&run).as_deref(), Some("450 4.7.1"));
    env.now += 30;
    let run = serve(plan(), &mut env);
    assert_eq!(refused_with(&run).as_deref(), Some("450 4.7.1"));
    assert!(run
        .server
        .replies
        .iter()
        .any(|r| r.contains("try again in 30 seconds")));
    env.now += 31;
    let run = serve(plan(), &mut env);
    assert!(accepted(&run));
}

#[test]
fn bdat_and_quit_points() {
    let mut env = TestEnv::default();
    let p = Plan {
        transfer: Transfer::Bdat { chunk_size: 7 },
        ..plan()
    };
    let run = serve(p, &mut env);
    assert!(accepted(&run));
    assert_eq!(run.server.messages[0].content, &*plan().content);
    let p = Plan {
        quit_after: Some(QuitAfter::Rcpt),
        ..plan()
    };
    let run = serve(p, &mut env);
    assert!(run.server.messages.is_empty());
    let p = Plan {
        quit_after: Some(QuitAfter::Data),
        ..plan()
    };
    let run = serve(p, &mut env);
    assert!(run.server.messages.is_empty());
}

#[test]
fn bare_lf_and_long_lines_are_refused() {
    for content in [&b"Subject: x\n\nbare\n"[..], &[b'y'; 1200][..]] {
        let mut env = TestEnv::default();
        let mut s = in_data(&mut env);
        s.handle_input(content, &mut env);
        s.handle_input(b"\r\n.\r\n", &mut env);
        let out = String::from_utf8(s.poll_transmit().unwrap()).unwrap();
        assert!(out.starts_with("554 5.6.0"), "{out}");
    }
}

#[test]
fn a_crlf_split_between_reads_is_not_a_bare_lf() {
    let mut env = TestEnv::default();
    let mut s = in_data(&mut env);
    for part in [&b"Subject: x\r"[..], b"\n\r", b"\nbody\r", b"\n.\r\n"] {
        s.handle_input(part, &mut env);
    }
    let out = String::from_utf8(s.poll_transmit().unwrap()).unwrap();
    assert!(out.starts_with("250 2.0.0"), "{out}");
}

#[test]
fn a_text_line_of_exactly_1000_octets_is_accepted() {
    for (len, ok) in [(998, true), (999, false)] {
        let mut env = TestEnv::default();
        let mut s = in_data(&mut env);
        s.handle_input(&vec![b'x'; len], &mut env);
        s.handle_input(b"\r\n.\r\n", &mut env);
        let out = String::from_utf8(s.poll_transmit().unwrap()).unwrap();
        assert_eq!(out.starts_with("250"), ok, "{len}: {out}");
    }
}

#[test]
fn bytes_after_starttls_are_not_read_as_commands() {
    let mut env = TestEnv::default();
    let mut s = ServerSession::new(config());
    s.handle_input(b"EHLO c\r\n", &mut env);
    let _ = s.poll_transmit();
    s.handle_input(b"STARTTLS\r\nRSET\r\n", &mut env);
    let out = String::from_utf8(s.poll_transmit().unwrap()).unwrap();
    assert_eq!(out, "220 2.0.0 Ready to start TLS\r\n");
}

#[test]
fn too_many_errors_end_the_session() {
    let mut env = TestEnv::default();
    let mut s = ServerSession::new(config());
    for _ in 0..MAX_ERRORS {
        s.handle_input(b"BOGUS\r\n", &mut env);
    }
    assert!(s.is_closed());
    let out = String::from_utf8(s.poll_transmit().unwrap()).unwrap();
    assert!(out.ends_with("421 4.7.0 Error: too many errors\r\n"));
}

#[test]
fn content_past_the_limit_is_counted_not_kept() {
    let mut env = TestEnv::default();
    env.policy.max_size = 1000;
    let mut s = in_data(&mut env);
    let line = [b'z'; 998];
    for _ in 0..10_000 {
        s.handle_input(&line, &mut env);
        s.handle_input(b"\r\n", &mut env);
        assert!(s.content.kept.len() <= 1000);
    }
    s.handle_input(b".\r\n", &mut env);
    let out = String::from_utf8(s.poll_transmit().unwrap()).unwrap();
    assert!(
        out.ends_with("552 5.3.4 Error: message file too big\r\n"),
        "{out}"
    );
}

// ------------------------------------------------------------------ LMTP

fn lmtp_env() -> TestEnv {
    TestEnv {
        policy: Policy {
            lmtp: true,
            bounce: vec!["bob@example.test".into()],
            ..Policy::default()
        },
        ..TestEnv::default()
    }
}

/// Proto's LMTP client against proto's server in LMTP mode: LHLO, and a
/// reply per recipient after the content, over DATA and over BDAT.
#[test]
fn lmtp_in_memory_gets_a_reply_per_recipient() {
    for transfer in [Transfer::Data, Transfer::Bdat { chunk_size: 7 }] {
        let mut env = lmtp_env();
        let mut client =
            ClientSession::with_plan(ReplyLimits::default(), Plan { transfer, ..plan() });
        client.set_protocol(crate::proto::client::Protocol::Lmtp);
        let run = Pair::new(client, Served::new(config(), &mut env)).run();
        assert!(
            run.writes[0].starts_with("LHLO client.example"),
            "{:?}",
            run.writes
        );
        let replies = &run.server.replies;
        assert!(
            replies
                .iter()
                .any(|r| r.starts_with("250 2.0.0 <alice@example.test> Ok: delivered as")),
            "{replies:?}"
        );
        assert!(
            replies
                .iter()
                .any(|r| r.starts_with("552 5.2.2 <bob@example.test>")),
            "{replies:?}"
        );
        assert!(accepted(&run), "{transfer:?}: {:?}", run.client.outcome());
        assert_eq!(
            run.client.partial_refusal().map(|r| r.code.value()),
            Some(552)
        );
        // Only alice's copy is kept; bob's was refused, so no bounce is due.
        assert_eq!(run.server.messages.len(), 1);
        let rcpts: Vec<&str> = run.server.messages[0]
            .rcpts
            .iter()
            .map(|(r, _)| r.as_str())
            .collect();
        assert_eq!(rcpts, ["alice@example.test"]);
    }
}

#[test]
fn an_lmtp_server_refuses_ehlo_and_refuses_bad_content_once_per_recipient() {
    let mut env = lmtp_env();
    let mut s = ServerSession::new(config());
    s.handle_input(b"EHLO c\r\n", &mut env);
    let out = String::from_utf8(s.poll_transmit().unwrap_or_default()).unwrap();
    assert!(
        out.contains("500 5.5.1 Error: this is an LMTP server: say LHLO"),
        "{out}"
    );
    for line in [
        "LHLO c",
        "MAIL FROM:<a@b.example>",
        "RCPT TO:<alice@example.test>",
        "RCPT TO:<carol@example.test>",
        "DATA",
    ] {
        s.handle_input(format!("{line}\r\n").as_bytes(), &mut env);
    }
    let _ = s.poll_transmit();
    // A bare LF in the content: refused, once for each recipient.
    s.handle_input(b"Subject: x\r\n\r\nbare\nlf\r\n.\r\n", &mut env);
    let out = String::from_utf8(s.poll_transmit().unwrap_or_default()).unwrap();
    assert_eq!(out.matches("\r\n").count(), 2, "{out}");
    assert!(out.lines().all(|l| l.starts_with('5')), "{out}");
}

// ----------------------------------------------------- SMTP smuggling

/// Whether a look-alike holds a LF without a CR before it.
fn has_bare_lf(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .enumerate()
        .any(|(i, &b)| b == b'\n' && (i == 0 || bytes[i - 1] != b'\r'))
}

/// Every end-of-data look-alike of the smuggling probe, inside DATA and
/// split at every byte: none ends the data (no reply before the real
/// `<CRLF>.<CRLF>`); then one reply, a refusal naming bare LF where the
/// look-alike holds one (RFC 5321, section 2.3.8; Postfix's
/// `smtpd_forbid_bare_newline = reject`), else the message accepted with
/// the bare CRs kept as content.
#[test]
fn no_end_of_data_look_alike_ends_the_data() {
    use crate::proto::probe::smuggling::{held_content, Letter, VARIANTS};
    let letter = Letter {
        from: "a@b.example",
        to: "alice@example.test",
        date: "Fri, 4 Dec 2026 20:00:00 +0000",
        message_id: "1@b.example",
    };
    for v in VARIANTS {
        let content = held_content(&v, &letter);
        for cut in 0..=content.len() {
            let mut env = TestEnv::default();
            let mut s = in_data(&mut env);
            s.handle_input(&content[..cut], &mut env);
            s.handle_input(&content[cut..], &mut env);
            assert!(
                s.poll_transmit().is_none(),
                "{} cut at {cut}: the server answered before the real end",
                v.name
            );
            s.handle_input(crate::proto::probe::smuggling::END, &mut env);
            s.handle_input(b"QUIT\r\n", &mut env);
            let out = String::from_utf8(s.poll_transmit().unwrap()).unwrap();
            let want = if has_bare_lf(v.bytes) {
                "554 5.6.0 Error: bare LF"
            } else {
                "250 2.0.0 Ok"
            };
            assert!(out.starts_with(want), "{} cut at {cut}: {out}", v.name);
            assert!(
                out.ends_with("221 2.0.0 Bye\r\n") || out.contains("\r\n221 "),
                "{out}"
            );
        }
    }
}

/// BDAT counts its bytes, so a look-alike cannot end it early; the
/// same bare-LF check applies to the whole message.
#[test]
fn a_look_alike_in_bdat_is_content() {
    use crate::proto::probe::smuggling::VARIANTS;
    for v in VARIANTS {
        let mut env = TestEnv::default();
        let mut s = ServerSession::new(config());
        for line in [
            "EHLO c",
            "MAIL FROM:<a@b.example>",
            "RCPT TO:<alice@example.test>",
        ] {
            s.handle_input(format!("{line}\r\n").as_bytes(), &mut env);
        }
        let _ = s.poll_transmit();
        let mut body = b"Subject: p\r\n\r\nmark".to_vec();
        body.extend_from_slice(v.bytes);
        body.extend_from_slice(b"\r\n");
        s.handle_input(format!("BDAT {} LAST\r\n", body.len()).as_bytes(), &mut env);
        for b in &body {
            assert!(s.poll_transmit().is_none(), "{}", v.name);
            s.handle_input(std::slice::from_ref(b), &mut env);
        }
        let out = String::from_utf8(s.poll_transmit().unwrap()).unwrap();
        let want = if has_bare_lf(v.bytes) {
            "554 5.6.0"
        } else {
            "250 2.0.0"
        };
        assert!(out.starts_with(want), "{}: {out}", v.name);
    }
}

#[test]
fn the_summary_follows_the_session_stage_by_stage() {
    let mut env = TestEnv::default();
    let mut s = ServerSession::new(config());
    let stage = |s: &ServerSession| s.summary().stage;
    assert_eq!(stage(&s), "connect");
    let steps = [
        ("EHLO student.example", "ehlo"),
        ("AUTH PLAIN", "auth"),
        // \0alice@example.test\0wonderland
        ("AGFsaWNlQGV4YW1wbGUudGVzdAB3b25kZXJsYW5k", "ehlo"),
        ("MAIL FROM:<a@b.example>", "mail"),
        ("RCPT TO:<alice@example.test>", "rcpt"),
        ("DATA", "data"),
        ("Subject: x\r\n\r\nhi\r\n.", "ehlo"),
        ("QUIT", "closed"),
    ];
    for (line, want) in steps {
        s.handle_input(format!("{line}\r\n").as_bytes(), &mut env);
        assert_eq!(stage(&s), want, "after {line:?}");
    }
    let summary = s.summary();
    assert_eq!(summary.helo.as_deref(), Some("student.example"));
    assert_eq!(summary.user.as_deref(), Some("alice@example.test"));
    assert!(!summary.tls);
}

#[test]
fn an_auth_answer_is_one_masked_line_whether_typed_apart_or_with_the_command() {
    let commands = |lines: &[&str]| {
        let mut env = TestEnv::default();
        let mut s = ServerSession::new(config());
        for line in lines {
            s.handle_input(format!("{line}\r\n").as_bytes(), &mut env);
        }
        let mut out = Vec::new();
        while let Some(e) = s.poll_event() {
            if let ServerEvent::Command(c) = e {
                out.push(c);
            }
        }
        out
    };
    let secret = "AGFsaWNlQGV4YW1wbGUudGVzdAB3b25kZXJsYW5k";
    assert_eq!(
        commands(&["EHLO c", &format!("AUTH PLAIN {secret}")]),
        ["EHLO c", "AUTH PLAIN ********"]
    );
    assert_eq!(
        commands(&["EHLO c", "AUTH PLAIN", secret]),
        ["EHLO c", "AUTH PLAIN", "********"]
    );
    // AUTH LOGIN with the user name given: then the password, typed.
    assert_eq!(
        commands(&[
            "EHLO c",
            "AUTH LOGIN YWxpY2VAZXhhbXBsZS50ZXN0",
            "d29uZGVybGFuZA=="
        ]),
        ["EHLO c", "AUTH LOGIN ********", "********"]
    );
}
