//! Colours and styles, in one place.

use ratatui::style::{Color, Modifier, Style};

/// Escape sequences and control characters made visible.
pub const ESCAPED: Style = Style::new()
    .fg(Color::DarkGray)
    .add_modifier(Modifier::ITALIC);
pub const HEADING: Style = Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD);
pub const CODE: Style = Style::new().fg(Color::Yellow);
pub const CODE_BLOCK: Style = Style::new().fg(Color::LightYellow);
pub const QUOTE: Style = Style::new().fg(Color::Gray).add_modifier(Modifier::ITALIC);
pub const BULLET: Style = Style::new().fg(Color::Cyan);
pub const BOLD: Style = Style::new().add_modifier(Modifier::BOLD);
pub const ITALIC: Style = Style::new().add_modifier(Modifier::ITALIC);
pub const DIM: Style = Style::new().add_modifier(Modifier::DIM);
pub const USER: Style = Style::new().fg(Color::Green).add_modifier(Modifier::BOLD);
pub const ASSISTANT: Style = Style::new().fg(Color::White);
pub const TOOL: Style = Style::new().fg(Color::Magenta);
pub const ERROR: Style = Style::new().fg(Color::Red);
pub const WARN: Style = Style::new().fg(Color::Yellow);
pub const OK: Style = Style::new().fg(Color::Green);
pub const INFO: Style = Style::new().fg(Color::Blue);
pub const STDERR: Style = Style::new().fg(Color::LightRed);
pub const FOCUS_BORDER: Style = Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD);
pub const BORDER: Style = Style::new().fg(Color::DarkGray);
pub const SELECTED: Style = Style::new().add_modifier(Modifier::REVERSED);
pub const MATCH: Style = Style::new().bg(Color::Yellow).fg(Color::Black);
/// The match `n`/`N` are at, apart from the others.
pub const CURRENT_MATCH: Style = Style::new()
    .bg(Color::Magenta)
    .fg(Color::White)
    .add_modifier(Modifier::BOLD);
pub const STATUS_BAR: Style = Style::new().bg(Color::DarkGray).fg(Color::White);
