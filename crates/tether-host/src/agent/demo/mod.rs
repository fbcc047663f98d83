//! The demo agent (`tether demo`): plays a script live and honours every
//! answer. Its file tools really change files in its working directory
//! (only there), its commands really run there; a denial leaves things as
//! they were and it says so; "accept edits" sticks (the agent keeps it);
//! a command's "always" is a host rule; an edited input is what runs; an
//! interrupt stops it. No model, no network. What the script means is in
//! `script.rs`; this module does the I/O.

pub mod script;
mod tool;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::{AgentInput, EventSink};
use crate::host::session::AgentCommand;
use crate::protocol::{AgentState, EventKind, Rule, TurnOutcome};
use script::{Outcome, Script, Step};

/// Pauses at speed 1: before each thing said, and between its chunks.
const THINK: Duration = Duration::from_millis(600);
const CHUNK: Duration = Duration::from_millis(60);

/// How a wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Go,
    Interrupted,
    Stop,
}

/// The agent's state across turns.
struct Demo {
    script: Script,
    cwd: PathBuf,
    speed: f64,
    inbox: mpsc::UnboundedReceiver<AgentInput>,
    events: EventSink,
    /// Rules the host keeps, as last sent.
    rules: Vec<Rule>,
    /// The owner chose "accept edits for this session".
    accept_edits: bool,
    /// The next step of the task, and how the played ones ended.
    next: usize,
    outcomes: Vec<(String, Outcome)>,
    /// The task's summary was said (an interrupt at its last step puts
    /// it off to the next message).
    summarised: bool,
    calls: u64,
}

pub async fn run(
    script: Script,
    cwd: PathBuf,
    speed: f64,
    inbox: mpsc::UnboundedReceiver<AgentInput>,
    events: EventSink,
) {
    let seeded = seed(&cwd, &script.files);
    let _ = events
        .send(EventKind::Metadata {
            title: None,
            model: Some("a script (no model)".into()),
            cwd: Some(cwd.display().to_string()),
            tools: Some(vec!["Write".into(), "Edit".into(), "Bash".into()]),
            agent_session_id: None,
        })
        .await;
    if let Err(e) = seeded {
        let text = format!("could not set up the demo's files: {e}");
        let _ = events
            .send(EventKind::notice(crate::protocol::NoticeLevel::Warn, text))
            .await;
    }
    let _ = events
        .send(EventKind::Assistant {
            text: script.greeting.clone(),
        })
        .await;
    let _ = events.send(EventKind::status(AgentState::Idle)).await;
    let mut demo = Demo {
        script,
        cwd,
        speed,
        inbox,
        events,
        rules: Vec::new(),
        accept_edits: false,
        next: 0,
        outcomes: Vec::new(),
        summarised: false,
        calls: 0,
    };
    loop {
        match demo.inbox.recv().await {
            None | Some(AgentInput::Shutdown) => break,
            Some(AgentInput::Command(AgentCommand::UserMessage(_))) => {
                if demo.turn().await == Flow::Stop {
                    break;
                }
            }
            Some(AgentInput::Command(AgentCommand::Rules(now))) => demo.rules = now,
            // Answers and interrupts outside a turn have nothing to act on.
            Some(AgentInput::Command(_)) => {}
        }
    }
    let _ = demo
        .events
        .send(EventKind::exited("demo agent stopped", None))
        .await;
}

/// Makes the script's files that are not there yet.
fn seed(cwd: &Path, files: &std::collections::BTreeMap<String, String>) -> std::io::Result<()> {
    for (name, text) in files {
        let path = cwd.join(name);
        if path.symlink_metadata().is_ok() {
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, text)?;
    }
    Ok(())
}

impl Demo {
    /// One turn: the task's next steps (and the summary when it is done),
    /// or, once it is done, the `again` steps and the closing words.
    async fn turn(&mut self) -> Flow {
        let started = Instant::now();
        self.send(EventKind::status(AgentState::Running)).await;
        let in_task = !self.summarised;
        if in_task && self.next > 0 {
            let flow = self.say("Carrying on where you stopped me.").await;
            if flow != Flow::Go {
                return self.end(flow, started).await;
            }
        }
        let steps = if in_task {
            self.script.task[self.next..].to_vec()
        } else {
            self.script.again.clone()
        };
        for step in steps {
            let flow = self.step(&step, in_task).await;
            if in_task {
                self.next += 1;
            }
            if flow != Flow::Go {
                return self.end(flow, started).await;
            }
        }
        let closing = if in_task {
            let cwd = self.cwd.display().to_string();
            script::summary(&self.outcomes, &cwd)
        } else {
            self.script.closing.clone()
        };
        let flow = self.say(&closing).await;
        self.summarised |= in_task && flow == Flow::Go;
        self.end(flow, started).await
    }

    async fn step(&mut self, step: &Step, in_task: bool) -> Flow {
        match step {
            Step::Say { say } => self.say(say).await,
            Step::Tool(call) => {
                let (flow, outcome) = self.tool(call).await;
                if flow == Flow::Stop {
                    return flow;
                }
                let remark = script::remark(&call.what, &outcome);
                if in_task {
                    self.outcomes.push((call.what.clone(), outcome));
                }
                if flow != Flow::Go {
                    return flow;
                }
                match remark {
                    Some(remark) => self.say(&remark).await,
                    None => Flow::Go,
                }
            }
        }
    }

    /// Ends the turn as `flow` says (nothing to report when stopped).
    async fn end(&mut self, flow: Flow, started: Instant) -> Flow {
        let outcome = match flow {
            Flow::Stop => return Flow::Stop,
            Flow::Interrupted => TurnOutcome::Interrupted,
            Flow::Go => TurnOutcome::Success,
        };
        self.send(EventKind::TurnEnd {
            outcome,
            duration_ms: Some(started.elapsed().as_millis() as u64),
            cost_usd: None,
            num_turns: None,
            usage: None,
        })
        .await;
        self.send(EventKind::status(AgentState::Idle)).await;
        Flow::Go
    }

    /// Says `text`: a pause, then the text in chunks, then whole.
    async fn say(&mut self, text: &str) -> Flow {
        let flow = self.pause(THINK).await;
        if flow != Flow::Go {
            return flow;
        }
        if self.speed > 0.0 {
            for chunk in chunks(text, 24) {
                self.send(EventKind::AssistantDelta { text: chunk }).await;
                let flow = self.pause(CHUNK).await;
                if flow != Flow::Go {
                    return flow;
                }
            }
        }
        self.send(EventKind::Assistant {
            text: text.to_owned(),
        })
        .await;
        Flow::Go
    }

    /// Waits `pause` (scaled by the speed), hearing interrupts and rules.
    async fn pause(&mut self, pause: Duration) -> Flow {
        if self.speed <= 0.0 {
            return self.heard_meanwhile();
        }
        let sleep = tokio::time::sleep(pause.div_f64(self.speed));
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                () = &mut sleep => return Flow::Go,
                input = self.inbox.recv() => match self.hear(input) {
                    Flow::Go => {}
                    flow => return flow,
                },
            }
        }
    }

    /// What the inbox already holds, without waiting.
    fn heard_meanwhile(&mut self) -> Flow {
        loop {
            let input = match self.inbox.try_recv() {
                Ok(input) => Some(input),
                Err(mpsc::error::TryRecvError::Empty) => return Flow::Go,
                Err(mpsc::error::TryRecvError::Disconnected) => None,
            };
            match self.hear(input) {
                Flow::Go => {}
                flow => return flow,
            }
        }
    }

    /// An input heard during a turn, outside a permission request.
    fn hear(&mut self, input: Option<AgentInput>) -> Flow {
        match input {
            None | Some(AgentInput::Shutdown) => Flow::Stop,
            Some(AgentInput::Command(AgentCommand::Interrupt)) => Flow::Interrupted,
            Some(AgentInput::Command(AgentCommand::Rules(now))) => {
                self.rules = now;
                Flow::Go
            }
            Some(AgentInput::Command(_)) => Flow::Go,
        }
    }

    async fn send(&self, event: EventKind) {
        let _ = self.events.send(event).await;
    }
}

/// `text` in pieces of about `size` characters, cut after a space.
fn chunks(text: &str, size: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for word in text.split_inclusive(' ') {
        current.push_str(word);
        if current.chars().count() >= size {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}
