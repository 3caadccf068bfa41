//! `update`: one action applied to the state, the effects returned. Each
//! pane's own edits live with its state; this file routes actions to them,
//! runs the palette's items and takes in what the session task says.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tui_textarea::TextArea;

use super::auth::signing;
use super::palette::{ItemKind, Prompt};
use super::session::{Connection, ServerChoice, SessionView};
use super::transcript::{Line, LineKind};
use super::{
    field, lesson, lesson_run, replay_run, Action, AppState, Effect, Focus, Lower, SessionMsg,
};
use crate::proto::auth::{Credentials, Secret};
use crate::proto::client::{Goal, RunEvent, Transaction};
use crate::proto::command::{Address, CommandError, ReversePath};
use crate::transport::Control;

/// What an action may change of what the panes show.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Derived {
    /// Nothing: the transcript or the status line only.
    Nothing,
    /// The palette's items (the stage, the filter, a toggle).
    Items,
    /// The items and the findings (an edit, the capabilities).
    All,
}

fn derived(action: &Action) -> Derived {
    match action {
        Action::Session {
            msg: SessionMsg::Event(_) | SessionMsg::Started { .. },
            ..
        }
        | Action::Notice(_)
        | Action::Stored(_)
        | Action::Judged { .. }
        | Action::Scroll(_)
        | Action::ScrollView(..)
        | Action::PageUp
        | Action::PageDown
        | Action::Top
        | Action::Bottom
        | Action::ToggleWrap
        | Action::CopyTranscript
        | Action::FocusNext
        | Action::FocusPrev
        | Action::ToggleHelp
        | Action::Up
        | Action::Down => Derived::Nothing,
        // A status changes the stage (the items); the findings only when
        // the server's extensions change, which `session_msg` sees.
        Action::Session {
            msg: SessionMsg::Status(_),
            ..
        } => Derived::Items,
        Action::Input(_)
        | Action::Paste(_)
        | Action::Submit
        | Action::StartLesson(_)
        | Action::Signed { .. }
        | Action::Session { .. }
        | Action::StartReplay(_)
        | Action::ReplayNext
        | Action::ReplayToMark => Derived::All,
        _ => Derived::Items,
    }
}

/// Applies one action; returns what the loop must do.
pub fn update(state: &mut AppState, action: Action) -> Vec<Effect> {
    let derived = derived(&action);
    let mut fx = Vec::new();
    apply(state, action, &mut fx);
    state
        .views
        .follow_lesson(state.lesson.as_ref().map(|r| r.step));
    match derived {
        Derived::Nothing => {}
        Derived::Items => state.refresh_items(),
        Derived::All => state.refresh(),
    }
    if !fx.contains(&Effect::Quit) {
        state.auth.poll(&mut fx);
    }
    fx
}

// Long: one arm per action, each a call or an assignment; the routing table.
fn apply(state: &mut AppState, action: Action, fx: &mut Vec<Effect>) {
    // The question stays while the session goes on (a busy server must not
    // dismiss it); the user's next key answers it.
    let background = matches!(
        action,
        Action::Session { .. }
            | Action::Notice(_)
            | Action::Stored(_)
            | Action::Signed { .. }
            | Action::Judged { .. }
            | Action::MessageOpened { .. }
            | Action::AttachmentRead { .. }
    );
    if !background {
        state.notice = None;
    }
    if state.confirm_quit && !background {
        state.confirm_quit = false;
        if let Action::Input(KeyEvent {
            code: KeyCode::Char('y'),
            ..
        })
        | Action::Quit
        | Action::Submit = action
        {
            fx.push(Effect::Quit);
        }
        return;
    }
    let t = &mut state.transcript;
    match action {
        Action::Quit => quit(state, fx),
        Action::ForceQuit => fx.push(Effect::Quit),
        Action::FocusNext => state.focus = next_shown(state, true),
        Action::FocusPrev => state.focus = next_shown(state, false),
        Action::ToggleHelp => {
            state.help = !state.help;
            // The help opens at its top.
            state.views.help.reset();
        }
        Action::ToggleAnalysis => {
            state.lower = state.lower.toggle(Lower::Analysis);
            if let (Some(r), Lower::Analysis) = (&state.replay, state.lower) {
                state.notice = replay_run::f2_note(r);
            }
        }
        Action::ToggleServerSide => state.lower = state.lower.toggle(Lower::ServerSide),
        Action::StartLesson(l) => lesson_run::start(state, *l, fx),
        Action::Stored(m) => {
            state.stored.push(m);
            if state.stored.len() > 50 {
                state.stored.remove(0);
            }
        }
        Action::RawLine => open_prompt(state, Prompt::Raw, ""),
        Action::Cancel => cancel(state, fx),
        Action::Up | Action::Down => {
            let down = action == Action::Down;
            match state.focus {
                Focus::Palette if state.palette.prompt.is_none() => state.palette.step(down),
                Focus::Transcript => t.scroll_by(if down { -1 } else { 1 }),
                _ => {}
            }
        }
        Action::PageUp => t.scroll_by(t.page as i64),
        Action::PageDown => t.scroll_by(-(t.page as i64)),
        Action::Top => t.top(),
        Action::Bottom => t.bottom(),
        Action::ToggleWrap => t.toggle_wrap(),
        Action::Scroll(n) => t.scroll_by(-(n as i64)),
        Action::ScrollView(view, step) => state.views.get_mut(view).by(step),
        Action::RevealSecrets => t.reveal = !t.reveal,
        // With a line selected, that line; else the whole transcript.
        Action::CopyTranscript => fx.push(Effect::Copy(t.copy_text())),
        Action::Edit => {
            if state.palette.prompt.is_none() {
                let line = match state.palette.items().get(state.palette.index) {
                    Some(i) => match &i.kind {
                        ItemKind::Command(c) => Some(c.to_string().trim_end().to_string()),
                        ItemKind::Draft(l) => Some(l.clone()),
                        _ => None,
                    },
                    None => None,
                };
                if let Some(l) = line {
                    open_prompt(state, Prompt::Raw, &l);
                }
            }
        }
        Action::Submit => submit(state, fx),
        Action::Input(key) => input(state, key),
        Action::Paste(text) => paste(state, &text),
        Action::Notice(n) => state.notice = Some(n),
        Action::SignMessage => sign(state, fx),
        Action::Signed {
            message,
            domain,
            field,
        } => signed(state, &message, &domain, field),
        Action::Judged {
            revision,
            judgement,
        } => {
            for lookup in state.auth.judged(revision, judgement) {
                info(state, format!("auth: dns {lookup}"));
            }
        }
        Action::AttachmentRead { name, result } => match result {
            Ok(bytes) => super::everyday::attach(state, &name, bytes),
            Err(e) => state.notice = Some(format!("{name}: {e}")),
        },
        Action::MessageOpened { name, result } => match result {
            Ok(bytes) => super::everyday::open_message(state, &name, &bytes),
            Err(e) => state.notice = Some(format!("{name}: {e}")),
        },
        Action::Session { id, msg } => {
            if id == state.session.id {
                session_msg(state, msg);
            }
        }
        Action::StartReplay(r) => replay_run::start(state, *r),
        Action::ReplayNext => replay_run::step(state, false),
        Action::ReplayToMark => replay_run::step(state, true),
        Action::TogglePresenter => {
            state.presenter = !state.presenter;
            // The envelope is hidden; the palette keeps its keys (the hint
            // bar shows its selected item), so a live demo goes on.
            if state.presenter && state.focus == Focus::Envelope {
                state.focus = Focus::Palette;
            }
        }
    }
}

/// The next pane in Tab order, skipping the envelope in presenter mode.
fn next_shown(state: &AppState, forward: bool) -> Focus {
    let next = state.focus.step(forward);
    if state.presenter && next == Focus::Envelope {
        next.step(forward)
    } else {
        next
    }
}

fn quit(state: &mut AppState, fx: &mut Vec<Effect>) {
    if state.session.is_open() {
        state.confirm_quit = true;
    } else {
        fx.push(Effect::Quit);
    }
}

/// Esc: the innermost open thing closes; at the palette with nothing open, quit.
fn cancel(state: &mut AppState, fx: &mut Vec<Effect>) {
    if state.help {
        state.help = false;
    } else if state.palette.prompt.is_some() {
        state.palette.prompt = None;
        state.palette.raw_held = false;
        state.palette.input = TextArea::default();
    } else if !state.palette.filter.is_empty() {
        state.palette.clear_filter();
    } else if state.focus != Focus::Palette {
        state.focus = Focus::Palette;
    } else {
        quit(state, fx);
    }
}

fn open_prompt(state: &mut AppState, prompt: Prompt, text: &str) {
    // A prompt is typed in the palette: presenter mode gives it back.
    state.presenter = false;
    state.palette.input = field(text);
    if matches!(prompt, Prompt::AuthPassword(..)) {
        state.palette.input.set_mask_char('•');
    }
    state.palette.prompt = Some(prompt);
    state.focus = Focus::Palette;
}

fn input(state: &mut AppState, key: KeyEvent) {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let p = &mut state.palette;
    match state.focus {
        // One line only: Enter is Submit, handled by the keymap.
        Focus::Palette if p.prompt.is_some() => {
            p.input.input(key);
        }
        Focus::Palette => match key.code {
            KeyCode::Char(c) if !ctrl => {
                p.filter.push(c);
                p.index = 0;
            }
            KeyCode::Backspace => {
                p.filter.pop();
                p.index = 0;
            }
            _ => {}
        },
        Focus::Envelope => state.envelope.input(key),
        Focus::Composer => state.message.input(key),
        // Its keys (g, G, j, k) are actions in the keymap.
        Focus::Transcript => {}
    }
}

fn paste(state: &mut AppState, text: &str) {
    // One line only in the palette: a pasted line break would send half a command.
    let first = text.lines().next().unwrap_or_default();
    match state.focus {
        Focus::Palette if state.palette.prompt.is_some() => {
            state.palette.input.insert_str(first);
        }
        Focus::Palette => {
            state.palette.filter.push_str(first);
            state.palette.index = 0;
        }
        Focus::Envelope => state.envelope.paste(text),
        Focus::Composer => state.message.paste(text),
        Focus::Transcript => {}
    }
}

pub(super) fn control(state: &mut AppState, control: Control, fx: &mut Vec<Effect>) {
    if state.replay.is_some() {
        state.notice = Some(REPLAY_OFFLINE.into());
        return;
    }
    fx.push(Effect::Control {
        id: state.session.id,
        control,
    });
}

/// An information line in the transcript; `text` may hold what DNS or a
/// server said, and is made visible here.
fn info(state: &mut AppState, text: String) {
    state.transcript.push_line(Line {
        at: None,
        kind: LineKind::Info,
        text: crate::proto::visible::visible(text.as_bytes()),
        secret: None,
        code: None,
        latency: None,
        continued: false,
    });
}

/// What a replay answers to anything that would talk to a server.
const REPLAY_OFFLINE: &str = "this is a replay: nothing is sent (Enter shows the next step)";

pub(super) fn connect(state: &mut AppState, fx: &mut Vec<Effect>) {
    if state.replay.is_some() {
        state.notice = Some(REPLAY_OFFLINE.into());
        return;
    }
    if !crate::app::session::fill_mx_domain(&mut state.session.target, &state.envelope) {
        state.notice = Some("--mx without a domain needs a recipient in the envelope".into());
        return;
    }
    let s = &mut state.session;
    s.id += 1;
    s.conn = Connection::Connecting;
    s.peer = None;
    s.chain = None;
    let text = format!("── session {} with {} ──", s.id, s.target.label());
    state.transcript.push_line(Line {
        at: None,
        kind: LineKind::Info,
        text,
        secret: None,
        code: None,
        latency: None,
        continued: false,
    });
    fx.push(Effect::Connect {
        id: state.session.id,
        target: state.session.target.clone(),
    });
}

fn submit(state: &mut AppState, fx: &mut Vec<Effect>) {
    if state.focus != Focus::Palette {
        // Enter in a text field is a new line there.
        input(state, KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
        return;
    }
    if let Some(prompt) = state.palette.prompt.take() {
        let text = state.palette.input.lines().join("");
        state.palette.input = TextArea::default();
        return answer(state, prompt, text, fx);
    }
    let Some(item) = state.palette.selected().cloned() else {
        return;
    };
    state.palette.clear_filter();
    run_item(state, item.kind, fx);
}

/// The answer to a prompt, typed and sent with Enter.
fn answer(state: &mut AppState, prompt: Prompt, text: String, fx: &mut Vec<Effect>) {
    match prompt {
        Prompt::Raw => {
            let keep = super::raw_data::stays_open(state, &text);
            control(state, Control::Raw(text), fx);
            if keep {
                open_prompt(state, Prompt::Raw, "");
            }
        }
        Prompt::AuthUser(m) => {
            state.session.auth_user = text.clone();
            open_prompt(state, Prompt::AuthPassword(m, text), "");
        }
        Prompt::AuthPassword(m, user) => {
            let secret = Secret::new(text);
            control(state, Control::Auth(m, Credentials { user, secret }), fx);
        }
        Prompt::AttachFile => {
            if let Some(path) = super::everyday::message_path(&text) {
                fx.push(Effect::ReadAttachment(path));
            }
        }
        Prompt::OpenMessage => {
            if let Some(path) = super::everyday::message_path(&text) {
                fx.push(Effect::OpenMessage(path));
            }
        }
        Prompt::Connect => {
            fx.push(Effect::ProfileTls {
                ca_file: None,
                tls_name: None,
            });
            let t = text.trim();
            state.session.target = ServerChoice {
                server: (!t.is_empty()).then(|| t.to_string()),
                implicit_tls: false,
                mx: None,
            };
            if state.session.is_open() {
                control(state, Control::Close, fx);
            }
            connect(state, fx);
        }
    }
}

// Long: one arm per palette item, each a call or an effect; the items' table of deeds.
fn run_item(state: &mut AppState, kind: ItemKind, fx: &mut Vec<Effect>) {
    match kind {
        ItemKind::Command(c) => control(state, Control::Send(c), fx),
        ItemKind::Draft(l) => open_prompt(state, Prompt::Raw, &l),
        ItemKind::Data => {
            // DATA and, on 354, the message: the last leg of a run to the
            // end, with no recipient added and no MAIL sent, so the
            // envelope need not be valid for it.
            let run = Transaction {
                ehlo: state.session.ehlo_name.clone(),
                mail_from: ReversePath::Null,
                rcpts: Vec::new(),
                content: state.message.bytes().into(),
            };
            state.transcript.expect_content(&run.content);
            control(state, Control::Run(Goal::Delivered, run), fx);
            let warnings =
                crate::analysis::lint::lint(&state.message.bytes(), state.session.caps())
                    .iter()
                    .filter(|f| f.level == crate::analysis::Level::Warning)
                    .count();
            if warnings > 0 {
                state.notice = Some(format!(
                    "the message has {warnings} warning(s): F2 shows them"
                ));
            }
        }
        ItemKind::Auth(m) => {
            let user = state.session.auth_user.clone();
            open_prompt(state, Prompt::AuthUser(m), &user);
        }
        ItemKind::RunTo(goal) => {
            let run = transaction(state);
            hand_run(state, goal, run, fx);
        }
        ItemKind::Raw => open_prompt(state, Prompt::Raw, ""),
        ItemKind::Connect => {
            if state.session.is_open() {
                control(state, Control::Close, fx);
            }
            connect(state, fx);
        }
        ItemKind::ConnectMx(domain) => {
            let port = state.session.target.mx.unwrap_or(25);
            state.session.target = ServerChoice::mx_of(&domain, port);
            if state.session.is_open() {
                control(state, Control::Close, fx);
            }
            connect(state, fx);
        }
        ItemKind::ConnectProfile(name) => {
            if let Some(e) = super::everyday::use_profile(state, &name) {
                fx.push(e);
                if state.session.is_open() {
                    control(state, Control::Close, fx);
                }
                connect(state, fx);
            }
        }
        ItemKind::OpenMessage => open_prompt(state, Prompt::OpenMessage, ""),
        ItemKind::AttachFile => open_prompt(state, Prompt::AttachFile, ""),
        ItemKind::RemoveAttachments => {
            let n = state.message.attachments.len();
            state.message.attachments.clear();
            state.notice = Some(format!("{n} attachment(s) removed"));
        }
        ItemKind::ConnectTo => {
            let current = state.session.target.server.clone().unwrap_or_default();
            open_prompt(state, Prompt::Connect, &current);
        }
        ItemKind::Disconnect => control(state, Control::Close, fx),
        ItemKind::CopyTranscript => fx.push(Effect::Copy(
            state.transcript.export(crate::transcript::Format::Text),
        )),
        ItemKind::CopyMessage => fx.push(Effect::Copy(
            String::from_utf8_lossy(&state.message.bytes()).into_owned(),
        )),
        ItemKind::SaveText => fx.push(Effect::Save { json: false }),
        ItemKind::SaveJson => fx.push(Effect::Save { json: true }),
        ItemKind::SaveChain => {
            if let Some(pem) = &state.session.chain {
                fx.push(Effect::SaveChain(pem.clone()));
            }
        }
        ItemKind::SaveCast => fx.push(Effect::SaveCast),
        ItemKind::EnvelopeFromHeaders => {
            state.notice = Some(state.envelope.set_from_headers(&state.message));
        }
        ItemKind::HeadersFromEnvelope => {
            state.notice = Some(state.message.set_from_envelope(&state.envelope));
        }
        ItemKind::SignDkim => sign(state, fx),
        ItemKind::RevealSecrets => state.transcript.reveal = !state.transcript.reveal,
        ItemKind::Analysis => state.lower = state.lower.toggle(Lower::Analysis),
        ItemKind::ServerSide => state.lower = state.lower.toggle(Lower::ServerSide),
        ItemKind::Lesson(name) => {
            let found = lesson::builtin_lessons().iter().find(|(n, _)| *n == name);
            if let Some((_, l)) = found {
                lesson_run::start(state, l.clone(), fx);
            }
        }
        ItemKind::StopLesson => {
            state.lesson = None;
            state.notice = Some("lesson stopped; the demo server keeps the lesson's policy until you reconnect or start another".into());
        }
        ItemKind::Help => state.help = true,
        ItemKind::Quit => quit(state, fx),
        ItemKind::ReplayNext => replay_run::step(state, false),
        ItemKind::ReplayToMark => replay_run::step(state, true),
        ItemKind::Presenter => apply(state, Action::TogglePresenter, fx),
    }
}

/// Asks the loop to sign the message as it is, without any earlier
/// signature, with d= chosen from From:.
fn sign(state: &mut AppState, fx: &mut Vec<Effect>) {
    let from = state.header_side().from.first().cloned();
    let from_domain = from
        .as_deref()
        .and_then(|a| a.rsplit_once('@'))
        .map(|(_, d)| d);
    let (domain, note) = signing::choose_domain(from_domain);
    state.notice = note;
    fx.push(Effect::Sign {
        message: state.message.unsigned_bytes(),
        domain,
    });
}

/// The field the loop made: put in the headers, unless the message changed
/// while it was being made (it would not hold).
fn signed(state: &mut AppState, message: &[u8], domain: &str, field: Result<String, String>) {
    let field = match field {
        Ok(f) => f,
        Err(e) => {
            state.notice = Some(format!("could not sign: {e}"));
            return;
        }
    };
    if state.message.unsigned_bytes() != message {
        state.notice = Some("the message changed while it was being signed: sign again".into());
        return;
    }
    state.message.set_signature(&field);
    state.auth.signed = Some(signing::Signed::new(domain, &field, message));
    // A note from choosing d= (From: not a demo domain) stays said.
    if state.notice.is_none() {
        state.notice = Some(format!(
            "signed with d={domain}, s={} (the demo key); F2 shows the verdict",
            signing::DEMO_SELECTOR
        ));
    }
}

/// The envelope and the message for a run by hand. An envelope it cannot
/// send (an address with `<` or `>` in it) stops the run before it starts,
/// where a typed command would have sent it as it is: a run decides the
/// commands itself, so it sends only what it can stand behind.
fn transaction(state: &AppState) -> Result<Transaction, CommandError> {
    let rcpts = state.envelope.rcpts().into_iter().map(Address::new);
    Ok(Transaction {
        ehlo: state.session.ehlo_name.clone(),
        mail_from: ReversePath::parse(&state.envelope.sender())?,
        rcpts: rcpts.collect::<Result<_, _>>()?,
        content: state.message.bytes().into(),
    })
}

/// Hands a run to the session, or says why the envelope cannot make one.
fn hand_run(
    state: &mut AppState,
    goal: Goal,
    run: Result<Transaction, CommandError>,
    fx: &mut Vec<Effect>,
) {
    match run {
        Ok(t) => {
            state.transcript.expect_content(&t.content);
            control(state, Control::Run(goal, t), fx)
        }
        Err(e) => {
            state.notice = Some(format!(
                "the envelope cannot be sent as it is ({e}): fix it in the Envelope pane"
            ));
        }
    }
}

fn session_msg(state: &mut AppState, msg: SessionMsg) {
    match msg {
        SessionMsg::Started { peer } => state.session.peer = Some(peer),
        SessionMsg::Chain(pem) => state.session.chain = Some(pem),
        SessionMsg::Connected { local } => {
            state.auth.local_ip = Some(local.ip());
            state.refresh_auth();
        }
        SessionMsg::Event(timed) => {
            state.transcript.push_event(&timed);
            lesson_run::check(state);
        }
        SessionMsg::Status(view) => {
            let new_caps = state.session.caps() != view.caps.as_ref();
            state.session.conn = Connection::Open(view);
            super::raw_data::on_status(state);
            if new_caps {
                state.refresh_findings();
            }
        }
        SessionMsg::Run(RunEvent::Stopped(why)) => {
            state.notice = Some(format!("Run to stopped: {why}"));
        }
        SessionMsg::Run(RunEvent::Reached(_)) => {}
        SessionMsg::Ended(why) => {
            let closed = SessionView::closed(state.session.caps().cloned());
            state.session.conn = Connection::Open(closed);
            super::raw_data::on_status(state);
            state.notice = Some(why);
        }
    }
}

#[cfg(test)]
mod tests;
