//! What a host says about its sessions as a whole: the entries of
//! `GET /v1/sessions` and the messages of the lobby WebSocket
//! (`/v1/lobby`), so a dashboard knows where it is needed without a
//! connection per session.

use serde::{Deserialize, Serialize};

use super::events::AgentState;

/// One session as `GET /v1/sessions` and the lobby list it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionSummary {
    pub id: String,
    pub title: String,
    /// Where the session stands in its host's list: configured sessions
    /// in the config file's order, then created ones as they were created.
    /// A session keeps its place while it runs. Absent from older hosts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<u64>,
    /// The agent kind (`shell`, `stream-json`, `acp`, `replay`).
    pub agent: String,
    /// The configured preset the session was started from, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    #[serde(default)]
    pub cwd: String,
    pub state: AgentState,
    /// Why the agent exited or could not start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Whose the owner slot is (the owner, or the identity it is held for
    /// while it reconnects); `null` when anyone with control may claim it.
    #[serde(default)]
    pub owner: Option<String>,
    pub participants: usize,
    /// Open permission requests.
    #[serde(default)]
    pub pending: usize,
    /// The same count under its older name, for clients of the first
    /// one-session hosts.
    pub pending_permissions: usize,
    /// The open requests, oldest first.
    #[serde(default)]
    pub pending_requests: Vec<PendingSummary>,
    /// When the last event happened (RFC 3339), empty before any.
    #[serde(default)]
    pub last_activity: String,
    #[serde(default)]
    pub epoch: String,
    pub last_seq: u64,
}

/// One open permission request, as the lobby shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingSummary {
    pub request_id: String,
    pub tool: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What it is about, from its preview: the command, or the file an
    /// edit changes (at most 200 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// When it was raised (RFC 3339, the host's clock; `now` in the lobby
    /// message is the same clock, so ages need no synchronised clocks).
    pub requested_at: String,
}

/// A preset the host has but cannot start now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnavailablePreset {
    pub name: String,
    /// One line: what is missing and how it is usually installed.
    pub why: String,
    /// The command that usually installs what is missing, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install: Option<String>,
}

/// The token a lobby connection authenticated with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LobbyYou {
    /// The identity sessions name as their `owner`.
    pub identity: String,
    /// `view`, `control` (as a session's `ready` says them).
    pub grants: Vec<super::Grant>,
}

/// A message on the lobby WebSocket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LobbyMessage {
    /// Every session the token may see; first, and again after the
    /// connection fell behind.
    Sessions {
        now: String,
        sessions: Vec<SessionSummary>,
        /// For tokens with the `admin` grant: the presets sessions can be
        /// created from, and the directories they may run under.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        presets: Vec<String>,
        /// For admins: the presets that cannot start on the host now (their
        /// program is missing), not among `presets`, each with why.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        unavailable: Vec<UnavailablePreset>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        workspaces: Vec<String>,
        /// Who the token is: a session whose `owner` is this identity, or
        /// that nobody owns, is this client's to answer (with `control`).
        /// Absent from older hosts.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        you: Option<LobbyYou>,
    },
    /// One session changed (or was created).
    Session {
        now: String,
        session: Box<SessionSummary>,
    },
    /// A session was stopped and removed.
    SessionRemoved { id: String },
    /// The answer to a [`LobbyRequest`] that worked: the new session.
    Created {
        id: String,
        session: Box<SessionSummary>,
    },
    /// The answer to a `delete_session` or `restart_session` that worked
    /// (what changed follows as `session_removed` or `session`).
    Done { id: String },
    /// The answer to a [`LobbyRequest`] that did not: `code` is the HTTP
    /// status the same request gets over HTTP (400, 403, 404, 409).
    Refused {
        id: String,
        code: u16,
        message: String,
        /// The directory asked for does not exist (and lies where it may
        /// be made): asked again with `create_dir`, the host makes it.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        missing_dir: bool,
    },
    /// A type this build does not know; clients skip it.
    #[serde(other)]
    Unknown,
}

impl LobbyMessage {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("lobby messages serialise")
    }
}

/// What a client may ask on the lobby WebSocket (what `POST /v1/sessions`
/// does, for clients that hold a lobby connection anyway).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LobbyRequest {
    CreateSession {
        /// Echoed in the answer.
        id: String,
        agent: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cwd: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
        /// Make `cwd` (under a workspace) if it does not exist.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        create_dir: bool,
    },
    /// Stop `session` and retire its history (admins), as `DELETE
    /// /v1/sessions/{id}` does; answered with `done` or `refused`.
    DeleteSession {
        /// Echoed in the answer.
        id: String,
        session: String,
    },
    /// Start `session`'s agent again (admins, and whoever may own it), as
    /// `POST /v1/sessions/{id}/restart` does; answered with `done` or
    /// `refused`.
    RestartSession {
        /// Echoed in the answer.
        id: String,
        session: String,
    },
}
