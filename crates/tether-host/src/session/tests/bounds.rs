//! A hostile agent cannot flood the session with requests.

use super::*;
use crate::host::session::bounds::{MAX_LISTED_REQUESTS, MAX_OPEN_REQUESTS};
use crate::protocol::{NoticeLevel, PermissionOption};

fn ask(h: &mut Harness, n: usize) -> Vec<Output> {
    h.agent(EventKind::PermissionRequest {
        request_id: format!("r{n}"),
        tool: "shell".into(),
        input: serde_json::json!({"command": "ls"}),
        tool_use_id: None,
        title: Some("t".repeat(400)),
        description: None,
        preview: None,
        options: PermissionOption::standard(Vec::new()),
    })
}

#[test]
fn requests_past_the_cap_are_refused_to_the_agent_and_noticed_once() {
    let mut h = Harness::new(SHELL);
    let alice = h.owner("alice");
    for n in 0..MAX_OPEN_REQUESTS {
        let out = ask(&mut h, n);
        assert!(matches!(
            &events(&out)[..],
            [EventKind::PermissionRequest { .. }]
        ));
    }
    let mut notices = 0;
    for n in MAX_OPEN_REQUESTS..MAX_OPEN_REQUESTS + 5 {
        let out = ask(&mut h, n);
        for event in events(&out) {
            match event {
                EventKind::Notice {
                    level: NoticeLevel::Warn,
                    ..
                } => notices += 1,
                other => panic!("request {n} was shown: {other:?}"),
            }
        }
        let refused = agent_commands(&out);
        assert!(
            matches!(&refused[..], [AgentCommand::Decision { decision: Decision::Deny, option: Some(o), .. }] if o == "reject_once"),
            "{refused:?}"
        );
    }
    assert_eq!(notices, 1, "once per burst");
    let summary = h.session.summary(h.t0);
    assert_eq!(summary.pending, MAX_OPEN_REQUESTS, "the count stays whole");
    assert_eq!(summary.pending_requests.len(), MAX_LISTED_REQUESTS);
    assert!(
        summary.pending_requests[0]
            .title
            .as_ref()
            .unwrap()
            .chars()
            .count()
            <= 201
    );
    // One answered: room for one more.
    h.send(alice, decide("d", "r0", Decision::Deny));
    let out = ask(&mut h, 999);
    assert!(matches!(
        &events(&out)[..],
        [EventKind::PermissionRequest { .. }]
    ));
}
