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
use super::memo::{DmarcInputs, Memo};
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

/// What every step of one judgement shares: the checker, the recorded
/// answers, and the deadline all the lookups keep.
#[derive(Clone, Copy)]
struct Run<'a> {
    auth: &'a MessageAuthenticator,
    rec: &'a Recorder,
    deadline: Instant,
    limit: Duration,
}

/// Every check, in order; SPF, iprev, the organizational domains and DMARC
/// taken from `memo` when it has judged the same inputs, and kept there.
pub(super) async fn run(
    auth: &MessageAuthenticator,
    rec: &Recorder,
    inputs: &Inputs<'_>,
    memo: &mut Memo,
    deadline: Instant,
    limit: Duration,
) -> Vec<Verdict> {
    let run = Run {
        auth,
        rec,
        deadline,
        limit,
    };
    let parsed = AuthenticatedMessage::parse(inputs.message);
    let from = parsed.as_ref().and_then(|m| from_domain(m));
    let mut out = Vec::with_capacity(5);
    let helo = match memo.helo(inputs) {
        Some(v) => v,
        None => spf(&run, inputs, true).await.0,
    };
    memo.keep_helo(inputs, &helo);
    out.push(helo);
    let (mut mail_from, spf_output, told) = match memo.mail_from(inputs, from.as_deref()) {
        Some((v, o, aligned)) => (v, Some(o), Some(aligned)),
        None => {
            let (v, o) = spf(&run, inputs, false).await;
            (v, o, None)
        }
    };
    let dkim = match &parsed {
        Some(message) => Some(bounded(deadline, auth.verify_dkim(cached(message, rec))).await),
        None => None,
    };
    let orgs = match &from {
        Some(from) => {
            let signers = dkim.iter().flatten().flatten();
            org_domains(&run, memo, from, signers, &mail_from.domain).await
        }
        None => OrgDomains::default(),
    };
    let aligned = tell_alignment(
        &mut mail_from,
        told,
        inputs.client_ip,
        from.as_deref(),
        &orgs,
    );
    let spf_output = spf_output.as_ref();
    memo.keep_mail_from(inputs, from.as_deref(), &mail_from, spf_output, aligned);
    match (&parsed, dkim) {
        (Some(message), Some(dkim)) => {
            let dkim = dkim.as_deref();
            let judged = Judged {
                message,
                from: from.as_deref(),
                spf: &mail_from,
                spf_output,
                dkim,
                orgs: &orgs,
            };
            let dmarc = dmarc(&run, memo, &judged).await;
            out.push(mail_from);
            out.extend(dkim_verdicts(dkim, from.as_deref(), &orgs, limit));
            out.push(dmarc);
        }
        _ => out.extend([mail_from, Verdict {
            method: Method::Dkim,
            result: Outcome::PermError,
            domain: String::new(),
            reason: "the message's header fields cannot be read".into(),
            sentence: "The message's header fields cannot be read, so neither DKIM nor DMARC can judge it.".into(),
        }]),
    }
    let iprev = match memo.iprev(inputs.client_ip) {
        Some(v) => v,
        None => iprev(&run, inputs.client_ip).await,
    };
    memo.keep_iprev(inputs.client_ip, &iprev);
    out.push(iprev);
    out
}

/// Tells in MAIL FROM's sentence how its domain aligns with From:, unless
/// the kept sentence (`told`) said the same; returns the alignment told.
fn tell_alignment(
    mail_from: &mut Verdict,
    told: Option<Option<Alignment>>,
    ip: IpAddr,
    from: Option<&str>,
    orgs: &OrgDomains,
) -> Option<Alignment> {
    let aligned = from.map(|from| Alignment::of(&mail_from.domain, from, orgs));
    if told != Some(aligned) {
        mail_from.sentence = sentence::spf(&SpfFacts {
            helo: false,
            result: mail_from.result,
            domain: &mail_from.domain,
            ip,
            reason: &mail_from.reason,
            from,
            orgs,
        })
        .into();
    }
    aligned
}

/// The organizational domains of From:'s domain and of the domains that
/// could align with it (DKIM's `d=`, SPF's), found before DMARC runs: its
/// tree walk then reads the same answers, negative ones included (see
/// learn_missing). Kept in `memo` only from an offline zone.
async fn org_domains<'o>(
    run: &Run<'_>,
    memo: &mut Memo,
    from: &str,
    signers: impl Iterator<Item = &'o DkimOutput<'o>>,
    spf_domain: &'o str,
) -> OrgDomains {
    let mut others: Vec<&str> = signers
        .filter_map(|o| o.signature().map(|s| s.d.as_str()))
        .collect();
    others.push(spf_domain);
    if let Some(orgs) = memo.orgs(from, &others) {
        return orgs;
    }
    let walk = orgdomain::find(run.auth, run.rec, from, &others);
    match bounded(run.deadline, walk).await {
        Some(orgs) => {
            if !run.rec.is_live() {
                memo.keep_orgs(from, &others, &orgs);
            }
            orgs
        }
        None => OrgDomains::default(),
    }
}

/// What DMARC is judged from: the message, its From: domain, the SPF
/// verdict on MAIL FROM and mail-auth's output of it, the DKIM outputs
/// (None when they came too late) and the organizational domains.
struct Judged<'a> {
    message: &'a AuthenticatedMessage<'a>,
    from: Option<&'a str>,
    spf: &'a Verdict,
    spf_output: Option<&'a SpfOutput>,
    dkim: Option<&'a [DkimOutput<'a>]>,
    orgs: &'a OrgDomains,
}

/// DMARC's verdict: the memo's when it judged the same inputs (a
/// connection's next message from the same sender), else mail-auth's.
async fn dmarc(run: &Run<'_>, memo: &mut Memo, j: &Judged<'_>) -> Verdict {
    let spf = (j.spf.result, j.spf.domain.as_str());
    let (Some(dkim), Some(spf_output)) = (j.dkim, j.spf_output) else {
        return dmarc_verdict(None, j.dkim, j.from, spf, j.orgs, run.limit);
    };
    let inputs = DmarcInputs::new(&j.message.from, j.spf, spf_output, dkim);
    if let Some(v) = memo.dmarc(&inputs) {
        return v;
    }
    let output = match j.from {
        Some(_) => {
            let params = DmarcParameters::new(j.message, dkim, &j.spf.domain, spf_output);
            bounded(run.deadline, run.auth.verify_dmarc(cached(params, run.rec))).await
        }
        None => None,
    };
    let v = dmarc_verdict(output, Some(dkim), j.from, spf, j.orgs, run.limit);
    memo.keep_dmarc(inputs, &v);
    v
}

fn from_domain(m: &AuthenticatedMessage) -> Option<String> {
    m.from
        .first()
        .and_then(|f| f.rsplit_once('@'))
        .map(|(_, d)| d.to_ascii_lowercase())
}

/// SPF for the HELO name (`helo`) or for MAIL FROM; the output too, for DMARC.
async fn spf(run: &Run<'_>, inputs: &Inputs<'_>, helo: bool) -> (Verdict, Option<SpfOutput>) {
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
    let first = run.rec.lookups().len();
    let output = bounded(run.deadline, run.auth.verify_spf(cached(params, run.rec))).await;
    let (mut result, mut reason) = match &output {
        None => (
            Outcome::TempError,
            format!("no answer within {} s", run.limit.as_secs_f64()),
        ),
        Some(o) => spf_outcome(o),
    };
    if !matches!(result, Outcome::PermError | Outcome::TempError) {
        bounded(
            run.deadline,
            tell_void_lookups(run.auth, run.rec, first + 1),
        )
        .await;
    }
    // RFC 7208 4.6.4: more than two lookups that find nothing end the check;
    // mail-auth counts the ten lookups but not these.
    let voids = run
        .rec
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

async fn iprev(run: &Run<'_>, ip: IpAddr) -> Verdict {
    let Some(o) = bounded(run.deadline, run.auth.verify_iprev(cached(ip, run.rec))).await else {
        let text = sentence::iprev(Outcome::TempError, ip, &[], "no answer in time");
        return late(Method::Iprev, &ip.to_string(), run.limit, text);
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
