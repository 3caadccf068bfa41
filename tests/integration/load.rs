//! `send --count N --concurrency C`: the summary's counts add up to N, in
//! text and in JSON, against the built-in server and against a scripted
//! server that refuses some; the progress bar shows on a terminal and not
//! when stdout is a pipe.

use std::io::{BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::Value;

use crate::pty::Pty;
use crate::support::{bin, envelope_args, Conn};

/// The last line of a JSON load run: the summary object.
fn summary(args: &[String], code: i32) -> Value {
    let out = bin().args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(code), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    for line in text.lines() {
        let _: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    }
    let last = text.lines().last().unwrap();
    let v: Value = serde_json::from_str(last).unwrap();
    assert_eq!(v["kind"], "summary", "{last}");
    v
}

fn sum(v: &Value) -> u64 {
    v.as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum()
}

/// accepted + refused + errors = messages, and every run was timed.
fn assert_adds_up(v: &Value, n: u64) {
    assert_eq!(v["messages"], n, "{v}");
    let accepted = v["accepted"].as_u64().unwrap();
    assert_eq!(accepted + sum(&v["refused"]) + sum(&v["errors"]), n, "{v}");
    assert_eq!(sum(&v["final_replies"]) + sum(&v["errors"]), n, "{v}");
    assert_eq!(v["latency_ms"]["transaction"]["runs"], n, "{v}");
    assert_eq!(v["latency_ms"]["method"], "nearest-rank");
    let t = &v["latency_ms"]["transaction"];
    let (p50, p95, p99, max) = (
        t["p50"].as_f64().unwrap(),
        t["p95"].as_f64().unwrap(),
        t["p99"].as_f64().unwrap(),
        t["max"].as_f64().unwrap(),
    );
    assert!(p50 <= p95 && p95 <= p99 && p99 <= max, "{v}");
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(ToString::to_string).collect()
}

#[test]
fn against_the_built_in_server_the_counts_add_up() {
    let v = summary(
        &strings(&[
            "send",
            "--ehlo",
            "c.example.test",
            "--count",
            "40",
            "--concurrency",
            "4",
            "--format",
            "json",
        ]),
        0,
    );
    assert_adds_up(&v, 40);
    assert_eq!(v["accepted"], 40);
    assert_eq!(v["concurrency"], 4);
    assert_eq!(v["latency_ms"]["final_dot"]["runs"], 40);
    assert_eq!(v["exit"], 0);
    assert!(v["messages_per_s"].as_f64().unwrap() > 0.0);
    // Every one refused at RCPT: no final dot was sent.
    let v = summary(
        &strings(&[
            "send",
            "--ehlo",
            "c.example.test",
            "--rcpt",
            "x@elsewhere.example",
            "--count",
            "6",
            "--concurrency",
            "3",
            "--format",
            "json",
        ]),
        5,
    );
    assert_adds_up(&v, 6);
    assert_eq!(v["refused"]["554"], 6);
    assert_eq!(v["latency_ms"]["final_dot"], Value::Null);
}

#[test]
fn the_text_summary_gives_percentiles_and_the_failures() {
    let out = bin()
        .args([
            "send",
            "--ehlo",
            "c.example.test",
            "--rcpt",
            "x@elsewhere.example",
            "--count",
            "5",
            "--concurrency",
            "2",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5));
    let text = String::from_utf8(out.stdout).unwrap();
    let tail: Vec<&str> = text.lines().rev().take(4).collect();
    assert!(
        tail[3].contains(
            "== latency of the whole transaction, connect to QUIT (nearest-rank, 5 runs): p50 "
        ),
        "{text}"
    );
    assert!(
        tail[2].contains("== latency of the reply to the final dot: none (no run got that far)"),
        "{text}"
    );
    assert!(
        tail[1].contains("== not accepted: 5 of 5: 554 ×5"),
        "{text}"
    );
    assert!(
        tail[0].contains("== result: load: 5 messages over 2"),
        "{text}"
    );
    // No bar, no escape sequence: stdout is not a terminal.
    assert!(!text.contains('\x1b'), "{text:?}");
    assert!(!text.contains("/5 messages,"), "{text}");
}

/// A server on loopback whose connections go by their order: the n-th is
/// refused at RCPT with 451 (n % 5 == 0), refused after the dot with 554
/// (n % 5 == 1), hung up on before the greeting (n % 5 == 2), or accepted.
fn refusing_server(connections: usize) -> (SocketAddr, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(AtomicUsize::new(0));
    let handle = std::thread::spawn(move || {
        let mut threads = Vec::new();
        for _ in 0..connections {
            let Ok((stream, _)) = listener.accept() else {
                break;
            };
            let n = seen.fetch_add(1, Ordering::Relaxed);
            threads.push(std::thread::spawn(move || {
                stream
                    .set_read_timeout(Some(Duration::from_secs(10)))
                    .unwrap();
                let mut c = Conn {
                    reader: BufReader::new(stream.try_clone().unwrap()),
                    stream,
                };
                if n % 5 == 2 {
                    return;
                }
                c.greet_and_ehlo(&[]);
                let _mail = c.line();
                c.send(b"250 2.1.0 ok\r\n");
                let _rcpt = c.line();
                if n.is_multiple_of(5) {
                    c.send(b"451 4.7.1 slow down\r\n");
                } else {
                    c.send(b"250 2.1.5 ok\r\n");
                    let _data = c.line();
                    c.send(b"354 go ahead\r\n");
                    c.read_data();
                    if n % 5 == 1 {
                        c.send(b"554 5.7.1 content refused\r\n");
                    } else {
                        c.send(b"250 2.0.0 queued\r\n");
                    }
                }
                if c.line().is_some() {
                    c.send(b"221 2.0.0 bye\r\n");
                }
                let _ = c.stream.flush();
            }));
        }
        for t in threads {
            let _ = t.join();
        }
    });
    (addr, handle)
}

#[test]
fn against_a_server_refusing_some_the_counts_add_up_by_code() {
    let (addr, server) = refusing_server(20);
    let mut args = envelope_args(addr);
    args.extend(strings(&[
        "--count",
        "20",
        "--concurrency",
        "3",
        "--format",
        "json",
    ]));
    let v = summary(&args, 5);
    server.join().unwrap();
    assert_adds_up(&v, 20);
    assert_eq!(v["accepted"], 8, "{v}");
    assert_eq!(v["refused"]["451"], 4, "{v}");
    assert_eq!(v["refused"]["554"], 4, "{v}");
    assert_eq!(v["errors"]["connection"], 4, "{v}");
    assert_eq!(v["final_replies"]["250"], 8, "{v}");
    // The dot went out in the accepted runs and in those refused after it.
    assert_eq!(v["latency_ms"]["final_dot"]["runs"], 12, "{v}");
    assert_eq!(v["exit"], 5);
}

fn load_args(count: &str) -> Vec<String> {
    strings(&[
        "send",
        "--ehlo",
        "c.example.test",
        "--count",
        count,
        "--concurrency",
        "2",
    ])
}

/// On a terminal the bar is drawn (and cleared for the summary).
#[test]
fn the_progress_bar_shows_on_a_terminal() {
    let args = load_args("300");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut pty = Pty::spawn(&args);
    assert_eq!(pty.wait_exit(), 0);
    let raw = String::from_utf8_lossy(&pty.raw()).into_owned();
    assert!(raw.contains("/300 messages, "), "{raw}");
    assert!(raw.contains("] "), "{raw}");
    let screen = pty.screen();
    assert!(screen.contains("result: load: 300 messages"), "{screen}");
    assert!(!screen.contains("/300 messages, "), "cleared: {screen}");
}

/// With stdout a pipe (the terminal still the shell's stderr), no bar.
#[test]
fn no_progress_bar_when_stdout_is_a_pipe() {
    let line = format!(
        "'{}' {} | cat",
        env!("CARGO_BIN_EXE_smtp-workbench"),
        load_args("300").join(" ")
    );
    let mut pty = Pty::spawn_program("sh", &["-c", &line]);
    assert_eq!(pty.wait_exit(), 0);
    let raw = String::from_utf8_lossy(&pty.raw()).into_owned();
    assert!(raw.contains("result: load: 300 messages"), "{raw}");
    assert!(!raw.contains("/300 messages"), "{raw}");
    assert!(!raw.contains('\x1b'), "{raw:?}");
}
