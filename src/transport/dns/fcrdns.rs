//! FCrDNS: the server's address resolved back (PTR) and each name forward
//! again (A/AAAA); a name that comes back to the address is confirmed, and
//! compared with the names the server gives in its banner and its EHLO
//! reply. Receivers judge clients this way; here it is a note, never an
//! error.

use std::net::IpAddr;

use futures_util::FutureExt as _;
use tokio::task::{JoinError, JoinHandle};

use super::{line, AddrKind, Hickory, Lookup};
use crate::proto::client::Event;
use crate::proto::command::Verb;
use crate::proto::reply::Reply;

/// The names of `ip` that resolve back to it; each lookup a line, and a
/// line when there are none.
pub async fn confirmed<L: Lookup>(
    dns: &L,
    ip: IpAddr,
    emit: &mut impl FnMut(Event),
) -> Vec<String> {
    let answer = dns.ptr(ip).await;
    emit(Event::Info(line("PTR", &ip.to_string(), &answer)));
    if ip.is_loopback()
        && matches!(&answer, Ok(a) if a.records.iter().any(|r| r.value == "localhost"))
    {
        emit(Event::Info(format!(
            "fcrdns: {ip} is a loopback address: the resolver names it localhost itself \
             (RFC 6761 6.3) without asking the DNS server"
        )));
    }
    let names: Vec<String> = match answer {
        Ok(a) if !a.records.is_empty() => a.records.into_iter().map(|r| r.value).take(3).collect(),
        _ => {
            emit(Event::Info(format!("fcrdns: {ip} has no PTR record")));
            return Vec::new();
        }
    };
    let kind = if ip.is_ipv4() {
        AddrKind::A
    } else {
        AddrKind::Aaaa
    };
    let mut good = Vec::new();
    for name in names {
        let back = dns.addrs(&name, kind).await;
        emit(Event::Info(line(&kind.to_string(), &name, &back)));
        match back {
            Ok(a) if a.records.iter().any(|r| r.value == ip) => good.push(name),
            _ => emit(Event::Info(format!(
                "fcrdns: PTR {name} does not resolve back to {ip}: not forward-confirmed"
            ))),
        }
    }
    good
}

/// The comparison of the confirmed names with the banner's and EHLO's,
/// said once each as soon as both sides are known.
#[derive(Debug, Default)]
pub struct Compare {
    /// None until the lookups are done.
    names: Option<Vec<String>>,
    banner: Option<String>,
    ehlo: Option<String>,
    said_banner: bool,
    said_ehlo: bool,
}

impl Compare {
    pub fn resolved(&mut self, names: Vec<String>) -> Vec<String> {
        self.names = Some(names);
        self.notes()
    }

    /// Takes the names the server gives from its replies as they pass.
    pub fn observe(&mut self, event: &Event) -> Vec<String> {
        let Event::Reply {
            answers,
            verb,
            reply,
        } = event
        else {
            return Vec::new();
        };
        if *answers == Some(0) && self.banner.is_none() {
            self.banner = first_word(reply);
        } else if *verb == Some(Verb::Ehlo) && self.ehlo.is_none() && reply.code.is_positive() {
            self.ehlo = first_word(reply);
        }
        self.notes()
    }

    fn notes(&mut self) -> Vec<String> {
        let Some(names) = self.names.as_ref().filter(|n| !n.is_empty()) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (given, said, what) in [
            (&self.banner, &mut self.said_banner, "the banner"),
            (&self.ehlo, &mut self.said_ehlo, "the EHLO reply"),
        ] {
            let Some(given) = given.as_ref().filter(|_| !*said) else {
                continue;
            };
            *said = true;
            let shown = names.join(", ");
            out.push(if names.iter().any(|n| n.eq_ignore_ascii_case(given)) {
                format!("fcrdns: PTR {shown} matches {what}")
            } else {
                format!("fcrdns: PTR {shown} does not match {what}, which says {given}")
            });
        }
        out
    }
}

/// The lookups' lines and the confirmed names.
type Found = (Vec<Event>, Vec<String>);

/// FCrDNS for a connection, run beside the session: its lines come out
/// when the lookups are done, the comparisons as the names arrive.
pub struct Reverse {
    task: Option<JoinHandle<Found>>,
    compare: Compare,
}

impl Reverse {
    pub fn start(dns: Hickory, ip: IpAddr) -> Self {
        let task = tokio::spawn(async move {
            let mut lines = Vec::new();
            let names = confirmed(&dns, ip, &mut |e| lines.push(e)).await;
            (lines, names)
        });
        Self {
            task: Some(task),
            compare: Compare::default(),
        }
    }

    /// What can be said now, without waiting.
    pub fn poll(&mut self) -> Vec<Event> {
        match self.task.as_ref() {
            Some(t) if t.is_finished() => {}
            _ => return Vec::new(),
        }
        let done = self.task.take().and_then(|t| t.now_or_never());
        self.take(done)
    }

    /// Passes an event of the session; the notes it makes possible.
    pub fn observe(&mut self, event: &Event) -> Vec<Event> {
        let notes = self.compare.observe(event);
        notes.into_iter().map(Event::Info).collect()
    }

    /// At the end of the session: waits for the lookups (each is bounded
    /// by the time limit) and says what is left.
    pub async fn finish(&mut self) -> Vec<Event> {
        let done = match self.task.take() {
            Some(t) => Some(t.await),
            None => return Vec::new(),
        };
        self.take(done)
    }

    fn take(&mut self, done: Option<Result<Found, JoinError>>) -> Vec<Event> {
        let Some(Ok((mut lines, names))) = done else {
            return Vec::new();
        };
        lines.extend(self.compare.resolved(names).into_iter().map(Event::Info));
        lines
    }
}

fn first_word(reply: &Reply) -> Option<String> {
    reply
        .message_lines()
        .first()?
        .split_whitespace()
        .next()
        .map(|w| w.chars().take(255).collect())
}

#[cfg(test)]
mod tests {
    use super::super::table::Table;
    use super::*;
    use crate::proto::reply::ReplyCode;

    fn reply(answers: u64, verb: Option<Verb>, text: &str) -> Event {
        Event::Reply {
            answers: Some(answers),
            verb,
            reply: Reply::new(
                ReplyCode::new(if answers == 0 { 220 } else { 250 }).unwrap(),
                text,
            ),
        }
    }

    fn confirm(t: &Table, ip: &str) -> (Vec<String>, Vec<String>) {
        let mut lines = Vec::new();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let names = rt.block_on(confirmed(t, ip.parse().unwrap(), &mut |e| {
            if let Event::Info(s) = e {
                lines.push(s)
            }
        }));
        (names, lines)
    }

    #[test]
    fn a_confirmed_name_is_compared_with_the_banner_and_ehlo() {
        let (names, lines) = confirm(&Table::demo(), "127.0.0.1");
        assert_eq!(names, ["mx.example.test"]);
        assert_eq!(lines[0], "dns: PTR 127.0.0.1 → mx.example.test (TTL 300)");
        let mut c = Compare::default();
        assert!(c
            .observe(&reply(0, None, "mx.example.test ESMTP"))
            .is_empty());
        assert_eq!(
            c.resolved(names),
            ["fcrdns: PTR mx.example.test matches the banner"]
        );
        assert_eq!(
            c.observe(&reply(1, Some(Verb::Ehlo), "other.example.test hello\nPIPELINING")),
            ["fcrdns: PTR mx.example.test does not match the EHLO reply, which says other.example.test"]
        );
        assert!(c.observe(&reply(2, Some(Verb::Ehlo), "x")).is_empty());
    }

    #[test]
    fn no_ptr_is_said_plainly() {
        let (names, lines) = confirm(&Table::demo(), "127.0.0.2");
        assert!(names.is_empty());
        assert_eq!(lines[1], "fcrdns: 127.0.0.2 has no PTR record");
        let mut c = Compare::default();
        c.resolved(names);
        assert!(c.observe(&reply(0, None, "x.test ESMTP")).is_empty());
    }
}
