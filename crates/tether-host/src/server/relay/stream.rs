//! A session's JetStream stream: its events, each at the stream sequence
//! that is its `seq`, so a viewer catches up from the broker with a
//! consumer starting where it left off, and the host is not asked.
//!
//! The host's journal stays the source of truth. Each time the publisher
//! starts, and after any failed publish (a broker restarted on an empty
//! store, a lost stream, a link that dropped), it aligns the stream with
//! the session: what the stream lacks is published again, from memory
//! or, older, from the journal (the broker drops what it already has by message id);
//! a stream that is of another instance of the session (a successor under
//! the same id) or out of step is emptied first. Until it is aligned, no
//! join is sent there: the host replays, as without a stream.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use tether_broker::async_nats::jetstream::{self, stream};
use tether_broker::async_nats::{self, HeaderMap};

use crate::host::journal::JournalReader;
use crate::protocol::relay::EPOCH_HEADER;

/// How much of a session's events the broker keeps, by bytes and age.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamLimits {
    pub max_bytes: u64,
    pub max_age: Duration,
}

impl Default for StreamLimits {
    fn default() -> Self {
        StreamLimits {
            max_bytes: 64 << 20,
            max_age: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// What the stream holds, as its publisher knows it; read by joins.
#[derive(Debug, Default)]
pub struct StreamState {
    /// The oldest seq the stream holds, 0 while it is not aligned.
    first: AtomicU64,
    /// The newest seq the broker acknowledged, in order, since aligning.
    acked: AtomicU64,
}

impl StreamState {
    /// Whether events `from..=to` are all in the stream.
    pub fn covers(&self, from: u64, to: u64) -> bool {
        self.reaches_back_to(from) && self.acked.load(Ordering::Acquire) >= to
    }

    /// Whether the stream is aligned and holds event `from` or began
    /// before it (what follows may still await its acknowledgement).
    pub fn reaches_back_to(&self, from: u64) -> bool {
        let first = self.first.load(Ordering::Acquire);
        first != 0 && first <= from
    }

    pub(super) fn unaligned(&self) {
        self.first.store(0, Ordering::Release);
    }

    pub(super) fn aligned(&self, first: u64, acked: u64) {
        self.acked.store(acked, Ordering::Release);
        self.first.store(first.max(1), Ordering::Release);
    }

    pub(super) fn acknowledged(&self, seq: u64) {
        self.acked.fetch_max(seq, Ordering::AcqRel);
    }
}

/// The seq of an event frame (`{"type":"event","seq":N,…}`, as the
/// session writes them), None for any other frame.
pub fn event_seq(frame: &[u8]) -> Option<u64> {
    let rest = frame.strip_prefix(b"{\"type\":\"event\",\"seq\":")?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()
}

/// The headers an event goes out with: the instance it belongs to, and a
/// message id the broker drops a second copy by.
pub fn event_headers(epoch: &str, seq: u64) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(EPOCH_HEADER, epoch);
    headers.insert("Nats-Msg-Id", format!("{epoch}:{seq}").as_str());
    headers
}

/// One session's stream on the broker.
pub(super) struct SessionStream {
    pub js: jetstream::Context,
    pub name: String,
    pub subject: String,
    pub limits: StreamLimits,
}

type Failed = String;
pub(super) type AckFuture = jetstream::context::PublishAckFuture;

/// Events sent to the stream before the first one's acknowledgement is
/// awaited, when aligning.
const PUTS_AHEAD: usize = 1_000;
/// Events read from the journal at a time, when refilling the stream.
const JOURNAL_CHUNK: u64 = 4_096;
/// The most events refilled from the journal; a stream that lacks more
/// starts again at the oldest event in memory.
const JOURNAL_REFILL_MAX: u64 = 1_000_000;

/// Waits for the broker to keep event `seq` at its own sequence.
pub(super) async fn kept(seq: u64, ack: AckFuture) -> Result<(), Failed> {
    let ack = ack
        .await
        .map_err(|e| format!("event {seq} not kept: {e}"))?;
    if ack.sequence != seq && !ack.duplicate {
        return Err(format!(
            "event {seq} kept at stream sequence {}",
            ack.sequence
        ));
    }
    Ok(())
}

impl SessionStream {
    /// Makes the stream hold the session's events up to `last` of those
    /// in memory (`frames`, from `first`), and what it lacks before them
    /// from the journal (`older`): returns the seq it now starts at.
    /// `epoch` names the instance.
    pub async fn align(
        &self,
        epoch: &str,
        (first, last): (u64, u64),
        frames: &[Bytes],
        older: Option<&JournalReader>,
    ) -> Result<u64, Failed> {
        let (mut stream, held) = self.open().await?;
        let ours = self.last_is_ours(&stream, epoch, held.1).await?;
        let (held_first, held_last) = held;
        // Out of step, of another instance, or ahead of the session: the
        // stream starts again empty.
        let fresh = held_last > 0 && (!ours || held_last > last);
        if fresh {
            self.js
                .delete_stream(&self.name)
                .await
                .map_err(|e| format!("cannot empty the stream {}: {e}", self.name))?;
            (stream, _) = self.open().await?;
        }
        let held_last = if fresh { 0 } else { held_last };
        // What it lacks must follow what it holds; when memory does not
        // reach back that far, the stream starts at memory's oldest.
        let mut from = held_last + 1;
        // A stream that holds the start of what memory lacks (the host fell
        // behind a flood, or the broker was away a while) is refilled from
        // the journal; an empty one starts at memory's oldest, not at the
        // start of a journal that may hold gigabytes.
        if held_last > 0
            && from < first
            && first - from <= JOURNAL_REFILL_MAX
            && let Some(journal) = older
        {
            from = self.refill(epoch, journal, from, first).await?;
        }
        let moved_on = from < first;
        if moved_on {
            stream
                .purge()
                .sequence(first)
                .await
                .map_err(|e| format!("cannot move the stream {} on: {e}", self.name))?;
            from = first;
        }
        // Collected, so the future holds no borrowing closure (it is spawned).
        let missing: Vec<(u64, Bytes)> = (frames.iter().enumerate())
            .map(|(offset, frame)| (first + offset as u64, frame.clone()))
            .filter(|(seq, _)| *seq >= from)
            .collect();
        self.put_all(epoch, missing).await?;
        Ok(if moved_on || held_last == 0 {
            from
        } else {
            held_first
        })
    }

    /// Publishes the journal's events `from..to`, in chunks, each after
    /// the last: returns the seq after the last one published (`from`
    /// when the journal lacks event `from`).
    async fn refill(
        &self,
        epoch: &str,
        journal: &JournalReader,
        mut from: u64,
        to: u64,
    ) -> Result<u64, Failed> {
        while from < to {
            let chunk_end = to.min(from + JOURNAL_CHUNK);
            let reader = journal.clone();
            let read = tokio::task::spawn_blocking(move || reader.frames(from, chunk_end));
            let frames = match read.await {
                Ok(Ok(frames)) => frames,
                Ok(Err(e)) => {
                    tracing::warn!("relay: the journal could not refill the stream: {e}");
                    return Ok(from);
                }
                Err(_) => return Ok(from),
            };
            // Those that follow on from `from`, up to the first missing.
            let next = from;
            let run: Vec<(u64, Bytes)> = (frames.into_iter().enumerate())
                .take_while(|(at, (seq, _))| *seq == next + *at as u64)
                .map(|(_, (seq, frame))| (seq, Bytes::from(frame)))
                .collect();
            from += run.len() as u64;
            self.put_all(epoch, run).await?;
            if from < chunk_end {
                break; // the journal lacks the rest
            }
        }
        Ok(from)
    }

    /// Publishes `events` in order, a bounded number ahead of their
    /// acknowledgements, each checked kept at its own sequence.
    async fn put_all(
        &self,
        epoch: &str,
        events: impl IntoIterator<Item = (u64, Bytes)>,
    ) -> Result<(), Failed> {
        let mut waiting = std::collections::VecDeque::new();
        for (seq, frame) in events {
            if waiting.len() >= PUTS_AHEAD {
                let (seq, ack) = waiting.pop_front().expect("not empty");
                kept(seq, ack).await?;
            }
            waiting.push_back((seq, self.send(epoch, seq, frame).await?));
        }
        for (seq, ack) in waiting {
            kept(seq, ack).await?;
        }
        Ok(())
    }

    /// Publishes one event; the broker's acknowledgement is to come.
    pub async fn send(&self, epoch: &str, seq: u64, frame: Bytes) -> Result<AckFuture, Failed> {
        self.js
            .publish_with_headers(self.subject.clone(), event_headers(epoch, seq), frame)
            .await
            .map_err(|e| format!("publishing event {seq}: {e}"))
    }

    /// The stream, made if missing, and the first and last sequence it
    /// holds (0 for the last when empty).
    async fn open(&self) -> Result<(stream::Stream, (u64, u64)), Failed> {
        let config = stream::Config {
            name: self.name.clone(),
            subjects: vec![self.subject.clone()],
            max_bytes: i64::try_from(self.limits.max_bytes).unwrap_or(i64::MAX),
            max_age: self.limits.max_age,
            storage: stream::StorageType::File,
            discard: stream::DiscardPolicy::Old,
            duplicate_window: Duration::from_secs(120),
            ..Default::default()
        };
        let mut stream = self
            .js
            .get_or_create_stream(config)
            .await
            .map_err(|e| format!("cannot open the stream {}: {e}", self.name))?;
        let state = stream
            .info()
            .await
            .map_err(|e| format!("cannot read the stream {}: {e}", self.name))?
            .state
            .clone();
        Ok((stream, (state.first_sequence, state.last_sequence)))
    }

    /// Whether the stream's last message is this instance's event at its
    /// own sequence (an empty stream is anybody's).
    async fn last_is_ours(
        &self,
        stream: &stream::Stream,
        epoch: &str,
        last: u64,
    ) -> Result<bool, Failed> {
        if last == 0 {
            return Ok(true);
        }
        let message = match stream.get_last_raw_message_by_subject(&self.subject).await {
            Ok(message) => message,
            // Purged past its last message: nothing to disagree with.
            Err(e) if e.kind() == stream::LastRawMessageErrorKind::NoMessageFound => {
                return Ok(true);
            }
            Err(e) => return Err(format!("cannot read the stream {}: {e}", self.name)),
        };
        let same_instance = message
            .headers
            .get(EPOCH_HEADER)
            .is_some_and(|value| value.as_str() == epoch);
        Ok(same_instance && event_seq(&message.payload) == Some(message.sequence))
    }
}

/// A broker context for the host's streams: a publish not acknowledged
/// in 5 s has failed (the stream is aligned again).
pub(super) fn context(client: async_nats::Client) -> jetstream::Context {
    jetstream::ContextBuilder::new()
        .ack_timeout(Duration::from_secs(5))
        .build(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_frames_are_told_by_their_start() {
        assert_eq!(
            event_seq(br#"{"type":"event","seq":42,"ts":"t","event":{}}"#),
            Some(42)
        );
        assert_eq!(
            event_seq(br#"{"type":"participants","participants":[]}"#),
            None
        );
        assert_eq!(event_seq(br#"{"type":"event","seq":"x"}"#), None);
    }

    #[test]
    fn a_stream_covers_only_once_aligned() {
        let state = StreamState::default();
        assert!(!state.covers(1, 1));
        state.aligned(5, 9);
        assert!(state.covers(5, 9));
        assert!(!state.covers(4, 9), "before its first");
        assert!(!state.covers(5, 10), "not yet acknowledged");
        state.acknowledged(10);
        assert!(state.covers(6, 10));
        state.unaligned();
        assert!(!state.covers(6, 10));
    }
}
