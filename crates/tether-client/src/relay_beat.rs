//! When a relay connection heartbeats: every [`HEARTBEAT_EVERY`] in control
//! mode, and in view mode as often as the host's beacon says (less often
//! as viewers grow past what the host takes a second). Each period is cut
//! short by a random part of up to a fifth, so viewers that joined
//! together (after a host restart, say) drift apart instead of beating in
//! step; never lengthened, so the host's count of silence holds. Pure:
//! the link asks it when the next heartbeat is due and tells it what
//! happened.

use std::time::Duration;

use tokio::time::Instant;

use crate::protocol::relay::HEARTBEAT_EVERY;

#[derive(Debug)]
pub(crate) struct Beat {
    view: bool,
    period: Duration,
    next: Instant,
}

impl Beat {
    /// The first heartbeat goes at once (it times the first round trip).
    pub(crate) fn new(view: bool, now: Instant) -> Beat {
        Beat {
            view,
            period: HEARTBEAT_EVERY,
            next: now,
        }
    }

    pub(crate) fn due(&self) -> Instant {
        self.next
    }

    /// A heartbeat went: the next is a period away, less `jitter` (0 to
    /// 1) of a fifth of it.
    pub(crate) fn sent(&mut self, now: Instant, jitter: f64) {
        let cut = self.period.mul_f64(jitter.clamp(0.0, 1.0) / 5.0);
        self.next = now + self.period - cut;
    }

    /// The host's beacon gave viewers `period`. A shorter one applies at
    /// once (the host counts the silence by it); a longer one from the
    /// next heartbeat on.
    pub(crate) fn told(&mut self, period: Duration, now: Instant) {
        if self.view {
            self.period = period;
            self.next = self.next.min(now + period);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn a_viewer_beats_as_the_beacon_says_and_a_controller_keeps_its_pace() {
        let t0 = Instant::now();
        let mut viewer = Beat::new(true, t0);
        let mut controller = Beat::new(false, t0);
        assert_eq!(viewer.due(), t0);
        viewer.sent(t0, 0.0);
        controller.sent(t0, 0.0);
        assert_eq!(viewer.due(), t0 + HEARTBEAT_EVERY);
        // A crowd: beat every 20 s, from the next heartbeat on.
        viewer.told(20 * S, t0 + S);
        controller.told(20 * S, t0 + S);
        assert_eq!(viewer.due(), t0 + HEARTBEAT_EVERY);
        viewer.sent(t0 + 5 * S, 0.0);
        assert_eq!(viewer.due(), t0 + 25 * S);
        assert_eq!(controller.due(), t0 + HEARTBEAT_EVERY);
        // The crowd left: the shorter period applies at once.
        viewer.told(5 * S, t0 + 7 * S);
        assert_eq!(viewer.due(), t0 + 12 * S);
    }

    #[test]
    fn a_heartbeat_comes_up_to_a_fifth_of_its_period_early_never_late() {
        let t0 = Instant::now();
        let mut viewer = Beat::new(true, t0);
        viewer.told(20 * S, t0);
        viewer.sent(t0, 1.0);
        assert_eq!(viewer.due(), t0 + 16 * S);
        viewer.sent(t0, 0.5);
        assert_eq!(viewer.due(), t0 + 18 * S);
        viewer.sent(t0, 7.0);
        assert_eq!(viewer.due(), t0 + 16 * S);
    }
}
