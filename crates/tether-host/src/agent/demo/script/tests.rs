use serde_json::json;

use super::*;

fn built_in() -> Script {
    Script::parse(BUILT_IN).unwrap()
}

fn step(script: &Script, tool: &str) -> ToolStep {
    script
        .task
        .iter()
        .find_map(|s| match s {
            Step::Tool(t) if t.tool == tool => Some(t.clone()),
            _ => None,
        })
        .unwrap()
}

#[test]
fn the_built_in_script_has_each_scene_and_only_tools_the_agent_runs() {
    let script = built_in();
    let tools: Vec<&str> = script
        .task
        .iter()
        .filter_map(|s| match s {
            Step::Tool(t) => Some(t.tool.as_str()),
            Step::Say { .. } => None,
        })
        .collect();
    assert_eq!(tools, ["Write", "Edit", "Bash", "Bash"]);
    assert!(script.files.contains_key("notes.txt"));
    assert!(!script.again.is_empty());
    let bad = r#"{"greeting": "", "task": [{"tool": "Delete", "what": "x", "input": {}}], "closing": ""}"#;
    assert!(Script::parse(bad).is_err());
}

#[test]
fn a_commands_pause_follows_the_speed() {
    let tests = built_in().task[5].clone();
    let Step::Tool(tests) = tests else {
        panic!("the tests step")
    };
    let at = |speed| {
        tests.input_at(speed)["command"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(at(1.0).contains("sleep 0.25;"), "{}", at(1.0));
    assert!(at(2.0).contains("sleep 0.125;"));
    assert!(at(0.0).contains("sleep 0;"));
    assert!(!at(1.0).contains("{pause}"));
}

#[test]
fn edits_are_accepted_by_the_agent_and_commands_by_a_host_rule() {
    let script = built_in();
    let edit = step(&script, "Edit");
    let offered = options(ToolKind::File, &edit.input);
    assert!(
        offered
            .iter()
            .any(|o| o.id == ACCEPT_EDITS && o.remember.is_none())
    );
    assert_eq!(runs_unasked(ToolKind::File, &edit.input, false, &[]), None);
    assert!(runs_unasked(ToolKind::File, &edit.input, true, &[]).is_some());

    let input = json!({"command": "rm -r build"});
    let offered = options(ToolKind::Command, &input);
    let always = offered.iter().find(|o| o.remember.is_some()).unwrap();
    let spec = always.remember.clone().unwrap();
    assert!(spec.allows_command("rm -r build"));
    // Accepting edits never lets a command run.
    assert_eq!(runs_unasked(ToolKind::Command, &input, true, &[]), None);
    let rule = Rule {
        id: "rule-1".into(),
        label: spec.describe(),
        spec,
        made_by: "ann".into(),
    };
    let why = runs_unasked(
        ToolKind::Command,
        &input,
        false,
        std::slice::from_ref(&rule),
    )
    .unwrap();
    assert!(why.contains("rule-1") && why.contains("ann"), "{why}");
    let other = json!({"command": "rm -r notes"});
    assert_eq!(
        runs_unasked(ToolKind::Command, &other, false, &[rule]),
        None
    );
}

#[test]
fn what_the_agent_says_follows_the_answer() {
    let what = "change `beta` to `BETA` in `notes.txt`";
    let denied = remark(what, &Outcome::Denied { reason: None }).unwrap();
    assert_eq!(denied, format!("You said no, so I did not {what}."));
    let because = remark(
        what,
        &Outcome::Denied {
            reason: Some("not now".into()),
        },
    )
    .unwrap();
    assert!(because.contains("not now"));
    assert_eq!(remark(what, &Outcome::Done), None);
    assert!(
        remark(what, &Outcome::DoneEdited)
            .unwrap()
            .contains("your edit")
    );
    assert!(denied_result(ToolKind::File, None).contains("left as it was"));
    assert!(denied_result(ToolKind::Command, Some("no")).contains("did not run"));

    let outcomes = vec![
        ("write the plan".to_owned(), Outcome::Done),
        ("change beta".to_owned(), Outcome::Denied { reason: None }),
        ("run the tests".to_owned(), Outcome::Interrupted),
        ("remove build".to_owned(), Outcome::DoneEdited),
    ];
    let text = summary(&outcomes, "/tmp/demo");
    assert!(text.contains("- write the plan: **done**"), "{text}");
    assert!(text.contains("- change beta: **denied**"), "{text}");
    assert!(
        text.contains("- run the tests: **interrupted** by you"),
        "{text}"
    );
    assert!(text.contains("with your edit"), "{text}");
    assert!(text.contains("/tmp/demo"));
}

#[test]
fn an_edited_input_replaces_the_asked_one() {
    let asked = json!({"command": "ls"});
    assert_eq!(input_to_run(asked.clone(), None), (asked.clone(), false));
    assert_eq!(
        input_to_run(asked.clone(), Some(asked.clone())),
        (asked.clone(), false)
    );
    let edited = json!({"command": "ls -l"});
    assert_eq!(input_to_run(asked, Some(edited.clone())), (edited, true));
}
