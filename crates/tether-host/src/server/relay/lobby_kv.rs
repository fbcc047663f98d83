//! The lobby on the broker: one key a session in the key-value bucket
//! `tether-lobby` (`HOST.SESSION`), its summary as `GET /v1/sessions` gives
//! it (pending requests included), written by its host only, deleted when
//! the session stops or the host shuts down. Clients watch the bucket for
//! their session lists and inbox across every host on the broker.

use std::sync::Arc;

use tether_broker::async_nats::Client;
use tether_broker::async_nats::jetstream::{self, kv};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;

use crate::host::lobby::Lobby;
use crate::protocol::LobbyMessage;
use crate::protocol::relay::{LOBBY_BUCKET, lobby_key};

/// The bucket, made if missing: one value a key (no history), each at
/// most 1 MiB. Made with the JetStream API's own request rather than the
/// client library's helper, which first reads account limits in a form
/// older brokers (Debian's 2.9) do not send.
pub(super) async fn bucket(client: &Client) -> Result<kv::Store, String> {
    let context = jetstream::new(client.clone());
    if let Ok(store) = context.get_key_value(LOBBY_BUCKET).await {
        return Ok(store);
    }
    let stream = format!("KV_{LOBBY_BUCKET}");
    let config = serde_json::json!({
        "name": stream,
        "description": "tether: every session of every host on this broker",
        "subjects": [format!("$KV.{LOBBY_BUCKET}.>")],
        "retention": "limits",
        "max_msgs_per_subject": 1,
        "max_msgs": -1,
        "max_bytes": -1,
        "max_age": 0,
        "max_msg_size": 1024 * 1024,
        "storage": "file",
        "discard": "new",
        "num_replicas": 1,
        "duplicate_window": 120_000_000_000u64,
        "allow_rollup_hdrs": true,
        "deny_delete": true,
        "allow_direct": true,
    });
    let subject = format!("$JS.API.STREAM.CREATE.{stream}");
    let answer = client
        .request(subject, config.to_string().into())
        .await
        .map_err(|e| format!("broker: the lobby bucket (is JetStream on? nats-server -js): {e}"))?;
    let answer: serde_json::Value = serde_json::from_slice(&answer.payload).unwrap_or_default();
    // Another host may have made it meanwhile: fine.
    if let Some(error) = answer.get("error")
        && error["err_code"] != 10058
    {
        return Err(format!(
            "broker: cannot make the lobby bucket: {}",
            error["description"]
        ));
    }
    context
        .get_key_value(LOBBY_BUCKET)
        .await
        .map_err(|e| format!("broker: the lobby bucket: {e}"))
}

/// Keeps the bucket's keys of host `host` in step with its lobby until the
/// host closes; then deletes them (its sessions are no longer there).
pub(super) async fn follow(
    store: kv::Store,
    host: String,
    lobby: Arc<Lobby>,
    mut closing: watch::Receiver<bool>,
) {
    // Subscribed before the snapshot: a change seen twice is harmless.
    let mut changes = lobby.subscribe();
    let mut written = std::collections::BTreeSet::new();
    for summary in lobby.snapshot(|_| true) {
        put(&store, &host, &summary.id, serde_json::to_vec(&summary)).await;
        written.insert(summary.id);
    }
    loop {
        let change = tokio::select! {
            _ = closing.changed() => break,
            change = changes.recv() => change,
        };
        match change {
            Ok(change) => match serde_json::from_str::<LobbyMessage>(change.frame.as_str()) {
                Ok(LobbyMessage::Session { session, .. }) => {
                    put(&store, &host, &session.id, serde_json::to_vec(&session)).await;
                    written.insert(session.id.clone());
                }
                Ok(LobbyMessage::SessionRemoved { id }) => {
                    let _ = store.delete(lobby_key(&host, &id)).await;
                    written.remove(&id);
                }
                _ => {}
            },
            // Fell behind: write everything again.
            Err(RecvError::Lagged(_)) => {
                for summary in lobby.snapshot(|_| true) {
                    put(&store, &host, &summary.id, serde_json::to_vec(&summary)).await;
                }
            }
            Err(RecvError::Closed) => break,
        }
    }
    for id in written {
        let _ = store.delete(lobby_key(&host, &id)).await;
    }
}

async fn put(store: &kv::Store, host: &str, id: &str, value: serde_json::Result<Vec<u8>>) {
    let Ok(value) = value else { return };
    if let Err(e) = store.put(lobby_key(host, id), value.into()).await {
        tracing::warn!("relay: cannot write the lobby key of {id}: {e}");
    }
}
