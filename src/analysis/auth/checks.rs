//! Each check run through mail-auth against the recorded answers, within
//! one deadline, and its output turned into a [`Verdict`] with its sentence.

use std::future::Future;
use std::net::IpAddr;
use std::time::Duration;

use mail_auth::common::cache::NoCache;
use mail_auth::dmarc::verify::DmarcParameters;
use mail_auth::spf::verify::SpfParameters;
use mail_auth::{
    AuthenticatedMessage, DkimOutput, DkimResult, DmarcResult, DnsError, IprevResult,
    MessageAuthenticator, Parameters, SpfOutput, SpfResult,
};
use tokio::time::Instant;

use super::lookups::{Answer, Lookup, Recorder};
use super::memo::{DmarcKey, Memo};
use super::orgdomain::{self, OrgDomains};
use super::sentence::{self, DkimFacts, DmarcFacts, Policy, SpfFacts};
use super::verdict::{Alignment, Method, Outcome, Verdict};
use super::{Inputs, Judgement};

type Cached<'x, P> = Parameters<'x, P, Recorder, Recorder, Recorder, Recorder, Recorder>;

fn cached<P>(params: P, r: &Recorder) -> Cached<'_, P> {
    Parameters::new(params)
        .with_txt_cache(r)
        .with_mx_cache(r)
        .with_ptr_cache(r)
        .with_ipv4_cache(r)
        .with_ipv6_cache(r)
}

/// Waits for `check` until `deadline`; None when it was still waiting.
async fn bounded<T>(deadline: Instant, check: impl Future<Output = T>) -> Option<T> {
    tokio::time::timeout_at(deadline, check).await.ok()
}

fn late(method: Method, domain: &str, limit: Duration, sentence: String) -> Verdict {
    Verdict {
        method,
        result: Outcome::TempError,
        domain: domain.to_string(),
        reason: format!("no answer within {} s", limit.as_secs_f64()),
        sentence: sentence.into(),
    }
}

/// Every check, in order; SPF and iprev taken from `memo` when it has
/// judged the same inputs, and kept there.
pub(super) async fn run(
    auth: &MessageAuthenticator,
    rec: &Recorder,
    inputs: &Inputs<'_>,
    memo: &mut Memo,
    deadline: Instant,
    limit: Duration,
) -> Vec<Verdict> {
    let parsed = AuthenticatedMessage::parse(inputs.message);
    let from = parsed.as_ref().and_then(|m| from_domain(m));
    let mut out = Vec::with_capacity(5);
    let helo = match memo.helo(inputs) {
        Some(v) => v,
        None => spf(auth, rec, inputs, true, deadline, limit).await.0,
    };
    memo.keep_helo(inputs, &helo);
    out.push(helo);
    let (mut mail_from, spf_output, told) = match memo.mail_from(inputs, from.as_deref()) {
        Some((v, o, aligned)) => (v, Some(o), Some(aligned)),
        None => {
            let (v, o) = spf(auth, rec, inputs, false, deadline, limit).await;
            (v, o, None)
        }
    };
    let spf_domain = mail_from.domain.clone();
    let spf_result = mail_from.result;
    let dkim = match &parsed {
        Some(message) => Some(bounded(deadline, auth.verify_dkim(cached(message, rec))).await),
        None => None,
    };
    // The organizational domains before DMARC runs: its tree walk then
    // reads the same answers, negative ones included (see learn_missing).
    let orgs = match &from {
        Some(from) => {
            let signers = dkim.iter().flatten().flatten();
            let mut others: Vec<&str> = signers
                .filter_map(|o| o.signature().map(|s| s.d.as_str()))
                .collect();
            others.push(&spf_domain);
            match memo.orgs(from, &others) {
                Some(orgs) => orgs,
                None => {
                    let walk = orgdomain::find(auth, rec, from, &others);
                    match bounded(deadline, walk).await {
                        Some(orgs) => {
                            if !rec.is_live() {
                                memo.keep_orgs(from, &others, &orgs);
                            }
                            orgs
                        }
                        None => OrgDomains::default(),
                    }
                }
            }
        }
        None => OrgDomains::default(),
    };
    // The sentence says how MAIL FROM's domain aligns with From:; a kept
    // one that said the same is the same.
    let aligned = from
        .as_deref()
        .map(|from| Alignment::of(&mail_from.domain, from, &orgs));
    if told != Some(aligned) {
        mail_from.sentence = sentence::spf(&SpfFacts {
            helo: false,
            result: mail_from.result,
            domain: &mail_from.domain,
            ip: inputs.client_ip,
            reason: &mail_from.reason,
            from: from.as_deref(),
            orgs: &orgs,
        })
        .into();
    }
    memo.keep_mail_from(
        inputs,
        from.as_deref(),
        &mail_from,
        spf_output.as_ref(),
        aligned,
    );
    out.push(mail_from);
    match (&parsed, dkim) {
        (Some(message), Some(dkim)) => {
            out.extend(dkim_verdicts(dkim.as_deref(), from.as_deref(), &orgs, limit));
            let spf = (spf_result, spf_domain.as_str());
            // The same inputs make the same verdict: a connection's next
            // message from the same sender takes it from the memo.
            let key = match (&dkim, &spf_output) {
                (Some(dkim), Some(o)) => Some((DmarcKey::signatures(dkim), (o.result(), spf_result))),
                _ => None,
            };
            let kept = key.as_ref().and_then(|(signed, spf)| {
                memo.dmarc(&message.from, &spf_domain, *spf, signed)
            });
            let dmarc = match kept {
                Some(v) => v,
                None => {
                    let dmarc = match (&dkim, &spf_output, &from) {
                        (Some(dkim), Some(spf), Some(_)) => {
                            let params = DmarcParameters::new(message, dkim, &spf_domain, spf);
                            bounded(deadline, auth.verify_dmarc(cached(params, rec))).await
                        }
                        _ => None,
                    };
                    let v = dmarc_verdict(dmarc, dkim.as_deref(), from.as_deref(), spf, &orgs, limit);
                    if let Some((signed, spf)) = key {
                        memo.keep_dmarc(&message.from, &spf_domain, spf, signed, &v);
                    }
                    v
                }
            };
            out.push(dmarc);
        }
        _ => out.push(Verdict {
            method: Method::Dkim,
            result: Outcome::PermError,
            domain: String::new(),
            reason: "the message's header fields cannot be read".into(),
            sentence: "The message's header fields cannot be read, so neither DKIM nor DMARC can judge it.".into(),
        }),
    }
    let iprev = match memo.iprev(inputs.client_ip) {
        Some(v) => v,
        None => iprev(auth, rec, inputs.client_ip, deadline, limit).await,
    };
    memo.keep_iprev(inputs.client_ip, &iprev);
    out.push(iprev);
    out
}

fn from_domain(m: &AuthenticatedMessage) -> Option<String> {
    m.from
        .first()
        .and_then(|f| f.rsplit_once('@'))
        .map(|(_, d)| d.to_ascii_lowercase())
}

/// SPF for the HELO name (`helo`) or for MAIL FROM; the output too, for DMARC.
async fn spf(
    auth: &MessageAuthenticator,
    rec: &Recorder,
    inputs: &Inputs<'_>,
    helo: bool,
    deadline: Instant,
    limit: Duration,
) -> (Verdict, Option<SpfOutput>) {
    let ip = inputs.client_ip;
    let params = if helo {
        SpfParameters::verify_ehlo(ip, inputs.helo, inputs.receiver)
    } else {
        SpfParameters::verify_mail_from(ip, inputs.helo, inputs.receiver, inputs.mail_from)
    };
    let domain = match (helo, inputs.mail_from.rsplit_once('@')) {
        (false, Some((_, d))) => d.to_string(),
        _ => inputs.helo.to_string(),
    };
    let first = rec.lookups().len();
    let output = bounded(deadline, auth.verify_spf(cached(params, rec))).await;
    let (mut result, mut reason) = match &output {
        None => (
            Outcome::TempError,
            format!("no answer within {} s", limit.as_secs_f64()),
        ),
        Some(o) => spf_outcome(o),
    };
    if !matches!(result, Outcome::PermError | Outcome::TempError) {
        bounded(deadline, tell_void_lookups(auth, rec, first + 1)).await;
    }
    // RFC 7208 4.6.4: more than two lookups that find nothing end the check;
    // mail-auth counts the ten lookups but not these.
    let voids = rec
        .lookups()
        .iter()
        .skip(first + 1)
        .filter(|l| l.is_void())
        .count();
    if voids > 2 && !matches!(result, Outcome::PermError | Outcome::TempError) {
        result = Outcome::PermError;
        reason = format!("{voids} lookups found nothing, more than the 2 RFC 7208 4.6.4 allows");
    }
    let facts = SpfFacts {
        helo,
        result,
        domain: &domain,
        ip,
        reason: &reason,
        // Alignment with From: is said once the organizational domains are known.
        from: None,
        orgs: &OrgDomains::default(),
    };
    let verdict = Verdict {
        method: if helo { Method::SpfHelo } else { Method::Spf },
        result,
        sentence: sentence::spf(&facts).into(),
        domain,
        reason,
    };
    (verdict, output)
}

/// Live DNS: mail-auth keeps no negative answer, so a lookup of the SPF
/// check (after its first, the domain's own record) left unanswered is
/// asked again here, without our caches (hickory's own cache answers it),
/// to tell a void one (NXDOMAIN or no data, RFC 7208 4.6.4) from one that
/// failed. Three decide (more than two end the check), so at most three.
async fn tell_void_lookups(auth: &MessageAuthenticator, rec: &Recorder, since: usize) {
    if !rec.is_live() {
        return;
    }
    let unanswered: Vec<Lookup> = rec
        .lookups()
        .into_iter()
        .skip(since)
        .filter(|l| l.answer == Answer::Unanswered)
        .take(3)
        .collect();
    for l in unanswered {
        let name = l.name.as_str();
        let err = match l.rtype {
            "TXT" => auth.txt_raw_lookup(name).await.err(),
            "A" => auth.ipv4_lookup_raw(name).await.err(),
            "AAAA" => auth.ipv6_lookup_raw(name).await.err(),
            "MX" => {
                let none = None::<&NoCache<Box<str>, mail_auth::RecordSet<mail_auth::MX>>>;
                auth.mx_lookup(name, none).await.err()
            }
            _ => None,
        };
        if let Some(mail_auth::Error::Dns(DnsError::RecordNotFound(code))) = err {
            rec.learn_void(name, l.rtype, code);
        }
    }
}

fn spf_outcome(o: &SpfOutput) -> (Outcome, String) {
    let result = match o.result() {
        SpfResult::Pass => Outcome::Pass,
        SpfResult::Fail => Outcome::Fail,
        SpfResult::SoftFail => Outcome::SoftFail,
        SpfResult::Neutral => Outcome::Neutral,
        SpfResult::TempError => Outcome::TempError,
        SpfResult::PermError => Outcome::PermError,
        SpfResult::None => Outcome::None,
    };
    let reason = match (result, o.explanation()) {
        (_, Some(e)) => e.to_string(),
        (Outcome::PermError, None) => {
            "the record is malformed, loops, or needs more than 10 lookups".into()
        }
        (Outcome::TempError, None) => "a DNS lookup failed".into(),
        (Outcome::None, None) => "no SPF record".into(),
        (r, None) => format!("the record's verdict for this address: {r}"),
    };
    (result, reason)
}

fn dkim_verdicts(
    outputs: Option<&[DkimOutput]>,
    from: Option<&str>,
    orgs: &OrgDomains,
    limit: Duration,
) -> Vec<Verdict> {
    let Some(outputs) = outputs else {
        return vec![late(
            Method::Dkim,
            "",
            limit,
            "The DKIM key lookup did not finish in time, so the signature could not be checked."
                .into(),
        )];
    };
    if outputs.is_empty() {
        return vec![Verdict {
            method: Method::Dkim,
            result: Outcome::None,
            domain: String::new(),
            reason: "no signature".into(),
            sentence: sentence::unsigned().into(),
        }];
    }
    outputs
        .iter()
        .map(|o| {
            let (result, reason) = dkim_outcome(o.result());
            let (d, s) = o
                .signature()
                .map(|s| (s.d.as_str(), s.s.as_str()))
                .unwrap_or(("", ""));
            let facts = DkimFacts {
                result,
                d,
                selector: s,
                reason: &reason,
                from,
                orgs,
            };
            Verdict {
                method: Method::Dkim,
                result,
                domain: d.to_string(),
                sentence: sentence::dkim(&facts).into(),
                reason,
            }
        })
        .collect()
}

fn dkim_outcome(r: &DkimResult) -> (Outcome, String) {
    match r {
        DkimResult::Pass => (Outcome::Pass, "signature verified".into()),
        // RFC 6376 6.1.3: a body that no longer matches its hash is a
        // failure (RFC 8601 2.7.1 "fail"); mail-auth calls it neutral.
        DkimResult::Neutral(
            e @ mail_auth::Error::Dkim(mail_auth::dkim::DkimError::FailedBodyHashMatch),
        ) => (Outcome::Fail, e.to_string()),
        DkimResult::Neutral(e) => (Outcome::Neutral, e.to_string()),
        DkimResult::Fail(e) => (Outcome::Fail, e.to_string()),
        DkimResult::PermError(e) => (Outcome::PermError, e.to_string()),
        DkimResult::TempError(e) => (Outcome::TempError, e.to_string()),
        DkimResult::None => (Outcome::None, "no signature".into()),
    }
}

fn dmarc_verdict(
    output: Option<mail_auth::DmarcOutput>,
    dkim: Option<&[DkimOutput]>,
    from: Option<&str>,
    spf: (Outcome, &str),
    orgs: &OrgDomains,
    limit: Duration,
) -> Verdict {
    let Some(from) = from else {
        return Verdict {
            method: Method::Dmarc,
            result: Outcome::PermError,
            domain: String::new(),
            reason: "no From: address".into(),
            sentence: "The message has no From: address, so no DMARC policy applies and receivers often refuse it (RFC 5322 requires From:).".into(),
        };
    };
    let Some(output) = output else {
        let text = format!("The DMARC policy of {from} (From:) could not be read in time, so a receiver may defer the message.");
        return late(Method::Dmarc, from, limit, text);
    };
    let (result, reason) = match output.result() {
        DmarcResult::Pass => (Outcome::Pass, "aligned".to_string()),
        DmarcResult::Fail(e) => (Outcome::Fail, e.to_string()),
        DmarcResult::TempError(e) => (Outcome::TempError, e.to_string()),
        DmarcResult::PermError(e) => (Outcome::PermError, e.to_string()),
        DmarcResult::None => (Outcome::None, "no DMARC record".to_string()),
    };
    let policy = match output.dmarc_record().map(|r| &r.p) {
        Some(mail_auth::dmarc::Policy::Reject) => Policy::Reject,
        Some(mail_auth::dmarc::Policy::Quarantine) => Policy::Quarantine,
        _ => Policy::None,
    };
    let reason = match result {
        Outcome::Pass | Outcome::Fail => format!("p={}; {reason}", policy.name()),
        _ => reason,
    };
    let dkim_aligned = dkim.unwrap_or_default().iter().find_map(|o| {
        let s = o.signature()?;
        (*o.result() == DkimResult::Pass && Alignment::of(&s.d, from, orgs) != Alignment::No)
            .then_some(s.d.as_str())
    });
    let facts = DmarcFacts {
        result,
        from,
        policy,
        spf,
        dkim_aligned,
        reason: &reason,
        orgs,
    };
    Verdict {
        method: Method::Dmarc,
        result,
        domain: from.to_string(),
        sentence: sentence::dmarc(&facts).into(),
        reason,
    }
}

async fn iprev(
    auth: &MessageAuthenticator,
    rec: &Recorder,
    ip: IpAddr,
    deadline: Instant,
    limit: Duration,
) -> Verdict {
    let Some(o) = bounded(deadline, auth.verify_iprev(cached(ip, rec))).await else {
        let text = sentence::iprev(Outcome::TempError, ip, &[], "no answer in time");
        return late(Method::Iprev, &ip.to_string(), limit, text);
    };
    let (result, reason) = match &o.result {
        IprevResult::Pass => (Outcome::Pass, "forward-confirmed".to_string()),
        IprevResult::Fail(e) => (Outcome::Fail, e.to_string()),
        IprevResult::TempError(e) => (Outcome::TempError, e.to_string()),
        IprevResult::PermError(e) => (Outcome::PermError, e.to_string()),
        IprevResult::None => (Outcome::None, "no PTR record".to_string()),
    };
    let names: Vec<String> = o
        .ptr
        .iter()
        .flat_map(|p| p.iter().map(ToString::to_string))
        .collect();
    // An empty PTR answer is what live DNS reports as NXDOMAIN, a permerror.
    let (result, reason) = match (result, names.is_empty()) {
        (Outcome::Fail, true) => (Outcome::PermError, "no PTR record".to_string()),
        other => (other.0, reason),
    };
    Verdict {
        method: Method::Iprev,
        result,
        domain: ip.to_string(),
        sentence: sentence::iprev(result, ip, &names, &reason).into(),
        reason,
    }
}

/// Every check a `temperror`: no resolver could be made.
pub(super) fn unreachable_dns(inputs: &Inputs<'_>, why: &str) -> Judgement {
    let verdicts = [
        Method::SpfHelo,
        Method::Spf,
        Method::Dkim,
        Method::Dmarc,
        Method::Iprev,
    ]
    .into_iter()
    .map(|method| Verdict {
        method,
        result: Outcome::TempError,
        domain: String::new(),
        reason: why.to_string(),
        sentence: format!(
            "No DNS resolver could be set up ({why}), so nothing about {} could be checked.",
            inputs.client_ip
        )
        .into(),
    })
    .collect();
    Judgement {
        verdicts,
        lookups: Vec::new(),
    }
}
