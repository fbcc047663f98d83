//! A running command's output, held back briefly while it streams fast, so
//! that 100,000 lines in three seconds reach each watcher as a few hundred
//! events rather than thousands: every event is a write to every
//! connection and a message every client decodes. Output that trickles in
//! goes out at once; a stream sends at most one event per [`GAP`].

use std::time::{Duration, Instant};

use crate::protocol::OutputStream;

/// The longest a chunk of a fast stream is held back: well under what a
/// viewer drawing 30 frames a second would notice.
pub const GAP: Duration = Duration::from_millis(20);
/// Output held back beyond this goes out without waiting for the gap.
const MAX_HELD: usize = 256 * 1024;

#[derive(Debug, Default)]
pub struct OutputBatch {
    held: Option<(OutputStream, String)>,
    last_sent: Option<Instant>,
}

impl OutputBatch {
    /// Takes a chunk read at `now`; returns what is to be sent now, in
    /// order (output of the other stream held so far goes first).
    pub fn push(
        &mut self,
        stream: OutputStream,
        text: String,
        now: Instant,
    ) -> Vec<(OutputStream, String)> {
        let mut out = Vec::new();
        match &mut self.held {
            Some((held_stream, held)) if *held_stream == stream => held.push_str(&text),
            _ => {
                out.extend(self.held.take());
                self.held = Some((stream, text));
            }
        }
        let quiet = self.last_sent.is_none_or(|at| now >= at + GAP);
        let large = self.held.as_ref().is_some_and(|(_, t)| t.len() >= MAX_HELD);
        if quiet || large {
            out.extend(self.take(now));
        }
        out
    }

    /// When the output held back is due, if there is any.
    pub fn due(&self) -> Option<Instant> {
        self.held.as_ref().map(|_| match self.last_sent {
            Some(at) => at + GAP,
            None => Instant::now(),
        })
    }

    /// Everything held back, to be sent now.
    pub fn take(&mut self, now: Instant) -> Option<(OutputStream, String)> {
        let held = self.held.take()?;
        self.last_sent = Some(now);
        Some(held)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(text: &str) -> (OutputStream, String) {
        (OutputStream::Stdout, text.to_owned())
    }

    #[test]
    fn output_that_trickles_in_goes_out_at_once() {
        let mut batch = OutputBatch::default();
        let t0 = Instant::now();
        assert_eq!(
            batch.push(OutputStream::Stdout, "a".into(), t0),
            [chunk("a")]
        );
        assert_eq!(batch.due(), None);
        let later = t0 + GAP * 2;
        assert_eq!(
            batch.push(OutputStream::Stdout, "b".into(), later),
            [chunk("b")]
        );
    }

    #[test]
    fn a_fast_stream_is_sent_once_per_gap() {
        let mut batch = OutputBatch::default();
        let t0 = Instant::now();
        assert_eq!(batch.push(OutputStream::Stdout, "1".into(), t0).len(), 1);
        for (n, ms) in [(2, 1), (3, 5), (4, 19)] {
            let at = t0 + Duration::from_millis(ms);
            assert!(
                batch
                    .push(OutputStream::Stdout, n.to_string(), at)
                    .is_empty()
            );
        }
        assert_eq!(batch.due(), Some(t0 + GAP));
        assert_eq!(batch.take(t0 + GAP), Some(chunk("234")));
        assert_eq!(batch.due(), None);
        // The next chunk, just after that send, waits for the next gap.
        let soon = t0 + GAP + Duration::from_millis(1);
        assert!(
            batch
                .push(OutputStream::Stdout, "5".into(), soon)
                .is_empty()
        );
        assert_eq!(batch.due(), Some(t0 + GAP * 2));
    }

    #[test]
    fn the_other_stream_flushes_what_is_held_first() {
        let mut batch = OutputBatch::default();
        let t0 = Instant::now();
        batch.push(OutputStream::Stdout, "out1".into(), t0);
        let at = t0 + Duration::from_millis(1);
        assert!(
            batch
                .push(OutputStream::Stdout, "out2".into(), at)
                .is_empty()
        );
        let sent = batch.push(OutputStream::Stderr, "err".into(), at);
        assert_eq!(sent, [chunk("out2")]);
        assert_eq!(batch.take(at), Some((OutputStream::Stderr, "err".into())));
    }

    #[test]
    fn a_large_batch_does_not_wait_for_the_gap() {
        let mut batch = OutputBatch::default();
        let t0 = Instant::now();
        batch.push(OutputStream::Stdout, "x".into(), t0);
        let big = "y".repeat(MAX_HELD);
        let sent = batch.push(OutputStream::Stdout, big.clone(), t0);
        assert_eq!(sent, [chunk(&big)]);
    }
}
