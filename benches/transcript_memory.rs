//! Memory a transcript line takes in the workbench, for a typical session
//! (a greeting, EHLO and its extensions, AUTH, MAIL, two RCPTs, DATA,
//! QUIT, over and over), measured with a counting allocator.
//!
//!     cargo bench --bench transcript_memory
//!
//! Prints the bytes per line at 1,000 and 1,000,000 lines (the cap), and
//! the average length of a line's text for comparison.

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

/// One session with the demo server, as its events.
fn session(start: u64, seq: &mut u64) -> Vec<Timed> {
    let mut out = Vec::new();
    let mut at = start;
    let mut t = |event: Event, latency: bool| {
        at += 1;
        out.push(Timed {
            at: Duration::from_micros(at * 731),
            latency: latency.then(|| Duration::from_micros(412)),
            event,
        });
    };
    let reply = |verb: Option<Verb>, answers: u64, code: u16, text: &str| Event::Reply {
        answers: Some(answers),
        verb,
        reply: Reply::new(ReplyCode::new(code).unwrap(), text),
    };
    let send = |text: &str, seq: &mut u64| {
        *seq += 1;
        Event::Sent {
            seq: *seq,
            text: text.into(),
            revealed: None,
        }
    };
    t(
        Event::Info("connected to 127.0.0.1:2525 from 127.0.0.1:40000".into()),
        false,
    );
    t(
        reply(
            None,
            0,
            220,
            "demo.example.test ESMTP smtp-workbench demo server",
        ),
        true,
    );
    let steps: [(&str, Verb, u16, &str); 8] = [
        ("EHLO client.example", Verb::Ehlo, 250, "demo.example.test Hello client.example\nPIPELINING\nSIZE 10485760\nSTARTTLS\nAUTH PLAIN LOGIN CRAM-MD5\nENHANCEDSTATUSCODES\n8BITMIME"),
        ("AUTH PLAIN ********", Verb::Auth, 235, "2.7.0 Authentication successful"),
        ("MAIL FROM:<student@client.example> SIZE=412", Verb::Mail, 250, "2.1.0 Sender <student@client.example> ok"),
        ("RCPT TO:<alice@example.test>", Verb::Rcpt, 250, "2.1.5 Recipient <alice@example.test> ok"),
        ("RCPT TO:<bob@example.test>", Verb::Rcpt, 250, "2.1.5 Recipient <bob@example.test> ok"),
        ("DATA", Verb::Data, 354, "End data with <CR><LF>.<CR><LF>"),
        ("(412 bytes of message content, dot-stuffed, then .)", Verb::Data, 250, "2.0.0 Ok: queued as AB12C00001"),
        ("QUIT", Verb::Quit, 221, "2.0.0 demo.example.test closing connection"),
    ];
    for (line, verb, code, text) in steps {
        let sent = send(line, seq);
        let n = *seq;
        t(sent, false);
        t(reply(Some(verb), n, code, text), true);
    }
    out
}

fn measure(target: usize) -> (f64, f64) {
    let before = LIVE.load(Ordering::Relaxed);
    let mut lines = Lines::default();
    let mut seq = 0;
    let mut text_bytes = 0usize;
    let mut start = 0;
    while lines.len() < target {
        for e in session(start, &mut seq) {
            let n = lines.len();
            lines.push_event(&e);
            text_bytes += (n..lines.len())
                .map(|i| lines.get(i).unwrap().text.len())
                .sum::<usize>();
        }
        start += 100;
    }
    let held = LIVE.load(Ordering::Relaxed) - before;
    let n = lines.len() as f64;
    drop(lines);
    (held as f64 / n, text_bytes as f64 / n)
}

fn main() {
    println!(
        "{:>10} {:>15} {:>15}",
        "lines", "bytes/line", "text bytes/line"
    );
    for n in [1_000usize, 1_000_000] {
        let (per_line, text) = measure(n);
        println!("{n:>10} {per_line:>15.1} {text:>15.1}");
    }
}
