//! The tail of a flood, for a connection that asked for it (`flood=tail`).
//!
//! A terminal shows the end of a flood of output, at a few frames a second:
//! a TUI that receives, decodes and keeps every byte of 100,000 lines
//! spends most of its CPU on lines nobody sees (docs/performance.md,
//! "Read-only viewers"). A burst of output goes whole up to [`FREE_BYTES`]
//! (most commands' whole output, which the client then holds in one
//! piece); beyond that such a connection is sent at most one batch of
//! `output` events per [`FLOOD_GAP`]: what comes within the gap is held,
//! and when the gap ends only the newest held events go (at least
//! [`TAIL_BYTES`] of them), after a `skipped{from,to}` naming those that
//! did not. Nothing is lost: the skipped events stay in the history,
//! which the client pages on demand.
//! Anything that is not output (a permission request, a turn's end, a
//! participants list) first sends what is held, so order holds, and only
//! `output` is ever skipped.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::host::runtime::Shared;
use crate::protocol::ServerMessage;

/// At most one batch of output per this long during a flood (a viewer
/// draws a flood at 10 frames a second).
pub const FLOOD_GAP: Duration = Duration::from_millis(100);
/// The newest output held is sent whole up to at least this many bytes
/// of frames: more than a tall terminal's screen of lines.
pub const TAIL_BYTES: usize = 16 << 10;
/// Bytes of output frames a burst sends whole before its tail alone goes
/// (about 4,000 lines of 60 characters).
pub const FREE_BYTES: usize = 256 << 10;
/// Output after this long a pause starts a new burst.
pub const BURST_PAUSE: Duration = Duration::from_millis(500);

/// One connection's flood state; pure, driven with the time.
#[derive(Debug, Default)]
pub struct FloodTail {
    /// Output events held back, oldest first.
    held: VecDeque<(u64, Utf8Bytes)>,
    held_bytes: usize,
    /// Held events dropped since the last release: `from..=to`.
    skipped: Option<(u64, u64)>,
    /// Output that comes before this is held.
    quiet_until: Option<Instant>,
    /// Bytes of output frames of this burst so far, and when it last had
    /// some.
    burst_bytes: usize,
    last_output: Option<Instant>,
}

impl FloodTail {
    /// Takes one broadcast frame; what is to be written now is pushed
    /// onto `out`.
    pub fn offer(&mut self, frame: Shared, now: Instant, out: &mut Vec<Utf8Bytes>) {
        let Some(seq) = frame.output else {
            self.release(out);
            out.push(frame.text);
            return;
        };
        // What is due goes first, when the timer has not had its turn yet.
        self.tick(now, out);
        if self
            .last_output
            .is_none_or(|last| now >= last + BURST_PAUSE)
        {
            self.burst_bytes = 0;
        }
        self.last_output = Some(now);
        self.burst_bytes += frame.text.len();
        let free = self.burst_bytes <= FREE_BYTES;
        if self.held.is_empty() && (free || self.quiet_until.is_none_or(|until| now >= until)) {
            out.push(frame.text);
            self.quiet_until = Some(now + FLOOD_GAP);
            return;
        }
        self.held_bytes += frame.text.len();
        self.held.push_back((seq, frame.text));
        while self.held.len() > 1 && self.held_bytes - self.held[0].1.len() >= TAIL_BYTES {
            let (seq, text) = self.held.pop_front().expect("more than one held");
            self.held_bytes -= text.len();
            self.skipped = Some(self.skipped.map_or((seq, seq), |(from, _)| (from, seq)));
        }
    }

    /// When held output is to be sent.
    pub fn due(&self) -> Option<Instant> {
        if self.held.is_empty() {
            return None;
        }
        self.quiet_until
    }

    /// The gap ended: sends what is held, and holds what comes next for
    /// another gap.
    pub fn tick(&mut self, now: Instant, out: &mut Vec<Utf8Bytes>) {
        if self.due().is_some_and(|due| now >= due) {
            self.release(out);
            self.quiet_until = Some(now + FLOOD_GAP);
        }
    }

    /// Sends everything held: the `skipped` message first, then the tail.
    pub fn release(&mut self, out: &mut Vec<Utf8Bytes>) {
        if let Some((from, to)) = self.skipped.take() {
            out.push(Utf8Bytes::from(
                ServerMessage::Skipped { from, to }.to_json(),
            ));
        }
        out.extend(self.held.drain(..).map(|(_, text)| text));
        self.held_bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(seq: u64, bytes: usize) -> Shared {
        let text = format!("{seq:>8}{}", "x".repeat(bytes - 8));
        Shared {
            text: Utf8Bytes::from(text),
            output: Some(seq),
        }
    }

    fn other(text: &str) -> Shared {
        Shared {
            text: Utf8Bytes::from(text.to_owned()),
            output: None,
        }
    }

    /// What `out` holds: the seq of each output event, other messages whole.
    fn said(out: &[Utf8Bytes]) -> Vec<String> {
        out.iter()
            .map(|t| {
                let head = t.as_str().get(..8).map(str::trim);
                match head.filter(|h| h.parse::<u64>().is_ok()) {
                    Some(seq) => seq.to_owned(),
                    None => t.as_str().to_owned(),
                }
            })
            .collect()
    }

    #[test]
    fn output_that_trickles_goes_at_once() {
        let (mut flood, t0, mut out) = (FloodTail::default(), Instant::now(), Vec::new());
        for n in 0..5u64 {
            flood.offer(
                output(n + 1, 100),
                t0 + FLOOD_GAP * (n as u32 + 1),
                &mut out,
            );
        }
        assert_eq!(said(&out), ["1", "2", "3", "4", "5"]);
        assert_eq!(flood.due(), None);
    }

    /// A flood state past its free bytes, at `t0`, the last event sent
    /// being seq 0.
    fn flooding(t0: Instant) -> FloodTail {
        let mut flood = FloodTail::default();
        flood.offer(output(0, FREE_BYTES + 1), t0 - FLOOD_GAP, &mut Vec::new());
        flood
    }

    #[test]
    fn a_burst_goes_whole_up_to_its_free_bytes() {
        let (mut flood, t0, mut out) = (FloodTail::default(), Instant::now(), Vec::new());
        let events = FREE_BYTES / 40_000;
        for seq in 1..=events as u64 + 3 {
            flood.offer(output(seq, 40_000), t0, &mut out);
        }
        assert_eq!(out.len(), events, "whole up to {FREE_BYTES} bytes");
        out.clear();
        flood.tick(t0 + FLOOD_GAP, &mut out);
        assert_eq!(
            out.len(),
            2,
            "then the tail, after a skipped: {:?}",
            said(&out)
        );
        // A pause: the next burst goes whole again.
        let later = t0 + FLOOD_GAP + BURST_PAUSE;
        out.clear();
        for seq in 100..103 {
            flood.offer(output(seq, 40_000), later, &mut out);
        }
        assert_eq!(said(&out), ["100", "101", "102"]);
    }

    #[test]
    fn a_flood_sends_its_newest_output_once_a_gap_after_a_skipped() {
        let (t0, mut out) = (Instant::now(), Vec::new());
        let mut flood = flooding(t0);
        let step = Duration::from_millis(20);
        for n in 0..5u32 {
            flood.offer(output(u64::from(n) + 1, 40_000), t0 + step * n, &mut out);
        }
        assert_eq!(said(&out), ["1"], "the first goes at once, the rest wait");
        assert_eq!(flood.due(), Some(t0 + FLOOD_GAP));
        flood.tick(t0 + FLOOD_GAP - step, &mut out);
        assert_eq!(out.len(), 1, "not before the gap ends");
        flood.tick(t0 + FLOOD_GAP, &mut out);
        assert_eq!(
            said(&out),
            ["1", r#"{"type":"skipped","from":2,"to":4}"#, "5"]
        );
        assert_eq!(flood.due(), None);
    }

    #[test]
    fn output_after_the_gap_sends_what_is_held_without_the_timer() {
        let (t0, mut out) = (Instant::now(), Vec::new());
        let mut flood = flooding(t0);
        flood.offer(output(1, 40_000), t0, &mut out);
        out.clear();
        flood.offer(output(2, 40_000), t0 + Duration::from_millis(10), &mut out);
        flood.offer(output(3, 40_000), t0 + Duration::from_millis(20), &mut out);
        assert!(out.is_empty(), "held within the gap");
        // The timer did not fire (a busy connection): the next output does.
        flood.offer(output(4, 40_000), t0 + FLOOD_GAP, &mut out);
        assert_eq!(
            said(&out),
            [r#"{"type":"skipped","from":2,"to":2}"#, "3"],
            "what was due goes; the new event waits for the next gap"
        );
        assert_eq!(flood.due(), Some(t0 + FLOOD_GAP * 2));
    }

    #[test]
    fn the_tail_keeps_enough_small_events_for_a_screen() {
        let (t0, mut out) = (Instant::now(), Vec::new());
        let mut flood = flooding(t0);
        flood.offer(output(1, 100), t0, &mut out);
        for seq in 2..=1_000 {
            flood.offer(output(seq, 1_000), t0, &mut out);
        }
        out.clear();
        flood.tick(t0 + FLOOD_GAP, &mut out);
        let sent = said(&out);
        assert_eq!(sent[0], r#"{"type":"skipped","from":2,"to":983}"#);
        assert_eq!(sent.len(), 1 + 17, "{sent:?}");
        assert_eq!(sent[1], "984", "the fewest newest events of 16 KiB or more");
        assert_eq!(sent.last().map(String::as_str), Some("1000"));
    }

    #[test]
    fn anything_else_sends_what_is_held_first() {
        let (t0, mut out) = (Instant::now(), Vec::new());
        let mut flood = flooding(t0);
        for seq in 1..=4 {
            flood.offer(output(seq, 40_000), t0, &mut out);
        }
        flood.offer(other("turn_end"), t0, &mut out);
        assert_eq!(
            said(&out),
            [
                "1",
                r#"{"type":"skipped","from":2,"to":3}"#,
                "4",
                "turn_end"
            ]
        );
        assert_eq!(flood.due(), None, "nothing left to send");
        flood.offer(output(5, 100), t0 + Duration::from_millis(10), &mut out);
        assert_eq!(out.len(), 4, "still within the gap: held");
        flood.tick(t0 + FLOOD_GAP, &mut out);
        assert_eq!(said(&out)[4..], ["5"], "nothing skipped: the tail is all");
    }
}
