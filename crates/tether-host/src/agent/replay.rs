//! The replay agent: plays a recorded event file (the journal format, or
//! plain `{seq, ts, event}` lines) back at a chosen speed, optionally
//! waiting at each permission request for the owner's answer.

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::host::error::{Error, IoContext, Result, invalid};
use tokio::sync::mpsc;

use super::{AgentInput, EventSink};
use crate::host::session::AgentCommand;
use crate::protocol::{EventKind, EventRecord, NoticeLevel, ServerMessage};

/// Longest pause replayed between two events, whatever the recording says.
const MAX_PAUSE: Duration = Duration::from_secs(5);

pub struct Recording {
    events: Vec<(Option<SystemTime>, EventKind)>,
}

impl Recording {
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .or_io(|| format!("cannot read the recording {}", path.display()))?;
        Self::parse(&text)
            .map_err(|e| Error::Invalid(format!("in the recording {}: {e}", path.display())))
    }

    pub fn parse(text: &str) -> Result<Self> {
        let mut events = Vec::new();
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let record = match serde_json::from_str::<ServerMessage>(line) {
                Ok(ServerMessage::Event(record)) => Some(record),
                _ => serde_json::from_str::<EventRecord>(line).ok(),
            };
            match record {
                Some(record) => {
                    let ts = humantime::parse_rfc3339_weak(&record.ts).ok();
                    events.push((ts, record.event));
                }
                // The journal's header line.
                None if n == 0 && line.contains("\"epoch\"") => {}
                None => invalid!("line {} is not an event", n + 1),
            }
        }
        Ok(Recording { events })
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
}

/// How a recording is played.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Playback {
    /// Factor on the recorded pauses; 0 plays as fast as the session takes it.
    pub speed: f64,
    /// Stop after each `permission_request` until the owner answers it (or
    /// interrupts), so a demo can be driven.
    pub pause_at_requests: bool,
}

impl Playback {
    /// Checks a speed given by a person: 0 (as fast as the session takes
    /// it), or a factor from 0.01 (a hundred times slower) to 1000.
    pub fn check_speed(speed: f64) -> Result<f64, String> {
        if speed == 0.0 || (0.01..=1000.0).contains(&speed) {
            Ok(speed)
        } else {
            Err(format!(
                "speed {speed} is out of range: 0 plays as fast as possible, else a factor from 0.01 to 1000"
            ))
        }
    }
}

/// What the inbox said while the replay waited.
enum Heard {
    Stop,
    /// The owner answered the request with this id.
    Decision(String),
    Interrupt,
    Nothing,
}

fn heard(input: Option<AgentInput>) -> Heard {
    match input {
        None | Some(AgentInput::Shutdown) => Heard::Stop,
        Some(AgentInput::Command(AgentCommand::Decision { request_id, .. })) => {
            Heard::Decision(request_id)
        }
        Some(AgentInput::Command(AgentCommand::Interrupt)) => Heard::Interrupt,
        Some(AgentInput::Command(_)) => Heard::Nothing,
    }
}

/// Plays the recording.
pub async fn run(
    recording: Recording,
    playback: Playback,
    mut inbox: mpsc::UnboundedReceiver<AgentInput>,
    events: EventSink,
) {
    let total = recording.len();
    let stopped = play(recording, playback, &mut inbox, &events).await;
    let detail = if stopped {
        "replay stopped".to_owned()
    } else {
        let _ = events
            .send(EventKind::notice(
                NoticeLevel::Info,
                format!("replay finished ({total} events)"),
            ))
            .await;
        "replay finished".to_owned()
    };
    let _ = events.send(EventKind::exited(detail, None)).await;
}

/// Sends the recorded events; true when told to stop before the end.
async fn play(
    recording: Recording,
    playback: Playback,
    inbox: &mut mpsc::UnboundedReceiver<AgentInput>,
    events: &EventSink,
) -> bool {
    let mut previous: Option<SystemTime> = None;
    // Requests the owner answered (paused or not): the session already
    // announced their resolution, so the recorded one is not played.
    let mut answered: HashSet<String> = HashSet::new();
    // A request to wait at once the status changes that follow it are out.
    let mut pause_at: Option<String> = None;
    for (ts, event) in recording.events {
        if !matches!(event, EventKind::Status { .. })
            && let Some(request_id) = pause_at.take()
        {
            if wait_at_request(request_id, inbox, &mut answered).await {
                return true;
            }
            // The recorded think time is over: carry on at once.
            previous = None;
        }
        if playback.speed > 0.0
            && let (Some(prev), Some(now)) = (previous, ts)
        {
            let gap = now.duration_since(prev).unwrap_or_default();
            // A tiny factor must not overflow a Duration (and panic).
            let pause = Duration::try_from_secs_f64(gap.as_secs_f64() / playback.speed)
                .unwrap_or(MAX_PAUSE)
                .min(MAX_PAUSE);
            if wait_or_stop(pause, inbox, &mut answered).await {
                return true;
            }
        }
        previous = ts.or(previous);
        if inbox_says_stop(inbox, &mut answered) {
            return true;
        }
        if let EventKind::PermissionResolved { request_id, .. } = &event
            && answered.remove(request_id)
        {
            continue;
        }
        if let EventKind::PermissionRequest { request_id, .. } = &event
            && playback.pause_at_requests
        {
            pause_at = Some(request_id.clone());
        }
        if events.send(event).await.is_err() {
            return true;
        }
    }
    match pause_at {
        Some(request_id) => wait_at_request(request_id, inbox, &mut answered).await,
        None => false,
    }
}

/// Waits at a request; notes it in `answered` when the owner answered it.
/// True when told to stop.
async fn wait_at_request(
    request_id: String,
    inbox: &mut mpsc::UnboundedReceiver<AgentInput>,
    answered: &mut HashSet<String>,
) -> bool {
    match wait_for_answer(&request_id, inbox).await {
        Heard::Stop => true,
        Heard::Decision(_) => {
            answered.insert(request_id);
            false
        }
        Heard::Interrupt | Heard::Nothing => false,
    }
}

/// Waits until the owner answers `request_id` or interrupts, or the
/// replay is stopped.
async fn wait_for_answer(
    request_id: &str,
    inbox: &mut mpsc::UnboundedReceiver<AgentInput>,
) -> Heard {
    loop {
        match heard(inbox.recv().await) {
            Heard::Decision(id) if id != request_id => {}
            Heard::Nothing => {}
            done => return done,
        }
    }
}

/// Sleeps for `pause` unless told to stop first. Answers heard meanwhile
/// go to `answered`; other commands are ignored: a replay takes no input.
async fn wait_or_stop(
    pause: Duration,
    inbox: &mut mpsc::UnboundedReceiver<AgentInput>,
    answered: &mut HashSet<String>,
) -> bool {
    let sleep = tokio::time::sleep(pause);
    tokio::pin!(sleep);
    loop {
        tokio::select! {
            () = &mut sleep => return false,
            input = inbox.recv() => match heard(input) {
                Heard::Stop => return true,
                Heard::Decision(id) => {
                    answered.insert(id);
                }
                Heard::Interrupt | Heard::Nothing => {}
            }
        }
    }
}

/// Whether the inbox holds a stop, noting the answers in it.
fn inbox_says_stop(
    inbox: &mut mpsc::UnboundedReceiver<AgentInput>,
    answered: &mut HashSet<String>,
) -> bool {
    loop {
        let input = match inbox.try_recv() {
            Ok(input) => Some(input),
            Err(mpsc::error::TryRecvError::Disconnected) => None,
            Err(mpsc::error::TryRecvError::Empty) => return false,
        };
        match heard(input) {
            Heard::Stop => return true,
            Heard::Decision(id) => {
                answered.insert(id);
            }
            Heard::Interrupt | Heard::Nothing => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_journal_and_plain_records() {
        let text = concat!(
            r#"{"journal":1,"session":"main","epoch":"e","started_at":"t"}"#,
            "\n",
            r#"{"type":"event","seq":1,"ts":"2026-01-01T00:00:00Z","event":{"kind":"assistant","text":"hi"}}"#,
            "\n",
            r#"{"seq":2,"ts":"2026-01-01T00:00:01Z","event":{"kind":"interrupt","by":"a"}}"#,
            "\n",
        );
        let recording = Recording::parse(text).unwrap();
        assert_eq!(recording.len(), 2);
        assert!(Recording::parse("nonsense\n").is_err());
    }
}
