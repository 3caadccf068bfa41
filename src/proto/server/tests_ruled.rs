//! The session obeying what a server rule says: a reply in place of its
//! own (the state untouched), a pause, a hang-up before and after the
//! reply, a bounce after acceptance, a 554 greeting, a refused login.

use super::*;

/// An environment whose one rule is `rule` at `stage`.
struct RuledEnv {
    stage: Stage,
    rule: Ruling,
    users: Policy,
}

impl RuledEnv {
    fn new(stage: Stage, f: impl FnOnce(&mut Ruling)) -> Self {
        let mut rule = Ruling {
            stage,
            index: 1,
            name: Some("t".into()),
            reply: None,
            delay_ms: 0,
            hangup: None,
            bounce: false,
            why: String::new(),
        };
        f(&mut rule);
        Self {
            stage,
            rule,
            users: Policy::default(),
        }
    }
}

impl ServerEnv for RuledEnv {
    fn policy(&self) -> std::sync::Arc<Policy> {
        std::sync::Arc::new(self.users.clone())
    }
    fn greylist(&mut self, _: &str, _: &str, _: &str) -> Option<u64> {
        None
    }
    fn chance(&mut self) -> f64 {
        1.0
    }
    fn unique(&mut self) -> String {
        "Q1".into()
    }
    fn rule(&mut self, at: &Checkpoint<'_>) -> Option<Ruling> {
        // Only a rule for bob at RCPT, when the stage is RCPT.
        let for_rcpt = at.stage != Stage::Rcpt || at.rcpts == ["bob@example.test"];
        (at.stage == self.stage && for_rcpt).then(|| self.rule.clone())
    }
}

fn config() -> ServerConfig {
    ServerConfig {
        hostname: "demo.example.test".into(),
        client: "127.0.0.1".into(),
        tls_available: false,
    }
}

/// What the session wrote in answer to `lines`, with pauses as `[pause N]`.
fn talk(s: &mut ServerSession, env: &mut RuledEnv, lines: &[&str]) -> String {
    let mut out = String::new();
    for l in lines {
        s.handle_input(format!("{l}\r\n").as_bytes(), env);
    }
    loop {
        if let Some(b) = s.poll_transmit() {
            out.push_str(&String::from_utf8_lossy(&b));
        }
        match s.poll_pause() {
            Some(ms) => out.push_str(&format!("[pause {ms}]")),
            None => return out,
        }
    }
}

fn events(s: &mut ServerSession) -> Vec<ServerEvent> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

const TO_DATA: [&str; 5] = [
    "EHLO c",
    "MAIL FROM:<s@client.example>",
    "RCPT TO:<alice@example.test>",
    "RCPT TO:<bob@example.test>",
    "DATA",
];

#[test]
fn a_reply_at_rcpt_refuses_that_recipient_and_the_rest_goes_on() {
    let mut env = RuledEnv::new(Stage::Rcpt, |r| {
        r.reply = Some("452 4.2.2 Mailbox full".into())
    });
    let mut s = ServerSession::open(config(), &mut env);
    let said = talk(&mut s, &mut env, &TO_DATA);
    assert!(
        said.contains("250 2.1.5 Ok\r\n452 4.2.2 Mailbox full\r\n354 "),
        "{said}"
    );
    let said = talk(&mut s, &mut env, &["x", "."]);
    assert!(said.starts_with("250 2.0.0 Ok: queued"), "{said}");
    let ev = events(&mut s);
    assert!(ev
        .iter()
        .any(|e| matches!(e, ServerEvent::Rule(r) if r.stage == Stage::Rcpt)));
    let m = ev.iter().find_map(|e| match e {
        ServerEvent::Message(m) => Some(m),
        _ => None,
    });
    assert_eq!(m.unwrap().rcpts.len(), 1, "bob was refused");
}

#[test]
fn a_delay_pauses_before_the_reply_and_after_what_came_first() {
    let mut env = RuledEnv::new(Stage::Rcpt, |r| r.delay_ms = 1500);
    let mut s = ServerSession::open(config(), &mut env);
    let said = talk(&mut s, &mut env, &TO_DATA);
    assert!(
        said.ends_with(
            "250 2.1.5 Ok\r\n[pause 1500]250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"
        ),
        "{said}"
    );
}

#[test]
fn a_hangup_before_the_reply_at_dot_drops_the_message() {
    let mut env = RuledEnv::new(Stage::Dot, |r| r.hangup = Some(Hangup::BeforeReply));
    let mut s = ServerSession::open(config(), &mut env);
    let _ = talk(&mut s, &mut env, &TO_DATA);
    let _ = events(&mut s);
    let said = talk(&mut s, &mut env, &["x", "."]);
    assert_eq!(said, "");
    assert!(s.is_closed());
    let ev = events(&mut s);
    assert!(
        !ev.iter().any(|e| matches!(e, ServerEvent::Message(_))),
        "{ev:?}"
    );
    assert!(matches!(ev.last(), Some(ServerEvent::Close)));
}

#[test]
fn a_hangup_after_the_reply_at_dot_keeps_the_message() {
    let mut env = RuledEnv::new(Stage::Dot, |r| r.hangup = Some(Hangup::AfterReply));
    let mut s = ServerSession::open(config(), &mut env);
    let _ = talk(&mut s, &mut env, &TO_DATA);
    let said = talk(&mut s, &mut env, &["x", ".", "NOOP"]);
    assert!(
        said.starts_with("250 2.0.0 Ok: queued") && !said.contains("Ok\r\n250"),
        "{said}"
    );
    assert!(s.is_closed());
    assert!(events(&mut s)
        .iter()
        .any(|e| matches!(e, ServerEvent::Message(_))));
}

#[test]
fn a_421_reply_closes_the_session() {
    let mut env = RuledEnv::new(Stage::Ehlo, |r| r.reply = Some("421 4.7.0 go away".into()));
    let mut s = ServerSession::open(config(), &mut env);
    let said = talk(&mut s, &mut env, &["EHLO c", "NOOP"]);
    assert!(said.ends_with("\r\n421 4.7.0 go away\r\n"), "{said}");
    assert!(s.is_closed());
}

#[test]
fn a_bounce_at_rcpt_names_that_recipient_before_the_message() {
    let mut env = RuledEnv::new(Stage::Rcpt, |r| r.bounce = true);
    let mut s = ServerSession::open(config(), &mut env);
    let said = talk(&mut s, &mut env, &TO_DATA);
    assert_eq!(said.matches("250 2.1.5 Ok").count(), 2, "{said}");
    let said = talk(&mut s, &mut env, &["x", "."]);
    assert!(said.starts_with("250 2.0.0 Ok: queued"), "{said}");
    let ev = events(&mut s);
    let i = ev
        .iter()
        .position(|e| matches!(e, ServerEvent::Bounce(b) if b == &["bob@example.test"]))
        .unwrap_or_else(|| panic!("{ev:?}"));
    assert!(matches!(ev[i + 1], ServerEvent::Message(_)));
}

#[test]
fn a_bounce_at_dot_names_every_recipient() {
    let mut env = RuledEnv::new(Stage::Dot, |r| r.bounce = true);
    let mut s = ServerSession::open(config(), &mut env);
    let _ = talk(&mut s, &mut env, &TO_DATA);
    let _ = talk(&mut s, &mut env, &["x", "."]);
    assert!(events(&mut s)
        .iter()
        .any(|e| matches!(e, ServerEvent::Bounce(b) if b.len() == 2)));
}

#[test]
fn a_554_greeting_leaves_only_quit() {
    let mut env = RuledEnv::new(Stage::Connect, |r| {
        r.reply = Some("554 5.7.1 Not you".into())
    });
    let mut s = ServerSession::open(config(), &mut env);
    let said = talk(&mut s, &mut env, &["EHLO c", "QUIT"]);
    assert!(said.starts_with("554 5.7.1 Not you\r\n503 5.5.1"), "{said}");
    assert!(said.ends_with("221 2.0.0 Bye\r\n"), "{said}");
    assert!(s.is_closed());
}

#[test]
fn a_delay_at_connect_holds_the_greeting() {
    let mut env = RuledEnv::new(Stage::Connect, |r| r.delay_ms = 700);
    let mut s = ServerSession::open(config(), &mut env);
    assert!(matches!(s.poll_event(), Some(ServerEvent::Rule(_))));
    assert!(matches!(s.poll_event(), Some(ServerEvent::Reply(g)) if g.starts_with("220 ")));
    assert!(
        talk(&mut s, &mut env, &[]).starts_with("[pause 700]220 demo.example.test"),
        "the greeting comes after the pause"
    );
}

#[test]
fn a_hangup_at_connect_says_nothing() {
    let mut env = RuledEnv::new(Stage::Connect, |r| r.hangup = Some(Hangup::BeforeReply));
    let mut s = ServerSession::open(config(), &mut env);
    assert_eq!(talk(&mut s, &mut env, &[]), "");
    assert!(s.is_closed());
}

#[test]
fn a_rule_at_auth_refuses_a_good_login() {
    let mut env = RuledEnv::new(Stage::Auth, |r| {
        r.reply = Some("535 5.7.8 Not today".into())
    });
    let mut s = ServerSession::open(config(), &mut env);
    // PLAIN alice@example.test / wonderland
    let said = talk(
        &mut s,
        &mut env,
        &[
            "EHLO c",
            "AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdAB3b25kZXJsYW5k",
            "MAIL FROM:<a@b>",
        ],
    );
    assert!(said.contains("535 5.7.8 Not today"), "{said}");
    assert!(!said.contains("235"), "{said}");
}

#[test]
fn a_quit_rule_replaces_the_221() {
    let mut env = RuledEnv::new(Stage::Quit, |r| r.reply = Some("221 2.0.0 See you".into()));
    let mut s = ServerSession::open(config(), &mut env);
    let said = talk(&mut s, &mut env, &["QUIT"]);
    assert!(said.ends_with("221 2.0.0 See you\r\n"), "{said}");
    assert!(s.is_closed());
}
