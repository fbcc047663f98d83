//! What the session task hands to the connections: the frames they all
//! receive, what one of them receives alone, and what a new one starts
//! with.

use bytes::Bytes;
use tokio::sync::{broadcast, mpsc};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::HistoryJob;
use crate::host::journal::{JournalCursor, JournalReader};
use crate::host::participants::ParticipantsMessage;
use crate::host::session::{ParticipantId, SeqRange};

/// A frame every connection of a session receives.
#[derive(Debug, Clone)]
pub struct Shared {
    pub text: Utf8Bytes,
    /// The seq of an `output` event: a connection that asked for the tail
    /// of floods may skip it (`server::connection::flood`).
    pub output: Option<u64>,
}

/// What a connection receives apart from the broadcast.
pub enum Direct {
    Frame(Utf8Bytes),
    Replay(Box<ReplayJob>),
    /// A `history` request to answer (off the async threads).
    History(Box<HistoryJob>),
    Close {
        code: u16,
        reason: String,
    },
}

/// A relay publisher's start: the broadcast from now on, and the events
/// before it that are still in memory.
pub struct Feed {
    pub broadcast: broadcast::Receiver<Shared>,
    /// The session instance (a successor under the same id has another).
    pub epoch: String,
    /// Events `first_seq..=last_seq`, in order.
    pub frames: Vec<Bytes>,
    pub first_seq: u64,
    pub last_seq: u64,
    /// The events after `since` older than `first_seq`, on disk.
    pub journal: Option<JournalReader>,
}

/// The part of a replay read from the journal.
pub struct JournalRange {
    pub cursor: JournalCursor,
    pub seqs: SeqRange,
}

/// A replay to carry out on one connection: journal part, memory part,
/// then `caught_up`.
pub struct ReplayJob {
    pub journal: Option<JournalRange>,
    pub frames: Vec<Bytes>,
    pub caught_up: u64,
    pub gap_oldest: Option<u64>,
}

/// Everything a new connection needs.
pub struct Joined {
    pub id: ParticipantId,
    /// `ready` and `role`.
    pub greeting: Vec<Utf8Bytes>,
    /// The `participants` message that follows them.
    pub participants: ParticipantsMessage,
    pub replay: ReplayJob,
    pub direct: mpsc::Receiver<Direct>,
    pub broadcast: broadcast::Receiver<Shared>,
}
