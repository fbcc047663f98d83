//! The session's agent over its life: started, reported when its task ends
//! without saying so, stopped at shutdown, and replaced when it is stuck:
//! an interrupt not honoured within the grace, or an owner's restart while
//! it still runs (an ACP agent that never answers `session/prompt` once
//! kept a turn running for ever and refused every restart).

use tokio::time::Instant;

use super::{AGENT_STOP_TIMEOUT, Runtime};
use crate::host::agent::AgentInput;
use crate::host::session::{AgentCommand, At};
use crate::protocol::{AgentState, EventKind, NoticeLevel, TurnOutcome};

impl Runtime {
    /// Starts the agent; one that cannot start is reported as exited.
    pub(super) fn start_agent(&mut self) -> Result<(), String> {
        let started = match &self.broken {
            Some(why) => Err(why.clone()),
            None => self.agent.start(),
        };
        let Err(why) = started else {
            // The new agent runs what the session's rules allow.
            let rules = self.session.rules().to_vec();
            if !rules.is_empty() {
                self.agent
                    .send(AgentInput::Command(AgentCommand::Rules(rules)));
            }
            return Ok(());
        };
        tracing::error!("the agent cannot start: {why}");
        let detail = format!("the agent cannot start: {why}");
        self.alerts.agent_failed(&detail, &self.session);
        let exited = EventKind::exited(detail.clone(), None);
        let out = self.session.host_event(exited, At::now());
        self.dispatch(out);
        Err(detail)
    }

    /// The agent's event stream ended. An agent reports its own exit; one
    /// whose task ended without (it panicked) is reported exited here, so
    /// the session never looks idle with nothing behind it.
    /// Alerts tell of it when `unasked` (not after a stop the host asked
    /// for).
    pub(super) fn agent_ended(&mut self, unasked: bool) {
        self.interrupt_deadline = None;
        if self.session.agent_state() == AgentState::Exited {
            return;
        }
        tracing::error!("the agent's task ended without reporting an exit");
        let detail = "the agent stopped without saying how (a fault in tether: see the host's log); it can be restarted";
        if unasked {
            self.alerts.agent_failed(detail, &self.session);
        }
        let exited = EventKind::exited(detail, None);
        let out = self.session.host_event(exited, At::now());
        self.dispatch(out);
    }

    /// Notes what an agent event means for the interrupt watchdog: a turn
    /// that ended, or an agent that exited, honoured it.
    pub(super) fn watch_interrupt(&mut self, event: &EventKind) {
        if matches!(
            event,
            EventKind::TurnEnd { .. }
                | EventKind::Status {
                    state: AgentState::Exited | AgentState::Idle,
                    ..
                }
        ) {
            self.interrupt_deadline = None;
        }
    }

    /// An interrupt went to the agent: it has the grace to end its turn.
    pub(super) fn interrupt_sent(&mut self) {
        if self.interrupt_deadline.is_none() {
            self.interrupt_deadline = Some(Instant::now() + self.interrupt_grace);
        }
    }

    /// The grace ran out: the agent is stopped and started again.
    pub(super) async fn interrupt_not_honoured(&mut self) {
        let secs = self.interrupt_grace.as_secs_f64();
        let why = format!(
            "the agent did not stop within {secs:.0} s of the interrupt: tether stopped it and started it again"
        );
        let _ = self.replace_agent(&why).await;
    }

    /// Starts the agent again, with a notice naming who asked: after it
    /// exited, or (stuck) while it still runs. The history continues.
    pub(super) async fn restart_agent(&mut self, by: &str) -> Result<(), String> {
        if let Some(why) = &self.broken {
            return Err(why.clone());
        }
        if self.agent.running() {
            return self
                .replace_agent(&format!("{by} restarted the agent while it was running"))
                .await;
        }
        let notice = EventKind::notice(NoticeLevel::Info, format!("{by} restarted the agent"));
        let out = self.session.host_event(notice, At::now());
        self.dispatch(out);
        self.start_agent()
    }

    /// Stops the running agent (its whole process tree), closes the turn it
    /// left open, and starts it again (resuming its own session if it can).
    async fn replace_agent(&mut self, why: &str) -> Result<(), String> {
        self.interrupt_deadline = None;
        let out = self
            .session
            .host_event(EventKind::notice(NoticeLevel::Warn, why), At::now());
        self.dispatch(out);
        // The turn ends here, by the host's hand: the agent never ended it.
        if self.session.turn_active() {
            let end = EventKind::turn_end(TurnOutcome::Interrupted);
            let out = self.session.host_event(end, At::now());
            self.dispatch(out);
        }
        self.stop_agent().await;
        self.agent_ended(false);
        // One that cannot start has said so (the session is `exited`).
        self.start_agent()
    }

    /// Stops the agent and records how it ended (at shutdown, and before
    /// it is replaced).
    pub(super) async fn stop_agent(&mut self) {
        self.agent.send(AgentInput::Shutdown);
        let deadline = Instant::now() + AGENT_STOP_TIMEOUT;
        while self.agent.running() {
            match tokio::time::timeout_at(deadline, self.agent.next_event()).await {
                Ok(Some(event)) => {
                    let out = self.session.agent_event(event, At::now());
                    self.dispatch(out);
                }
                Ok(None) => {}
                Err(_) => {
                    self.agent.abort();
                    let out = self.session.host_event(
                        EventKind::notice(NoticeLevel::Warn, "the agent did not stop in time"),
                        At::now(),
                    );
                    self.dispatch(out);
                    break;
                }
            }
        }
    }
}
