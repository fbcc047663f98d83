//! The one event loop: terminal events, the sessions' connections, the
//! hosts' lobbies and redraws in a single `tokio::select!`. No fixed tick:
//! it draws only after something changed (when, [`pace`] decides: a key
//! press at once, other traffic at most 30 frames a second, a flood of
//! output fewer) and wakes for the clock only while something on screen
//! counts time.

mod editor;
mod links;
mod pace;

use std::io::Write;
use std::time::{Duration, Instant, SystemTime};

use crossterm::event::{Event, EventStream};
use futures_util::StreamExt;
use tokio::signal::unix::{SignalKind, signal};

use super::app::{Effect, Msg};
use super::deck::notify::{Osc, sequence};
use super::deck::{Deck, DeckEffect, DeckMsg};
use super::terminal::Tui;
use super::ui;
use crate::client::{ConnCommand, ConnEvent};
use crate::protocol::ServerMessage;
pub use links::{Links, NewHost, ask_flood_tail};
use pace::{Pace, Urgency};

/// How many queued messages one wake-up applies before drawing: enough
/// that a stream's messages are taken in batches, few enough that a frame
/// is never held up for long.
const BATCH: usize = 256;

pub async fn run(terminal: &mut Tui, deck: &mut Deck, mut links: Links) -> std::io::Result<()> {
    let mut terminal_events = TerminalInput::start();
    let mut terminate = signal(SignalKind::terminate())?;
    let mut hangup = signal(SignalKind::hangup())?;
    let mut pace = Pace::new(Instant::now());
    let panic_after_first_frame = test_panic_requested();
    let osc = Osc::for_terminal(
        &std::env::var("TERM").unwrap_or_default(),
        &std::env::var("TERM_PROGRAM").unwrap_or_default(),
    );
    start(terminal, deck, &mut links)?;
    loop {
        if pace.ready(Instant::now()) {
            draw(terminal, deck)?;
            pace.drawn(Instant::now());
            if panic_after_first_frame {
                test_panic();
            }
        }
        if deck.should_quit() {
            release_before_quit(deck, &mut links).await;
            return Ok(());
        }
        let frame_due = pace.due().map(tokio::time::Instant::from_std);
        let tick_due = tokio::time::Instant::now() + Duration::from_secs(1);
        let (msg, urgency) = tokio::select! {
            event = terminal_events.events.recv() => match event {
                Some(Ok(Event::Key(key))) => (DeckMsg::Ui(Msg::Key(key)), Urgency::Now),
                Some(Ok(Event::Paste(text))) => (DeckMsg::Ui(Msg::Paste(text)), Urgency::Now),
                Some(Ok(Event::Mouse(mouse))) => (DeckMsg::Ui(Msg::Mouse(mouse)), Urgency::Now),
                Some(Ok(Event::Resize(_, _))) => {
                    terminal.autoresize()?;
                    let size = terminal.size()?;
                    (DeckMsg::Resize { width: size.width, height: size.height }, Urgency::Now)
                }
                Some(Ok(Event::FocusGained)) => (DeckMsg::Focus(true), Urgency::Soon),
                Some(Ok(Event::FocusLost)) => (DeckMsg::Focus(false), Urgency::Soon),
                Some(Err(e)) => return Err(e),
                None => return Ok(()),
            },
            Some((tab, event)) = links.conn_events.recv() => {
                let urgency = Urgency::of_conn(&event);
                (DeckMsg::Conn { tab, event }, urgency)
            }
            Some((host, event)) = links.lobby_events.recv() => (DeckMsg::Lobby { host, event }, Urgency::Soon),
            Some(host) = links.new_hosts.recv() => {
                let at = deck.add_host(host.name, host.url, host.token);
                links.start_lobby(deck, at);
                pace.changed(Urgency::Soon, Instant::now());
                continue;
            }
            () = sleep_until_some(frame_due) => continue,
            () = tokio::time::sleep_until(tick_due), if deck.needs_tick() => (DeckMsg::Ui(Msg::Tick), Urgency::Soon),
            _ = terminate.recv() => return Ok(()),
            _ = hangup.recv() => return Ok(()),
        };
        pace.changed(urgency, Instant::now());
        let edit = apply(terminal, deck, &mut links, osc, msg)?;
        let edit = apply_queued(terminal, deck, &mut links, osc, &mut pace)?.or(edit);
        if let Some((tab, text)) = edit {
            let mouse = deck.mouse_capture;
            let edited = editor::edit(terminal, &mut terminal_events, mouse, &text).await?;
            let msg = DeckMsg::Edited { tab, text: edited };
            deck.update(msg, Instant::now(), SystemTime::now());
            pace.changed(Urgency::Now, Instant::now());
        }
    }
}

/// Whatever else the connections have queued is applied before the next
/// frame, without going round the select for each message.
fn apply_queued(
    terminal: &mut Tui,
    deck: &mut Deck,
    links: &mut Links,
    osc: Osc,
    pace: &mut Pace,
) -> std::io::Result<Option<(usize, String)>> {
    let mut edit = None;
    for _ in 0..BATCH {
        let msg = match links.conn_events.try_recv() {
            Ok((tab, event)) => {
                pace.changed(Urgency::of_conn(&event), Instant::now());
                DeckMsg::Conn { tab, event }
            }
            Err(_) => match links.lobby_events.try_recv() {
                Ok((host, event)) => {
                    pace.changed(Urgency::Soon, Instant::now());
                    DeckMsg::Lobby { host, event }
                }
                Err(_) => break,
            },
        };
        edit = apply(terminal, deck, links, osc, msg)?.or(edit);
    }
    Ok(edit)
}

/// Sleeps until `deadline`, or forever when there is none.
async fn sleep_until_some(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Before the loop: the mouse, the screen's size, the histories of the
/// sessions already opened, the hosts' lobbies.
fn start(terminal: &mut Tui, deck: &mut Deck, links: &mut Links) -> std::io::Result<()> {
    start_mouse_capture(terminal, deck)?;
    let size = terminal.size()?;
    let resize = DeckMsg::Resize {
        width: size.width,
        height: size.height,
    };
    deck.update(resize, Instant::now(), SystemTime::now());
    for tab in 0..deck.tabs.len() {
        if deck.tabs[tab].opened {
            recall(deck, tab);
        }
    }
    links.start_lobbies(deck);
    Ok(())
}

/// Terminal events, read by their own task. crossterm's `EventStream`
/// takes a lock and may yield the thread each time it is polled, and the
/// select polls every branch on every wake-up: polled only when it has
/// something, it costs nothing while the connections are busy.
struct TerminalInput {
    events: tokio::sync::mpsc::UnboundedReceiver<std::io::Result<Event>>,
    reader: tokio::task::JoinHandle<()>,
}

impl TerminalInput {
    fn start() -> TerminalInput {
        let (tx, events) = tokio::sync::mpsc::unbounded_channel();
        let reader = tokio::spawn(async move {
            let mut stream = EventStream::new();
            while let Some(event) = stream.next().await {
                if tx.send(event).is_err() {
                    return;
                }
            }
        });
        TerminalInput { events, reader }
    }
}

impl TerminalInput {
    /// Stops reading the terminal, and waits until the reader is gone
    /// (its `EventStream` dropped wakes crossterm's own reader thread,
    /// which then stops too) so that nothing else takes a key.
    async fn stop(&mut self) {
        self.reader.abort();
        let _ = (&mut self.reader).await;
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

impl Drop for TerminalInput {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// Applies one message to the deck and carries out what it asks for.
fn apply(
    terminal: &mut Tui,
    deck: &mut Deck,
    links: &mut Links,
    osc: Osc,
    msg: DeckMsg,
) -> std::io::Result<Option<(usize, String)>> {
    let mut edit = None;
    for effect in deck.update(msg, Instant::now(), SystemTime::now()) {
        match effect {
            DeckEffect::Tab { tab, effect } => match effect {
                Effect::Send(message) => links.command(tab, ConnCommand::Send(message)),
                Effect::Reconnect => links.command(tab, ConnCommand::Reconnect),
                Effect::MouseCapture(on) => set_mouse_capture(terminal, on)?,
                Effect::Quit => {}
                Effect::Remember(text) => remember(deck, tab, &text),
                Effect::Copy(text) => write_raw(terminal, &osc52(&text))?,
                // Done by the loop, which owns the terminal's input.
                Effect::EditExternally(text) => edit = Some((tab, text)),
            },
            DeckEffect::Open { tab } => {
                links.open(deck, tab);
                recall(deck, tab);
            }
            DeckEffect::Lobby { host, request } => links.ask_lobby(host, request),
            DeckEffect::Notify(note) => {
                write_raw(terminal, &sequence(deck.notify, osc, &note))?;
            }
            DeckEffect::Title(title) => {
                crossterm::execute!(terminal.backend_mut(), crossterm::terminal::SetTitle(title))?;
            }
        }
    }
    Ok(edit)
}

/// Writes a control sequence we built (never agent text: notifications
/// are stripped of control characters before they get here).
fn write_raw(terminal: &mut Tui, bytes: &str) -> std::io::Result<()> {
    if bytes.is_empty() {
        return Ok(());
    }
    let out = terminal.backend_mut();
    out.write_all(bytes.as_bytes())?;
    out.flush()
}

/// How long a deliberate quit waits for the host to acknowledge `release`.
const RELEASE_WAIT: Duration = Duration::from_millis(500);

/// A deliberate quit (Ctrl+Q, Ctrl+C twice) by the owner frees the owner
/// slot of every session it owns at once, so someone else may own them
/// without waiting out the grace; the grace is for connections that are
/// lost, not closed.
async fn release_before_quit(deck: &mut Deck, links: &mut Links) {
    let mut waiting = Vec::new();
    for (tab, entry) in deck.tabs.iter_mut().enumerate() {
        if let Some((id, release)) = entry.app.release_on_quit() {
            links.command(tab, ConnCommand::Send(release));
            waiting.push((tab, id));
        }
    }
    let answered = async {
        while !waiting.is_empty() {
            let Some((tab, event)) = links.conn_events.recv().await else {
                return;
            };
            let done = match event {
                ConnEvent::Message(
                    ServerMessage::Ack { id, .. } | ServerMessage::Error { id: Some(id), .. },
                ) => Some(id),
                ConnEvent::Lost { .. } | ConnEvent::Failed(_) => {
                    waiting.retain(|(t, _)| *t != tab);
                    None
                }
                _ => None,
            };
            if let Some(id) = done {
                waiting.retain(|(t, w)| !(*t == tab && *w == id));
            }
        }
    };
    let _ = tokio::time::timeout(RELEASE_WAIT, answered).await;
}

/// The terminal starts capturing the mouse; when the caller chose
/// otherwise (flag, environment, settings file) it is let go at once.
fn start_mouse_capture(terminal: &mut Tui, deck: &mut Deck) -> std::io::Result<()> {
    if deck.mouse_capture {
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

fn draw(terminal: &mut Tui, deck: &mut Deck) -> std::io::Result<()> {
    use crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
    // One write for the frame and its markers: the draw's own flush
    // waits for the release.
    super::terminal::hold_frame();
    let queued = crossterm::queue!(terminal.backend_mut(), BeginSynchronizedUpdate)
        .and_then(|()| terminal.draw(|frame| ui::deck::draw(deck, frame)).map(drop))
        .and_then(|()| crossterm::queue!(terminal.backend_mut(), EndSynchronizedUpdate));
    super::terminal::release_frame();
    let flushed = ratatui::backend::Backend::flush(terminal.backend_mut());
    queued.and(flushed)
}

/// The history file of `tab`'s session, when histories are kept.
fn history_file(deck: &Deck, tab: usize) -> Option<crate::tui::history_file::HistoryFile> {
    let dir = deck.history_dir.as_ref()?;
    let key = &deck.tabs.get(tab)?.key;
    let host = &deck.hosts.get(key.host)?.url;
    Some(crate::tui::history_file::HistoryFile::of(
        dir, host, &key.id,
    ))
}

/// Reads `tab`'s history from earlier runs into its input box's ↑ and
/// Ctrl+R.
fn recall(deck: &mut Deck, tab: usize) {
    if let Some(file) = history_file(deck, tab) {
        let entries = file.load();
        if !entries.is_empty() {
            let msg = DeckMsg::History { tab, entries };
            deck.update(msg, Instant::now(), SystemTime::now());
        }
    }
}

/// Keeps a sent text for the next run (a failure is logged, not shown:
/// the message itself was sent).
fn remember(deck: &Deck, tab: usize, text: &str) {
    if let Some(file) = history_file(deck, tab)
        && let Err(e) = file.append(text)
    {
        tracing::warn!("cannot keep the message history: {e}");
    }
}

/// OSC 52: set the clipboard to `text` (base64), as terminals (and tmux
/// with `set-clipboard on`) take it. The text is the transcript's, already
/// sanitised, and base64 cannot end the sequence early.
fn osc52(text: &str) -> String {
    format!(
        "\x1b]52;c;{}\x07",
        data_encoding::BASE64.encode(text.as_bytes())
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn osc52_carries_the_text_as_base64() {
        assert_eq!(super::osc52("hi\n\x07"), "\x1b]52;c;aGkKBw==\x07");
    }
}
