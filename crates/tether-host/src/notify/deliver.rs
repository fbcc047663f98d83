//! Sending alerts: one task per destination, fed by a bounded queue (the
//! oldest alert is dropped, with a log line, when it is full), each alert
//! tried up to `tries` times with a timeout and a backoff. A destination
//! that hangs delays only its own queue. Logs name a destination by its
//! label (scheme and host): never its URL, and errors are logged without
//! theirs.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use tokio::sync::Notify;

use super::alert::{Opening, ntfy_body, webhook_body};
use super::machine::Outgoing;
use super::{Destination, DestinationKind, Tuning};

/// The alerts waiting for one destination.
pub struct Queue {
    label: String,
    capacity: usize,
    items: Mutex<VecDeque<Outgoing>>,
    ready: Notify,
}

impl Queue {
    pub fn new(label: String, capacity: usize) -> Self {
        Queue {
            label,
            capacity: capacity.max(1),
            items: Mutex::new(VecDeque::new()),
            ready: Notify::new(),
        }
    }

    /// Queues an alert; when full, the oldest waiting one is dropped.
    pub fn push(&self, out: Outgoing) {
        let mut items = self.items.lock().unwrap_or_else(|e| e.into_inner());
        if items.len() == self.capacity
            && let Some(dropped) = items.pop_front()
        {
            tracing::warn!(
                "alerts to {}: {} alerts wait already; the oldest (session {}) is dropped",
                self.label,
                self.capacity,
                dropped.alert.session
            );
        }
        items.push_back(out);
        drop(items);
        self.ready.notify_one();
    }

    async fn pop(&self) -> Outgoing {
        loop {
            let next = self
                .items
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .pop_front();
            if let Some(out) = next {
                return out;
            }
            self.ready.notified().await;
        }
    }
}

/// The HTTP client every destination shares: HTTP/1 over rustls with the
/// ring provider (as the rest of tether) and the system's roots; no
/// redirects (an alert goes where it was told or nowhere).
pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("tether/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_else(|e| {
            tracing::error!("alerts: the HTTP client cannot be made ({e}); using a default one");
            reqwest::Client::new()
        })
}

/// One destination's task.
pub struct Delivery {
    pub destination: Destination,
    pub queue: Arc<Queue>,
    pub client: reqwest::Client,
    pub tuning: Tuning,
    pub opening: Arc<dyn Fn(&str) -> Opening + Send + Sync>,
}

/// How one try went.
enum Tried {
    Delivered,
    /// Worth another try (a network error, a timeout, 5xx, 408, 429).
    Again(String),
    /// Refused for good (another 4xx): trying again would not help.
    Refused(String),
}

impl Delivery {
    pub async fn run(self) {
        loop {
            let out = self.queue.pop().await;
            self.send(&out).await;
        }
    }

    async fn send(&self, out: &Outgoing) {
        let opening = (self.opening)(&out.alert.session);
        let body = match self.destination.kind() {
            DestinationKind::Webhook => webhook_body(&out.alert, out.at, &opening),
            DestinationKind::Ntfy => {
                ntfy_body(&out.alert, out.at, &opening, &self.destination.topic())
            }
        };
        let body = body.to_string();
        let label = &self.queue.label;
        let tries = self.tuning.tries.max(1);
        for attempt in 1..=tries {
            let why = match self.try_once(&body).await {
                Tried::Delivered => {
                    tracing::debug!("alert about {} sent to {label}", out.alert.session);
                    return;
                }
                Tried::Refused(why) => {
                    tracing::warn!(
                        "alert about {} to {label} refused ({why}); not tried again",
                        out.alert.session
                    );
                    return;
                }
                Tried::Again(why) => why,
            };
            if attempt == tries {
                tracing::warn!(
                    "alert about {} to {label} dropped after {tries} tries: {why}",
                    out.alert.session
                );
                return;
            }
            let wait = self.tuning.backoff * 2u32.saturating_pow(attempt - 1);
            tracing::warn!(
                "alert about {} to {label}: try {attempt} of {tries} failed ({why}); again in {}",
                out.alert.session,
                humantime::format_duration(round_ms(wait))
            );
            tokio::time::sleep(wait).await;
        }
    }

    async fn try_once(&self, body: &str) -> Tried {
        let sent = self
            .client
            .post(self.destination.post_url())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_owned())
            .timeout(self.tuning.timeout)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(e) => return Tried::Again(describe(e)),
        };
        let status = response.status();
        if status.is_success() {
            Tried::Delivered
        } else if status.is_server_error()
            || status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::REQUEST_TIMEOUT
        {
            Tried::Again(format!("HTTP {status}"))
        } else {
            Tried::Refused(format!("HTTP {status}"))
        }
    }
}

/// An error and its causes, without the URL.
fn describe(error: reqwest::Error) -> String {
    let timed_out = error.is_timeout();
    let error = error.without_url();
    let mut text = error.to_string();
    let mut cause = std::error::Error::source(&error);
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    if timed_out && !text.contains("timed out") {
        text.push_str(" (timed out)");
    }
    text
}

fn round_ms(d: Duration) -> Duration {
    Duration::from_millis(d.as_millis().try_into().unwrap_or(u64::MAX))
}
