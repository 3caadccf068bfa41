//! A rules file (`serve --rules`, `server::rules`) from arbitrary text: no
//! panic; an error names a line inside the file; and every rule that loads
//! fires, at any stage, only with a reply that stage can take.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use smtp_workbench::proto::server::{Checkpoint, Stage};
use smtp_workbench::server::{RuleState, Rules};

pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let rules = match Rules::parse("f.toml", text) {
        Ok(r) => r,
        Err(e) => {
            assert!(
                e.line >= 1 && e.line <= text.lines().count().max(1) + 1,
                "{e}"
            );
            return;
        }
    };
    let mut state = RuleState::default();
    let t0 = Instant::now();
    let client = IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3));
    for (i, (_, stage)) in Stage::NAMES.iter().cycle().take(40).enumerate() {
        let mut at = Checkpoint::new(*stage);
        at.user = Some("alice@example.test");
        at.sender = Some("a@b.example");
        at.rcpts = vec!["ab@c.example"];
        at.size = Some(i as u64);
        let now = t0 + Duration::from_millis(i as u64 * 300);
        if let Some(r) = rules.decide(&at, client, now, &mut state) {
            assert_eq!(r.stage, *stage);
            if let Some(reply) = &r.reply {
                let code: u16 = reply[..3].parse().unwrap();
                assert!(stage.takes_reply(code), "{reply} at {}", stage.name());
            }
        }
    }
}
