//! Catching up from a session's stream on the broker: the host says which
//! events (`relay_catch_up`), and the client reads them there with an
//! ordered consumer starting at the first, instead of the host sending
//! them one by one. Each must be the event at its own stream sequence; a
//! missing one (the broker dropped it by its limits meanwhile) ends the
//! catch-up, and the client joins again asking the host for the replay.

use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use tether_broker::async_nats::Client;
use tether_broker::async_nats::jetstream::{self, consumer};

use crate::protocol::relay::RelayCatchUp;

/// How long the stream may keep the next event before the catch-up is
/// given up (the host is asked instead).
const NEXT_TIMEOUT: Duration = Duration::from_secs(5);

/// The events of a catch-up, in order, each with its seq.
pub(crate) struct CatchUpReader {
    messages: consumer::pull::Ordered,
    next: u64,
    to: u64,
}

impl CatchUpReader {
    pub(crate) async fn open(client: &Client, ask: &RelayCatchUp) -> Result<Self, String> {
        let js = jetstream::new(client.clone());
        let stream = js
            .get_stream(&ask.stream)
            .await
            .map_err(|e| format!("the stream {}: {e}", ask.stream))?;
        let config = consumer::pull::OrderedConfig {
            deliver_policy: consumer::DeliverPolicy::ByStartSequence {
                start_sequence: ask.from,
            },
            ..Default::default()
        };
        let messages = stream
            .create_consumer(config)
            .await
            .map_err(|e| format!("a reader of the stream {}: {e}", ask.stream))?
            .messages()
            .await
            .map_err(|e| format!("reading the stream {}: {e}", ask.stream))?;
        Ok(CatchUpReader {
            messages,
            next: ask.from,
            to: ask.to,
        })
    }

    /// The next event's frame, None once the last one was read.
    pub(crate) async fn next(&mut self) -> Result<Option<(u64, Bytes)>, String> {
        if self.next > self.to {
            return Ok(None);
        }
        let message = tokio::time::timeout(NEXT_TIMEOUT, self.messages.next())
            .await
            .map_err(|_| format!("event {} did not come from the stream", self.next))?
            .ok_or("the stream ended")?
            .map_err(|e| format!("reading the stream: {e}"))?;
        let seq = message
            .info()
            .map_err(|e| format!("a stream message without its sequence: {e}"))?
            .stream_sequence;
        if seq != self.next {
            return Err(format!(
                "the stream has event {seq} where {} was due",
                self.next
            ));
        }
        self.next += 1;
        Ok(Some((seq, message.message.payload)))
    }
}
