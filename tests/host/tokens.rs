//! `tether token add|list|revoke` against the auth file of a running host.

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use tether::protocol::ServerMessage;
use tokio_tungstenite::tungstenite;

use crate::served::*;
use crate::support::*;

/// `tether token add NAME --grant GRANT --auth FILE`: the printed token.
fn add(auth: &std::path::Path, name: &str, grant: &str) -> String {
    let out = tether(&[
        "token",
        "add",
        name,
        "--grant",
        grant,
        "--auth",
        auth.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let token = stdout
        .lines()
        .find_map(|l| l.strip_prefix("token: "))
        .unwrap_or_else(|| panic!("no token line: {stdout}"))
        .to_owned();
    assert!(
        stdout.contains(&format!("tether attach URL --token {token}")),
        "{stdout}"
    );
    token
}

/// Connects with `token`, retrying for up to `limit` while it is refused.
async fn connect_within(url: &str, token: &str, limit: Duration) -> Client {
    let start = Instant::now();
    loop {
        match try_connect(url, Some(token), "").await {
            Ok(_) => return Client::connect(url, token, "").await,
            Err(tungstenite::Error::Http(r)) if r.status() == 401 && start.elapsed() < limit => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("not accepted within {limit:?}: {e}"),
        }
    }
}

#[tokio::test]
async fn a_token_added_while_the_host_runs_works_within_two_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(dir.path());
    let token = add(&served.auth, "bob", "control");
    let mode = std::fs::metadata(&served.auth)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the file stays private");
    let mut bob = connect_within(&served.url, &token, Duration::from_secs(2)).await;
    bob.greeting().await;
    let Some(ServerMessage::Ready { you, .. }) = &bob.ready else {
        unreachable!("greeting keeps ready")
    };
    assert_eq!(you.identity, "bob");
    let line = served.wait_stderr("auth: ");
    assert_eq!(line, "auth: added bob (control)");
    assert!(!served.stderr().contains(&token), "tokens are never logged");
}

#[tokio::test]
async fn a_revoked_token_has_its_connections_closed_with_4003() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(dir.path());
    let token = add(&served.auth, "carol", "view");
    let mut carol = connect_within(&served.url, &token, Duration::from_secs(2)).await;
    carol.greeting().await;
    let mut owner = Client::connect(&served.url, &served.token_with("control"), "").await;
    owner.greeting().await;
    let auth = served.auth.to_str().unwrap();
    let out = tether(&["token", "revoke", "carol", "--auth", auth]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let close = carol.expect_close().await.expect("a close frame");
    assert_eq!(u16::from(close.code), 4003);
    served.wait_stderr("auth: removed carol");
    owner.ping().await;
    assert!(try_connect(&served.url, Some(&token), "").await.is_err());
}

#[test]
fn list_shows_names_grants_and_sessions_but_never_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let auth = dir.path().join("auth.json");
    let auth = auth.to_str().unwrap();
    let out = tether(&[
        "token",
        "add",
        "ops",
        "--grant",
        "admin,view",
        "--sessions",
        "main,dev-*",
        "--auth",
        auth,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let list = tether(&["token", "list", "--auth", auth]);
    assert!(list.status.success());
    let stdout = text(&list.stdout);
    assert!(!stdout.contains("tt_"), "{stdout}");
    let ops = stdout.lines().find(|l| l.starts_with("ops ")).unwrap();
    assert!(
        ops.contains("admin,view") && ops.contains("main,dev-*") && ops.ends_with("never"),
        "{ops}"
    );
    let viewer = stdout.lines().find(|l| l.starts_with("viewer ")).unwrap();
    assert!(
        viewer.contains("view") && viewer.contains(" all ") && viewer.ends_with("never"),
        "{viewer}"
    );
}

#[test]
fn mistakes_get_one_line_and_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let auth = dir.path().join("auth.json");
    let path = auth.to_str().unwrap();
    add(&auth, "bob", "view");
    let cases: [(&[&str], &str); 4] = [
        (
            &["token", "add", "bob", "--grant", "view", "--auth", path],
            "already has a token named `bob`",
        ),
        (
            &["token", "add", "eve", "--grant", "root", "--auth", path],
            "unknown grant `root`",
        ),
        (
            &["token", "revoke", "nobody", "--auth", path],
            "no token named `nobody`",
        ),
        (
            &["token", "add", "a b", "--grant", "view", "--auth", path],
            "not a valid name",
        ),
    ];
    for (args, expected) in cases {
        let out = tether(args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
    std::fs::set_permissions(&auth, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = tether(&["token", "list", "--auth", path]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("chmod 600"));
}

#[test]
fn a_fresh_auth_file_names_its_owner_after_the_login_else_user() {
    let dir = tempfile::tempdir().unwrap();
    for (user, expected) in [(Some("ann"), "ann"), (None, "user")] {
        let auth = dir.path().join(format!("{expected}.json"));
        let path = auth.to_str().unwrap();
        let out = tether_with(
            &["token", "add", "x", "--grant", "view", "--auth", path],
            |c| {
                match user {
                    Some(user) => c.env("USER", user),
                    None => c.env_remove("USER"),
                };
            },
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        let list = text(&tether(&["token", "list", "--auth", path]).stdout);
        let control = list.lines().find(|l| l.contains("control")).unwrap();
        assert!(control.starts_with(&format!("{expected} ")), "{list}");
    }
}

#[tokio::test]
async fn an_admin_only_token_may_not_watch_a_session() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(dir.path());
    let token = add(&served.auth, "root", "admin");
    let start = Instant::now();
    let status = loop {
        match try_connect(&served.url, Some(&token), "").await {
            Err(tungstenite::Error::Http(r)) if r.status() == 401 => {
                assert!(start.elapsed() < Duration::from_secs(3), "never loaded");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(tungstenite::Error::Http(r)) => break r.status().as_u16(),
            other => panic!("admin alone must not connect: {other:?}"),
        }
    };
    assert_eq!(status, 403);
}
