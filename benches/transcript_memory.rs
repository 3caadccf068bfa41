//! Memory a transcript line takes in the workbench for a typical session,
//! measured with a counting allocator.
//!
//!     cargo bench --bench transcript_memory
//!
//! The session is what the workbench shows against Postfix (its greeting,
//! its EHLO extensions before and after STARTTLS, its replies) and against
//! the built-in server (`serve`: its EHLO list, `250 2.1.5 Ok`, `Relay
//! access denied`, `queued as`), in turn: the connection and TLS info
//! lines as `transport` writes them (version and cipher, the certificate's
//! subject, names, issuer and expiry), AUTH with its secret masked,
//! MAIL/RCPT with a refused recipient, DATA and a message's content lines
//! (headers, a body), `queued as`, QUIT. The lines are modelled on what
//! `transport`, `proto::server` and a stock Debian Postfix send, not
//! recorded. Such sessions are pushed into the transcript over and over,
//! twice: with a message of 26 content lines (a line's text averages 31
//! bytes, as EHLO's extensions and the short replies weigh in) and with
//! one of 210 (48 bytes, within the 40–60 the goal is stated for).
//!
//! Prints, at 1,000 and 1,000,000 lines (the cap), the bytes the
//! transcript holds per line and where they go (the per-line records, the
//! text arena, the side tables), from the allocator and from the
//! transcript's own count, beside the average length of a line's text.

#![allow(clippy::expect_used, clippy::unwrap_used)]
// The counting allocator needs `unsafe impl GlobalAlloc`; nothing else here.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use smtp_workbench::app::Lines;
use smtp_workbench::proto::client::Event;
use smtp_workbench::proto::command::Verb;
use smtp_workbench::proto::reply::{Reply, ReplyCode};
use smtp_workbench::transport::Timed;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// The server's side of a session: its name and the replies that differ.
struct Server {
    greeting: &'static str,
    ehlo: &'static str,
    ehlo_tls: &'static str,
    software: &'static str,
}

const POSTFIX: Server = Server {
    greeting: "mail.example.test ESMTP Postfix (Debian/GNU)",
    ehlo: "mail.example.test\nPIPELINING\nSIZE 10240000\nVRFY\nETRN\nSTARTTLS\n\
           ENHANCEDSTATUSCODES\n8BITMIME\nDSN\nSMTPUTF8\nCHUNKING",
    ehlo_tls: "mail.example.test\nPIPELINING\nSIZE 10240000\nVRFY\nETRN\n\
               AUTH PLAIN LOGIN\nAUTH=PLAIN LOGIN\nENHANCEDSTATUSCODES\n8BITMIME\nDSN\n\
               SMTPUTF8\nCHUNKING",
    software: "Postfix",
};

const BUILT_IN: Server = Server {
    greeting: "localhost ESMTP smtp-workbench demo server",
    ehlo: "localhost\nPIPELINING\nSIZE 10485760\nVRFY\nSTARTTLS\nENHANCEDSTATUSCODES\n\
           8BITMIME\nSMTPUTF8\nCHUNKING",
    ehlo_tls: "localhost\nPIPELINING\nSIZE 10485760\nVRFY\nAUTH PLAIN LOGIN CRAM-MD5\n\
               ENHANCEDSTATUSCODES\n8BITMIME\nSMTPUTF8\nCHUNKING",
    software: "smtp-workbench",
};

/// Builds one session's events, with the times `transport` would stamp.
struct Session {
    out: Vec<Timed>,
    at: Duration,
    seq: u64,
}

impl Session {
    fn push(&mut self, event: Event, latency: Option<Duration>) {
        self.at += Duration::from_micros(731 + self.out.len() as u64 * 37);
        self.out.push(Timed {
            at: self.at,
            latency,
            event,
        });
    }

    fn info(&mut self, text: String) {
        self.push(Event::Info(text), None);
    }

    fn send(&mut self, text: &str) -> u64 {
        self.seq += 1;
        let seq = self.seq;
        self.push(
            Event::Sent {
                seq,
                text: text.into(),
                revealed: None,
            },
            None,
        );
        seq
    }

    fn reply(&mut self, answers: u64, verb: Option<Verb>, code: u16, text: &str) {
        let latency = Duration::from_nanos(412_337 + answers * 7919);
        self.push(
            Event::Reply {
                answers: Some(answers),
                verb,
                reply: Reply::new(ReplyCode::new(code).unwrap(), text),
            },
            Some(latency),
        );
    }

    fn step(&mut self, line: &str, verb: Verb, code: u16, text: &str) {
        let n = self.send(line);
        self.reply(n, Some(verb), code, text);
    }
}

// One line a step: the session reads as the transcript would.
fn session(server: &Server, n: u64, paragraphs: usize) -> Vec<Timed> {
    let mut s = Session {
        out: Vec::new(),
        at: Duration::ZERO,
        seq: 0,
    };
    let (host, addr) = match server.software {
        "Postfix" => ("mail.example.test", "192.0.2.25:25"),
        _ => ("localhost", "127.0.0.1:2525"),
    };
    s.info(format!("connecting to {host} ({addr})"));
    s.info(format!(
        "connected to {addr} from 192.0.2.10:{}",
        40000 + n % 20000
    ));
    s.reply(0, None, 220, server.greeting);
    s.step("EHLO client.example.org", Verb::Ehlo, 250, server.ehlo);
    s.step("STARTTLS", Verb::StartTls, 220, "2.0.0 Ready to start TLS");
    s.info("TLS established: TLS 1.3, TLS13_AES_256_GCM_SHA384".into());
    s.info(format!(
        "server certificate: subject CN={host}; names DNS:{host}; issuer C=US, O=Let's \
         Encrypt, CN=R11; expires Sat, 14 Jun 2025 09:12:44 +0000"
    ));
    s.info(format!(
        "certificate checked against the system's root certificates, for the name {host:?}"
    ));
    s.step("EHLO client.example.org", Verb::Ehlo, 250, server.ehlo_tls);
    s.seq += 1;
    let auth = s.seq;
    s.push(
        Event::Sent {
            seq: auth,
            text: "AUTH PLAIN ********".into(),
            revealed: Some("AUTH PLAIN AHN0dWRlbnRAY2xpZW50LmV4YW1wbGUub3JnAHMzY3IzdA==".into()),
        },
        None,
    );
    s.reply(
        auth,
        Some(Verb::Auth),
        235,
        "2.7.0 Authentication successful",
    );
    s.step(
        "MAIL FROM:<student@client.example.org> SIZE=1843 BODY=8BITMIME",
        Verb::Mail,
        250,
        "2.1.0 Ok",
    );
    s.step(
        "RCPT TO:<alice.martin@example.test>",
        Verb::Rcpt,
        250,
        "2.1.5 Ok",
    );
    s.step(
        "RCPT TO:<bob.nguyen@example.test>",
        Verb::Rcpt,
        250,
        "2.1.5 Ok",
    );
    s.step(
        "RCPT TO:<carol@external.example>",
        Verb::Rcpt,
        554,
        "5.7.1 <carol@external.example>: Relay access denied",
    );
    s.step("DATA", Verb::Data, 354, "End data with <CR><LF>.<CR><LF>");
    let id = format!("4Xy7Zk0dQbz{}", n % 10);
    let body = [
        "here are the minutes of Thursday's meeting, as promised. We agreed to ",
        "move the relay to the new host before the end of the month, and to keep ",
        "the old one as a backup MX until the DNS changes have settled everywhere.",
        "",
        "Bob will check the SPF and DKIM records for both domains before Monday; ",
        "I will write the runbook for the switch and send it round for comments.",
        "Alice, could you ask the provider whether port 587 is open on the new one?",
        "",
    ];
    let body = body.iter().cycle().take(body.len() * paragraphs);
    let head = [
        format!("Message-ID: <{n}.1718359964.4f2a9c@client.example.org>"),
        "Date: Fri, 14 Jun 2024 10:12:44 +0200".into(),
        "From: Student Example <student@client.example.org>".into(),
        "To: Alice Martin <alice.martin@example.test>".into(),
        "Cc: Bob Nguyen <bob.nguyen@example.test>".into(),
        "Subject: Re: Minutes of the Thursday meeting, and next steps".into(),
        "In-Reply-To: <20240613174402.3f9e1c2a@mail.example.test>".into(),
        "References: <20240613174402.3f9e1c2a@mail.example.test>".into(),
        "User-Agent: smtp-workbench/0.1 (a terminal workbench for SMTP)".into(),
        "MIME-Version: 1.0".into(),
        "Content-Type: text/plain; charset=utf-8; format=flowed".into(),
        "Content-Transfer-Encoding: 8bit".into(),
        String::new(),
        "Hello Alice, hello Bob,".into(),
        String::new(),
    ];
    let tail = ["Best regards,", "Student", "."];
    for line in head
        .iter()
        .map(String::as_str)
        .chain(body.copied())
        .chain(tail)
    {
        s.send(line);
    }
    let dot = s.seq;
    let queued = format!("2.0.0 Ok: queued as {id}");
    s.reply(dot, Some(Verb::Data), 250, &queued);
    s.step("QUIT", Verb::Quit, 221, "2.0.0 Bye");
    s.info("connection closed by the server".into());
    s.out
}

struct Measured {
    per_line: f64,
    text: f64,
    records: f64,
    arena: f64,
    side: f64,
}

fn measure(target: usize, paragraphs: usize) -> Measured {
    let before = LIVE.load(Ordering::Relaxed);
    let mut lines = Lines::default();
    let mut text_bytes = 0usize;
    let mut n = 0;
    while lines.len() < target {
        let server = if n % 2 == 0 { &POSTFIX } else { &BUILT_IN };
        for e in session(server, n, paragraphs) {
            let from = lines.len();
            lines.push_event(&e);
            text_bytes += (from..lines.len())
                .map(|i| lines.get(i).unwrap().text.len())
                .sum::<usize>();
        }
        n += 1;
    }
    let held = LIVE.load(Ordering::Relaxed) - before;
    let count = lines.len() as f64;
    let f = lines.footprint();
    drop(lines);
    Measured {
        per_line: held as f64 / count,
        text: text_bytes as f64 / count,
        records: f.records as f64 / count,
        arena: f.text as f64 / count,
        side: f.side as f64 / count,
    }
}

fn main() {
    println!(
        "{:>24} {:>10} {:>11} {:>9} {:>9} {:>9} {:>11}",
        "session", "lines", "bytes/line", "records", "arena", "side", "text/line"
    );
    for (name, paragraphs) in [("typical (26 content)", 1), ("long message (210)", 24)] {
        for n in [1_000usize, 1_000_000] {
            let m = measure(n, paragraphs);
            println!(
                "{name:>24} {n:>10} {:>11.1} {:>9.1} {:>9.1} {:>9.1} {:>11.1}",
                m.per_line, m.records, m.arena, m.side, m.text
            );
        }
    }
}
