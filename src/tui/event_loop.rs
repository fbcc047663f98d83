//! The one event loop: terminal events, connection events and redraws in
//! a single `tokio::select!`. No fixed tick: it draws only after something
//! changed (at most 60 frames a second; a key press draws at once) and
//! wakes for the clock only while something on screen counts time.

use std::time::{Duration, Instant, SystemTime};

use crossterm::event::{Event, EventStream};
use futures_util::StreamExt;
use tokio::signal::unix::{SignalKind, signal};

use super::app::{App, Effect, Msg};
use super::terminal::Tui;
use super::ui;
use crate::client::{ConnCommand, ConnEvent, Connection};
use crate::protocol::ServerMessage;

/// Minimum time between frames drawn for server traffic.
const FRAME: Duration = Duration::from_millis(16);

pub async fn run(
    terminal: &mut Tui,
    app: &mut App,
    mut connection: Connection,
) -> std::io::Result<()> {
    let mut terminal_events = EventStream::new();
    let mut terminate = signal(SignalKind::terminate())?;
    let mut hangup = signal(SignalKind::hangup())?;
    let mut dirty = true;
    let mut draw_now = true;
    let mut last_draw = Instant::now() - FRAME;
    let mut connected = true;
    let panic_after_first_frame = test_panic_requested();
    start_mouse_capture(terminal, app)?;
    loop {
        if dirty && (draw_now || last_draw.elapsed() >= FRAME) {
            draw(terminal, app)?;
            last_draw = Instant::now();
            dirty = false;
            draw_now = false;
            if panic_after_first_frame {
                test_panic();
            }
        }
        if app.should_quit() {
            release_before_quit(app, &mut connection).await;
            return Ok(());
        }
        let frame_due = tokio::time::Instant::from_std(last_draw + FRAME);
        let tick_due = tokio::time::Instant::now() + Duration::from_secs(1);
        let msg = tokio::select! {
            event = terminal_events.next() => match event {
                Some(Ok(Event::Key(key))) => { draw_now = true; Msg::Key(key) }
                Some(Ok(Event::Paste(text))) => { draw_now = true; Msg::Paste(text) }
                Some(Ok(Event::Mouse(mouse))) => { draw_now = true; Msg::Mouse(mouse) }
                Some(Ok(Event::Resize(_, _))) => { terminal.autoresize()?; draw_now = true; Msg::Tick }
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e),
                None => return Ok(()),
            },
            event = connection.events.recv(), if connected => match event {
                Some(event) => Msg::Conn(event),
                None => { connected = false; Msg::Tick }
            },
            () = tokio::time::sleep_until(frame_due), if dirty => continue,
            () = tokio::time::sleep_until(tick_due), if app.needs_tick() => Msg::Tick,
            _ = terminate.recv() => return Ok(()),
            _ = hangup.recv() => return Ok(()),
        };
        dirty = true;
        for effect in app.update(msg, Instant::now(), SystemTime::now()) {
            match effect {
                Effect::Send(message) => {
                    let _ = connection.commands.send(ConnCommand::Send(message));
                }
                Effect::Reconnect => {
                    let _ = connection.commands.send(ConnCommand::Reconnect);
                }
                Effect::MouseCapture(on) => set_mouse_capture(terminal, on)?,
                Effect::Quit => {}
            }
        }
    }
}

/// How long a deliberate quit waits for the host to acknowledge `release`.
const RELEASE_WAIT: Duration = Duration::from_millis(500);

/// A deliberate quit (Ctrl+Q, Ctrl+C twice) by the owner frees the owner
/// slot at once, so someone else may own the session without waiting out
/// the grace; the grace is for connections that are lost, not closed.
async fn release_before_quit(app: &mut App, connection: &mut Connection) {
    let Some((id, release)) = app.release_on_quit() else {
        return;
    };
    if connection
        .commands
        .send(ConnCommand::Send(release))
        .is_err()
    {
        return;
    }
    let answered = async {
        while let Some(event) = connection.events.recv().await {
            match event {
                ConnEvent::Message(
                    ServerMessage::Ack { id: answered, .. }
                    | ServerMessage::Error {
                        id: Some(answered), ..
                    },
                ) if answered == id => return,
                ConnEvent::Lost { .. } | ConnEvent::Failed(_) => return,
                _ => {}
            }
        }
    };
    let _ = tokio::time::timeout(RELEASE_WAIT, answered).await;
}

/// The terminal starts capturing the mouse; when the caller chose
/// otherwise (`app.mouse_capture`: flag, environment, settings file) it is
/// let go at once.
fn start_mouse_capture(terminal: &mut Tui, app: &mut App) -> std::io::Result<()> {
    if app.mouse_capture {
        Ok(())
    } else {
        set_mouse_capture(terminal, false)
    }
}

fn set_mouse_capture(terminal: &mut Tui, on: bool) -> std::io::Result<()> {
    use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
    if on {
        crossterm::execute!(terminal.backend_mut(), EnableMouseCapture)
    } else {
        crossterm::execute!(terminal.backend_mut(), DisableMouseCapture)
    }
}

/// Test-only: `TETHER_TEST_PANIC` makes a debug build panic after its
/// first frame, so tests/tui/safety.rs can check that the terminal is
/// restored after a panic. The PTY tests run the debug binary; a release
/// build ignores the variable.
#[cfg(debug_assertions)]
fn test_panic_requested() -> bool {
    std::env::var_os("TETHER_TEST_PANIC").is_some()
}

#[cfg(not(debug_assertions))]
fn test_panic_requested() -> bool {
    false
}

#[cfg(debug_assertions)]
fn test_panic() {
    panic!("TETHER_TEST_PANIC is set: panicking after the first frame");
}

#[cfg(not(debug_assertions))]
fn test_panic() {}

fn draw(terminal: &mut Tui, app: &mut App) -> std::io::Result<()> {
    use crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
    crossterm::queue!(terminal.backend_mut(), BeginSynchronizedUpdate)?;
    terminal.draw(|frame| ui::draw(app, frame))?;
    crossterm::execute!(terminal.backend_mut(), EndSynchronizedUpdate)?;
    Ok(())
}
