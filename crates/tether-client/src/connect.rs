//! One connection attempt, and what its failure means in words.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{self};

use crate::{ConnectError, Since, Socket, Target, request_url, trust};

/// How long an attempt may take, the TLS handshake and the upgrade
/// included.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the check whether a port speaks TLS waits for its answer.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// One connection attempt. `wss://` trusts what [`trust`] says: a given
/// fingerprint, the system's roots, known_hosts.
pub async fn connect_once(target: &Target, since: Since) -> Result<Socket, ConnectError> {
    let url = request_url(target, since);
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|e| ConnectError::BadUrl(e.to_string()))?;
    let bearer = HeaderValue::from_str(&format!("Bearer {}", target.token)).map_err(|_| {
        ConnectError::BadUrl("the token has characters a header cannot carry".into())
    })?;
    request.headers_mut().insert("Authorization", bearer);
    let host = target.url.host_str().unwrap_or("?").to_owned();
    let port = target.url.port_or_known_default().unwrap_or(0);
    let host_port = format!("{host}:{port}");
    let check = match target.url.scheme() {
        "wss" => Some(trust::check(&host_port)?),
        _ => None,
    };
    let connector = check
        .as_ref()
        .map(|c| tokio_tungstenite::Connector::Rustls(c.config.clone()));
    let attempt = tokio::time::timeout(
        ATTEMPT_TIMEOUT,
        tokio_tungstenite::connect_async_tls_with_config(
            request,
            Some(websocket_config()),
            false,
            connector,
        ),
    )
    .await
    .map_err(|_| ConnectError::Network(format!("{host_port}: timed out connecting")))?;
    let error = match attempt {
        Ok((socket, _)) => return Ok(socket),
        Err(error) => error,
    };
    if let Some(refusal) = check.as_ref().and_then(trust::Check::refusal) {
        return Err(refusal);
    }
    if check.is_none() && is_not_http(&error) && speaks_tls(&host, port).await {
        return Err(ConnectError::OnlyTls { host_port });
    }
    Err(failure(error, host_port))
}

/// What a failed attempt means, the certificate's verdict aside.
fn failure(error: tungstenite::Error, host_port: String) -> ConnectError {
    match error {
        tungstenite::Error::Http(response) => match response.status().as_u16() {
            401 => ConnectError::Unauthorized,
            404 => ConnectError::NotFound,
            code => ConnectError::Http(code),
        },
        tungstenite::Error::Io(e) => match tls_error(&e) {
            Some(rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType)) => {
                ConnectError::NotTls { host_port }
            }
            Some(tls) => ConnectError::Tls(format!("{host_port}: {tls}")),
            None => {
                ConnectError::Network(format!("cannot connect to {host_port}: {}", io_reason(&e)))
            }
        },
        tungstenite::Error::Tls(e) => ConnectError::Tls(format!("{host_port}: {e}")),
        e => ConnectError::Network(format!("{host_port}: {e}")),
    }
}

/// The TLS error inside an I/O error of the handshake (tokio-rustls
/// reports them so).
fn tls_error(e: &std::io::Error) -> Option<&rustls::Error> {
    e.get_ref()?.downcast_ref::<rustls::Error>()
}

/// An answer that was not HTTP, or none: what a TLS port gives a plain
/// request.
fn is_not_http(error: &tungstenite::Error) -> bool {
    match error {
        tungstenite::Error::Protocol(
            ProtocolError::HttparseError(_) | ProtocolError::HandshakeIncomplete,
        ) => true,
        tungstenite::Error::Io(e) => e.kind() != std::io::ErrorKind::ConnectionRefused,
        _ => false,
    }
}

/// Whether `host:port` answers a plain HTTP request with a TLS record (a
/// TLS server's alert): then `ws://` was the mistake.
async fn speaks_tls(host: &str, port: u16) -> bool {
    let probe = async {
        let mut stream = TcpStream::connect((host, port)).await.ok()?;
        let request = format!("GET / HTTP/1.1\r\nHost: {host}\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut head = [0u8; 2];
        stream.read_exact(&mut head).await.ok()?;
        Some(head)
    };
    let head = tokio::time::timeout(PROBE_TIMEOUT, probe)
        .await
        .ok()
        .flatten();
    // A TLS record: alert (21) or handshake (22), then version 3.x.
    matches!(head, Some([21 | 22, 3]))
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
        _ => e.to_string(),
    }
}

/// The client's WebSocket settings. Each read zero-fills the free part of
/// the read buffer up to `read_buffer_size` first (tungstenite's default
/// is 128 KiB), so a watcher of a flood spent a tenth of its time in
/// memset: 32 KiB still takes an output event in two reads.
fn websocket_config() -> tokio_tungstenite::tungstenite::protocol::WebSocketConfig {
    tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default().read_buffer_size(32 * 1024)
}
