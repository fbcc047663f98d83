//! When the next frame is due. A key press draws at once; anything else
//! the connections bring (a prompt, a permission request, a turn's end)
//! draws at most [`FRAME`] after the last frame; a flood of command output
//! alone draws at most every [`FLOOD_FRAME`], and once it pauses for
//! [`QUIET`] its last state is drawn at once. Every viewer of a busy agent
//! redraws its whole transcript pane on each frame of a scrolling stream:
//! a third as many frames is a third of that work, for a stream too fast
//! to read anyway.

use std::time::{Duration, Instant};

use crate::client::ConnEvent;
use crate::protocol::{EventKind, ServerMessage};

/// Minimum time between frames for server traffic other than output:
/// fast enough to read as a stream, half as many frames as at 60 a second.
pub const FRAME: Duration = Duration::from_millis(33);

/// Minimum time between frames while nothing but output arrives.
pub const FLOOD_FRAME: Duration = Duration::from_millis(100);

/// Output that has stopped this long is drawn without waiting for the
/// flood's frame. Longer than the host's output batching gap (20 ms), so
/// a steady stream does not read as stopping after each batch.
pub const QUIET: Duration = Duration::from_millis(30);

/// What one message asks of the next frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Urgency {
    /// A key press, a paste, a resize: draw now.
    Now,
    /// Anything but output: within [`FRAME`].
    Soon,
    /// Output: within [`FLOOD_FRAME`], or once it pauses.
    Output,
}

impl Urgency {
    /// How soon a connection's message wants drawing.
    pub fn of_conn(event: &ConnEvent) -> Urgency {
        match event {
            ConnEvent::Message(ServerMessage::Event(record))
                if matches!(record.event, EventKind::Output { .. }) =>
            {
                Urgency::Output
            }
            _ => Urgency::Soon,
        }
    }
}

/// The frame schedule: whether something changed since the last frame,
/// and how soon it must be drawn.
#[derive(Debug, Clone)]
pub struct Pace {
    last_draw: Instant,
    /// `None` when nothing has changed since the last frame.
    pending: Option<Urgency>,
    last_output: Instant,
}

impl Pace {
    /// A schedule whose first frame is due at once.
    pub fn new(now: Instant) -> Pace {
        Pace {
            last_draw: now.checked_sub(FLOOD_FRAME).unwrap_or(now),
            pending: Some(Urgency::Now),
            last_output: now,
        }
    }

    /// Something changed at `now`, wanting a frame as soon as `urgency`.
    pub fn changed(&mut self, urgency: Urgency, now: Instant) {
        if urgency == Urgency::Output {
            self.last_output = now;
        }
        self.pending = Some(match (self.pending, urgency) {
            (Some(Urgency::Now), _) | (_, Urgency::Now) => Urgency::Now,
            (Some(Urgency::Soon), _) | (_, Urgency::Soon) => Urgency::Soon,
            _ => Urgency::Output,
        });
    }

    /// When the next frame is due; `None` when nothing changed.
    pub fn due(&self) -> Option<Instant> {
        Some(match self.pending? {
            Urgency::Now => self.last_draw,
            Urgency::Soon => self.last_draw + FRAME,
            Urgency::Output => {
                let paused = (self.last_output + QUIET).max(self.last_draw + FRAME);
                paused.min(self.last_draw + FLOOD_FRAME)
            }
        })
    }

    /// Whether a frame is to be drawn at `now`.
    pub fn ready(&self, now: Instant) -> bool {
        self.due().is_some_and(|due| now >= due)
    }

    /// A frame was drawn at `now`.
    pub fn drawn(&mut self, now: Instant) {
        self.last_draw = now;
        self.pending = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn drawn_at(t0: Instant) -> Pace {
        let mut pace = Pace::new(t0);
        assert!(pace.ready(t0));
        pace.drawn(t0);
        assert_eq!(pace.due(), None);
        pace
    }

    #[test]
    fn a_key_draws_at_once_and_other_messages_within_a_frame() {
        let t0 = Instant::now();
        let mut pace = drawn_at(t0);
        pace.changed(Urgency::Soon, t0 + ms(1));
        assert_eq!(pace.due(), Some(t0 + FRAME));
        pace.changed(Urgency::Now, t0 + ms(2));
        assert!(pace.ready(t0 + ms(2)));
    }

    #[test]
    fn output_after_a_quiet_spell_draws_at_once() {
        let t0 = Instant::now();
        let mut pace = drawn_at(t0);
        let later = t0 + ms(500);
        pace.changed(Urgency::Output, later);
        assert!(pace.ready(later));
    }

    #[test]
    fn a_flood_of_output_draws_once_per_flood_frame() {
        let t0 = Instant::now();
        let mut pace = drawn_at(t0);
        for at in (0..FLOOD_FRAME.as_millis() as u64).step_by(20) {
            pace.changed(Urgency::Output, t0 + ms(at));
            assert!(!pace.ready(t0 + ms(at)), "{at} ms");
        }
        assert_eq!(pace.due(), Some(t0 + FLOOD_FRAME));
    }

    #[test]
    fn output_that_stops_is_drawn_once_quiet() {
        let t0 = Instant::now();
        let mut pace = drawn_at(t0);
        pace.changed(Urgency::Output, t0 + ms(40));
        assert_eq!(pace.due(), Some(t0 + ms(40) + QUIET));
        // Never sooner than a frame after the last one.
        let mut pace = drawn_at(t0);
        pace.changed(Urgency::Output, t0 + ms(1));
        assert_eq!(pace.due(), Some(t0 + FRAME));
    }

    #[test]
    fn a_prompt_amid_output_is_drawn_within_a_frame() {
        let t0 = Instant::now();
        let mut pace = drawn_at(t0);
        pace.changed(Urgency::Output, t0 + ms(5));
        pace.changed(Urgency::Soon, t0 + ms(10));
        pace.changed(Urgency::Output, t0 + ms(20));
        assert_eq!(pace.due(), Some(t0 + FRAME));
    }
}
