//! One publisher per session watched through the relay: what the session
//! broadcasts to every connection is published once, whatever the number
//! of viewers (they subscribe to it on the broker): its events on
//! `live.events`, kept by the session's stream, the rest on `live.frames`.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::FuturesOrdered;
use tether_broker::async_nats::Client;
use tokio::sync::{Notify, broadcast, oneshot};
use tokio::task::JoinHandle;

use super::stream::{SessionStream, StreamLimits, StreamState, event_seq, kept};
use crate::host::runtime::{Feed, Request as SessionRequest, Shared};
use crate::host::sessions::HostedSession;
use crate::protocol::close_code;
use crate::protocol::relay::{RelayClosed, SessionSubjects, stream_name};

/// How long a stream that could not be aligned waits before it is tried
/// again (its viewers are served by the host meanwhile).
const ALIGN_RETRY: Duration = Duration::from_secs(2);

/// Events published to the stream before the oldest one's acknowledgement
/// is awaited (the broker client allows 5,000 unacknowledged).
const ACKS_AHEAD: usize = 1_000;

struct Running {
    task: JoinHandle<()>,
    stream: Arc<StreamState>,
    realign: Arc<Notify>,
}

/// The running publishers, by session id.
#[derive(Default)]
pub(super) struct Publishers {
    running: HashMap<String, Running>,
}

/// Where a session's publisher publishes.
pub(super) struct Outlet {
    pub client: Client,
    pub host: String,
    pub limits: StreamLimits,
}

impl Publishers {
    /// Starts the publisher of session `id` unless it runs; returns, once
    /// it is subscribed to the session's broadcast, what its stream holds.
    pub(super) async fn ensure(
        &mut self,
        outlet: &Outlet,
        id: &str,
        session: &Arc<HostedSession>,
    ) -> Result<Arc<StreamState>, String> {
        if let Some(running) = self.running.get(id).filter(|r| !r.task.is_finished()) {
            return Ok(running.stream.clone());
        }
        let feed = subscribe(session, 0).await?;
        let subjects = SessionSubjects::new(&outlet.host, id);
        let publisher = Publisher {
            client: outlet.client.clone(),
            live: subjects.live(),
            stream: SessionStream {
                js: super::stream::context(outlet.client.clone()),
                name: stream_name(&outlet.host, id),
                subject: subjects.events(),
                limits: outlet.limits,
            },
            state: Arc::new(StreamState::default()),
            realign: Arc::new(Notify::new()),
            session: session.clone(),
        };
        let running = Running {
            stream: publisher.state.clone(),
            realign: publisher.realign.clone(),
            task: tokio::spawn(publisher.run(feed)),
        };
        let stream = running.stream.clone();
        self.running.insert(id.to_owned(), running);
        Ok(stream)
    }

    /// The sessions whose publisher runs.
    pub(super) fn running(&self) -> Vec<String> {
        self.running
            .iter()
            .filter(|(_, r)| !r.task.is_finished())
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Every stream is aligned again (the broker may have lost messages).
    pub(super) fn realign_all(&self) {
        for running in self.running.values() {
            running.realign.notify_one();
        }
    }

    /// Drops the publishers whose session ended.
    pub(super) fn forget_ended(&mut self) {
        self.running.retain(|_, r| !r.task.is_finished());
    }
}

/// The session's broadcast from now on and its events after `since`
/// still in memory.
async fn subscribe(session: &HostedSession, since: u64) -> Result<Feed, String> {
    let (reply, subscribed) = oneshot::channel();
    let gone = || "the session is stopping".to_owned();
    session
        .requests
        .send(SessionRequest::Subscribe { since, reply })
        .await
        .map_err(|_| gone())?;
    subscribed.await.map_err(|_| gone())
}

struct Publisher {
    client: Client,
    /// `live.frames`: what is not an event.
    live: String,
    stream: SessionStream,
    state: Arc<StreamState>,
    realign: Arc<Notify>,
    session: Arc<HostedSession>,
}

/// Why forwarding stopped.
enum Stop {
    /// The session ended.
    Ended,
    /// The stream must be aligned again; events up to this seq are in
    /// memory and must be in it.
    Realign(u64),
}

type Ack = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

impl Publisher {
    /// Publishes every broadcast frame until the session ends, aligning
    /// the stream first and again whenever it may have lost events.
    async fn run(self, feed: Feed) {
        let Feed {
            mut broadcast,
            epoch,
            mut frames,
            mut first_seq,
            last_seq,
            mut journal,
        } = feed;
        let mut through = last_seq;
        loop {
            self.state.unaligned();
            let held = (first_seq, through);
            let aligned = self
                .stream
                .align(&epoch, held, &frames, journal.as_ref())
                .await;
            let aligned = match aligned {
                Ok(starts) => {
                    self.state.aligned(starts, through);
                    true
                }
                Err(why) => {
                    tracing::warn!("relay: {why}; viewers catch up from the host meanwhile");
                    false
                }
            };
            match self.forward(&mut broadcast, &epoch, through, aligned).await {
                Stop::Ended => break,
                Stop::Realign(seq) => {
                    through = seq;
                    let Ok(feed) = subscribe(&self.session, 0).await else {
                        break;
                    };
                    // Events after `through` come through the broadcast.
                    first_seq = feed.first_seq;
                    frames = feed.frames;
                    journal = feed.journal;
                    let keep = through.saturating_add(1).saturating_sub(first_seq);
                    frames.truncate(usize::try_from(keep).unwrap_or(usize::MAX));
                }
            }
        }
        let close = RelayClosed::new(close_code::GOING_AWAY, "session ended");
        let _ = self
            .client
            .publish(self.live.clone(), close.to_json().into())
            .await;
    }

    /// Publishes broadcast frames after event `through` until the session
    /// ends or the stream must be aligned again.
    async fn forward(
        &self,
        broadcast: &mut broadcast::Receiver<Shared>,
        epoch: &str,
        mut through: u64,
        aligned: bool,
    ) -> Stop {
        let mut acks: FuturesOrdered<Ack> = FuturesOrdered::new();
        let retry = tokio::time::sleep(ALIGN_RETRY);
        tokio::pin!(retry);
        loop {
            let frame = tokio::select! {
                frame = broadcast.recv() => frame,
                Some(acked) = acks.next() => match acked {
                    Ok(()) => continue,
                    Err(why) => {
                        tracing::warn!("relay: {why}; aligning the stream again");
                        return Stop::Realign(through);
                    }
                },
                () = self.realign.notified() => return Stop::Realign(through),
                () = &mut retry, if !aligned => return Stop::Realign(through),
            };
            let frame = match frame {
                Ok(frame) => frame,
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(
                        "relay publisher of {} fell {missed} frames behind",
                        self.live
                    );
                    let close = RelayClosed::new(
                        close_code::POLICY,
                        "the relay fell behind: join again and resume",
                    );
                    let _ = self
                        .client
                        .publish(self.live.clone(), close.to_json().into())
                        .await;
                    continue;
                }
                Err(broadcast::error::RecvError::Closed) => return Stop::Ended,
            };
            let bytes = Bytes::copy_from_slice(frame.text.as_bytes());
            let Some(seq) = event_seq(&bytes) else {
                if self.client.publish(self.live.clone(), bytes).await.is_err() {
                    tracing::warn!("relay: cannot publish on {}", self.live);
                }
                continue;
            };
            if seq <= through {
                continue;
            }
            if seq > through + 1 {
                // Frames were lost here: the stream gets them from memory.
                return Stop::Realign(seq);
            }
            through = seq;
            if !aligned {
                let _ = self
                    .client
                    .publish(self.stream.subject.clone(), bytes)
                    .await;
                continue;
            }
            // The broker client lends a permit to each publish until its
            // acknowledgement is awaited: await the oldest before there
            // are too many, or the next publish waits for ever.
            while acks.len() >= ACKS_AHEAD {
                if let Some(Err(why)) = acks.next().await {
                    tracing::warn!("relay: {why}; aligning the stream again");
                    return Stop::Realign(through);
                }
            }
            match self.stream.send(epoch, seq, bytes).await {
                Ok(ack) => {
                    let state = self.state.clone();
                    acks.push_back(Box::pin(async move {
                        kept(seq, ack).await?;
                        state.acknowledged(seq);
                        Ok(())
                    }));
                }
                Err(why) => {
                    tracing::warn!("relay: {why}; aligning the stream again");
                    return Stop::Realign(through);
                }
            }
        }
    }
}
