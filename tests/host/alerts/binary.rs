//! Alerts through the real `tether serve`: its flags, its refusals, and
//! its log, which names a destination by scheme and host only.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncReadExt;

use super::receiver::{Answer, Receiver};

#[tokio::test]
async fn failed_deliveries_are_logged_without_the_urls_secrets() {
    let receiver = Receiver::start(Answer::FailFirst(usize::MAX)).await;
    let dir = tempfile::tempdir().unwrap();
    let webhook = receiver.url("/hooks/secret-path?token=secret-token");
    let ntfy = format!(
        "http://alertuser:secret-password@{}/secret-topic",
        receiver.addr
    );
    let mut child = tokio::process::Command::from(crate::serve_binary::serve_command(dir.path()))
        .args(["--notify-webhook", &webhook, "--notify-ntfy", &ntfy])
        .args([
            "--notify-after",
            "0",
            "--agent",
            "acp",
            "--",
            "sh",
            "-c",
            "exit 3",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // Both destinations try three times (1 s, then 2 s apart) and give up.
    let posts = receiver.wait_posts(6, Duration::from_secs(15)).await;
    assert_eq!(posts.len(), 6, "{posts:#?}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    child.kill().await.unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .await
        .unwrap();
    let host = format!("http://{}", receiver.addr);
    for label in [format!("webhook {host}"), format!("ntfy {host}")] {
        assert!(
            stderr.contains(&format!("to {label} dropped after 3 tries: HTTP 500")),
            "{label}: {stderr}"
        );
    }
    for secret in [
        "secret-path",
        "secret-token",
        "secret-password",
        "secret-topic",
        "alertuser",
    ] {
        assert!(!stderr.contains(secret), "{secret} in {stderr}");
    }
    let with_auth = &posts.iter().find(|p| p.target == "/").unwrap().body;
    assert_eq!(with_auth["topic"], "secret-topic");
}

fn serve_with(args: &[&str]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let output = crate::serve_binary::serve_command(dir.path())
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.code(), stderr)
}

#[test]
fn a_bad_destination_is_one_line_naming_the_flag_or_the_key_and_exit_code_2() {
    let (code, stderr) = serve_with(&["--notify-webhook", "http://example.com/secret-path"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("--notify-webhook: http:// to example.com"),
        "{stderr}"
    );
    assert!(!stderr.contains("secret-path"), "{stderr}");

    let (code, stderr) = serve_with(&["--notify-after", "30s"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("no --notify-webhook or --notify-ntfy"),
        "{stderr}"
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("serve.toml");
    std::fs::write(&file, "[notify]\nntfy = \"https://ntfy.sh/\"\n").unwrap();
    let output = crate::common::tether(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{}: [notify] ntfy: the URL must end with the topic",
            file.display()
        )),
        "{stderr}"
    );
}
