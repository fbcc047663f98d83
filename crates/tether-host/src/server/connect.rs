//! `GET /v1/sessions/{id}`: a WebSocket connection to one session.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, RawQuery, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tokio::sync::oneshot;

use super::connection::{self, ConnectionConfig};
use super::query;
use super::upgrade::Upgrade;
use super::{AppState, caller, plain, websocket_config};
use crate::host::runtime::Request as SessionRequest;
use crate::host::session::Join;
use crate::protocol::{Grant, Mode};

pub async fn connect(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    RawQuery(raw_query): RawQuery,
    mut request: Request,
) -> Response {
    let entry = match caller(&state, peer, request.headers()).await {
        Ok(entry) => entry,
        Err(refusal) => return refusal,
    };
    // Sessions outside the token's scope look like sessions that do not
    // exist.
    let session = state.sessions.get(&id).filter(|_| entry.may_see(&id));
    let Some(session) = session else {
        return plain(StatusCode::NOT_FOUND, "no such session\n");
    };
    // An `admin`-only token is for administration, not for watching.
    if !entry.has(Grant::View) {
        return plain(StatusCode::FORBIDDEN, "the token has no view grant\n");
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
        claims: query.claims,
    };
    let requests = session.requests.clone();
    let closing = session.closing.clone();
    let config = ConnectionConfig {
        keepalive: state.keepalive,
        pong_timeout: state.pong_timeout,
        queue_limit: state.queue_frames,
        flood_tail: query.flood_tail,
    };
    upgrade.respond(websocket_config(), move |socket| async move {
        let _slot = slot;
        let (reply, joined) = oneshot::channel();
        let asked = SessionRequest::Join {
            join,
            token: entry.token,
            reply,
        };
        if requests.send(asked).await.is_err() {
            return;
        }
        if let Ok(joined) = joined.await {
            connection::run(socket, joined, requests, closing, config).await;
        }
    })
}
