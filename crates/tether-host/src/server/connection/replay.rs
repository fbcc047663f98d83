//! Replays on one connection: the journal part read off the async threads,
//! then the retained frames, then `caught_up`.

use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::{End, Handler, Step};
use crate::host::runtime::{JournalRange, ReplayJob};
use crate::protocol::{ErrorCode, ServerMessage, close_code};

/// Journal frames read per batch while replaying.
const JOURNAL_BATCH: usize = 256;

impl Handler {
    /// Sends a replay: a `gap` error when history is gone, the journal part,
    /// the retained frames, then `caught_up`.
    pub(super) async fn replay(&mut self, job: ReplayJob) -> Step {
        if let Some(oldest) = job.gap_oldest {
            let gap = ServerMessage::Error {
                id: None,
                code: ErrorCode::Gap,
                message: format!("events before {oldest} are no longer retained"),
                oldest: Some(oldest),
            };
            self.feed(Utf8Bytes::from(gap.to_json())).await?;
        }
        if let Some(range) = job.journal {
            self.replay_journal(range).await?;
        }
        for frame in job.frames {
            let frame = Utf8Bytes::try_from(frame).map_err(|_| End::Gone)?;
            self.feed(frame).await?;
        }
        let caught_up = ServerMessage::CaughtUp { seq: job.caught_up };
        self.feed(Utf8Bytes::from(caught_up.to_json())).await?;
        self.flush().await
    }

    /// The journal part of a replay, read off the async threads in batches.
    async fn replay_journal(&mut self, range: JournalRange) -> Step {
        let (mut rx, reader) = read_journal(range);
        while let Some(batch) = rx.recv().await {
            for frame in batch {
                self.feed(frame).await?;
            }
        }
        // A replay that cannot read the journal (a line that changed on
        // disk, say) must not go on as if nothing were missing: the client
        // is told why, and its history here has a hole it cannot fill.
        match journal_read_failure(reader).await {
            None => Ok(()),
            Some(failed) => Err(End::Close(
                close_code::INTERNAL,
                format!("history cannot be replayed: {failed}"),
            )),
        }
    }
}

/// The frames of `range`, read off the async threads in batches (every
/// kind of connection replays with it).
pub(crate) fn read_journal(
    range: JournalRange,
) -> (
    mpsc::Receiver<Vec<Utf8Bytes>>,
    tokio::task::JoinHandle<crate::host::error::Result<()>>,
) {
    let (tx, rx) = mpsc::channel::<Vec<Utf8Bytes>>(4);
    let reader = tokio::task::spawn_blocking(move || {
        let mut batch = Vec::with_capacity(JOURNAL_BATCH);
        let result = range
            .cursor
            .read_range(range.seqs.after, range.seqs.before, |_, line| {
                match Utf8Bytes::try_from(line) {
                    Ok(frame) => batch.push(frame),
                    Err(_) => return true,
                }
                if batch.len() == JOURNAL_BATCH {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(JOURNAL_BATCH));
                    return tx.blocking_send(full).is_ok();
                }
                true
            });
        if !batch.is_empty() {
            let _ = tx.blocking_send(batch);
        }
        result
    });
    (rx, reader)
}

/// Why the journal reader failed, once its frames are all taken (logged).
pub(crate) async fn journal_read_failure(
    reader: tokio::task::JoinHandle<crate::host::error::Result<()>>,
) -> Option<String> {
    let failed = match reader.await {
        Ok(Ok(())) => return None,
        Ok(Err(e)) => e.to_string(),
        Err(e) => format!("the journal replay task failed: {e}"),
    };
    tracing::error!("journal replay failed: {failed}");
    Some(failed)
}
