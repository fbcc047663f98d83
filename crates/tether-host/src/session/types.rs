//! The session's inputs and outputs, and its static settings.

use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

use super::log::{Frame, HistoryBudget, ReplayPlan};
use super::roster::ParticipantId;
use crate::protocol::{
    Decision, Grant, Mode, OwnerSlot, ServerMessage, SessionDescription, UserMessage,
};

/// A moment, on both clocks: monotonic for deadlines, wall for timestamps.
#[derive(Debug, Clone, Copy)]
pub struct At {
    pub mono: Instant,
    pub wall: SystemTime,
}

impl At {
    pub fn now() -> Self {
        At {
            mono: Instant::now(),
            wall: SystemTime::now(),
        }
    }
}

/// What the session needs to know about its agent's input rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgentTraits {
    /// Whether it takes user messages at all (a replay does not).
    pub takes_input: bool,
    /// Whether it queues messages sent during a turn (stream-json does);
    /// otherwise such a message is refused with `busy`.
    pub queues_input: bool,
    /// Whether it can run an input the owner edited (`updated_input`);
    /// an answer carrying one is refused otherwise (ACP cannot carry it).
    pub takes_updated_input: bool,
}

/// A command for the agent, produced by an owner's action.
#[derive(Debug, Clone, PartialEq)]
pub enum AgentCommand {
    /// The owner's message, as it came.
    UserMessage(UserMessage),
    /// An answer to a permission request: the owner's, as checked, or the
    /// host's own.
    Decision {
        request_id: String,
        decision: Decision,
        message: Option<String>,
        updated_input: Option<Value>,
        /// The chosen option's id (checked against the request's options).
        option: Option<String>,
    },
    Interrupt,
    /// Switch to one of the modes the agent offers (`by`: the owner).
    SetMode {
        mode: String,
        by: String,
    },
    /// The rules in force changed (or were restored): the agent runs
    /// what they allow without asking.
    Rules(Vec<crate::protocol::Rule>),
}

/// Static settings of one session.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    pub description: SessionDescription,
    pub owner_grace: Duration,
    /// How much history memory holds for replays (64 MiB and 100,000
    /// events by default); older replays come from the journal.
    pub history: HistoryBudget,
    /// Whether every event is also on disk, so older replays can be served.
    pub journal: bool,
    pub agent: AgentTraits,
}

impl SessionConfig {
    /// A small in-memory session for tests and fuzzing: session `main`,
    /// 10 s owner grace, no journal, `retain` events (of any size) kept.
    #[cfg(any(test, feature = "fuzzing"))]
    #[doc(hidden)]
    pub fn sample(agent: AgentTraits, retain: usize) -> Self {
        SessionConfig {
            description: SessionDescription {
                id: "main".into(),
                epoch: "e1".into(),
                title: "test".into(),
                agent: "shell".into(),
                cwd: "/tmp".into(),
                started_at: "2026-01-01T00:00:00Z".into(),
                rules: Vec::new(),
                takes_updated_input: agent.takes_updated_input,
            },
            owner_grace: Duration::from_secs(10),
            history: HistoryBudget {
                bytes: usize::MAX,
                frames: retain,
            },
            journal: false,
            agent,
        }
    }
}

/// How far back a connection wants history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    Seq(u64),
    Live,
}

/// A new connection, as the edge authenticated it.
#[derive(Debug, Clone)]
pub struct Join {
    pub identity: String,
    pub grants: Vec<Grant>,
    pub mode: Mode,
    pub client: Option<String>,
    pub since: Since,
    /// Whether it takes a free owner slot on joining (`claim=no` on the
    /// URL: it stays a follower until it sends `claim`). A slot held for
    /// its own identity is its own either way.
    pub claims: bool,
}

/// How to greet a new connection: these messages (`ready`, `role`), then
/// the `participants` message made of these entries and owner slot, then
/// the replay. The connection joins the broadcast only once greeted.
#[derive(Debug, Clone)]
pub struct Welcome {
    pub to: ParticipantId,
    pub messages: Vec<ServerMessage>,
    pub participants: super::roster::Listing,
    pub owner_slot: Option<OwnerSlot>,
    pub replay: ReplayPlan,
}

/// One thing the edges must do, in order.
#[derive(Debug, Clone)]
pub enum Output {
    /// Send to one connection.
    Send {
        to: ParticipantId,
        message: ServerMessage,
    },
    /// The participant list changed: everyone gets a fresh `participants`
    /// message. The edge may coalesce a burst of changes (a join storm)
    /// into one message built from [`super::Session::participant_entries`].
    ParticipantsChanged,
    /// A new event: append it to the journal, then broadcast the frame.
    Event {
        seq: u64,
        frame: Frame,
        /// An `output` event (which a flood may skip for some connections).
        output: bool,
    },
    /// Replay history to one connection, then `caught_up`.
    Replay {
        to: ParticipantId,
        replay: ReplayPlan,
    },
    /// Answer a `history` request with this page (read, trimmed and sent
    /// by the edge).
    History {
        to: ParticipantId,
        request: crate::protocol::HistoryRequest,
        plan: super::log::PagePlan,
    },
    Agent(AgentCommand),
}
