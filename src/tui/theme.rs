//! Named styles. Components ask for a style by what it means, never by a
//! colour; with NO_COLOR set every style is plain, and focus and classes
//! are told apart by weight, underline and reversal instead.
//!
//! Two palettes (`--theme`): dark, the terminal's own background with
//! bright colours; light, dark colours on a white background the workbench
//! paints itself, for projectors that wash a dark screen out. NO_COLOR wins
//! over both.

use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::Block;
use ratatui::Frame;

use crate::app::LineKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
    pub palette: Palette,
}

/// The colours, by `--theme`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Palette {
    #[default]
    Dark,
    Light,
}

impl Palette {
    /// Each palette by the name `--theme` gives it.
    pub const NAMES: [(&'static str, Palette); 2] = [("dark", Self::Dark), ("light", Self::Light)];
}

/// The light palette's colours: xterm's 256-colour cube, dark and saturated
/// enough to hold on a white screen under a projector's lamp (the bright
/// 16-colour yellow and cyan vanish there).
mod light {
    use ratatui::style::Color;
    pub const TEXT: Color = Color::Black;
    pub const PAPER: Color = Color::White;
    pub const FAINT: Color = Color::Indexed(238);
    pub const NAVY: Color = Color::Indexed(18);
    pub const BLUE: Color = Color::Indexed(25);
    pub const GREEN: Color = Color::Indexed(22);
    pub const ORANGE: Color = Color::Indexed(130);
    pub const RED: Color = Color::Indexed(124);
    pub const PURPLE: Color = Color::Indexed(90);
}

impl Theme {
    /// No colour: for measuring text, where styles do not matter.
    pub const PLAIN: Theme = Theme {
        color: false,
        palette: Palette::Dark,
    };

    /// This palette, in colour unless NO_COLOR is set (to anything
    /// non-empty, per no-color.org).
    pub fn with_palette(palette: Palette) -> Self {
        Self {
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
            palette,
        }
    }

    fn light(&self) -> bool {
        self.color && self.palette == Palette::Light
    }

    /// The dark palette's colour, or the light one's.
    fn fg2(&self, dark: Color, light: Color) -> Style {
        match (self.color, self.palette) {
            (false, _) => Style::default(),
            (true, Palette::Dark) => Style::default().fg(dark),
            (true, Palette::Light) => Style::default().fg(light),
        }
    }

    fn fg(&self, c: Color) -> Style {
        let light = match c {
            Color::Cyan | Color::Blue => light::BLUE,
            Color::Green => light::GREEN,
            Color::Yellow => light::ORANGE,
            Color::Red => light::RED,
            Color::Magenta => light::PURPLE,
            Color::DarkGray | Color::Gray => light::FAINT,
            other => other,
        };
        self.fg2(c, light)
    }

    /// What every cell starts from: nothing in the dark palette (the
    /// terminal's own colours), black on white in the light one.
    pub fn base(&self) -> Style {
        if self.light() {
            Style::default().fg(light::TEXT).bg(light::PAPER)
        } else {
            Style::default()
        }
    }

    /// Paints the base over the whole frame (the light palette's paper).
    pub fn paint_background(&self, frame: &mut Frame, area: Rect) {
        if self.light() {
            frame.render_widget(Block::default().style(self.base()), area);
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
        if self.light() {
            Style::default()
                .bg(light::NAVY)
                .fg(light::PAPER)
                .add_modifier(Modifier::BOLD)
        } else if self.color {
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
            (LineKind::Client, _) => self.fg2(Color::Cyan, light::NAVY),
            (LineKind::Server, Some(2)) => self.fg(Color::Green),
            (LineKind::Server, Some(3)) => self.fg(Color::Blue),
            (LineKind::Server, Some(4)) => self.fg(Color::Yellow).add_modifier(Modifier::BOLD),
            (LineKind::Server, Some(5)) => self.fg(Color::Red).add_modifier(Modifier::BOLD),
            (LineKind::Server, _) => self.fg2(Color::Reset, light::TEXT),
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
