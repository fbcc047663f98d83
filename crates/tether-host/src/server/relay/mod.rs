//! The host's edge on a NATS broker (`serve --relay`): the host dials out,
//! so nothing needs to reach it. Clients join a session by request-reply
//! and become participants exactly as a WebSocket connection does (same
//! token, grants, scope, owner rules); what every connection receives is
//! published once per session (`live`), what one connection receives on
//! its own subject (`to.<conn>`), and what it sends comes back by
//! request-reply (`from.<conn>`) with its token, checked every time.
//!
//! Here: the dispatch loop. `conn` is one relay connection's task,
//! `live` the one publisher of each session.

mod conn;
mod live;
mod lobby_kv;
mod lobby_requests;
mod stream;

pub use stream::StreamLimits;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tether_broker::Broker;
use tether_broker::async_nats::{self, Client, Message};
use tokio::sync::{mpsc, oneshot};

use super::AppState;
use crate::host::runtime::Request as SessionRequest;
use crate::host::session::{Join, ParticipantId, Since};
use crate::protocol::relay::{
    BEACON_EVERY, HEARTBEAT, HEARTBEAT_EVERY, HostSubject, LEAVE, RelayBeacon, RelayClosed,
    RelayCommand, RelayJoin, RelayReply, SessionSubjects, check_conn_id, fresh_id,
    host_from_wildcard, host_join_wildcard, lobby_subject, viewer_heartbeat_period,
};
use crate::protocol::{ClientMessage, Grant, Mode, close_code, decode_client_message};

/// A relay connection that sends nothing (its heartbeats included) for
/// this many of its heartbeat periods is gone: it leaves, as a WebSocket
/// that stopped answering pings.
const SILENT_PERIODS: u32 = 4;

/// How long a connection may stay silent: [`SILENT_PERIODS`] of its
/// period. A viewer's is the longer of the one in force when it was last
/// heard (`heard_with`) and today's: a viewer told a shorter one beats
/// again within a beacon and that period, well inside the limit.
fn allowed_silence(view: bool, heard_with: Duration, viewer_period: Duration) -> Duration {
    let period = if view {
        heard_with.max(viewer_period)
    } else {
        HEARTBEAT_EVERY
    };
    period * SILENT_PERIODS
}

/// Where the host meets its clients on a broker.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    pub broker: Broker,
    /// The host's name on the broker (its subjects' second token).
    pub host_id: String,
    /// How much of each session's events the broker keeps.
    pub stream: StreamLimits,
}

/// One relay connection, as the dispatch loop knows it.
struct RelayConn {
    session: String,
    participant: ParticipantId,
    /// The token it joined with: every message must carry it.
    token: String,
    requests: mpsc::Sender<SessionRequest>,
    heard: Instant,
    /// Joined in view mode: it heartbeats as the beacon says.
    view: bool,
    /// The viewers' heartbeat period when it was last heard.
    period: Duration,
    /// Dropped when the connection ends (its task stops).
    _stop: oneshot::Sender<()>,
}

/// Connects to the broker and serves the host's sessions there until the
/// host closes. Errors reaching the broker the first time are returned;
/// later losses are the client library's to reconnect.
pub async fn start(
    config: RelayConfig,
    state: AppState,
) -> Result<tokio::task::JoinHandle<()>, String> {
    let (client, losses) = config
        .broker
        .connect_counting_losses(&format!("tether host {}", config.host_id))
        .await?;
    let joins = client
        .subscribe(host_join_wildcard(&config.host_id))
        .await
        .map_err(|e| format!("broker: {e}"))?;
    let commands = client
        .subscribe(host_from_wildcard(&config.host_id))
        .await
        .map_err(|e| format!("broker: {e}"))?;
    let lobby_requests = client
        .subscribe(lobby_subject(&config.host_id))
        .await
        .map_err(|e| format!("broker: {e}"))?;
    tokio::spawn(lobby_requests::serve(
        client.clone(),
        lobby_requests,
        state.clone(),
    ));
    client.flush().await.map_err(|e| format!("broker: {e}"))?;
    let store = lobby_kv::bucket(&client).await?;
    tokio::spawn(lobby_kv::follow(
        store,
        config.host_id.clone(),
        state.sessions.lobby.clone(),
        state.closing.clone(),
    ));
    let (ended, ended_rx) = mpsc::channel(64);
    let relay = Relay {
        outlet: live::Outlet {
            client: client.clone(),
            host: config.host_id.clone(),
            limits: config.stream,
        },
        client,
        host: config.host_id,
        // This run of the host, as its beacons and join answers name it.
        boot: fresh_id(16),
        viewer_period: HEARTBEAT_EVERY,
        state,
        conns: HashMap::new(),
        live: live::Publishers::default(),
        ended,
    };
    Ok(tokio::spawn(relay.run(joins, commands, ended_rx, losses)))
}

struct Relay {
    client: Client,
    outlet: live::Outlet,
    host: String,
    boot: String,
    /// How often viewers heartbeat, as the last beacons said.
    viewer_period: Duration,
    state: AppState,
    conns: HashMap<String, RelayConn>,
    live: live::Publishers,
    /// Connections whose task ended (closed by the session) report here.
    ended: mpsc::Sender<String>,
}

impl Relay {
    async fn run(
        mut self,
        mut joins: async_nats::Subscriber,
        mut commands: async_nats::Subscriber,
        mut ended: mpsc::Receiver<String>,
        mut losses: tokio::sync::watch::Receiver<u64>,
    ) {
        let mut closing = self.state.closing.clone();
        losses.borrow_and_update();
        let mut reap = tokio::time::interval(BEACON_EVERY);
        loop {
            tokio::select! {
                _ = closing.changed() => break,
                Some(message) = joins.next() => self.on_join(message).await,
                Some(message) = commands.next() => self.on_command(message).await,
                Some(conn) = ended.recv() => self.leave(&conn).await,
                _ = reap.tick() => {
                    self.reap().await;
                    self.beacon().await;
                }
                Ok(()) = losses.changed() => self.after_a_loss().await,
                else => break,
            }
        }
        for (_, conn) in self.conns.drain() {
            let _ = conn
                .requests
                .send(SessionRequest::Leave {
                    id: conn.participant,
                })
                .await;
        }
        let _ = self.client.flush().await;
    }

    /// The host's broker link dropped and is back: what it published
    /// meanwhile is gone, and a viewer that has nothing after it would
    /// never notice. Every session's viewers are told to join again after
    /// what they applied, and its stream is aligned again (the broker may
    /// have restarted on an empty store).
    async fn after_a_loss(&mut self) {
        self.live.realign_all();
        let close = RelayClosed::new(
            close_code::POLICY,
            "the host's broker link dropped: join again and resume",
        );
        for id in self.live.running() {
            let live = SessionSubjects::new(&self.host, &id).live();
            let _ = self.client.publish(live, close.to_json().into()).await;
        }
    }

    async fn reply(&self, message: &Message, reply: RelayReply) {
        if let Some(to) = &message.reply {
            let _ = self
                .client
                .publish(to.clone(), reply.to_json().into())
                .await;
        }
    }

    async fn on_join(&mut self, message: Message) {
        let answer = match self.join(&message).await {
            Ok(()) => RelayReply::Ok {
                boot: Some(self.boot.clone()),
            },
            Err((code, text)) => RelayReply::Refused {
                code,
                message: text,
            },
        };
        self.reply(&message, answer).await;
    }

    /// A join's session, request and starting point.
    fn parse_join(&self, message: &Message) -> Result<(String, RelayJoin, Since), (u16, String)> {
        let Some(HostSubject::Join { session: id }) =
            HostSubject::parse(&self.host, message.subject.as_str())
        else {
            return Err((400, "not a join subject".into()));
        };
        let ask: RelayJoin = serde_json::from_slice(&message.payload)
            .map_err(|e| (400, format!("not a join request: {e}")))?;
        let since = match ask.since.as_str() {
            "live" => Since::Live,
            seq => Since::Seq(seq.parse().map_err(|_| (400, "bad since".to_owned()))?),
        };
        Ok((id, ask, since))
    }

    /// A join, checked as the WebSocket endpoint checks one.
    async fn join(&mut self, message: &Message) -> Result<(), (u16, String)> {
        let (id, ask, since) = self.parse_join(message)?;
        if !check_conn_id(&ask.conn) || self.conns.contains_key(&ask.conn) {
            return Err((400, "the connection id is malformed or taken".into()));
        }
        let entry = self
            .state
            .authenticate_token(&ask.token)
            .ok_or((401, "unauthorized: the token was not accepted".to_owned()))?;
        let session = self
            .state
            .sessions
            .get(&id)
            .filter(|_| entry.may_see(&id))
            .ok_or((404, "no such session".to_owned()))?;
        if !entry.has(Grant::View) {
            return Err((403, "the token has no view grant".into()));
        }
        let subjects = SessionSubjects::new(&self.host, &id);
        // The session's publisher first: nothing it broadcasts after this
        // join is missed (the client drops what the replay also had).
        let stream = self
            .live
            .ensure(&self.outlet, &id, &session)
            .await
            .map_err(|e| (503, e))?;
        let catch_up = ask.stream.then(|| conn::CatchUp {
            stream: crate::protocol::relay::stream_name(&self.host, &id),
            state: stream,
            since: match since {
                Since::Seq(seq) => seq,
                Since::Live => u64::MAX,
            },
        });
        let join = Join {
            identity: entry.name.clone(),
            grants: entry.effective_grants(),
            mode: ask.mode,
            client: ask.client.clone(),
            since,
            claims: ask.claim && ask.mode == Mode::Control,
        };
        let (reply, joined) = oneshot::channel();
        let asked = SessionRequest::Join {
            join,
            token: entry.token.clone(),
            reply,
        };
        let gone = || (503, "the session is stopping".to_owned());
        session.requests.send(asked).await.map_err(|_| gone())?;
        let joined = joined.await.map_err(|_| gone())?;
        let (stop, stopped) = oneshot::channel();
        self.conns.insert(
            ask.conn.clone(),
            RelayConn {
                session: id,
                participant: joined.id,
                token: entry.token,
                requests: session.requests.clone(),
                heard: Instant::now(),
                view: ask.mode == Mode::View,
                period: self.viewer_period,
                _stop: stop,
            },
        );
        let link = conn::ConnLink {
            client: self.client.clone(),
            to: subjects.to(&ask.conn),
            conn: ask.conn,
            ended: self.ended.clone(),
            catch_up,
        };
        tokio::spawn(conn::run(link, joined, session.closing.clone(), stopped));
        Ok(())
    }

    async fn on_command(&mut self, message: Message) {
        let answer = match self.command(&message).await {
            Ok(()) => RelayReply::Ok { boot: None },
            Err((code, text)) => RelayReply::Refused {
                code,
                message: text,
            },
        };
        self.reply(&message, answer).await;
    }

    /// One client message: from the connection it names, with the token
    /// that connection joined with; then to its session as any other.
    async fn command(&mut self, message: &Message) -> Result<(), (u16, String)> {
        let Some(HostSubject::From { session, conn }) =
            HostSubject::parse(&self.host, message.subject.as_str())
        else {
            return Err((400, "not a command subject".into()));
        };
        let known = self
            .conns
            .get_mut(&conn)
            .filter(|c| c.session == session)
            .ok_or((410, "no such connection: join again".to_owned()))?;
        let command: RelayCommand = serde_json::from_slice(&message.payload)
            .map_err(|e| (400, format!("not a relay command: {e}")))?;
        if !crate::host::auth::same_token(&command.token, &known.token) {
            return Err((403, "the token is not this connection's".into()));
        }
        known.heard = Instant::now();
        known.period = self.viewer_period;
        if command.message["type"] == HEARTBEAT {
            return Ok(());
        }
        if command.message["type"] == LEAVE {
            self.leave(&conn).await;
            return Ok(());
        }
        let text = command.message.to_string();
        let decoded: ClientMessage = decode_client_message(&text).map_err(|e| (400, e.message))?;
        let request = SessionRequest::Message {
            id: known.participant,
            message: decoded,
        };
        if known.requests.send(request).await.is_err() {
            self.conns.remove(&conn);
            return Err((410, "the session has ended".into()));
        }
        Ok(())
    }

    /// Connections silent too long, or whose session ended, leave.
    async fn reap(&mut self) {
        let now = Instant::now();
        let viewer_period = self.viewer_period;
        let gone: Vec<String> = self
            .conns
            .iter()
            .filter(|(_, c)| {
                now.duration_since(c.heard) > allowed_silence(c.view, c.period, viewer_period)
                    || c.requests.is_closed()
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in gone {
            self.leave(&id).await;
        }
        self.live.forget_ended();
        self.publish_every_session().await;
    }

    /// Tells every session's connections the host is there, which run of
    /// it this is and how often its viewers heartbeat (one message a
    /// session, whatever the number of viewers).
    async fn beacon(&mut self) {
        let viewers = self.conns.values().filter(|c| c.view).count();
        self.viewer_period = viewer_heartbeat_period(viewers);
        let beacon = bytes::Bytes::from(RelayBeacon::new(&self.boot, self.viewer_period).to_json());
        for id in self.live.running() {
            let live = SessionSubjects::new(&self.host, &id).live();
            let _ = self.client.publish(live, beacon.clone()).await;
        }
    }

    /// Every session has its publisher, watched or not, so its stream is
    /// aligned before the first viewer comes and that viewer catches up
    /// from the broker. Sessions made since are found on the next reap.
    async fn publish_every_session(&mut self) {
        for session in self.state.sessions.all() {
            if session.closing.has_changed().is_err() || *session.closing.borrow() {
                continue;
            }
            let id = session.spec.id.clone();
            if let Err(why) = self.live.ensure(&self.outlet, &id, &session).await {
                tracing::debug!("relay: no publisher for {id}: {why}");
            }
        }
    }

    /// Connection `id` leaves its session (its task stops, if it runs).
    async fn leave(&mut self, id: &str) {
        if let Some(conn) = self.conns.remove(id) {
            let leave = SessionRequest::Leave {
                id: conn.participant,
            };
            let _ = conn.requests.send(leave).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_viewer_may_be_silent_for_four_of_the_longest_periods_it_may_follow() {
        let s = Duration::from_secs(1);
        // Few viewers: 20 s, as for a controller whatever the crowd.
        assert_eq!(allowed_silence(true, 5 * s, 5 * s), 20 * s);
        assert_eq!(allowed_silence(false, 200 * s, 200 * s), 20 * s);
        // A crowd grew since it was heard: the new period counts.
        assert_eq!(allowed_silence(true, 5 * s, 200 * s), 800 * s);
        // The crowd left: it was told the long period and may follow it
        // until the next beacon.
        assert_eq!(allowed_silence(true, 200 * s, 5 * s), 800 * s);
    }
}
