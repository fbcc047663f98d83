//! The terminal UI.

pub mod app;
pub mod cells;
pub mod deck;
pub mod event_loop;
pub mod highlight;
pub mod keymap;
pub mod markdown;
pub mod sanitize;
pub mod terminal;
pub mod text;
pub mod theme;
pub mod transcript;
pub mod ui;
pub mod wrap;
