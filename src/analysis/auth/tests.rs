//! Every verdict against an in-memory zone: SPF's results, DMARC's policy
//! and alignment, DKIM before and after a byte changes, and hostile records
//! (loops, too many lookups, void lookups, oversized TXT), each bounded.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::message::dkim::DkimKey;

const DEMO_KEY: &[u8] = include_bytes!("../../../assets/dkim/demo.key");

fn zone() -> Arc<Zone> {
    let key = DkimKey::from_pem(DEMO_KEY).unwrap();
    let mut text = String::from(
        "$ORIGIN example.\n$TTL 300\n\
         client.example. IN TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n\
         _dmarc.client.example. IN TXT \"v=DMARC1; p=reject\"\n\
         mail.client.example. IN TXT \"v=spf1 a -all\"\n\
         mail.client.example. IN A 192.0.2.10\n\
         10.2.0.192.in-addr.arpa. IN PTR mail.client.example.\n\
         soft.example. IN TXT \"v=spf1 ~all\"\n\
         neutral.example. IN TXT \"v=spf1 ?all\"\n\
         bank.example. IN TXT \"v=spf1 ip4:198.51.100.0/24 -all\"\n\
         _dmarc.bank.example. IN TXT \"v=DMARC1; p=reject\"\n\
         strict.example. IN TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n\
         _dmarc.strict.example. IN TXT \"v=DMARC1; p=quarantine; aspf=s\"\n\
         news.strict.example. IN TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n\
         loop.example. IN TXT \"v=spf1 include:loop2.example -all\"\n\
         loop2.example. IN TXT \"v=spf1 include:loop.example -all\"\n\
         many.example. IN TXT \"v=spf1 a:h1.many.example a:h2.many.example a:h3.many.example a:h4.many.example a:h5.many.example a:h6.many.example a:h7.many.example a:h8.many.example a:h9.many.example a:h10.many.example a:h11.many.example -all\"\n\
         void.example. IN TXT \"v=spf1 a:v1.void.example a:v2.void.example a:v3.void.example ip4:192.0.2.0/24 -all\"\n",
    );
    for i in 1..=11 {
        text.push_str(&format!("h{i}.many.example. IN A 203.0.113.{i}\n"));
    }
    let big: Vec<String> = (0..20)
        .map(|_| format!("\"{}\"", "a".repeat(250)))
        .collect();
    text.push_str(&format!(
        "huge.example. IN TXT \"v=spf1 \" {}\n",
        big.join(" ")
    ));
    let strings: Vec<String> = key
        .record_value()
        .as_bytes()
        .chunks(255)
        .map(|c| format!("\"{}\"", String::from_utf8_lossy(c)))
        .collect();
    text.push_str(&format!(
        "demo._domainkey.client.example. IN TXT {}\n",
        strings.join(" ")
    ));
    Arc::new(Zone::parse(&text, "test", None).unwrap())
}

fn message(from: &str) -> Vec<u8> {
    format!(
        "From: <{from}>\r\nTo: <alice@example.test>\r\nSubject: hello\r\n\
         Date: Thu, 1 Jan 2026 00:00:00 +0000\r\nMessage-ID: <1@client.example>\r\n\r\nhello\r\n"
    )
    .into_bytes()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn judge_with(message: &[u8], mail_from: &str, helo: &str, ip: &str) -> Judgement {
    judge_in(zone(), message, mail_from, helo, ip)
}

fn judge_in(zone: Arc<Zone>, message: &[u8], mail_from: &str, helo: &str, ip: &str) -> Judgement {
    let rt = rt();
    let inputs = Inputs {
        message,
        mail_from,
        helo,
        client_ip: ip.parse::<IpAddr>().unwrap(),
        receiver: "demo.example.test",
    };
    rt.block_on(judge(
        &inputs,
        &DnsSource::Zone(zone),
        Duration::from_secs(5),
    ))
}

fn verdict(j: &Judgement, method: Method) -> &Verdict {
    j.verdicts
        .iter()
        .find(|v| v.method == method)
        .unwrap_or_else(|| panic!("no {method:?} in {j:#?}"))
}

fn result(j: &Judgement, method: Method) -> Outcome {
    verdict(j, method).result
}

#[test]
fn spf_results_follow_the_record_for_the_client_address() {
    let m = message("a@client.example");
    for (mail_from, ip, want) in [
        ("a@client.example", "192.0.2.10", Outcome::Pass),
        ("a@client.example", "203.0.113.5", Outcome::Fail),
        ("a@soft.example", "203.0.113.5", Outcome::SoftFail),
        ("a@neutral.example", "203.0.113.5", Outcome::Neutral),
        ("a@nowhere.example", "203.0.113.5", Outcome::None),
    ] {
        let j = judge_with(&m, mail_from, "mail.client.example", ip);
        assert_eq!(
            result(&j, Method::Spf),
            want,
            "{mail_from} from {ip}: {j:#?}"
        );
    }
}

#[test]
fn spf_for_the_helo_name_is_judged_apart() {
    let j = judge_with(
        &message("a@client.example"),
        "a@bank.example",
        "mail.client.example",
        "192.0.2.10",
    );
    assert_eq!(result(&j, Method::SpfHelo), Outcome::Pass);
    assert_eq!(result(&j, Method::Spf), Outcome::Fail);
    assert_eq!(verdict(&j, Method::SpfHelo).domain, "mail.client.example");
}

#[test]
fn spf_passing_for_another_domain_fails_dmarc_under_p_reject() {
    let j = judge_with(
        &message("ceo@bank.example"),
        "a@client.example",
        "mail.client.example",
        "192.0.2.10",
    );
    assert_eq!(result(&j, Method::Spf), Outcome::Pass);
    let dmarc = verdict(&j, Method::Dmarc);
    assert_eq!(dmarc.result, Outcome::Fail);
    assert_eq!(dmarc.domain, "bank.example");
    assert_eq!(
        &*dmarc.sentence,
        "SPF passes for client.example (MAIL FROM), but From: says bank.example, which \
         publishes p=reject: DMARC fails alignment and a receiver that enforces DMARC will \
         refuse this message."
    );
    assert!(verdict(&j, Method::Spf)
        .sentence
        .contains("cannot satisfy DMARC"));
}

#[test]
fn relaxed_alignment_passes_unless_the_policy_asks_for_strict() {
    // MAIL FROM news.strict.example, From: strict.example: relaxed only.
    let j = judge_with(
        &message("a@strict.example"),
        "a@news.strict.example",
        "mail.client.example",
        "192.0.2.10",
    );
    assert_eq!(result(&j, Method::Spf), Outcome::Pass);
    assert_eq!(result(&j, Method::Dmarc), Outcome::Fail, "aspf=s: {j:#?}");
    assert!(verdict(&j, Method::Spf)
        .sentence
        .contains("aligned relaxed only"));
    // client.example has p=reject and relaxed alignment (the default).
    let j = judge_with(
        &message("a@client.example"),
        "bounce@client.example",
        "mail.client.example",
        "192.0.2.10",
    );
    assert_eq!(result(&j, Method::Dmarc), Outcome::Pass);
}

/// A message from `from` signed with the demo key for client.example, and
/// the same with one byte of its body changed.
fn signed_and_broken(from: &str) -> (Vec<u8>, Vec<u8>) {
    let key = DkimKey::from_pem(DEMO_KEY).unwrap();
    let signed = key.sign(&message(from), "client.example", "demo").unwrap();
    let mut broken = signed.clone();
    let at = broken.len() - 3;
    broken[at] = b'X';
    (signed, broken)
}

#[test]
fn a_signed_message_passes_dkim_and_one_changed_byte_breaks_the_body_hash() {
    let (signed, changed) = signed_and_broken("a@client.example");
    // From an address SPF fails: DMARC passes through DKIM alone.
    let j = judge_with(
        &signed,
        "a@client.example",
        "mail.client.example",
        "203.0.113.5",
    );
    assert_eq!(result(&j, Method::Dkim), Outcome::Pass, "{j:#?}");
    assert_eq!(verdict(&j, Method::Dkim).domain, "client.example");
    assert_eq!(result(&j, Method::Dmarc), Outcome::Pass);
    assert!(verdict(&j, Method::Dmarc)
        .sentence
        .contains("DKIM signature of client.example aligns"));

    let j = judge_with(
        &changed,
        "a@client.example",
        "mail.client.example",
        "203.0.113.5",
    );
    let dkim = verdict(&j, Method::Dkim);
    assert_eq!(dkim.result, Outcome::Fail, "{j:#?}");
    assert!(
        dkim.reason.to_ascii_lowercase().contains("body hash"),
        "{}",
        dkim.reason
    );
    assert_eq!(result(&j, Method::Dmarc), Outcome::Fail);
}

#[test]
fn an_unsigned_message_has_dkim_none() {
    let j = judge_with(
        &message("a@client.example"),
        "a@client.example",
        "mail.client.example",
        "192.0.2.10",
    );
    assert_eq!(result(&j, Method::Dkim), Outcome::None);
}

#[test]
fn iprev_passes_when_the_ptr_name_resolves_back() {
    let j = judge_with(
        &message("a@client.example"),
        "a@client.example",
        "mail.client.example",
        "192.0.2.10",
    );
    assert_eq!(result(&j, Method::Iprev), Outcome::Pass, "{j:#?}");
    let j = judge_with(
        &message("a@client.example"),
        "a@client.example",
        "mail.client.example",
        "192.0.2.11",
    );
    assert_ne!(result(&j, Method::Iprev), Outcome::Pass);
}

#[test]
fn every_lookup_is_recorded_with_its_answer_and_ttl() {
    let j = judge_with(
        &message("a@client.example"),
        "a@client.example",
        "mail.client.example",
        "192.0.2.10",
    );
    let shown: Vec<String> = j.lookups.iter().map(ToString::to_string).collect();
    assert!(
        shown.contains(
            &"client.example. TXT: \"v=spf1 ip4:192.0.2.0/24 -all\" (TTL 300 s)".to_string()
        ),
        "{shown:#?}"
    );
    assert!(
        shown
            .iter()
            .any(|l| l.starts_with("_dmarc.client.example. TXT: ")),
        "{shown:#?}"
    );
    assert!(
        shown
            .iter()
            .any(|l| l.starts_with("10.2.0.192.in-addr.arpa. PTR: mail.client.example.")),
        "{shown:#?}"
    );
}

#[test]
fn hostile_spf_records_end_in_errors_quickly() {
    let m = message("a@client.example");
    for (domain, want) in [
        ("loop.example", Outcome::PermError),
        ("many.example", Outcome::PermError),
        ("void.example", Outcome::PermError),
        ("huge.example", Outcome::TempError),
    ] {
        let started = Instant::now();
        let j = judge_with(
            &m,
            &format!("a@{domain}"),
            "mail.client.example",
            "192.0.2.10",
        );
        assert_eq!(
            result(&j, Method::Spf),
            want,
            "{domain}: {:#?}",
            verdict(&j, Method::Spf)
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{domain} took {:?}",
            started.elapsed()
        );
        assert!(
            j.lookups.len() < 40,
            "{domain}: {} lookups",
            j.lookups.len()
        );
    }
}

#[test]
fn a_dns_server_that_never_answers_is_a_temperror_within_the_limit() {
    // A UDP socket that reads nothing: every query waits.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap();
    let rt = rt();
    let m = message("a@client.example");
    let inputs = Inputs {
        message: &m,
        mail_from: "a@client.example",
        helo: "mail.client.example",
        client_ip: "192.0.2.10".parse().unwrap(),
        receiver: "demo.example.test",
    };
    let started = Instant::now();
    let j = rt.block_on(judge(
        &inputs,
        &DnsSource::Server(addr),
        Duration::from_millis(600),
    ));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(result(&j, Method::SpfHelo), Outcome::TempError, "{j:#?}");
    assert_eq!(result(&j, Method::Iprev), Outcome::TempError, "{j:#?}");
}

#[test]
fn a_connection_judges_spf_and_iprev_once_and_a_new_sender_afresh() {
    let rt = rt();
    let judge = Judge::new(DnsSource::Zone(zone()), Duration::from_secs(5));
    let m = message("a@client.example");
    let inputs = |mail_from| Inputs {
        message: &m,
        mail_from,
        helo: "mail.client.example",
        client_ip: "192.0.2.10".parse().unwrap(),
        receiver: "demo.example.test",
    };
    let mut memo = Memo::default();
    let first = rt.block_on(judge.judge_again(&inputs("a@client.example"), &mut memo));
    let second = rt.block_on(judge.judge_again(&inputs("a@client.example"), &mut memo));
    assert_eq!(first.verdicts, second.verdicts);
    // The second message, unsigned and from the same sender, asked DNS
    // nothing: SPF, iprev and DMARC were judged from the same inputs.
    let asked = |j: &Judgement, name: &str| j.lookups.iter().any(|l| l.name == name);
    assert!(asked(&first, "client.example.") && asked(&first, "mail.client.example."));
    assert!(asked(&first, "_dmarc.client.example."));
    assert!(second.lookups.is_empty(), "{:#?}", second.lookups);

    let other = rt.block_on(judge.judge_again(&inputs("a@bank.example"), &mut memo));
    let fresh = judge_with(&m, "a@bank.example", "mail.client.example", "192.0.2.10");
    assert_eq!(other.verdicts, fresh.verdicts);
    assert_eq!(result(&other, Method::Spf), Outcome::Fail);
    assert!(asked(&other, "bank.example."));
}

/// One memo across messages that change one input of DMARC at a time:
/// the From: domain alone, a second From: address, a DKIM signature, the
/// same signature broken, MAIL FROM. Each verdict is the one a fresh
/// judgement gives, and the first is given again when its inputs return.
#[test]
fn a_memo_keeps_a_dmarc_verdict_for_the_same_inputs_only() {
    use Outcome::{Fail, None, Pass};
    let rt = rt();
    let judge = Judge::new(DnsSource::Zone(zone()), Duration::from_secs(5));
    let (signed, broken) = signed_and_broken("a@client.example");
    let two_froms =
        b"From: <a@client.example>, <b@bank.example>\r\nSubject: two\r\n\r\nhi\r\n".to_vec();
    let (plain, bank) = (message("a@client.example"), message("ceo@bank.example"));
    let (me, other) = ("a@client.example", "a@bank.example");
    // SPF passes for 192.0.2.10 and fails for 203.0.113.5: then DMARC
    // passes through DKIM or not at all.
    let (spf_passes, spf_fails) = ("192.0.2.10", "203.0.113.5");
    let mut memo = Memo::default();
    // The expected DMARC results change where they should, so a memo that
    // kept one verdict for all would fail.
    for (what, m, mail_from, ip, dmarc) in [
        ("unsigned, SPF passes", &plain, me, spf_passes, Pass),
        ("the same again", &plain, me, spf_passes, Pass),
        ("From: another domain", &bank, me, spf_passes, Fail),
        ("two From: domains", &two_froms, me, spf_passes, None),
        ("unsigned, SPF fails", &plain, me, spf_fails, Fail),
        ("signed, SPF fails", &signed, me, spf_fails, Pass),
        ("the signature broken", &broken, me, spf_fails, Fail),
        ("signed again", &signed, me, spf_fails, Pass),
        ("MAIL FROM another domain", &plain, other, spf_passes, Fail),
        ("the first again", &plain, me, spf_passes, Pass),
    ] {
        let inputs = Inputs {
            message: m,
            mail_from,
            helo: "mail.client.example",
            client_ip: ip.parse().unwrap(),
            receiver: "demo.example.test",
        };
        let again = rt.block_on(judge.judge_again(&inputs, &mut memo));
        let fresh = judge_with(m, mail_from, "mail.client.example", ip);
        assert_eq!(again.verdicts, fresh.verdicts, "{what}");
        assert_eq!(result(&again, Method::Dmarc), dmarc, "{what}: {again:#?}");
    }
}

/// A world where the organizational domain is not the last two labels:
/// a public suffix publishing a PSD record (psd=y), a domain three labels
/// deep with its own record, a subdomain that is its own organization
/// (psd=n), and a domain with no record at all.
fn org_zone() -> Arc<Zone> {
    let spf = "\"v=spf1 ip4:192.0.2.0/24 -all\"";
    let mut text = String::from(
        "$ORIGIN test.\n$TTL 300\n\
         _dmarc.example.test. IN TXT \"v=DMARC1; p=reject\"\n\
         _dmarc.co.uk. IN TXT \"v=DMARC1; p=reject; psd=y\"\n\
         _dmarc.corp.example.test. IN TXT \"v=DMARC1; p=none; psd=n\"\n",
    );
    for name in ["a.b.example.test", "news.example.co.uk", "a.b.nodmarc.test"] {
        text.push_str(&format!("{name}. IN TXT {spf}\n"));
    }
    Arc::new(Zone::parse(&text, "orgs", None).unwrap())
}

#[test]
fn the_organizational_domain_is_found_by_the_dmarc_tree_walk() {
    let rt = rt();
    let dns = DnsSource::Zone(org_zone());
    let auth = authenticator(&dns, Duration::from_secs(5)).unwrap();
    for (a, b, want) in [
        ("a.b.example.test", "example.test", Alignment::Relaxed),
        ("a.b.nodmarc.test", "nodmarc.test", Alignment::No),
        ("news.example.co.uk", "other.co.uk", Alignment::No),
        ("news.example.co.uk", "example.co.uk", Alignment::Relaxed),
        ("x.corp.example.test", "example.test", Alignment::No),
        (
            "x.corp.example.test",
            "corp.example.test",
            Alignment::Relaxed,
        ),
        ("Example.Test.", "example.test", Alignment::Strict),
    ] {
        let rec = lookups::Recorder::new(org_zone().into(), "192.0.2.10".parse().unwrap());
        let orgs = rt.block_on(orgdomain::find(&auth, &rec, b, &[a]));
        assert_eq!(
            Alignment::of(a, b, &orgs),
            want,
            "{a} against From: {b}: {orgs:?}"
        );
    }
}

/// One memo across messages whose From: and MAIL FROM domains change: the
/// organizational domains it keeps are those of the same From: and the same
/// domains beside it, so each verdict is the one a fresh judgement gives.
#[test]
fn a_memo_keeps_the_organizational_domains_of_the_same_domains_only() {
    let rt = rt();
    let judge = Judge::new(DnsSource::Zone(org_zone()), Duration::from_secs(5));
    let mut memo = Memo::default();
    for (from, mail_from) in [
        // Another organization beside From: is not walked; then one below
        // From:'s is, and aligns (a memo of From: alone would say it does not).
        ("example.test", "a.b.nodmarc.test"),
        ("example.test", "a.b.example.test"),
        ("example.test", "a.b.example.test"),
        ("example.test", "x.corp.example.test"),
        ("other.co.uk", "news.example.co.uk"),
        ("example.co.uk", "news.example.co.uk"),
        ("example.test", "a.b.example.test"),
    ] {
        let m = message(&format!("a@{from}"));
        let mail_from = format!("bounce@{mail_from}");
        let inputs = Inputs {
            message: &m,
            mail_from: &mail_from,
            helo: "mail.client.example",
            client_ip: "192.0.2.10".parse().unwrap(),
            receiver: "demo.example.test",
        };
        let again = rt.block_on(judge.judge_again(&inputs, &mut memo));
        let fresh = judge_in(
            org_zone(),
            &m,
            &mail_from,
            "mail.client.example",
            "192.0.2.10",
        );
        assert_eq!(
            again.verdicts, fresh.verdicts,
            "From: {from}, MAIL FROM {mail_from}"
        );
        let spf_domain = mail_from.rsplit_once('@').unwrap().1;
        assert!(memo.orgs(from, &[spf_domain]).is_some(), "{from}: kept");
    }
}

#[test]
fn our_alignment_sentences_agree_with_the_dmarc_verdict() {
    for (from, mail_from, dmarc, spf_says) in [
        // co.uk is a public suffix (psd=y): news.example.co.uk's organization
        // is example.co.uk, not co.uk, and DMARC (co.uk's p=reject) fails.
        (
            "other.co.uk",
            "news.example.co.uk",
            Outcome::Fail,
            "a different domain",
        ),
        (
            "example.test",
            "a.b.example.test",
            Outcome::Pass,
            "aligned relaxed only",
        ),
        (
            "nodmarc.test",
            "a.b.nodmarc.test",
            Outcome::None,
            "a different domain",
        ),
    ] {
        let j = judge_in(
            org_zone(),
            &message(&format!("a@{from}")),
            &format!("bounce@{mail_from}"),
            "mail.client.example",
            "192.0.2.10",
        );
        assert_eq!(result(&j, Method::Spf), Outcome::Pass, "{j:#?}");
        assert_eq!(result(&j, Method::Dmarc), dmarc, "{from}: {j:#?}");
        let sentence = &verdict(&j, Method::Spf).sentence;
        assert!(sentence.contains(spf_says), "{from}: {sentence}");
    }
}
