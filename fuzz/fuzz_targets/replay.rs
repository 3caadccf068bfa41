//! Fuzz target: see `checks/replay.rs` for what is checked. The same check runs
//! over the kept corpus in the main crate's tests.
#![no_main]

#[path = "../checks/replay.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
