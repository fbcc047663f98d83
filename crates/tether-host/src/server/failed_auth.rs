//! Failed authentications, counted per peer address and minute: logged
//! as one line per address and minute (never the token), and a peer that
//! keeps failing gets its refusals slowly.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures per minute a peer may make before its refusals are delayed.
const FREE_FAILURES: u32 = 10;
/// The delay of the first slowed refusal; it doubles with each further
/// failure in the same minute, up to [`MAX_DELAY`].
const FIRST_DELAY: Duration = Duration::from_millis(250);
const MAX_DELAY: Duration = Duration::from_secs(4);
const WINDOW: Duration = Duration::from_secs(60);
/// Addresses tracked at once; beyond that the oldest windows are dropped.
const MAX_PEERS: usize = 4096;

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    failures: u32,
}

#[derive(Debug, Default)]
pub struct FailedAuth {
    peers: Mutex<HashMap<IpAddr, Window>>,
}

impl FailedAuth {
    /// Records one failure of `peer` at `now`; returns how long to wait
    /// before answering it.
    pub fn record(&self, peer: IpAddr, now: Instant) -> Duration {
        let mut peers = self.peers.lock().unwrap_or_else(|e| e.into_inner());
        if peers.len() >= MAX_PEERS && !peers.contains_key(&peer) {
            peers.retain(|_, w| now.duration_since(w.started) < WINDOW);
        }
        let window = peers.entry(peer).or_insert(Window {
            started: now,
            failures: 0,
        });
        if now.duration_since(window.started) >= WINDOW {
            report(peer, window);
            *window = Window {
                started: now,
                failures: 0,
            };
        }
        window.failures += 1;
        if window.failures == 1 {
            tracing::warn!(
                "failed authentication from {peer}; further failures are counted per minute"
            );
        }
        delay_after(window.failures)
    }
}

fn report(peer: IpAddr, window: &Window) {
    if window.failures > 1 {
        tracing::warn!(
            "{} failed authentications from {peer} in the minute from {:.0?} ago",
            window.failures,
            window.started.elapsed()
        );
    }
}

fn delay_after(failures: u32) -> Duration {
    let Some(over) = failures.checked_sub(FREE_FAILURES + 1) else {
        return Duration::ZERO;
    };
    FIRST_DELAY.saturating_mul(1 << over.min(16)).min(MAX_DELAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_slow_down_after_ten_failures_a_minute() {
        let failed = FailedAuth::default();
        let peer: IpAddr = "127.0.0.1".parse().unwrap();
        let other: IpAddr = "127.0.0.2".parse().unwrap();
        let start = Instant::now();
        for _ in 0..FREE_FAILURES {
            assert_eq!(failed.record(peer, start), Duration::ZERO);
        }
        assert_eq!(failed.record(peer, start), FIRST_DELAY);
        assert_eq!(failed.record(peer, start), FIRST_DELAY * 2);
        for _ in 0..20 {
            failed.record(peer, start);
        }
        assert_eq!(failed.record(peer, start), MAX_DELAY);
        assert_eq!(failed.record(other, start), Duration::ZERO, "per address");
        let next_minute = start + WINDOW;
        assert_eq!(failed.record(peer, next_minute), Duration::ZERO);
    }
}
