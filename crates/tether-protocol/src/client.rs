//! Messages from client to host, and the host's strict decoder for them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::events::Decision;
use super::server::{ErrorCode, ServerMessage};

/// Declares [`ClientMessage`], one variant per message, each wrapping the
/// struct of the same name, and [`KNOWN_TYPES`] from the same list: a
/// message's `type` is written once.
macro_rules! client_messages {
    ($($(#[$doc:meta])* $name:literal => $variant:ident,)*) => {
        /// A message from a client to the host (docs/protocol.md section 4).
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "type")]
        pub enum ClientMessage {
            $(
                $(#[$doc])*
                #[serde(rename = $name)]
                $variant($variant),
            )*
        }

        /// The `type` of every [`ClientMessage`].
        const KNOWN_TYPES: &[&str] = &[$($name),*];
    };
}

client_messages! {
    "user_message" => UserMessage,
    "permission_decision" => PermissionDecision,
    "interrupt" => Interrupt,
    "claim" => Claim,
    "release" => Release,
    "transfer" => Transfer,
    /// Removes a rule the host keeps (owner only).
    "remove_rule" => RemoveRule,
    /// Switches the agent to one of its modes (owner only).
    "set_mode" => SetMode,
    "resume" => Resume,
    "ping" => Ping,
    /// Asks for a page of older events (docs/protocol.md 8, "History").
    "history" => HistoryRequest,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserMessage {
    pub id: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PermissionDecision {
    pub id: String,
    pub request_id: String,
    pub decision: Decision,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_input: Option<Value>,
    /// The id of one of the request's `options`; its kind must agree
    /// with `decision`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub option: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interrupt {
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claim {
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Release {
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transfer {
    pub id: String,
    pub to: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoveRule {
    pub id: String,
    pub rule: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetMode {
    pub id: String,
    pub mode: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resume {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub since: u64,
}

/// A page of the session's history, answered with a `history` message to
/// the sender only; the live stream and the resume point are untouched.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct HistoryRequest {
    pub id: String,
    /// The page ends just before this seq (newest events of the range);
    /// absent: the page starts just after `after` (oldest of the range).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<u64>,
    /// Only events with a greater seq (0: from the start).
    #[serde(default)]
    pub after: u64,
    /// At most this many bytes of event frames (at least one event is
    /// always sent); the host caps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<usize>,
    /// At most this many events; the host caps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    /// Search: the newest event of the range whose text contains this
    /// (ASCII case ignored); the page then ends with that event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub find: Option<String>,
    /// With `find`: the oldest such event instead, the page starting
    /// with it (a search going forward, "next").
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub forward: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ping {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

impl ClientMessage {
    /// The client-chosen id, echoed in the answer.
    pub fn id(&self) -> Option<&str> {
        match self {
            ClientMessage::UserMessage(UserMessage { id, .. })
            | ClientMessage::PermissionDecision(PermissionDecision { id, .. })
            | ClientMessage::Interrupt(Interrupt { id })
            | ClientMessage::Claim(Claim { id })
            | ClientMessage::Release(Release { id })
            | ClientMessage::Transfer(Transfer { id, .. })
            | ClientMessage::RemoveRule(RemoveRule { id, .. })
            | ClientMessage::SetMode(SetMode { id, .. })
            | ClientMessage::HistoryRequest(HistoryRequest { id, .. }) => Some(id),
            ClientMessage::Resume(Resume { id, .. }) | ClientMessage::Ping(Ping { id }) => {
                id.as_deref()
            }
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("client messages always serialise")
    }
}

/// Why a frame could not be decoded into a [`ClientMessage`]. Carries the
/// message id when one could be read, so the error can echo it.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodeError {
    pub id: Option<String>,
    pub code: ErrorCode,
    pub message: String,
}

impl DecodeError {
    fn bad(id: Option<String>, message: impl Into<String>) -> Self {
        DecodeError {
            id,
            code: ErrorCode::BadRequest,
            message: message.into(),
        }
    }

    pub fn into_message(self) -> ServerMessage {
        ServerMessage::error(self.id, self.code, self.message)
    }
}

/// Decodes one text frame: `bad_request` for malformed JSON or a missing or
/// mistyped field, `unknown_type` for a type this host does not know. Unknown
/// extra fields are ignored.
pub fn decode_client_message(text: &str) -> Result<ClientMessage, DecodeError> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| DecodeError::bad(None, format!("malformed JSON: {e}")))?;
    let Value::Object(map) = &value else {
        return Err(DecodeError::bad(None, "a message must be a JSON object"));
    };
    let id = match map.get("id") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) => Some(id.clone()),
        Some(_) => return Err(DecodeError::bad(None, "`id` must be a string")),
    };
    let kind = match map.get("type") {
        Some(Value::String(kind)) => kind.as_str(),
        Some(_) => return Err(DecodeError::bad(id, "`type` must be a string")),
        None => return Err(DecodeError::bad(id, "missing field `type`")),
    };
    if !KNOWN_TYPES.contains(&kind) {
        return Err(DecodeError {
            message: format!("unknown message type `{}`", truncate(kind, 64)),
            id,
            code: ErrorCode::UnknownType,
        });
    }
    serde_json::from_value(value.clone())
        .map_err(|e| DecodeError::bad(id, format!("invalid `{kind}` message: {e}")))
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((at, _)) => &s[..at],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(text: &str) -> (Option<String>, ErrorCode) {
        let e = decode_client_message(text).unwrap_err();
        (e.id, e.code)
    }

    #[test]
    fn decodes_every_known_type() {
        let cases = [
            r#"{"type":"user_message","id":"1","text":"hi"}"#,
            r#"{"type":"permission_decision","id":"2","request_id":"r","decision":"deny","message":"no"}"#,
            r#"{"type":"permission_decision","id":"2","request_id":"r","decision":"allow","option":"allow_always_1"}"#,
            r#"{"type":"interrupt","id":"3"}"#,
            r#"{"type":"claim","id":"4"}"#,
            r#"{"type":"release","id":"5"}"#,
            r#"{"type":"transfer","id":"6","to":"p2"}"#,
            r#"{"type":"remove_rule","id":"7","rule":"rule-1"}"#,
            r#"{"type":"set_mode","id":"8","mode":"plan"}"#,
            r#"{"type":"resume","since":7}"#,
            r#"{"type":"ping"}"#,
            r#"{"type":"history","id":"h","before":90,"max_bytes":65536,"find":"needle"}"#,
        ];
        let mut seen = std::collections::BTreeSet::new();
        for text in cases {
            let msg = decode_client_message(text).unwrap();
            let again = decode_client_message(&msg.to_json()).unwrap();
            assert_eq!(msg, again, "{text}");
            let value: Value = serde_json::from_str(&msg.to_json()).unwrap();
            seen.insert(value["type"].as_str().unwrap().to_owned());
        }
        let known: std::collections::BTreeSet<_> =
            KNOWN_TYPES.iter().map(|t| (*t).to_owned()).collect();
        assert_eq!(seen, known, "every message type has a case here");
    }

    #[test]
    fn every_known_type_is_decoded_as_that_type() {
        for kind in KNOWN_TYPES {
            let e = decode_client_message(&format!(r#"{{"type":"{kind}","id":"x"}}"#));
            assert!(
                e.as_ref()
                    .map_or_else(|e| e.code != ErrorCode::UnknownType, |_| true),
                "{kind}: {e:?}"
            );
        }
    }

    #[test]
    fn the_wire_form_is_unchanged() {
        let decision = ClientMessage::PermissionDecision(PermissionDecision {
            id: "2".into(),
            request_id: "r".into(),
            decision: Decision::Deny,
            message: Some("no".into()),
            updated_input: None,
            option: None,
        });
        assert_eq!(
            decision.to_json(),
            r#"{"type":"permission_decision","id":"2","request_id":"r","decision":"deny","message":"no"}"#
        );
        let ping = ClientMessage::Ping(Ping { id: None });
        assert_eq!(ping.to_json(), r#"{"type":"ping"}"#);
    }

    #[test]
    fn bad_input_maps_to_precise_codes() {
        assert_eq!(code("{nope"), (None, ErrorCode::BadRequest));
        assert_eq!(code("[1,2]"), (None, ErrorCode::BadRequest));
        assert_eq!(
            code(r#"{"type":"dance","id":"x"}"#),
            (Some("x".into()), ErrorCode::UnknownType)
        );
        assert_eq!(
            code(r#"{"type":"user_message","id":"x"}"#),
            (Some("x".into()), ErrorCode::BadRequest)
        );
        assert_eq!(
            code(r#"{"type":"user_message","text":"no id"}"#),
            (None, ErrorCode::BadRequest)
        );
        assert_eq!(
            code(r#"{"type":"user_message","id":5,"text":"t"}"#),
            (None, ErrorCode::BadRequest)
        );
        assert_eq!(
            code(r#"{"type":"permission_decision","id":"d","request_id":"r","decision":"maybe"}"#),
            (Some("d".into()), ErrorCode::BadRequest)
        );
        assert_eq!(code(r#"{"type":7}"#), (None, ErrorCode::BadRequest));
    }

    #[test]
    fn unknown_fields_are_ignored() {
        let msg = decode_client_message(r#"{"type":"ping","id":"p","future":{"x":1}}"#).unwrap();
        assert_eq!(
            msg,
            ClientMessage::Ping(Ping {
                id: Some("p".into())
            })
        );
    }
}
