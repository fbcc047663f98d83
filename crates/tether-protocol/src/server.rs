//! Messages from host to client.

use serde::{Deserialize, Serialize};

use super::agent::AgentInfo;
use super::events::{AgentState, EventRecord};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grant {
    View,
    Control,
    /// Host administration: create, stop and restart sessions. It lives
    /// in the auth file only: it implies no other grant and the host never
    /// sends it on the wire.
    Admin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    #[default]
    Control,
    View,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Follower,
}

/// Error codes of `error` messages. Clients map codes they do not know to
/// `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadRequest,
    UnknownType,
    NotOwner,
    OwnerPresent,
    NotEligible,
    UnknownRequest,
    AlreadyResolved,
    Busy,
    AgentExited,
    TooLarge,
    Gap,
    RateLimited,
    #[serde(other)]
    Other,
}

/// The session as described in `ready`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionDescription {
    pub id: String,
    pub epoch: String,
    pub title: String,
    pub agent: String,
    pub cwd: String,
    pub started_at: String,
    /// Rules in force (see `rule_added`); absent when there are none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<super::Rule>,
    /// Whether the agent can run an input the owner edited before allowing
    /// it (`updated_input`); `false` for ACP and replay agents. Absent
    /// (an older host): `true`.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub takes_updated_input: bool,
}

fn yes() -> bool {
    true
}

fn is_true(value: &bool) -> bool {
    *value
}

/// Who the connection is (`ready.you`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct You {
    pub participant: String,
    pub identity: String,
    pub grants: Vec<Grant>,
    pub mode: Mode,
}

/// One entry of a `participants` message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParticipantInfo {
    pub id: String,
    pub identity: String,
    pub role: Role,
    pub grants: Vec<Grant>,
    pub mode: Mode,
    #[serde(default)]
    pub client: Option<String>,
    pub connected_at: String,
}

/// The owner slot held for a disconnected owner (`participants.owner_slot`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnerSlot {
    /// The identity that becomes owner again if it reconnects in time.
    pub held_for: String,
    /// How long the slot stays held, from when the message was sent.
    pub expires_in_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    Ready {
        protocol: u32,
        session: SessionDescription,
        you: You,
        last_seq: u64,
        state: AgentState,
        pending: Vec<EventRecord>,
        /// The latest mode, modes, commands, plan and usage the agent
        /// reported (absent when it reported none). Boxed: rare and large.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        agent: Option<Box<AgentInfo>>,
        /// Additions to v1 this host serves (`"history"`); absent from an
        /// older host.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        features: Vec<String>,
    },
    Role {
        role: Role,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    Participants {
        participants: Vec<ParticipantInfo>,
        /// How many participants the list leaves out (a host lists at most
        /// 100; the owner and those who may own always).
        #[serde(default, skip_serializing_if = "is_zero")]
        unlisted: u64,
        /// Present only while the owner slot is held for a disconnected
        /// owner; absent with no owner listed means the slot is free.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        owner_slot: Option<OwnerSlot>,
    },
    Event(EventRecord),
    CaughtUp {
        seq: u64,
    },
    Ack {
        id: String,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        duplicate: bool,
    },
    Error {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        code: ErrorCode,
        message: String,
        /// With `gap`: the oldest seq still retained.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        oldest: Option<u64>,
    },
    Pong {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
    },
    /// The answer to a `history` request (to the sender only).
    History(HistoryPage),
    /// Events `from..=to`, output of a flood, were not sent to this
    /// connection: it asked for the newest output of each moment of a flood
    /// (`flood=tail`). The events after `to` follow; `history` serves
    /// these.
    Skipped {
        from: u64,
        to: u64,
    },
    /// A message type this build does not know; clients ignore it.
    #[serde(other)]
    Unknown,
}

/// What `ready.features` lists when the host answers `history`.
pub const FEATURE_HISTORY: &str = "history";

/// A page of history: `events` are `event` messages as they were sent
/// live, oldest first.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct HistoryPage {
    pub id: String,
    pub events: Vec<EventRecord>,
    /// The oldest seq the host can serve at all (1 with a journal).
    pub oldest: u64,
    /// The newest seq of the session when the page was made.
    pub last_seq: u64,
    /// With `find`: the seq of the matching event (the page's last).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub found: Option<u64>,
    /// With `find` and no match yet: the search looked at every event
    /// from this seq up to `before`; ask again with it as `before` to
    /// search further back (each answer scans a bounded amount).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub searched_from: Option<u64>,
    /// With `find` and `forward` and no match yet: the search looked at
    /// every event after `after` up to this seq; ask again with it as
    /// `after` to search further on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub searched_to: Option<u64>,
}

impl ServerMessage {
    pub fn error(id: Option<String>, code: ErrorCode, message: impl Into<String>) -> Self {
        ServerMessage::Error {
            id,
            code,
            message: message.into(),
            oldest: None,
        }
    }

    pub fn ack(id: String) -> Self {
        ServerMessage::Ack {
            id,
            duplicate: false,
        }
    }

    /// Serialises to the JSON text of one frame.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("server messages always serialise")
    }
}

/// Decodes one frame from the host. Event frames, by far the most common,
/// skip serde's buffering of the outer internally tagged enum (which
/// copies the whole object before choosing a variant); those that carry
/// text are read without serde at all (see `fast_event`).
pub fn decode_server_message(text: &str) -> serde_json::Result<ServerMessage> {
    if let Some(record) = super::fast_event::decode_text_event(text) {
        return Ok(ServerMessage::Event(record));
    }
    #[derive(Deserialize)]
    struct EventFrame {
        seq: u64,
        ts: String,
        event: super::events::EventKind,
    }
    if text.starts_with(r#"{"type":"event","#)
        && let Ok(frame) = serde_json::from_str::<EventFrame>(text)
    {
        return Ok(ServerMessage::Event(EventRecord {
            seq: frame.seq,
            ts: frame.ts,
            event: frame.event,
        }));
    }
    serde_json::from_str(text)
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EventKind;

    #[test]
    fn the_event_fast_path_decodes_like_serde() {
        let frames = [
            ServerMessage::Event(EventRecord { seq: 7, ts: "t".into(), event: EventKind::Interrupt { by: "a".into() } }).to_json(),
            r#"{"type":"event","seq":1,"ts":"t","event":{"kind":"future_kind","x":1}}"#.to_owned(),
            r#"{"type":"event","ts":"t","seq":2,"event":{"kind":"assistant","text":"hi"},"extra":true}"#.to_owned(),
            r#"{"type":"caught_up","seq":3}"#.to_owned(),
        ];
        for frame in frames {
            let slow: ServerMessage = serde_json::from_str(&frame).unwrap();
            assert_eq!(decode_server_message(&frame).unwrap(), slow, "{frame}");
        }
    }
}
