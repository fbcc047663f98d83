//! Headless `tether attach` (--plain, --prompt): the real binary against
//! a real host.

use std::path::Path;
use std::process::Stdio;

use tether::host::agent::AgentSpec;
use tether::protocol::{Mode, ServerMessage};

use crate::support::{Client, TestHost, WAIT};

fn tether(args: &[&str], log_dir: &Path) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_tether"));
    command
        .args(args)
        .env("TETHER_LOG", log_dir.join("tether.log"))
        .stdin(Stdio::null())
        .kill_on_drop(true);
    command
}

/// The participants a new viewer is told about.
async fn participants(host: &TestHost) -> Vec<tether::protocol::ParticipantInfo> {
    let mut client = Client::connect(&host.url, &host.view, "").await;
    loop {
        if let ServerMessage::Participants { participants } = client.recv().await {
            return participants;
        }
    }
}

#[tokio::test]
async fn a_plain_watcher_is_a_viewer_and_leaves_the_owner_slot_free() {
    let host = TestHost::start(AgentSpec::Shell).await;
    // With the control token, as `tether attach URL --plain` picks it
    // when it is the only one given.
    let mut watcher = tether(
        &["attach", &host.url, "--token", &host.control, "--plain"],
        host.path(),
    )
    .stdout(Stdio::null())
    .spawn()
    .unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    let watching = loop {
        let seen = participants(&host).await;
        if let Some(watcher) = seen.into_iter().find(|p| p.client.is_some()) {
            break watcher;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the watcher never joined"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(watching.mode, Mode::View, "{watching:?}");
    // The owner slot is still free: the next control client owns.
    let _owner = host.owner().await;
    let _ = watcher.kill().await;
    host.stop().await;
}
