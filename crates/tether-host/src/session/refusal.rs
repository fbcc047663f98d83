//! A refused client message, and the one way it becomes an `error`.

use crate::protocol::{ErrorCode, ServerMessage};

/// Why a client message had no effect.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub code: ErrorCode,
    pub message: String,
}

impl Refusal {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Refusal {
            code,
            message: message.into(),
        }
    }

    /// An owner-only action from someone who is not the owner.
    pub fn not_owner(action: &str) -> Self {
        Refusal::new(
            ErrorCode::NotOwner,
            format!("read-only follower: only the owner may {action}"),
        )
    }

    /// The `error` message answering the client message with id `id`.
    pub fn into_error(self, id: Option<String>) -> ServerMessage {
        ServerMessage::error(id, self.code, self.message)
    }
}
