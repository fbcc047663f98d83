//! Test support: a real host on loopback and a real WebSocket client.

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tempfile::TempDir;
use tether::host::agent::AgentSpec;
use tether::host::{Host, HostConfig};
use tether::protocol::{
    ClientMessage, EventKind, EventRecord, PermissionDecision, Ping, Role, ServerMessage,
    UserMessage,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub use crate::common::host_addr;

pub const WAIT: Duration = Duration::from_secs(10);

pub struct TestHost {
    pub host: Option<Host>,
    pub dir: TempDir,
    pub url: String,
    pub control: String,
    pub view: String,
}

impl TestHost {
    pub async fn start(agent: AgentSpec) -> TestHost {
        Self::start_with(agent, |_| {}).await
    }

    pub async fn start_with(agent: AgentSpec, tweak: impl FnOnce(&mut HostConfig)) -> TestHost {
        let dir = tempfile::tempdir().unwrap();
        let mut config = crate::common::host_config(dir.path(), agent);
        tweak(&mut config);
        Self::start_config(config, dir).await
    }

    pub async fn start_config(config: HostConfig, dir: TempDir) -> TestHost {
        let host = Host::start(config).await.expect("host starts");
        TestHost {
            url: host.url(),
            control: host.control_token().unwrap(),
            view: host.view_token().unwrap(),
            host: Some(host),
            dir,
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub async fn owner(&self) -> Client {
        let mut c = Client::connect(&self.url, &self.control, "").await;
        c.greeting().await;
        assert_eq!(c.role, Some(Role::Owner), "expected to own");
        c
    }

    pub async fn follower(&self) -> Client {
        let mut c = Client::connect(&self.url, &self.control, "").await;
        c.greeting().await;
        assert_eq!(c.role, Some(Role::Follower));
        c
    }

    pub async fn viewer(&self) -> Client {
        let mut c = Client::connect(&self.url, &self.view, "").await;
        c.greeting().await;
        c
    }

    pub async fn stop(mut self) -> TempDir {
        if let Some(host) = self.host.take() {
            host.shutdown().await.unwrap();
        }
        self.dir
    }
}

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A test's WebSocket client. Every event it reads, by whichever method,
/// is recorded in `events`, in order.
pub struct Client {
    pub ws: Socket,
    pub role: Option<Role>,
    pub participant: String,
    pub ready: Option<ServerMessage>,
    pub events: Vec<EventRecord>,
    next_id: u64,
    client_tag: u64,
}

pub async fn try_connect(
    url: &str,
    token: Option<&str>,
    query: &str,
) -> Result<Socket, tungstenite::Error> {
    let full = if query.is_empty() {
        url.to_owned()
    } else {
        format!("{url}?{query}")
    };
    let mut request = full.into_client_request().unwrap();
    if let Some(token) = token {
        request.headers_mut().insert(
            "Authorization",
            HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
        );
    }
    let (ws, _) = tokio_tungstenite::connect_async(request).await?;
    Ok(ws)
}

impl Client {
    pub async fn connect(url: &str, token: &str, query: &str) -> Client {
        let ws = try_connect(url, Some(token), query)
            .await
            .expect("connects");
        Client {
            ws,
            role: None,
            participant: String::new(),
            ready: None,
            events: Vec::new(),
            next_id: 0,
            client_tag: 0,
        }
    }

    /// Reads `ready`, `role` and `participants` (asserting that order),
    /// then the replay up to `caught_up`.
    pub async fn greeting(&mut self) {
        let ready = self.recv().await;
        let ServerMessage::Ready { ref you, .. } = ready else {
            panic!("first message must be ready, got {ready:?}");
        };
        self.participant = you.participant.clone();
        self.ready = Some(ready);
        let ServerMessage::Role { role, .. } = self.recv().await else {
            panic!("second message must be role");
        };
        self.role = Some(role);
        let third = self.recv().await;
        assert!(
            matches!(third, ServerMessage::Participants { .. }),
            "third must be participants: {third:?}"
        );
        self.until_caught_up().await;
    }

    /// Reads (and records) events until `caught_up`; returns its seq.
    pub async fn until_caught_up(&mut self) -> u64 {
        loop {
            if let ServerMessage::CaughtUp { seq } = self.recv().await {
                return seq;
            }
        }
    }

    /// The session's epoch, from the `ready` of the greeting.
    pub fn epoch(&self) -> String {
        match &self.ready {
            Some(ServerMessage::Ready { session, .. }) => session.epoch.clone(),
            other => panic!("no ready: {other:?}"),
        }
    }

    /// A fresh message id, unique across the test process as a real
    /// client's are across its connections (the host remembers ids per
    /// identity, across restarts too).
    pub fn id(&mut self) -> String {
        static CLIENTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        if self.next_id == 0 {
            self.client_tag = CLIENTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        self.next_id += 1;
        format!("c{}-m{}", self.client_tag, self.next_id)
    }

    pub async fn send(&mut self, message: &ClientMessage) {
        self.ws
            .send(Message::text(message.to_json()))
            .await
            .unwrap();
    }

    pub async fn send_raw(&mut self, message: Message) {
        self.ws.send(message).await.unwrap();
    }

    /// The next protocol message (pings are skipped); panics on timeout.
    pub async fn recv(&mut self) -> ServerMessage {
        match self.recv_within(WAIT).await {
            Some(m) => m,
            None => panic!("no message within {WAIT:?}"),
        }
    }

    pub async fn recv_within(&mut self, limit: Duration) -> Option<ServerMessage> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let next = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .ok()?;
            match next {
                Some(Ok(Message::Text(text))) => {
                    let message: ServerMessage =
                        serde_json::from_str(text.as_str()).expect("host sends protocol JSON");
                    if let ServerMessage::Event(record) = &message {
                        self.events.push(record.clone());
                    }
                    return Some(message);
                }
                Some(Ok(Message::Close(frame))) => panic!("closed by host: {frame:?}"),
                Some(Ok(_)) => continue,
                Some(Err(e)) => panic!("socket error: {e}"),
                None => panic!("socket ended"),
            }
        }
    }

    /// Reads until the host closes; returns the close frame.
    pub async fn expect_close(&mut self) -> Option<CloseFrame> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => panic!("not closed within {WAIT:?}"),
                Ok(Some(Ok(Message::Close(frame)))) => return frame,
                Ok(Some(Ok(_))) => continue,
                Ok(Some(Err(_)) | None) => return None,
            }
        }
    }

    /// Reads messages until `pick` returns something; records events.
    pub async fn wait_for<T>(&mut self, mut pick: impl FnMut(&ServerMessage) -> Option<T>) -> T {
        loop {
            let message = self.recv().await;
            if let Some(found) = pick(&message) {
                return found;
            }
        }
    }

    /// Waits for an event whose kind matches; returns the record.
    pub async fn wait_event(&mut self, mut pred: impl FnMut(&EventKind) -> bool) -> EventRecord {
        self.wait_for(|m| match m {
            ServerMessage::Event(r) if pred(&r.event) => Some(r.clone()),
            _ => None,
        })
        .await
    }

    /// Like `wait_event`, waiting up to `limit` in all (a real agent may
    /// take longer than one message's wait).
    pub async fn wait_event_within(
        &mut self,
        mut pred: impl FnMut(&EventKind) -> bool,
        limit: Duration,
    ) -> EventRecord {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.recv_within(left).await {
                Some(ServerMessage::Event(r)) if pred(&r.event) => return r,
                Some(_) => {}
                None => panic!("no such event within {limit:?}; saw {:#?}", self.events),
            }
        }
    }

    /// Like `wait_event`, but first looks at the events already received.
    pub async fn saw_or_wait(&mut self, mut pred: impl FnMut(&EventKind) -> bool) -> EventRecord {
        if let Some(found) = self.events.iter().find(|r| pred(&r.event)) {
            return found.clone();
        }
        self.wait_event(pred).await
    }

    /// Asserts no ack, error or pong arrives for `limit`.
    pub async fn assert_no_replies(&mut self, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        while let Some(m) = self
            .recv_within(deadline - tokio::time::Instant::now())
            .await
        {
            assert!(
                !matches!(
                    m,
                    ServerMessage::Ack { .. }
                        | ServerMessage::Error { .. }
                        | ServerMessage::Pong { .. }
                ),
                "unexpected reply {m:?}"
            );
        }
    }

    /// Waits for the agent to exit; returns its exit code and detail.
    pub async fn wait_exit(&mut self) -> (Option<i32>, Option<String>) {
        match self.wait_event(is_exit).await.event {
            EventKind::Status {
                exit_code, detail, ..
            } => (exit_code, detail),
            _ => unreachable!("is_exit matched a status"),
        }
    }

    /// Waits for the answer (`ack` or `error`) to message `id`.
    pub async fn answer(&mut self, id: &str) -> ServerMessage {
        self.wait_for(|m| match m {
            ServerMessage::Ack { id: got, .. } if got == id => Some(m.clone()),
            ServerMessage::Error { id: Some(got), .. } if got == id => Some(m.clone()),
            _ => None,
        })
        .await
    }

    /// Sends a message with a fresh id and returns the answer.
    pub async fn request(&mut self, build: impl FnOnce(String) -> ClientMessage) -> ServerMessage {
        let id = self.id();
        self.send(&build(id.clone())).await;
        self.answer(&id).await
    }

    /// Sends a ping and waits for its pong.
    pub async fn ping(&mut self) {
        let id = self.id();
        self.send(&ClientMessage::Ping(Ping {
            id: Some(id.clone()),
        }))
        .await;
        self.wait_for(|m| match m {
            ServerMessage::Pong { id: Some(got) } if *got == id => Some(()),
            ServerMessage::Ack { .. } | ServerMessage::Error { id: Some(_), .. } => {
                panic!("a ping is answered with pong, got {m:?}")
            }
            _ => None,
        })
        .await;
    }

    /// Asserts no event arrives for `limit` (other messages are fine).
    pub async fn assert_no_events(&mut self, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        while let Some(m) = self
            .recv_within(deadline - tokio::time::Instant::now())
            .await
        {
            assert!(
                !matches!(m, ServerMessage::Event(_)),
                "unexpected event {m:?}"
            );
        }
    }
}

/// Error code of an answer, or None for an ack.
pub fn code_of(answer: &ServerMessage) -> Option<tether::protocol::ErrorCode> {
    match answer {
        ServerMessage::Error { code, .. } => Some(*code),
        ServerMessage::Ack { .. } => None,
        other => panic!("not an answer: {other:?}"),
    }
}

/// A plain HTTP/1.1 GET; returns (status, body).
pub async fn http_get(addr: &str, path: &str, token: Option<&str>) -> (u16, String) {
    http(addr, "GET", path, token, None).await
}

/// A plain HTTP/1.1 request with an optional JSON body; returns
/// (status, body).
pub async fn http(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&serde_json::Value>,
) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let content = if body.is_empty() {
        String::new()
    } else {
        format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        )
    };
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}{content}Connection: close\r\n\r\n{body}"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut response))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text.split(' ').nth(1).unwrap().parse().unwrap();
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/claude-code-stream-json")
        .join(name)
}

pub fn user(id: String, text: &str) -> ClientMessage {
    ClientMessage::UserMessage(UserMessage {
        id,
        text: text.to_owned(),
    })
}

/// Writes an auth file with two control identities (alice, bob) and a
/// viewer; returns their tokens.
pub fn write_auth(path: &std::path::Path) -> (String, String, String) {
    use std::os::unix::fs::PermissionsExt;
    let (alice, bob, view) = (
        "tt_alice_0000000000000000".to_owned(),
        "tt_bob_00000000000000000".to_owned(),
        "tt_view_0000000000000000".to_owned(),
    );
    let file = serde_json::json!({"tokens": [
        {"name": "alice", "token": alice, "grants": ["control"]},
        {"name": "bob", "token": bob, "grants": ["control"]},
        {"name": "watcher", "token": view, "grants": ["view"]},
    ]});
    std::fs::write(path, file.to_string()).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    (alice, bob, view)
}

/// The agent's `status exited` event.
pub fn is_exit(event: &EventKind) -> bool {
    matches!(
        event,
        EventKind::Status {
            state: tether::protocol::AgentState::Exited,
            ..
        }
    )
}

/// The id of a `permission_request` event.
pub fn request_id(event: &EventKind) -> String {
    match event {
        EventKind::PermissionRequest { request_id, .. } => request_id.clone(),
        other => panic!("not a request: {other:?}"),
    }
}

/// An owner's answer to a permission request, sent with [`Client::request`]
/// as `owner.request(decide(id, Decision::Allow).option("x").message())`.
pub struct Answer {
    request_id: String,
    decision: tether::protocol::Decision,
    reason: Option<String>,
    updated_input: Option<serde_json::Value>,
    option: Option<String>,
}

pub fn decide(request_id: impl Into<String>, decision: tether::protocol::Decision) -> Answer {
    Answer {
        request_id: request_id.into(),
        decision,
        reason: None,
        updated_input: None,
        option: None,
    }
}

impl Answer {
    /// The deny reason passed to the agent.
    pub fn reason(mut self, reason: Option<&str>) -> Self {
        self.reason = reason.map(str::to_owned);
        self
    }

    /// The input to run instead of the requested one (with allow).
    pub fn input(mut self, input: Option<serde_json::Value>) -> Self {
        self.updated_input = input;
        self
    }

    /// One of the request's option ids.
    pub fn option(mut self, option: Option<&str>) -> Self {
        self.option = option.map(str::to_owned);
        self
    }

    /// The `permission_decision` message, given its message id.
    pub fn message(self) -> impl FnOnce(String) -> ClientMessage {
        move |id| {
            ClientMessage::PermissionDecision(PermissionDecision {
                id,
                request_id: self.request_id,
                decision: self.decision,
                message: self.reason,
                updated_input: self.updated_input,
                option: self.option,
            })
        }
    }
}

/// `tether-test-agent trace` playing the recorded Claude Code session
/// `trace`, with its extra arguments.
pub fn trace_agent(trace: &Path, extra: &[&str]) -> AgentSpec {
    let mut command = vec![
        crate::common::TEST_AGENT.to_owned(),
        "trace".into(),
        trace.display().to_string(),
        "--timeout-ms".into(),
        "10000".into(),
    ];
    command.extend(extra.iter().map(|a| (*a).to_owned()));
    AgentSpec::StreamJson { command }
}

/// Sends a shell command as the owner and waits for the permission request
/// it raises; returns the request's id.
pub async fn ask(owner: &mut Client, command: &str) -> String {
    let answer = owner.request(|id| user(id, command)).await;
    assert_eq!(code_of(&answer), None, "{answer:?}");
    let request = owner
        .wait_event(|e| matches!(e, EventKind::PermissionRequest { .. }))
        .await;
    let EventKind::PermissionRequest { tool, input, .. } = &request.event else {
        unreachable!()
    };
    assert_eq!(tool, "shell");
    assert_eq!(input["command"], command);
    request_id(&request.event)
}

/// The token of the first entry of the auth file at `path` whose first
/// grant is `grant`.
pub fn token_from_auth(path: &Path, grant: &str) -> String {
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    file["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["grants"][0] == grant)
        .unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Whether process `pid` still runs (a zombie does not count).
pub fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    })
}

/// Waits up to `within` for every process in `pids` to be gone; the ones
/// still running then.
pub async fn still_alive_after(pids: &[i32], within: std::time::Duration) -> Vec<i32> {
    let deadline = std::time::Instant::now() + within;
    loop {
        let left: Vec<i32> = pids.iter().copied().filter(|p| alive(*p)).collect();
        if left.is_empty() || std::time::Instant::now() >= deadline {
            return left;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
