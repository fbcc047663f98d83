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
pub struct ScreenWriter<W: Write = io::Stdout> {
    frame: Vec<u8>,
    out: W,
}

impl ScreenWriter {
    fn new() -> Self {
        ScreenWriter::to(io::stdout())
    }
}

impl<W: Write> ScreenWriter<W> {
    fn to(out: W) -> Self {
        ScreenWriter {
            frame: Vec::with_capacity(64 * 1024),
            out,
        }
    }
}

/// While set, flushing the screen keeps the bytes (there is one screen):
/// ratatui flushes at the end of its draw, before the frame's closing
/// marker is queued, and each write to a pseudo-terminal wakes its reader.
static HELD: AtomicBool = AtomicBool::new(false);

/// Keeps what is written to the screen from here on until
/// [`release_frame`]: a frame and the markers around it then reach the
/// terminal in one write.
pub fn hold_frame() {
    HELD.store(true, Ordering::Relaxed);
}

/// Ends a [`hold_frame`]; the next flush writes what it kept.
pub fn release_frame() {
    HELD.store(false, Ordering::Relaxed);
}

impl<W: Write> Write for ScreenWriter<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.frame.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.frame.is_empty() || HELD.load(Ordering::Relaxed) {
            return Ok(());
        }
        let written = self
            .out
            .write_all(&self.frame)
            .and_then(|()| self.out.flush());
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

#[cfg(test)]
mod tests {
    use super::{ScreenWriter, hold_frame, release_frame};
    use std::io::{self, Write};

    /// The writes that reached the terminal, one entry each.
    #[derive(Default)]
    struct Writes(Vec<Vec<u8>>);

    impl Write for &mut Writes {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.push(bytes.to_vec());
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_held_frame_goes_out_in_one_write_on_release() {
        let mut writes = Writes::default();
        let mut screen = ScreenWriter::to(&mut writes);
        screen.write_all(b"one").expect("write");
        screen.flush().expect("flush");
        hold_frame();
        screen.write_all(b"<begin>").expect("write");
        screen.write_all(b"cells").expect("write");
        screen.flush().expect("flush");
        screen.write_all(b"<end>").expect("write");
        release_frame();
        screen.flush().expect("flush");
        screen.flush().expect("flush");
        drop(screen);
        assert_eq!(writes.0, [b"one".to_vec(), b"<begin>cells<end>".to_vec()]);
    }
}
