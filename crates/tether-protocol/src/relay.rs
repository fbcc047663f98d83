//! The relay through a NATS broker: the subjects a host and its clients
//! use, and the few messages that are the relay's own (docs/protocol.md,
//! "Relay"). Session messages travel as they do on a WebSocket, one per
//! NATS message; the host stays the authority over every one of them.

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
/// it as it answers any message (`ok`), without its session, so a viewer
/// costs the host one small reply every few seconds; the client times the
/// answer as its round trip.
pub const HEARTBEAT: &str = "relay_heartbeat";

/// The host's answer to `join` and to each `from.<conn>` message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RelayReply {
    /// Taken; what follows comes on `to.<conn>`.
    Ok,
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
    fn a_close_is_told_apart_from_session_messages() {
        let close = RelayClosed::new(4003, "token revoked");
        assert_eq!(RelayClosed::parse(&close.to_json()), Some(close));
        assert_eq!(RelayClosed::parse(r#"{"type":"ack","id":"1"}"#), None);
    }
}
