//! Headless `tether attach` (--plain, --prompt): the real binary against
//! a real host.

use std::path::Path;
use std::process::{Output, Stdio};

use serde_json::Value;
use tether::host::agent::AgentSpec;
use tether::protocol::{Mode, ServerMessage};

use crate::support::{Client, TestHost, WAIT, fixture};

fn tether(args: &[&str], dir: &Path) -> tokio::process::Command {
    let mut command = crate::common::tether_async(dir);
    command.args(args).stdin(Stdio::null());
    command
}

/// `tether attach URL --token T --prompt TEXT [extra]`, run to its end.
async fn prompt(host: &TestHost, text: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "attach",
        &host.url,
        "--token",
        &host.control,
        "--prompt",
        text,
    ];
    args.extend_from_slice(extra);
    tokio::time::timeout(WAIT, tether(&args, host.path()).output())
        .await
        .expect("the prompt ends")
        .unwrap()
}

/// The participants a new viewer is told about.
async fn participants(host: &TestHost) -> Vec<tether::protocol::ParticipantInfo> {
    let mut client = Client::connect(&host.url, &host.view, "").await;
    loop {
        if let ServerMessage::Participants { participants, .. } = client.recv().await {
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

#[tokio::test]
async fn prompt_exit_codes_shell_agent() {
    let host = TestHost::start(AgentSpec::Shell).await;
    let ok = prompt(&host, "echo fine", &["--allow-all"]).await;
    assert_eq!(ok.status.code(), Some(0), "{ok:?}");
    // No terminal to ask on: the command is denied.
    let denied = prompt(&host, "touch never-made", &[]).await;
    assert_eq!(denied.status.code(), Some(1), "{denied:?}");
    assert!(!host.path().join("never-made").exists());
    // Another connection owns the session: nothing can run, and the
    // refusal says whose it is (here the same token's: yours) and what
    // to do about it.
    let _owner = host.owner().await;
    let follower = prompt(&host, "echo never", &["--allow-all"]).await;
    assert_eq!(follower.status.code(), Some(2), "{follower:?}");
    let stderr = String::from_utf8_lossy(&follower.stderr);
    assert!(
        stderr.contains(" (you, connected ")
            && stderr.contains("owns this session: quit that window or press F3 there"),
        "{stderr}"
    );
    host.stop().await;
}

#[tokio::test]
async fn a_finished_prompt_gives_the_owner_slot_back_at_once() {
    let host = TestHost::start(AgentSpec::Shell).await;
    let ok = prompt(&host, "echo fine", &["--allow-all"]).await;
    assert_eq!(ok.status.code(), Some(0), "{ok:?}");
    // Nobody owns it and nothing is held for the prompt's identity.
    let mut viewer = Client::connect(&host.url, &host.view, "").await;
    let (participants, slot) = loop {
        if let ServerMessage::Participants {
            participants,
            owner_slot,
            ..
        } = viewer.recv().await
        {
            break (participants, owner_slot);
        }
    };
    assert_eq!(slot, None, "the slot was held after --prompt ended");
    assert!(
        participants
            .iter()
            .all(|p| p.role != tether::protocol::Role::Owner),
        "{participants:?}"
    );
    host.stop().await;
}

/// A recorded Claude Code session, with the deny message the recording
/// expects replaced by the one `--prompt` sends when it cannot ask.
fn trace_for_headless(scenario: &str, dir: &Path) -> (std::path::PathBuf, String) {
    let text = std::fs::read_to_string(fixture(&format!("{scenario}.jsonl"))).unwrap();
    let mut user_text = None;
    let lines: Vec<String> = text
        .lines()
        .map(|line| {
            let mut entry: Value = serde_json::from_str(line).unwrap();
            if entry["dir"] == "in" {
                let message = &mut entry["msg"];
                if message["type"] == "user" && user_text.is_none() {
                    user_text = message["message"]["content"].as_str().map(str::to_owned);
                }
                if let Some(body) = message.pointer_mut("/response/response")
                    && body["behavior"] == "deny"
                {
                    body["message"] = "denied: no terminal to ask on".into();
                }
            }
            entry.to_string()
        })
        .collect();
    let path = dir.join(format!("{scenario}.jsonl"));
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    (path, user_text.expect("the trace starts with user text"))
}

/// A host running the trace agent on `scenario`; the trace's directory
/// lives as long as the returned guard.
async fn trace_host(scenario: &str) -> (TestHost, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let (trace, text) = trace_for_headless(scenario, dir.path());
    let agent = crate::support::trace_agent(&trace, &[]);
    (TestHost::start(agent).await, text, dir)
}

#[tokio::test]
async fn prompt_exit_codes_stream_json_agent() {
    // Claude reports the turn a success after a denied tool call: the
    // turn still did not do what was asked, so it is not exit 0.
    let (host, text, _trace) = trace_host("permission-deny").await;
    let denied = prompt(&host, &text, &[]).await;
    let stdout = String::from_utf8_lossy(&denied.stdout);
    assert!(stdout.contains("✘ denied by"), "{stdout}");
    // The agent called the turn a success (so this is the rule at work,
    // not an agent that stopped).
    assert!(stdout.contains("── done"), "{stdout}");
    assert_eq!(denied.status.code(), Some(1), "{stdout}");
    host.stop().await;

    let (host, text, _trace) = trace_host("permission-allow").await;
    let allowed = prompt(&host, &text, &["--allow-all"]).await;
    let stdout = String::from_utf8_lossy(&allowed.stdout);
    assert!(stdout.contains("── done"), "{stdout}");
    assert_eq!(allowed.status.code(), Some(0), "{stdout}");
    host.stop().await;
}

/// Stdout of `tether attach URL --plain` once it has printed `until`.
async fn watch_until(host: &TestHost, until: &str) -> String {
    use tokio::io::AsyncReadExt;
    let mut watcher = tether(
        &["attach", &host.url, "--token", &host.view, "--plain"],
        host.path(),
    )
    .stdout(Stdio::piped())
    .kill_on_drop(true)
    .spawn()
    .unwrap();
    let mut stdout = watcher.stdout.take().unwrap();
    let mut seen = Vec::new();
    let read = async {
        while !String::from_utf8_lossy(&seen).contains(until) {
            let mut chunk = [0u8; 4096];
            let n = stdout.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the watcher ended early");
            seen.extend_from_slice(&chunk[..n]);
        }
    };
    tokio::time::timeout(WAIT, read).await.unwrap_or_else(|_| {
        panic!(
            "never printed {until:?}: {}",
            String::from_utf8_lossy(&seen)
        )
    });
    let _ = watcher.kill().await;
    String::from_utf8_lossy(&seen).into_owned()
}

#[tokio::test]
async fn headless_output_shows_the_permission_request_before_the_tool_runs() {
    // Claude announces the call, then asks: the request reads first, then
    // its answer (which says what runs: the call is not printed again),
    // then the result.
    let (host, text, _trace) = trace_host("permission-allow").await;
    let allowed = prompt(&host, &text, &["--allow-all"]).await;
    let prompted = String::from_utf8_lossy(&allowed.stdout).into_owned();
    let watched = watch_until(&host, "── done").await;
    for stdout in [prompted, watched] {
        let at = |what: &str| {
            stdout
                .find(what)
                .unwrap_or_else(|| panic!("no {what:?} in {stdout}"))
        };
        let (asked, allowed, result) = (
            at("⚠ Bash asks permission"),
            at("✔ allowed by"),
            at("↳ hi-from-tool"),
        );
        assert!(asked < allowed && allowed < result, "{stdout}");
        assert!(!stdout.contains("⚙ Bash"), "{stdout}");
    }
    host.stop().await;
}

/// With a host's URL, headless modes take `--session ID`, or the host's
/// only session; with several and no choice they list them and exit 2
/// (before, they asked for a session `main` nobody named: a 404).
#[tokio::test]
async fn headless_modes_on_a_host_url_choose_a_session_or_list_them() {
    use crate::sessions::{ALICE, three_sessions};
    let dir = tempfile::tempdir().unwrap();
    let host = tether::host::Host::start(three_sessions(dir.path()))
        .await
        .unwrap();
    let url = format!("ws://{}", host.addr());
    let run = |extra: &[&str]| {
        let mut args = vec!["attach", &url, "--token", ALICE];
        args.extend_from_slice(extra);
        tokio::time::timeout(WAIT, tether(&args, dir.path()).output())
    };
    let listed = run(&["--prompt", "echo hi"]).await.unwrap().unwrap();
    let stderr = String::from_utf8_lossy(&listed.stderr);
    assert_eq!(listed.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("has 3 sessions: choose one with --session ID"),
        "{stderr}"
    );
    let at = |id: &str| stderr.find(&format!("\n  {id}")).expect(id);
    assert!(
        at("api") < at("web-front") && at("web-front") < at("ops"),
        "{stderr}"
    );

    let chosen = run(&["--session", "ops", "--prompt", "echo chosen", "--allow-all"])
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&chosen.stdout);
    assert_eq!(chosen.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("chosen"), "{stdout}");
    host.shutdown().await.unwrap();

    // A host of one session: that one.
    let one = TestHost::start(AgentSpec::Shell).await;
    let url = one.url.trim_end_matches("/v1/sessions/main").to_owned();
    let args = [
        "attach",
        &url,
        "--token",
        &one.control,
        "--prompt",
        "echo only",
        "--allow-all",
    ];
    let only = tokio::time::timeout(WAIT, tether(&args, one.path()).output())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(only.status.code(), Some(0), "{only:?}");
    one.stop().await;
}
