//! Named styles. Components ask for a style by what it means, never by a
//! colour; with NO_COLOR set every style is plain, and focus and classes
//! are told apart by weight, underline and reversal instead.

use ratatui::style::{Color, Modifier, Style};

use crate::app::LineKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    /// Colour unless NO_COLOR is set (to anything non-empty, per no-color.org).
    pub fn from_env() -> Self {
        Self {
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }

    fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::default().fg(c)
        } else {
            Style::default()
        }
    }

    pub fn block(&self, focused: bool) -> Style {
        if focused {
            self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
        } else {
            self.fg(Color::DarkGray)
        }
    }

    pub fn title(&self, focused: bool) -> Style {
        if focused {
            self.fg(Color::Cyan)
                .add_modifier(Modifier::BOLD | Modifier::REVERSED)
        } else {
            Style::default().add_modifier(Modifier::BOLD)
        }
    }

    pub fn selected(&self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED)
    }

    pub fn hint(&self) -> Style {
        self.fg(Color::DarkGray)
    }

    pub fn key(&self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    pub fn status(&self) -> Style {
        if self.color {
            Style::default().bg(Color::Blue).fg(Color::White)
        } else {
            Style::default().add_modifier(Modifier::REVERSED)
        }
    }

    pub fn notice(&self) -> Style {
        self.fg(Color::Yellow)
    }

    pub fn time(&self) -> Style {
        self.fg(Color::DarkGray)
    }

    pub fn masked(&self) -> Style {
        self.fg(Color::Magenta).add_modifier(Modifier::ITALIC)
    }

    /// A transcript line by direction and, for replies, by class.
    pub fn line(&self, kind: LineKind, code: Option<u16>) -> Style {
        match (kind, code.map(|c| c / 100)) {
            (LineKind::Client, _) => self.fg(Color::Cyan),
            (LineKind::Server, Some(2)) => self.fg(Color::Green),
            (LineKind::Server, Some(3)) => self.fg(Color::Blue),
            (LineKind::Server, Some(4)) => self.fg(Color::Yellow).add_modifier(Modifier::BOLD),
            (LineKind::Server, Some(5)) => self.fg(Color::Red).add_modifier(Modifier::BOLD),
            (LineKind::Server, _) => Style::default(),
            (LineKind::Info, _) => self.fg(Color::Gray),
            (LineKind::Warning, _) => self.fg(Color::Yellow).add_modifier(Modifier::ITALIC),
            (LineKind::Error, _) => self
                .fg(Color::Red)
                .add_modifier(Modifier::BOLD | Modifier::ITALIC),
        }
    }

    pub fn label(&self) -> Style {
        Style::default().add_modifier(Modifier::BOLD)
    }
}
