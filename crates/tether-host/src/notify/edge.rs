//! The notifier's task: takes what sessions report, ticks the machine at
//! its wakes, and hands each alert to its destination's queue.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::deliver::{Delivery, Queue};
use super::machine::{Input, Notifier};
use super::{NotifyConfig, Opening};
use crate::host::agent::sleep_until_some;

/// Reports sessions may have in flight to the notifier; beyond, a report
/// is dropped (with a log line) rather than make a session wait.
const INPUT_QUEUE: usize = 4096;

/// Where sessions report to the notifier; cloned into every session.
/// Sending never waits.
#[derive(Debug, Clone)]
pub struct AlertSink {
    inputs: mpsc::Sender<(Input, Instant)>,
    /// A full queue has been logged (once until it drains).
    full: Arc<AtomicBool>,
}

/// The notifier's end of the [`AlertSink`]s.
pub struct Inputs(mpsc::Receiver<(Input, Instant)>);

/// A sink and the receiving end for [`spawn`] (made before the sessions
/// start, which is before the host knows its address).
pub fn channel() -> (AlertSink, Inputs) {
    let (inputs, receiver) = mpsc::channel(INPUT_QUEUE);
    let sink = AlertSink {
        inputs,
        full: Arc::new(AtomicBool::new(false)),
    };
    (sink, Inputs(receiver))
}

/// [`channel`], when `config` sends alerts somewhere.
pub fn channel_for(config: Option<&NotifyConfig>) -> Option<(AlertSink, Inputs)> {
    config
        .filter(|c| !c.destinations.is_empty())
        .map(|_| channel())
}

impl AlertSink {
    /// Reports `input` as of now.
    pub fn send(&self, input: Input) {
        match self.inputs.try_send((input, Instant::now())) {
            Ok(()) => self.full.store(false, Ordering::Relaxed),
            Err(mpsc::error::TrySendError::Full(_)) => {
                if !self.full.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        "alerts: the notifier is {INPUT_QUEUE} reports behind; reports are dropped until it catches up"
                    );
                }
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }
}

/// Starts the notifier and one delivery task per destination; `opening`
/// says how to open a session (by id). The tasks end when every sink is
/// dropped, or when aborted.
pub fn spawn(
    config: &NotifyConfig,
    inputs: Inputs,
    opening: impl Fn(&str) -> Opening + Send + Sync + 'static,
) -> Vec<JoinHandle<()>> {
    let opening: Arc<dyn Fn(&str) -> Opening + Send + Sync> = Arc::new(opening);
    let mut tasks = Vec::new();
    let mut queues = Vec::new();
    let client = super::deliver::client();
    for destination in &config.destinations {
        let queue = Arc::new(Queue::new(destination.label(), config.tuning.queue));
        queues.push(queue.clone());
        let delivery = Delivery {
            destination: destination.clone(),
            queue,
            client: client.clone(),
            tuning: config.tuning,
            opening: opening.clone(),
        };
        tasks.push(tokio::spawn(delivery.run()));
    }
    let machine = Notifier::new(config.rules(), queues.len());
    tasks.push(tokio::spawn(run(machine, inputs, queues)));
    tasks
}

async fn run(mut machine: Notifier, Inputs(mut inputs): Inputs, queues: Vec<Arc<Queue>>) {
    loop {
        let wake = machine.next_wake().map(tokio::time::Instant::from_std);
        tokio::select! {
            got = inputs.recv() => match got {
                Some((input, at)) => machine.input(input, at),
                None => return,
            },
            () = sleep_until_some(wake) => {}
        }
        for out in machine.tick(Instant::now()) {
            queues[out.destination].push(out);
        }
    }
}
