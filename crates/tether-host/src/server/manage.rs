//! Managing sessions over HTTP: `POST /v1/sessions` creates one from a
//! configured preset, `DELETE /v1/sessions/{id}` stops it, `POST
//! /v1/sessions/{id}/restart` starts its agent again. Answers are JSON;
//! refusals are `{"error": TEXT}`.

use std::net::SocketAddr;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{AppState, caller, json_error};
use crate::host::auth::TokenEntry;
use crate::host::sessions::{CreateSession, SessionRefusal};
use crate::protocol::{Grant, SessionSummary};

/// Sessions a token may create at once, and then one per this many
/// seconds (3,000 idle sessions made in 7.7 s once took 1.6 GB).
pub const CREATE_BURST: f64 = 20.0;
pub const CREATE_EVERY_SECS: f64 = 3.0;

/// Per token, how fast sessions may be created.
#[derive(Debug, Default)]
pub struct CreateRate {
    buckets: std::sync::Mutex<std::collections::HashMap<String, super::rate::Bucket>>,
}

impl CreateRate {
    /// Whether the token named `name` may create a session now.
    pub fn admit(&self, name: &str) -> bool {
        let now = std::time::Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        buckets
            .entry(name.to_owned())
            .or_insert_with(|| super::rate::Bucket::new(CREATE_BURST, 1.0 / CREATE_EVERY_SECS, now))
            .take(now)
    }
}

/// Largest body of a create request.
const MAX_BODY: usize = 16 * 1024;

fn refused(refusal: SessionRefusal) -> Response {
    json_error(status_of(&refusal), refusal.message())
}

const NEEDS_ADMIN: &str = "the token has no admin grant (it is needed to create and stop sessions)";

fn needs_admin() -> Response {
    json_error(StatusCode::FORBIDDEN, NEEDS_ADMIN)
}

/// The HTTP status of a refusal (the lobby reports the same numbers).
pub fn status_of(refusal: &SessionRefusal) -> StatusCode {
    match refusal {
        SessionRefusal::NotFound => StatusCode::NOT_FOUND,
        SessionRefusal::Conflict(_) => StatusCode::CONFLICT,
        SessionRefusal::Invalid(_) | SessionRefusal::MissingDir(_) => StatusCode::BAD_REQUEST,
        SessionRefusal::Forbidden(_) => StatusCode::FORBIDDEN,
        SessionRefusal::Full(_) => StatusCode::SERVICE_UNAVAILABLE,
        SessionRefusal::TooFast(_) => StatusCode::TOO_MANY_REQUESTS,
    }
}

/// The caller, if it may see session `id` (else the 401 or 404 answer).
async fn caller_for(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
    id: &str,
) -> Result<TokenEntry, Response> {
    let entry = caller(state, peer, headers).await?;
    if !entry.may_see(id) || state.sessions.get(id).is_none() {
        return Err(refused(SessionRefusal::NotFound));
    }
    Ok(entry)
}

pub async fn create_session(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let entry = match caller(&state, peer, &headers).await {
        Ok(entry) => entry,
        Err(refusal) => return refusal,
    };
    if body.len() > MAX_BODY {
        return json_error(StatusCode::PAYLOAD_TOO_LARGE, "the request is too large");
    }
    let ask: CreateSession = match serde_json::from_slice(&body) {
        Ok(ask) => ask,
        Err(_) if !entry.has(Grant::Admin) => return needs_admin(),
        Err(e) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                format!(
                    "the body must be {{\"agent\": PRESET, \"id\"?, \"cwd\"?, \"title\"?}}: {e}"
                ),
            );
        }
    };
    match create(&state, &entry, ask).await {
        Ok(summary) => (StatusCode::CREATED, Json(summary)).into_response(),
        Err(refusal) => refused(refusal),
    }
}

/// Creates a session for `entry`: for admins only, and for a token
/// limited to some sessions only inside its scope (over HTTP and the
/// lobby alike).
pub async fn create(
    state: &AppState,
    entry: &TokenEntry,
    ask: CreateSession,
) -> Result<SessionSummary, SessionRefusal> {
    if !entry.has(Grant::Admin) {
        return Err(SessionRefusal::Forbidden(NEEDS_ADMIN.into()));
    }
    match &ask.id {
        Some(id) if !entry.may_see(id) => Err(SessionRefusal::Forbidden(format!(
            "the token may not use a session named `{id}`"
        ))),
        None if !entry.sessions.is_empty() => Err(SessionRefusal::Invalid(
            "a token limited to some sessions must name the new one (`id`)".into(),
        )),
        _ if !state.create_rate.admit(&entry.name) => Err(SessionRefusal::TooFast(format!(
            "this token creates sessions too fast (at most {} at once, then one every {} s): try again later",
            CREATE_BURST, CREATE_EVERY_SECS
        ))),
        _ => state.sessions.create(ask).await,
    }
}

pub async fn delete_session(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let entry = match caller_for(&state, peer, &headers, &id).await {
        Ok(entry) => entry,
        Err(refusal) => return refusal,
    };
    match delete(&state, &entry, &id).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(refusal) => refused(refusal),
    }
}

/// Stops session `id` for `entry` (admins; over HTTP and the lobby).
pub async fn delete(state: &AppState, entry: &TokenEntry, id: &str) -> Result<(), SessionRefusal> {
    if !entry.may_see(id) {
        return Err(SessionRefusal::NotFound);
    }
    if !entry.has(Grant::Admin) {
        return Err(SessionRefusal::Forbidden(NEEDS_ADMIN.into()));
    }
    state.sessions.delete(id).await
}

pub async fn restart_session(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let entry = match caller_for(&state, peer, &headers, &id).await {
        Ok(entry) => entry,
        Err(refusal) => return refusal,
    };
    match restart(&state, &entry, &id).await {
        Ok(summary) => Json(summary).into_response(),
        Err(refusal) => refused(refusal),
    }
}

/// Restarts session `id`'s agent for `entry`: for admins, and for whoever
/// may own the session (a control token of the owner, or any control
/// token while nobody owns it).
pub async fn restart(
    state: &AppState,
    entry: &TokenEntry,
    id: &str,
) -> Result<SessionSummary, SessionRefusal> {
    let Some(session) = state.sessions.get(id).filter(|_| entry.may_see(id)) else {
        return Err(SessionRefusal::NotFound);
    };
    if !entry.has(Grant::Admin) {
        let owner = session.summary().await.ok().and_then(|s| s.owner);
        let may_own =
            entry.has(Grant::Control) && owner.as_deref().is_none_or(|owner| owner == entry.name);
        if !may_own {
            return Err(SessionRefusal::Forbidden(
                "only the session's owner or an admin may restart its agent".into(),
            ));
        }
    }
    state.sessions.restart(id, &entry.name).await
}
