//! The example files in `assets/examples/` load as the host loads them.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use tether::host::auth;
use tether::protocol::Grant;

use crate::alerts::receiver::{Answer, Receiver};

#[test]
fn the_example_auth_file_loads() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/examples/auth.json");
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("auth.json");
    std::fs::copy(&example, &copy).unwrap();
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o600)).unwrap();
    let file = auth::load(&copy).unwrap();
    assert_eq!(file.tokens.len(), 3);
    assert_eq!(file.first_with(Grant::Control).unwrap().name, "alice");
    assert_eq!(file.first_with(Grant::View).unwrap().name, "wall-screen");
    assert!(
        file.tokens
            .iter()
            .all(|t| t.token.starts_with("tt_replace_me")),
        "placeholders only"
    );
    assert_eq!(file.tokens[2].sessions, ["dev-*"]);
}

#[tokio::test]
async fn the_example_serve_config_starts_its_sessions() {
    use tokio::io::AsyncBufReadExt;
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/examples/serve.toml");
    let home = tempfile::tempdir().unwrap();
    for dir in ["src/api", "src/web"] {
        std::fs::create_dir_all(home.path().join(dir)).unwrap();
    }
    // The example's [notify] sends alerts to the Internet: here they go to
    // a receiver on loopback instead (the flags win over the file).
    let receiver = Receiver::start(Answer::Ok).await;
    let mut child = crate::common::tether_async(home.path())
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&example)
        .args(["--notify-webhook", &receiver.url("/hook")])
        .args(["--notify-ntfy", &receiver.url("/topic")])
        .args(["--auth"])
        .arg(home.path().join("auth.json"))
        .arg("--journal")
        .arg(home.path().join("journal"))
        .env("PATH", "/nonexistent")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    // Up to the line that says where alerts go, the last.
    while !seen
        .last()
        .is_some_and(|l: &String| l.starts_with("alerts:"))
    {
        let line = tokio::time::timeout(std::time::Duration::from_secs(10), lines.next_line())
            .await
            .unwrap()
            .unwrap()
            .expect("tether serve prints where it listens");
        seen.push(line);
    }
    assert!(seen[0].starts_with("listening on ws://"), "{seen:?}");
    assert!(seen[0].ends_with("/v1/sessions/api"), "{seen:?}");
    assert_eq!(
        seen[1], "sessions: api, web, checks",
        "the config file's order"
    );
    // And the one command that shows them all.
    let host = seen[0]
        .trim_start_matches("listening on ")
        .trim_end_matches("/v1/sessions/api");
    let auth = home.path().join("auth.json");
    assert_eq!(
        seen[2],
        format!(
            "attach to them all: tether attach {host} --auth {}",
            auth.display()
        )
    );
    let receiver_host = format!("http://{}", receiver.addr);
    assert!(
        seen.ends_with(&[format!(
            "alerts: webhook {receiver_host}, ntfy {receiver_host}; \
             a permission request is told of after 30s unanswered"
        )]),
        "the example's `after`: {seen:?}"
    );
    // Its agents are not installed here: each of the two sessions whose
    // agent cannot start is told of, once per destination.
    let posts = receiver.wait_posts(4, Duration::from_secs(10)).await;
    let mut told: Vec<(String, String)> = posts
        .iter()
        .map(|p| {
            (
                p.target.clone(),
                p.body["title"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    told.sort();
    let titles: Vec<(&str, &str)> = told.iter().map(|(t, s)| (&t[..], &s[..10])).collect();
    assert_eq!(
        titles,
        [
            ("/", "api: the a"),
            ("/", "web: the a"),
            ("/hook", "api: the a"),
            ("/hook", "web: the a")
        ],
        "{told:?}"
    );
    child.kill().await.unwrap();
}
