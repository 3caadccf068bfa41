use super::*;

fn state() -> AppState {
    AppState::new(Start {
        target: Target {
            server: None,
            implicit_tls: false,
        },
        ehlo_name: "client.example".into(),
        date: "Sat, 28 Nov 2026 12:00:00 +0000".into(),
        message_id: "1@client.example".into(),
    })
}

#[test]
fn tab_cycles_focus() {
    let mut s = state();
    for want in [
        Focus::Envelope,
        Focus::Composer,
        Focus::Transcript,
        Focus::Palette,
    ] {
        update(&mut s, Action::FocusNext);
        assert_eq!(s.focus, want);
    }
    update(&mut s, Action::FocusPrev);
    assert_eq!(s.focus, Focus::Transcript);
}
