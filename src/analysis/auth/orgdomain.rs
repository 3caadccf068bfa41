//! The organizational domain as DMARC finds it (RFC 9989 4.10): the DNS
//! tree walk over `_dmarc.` names, asked through the same recorded answers
//! mail-auth's DMARC check reads, and the same choice among the records
//! found. Our alignment sentences then say what mail-auth's verdict used:
//! no public suffix list, and no "last two labels".

use std::borrow::Cow;

use mail_auth::common::to_a_label;
use mail_auth::dmarc::{Dmarc, Psd};
use mail_auth::{DnsError, Error, MessageAuthenticator};

use super::lookups::Recorder;

/// Each domain judged and its organizational domain, all in lower case
/// without the final dot. A domain not walked is its own (RFC 9989
/// 4.10.2: with no DMARC record found, the domain itself).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrgDomains {
    found: Vec<(String, String)>,
}

impl OrgDomains {
    /// From pairs already known (tests, and callers that walked elsewhere).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self {
            found: pairs
                .into_iter()
                .map(|(d, o)| (normal(d).into_owned(), normal(o).into_owned()))
                .collect(),
        }
    }

    /// The organizational domain of `domain`, normalized.
    pub fn of<'a>(&'a self, domain: &'a str) -> Cow<'a, str> {
        let d = normal(domain);
        match self.found.iter().find(|(k, _)| *k == d) {
            Some((_, org)) => Cow::Borrowed(org),
            None => d,
        }
    }
}

/// Lower case (A-labels for an IDN, as mail-auth compares) without the
/// final dot; a name that is so already is borrowed, as most are.
pub fn normal(domain: &str) -> Cow<'_, str> {
    let d = domain.trim_end_matches('.');
    if d.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
        Cow::Borrowed(d)
    } else {
        Cow::Owned(to_a_label(d).to_ascii_lowercase())
    }
}

/// The organizational domains of `author` (From:'s domain) and of each of
/// `others` (SPF's domain, DKIM's `d=`) that could align with it: one that
/// does not end in the author's organizational domain cannot, and is not
/// walked (mail-auth does not walk it either).
pub(super) async fn find(
    auth: &MessageAuthenticator,
    rec: &Recorder,
    author: &str,
    others: &[&str],
) -> OrgDomains {
    let author = normal(author).into_owned();
    let author_org = organizational(auth, rec, &author).await;
    let mut orgs = OrgDomains {
        found: vec![(author.clone(), author_org.clone())],
    };
    for other in others {
        let d = normal(other).into_owned();
        if orgs.found.iter().any(|(k, _)| *k == d) || !within(&d, &author_org) {
            continue;
        }
        let org = organizational(auth, rec, &d).await;
        orgs.found.push((d, org));
    }
    orgs
}

/// `domain` is `org` or a name below it.
fn within(domain: &str, org: &str) -> bool {
    domain
        .strip_suffix(org)
        .is_some_and(|rest| rest.is_empty() || rest.ends_with('.'))
}

/// One domain's organizational domain; itself when the walk finds no
/// record or fails (mail-auth's `organizational_domain_of`).
async fn organizational(auth: &MessageAuthenticator, rec: &Recorder, domain: &str) -> String {
    match tree_walk(auth, rec, domain).await {
        Ok(walk) => choose(&walk, domain).unwrap_or(domain).to_string(),
        Err(_) => domain.to_string(),
    }
}

/// The DNS tree walk (RFC 9989 4.10.1): `_dmarc.` of the name itself, then
/// from at most seven labels one label at a time down to the top-level
/// domain, stopping at a record with `psd=y` or `psd=n`. Returns each name
/// holding a DMARC record with its `psd` tag, longest first.
async fn tree_walk<'d>(
    auth: &MessageAuthenticator,
    rec: &Recorder,
    domain: &'d str,
) -> Result<Vec<(&'d str, Psd)>, Error> {
    let total = domain.split('.').filter(|l| !l.is_empty()).count();
    let mut found = Vec::new();
    if total < 2 {
        return Ok(found);
    }
    let mut count = total;
    loop {
        let name = drop_leftmost_labels(domain, total - count);
        let key = format!("_dmarc.{name}.");
        match auth.txt_lookup::<Dmarc>(key.as_str(), Some(rec)).await {
            Ok(dmarc) => {
                let stop = matches!(dmarc.psd, Psd::Yes | Psd::No);
                found.push((name, dmarc.psd.clone()));
                if stop {
                    break;
                }
            }
            Err(Error::Dns(DnsError::RecordNotFound(code))) => rec.learn_missing(&key, code),
            Err(Error::Dns(DnsError::InvalidRecordType)) => {}
            Err(e) => return Err(e),
        }
        if count == 1 {
            break;
        }
        count = if count >= 8 { 7 } else { count - 1 };
    }
    Ok(found)
}

/// The organizational domain among the records a walk from `start` found
/// (RFC 9989 4.10.2): the first with `psd=n`; one label below the first
/// with `psd=y`; else the shortest name holding a record.
pub fn choose<'d>(walk: &[(&'d str, Psd)], start: &'d str) -> Option<&'d str> {
    for (name, psd) in walk {
        match psd {
            Psd::No => return Some(name),
            Psd::Yes if *name != start => return Some(one_label_below(name, start)),
            _ => {}
        }
    }
    walk.last().map(|(name, _)| *name)
}

fn one_label_below<'d>(psd_name: &str, start: &'d str) -> &'d str {
    let depth = psd_name.split('.').filter(|l| !l.is_empty()).count() + 1;
    let labels = start.split('.').filter(|l| !l.is_empty()).count();
    drop_leftmost_labels(start, labels.saturating_sub(depth))
}

fn drop_leftmost_labels(domain: &str, n: usize) -> &str {
    let mut suffix = domain;
    for _ in 0..n {
        match suffix.split_once('.') {
            Some((_, rest)) => suffix = rest,
            None => return "",
        }
    }
    suffix
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_chosen_from_a_walk() {
        use Psd::{Default as D, No as N, Yes as Y};
        let start = "a.b.example.co.uk";
        for (walk, want) in [
            (vec![], None),
            (vec![("example.co.uk", D)], Some("example.co.uk")),
            (
                vec![("a.b.example.co.uk", D), ("example.co.uk", D)],
                Some("example.co.uk"),
            ),
            // A public suffix's record (psd=y): one label below it.
            (vec![("co.uk", Y)], Some("example.co.uk")),
            (
                vec![("b.example.co.uk", N), ("co.uk", Y)],
                Some("b.example.co.uk"),
            ),
            // psd=y on the start itself does not make it a suffix of itself.
            (vec![("a.b.example.co.uk", Y), ("uk", D)], Some("uk")),
        ] {
            assert_eq!(choose(&walk, start), want, "{walk:?}");
        }
    }

    #[test]
    fn labels_dropped_and_names_normalized() {
        assert_eq!(drop_leftmost_labels("a.b.c", 0), "a.b.c");
        assert_eq!(drop_leftmost_labels("a.b.c", 2), "c");
        assert_eq!(drop_leftmost_labels("a.b.c", 3), "");
        assert_eq!(normal("News.Example.CO.UK."), "news.example.co.uk");
        assert!(matches!(
            normal("example.test."),
            Cow::Borrowed("example.test")
        ));
        assert_eq!(normal("Bänk.Example"), "xn--bnk-qla.example");
        assert!(within("a.example.test", "example.test"));
        assert!(within("example.test", "example.test"));
        assert!(!within("badexample.test", "example.test"));
    }
}
