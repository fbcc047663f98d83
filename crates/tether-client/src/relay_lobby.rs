//! A host's lobby through a broker: its keys of the `tether-lobby` bucket
//! (`HOST.SESSION`, each a session's summary, written by the host), read
//! once as a `sessions` snapshot, then watched: a put is a `session`
//! message, a delete `session_removed`, as the host's own lobby says them.

use std::time::Duration;

use futures_util::StreamExt;
use tether_broker::Broker;
use tether_broker::async_nats::{
    self,
    jetstream::{self, kv},
};
use tokio::sync::mpsc;

use super::lobby::LobbyEvent;
use super::{ConnectError, backoff};
use crate::protocol::relay::{
    LOBBY_BUCKET, LOBBY_HELLO, RelayCommand, from_subject_token, lobby_subject,
};
use crate::protocol::{LobbyMessage, LobbyRequest, SessionSummary, rfc3339};

/// Who follows which host's lobby, and where its events go.
#[derive(Clone)]
pub struct LobbyLink {
    /// The deck's index of the host.
    pub host: usize,
    pub broker: Broker,
    pub host_id: String,
    /// The tether token the host's lobby checks requests against.
    pub token: String,
    pub events: mpsc::UnboundedSender<(usize, LobbyEvent)>,
}

/// Follows host `host_id`'s keys on `broker`, reporting as host `host`,
/// and carries `requests` to the host's lobby (answered as events).
pub async fn run(link: LobbyLink, mut requests: mpsc::UnboundedReceiver<LobbyRequest>) {
    let (host, events) = (link.host, link.events.clone());
    let mut failures = 0u32;
    loop {
        let reason = match follow(&link, &mut requests).await {
            Ok(()) => return,
            Err(Stop::Fatal(e)) => {
                let _ = events.send((host, LobbyEvent::Unavailable(e)));
                return;
            }
            Err(Stop::Lost(reason)) => reason,
        };
        let retry_in = backoff(failures);
        failures += 1;
        if events
            .send((host, LobbyEvent::Lost { reason, retry_in }))
            .is_err()
        {
            return;
        }
        tokio::time::sleep(retry_in).await;
    }
}

enum Stop {
    Fatal(ConnectError),
    Lost(String),
}

fn now() -> String {
    rfc3339(std::time::SystemTime::now())
}

/// Ok when the application has gone.
async fn follow(
    link: &LobbyLink,
    requests: &mut mpsc::UnboundedReceiver<LobbyRequest>,
) -> Result<(), Stop> {
    let LobbyLink {
        host,
        broker,
        host_id,
        events,
        ..
    } = link;
    let host = *host;
    let client = broker.connect("tether lobby").await.map_err(Stop::Lost)?;
    let store = jetstream::new(client.clone())
        .get_key_value(LOBBY_BUCKET)
        .await
        .map_err(|e| {
            Stop::Fatal(ConnectError::Refused(format!(
                "no lobby on {} ({e}): no host has served through it yet",
                broker.shown()
            )))
        })?;
    let prefix = format!("{host_id}.");
    // Watched before the snapshot is read: a change seen twice is harmless.
    let mut watch = store
        .watch(format!("{host_id}.*"))
        .await
        .map_err(|e| Stop::Lost(format!("broker: {e}")))?;
    let sessions = snapshot(&store, &prefix).await?;
    let mut first = hello(&client, link).await;
    if let LobbyMessage::Sessions { sessions: all, .. } = &mut first {
        *all = sessions;
    }
    let sent = events.send((host, LobbyEvent::Connected)).is_ok()
        && events.send((host, LobbyEvent::Message(first))).is_ok();
    if !sent {
        return Ok(());
    }
    loop {
        let next = tokio::select! {
            next = tokio::time::timeout(Duration::from_secs(60), watch.next()) => next,
            Some(request) = requests.recv() => {
                tokio::spawn(ask(client.clone(), link.clone(), request));
                continue;
            }
        };
        let entry = match next {
            Err(_) => continue,
            Ok(None) => return Err(Stop::Lost("the broker ended the watch".into())),
            Ok(Some(Err(e))) => return Err(Stop::Lost(format!("broker: {e}"))),
            Ok(Some(Ok(entry))) => entry,
        };
        let Some(id) = entry.key.strip_prefix(&prefix).map(from_subject_token) else {
            continue;
        };
        let message = match entry.operation {
            kv::Operation::Put => match serde_json::from_slice::<SessionSummary>(&entry.value) {
                Ok(summary) => LobbyMessage::Session {
                    now: now(),
                    session: Box::new(summary),
                },
                Err(_) => continue,
            },
            kv::Operation::Delete | kv::Operation::Purge => LobbyMessage::SessionRemoved { id },
        };
        if events.send((host, LobbyEvent::Message(message))).is_err() {
            return Ok(());
        }
    }
}

/// What this token sees and may do on the host (its presets, workspaces
/// and `you`), asked of the host's lobby; a host that does not answer
/// leaves them empty (the list still comes from the bucket).
async fn hello(client: &async_nats::Client, link: &LobbyLink) -> LobbyMessage {
    let empty = LobbyMessage::Sessions {
        now: now(),
        sessions: Vec::new(),
        presets: Vec::new(),
        unavailable: Vec::new(),
        workspaces: Vec::new(),
        you: None,
    };
    let hello = serde_json::json!({ "type": LOBBY_HELLO });
    match request(client, link, hello).await {
        Ok(message @ LobbyMessage::Sessions { .. }) => message,
        _ => empty,
    }
}

/// One request to the host's lobby; its answer (or why there is none) is
/// told as the lobby's next message.
async fn ask(client: async_nats::Client, link: LobbyLink, request: LobbyRequest) {
    let id = match &request {
        LobbyRequest::CreateSession { id, .. }
        | LobbyRequest::DeleteSession { id, .. }
        | LobbyRequest::RestartSession { id, .. } => id.clone(),
    };
    let message = serde_json::to_value(&request).expect("requests serialise");
    let answer = match self::request(&client, &link, message).await {
        Ok(answer) => answer,
        Err(why) => LobbyMessage::Refused {
            id,
            code: 503,
            message: why,
            missing_dir: false,
        },
    };
    let _ = link.events.send((link.host, LobbyEvent::Message(answer)));
}

async fn request(
    client: &async_nats::Client,
    link: &LobbyLink,
    message: serde_json::Value,
) -> Result<LobbyMessage, String> {
    let command = RelayCommand {
        token: link.token.clone(),
        message,
    };
    let payload = serde_json::to_vec(&command).expect("relay commands serialise");
    let subject = lobby_subject(&link.host_id);
    let asked = tokio::time::timeout(
        Duration::from_secs(30),
        client.request(subject, payload.into()),
    )
    .await;
    let answer = match asked {
        Err(_) => return Err("the host did not answer in 30 s".into()),
        Ok(Err(e)) if e.kind() == async_nats::RequestErrorKind::NoResponders => {
            return Err(format!("host offline: `{}`", link.host_id));
        }
        Ok(Err(e)) => return Err(format!("broker: {e}")),
        Ok(Ok(answer)) => answer,
    };
    serde_json::from_slice(&answer.payload)
        .map_err(|e| format!("an answer that is not a lobby message: {e}"))
}

/// Every session of the host now, in list order.
async fn snapshot(store: &kv::Store, prefix: &str) -> Result<Vec<SessionSummary>, Stop> {
    let keys = all_keys(store).await.map_err(Stop::Lost)?;
    let mut sessions = Vec::new();
    for key in keys {
        if !key.starts_with(prefix) {
            continue;
        }
        if let Ok(Some(value)) = store.get(&key).await
            && let Ok(summary) = serde_json::from_slice::<SessionSummary>(&value)
        {
            sessions.push(summary);
        }
    }
    sessions.sort_by_key(|s| (s.order.unwrap_or(u64::MAX), s.id.clone()));
    Ok(sessions)
}

/// The hosts with sessions on `broker` now (for `attach nats://BROKER`).
pub async fn hosts_on(broker: &Broker) -> Result<Vec<String>, String> {
    let client = broker.connect("tether").await?;
    let store = jetstream::new(client)
        .get_key_value(LOBBY_BUCKET)
        .await
        .map_err(|_| format!("no host has served through {} yet", broker.shown()))?;
    let hosts: std::collections::BTreeSet<String> = all_keys(&store)
        .await?
        .iter()
        .filter_map(|key| Some(key.split_once('.')?.0.to_owned()))
        .collect();
    Ok(hosts.into_iter().collect())
}

/// How long the listing of a bucket's keys waits for the next one before
/// taking what it has.
const KEYS_PAUSE: Duration = Duration::from_secs(2);

/// The bucket's keys now. The broker sends them at once and marks the
/// last, but nats-server 2.9 sometimes never marks it while keys change
/// (nats-io/nats-server#3481), and the library's listing then never ends:
/// a pause ends it instead.
async fn all_keys(store: &kv::Store) -> Result<Vec<String>, String> {
    let mut keys = store.keys().await.map_err(|e| format!("broker: {e}"))?;
    let mut all = Vec::new();
    while let Ok(next) = tokio::time::timeout(KEYS_PAUSE, keys.next()).await {
        match next {
            Some(key) => all.push(key.map_err(|e| format!("broker: {e}"))?),
            None => return Ok(all),
        }
    }
    tracing::debug!("the broker did not mark its last key; taking {}", all.len());
    Ok(all)
}

/// Tells `found` of each host that puts its first session in `broker`'s
/// lobby after `known` were listed (for `attach nats://BROKER`: hosts
/// that start after the UI). Ends when `found` is closed; a lost broker
/// is retried with backoff.
pub async fn watch_hosts(broker: Broker, known: Vec<String>, found: mpsc::UnboundedSender<String>) {
    let mut known: std::collections::BTreeSet<String> = known.into_iter().collect();
    let mut failures = 0u32;
    while !found.is_closed() {
        match new_hosts(&broker, &mut known, &found).await {
            Ok(()) => return,
            Err(why) => tracing::info!("watching the hosts on {}: {why}", broker.shown()),
        }
        tokio::time::sleep(backoff(failures)).await;
        failures += 1;
    }
}

/// Ok when the application has gone.
async fn new_hosts(
    broker: &Broker,
    known: &mut std::collections::BTreeSet<String>,
    found: &mpsc::UnboundedSender<String>,
) -> Result<(), String> {
    let client = broker.connect("tether hosts").await?;
    let store = jetstream::new(client)
        .get_key_value(LOBBY_BUCKET)
        .await
        .map_err(|e| format!("no lobby yet: {e}"))?;
    // With history: a host that came between the listing and now is
    // seen too (those known are skipped).
    let mut watch = store
        .watch_with_history(">")
        .await
        .map_err(|e| format!("broker: {e}"))?;
    loop {
        let entry = match tokio::time::timeout(Duration::from_secs(5), watch.next()).await {
            Err(_) if found.is_closed() => return Ok(()),
            Err(_) => continue,
            Ok(None) => return Err("the broker ended the watch".into()),
            Ok(Some(Err(e))) => return Err(format!("broker: {e}")),
            Ok(Some(Ok(entry))) => entry,
        };
        if !matches!(entry.operation, kv::Operation::Put) {
            continue;
        }
        if let Some((host, _)) = entry.key.split_once('.')
            && known.insert(host.to_owned())
            && found.send(host.to_owned()).is_err()
        {
            return Ok(());
        }
    }
}
