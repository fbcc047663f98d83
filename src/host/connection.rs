//! One task per WebSocket connection: writes what the session task sends
//! it, reads and decodes what the client sends, and keeps the line alive.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::{broadcast, mpsc, watch};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tokio_tungstenite::tungstenite::{self, Message, Utf8Bytes};

use super::rate::{self, Bucket};
use super::runtime::{
    Direct, Joined, PARTICIPANTS_CLOSE, PARTICIPANTS_OPEN, ReplayJob, Request, participants_frame,
};
use super::session::ParticipantId;
use super::upgrade::Socket as WebSocket;
use crate::protocol::{ClientMessage, ErrorCode, ServerMessage, close_code, decode_client_message};

/// Messages longer than this are sent as fragments of this size, so no
/// connection's write buffer grows to the size of its largest message.
const FRAGMENT: usize = 4 * 1024;
/// How often a pending write checks whether its queue has filled.
const LAG_CHECK: Duration = Duration::from_millis(50);
/// How many queued frames are written before one flush.
const WRITE_BATCH: usize = 64;
/// A peer that takes longer than this to accept one batch is not reading.
const SEND_TIMEOUT: Duration = Duration::from_secs(20);

pub struct ConnectionConfig {
    pub keepalive: Duration,
    /// Broadcast frames this connection may fall behind before it is cut
    /// off with 1008.
    pub queue_limit: usize,
}

enum End {
    /// Send this close frame, then stop.
    Close(u16, String),
    /// The peer is gone or broken: just stop.
    Gone,
}

pub async fn run(
    mut socket: WebSocket,
    joined: Joined,
    requests: mpsc::Sender<Request>,
    mut closing: watch::Receiver<bool>,
    config: ConnectionConfig,
) {
    let Joined {
        id,
        greeting,
        participants,
        replay,
        mut direct,
        mut broadcast,
    } = joined;
    let end = match greet(&mut socket, greeting, &participants, replay).await {
        Err(end) => end,
        Ok(()) => {
            serve(
                &mut socket,
                id,
                &mut direct,
                &mut broadcast,
                &requests,
                &mut closing,
                &config,
            )
            .await
        }
    };
    if let End::Close(code, reason) = end {
        let close = Message::Close(Some(CloseFrame {
            code: CloseCode::from(code),
            reason: Utf8Bytes::from(reason),
        }));
        let _ = tokio::time::timeout(Duration::from_secs(1), socket.send(close)).await;
    }
    let _ = requests.send(Request::Leave { id }).await;
}

async fn greet(
    socket: &mut WebSocket,
    greeting: Vec<Utf8Bytes>,
    participants: &[Arc<str>],
    replay: ReplayJob,
) -> Result<(), End> {
    for frame in greeting {
        feed(socket, frame).await?;
    }
    feed_participants(socket, participants).await?;
    run_replay(socket, replay).await
}

/// Writes a `participants` message straight from its entries, in
/// fragments of about [`FRAGMENT`] bytes: with N participants the list is
/// O(N), and one joiner after another would otherwise each build (and
/// leave fragmented in the heap) a string that large.
async fn feed_participants(socket: &mut WebSocket, entries: &[Arc<str>]) -> Result<(), End> {
    let total: usize = PARTICIPANTS_OPEN.len()
        + PARTICIPANTS_CLOSE.len()
        + entries.iter().map(|e| e.len() + 1).sum::<usize>();
    if total <= FRAGMENT {
        return feed(socket, participants_frame(entries)).await;
    }
    let pieces = std::iter::once(PARTICIPANTS_OPEN)
        .chain(
            entries
                .iter()
                .enumerate()
                .flat_map(|(i, e)| [if i > 0 { "," } else { "" }, e.as_ref()]),
        )
        .chain(std::iter::once(PARTICIPANTS_CLOSE));
    let mut buffer = Vec::with_capacity(FRAGMENT * 2);
    let mut first = true;
    for piece in pieces {
        buffer.extend_from_slice(piece.as_bytes());
        if buffer.len() >= FRAGMENT {
            let opcode = OpCode::Data(if first { Data::Text } else { Data::Continue });
            first = false;
            let chunk = bytes::Bytes::copy_from_slice(&buffer);
            buffer.clear();
            feed_frame(socket, Message::Frame(Frame::message(chunk, opcode, false))).await?;
        }
    }
    let last = Frame::message(
        bytes::Bytes::copy_from_slice(&buffer),
        OpCode::Data(Data::Continue),
        true,
    );
    feed_frame(socket, Message::Frame(last)).await
}

async fn feed_frame(socket: &mut WebSocket, message: Message) -> Result<(), End> {
    match tokio::time::timeout(SEND_TIMEOUT, socket.feed(message)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(End::Gone),
        Err(_) => Err(End::Close(close_code::POLICY, "not reading".into())),
    }
}

#[allow(clippy::too_many_arguments)]
async fn serve(
    socket: &mut WebSocket,
    id: ParticipantId,
    direct: &mut mpsc::Receiver<Direct>,
    broadcast: &mut broadcast::Receiver<Utf8Bytes>,
    requests: &mpsc::Sender<Request>,
    closing: &mut watch::Receiver<bool>,
    config: &ConnectionConfig,
) -> End {
    let mut keepalive = tokio::time::interval(config.keepalive);
    keepalive.tick().await;
    let mut bucket = Bucket::new(rate::BURST, rate::PER_SECOND, std::time::Instant::now());
    loop {
        if *closing.borrow() {
            return goodbye(socket, direct, broadcast).await;
        }
        tokio::select! {
            biased;
            _ = closing.changed() => {
                return goodbye(socket, direct, broadcast).await;
            }
            item = direct.recv() => match item {
                Some(Direct::Frame(frame)) => {
                    if let Err(end) = send_now(socket, frame).await { return end; }
                }
                Some(Direct::Replay(job)) => {
                    if let Err(end) = run_replay(socket, *job).await { return end; }
                }
                Some(Direct::Close { code, reason }) => return End::Close(code, reason),
                None => return End::Close(close_code::POLICY, "outgoing queue overflowed; reconnect and resume".into()),
            },
            item = broadcast.recv() => match item {
                Ok(frame) => {
                    if let Err(end) = write_batch(socket, frame, broadcast, config.queue_limit).await { return end; }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    return End::Close(close_code::POLICY, "too slow: outgoing queue overflowed; reconnect and resume".into());
                }
                Err(broadcast::error::RecvError::Closed) => {
                    return End::Close(close_code::GOING_AWAY, "session ended".into());
                }
            },
            incoming = socket.next() => match incoming {
                None => return End::Gone,
                Some(Err(error)) => return read_failure(error),
                Some(Ok(Message::Text(text))) => {
                    if !bucket.take(std::time::Instant::now()) {
                        let id = decode_client_message(text.as_str()).ok().and_then(|m| m.id().map(str::to_owned));
                        let wait = bucket.retry_after().as_millis();
                        let reply = ServerMessage::error(id, ErrorCode::RateLimited, format!("too many messages: at most {} a second; retry in {wait} ms", rate::PER_SECOND));
                        if let Err(end) = send_now(socket, Utf8Bytes::from(reply.to_json())).await { return end; }
                        continue;
                    }
                    match decode_client_message(text.as_str()) {
                        Ok(message) => {
                            if let Err(end) = forward(requests, id, message).await { return end; }
                        }
                        Err(error) => {
                            let reply = Utf8Bytes::from(error.into_message().to_json());
                            if let Err(end) = send_now(socket, reply).await { return end; }
                        }
                    }
                }
                Some(Ok(Message::Binary(_))) => {
                    let reply = ServerMessage::error(None, ErrorCode::BadRequest, "binary frames are not part of the protocol; send JSON text frames");
                    if let Err(end) = send_now(socket, Utf8Bytes::from(reply.to_json())).await { return end; }
                }
                Some(Ok(Message::Close(_))) => return End::Gone,
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
            },
            _ = keepalive.tick() => {
                let ping = tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Ping(Default::default())));
                match ping.await {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => return End::Gone,
                    Err(_) => return End::Close(close_code::POLICY, "not reading".into()),
                }
            }
        }
    }
}

/// The host is shutting down: what was already sent to this connection
/// (the agent's exit, cancelled requests) still goes out, then 1001.
async fn goodbye(
    socket: &mut WebSocket,
    direct: &mut mpsc::Receiver<Direct>,
    broadcast: &mut broadcast::Receiver<Utf8Bytes>,
) -> End {
    let drain = async {
        while let Ok(item) = direct.try_recv() {
            if let Direct::Frame(frame) = item {
                feed(socket, frame).await?;
            }
        }
        while let Ok(frame) = broadcast.try_recv() {
            feed(socket, frame).await?;
        }
        socket.flush().await.map_err(|_| End::Gone)
    };
    match tokio::time::timeout(Duration::from_secs(1), drain).await {
        Ok(Err(end)) => end,
        _ => End::Close(close_code::GOING_AWAY, "host shutting down".into()),
    }
}

async fn forward(
    requests: &mpsc::Sender<Request>,
    id: ParticipantId,
    message: ClientMessage,
) -> Result<(), End> {
    requests
        .send(Request::Message { id, message })
        .await
        .map_err(|_| End::Close(close_code::GOING_AWAY, "session ended".into()))
}

/// A read error: an oversized frame closes with 1009, anything else means
/// the peer is gone.
fn read_failure(error: tungstenite::Error) -> End {
    use tungstenite::error::{CapacityError, Error};
    match error {
        Error::Capacity(CapacityError::MessageTooLong { size, max_size }) => End::Close(
            close_code::TOO_BIG,
            format!("frame of {size} bytes exceeds the {max_size}-byte limit"),
        ),
        Error::Capacity(_) => End::Close(close_code::TOO_BIG, "frame too large".into()),
        _ => End::Gone,
    }
}

/// The frames that carry one text message: itself, or fragments.
fn parts(text: Utf8Bytes) -> Vec<Message> {
    if text.len() <= FRAGMENT {
        return vec![Message::Text(text)];
    }
    let bytes = bytes::Bytes::from(text);
    let count = bytes.len().div_ceil(FRAGMENT);
    (0..count)
        .map(|i| {
            let chunk = bytes.slice(i * FRAGMENT..((i + 1) * FRAGMENT).min(bytes.len()));
            let opcode = OpCode::Data(if i == 0 { Data::Text } else { Data::Continue });
            Message::Frame(Frame::message(chunk, opcode, i + 1 == count))
        })
        .collect()
}

async fn send_now(socket: &mut WebSocket, text: Utf8Bytes) -> Result<(), End> {
    feed(socket, text).await?;
    match tokio::time::timeout(SEND_TIMEOUT, socket.flush()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(End::Gone),
        Err(_) => Err(End::Close(close_code::POLICY, "not reading".into())),
    }
}

/// Writes `first` and whatever else is already queued, then flushes once.
async fn write_batch(
    socket: &mut WebSocket,
    first: Utf8Bytes,
    broadcast: &mut broadcast::Receiver<Utf8Bytes>,
    queue_limit: usize,
) -> Result<(), End> {
    let too_slow = || {
        End::Close(
            close_code::POLICY,
            "too slow: outgoing queue overflowed; reconnect and resume".into(),
        )
    };
    let mut batch = vec![first];
    while batch.len() < WRITE_BATCH {
        match broadcast.try_recv() {
            Ok(frame) => batch.push(frame),
            Err(broadcast::error::TryRecvError::Lagged(_)) => return Err(too_slow()),
            Err(_) => break,
        }
    }
    let work = async {
        for frame in batch {
            for part in parts(frame) {
                socket.feed(part).await?;
            }
        }
        socket.flush().await
    };
    // A peer that stops reading leaves this write pending; meanwhile its
    // queue fills. Cut it off as soon as it is full rather than letting
    // the ring overwrite what it has not had.
    let watch = async {
        loop {
            tokio::time::sleep(LAG_CHECK).await;
            if broadcast.len() >= queue_limit {
                return;
            }
        }
    };
    tokio::select! {
        written = tokio::time::timeout(SEND_TIMEOUT, work) => match written {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(End::Gone),
            Err(_) => Err(End::Close(close_code::POLICY, "not reading".into())),
        },
        () = watch => Err(too_slow()),
    }
}

/// Sends a replay: a `gap` error when history is gone, the journal part,
/// the retained frames, then `caught_up`.
async fn run_replay(socket: &mut WebSocket, job: ReplayJob) -> Result<(), End> {
    if let Some(oldest) = job.gap_oldest {
        let gap = ServerMessage::Error {
            id: None,
            code: ErrorCode::Gap,
            message: format!("events before {oldest} are no longer retained"),
            oldest: Some(oldest),
        };
        feed(socket, Utf8Bytes::from(gap.to_json())).await?;
    }
    if let Some((cursor, after, before)) = job.journal {
        let (tx, mut rx) = mpsc::channel::<Vec<Utf8Bytes>>(4);
        let reader = tokio::task::spawn_blocking(move || {
            let mut batch = Vec::with_capacity(256);
            let result = cursor.read_range(after, before, |_, line| {
                match Utf8Bytes::try_from(line) {
                    Ok(frame) => batch.push(frame),
                    Err(_) => return true,
                }
                if batch.len() == 256 {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(256));
                    return tx.blocking_send(full).is_ok();
                }
                true
            });
            if !batch.is_empty() {
                let _ = tx.blocking_send(batch);
            }
            result
        });
        while let Some(batch) = rx.recv().await {
            for frame in batch {
                feed(socket, frame).await?;
            }
        }
        match reader.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!("journal replay failed: {e:#}"),
            Err(e) => tracing::error!("journal replay task failed: {e}"),
        }
    }
    for frame in job.frames {
        let frame = Utf8Bytes::try_from(frame).map_err(|_| End::Gone)?;
        feed(socket, frame).await?;
    }
    let caught_up = ServerMessage::CaughtUp { seq: job.caught_up };
    feed(socket, Utf8Bytes::from(caught_up.to_json())).await?;
    match tokio::time::timeout(SEND_TIMEOUT, socket.flush()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(End::Gone),
        Err(_) => Err(End::Close(close_code::POLICY, "not reading".into())),
    }
}

async fn feed(socket: &mut WebSocket, text: Utf8Bytes) -> Result<(), End> {
    for part in parts(text) {
        feed_frame(socket, part).await?;
    }
    Ok(())
}
