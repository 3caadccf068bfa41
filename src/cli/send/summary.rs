//! Load mode's closing summary: the rate; the runs counted by how they
//! ended (accepted, refused by the final reply's code, failed without a
//! reply by kind), which add up to the messages sent; and the nearest-rank
//! latency percentiles of the whole transaction and of the reply to the
//! final dot. Text: `==` lines, then the result line. JSON: one
//! `{"kind":"summary",…}` object, the last line (fields in the README).

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use serde_json::{json, Value};

use super::load::Tally;
use super::percentile::Percentiles;
use crate::transcript::{Format, Writer};

/// Writes the summary in the writer's form.
pub fn write<W: Write>(writer: &mut Writer<W>, tally: &Tally, concurrency: usize, exit: u8) {
    match writer.format() {
        Format::Text => {
            for line in text_lines(tally) {
                let _ = writer.write_note(tally.elapsed, &line);
            }
            let _ = writer.write_result(tally.elapsed, &tally.summary(concurrency), exit);
        }
        Format::Json => {
            let _ = writer.write_json(&json_object(tally, concurrency, exit));
        }
    }
    let _ = writer.flush();
}

/// The lines before the result line (which has the rate and the codes).
pub fn text_lines(tally: &Tally) -> Vec<String> {
    let latency = |what: &str, values: &[Duration], none: &str| match Percentiles::of(values) {
        Some(p) => format!(
            "latency of {what} (nearest-rank, {} runs): p50 {}, p95 {}, p99 {}, max {}",
            p.runs,
            ms(p.p50),
            ms(p.p95),
            ms(p.p99),
            ms(p.max)
        ),
        None => format!("latency of {what}: none ({none})"),
    };
    let failed: Vec<String> = tally
        .refused
        .iter()
        .map(|(code, n)| format!("{code} ×{n}"))
        .chain(tally.errors.iter().map(|(kind, n)| format!("{kind} ×{n}")))
        .collect();
    let not_accepted = tally.sent - tally.accepted;
    vec![
        latency(
            "the whole transaction, connect to QUIT",
            &tally.transaction,
            "no run",
        ),
        latency(
            "the reply to the final dot",
            &tally.final_dot,
            "no run got that far",
        ),
        if failed.is_empty() {
            format!("not accepted: none of {}", tally.sent)
        } else {
            format!(
                "not accepted: {not_accepted} of {}: {}",
                tally.sent,
                failed.join(", ")
            )
        },
    ]
}

/// The JSON summary; `accepted` + the `refused` counts + the `errors`
/// counts = `messages`.
pub fn json_object(tally: &Tally, concurrency: usize, exit: u8) -> Value {
    let codes = |m: &BTreeMap<u16, usize>| -> BTreeMap<String, usize> {
        m.iter().map(|(c, n)| (c.to_string(), *n)).collect()
    };
    let latency = |values: &[Duration]| match Percentiles::of(values) {
        Some(p) => json!({
            "runs": p.runs,
            "p50": millis(p.p50),
            "p95": millis(p.p95),
            "p99": millis(p.p99),
            "max": millis(p.max),
        }),
        None => Value::Null,
    };
    let sentence = tally.summary(concurrency);
    json!({
        "t": round3(tally.elapsed.as_secs_f64()),
        "kind": "summary",
        "messages": tally.sent,
        "concurrency": concurrency,
        "elapsed_s": round3(tally.elapsed.as_secs_f64()),
        "messages_per_s": (tally.rate() * 10.0).round() / 10.0,
        "accepted": tally.accepted,
        "refused": codes(&tally.refused),
        "errors": tally.errors,
        "final_replies": codes(&tally.codes),
        "latency_ms": {
            "method": "nearest-rank",
            "transaction": latency(&tally.transaction),
            "final_dot": latency(&tally.final_dot),
        },
        "text": format!("result: {sentence}"),
        "result": sentence,
        "exit": exit,
    })
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn millis(d: Duration) -> f64 {
    round3(d.as_secs_f64() * 1000.0)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally() -> Tally {
        let ms = Duration::from_millis;
        Tally {
            sent: 6,
            accepted: 3,
            codes: BTreeMap::from([(250, 3), (451, 2)]),
            refused: BTreeMap::from([(451, 2)]),
            errors: BTreeMap::from([("connection", 1)]),
            transaction: [4, 2, 6, 1, 1, 0].map(ms).to_vec(),
            final_dot: [1, 3, 2].map(ms).to_vec(),
            elapsed: ms(500),
        }
    }

    #[test]
    fn the_text_gives_percentiles_and_what_was_not_accepted() {
        assert_eq!(
            text_lines(&tally()),
            [
                "latency of the whole transaction, connect to QUIT (nearest-rank, 6 runs): \
                 p50 1.0 ms, p95 6.0 ms, p99 6.0 ms, max 6.0 ms",
                "latency of the reply to the final dot (nearest-rank, 3 runs): \
                 p50 2.0 ms, p95 3.0 ms, p99 3.0 ms, max 3.0 ms",
                "not accepted: 3 of 6: 451 ×2, connection ×1",
            ]
        );
        let none = Tally {
            sent: 2,
            accepted: 2,
            transaction: vec![Duration::from_millis(1); 2],
            ..Tally::default()
        };
        let lines = text_lines(&none);
        assert_eq!(
            lines[1],
            "latency of the reply to the final dot: none (no run got that far)"
        );
        assert_eq!(lines[2], "not accepted: none of 2");
    }

    #[test]
    fn the_json_object_adds_up_and_names_its_method() {
        let v = json_object(&tally(), 2, 4);
        assert_eq!(v["kind"], "summary");
        assert_eq!(v["messages"], 6);
        assert_eq!(v["concurrency"], 2);
        assert_eq!(v["messages_per_s"], 12.0);
        let sum = |k: &str| -> u64 {
            v[k].as_object()
                .unwrap()
                .values()
                .map(|n| n.as_u64().unwrap())
                .sum()
        };
        assert_eq!(
            v["accepted"].as_u64().unwrap() + sum("refused") + sum("errors"),
            6
        );
        assert_eq!(v["refused"]["451"], 2);
        assert_eq!(v["final_replies"]["250"], 3);
        assert_eq!(v["latency_ms"]["method"], "nearest-rank");
        assert_eq!(v["latency_ms"]["transaction"]["p50"], 1.0);
        assert_eq!(v["latency_ms"]["final_dot"]["runs"], 3);
        assert_eq!(v["exit"], 4);
        assert!(v["result"]
            .as_str()
            .unwrap()
            .starts_with("load: 6 messages"));
        let empty = json_object(&Tally::default(), 1, 0);
        assert_eq!(empty["latency_ms"]["final_dot"], Value::Null);
    }
}
