//! The WebSocket handshake, done on the raw connection.
//!
//! axum's `WebSocketUpgrade` hides the socket behind a `Message` type that
//! cannot carry raw frames, and the host needs them: a large message (the
//! participant list of a big session) is sent as fragments so no
//! connection's write buffer grows to its size and stays there. The checks
//! are those of RFC 6455 section 4.2.1 (and of axum's extractor).

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Version, header};
use axum::response::{IntoResponse, Response};
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

pub type Socket = WebSocketStream<TokioIo<Upgraded>>;

/// A request that may be upgraded: the key to answer and the upgrade.
pub struct Upgrade {
    key: HeaderValue,
    on_upgrade: OnUpgrade,
}

fn header_is(headers: &HeaderMap, name: header::HeaderName, value: &str) -> bool {
    headers
        .get(name)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(value.as_bytes()))
}

fn header_has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|v| {
        v.to_str()
            .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    })
}

impl Upgrade {
    /// Checks that `request` asks for a WebSocket; the refusal otherwise.
    pub fn from_request(request: &mut axum::extract::Request) -> Result<Upgrade, Box<Response>> {
        let refuse =
            |status: StatusCode, why: &'static str| Box::new((status, why).into_response());
        if request.version() > Version::HTTP_11 || request.method() != Method::GET {
            return Err(refuse(
                StatusCode::METHOD_NOT_ALLOWED,
                "WebSocket upgrades are GET over HTTP/1.1\n",
            ));
        }
        let headers = request.headers();
        if !header_has_token(headers, header::CONNECTION, "upgrade")
            || !header_is(headers, header::UPGRADE, "websocket")
        {
            return Err(refuse(
                StatusCode::UPGRADE_REQUIRED,
                "this endpoint speaks WebSocket only\n",
            ));
        }
        if !header_is(headers, header::SEC_WEBSOCKET_VERSION, "13") {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "Sec-WebSocket-Version must be 13\n",
            ));
        }
        let Some(key) = headers.get(header::SEC_WEBSOCKET_KEY).cloned() else {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "Sec-WebSocket-Key is missing\n",
            ));
        };
        let Some(on_upgrade) = request.extensions_mut().remove::<OnUpgrade>() else {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "this connection cannot be upgraded\n",
            ));
        };
        Ok(Upgrade { key, on_upgrade })
    }

    /// Answers 101 and runs `then` with the socket once the switch is done.
    pub fn respond<F, Fut>(self, config: WebSocketConfig, then: F) -> Response
    where
        F: FnOnce(Socket) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let accept = derive_accept_key(self.key.as_bytes());
        let on_upgrade = self.on_upgrade;
        tokio::spawn(async move {
            match on_upgrade.await {
                Ok(upgraded) => {
                    let socket = WebSocketStream::from_raw_socket(
                        TokioIo::new(upgraded),
                        Role::Server,
                        Some(config),
                    )
                    .await;
                    then(socket).await;
                }
                Err(e) => tracing::debug!("upgrade failed: {e}"),
            }
        });
        Response::builder()
            .status(StatusCode::SWITCHING_PROTOCOLS)
            .header(header::CONNECTION, "upgrade")
            .header(header::UPGRADE, "websocket")
            .header(header::SEC_WEBSOCKET_ACCEPT, accept)
            .body(axum::body::Body::empty())
            .expect("a static 101 response is valid")
    }
}
