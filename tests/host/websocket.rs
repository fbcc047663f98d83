//! The WebSocket layer as RFC 6455 has it: a client's Close is answered,
//! a broken frame gets a close code before the connection ends, and a
//! client that stops answering pings is closed and gives its slot back.
//! The clients here are raw TCP with hand-made frames, so every byte the
//! host sees and sends is the test's.

use std::time::{Duration, Instant};

use tether::host::agent::AgentSpec;
use tether::protocol::ServerMessage;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};

use crate::support::*;

const TEXT: u8 = 0x1;
const CONTINUATION: u8 = 0x0;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;
const PONG: u8 = 0xA;
const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// One frame as a client would write it (`masked` false breaks the rules).
struct Frame<'a> {
    fin: bool,
    rsv: u8,
    opcode: u8,
    payload: &'a [u8],
    masked: bool,
}

impl<'a> Frame<'a> {
    fn new(opcode: u8, payload: &'a [u8]) -> Self {
        Frame {
            fin: true,
            rsv: 0,
            opcode,
            payload,
            masked: true,
        }
    }

    fn unfinished(mut self) -> Self {
        self.fin = false;
        self
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = vec![(u8::from(self.fin) << 7) | (self.rsv << 4) | self.opcode];
        let mask_bit = if self.masked { 0x80 } else { 0 };
        let len = self.payload.len();
        if len < 126 {
            out.push(mask_bit | len as u8);
        } else if len <= usize::from(u16::MAX) {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
        if self.masked {
            out.extend_from_slice(&MASK);
            out.extend(
                self.payload
                    .iter()
                    .enumerate()
                    .map(|(i, b)| b ^ MASK[i % 4]),
            );
        } else {
            out.extend_from_slice(self.payload);
        }
        out
    }
}

fn close_payload(code: u16, reason: &str) -> Vec<u8> {
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend_from_slice(reason.as_bytes());
    payload
}

/// What the host sent: a frame (opcode, payload), or the end of the socket.
#[derive(Debug)]
enum Received {
    Frame(u8, Vec<u8>),
    End,
}

/// A WebSocket client on a raw TCP socket.
struct RawClient {
    stream: TcpStream,
    /// Bytes read and not yet parsed.
    pending: Vec<u8>,
}

impl RawClient {
    /// Connects with `token` and completes the handshake.
    async fn connect(url: &str, token: &str) -> RawClient {
        let addr = host_addr(url);
        let path = &url[url.find("/v1/").expect("a session URL")..];
        let mut stream = TcpStream::connect(&addr).await.unwrap();
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\nAuthorization: Bearer {token}\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut pending = Vec::new();
        let head_end = loop {
            if let Some(at) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            let mut buf = [0u8; 1024];
            let n = tokio::time::timeout(WAIT, stream.read(&mut buf))
                .await
                .expect("a handshake answer")
                .unwrap();
            assert!(n > 0, "the host closed during the handshake");
            pending.extend_from_slice(&buf[..n]);
        };
        let head = String::from_utf8_lossy(&pending[..head_end]).into_owned();
        assert!(head.starts_with("HTTP/1.1 101"), "not upgraded: {head}");
        pending.drain(..head_end);
        RawClient { stream, pending }
    }

    async fn send(&mut self, frame: Frame<'_>) {
        self.stream.write_all(&frame.encode()).await.unwrap();
    }

    /// Parses one frame from `pending`, if it holds a whole one.
    fn parse(&mut self) -> Option<(u8, Vec<u8>)> {
        let b = &self.pending;
        if b.len() < 2 {
            return None;
        }
        assert_eq!(b[1] & 0x80, 0, "frames from the host are never masked");
        let (len, start) = match b[1] & 0x7f {
            126 if b.len() >= 4 => (usize::from(u16::from_be_bytes([b[2], b[3]])), 4),
            127 if b.len() >= 10 => (
                u64::from_be_bytes(b[2..10].try_into().unwrap()) as usize,
                10,
            ),
            126 | 127 => return None,
            short => (usize::from(short), 2),
        };
        if b.len() < start + len {
            return None;
        }
        let opcode = b[0] & 0x0f;
        let payload = b[start..start + len].to_vec();
        self.pending.drain(..start + len);
        Some((opcode, payload))
    }

    /// The next frame from the host, or its end; panics after `limit`.
    async fn receive(&mut self, limit: Duration) -> Received {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some((opcode, payload)) = self.parse() {
                return Received::Frame(opcode, payload);
            }
            let mut buf = [0u8; 4096];
            match tokio::time::timeout_at(deadline, self.stream.read(&mut buf)).await {
                Err(_) => panic!("nothing from the host within {limit:?}"),
                Ok(Ok(0) | Err(_)) => return Received::End,
                Ok(Ok(n)) => self.pending.extend_from_slice(&buf[..n]),
            }
        }
    }

    /// Reads past messages and pings to the host's Close; returns its
    /// code and reason, or `None` when the socket ended without one.
    async fn close_frame(&mut self, limit: Duration) -> Option<(u16, String)> {
        loop {
            match self.receive(limit).await {
                Received::End => return None,
                Received::Frame(CLOSE, payload) => {
                    assert!(payload.len() >= 2, "a close frame with a code");
                    let code = u16::from_be_bytes([payload[0], payload[1]]);
                    let reason = String::from_utf8(payload[2..].to_vec()).expect("UTF-8 reason");
                    return Some((code, reason));
                }
                Received::Frame(..) => {}
            }
        }
    }

    /// Whether the host ends the socket within `limit` (after its Close,
    /// nothing more may come).
    async fn ends_within(&mut self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if !self.pending.is_empty() {
                panic!("bytes after the close frame: {:?}", self.pending);
            }
            let mut buf = [0u8; 256];
            match tokio::time::timeout_at(deadline, self.stream.read(&mut buf)).await {
                Err(_) => return false,
                Ok(Ok(0) | Err(_)) => return true,
                Ok(Ok(n)) => self.pending.extend_from_slice(&buf[..n]),
            }
        }
    }
}

/// Connects a raw client, sends `frames` in one write, and returns the
/// host's close code and reason, asserting the socket then ends.
async fn host_answer(host: &TestHost, frames: &[Frame<'_>]) -> (u16, String) {
    let mut client = RawClient::connect(&host.url, &host.view).await;
    let bytes: Vec<u8> = frames.iter().flat_map(Frame::encode).collect();
    client.stream.write_all(&bytes).await.unwrap();
    let answer = client
        .close_frame(WAIT)
        .await
        .expect("a close frame before the socket ends");
    assert!(
        client.ends_within(Duration::from_secs(3)).await,
        "the socket ends after the close frame"
    );
    answer
}

#[tokio::test]
async fn a_close_from_the_client_is_answered_with_its_code() {
    let host = TestHost::start(AgentSpec::Shell).await;
    let bye = close_payload(4000, "bye");
    let (code, reason) = host_answer(&host, &[Frame::new(CLOSE, &bye)]).await;
    assert_eq!((code, reason.as_str()), (4000, "bye"));
    // A Close without a code is answered with 1000.
    let (code, _) = host_answer(&host, &[Frame::new(CLOSE, b"")]).await;
    assert_eq!(code, 1000);
    // A code no endpoint may send is a protocol error.
    let reserved = close_payload(1005, "");
    let (code, _) = host_answer(&host, &[Frame::new(CLOSE, &reserved)]).await;
    assert_eq!(code, 1002);

    // A tungstenite client completes the closing handshake too.
    let mut client = host.owner().await;
    client
        .ws
        .close(Some(CloseFrame {
            code: CloseCode::Normal,
            reason: "done".into(),
        }))
        .await
        .unwrap();
    let answer = loop {
        match tokio::time::timeout(WAIT, futures_util::StreamExt::next(&mut client.ws))
            .await
            .expect("an answer to the close")
        {
            Some(Ok(Message::Close(frame))) => break frame,
            Some(Ok(_)) => {}
            other => panic!("the close was not answered: {other:?}"),
        }
    };
    assert_eq!(answer.map(|f| f.code), Some(CloseCode::Normal));
    host.stop().await;
}

#[tokio::test]
async fn protocol_errors_get_1002_with_a_reason() {
    let host = TestHost::start(AgentSpec::Shell).await;
    let hello = b"{\"type\":\"ping\"}";
    let long = [b'x'; 126];
    let cases: Vec<(&str, Vec<Frame>)> = vec![
        (
            "unmasked frame",
            vec![Frame {
                masked: false,
                ..Frame::new(TEXT, hello)
            }],
        ),
        (
            "reserved bit without an extension",
            vec![Frame {
                rsv: 0b100,
                ..Frame::new(TEXT, hello)
            }],
        ),
        ("unknown data opcode", vec![Frame::new(0x3, hello)]),
        ("unknown control opcode", vec![Frame::new(0xB, b"")]),
        ("ping over 125 bytes", vec![Frame::new(PING, &long)]),
        ("fragmented ping", vec![Frame::new(PING, b"a").unfinished()]),
        (
            "continuation without a start",
            vec![Frame::new(CONTINUATION, hello)],
        ),
        (
            "new message inside a fragmented one",
            vec![
                Frame::new(TEXT, b"{\"type\":").unfinished(),
                Frame::new(TEXT, hello),
            ],
        ),
        (
            "close with a one-byte payload",
            vec![Frame::new(CLOSE, b"x")],
        ),
    ];
    for (what, frames) in cases {
        let (code, reason) = host_answer(&host, &frames).await;
        assert_eq!(code, 1002, "{what}: got {code} {reason:?}");
        assert!(!reason.is_empty(), "{what}: a reason is given");
    }
    host.stop().await;
}

#[tokio::test]
async fn invalid_utf8_in_text_gets_1007() {
    let host = TestHost::start(AgentSpec::Shell).await;
    let (code, _) = host_answer(&host, &[Frame::new(TEXT, b"{\"x\":\"\xff\xfe\"}")]).await;
    assert_eq!(code, 1007, "a single text frame");
    // U+00E9 split across two fragments is fine; a stray continuation
    // byte at the end of the message is not.
    let (code, _) = host_answer(
        &host,
        &[
            Frame::new(TEXT, b"\"\xc3").unfinished(),
            Frame::new(CONTINUATION, b"\xa9\"\x80"),
        ],
    )
    .await;
    assert_eq!(code, 1007, "a fragmented text message");
    // The split character alone is valid UTF-8: the connection stays.
    let mut client = RawClient::connect(&host.url, &host.view).await;
    client.send(Frame::new(TEXT, b"\"\xc3").unfinished()).await;
    client.send(Frame::new(CONTINUATION, b"\xa9\"")).await;
    let deadline = Instant::now() + Duration::from_millis(500);
    while Instant::now() < deadline {
        match client.receive(WAIT).await {
            Received::Frame(CLOSE, payload) => panic!("closed: {payload:?}"),
            Received::End => panic!("the socket ended"),
            Received::Frame(TEXT, payload) if payload.starts_with(b"{\"type\":\"error\"") => break,
            Received::Frame(..) => {}
        }
    }
    host.stop().await;
}

#[tokio::test]
async fn a_client_that_answers_no_ping_is_closed_and_frees_its_slot() {
    let host = TestHost::start_with(AgentSpec::Shell, |c| {
        c.keepalive = Duration::from_millis(200);
        c.pong_timeout = Duration::from_millis(600);
        c.max_connections_per_token = 1;
    })
    .await;
    let mut owner = host.owner().await;
    // The owner, a tungstenite client, answers pings by itself while it is
    // read: it is read all along, well past the deadline, and notes how
    // many participants the host lists.
    let owner_side = async {
        let mut counts = Vec::new();
        let until = Instant::now() + Duration::from_secs(3);
        while let Some(remaining) = until.checked_duration_since(Instant::now()) {
            if let Some(ServerMessage::Participants { participants, .. }) =
                owner.recv_within(remaining).await
            {
                counts.push(participants.len());
            }
        }
        counts
    };
    let silent_side = async {
        let mut silent = RawClient::connect(&host.url, &host.view).await;
        let start = Instant::now();
        // The view token's one slot is taken.
        let refused = try_connect(&host.url, Some(&host.view), "").await;
        assert!(
            matches!(&refused, Err(tungstenite::Error::Http(r)) if r.status() == 503),
            "{refused:?}"
        );
        // It reads everything, pings included, and answers nothing.
        let mut pings = 0;
        let (code, reason) = loop {
            assert!(start.elapsed() < WAIT, "not closed within {WAIT:?}");
            match silent.receive(WAIT).await {
                Received::Frame(PING, _) => pings += 1,
                Received::Frame(CLOSE, payload) => {
                    let code = u16::from_be_bytes([payload[0], payload[1]]);
                    break (code, String::from_utf8_lossy(&payload[2..]).into_owned());
                }
                Received::Frame(..) => {}
                Received::End => panic!("the socket ended without a close frame"),
            }
        };
        let closed_after = start.elapsed();
        assert_eq!(code, 1008, "{reason}");
        assert!(reason.contains("ping"), "{reason}");
        assert!(pings >= 1, "the host pinged before giving up");
        assert!(
            closed_after >= Duration::from_millis(600) && closed_after < Duration::from_secs(2),
            "closed after {closed_after:?}"
        );
        assert!(silent.ends_within(Duration::from_secs(3)).await);
    };
    let (counts, ()) = tokio::join!(owner_side, silent_side);
    // The silent client joined, then left the session.
    assert!(counts.contains(&2), "{counts:?}");
    assert_eq!(counts.last(), Some(&1), "{counts:?}");
    owner.ping().await;
    // And its slot is free again.
    let mut viewer = host.viewer().await;
    viewer.ping().await;
    host.stop().await;
}

/// A pong counts as life like any other frame: a raw client that answers
/// each ping stays.
#[tokio::test]
async fn a_client_that_answers_pings_stays() {
    let host = TestHost::start_with(AgentSpec::Shell, |c| {
        c.keepalive = Duration::from_millis(200);
        c.pong_timeout = Duration::from_millis(600);
    })
    .await;
    let mut client = RawClient::connect(&host.url, &host.view).await;
    let deadline = Instant::now() + Duration::from_millis(2000);
    let mut pings = 0;
    while Instant::now() < deadline {
        match client.receive(WAIT).await {
            Received::Frame(PING, payload) => {
                pings += 1;
                client.send(Frame::new(PONG, &payload)).await;
            }
            Received::Frame(CLOSE, payload) => panic!("closed: {payload:?}"),
            Received::End => panic!("the socket ended"),
            Received::Frame(..) => {}
        }
    }
    assert!(pings >= 5, "pinged {pings} times");
    host.stop().await;
}

#[tokio::test]
async fn serve_refuses_a_pong_timeout_that_is_not_positive() {
    let dir = tempfile::tempdir().unwrap();
    for value in ["0", "-1"] {
        let run = crate::common::tether_async(dir.path())
            .args(["serve", "--listen", "127.0.0.1:0", "--no-journal"])
            .arg(format!("--pong-timeout={value}"))
            .output();
        // A host that accepted the value would serve until killed.
        let output = tokio::time::timeout(WAIT, run)
            .await
            .expect("refused at once")
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "--pong-timeout {value}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("--pong-timeout must be a positive number of seconds"),
            "{stderr}"
        );
    }
}
