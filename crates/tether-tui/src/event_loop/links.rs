//! The deck's connections: one per opened session and one lobby per host,
//! their events merged into two channels tagged with the tab or host.

use std::collections::HashMap;

use tokio::sync::mpsc;

use crate::client::lobby::{self, LobbyEvent};
use crate::client::{self, ConnCommand, ConnEvent, Connection, Resume, Target};
use crate::protocol::LobbyRequest;
use crate::tui::app::App;
use crate::tui::deck::Deck;

pub struct Links {
    pub conn_events: mpsc::UnboundedReceiver<(usize, ConnEvent)>,
    conn_tx: mpsc::UnboundedSender<(usize, ConnEvent)>,
    commands: HashMap<usize, mpsc::UnboundedSender<ConnCommand>>,
    pub lobby_events: mpsc::UnboundedReceiver<(usize, LobbyEvent)>,
    lobby_tx: mpsc::UnboundedSender<(usize, LobbyEvent)>,
    lobby_requests: Vec<mpsc::UnboundedSender<LobbyRequest>>,
    /// Hosts that came to a watched broker after the UI started.
    pub new_hosts: mpsc::UnboundedReceiver<NewHost>,
    new_hosts_tx: mpsc::UnboundedSender<NewHost>,
}

/// A host to add to the deck: `nats://BROKER:PORT/HOST`.
pub struct NewHost {
    pub name: String,
    pub url: url::Url,
    pub token: String,
}

impl Default for Links {
    fn default() -> Self {
        let (conn_tx, conn_events) = mpsc::unbounded_channel();
        let (lobby_tx, lobby_events) = mpsc::unbounded_channel();
        let (new_hosts_tx, new_hosts) = mpsc::unbounded_channel();
        Links {
            new_hosts,
            new_hosts_tx,
            conn_events,
            conn_tx,
            commands: HashMap::new(),
            lobby_events,
            lobby_tx,
            lobby_requests: Vec::new(),
        }
    }
}

impl Links {
    /// Takes over a session connection made before the screen was taken.
    pub fn adopt(&mut self, tab: usize, connection: Connection) {
        let Connection {
            mut events,
            commands,
        } = connection;
        self.commands.insert(tab, commands);
        let merged = self.conn_tx.clone();
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                if merged.send((tab, event)).is_err() {
                    return;
                }
            }
        });
    }

    /// Connects the session of `tab` (resuming after what it applied).
    pub fn open(&mut self, deck: &Deck, tab: usize) {
        let entry = &deck.tabs[tab];
        let host = &deck.hosts[entry.key.host];
        if matches!(host.url.scheme(), "nats" | "tls") {
            let resume = Resume::After(entry.last_applied.clone());
            let connection = match relay_target(deck, tab) {
                Ok(target) => client::relay::spawn(target, resume),
                Err(why) => client::failed(client::ConnectError::Refused(why)),
            };
            self.adopt(tab, connection);
            return;
        }
        let mut url = lobby::session_url(&host.url, &entry.key.id);
        if entry.app.claim_on_send {
            // Shown is not taken: the deck claims when the user sends.
            url.query_pairs_mut().append_pair("claim", "no");
        }
        ask_flood_tail(&entry.app, &mut url);
        let target = Target {
            url,
            token: host.token.clone(),
            view: deck.view_mode,
        };
        let resume = Resume::After(entry.last_applied.clone());
        self.adopt(tab, client::spawn(target, None, resume));
    }

    pub fn command(&self, tab: usize, command: ConnCommand) {
        if let Some(commands) = self.commands.get(&tab) {
            let _ = commands.send(command);
        }
    }

    /// One lobby connection per host.
    pub fn start_lobbies(&mut self, deck: &Deck) {
        for (n, host) in deck.hosts.iter().enumerate() {
            let requests = lobby::spawn(n, &host.url, host.token.clone(), self.lobby_tx.clone());
            self.lobby_requests.push(requests);
        }
    }

    /// Follows the lobby of host `at`, just added to the deck.
    pub fn start_lobby(&mut self, deck: &Deck, at: usize) {
        debug_assert_eq!(
            at,
            self.lobby_requests.len(),
            "lobbies follow the hosts' order"
        );
        let host = &deck.hosts[at];
        let requests = lobby::spawn(at, &host.url, host.token.clone(), self.lobby_tx.clone());
        self.lobby_requests.push(requests);
    }

    /// Watches the broker at `broker_url` (`nats://BROKER:PORT`) for hosts
    /// other than `known`, each to be added as `nats://BROKER:PORT/HOST`.
    pub fn watch_broker(&self, broker: client::broker::Broker, token: String, known: Vec<String>) {
        let (found_tx, mut found) = mpsc::unbounded_channel();
        let shown = broker.shown();
        let base = broker.url.clone();
        tokio::spawn(client::relay_lobby::watch_hosts(broker, known, found_tx));
        let new_hosts = self.new_hosts_tx.clone();
        tokio::spawn(async move {
            while let Some(host) = found.recv().await {
                let mut url = base.clone();
                url.set_path(&format!("/{host}"));
                let name = format!("{host} via {shown}");
                let token = token.clone();
                if new_hosts.send(NewHost { name, url, token }).is_err() {
                    return;
                }
            }
        });
    }

    /// Sends a request on host `host`'s lobby.
    pub fn ask_lobby(&self, host: usize, request: LobbyRequest) {
        if let Some(requests) = self.lobby_requests.get(host) {
            let _ = requests.send(request);
        }
    }
}

/// The relay target of `tab`: its host is `nats://BROKER:PORT/HOST`.
fn relay_target(deck: &Deck, tab: usize) -> Result<client::relay::RelayTarget, String> {
    let entry = &deck.tabs[tab];
    let host = &deck.hosts[entry.key.host];
    let mut broker_url = host.url.clone();
    broker_url.set_path("");
    Ok(client::relay::RelayTarget {
        broker: client::broker::Broker::for_client(broker_url)?,
        host: host.url.path().trim_start_matches('/').to_owned(),
        session: entry.key.id.clone(),
        token: host.token.clone(),
        view: deck.view_mode,
        claim: !entry.app.claim_on_send,
    })
}

/// Asks the host of `url` for only the newest output of a flood when
/// `app` pages the rest in (`flood=tail`).
pub fn ask_flood_tail(app: &App, url: &mut url::Url) {
    if app.wants_flood_tail() {
        url.query_pairs_mut().append_pair("flood", "tail");
    }
}
