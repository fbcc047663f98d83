//! Nothing an agent or an approved command starts outlives a stop: a
//! grandchild, a background job and a double-forked, `setsid` process
//! (which leaves the process group) all end with an interrupt, with the
//! command itself, and with the session.

use std::path::Path;
use std::time::Duration;

use tether::host::agent::AgentSpec;
use tether::protocol::{ClientMessage, Decision, EventKind, Interrupt};

use crate::support::*;

/// A command whose tree holds a background job (`bg`), a process that
/// left the group by a double fork and `setsid` (`escaped`) and a
/// foreground grandchild (`grandchild`), each writing its pid to a file.
pub const TREE: &str = "sleep 1000 & echo $! > bg.pid; \
    (setsid sleep 1000 & echo $! > escaped.pid); \
    sh -c 'echo $$ > grandchild.pid; exec sleep 1000'";

/// The pids [`TREE`] wrote in `dir`, once all three are there.
pub async fn tree_pids(dir: &Path) -> Vec<i32> {
    for _ in 0..200 {
        let pids: Vec<i32> = ["bg", "escaped", "grandchild"]
            .iter()
            .filter_map(|name| std::fs::read_to_string(dir.join(format!("{name}.pid"))).ok())
            .filter_map(|text| text.trim().parse().ok())
            .collect();
        if pids.len() == 3 {
            return pids;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the command's tree did not start");
}

/// Asks for `command` and allows it.
pub async fn started(owner: &mut Client, command: &str) {
    let request = ask(owner, command).await;
    owner
        .request(decide(request, Decision::Allow).message())
        .await;
}

#[tokio::test]
async fn an_interrupt_ends_the_whole_tree_even_what_left_the_group() {
    let host = TestHost::start(AgentSpec::Shell).await;
    let mut owner = host.owner().await;
    started(&mut owner, TREE).await;
    let pids = tree_pids(host.path()).await;
    assert!(pids.iter().all(|p| alive(*p)));
    owner
        .request(|id| ClientMessage::Interrupt(Interrupt { id }))
        .await;
    owner
        .wait_event(|e| matches!(e, EventKind::TurnEnd { .. }))
        .await;
    let left = still_alive_after(&pids, Duration::from_secs(5)).await;
    assert!(
        left.is_empty(),
        "still running after the interrupt: {left:?}"
    );
    host.stop().await;
}

#[tokio::test]
async fn what_a_command_leaves_running_ends_with_it() {
    let host = TestHost::start(AgentSpec::Shell).await;
    let mut owner = host.owner().await;
    let command = "sleep 1000 & echo $! > bg.pid; (setsid sleep 1000 & echo $! > escaped.pid); \
        echo $$ > grandchild.pid";
    started(&mut owner, command).await;
    owner
        .wait_event(|e| matches!(e, EventKind::TurnEnd { .. }))
        .await;
    let pids = tree_pids(host.path()).await;
    let left = still_alive_after(&pids[..2], Duration::from_secs(5)).await;
    assert!(
        left.is_empty(),
        "left running by a finished command: {left:?}"
    );
    host.stop().await;
}

#[tokio::test]
async fn stopping_the_host_ends_every_tree() {
    let host = TestHost::start(AgentSpec::Shell).await;
    let mut owner = host.owner().await;
    started(&mut owner, TREE).await;
    let pids = tree_pids(host.path()).await;
    let _dir = host.stop().await;
    let left = still_alive_after(&pids, Duration::from_secs(5)).await;
    assert!(left.is_empty(), "still running after the stop: {left:?}");
}
