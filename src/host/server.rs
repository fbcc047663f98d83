//! HTTP routes: `/healthz`, `/v1/sessions`, and the WebSocket endpoint
//! `/v1/sessions/{id}`. Authentication happens here, before any upgrade.

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{ConnectInfo, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use tokio::sync::{mpsc, oneshot, watch};

use super::auth::{AuthFile, TokenEntry};
use super::connection::{self, ConnectionConfig};
use super::failed_auth::FailedAuth;
use super::query;
use super::runtime::Request as SessionRequest;
use super::session::Join;
use super::slots::Slots;
use super::upgrade::Upgrade;
use crate::protocol::{Grant, MAX_FRAME_BYTES, Mode};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

#[derive(Clone)]
pub struct AppState {
    pub session_id: Arc<str>,
    pub auth: Arc<RwLock<AuthFile>>,
    pub requests: mpsc::Sender<SessionRequest>,
    pub closing: watch::Receiver<bool>,
    pub keepalive: Duration,
    pub pong_timeout: Duration,
    pub queue_frames: usize,
    /// WebSocket connection slots.
    pub slots: Arc<Slots>,
    pub failed_auth: Arc<FailedAuth>,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/v1/sessions", get(list_sessions))
        .route("/v1/sessions/{id}", get(connect))
        .with_state(state)
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
        .map(str::trim);
    let auth = state.auth.read().unwrap_or_else(|e| e.into_inner());
    presented
        .and_then(|token| auth.authenticate(token))
        .cloned()
}

async fn list_sessions(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if authenticate(&state, &headers).is_none() {
        return refuse_slowly(&state, peer).await;
    }
    let (reply, summary) = oneshot::channel();
    if state
        .requests
        .send(SessionRequest::Summary { reply })
        .await
        .is_err()
    {
        return plain(StatusCode::SERVICE_UNAVAILABLE, "shutting down\n");
    }
    match summary.await {
        Ok(summary) => Json(json!({ "sessions": [summary] })).into_response(),
        Err(_) => plain(StatusCode::SERVICE_UNAVAILABLE, "shutting down\n"),
    }
}

async fn connect(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    RawQuery(raw_query): RawQuery,
    mut request: Request,
) -> Response {
    let headers = request.headers().clone();
    let Some(entry) = authenticate(&state, &headers) else {
        return refuse_slowly(&state, peer).await;
    };
    // An `admin`-only token is for administration, not for watching.
    if !entry.has(Grant::View) {
        return plain(StatusCode::FORBIDDEN, "the token has no view grant\n");
    }
    if id != *state.session_id {
        return plain(StatusCode::NOT_FOUND, "no such session\n");
    }
    let query = match query::parse(raw_query.as_deref()) {
        Ok(query) => query,
        Err(reason) => return (StatusCode::BAD_REQUEST, format!("{reason}\n")).into_response(),
    };
    let eligible = query.mode == Mode::Control && entry.has(Grant::Control);
    // Taken before the upgrade, so a burst of handshakes cannot overshoot.
    let slot = match state.slots.take(&entry.token, eligible) {
        Ok(slot) => slot,
        Err(refused) => return plain(StatusCode::SERVICE_UNAVAILABLE, refused.message()),
    };
    let upgrade = match Upgrade::from_request(&mut request) {
        Ok(upgrade) => upgrade,
        Err(refusal) => return *refusal,
    };
    let join = Join {
        identity: entry.name.clone(),
        grants: entry.effective_grants(),
        mode: query.mode,
        client: query.client,
        since: query.since,
    };
    let requests = state.requests.clone();
    let closing = state.closing.clone();
    let config = ConnectionConfig {
        keepalive: state.keepalive,
        pong_timeout: state.pong_timeout,
        queue_limit: state.queue_frames,
    };
    // Small initial buffers: thousands of mostly idle followers must stay
    // cheap (they grow when a frame needs it, and large messages are sent
    // in fragments so they never need to grow much).
    let mut ws_config = WebSocketConfig::default();
    ws_config.read_buffer_size = 4 * 1024;
    ws_config.write_buffer_size = 4 * 1024;
    ws_config.max_message_size = Some(MAX_FRAME_BYTES);
    ws_config.max_frame_size = Some(MAX_FRAME_BYTES);
    upgrade.respond(ws_config, move |socket| async move {
        let _slot = slot;
        let (reply, joined) = oneshot::channel();
        if requests
            .send(SessionRequest::Join {
                join,
                token: entry.token,
                reply,
            })
            .await
            .is_err()
        {
            return;
        }
        if let Ok(joined) = joined.await {
            connection::run(socket, joined, requests, closing, config).await;
        }
    })
}
