use std::os::unix::fs::PermissionsExt;

use tether::host::agent::AgentSpec;
use tether::protocol::ServerMessage;
use tokio_tungstenite::tungstenite;

use crate::support::*;

fn http_status(error: tungstenite::Error) -> u16 {
    match error {
        tungstenite::Error::Http(response) => response.status().as_u16(),
        other => panic!("expected an HTTP refusal, got {other}"),
    }
}

#[tokio::test]
async fn tokens_are_checked_before_the_upgrade() {
    let host = TestHost::start(AgentSpec::Shell).await;
    let missing = try_connect(&host.url, None, "").await.unwrap_err();
    assert_eq!(http_status(missing), 401);
    let unknown = try_connect(&host.url, Some("tt_not_a_real_token_at_all"), "")
        .await
        .unwrap_err();
    assert_eq!(http_status(unknown), 401);
    let elsewhere = host.url.replace("/main", "/other");
    let wrong_session = try_connect(&elsewhere, Some(&host.control), "")
        .await
        .unwrap_err();
    assert_eq!(http_status(wrong_session), 404);
    // An unknown session with a bad token reveals nothing: 401, not 404.
    let both = try_connect(&elsewhere, Some("nope-nope-nope-nope"), "")
        .await
        .unwrap_err();
    assert_eq!(http_status(both), 401);
    assert!(try_connect(&host.url, Some(&host.view), "").await.is_ok());
    host.stop().await;
}

#[tokio::test]
async fn healthz_is_open_and_the_session_list_is_not() {
    let host = TestHost::start(AgentSpec::Shell).await;
    let addr = host_addr(&host.url);
    assert_eq!(http_get(&addr, "/healthz", None).await, (200, "ok".into()));
    let (status, body) = http_get(&addr, "/v1/sessions", None).await;
    assert_eq!(status, 401);
    assert!(!body.contains("main"), "a 401 reveals nothing: {body}");
    let (status, body) = http_get(&addr, "/v1/sessions", Some(&host.view)).await;
    assert_eq!(status, 200);
    let list: serde_json::Value = serde_json::from_str(&body).unwrap();
    let session = &list["sessions"][0];
    assert_eq!(session["id"], "main");
    assert_eq!(session["agent"], "shell");
    for key in [
        "title",
        "state",
        "participants",
        "last_seq",
        "pending_permissions",
    ] {
        assert!(session.get(key).is_some(), "missing {key} in {session}");
    }
    host.stop().await;
}

#[tokio::test]
async fn the_auth_file_is_created_private_with_two_tokens() {
    let host = TestHost::start(AgentSpec::Shell).await;
    let path = host.path().join("auth.json");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let grants: Vec<String> = file["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["grants"][0].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(grants, ["control", "view"]);
    assert_ne!(host.control, host.view);
    assert!(host.control.len() >= 3 + 32, "at least 128 random bits");
    host.stop().await;
}

#[tokio::test]
async fn a_host_refuses_an_auth_file_others_can_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.json");
    tether::host::auth::load_or_create(&path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let mut config = tether::host::HostConfig::new(AgentSpec::Shell);
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.auth_path = path;
    let error = tether::host::Host::start(config)
        .await
        .err()
        .expect("refused");
    assert!(
        error.to_string().contains("readable by group or others"),
        "{error}"
    );
}

#[tokio::test]
async fn a_plain_request_to_the_session_endpoint_is_told_to_upgrade() {
    let host = TestHost::start(AgentSpec::Shell).await;
    let addr = host_addr(&host.url);
    let (status, body) = http_get(&addr, "/v1/sessions/main", Some(&host.view)).await;
    assert_eq!(status, 426, "{body}");
    // Without a token it is still a 401 first.
    assert_eq!(http_get(&addr, "/v1/sessions/main", None).await.0, 401);
    host.stop().await;
}

#[tokio::test]
async fn a_revoked_token_stops_working_after_a_reload() {
    let host = TestHost::start(AgentSpec::Shell).await;
    let mut owner = host.owner().await;
    let mut viewer = host.viewer().await;
    // Remove the view token from the file and reload, as SIGHUP does.
    let path = host.path().join("auth.json");
    let mut file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    file["tokens"]
        .as_array_mut()
        .unwrap()
        .retain(|t| t["token"] != host.view.as_str());
    std::fs::write(&path, serde_json::to_string(&file).unwrap()).unwrap();
    host.host.as_ref().unwrap().reload_auth().await.unwrap();
    let close = viewer.expect_close().await.expect("a close frame");
    assert_eq!(u16::from(close.code), 4003);
    assert!(
        !close.reason.contains(&host.view),
        "the reason never echoes a token"
    );
    let refused = try_connect(&host.url, Some(&host.view), "")
        .await
        .unwrap_err();
    assert_eq!(http_status(refused), 401);
    // Others are untouched.
    owner.ping().await;
    // A reload of a broken file keeps the old tokens; so does a file
    // with no token at all (the start refuses one too).
    for broken in ["{ not json", "{\"tokens\": []}"] {
        std::fs::write(&path, broken).unwrap();
        let refused = host.host.as_ref().unwrap().reload_auth().await;
        assert!(refused.is_err(), "{broken}");
        assert!(
            try_connect(&host.url, Some(&host.control), "")
                .await
                .is_ok(),
            "{broken}"
        );
    }
    host.stop().await;
}

#[tokio::test]
async fn a_repeated_query_parameter_is_refused_and_client_names_are_cleaned() {
    let host = TestHost::start(AgentSpec::Shell).await;
    for query in ["mode=view&mode=control", "since=0&since=live"] {
        let refused = try_connect(&host.url, Some(&host.control), query)
            .await
            .unwrap_err();
        assert_eq!(http_status(refused), 400, "{query}");
    }
    let named = "client=ok%1B%5D0%3Bx%07%E2%80%AEname";
    let mut client = Client::connect(&host.url, &host.control, named).await;
    // The greeting's participants message lists this connection.
    let listed = client
        .wait_for(|m| match m {
            ServerMessage::Participants { participants, .. } => {
                participants.iter().find_map(|p| p.client.clone())
            }
            _ => None,
        })
        .await;
    assert_eq!(listed, "ok]0;xname");
    host.stop().await;
}

#[tokio::test]
async fn a_peer_that_keeps_failing_authentication_is_slowed_down() {
    let host = TestHost::start(AgentSpec::Shell).await;
    let addr = host_addr(&host.url);
    for _ in 0..11 {
        let (status, _) = http_get(&addr, "/v1/sessions", Some("tt_wrong_guess_000000")).await;
        assert_eq!(status, 401);
    }
    let asked = std::time::Instant::now();
    let (status, _) = http_get(&addr, "/v1/sessions", Some("tt_wrong_guess_000000")).await;
    assert_eq!(status, 401);
    assert!(
        asked.elapsed() >= std::time::Duration::from_millis(450),
        "the twelfth failure in a minute waits (took {:?})",
        asked.elapsed()
    );
    // The right token still gets in at once.
    let (status, _) = http_get(&addr, "/v1/sessions", Some(&host.control)).await;
    assert_eq!(status, 200);
    host.stop().await;
}
