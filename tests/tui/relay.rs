//! The real binary in a real terminal, through a real broker: `tether
//! attach nats://BROKER/HOST/SESSION` reaches a host that only dialled out,
//! with the same screen and keys, and says which way it goes.

use tether::broker::Broker;
use tether::host::server::relay::RelayConfig;

use super::common::broker::NatsServer;
use super::support::{Attach, TuiTest};

#[tokio::test(flavor = "multi_thread")]
async fn a_session_is_driven_through_the_broker_in_the_terminal() {
    let test = TuiTest::new();
    let Some(broker) = NatsServer::start("tui_relay", test.dir()) else {
        return;
    };
    let url = broker.url();
    let running = test
        .host_config(move |config| {
            config.relay = Some(RelayConfig {
                broker: Broker::at(url),
                host_id: "devbox".into(),
            });
        })
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
