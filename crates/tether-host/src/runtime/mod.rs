//! The session task: owns the [`Session`] state machine, the journal and
//! the agent, and carries out the outputs the state machine returns.
//!
//! Every input (a join, a leave, a client message, an agent event) goes
//! through one mpsc queue, so the state machine sees one thing at a time
//! and the order in which events are journaled is the order everyone sees.

mod agent_life;
mod agent_slot;
mod alert_feed;
mod handoff;
mod history_page;
mod journal_health;
mod lobby_feed;

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::agent::{AgentInput, sleep_until_some};
use super::journal::{Health, Journal};
use super::lobby::Lobby;
use super::participants::ParticipantsMessage;
use super::session::{
    At, HistoryWindow, Join, Output, ParticipantId, ReplayPlan, SeqRange, Session, Welcome,
};
use crate::protocol::{ClientMessage, EventKind, ServerMessage, SessionSummary};
pub use agent_slot::AgentLauncher;
use agent_slot::AgentSlot;
use alert_feed::AlertFeed;
pub use handoff::{Direct, Feed, Joined, JournalRange, ReplayJob, Shared};
pub use history_page::{HistoryJob, answer_history};
use lobby_feed::LobbyFeed;

/// How long the agent gets to stop when the host shuts down.
pub(super) const AGENT_STOP_TIMEOUT: Duration = Duration::from_secs(4);
/// How long connections get to say goodbye when the host shuts down.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);
/// Targeted messages (acks, errors, roles) queued per connection.
const DIRECT_QUEUE: usize = 256;
/// A burst of joins or leaves within this window makes one `participants`
/// message, not one per change: with N followers joining, per-change
/// messages would cost O(N^2) frames of O(N) bytes.
const PARTICIPANTS_COALESCE: Duration = Duration::from_millis(50);

/// The coalescing window with `connections` connected: 50 ms up to 100,
/// then growing with the square of the number (5 s at 1,000), since each
/// list goes to every one of them and lists every one of them. Without
/// it, 1,000 viewers joining through a broker moved gigabytes of lists.
pub fn participants_coalesce(connections: usize) -> Duration {
    let scale = (connections as f64 / 100.0).max(1.0);
    PARTICIPANTS_COALESCE.mul_f64((scale * scale).min(200.0))
}

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
    /// What every connection receives, for a relay that publishes it once
    /// for all of its viewers (who join as participants apart), with the
    /// events after `since` still in memory.
    Subscribe {
        since: u64,
        reply: oneshot::Sender<Feed>,
    },
    /// What the in-memory history holds (tests, diagnostics).
    History {
        reply: oneshot::Sender<HistoryWindow>,
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
    /// Start the agent again after it exited (`by` names who asked);
    /// refused while it runs.
    Restart {
        by: String,
        reply: oneshot::Sender<Result<(), String>>,
    },
    Shutdown {
        done: oneshot::Sender<()>,
    },
}

/// The session task's handle on one connection.
struct Link {
    token: String,
    direct: mpsc::Sender<Direct>,
}

/// What a session task is made of.
pub struct RuntimeParts {
    pub session: Session,
    pub journal: Option<Journal>,
    pub agent: AgentLauncher,
    pub requests: mpsc::Receiver<Request>,
    pub broadcast: broadcast::Sender<Shared>,
    pub closing: watch::Sender<bool>,
    pub lobby: Arc<Lobby>,
    /// The configured preset the session runs, for the lobby.
    pub preset: Option<String>,
    /// Why the session cannot run (its journal cannot be used): it stays
    /// `exited` with this reason and its agent is never started.
    pub broken: Option<String>,
    /// How long an interrupted agent has to end its turn before it is
    /// stopped and started again.
    pub interrupt_grace: Duration,
    /// Where the session reports what alerts tell of (none: no alerts).
    pub alerts: Option<crate::host::notify::AlertSink>,
}

pub struct Runtime {
    session: Session,
    journal: Option<Journal>,
    agent: AgentSlot,
    lobby: LobbyFeed,
    alerts: AlertFeed,
    requests: mpsc::Receiver<Request>,
    broadcast: broadcast::Sender<Shared>,
    /// Flipped to true when the host shuts down: connections close with 1001.
    closing: watch::Sender<bool>,
    links: HashMap<ParticipantId, Link>,
    /// When the coalesced `participants` message is due.
    participants_due: Option<Instant>,
    /// The owner-slot holder last recorded beside the journal.
    recorded_owner: Option<String>,
    /// When a journal that fell behind next tries to write by itself.
    journal_retry: Option<Instant>,
    /// See [`RuntimeParts::broken`].
    broken: Option<String>,
    /// How long an interrupted agent has to end its turn.
    interrupt_grace: Duration,
    /// When the interrupt sent last must have been honoured.
    interrupt_deadline: Option<Instant>,
}

fn frame(message: &ServerMessage) -> Utf8Bytes {
    Utf8Bytes::from(message.to_json())
}

fn event_frame(bytes: Bytes) -> Utf8Bytes {
    Utf8Bytes::try_from(bytes).expect("event frames are serialised JSON text")
}

impl Runtime {
    /// A runtime for a session that is restored and ready; `startup` are
    /// the outputs of that restore: its events are journaled now (nobody is
    /// connected). Then the agent starts and is told what the restore
    /// implies (the rules in force); an agent that cannot start leaves the
    /// session `exited`, saying why.
    pub fn new(parts: RuntimeParts, startup: &[Output]) -> Self {
        let alerts = AlertFeed::new(parts.alerts, parts.session.id(), &parts.agent.spec);
        let mut runtime = Runtime {
            session: parts.session,
            journal: parts.journal,
            agent: AgentSlot::new(parts.agent),
            lobby: LobbyFeed::new(parts.lobby, parts.preset),
            alerts,
            requests: parts.requests,
            broadcast: parts.broadcast,
            closing: parts.closing,
            links: HashMap::new(),
            participants_due: None,
            recorded_owner: None,
            journal_retry: None,
            broken: parts.broken,
            interrupt_grace: parts.interrupt_grace,
            interrupt_deadline: None,
        };
        runtime.journal_events(startup);
        // One that cannot start has said so (the session is `exited`).
        let _ = runtime.start_agent();
        for output in startup {
            if let Output::Agent(command) = output {
                runtime.agent.send(AgentInput::Command(command.clone()));
            }
        }
        // Written once at start whatever the journal said: with no owner
        // grace a restored owner holds nothing, and the file must agree.
        runtime.write_owner();
        runtime.lobby.publish(&runtime.session);
        runtime
    }

    pub async fn run(mut self) {
        let shutdown_reply = loop {
            let participants_due = self.participants_due;
            let owner_slot_due = self.session.owner_slot_deadline().map(Instant::from_std);
            let lobby_due = self.lobby.due();
            let journal_due = self.journal_retry_due();
            let interrupt_due = self.interrupt_deadline;
            tokio::select! {
                () = sleep_until_some(journal_due) => self.flush_journal(),
                () = sleep_until_some(participants_due) => self.send_participants(),
                () = sleep_until_some(lobby_due) => self.lobby.publish(&self.session),
                // Followers learn that the slot is free without polling.
                () = sleep_until_some(owner_slot_due) => {
                    let out = self.session.expire_owner_slot(At::now());
                    self.dispatch(out);
                    self.record_owner();
                }
                event = self.agent.next_event() => match event {
                    Some(event) => {
                        self.watch_interrupt(&event);
                        self.alerts.agent_event(&event, &self.session);
                        let out = self.session.agent_event(event, At::now());
                        self.dispatch(out);
                    }
                    None => self.agent_ended(true),
                },
                () = sleep_until_some(interrupt_due) => self.interrupt_not_honoured().await,
                request = self.requests.recv() => match request {
                    None => break None,
                    // Restarting may stop a running agent first: awaited.
                    Some(Request::Restart { by, reply }) => {
                        let restarted = self.restart_agent(&by).await;
                        let _ = reply.send(restarted);
                    }
                    Some(request) => {
                        if let ControlFlow::Break(done) = self.handle(request) {
                            break Some(done);
                        }
                        // Only requests (joins, leaves, role operations)
                        // change ownership; agent events never do.
                        self.record_owner();
                    }
                },
            }
            self.lobby.after_input(&self.session);
            self.alerts.after_input(&self.session);
        };
        self.alerts.gone();
        self.stop_agent().await;
        if let Some(journal) = &mut self.journal {
            match journal.flush() {
                // The next start reads the checkpoint, not the journal.
                Ok(()) => journal.checkpoint(),
                Err(e) => tracing::error!("journal flush failed at shutdown: {e}"),
            }
        }
        let _ = self.closing.send(true);
        self.await_goodbyes().await;
        if let Some(done) = shutdown_reply {
            let _ = done.send(());
        }
    }

    /// Broadcasts the coalesced `participants` message.
    fn send_participants(&mut self) {
        self.participants_due = None;
        let owner_slot = self.session.owner_slot(std::time::Instant::now());
        let list =
            ParticipantsMessage::new(self.session.participant_entries(), owner_slot.as_ref());
        let _ = self.broadcast.send(Shared {
            text: list.to_frame(),
            output: None,
        });
    }

    /// Lets the connections send their close frames and leave. Their
    /// leaving is not a role change: the owner slot stays recorded for
    /// the next start.
    async fn await_goodbyes(&mut self) {
        let deadline = Instant::now() + CLOSE_TIMEOUT;
        while !self.links.is_empty() {
            match tokio::time::timeout_at(deadline, self.requests.recv()).await {
                Ok(Some(Request::Leave { id })) => {
                    self.links.remove(&id);
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
    }

    /// Carries out one request; breaks with the reply of a shutdown.
    fn handle(&mut self, request: Request) -> ControlFlow<oneshot::Sender<()>> {
        match request {
            Request::Join { join, token, reply } => {
                let joined = self.join(join, token);
                let id = joined.id;
                if reply.send(joined).is_err() {
                    // The connection went away while joining.
                    self.leave(id);
                }
            }
            Request::Leave { id } => self.leave(id),
            Request::Message { id, message } => {
                let out = self.session.handle(id, message, At::now());
                self.dispatch(out);
            }
            Request::Summary { reply } => {
                let _ = reply.send(self.lobby.summary(&self.session));
            }
            Request::Subscribe { since, reply } => {
                let plan = self.session.memory_replay(since);
                let journal = self.journal.as_ref().map(|journal| {
                    journal.reader(SeqRange {
                        after: since,
                        before: plan.first_frame_seq,
                    })
                });
                let _ = reply.send(Feed {
                    journal,
                    broadcast: self.broadcast.subscribe(),
                    epoch: self.session.epoch().to_owned(),
                    frames: plan.frames,
                    first_seq: plan.first_frame_seq,
                    last_seq: plan.caught_up,
                });
            }
            // Taken in `run`, where it may await the agent's stop.
            Request::Restart { reply, .. } => {
                let _ = reply.send(Err("the session is stopping".into()));
            }
            Request::History { reply } => {
                let _ = reply.send(self.session.history_window());
            }
            Request::Inject { event } => {
                let out = self.session.host_event(event, At::now());
                self.dispatch(out);
            }
            Request::Disconnect {
                token,
                code,
                reason,
            } => {
                // A connection whose queue is full cannot even be told:
                // it is dropped (its task ends), never left open.
                let mut unreachable = Vec::new();
                for (id, link) in self.links.iter().filter(|(_, l)| l.token == token) {
                    let close = Direct::Close {
                        code,
                        reason: reason.clone(),
                    };
                    if link.direct.try_send(close).is_err() {
                        unreachable.push(*id);
                    }
                }
                for id in unreachable {
                    tracing::warn!("{id}: outgoing queue full at a token's close; disconnecting");
                    self.links.remove(&id);
                }
            }
            Request::Shutdown { done } => return ControlFlow::Break(done),
        }
        ControlFlow::Continue(())
    }

    /// Admits a connection and returns its greeting.
    fn join(&mut self, join: Join, token: String) -> Joined {
        let (welcome, out) = self.session.join(join, At::now());
        self.dispatch(out);
        let Welcome {
            to,
            messages,
            participants,
            owner_slot,
            replay,
        } = welcome;
        let (direct, direct_rx) = mpsc::channel(DIRECT_QUEUE);
        self.links.insert(to, Link { token, direct });
        Joined {
            id: to,
            greeting: messages.iter().map(frame).collect(),
            participants: ParticipantsMessage::new(participants, owner_slot.as_ref()),
            replay: self.replay_job(replay),
            direct: direct_rx,
            // Subscribed only now: it must not get the broadcasts above.
            broadcast: self.broadcast.subscribe(),
        }
    }

    fn leave(&mut self, id: ParticipantId) {
        self.links.remove(&id);
        let out = self.session.leave(id, At::now());
        self.dispatch(out);
    }

    /// Carries out the state machine's outputs in order. Events are
    /// journaled (and flushed) before anything of this batch is sent.
    fn dispatch(&mut self, outputs: Vec<Output>) {
        self.journal_events(&outputs);
        for output in outputs {
            match output {
                Output::Send { to, message } => {
                    self.send_direct(to, Direct::Frame(frame(&message)))
                }
                Output::ParticipantsChanged => {
                    self.lobby.people_changed();
                    if self.participants_due.is_none() {
                        self.participants_due =
                            Some(Instant::now() + participants_coalesce(self.links.len()));
                    }
                }
                Output::Event { seq, frame, output } => {
                    let text = event_frame(frame);
                    let output = output.then_some(seq);
                    let _ = self.broadcast.send(Shared { text, output });
                }
                Output::Replay { to, replay } => {
                    let job = self.replay_job(replay);
                    self.send_direct(to, Direct::Replay(Box::new(job)));
                }
                Output::History { to, request, plan } => {
                    let journal = match (&plan.from_journal, &self.journal) {
                        (Some(_), Some(journal)) => Some(journal.reader(SeqRange {
                            after: request.after,
                            before: request.before.unwrap_or(u64::MAX),
                        })),
                        _ => None,
                    };
                    let job = HistoryJob {
                        request,
                        plan,
                        journal,
                    };
                    self.send_direct(to, Direct::History(Box::new(job)));
                }
                Output::Agent(command) => {
                    // Only a running turn has something to honour: an idle
                    // agent says nothing back to an interrupt.
                    if matches!(command, super::session::AgentCommand::Interrupt)
                        && self.session.turn_active()
                    {
                        self.interrupt_sent();
                    }
                    self.agent.send(AgentInput::Command(command));
                }
            }
        }
    }

    fn journal_events(&mut self, outputs: &[Output]) {
        let Some(journal) = &mut self.journal else {
            return;
        };
        let mut wrote = false;
        for output in outputs {
            if let Output::Event { seq, frame, .. } = output {
                if let Err(e) = journal.append(*seq, frame) {
                    tracing::error!("journal append failed: {e}");
                }
                wrote = true;
            }
        }
        // While the disk refuses writes, the retry timer tries again (not
        // every event, each of which would rewrite the whole backlog).
        if wrote && !journal.is_behind() {
            self.flush_journal();
        }
    }

    /// Writes what the journal holds; a change in whether it keeps up is
    /// told to everyone as a notice (itself journaled, or kept with the
    /// rest while the disk refuses it).
    fn flush_journal(&mut self) {
        let Some(journal) = &mut self.journal else {
            return;
        };
        let before = journal.health().clone();
        // A refused write is reported through the health it leaves.
        let _ = journal.flush();
        if !matches!(journal.health(), Health::Written) {
            self.journal_retry = Some(Instant::now() + journal_health::RETRY);
        }
        if let Some(notice) = journal_health::notice_for(&before, journal.health()) {
            let out = self.session.host_event(notice, At::now());
            self.dispatch(out);
        }
    }

    /// When a journal that is behind tries again by itself.
    fn journal_retry_due(&self) -> Option<Instant> {
        let behind = self
            .journal
            .as_ref()
            .is_some_and(|j| matches!(j.health(), Health::Behind { .. }));
        self.journal_retry.filter(|_| behind)
    }

    /// Records the owner-slot holder beside the journal when it changed,
    /// so a restart holds the slot for the same identity.
    fn record_owner(&mut self) {
        let holder = self.session.slot_holder(std::time::Instant::now());
        if holder != self.recorded_owner.as_deref() {
            self.write_owner();
        }
    }

    fn write_owner(&mut self) {
        let holder = self.session.slot_holder(std::time::Instant::now());
        self.recorded_owner = holder.map(str::to_owned);
        if let Some(journal) = &mut self.journal
            && let Err(e) = journal.record_owner(holder)
        {
            tracing::error!("recording the owner failed: {e}");
        }
    }

    /// A connection whose targeted queue is full is not reading: dropping
    /// its link closes it (1008), and it can reconnect and resume.
    fn send_direct(&mut self, to: ParticipantId, message: Direct) {
        let Some(link) = self.links.get(&to) else {
            return;
        };
        if link.direct.try_send(message).is_err() {
            tracing::warn!("{to}: outgoing queue full; disconnecting");
            self.links.remove(&to);
        }
    }

    fn replay_job(&self, plan: ReplayPlan) -> ReplayJob {
        let journal = match (plan.from_journal, &self.journal) {
            (Some(seqs), Some(journal)) => Some(JournalRange {
                cursor: journal.cursor(seqs.after),
                seqs,
            }),
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
