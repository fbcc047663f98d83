//! The host's network edge. Here: the HTTP routes (`/healthz`,
//! `/v1/sessions`, and the WebSocket endpoint `/v1/sessions/{id}`);
//! authentication happens here, before any upgrade. Below: the accept loop
//! (`listener`), the upgrade (`upgrade`), one task per WebSocket
//! connection (`connection`), the routes (`connect`, `manage`, `lobby`),
//! what a caller may do (`query`, `slots`, `rate`, `failed_auth`) and the
//! address others can reach (`address`).

pub(crate) mod address;
mod connect;
mod connection;
mod failed_auth;
pub(crate) mod listener;
mod lobby;
mod manage;
pub(crate) mod query;
mod rate;
pub mod relay;
pub(crate) mod slots;
pub(crate) mod tls;
mod upgrade;

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::host::auth::{AuthFile, TokenEntry};
use crate::host::sessions::Sessions;
use crate::protocol::MAX_FRAME_BYTES;
use failed_auth::FailedAuth;
use slots::Slots;

#[derive(Clone)]
pub struct AppState {
    pub sessions: Arc<Sessions>,
    pub auth: Arc<RwLock<AuthFile>>,
    /// Changes after every reload of the auth file (lobby connections
    /// check their token again).
    pub auth_changed: watch::Receiver<u64>,
    /// Turns true when the host shuts down (lobby connections close).
    pub closing: watch::Receiver<bool>,
    pub keepalive: Duration,
    pub pong_timeout: Duration,
    pub queue_frames: usize,
    /// WebSocket connection slots.
    pub slots: Arc<Slots>,
    pub failed_auth: Arc<FailedAuth>,
    /// How fast each token may create sessions.
    pub create_rate: Arc<manage::CreateRate>,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/v1/sessions",
            get(list_sessions).post(manage::create_session),
        )
        .route(
            "/v1/sessions/{id}",
            get(connect::connect).delete(manage::delete_session),
        )
        .route("/v1/sessions/{id}/restart", post(manage::restart_session))
        .route("/v1/lobby", get(lobby::connect))
        .with_state(state)
}

/// WebSocket settings of every connection: small initial buffers, so
/// thousands of mostly idle followers stay cheap (they grow when a frame
/// needs it, and large messages are sent in fragments so they never need
/// to grow much).
fn websocket_config() -> WebSocketConfig {
    let mut ws_config = WebSocketConfig::default();
    ws_config.read_buffer_size = 4 * 1024;
    ws_config.write_buffer_size = 4 * 1024;
    ws_config.max_message_size = Some(MAX_FRAME_BYTES);
    ws_config.max_frame_size = Some(MAX_FRAME_BYTES);
    ws_config
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text,
    )
        .into_response()
}

/// The 401 answer, which says nothing more.
fn unauthorized() -> Response {
    let mut response = plain(StatusCode::UNAUTHORIZED, "unauthorized\n");
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        "Bearer".parse().expect("static header"),
    );
    response
}

/// The 401 answer to a failed authentication, counted for `peer` and
/// delayed when that peer keeps failing.
async fn refuse_slowly(state: &AppState, peer: SocketAddr) -> Response {
    let delay = state
        .failed_auth
        .record(peer.ip(), std::time::Instant::now());
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    unauthorized()
}

/// The entry of the bearer token the request carries, if it is known.
fn authenticate(state: &AppState, headers: &HeaderMap) -> Option<TokenEntry> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)?;
    state.authenticate_token(presented)
}

impl AppState {
    /// The token's entry, if it is known and has not expired (an expired
    /// token is as unknown as a revoked one).
    pub fn authenticate_token(&self, presented: &str) -> Option<TokenEntry> {
        let auth = self.auth.read().unwrap_or_else(|e| e.into_inner());
        let now = std::time::SystemTime::now();
        auth.authenticate(presented)
            .filter(|entry| !entry.expired(now))
            .cloned()
    }
}

/// A JSON error answer: `{"error": TEXT}`.
fn json_error(status: StatusCode, text: impl Into<String>) -> Response {
    (status, Json(json!({ "error": text.into() }))).into_response()
}

/// The authenticated caller, or the (slow) 401 answer.
async fn caller(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
) -> Result<TokenEntry, Response> {
    match authenticate(state, headers) {
        Some(entry) => Ok(entry),
        None => Err(refuse_slowly(state, peer).await),
    }
}

async fn list_sessions(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let entry = match caller(&state, peer, &headers).await {
        Ok(entry) => entry,
        Err(refusal) => return refusal,
    };
    let sessions = state.sessions.summaries(|id| entry.may_see(id)).await;
    Json(json!({ "sessions": sessions })).into_response()
}
