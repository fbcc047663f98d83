//! The notifier: a pure state machine that decides which alerts to send
//! and when. Inputs are what sessions report (a request raised or closed,
//! a turn ended, an agent exited), each at a time; [`Notifier::tick`] at
//! [`Notifier::next_wake`] gives the alerts due, per destination. No
//! sockets, no clocks: tests drive it with instants of their own.
//!
//! The rules:
//! - a request is due `after` its raising, if still open; a turn end with
//!   no owner attached, and an agent's exit with an error, at once;
//! - a session's alert goes `settle` after the first of its things came
//!   due, and tells everything of that session due by then: requests due
//!   together make one alert ("3 permission requests waiting");
//! - each request is told of once; a session gets at most one alert per
//!   `session_gap` (what comes due meanwhile waits and goes as one);
//! - each destination sends at most `burst` alerts at once, then one per
//!   `refill`; alerts held back wait, one per session (a session's newer
//!   alert merges into the held one), and go oldest first.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::alert::{Alert, MAX_LISTED, RequestInfo, Waiting};

/// The notifier's timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// How long a request stays unanswered before it is told of.
    pub after: Duration,
    /// How long an alert waits for others of its session to join it.
    pub settle: Duration,
    /// Least time between two alerts of one session.
    pub session_gap: Duration,
    /// Alerts a destination may send at once.
    pub burst: u32,
    /// Then one more per this.
    pub refill: Duration,
}

impl Rules {
    pub const DEFAULT_AFTER: Duration = Duration::from_secs(30);

    /// The rules with the defaults, requests told of `after` they are
    /// raised.
    pub fn with_after(after: Duration) -> Self {
        Rules {
            after,
            settle: Duration::from_secs(1),
            session_gap: Duration::from_secs(30),
            burst: 5,
            refill: Duration::from_secs(12),
        }
    }
}

/// What a session reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Raised {
        session: Arc<str>,
        title: String,
        request: RequestInfo,
    },
    /// Answered, or withdrawn (cancelled by the agent or the host).
    Closed {
        session: Arc<str>,
        request_id: String,
    },
    TurnEnded {
        session: Arc<str>,
        title: String,
        outcome: String,
        owner_attached: bool,
    },
    /// The agent exited with an error (a stop the host asked for is not
    /// reported).
    AgentExited {
        session: Arc<str>,
        title: String,
        detail: String,
    },
    /// The session stopped (deleted, or the host is stopping).
    Gone { session: Arc<str> },
}

/// An alert to send to one destination (by its index), made at `at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub destination: usize,
    pub alert: Alert,
    pub at: Instant,
}

#[derive(Debug)]
pub struct Notifier {
    rules: Rules,
    sessions: BTreeMap<Arc<str>, SessionAlerts>,
    limiters: Vec<Limiter>,
}

#[derive(Debug, Default)]
struct SessionAlerts {
    title: String,
    /// Open requests, in the order they were raised.
    open: Vec<Open>,
    turn_end: Option<(String, Instant)>,
    exit: Option<(String, Instant)>,
    /// No alert of this session before this.
    quiet_until: Option<Instant>,
}

#[derive(Debug)]
struct Open {
    waiting: Waiting,
    told: bool,
}

/// Alerts a destination holds back at most (one per session).
const MAX_HELD: usize = 256;

impl Notifier {
    pub fn new(rules: Rules, destinations: usize) -> Self {
        Notifier {
            rules,
            sessions: BTreeMap::new(),
            limiters: (0..destinations).map(|_| Limiter::new(rules)).collect(),
        }
    }

    /// Takes what a session reported at `now`.
    pub fn input(&mut self, input: Input, now: Instant) {
        match input {
            Input::Raised {
                session,
                title,
                request,
            } => {
                let state = self.session(session, title);
                state.open.retain(|o| o.waiting.info.id != request.id);
                let waiting = Waiting {
                    info: request,
                    raised: now,
                };
                state.open.push(Open {
                    waiting,
                    told: false,
                });
            }
            Input::Closed {
                session,
                request_id,
            } => {
                if let Some(state) = self.sessions.get_mut(&session) {
                    state.open.retain(|o| o.waiting.info.id != request_id);
                }
            }
            Input::TurnEnded {
                owner_attached: true,
                ..
            } => {}
            Input::TurnEnded {
                session,
                title,
                outcome,
                owner_attached: false,
            } => self.session(session, title).turn_end = Some((outcome, now)),
            Input::AgentExited {
                session,
                title,
                detail,
            } => self.session(session, title).exit = Some((detail, now)),
            Input::Gone { session } => {
                self.sessions.remove(&session);
            }
        }
    }

    fn session(&mut self, id: Arc<str>, title: String) -> &mut SessionAlerts {
        let state = self.sessions.entry(id).or_default();
        state.title = title;
        state
    }

    /// When [`Notifier::tick`] has something to do next.
    pub fn next_wake(&self) -> Option<Instant> {
        let sessions = self
            .sessions
            .values()
            .filter_map(|s| s.fire_at(&self.rules));
        let limiters = self.limiters.iter().filter_map(Limiter::next_release);
        sessions.chain(limiters).min()
    }

    /// The alerts due at `now`.
    pub fn tick(&mut self, now: Instant) -> Vec<Outgoing> {
        let mut made = Vec::new();
        for (id, state) in &mut self.sessions {
            if state.fire_at(&self.rules).is_some_and(|at| at <= now)
                && let Some(alert) = state.alert(id, &self.rules, now)
            {
                made.push(alert);
            }
        }
        let mut out = Vec::new();
        for (destination, limiter) in self.limiters.iter_mut().enumerate() {
            for alert in &made {
                limiter.offer(alert.clone());
            }
            for alert in limiter.release(now) {
                out.push(Outgoing {
                    destination,
                    alert,
                    at: now,
                });
            }
        }
        out
    }
}

impl SessionAlerts {
    /// When this session's next alert goes, if it has something to tell.
    fn fire_at(&self, rules: &Rules) -> Option<Instant> {
        let requests = self
            .open
            .iter()
            .filter(|o| !o.told)
            .map(|o| o.waiting.raised + rules.after);
        let others = [&self.turn_end, &self.exit]
            .into_iter()
            .filter_map(|e| e.as_ref().map(|(_, at)| *at));
        let first = requests.chain(others).min()?;
        let at = first + rules.settle;
        Some(self.quiet_until.map_or(at, |quiet| at.max(quiet)))
    }

    /// The alert telling all that is due at `now` (each request once).
    fn alert(&mut self, id: &Arc<str>, rules: &Rules, now: Instant) -> Option<Alert> {
        let mut requests = Vec::new();
        let mut new_requests = 0;
        for open in &mut self.open {
            if !open.told && open.waiting.raised + rules.after <= now {
                open.told = true;
                new_requests += 1;
                if requests.len() < MAX_LISTED {
                    requests.push(open.waiting.clone());
                }
            }
        }
        let turn_end = self.turn_end.take().map(|(outcome, _)| outcome);
        let exit = self.exit.take().map(|(detail, _)| detail);
        if new_requests == 0 && turn_end.is_none() && exit.is_none() {
            return None;
        }
        self.quiet_until = Some(now + rules.session_gap);
        Some(Alert {
            session: id.clone(),
            session_title: self.title.clone(),
            requests,
            new_requests,
            waiting: self.open.len(),
            turn_end,
            exit,
        })
    }
}

/// One destination's rate limit: a bucket of `burst` tokens, one more
/// per `refill`; alerts beyond wait in `held`.
#[derive(Debug)]
struct Limiter {
    burst: u32,
    refill: Duration,
    tokens: u32,
    /// When the bucket was last topped up (a full bucket counts from now).
    counted_at: Option<Instant>,
    held: Vec<Alert>,
}

impl Limiter {
    fn new(rules: Rules) -> Self {
        Limiter {
            burst: rules.burst.max(1),
            refill: rules.refill,
            tokens: rules.burst.max(1),
            counted_at: None,
            held: Vec::new(),
        }
    }

    /// Queues an alert (merged into a held one of its session).
    fn offer(&mut self, alert: Alert) {
        if let Some(held) = self.held.iter_mut().find(|h| h.session == alert.session) {
            held.merge(alert);
            return;
        }
        if self.held.len() == MAX_HELD {
            let dropped = self.held.remove(0);
            tracing::warn!(
                "alerts: {MAX_HELD} sessions' alerts held back by the rate limit; the oldest ({}) is dropped",
                dropped.session
            );
        }
        self.held.push(alert);
    }

    /// The held alerts the bucket lets go at `now`, oldest first.
    fn release(&mut self, now: Instant) -> Vec<Alert> {
        self.top_up(now);
        let n = (self.tokens as usize).min(self.held.len());
        self.tokens -= n as u32;
        if n > 0 && self.counted_at.is_none() {
            self.counted_at = Some(now);
        }
        self.held.drain(..n).collect()
    }

    fn top_up(&mut self, now: Instant) {
        let Some(since) = self.counted_at else {
            return;
        };
        if self.refill.is_zero() {
            self.tokens = self.burst;
            self.counted_at = None;
            return;
        }
        let earned = now.saturating_duration_since(since).as_nanos() / self.refill.as_nanos();
        let earned = u32::try_from(earned).unwrap_or(u32::MAX);
        self.tokens = self.tokens.saturating_add(earned).min(self.burst);
        self.counted_at = if self.tokens == self.burst {
            None
        } else {
            Some(since + self.refill * earned)
        };
    }

    /// When a held alert can go next.
    fn next_release(&self) -> Option<Instant> {
        if self.held.is_empty() {
            return None;
        }
        // After a release, alerts are held only while the bucket is empty:
        // the next token comes `refill` after the last count.
        self.counted_at.map(|since| since + self.refill)
    }
}

#[cfg(test)]
mod tests;
