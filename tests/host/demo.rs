//! The bundled demo (`assets/demo/`): a replay that waits at permission
//! requests for the owner, and the recorder that makes the demo from the
//! real Claude Code traces and a shell session played through a real host.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use tether::host::agent::AgentSpec;
use tether::protocol::{ClientMessage, Decision, ErrorCode, EventKind, EventRecord, Interrupt};

use crate::support::*;

/// The project directory the traces were recorded in (their README), also
/// the directory the demo shows.
const RECORDED_PROJECT: &str = "/work/project";

fn demo_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo/demo.jsonl")
}

fn replay(file: PathBuf, pause_at_requests: bool) -> AgentSpec {
    AgentSpec::Replay {
        file,
        speed: 0.0,
        pause_at_requests,
    }
}

fn write_recording(dir: &Path, events: &[Value]) -> PathBuf {
    let file = dir.join("rec.jsonl");
    let lines: String = events
        .iter()
        .enumerate()
        .map(|(n, event)| {
            format!(
                "{}\n",
                json!({"seq": n + 1, "ts": "2026-01-01T00:00:00Z", "event": event})
            )
        })
        .collect();
    std::fs::write(&file, lines).unwrap();
    file
}

fn request_event(id: &str) -> Value {
    json!({"kind": "permission_request", "request_id": id, "tool": "Bash", "input": {"command": "ls"}})
}

fn resolved_event(id: &str) -> Value {
    json!({"kind": "permission_resolved", "request_id": id, "decision": "allow", "by": "recorded-owner"})
}

fn assistant_texts(events: &[EventRecord]) -> Vec<String> {
    events
        .iter()
        .filter_map(|r| match &r.event {
            EventKind::Assistant { text } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_pausing_replay_waits_at_a_request_until_the_owner_allows_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_recording(
        dir.path(),
        &[
            json!({"kind": "assistant", "text": "before"}),
            request_event("r1"),
            resolved_event("r1"),
            json!({"kind": "assistant", "text": "after"}),
        ],
    );
    let host = TestHost::start(replay(file, true)).await;
    let mut owner = host.owner().await;
    owner
        .saw_or_wait(|e| matches!(e, EventKind::PermissionRequest { .. }))
        .await;
    // It waits: nothing more comes until the answer.
    owner
        .assert_no_events(std::time::Duration::from_millis(400))
        .await;
    assert_eq!(assistant_texts(&owner.events), ["before"]);
    // A replay takes no messages, but it does take answers.
    let refused = owner.request(|id| user(id, "hello")).await;
    assert_eq!(code_of(&refused), Some(ErrorCode::Busy));
    let answer = owner.request(decide("r1", Decision::Allow).message()).await;
    assert_eq!(code_of(&answer), None, "{answer:?}");
    owner.saw_or_wait(is_exit).await;
    assert_eq!(assistant_texts(&owner.events), ["before", "after"]);
    // The owner's resolution, once: the recorded one is skipped.
    let resolutions: Vec<&str> = owner
        .events
        .iter()
        .filter_map(|r| match &r.event {
            EventKind::PermissionResolved { by, .. } => Some(by.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(resolutions.len(), 1, "{resolutions:?}");
    assert_ne!(resolutions[0], "recorded-owner");
    host.stop().await;
}

#[tokio::test]
async fn an_interrupt_ends_the_pause_and_the_recording_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_recording(
        dir.path(),
        &[
            request_event("r1"),
            resolved_event("r1"),
            json!({"kind": "assistant", "text": "after"}),
        ],
    );
    let host = TestHost::start(replay(file, true)).await;
    let mut owner = host.owner().await;
    owner
        .saw_or_wait(|e| matches!(e, EventKind::PermissionRequest { .. }))
        .await;
    owner
        .request(|id| ClientMessage::Interrupt(Interrupt { id }))
        .await;
    owner.saw_or_wait(is_exit).await;
    assert_eq!(assistant_texts(&owner.events), ["after"]);
    host.stop().await;
}

#[tokio::test]
async fn without_pausing_the_replay_plays_through_its_requests() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_recording(dir.path(), &[request_event("r1"), resolved_event("r1")]);
    let host = TestHost::start(replay(file, false)).await;
    let mut owner = host.owner().await;
    owner.saw_or_wait(is_exit).await;
    assert!(owner.events.iter().any(
        |r| matches!(&r.event, EventKind::PermissionResolved { by, .. } if by == "recorded-owner")
    ));
    host.stop().await;
}

/// Without pausing, an owner who answers before the recording does still
/// sees one resolution: the recorded one is skipped.
#[tokio::test]
async fn an_answer_before_the_recorded_one_is_the_only_resolution() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rec.jsonl");
    let lines = [
        json!({"seq": 1, "ts": "2026-01-01T00:00:00Z", "event": request_event("r1")}),
        json!({"seq": 2, "ts": "2026-01-01T00:00:01Z", "event": resolved_event("r1")}),
        json!({"seq": 3, "ts": "2026-01-01T00:00:01Z", "event": {"kind": "assistant", "text": "after"}}),
    ];
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&file, text).unwrap();
    let host = TestHost::start(AgentSpec::Replay {
        file,
        speed: 1.0,
        pause_at_requests: false,
    })
    .await;
    let mut owner = host.owner().await;
    owner
        .saw_or_wait(|e| matches!(e, EventKind::PermissionRequest { .. }))
        .await;
    let answer = owner.request(decide("r1", Decision::Allow).message()).await;
    assert_eq!(code_of(&answer), None, "{answer:?}");
    owner.saw_or_wait(is_exit).await;
    let resolutions = owner
        .events
        .iter()
        .filter(|r| matches!(&r.event, EventKind::PermissionResolved { .. }))
        .count();
    assert_eq!(resolutions, 1);
    assert_eq!(assistant_texts(&owner.events), ["after"]);
    host.stop().await;
}

/// The bundled demo has every scene the README promises, and answering
/// each request as it comes plays it to the end.
#[tokio::test]
async fn the_bundled_demo_plays_to_the_end_when_its_requests_are_answered() {
    let text = std::fs::read_to_string(demo_file()).unwrap();
    assert!(text.len() < 256 * 1024, "the demo stays small");
    let recording = tether::host::agent::replay::Recording::parse(&text).unwrap();
    assert!(recording.len() > 20);
    // The scenes: a diff to decide on, a long output, a denial, an
    // interrupt, a markdown answer.
    for scene in [
        r#""kind":"permission_request""#,
        r#""kind":"diff""#,
        "case_48 ... ok",
        r#""decision":"deny""#,
        r#""kind":"interrupt""#,
        "## What happened",
    ] {
        assert!(text.contains(scene), "the demo lacks {scene}");
    }
    let host = TestHost::start(replay(demo_file(), true)).await;
    let mut owner = host.owner().await;
    let mut answered = std::collections::HashSet::new();
    loop {
        let next = owner
            .saw_or_wait(|e| {
                is_exit(e)
                    || matches!(e, EventKind::PermissionRequest { request_id, .. } if !answered.contains(request_id))
            })
            .await;
        let EventKind::PermissionRequest { request_id, .. } = next.event else {
            break;
        };
        let answer = owner
            .request(decide(&request_id, Decision::Allow).message())
            .await;
        assert_eq!(code_of(&answer), None, "{answer:?}");
        answered.insert(request_id);
    }
    let answered = answered.len();
    assert!(answered >= 3, "{answered} requests");
    host.stop().await;
}

// ---- the recorder ---------------------------------------------------------

/// One scene: a trace played through a host, or a shell session.
struct Scene {
    events: Vec<EventRecord>,
}

/// Reads a session's journal (header skipped), with the session's
/// directory shown as the recorded project's.
fn journal_events(journal_dir: &Path, session_dir: &Path) -> Vec<EventRecord> {
    let here = session_dir.canonicalize().unwrap().display().to_string();
    std::fs::read_to_string(journal_dir.join("main.jsonl"))
        .unwrap()
        .replace(&here, RECORDED_PROJECT)
        .lines()
        .skip(1)
        .map(|line| match serde_json::from_str(line).unwrap() {
            tether::protocol::ServerMessage::Event(record) => record,
            _ => serde_json::from_str(line).unwrap(),
        })
        .collect()
}

/// Plays the Claude Code trace `name` through a journaled host, answering
/// as the recording did (allow, deny with its message, interrupt).
async fn record_trace(name: &str, prepare: impl FnOnce(&Path)) -> Scene {
    let trace = fixture(&format!("{name}.jsonl"));
    let journal = tempfile::tempdir().unwrap();
    let journal_dir = journal.path().to_owned();
    let host = TestHost::start_with(
        trace_agent(&trace, &["--project-dir", RECORDED_PROJECT]),
        |c| c.journal_dir = Some(journal_dir),
    )
    .await;
    prepare(host.path());
    let here = host.path().canonicalize().unwrap().display().to_string();
    let mut owner = host.owner().await;
    let text = std::fs::read_to_string(&trace)
        .unwrap()
        .replace(RECORDED_PROJECT, &here);
    for line in text.lines() {
        let entry: Value = serde_json::from_str(line).unwrap();
        if entry["dir"] != "in" {
            continue;
        }
        let message = &entry["msg"];
        match message["type"].as_str() {
            Some("user") => {
                let text = message["message"]["content"].as_str().unwrap().to_owned();
                let answer = owner.request(|id| user(id, &text)).await;
                assert_eq!(code_of(&answer), None, "{answer:?}");
            }
            Some("control_request") => {
                owner
                    .saw_or_wait(|e| matches!(e, EventKind::AssistantDelta { .. }))
                    .await;
                owner
                    .request(|id| ClientMessage::Interrupt(Interrupt { id }))
                    .await;
            }
            _ => {
                let response = &message["response"];
                let wanted = response["request_id"].as_str().unwrap().to_owned();
                owner
                    .saw_or_wait(|e| matches!(e, EventKind::PermissionRequest { request_id, .. } if *request_id == wanted))
                    .await;
                let body = &response["response"];
                let answer = if body["behavior"] == "allow" {
                    decide(wanted, Decision::Allow)
                } else {
                    decide(wanted, Decision::Deny).reason(body["message"].as_str())
                };
                let answer = owner.request(answer.message()).await;
                assert_eq!(code_of(&answer), None, "{answer:?}");
            }
        }
    }
    let (exit_code, _) = owner.wait_exit().await;
    assert_eq!(exit_code, Some(0), "the trace agent saw what it recorded");
    let session_dir = host.path().to_owned();
    let _dir = host.stop().await;
    Scene {
        events: journal_events(journal.path(), &session_dir),
    }
}

/// A shell session: one command with a long output, allowed.
async fn record_shell() -> Scene {
    let journal = tempfile::tempdir().unwrap();
    let journal_dir = journal.path().to_owned();
    let host = TestHost::start_with(AgentSpec::Shell, |c| c.journal_dir = Some(journal_dir)).await;
    let mut owner = host.owner().await;
    let command = "for n in $(seq 1 48); do printf 'test store::case_%02d ... ok\\n' $n; done; echo; echo 'test result: ok. 48 passed; 0 failed'";
    let request = ask(&mut owner, command).await;
    let answer = owner
        .request(decide(request, Decision::Allow).message())
        .await;
    assert_eq!(code_of(&answer), None, "{answer:?}");
    owner
        .wait_event(|e| matches!(e, EventKind::TurnEnd { .. }))
        .await;
    let session_dir = host.path().to_owned();
    let _dir = host.stop().await;
    Scene {
        events: journal_events(journal.path(), &session_dir),
    }
}

/// The closing turn, in markdown: an Agent Client Protocol agent
/// (`tether-test-agent acp` playing a script) through a journaled host,
/// its answer streamed in chunks after a thought.
async fn record_acp_summary() -> Scene {
    let journal = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path().display().to_string();
    let update = |kind: &str, text: &str| {
        json!({"send": {"jsonrpc": "2.0", "method": "session/update", "params": {"sessionId": "s1",
            "update": {"sessionUpdate": kind, "messageId": "m1", "content": {"type": "text", "text": text}}}}})
    };
    let mut steps = vec![
        json!({"expect": {"method": "initialize"}}),
        json!({"reply": {"protocolVersion": 1, "agentCapabilities": {},
            "agentInfo": {"name": "scripted-acp-agent", "version": "0.1"}}}),
        json!({"expect": {"method": "session/new", "params": {"cwd": cwd}}}),
        json!({"reply": {"sessionId": "s1"}}),
        json!({"expect": {"method": "session/prompt"}}),
        update("agent_thought_chunk", "Collecting what this session did."),
    ];
    for part in SUMMARY {
        steps.push(update("agent_message_chunk", part));
    }
    steps.push(json!({"reply": {"stopReason": "end_turn"}}));
    let script = dir.path().join("script.jsonl");
    let text: String = steps.iter().map(|step| format!("{step}\n")).collect();
    std::fs::write(&script, text).unwrap();
    let agent = AgentSpec::Acp {
        command: vec![
            crate::common::TEST_AGENT.to_owned(),
            "acp".into(),
            script.display().to_string(),
        ],
    };
    let mut config = crate::common::host_config(dir.path(), agent);
    config.journal_dir = Some(journal.path().to_owned());
    let host = TestHost::start_config(config, dir).await;
    let mut owner = host.owner().await;
    let answer = owner.request(|id| user(id, "summarise the session")).await;
    assert_eq!(code_of(&answer), None, "{answer:?}");
    owner
        .wait_event(|e| matches!(e, EventKind::TurnEnd { .. }))
        .await;
    let session_dir = host.path().to_owned();
    let _dir = host.stop().await;
    Scene {
        events: journal_events(journal.path(), &session_dir),
    }
}

/// The closing summary, in the chunks it streams in.
const SUMMARY: [&str; 6] = [
    "## What happened\n\n",
    "- wrote **notes/plan.md** (a new file) and edited `notes.txt`: ",
    "`beta` became `BETA`\n- the test run passed: *48 passed, 0 failed*\n",
    "- `rm -rf /tmp/nothing-here` was **denied**, so nothing was removed\n",
    "- the slow answer was interrupted\n\n",
    "Next, run the tests again:\n\n```sh\ncargo test\n```\n",
];

/// Whether an event belongs in the stitched demo: the agents' exits and
/// start-ups between scenes do not (the replay announces its own end).
fn keeps(event: &EventKind) -> bool {
    !matches!(
        event,
        EventKind::Status { state, .. }
            if matches!(state, tether::protocol::AgentState::Exited | tether::protocol::AgentState::Starting)
    )
}

/// How long after the previous event `event` comes in the demo. The
/// traces play as fast as the host takes them; a person watching needs
/// time to read.
fn pace(event: &EventKind) -> u64 {
    match event {
        EventKind::UserMessage { .. } => 1500,
        EventKind::Interrupt { .. } => 900,
        EventKind::Assistant { .. } | EventKind::ToolUse { .. } => 700,
        EventKind::AssistantDelta { .. }
        | EventKind::PermissionRequest { .. }
        | EventKind::Output { .. } => 500,
        EventKind::Status { .. } | EventKind::Metadata { .. } => 50,
        _ => 300,
    }
}

/// Joins scenes into one journal-format recording: seqs renumbered, paced
/// for reading, two seconds between scenes.
fn stitch(scenes: Vec<Scene>) -> String {
    let start = humantime::parse_rfc3339("2026-11-21T09:00:00Z").unwrap();
    let mut clock = start;
    let mut lines = vec![
        json!({"journal": 1, "session": "demo", "epoch": "demo", "started_at": humantime::format_rfc3339_millis(start).to_string()})
            .to_string(),
    ];
    let mut seq = 0;
    for scene in scenes {
        for record in scene.events.into_iter().filter(|r| keeps(&r.event)) {
            clock += std::time::Duration::from_millis(pace(&record.event));
            seq += 1;
            let record = EventRecord {
                seq,
                ts: humantime::format_rfc3339_millis(clock).to_string(),
                event: record.event,
            };
            lines.push(
                serde_json::to_string(&tether::protocol::ServerMessage::Event(record)).unwrap(),
            );
        }
        clock += std::time::Duration::from_secs(2);
    }
    lines.join("\n") + "\n"
}

/// Remakes `assets/demo/demo.jsonl`:
/// `cargo test --test host -- --ignored record_the_demo`.
#[tokio::test]
#[ignore = "rewrites assets/demo/demo.jsonl"]
async fn record_the_demo() {
    let scenes = vec![
        record_trace("hello", |_| {}).await,
        record_trace("write-new-file", |_| {}).await,
        record_trace("edit-existing-file", |dir| {
            std::fs::write(dir.join("notes.txt"), "alpha\nbeta\ngamma\n").unwrap();
        })
        .await,
        record_shell().await,
        record_trace("permission-deny", |_| {}).await,
        record_trace("interrupt", |_| {}).await,
        record_acp_summary().await,
    ];
    let text = stitch(scenes);
    std::fs::create_dir_all(demo_file().parent().unwrap()).unwrap();
    std::fs::write(demo_file(), text).unwrap();
}
