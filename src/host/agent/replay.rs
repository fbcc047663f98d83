//! The replay agent: plays a recorded event file (the journal format, or
//! plain `{seq, ts, event}` lines) back at a chosen speed.

use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::host::error::{Error, IoContext, Result, invalid};
use tokio::sync::mpsc;

use super::{AgentInput, EventSink};
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

/// Plays the recording; `speed` 0 means as fast as the session takes it.
pub async fn run(
    recording: Recording,
    speed: f64,
    mut inbox: mpsc::UnboundedReceiver<AgentInput>,
    events: EventSink,
) {
    let total = recording.len();
    let mut previous: Option<SystemTime> = None;
    let mut stopped = false;
    for (ts, event) in recording.events {
        if speed > 0.0
            && let (Some(prev), Some(now)) = (previous, ts)
        {
            let gap = now.duration_since(prev).unwrap_or_default();
            let pause = gap.div_f64(speed).min(MAX_PAUSE);
            if wait_or_stop(pause, &mut inbox).await {
                stopped = true;
                break;
            }
        }
        previous = ts.or(previous);
        if inbox_says_stop(&mut inbox) || events.send(event).await.is_err() {
            stopped = true;
            break;
        }
    }
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

/// Sleeps for `pause` unless told to stop first. Commands are ignored: a
/// replay takes no input.
async fn wait_or_stop(pause: Duration, inbox: &mut mpsc::UnboundedReceiver<AgentInput>) -> bool {
    let sleep = tokio::time::sleep(pause);
    tokio::pin!(sleep);
    loop {
        tokio::select! {
            () = &mut sleep => return false,
            input = inbox.recv() => match input {
                None | Some(AgentInput::Shutdown) => return true,
                Some(AgentInput::Command(_)) => {}
            }
        }
    }
}

fn inbox_says_stop(inbox: &mut mpsc::UnboundedReceiver<AgentInput>) -> bool {
    loop {
        match inbox.try_recv() {
            Ok(AgentInput::Shutdown) | Err(mpsc::error::TryRecvError::Disconnected) => return true,
            Ok(AgentInput::Command(_)) => continue,
            Err(mpsc::error::TryRecvError::Empty) => return false,
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
