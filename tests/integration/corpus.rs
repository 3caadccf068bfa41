//! The fuzz corpus as regression tests: every kept input (the hand-written
//! `fuzz/seeds/`, what the fuzzer found in `fuzz/corpus/`, and the crashes
//! found so far in `fuzz/regressions/`) goes through the same check the fuzz
//! target runs, on a stable toolchain and in every test run.

use std::path::Path;

#[path = "../../fuzz/checks/analysis.rs"]
mod analysis;
#[path = "../../fuzz/checks/certificate.rs"]
mod certificate;
#[path = "../../fuzz/checks/data_decoder.rs"]
mod data_decoder;
#[path = "../../fuzz/checks/data_roundtrip.rs"]
mod data_roundtrip;
#[path = "../../fuzz/checks/mta_sts.rs"]
mod mta_sts;
#[path = "../../fuzz/checks/replay.rs"]
mod replay;
#[path = "../../fuzz/checks/reply_parser.rs"]
mod reply_parser;
#[path = "../../fuzz/checks/rules_file.rs"]
mod rules_file;
#[path = "../../fuzz/checks/server_session.rs"]
mod server_session;

/// Runs `check` on every file kept for `target`; the number of inputs.
fn replay(target: &str, check: fn(&[u8])) -> usize {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut count = 0;
    for dir in ["seeds", "corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(fuzz.join(dir).join(target)) else {
            continue;
        };
        let mut paths: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
        paths.sort();
        for path in paths {
            let data = std::fs::read(&path).unwrap();
            let outcome = std::panic::catch_unwind(|| check(&data));
            assert!(outcome.is_ok(), "{} fails its check", path.display());
            count += 1;
        }
    }
    // A corpus that went missing must not pass as an empty success.
    assert!(count > 0, "no inputs kept for {target}");
    count
}

#[test]
fn reply_parser_corpus() {
    replay("reply_parser", reply_parser::check);
}

#[test]
fn data_decoder_corpus() {
    replay("data_decoder", data_decoder::check);
}

#[test]
fn data_roundtrip_corpus() {
    replay("data_roundtrip", data_roundtrip::check);
}

#[test]
fn server_session_corpus() {
    replay("server_session", server_session::check);
}

#[test]
fn analysis_corpus() {
    replay("analysis", analysis::check);
}

#[test]
fn mta_sts_corpus() {
    replay("mta_sts", mta_sts::check);
}

#[test]
fn certificate_corpus() {
    replay("certificate", certificate::check);
}

#[test]
fn rules_file_corpus() {
    replay("rules_file", rules_file::check);
}

#[test]
fn replay_corpus() {
    replay("replay", replay::check);
}
