//! The envelope/header analysis and the message checks against arbitrary
//! messages and envelopes: no panic, and every finding has a sentence.

use smtp_workbench::analysis::compare::{compare, EnvelopeSide, HeaderSide};
use smtp_workbench::analysis::lint::lint;
use smtp_workbench::proto::capabilities::Capabilities;

pub fn check(data: &[u8]) {
    // The first line is the envelope: sender, then recipients, by spaces.
    let (env_line, message) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b""[..]),
    };
    let env_text = String::from_utf8_lossy(env_line);
    let mut words = env_text.split(' ');
    let env = EnvelopeSide {
        mail_from: words.next().filter(|w| !w.is_empty()).map(str::to_string),
        rcpts: words.map(str::to_string).collect(),
    };
    for f in compare(&env, &HeaderSide::from_message(message)) {
        assert!(!f.text.is_empty());
    }
    let caps = Capabilities {
        size: Some(Some(100)),
        ..Capabilities::default()
    };
    for f in lint(message, Some(&caps))
        .into_iter()
        .chain(lint(message, None))
    {
        assert!(!f.text.is_empty());
    }
}
