//! The real `tether serve` process: its output, signals and exit code.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tether::protocol::EventKind;

use crate::support::*;

pub struct Served {
    pub child: Child,
    pub url: String,
    lines: Vec<String>,
}

/// `tether serve` on a free loopback port with its auth file, journal and
/// working directory in `dir`.
pub fn serve_command(dir: &std::path::Path) -> Command {
    let mut command = crate::common::tether(dir);
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--auth"])
        .arg(dir.join("auth.json"))
        .arg("--journal")
        .arg(dir.join("journal"))
        .arg("--cwd")
        .arg(dir);
    command
}

pub fn serve(dir: &std::path::Path, extra: &[&str]) -> Served {
    let mut child = serve_command(dir)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    let mut url = String::new();
    while url.is_empty() || lines.len() < 3 {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if let Some(rest) = line.trim().strip_prefix("listening on ") {
            url = rest.to_owned();
        }
        lines.push(line.trim().to_owned());
    }
    Served { child, url, lines }
}

pub fn token(dir: &std::path::Path, grant: &str) -> String {
    token_from_auth(&dir.join("auth.json"), grant)
}

fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    for _ in 0..200 {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    panic!("tether serve did not exit");
}

#[tokio::test]
async fn serve_prints_where_it_listens_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut served = serve(dir.path(), &[]);
    assert!(
        served.url.starts_with("ws://127.0.0.1:") && served.url.ends_with("/v1/sessions/main"),
        "{:?}",
        served.lines
    );
    assert!(!served.url.contains(":0/"), "the real port is printed");
    assert!(
        served
            .lines
            .iter()
            .any(|l| l.starts_with("auth file: ") && l.contains("auth.json"))
    );
    let mut owner = Client::connect(&served.url, &token(dir.path(), "control"), "").await;
    owner.greeting().await;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(served.child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let close = owner.expect_close().await.expect("close frame");
    assert_eq!(u16::from(close.code), 1001);
    let status = tokio::task::spawn_blocking(move || wait_exit(&mut served.child))
        .await
        .unwrap();
    assert!(status.success(), "{status:?}");
    // The journal holds the agent's exit, flushed at shutdown.
    let journal = std::fs::read_to_string(dir.path().join("journal/main.jsonl")).unwrap();
    assert!(journal.lines().last().unwrap().contains("\"exited\""));
}

#[tokio::test]
async fn serve_survives_sigkill_with_every_delivered_event_in_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let mut served = serve(dir.path(), &[]);
    let mut owner = Client::connect(&served.url, &token(dir.path(), "control"), "").await;
    owner.greeting().await;
    owner.request(|id| user(id, "echo kept")).await;
    owner
        .wait_event(|e| matches!(e, EventKind::PermissionRequest { .. }))
        .await;
    let last = owner.events.last().unwrap().seq;
    served.child.kill().unwrap();
    served.child.wait().unwrap();

    let mut again = serve(dir.path(), &[]);
    let mut client = Client::connect(&again.url, &token(dir.path(), "view"), "").await;
    client.greeting().await;
    let seqs: Vec<u64> = client.events.iter().map(|r| r.seq).collect();
    assert!(seqs.len() as u64 > last);
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
    assert_eq!(&client.events[..owner.events.len()], &owner.events[..]);
    // The request of the killed host's agent cannot be answered any more.
    assert!(client.events.iter().any(|r| matches!(&r.event, EventKind::PermissionCancelled { reason: Some(r), .. } if r.contains("restarted"))));
    // The turn the killed host left open is closed, and says why.
    let closed = client.events.iter().any(|r| {
        matches!(
            r.event,
            EventKind::TurnEnd {
                outcome: tether::protocol::TurnOutcome::Interrupted,
                ..
            }
        )
    });
    assert!(closed, "the open turn ends as interrupted");
    assert!(client.events.iter().any(
        |r| matches!(&r.event, EventKind::Notice { text, .. } if text.contains("middle of a turn"))
    ));
    again.child.kill().unwrap();
    again.child.wait().unwrap();
}

#[test]
fn serve_refuses_bad_arguments_with_a_clear_message() {
    let output = Command::new(crate::common::TETHER)
        .args([
            "serve",
            "--agent",
            "stream-json",
            "--no-journal",
            "--listen",
            "127.0.0.1:0",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("needs the agent's command line"),
        "{stderr}"
    );
    assert_eq!(
        stderr.lines().count(),
        1,
        "one line, no backtrace: {stderr}"
    );
}

#[test]
fn serve_warns_when_it_listens_beyond_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = crate::common::tether(dir.path())
        .args(["serve", "--listen", "0.0.0.0:0", "--no-journal", "--auth"])
        .arg(dir.path().join("auth.json"))
        .arg("--cwd")
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        line.starts_with("warning:") && line.contains("unencrypted") && line.contains("TLS"),
        "{line}"
    );
}

/// With TLS of its own the host listens beyond loopback without the
/// warning: nothing travels in the clear.
#[test]
fn serve_beyond_loopback_with_tls_does_not_warn() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let mut child = crate::common::tether(dir.path())
        .args([
            "serve",
            "--listen",
            "0.0.0.0:0",
            "--tls-self-signed",
            "--no-journal",
        ])
        .arg("--auth")
        .arg(dir.path().join("auth.json"))
        .arg("--cwd")
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut printed = String::new();
    // The fingerprint comes after the warning would have.
    while !printed.contains("fingerprint: SHA256:") {
        let mut line = String::new();
        if stdout.read_line(&mut line).unwrap() == 0 {
            break;
        }
        printed.push_str(&line);
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(printed.starts_with("listening on wss://"), "{printed}");
    assert!(printed.contains("fingerprint: SHA256:"), "{printed}");
    assert!(!stderr.contains("warning:"), "{stderr}");
}

#[tokio::test]
async fn an_approved_command_dies_with_a_killed_host() {
    let dir = tempfile::tempdir().unwrap();
    let mut served = serve(dir.path(), &[]);
    let mut owner = Client::connect(&served.url, &token(dir.path(), "control"), "").await;
    owner.greeting().await;
    // A loop in the shell itself: it would go on writing for ever.
    let command = "echo $$ > loop.pid; while :; do echo tick >> ticks; sleep 0.1; done";
    owner.request(|id| user(id, command)).await;
    let request_id = owner
        .wait_for(|m| match m {
            tether::protocol::ServerMessage::Event(r) => match &r.event {
                EventKind::PermissionRequest { request_id, .. } => Some(request_id.clone()),
                _ => None,
            },
            _ => None,
        })
        .await;
    owner
        .request(|id| {
            tether::protocol::ClientMessage::PermissionDecision(
                tether::protocol::PermissionDecision {
                    id,
                    request_id,
                    decision: tether::protocol::Decision::Allow,
                    message: None,
                    updated_input: None,
                    option: None,
                },
            )
        })
        .await;
    let pid_file = dir.path().join("loop.pid");
    let mut pid = None;
    for _ in 0..100 {
        if let Some(p) = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|t| t.trim().parse::<i32>().ok())
        {
            pid = Some(p);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pid = pid.expect("the command started");
    assert!(alive(pid));

    served.child.kill().unwrap(); // SIGKILL: the host runs no clean-up
    served.child.wait().unwrap();
    let mut waited = Duration::ZERO;
    while alive(pid) && waited < Duration::from_secs(3) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += Duration::from_millis(50);
    }
    assert!(!alive(pid), "the command outlived the host");
    let ticks = std::fs::read_to_string(dir.path().join("ticks")).unwrap_or_default();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let later = std::fs::read_to_string(dir.path().join("ticks")).unwrap_or_default();
    assert_eq!(ticks, later, "nothing writes after the host died");
}

#[tokio::test]
async fn a_killed_host_takes_every_process_it_started_with_it() {
    use crate::process_tree::{TREE, started, tree_pids};
    let dir = tempfile::tempdir().unwrap();
    let mut served = serve(dir.path(), &[]);
    let mut owner = Client::connect(&served.url, &token(dir.path(), "control"), "").await;
    owner.greeting().await;
    started(&mut owner, TREE).await;
    let pids = tree_pids(dir.path()).await;
    assert!(pids.iter().all(|p| alive(*p)));
    served.child.kill().unwrap(); // SIGKILL: the host runs no clean-up
    served.child.wait().unwrap();
    let left = still_alive_after(&pids, Duration::from_secs(5)).await;
    assert!(left.is_empty(), "outlived the host: {left:?}");
}

#[tokio::test]
async fn a_second_host_on_the_same_journal_is_refused_naming_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = serve(dir.path(), &[]);
    let second = serve_command(dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("in use by another tether")
            && stderr.contains(&format!("pid {}", first.child.id())),
        "{stderr}"
    );
    first.child.kill().unwrap();
    first.child.wait().unwrap();
}

/// A config file of one session is still a host of sessions: `serve`
/// names it and prints the command that attaches to the whole host, with
/// the auth file that command needs.
#[test]
fn serve_with_a_config_of_one_session_prints_the_whole_host_command() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("api")).unwrap();
    let config = format!(
        "listen = \"127.0.0.1:0\"\nauth = \"{root}/auth.json\"\njournal = \"{root}/journal\"\n\n\
         [[sessions]]\nid = \"api\"\nagent = \"shell\"\ncwd = \"{root}/api\"\ntitle = \"API server\"\n",
        root = root.display()
    );
    std::fs::write(root.join("serve.toml"), config).unwrap();
    let mut child = crate::common::tether(root)
        .args(["serve", "--config"])
        .arg(root.join("serve.toml"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    while lines.len() < 4 {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 {
            break;
        }
        lines.push(line.trim().to_owned());
    }
    child.kill().unwrap();
    let _ = child.wait();
    let url = lines[0].strip_prefix("listening on ").expect("first line");
    let host = url.trim_end_matches("/v1/sessions/api");
    let auth = root.join("auth.json");
    assert_eq!(lines[1], "sessions: api", "{lines:?}");
    assert_eq!(
        lines[2],
        format!(
            "attach to them all: tether attach {host} --auth {}",
            auth.display()
        ),
        "{lines:?}"
    );
    assert!(lines[3].starts_with("auth file: "), "{lines:?}");
}
