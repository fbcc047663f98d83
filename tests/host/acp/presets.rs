//! Presets through the real binary: a missing program, and one that runs.

use std::path::Path;

use serde_json::Value;
use tether::protocol::{EventKind, TurnOutcome};

use super::{chunk, preamble, prompt, stop, wait_turn_end};
use crate::support::*;

/// `tether serve` with `args` and `PATH` set to `path`: exit code, stderr.
fn serve(args: &[&str], path: &Path) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let output = crate::common::tether(dir.path())
        .arg("serve")
        .args(args)
        .args(["--no-journal", "--listen", "127.0.0.1:0"])
        .env("PATH", path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.code(), stderr)
}

#[test]
fn a_preset_whose_program_is_missing_fails_at_once_saying_how_to_install_it() {
    let empty = tempfile::tempdir().unwrap();
    for (preset, program, package) in [
        ("claude", "claude", "@anthropic-ai/claude-code"),
        ("claude-acp", "claude-agent-acp", "claude-agent-acp"),
        ("gemini", "gemini", "@google/gemini-cli"),
        ("codex", "codex-acp", "codex-acp"),
        ("opencode", "opencode", "opencode-ai"),
    ] {
        let (code, stderr) = serve(&["--agent", preset, "--", "--extra"], empty.path());
        assert_eq!(code, Some(2), "{preset}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{preset}: {stderr}");
        assert!(
            stderr.contains(&format!("`{program}` is not on PATH")) && stderr.contains(package),
            "{preset}: {stderr}"
        );
    }
    let (code, stderr) = serve(&["--agent", "acp"], empty.path());
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("--agent acp needs the agent's command line"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_preset_runs_its_program_over_acp_with_its_flags_and_the_extra_arguments() {
    use std::io::BufRead;
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path().join("project");
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&cwd).unwrap();
    std::fs::create_dir_all(&bin).unwrap();
    let mut script = String::new();
    for step in preamble(&cwd).into_iter().chain([
        prompt("hi"),
        chunk("agent_message_chunk", "hello from gemini"),
        stop("end_turn"),
    ]) {
        script.push_str(&format!("{step}\n"));
    }
    let script_path = dir.path().join("script.jsonl");
    std::fs::write(&script_path, script).unwrap();
    // A stand-in `gemini` that insists on the preset's flags.
    let gemini = bin.join("gemini");
    std::fs::write(
        &gemini,
        format!(
            "#!/bin/sh\n[ \"$1\" = --acp ] && [ \"$2\" = --extra ] || {{ echo \"bad args: $*\" >&2; exit 9; }}\n\
             exec {} acp {}\n",
            crate::common::TEST_AGENT,
            script_path.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&gemini, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut child = crate::common::tether(dir.path())
        .args([
            "serve",
            "--agent",
            "gemini",
            "--no-journal",
            "--listen",
            "127.0.0.1:0",
        ])
        .arg("--auth")
        .arg(dir.path().join("auth.json"))
        .arg("--cwd")
        .arg(&cwd)
        .args(["--", "--extra"])
        .env("PATH", &bin)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let url = stdout
        .lines()
        .map_while(Result::ok)
        .find_map(|line| line.strip_prefix("listening on ").map(str::to_owned))
        .expect("the host says where it listens");
    let auth: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("auth.json")).unwrap())
            .unwrap();
    let control = auth["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["grants"][0] == "control")
        .unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut owner = Client::connect(&url, &control, "").await;
    owner.greeting().await;
    owner.request(|id| user(id, "hi")).await;
    assert_eq!(wait_turn_end(&mut owner, 1).await, TurnOutcome::Success);
    assert!(owner.events.iter().any(|r| r.event
        == EventKind::Assistant {
            text: "hello from gemini".into()
        }));
    child.kill().unwrap();
    child.wait().unwrap();
}
