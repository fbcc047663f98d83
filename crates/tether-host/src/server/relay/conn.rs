//! One relay connection: its greeting, its replay and then what the
//! session sends it alone, each published on its own subject (`to.<conn>`).
//! What every connection receives goes out once, from the session's
//! publisher (`live`), never from here.

use std::sync::Arc;
use std::time::Duration;

use tether_broker::async_nats::Client;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::stream::StreamState;

use crate::host::participants::ParticipantsMessage;
use crate::host::runtime::{Direct, Joined, ReplayJob};
use crate::protocol::relay::{RelayCatchUp, RelayClosed};
use crate::protocol::{ErrorCode, ServerMessage, close_code};

pub(super) struct ConnLink {
    pub client: Client,
    /// Its subject (`to.<conn>`).
    pub to: String,
    /// Its id, told to the dispatch loop when it ends.
    pub conn: String,
    pub ended: mpsc::Sender<String>,
    /// Set when the client can catch up from the session's stream.
    pub catch_up: Option<CatchUp>,
}

/// A client that can read its replay from the session's stream.
pub(super) struct CatchUp {
    pub stream: String,
    pub state: Arc<StreamState>,
    /// The seq it joined after (`u64::MAX`: live, no replay).
    pub since: u64,
}

/// How long a join waits for the broker to acknowledge the events its
/// replay would read from the stream (they were just published).
const ACK_WAIT: Duration = Duration::from_millis(200);

/// Runs until the session closes it, the host closes, or the dispatch loop
/// drops `stop` (the client left or went silent).
pub(super) async fn run(
    link: ConnLink,
    joined: Joined,
    mut closing: watch::Receiver<bool>,
    mut stop: oneshot::Receiver<()>,
) {
    let Joined {
        greeting,
        participants,
        replay,
        mut direct,
        ..
    } = joined;
    let greeted = greet(&link, greeting, &participants, replay).await;
    let mut close = None;
    if greeted {
        loop {
            tokio::select! {
                _ = &mut stop => break,
                _ = closing.changed() => {
                    close = Some(RelayClosed::new(close_code::GOING_AWAY, "session ended"));
                    break;
                }
                item = direct.recv() => match item {
                    None => {
                        close = Some(RelayClosed::new(close_code::GOING_AWAY, "session ended"));
                        break;
                    }
                    Some(Direct::Frame(frame)) => {
                        if !publish(&link, frame).await {
                            break;
                        }
                    }
                    Some(Direct::Replay(job)) => {
                        if !send_replay(&link, *job).await {
                            break;
                        }
                    }
                    Some(Direct::History(job)) => {
                        let answer = crate::host::runtime::answer_history(*job).await;
                        if !publish(&link, Utf8Bytes::from(answer)).await {
                            break;
                        }
                    }
                    Some(Direct::Close { code, reason }) => {
                        close = Some(RelayClosed::new(code, reason));
                        break;
                    }
                },
            }
        }
    }
    if let Some(close) = close {
        let _ = publish(&link, Utf8Bytes::from(close.to_json())).await;
    }
    let _ = link.client.flush().await;
    let _ = link.ended.send(link.conn.clone()).await;
}

async fn publish(link: &ConnLink, frame: Utf8Bytes) -> bool {
    let bytes = bytes::Bytes::copy_from_slice(frame.as_bytes());
    link.client.publish(link.to.clone(), bytes).await.is_ok()
}

async fn greet(
    link: &ConnLink,
    greeting: Vec<Utf8Bytes>,
    participants: &ParticipantsMessage,
    replay: ReplayJob,
) -> bool {
    for frame in greeting {
        if !publish(link, frame).await {
            return false;
        }
    }
    // One message: a list names at most 100 participants, well under a
    // broker's 1 MiB limit.
    if !publish(link, participants.to_frame()).await {
        return false;
    }
    if let Some(catch_up) = in_stream(link, &replay).await {
        let caught_up = ServerMessage::CaughtUp {
            seq: replay.caught_up,
        };
        return publish(link, Utf8Bytes::from(catch_up.to_json())).await
            && publish(link, Utf8Bytes::from(caught_up.to_json())).await;
    }
    send_replay(link, replay).await
}

/// The stream's part in place of `job`, when the client reads streams and
/// the session's stream holds every event the job would send.
async fn in_stream(link: &ConnLink, job: &ReplayJob) -> Option<RelayCatchUp> {
    let catch_up = link.catch_up.as_ref()?;
    let from = catch_up.since.checked_add(1)?;
    let to = job.caught_up;
    // Only acknowledgements are worth waiting for.
    if from > to || job.gap_oldest.is_some() || !catch_up.state.reaches_back_to(from) {
        return None;
    }
    let waited = tokio::time::Instant::now();
    while !catch_up.state.covers(from, to) {
        if waited.elapsed() >= ACK_WAIT {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Some(RelayCatchUp::new(catch_up.stream.clone(), from, to))
}

/// A replay as a WebSocket gets it: a `gap` error when history is gone,
/// the journal part, the retained frames, then `caught_up`.
async fn send_replay(link: &ConnLink, job: ReplayJob) -> bool {
    if let Some(oldest) = job.gap_oldest {
        let gap = ServerMessage::Error {
            id: None,
            code: ErrorCode::Gap,
            message: format!("events before {oldest} are no longer retained"),
            oldest: Some(oldest),
        };
        if !publish(link, Utf8Bytes::from(gap.to_json())).await {
            return false;
        }
    }
    if let Some(range) = job.journal {
        let (mut rx, reader) = crate::host::server::connection::replay::read_journal(range);
        while let Some(batch) = rx.recv().await {
            for frame in batch {
                if !publish(link, frame).await {
                    return false;
                }
            }
        }
        if let Some(failed) =
            crate::host::server::connection::replay::journal_read_failure(reader).await
        {
            let close = RelayClosed::new(
                close_code::INTERNAL,
                format!("history cannot be replayed: {failed}"),
            );
            let _ = publish(link, Utf8Bytes::from(close.to_json())).await;
            return false;
        }
    }
    for frame in job.frames {
        let Ok(frame) = Utf8Bytes::try_from(frame) else {
            return false;
        };
        if !publish(link, frame).await {
            return false;
        }
    }
    let caught_up = ServerMessage::CaughtUp { seq: job.caught_up };
    publish(link, Utf8Bytes::from(caught_up.to_json())).await
}
