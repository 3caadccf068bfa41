//! The MTA-STS parsers (`transport::mta_sts`) on arbitrary bytes: the HTTP
//! response, the policy and the TXT record never panic, what they return
//! is within its limits, and no error message carries a control character.

use smtp_workbench::transport::mta_sts::{parse_response, policy};

fn clean(s: &str) {
    assert!(
        !s.chars().any(|c| c.is_control() && c != '\n'),
        "a control character in {s:?}"
    );
}

pub fn check(data: &[u8]) {
    match parse_response(data) {
        Ok(p) => assert!(p.mx.len() <= policy::MAX_MX && p.max_age <= policy::MAX_AGE),
        Err(e) => clean(&e),
    }
    match policy::parse(data) {
        Ok(p) => {
            assert!(p.mx.len() <= policy::MAX_MX && p.max_age <= policy::MAX_AGE);
            for m in &p.mx {
                let _ = policy::mx_matches(m, "mx.example.test");
            }
        }
        Err(e) => clean(&e.to_string()),
    }
    if let Err(e) = policy::parse_record(&String::from_utf8_lossy(data)) {
        clean(&e);
    }
}
