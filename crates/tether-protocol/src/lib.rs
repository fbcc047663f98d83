//! Wire types of protocol v1, shared by the host and every client.
//!
//! Nothing here does I/O: these are serde types plus the strict decoder the
//! host uses for client messages (`decode_client_message`), so that bad input
//! always maps to a precise error code.

mod agent;
/// Scanning bytes eight at a time (shared with the terminal UI).
pub mod bytescan;
mod client;
mod events;
pub mod fast_event;
mod lobby;
mod owner;
pub mod relay;
mod rules;
mod server;

pub use agent::{AgentInfo, AgentMode, PlanEntry, PlanPriority, PlanStatus, SlashCommand, Usage};
// Every client message's struct, `ClientMessage` and its decoder: a new
// message needs no line here.
pub use client::*;
pub use events::{
    AgentState, Decision, EventKind, EventRecord, NoticeLevel, OutputStream, PermissionOption,
    PermissionOptionKind, Preview, TurnOutcome,
};
pub use lobby::{
    LobbyMessage, LobbyRequest, LobbyYou, PendingSummary, SessionSummary, UnavailablePreset,
};
pub use owner::{OwnerConnection, OwnerReason};
pub use rules::{Rule, RuleSpec};
pub use server::{
    ErrorCode, FEATURE_HISTORY, Grant, HistoryPage, Mode, OwnerSlot, ParticipantInfo, Role,
    ServerMessage, SessionDescription, You, decode_server_message,
};

/// The protocol version this build speaks (`ready.protocol`).
pub const PROTOCOL_VERSION: u32 = 1;

/// Largest WebSocket frame the host accepts; larger ones close with 1009.
pub const MAX_FRAME_BYTES: usize = 1024 * 1024;

/// Longest message `id` the host accepts, in bytes (`bad_request` beyond):
/// the idempotency window keeps the last ids of every identity.
pub const MAX_MESSAGE_ID_BYTES: usize = 128;

/// Largest `user_message.text` the host accepts (`too_large` beyond).
pub const MAX_USER_TEXT_BYTES: usize = 256 * 1024;

/// Close codes used by the host.
pub mod close_code {
    /// The host is shutting down.
    pub const GOING_AWAY: u16 = 1001;
    /// Policy violation: the connection's outgoing queue overflowed.
    pub const POLICY: u16 = 1008;
    /// A frame larger than [`super::MAX_FRAME_BYTES`].
    pub const TOO_BIG: u16 = 1009;
    /// The host could not do what the connection needs (its history cannot
    /// be read, say); the reason says why.
    pub const INTERNAL: u16 = 1011;
    /// The connection's token was revoked.
    pub const REVOKED: u16 = 4003;
}

/// Formats a wall-clock time as RFC 3339 with millisecond precision (UTC).
pub fn rfc3339(at: std::time::SystemTime) -> String {
    humantime::format_rfc3339_millis(at).to_string()
}
