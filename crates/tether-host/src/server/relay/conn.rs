//! One relay connection: its greeting, its replay and then what the
//! session sends it alone, each published on its own subject (`to.<conn>`).
//! What every connection receives goes out once, from the session's
//! publisher (`live`), never from here.

use tether_broker::async_nats::Client;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::host::participants::ParticipantsMessage;
use crate::host::runtime::{Direct, Joined, ReplayJob};
use crate::protocol::relay::RelayClosed;
use crate::protocol::{ErrorCode, ServerMessage, close_code};

pub(super) struct ConnLink {
    pub client: Client,
    /// Its subject (`to.<conn>`).
    pub to: String,
    /// Its id, told to the dispatch loop when it ends.
    pub conn: String,
    pub ended: mpsc::Sender<String>,
}

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
    // One message, however long (a broker's limit is 1 MiB by default).
    if !publish(link, participants.to_frame()).await {
        return false;
    }
    send_replay(link, replay).await
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
