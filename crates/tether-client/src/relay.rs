//! A session through a NATS broker (`nats://BROKER/HOST/SESSION`): the
//! same [`ConnEvent`]s and [`ConnCommand`]s as a WebSocket connection, so
//! the application cannot tell them apart. The client subscribes to its
//! own subject and the session's `live` one, then asks the host to join
//! (request-reply); the host's replay comes on its own subject, ends with
//! `caught_up`, and the live frames held meanwhile follow, each event once
//! (a seq already applied is dropped, a seq skipped means frames were
//! lost: it joins again and resumes, so nothing is). When the session's
//! stream on the broker holds the events the replay would send, the host
//! says so instead and the client reads them there (`relay_catch_up`).

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tether_broker::Broker;
use tether_broker::async_nats::{self, Client, Subscriber};
use tokio::sync::{mpsc, watch};

use super::{
    ConnCommand, ConnEvent, ConnectError, Connection, HEARTBEAT_TIMEOUT, Resume, Since, backoff,
    wait,
};
use crate::protocol::relay::{
    HEARTBEAT, LEAVE, RelayBeacon, RelayCatchUp, RelayClosed, RelayCommand, RelayJoin, RelayReply,
    SessionSubjects, fresh_id,
};
use crate::protocol::{ClientMessage, Mode, ServerMessage};
use crate::relay_beat::Beat;
use crate::relay_catch_up::CatchUpReader;
use crate::relay_outbox::{ANSWER_TIMEOUT, Answer, Outbox, answer};

/// Live frames held while the replay comes; more means this client is
/// far behind: it joins again.
const HELD_LIMIT: usize = 100_000;

/// A session through a broker, and as whom.
#[derive(Debug, Clone)]
pub struct RelayTarget {
    pub broker: Broker,
    pub host: String,
    pub session: String,
    pub token: String,
    pub view: bool,
    /// Take a free owner slot on joining (`false`: as `claim=no`).
    pub claim: bool,
}

/// Starts the relay connection task (see [`crate::spawn`]).
pub fn spawn(target: RelayTarget, resume: Resume) -> Connection {
    let (events_tx, events) = mpsc::channel(1024);
    let (commands, commands_rx) = mpsc::unbounded_channel();
    tokio::spawn(run(target, resume, events_tx, commands_rx));
    Connection { events, commands }
}

async fn run(
    target: RelayTarget,
    resume: Resume,
    events: mpsc::Sender<ConnEvent>,
    mut commands: mpsc::UnboundedReceiver<ConnCommand>,
) {
    let mut failures = 0u32;
    // The broker connection, and the count of its losses (what the broker
    // sent during one is gone: the link joins again after what it applied).
    let mut client: Option<(Client, watch::Receiver<u64>)> = None;
    // The newest seq handed to the application: a link that ends may have
    // handed on events it has not applied yet (they wait in the channel),
    // and the next link must not hand them on again.
    let mut handed = 0u64;
    // Whether the next join may catch up from the session's stream (not
    // right after a catch-up from it failed).
    let mut stream = true;
    loop {
        let attempt = ConnEvent::Connecting {
            attempt: failures + 1,
        };
        if events.send(attempt).await.is_err() {
            return;
        }
        let mut unreachable = String::new();
        if client.is_none() {
            match target.broker.connect_counting_losses("tether").await {
                Ok(made) => client = Some(made),
                Err(why) => unreachable = why,
            }
        }
        let joined = match &client {
            Some((made, losses)) => {
                // Losses from now on: seen before the join, so none slips
                // in between.
                let mut losses = losses.clone();
                losses.borrow_and_update();
                let since = match (&resume, handed) {
                    (Resume::After(applied), _) => Since::Seq(
                        applied
                            .load(std::sync::atomic::Ordering::Acquire)
                            .max(handed),
                    ),
                    (Resume::Live, 0) => Since::Live,
                    (Resume::Live, seq) => Since::Seq(seq),
                };
                join(
                    made,
                    &target,
                    since,
                    losses,
                    std::mem::replace(&mut stream, true),
                )
                .await
            }
            None => Err(ConnectError::Network(unreachable)),
        };
        let end = match joined {
            Ok(link) => {
                if events.send(ConnEvent::Connected).await.is_err() {
                    return;
                }
                failures = 0;
                let (end, last) = link.serve(&events, &mut commands).await;
                handed = handed.max(last);
                end
            }
            Err(e) if e.is_fatal() => {
                let _ = events.send(ConnEvent::Failed(e)).await;
                return;
            }
            Err(e) => End::Lost(e.to_string()),
        };
        let (reason, retry_in) = match end {
            End::AppGone => return,
            End::Reconnect => ("reconnecting".to_owned(), Duration::ZERO),
            End::Resync(why) => (why, Duration::ZERO),
            End::NoStream(why) => {
                stream = false;
                (why, Duration::ZERO)
            }
            End::Lost(why) => {
                let retry_in = backoff(failures);
                failures += 1;
                (why, retry_in)
            }
        };
        let lost = ConnEvent::Lost { reason, retry_in };
        if events.send(lost).await.is_err() || wait(retry_in, &mut commands).await {
            return;
        }
    }
}

/// Why a joined connection ended.
pub(crate) enum End {
    AppGone,
    Reconnect,
    /// Frames were lost on the way: join again at once and resume.
    Resync(String),
    /// Catching up from the stream failed: join again and ask the host.
    NoStream(String),
    Lost(String),
}

/// One joined connection: its subjects and subscriptions.
struct Link {
    client: Client,
    subjects: SessionSubjects,
    conn: String,
    token: String,
    own: Subscriber,
    live: Subscriber,
    losses: watch::Receiver<u64>,
    /// Joined in view mode: heartbeats as the host's beacon says.
    view: bool,
    /// The host's run, as its join answer named it (older hosts do not).
    boot: Option<String>,
    /// The seq the replay follows (none when joined live): the replay's
    /// events must follow it one by one, or some were lost on the way.
    replay_after: Option<u64>,
}

/// Subscribes, then asks the host to join; the host's refusal maps to
/// the errors a WebSocket handshake gives.
async fn join(
    client: &Client,
    target: &RelayTarget,
    since: Since,
    losses: watch::Receiver<u64>,
    stream: bool,
) -> Result<Link, ConnectError> {
    let subjects = SessionSubjects::new(&target.host, &target.session);
    let conn = fresh_id(22);
    let broker_error = |e: &dyn std::fmt::Display| ConnectError::Network(format!("broker: {e}"));
    let own = client
        .subscribe(subjects.to(&conn))
        .await
        .map_err(|e| broker_error(&e))?;
    let live = client
        .subscribe(subjects.live_all())
        .await
        .map_err(|e| broker_error(&e))?;
    let ask = RelayJoin {
        token: target.token.clone(),
        conn: conn.clone(),
        mode: if target.view {
            Mode::View
        } else {
            Mode::Control
        },
        since: since.to_string(),
        claim: target.claim,
        client: Some(concat!("tether/", env!("CARGO_PKG_VERSION")).to_owned()),
        stream,
    };
    let payload = serde_json::to_vec(&ask).expect("a join serialises");
    let asked = tokio::time::timeout(
        ANSWER_TIMEOUT,
        client.request(subjects.join(), payload.into()),
    )
    .await;
    let answer = match asked {
        Err(_) => return Err(offline(target, "did not answer")),
        Ok(Err(e)) if e.kind() == async_nats::RequestErrorKind::NoResponders => {
            return Err(offline(target, "is not on the broker"));
        }
        Ok(Err(e)) => return Err(broker_error(&e)),
        Ok(Ok(message)) => message,
    };
    match serde_json::from_slice::<RelayReply>(&answer.payload) {
        Ok(RelayReply::Ok { boot }) => Ok(Link {
            client: client.clone(),
            subjects,
            conn,
            token: target.token.clone(),
            own,
            live,
            losses,
            view: target.view,
            boot,
            replay_after: match since {
                Since::Seq(seq) => Some(seq),
                Since::Live => None,
            },
        }),
        Ok(RelayReply::Refused { code, message }) => Err(match code {
            401 => ConnectError::Unauthorized,
            404 => ConnectError::NotFound,
            400 | 403 => ConnectError::Refused(message),
            _ => ConnectError::Network(format!("the host refused: {message}")),
        }),
        Err(e) => Err(ConnectError::Network(format!(
            "an answer that is not a relay reply: {e}"
        ))),
    }
}

fn offline(target: &RelayTarget, what: &str) -> ConnectError {
    ConnectError::Network(format!(
        "host offline: `{}` {what} via {}",
        target.host,
        target.broker.shown()
    ))
}

/// Where the connection stands between the replay and the live frames.
struct Order {
    /// `caught_up` has come: live frames are applied as they come.
    caught_up: bool,
    /// The newest event seq handed on.
    last_seq: u64,
    /// Live frames that came before `caught_up`.
    held: Vec<bytes::Bytes>,
}

impl Link {
    async fn serve(
        mut self,
        events: &mpsc::Sender<ConnEvent>,
        commands: &mut mpsc::UnboundedReceiver<ConnCommand>,
    ) -> (End, u64) {
        let mut order = Order {
            caught_up: false,
            last_seq: self.replay_after.unwrap_or(0),
            held: Vec::new(),
        };
        let mut heard = tokio::time::Instant::now();
        let mut pace = Beat::new(self.view, heard);
        // The heartbeat in flight, and when it left: awaited beside the
        // frames, so a slow answer never holds them up.
        let mut beat: Option<(Instant, Answer)> = None;
        let mut outbox = Outbox::default();
        loop {
            let dead_at = heard + HEARTBEAT_TIMEOUT;
            let step = tokio::select! {
                Some(message) = self.own.next() => {
                    heard = tokio::time::Instant::now();
                    self.on_own(&message.payload, &mut order, events).await
                }
                Some(message) = self.live.next() => match RelayBeacon::parse(&message.payload) {
                    Some(beacon) => {
                        heard = tokio::time::Instant::now();
                        self.on_beacon(&beacon, &mut pace, heard)
                    }
                    None => self.on_live(message.payload, &mut order, events).await,
                },
                Ok(()) = self.losses.changed() => Err(End::Resync(
                    "the broker connection dropped; resuming".into(),
                )),
                command = commands.recv() => match command {
                    None => Err(End::AppGone),
                    Some(ConnCommand::Reconnect) => Err(End::Reconnect),
                    Some(ConnCommand::Send(message)) => {
                        outbox.push(Box::pin(self.sending(&message)));
                        Ok(())
                    }
                },
                answered = outbox.answered(), if outbox.busy() => {
                    answered.map(|()| heard = tokio::time::Instant::now())
                },
                () = tokio::time::sleep_until(pace.due()), if beat.is_none() => {
                    pace.sent(tokio::time::Instant::now(), rand::random::<f64>());
                    let asked = self.asking(serde_json::json!({ "type": HEARTBEAT }));
                    beat = Some((Instant::now(), Box::pin(asked)));
                    Ok(())
                }
                answered = async { beat.as_mut().expect("guarded").1.as_mut().await },
                    if beat.is_some() =>
                {
                    // The host's answer is word from it, and times the trip.
                    let sent = beat.take().expect("guarded").0;
                    match answered {
                        Ok(()) => {
                            heard = tokio::time::Instant::now();
                            deliver(events, ConnEvent::Rtt(sent.elapsed())).await
                        }
                        Err(end) => Err(end),
                    }
                }
                () = tokio::time::sleep_until(dead_at) => Err(End::Lost(format!(
                    "no word from the host for {} s",
                    HEARTBEAT_TIMEOUT.as_secs()
                ))),
            };
            if let Err(end) = step {
                if matches!(
                    end,
                    End::AppGone | End::Reconnect | End::Resync(_) | End::NoStream(_)
                ) {
                    self.say_leaving().await;
                }
                let _ = self.own.unsubscribe().await;
                let _ = self.live.unsubscribe().await;
                return (end, order.last_seq);
            }
        }
    }

    /// A frame for this connection alone.
    async fn on_own(
        &self,
        payload: &[u8],
        order: &mut Order,
        events: &mpsc::Sender<ConnEvent>,
    ) -> Result<(), End> {
        let text = std::str::from_utf8(payload)
            .map_err(|_| End::Lost("a frame that is not text".into()))?;
        if let Some(close) = RelayClosed::parse(text) {
            return Err(closed(&close));
        }
        if let Some(catch_up) = RelayCatchUp::parse(text) {
            return self.catch_up(&catch_up, order, events).await;
        }
        let Ok(message) = crate::protocol::decode_server_message(text) else {
            tracing::warn!("ignoring an undecodable relay frame");
            return Ok(());
        };
        match &message {
            ServerMessage::Event(record) => {
                let replayed = self.replay_after.is_some();
                if replayed && !replayed_in_order(record.seq, order)? {
                    return Ok(());
                }
                order.last_seq = order.last_seq.max(record.seq);
            }
            // History before `oldest` is gone: the replay starts there.
            ServerMessage::Error {
                code: crate::protocol::ErrorCode::Gap,
                oldest: Some(oldest),
                ..
            } => order.last_seq = order.last_seq.max(oldest.saturating_sub(1)),
            ServerMessage::CaughtUp { seq } => {
                order.last_seq = order.last_seq.max(*seq);
                deliver(events, ConnEvent::Message(message)).await?;
                order.caught_up = true;
                for frame in std::mem::take(&mut order.held) {
                    apply_live(&frame, order, events).await?;
                }
                return Ok(());
            }
            _ => {}
        }
        deliver(events, ConnEvent::Message(message)).await
    }

    /// The replay's events, read from the session's stream: each applied
    /// in order, as if the host had sent it.
    async fn catch_up(
        &self,
        ask: &RelayCatchUp,
        order: &mut Order,
        events: &mpsc::Sender<ConnEvent>,
    ) -> Result<(), End> {
        let failed = |why: String| End::NoStream(format!("{why}; asking the host"));
        let mut reader = CatchUpReader::open(&self.client, ask)
            .await
            .map_err(failed)?;
        while let Some((seq, payload)) = reader.next().await.map_err(failed)? {
            let text = std::str::from_utf8(&payload)
                .map_err(|_| failed(format!("event {seq} in the stream is not text")))?;
            let message = crate::protocol::decode_server_message(text)
                .map_err(|_| failed(format!("event {seq} in the stream is undecodable")))?;
            let ServerMessage::Event(record) = &message else {
                return Err(failed(format!("message {seq} in the stream is no event")));
            };
            if record.seq != seq {
                return Err(failed(format!("event {} stands at {seq}", record.seq)));
            }
            if replayed_in_order(seq, order)? {
                deliver(events, ConnEvent::Message(message)).await?;
            }
        }
        Ok(())
    }

    /// The host's beacon: another run of the host than the one joined
    /// (or any run, when the host joined sent none: an older one) means it
    /// restarted and knows this connection no more.
    fn on_beacon(
        &self,
        beacon: &RelayBeacon,
        pace: &mut Beat,
        now: tokio::time::Instant,
    ) -> Result<(), End> {
        if self.boot.as_ref() != Some(&beacon.boot) {
            return Err(End::Resync("the host restarted; joining again".into()));
        }
        pace.told(beacon.viewer_period(), now);
        Ok(())
    }

    /// A frame for every connection of the session: held until the replay
    /// is done, then applied in order.
    async fn on_live(
        &self,
        payload: bytes::Bytes,
        order: &mut Order,
        events: &mpsc::Sender<ConnEvent>,
    ) -> Result<(), End> {
        if !order.caught_up {
            if order.held.len() >= HELD_LIMIT {
                return Err(End::Resync(
                    "fell behind while catching up; resuming".into(),
                ));
            }
            order.held.push(payload);
            return Ok(());
        }
        apply_live(&payload, order, events).await
    }

    /// Tells the host this connection goes (no answer awaited: the host
    /// may be gone too).
    async fn say_leaving(&self) {
        let command = RelayCommand {
            token: self.token.clone(),
            message: serde_json::json!({ "type": LEAVE }),
        };
        let payload = serde_json::to_vec(&command).expect("relay commands serialise");
        let subject = self.subjects.from(&self.conn);
        let _ = self.client.publish(subject, payload.into()).await;
        let _ = self.client.flush().await;
    }

    /// Sends one message to the host, with this connection's token.
    fn sending(&self, message: &ClientMessage) -> impl Future<Output = Result<(), End>> + use<> {
        self.asking(serde_json::to_value(message).expect("client messages serialise"))
    }

    /// Sends `message` to the host; the answer, owning all it needs.
    fn asking(&self, message: serde_json::Value) -> impl Future<Output = Result<(), End>> + use<> {
        let command = RelayCommand {
            token: self.token.clone(),
            message,
        };
        let payload = serde_json::to_vec(&command).expect("relay commands serialise");
        let (client, subject) = (self.client.clone(), self.subjects.from(&self.conn));
        answer(client, subject, payload)
    }
}

/// Whether replayed event `seq` is to be applied: false for one already
/// applied; one past a gap means some were lost on the way.
fn replayed_in_order(seq: u64, order: &mut Order) -> Result<bool, End> {
    if seq <= order.last_seq {
        return Ok(false);
    }
    if seq > order.last_seq + 1 {
        return Err(End::Resync(format!(
            "replayed events {}..{} were lost on the way; resuming",
            order.last_seq + 1,
            seq - 1
        )));
    }
    order.last_seq = seq;
    Ok(true)
}

/// A live frame once caught up: an event already applied is dropped, one
/// past a gap means frames were lost on the way.
async fn apply_live(
    payload: &[u8],
    order: &mut Order,
    events: &mpsc::Sender<ConnEvent>,
) -> Result<(), End> {
    let Ok(text) = std::str::from_utf8(payload) else {
        return Ok(());
    };
    if let Some(close) = RelayClosed::parse(text) {
        return Err(closed(&close));
    }
    let Ok(message) = crate::protocol::decode_server_message(text) else {
        tracing::warn!("ignoring an undecodable relay frame");
        return Ok(());
    };
    if let ServerMessage::Event(record) = &message {
        if record.seq <= order.last_seq {
            return Ok(());
        }
        if record.seq > order.last_seq + 1 {
            return Err(End::Resync(format!(
                "events {}..{} were lost on the way; resuming",
                order.last_seq + 1,
                record.seq - 1
            )));
        }
        order.last_seq = record.seq;
    }
    deliver(events, ConnEvent::Message(message)).await
}

fn closed(close: &RelayClosed) -> End {
    End::Lost(format!(
        "closed by the host ({}: {})",
        close.code, close.reason
    ))
}

async fn deliver(events: &mpsc::Sender<ConnEvent>, event: ConnEvent) -> Result<(), End> {
    events.send(event).await.map_err(|_| End::AppGone)
}
