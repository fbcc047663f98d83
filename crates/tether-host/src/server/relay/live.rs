//! One publisher per session watched through the relay: what the session
//! broadcasts to every connection is published once on its `live` subject,
//! whatever the number of viewers (they subscribe to it on the broker).

use std::collections::HashMap;
use std::sync::Arc;

use tether_broker::async_nats::Client;
use tokio::sync::{broadcast, oneshot};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::host::runtime::Request as SessionRequest;
use crate::host::sessions::HostedSession;
use crate::protocol::close_code;
use crate::protocol::relay::RelayClosed;

/// The running publishers, by session id.
#[derive(Default)]
pub(super) struct Publishers {
    running: HashMap<String, JoinHandle<()>>,
}

impl Publishers {
    /// Starts the publisher of session `id` unless it runs; returns once
    /// it is subscribed to the session's broadcast.
    pub(super) async fn ensure(
        &mut self,
        client: &Client,
        id: &str,
        session: &Arc<HostedSession>,
        subject: String,
    ) -> Result<(), String> {
        if self.running.get(id).is_some_and(|task| !task.is_finished()) {
            return Ok(());
        }
        let (reply, subscribed) = oneshot::channel();
        let gone = || "the session is stopping".to_owned();
        session
            .requests
            .send(SessionRequest::Subscribe { reply })
            .await
            .map_err(|_| gone())?;
        let receiver = subscribed.await.map_err(|_| gone())?;
        let task = tokio::spawn(publish(client.clone(), subject, receiver));
        self.running.insert(id.to_owned(), task);
        Ok(())
    }

    /// The sessions whose publisher runs.
    pub(super) fn running(&self) -> Vec<String> {
        self.running
            .iter()
            .filter(|(_, task)| !task.is_finished())
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Drops the publishers whose session ended.
    pub(super) fn forget_ended(&mut self) {
        self.running.retain(|_, task| !task.is_finished());
    }
}

/// Publishes every broadcast frame until the session ends. Falling behind
/// the broadcast loses frames: the viewers are told to join again (they
/// resume after what they applied, so nothing is lost to them).
async fn publish(client: Client, subject: String, mut frames: broadcast::Receiver<Utf8Bytes>) {
    loop {
        let frame = match frames.recv().await {
            Ok(frame) => frame,
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::warn!("relay publisher of {subject} fell {missed} frames behind");
                let close = RelayClosed::new(
                    close_code::POLICY,
                    "the relay fell behind: join again and resume",
                );
                Utf8Bytes::from(close.to_json())
            }
            Err(broadcast::error::RecvError::Closed) => break,
        };
        let bytes = bytes::Bytes::copy_from_slice(frame.as_bytes());
        if client.publish(subject.clone(), bytes).await.is_err() {
            tracing::warn!("relay: cannot publish on {subject}");
        }
    }
    let close = RelayClosed::new(close_code::GOING_AWAY, "session ended");
    let _ = client.publish(subject, close.to_json().into()).await;
}
