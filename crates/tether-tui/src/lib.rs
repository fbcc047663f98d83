//! The terminal UI.

// Paths written as `crate::tui::...` (and the other layers) when these
// were modules of one crate.
use crate as tui;
use tether_client as client;
use tether_protocol as protocol;
use tether_protocol::bytescan;

pub mod app;
pub mod cells;
pub mod deck;
pub mod event_loop;
pub mod highlight;
pub mod history_file;
pub mod keymap;
pub mod markdown;
pub mod sanitize;
pub mod terminal;
pub mod text;
pub mod theme;
pub mod transcript;
pub mod ui;
pub mod wrap;
