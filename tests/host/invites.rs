//! Tokens that expire: `tether token add --expires` and `tether invite`
//! against a running host.

use std::time::Duration;

use tokio_tungstenite::tungstenite;

use crate::served::*;
use crate::support::*;

#[tokio::test]
async fn an_expiring_token_works_then_its_connections_close_with_4003() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(dir.path());
    let auth = served.auth.to_str().unwrap();
    let out = tether(&[
        "token",
        "add",
        "brief",
        "--grant",
        "view",
        "--expires",
        "3s",
        "--auth",
        auth,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("it stops working at "), "{stdout}");
    let token = stdout
        .lines()
        .find_map(|l| l.strip_prefix("token: "))
        .unwrap()
        .to_owned();
    let list = text(&tether(&["token", "list", "--auth", auth]).stdout);
    let brief = list.lines().find(|l| l.starts_with("brief ")).unwrap();
    assert!(brief.contains("(in "), "{list}");
    // Accepted while it works (the host reads the file within a second).
    let mut brief = None;
    for _ in 0..40 {
        if try_connect(&served.url, Some(&token), "").await.is_ok() {
            brief = Some(Client::connect(&served.url, &token, "").await);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut brief = brief.expect("accepted before it expires");
    brief.greeting().await;
    // Then closed, with the reason, and refused from then on.
    let close = tokio::time::timeout(Duration::from_secs(10), brief.expect_close())
        .await
        .expect("closed when it expires")
        .expect("a close frame");
    assert_eq!(u16::from(close.code), 4003);
    assert_eq!(close.reason.as_str(), "token expired");
    match try_connect(&served.url, Some(&token), "").await {
        Err(tungstenite::Error::Http(r)) => assert_eq!(r.status(), 401),
        other => panic!("an expired token is refused: {:?}", other.map(|_| ())),
    }
    let list = text(&tether(&["token", "list", "--auth", auth]).stdout);
    assert!(
        list.lines()
            .any(|l| l.starts_with("brief ") && l.ends_with("expired")),
        "{list}"
    );
}

#[tokio::test]
async fn an_invite_is_one_line_to_paste_and_it_attaches() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(dir.path());
    let auth = served.auth.to_str().unwrap();
    let host = served.url.split("/v1/").next().unwrap().to_owned();
    let out = tether(&[
        "invite",
        &host,
        "--session",
        "main",
        "--expires",
        "2h",
        "--auth",
        auth,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert_eq!(
        stdout.lines().count(),
        1,
        "only the line goes to stdout: {stdout}"
    );
    let line = stdout.trim();
    let words: Vec<&str> = line.split(' ').collect();
    assert_eq!(&words[..2], ["tether", "attach"], "{line}");
    assert_eq!(words[2], format!("{host}/v1/sessions/main"));
    assert_eq!(words[3], "--token");
    assert_eq!(words[5], "--view");
    assert!(text(&out.stderr).contains("tether token revoke invite-"));
    // The token it made works, for that session, as a viewer.
    let token = words[4];
    let mut viewer = None;
    for _ in 0..40 {
        if try_connect(&served.url, Some(token), "").await.is_ok() {
            viewer = Some(Client::connect(&served.url, token, "").await);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    viewer
        .expect("the invite's token attaches")
        .greeting()
        .await;
    let bad = tether(&["invite", &host, "--grant", "admin", "--auth", auth]);
    assert_eq!(bad.status.code(), Some(2));
    let bad = tether(&["invite", &host, "--expires", "soon", "--auth", auth]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("not a duration"),
        "{}",
        text(&bad.stderr)
    );
}
