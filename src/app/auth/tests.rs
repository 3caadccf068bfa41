use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::analysis::auth::{Answer, Judgement, Lookup, Method, Outcome, Verdict};
use crate::app::test_support::state;
use crate::app::{update, Action, AppState, Effect, Focus, JudgeDns, MessageField};

fn judges(fx: &[Effect]) -> Vec<u64> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Judge { revision, .. } => Some(*revision),
            _ => None,
        })
        .collect()
}

fn verdict(method: Method, result: Outcome) -> Verdict {
    Verdict {
        method,
        result,
        domain: "client.example".into(),
        reason: String::new(),
        sentence: format!("{} said so.", method.name()).into(),
    }
}

fn judgement(result: Outcome) -> Judgement {
    Judgement {
        verdicts: vec![verdict(Method::Dkim, result)],
        lookups: Vec::new(),
    }
}

fn type_in_body(s: &mut AppState, c: char) -> Vec<Effect> {
    s.focus = Focus::Composer;
    s.message.field = MessageField::Body;
    update(
        s,
        Action::Input(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
    )
}

/// Signs as the loop would: the effect run, its answer fed back.
fn sign(s: &mut AppState) -> Vec<Effect> {
    let fx = update(s, Action::SignMessage);
    let Some(Effect::Sign { message, domain }) = fx
        .iter()
        .find(|e| matches!(e, Effect::Sign { .. }))
        .cloned()
    else {
        panic!("no Sign effect: {fx:?}")
    };
    let field = crate::app::auth::signing::sign_demo(&message, &domain);
    update(
        s,
        Action::Signed {
            message,
            domain,
            field,
        },
    )
}

#[test]
fn a_change_asks_for_a_judgement_one_at_a_time_the_newest_next() {
    let mut s = state();
    let fx = update(&mut s, Action::ToggleAnalysis);
    let first = judges(&fx);
    assert_eq!(first.len(), 1, "{fx:?}");
    let Some(Effect::Judge { request, .. }) = fx.first() else {
        panic!()
    };
    assert_eq!(request.dns, JudgeDns::Demo);
    assert_eq!(request.client_ip.to_string(), "127.0.0.1");
    assert_eq!(request.mail_from, "student@client.example");
    assert!(request
        .basis()
        .contains("127.0.0.1 (the built-in server sees"));
    // Two edits while it runs: nothing asked until it ends.
    assert!(judges(&type_in_body(&mut s, 'x')).is_empty());
    assert!(judges(&type_in_body(&mut s, 'y')).is_empty());
    // The old result is dropped and the newest inputs asked for.
    let fx = update(
        &mut s,
        Action::Judged {
            revision: first[0],
            judgement: Ok(judgement(Outcome::Pass)),
        },
    );
    assert!(s.auth.result().is_none(), "a stale result is not shown");
    let newest = judges(&fx);
    assert_eq!(newest.len(), 1);
    assert!(newest[0] > first[0]);
    let Some(Effect::Judge { request, .. }) = fx.first() else {
        panic!()
    };
    assert!(String::from_utf8_lossy(&request.message).contains("xyHello"));
    // Its result is shown; nothing more to ask.
    let fx = update(
        &mut s,
        Action::Judged {
            revision: newest[0],
            judgement: Ok(judgement(Outcome::Fail)),
        },
    );
    assert!(judges(&fx).is_empty());
    assert!(s.auth.is_current());
    let (_, shown) = s.auth.result().unwrap();
    assert_eq!(shown.unwrap().verdicts[0].result, Outcome::Fail);
    // An action that changes no input asks nothing.
    assert!(judges(&update(&mut s, Action::ToggleHelp)).is_empty());
}

#[test]
fn a_real_server_without_dns_is_not_judged_and_says_how_to_ask() {
    let mut s = state();
    s.session.target.server = Some("mx.example.net".into());
    s.refresh();
    assert!(judges(&update(&mut s, Action::ToggleAnalysis)).is_empty());
    assert!(s.auth.not_judged().unwrap().contains("--dns HOST[:PORT]"));
    // With --dns, the connection's own address once connected.
    s.auth.dns = Some("127.0.0.1:5353".parse().unwrap());
    s.refresh();
    assert!(s.auth.not_judged().unwrap().contains("--client-ip"));
    // The session task says where the connection comes from.
    let id = s.session.id;
    let local = "192.0.2.7:40000".parse().unwrap();
    let fx = update(
        &mut s,
        Action::Session {
            id,
            msg: crate::app::SessionMsg::Connected { local },
        },
    );
    let Some(Effect::Judge { request, .. }) = fx.first() else {
        panic!("{fx:?}")
    };
    assert_eq!(request.receiver, "mx.example.net");
    assert!(request
        .basis()
        .contains("192.0.2.7 (the address this connection comes from"));
    assert!(request.basis().contains("127.0.0.1:5353 (--dns)"));
}

#[test]
fn signing_adds_the_field_and_an_edit_after_it_says_it_no_longer_holds() {
    let mut s = state();
    sign(&mut s);
    let headers = s.message.headers.lines().join("\n");
    assert!(
        headers.contains("DKIM-Signature: v=1; a=rsa-sha256;"),
        "{headers}"
    );
    assert!(
        headers.starts_with("From: Student"),
        "the field goes below: {headers}"
    );
    let sent = String::from_utf8(s.message.bytes()).unwrap();
    assert!(sent.contains("d=client.example"), "{sent}");
    assert!(sent.contains("s=demo"), "{sent}");
    assert!(s
        .notice
        .as_deref()
        .unwrap()
        .starts_with("signed with d=client.example"));
    assert!(s.auth.broken().is_none());
    // Signing again replaces the field.
    sign(&mut s);
    let sent = String::from_utf8(s.message.bytes()).unwrap();
    assert_eq!(sent.matches("DKIM-Signature:").count(), 1, "{sent}");
    // One character in the body breaks it: the status line and F2 say so.
    type_in_body(&mut s, '!');
    let why = s.auth.broken().unwrap();
    assert!(why.starts_with("the body changed after signing"), "{why}");
    assert!(s.notice.as_deref().unwrap().contains("no longer holds"));
}

#[test]
fn a_from_domain_the_demo_key_is_not_published_for_is_said() {
    let mut s = state();
    s.message.headers = crate::app::field("From: <ceo@bank.example>\nSubject: hi");
    s.refresh();
    sign(&mut s);
    let sent = String::from_utf8(s.message.bytes()).unwrap();
    assert!(sent.contains("d=client.example"), "{sent}");
    assert!(s
        .notice
        .as_deref()
        .unwrap()
        .contains("From: is bank.example"));
}

#[test]
fn a_signature_made_for_an_older_message_is_not_put_in() {
    let mut s = state();
    let fx = update(&mut s, Action::SignMessage);
    let Some(Effect::Sign { message, domain }) =
        fx.into_iter().find(|e| matches!(e, Effect::Sign { .. }))
    else {
        panic!()
    };
    type_in_body(&mut s, 'z');
    let field = crate::app::auth::signing::sign_demo(&message, &domain);
    update(
        &mut s,
        Action::Signed {
            message,
            domain,
            field,
        },
    );
    assert!(!s
        .message
        .headers
        .lines()
        .join("\n")
        .contains("DKIM-Signature"));
    assert!(s
        .notice
        .as_deref()
        .unwrap()
        .contains("changed while it was being signed"));
}

#[tokio::test]
async fn the_signed_demo_message_passes_dkim_in_the_demo_zone() {
    use crate::analysis::auth::{judge, DnsSource, Zone};
    let mut s = state();
    sign(&mut s);
    // The judgement asked before signing ends; the signed message is next.
    let fx = update(
        &mut s,
        Action::Judged {
            revision: 1,
            judgement: Err("stale".into()),
        },
    );
    let Some(Effect::Judge { request, .. }) = fx.first() else {
        panic!("{fx:?}")
    };
    let dns = DnsSource::Zone(std::sync::Arc::new(Zone::demo().unwrap()));
    let j = judge(&request.inputs(), &dns, std::time::Duration::from_secs(5)).await;
    let dkim = j
        .verdicts
        .iter()
        .find(|v| v.method == Method::Dkim)
        .unwrap();
    assert_eq!(dkim.result, Outcome::Pass, "{dkim:?}");
}

fn lookup(name: &str, answer: Answer) -> Lookup {
    Lookup {
        name: name.into(),
        rtype: "TXT",
        answer,
    }
}

/// The transcript's information lines that show a lookup.
fn dns_lines(s: &AppState) -> Vec<String> {
    let lines = &s.transcript.lines;
    (0..lines.len())
        .filter_map(|i| lines.get(i))
        .filter(|l| l.kind == crate::app::LineKind::Info && l.text.starts_with("auth: dns "))
        .map(|l| l.text.to_string())
        .collect()
}

/// Runs the judgement asked for in `fx` as if DNS gave `lookups`.
fn answer(s: &mut AppState, fx: &[Effect], lookups: Vec<Lookup>) -> Vec<Effect> {
    let revision = *judges(fx).last().expect("a judgement asked");
    let mut j = judgement(Outcome::Pass);
    j.lookups = lookups;
    update(
        s,
        Action::Judged {
            revision,
            judgement: Ok(j),
        },
    )
}

#[test]
fn the_judgements_lookups_go_to_the_transcript_each_once() {
    let mut s = state();
    let spf = |ttl| {
        lookup(
            "client.example.",
            Answer::Records(vec!["an SPF record".into()], ttl),
        )
    };
    let fx = update(&mut s, Action::ToggleAnalysis);
    answer(
        &mut s,
        &fx,
        vec![spf(300), lookup("_dmarc.example.", Answer::NoRecord)],
    );
    assert_eq!(
        dns_lines(&s),
        [
            "auth: dns client.example. TXT: an SPF record (TTL 300 s)",
            "auth: dns _dmarc.example. TXT: no record"
        ]
    );
    // An edit judges again: the same answers (the TTL counted down) are
    // not shown again; a new answer is, and DNS's bytes made visible.
    let fx = type_in_body(&mut s, 'x');
    let odd = lookup(
        "x.example.",
        Answer::Records(vec!["a\u{1b}[31m".into()], 60),
    );
    answer(&mut s, &fx, vec![spf(299), odd]);
    let shown = dns_lines(&s);
    assert_eq!(shown.len(), 3, "{shown:#?}");
    assert!(
        shown[2].starts_with("auth: dns x.example. TXT: a"),
        "{shown:#?}"
    );
    assert!(!shown[2].contains('\u{1b}'), "{shown:#?}");
    // A stale result shows nothing.
    let fx = type_in_body(&mut s, 'y');
    let stale = judges(&fx).last().copied().unwrap_or(0).saturating_sub(1);
    let mut j = judgement(Outcome::Pass);
    j.lookups = vec![lookup("stale.example.", Answer::NoRecord)];
    update(
        &mut s,
        Action::Judged {
            revision: stale,
            judgement: Ok(j),
        },
    );
    assert_eq!(dns_lines(&s).len(), 3);
}
