//! The example broker configuration (assets/examples/nats.conf) on a real
//! broker: a host with its own user serves and a person with theirs
//! supervises; the host publishes only its own subjects and cannot touch
//! the lobby bucket, and people cannot publish what the host does.

use futures_util::StreamExt;
use tether::broker::async_nats;
use tether::broker::{Broker, BrokerAuth};
use tether::client::Resume;
use tether::client::relay;
use tether::host::agent::AgentSpec;
use tether::host::server::relay::RelayConfig;
use tether::protocol::{EventKind, ServerMessage};

use crate::common::broker::NatsServer;
use crate::relay::{send, target, until};
use crate::support::*;

const HOST: (&str, &str) = ("devbox", "host-secret");
const PEOPLE: (&str, &str) = ("people", "people-secret");

/// A broker started with the example configuration.
fn example_broker(test: &str, dir: &std::path::Path) -> Option<NatsServer> {
    let example =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/examples/nats.conf");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let env = [("DEVBOX_PASSWORD", HOST.1), ("PEOPLE_PASSWORD", PEOPLE.1)];
    NatsServer::start_with(test, dir, port, Some(&example), &env)
}

fn as_user(broker: &NatsServer, (user, password): (&str, &str)) -> Broker {
    let mut reached = Broker::at(broker.url());
    reached.auth = BrokerAuth::UserPassword {
        user: user.into(),
        password: password.into(),
    };
    reached
}

async fn raw_client(broker: &NatsServer, (user, password): (&str, &str)) -> async_nats::Client {
    async_nats::ConnectOptions::with_user_and_password(user.into(), password.into())
        .connect(broker.url().as_str())
        .await
        .unwrap()
}

/// Host `devbox` on the broker as its own user.
async fn host_as_devbox(dir: &std::path::Path, broker: &NatsServer) -> tether::host::Host {
    write_auth(&dir.join("auth.json"));
    let reached = as_user(broker, HOST);
    crate::common::start_host(dir, AgentSpec::Shell, move |config| {
        config.relay = Some(RelayConfig {
            broker: reached,
            host_id: "devbox".into(),
            stream: Default::default(),
        });
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_example_broker_configuration_lets_a_host_serve_and_people_watch() {
    let dir = tempfile::tempdir().unwrap();
    let Some(broker) = example_broker("relay_example", dir.path()) else {
        return;
    };
    let host = host_as_devbox(dir.path(), &broker).await;
    let mut person = target(&broker, "tt_alice_0000000000000000", false);
    person.broker = as_user(&broker, PEOPLE);
    let mut owner = relay::spawn(person, Resume::Live);
    until(&mut owner, |m| matches!(m, ServerMessage::CaughtUp { .. })).await;
    send(&owner, user("m1".into(), "echo permitted"));
    until(&mut owner, |m| {
        matches!(m, ServerMessage::Event(r) if matches!(r.event, EventKind::PermissionRequest { .. }))
    })
    .await;
    // People read the lobby too.
    let hosts = tether::client::relay_lobby::hosts_on(&as_user(&broker, PEOPLE))
        .await
        .unwrap();
    assert_eq!(hosts, ["devbox"]);
    drop(owner);
    host.shutdown().await.unwrap();
}

/// What the broker refuses: a host publishing as another host, a person
/// publishing as the host, a host deleting the lobby bucket. Each refused
/// publish goes before a permitted one from the same connection, flushed
/// between, so the watcher would have had it first.
#[tokio::test(flavor = "multi_thread")]
async fn the_example_broker_configuration_keeps_each_to_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let Some(broker) = example_broker("relay_example_limits", dir.path()) else {
        return;
    };
    let host = host_as_devbox(dir.path(), &broker).await;
    let watcher = raw_client(&broker, PEOPLE).await;
    let mut seen = watcher.subscribe("tether.*.*.live.*").await.unwrap();
    watcher.flush().await.unwrap();
    let as_host = raw_client(&broker, HOST).await;
    let as_person = raw_client(&broker, PEOPLE).await;
    let forged = r#"{"type":"event","seq":1,"ts":"","event":{"kind":"notice","text":"forged"}}"#;
    for (client, subject) in [
        (&as_host, "tether.other.main.live.events"),
        (&as_person, "tether.devbox.main.live.events"),
    ] {
        client.publish(subject, forged.into()).await.unwrap();
        client.flush().await.unwrap();
    }
    // Refused by the broker: the request is dropped, never answered.
    let delete = as_host.request("$JS.API.STREAM.DELETE.KV_tether-lobby", "".into());
    let deleted = tokio::time::timeout(std::time::Duration::from_secs(2), delete).await;
    assert!(
        !matches!(deleted, Ok(Ok(_))),
        "the lobby bucket was deleted: {deleted:?}"
    );
    // Permitted: the host's own subject. Up to it the watcher has the
    // host's own frames (its events, beacons), never the forged ones.
    let own = "tether.devbox.main.live.frames";
    let control = r#"{"type":"control"}"#;
    as_host.publish(own, control.into()).await.unwrap();
    as_host.flush().await.unwrap();
    let before_control = tokio::time::timeout(WAIT, async {
        let mut before = Vec::new();
        loop {
            let frame = seen.next().await.expect("subscribed");
            if frame.payload == control.as_bytes() {
                return before;
            }
            before.push(String::from_utf8_lossy(&frame.payload).into_owned());
        }
    })
    .await
    .expect("the permitted frame");
    assert!(
        before_control.iter().all(|frame| !frame.contains("forged")),
        "{before_control:#?}"
    );
    // The bucket is still there for people to read.
    let hosts = tether::client::relay_lobby::hosts_on(&as_user(&broker, PEOPLE))
        .await
        .unwrap();
    assert_eq!(hosts, ["devbox"]);
    host.shutdown().await.unwrap();
}
