//! The real binary in a real terminal, through a real broker: `tether
//! attach nats://BROKER/HOST/SESSION` reaches a host that only dialled out,
//! with the same screen and keys, and says which way it goes.

use tether::broker::Broker;
use tether::host::server::relay::RelayConfig;

use super::common::broker::NatsServer;
use super::support::{Attach, TuiTest};

/// Serving through `broker` as `host_id`.
fn relay_to(broker: &NatsServer, host_id: &str) -> RelayConfig {
    RelayConfig {
        broker: Broker::at(broker.url()),
        host_id: host_id.into(),
        stream: Default::default(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_is_driven_through_the_broker_in_the_terminal() {
    let test = TuiTest::new();
    let Some(broker) = NatsServer::start("tui_relay", test.dir()) else {
        return;
    };
    let relay = relay_to(&broker, "devbox");
    let running = test
        .host_config(move |config| config.relay = Some(relay))
        .start()
        .await;
    let relayed = format!("nats://127.0.0.1:{}/devbox/main", broker.port);
    let attach = Attach::new(&relayed, &running.token(), running.dir()).size(30, 110);
    tokio::task::spawn_blocking(move || {
        let mut tui = attach.spawn();
        tui.wait_text("via nats://127.0.0.1");
        tui.wait_text("(owner)");
        tui.send(b"echo through the broker\r");
        tui.wait_text("Allow once");
        // A view that opens while the user types holds its answers a moment.
        std::thread::sleep(std::time::Duration::from_millis(800));
        tui.send(b"y");
        tui.wait_text("── done");
        let screen = tui.screen();
        assert!(screen.contains("through the broker"), "{screen}");
        tui.quit();
    })
    .await
    .unwrap();
    drop(broker);
    running.shutdown().await;
}

/// `attach nats://BROKER` lists every host on the broker, and a host that
/// starts serving after the UI is added to the list as it comes.
#[tokio::test(flavor = "multi_thread")]
async fn a_host_that_comes_to_the_broker_later_joins_the_list() {
    let test = TuiTest::new();
    let Some(broker) = NatsServer::start("tui_relay_later", test.dir()) else {
        return;
    };
    let relay = |host_id: &str| relay_to(&broker, host_id);
    let first = relay("devbox");
    let running = test
        .host_config(move |config| config.relay = Some(first))
        .start()
        .await;
    let whole = format!("nats://127.0.0.1:{}", broker.port);
    let attach = Attach::new(&whole, &running.token(), running.dir()).size(30, 120);
    let (up, mut started) = tokio::sync::oneshot::channel::<()>();
    let tui = tokio::task::spawn_blocking(move || {
        let mut tui = attach.spawn();
        tui.wait_text("devbox via nats://");
        let _ = up.send(());
        tui.wait_text("ci-runner via nats://");
        tui.wait_text("nightly");
        tui.quit();
    });
    tokio::time::timeout(std::time::Duration::from_secs(30), &mut started)
        .await
        .expect("the first host is listed")
        .unwrap();
    // The second host: another directory, the same people's tokens.
    let other = tempfile::tempdir().unwrap();
    let mut config =
        super::common::host_config(other.path(), tether::host::agent::AgentSpec::Shell);
    config.auth_path = running.dir().join("auth.json");
    config.session().id = "nightly".into();
    config.relay = Some(relay("ci-runner"));
    let later = tether::host::Host::start(config).await.unwrap();
    tui.await.unwrap();
    later.shutdown().await.unwrap();
    drop(broker);
    running.shutdown().await;
}

/// The README's picture of two hosts through one broker (regenerate with
/// `cargo test --test tui -- --ignored relay_picture`).
#[tokio::test(flavor = "multi_thread")]
#[ignore = "rewrites assets/screenshots/relay.svg"]
async fn relay_picture() {
    let test = TuiTest::new();
    let broker = NatsServer::start("tui_relay_picture", test.dir()).expect("nats-server");
    let relay = |host_id: &str| relay_to(&broker, host_id);
    let first = relay("devbox");
    let running = test
        .host_config(move |config| {
            config.relay = Some(first);
            config.session().id = "api".into();
        })
        .start()
        .await;
    let other = tempfile::tempdir().unwrap();
    let mut config =
        super::common::host_config(other.path(), tether::host::agent::AgentSpec::Shell);
    config.auth_path = running.dir().join("auth.json");
    config.session().id = "nightly".into();
    config.relay = Some(relay("ci-runner"));
    config.listen_none = true;
    let second = tether::host::Host::start(config).await.unwrap();
    let whole = format!("nats://127.0.0.1:{}", broker.port);
    let attach = Attach::new(&whole, &running.token(), running.dir()).size(24, 100);
    tokio::task::spawn_blocking(move || {
        let mut tui = attach.spawn();
        tui.wait_text("devbox via nats://");
        tui.wait_text("ci-runner via nats://");
        tui.wait_text("nightly");
        std::thread::sleep(std::time::Duration::from_millis(500));
        super::pictures::screenshot(&tui, "relay", "tether attach nats://broker:4222");
        tui.quit();
    })
    .await
    .unwrap();
    second.shutdown().await.unwrap();
    drop(broker);
    running.shutdown().await;
}

/// Ctrl+N through the broker: an admin makes a session on a host that
/// only dialled out, with the same form.
#[tokio::test(flavor = "multi_thread")]
async fn an_admin_makes_a_session_through_the_broker() {
    use std::os::unix::fs::PermissionsExt;
    let test = TuiTest::new();
    let Some(broker) = NatsServer::start("tui_relay_create", test.dir()) else {
        return;
    };
    let root = "tt_root_0000000000000000";
    let auth = serde_json::json!({"tokens": [
        {"name": "root", "token": root, "grants": ["control", "admin"]},
    ]});
    let auth_path = test.dir().join("auth.json");
    std::fs::write(&auth_path, auth.to_string()).unwrap();
    std::fs::set_permissions(&auth_path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let work = test.dir().join("work");
    std::fs::create_dir_all(work.join("made")).unwrap();
    let relay = relay_to(&broker, "devbox");
    let running = test
        .token(root)
        .host_config(move |config| {
            config.relay = Some(relay);
            let shell = tether::host::agent::Preset::new(tether::host::agent::AgentSpec::Shell);
            config.presets.insert("shell".into(), shell);
            config.workspaces = vec![work];
        })
        .start()
        .await;
    let relayed = format!("nats://127.0.0.1:{}/devbox", broker.port);
    let attach = Attach::new(&relayed, root, running.dir()).size(30, 110);
    tokio::task::spawn_blocking(move || {
        let mut tui = attach.spawn();
        tui.wait_text("main");
        tui.send(b"\x0e"); // Ctrl+N
        tui.wait_text("New session on");
        tui.send(b"made\r");
        tui.wait_text("made · shell");
        tui.quit();
    })
    .await
    .unwrap();
    assert!(running.host.session_ids().contains(&"made".to_owned()));
    drop(broker);
    running.shutdown().await;
}
