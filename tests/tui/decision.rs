//! Deciding on a permission request in the real binary against a real
//! host: the decision view shows what the request will do (an edit as a
//! coloured diff with line numbers, recorded from the real Claude Code and
//! played by `tether-test-agent trace`), edit-and-allow runs what was edited,
//! and text typed in the input box survives a decision.

use std::path::Path;
use std::time::Duration;

use tether::host::agent::AgentSpec;

use super::{common, line_count};
use crate::support::TuiTest;

/// How long a view that opened while the user was typing ignores answers.
const ANSWER_HOLD: Duration = Duration::from_millis(800);

/// The project directory the traces were recorded in (their README).
const RECORDED_PROJECT: &str = "/work/project";

/// The test agent playing the recorded Claude Code session `name`.
fn trace_agent(name: &str) -> AgentSpec {
    let trace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/claude-code-stream-json")
        .join(format!("{name}.jsonl"));
    let command = vec![
        common::TEST_AGENT.to_owned(),
        "trace".into(),
        trace.display().to_string(),
        "--timeout-ms".into(),
        "10000".into(),
        "--project-dir".into(),
        RECORDED_PROJECT.into(),
    ];
    AgentSpec::StreamJson { command }
}

/// The row of the screen holding `text`, and the column it starts at.
fn find(screen: &vt100::Screen, text: &str) -> Option<(u16, u16)> {
    let (rows, cols) = screen.size();
    (0..rows).find_map(|row| {
        let line = screen.contents_between(row, 0, row, cols);
        let at = line.find(text)?;
        Some((row, line[..at].chars().count() as u16))
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn an_edit_shows_as_a_coloured_diff_with_line_numbers_before_it_is_allowed() {
    let test = TuiTest::new().agent(trace_agent("edit-existing-file"));
    std::fs::write(test.dir().join("notes.txt"), "alpha\nbeta\ngamma\n").unwrap();
    let here = test.dir().canonicalize().unwrap().display().to_string();
    test.run(move |tui| {
        tui.send(format!("edit: {here}/notes.txt beta => BETA\r").as_bytes());
        tui.wait_text("Permission request 1 of 1");
        tui.wait_text("notes.txt  +1 -1");
        tui.wait_text("@@ -1,3 +1,3 @@");
        // Old and new line numbers, then the sign in the line's colour.
        for row in ["│1 1   alpha", "│2   - beta", "│  2 + BETA", "│3 3   gamma"] {
            tui.wait_text(row);
        }
        tui.with_screen(|screen| {
            for (row, sign, colour) in [
                ("│2   - beta", '-', vt100::Color::Idx(1)),
                ("│  2 + BETA", '+', vt100::Color::Idx(2)),
            ] {
                let (y, x) = find(screen, row).unwrap();
                let at = x + row.chars().position(|c| c == sign).unwrap() as u16;
                let cell = screen.cell(y, at).unwrap();
                assert_eq!(cell.contents(), sign.to_string());
                assert_eq!(cell.fgcolor(), colour, "{row}");
                let text = screen.cell(y, at + 2).unwrap();
                assert_eq!(text.fgcolor(), colour, "{row}: the text too");
            }
        });
        tui.wait_text("1. Allow once");
        tui.wait_text("2. Accept edits for this session");
        // y: allowed once; the trace agent checks the answer it gets.
        // (Not at once: a view that opens while the user types holds its
        // answers for a moment.)
        std::thread::sleep(ANSWER_HOLD);
        tui.send(b"y");
        tui.wait_text("── done");
        tui.wait_for("the view gone", |s| !s.contains("Permission request"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn edit_and_allow_runs_the_edited_command() {
    TuiTest::new()
        .run(|tui| {
            tui.send(b"echo as-asked\r");
            tui.wait_text("Permission request 1 of 1");
            tui.wait_text("$ echo as-asked");
            std::thread::sleep(ANSWER_HOLD);
            tui.send(b"e");
            tui.wait_text("Edit the command");
            // Replace "as-asked" (8 characters) and allow.
            tui.send(&[0x7f; 8]);
            tui.send(b"as-edited\r");
            tui.wait_for("the edited command's output", |s| {
                line_count(s, "as-edited") == 1
            });
            tui.wait_text("── done");
            let screen = tui.screen();
            assert_eq!(line_count(&screen, "as-asked"), 0, "{screen}");
        })
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn typed_text_is_never_lost_across_a_decision() {
    TuiTest::new()
        .run(|tui| {
            tui.send(b"echo first-run\r");
            tui.wait_text("Permission request 1 of 1");
            // Esc leaves the request pending and gives the input box back.
            tui.send(b"\x1b");
            tui.wait_for("the input box", |s| !s.contains("Permission request"));
            tui.send(b"half a thought");
            tui.wait_text("half a thought");
            // The permissions pane reopens it; y answers it.
            tui.send(b"\t\r");
            tui.wait_text("Permission request 1 of 1");
            tui.send(b"y");
            tui.wait_for("the output", |s| line_count(s, "first-run") == 1);
            tui.wait_text("── done");
            // Back where the user was (the permissions pane), the text kept.
            tui.send(b"\x1b[Z");
            tui.send(b", finished");
            tui.wait_text("half a thought, finished");
            std::thread::sleep(Duration::from_millis(200));
            let screen = tui.screen();
            assert_eq!(line_count(&screen, "▶ half a thought"), 0, "{screen}");
        })
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn headless_prompt_shows_the_preview_and_offers_allow_always() {
    let test = TuiTest::new()
        .agent(trace_agent("allow-always"))
        .args(&["--prompt", "run: touch always.txt"])
        .size(30, 160)
        .start()
        .await;
    let attach = test.attach();
    tokio::task::spawn_blocking(move || {
        // Headless: no screen to wait for.
        let mut prompt = attach.spawn();
        // The command in full, then every way to allow it.
        prompt.wait_text("$ touch always.txt");
        prompt.wait_text("[y] allow once  [a] always allow Bash(touch always.txt) in this project");
        prompt.wait_text("[N] deny:");
        // The trace agent checks that the rule comes back as recorded.
        prompt.send(b"a\r");
        let status = prompt.wait_exit();
        assert!(status.success(), "{}", prompt.screen());
    })
    .await
    .unwrap();
    test.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_follower_sees_the_request_read_only_and_who_is_to_answer() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    let test = TuiTest::new().shows("(follower)").start().await;
    let token = test.token();
    // Someone else owns the session and asks to run a command.
    let mut request = test.url().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Authorization", format!("Bearer {token}").parse().unwrap());
    let (mut owner, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let ask = r#"{"type":"user_message","id":"m1","text":"echo from-the-owner"}"#;
    owner.send(Message::text(ask)).await.unwrap();
    let mut identity = String::new();
    while let Some(Ok(frame)) = owner.next().await {
        let Message::Text(text) = frame else { continue };
        let message: serde_json::Value = serde_json::from_str(&text).unwrap();
        if message["type"] == "ready" {
            identity = message["you"]["identity"].as_str().unwrap().to_owned();
        }
        if message["event"]["kind"] == "permission_request" {
            break;
        }
    }
    let tui = test
        .open(move |tui| {
            tui.wait_text("Permission request 1 of 1");
            tui.wait_text("$ echo from-the-owner");
            tui.wait_text(&format!("read-only: waiting for {identity} to answer"));
            // Its keys answer nothing, even with the view focused.
            tui.send(b"y1\t\ry");
            std::thread::sleep(Duration::from_millis(300));
            tui.wait_text("Permission request 1 of 1");
        })
        .await;
    // The owner saw no answer from the follower.
    let deadline = tokio::time::Instant::now() + Duration::from_millis(300);
    while let Ok(Some(Ok(frame))) = tokio::time::timeout_at(deadline, owner.next()).await {
        if let Message::Text(text) = frame {
            assert!(!text.contains("permission_resolved"), "{text}");
        }
    }
    let _ = owner.send(Message::Close(None)).await;
    drop(tui);
    test.shutdown().await;
}
