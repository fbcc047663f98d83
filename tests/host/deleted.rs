//! Deleting a session ends it: its history and rules do not carry over to
//! a new session of the same id, and the id stays reserved until the old
//! one has stopped (it would otherwise write into the new one's journal).

use std::time::Duration;

use serde_json::json;
use tether::host::Host;
use tether::host::agent::shell::ALWAYS_THIS_COMMAND;
use tether::protocol::{Decision, EventKind};

use crate::sessions::{ADMIN, ALICE, three_sessions};
use crate::support::*;

#[tokio::test]
async fn a_deleted_sessions_rules_do_not_apply_to_its_successor() {
    let dir = tempfile::tempdir().unwrap();
    let host = Host::start(three_sessions(dir.path())).await.unwrap();
    let addr = host.addr().to_string();
    for sub in ["x-one", "x-two"] {
        std::fs::create_dir_all(dir.path().join("work").join(sub)).unwrap();
        std::fs::write(
            dir.path().join("work").join(sub).join("precious.txt"),
            "keep",
        )
        .unwrap();
    }
    let create = |cwd: &str| {
        let body = json!({"agent": "shell", "id": "dev-x", "cwd": cwd});
        let addr = addr.clone();
        async move { http(&addr, "POST", "/v1/sessions", Some(ADMIN), Some(&body)).await }
    };
    let (status, body) = create("x-one").await;
    assert_eq!(status, 201, "{body}");
    let mut owner = Client::connect(&host.session_url("dev-x"), ALICE, "").await;
    owner.greeting().await;
    let first_epoch = owner.epoch();
    let request = ask(&mut owner, "rm -f precious.txt").await;
    owner
        .request(
            decide(request, Decision::Allow)
                .option(Some(ALWAYS_THIS_COMMAND))
                .message(),
        )
        .await;
    owner
        .wait_event(|e| matches!(e, EventKind::TurnEnd { .. }))
        .await;
    assert!(!dir.path().join("work/x-one/precious.txt").exists());

    let (status, _) = http(&addr, "DELETE", "/v1/sessions/dev-x", Some(ADMIN), None).await;
    assert_eq!(status, 204);
    let (status, body) = create("x-two").await;
    assert_eq!(status, 201, "{body}");
    let mut owner = Client::connect(&host.session_url("dev-x"), ALICE, "").await;
    owner.greeting().await;
    assert_ne!(owner.epoch(), first_epoch, "a new history");
    // Asked again: the old session's rule is gone with it.
    ask(&mut owner, "rm -f precious.txt").await;
    assert!(dir.path().join("work/x-two/precious.txt").exists());
    host.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_id_stays_taken_until_its_session_has_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let host = Host::start(three_sessions(dir.path())).await.unwrap();
    let addr = host.addr().to_string();
    let body = json!({"agent": "shell", "id": "dev-y"});
    let (status, _) = http(&addr, "POST", "/v1/sessions", Some(ADMIN), Some(&body)).await;
    assert_eq!(status, 201);
    let mut owner = Client::connect(&host.session_url("dev-y"), ALICE, "").await;
    owner.greeting().await;
    // A command that ignores SIGTERM: stopping it takes the supervisor's
    // grace, the window in which the id must stay reserved.
    let request = ask(&mut owner, "trap '' TERM; echo started; sleep 30").await;
    owner
        .request(decide(request, Decision::Allow).message())
        .await;
    owner
        .wait_event(|e| matches!(e, EventKind::Output { text, .. } if text.contains("started")))
        .await;
    let deleting = {
        let addr = addr.clone();
        tokio::spawn(
            async move { http(&addr, "DELETE", "/v1/sessions/dev-y", Some(ADMIN), None).await },
        )
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, answer) = http(&addr, "POST", "/v1/sessions", Some(ADMIN), Some(&body)).await;
    assert_eq!(status, 409, "{answer}");
    assert!(answer.contains("still stopping"), "{answer}");
    assert_eq!(deleting.await.unwrap().0, 204);
    let (status, answer) = http(&addr, "POST", "/v1/sessions", Some(ADMIN), Some(&body)).await;
    assert_eq!(status, 201, "{answer}");
    let created =
        std::fs::read_to_string(dir.path().join("journal/created-sessions.json")).unwrap();
    assert!(
        created.contains("dev-y"),
        "the record keeps the new one: {created}"
    );
    host.shutdown().await.unwrap();
}

#[tokio::test]
async fn sessions_are_capped_and_their_creation_paced() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = three_sessions(dir.path());
    config.max_sessions = 5;
    let host = Host::start(config).await.unwrap();
    let addr = host.addr().to_string();
    let create = |id: String| {
        let addr = addr.clone();
        async move {
            let body = json!({"agent": "shell", "id": id});
            http(&addr, "POST", "/v1/sessions", Some(ADMIN), Some(&body)).await
        }
    };
    // Three configured, two created: the cap.
    for n in 0..2 {
        assert_eq!(create(format!("s{n}")).await.0, 201);
    }
    let (status, why) = create("s2".into()).await;
    assert_eq!(status, 503, "{why}");
    assert!(why.contains("--max-sessions"), "{why}");
    for n in 0..2 {
        let path = format!("/v1/sessions/s{n}");
        assert_eq!(http(&addr, "DELETE", &path, Some(ADMIN), None).await.0, 204);
    }
    host.shutdown().await.unwrap();

    // One token creating in a loop is slowed down, with 429.
    let dir = tempfile::tempdir().unwrap();
    let mut config = three_sessions(dir.path());
    config.max_sessions = 1000;
    let host = Host::start(config).await.unwrap();
    let addr = host.addr().to_string();
    let mut statuses = Vec::new();
    for n in 0..25 {
        let body = json!({"agent": "shell", "id": format!("fast{n}")});
        statuses.push(
            http(&addr, "POST", "/v1/sessions", Some(ADMIN), Some(&body))
                .await
                .0,
        );
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        20,
        "{statuses:?}"
    );
    assert!(statuses[20..].iter().all(|s| *s == 429), "{statuses:?}");
    host.shutdown().await.unwrap();
}
