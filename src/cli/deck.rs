//! The full-screen UI over one or more hosts: `tether attach URL...`, the
//! hosts of the config file, and plain `tether`. Each URL names a session
//! (`/v1/sessions/ID`, shown first) or only a host (`ws://HOST:PORT`: its
//! sessions come from its lobby).

use std::process::ExitCode;

use tether::client::lobby;
use tether::client::{self, Resume, Since, Target};
use tether::tui::app::Hints;
use tether::tui::deck::hosts::HostView;
use tether::tui::deck::notify::NotifyMode;
use tether::tui::deck::{Deck, SessionKey};
use tether::tui::event_loop::{self, Links, ask_flood_tail};
use tether::tui::terminal;
use url::Url;

use super::Failure;

/// One URL to open, with the token for its host.
#[derive(Debug, Clone)]
pub struct Opening {
    pub url: Url,
    /// The session it names; `None`: the host only.
    pub session: Option<String>,
    pub token: String,
    /// What the list calls the host (default `HOST:PORT`).
    pub name: Option<String>,
}

/// How the UI starts.
pub struct Start {
    pub view: bool,
    pub hints: Hints,
    pub mouse: bool,
    pub notify: NotifyMode,
    /// Bytes of transcript the session on screen keeps in memory.
    pub window: usize,
}

impl Opening {
    /// `text` as typed: a session URL, or a host (`ws://HOST:PORT`, a bare
    /// `/` or `/v1/lobby`).
    pub fn parse(text: &str, token: String, name: Option<String>) -> Result<Opening, Failure> {
        if text.starts_with("nats://") || text.starts_with("tls://") {
            return Self::through_broker(text, token, name);
        }
        let url = client::parse_url(text).map_err(Failure::from)?;
        let typed_path = Url::parse(text)
            .map(|u| u.path().to_owned())
            .unwrap_or_default();
        let host_only = matches!(typed_path.as_str(), "" | "/" | "/v1/lobby" | "/v1/lobby/");
        let session = (!host_only)
            .then(|| url.path().strip_prefix("/v1/sessions/").map(str::to_owned))
            .flatten()
            .filter(|id| !id.is_empty() && !id.contains('/'));
        if !host_only && session.is_none() {
            return Err(Failure::usage(format!(
                "`{text}`: a tether URL is ws://HOST:PORT (every session) or \
                 ws://HOST:PORT/v1/sessions/ID (one session)"
            )));
        }
        Ok(Opening {
            url,
            session,
            token,
            name,
        })
    }
}

impl Opening {
    /// `nats://BROKER:PORT/HOST/SESSION` (one session through the relay) or
    /// `nats://BROKER:PORT/HOST` (its host).
    fn through_broker(text: &str, token: String, name: Option<String>) -> Result<Opening, Failure> {
        let mut url = super::relay_args::parse_broker_url(text).map_err(Failure::usage)?;
        let parts: Vec<String> = url
            .path_segments()
            .map(|s| s.filter(|p| !p.is_empty()).map(str::to_owned).collect())
            .unwrap_or_default();
        let (host, session) = match parts.as_slice() {
            // The whole broker: its hosts are looked up before the screen.
            [] => (String::new(), None),
            [host] => (host.clone(), None),
            [host, session] => (host.clone(), Some(session.clone())),
            _ => {
                return Err(Failure::usage(format!(
                    "`{text}`: through a broker, nats://BROKER:PORT (every host), \
                     nats://BROKER:PORT/HOST or nats://BROKER:PORT/HOST/SESSION"
                )));
            }
        };
        if !host.is_empty() {
            tether::protocol::relay::check_host_id(&host).map_err(Failure::usage)?;
        }
        url.set_path(&format!("/{host}"));
        Ok(Opening {
            url,
            session,
            token,
            name,
        })
    }
}

/// `nats://BROKER` (no host named) stands for every host on the broker now:
/// one opening each, found in the broker's lobby bucket.
async fn every_host_of_brokers(openings: Vec<Opening>) -> Result<Expanded, Failure> {
    let mut out = Vec::new();
    let mut watched = Vec::new();
    for opening in openings {
        let relayed = matches!(opening.url.scheme(), "nats" | "tls");
        if !relayed || opening.url.path() != "/" {
            out.push(opening);
            continue;
        }
        let mut broker_url = opening.url.clone();
        broker_url.set_path("");
        let broker = tether::broker::Broker::for_client(broker_url).map_err(Failure::usage)?;
        let hosts = client::relay_lobby::hosts_on(&broker)
            .await
            .map_err(Failure::runtime)?;
        if hosts.is_empty() {
            return Err(Failure::runtime(format!(
                "no host serves through {} now",
                broker.shown()
            )));
        }
        watched.push(WatchedBroker {
            broker: broker.clone(),
            token: opening.token.clone(),
            known: hosts.clone(),
        });
        for host in hosts {
            let mut url = opening.url.clone();
            url.set_path(&format!("/{host}"));
            out.push(Opening {
                url,
                session: None,
                token: opening.token.clone(),
                name: Some(format!("{host} via {}", broker.shown())),
            });
        }
    }
    Ok(Expanded {
        openings: out,
        watched,
    })
}

/// The openings with each whole broker in its hosts, and those brokers
/// (watched for hosts that come later).
struct Expanded {
    openings: Vec<Opening>,
    watched: Vec<WatchedBroker>,
}

struct WatchedBroker {
    broker: tether::broker::Broker,
    token: String,
    known: Vec<String>,
}

/// `HOST:PORT` of a URL: what tells hosts apart (and the host's name on a
/// broker, `BROKER:PORT/HOST`).
fn host_of(url: &Url) -> String {
    let relayed = matches!(url.scheme(), "nats" | "tls");
    format!(
        "{}:{}{}",
        url.host_str().unwrap_or("?"),
        url.port_or_known_default().unwrap_or(4222),
        if relayed { url.path() } else { "" }
    )
}

/// The deck of the openings: one host per `HOST:PORT`, one tab per
/// session named.
fn deck_of(openings: &[Opening], start: &Start) -> Deck {
    let mut hosts: Vec<HostView> = Vec::new();
    let mut keys = Vec::new();
    for opening in openings {
        let id = host_of(&opening.url);
        let at = match hosts.iter().position(|h| host_of(&h.url) == id) {
            Some(at) => at,
            None => {
                let name = opening.name.clone().unwrap_or_else(|| id.clone());
                hosts.push(HostView::new(
                    name,
                    opening.url.clone(),
                    opening.token.clone(),
                ));
                hosts.len() - 1
            }
        };
        if let Some(session) = &opening.session {
            keys.push(SessionKey {
                host: at,
                id: session.clone(),
            });
        }
    }
    let mut deck = Deck::new(hosts, start.view);
    deck.hints = start.hints.clone();
    deck.notify = start.notify;
    deck.mouse_capture = start.mouse;
    deck.window_bytes = start.window;
    deck.history_dir = dirs::state_dir().map(|dir| dir.join("tether").join("history"));
    for key in keys {
        // A session named by its URL is connected as the protocol says:
        // the first eligible connection owns it.
        let tab = deck.tab_for(key);
        deck.tabs[tab].app.claim_on_send = false;
    }
    for tab in &mut deck.tabs {
        let url = &deck.hosts[tab.key.host].url;
        if matches!(url.scheme(), "nats" | "tls") {
            let port = url.port().unwrap_or(4222);
            let broker = format!(
                "{}://{}:{port}",
                url.scheme(),
                url.host_str().unwrap_or("?")
            );
            tab.app.hints.via = Some(broker);
        }
    }
    deck
}

/// What connecting to an opening first tries: its session, or its
/// host's list.
fn probe(opening: &Opening, view: bool) -> Target {
    Target {
        url: match &opening.session {
            Some(_) => opening.url.clone(),
            None => lobby::lobby_url(&opening.url),
        },
        token: opening.token.clone(),
        view,
    }
}

/// Runs the UI over the openings. One opening is connected first, so a
/// failure is one plain line before the screen is taken; with several, a
/// host that is down is shown as down and never keeps the others away.
/// Either way an unknown `wss://` host is asked about (or refused) here,
/// before the screen is taken.
pub async fn run(openings: Vec<Opening>, start: Start) -> ExitCode {
    let Expanded { openings, watched } = match every_host_of_brokers(openings).await {
        Ok(expanded) => expanded,
        Err(failure) => return failure.exit(),
    };
    let Some(first) = openings.first() else {
        return Failure::usage(
            "nothing to attach to: give a URL, or list hosts in the config file",
        )
        .exit();
    };
    let mut deck = deck_of(&openings, &start);
    let mut links = Links::default();
    let ask = super::trust::can_ask();
    // Through a broker there is no host certificate to check here.
    let relayed = |o: &Opening| matches!(o.url.scheme(), "nats" | "tls");
    if openings.len() > 1 {
        // Each host's list: a look that never takes a session's owner slot.
        let lists: Vec<Target> = openings
            .iter()
            .filter(|o| !relayed(o))
            .map(|o| Target {
                url: lobby::lobby_url(&o.url),
                token: o.token.clone(),
                view: true,
            })
            .collect();
        if let Err(failure) = super::trust::check_hosts(&lists, ask).await {
            return failure.exit();
        }
    } else if !relayed(first) {
        let mut probe = probe(first, start.view);
        if first.session.is_some() {
            ask_flood_tail(&deck.tabs[0].app, &mut probe.url);
        }
        let socket = match super::trust::connect(&probe, Since::Seq(0), ask).await {
            Ok(socket) => socket,
            // A host without a list (a tether from before many sessions).
            Err(client::ConnectError::NotFound) if first.session.is_none() => {
                return Failure::usage(format!(
                    "{} has no session list (an older tether?): attach to a session, \
                     ws://HOST:PORT/v1/sessions/ID",
                    probe.url
                ))
                .exit();
            }
            Err(e) => return super::failure::connect_failure(&probe, &e),
        };
        if first.session.is_some() {
            // The probe is the session's connection.
            let resume = Resume::After(deck.tabs[0].last_applied.clone());
            links.adopt(0, client::spawn(probe, Some(socket), resume));
            deck.tabs[0].opened = true;
        }
    }
    for watched in watched {
        links.watch_broker(watched.broker, watched.token, watched.known);
    }
    for tab in 0..deck.tabs.len() {
        if !deck.tabs[tab].opened {
            deck.tabs[tab].opened = true;
            links.open(&deck, tab);
        }
    }
    let mut guard = match terminal::TerminalGuard::enter() {
        Ok(guard) => guard,
        Err(e) => return Failure::runtime(format!("cannot set up the terminal: {e}")).exit(),
    };
    let result = event_loop::run(&mut guard.terminal, &mut deck, links).await;
    drop(guard);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => Failure::runtime(format!("terminal error: {e}")).exit(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Opening, Failure> {
        Opening::parse(text, "t".into(), None)
    }

    #[test]
    fn urls_name_a_session_or_a_host() {
        let session = parse("ws://h:1/v1/sessions/api").unwrap();
        assert_eq!(session.session.as_deref(), Some("api"));
        for host in ["ws://h:1", "ws://h:1/", "ws://h:1/v1/lobby", "http://h:1"] {
            assert_eq!(parse(host).unwrap().session, None, "{host}");
        }
        assert!(parse("ws://h:1/elsewhere").is_err());
        assert!(parse("h:1").is_err());
    }
}
