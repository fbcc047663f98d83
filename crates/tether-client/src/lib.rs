//! The client side of the wire: connect, keep alive, reconnect, resume.
//!
//! [`spawn`] runs one task per session that owns the socket. It reports
//! [`ConnEvent`]s and sends what it is given; what the messages mean is the
//! application's business. On loss it reconnects with exponential backoff
//! and jitter, asking for `since=<last applied seq>` (read from a shared
//! counter the application advances as it applies events).

// Paths written as `crate::protocol::...` when this was a module.
use tether_protocol as protocol;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use url::Url;

mod connect;
mod error;
pub mod known_hosts;
pub mod lobby;
pub mod pinning;
pub mod relay;
mod relay_beat;
mod relay_catch_up;
pub mod relay_lobby;
mod relay_outbox;
mod trust;

pub use connect::connect_once;
pub use error::ConnectError;
/// How a broker is reached (for the relay's targets).
pub use tether_broker as broker;

use crate::protocol::{ClientMessage, Ping, ServerMessage};

/// No frame at all for this long means the connection is dead.
pub const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(45);
/// How often the round-trip time is measured with a `ping`.
pub const RTT_INTERVAL: Duration = Duration::from_secs(5);
const BACKOFF_START: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(10);

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Where to connect and as whom.
#[derive(Debug, Clone)]
pub struct Target {
    /// The session URL, `ws://HOST:PORT/v1/sessions/ID`.
    pub url: Url,
    pub token: String,
    /// Connect with `mode=view`: never own.
    pub view: bool,
}

/// Parses what a user typed: `ws://`/`wss://` (or `http://`/`https://`),
/// with `/v1/sessions/main` assumed when no path is given.
pub fn parse_url(text: &str) -> Result<Url, ConnectError> {
    if !text.contains("://") {
        // `localhost:7878/...` parses as the scheme `localhost`: say what
        // was probably meant instead.
        let guess = format!("ws://{text}");
        let plausible = !text.contains(char::is_whitespace) && Url::parse(&guess).is_ok();
        return Err(ConnectError::BadUrl(if plausible {
            format!("`{text}` has no scheme: did you mean {guess}?")
        } else {
            format!("`{text}` is not a ws:// or wss:// URL")
        }));
    }
    let mut url = Url::parse(text).map_err(|e| ConnectError::BadUrl(format!("`{text}`: {e}")))?;
    let scheme = match url.scheme() {
        "ws" | "http" => "ws",
        "wss" | "https" => "wss",
        other => {
            return Err(ConnectError::BadUrl(format!(
                "`{text}`: the scheme must be ws:// or wss://, not {other}://"
            )));
        }
    };
    url.set_scheme(scheme)
        .expect("ws and wss are valid schemes");
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ConnectError::BadUrl(format!("`{text}` has no host")));
    }
    if url.path() == "/" || url.path().is_empty() {
        url.set_path("/v1/sessions/main");
    }
    Ok(url)
}

/// Which events the host replays after its greeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    /// Every retained event with a greater seq (0: the whole history).
    Seq(u64),
    /// None: only what happens from now on.
    Live,
}

impl fmt::Display for Since {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Since::Seq(seq) => write!(f, "{seq}"),
            Since::Live => f.write_str("live"),
        }
    }
}

/// Where the connection task picks up after a reconnect.
#[derive(Debug, Clone)]
pub enum Resume {
    /// After the last event the application applied (it advances the
    /// counter as it applies events).
    After(Arc<AtomicU64>),
    /// From now on: nothing missed is replayed.
    Live,
}

impl Resume {
    pub(crate) fn since(&self) -> Since {
        match self {
            Resume::After(last_applied) => Since::Seq(last_applied.load(Ordering::Acquire)),
            Resume::Live => Since::Live,
        }
    }
}

fn request_url(target: &Target, since: Since) -> Url {
    let mut url = target.url.clone();
    let keep: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| !matches!(k.as_ref(), "since" | "mode" | "client"))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    {
        let mut query = url.query_pairs_mut();
        query.clear();
        for (k, v) in &keep {
            query.append_pair(k, v);
        }
        query.append_pair("since", &since.to_string());
        if target.view {
            query.append_pair("mode", "view");
        }
        query.append_pair("client", concat!("tether/", env!("CARGO_PKG_VERSION")));
    }
    url
}

/// What the connection task reports.
// Moved through channels a few at a time; boxing the large variant would
// cost an allocation per server message instead.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum ConnEvent {
    Connecting {
        attempt: u32,
    },
    Connected,
    Message(ServerMessage),
    Rtt(Duration),
    /// The connection is gone; a new attempt follows after `retry_in`.
    Lost {
        reason: String,
        retry_in: Duration,
    },
    /// Retrying cannot help (401, 404): the task has stopped.
    Failed(ConnectError),
}

/// What the application tells the connection task.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnCommand {
    Send(ClientMessage),
    /// Drop the socket and connect again at once (with the current since).
    Reconnect,
}

pub struct Connection {
    pub events: mpsc::Receiver<ConnEvent>,
    pub commands: mpsc::UnboundedSender<ConnCommand>,
}

/// The delay before attempt `n` (0-based): 0.5 s doubling to 10 s, with
/// ±25 % jitter so many clients do not return in lockstep.
pub fn backoff(n: u32) -> Duration {
    let base = BACKOFF_START
        .saturating_mul(1u32 << n.min(6))
        .min(BACKOFF_MAX);
    base.mul_f64(0.75 + rand::random::<f64>() * 0.5)
}

/// A connection that failed before it started: it reports `error` once.
pub fn failed(error: ConnectError) -> Connection {
    let (events_tx, events) = mpsc::channel(1);
    let (commands, _) = mpsc::unbounded_channel();
    let _ = events_tx.try_send(ConnEvent::Failed(error));
    Connection { events, commands }
}

/// Starts the connection task. `first` is an already open socket (the
/// first attempt, made before the UI started so errors show plainly).
pub fn spawn(target: Target, first: Option<Socket>, resume: Resume) -> Connection {
    let (events_tx, events) = mpsc::channel(1024);
    let (commands, commands_rx) = mpsc::unbounded_channel();
    tokio::spawn(run(target, first, resume, events_tx, commands_rx));
    Connection { events, commands }
}

async fn run(
    target: Target,
    mut first: Option<Socket>,
    resume: Resume,
    events: mpsc::Sender<ConnEvent>,
    mut commands: mpsc::UnboundedReceiver<ConnCommand>,
) {
    let mut failures = 0u32;
    loop {
        let socket = match first.take() {
            Some(socket) => socket,
            None => {
                if events
                    .send(ConnEvent::Connecting {
                        attempt: failures + 1,
                    })
                    .await
                    .is_err()
                {
                    return;
                }
                match connect_once(&target, resume.since()).await {
                    Ok(socket) => socket,
                    Err(e) if e.is_fatal() => {
                        let _ = events.send(ConnEvent::Failed(e)).await;
                        return;
                    }
                    Err(e) => {
                        let retry_in = backoff(failures);
                        failures += 1;
                        let lost = ConnEvent::Lost {
                            reason: e.to_string(),
                            retry_in,
                        };
                        if events.send(lost).await.is_err() || wait(retry_in, &mut commands).await {
                            return;
                        }
                        continue;
                    }
                }
            }
        };
        if events.send(ConnEvent::Connected).await.is_err() {
            return;
        }
        let (reason, retry_in) = match session(socket, &events, &mut commands).await {
            SessionEnd::AppGone => return,
            SessionEnd::ReconnectRequested => ("reconnecting".to_owned(), Duration::ZERO),
            SessionEnd::Lost(reason) => (reason, backoff(0)),
        };
        failures = 1;
        if events
            .send(ConnEvent::Lost { reason, retry_in })
            .await
            .is_err()
            || wait(retry_in, &mut commands).await
        {
            return;
        }
    }
}

/// Sleeps, dropping sends meanwhile (the application resends what was not
/// acknowledged). Returns true when the application has gone.
pub(crate) async fn wait(
    delay: Duration,
    commands: &mut mpsc::UnboundedReceiver<ConnCommand>,
) -> bool {
    let sleep = tokio::time::sleep(delay);
    tokio::pin!(sleep);
    loop {
        tokio::select! {
            () = &mut sleep => return false,
            command = commands.recv() => match command {
                None => return true,
                Some(ConnCommand::Reconnect) => return false,
                Some(ConnCommand::Send(_)) => {}
            }
        }
    }
}

/// Why a connected session ended.
enum SessionEnd {
    /// The application dropped its end: stop.
    AppGone,
    /// The application asked to connect again ([`ConnCommand::Reconnect`]).
    ReconnectRequested,
    /// The connection broke, for this reason.
    Lost(String),
}

/// Runs one connected session until it ends.
async fn session(
    socket: Socket,
    events: &mpsc::Sender<ConnEvent>,
    commands: &mut mpsc::UnboundedReceiver<ConnCommand>,
) -> SessionEnd {
    match session_loop(socket, events, commands).await {
        Some(end) => end,
        None => SessionEnd::AppGone,
    }
}

/// The session's loop; None when the application has gone.
async fn session_loop(
    mut socket: Socket,
    events: &mpsc::Sender<ConnEvent>,
    commands: &mut mpsc::UnboundedReceiver<ConnCommand>,
) -> Option<SessionEnd> {
    let mut heard = tokio::time::Instant::now();
    let mut rtt_timer = tokio::time::interval(RTT_INTERVAL);
    let mut rtt_probe: Option<(String, Instant)> = None;
    let mut probes = 0u64;
    loop {
        let dead_at = heard + HEARTBEAT_TIMEOUT;
        tokio::select! {
            frame = socket.next() => {
                heard = tokio::time::Instant::now();
                match frame {
                    Some(Ok(Message::Text(text))) => {
                        let message = match crate::protocol::decode_server_message(text.as_str()) {
                            Ok(m) => m,
                            Err(e) => {
                                tracing::warn!("ignoring an undecodable frame: {e}");
                                continue;
                            }
                        };
                        if let ServerMessage::Pong { id: Some(id) } = &message
                            && let Some((probe, sent)) = &rtt_probe
                            && probe == id
                        {
                            let rtt = sent.elapsed();
                            rtt_probe = None;
                            events.send(ConnEvent::Rtt(rtt)).await.ok()?;
                            continue;
                        }
                        events.send(ConnEvent::Message(message)).await.ok()?;
                    }
                    Some(Ok(Message::Close(frame))) => {
                        return Some(SessionEnd::Lost(match frame {
                            Some(f) => format!("closed by the host ({}: {})", u16::from(f.code), f.reason),
                            None => "closed by the host".into(),
                        }));
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Some(SessionEnd::Lost(format!("connection lost: {e}"))),
                    None => return Some(SessionEnd::Lost("connection lost".into())),
                }
            }
            command = commands.recv() => match command {
                None => {
                    let _ = socket.close(None).await;
                    return None;
                }
                Some(ConnCommand::Reconnect) => {
                    let _ = socket.close(None).await;
                    return Some(SessionEnd::ReconnectRequested);
                }
                Some(ConnCommand::Send(message)) => {
                    if let Err(e) = socket.send(Message::text(message.to_json())).await {
                        return Some(SessionEnd::Lost(format!("connection lost: {e}")));
                    }
                }
            },
            _ = rtt_timer.tick() => {
                probes += 1;
                let id = format!("rtt-{probes}");
                let ping = ClientMessage::Ping(Ping { id: Some(id.clone()) });
                if socket.send(Message::text(ping.to_json())).await.is_err() {
                    return Some(SessionEnd::Lost("connection lost".into()));
                }
                rtt_probe = Some((id, Instant::now()));
            }
            () = tokio::time::sleep_until(dead_at) => {
                return Some(SessionEnd::Lost(format!("no frame for {} s", HEARTBEAT_TIMEOUT.as_secs())));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_normalised_and_bad_ones_explained() {
        assert_eq!(
            parse_url("ws://127.0.0.1:7878").unwrap().as_str(),
            "ws://127.0.0.1:7878/v1/sessions/main"
        );
        assert_eq!(
            parse_url("http://h:1/v1/sessions/x").unwrap().as_str(),
            "ws://h:1/v1/sessions/x"
        );
        assert!(matches!(
            parse_url("ftp://h/"),
            Err(ConnectError::BadUrl(_))
        ));
        assert!(matches!(
            parse_url("not a url"),
            Err(ConnectError::BadUrl(why)) if !why.contains("did you mean")
        ));
        let Err(ConnectError::BadUrl(why)) = parse_url("localhost:7878/v1/sessions/main") else {
            panic!("a URL without a scheme is refused");
        };
        assert!(
            why.ends_with("did you mean ws://localhost:7878/v1/sessions/main?"),
            "{why}"
        );
    }

    #[test]
    fn request_urls_carry_since_mode_and_client() {
        let target = Target {
            url: parse_url("ws://h:1/v1/sessions/main?since=9&x=1").unwrap(),
            token: "t".into(),
            view: true,
        };
        let url = request_url(&target, Since::Seq(42));
        let query = url.query().unwrap();
        assert!(
            query.starts_with("x=1&since=42&mode=view&client=tether%2F"),
            "{query}"
        );
        let live = request_url(&target, Since::Live);
        assert!(live.query().unwrap().contains("since=live&"), "{live}");
    }

    #[test]
    fn backoff_doubles_to_ten_seconds_with_jitter() {
        for n in 0..12 {
            let d = backoff(n).as_secs_f64();
            let base = (0.5 * 2f64.powi(n.min(6) as i32)).min(10.0);
            assert!(
                d >= base * 0.75 - 1e-9 && d <= base * 1.25 + 1e-9,
                "{n}: {d}"
            );
        }
    }
}
