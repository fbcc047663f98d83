//! Messages from client to host, and the host's strict decoder for them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::events::Decision;
use super::server::{ErrorCode, ServerMessage};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    UserMessage {
        id: String,
        text: String,
    },
    PermissionDecision {
        id: String,
        request_id: String,
        decision: Decision,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        updated_input: Option<Value>,
        /// The id of one of the request's `options`; its kind must agree
        /// with `decision`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        option: Option<String>,
    },
    Interrupt {
        id: String,
    },
    Claim {
        id: String,
    },
    Release {
        id: String,
    },
    Transfer {
        id: String,
        to: String,
    },
    /// Removes a rule the host keeps (owner only).
    RemoveRule {
        id: String,
        rule: String,
    },
    /// Switches the agent to one of its modes (owner only).
    SetMode {
        id: String,
        mode: String,
    },
    Resume {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        since: u64,
    },
    Ping {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
    },
}

const KNOWN_TYPES: &[&str] = &[
    "user_message",
    "permission_decision",
    "interrupt",
    "claim",
    "release",
    "transfer",
    "remove_rule",
    "set_mode",
    "resume",
    "ping",
];

impl ClientMessage {
    /// The client-chosen id, echoed in the answer.
    pub fn id(&self) -> Option<&str> {
        match self {
            ClientMessage::UserMessage { id, .. }
            | ClientMessage::PermissionDecision { id, .. }
            | ClientMessage::Interrupt { id }
            | ClientMessage::Claim { id }
            | ClientMessage::Release { id }
            | ClientMessage::Transfer { id, .. }
            | ClientMessage::RemoveRule { id, .. }
            | ClientMessage::SetMode { id, .. } => Some(id),
            ClientMessage::Resume { id, .. } | ClientMessage::Ping { id } => id.as_deref(),
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
            r#"{"type":"set_mode","id":"8","mode":"plan"}"#,
            r#"{"type":"resume","since":7}"#,
            r#"{"type":"ping"}"#,
        ];
        for text in cases {
            let msg = decode_client_message(text).unwrap();
            let again = decode_client_message(&msg.to_json()).unwrap();
            assert_eq!(msg, again, "{text}");
        }
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
            ClientMessage::Ping {
                id: Some("p".into())
            }
        );
    }
}
