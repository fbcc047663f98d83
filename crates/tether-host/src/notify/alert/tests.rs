use super::*;

fn opening() -> Opening {
    Opening {
        host: "devbox".into(),
        attach: "tether attach ws://127.0.0.1:7878/v1/sessions/api".into(),
        url: "ws://127.0.0.1:7878/v1/sessions/api".into(),
        note: Some("the host listens on 127.0.0.1 only".into()),
    }
}

fn waiting(id: &str, command: &str, raised: Instant) -> Waiting {
    Waiting {
        info: RequestInfo {
            id: id.into(),
            tool: "Bash".into(),
            title: None,
            command: Some(command.into()),
            file: None,
        },
        raised,
    }
}

fn alert(requests: Vec<Waiting>) -> Alert {
    Alert {
        session: "api".into(),
        session_title: "API server".into(),
        new_requests: requests.len(),
        waiting: requests.len(),
        requests,
        turn_end: None,
        exit: None,
    }
}

#[test]
fn the_webhook_body_names_the_session_the_request_its_age_and_the_command_to_open_it() {
    let raised = Instant::now();
    let at = raised + Duration::from_secs(31);
    let body = webhook_body(
        &alert(vec![waiting("r1", "make test", raised)]),
        at,
        &opening(),
    );
    assert_eq!(body["host"], "devbox");
    assert_eq!(body["session"], "api");
    assert_eq!(body["session_title"], "API server");
    assert_eq!(body["kind"], "permission_request");
    assert_eq!(body["title"], "api: permission request (Bash)");
    assert_eq!(body["request"]["tool"], "Bash");
    assert_eq!(body["request"]["command"], "make test");
    assert_eq!(body["request"]["file"], Value::Null);
    assert_eq!(body["request"]["age_secs"], 31);
    assert_eq!(body["requests_waiting"], 1);
    assert_eq!(
        body["attach"],
        "tether attach ws://127.0.0.1:7878/v1/sessions/api"
    );
    assert_eq!(
        body["message"],
        "API server\nBash: make test (waiting 31 s)\n\
         tether attach ws://127.0.0.1:7878/v1/sessions/api\nthe host listens on 127.0.0.1 only"
    );
}

#[test]
fn the_ntfy_body_is_its_json_publish() {
    let raised = Instant::now();
    let mut exited = alert(Vec::new());
    exited.exit = Some("exited with code 2".into());
    let body = ntfy_body(&exited, raised, &opening(), "secret-topic");
    assert_eq!(body["topic"], "secret-topic");
    assert_eq!(body["title"], "api: the agent exited (exited with code 2)");
    assert_eq!(body["priority"], 4);
    assert_eq!(body["tags"], json!(["rotating_light", "tether"]));
    assert_eq!(body["click"], "ws://127.0.0.1:7878/v1/sessions/api");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("API server\nThe agent exited: exited with code 2\n")
    );
}

#[test]
fn agent_text_leaves_cleaned_and_cut() {
    let raised = Instant::now();
    let hostile = format!(
        "rm -rf /\x1b]52;c;aGk=\x07\x1b[2J\u{202e}txt.exe\n{}",
        "x".repeat(1000)
    );
    let mut a = alert(vec![waiting("r1", &hostile, raised)]);
    a.requests[0].info.tool = "Ba\x1b[31msh\x07".into();
    a.exit = Some("died\x1b]0;pwned\x07 badly".into());
    for body in [
        webhook_body(&a, raised, &opening()),
        ntfy_body(&a, raised, &opening(), "t"),
    ] {
        let text = body.to_string();
        for bad in ["\\u001b", "\\u0007", "\u{202e}", "aGk=", "pwned"] {
            assert!(!text.contains(bad), "{bad} in {text}");
        }
        assert!(text.contains("died badly"), "{text}");
        assert!(text.contains("Bash"), "{text}");
    }
    let body = webhook_body(&a, raised, &opening());
    let command = body["request"]["command"].as_str().unwrap();
    assert!(command.starts_with("rm -rf /txt.exe xxx"), "{command}");
    assert_eq!(command.chars().count(), SUBJECT_CHARS + 1, "cut, with …");
}

#[test]
fn a_held_alert_takes_in_the_next_one_of_its_session() {
    let raised = Instant::now();
    let mut held = alert(vec![waiting("r1", "a", raised)]);
    let mut newer = alert(vec![waiting("r2", "b", raised)]);
    newer.waiting = 2;
    newer.turn_end = Some("success".into());
    held.merge(newer);
    assert_eq!(held.new_requests, 2);
    assert_eq!(held.waiting, 2);
    assert_eq!(held.requests.len(), 2);
    assert_eq!(held.turn_end.as_deref(), Some("success"));
    assert_eq!(held.title(), "api: 2 permission requests waiting");
}
