//! `serve --dashboard`: the teacher's view of the built-in server. The
//! server's log events feed [`model::Dashboard`]; keys and the wheel move
//! the selection, the filter and the scroll; [`draw`] paints it. A busy
//! class sends many events a second: they are taken in as they come and a
//! frame is drawn at most every [`FRAME`], so the view keeps up with 50
//! sessions. The terminal is restored on every way out, panics included.

pub mod draw;
pub mod model;

use std::io;
use std::time::{Duration, SystemTime};

use crossterm::event::{
    Event as TermEvent, EventStream, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEventKind,
};
use futures_util::StreamExt;
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::server::LogEvent;
use crate::tui::theme::{Palette, Theme};
pub use model::Dashboard;

/// The shortest time between two frames.
pub const FRAME: Duration = Duration::from_millis(40);

/// Runs the teacher's view until the teacher quits (or SIGTERM, or the
/// server's log ends). `intro` is what the server was started with.
pub async fn run(
    mut log: UnboundedReceiver<LogEvent>,
    intro: Vec<String>,
    palette: Palette,
) -> io::Result<()> {
    super::enter_terminal()?;
    let result = event_loop(&mut log, intro, palette).await;
    super::restore_terminal();
    result
}

async fn event_loop(
    log: &mut UnboundedReceiver<LogEvent>,
    intro: Vec<String>,
    palette: Palette,
) -> io::Result<()> {
    let mut terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    terminal.clear()?;
    let theme = Theme::with_palette(palette);
    let mut d = Dashboard {
        intro,
        ..Dashboard::default()
    };
    let mut keys = EventStream::new();
    let mut stop = super::signal_stream();
    let mut tick = tokio::time::interval(FRAME);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut dirty = true;
    loop {
        tokio::select! {
            event = log.recv() => {
                let Some(event) = event else { break };
                d.apply(&event, SystemTime::now());
                // Take in what else waits, without a frame for each.
                while let Ok(event) = log.try_recv() {
                    d.apply(&event, SystemTime::now());
                }
                dirty = true;
            }
            key = keys.next() => {
                match key {
                    Some(Ok(e)) => {
                        on_term(&mut d, &e);
                        if d.quit {
                            break;
                        }
                        // A key shows at once.
                        terminal.draw(|f| draw::draw(&d, f, &theme))?;
                        dirty = false;
                    }
                    Some(Err(_)) | None => break,
                }
            }
            _ = tick.tick() => {
                if dirty {
                    terminal.draw(|f| draw::draw(&d, f, &theme))?;
                    dirty = false;
                }
            }
            _ = stop.recv() => break,
        }
    }
    Ok(())
}

/// One terminal event.
pub fn on_term(d: &mut Dashboard, e: &TermEvent) {
    match e {
        TermEvent::Key(k) if k.kind != KeyEventKind::Release => on_key(d, k),
        TermEvent::Mouse(m) => match m.kind {
            MouseEventKind::ScrollUp => d.scroll_by(3),
            MouseEventKind::ScrollDown => d.scroll_by(-3),
            _ => {}
        },
        TermEvent::Paste(text) if d.filtering => {
            d.filter
                .extend(text.chars().filter(|c| !c.is_control()).take(64));
            d.refilter();
        }
        _ => {}
    }
}

/// Rows PgUp and PgDn move.
const PAGE: isize = 10;

/// One key.
pub fn on_key(d: &mut Dashboard, k: &KeyEvent) {
    use model::Focus;
    if k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL) {
        d.quit = true;
        return;
    }
    if d.help {
        help_key(d, k.code);
        return;
    }
    if d.filtering {
        filter_key(d, k.code);
        return;
    }
    match k.code {
        KeyCode::Char('q') => d.quit = true,
        KeyCode::Esc if !d.filter.is_empty() => {
            d.filter.clear();
            d.refilter();
        }
        KeyCode::Esc => d.quit = true,
        KeyCode::Char('?') | KeyCode::F(1) => d.help = true,
        KeyCode::Char('/') => d.filtering = true,
        KeyCode::Tab => {
            d.focus = match d.focus {
                Focus::Sessions => Focus::Transcript,
                Focus::Transcript => Focus::Messages,
                Focus::Messages => Focus::Sessions,
            }
        }
        KeyCode::BackTab => {
            d.focus = match d.focus {
                Focus::Sessions => Focus::Messages,
                Focus::Transcript => Focus::Sessions,
                Focus::Messages => Focus::Transcript,
            }
        }
        KeyCode::Up | KeyCode::Char('k') => match d.focus {
            Focus::Sessions => d.select_by(-1),
            Focus::Transcript => d.scroll_by(1),
            Focus::Messages => d.cards_scroll = d.cards_scroll.saturating_sub(1),
        },
        KeyCode::Down | KeyCode::Char('j') => match d.focus {
            Focus::Sessions => d.select_by(1),
            Focus::Transcript => d.scroll_by(-1),
            Focus::Messages => d.cards_scroll = d.cards_scroll.saturating_add(1),
        },
        KeyCode::PageUp => match d.focus {
            Focus::Messages => d.cards_scroll = d.cards_scroll.saturating_sub(PAGE as usize),
            _ => d.scroll_by(PAGE),
        },
        KeyCode::PageDown => match d.focus {
            Focus::Messages => d.cards_scroll = d.cards_scroll.saturating_add(PAGE as usize),
            _ => d.scroll_by(-PAGE),
        },
        KeyCode::Home => d.scroll_by(isize::MAX / 2),
        KeyCode::End => d.scroll = 0,
        _ => {}
    }
}

/// A key while the help is open: it scrolls or closes it.
fn help_key(d: &mut Dashboard, code: KeyCode) {
    match code {
        KeyCode::Esc | KeyCode::Char('?') | KeyCode::Char('q') => {
            d.help = false;
            d.help_scroll = 0;
        }
        KeyCode::Up | KeyCode::Char('k') => d.help_scroll = d.help_scroll.saturating_sub(1),
        KeyCode::Down | KeyCode::Char('j') => d.help_scroll = d.help_scroll.saturating_add(1),
        KeyCode::PageUp => d.help_scroll = d.help_scroll.saturating_sub(PAGE as usize),
        KeyCode::PageDown => d.help_scroll = d.help_scroll.saturating_add(PAGE as usize),
        _ => {}
    }
}

/// A key while the filter is typed: Enter keeps it, Esc clears it.
fn filter_key(d: &mut Dashboard, code: KeyCode) {
    match code {
        KeyCode::Enter => d.filtering = false,
        KeyCode::Esc => {
            d.filtering = false;
            d.filter.clear();
        }
        KeyCode::Backspace => {
            d.filter.pop();
        }
        KeyCode::Char(c) if !c.is_control() && d.filter.chars().count() < 64 => {
            d.filter.push(c);
        }
        _ => {}
    }
    d.refilter();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(d: &mut Dashboard, code: KeyCode) {
        on_key(d, &KeyEvent::new(code, KeyModifiers::NONE));
    }

    #[test]
    fn q_quits_but_types_into_the_filter() {
        let mut d = draw::tests_support_class();
        key(&mut d, KeyCode::Char('/'));
        for c in "q1".chars() {
            key(&mut d, KeyCode::Char(c));
        }
        assert!(!d.quit);
        assert_eq!(d.filter, "q1");
        key(&mut d, KeyCode::Esc);
        assert!(d.filter.is_empty() && !d.filtering && !d.quit);
        key(&mut d, KeyCode::Char('q'));
        assert!(d.quit);
    }

    #[test]
    fn esc_clears_a_kept_filter_before_it_quits() {
        let mut d = draw::tests_support_class();
        key(&mut d, KeyCode::Char('/'));
        key(&mut d, KeyCode::Char('4'));
        key(&mut d, KeyCode::Enter);
        assert_eq!(d.filter, "4");
        key(&mut d, KeyCode::Esc);
        assert!(d.filter.is_empty() && !d.quit);
        key(&mut d, KeyCode::Esc);
        assert!(d.quit);
    }

    #[test]
    fn arrows_select_in_the_list_and_scroll_in_the_transcript() {
        let mut d = draw::tests_support_class();
        assert_eq!(d.selected, Some(1));
        key(&mut d, KeyCode::Down);
        assert_eq!(d.selected, Some(2));
        key(&mut d, KeyCode::Tab);
        key(&mut d, KeyCode::Up);
        key(&mut d, KeyCode::Up);
        assert_eq!((d.selected, d.scroll), (Some(2), 2));
        key(&mut d, KeyCode::End);
        assert_eq!(d.scroll, 0);
        on_term(
            &mut d,
            &TermEvent::Mouse(crossterm::event::MouseEvent {
                kind: MouseEventKind::ScrollUp,
                column: 0,
                row: 0,
                modifiers: KeyModifiers::NONE,
            }),
        );
        assert_eq!(d.scroll, 3);
    }

    #[test]
    fn help_opens_and_closes_without_quitting() {
        let mut d = draw::tests_support_class();
        key(&mut d, KeyCode::Char('?'));
        assert!(d.help);
        key(&mut d, KeyCode::Char('q'));
        assert!(!d.help && !d.quit);
    }
}
