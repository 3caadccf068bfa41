//! The terminal face: one `tokio::select!` loop over terminal events and the
//! session tasks' messages. Keys become actions through the keymap,
//! `app::update` turns actions into effects, and this loop runs the effects:
//! connecting, talking to the session task, the clipboard, saving files.
//! The terminal is restored on every way out, panics included.

pub mod dashboard;
pub mod keymap;
pub mod layout;
pub mod pane;
#[cfg(test)]
mod replay_tests;
#[cfg(test)]
mod test_support;
pub mod theme;

use std::collections::HashMap;
use std::io::{self, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
    Event as TermEvent, EventStream, KeyEventKind, MouseEventKind,
};
use crossterm::execute;
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use futures_util::StreamExt;
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;
use tokio::sync::mpsc;

use crate::analysis::auth::{self, DnsSource, Zone};
use crate::app::{
    self, Action, AppState, Effect, JudgeDns, JudgeRequest, ServerChoice, SessionMsg, SessionView,
    Start,
};
use crate::message::Stamp;
use crate::proto::client::{ClientSession, RunEvent, TransportSetup};
use crate::proto::reply::ReplyLimits;
use crate::server::{self, demo::Demo};
use crate::transport::{self, ConnectOptions, Control, Observer, Timed, TlsMode, TlsOptions};

/// Options of the interactive face.
pub struct Options {
    pub target: ServerChoice,
    /// A lesson to start with.
    pub lesson: Option<crate::app::lesson::Lesson>,
    pub tls: TlsOptions,
    pub ehlo: String,
    pub timeout: Duration,
    /// `--dns` and `-4`/`-6`; whether to go by MX is the target's.
    pub dns: transport::dns::DnsOptions,
    /// `--client-ip`: the address F2's authentication judges.
    pub client_ip: Option<std::net::IpAddr>,
    /// `--local-addr`, `--proxy` (a `unix:PATH` server adds its socket).
    pub link: transport::LinkOptions,
    /// `--protocol`, `--drop-after`; `--xclient` fills in the palette's item.
    pub transports: TransportSetup,
    // Replay and themes (issue 13).
    /// `--replay`: a saved transcript to step through, offline.
    pub replay: Option<crate::app::replay::Replay>,
    /// `--theme`.
    pub palette: theme::Palette,
    // -- Everyday (issue 14)
    /// The config file's profiles, for "Connect to profile …".
    pub profiles: Vec<crate::app::profile::Profile>,
    /// `--message FILE.eml`: its name and bytes, for the composer.
    pub message: Option<(String, Vec<u8>)>,
    /// `--profile`: which of its keys were used, for the first notice.
    pub profile_note: Option<String>,
}

/// Puts the terminal back as it was: raw mode off, the main screen, no
/// mouse capture, a visible cursor. Safe to call more than once.
pub fn restore_terminal() {
    let _ = disable_raw_mode();
    let _ = execute!(
        io::stdout(),
        DisableBracketedPaste,
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

/// Takes the terminal for a full-screen face: raw mode, the alternate
/// screen, the mouse and bracketed paste; a panic from now on restores it
/// before its message. Undo with [`restore_terminal`].
pub(crate) fn enter_terminal() -> io::Result<()> {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        default_hook(info);
    }));
    enable_raw_mode()?;
    let mut stdout = io::stdout();
    if let Err(e) = execute!(
        stdout,
        EnterAlternateScreen,
        EnableMouseCapture,
        EnableBracketedPaste
    ) {
        restore_terminal();
        return Err(e);
    }
    Ok(())
}

/// Runs the workbench until the user quits.
pub fn run(options: Options) -> io::Result<()> {
    enter_terminal()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let result = runtime.block_on(event_loop(options));
    restore_terminal();
    result
}

/// Tells the UI loop what a session task sees.
struct Relay {
    id: u64,
    tx: mpsc::UnboundedSender<Action>,
    /// Events and views sent and not yet taken in by the UI loop.
    backlog: Arc<AtomicUsize>,
}

impl Relay {
    fn send(&self, msg: SessionMsg) {
        // Counted before it can be taken in, so the count never goes below
        // zero; taken back if the loop is gone.
        self.backlog.fetch_add(1, Ordering::Relaxed);
        if self.tx.send(Action::Session { id: self.id, msg }).is_err() {
            self.backlog.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl Observer for Relay {
    fn event(&mut self, event: Timed) {
        self.send(SessionMsg::Event(event));
    }

    fn backlog(&self) -> usize {
        self.backlog.load(Ordering::Relaxed)
    }

    fn status(&mut self, s: &ClientSession) {
        let view = SessionView {
            stage: s.stage(),
            caps: s.capabilities().cloned(),
            tls: s.is_tls(),
            auth: s.authenticated_user().map(str::to_string),
            awaiting: s.awaiting_reply() || s.awaiting_tls(),
            suggested: s.suggested(),
            rcpts_sent: s.rcpts_sent().to_vec(),
            running: s.running(),
        };
        self.send(SessionMsg::Status(view));
    }

    fn run(&mut self, event: RunEvent) {
        self.send(SessionMsg::Run(event));
    }

    fn connected(&mut self, local: std::net::SocketAddr) {
        self.send(SessionMsg::Connected { local });
    }

    fn chain(&mut self, pem: String) {
        self.send(SessionMsg::Chain(pem));
    }
}

/// What the loop holds besides the app state.
struct Runner {
    options: Options,
    tx: mpsc::UnboundedSender<Action>,
    sessions: HashMap<u64, mpsc::UnboundedSender<Control>>,
    /// What the sessions' relays have sent and the loop not yet taken in.
    backlog: Arc<AtomicUsize>,
    builtin: Option<Demo>,
    clipboard: Option<arboard::Clipboard>,
    /// A policy for the built-in server before it has started.
    policy: Option<crate::proto::server::Policy>,
    /// Rules for the built-in server before it has started (a lesson's).
    rules: Option<crate::server::Rules>,
    /// The demo DNS world, read on first use.
    demo_zone: Option<Arc<Zone>>,
    /// The CA file and TLS name of the profile last connected to.
    profile_tls: (Option<std::path::PathBuf>, Option<String>),
}

async fn event_loop(options: Options) -> io::Result<()> {
    let backend = CrosstermBackend::new(io::stdout());
    let mut terminal = Terminal::new(backend)?;
    terminal.clear()?;
    let theme = theme::Theme::with_palette(options.palette);
    let (tx, mut rx) = mpsc::unbounded_channel::<Action>();
    let mut state = start_state(&options);
    let mut runner = Runner {
        options,
        tx,
        sessions: HashMap::new(),
        backlog: Arc::new(AtomicUsize::new(0)),
        builtin: None,
        clipboard: None,
        policy: None,
        rules: None,
        demo_zone: None,
        profile_tls: (None, None),
    };
    let mut events = EventStream::new();
    let mut term_signal = signal_stream();
    let mut pending = first_actions(&mut runner, &state);
    loop {
        for action in pending.drain(..) {
            if let Action::Session { msg, .. } = &action {
                if relayed(msg) {
                    runner.backlog.fetch_sub(1, Ordering::Relaxed);
                }
            }
            for effect in app::update(&mut state, action) {
                if runner.run(effect, &mut state, &mut terminal).await {
                    return Ok(());
                }
            }
        }
        state.transcript.page = terminal
            .size()
            .map(|s| layout::transcript_rows(ratatui::layout::Rect::new(0, 0, s.width, s.height)))
            .unwrap_or(10)
            .max(1);
        if let Ok(s) = terminal.size() {
            state.transcript.wide = s.width >= 100;
            layout::fit_views(
                &mut state,
                ratatui::layout::Rect::new(0, 0, s.width, s.height),
            );
        }
        terminal.draw(|f| layout::draw(&state, f, &theme))?;
        let first = tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(ev)) => to_action(&state, ev, terminal.size().ok()),
                Some(Err(_)) | None => Some(Action::ForceQuit),
            },
            a = rx.recv() => a,
            _ = term_signal.recv() => Some(Action::ForceQuit),
        };
        pending.extend(first);
        // Take everything already waiting before drawing again: a burst of
        // replies costs one frame, not one each.
        while let Ok(a) = rx.try_recv() {
            pending.push(a);
            if pending.len() > 10_000 {
                break;
            }
        }
    }
}

/// The state the workbench opens with: today's Date and a fresh Message-ID.
fn start_state(options: &Options) -> AppState {
    let stamp = Stamp::new(SystemTime::now(), std::process::id(), "client.example");
    let mut state = AppState::new(Start {
        target: options.target.clone(),
        ehlo_name: options.ehlo.clone(),
        date: stamp.date(),
        message_id: stamp.message_id,
        client_ip: options.client_ip,
        dns: options.dns.server,
    });
    state.session.xclient = options
        .transports
        .xclient
        .as_ref()
        .map(|c| c.to_string().trim_end().to_string());
    state.profiles = options.profiles.clone();
    state
}

/// Start by connecting, as `telnet host 25` would; a lesson connects by
/// itself, after setting the server's policy. Against the built-in server
/// the demo message is signed first, so the first session already shows
/// dkim=pass: the demo key is published in its world only, and a real
/// receiver would see a signature that cannot verify.
fn first_actions(runner: &mut Runner, state: &AppState) -> Vec<Action> {
    // A replay is offline: no connection, no signing, only its file.
    if let Some(r) = runner.options.replay.take() {
        return vec![Action::StartReplay(Box::new(r))];
    }
    let first = match runner.options.lesson.take() {
        Some(l) if state.session.target.server.is_none() => Action::StartLesson(Box::new(l)),
        _ => Action::Submit,
    };
    // A real message (--message) goes as the file says: not signed.
    let sign = (state.session.target.is_builtin() && runner.options.message.is_none())
        .then_some(Action::SignMessage);
    // After the first action, so that its notice (what was opened, and
    // that the envelope stays) is the one shown.
    let opened = runner
        .options
        .message
        .take()
        .map(|(name, bytes)| Action::MessageOpened {
            name,
            result: Ok(bytes),
        });
    let profiled = runner.options.profile_note.take().map(Action::Notice);
    sign.into_iter()
        .chain([first])
        .chain(profiled)
        .chain(opened)
        .collect()
}

/// Whether `msg` came through [`Relay::send`] and so counts in the backlog
/// (the task's first and last words are sent apart and do not).
fn relayed(msg: &SessionMsg) -> bool {
    !matches!(msg, SessionMsg::Started { .. } | SessionMsg::Ended(_))
}

pub(crate) fn signal_stream() -> mpsc::UnboundedReceiver<()> {
    let (tx, rx) = mpsc::unbounded_channel();
    #[cfg(unix)]
    tokio::spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            let mut hup = signal(SignalKind::hangup()).ok();
            tokio::select! {
                _ = term.recv() => {}
                _ = async { match hup.as_mut() { Some(h) => { h.recv().await; } None => std::future::pending::<()>().await } } => {}
            }
            let _ = tx.send(());
        }
    });
    #[cfg(not(unix))]
    drop(tx);
    rx
}

fn to_action(
    state: &AppState,
    ev: TermEvent,
    size: Option<ratatui::layout::Size>,
) -> Option<Action> {
    match ev {
        TermEvent::Key(k) if k.kind != KeyEventKind::Release => keymap::action(state, k),
        TermEvent::Mouse(m) => {
            let rows = match m.kind {
                MouseEventKind::ScrollUp => -3,
                MouseEventKind::ScrollDown => 3,
                _ => return None,
            };
            let at = ratatui::layout::Position::new(m.column, m.row);
            let size = size.map(|s| ratatui::layout::Rect::new(0, 0, s.width, s.height));
            Some(wheel(
                state,
                size.map(|s| layout::areas_for(state, s)),
                at,
                rows,
            ))
        }
        TermEvent::Paste(text) => Some(Action::Paste(text)),
        _ => None,
    }
}

/// The wheel scrolls the view under the mouse: the help while open, F2,
/// the lesson's instruction (the palette while a lesson runs), else the
/// transcript.
fn wheel(
    state: &AppState,
    areas: Option<layout::Areas>,
    at: ratatui::layout::Position,
    rows: i16,
) -> Action {
    match areas {
        // The help covers the panes: the wheel scrolls it wherever it is.
        _ if state.help => Action::ScrollView(app::View::Help, app::Step::Rows(rows)),
        Some(a) if state.lower == app::Lower::Analysis && a.composer.contains(at) => {
            Action::ScrollView(app::View::Analysis, app::Step::Rows(rows))
        }
        Some(a)
            if state.lower == app::Lower::Message
                && layout::beside(a.composer).is_some_and(|(_, f2)| f2.contains(at)) =>
        {
            Action::ScrollView(app::View::Analysis, app::Step::Rows(rows))
        }
        Some(a) if state.lower == app::Lower::ServerSide && a.composer.contains(at) => {
            Action::ScrollView(app::View::ServerSide, app::Step::Rows(rows))
        }
        Some(a) if state.lesson.is_some() && a.palette.contains(at) => {
            Action::ScrollView(app::View::Lesson, app::Step::Rows(rows.signum()))
        }
        _ => Action::Scroll(i32::from(rows)),
    }
}

impl Runner {
    /// Runs one effect; true to quit.
    async fn run(
        &mut self,
        effect: Effect,
        state: &mut AppState,
        terminal: &mut Terminal<CrosstermBackend<io::Stdout>>,
    ) -> bool {
        match effect {
            Effect::Quit => {
                for s in self.sessions.values() {
                    let _ = s.send(Control::Close);
                }
                return true;
            }
            Effect::Connect { id, target } => self.connect(id, target).await,
            Effect::ProfileTls { ca_file, tls_name } => self.profile_tls = (ca_file, tls_name),
            Effect::ReadAttachment(path) => {
                let name = path.display().to_string();
                let result = read_message(&path);
                let _ = self.tx.send(Action::AttachmentRead { name, result });
            }
            Effect::OpenMessage(path) => {
                let name = path.display().to_string();
                let result = read_message(&path);
                let _ = self.tx.send(Action::MessageOpened { name, result });
            }
            Effect::Sign { message, domain } => {
                let field = app::auth::signing::sign_demo(&message, &domain);
                let _ = self.tx.send(Action::Signed {
                    message,
                    domain,
                    field,
                });
            }
            Effect::Judge { revision, request } => self.judge(revision, request),
            Effect::SetPolicy(p) => match &self.builtin {
                Some(demo) => demo.handle.shared.set_policy(*p),
                None => self.policy = Some(*p),
            },
            Effect::SetRules(r) => match &self.builtin {
                Some(demo) => demo.handle.shared.set_rules(*r),
                None => self.rules = Some(*r),
            },
            Effect::Control { id, control } => match self.sessions.get(&id) {
                Some(s) if s.send(control).is_ok() => {}
                _ => {
                    let _ = self.tx.send(Action::Notice(
                        "not connected: choose Connect in the palette".into(),
                    ));
                }
            },
            Effect::Copy(text) => {
                let n = text.lines().count();
                let how = self.copy(&text, terminal);
                let _ = self
                    .tx
                    .send(Action::Notice(format!("copied {n} line(s) {how}")));
            }
            Effect::Save { json } => {
                let stamp = unix_now();
                let (name, text) = if json {
                    (
                        format!("smtp-workbench-{stamp}.jsonl"),
                        state.transcript.export(crate::transcript::Format::Json),
                    )
                } else {
                    (
                        format!("smtp-workbench-{stamp}.txt"),
                        state.transcript.export(crate::transcript::Format::Text),
                    )
                };
                let saved = format!("saved the transcript to {name}");
                self.save(&name, text, saved);
            }
            Effect::SaveChain(pem) => {
                let name = format!("smtp-workbench-chain-{}.pem", unix_now());
                let n = pem.matches("BEGIN CERTIFICATE").count();
                let saved = format!("saved the server's {n} certificate(s) to {name}");
                self.save(&name, pem, saved);
            }
            Effect::SaveCast => {
                let now = unix_now();
                // Times are from the transcript's start: it began about
                // as long before now as its last line's time.
                let last = state.transcript.lines.events().last();
                let started = now.saturating_sub(last.map_or(0, |e| e.at.as_secs()));
                let name = format!("smtp-workbench-{now}.cast");
                let saved = format!("saved the transcript to {name} (asciinema play {name})");
                self.save(&name, state.transcript.export_cast(started), saved);
            }
        }
        false
    }

    /// Writes a save to `name` in the current directory and says on the
    /// bottom line whether it went (`saved`) or why not.
    fn save(&self, name: &str, data: impl AsRef<[u8]>, saved: String) {
        let notice = match std::fs::write(name, data) {
            Ok(()) => saved,
            Err(e) => format!("could not save {name}: {e}"),
        };
        let _ = self.tx.send(Action::Notice(notice));
    }

    /// The system clipboard when there is one; else OSC 52, which most
    /// terminals (and tmux with set-clipboard) pass to the local clipboard.
    fn copy(
        &mut self,
        text: &str,
        terminal: &mut Terminal<CrosstermBackend<io::Stdout>>,
    ) -> &'static str {
        if self.clipboard.is_none() {
            self.clipboard = arboard::Clipboard::new().ok();
        }
        if let Some(c) = self.clipboard.as_mut() {
            if c.set_text(text.to_string()).is_ok() {
                return "to the system clipboard";
            }
        }
        use base64::Engine as _;
        let payload = base64::engine::general_purpose::STANDARD.encode(text);
        let backend = terminal.backend_mut();
        let _ = write!(backend, "\x1b]52;c;{payload}\x07");
        let _ = backend.flush();
        "with OSC 52 (no system clipboard here; the terminal's)"
    }

    /// Judges authentication in a task, bounded by the timeout; the app
    /// runs one at a time and drops a result whose inputs have changed.
    fn judge(&mut self, revision: u64, request: JudgeRequest) {
        let dns = match request.dns {
            JudgeDns::Server(addr) => Ok(DnsSource::Server(addr)),
            JudgeDns::Demo => self.demo_zone().map(DnsSource::Zone),
        };
        let (tx, limit) = (self.tx.clone(), self.options.timeout);
        tokio::spawn(async move {
            let judgement = match dns {
                Ok(dns) => Ok(auth::judge(&request.inputs(), &dns, limit).await),
                Err(e) => Err(e),
            };
            let _ = tx.send(Action::Judged {
                revision,
                judgement,
            });
        });
    }

    /// The demo DNS world (`assets/zone/`), read once.
    fn demo_zone(&mut self) -> Result<Arc<Zone>, String> {
        if self.demo_zone.is_none() {
            let zone = Zone::demo().map_err(|e| format!("the demo zone: {e}"))?;
            self.demo_zone = Some(Arc::new(zone));
        }
        self.demo_zone
            .clone()
            .ok_or_else(|| "the demo zone could not be read".to_string())
    }

    async fn connect(&mut self, id: u64, target: ServerChoice) {
        let (target_addr, tls) = match self.destination(&target).await {
            Ok(d) => d,
            Err(why) => {
                let _ = self.tx.send(Action::Session {
                    id,
                    msg: SessionMsg::Ended(why),
                });
                return;
            }
        };
        let opts = ConnectOptions {
            target: target_addr,
            tls_mode: if target.implicit_tls {
                TlsMode::Implicit
            } else {
                TlsMode::None
            },
            tls,
            timeout: self.options.timeout,
            dns: transport::dns::DnsOptions {
                mx: target.mx.is_some(),
                ..self.options.dns.clone()
            },
            link: transport::LinkOptions {
                unix: target_unix(&target),
                ..self.options.link.clone()
            },
        };
        let (ctl_tx, ctl_rx) = mpsc::unbounded_channel();
        // Sessions that ended are forgotten; their channel is closed.
        self.sessions.retain(|_, s| !s.is_closed());
        self.sessions.insert(id, ctl_tx);
        let relay = Relay {
            id,
            tx: self.tx.clone(),
            backlog: self.backlog.clone(),
        };
        let setup = self.options.transports.clone();
        tokio::spawn(session_task(relay, opts, setup, ctl_rx));
    }

    /// Where `target` is and the TLS options to reach it: a server by name,
    /// or the built-in one (started on first use), whose certificate is trusted.
    async fn destination(
        &mut self,
        target: &ServerChoice,
    ) -> Result<(transport::Target, TlsOptions), String> {
        let mut tls = self.options.tls.clone();
        let (ca_file, tls_name) = &self.profile_tls;
        if ca_file.is_some() {
            tls.ca_file = ca_file.clone();
        }
        if tls_name.is_some() {
            tls.tls_name = tls_name.clone();
        }
        let Some(s) = &target.server else {
            let demo = self.builtin().await?;
            return Ok((demo.target(), demo.trusting(&tls)));
        };
        if let Some(path) = target_unix(target) {
            return Ok((transport::Target::unix(&path), tls));
        }
        let port = match (target.mx, target.implicit_tls) {
            // A mail domain is a name, not HOST:PORT: the port is apart.
            (Some(port), _) => port,
            (None, true) => 465,
            (None, false) => 25,
        };
        let parsed = transport::Target::parse(s, port).map_err(|e| format!("{s}: {e}"))?;
        Ok((parsed, tls))
    }

    /// The built-in server, started on first use. Messages it accepts go to
    /// the "server's side" view.
    async fn builtin(&mut self) -> Result<&Demo, String> {
        if self.builtin.is_none() {
            let (log, mut log_rx) = mpsc::unbounded_channel();
            let stored_tx = self.tx.clone();
            tokio::spawn(async move {
                while let Some(event) = log_rx.recv().await {
                    if let server::LogEvent::Message { message, .. } = event {
                        if stored_tx.send(Action::Stored(message)).is_err() {
                            break;
                        }
                    }
                }
            });
            let mut policy = self.policy.take().unwrap_or_default();
            // --protocol lmtp: the built-in server speaks it too.
            policy.lmtp = self.options.transports.protocol == crate::proto::client::Protocol::Lmtp;
            let demo = Demo::start(policy, log)
                .await
                .map_err(|e| format!("the built-in server did not start: {e}"))?;
            if let Some(rules) = self.rules.take() {
                demo.handle.shared.set_rules(rules);
            }
            self.builtin = Some(demo);
        }
        self.builtin
            .as_ref()
            .ok_or_else(|| "the built-in server did not start".to_string())
    }
}

/// A message file for the composer or a file to attach, refused when far
/// larger than mail is.
pub fn read_message(path: &std::path::Path) -> Result<Vec<u8>, String> {
    let limit = crate::message::eml::MAX_EML as u64;
    let len = std::fs::metadata(path).map_err(|e| e.to_string())?.len();
    if len > limit {
        return Err(format!("larger than {limit} bytes: not a message"));
    }
    std::fs::read(path).map_err(|e| e.to_string())
}

/// The socket of a `unix:PATH` server (not an MX domain).
fn target_unix(target: &ServerChoice) -> Option<std::path::PathBuf> {
    match (&target.server, target.mx) {
        (Some(s), None) => transport::link::unix_path(s).and_then(Result::ok),
        _ => None,
    }
}

/// One session's task: runs it, relaying what happens to the UI loop, and
/// says how it ended.
async fn session_task(
    mut relay: Relay,
    opts: ConnectOptions,
    setup: TransportSetup,
    mut control: mpsc::UnboundedReceiver<Control>,
) {
    let (id, tx) = (relay.id, relay.tx.clone());
    let _ = tx.send(Action::Session {
        id,
        msg: SessionMsg::Started {
            peer: opts.target.to_string(),
        },
    });
    let mut session = ClientSession::new(ReplyLimits::default());
    session.set_transports(&setup);
    let session = transport::run_with(session, &opts, &mut relay, Some(&mut control)).await;
    relay.status(&session);
    let why = match session.outcome() {
        Some(o) => o.to_string(),
        None => "the session ended".into(),
    };
    let _ = tx.send(Action::Session {
        id,
        msg: SessionMsg::Ended(why),
    });
}

/// Seconds since the Unix epoch, for the names of saved files.
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

#[cfg(test)]
mod backlog_tests {
    use super::*;
    use crate::proto::client::Goal;

    /// Every message the relay counts is taken back when the loop takes it
    /// in; the task's first and last words are not counted. A run's end or
    /// the connection's address left counted would fill the backlog until
    /// reading paused for good.
    #[test]
    fn what_the_relay_counts_the_loop_takes_back() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let backlog = Arc::new(AtomicUsize::new(0));
        let mut relay = Relay {
            id: 1,
            tx,
            backlog: backlog.clone(),
        };
        relay.event(Timed {
            at: std::time::Duration::ZERO,
            latency: None,
            event: crate::proto::client::Event::Info("x".into()),
        });
        relay.status(&ClientSession::new(ReplyLimits::default()));
        relay.run(RunEvent::Reached(Goal::Mail));
        relay.connected("127.0.0.1:4000".parse().unwrap());
        assert_eq!(backlog.load(Ordering::Relaxed), 4);
        while let Ok(Action::Session { msg, .. }) = rx.try_recv() {
            assert!(relayed(&msg), "{msg:?}");
            backlog.fetch_sub(1, Ordering::Relaxed);
        }
        assert_eq!(backlog.load(Ordering::Relaxed), 0);
        assert!(!relayed(&SessionMsg::Ended("bye".into())));
        assert!(!relayed(&SessionMsg::Started { peer: "p".into() }));
    }
}

#[cfg(test)]
mod wheel_tests {
    use super::*;
    use ratatui::layout::{Position, Rect};

    /// The wheel scrolls the pane under the mouse: F2 where it is open,
    /// the lesson's instruction over the palette, else the transcript.
    #[test]
    fn the_wheel_scrolls_the_pane_under_it() {
        let mut s = test_support::busy();
        let a = || Some(layout::areas(Rect::new(0, 0, 80, 24)));
        let lower = a().unwrap().composer;
        let at = Position::new(lower.x + 2, lower.y + 2);
        assert_eq!(
            wheel(&s, a(), at, 3),
            Action::Scroll(3),
            "the message shows"
        );
        s.lower = app::Lower::Analysis;
        let f2 = Action::ScrollView(app::View::Analysis, app::Step::Rows(3));
        assert_eq!(wheel(&s, a(), at, 3), f2);
        let palette = a().unwrap().palette;
        let over_palette = Position::new(palette.x + 2, palette.y + 2);
        assert_eq!(
            wheel(&s, a(), over_palette, -3),
            Action::Scroll(-3),
            "no lesson"
        );
        let (n, t) = crate::app::lesson::builtin()[0];
        s.lesson = Some(crate::app::LessonRun {
            lesson: crate::app::lesson::Lesson::parse(n, t).unwrap(),
            step: 0,
            from: 0,
        });
        let lesson = Action::ScrollView(app::View::Lesson, app::Step::Rows(-1));
        assert_eq!(wheel(&s, a(), over_palette, -3), lesson);
        assert_eq!(wheel(&s, None, at, 3), Action::Scroll(3), "no size known");
        s.help = true;
        let help = Action::ScrollView(app::View::Help, app::Step::Rows(-3));
        assert_eq!(
            wheel(&s, a(), over_palette, -3),
            help,
            "the help covers all"
        );
    }

    /// At 200x50 F2 shows beside the message: the wheel over it scrolls
    /// F2, over the message the transcript.
    #[test]
    fn the_wheel_scrolls_f2_beside_the_message() {
        let s = test_support::busy();
        let size = Rect::new(0, 0, 200, 50);
        let a = || Some(layout::areas_for(&s, size));
        let (message, f2) = layout::beside(a().unwrap().composer).expect("wide enough");
        let f2_scroll = Action::ScrollView(app::View::Analysis, app::Step::Rows(3));
        assert_eq!(
            wheel(&s, a(), Position::new(f2.x + 2, f2.y + 2), 3),
            f2_scroll
        );
        let on_message = Position::new(message.x + 2, message.y + 2);
        assert_eq!(wheel(&s, a(), on_message, 3), Action::Scroll(3));
        assert!(
            layout::beside(layout::areas(Rect::new(0, 0, 120, 40)).composer).is_none(),
            "120 columns: the message alone"
        );
    }

    /// In presenter mode the lower pane spans the width: the wheel at its
    /// left edge, where the palette is otherwise, scrolls F2.
    #[test]
    fn the_wheel_follows_presenter_mode() {
        let mut s = test_support::busy();
        s.presenter = true;
        s.lower = app::Lower::Analysis;
        let size = Rect::new(0, 0, 120, 40);
        let lower = layout::presenter_areas(size).composer;
        let at = Position::new(lower.x + 1, lower.y + 2);
        assert_eq!(
            wheel(&s, Some(layout::areas_for(&s, size)), at, 3),
            Action::ScrollView(app::View::Analysis, app::Step::Rows(3))
        );
    }
}
