//! Entering and leaving full-screen mode, on every exit path.
//!
//! `TerminalGuard` restores the terminal when dropped (normal quit, error,
//! unwinding), and the panic hook restores it *before* the panic message is
//! printed so the message lands on the normal screen, readable.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::event::{
    DisableBracketedPaste, DisableFocusChange, DisableMouseCapture, EnableBracketedPaste,
    EnableFocusChange, EnableMouseCapture,
};
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use crossterm::{cursor, execute};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

pub type Tui = Terminal<CrosstermBackend<ScreenWriter>>;

/// Standard output for the screen. A frame is kept whole and written in
/// one system call when it is flushed: std's stdout takes a lock for each
/// cell and writes every 1 KiB, a dozen writes to the terminal a frame.
/// What was never flushed is dropped, not written, so nothing can land on
/// the normal screen after a panic has restored it.
pub struct ScreenWriter {
    frame: Vec<u8>,
    out: io::Stdout,
}

impl ScreenWriter {
    fn new() -> Self {
        ScreenWriter {
            frame: Vec::with_capacity(64 * 1024),
            out: io::stdout(),
        }
    }
}

impl Write for ScreenWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.frame.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.frame.is_empty() {
            return Ok(());
        }
        let mut out = self.out.lock();
        let written = out.write_all(&self.frame).and_then(|()| out.flush());
        self.frame.clear();
        written
    }
}

static ACTIVE: AtomicBool = AtomicBool::new(false);

/// XTWINOPS: save and restore the window title (xterm and most others;
/// terminals without it ignore them).
const PUSH_TITLE: &str = "\x1b[22;0t";
const POP_TITLE: &str = "\x1b[23;0t";

/// Puts the terminal back as it was: main screen, cooked mode, cursor
/// shown. Safe to call more than once and from a panic hook.
pub fn restore() {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return;
    }
    let mut out = io::stdout();
    let _ = execute!(
        out,
        DisableMouseCapture,
        DisableBracketedPaste,
        DisableFocusChange,
        LeaveAlternateScreen,
        cursor::Show
    );
    // The title the terminal had before (saved at enter).
    let _ = out.write_all(POP_TITLE.as_bytes());
    let _ = disable_raw_mode();
    let _ = out.flush();
}

/// Hands the terminal to another program (the editor): as [`restore`].
pub fn suspend() {
    restore();
}

/// Takes the terminal back after [`suspend`]: raw mode, the alternate
/// screen, pasting, focus reports and (when `mouse`) the mouse.
pub fn resume(mouse: bool) -> io::Result<()> {
    enable_raw_mode()?;
    ACTIVE.store(true, Ordering::SeqCst);
    let mut out = io::stdout();
    let _ = out.write_all(PUSH_TITLE.as_bytes());
    execute!(
        out,
        EnterAlternateScreen,
        EnableBracketedPaste,
        EnableFocusChange,
        cursor::Hide
    )?;
    if mouse {
        execute!(out, EnableMouseCapture)?;
    }
    Ok(())
}

/// `$TETHER_MOUSE`: `0` starts with the mouse free for selecting text,
/// `1` with the wheel scrolling the transcript (the default).
pub fn mouse_capture_from_env() -> Option<bool> {
    match std::env::var("TETHER_MOUSE").ok()?.trim() {
        "0" | "off" | "false" => Some(false),
        "1" | "on" | "true" => Some(true),
        _ => None,
    }
}

pub struct TerminalGuard {
    pub terminal: Tui,
}

impl TerminalGuard {
    pub fn enter() -> io::Result<Self> {
        install_panic_hook();
        enable_raw_mode()?;
        ACTIVE.store(true, Ordering::SeqCst);
        let mut out = io::stdout();
        // Saved so the title tether sets (the requests waiting) goes away.
        let _ = out.write_all(PUSH_TITLE.as_bytes());
        if let Err(e) = execute!(
            out,
            EnterAlternateScreen,
            EnableBracketedPaste,
            EnableMouseCapture,
            EnableFocusChange,
            cursor::Hide
        ) {
            restore();
            return Err(e);
        }
        let terminal =
            Terminal::new(CrosstermBackend::new(ScreenWriter::new())).inspect_err(|_| restore())?;
        Ok(TerminalGuard { terminal })
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

fn install_panic_hook() {
    static INSTALLED: AtomicBool = AtomicBool::new(false);
    if INSTALLED.swap(true, Ordering::SeqCst) {
        return;
    }
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
}
