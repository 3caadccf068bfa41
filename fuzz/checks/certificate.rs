//! The chain shown and diagnosed (`transport::tls::chain`, `diagnose`,
//! `dane`) with arbitrary bytes as a server's certificates: no panic,
//! bounded lines, and no control character reaches the transcript.

use smtp_workbench::transport::tls::{chain, dane, diagnose, Certificate as CertificateDer};

pub fn check(data: &[u8]) {
    // Up to three "certificates": the input split at its first two 0xff bytes.
    let parts: Vec<CertificateDer<'static>> = data
        .splitn(3, |&b| b == 0xff)
        .map(|p| CertificateDer::from(p.to_vec()))
        .collect();
    let now = 1_796_415_360;
    let mut lines = chain::describe(&parts, now);
    lines.extend(diagnose::diagnose(
        &parts,
        &diagnose::Context {
            name: "mx.example.test",
            trust_failed: true,
            roots: &[],
            now,
        },
    ));
    let record = dane::record_for(&parts[0]);
    lines.extend(dane::verdict(record.as_slice(), &parts, true, true));
    for l in &lines {
        assert!(
            !l.chars().any(char::is_control),
            "a control character in {l:?}"
        );
        assert!(
            l.chars().count() < 2_000,
            "a line of {} characters",
            l.len()
        );
    }
}
