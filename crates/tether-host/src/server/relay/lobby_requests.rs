//! Requests to a host's lobby through the broker (`tether.HOST.lobby`):
//! what this token sees and may do, and creating, deleting and restarting
//! sessions, each answered as the WebSocket lobby answers it and checked
//! against the token the request carries.

use futures_util::StreamExt;
use tether_broker::async_nats::{Client, Subscriber};

use super::super::{AppState, lobby};
use crate::protocol::LobbyMessage;
use crate::protocol::relay::{LOBBY_HELLO, RelayCommand};

/// Answers the lobby requests until the host closes; each in its own task
/// (a session being created must not hold up the next request).
pub(super) async fn serve(client: Client, mut requests: Subscriber, state: AppState) {
    let mut closing = state.closing.clone();
    loop {
        let message = tokio::select! {
            _ = closing.changed() => return,
            message = requests.next() => match message {
                Some(message) => message,
                None => return,
            },
        };
        let Some(reply) = message.reply.clone() else {
            continue;
        };
        let (client, state) = (client.clone(), state.clone());
        tokio::spawn(async move {
            let answer = answer(&state, &message.payload).await;
            let _ = client.publish(reply, answer.into()).await;
        });
    }
}

async fn answer(state: &AppState, payload: &[u8]) -> String {
    let refused = |code: u16, message: &str| {
        LobbyMessage::Refused {
            id: String::new(),
            code,
            message: message.to_owned(),
            missing_dir: false,
        }
        .to_json()
    };
    let Ok(command) = serde_json::from_slice::<RelayCommand>(payload) else {
        return refused(400, "not a relay command");
    };
    let Some(entry) = state.authenticate_token(&command.token) else {
        return refused(401, "the token was not accepted");
    };
    if command.message["type"] == LOBBY_HELLO {
        return lobby::snapshot(state, &entry).to_string();
    }
    let text = command.message.to_string();
    lobby::answer(state, &entry, &text).await.to_string()
}
