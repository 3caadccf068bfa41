//! What one connection has judged already. SPF for the HELO name, SPF for
//! MAIL FROM and iprev depend only on the client's address, the HELO name
//! and the envelope sender, which a connection keeps from message to
//! message, so an MTA judges them once per connection and per distinct
//! input; DKIM and DMARC, which read the message, are judged every time.
//! The organizational domains (RFC 9989's tree walk) of the From: domain
//! and the domains it is aligned with are kept too, when they come from
//! the offline zone, whose answers cannot change or fail for a while.

use std::borrow::Cow;
use std::net::IpAddr;

use mail_auth::{DkimOutput, DkimResult, SpfOutput, SpfResult};

use super::orgdomain::OrgDomains;
use super::verdict::{Alignment, Outcome, Verdict};
use super::Inputs;

/// The verdicts kept for the next message of the same connection. A
/// `temperror` is never kept: the next message asks DNS again.
#[derive(Debug, Clone, Default)]
pub struct Memo {
    helo: Option<(SpfKey, Verdict)>,
    /// The verdict with its sentence, and how the sentence found MAIL
    /// FROM's domain aligned with From: (the only way the organizational
    /// domains change it).
    mail_from: Option<(SpfKey, Verdict, SpfOutput, Option<Alignment>)>,
    iprev: Option<(IpAddr, Verdict)>,
    /// The From: domain and the others walked with it, and what was found.
    orgs: Option<(String, Vec<String>, OrgDomains)>,
    dmarc: Option<(DmarcInputs<'static>, Verdict)>,
}

/// Everything a DMARC verdict is made from besides the zone: the From:
/// addresses, SPF's domain and result (mail-auth's, and ours after the
/// void-lookup rule), and the DKIM signatures DMARC counts, as mail-auth
/// counts them: each `d=` that passed (None) or failed for now (the error).
/// Borrowed to look the memo up; owned once kept.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct DmarcInputs<'a> {
    from: Cow<'a, [String]>,
    spf_domain: Cow<'a, str>,
    spf: (SpfResult, Outcome),
    dkim: Vec<(String, Option<String>)>,
}

impl<'a> DmarcInputs<'a> {
    /// No allocation for a message without a signature.
    pub(super) fn new(
        from: &'a [String],
        spf: &'a Verdict,
        spf_output: &SpfOutput,
        dkim: &[DkimOutput<'_>],
    ) -> Self {
        let dkim = dkim
            .iter()
            .filter_map(|o| match (o.result(), o.signature()) {
                (DkimResult::Pass, Some(s)) => Some((s.d.clone(), None)),
                (DkimResult::TempError(e), Some(s)) => Some((s.d.clone(), Some(e.to_string()))),
                _ => None,
            })
            .collect();
        Self {
            from: Cow::Borrowed(from),
            spf_domain: Cow::Borrowed(&spf.domain),
            spf: (spf_output.result(), spf.result),
            dkim,
        }
    }

    fn into_owned(self) -> DmarcInputs<'static> {
        DmarcInputs {
            from: Cow::Owned(self.from.into_owned()),
            spf_domain: Cow::Owned(self.spf_domain.into_owned()),
            spf: self.spf,
            dkim: self.dkim,
        }
    }
}

/// Everything an SPF verdict is made from: the inputs of `check_host()`
/// (the local part too, for the `%{l}` macro), the receiver for `%{r}`, and
/// the From: domain its sentence names.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SpfKey {
    ip: IpAddr,
    helo: String,
    mail_from: String,
    receiver: String,
    from: Option<String>,
}

impl SpfKey {
    fn matches(&self, inputs: &Inputs<'_>, mail_from: &str, from: Option<&str>) -> bool {
        self.ip == inputs.client_ip
            && self.helo == inputs.helo
            && self.mail_from == mail_from
            && self.receiver == inputs.receiver
            && self.from.as_deref() == from
    }

    fn new(inputs: &Inputs<'_>, mail_from: &str, from: Option<&str>) -> Self {
        Self {
            ip: inputs.client_ip,
            helo: inputs.helo.to_string(),
            mail_from: mail_from.to_string(),
            receiver: inputs.receiver.to_string(),
            from: from.map(str::to_string),
        }
    }
}

fn keeps(v: &Verdict) -> bool {
    v.result != Outcome::TempError
}

impl Memo {
    /// Nothing judged yet.
    pub fn is_empty(&self) -> bool {
        self.helo.is_none()
            && self.mail_from.is_none()
            && self.iprev.is_none()
            && self.orgs.is_none()
            && self.dmarc.is_none()
    }

    /// The DMARC verdict judged from the same inputs.
    pub(super) fn dmarc(&self, inputs: &DmarcInputs<'_>) -> Option<Verdict> {
        let (kept, v) = self.dmarc.as_ref()?;
        (kept == inputs).then(|| v.clone())
    }

    pub(super) fn keep_dmarc(&mut self, inputs: DmarcInputs<'_>, v: &Verdict) {
        if keeps(v) {
            self.dmarc = Some((inputs.into_owned(), v.clone()));
        }
    }

    pub(super) fn helo(&self, inputs: &Inputs<'_>) -> Option<Verdict> {
        let (key, v) = self.helo.as_ref()?;
        key.matches(inputs, "", None).then(|| v.clone())
    }

    /// Keeps a verdict judged anew; one taken from here is kept already.
    pub(super) fn keep_helo(&mut self, inputs: &Inputs<'_>, v: &Verdict) {
        let kept = self.helo.as_ref();
        if keeps(v) && !kept.is_some_and(|(k, _)| k.matches(inputs, "", None)) {
            self.helo = Some((SpfKey::new(inputs, "", None), v.clone()));
        }
    }

    /// The verdict, its output for DMARC, and the alignment its sentence told.
    pub(super) fn mail_from(
        &self,
        inputs: &Inputs<'_>,
        from: Option<&str>,
    ) -> Option<(Verdict, SpfOutput, Option<Alignment>)> {
        let (key, v, o, aligned) = self.mail_from.as_ref()?;
        key.matches(inputs, inputs.mail_from, from)
            .then(|| (v.clone(), o.clone(), *aligned))
    }

    /// Keeps the verdict, its sentence told with `aligned`; when the same
    /// inputs are kept already only a new sentence is.
    pub(super) fn keep_mail_from(
        &mut self,
        inputs: &Inputs<'_>,
        from: Option<&str>,
        v: &Verdict,
        o: Option<&SpfOutput>,
        aligned: Option<Alignment>,
    ) {
        let (true, Some(o)) = (keeps(v), o) else {
            return;
        };
        match &mut self.mail_from {
            Some((key, kept, _, was)) if key.matches(inputs, inputs.mail_from, from) => {
                if *was != aligned {
                    kept.sentence.clone_from(&v.sentence);
                    *was = aligned;
                }
            }
            _ => {
                let key = SpfKey::new(inputs, inputs.mail_from, from);
                self.mail_from = Some((key, v.clone(), o.clone(), aligned));
            }
        }
    }

    pub(super) fn iprev(&self, ip: IpAddr) -> Option<Verdict> {
        let (kept, v) = self.iprev.as_ref()?;
        (*kept == ip).then(|| v.clone())
    }

    pub(super) fn keep_iprev(&mut self, ip: IpAddr, v: &Verdict) {
        if keeps(v) && self.iprev.as_ref().is_none_or(|(kept, _)| *kept != ip) {
            self.iprev = Some((ip, v.clone()));
        }
    }

    pub(super) fn orgs(&self, author: &str, others: &[&str]) -> Option<OrgDomains> {
        let (a, o, found) = self.orgs.as_ref()?;
        (a == author && o.iter().map(String::as_str).eq(others.iter().copied()))
            .then(|| found.clone())
    }

    /// Keeps the walk's result; the caller keeps only what the offline zone
    /// answered in time (a walk cut short by the deadline finds nothing).
    pub(super) fn keep_orgs(&mut self, author: &str, others: &[&str], found: &OrgDomains) {
        let others = others.iter().map(|d| d.to_string()).collect();
        self.orgs = Some((author.to_string(), others, found.clone()));
    }
}
