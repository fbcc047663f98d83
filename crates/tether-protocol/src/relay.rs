//! The relay through a NATS broker: the subjects a host and its clients
//! use, and the few messages that are the relay's own (docs/protocol.md,
//! "Relay"). Session messages travel as they do on a WebSocket, one per
//! NATS message; the host stays the authority over every one of them.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::server::Mode;

/// The first token of every subject.
pub const PREFIX: &str = "tether";

/// The key-value bucket of the lobby: one key per session, its summary.
pub const LOBBY_BUCKET: &str = "tether-lobby";

/// A session id as one subject token: `.` separates tokens, so it is
/// written `%2E` (session ids never hold `%`).
pub fn subject_token(id: &str) -> String {
    id.replace('.', "%2E")
}

/// The session id a subject token stands for.
pub fn from_subject_token(token: &str) -> String {
    token.replace("%2E", ".")
}

/// Whether `id` may name a host on a broker: 1 to 64 letters, digits, `-`
/// or `_` (one subject token, no wildcard).
pub fn check_host_id(id: &str) -> Result<(), String> {
    let valid = (1..=64).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "host id `{}` must be 1 to 64 letters, digits, `-` or `_`",
            id.chars()
                .filter(|c| !c.is_control())
                .take(80)
                .collect::<String>()
        ))
    }
}

/// Whether `conn` may name a relay connection: 8 to 64 letters and digits.
pub fn check_conn_id(conn: &str) -> bool {
    (8..=64).contains(&conn.len()) && conn.chars().all(|c| c.is_ascii_alphanumeric())
}

/// A fresh random id of `len` letters and digits: a connection's (as
/// [`check_conn_id`] takes it) or a host run's.
pub fn fresh_id(len: usize) -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// The subjects of one session of one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSubjects {
    base: String,
}

impl SessionSubjects {
    pub fn new(host: &str, session: &str) -> SessionSubjects {
        SessionSubjects {
            base: format!("{PREFIX}.{host}.{}", subject_token(session)),
        }
    }

    /// Request-reply: a client asks to join ([`RelayJoin`]).
    pub fn join(&self) -> String {
        format!("{}.join", self.base)
    }

    /// What every connection of the session receives apart from events
    /// (participant lists, the relay's close), published once whatever the
    /// number of viewers.
    pub fn live(&self) -> String {
        format!("{}.live.frames", self.base)
    }

    /// The session's events, one per message, published once whatever the
    /// number of viewers and kept by the session's stream ([`stream_name`]).
    pub fn events(&self) -> String {
        format!("{}.live.events", self.base)
    }

    /// [`Self::live`] and [`Self::events`] in one subscription, so they
    /// come in the order the host published them.
    pub fn live_all(&self) -> String {
        format!("{}.live.*", self.base)
    }

    /// What one connection alone receives (its greeting, replay, acks,
    /// errors, role changes).
    pub fn to(&self, conn: &str) -> String {
        format!("{}.to.{conn}", self.base)
    }

    /// Request-reply: what one connection sends ([`RelayCommand`]).
    pub fn from(&self, conn: &str) -> String {
        format!("{}.from.{conn}", self.base)
    }
}

/// The JetStream stream that keeps a session's events (its `live.events`
/// subject), its sequence the session's `seq`: `TETHER_HOST_SESSION`, with
/// every byte of the session id that a stream name may not hold (and `_`)
/// written `_XX` in hex.
pub fn stream_name(host: &str, session: &str) -> String {
    let mut name = format!("TETHER_{host}_");
    for byte in session.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'-' {
            name.push(char::from(byte));
        } else {
            name.push_str(&format!("_{byte:02X}"));
        }
    }
    name
}

/// The header naming the session instance an event in a stream belongs to
/// (its epoch): a successor under the same id starts a new stream.
pub const EPOCH_HEADER: &str = "Tether-Epoch";

/// The host's subscriptions: every session's joins and commands.
pub fn host_join_wildcard(host: &str) -> String {
    format!("{PREFIX}.{host}.*.join")
}

pub fn host_from_wildcard(host: &str) -> String {
    format!("{PREFIX}.{host}.*.from.*")
}

/// `tether.HOST.lobby`: requests to the host's lobby (request-reply, each
/// a [`RelayCommand`] whose message is a `LobbyRequest`, or
/// [`LOBBY_HELLO`]); answered with the lobby message a WebSocket gets.
pub fn lobby_subject(host: &str) -> String {
    format!("{PREFIX}.{host}.lobby")
}

/// The `type` asking the host's lobby what this token sees and may do:
/// answered with a `sessions` message (presets, workspaces, `you`).
pub const LOBBY_HELLO: &str = "relay_lobby_hello";

/// What a subject the host subscribed to names: the session and, for a
/// command, the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostSubject {
    Join { session: String },
    From { session: String, conn: String },
}

impl HostSubject {
    pub fn parse(host: &str, subject: &str) -> Option<HostSubject> {
        let mut tokens = subject.split('.');
        if tokens.next()? != PREFIX || tokens.next()? != host {
            return None;
        }
        let session = from_subject_token(tokens.next()?);
        match (tokens.next()?, tokens.next(), tokens.next()) {
            ("join", None, None) => Some(HostSubject::Join { session }),
            ("from", Some(conn), None) if check_conn_id(conn) => Some(HostSubject::From {
                session,
                conn: conn.to_owned(),
            }),
            _ => None,
        }
    }
}

/// The lobby bucket's key of a session.
pub fn lobby_key(host: &str, session: &str) -> String {
    format!("{host}.{}", subject_token(session))
}

/// A client asking to join a session (the payload of `join`): what the
/// WebSocket URL and its `Authorization` header carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayJoin {
    pub token: String,
    /// The connection's id, chosen by the client (random, 8 to 64 letters
    /// and digits): it subscribes to `to.<conn>` before asking.
    pub conn: String,
    #[serde(default)]
    pub mode: Mode,
    /// `live`, or the seq after which to replay (`0`: everything).
    pub since: String,
    /// `false`: stay a follower until a `claim` (as `claim=no`).
    #[serde(default = "yes")]
    pub claim: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// The client can catch up from the session's stream: the host may
    /// answer the replay with [`RelayCatchUp`] instead of the events.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stream: bool,
}

fn yes() -> bool {
    true
}

/// One client message through the relay (the payload of `from.<conn>`):
/// the token it joined with comes with every message, so a message forged
/// for someone else's connection is refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelayCommand {
    pub token: String,
    pub message: serde_json::Value,
}

/// The `type` of the relay's own message on `from.<conn>`: the client
/// goes (as a WebSocket closes); the host lets its participant leave at
/// once instead of after its silence.
pub const LEAVE: &str = "relay_leave";

/// The `type` of the relay's heartbeat on `from.<conn>`: the host answers
/// it as it answers any message (`ok`), without its session; the client
/// times the answer as its round trip.
pub const HEARTBEAT: &str = "relay_heartbeat";

/// How often a connection heartbeats unless the host's beacon says
/// otherwise: always in control mode (an owner that vanished must be
/// noticed within its grace), and a viewer's shortest period.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(5);

/// How often the host publishes its [`RelayBeacon`] on each session's
/// `live.frames`.
pub const BEACON_EVERY: Duration = Duration::from_secs(5);

/// Viewers' heartbeats a host takes a second, at most, whatever their
/// number: past `5 s × this` viewers each one heartbeats less often, so
/// watching costs the host the same with 10,000 viewers as with 250.
pub const VIEWER_HEARTBEATS_PER_S: u64 = 50;

/// The period the host's beacon gives viewers when it has `viewers`
/// view-mode connections, in whole seconds.
pub fn viewer_heartbeat_period(viewers: usize) -> Duration {
    let spread = (viewers as u64).div_ceil(VIEWER_HEARTBEATS_PER_S);
    HEARTBEAT_EVERY.max(Duration::from_secs(spread))
}

/// The host's word to every connection of a session, on `live.frames`
/// every [`BEACON_EVERY`] whatever the number of viewers: it is there
/// (a client that hears nothing from it for long joins again), which run
/// of the host it is (`boot`, as its join answer said: another means the
/// host restarted and the client joins again), and how often viewers
/// heartbeat (`heartbeat_s`; control connections keep [`HEARTBEAT_EVERY`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayBeacon {
    /// Always `relay_beacon`.
    #[serde(rename = "type")]
    pub kind: String,
    pub boot: String,
    pub heartbeat_s: u64,
}

impl RelayBeacon {
    pub fn new(boot: &str, viewer_period: Duration) -> RelayBeacon {
        RelayBeacon {
            kind: "relay_beacon".into(),
            boot: boot.to_owned(),
            heartbeat_s: viewer_period.as_secs(),
        }
    }

    /// The beacon a frame carries, if it is one.
    pub fn parse(payload: &[u8]) -> Option<RelayBeacon> {
        if !payload.starts_with(b"{\"type\":\"relay_beacon\"") {
            return None;
        }
        serde_json::from_slice(payload).ok()
    }

    /// The viewers' heartbeat period it gives: at least [`HEARTBEAT_EVERY`]
    /// and at most an hour, whatever a host says.
    pub fn viewer_period(&self) -> Duration {
        Duration::from_secs(self.heartbeat_s.clamp(HEARTBEAT_EVERY.as_secs(), 3600))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("relay beacons serialise")
    }
}

/// The host's answer to `join` and to each `from.<conn>` message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RelayReply {
    /// Taken; what follows comes on `to.<conn>`. A join's answer names the
    /// host's run (`boot`), as its beacons do.
    Ok {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        boot: Option<String>,
    },
    /// Not taken: `code` as HTTP would say it (401, 403, 404, 410 for a
    /// connection the host does not know, 503).
    Refused { code: u16, message: String },
}

impl RelayReply {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("relay replies serialise")
    }
}

/// The relay's own message on `to.<conn>`: the host ended the connection
/// (as a WebSocket close frame would).
/// In a replay, in place of events `from..=to`: the session's stream has
/// them, and the client reads them there (then `caught_up` follows).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayCatchUp {
    #[serde(rename = "type")]
    pub kind: String,
    pub stream: String,
    pub from: u64,
    pub to: u64,
}

impl RelayCatchUp {
    pub fn new(stream: String, from: u64, to: u64) -> RelayCatchUp {
        RelayCatchUp {
            kind: "relay_catch_up".into(),
            stream,
            from,
            to,
        }
    }

    pub fn parse(text: &str) -> Option<RelayCatchUp> {
        if !text.starts_with("{\"type\":\"relay_catch_up\"") {
            return None;
        }
        serde_json::from_str(text).ok()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("relay catch-ups serialise")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayClosed {
    /// Always `relay_closed`.
    #[serde(rename = "type")]
    pub kind: String,
    pub code: u16,
    pub reason: String,
}

impl RelayClosed {
    pub fn new(code: u16, reason: impl Into<String>) -> RelayClosed {
        RelayClosed {
            kind: "relay_closed".into(),
            code,
            reason: reason.into(),
        }
    }

    /// The close a frame carries, if it is one.
    pub fn parse(text: &str) -> Option<RelayClosed> {
        if !text.starts_with("{\"type\":\"relay_closed\"") {
            return None;
        }
        serde_json::from_str(text).ok()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("relay closes serialise")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_hold_ids_with_dots_and_parse_back() {
        let subjects = SessionSubjects::new("devbox", "web.front");
        assert_eq!(subjects.join(), "tether.devbox.web%2Efront.join");
        assert_eq!(
            HostSubject::parse("devbox", &subjects.join()),
            Some(HostSubject::Join {
                session: "web.front".into()
            })
        );
        assert_eq!(
            HostSubject::parse("devbox", &subjects.from("abcdef12")),
            Some(HostSubject::From {
                session: "web.front".into(),
                conn: "abcdef12".into()
            })
        );
        assert_eq!(HostSubject::parse("other", &subjects.join()), None);
        assert_eq!(
            HostSubject::parse("devbox", "tether.devbox.x.from.a*b"),
            None
        );
        assert!(check_conn_id(&fresh_id(22)));
        assert_ne!(fresh_id(22), fresh_id(22));
        assert!(check_host_id("dev-box_1").is_ok());
        assert!(check_host_id("dev.box").is_err());
        assert!(check_host_id("").is_err());
        assert_eq!(subjects.events(), "tether.devbox.web%2Efront.live.events");
        assert_eq!(
            stream_name("devbox", "web.front_2"),
            "TETHER_devbox_web_2Efront_5F2"
        );
        let catch_up = RelayCatchUp::new("S".into(), 3, 9);
        assert_eq!(RelayCatchUp::parse(&catch_up.to_json()), Some(catch_up));
    }

    #[test]
    fn viewers_heartbeat_less_often_as_they_grow_past_what_a_host_takes() {
        assert_eq!(viewer_heartbeat_period(1), HEARTBEAT_EVERY);
        assert_eq!(viewer_heartbeat_period(250), HEARTBEAT_EVERY);
        assert_eq!(viewer_heartbeat_period(251), Duration::from_secs(6));
        assert_eq!(viewer_heartbeat_period(1_000), Duration::from_secs(20));
        assert_eq!(viewer_heartbeat_period(10_000), Duration::from_secs(200));
        let beacon = RelayBeacon::new("b00t", viewer_heartbeat_period(1_000));
        let parsed = RelayBeacon::parse(beacon.to_json().as_bytes()).expect("a beacon");
        assert_eq!(parsed.viewer_period(), Duration::from_secs(20));
        assert_eq!(RelayBeacon::parse(br#"{"type":"ok"}"#), None);
        let wild = r#"{"type":"relay_beacon","boot":"b","heartbeat_s":0}"#;
        let wild = RelayBeacon::parse(wild.as_bytes()).expect("a beacon");
        assert_eq!(wild.viewer_period(), HEARTBEAT_EVERY);
    }

    #[test]
    fn a_join_answer_naming_the_host_run_reads_as_ok_before_and_after() {
        let answer = RelayReply::Ok {
            boot: Some("b00t".into()),
        };
        assert_eq!(answer.to_json(), r#"{"type":"ok","boot":"b00t"}"#);
        // What clients before the beacon read the answer as.
        #[derive(Deserialize, Debug, PartialEq)]
        #[serde(tag = "type", rename_all = "snake_case")]
        enum Before {
            Ok,
            Refused { code: u16, message: String },
        }
        let before: Before = serde_json::from_str(&answer.to_json()).expect("still ok");
        assert_eq!(before, Before::Ok);
        let plain: RelayReply = serde_json::from_str(r#"{"type":"ok"}"#).expect("ok");
        assert_eq!(plain, RelayReply::Ok { boot: None });
        assert_eq!(plain.to_json(), r#"{"type":"ok"}"#);
    }

    #[test]
    fn a_close_is_told_apart_from_session_messages() {
        let close = RelayClosed::new(4003, "token revoked");
        assert_eq!(RelayClosed::parse(&close.to_json()), Some(close));
        assert_eq!(RelayClosed::parse(r#"{"type":"ack","id":"1"}"#), None);
    }
}
