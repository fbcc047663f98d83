//! Alerts where the user is: a permission request left unanswered, a turn
//! that ends with no owner attached, an agent that exits with an error,
//! told to a webhook (a JSON POST) or an ntfy topic.
//!
//! `machine` decides what to send and when (pure); sessions report to it
//! through an [`AlertSink`] (`runtime::alert_feed` says what they report);
//! `edge` runs it in a task of its own and `deliver` sends, one task and
//! one bounded queue per destination, so no session ever waits on the
//! network. Destinations' URLs hold secrets (an ntfy topic is its
//! password; a webhook's path, query and user carry tokens): only their
//! scheme and host are ever logged ([`Destination::label`]).

pub mod alert;
mod deliver;
mod edge;
pub mod machine;
mod text;

use std::fmt;
use std::time::Duration;

pub use alert::Opening;
pub use edge::{AlertSink, Inputs, channel, channel_for, spawn};
pub use machine::{Input, Notifier, Outgoing, Rules};
pub use text::clean;

/// Where alerts go, as `[notify]` in serve.toml or the `--notify-*` flags
/// say.
#[derive(Debug, Clone, PartialEq)]
pub struct NotifyConfig {
    pub destinations: Vec<Destination>,
    /// How long a permission request stays unanswered before it is told
    /// of (zero: at once).
    pub after: Duration,
    /// Timing that is not the user's to choose; tests shorten it.
    #[doc(hidden)]
    pub tuning: Tuning,
}

impl NotifyConfig {
    pub fn new(destinations: Vec<Destination>, after: Duration) -> Self {
        NotifyConfig {
            destinations,
            after,
            tuning: Tuning::default(),
        }
    }

    /// The notifier's rules.
    pub fn rules(&self) -> Rules {
        Rules {
            after: self.after,
            settle: self.tuning.settle,
            session_gap: self.tuning.session_gap,
            burst: self.tuning.burst,
            refill: self.tuning.refill,
        }
    }
}

/// The notifier's and the delivery's timing (see `machine` for the first
/// four).
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tuning {
    pub settle: Duration,
    pub session_gap: Duration,
    pub burst: u32,
    pub refill: Duration,
    /// How long one try of a delivery may take, all of it.
    pub timeout: Duration,
    /// Tries per alert and destination.
    pub tries: u32,
    /// The wait after a failed try, doubled after each.
    pub backoff: Duration,
    /// Alerts waiting for one destination at most (the oldest is dropped).
    pub queue: usize,
}

impl Default for Tuning {
    fn default() -> Self {
        let rules = Rules::with_after(Rules::DEFAULT_AFTER);
        Tuning {
            settle: rules.settle,
            session_gap: rules.session_gap,
            burst: rules.burst,
            refill: rules.refill,
            timeout: Duration::from_secs(5),
            tries: 3,
            backoff: Duration::from_secs(1),
            queue: 32,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DestinationKind {
    /// The alert as JSON, POSTed to the URL.
    Webhook,
    /// ntfy's JSON publish, to the server of the URL, for the topic its
    /// path ends with.
    Ntfy,
}

impl DestinationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DestinationKind::Webhook => "webhook",
            DestinationKind::Ntfy => "ntfy",
        }
    }
}

/// One place alerts go. Its `Debug` shows only its [`label`]: the URL is
/// a secret.
///
/// [`label`]: Destination::label
#[derive(Clone, PartialEq, Eq)]
pub struct Destination {
    kind: DestinationKind,
    url: url::Url,
}

impl fmt::Debug for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

impl Destination {
    /// A destination from its URL: `https://`, or `http://` to this
    /// machine only (anything else would send alerts, and the URL's
    /// secrets, in clear). An ntfy URL ends with its topic. The reason
    /// given for a refusal never repeats the URL.
    pub fn parse(kind: DestinationKind, text: &str) -> Result<Destination, String> {
        let url = url::Url::parse(text.trim()).map_err(|e| format!("not a URL ({e})"))?;
        let Some(host) = url.host() else {
            return Err("the URL names no host".into());
        };
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&host) => {}
            "http" => {
                return Err(format!(
                    "http:// to {host} would send alerts and this URL in clear: use https:// \
                     (http:// is allowed to this machine only)"
                ));
            }
            other => return Err(format!("{other}:// is not http:// or https://")),
        }
        if kind == DestinationKind::Ntfy {
            topic_of(&url)?;
        }
        Ok(Destination { kind, url })
    }

    pub fn kind(&self) -> DestinationKind {
        self.kind
    }

    /// What logs may say of it: its kind, scheme and host (and port),
    /// never its path, query or user.
    pub fn label(&self) -> String {
        let host = self.url.host_str().unwrap_or("?");
        match self.url.port() {
            Some(port) => format!(
                "{} {}://{host}:{port}",
                self.kind.as_str(),
                self.url.scheme()
            ),
            None => format!("{} {}://{host}", self.kind.as_str(), self.url.scheme()),
        }
    }

    /// Where the POST goes: the webhook's URL; for ntfy, its server (the
    /// URL without the topic, with its user and query, which may carry
    /// an access token).
    fn post_url(&self) -> url::Url {
        let mut url = self.url.clone();
        if self.kind == DestinationKind::Ntfy
            && let Ok(mut segments) = url.path_segments_mut()
        {
            segments.pop_if_empty().pop().push("");
        }
        url
    }

    /// The ntfy topic (the last part of the path).
    fn topic(&self) -> String {
        topic_of(&self.url).unwrap_or_default()
    }
}

fn is_loopback(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    }
}

/// ntfy's rule for a topic: 1 to 64 of `A-Z a-z 0-9 _ -`.
fn topic_of(url: &url::Url) -> Result<String, String> {
    let topic = url
        .path_segments()
        .and_then(|mut s| s.rfind(|s| !s.is_empty()))
        .unwrap_or_default();
    let valid = (1..=64).contains(&topic.len())
        && topic
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if valid {
        Ok(topic.to_owned())
    } else {
        Err("the URL must end with the topic (https://ntfy.sh/TOPIC; a topic is 1 to 64 of A-Z a-z 0-9 _ -)".into())
    }
}

#[cfg(test)]
mod tests;
