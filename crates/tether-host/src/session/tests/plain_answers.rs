//! A plain `allow` or `deny` (no `option`) is the request's once-option,
//! whatever order the agent lists its options in, for every agent kind:
//! only an option the owner names may remember anything.

use serde_json::json;

use super::*;
use crate::protocol::{PermissionOption, PermissionOptionKind, RuleSpec};

fn option(id: &str, kind: PermissionOptionKind) -> PermissionOption {
    PermissionOption::new(id, kind, id)
}

/// The options each agent kind offers, as its adapter builds them.
fn offered_by_every_agent_kind() -> Vec<(&'static str, Vec<PermissionOption>)> {
    let shell_rule = PermissionOption {
        remember: Some(RuleSpec::ExactCommand {
            command: "ls".into(),
        }),
        ..option("always_this_command", PermissionOptionKind::AllowAlways)
    };
    let claude = crate::host::agent::stream_json::suggestions::options(&[
        json!({"type": "addRules", "rules": [{"toolName": "Bash", "ruleContent": "ls"}],
            "behavior": "allow", "destination": "localSettings"}),
    ]);
    // What claude-agent-acp and `gemini --acp` really send: "always" first.
    let acp = vec![
        option("allow_always", PermissionOptionKind::AllowAlways),
        option("allow", PermissionOptionKind::AllowOnce),
        option("reject", PermissionOptionKind::RejectOnce),
    ];
    vec![
        ("shell", PermissionOption::standard(vec![shell_rule])),
        ("stream-json", claude),
        ("acp", acp),
        // A replayed recording's requests came from an older host: none.
        ("replay", Vec::new()),
    ]
}

impl Harness {
    fn request_with(&mut self, id: &str, options: Vec<PermissionOption>) {
        self.agent(EventKind::PermissionRequest {
            request_id: id.into(),
            tool: "shell".into(),
            input: json!({"command": "ls"}),
            tool_use_id: None,
            title: None,
            description: None,
            preview: None,
            options,
        });
    }
}

/// What an agent might offer with no once-option at all.
fn only_remembering_options() -> Vec<PermissionOption> {
    vec![
        option("always", PermissionOptionKind::AllowAlways),
        option("never", PermissionOptionKind::RejectAlways),
    ]
}

fn once_id(options: &[PermissionOption], kind: PermissionOptionKind) -> Option<String> {
    options
        .iter()
        .find(|o| o.kind == kind)
        .map(|o| o.id.clone())
}

#[test]
fn a_plain_answer_is_the_once_option_and_remembers_nothing_for_every_agent() {
    for (agent, options) in offered_by_every_agent_kind() {
        for (decision, kind) in [
            (Decision::Allow, PermissionOptionKind::AllowOnce),
            (Decision::Deny, PermissionOptionKind::RejectOnce),
        ] {
            let mut h = Harness::new(SHELL);
            let alice = h.owner("alice");
            h.request_with("r1", options.clone());
            let out = h.send(alice, decide("d1", "r1", decision));
            let once = once_id(&options, kind);
            let sent: Vec<Option<String>> = agent_commands(&out)
                .into_iter()
                .filter_map(|c| match c {
                    AgentCommand::Decision { option, .. } => Some(option),
                    AgentCommand::Rules(rules) => panic!("{agent}: rules changed to {rules:?}"),
                    _ => None,
                })
                .collect();
            assert_eq!(sent, std::slice::from_ref(&once), "{agent} {decision:?}");
            let shown = events(&out);
            assert!(
                !shown
                    .iter()
                    .any(|e| matches!(e, EventKind::RuleAdded { .. })),
                "{agent}: {shown:?}"
            );
            assert!(
                matches!(&shown[..], [EventKind::PermissionResolved { option, .. }] if *option == once),
                "{agent}: {shown:?}"
            );
        }
    }
}

#[test]
fn a_plain_answer_without_a_once_option_is_refused_and_the_request_stays() {
    let mut h = Harness::new(SHELL);
    let alice = h.owner("alice");
    h.request_with("r1", only_remembering_options());
    let out = h.send(alice, decide("d1", "r1", Decision::Allow));
    let [
        Output::Send {
            message: ServerMessage::Error { code, message, .. },
            ..
        },
    ] = &out[..]
    else {
        panic!("expected one error, got {out:?}");
    };
    assert_eq!(*code, ErrorCode::BadRequest);
    assert!(message.contains("`always` (allow_always)"), "{message}");
    assert!(h.session.state.pending.is_open("r1"));
    // Naming the broader option on purpose still works.
    let named = ClientMessage::PermissionDecision(crate::protocol::PermissionDecision {
        id: "d2".into(),
        request_id: "r1".into(),
        decision: Decision::Allow,
        message: None,
        updated_input: None,
        option: Some("always".into()),
    });
    let out = h.send(alice, named);
    assert!(matches!(
        &agent_commands(&out)[..],
        [AgentCommand::Decision { option: Some(o), .. }] if o == "always"
    ));
}

#[test]
fn an_edited_input_is_recorded_as_what_runs() {
    let mut h = Harness::new(SHELL);
    let alice = h.owner("alice");
    h.request_with("r1", PermissionOption::standard(Vec::new()));
    let edited = json!({"command": "pwd; whoami"});
    let answer = ClientMessage::PermissionDecision(crate::protocol::PermissionDecision {
        id: "d1".into(),
        request_id: "r1".into(),
        decision: Decision::Allow,
        message: None,
        updated_input: Some(edited.clone()),
        option: None,
    });
    let out = h.send(alice, answer);
    assert!(
        matches!(&events(&out)[..], [EventKind::PermissionResolved { updated_input: Some(v), .. }] if *v == edited),
        "{out:?}"
    );
}

#[test]
fn a_plain_deny_is_always_possible_and_remembers_nothing() {
    let mut h = Harness::new(SHELL);
    let alice = h.owner("alice");
    h.request_with("r1", only_remembering_options());
    let out = h.send(alice, decide("d1", "r1", Decision::Deny));
    // No reject-once to name: the agent is told the request was cancelled
    // (no option), never `never`.
    assert!(
        matches!(
            &agent_commands(&out)[..],
            [AgentCommand::Decision {
                decision: Decision::Deny,
                option: None,
                ..
            }]
        ),
        "{out:?}"
    );
}
