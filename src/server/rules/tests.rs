//! Loading (every kind of error with its line) and deciding (each matcher,
//! the first match, nth, rate windows with the time passed in).

use super::*;
use std::net::Ipv4Addr;

const A: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7));
const B: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 9));

fn rules(text: &str) -> Rules {
    Rules::parse("t.toml", text).unwrap_or_else(|e| panic!("{e}"))
}

fn at(stage: Stage) -> Checkpoint<'static> {
    Checkpoint::new(stage)
}

/// The index of the rule that fires, if one does.
fn fired(r: &Rules, c: &Checkpoint<'_>, client: IpAddr, state: &mut RuleState) -> Option<usize> {
    let now = Instant::now();
    r.decide(c, client, now, state).map(|f| f.index)
}

#[test]
fn every_kind_of_error_names_its_line() {
    let cases: &[(&str, usize, &str)] = &[
        // (file, line, a piece of the message)
        ("[[rule]]\nwhen = { stage = \"rcpt\" }\nreplly = \"452 x\"\n", 3, "unknown field `replly`"),
        ("[[rule]]\nwhen = { stage = \"rcpt\", clent = \"1.2.3.4\" }\nreply = \"452 x\"\n", 2, "unknown field `clent`"),
        ("rules = 3\n", 1, "unknown field `rules`"),
        ("[[rule]]\nwhen = { stage = \"helo\" }\nreply = \"452 x\"\n", 2, "\"helo\" is not a stage"),
        ("[[rule]]\nwhen = { stage = \"rcpt\" }\n\nreply = \"45 x\"\n", 4, "is not an SMTP reply"),
        ("[[rule]]\nwhen = { stage = \"rcpt\" }\nreply = \"452x\"\n", 3, "a space follows"),
        ("[[rule]]\nwhen = { stage = \"rcpt\" }\nreply = \"652 x\"\n", 3, "first digit is 2 to 5"),
        ("[[rule]]\nwhen = { stage = \"rcpt\" }\nreply = \"452 a\\r\\nb\"\n", 3, "without control characters"),
        ("[[rule]]\nwhen = { stage = \"rcpt\" }\nreply = \"250 ok\"\n", 3, "a 250 does not fit stage \"rcpt\""),
        ("[[rule]]\nwhen = { stage = \"data\" }\nreply = \"354 go\"\n", 3, "a 354 does not fit stage \"data\""),
        ("[[rule]]\nwhen = { stage = \"quit\" }\nreply = \"250 bye\"\n", 3, "QUIT is answered 221"),
        ("[[rule]]\nwhen = { stage = \"connect\" }\nreply = \"250 hi\"\n", 3, "a greeting is 220"),
        ("[[rule]]\nwhen = { client = \"10.0.0.0/8\" }\nreply = \"554 no\"\n", 3, "only 421 fits everywhere"),
        ("[[rule]]\nwhen = { stage = \"rcpt\", client = \"10.0.0.0/33\" }\nreply = \"452 x\"\n", 2, "not an address or a CIDR"),
        ("[[rule]]\nwhen = { stage = \"rcpt\", client = \"localhost\" }\nreply = \"452 x\"\n", 2, "not an address or a CIDR"),
        ("[[rule]]\nwhen = { stage = \"rcpt\", rcpt = \"[bob@*\" }\nreply = \"452 x\"\n", 2, "a bad glob"),
        ("[[rule]]\nwhen = { stage = \"mail\", sender = \"{a,b\" }\nreply = \"452 x\"\n", 2, "a bad glob"),
        ("[[rule]]\nwhen = { stage = \"mail\" }\nrate = { per_seconds = 60 }\n", 3, "missing field `max`"),
        ("[[rule]]\nwhen = { stage = \"mail\" }\nrate = { max = 0, per_seconds = 60 }\n", 3, "max is a count from 1"),
        ("[[rule]]\nwhen = { stage = \"mail\" }\nrate = { max = 2, per_seconds = 60, reply = \"250 ok\" }\n", 3, "does not fit"),
        ("[[rule]]\nwhen = { stage = \"mail\" }\nreply = \"452 x\"\nrate = { max = 2, per_seconds = 60 }\n", 4, "move `reply` into `rate`"),
        ("[[rule]]\nwhen = { stage = \"dot\" }\nhangup = \"before\"\n", 3, "\"before-reply\" or \"after-reply\""),
        ("[[rule]]\nwhen = { stage = \"mail\" }\nbounce = true\n", 3, "bounce = true needs stage"),
        ("[[rule]]\nwhen = { stage = \"rcpt\" }\nbounce = true\nreply = \"452 x\"\n", 3, "cannot go with a reply"),
        ("[[rule]]\nwhen = { stage = \"rcpt\", nth = 0 }\nreply = \"452 x\"\n", 2, "nth counts from 1"),
        ("[[rule]]\nwhen = { stage = \"rcpt\", size_over = 10 }\nreply = \"452 x\"\n", 2, "size_over is known"),
        ("[[rule]]\nwhen = { stage = \"ehlo\", rcpt = \"*\" }\nreply = \"452 x\"\n", 2, "rcpt is known"),
        ("[[rule]]\nwhen = { stage = \"connect\", sender = \"*\" }\nreply = \"421 x\"\n", 2, "sender is known"),
        ("# a comment\n[[rule]]\nwhen = { stage = \"rcpt\" }\n", 2, "a rule needs something to do"),
        ("[[rule]]\nwhen = { stage = \"rcpt\" }\ndelay_ms = \"x\"\n", 3, "invalid type"),
        ("[[rule]]\nwhen = { stage = 4 }\nreply = \"452 x\"\n", 2, "invalid type"),
    ];
    for (text, line, piece) in cases {
        let e = Rules::parse("bad.toml", text).unwrap_err();
        assert_eq!(e.line, *line, "{text:?}: {e}");
        assert!(e.message.contains(piece), "{text:?}: {e}");
        assert!(
            e.to_string()
                .starts_with(&format!("bad.toml, line {line}: ")),
            "{e}"
        );
    }
}

#[test]
fn a_file_loads_with_its_order_names_and_lines() {
    let r = rules(
        "[[rule]]\nname = \"full\"\nwhen = { stage = \"rcpt\", rcpt = \"bob@*\" }\nreply = \"452 4.2.2 Mailbox full\"\n\n\
         [[rule]]\nhangup = \"before-reply\"\n[rule.when]\nstage = \"dot\"\nclient = \"192.0.2.0/24\"\n",
    );
    assert_eq!(r.rules.len(), 2);
    assert_eq!(r.rules[0].index, 1);
    assert_eq!(r.rules[0].name.as_deref(), Some("full"));
    assert_eq!(r.rules[0].line, 1);
    assert_eq!(r.rules[0].label(), "rule 1 (full)");
    assert_eq!(r.rules[1].label(), "rule 2");
    assert_eq!(r.rules[1].when.stage, Some(Stage::Dot));
    assert_eq!(r.rules[1].hangup, Some(Hangup::BeforeReply));
    assert!(Rules::parse("empty.toml", "").unwrap().is_empty());
}

#[test]
fn a_rule_without_an_error_in_a_toml_table_syntax_error_still_names_the_line() {
    let e = Rules::parse("x.toml", "[[rule]]\nwhen = { stage = \"rcpt\"\n").unwrap_err();
    assert_eq!(e.line, 2, "{e}");
}

#[test]
fn each_matcher() {
    let r = rules(
        "[[rule]]\nwhen = { stage = \"ehlo\", client = \"192.0.2.0/24\" }\nreply = \"421 a\"\n\
         [[rule]]\nwhen = { stage = \"mail\", user = \"Alice@Example.test\" }\nreply = \"452 b\"\n\
         [[rule]]\nwhen = { stage = \"mail\", sender = \"*@spam.example\" }\nreply = \"550 c\"\n\
         [[rule]]\nwhen = { stage = \"rcpt\", rcpt = \"full?@EXAMPLE.test\" }\nreply = \"452 d\"\n\
         [[rule]]\nwhen = { stage = \"dot\", size_over = 100 }\nreply = \"552 e\"\n\
         [[rule]]\nwhen = { stage = \"mail\", size_over = 100 }\nreply = \"552 f\"\n\
         [[rule]]\nwhen = { client = \"198.51.100.9\" }\ndelay_ms = 5\n",
    );
    let mut s = RuleState::default();
    // client, by CIDR and by one address (a rule with no stage: every stage)
    assert_eq!(fired(&r, &at(Stage::Ehlo), A, &mut s), Some(1));
    assert_eq!(fired(&r, &at(Stage::Quit), B, &mut s), Some(7));
    assert_eq!(
        fired(&r, &at(Stage::Quit), "203.0.113.1".parse().unwrap(), &mut s),
        None
    );
    // user, without regard to case; none before AUTH
    let mut c = at(Stage::Mail);
    assert_eq!(fired(&r, &c, A, &mut s), None);
    c.user = Some("alice@example.TEST");
    assert_eq!(fired(&r, &c, A, &mut s), Some(2));
    // sender, a glob
    let mut c = at(Stage::Mail);
    c.sender = Some("bot@SPAM.example");
    assert_eq!(fired(&r, &c, A, &mut s), Some(3));
    c.sender = Some("bot@spam.example.org");
    assert_eq!(fired(&r, &c, A, &mut s), None);
    // rcpt: any of the recipients, `?` one character
    let mut c = at(Stage::Rcpt);
    c.rcpts = vec!["full1@example.test"];
    assert_eq!(fired(&r, &c, A, &mut s), Some(4));
    c.rcpts = vec!["full12@example.test"];
    assert_eq!(fired(&r, &c, A, &mut s), None);
    // size_over: at dot the content, at MAIL its SIZE=; unknown matches not
    let mut c = at(Stage::Dot);
    c.size = Some(101);
    assert_eq!(fired(&r, &c, A, &mut s), Some(5));
    c.size = Some(100);
    assert_eq!(fired(&r, &c, A, &mut s), None);
    let mut c = at(Stage::Mail);
    c.size = Some(5000);
    assert_eq!(fired(&r, &c, A, &mut s), Some(6));
    c.size = None;
    assert_eq!(fired(&r, &c, A, &mut s), None);
}

#[test]
fn the_first_match_wins_and_says_what_it_does() {
    let r = rules(
        "[[rule]]\nname = \"one\"\nwhen = { stage = \"rcpt\", rcpt = \"bob@*\" }\nreply = \"452 4.2.2 Mailbox full\"\ndelay_ms = 200\n\
         [[rule]]\nwhen = { stage = \"rcpt\" }\nreply = \"550 no\"\n",
    );
    let mut s = RuleState::default();
    let mut c = at(Stage::Rcpt);
    c.rcpts = vec!["bob@example.test"];
    let f = r.decide(&c, A, Instant::now(), &mut s).unwrap();
    assert_eq!(f.index, 1);
    assert_eq!(f.name.as_deref(), Some("one"));
    assert_eq!(f.stage, Stage::Rcpt);
    assert_eq!(f.reply.as_deref(), Some("452 4.2.2 Mailbox full"));
    assert_eq!(f.delay_ms, 200);
    assert_eq!(f.label(), "rule 1 (one)");
    c.rcpts = vec!["carol@example.test"];
    assert_eq!(fired(&r, &c, A, &mut s), Some(2));
    assert_eq!(fired(&r, &at(Stage::Mail), A, &mut s), None);
}

#[test]
fn nth_counts_per_client_and_stage_across_connections() {
    let r = rules(
        "[[rule]]\nwhen = { stage = \"rcpt\", nth = 1 }\nreply = \"451 4.7.1 try again\"\n\
         [[rule]]\nwhen = { stage = \"dot\", nth = 3 }\nhangup = \"after-reply\"\n\
         [[rule]]\nwhen = { nth = 10 }\nreply = \"421 4.7.0 ten is enough\"\n",
    );
    let mut s = RuleState::default();
    let rcpt = at(Stage::Rcpt);
    assert_eq!(fired(&r, &rcpt, A, &mut s), Some(1));
    assert_eq!(fired(&r, &rcpt, A, &mut s), None);
    assert_eq!(fired(&r, &rcpt, B, &mut s), Some(1), "B has its own count");
    let dot = at(Stage::Dot);
    assert_eq!(fired(&r, &dot, A, &mut s), None);
    assert_eq!(fired(&r, &dot, A, &mut s), None);
    assert_eq!(fired(&r, &dot, A, &mut s), Some(2));
    assert_eq!(fired(&r, &dot, A, &mut s), None);
    // A has been at a stage 6 times; the 10th checkpoint of any stage fires.
    assert_eq!(fired(&r, &at(Stage::Ehlo), A, &mut s), None);
    assert_eq!(fired(&r, &at(Stage::Data), A, &mut s), None);
    assert_eq!(fired(&r, &at(Stage::Mail), A, &mut s), None);
    assert_eq!(fired(&r, &at(Stage::Quit), A, &mut s), Some(3));
}

#[test]
fn a_rate_fires_past_its_max_in_the_window_and_opens_again() {
    let r = rules(
        "[[rule]]\nname = \"rate\"\nwhen = { stage = \"mail\" }\nrate = { max = 2, per_seconds = 60, reply = \"450 4.7.1 slow down\" }\n\
         [[rule]]\nwhen = { stage = \"mail\" }\ndelay_ms = 1\n",
    );
    let mut s = RuleState::default();
    let t0 = Instant::now();
    let mail = at(Stage::Mail);
    let decide = |s: &mut RuleState, secs: u64, who: IpAddr| {
        r.decide(&mail, who, t0 + Duration::from_secs(secs), s)
            .map(|f| (f.index, f.reply))
    };
    // Under the limit the rate rule counts and lets the next decide.
    assert_eq!(decide(&mut s, 0, A), Some((2, None)));
    assert_eq!(decide(&mut s, 10, A), Some((2, None)));
    let over = Some((1, Some("450 4.7.1 slow down".to_string())));
    assert_eq!(decide(&mut s, 20, A), over);
    assert_eq!(decide(&mut s, 59, A), over);
    assert_eq!(decide(&mut s, 30, B), Some((2, None)), "per client");
    // At 60 s the first match leaves the window: one more fits.
    assert_eq!(decide(&mut s, 60, A), Some((2, None)));
    assert_eq!(decide(&mut s, 61, A), over);
    assert_eq!(decide(&mut s, 70, A), Some((2, None)));
    let f = r
        .decide(&mail, A, t0 + Duration::from_secs(71), &mut s)
        .unwrap();
    assert!(f.why.contains("more than 2 in 60 s"), "{}", f.why);
}

#[test]
fn rate_windows_are_forgotten_once_over_so_memory_stays_bounded() {
    let r =
        rules("[[rule]]\nwhen = { stage = \"connect\" }\nrate = { max = 1, per_seconds = 10 }\n");
    let mut s = RuleState::default();
    let t0 = Instant::now();
    for i in 0..(MAX_CLIENTS as u32 + 5) {
        let client = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i));
        let _ = r.decide(&at(Stage::Connect), client, t0, &mut s);
    }
    assert!(s.windows.len() > MAX_CLIENTS);
    // Later than every window: the next match forgets them all.
    let _ = r.decide(&at(Stage::Connect), A, t0 + Duration::from_secs(11), &mut s);
    assert_eq!(s.windows.len(), 1);
}

#[test]
fn a_rate_without_a_reply_closes_with_421() {
    let r =
        rules("[[rule]]\nwhen = { stage = \"connect\" }\nrate = { max = 1, per_seconds = 5 }\n");
    let mut s = RuleState::default();
    let t = Instant::now();
    assert!(r.decide(&at(Stage::Connect), A, t, &mut s).is_none());
    let f = r.decide(&at(Stage::Connect), A, t, &mut s).unwrap();
    assert!(f.reply.unwrap().starts_with("421 4.7.0"));
}

#[test]
fn no_rules_decide_nothing_and_count_nothing() {
    let mut s = RuleState::default();
    assert!(Rules::default()
        .decide(&at(Stage::Rcpt), A, Instant::now(), &mut s)
        .is_none());
    assert!(s.counts.is_empty());
}

#[test]
fn rules_within_a_lesson_ignore_its_other_tables() {
    let text = "title = \"x\"\n[[step]]\nsay = \"y\"\n[[rule]]\nwhen = { stage = \"rcpt\" }\nreply = \"452 x\"\n";
    assert_eq!(Rules::parse_within("l.toml", text).unwrap().rules.len(), 1);
    assert!(Rules::parse("l.toml", text).is_err());
    let bad = "title = \"x\"\n[[rule]]\nwhen = { stage = \"rcpt\" }\nreply = \"250 x\"\n";
    assert_eq!(Rules::parse_within("l.toml", bad).unwrap_err().line, 4);
}

#[test]
fn the_classroom_example_loads() {
    let text = include_str!("../../../assets/rules/classroom.toml");
    let r = rules(text);
    assert!(r.rules.len() >= 4);
    assert!(r.rules.iter().all(|r| r.name.is_some()));
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    /// Pieces of rule files, right and wrong, to shuffle together.
    const PIECES: &[&str] = &[
        "[[rule]]\n",
        "when = { stage = \"rcpt\" }\n",
        "when = { stage = \"dot\", size_over = 5 }\n",
        "when = { client = \"10.0.0.0/8\", nth = 2 }\n",
        "when = { sender = \"*@x\", rcpt = \"[\" }\n",
        "reply = \"452 4.2.2 Mailbox full\"\n",
        "reply = \"2\"\n",
        "reply = \"421 é\"\n",
        "hangup = \"after-reply\"\n",
        "bounce = true\n",
        "delay_ms = 99999999999\n",
        "rate = { max = 1, per_seconds = 1 }\n",
        "rate = { max = -1 }\n",
        "name = \"n\"\n",
        "[rule.when]\nstage = \"mail\"\n",
        "\n",
        "# comment\n",
        "= \"\n",
    ];

    proptest! {
        #[test]
        fn any_mix_loads_or_names_a_line_inside_the_file(
            picks in proptest::collection::vec(0..PIECES.len(), 0..12),
            junk in "\\PC{0,8}",
        ) {
            let mut text: String = picks.iter().map(|&i| PIECES[i]).collect();
            text.push_str(&junk);
            match Rules::parse("p.toml", &text) {
                Ok(r) => prop_assert!(r.rules.iter().all(|r| r.line >= 1)),
                Err(e) => prop_assert!(e.line >= 1 && e.line <= text.lines().count().max(1) + 1, "{}", e),
            }
        }
    }
}
