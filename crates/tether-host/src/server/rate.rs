//! A token bucket: how many client messages a connection may send.

use std::time::{Duration, Instant};

/// Burst of messages a connection may send at once.
pub const BURST: f64 = 100.0;
/// Messages per second it may keep sending.
pub const PER_SECOND: f64 = 50.0;

#[derive(Debug, Clone)]
pub struct Bucket {
    tokens: f64,
    capacity: f64,
    per_second: f64,
    at: Instant,
}

impl Bucket {
    pub fn new(capacity: f64, per_second: f64, now: Instant) -> Self {
        Bucket {
            tokens: capacity,
            capacity,
            per_second,
            at: now,
        }
    }

    /// Takes one token if there is one.
    pub fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.at);
        self.at = now;
        self.tokens = (self.tokens + elapsed.as_secs_f64() * self.per_second).min(self.capacity);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// How long until the next token.
    pub fn retry_after(&self) -> Duration {
        Duration::from_secs_f64(((1.0 - self.tokens) / self.per_second).max(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_a_burst_then_the_steady_rate() {
        let t = Instant::now();
        let mut bucket = Bucket::new(BURST, PER_SECOND, t);
        assert_eq!((0..150).filter(|_| bucket.take(t)).count(), 100);
        assert!(!bucket.take(t));
        assert!(bucket.retry_after() > Duration::ZERO);
        // One second later: 50 more, not more.
        let later = t + Duration::from_secs(1);
        assert_eq!((0..100).filter(|_| bucket.take(later)).count(), 50);
        // It never stores more than the burst.
        let much_later = t + Duration::from_secs(3600);
        assert_eq!((0..1000).filter(|_| bucket.take(much_later)).count(), 100);
    }
}
