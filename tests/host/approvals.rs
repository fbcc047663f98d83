//! Approving with eyes open: permission requests carry a preview of what
//! they will do and the options the owner has, through a real host. The
//! Claude Code side is the real recorded traces, played by
//! `tether-test-agent trace`, which checks every line the host writes back.

use std::path::Path;

use serde_json::Value;
use tether::host::agent::AgentSpec;
use tether::protocol::{
    Decision, ErrorCode, EventKind, EventRecord, PermissionOption, PermissionOptionKind, Preview,
    ServerMessage,
};

use crate::support::*;

/// The project directory the traces were recorded in (their README).
const RECORDED_PROJECT: &str = "/work/project";

/// What one played trace produced.
struct Played {
    /// The trace agent's exit code (3: a line the host wrote back did not
    /// match the recording).
    exit_code: Option<i32>,
    events: Vec<EventRecord>,
    /// The trace's entries, with the recorded project directory replaced
    /// by the session's, as the trace agent sees them.
    entries: Vec<Value>,
}

/// Plays the trace `name` through a host whose directory `prepare` fills
/// first. Each recorded user line is sent as the owner; each recorded
/// answer to a `can_use_tool` becomes an `allow` naming the option `choose`
/// picks from the request.
async fn play(
    name: &str,
    prepare: impl FnOnce(&Path),
    mut choose: impl FnMut(&[PermissionOption]) -> Option<String>,
) -> Played {
    let trace = fixture(&format!("{name}.jsonl"));
    let host = TestHost::start(trace_agent(&trace, &["--project-dir", RECORDED_PROJECT])).await;
    prepare(host.path());
    let here = host.path().canonicalize().unwrap().display().to_string();
    let entries: Vec<Value> = std::fs::read_to_string(&trace)
        .unwrap()
        .replace(RECORDED_PROJECT, &here)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let mut owner = host.owner().await;
    for entry in entries.iter().filter(|e| e["dir"] == "in") {
        let message = &entry["msg"];
        if message["type"] == "user" {
            let text = message["message"]["content"].as_str().unwrap();
            let answer = owner.request(|id| user(id, text)).await;
            if code_of(&answer) == Some(ErrorCode::AgentExited) {
                break;
            }
            continue;
        }
        let response = &message["response"];
        assert_eq!(response["response"]["behavior"], "allow", "{name}");
        let wanted = response["request_id"].as_str().unwrap();
        let request = owner
            .wait_event(|e| matches!(e, EventKind::PermissionRequest { request_id, .. } if request_id == wanted))
            .await;
        let EventKind::PermissionRequest { options, .. } = &request.event else {
            unreachable!()
        };
        let option = choose(options);
        let answer = owner
            .request(
                decide(wanted, Decision::Allow)
                    .option(option.as_deref())
                    .message(),
            )
            .await;
        assert_eq!(code_of(&answer), None, "{answer:?}");
    }
    // The exit may have come while waiting for an answer.
    let exit_code = match owner.saw_or_wait(is_exit).await.event {
        EventKind::Status { exit_code, .. } => exit_code,
        _ => unreachable!("is_exit matched a status"),
    };
    let events = owner.events.clone();
    host.stop().await;
    Played {
        exit_code,
        events,
        entries,
    }
}

fn previews(events: &[EventRecord]) -> Vec<Preview> {
    events
        .iter()
        .filter_map(|r| match &r.event {
            EventKind::PermissionRequest { preview, .. } => {
                Some(*preview.clone().expect("a previewed tool"))
            }
            _ => None,
        })
        .collect()
}

fn requests_options(events: &[EventRecord]) -> Vec<Vec<PermissionOption>> {
    events
        .iter()
        .filter_map(|r| match &r.event {
            EventKind::PermissionRequest { options, .. } => Some(options.clone()),
            _ => None,
        })
        .collect()
}

fn option(id: &str, kind: PermissionOptionKind, label: &str) -> PermissionOption {
    PermissionOption::new(id, kind, label)
}

fn allow_once(_: &[PermissionOption]) -> Option<String> {
    Some(PermissionOption::ALLOW_ONCE.into())
}

#[tokio::test]
async fn a_write_reaches_the_owner_as_the_diff_of_a_new_file() {
    let played = play("write-new-file", |_| {}, allow_once).await;
    assert_eq!(played.exit_code, Some(0));
    assert_eq!(
        previews(&played.events),
        [Preview::Diff {
            path: "notes/plan.md".into(),
            diff: "--- /dev/null\n+++ b/notes/plan.md\n@@ -0,0 +1,4 @@\n\
                   +# Plan\n+\n+- first step\n+- second step\n\\ No newline at end of file\n"
                .into(),
            added: 4,
            removed: 0,
            new_file: true,
        }]
    );
    assert_eq!(
        requests_options(&played.events),
        [[
            option("allow_once", PermissionOptionKind::AllowOnce, "allow once"),
            option(
                "allow_always_1",
                PermissionOptionKind::AllowAlways,
                "accept edits for this session"
            ),
            option("reject_once", PermissionOptionKind::RejectOnce, "reject"),
        ]]
    );
}

/// The lines of the patch Claude Code reported after it made the edit.
fn recorded_patch(entries: &[Value]) -> (String, Vec<String>) {
    let hunk = entries
        .iter()
        .find_map(|e| e["msg"].pointer("/tool_use_result/structuredPatch/0"))
        .expect("the trace records the applied patch");
    let n = |f: &str| hunk[f].as_u64().unwrap();
    let header = format!(
        "@@ -{},{} +{},{} @@",
        n("oldStart"),
        n("oldLines"),
        n("newStart"),
        n("newLines")
    );
    let lines = hunk["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_owned())
        .collect();
    (header, lines)
}

#[tokio::test]
async fn an_edit_reaches_the_owner_as_the_diff_of_the_file_on_disk() {
    // The trace's tool result records the file as it was: alpha/beta/gamma.
    let played = play(
        "edit-existing-file",
        |dir| std::fs::write(dir.join("notes.txt"), "alpha\nbeta\ngamma\n").unwrap(),
        allow_once,
    )
    .await;
    assert_eq!(played.exit_code, Some(0));
    let [
        Preview::Diff {
            path,
            diff,
            added: 1,
            removed: 1,
            new_file: false,
        },
    ] = &previews(&played.events)[..]
    else {
        panic!("one edit diff: {:?}", previews(&played.events));
    };
    assert_eq!(path, "notes.txt");
    assert_eq!(
        diff,
        "--- a/notes.txt\n+++ b/notes.txt\n@@ -1,3 +1,3 @@\n alpha\n-beta\n+BETA\n gamma\n"
    );
    // The same change Claude Code reported having made.
    let (header, lines) = recorded_patch(&played.entries);
    let shown: Vec<&str> = diff.lines().skip(2).collect();
    assert_eq!(shown[0], header);
    assert_eq!(
        shown[1..],
        lines.iter().map(String::as_str).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn an_edit_of_a_file_that_is_not_there_says_it_will_fail() {
    // Without the file the recorded edit cannot apply; the owner is told.
    let played = play("edit-existing-file", |_| {}, allow_once).await;
    assert_eq!(
        previews(&played.events),
        [Preview::Unavailable {
            reason: "that edit will fail: notes.txt does not exist".into()
        }]
    );
}

const ALWAYS_TOUCH: &str = "always allow Bash(touch always.txt) in this project";

fn always_touch(options: &[PermissionOption]) -> Option<String> {
    let found = options.iter().find(|o| o.label == ALWAYS_TOUCH);
    Some(found.expect("the rule is offered").id.clone())
}

#[tokio::test]
async fn allow_always_sends_the_suggestion_back_as_updated_permissions() {
    let played = play("allow-always", |_| {}, always_touch).await;
    // The trace agent compared our answer's updatedPermissions with the
    // recorded one, and the second run was not asked about.
    assert_eq!(played.exit_code, Some(0));
    let [
        Preview::Command {
            command,
            description,
            ..
        },
    ] = &previews(&played.events)[..]
    else {
        panic!("one command preview");
    };
    assert_eq!(command, "touch always.txt");
    assert_eq!(description.as_deref(), Some("run command"));
    let labels: Vec<(PermissionOptionKind, String)> = requests_options(&played.events)[0]
        .iter()
        .map(|o| (o.kind, o.label.clone()))
        .collect();
    let here = "allow access to "; // the session's directory, relocated
    assert_eq!(labels.len(), 5, "{labels:?}");
    assert_eq!(
        labels[1],
        (PermissionOptionKind::AllowAlways, ALWAYS_TOUCH.into())
    );
    assert!(labels[2].1.starts_with(here) && labels[2].1.ends_with(" for this session"));
    assert_eq!(labels[3].1, "accept edits for this session");
}

#[tokio::test]
async fn allow_once_does_not_send_the_rule() {
    // The recording expects the rule back: answering without it is a
    // mismatch the trace agent reports with exit code 3.
    let played = play("allow-always", |_| {}, allow_once).await;
    assert_eq!(played.exit_code, Some(3));
}

#[tokio::test]
async fn options_are_checked_and_the_shell_previews_its_whole_command() {
    let host = TestHost::start(AgentSpec::Shell).await;
    let mut owner = host.owner().await;
    let command = format!("echo {}", "x".repeat(5000));
    let answer = owner.request(|id| user(id, &command)).await;
    assert_eq!(code_of(&answer), None);
    let request = owner
        .wait_event(|e| matches!(e, EventKind::PermissionRequest { .. }))
        .await;
    let EventKind::PermissionRequest {
        request_id,
        preview,
        options,
        ..
    } = &request.event
    else {
        unreachable!()
    };
    let expected = Preview::Command {
        command: command.clone(),
        cwd: host.path().display().to_string(),
        description: None,
    };
    assert_eq!(preview.as_deref(), Some(&expected));
    let kinds: Vec<PermissionOptionKind> = options.iter().map(|o| o.kind).collect();
    assert_eq!(
        kinds,
        [
            PermissionOptionKind::AllowOnce,
            PermissionOptionKind::AllowAlways,
            PermissionOptionKind::RejectOnce
        ]
    );
    // Who joins now sees the same preview in `ready.pending`.
    let follower = host.follower().await;
    let Some(ServerMessage::Ready { pending, .. }) = &follower.ready else {
        unreachable!()
    };
    assert!(matches!(&pending[..], [r] if r.event == request.event));
    // An option the request does not offer, or one that contradicts the
    // decision, is refused and the request stays open.
    for (decision, option) in [
        (Decision::Allow, "allow_always_1"),
        (Decision::Allow, "reject_once"),
        (Decision::Deny, "allow_once"),
    ] {
        let answer = owner
            .request(decide(request_id, decision).option(Some(option)).message())
            .await;
        assert_eq!(code_of(&answer), Some(ErrorCode::BadRequest), "{option}");
    }
    let answer = owner
        .request(
            decide(request_id, Decision::Allow)
                .option(Some("allow_once"))
                .message(),
        )
        .await;
    assert_eq!(code_of(&answer), None, "{answer:?}");
    owner
        .wait_event(|e| matches!(e, EventKind::TurnEnd { .. }))
        .await;
    host.stop().await;
}
