//! The lobby connection: one per host, reporting [`LobbyEvent`]s. Like a
//! session connection it reconnects with backoff on loss; a host that has
//! no lobby (an older one: 404) or refuses the token is reported once and
//! left alone.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use url::Url;

use super::{ConnectError, HEARTBEAT_TIMEOUT, Since, Target, backoff, connect_once};
use crate::protocol::{LobbyMessage, LobbyRequest, SessionSummary};

#[derive(Debug, Clone, PartialEq)]
pub enum LobbyEvent {
    Connected,
    Message(LobbyMessage),
    /// Lost; another attempt follows after `retry_in`.
    Lost {
        reason: String,
        retry_in: Duration,
    },
    /// No lobby here (or the token is refused): nothing more will come.
    Unavailable(ConnectError),
}

/// `ws://HOST:PORT/v1/lobby` of the host that serves `url`.
pub fn lobby_url(url: &Url) -> Url {
    let mut lobby = url.clone();
    lobby.set_path("/v1/lobby");
    lobby.set_query(None);
    lobby
}

/// `ws://HOST:PORT/v1/sessions/ID` on the host that serves `url`.
pub fn session_url(url: &Url, id: &str) -> Url {
    let mut session = url.clone();
    session.set_path(&format!("/v1/sessions/{id}"));
    session.set_query(None);
    session
}

/// Starts the lobby task of the host that serves `url`; its events go to
/// `events` tagged with `host`. Returns where to send requests (sent when
/// connected; one made while the lobby is down is answered by nobody, and
/// the UI says so when the lobby comes back).
pub fn spawn(
    host: usize,
    url: &Url,
    token: String,
    events: mpsc::UnboundedSender<(usize, LobbyEvent)>,
) -> mpsc::UnboundedSender<LobbyRequest> {
    let (requests, inbox) = mpsc::unbounded_channel();
    if matches!(url.scheme(), "nats" | "tls") {
        // Through a broker: the host's keys of the lobby bucket.
        let mut broker_url = url.clone();
        broker_url.set_path("");
        let host_id = url.path().trim_start_matches('/').to_owned();
        match tether_broker::Broker::for_client(broker_url) {
            Ok(broker) => {
                let link = super::relay_lobby::LobbyLink {
                    host,
                    broker,
                    host_id,
                    token,
                    events,
                };
                tokio::spawn(super::relay_lobby::run(link, inbox));
            }
            Err(why) => {
                let _ = events.send((host, LobbyEvent::Unavailable(ConnectError::Refused(why))));
            }
        }
        return requests;
    }
    let target = Target {
        url: lobby_url(url),
        token,
        view: true,
    };
    tokio::spawn(run(host, target, events, inbox));
    requests
}

async fn run(
    host: usize,
    target: Target,
    events: mpsc::UnboundedSender<(usize, LobbyEvent)>,
    mut requests: mpsc::UnboundedReceiver<LobbyRequest>,
) {
    let mut failures = 0u32;
    loop {
        let mut socket = match connect_once(&target, Since::Live).await {
            Ok(socket) => socket,
            Err(e) if e.is_fatal() => {
                let _ = events.send((host, LobbyEvent::Unavailable(e)));
                return;
            }
            Err(e) => {
                let retry_in = backoff(failures);
                failures += 1;
                let lost = LobbyEvent::Lost {
                    reason: e.to_string(),
                    retry_in,
                };
                if events.send((host, lost)).is_err() {
                    return;
                }
                tokio::time::sleep(retry_in).await;
                continue;
            }
        };
        failures = 0;
        if events.send((host, LobbyEvent::Connected)).is_err() {
            return;
        }
        let reason = loop {
            let frame = tokio::select! {
                frame = tokio::time::timeout(HEARTBEAT_TIMEOUT, socket.next()) => frame,
                Some(request) = requests.recv() => {
                    let text = serde_json::to_string(&request).expect("requests serialise");
                    if let Err(e) = socket.send(Message::text(text)).await {
                        break e.to_string();
                    }
                    continue;
                }
            };
            match frame {
                Err(_) => break "no word from the host".to_owned(),
                Ok(None) => break "connection closed".to_owned(),
                Ok(Some(Err(e))) => break e.to_string(),
                Ok(Some(Ok(Message::Text(text)))) => {
                    if let Ok(message) = serde_json::from_str::<LobbyMessage>(&text)
                        && events.send((host, LobbyEvent::Message(message))).is_err()
                    {
                        return;
                    }
                }
                Ok(Some(Ok(Message::Close(frame)))) => {
                    break frame.map_or("closed".into(), |f| f.reason.to_string());
                }
                Ok(Some(Ok(_))) => {}
            }
        };
        let retry_in = backoff(0);
        if events
            .send((host, LobbyEvent::Lost { reason, retry_in }))
            .is_err()
        {
            return;
        }
        tokio::time::sleep(retry_in).await;
    }
}

/// The sessions the host that serves `url` lists for `token`, in its
/// order: the lobby's first snapshot, then the connection is closed.
pub async fn list(url: &Url, token: String) -> Result<Vec<SessionSummary>, ConnectError> {
    let target = Target {
        url: lobby_url(url),
        token,
        view: true,
    };
    let mut socket = connect_once(&target, Since::Live).await?;
    loop {
        let frame = tokio::time::timeout(HEARTBEAT_TIMEOUT, socket.next())
            .await
            .map_err(|_| ConnectError::Network("no word from the host".into()))?;
        match frame {
            Some(Ok(Message::Text(text))) => {
                if let Ok(LobbyMessage::Sessions { sessions, .. }) = serde_json::from_str(&text) {
                    let _ = socket.close(None).await;
                    return Ok(sessions);
                }
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(ConnectError::Network(e.to_string())),
            None => return Err(ConnectError::Network("connection closed".into())),
        }
    }
}
