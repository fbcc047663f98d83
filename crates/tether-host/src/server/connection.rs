//! One task per WebSocket connection: writes what the session task sends
//! it, reads and decodes what the client sends, and keeps the line alive.
//!
//! A [`Handler`] holds everything one connection uses; each source it
//! waits on (shutdown, targeted messages, the broadcast, the socket, the
//! keepalive) has one method, and every write goes through one deadline
//! ([`within_deadline`]).

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{broadcast, mpsc, watch};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tokio_tungstenite::tungstenite::{self, Message, Utf8Bytes};

use super::rate::{self, Bucket};
use super::upgrade::Socket as WebSocket;
use crate::host::agent::sleep_until_some;
use crate::host::participants::ParticipantsMessage;
use crate::host::runtime::{Direct, Joined, ReplayJob, Request, Shared};
use crate::host::session::ParticipantId;
use crate::protocol::{ErrorCode, ServerMessage, close_code, decode_client_message};

mod flood;
pub(super) mod replay;

use flood::FloodTail;

/// Messages longer than this are sent as fragments of this size, so no
/// connection's write buffer grows to the size of its largest message (it
/// keeps the size of its largest frame). Participant lists use it: every
/// connection gets them, all at once in a join storm.
const FRAGMENT: usize = 4 * 1024;
/// The fragment size of every other message (output above all, sent to
/// those watching it): a burst of output (the shell agent sends about
/// 50 KB every 20 ms of a fast stream) goes out in one write system call
/// and reaches the client whole, with nothing to reassemble.
const MESSAGE_FRAGMENT: usize = 64 * 1024;
/// How often a pending write checks whether its queue has filled.
const LAG_CHECK: Duration = Duration::from_millis(50);
/// How many queued frames are written before one flush.
const WRITE_BATCH: usize = 64;
/// A peer that takes longer than this to accept one write is not reading.
const SEND_TIMEOUT: Duration = Duration::from_secs(20);
/// How long the close frame, or the goodbye at shutdown, may take; also
/// how long the peer has to answer our close frame.
const FAREWELL_TIMEOUT: Duration = Duration::from_secs(1);
/// A close frame with code 1000 and no reason, as a server sends it.
const NORMAL_CLOSE: [u8; 4] = [0x88, 0x02, 0x03, 0xe8];

pub struct ConnectionConfig {
    pub keepalive: Duration,
    /// After a ping, a peer that sends no frame at all for this long is
    /// closed with 1008.
    pub pong_timeout: Duration,
    /// Broadcast frames this connection may fall behind before it is cut
    /// off with 1008.
    pub queue_limit: usize,
    /// Sent only the tail of a flood of output (`flood=tail`).
    pub flood_tail: bool,
}

/// Why a connection ends.
enum End {
    /// Send this close frame, then stop.
    Close(u16, String),
    /// The peer sent a Close: answer it, then stop. `with_code` when it
    /// carried a status code (tungstenite has queued its echo).
    PeerClosed { with_code: bool },
    /// The peer is gone: just stop.
    Gone,
}

impl End {
    fn not_reading() -> Self {
        End::Close(close_code::POLICY, "not reading".into())
    }

    fn too_slow() -> Self {
        End::Close(
            close_code::POLICY,
            "too slow: outgoing queue overflowed; reconnect and resume".into(),
        )
    }

    fn session_ended() -> Self {
        End::Close(close_code::GOING_AWAY, "session ended".into())
    }

    fn no_pong(timeout: Duration) -> Self {
        End::Close(
            close_code::POLICY,
            format!("no answer to a ping within {timeout:?}"),
        )
    }

    fn protocol_error(reason: impl Into<String>) -> Self {
        End::Close(CloseCode::Protocol.into(), reason.into())
    }
}

/// What a step of the connection gives: carry on, or end this way.
type Step = Result<(), End>;

/// Runs `write` with the write deadline: a peer that does not take it in
/// [`SEND_TIMEOUT`] is not reading (1008); a failed write means it is gone.
async fn within_deadline(write: impl Future<Output = Result<(), tungstenite::Error>>) -> Step {
    match tokio::time::timeout(SEND_TIMEOUT, write).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(End::Gone),
        Err(_) => Err(End::not_reading()),
    }
}

pub async fn run(
    socket: WebSocket,
    joined: Joined,
    requests: mpsc::Sender<Request>,
    closing: watch::Receiver<bool>,
    config: ConnectionConfig,
) {
    let Joined {
        id,
        greeting,
        participants,
        replay,
        direct,
        broadcast,
    } = joined;
    let mut handler = Handler {
        socket,
        id,
        direct,
        broadcast,
        requests,
        closing,
        flood: config.flood_tail.then(FloodTail::default),
        config,
        bucket: Bucket::new(rate::BURST, rate::PER_SECOND, Instant::now()),
    };
    let end = match handler.greet(greeting, &participants, replay).await {
        Err(end) => end,
        Ok(()) => handler.serve().await,
    };
    handler.finish(end).await;
}

/// One connection and everything it reads from and writes to.
struct Handler {
    socket: WebSocket,
    id: ParticipantId,
    /// Messages for this connection only.
    direct: mpsc::Receiver<Direct>,
    broadcast: broadcast::Receiver<Shared>,
    requests: mpsc::Sender<Request>,
    /// Becomes true when the host shuts down.
    closing: watch::Receiver<bool>,
    config: ConnectionConfig,
    bucket: Bucket,
    /// What of a flood is held back (with `flood=tail` only).
    flood: Option<FloodTail>,
}

impl Handler {
    async fn greet(
        &mut self,
        greeting: Vec<Utf8Bytes>,
        participants: &ParticipantsMessage,
        replay: ReplayJob,
    ) -> Step {
        for frame in greeting {
            self.feed(frame).await?;
        }
        // Straight from the cached entries, in fragments when large: one
        // joiner after another must not each build an O(N) string.
        for message in participants.messages(FRAGMENT) {
            within_deadline(self.socket.feed(message)).await?;
        }
        self.replay(replay).await
    }

    async fn serve(&mut self) -> End {
        let mut keepalive = tokio::time::interval(self.config.keepalive);
        keepalive.tick().await;
        // Armed by a ping when the peer has been silent since the last one;
        // any frame from the peer (a pong or anything else) disarms it.
        let silence = tokio::time::sleep(self.config.pong_timeout);
        tokio::pin!(silence);
        let mut awaiting_life = false;
        loop {
            if *self.closing.borrow() {
                return self.goodbye().await;
            }
            let flood_due = self.flood.as_ref().and_then(FloodTail::due);
            let step = tokio::select! {
                biased;
                _ = self.closing.changed() => return self.goodbye().await,
                item = self.direct.recv() => self.on_direct(item).await,
                item = self.broadcast.recv() => self.on_broadcast(item).await,
                () = sleep_until_some(flood_due.map(tokio::time::Instant::from_std)) => {
                    self.on_flood_due().await
                }
                incoming = self.socket.next() => {
                    awaiting_life = false;
                    self.on_incoming(incoming).await
                }
                () = &mut silence, if awaiting_life => Err(End::no_pong(self.config.pong_timeout)),
                _ = keepalive.tick() => {
                    if !awaiting_life {
                        awaiting_life = true;
                        let deadline = tokio::time::Instant::now() + self.config.pong_timeout;
                        silence.as_mut().reset(deadline);
                    }
                    self.on_keepalive().await
                }
            };
            if let Err(end) = step {
                return end;
            }
        }
    }

    /// Sends or answers the close frame, leaves the session, and lets the
    /// peer read the close frame before the socket is dropped.
    async fn finish(mut self, end: End) {
        let sent_close = match end {
            End::Close(code, reason) => self.send_close(code, reason).await,
            End::PeerClosed { with_code } => {
                self.answer_close(with_code).await;
                false
            }
            End::Gone => false,
        };
        let _ = self.requests.send(Request::Leave { id: self.id }).await;
        if sent_close {
            self.linger().await;
        }
    }

    /// Sends our close frame; whether it went out.
    async fn send_close(&mut self, code: u16, mut reason: String) -> bool {
        // A close frame's reason is at most 123 bytes (RFC 6455 5.5).
        if reason.len() > 123 {
            let mut end = 123;
            while !reason.is_char_boundary(end) {
                end -= 1;
            }
            reason.truncate(end);
        }
        let close = Message::Close(Some(CloseFrame {
            code: CloseCode::from(code),
            reason: Utf8Bytes::from(reason),
        }));
        matches!(
            tokio::time::timeout(FAREWELL_TIMEOUT, self.socket.send(close)).await,
            Ok(Ok(()))
        )
    }

    /// Answers the peer's Close (RFC 6455 section 5.5.1): with its code,
    /// as tungstenite queued it, or with 1000 when it had none
    /// (tungstenite would answer with an empty one, which clients report
    /// as 1005). Nothing else is queued: every step flushes what it
    /// writes, and tungstenite's Close replaced any pong it had queued.
    async fn answer_close(&mut self, with_code: bool) {
        let answer = async {
            if with_code {
                // Writes the queued echo; tungstenite then ends the stream.
                self.socket.flush().await.map_err(std::io::Error::other)
            } else {
                self.socket.get_mut().write_all(&NORMAL_CLOSE).await
            }
        };
        let _ = tokio::time::timeout(FAREWELL_TIMEOUT, answer).await;
    }

    /// After our close frame: waits (briefly) for the peer's, or else
    /// half-closes and drains what the peer still sends, so that dropping
    /// the socket does not reset it before the peer has read our frame.
    async fn linger(&mut self) {
        let socket = &mut self.socket;
        let wait = async {
            while let Some(Ok(message)) = socket.next().await {
                if let Message::Close(_) = message {
                    return;
                }
            }
            let raw = socket.get_mut();
            let _ = raw.shutdown().await;
            let mut discard = [0u8; 1024];
            while let Ok(1..) = raw.read(&mut discard).await {}
        };
        let _ = tokio::time::timeout(FAREWELL_TIMEOUT, wait).await;
    }

    async fn on_keepalive(&mut self) -> Step {
        within_deadline(self.socket.send(Message::Ping(Default::default()))).await
    }

    async fn on_direct(&mut self, item: Option<Direct>) -> Step {
        match item {
            Some(Direct::Frame(frame)) => self.send_now(frame).await,
            Some(Direct::Replay(job)) => self.replay(*job).await,
            Some(Direct::History(job)) => {
                let answer = crate::host::runtime::answer_history(*job).await;
                self.send_now(Utf8Bytes::from(answer)).await
            }
            Some(Direct::Close { code, reason }) => Err(End::Close(code, reason)),
            None => Err(End::Close(
                close_code::POLICY,
                "outgoing queue overflowed; reconnect and resume".into(),
            )),
        }
    }

    /// The end of a flood's gap: what it held goes out.
    async fn on_flood_due(&mut self) -> Step {
        let mut batch = Vec::new();
        if let Some(flood) = &mut self.flood {
            // The timer may wake a hair before the instant it was set for.
            let now = flood
                .due()
                .map_or(Instant::now(), |due| due.max(Instant::now()));
            flood.tick(now, &mut batch);
        }
        self.write_frames(batch).await
    }

    async fn on_broadcast(&mut self, item: Result<Shared, broadcast::error::RecvError>) -> Step {
        match item {
            Ok(frame) => self.write_batch(frame).await,
            Err(broadcast::error::RecvError::Lagged(_)) => Err(End::too_slow()),
            Err(broadcast::error::RecvError::Closed) => Err(End::session_ended()),
        }
    }

    async fn on_incoming(&mut self, incoming: Option<Result<Message, tungstenite::Error>>) -> Step {
        match incoming {
            None => Err(End::Gone),
            Some(Err(error)) => Err(read_failure(error)),
            Some(Ok(Message::Text(text))) => self.on_text(text).await,
            Some(Ok(Message::Binary(_))) => {
                let reply = ServerMessage::error(
                    None,
                    ErrorCode::BadRequest,
                    "binary frames are not part of the protocol; send JSON text frames",
                );
                self.send_now(Utf8Bytes::from(reply.to_json())).await
            }
            Some(Ok(Message::Close(frame))) => Err(End::PeerClosed {
                with_code: frame.is_some(),
            }),
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => Ok(()),
        }
    }

    /// A client message: rate-limited, decoded, passed to the session.
    async fn on_text(&mut self, text: Utf8Bytes) -> Step {
        if !self.bucket.take(Instant::now()) {
            let id = decode_client_message(text.as_str())
                .ok()
                .and_then(|m| m.id().map(str::to_owned));
            let wait = self.bucket.retry_after().as_millis();
            let reply = ServerMessage::error(
                id,
                ErrorCode::RateLimited,
                format!(
                    "too many messages: at most {} a second; retry in {wait} ms",
                    rate::PER_SECOND
                ),
            );
            return self.send_now(Utf8Bytes::from(reply.to_json())).await;
        }
        match decode_client_message(text.as_str()) {
            Ok(message) => {
                let request = Request::Message {
                    id: self.id,
                    message,
                };
                self.requests
                    .send(request)
                    .await
                    .map_err(|_| End::session_ended())
            }
            Err(error) => {
                let reply = Utf8Bytes::from(error.into_message().to_json());
                self.send_now(reply).await
            }
        }
    }

    /// The host is shutting down: what was already sent to this connection
    /// (the agent's exit, cancelled requests) still goes out, then 1001.
    async fn goodbye(&mut self) -> End {
        let drain = async {
            while let Ok(item) = self.direct.try_recv() {
                if let Direct::Frame(frame) = item {
                    self.feed(frame).await?;
                }
            }
            let mut rest = Vec::new();
            while let Ok(frame) = self.broadcast.try_recv() {
                self.take(frame, &mut rest);
            }
            if let Some(flood) = &mut self.flood {
                flood.release(&mut rest);
            }
            for frame in rest {
                self.feed(frame).await?;
            }
            self.socket.flush().await.map_err(|_| End::Gone)
        };
        match tokio::time::timeout(FAREWELL_TIMEOUT, drain).await {
            Ok(Err(end)) => end,
            _ => End::Close(close_code::GOING_AWAY, "host shutting down".into()),
        }
    }

    /// Queues one text message (fragmented when large) without flushing.
    async fn feed(&mut self, text: Utf8Bytes) -> Step {
        for part in parts(text) {
            within_deadline(self.socket.feed(part)).await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Step {
        within_deadline(self.socket.flush()).await
    }

    async fn send_now(&mut self, text: Utf8Bytes) -> Step {
        self.feed(text).await?;
        self.flush().await
    }

    /// A broadcast frame: onto `batch`, unless a flood holds it back.
    fn take(&mut self, frame: Shared, batch: &mut Vec<Utf8Bytes>) {
        match &mut self.flood {
            Some(flood) => flood.offer(frame, Instant::now(), batch),
            None => batch.push(frame.text),
        }
    }

    /// Writes `first` and whatever else is already queued, then flushes once.
    async fn write_batch(&mut self, first: Shared) -> Step {
        let mut batch = Vec::new();
        self.take(first, &mut batch);
        for _ in 1..WRITE_BATCH {
            match self.broadcast.try_recv() {
                Ok(frame) => self.take(frame, &mut batch),
                Err(broadcast::error::TryRecvError::Lagged(_)) => return Err(End::too_slow()),
                Err(_) => break,
            }
        }
        self.write_frames(batch).await
    }

    /// Writes `batch` and flushes once (nothing when it is empty).
    async fn write_frames(&mut self, batch: Vec<Utf8Bytes>) -> Step {
        if batch.is_empty() {
            return Ok(());
        }
        let socket = &mut self.socket;
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
        let (broadcast, queue_limit) = (&self.broadcast, self.config.queue_limit);
        let watch = async {
            loop {
                tokio::time::sleep(LAG_CHECK).await;
                if broadcast.len() >= queue_limit {
                    return;
                }
            }
        };
        tokio::select! {
            written = within_deadline(work) => written,
            () = watch => Err(End::too_slow()),
        }
    }
}

/// A read error: an oversized frame closes with 1009, invalid UTF-8 with
/// 1007, a broken frame or frame sequence with 1002 (RFC 6455 section
/// 7.4.1); a reset or I/O error means the peer is gone.
fn read_failure(error: tungstenite::Error) -> End {
    use tungstenite::error::{CapacityError, Error};
    match error {
        Error::Capacity(CapacityError::MessageTooLong { size, max_size }) => End::Close(
            close_code::TOO_BIG,
            format!("frame of {size} bytes exceeds the {max_size}-byte limit"),
        ),
        Error::Capacity(_) => End::Close(close_code::TOO_BIG, "frame too large".into()),
        Error::Utf8(_) => End::Close(
            CloseCode::Invalid.into(),
            "invalid UTF-8 in a text message".into(),
        ),
        Error::Protocol(error) => protocol_failure(error),
        _ => End::Gone,
    }
}

/// The close for a frame that breaks RFC 6455, with a short reason.
fn protocol_failure(error: tungstenite::error::ProtocolError) -> End {
    use tungstenite::error::ProtocolError as P;
    let reason = match error {
        P::UnmaskedFrameFromClient => "frames from a client must be masked",
        P::NonZeroReservedBits => "reserved bits set without an extension",
        P::UnknownDataFrameType(_) | P::UnknownControlFrameType(_) | P::InvalidOpcode(_) => {
            "unknown opcode"
        }
        P::ControlFrameTooBig => "control frame over 125 bytes",
        P::FragmentedControlFrame => "fragmented control frame",
        P::UnexpectedContinueFrame => "continuation frame with no message to continue",
        P::ExpectedFragment(_) => "new message inside a fragmented message",
        P::InvalidCloseSequence => "malformed close frame",
        // The connection reset, or the peer wrote after its Close.
        _ => return End::Gone,
    };
    End::protocol_error(reason)
}

/// The frames that carry one text message: itself, or fragments.
fn parts(text: Utf8Bytes) -> Vec<Message> {
    let fragment = if ParticipantsMessage::is_list(&text) {
        FRAGMENT
    } else {
        MESSAGE_FRAGMENT
    };
    if text.len() <= fragment {
        return vec![Message::Text(text)];
    }
    let bytes = bytes::Bytes::from(text);
    let count = bytes.len().div_ceil(fragment);
    (0..count)
        .map(|i| {
            let end = ((i + 1) * fragment).min(bytes.len());
            let chunk = bytes.slice(i * fragment..end);
            let opcode = OpCode::Data(if i == 0 { Data::Text } else { Data::Continue });
            Message::Frame(Frame::message(chunk, opcode, i + 1 == count))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{EventKind, EventRecord, OutputStream};

    fn sizes(text: String) -> Vec<usize> {
        parts(Utf8Bytes::from(text))
            .into_iter()
            .map(|m| match m {
                Message::Text(t) => t.len(),
                Message::Frame(f) => f.payload().len(),
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn output_goes_in_large_fragments_and_participant_lists_in_small_ones() {
        let output = ServerMessage::Event(EventRecord {
            seq: 7,
            ts: "t".into(),
            event: EventKind::Output {
                stream: OutputStream::Stdout,
                text: "x".repeat(200 * 1024),
            },
        });
        let output = sizes(output.to_json());
        assert_eq!(output.len(), 4);
        assert!(output[..3].iter().all(|&n| n == MESSAGE_FRAGMENT));

        let entries: Vec<std::sync::Arc<str>> = (0..100)
            .map(|n| format!(r#"{{"id":"p{n}","identity":"someone with a long name {n}"}}"#).into())
            .collect();
        let list = ParticipantsMessage::new(entries, None).to_frame();
        assert!(ParticipantsMessage::is_list(&list));
        let list = sizes(list.to_string());
        assert!(
            list.len() > 1 && list.iter().all(|&n| n <= FRAGMENT),
            "{list:?}"
        );
    }
}
