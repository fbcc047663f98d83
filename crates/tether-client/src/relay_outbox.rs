//! A relay connection's messages to the host, sent in order, each
//! answered by request-reply (see [`Outbox`]).

use std::time::Duration;

use tether_broker::async_nats::{self, Client};

use crate::protocol::relay::RelayReply;
use crate::relay::End;

/// How long the host has to answer a join or a message.
pub(crate) const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

/// A message's answer from the host, as the link reads it.
pub(crate) type Answer = std::pin::Pin<Box<dyn Future<Output = Result<(), End>> + Send>>;

/// The client's messages to the host, in order: each goes out once the
/// one before it was answered, and the answers are awaited beside the
/// frames, so a slow host never holds them up. What is unanswered when
/// the link ends is sent again by the app, with its id, once connected.
#[derive(Default)]
pub(crate) struct Outbox {
    sending: Option<Answer>,
    /// Not sent yet: an answer's future sends its message when first polled.
    queued: std::collections::VecDeque<Answer>,
}

impl Outbox {
    pub(crate) fn push(&mut self, asked: Answer) {
        if self.sending.is_none() {
            self.sending = Some(asked);
        } else {
            self.queued.push_back(asked);
        }
    }

    pub(crate) fn busy(&self) -> bool {
        self.sending.is_some()
    }

    /// The answer to the message in flight (cancel-safe: the message's
    /// future stays here until answered); the next one goes out then.
    pub(crate) async fn answered(&mut self) -> Result<(), End> {
        let answered = self.sending.as_mut().expect("busy").as_mut().await;
        self.sending = self.queued.pop_front();
        answered
    }
}

pub(crate) async fn answer(client: Client, subject: String, payload: Vec<u8>) -> Result<(), End> {
    let asked = tokio::time::timeout(ANSWER_TIMEOUT, client.request(subject, payload.into())).await;
    let answer = match asked {
        Err(_) => return Err(End::Lost("the host did not answer".into())),
        Ok(Err(e)) if e.kind() == async_nats::RequestErrorKind::NoResponders => {
            return Err(End::Lost("host offline".into()));
        }
        Ok(Err(e)) => return Err(End::Lost(format!("broker: {e}"))),
        Ok(Ok(answer)) => answer,
    };
    match serde_json::from_slice::<RelayReply>(&answer.payload) {
        Ok(RelayReply::Refused { code: 410, message }) => Err(End::Resync(message)),
        Ok(RelayReply::Refused { message, .. }) => {
            tracing::warn!("the host refused a relayed message: {message}");
            Ok(())
        }
        _ => Ok(()),
    }
}
