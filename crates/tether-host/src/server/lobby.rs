//! `GET /v1/lobby`: a WebSocket that says where a dashboard is needed. It
//! sends a `sessions` snapshot of every session the token may see, then a
//! `session` message whenever one changes (paced by each session, see
//! `runtime::lobby_feed`) and `session_removed` when one stops. Clients
//! may ask for a new session (`create_session`, admins only, as `POST
//! /v1/sessions`); nothing else.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use std::path::PathBuf;

use super::upgrade::{Socket, Upgrade};
use super::{AppState, caller, manage, plain, websocket_config};
use crate::host::auth::TokenEntry;
use crate::host::sessions::{CreateSession, SessionRefusal};
use crate::protocol::{Grant, LobbyMessage, LobbyRequest, LobbyYou, close_code, rfc3339};

/// A lobby peer that does not take a write in this long is not reading.
const SEND_TIMEOUT: Duration = Duration::from_secs(20);

pub async fn connect(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut request: Request,
) -> Response {
    let entry = match caller(&state, peer, request.headers()).await {
        Ok(entry) => entry,
        Err(refusal) => return refusal,
    };
    let slot = match state.slots.take(&entry.token, false) {
        Ok(slot) => slot,
        Err(refused) => return plain(StatusCode::SERVICE_UNAVAILABLE, refused.message()),
    };
    let upgrade = match Upgrade::from_request(&mut request) {
        Ok(upgrade) => upgrade,
        Err(refusal) => return *refusal,
    };
    upgrade.respond(websocket_config(), move |socket| async move {
        let _slot = slot;
        let (code, reason) = serve(socket, &state, &entry).await;
        tracing::debug!(code, reason, "lobby connection ended");
    })
}

/// Why the connection ended, as a close code and reason.
type Ended = (u16, &'static str);

async fn send(socket: &mut Socket, frame: Utf8Bytes) -> Result<(), Ended> {
    write(socket, Message::Text(frame)).await
}

/// Writes one message within [`SEND_TIMEOUT`].
async fn write(socket: &mut Socket, message: Message) -> Result<(), Ended> {
    match tokio::time::timeout(SEND_TIMEOUT, socket.send(message)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err((close_code::GOING_AWAY, "gone")),
        Err(_) => Err((close_code::POLICY, "not reading")),
    }
}

pub(super) fn snapshot(state: &AppState, entry: &TokenEntry) -> Utf8Bytes {
    let admin = entry.has(Grant::Admin);
    let (presets, unavailable) = if admin {
        state.sessions.presets()
    } else {
        Default::default()
    };
    let message = LobbyMessage::Sessions {
        now: rfc3339(std::time::SystemTime::now()),
        sessions: state.sessions.lobby.snapshot(|id| entry.may_see(id)),
        presets,
        unavailable,
        workspaces: if admin {
            state.sessions.workspaces()
        } else {
            Vec::new()
        },
        you: Some(LobbyYou {
            identity: entry.name.clone(),
            grants: entry.effective_grants(),
        }),
    };
    Utf8Bytes::from(message.to_json())
}

/// Answers what a client asked (a bad request is answered, never fatal).
pub(super) async fn answer(state: &AppState, entry: &TokenEntry, text: &str) -> Utf8Bytes {
    let answer = match serde_json::from_str::<LobbyRequest>(text) {
        Ok(LobbyRequest::CreateSession {
            id,
            agent,
            session,
            cwd,
            title,
            create_dir,
        }) => {
            let ask = CreateSession {
                id: session,
                agent,
                cwd: cwd.map(PathBuf::from),
                title,
                create_dir,
            };
            match manage::create(state, entry, ask).await {
                Ok(summary) => LobbyMessage::Created {
                    id,
                    session: Box::new(summary),
                },
                Err(refusal) => LobbyMessage::Refused {
                    id,
                    code: manage::status_of(&refusal).as_u16(),
                    message: refusal.message(),
                    missing_dir: matches!(refusal, SessionRefusal::MissingDir(_)),
                },
            }
        }
        Ok(LobbyRequest::DeleteSession { id, session }) => {
            settled(id, manage::delete(state, entry, &session).await)
        }
        Ok(LobbyRequest::RestartSession { id, session }) => settled(
            id,
            manage::restart(state, entry, &session).await.map(|_| ()),
        ),
        Err(e) => LobbyMessage::Refused {
            id: String::new(),
            code: 400,
            message: format!("not a lobby request: {e}"),
            missing_dir: false,
        },
    };
    Utf8Bytes::from(answer.to_json())
}

/// The answer to a request that changes a session: done, or refused.
fn settled(id: String, outcome: Result<(), SessionRefusal>) -> LobbyMessage {
    match outcome {
        Ok(()) => LobbyMessage::Done { id },
        Err(refusal) => LobbyMessage::Refused {
            id,
            code: manage::status_of(&refusal).as_u16(),
            message: refusal.message(),
            missing_dir: false,
        },
    }
}

/// Why a token no longer authenticates: expired, or revoked.
fn gone_reason(entry: &TokenEntry) -> &'static str {
    if entry.expired(std::time::SystemTime::now()) {
        "token expired"
    } else {
        "token revoked"
    }
}

/// Whether the token still authenticates (it may have been revoked).
fn still_valid(state: &AppState, entry: &TokenEntry) -> bool {
    let auth = state.auth.read().unwrap_or_else(|e| e.into_inner());
    let now = std::time::SystemTime::now();
    auth.authenticate(&entry.token)
        .is_some_and(|e| e == entry && !e.expired(now))
}

async fn serve(mut socket: Socket, state: &AppState, entry: &TokenEntry) -> Ended {
    let ended = run(&mut socket, state, entry).await.unwrap_err();
    let close = CloseFrame {
        code: ended.0.into(),
        reason: ended.1.into(),
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), socket.close(Some(close))).await;
    ended
}

/// Serves the lobby until the connection must end (always `Err`).
async fn run(socket: &mut Socket, state: &AppState, entry: &TokenEntry) -> Result<(), Ended> {
    let mut feed = state.sessions.lobby.subscribe();
    send(socket, snapshot(state, entry)).await?;
    let mut closing = state.closing.clone();
    let mut auth_changed = state.auth_changed.clone();
    let mut keepalive = tokio::time::interval(state.keepalive);
    keepalive.reset();
    let mut silent_since: Option<Instant> = None;
    loop {
        tokio::select! {
            _ = closing.changed() => return Err((close_code::GOING_AWAY, "host shutting down")),
            // A revoked token loses its lobby at once, as its sessions.
            Ok(()) = auth_changed.changed() => {
                if !still_valid(state, entry) {
                    return Err((close_code::REVOKED, gone_reason(entry)));
                }
            }
            change = feed.recv() => match change {
                Ok(change) if entry.may_see(&change.session) => send(socket, change.frame).await?,
                Ok(_) => {}
                // Fell behind: a fresh snapshot says everything again.
                Err(RecvError::Lagged(_)) => send(socket, snapshot(state, entry)).await?,
                Err(RecvError::Closed) => return Err((close_code::GOING_AWAY, "host shutting down")),
            },
            frame = socket.next() => match frame {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                    return Err((close_code::GOING_AWAY, "closed"));
                }
                Some(Ok(Message::Text(text))) => {
                    silent_since = None;
                    if !still_valid(state, entry) {
                        return Err((close_code::REVOKED, gone_reason(entry)));
                    }
                    send(socket, answer(state, entry, &text).await).await?;
                }
                Some(Ok(_)) => silent_since = None,
            },
            _ = keepalive.tick() => {
                if !still_valid(state, entry) {
                    return Err((close_code::REVOKED, gone_reason(entry)));
                }
                match silent_since {
                    Some(since) if since.elapsed() >= state.pong_timeout => {
                        return Err((close_code::POLICY, "no answer to a ping"));
                    }
                    Some(_) => {}
                    None => silent_since = Some(Instant::now()),
                }
                write(socket, Message::Ping(Default::default())).await?;
            }
        }
    }
}
