//! The session's agent as the session task holds it: started at once,
//! started again on request after it exited, and stopped at shutdown.

use std::path::PathBuf;

use tokio::sync::mpsc;

use crate::host::agent::{self, AgentHandle, AgentInput, AgentSpec};
use crate::protocol::EventKind;

/// Events an agent may report before the session takes them.
const AGENT_QUEUE: usize = 1024;

/// What starting an agent takes.
#[derive(Debug, Clone)]
pub struct AgentLauncher {
    pub spec: AgentSpec,
    pub cwd: PathBuf,
    /// The agent's own session id, as last reported: a new agent resumes it.
    pub resume: Option<String>,
}

pub struct AgentSlot {
    launcher: AgentLauncher,
    handle: Option<AgentHandle>,
    events: mpsc::Receiver<EventKind>,
    /// The agent's event stream ended (or it never started).
    done: bool,
}

impl AgentSlot {
    /// A slot with no agent yet ([`AgentSlot::start`] starts it).
    pub fn new(launcher: AgentLauncher) -> Self {
        AgentSlot {
            launcher,
            handle: None,
            events: mpsc::channel(1).1,
            done: true,
        }
    }

    /// Starts the agent; `Err` says why it cannot run.
    pub fn start(&mut self) -> Result<(), String> {
        let (sink, events) = mpsc::channel(AGENT_QUEUE);
        let launcher = &self.launcher;
        let handle = agent::spawn(
            &launcher.spec,
            launcher.cwd.clone(),
            launcher.resume.clone(),
            sink,
        )
        .map_err(|e| e.to_string())?;
        self.handle = Some(handle);
        self.events = events;
        self.done = false;
        Ok(())
    }

    /// Whether an agent runs (its event stream is open).
    pub fn running(&self) -> bool {
        !self.done
    }

    /// The next event of the running agent; `None` once its stream ended
    /// (then [`AgentSlot::running`] is false). Pending forever without one.
    pub async fn next_event(&mut self) -> Option<EventKind> {
        if self.done {
            return std::future::pending().await;
        }
        let event = self.events.recv().await;
        match &event {
            None => self.done = true,
            Some(EventKind::Metadata {
                agent_session_id: Some(id),
                ..
            }) => self.launcher.resume = Some(id.clone()),
            Some(_) => {}
        }
        event
    }

    pub fn send(&self, input: AgentInput) {
        if let Some(handle) = &self.handle {
            let _ = handle.input.send(input);
        }
    }

    /// Ends the agent's task at once (it did not stop when asked).
    pub fn abort(&mut self) {
        if let Some(handle) = &self.handle {
            handle.task.abort();
        }
        self.done = true;
    }
}
