//! The session task: owns the [`Session`] state machine, the journal and
//! the agent, and carries out the outputs the state machine returns.
//!
//! Every input (a join, a leave, a client message, an agent event) goes
//! through one mpsc queue, so the state machine sees one thing at a time
//! and the order in which events are journaled is the order everyone sees.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::agent::{AgentHandle, AgentInput, sleep_until_some};
use super::journal::{Journal, JournalCursor};
use super::session::{At, Join, Output, ParticipantId, ReplayPlan, Session};
use crate::protocol::{ClientMessage, EventKind, NoticeLevel, ServerMessage, SessionSummary};

/// How long the agent gets to stop when the host shuts down.
const AGENT_STOP_TIMEOUT: Duration = Duration::from_secs(4);
/// How long connections get to say goodbye when the host shuts down.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);
/// Targeted messages (acks, errors, roles) queued per connection.
const DIRECT_QUEUE: usize = 256;
/// A burst of joins or leaves within this window makes one `participants`
/// message, not one per change: with N followers joining, per-change
/// messages would cost O(N^2) frames of O(N) bytes.
const PARTICIPANTS_COALESCE: Duration = Duration::from_millis(50);

/// A request from a connection (or the host) to the session task.
pub enum Request {
    Join {
        join: Join,
        /// The bearer token it authenticated with (to close it on revocation).
        token: String,
        reply: oneshot::Sender<Joined>,
    },
    Leave {
        id: ParticipantId,
    },
    Message {
        id: ParticipantId,
        message: ClientMessage,
    },
    Summary {
        reply: oneshot::Sender<SessionSummary>,
    },
    /// An event raised by the embedding program (benchmarks, tools).
    Inject {
        event: EventKind,
    },
    /// Close every connection that authenticated with `token` (revoked).
    Disconnect {
        token: String,
        code: u16,
        reason: String,
    },
    Shutdown {
        done: oneshot::Sender<()>,
    },
}

/// What a connection receives apart from the broadcast.
pub enum Direct {
    Frame(Utf8Bytes),
    Replay(Box<ReplayJob>),
    Close { code: u16, reason: String },
}

/// A replay to carry out on one connection: journal part, memory part,
/// then `caught_up`.
pub struct ReplayJob {
    pub journal: Option<(JournalCursor, u64, u64)>,
    pub frames: Vec<Bytes>,
    pub caught_up: u64,
    pub gap_oldest: Option<u64>,
}

/// Everything a new connection needs.
pub struct Joined {
    pub id: ParticipantId,
    /// `ready` and `role`.
    pub greeting: Vec<Utf8Bytes>,
    /// The entries of the `participants` message that follows them.
    pub participants: Vec<Arc<str>>,
    pub replay: ReplayJob,
    pub direct: mpsc::Receiver<Direct>,
    pub broadcast: broadcast::Receiver<Utf8Bytes>,
}

struct Link {
    token: String,
    direct: mpsc::Sender<Direct>,
}

pub struct Runtime {
    pub session: Session,
    pub journal: Option<Journal>,
    pub agent: AgentHandle,
    pub agent_events: mpsc::Receiver<EventKind>,
    pub requests: mpsc::Receiver<Request>,
    pub broadcast: broadcast::Sender<Utf8Bytes>,
    /// Flipped to true when the host shuts down: connections close with 1001.
    pub closing: watch::Sender<bool>,
    /// When the coalesced `participants` message is due.
    pub participants_due: Option<tokio::time::Instant>,
}

fn frame(message: &ServerMessage) -> Utf8Bytes {
    Utf8Bytes::from(message.to_json())
}

/// The opening and closing of a `participants` message around its entries.
pub const PARTICIPANTS_OPEN: &str = r#"{"type":"participants","participants":["#;
pub const PARTICIPANTS_CLOSE: &str = "]}";

/// A whole `participants` message from its entries, in one allocation.
pub fn participants_frame(entries: &[Arc<str>]) -> Utf8Bytes {
    let size = PARTICIPANTS_OPEN.len()
        + PARTICIPANTS_CLOSE.len()
        + entries.iter().map(|e| e.len() + 1).sum::<usize>();
    let mut text = String::with_capacity(size);
    text.push_str(PARTICIPANTS_OPEN);
    for (i, entry) in entries.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push_str(entry);
    }
    text.push_str(PARTICIPANTS_CLOSE);
    Utf8Bytes::from(text)
}

fn event_frame(bytes: Bytes) -> Utf8Bytes {
    Utf8Bytes::try_from(bytes).expect("event frames are serialised JSON text")
}

impl Runtime {
    pub async fn run(mut self) {
        let mut links: HashMap<ParticipantId, Link> = HashMap::new();
        let mut agent_done = false;
        let shutdown_reply = loop {
            let participants_due = self.participants_due;
            tokio::select! {
                () = sleep_until_some(participants_due) => {
                    self.participants_due = None;
                    let list = participants_frame(&self.session.participant_entries());
                    let _ = self.broadcast.send(list);
                }
                event = self.agent_events.recv(), if !agent_done => match event {
                    Some(event) => {
                        let out = self.session.agent_event(event, At::now());
                        self.dispatch(out, &mut links, None);
                    }
                    None => agent_done = true,
                },
                request = self.requests.recv() => match request {
                    None => break None,
                    Some(Request::Shutdown { done }) => break Some(done),
                    Some(request) => self.handle(request, &mut links),
                },
            }
        };
        // Shutting down: stop the agent and record how it ended.
        let _ = self.agent.input.send(AgentInput::Shutdown);
        let deadline = tokio::time::Instant::now() + AGENT_STOP_TIMEOUT;
        while !agent_done {
            match tokio::time::timeout_at(deadline, self.agent_events.recv()).await {
                Ok(Some(event)) => {
                    let out = self.session.agent_event(event, At::now());
                    self.dispatch(out, &mut links, None);
                }
                Ok(None) => agent_done = true,
                Err(_) => {
                    self.agent.task.abort();
                    let out = self.session.host_event(
                        EventKind::notice(NoticeLevel::Warn, "the agent did not stop in time"),
                        At::now(),
                    );
                    self.dispatch(out, &mut links, None);
                    break;
                }
            }
        }
        if let Some(journal) = &mut self.journal
            && let Err(e) = journal.flush()
        {
            tracing::error!("journal flush failed at shutdown: {e:#}");
        }
        let _ = self.closing.send(true);
        // Let the connections send their close frames and leave.
        let deadline = tokio::time::Instant::now() + CLOSE_TIMEOUT;
        while !links.is_empty() {
            match tokio::time::timeout_at(deadline, self.requests.recv()).await {
                Ok(Some(Request::Leave { id })) => {
                    links.remove(&id);
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
        if let Some(done) = shutdown_reply {
            let _ = done.send(());
        }
    }

    fn handle(&mut self, request: Request, links: &mut HashMap<ParticipantId, Link>) {
        match request {
            Request::Join { join, token, reply } => {
                let (id, out) = self.session.join(join, At::now());
                let mut joined = None;
                self.dispatch(out, links, Some((&mut joined, token)));
                match joined {
                    Some(joined) => {
                        if reply.send(joined).is_err() {
                            // The connection went away while joining.
                            links.remove(&id);
                            let out = self.session.leave(id, At::now());
                            self.dispatch(out, links, None);
                        }
                    }
                    None => unreachable!("a join always yields a welcome"),
                }
            }
            Request::Leave { id } => {
                links.remove(&id);
                let out = self.session.leave(id, At::now());
                self.dispatch(out, links, None);
            }
            Request::Message { id, message } => {
                let out = self.session.handle(id, message, At::now());
                self.dispatch(out, links, None);
            }
            Request::Summary { reply } => {
                let _ = reply.send(self.session.summary());
            }
            Request::Inject { event } => {
                let out = self.session.host_event(event, At::now());
                self.dispatch(out, links, None);
            }
            Request::Disconnect {
                token,
                code,
                reason,
            } => {
                for link in links.values().filter(|l| l.token == token) {
                    let close = Direct::Close {
                        code,
                        reason: reason.clone(),
                    };
                    let _ = link.direct.try_send(close);
                }
            }
            Request::Shutdown { .. } => unreachable!("handled by the loop"),
        }
    }

    /// Carries out the state machine's outputs in order. Events are
    /// journaled (and flushed) before anything of this batch is sent.
    fn dispatch(
        &mut self,
        outputs: Vec<Output>,
        links: &mut HashMap<ParticipantId, Link>,
        mut welcome: Option<(&mut Option<Joined>, String)>,
    ) {
        self.journal_events(&outputs);
        for output in outputs {
            match output {
                Output::Send { to, message } => {
                    self.send_direct(links, to, Direct::Frame(frame(&message)))
                }
                Output::ParticipantsChanged => {
                    if self.participants_due.is_none() {
                        self.participants_due =
                            Some(tokio::time::Instant::now() + PARTICIPANTS_COALESCE);
                    }
                }
                Output::Event { frame, .. } => {
                    let _ = self.broadcast.send(event_frame(frame));
                }
                Output::Replay { to, replay } => {
                    let job = self.replay_job(replay);
                    self.send_direct(links, to, Direct::Replay(Box::new(job)));
                }
                Output::Welcome {
                    to,
                    messages,
                    participants,
                    replay,
                } => {
                    let Some((slot, token)) = welcome.take() else {
                        continue;
                    };
                    let (direct, direct_rx) = mpsc::channel(DIRECT_QUEUE);
                    links.insert(to, Link { token, direct });
                    *slot = Some(Joined {
                        id: to,
                        greeting: messages.iter().map(frame).collect(),
                        participants,
                        replay: self.replay_job(replay),
                        direct: direct_rx,
                        // Subscribed only now: it must not get the broadcasts above.
                        broadcast: self.broadcast.subscribe(),
                    });
                }
                Output::Agent(command) => {
                    let _ = self.agent.input.send(AgentInput::Command(command));
                }
            }
        }
    }

    pub(super) fn journal_events(&mut self, outputs: &[Output]) {
        let Some(journal) = &mut self.journal else {
            return;
        };
        let mut wrote = false;
        for output in outputs {
            if let Output::Event { seq, frame } = output {
                if let Err(e) = journal.append(*seq, frame) {
                    tracing::error!("journal append failed: {e:#}");
                }
                wrote = true;
            }
        }
        if wrote && let Err(e) = journal.flush() {
            tracing::error!("journal flush failed: {e:#}");
        }
    }

    /// A connection whose targeted queue is full is not reading: dropping
    /// its link closes it (1008), and it can reconnect and resume.
    fn send_direct(
        &self,
        links: &mut HashMap<ParticipantId, Link>,
        to: ParticipantId,
        message: Direct,
    ) {
        let Some(link) = links.get(&to) else { return };
        if link.direct.try_send(message).is_err() {
            tracing::warn!("{to}: outgoing queue full; disconnecting");
            links.remove(&to);
        }
    }

    fn replay_job(&self, plan: ReplayPlan) -> ReplayJob {
        let journal = match (plan.from_journal, &self.journal) {
            (Some((after, before)), Some(journal)) => Some((journal.cursor(after), after, before)),
            _ => None,
        };
        ReplayJob {
            journal,
            frames: plan.frames,
            caught_up: plan.caught_up,
            gap_oldest: plan.gap_oldest,
        }
    }
}
