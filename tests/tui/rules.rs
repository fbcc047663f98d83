//! The rules in force, in the TUI against a real host: an always-allow
//! answer makes one, F4 lists it, and the owner removes it there.

use std::time::Duration;

use super::line_count;
use crate::support::TuiTest;

/// Held before answering, past the guard on keys pressed as a request
/// appears.
const ANSWER_HOLD: Duration = Duration::from_millis(800);
const F4: &[u8] = b"\x1bOS";

#[tokio::test(flavor = "multi_thread")]
async fn the_owner_lists_the_rules_and_removes_one() {
    TuiTest::new()
        .run(|tui| {
            tui.send(b"echo ruled\r");
            tui.wait_text("2. Always allow this exact command in this session");
            std::thread::sleep(ANSWER_HOLD);
            tui.send(b"2");
            tui.wait_for("the command's output", |s| line_count(s, "ruled") == 1);
            tui.wait_text("made rule-1");
            // The footer offers the key now that there is a rule.
            tui.wait_text("F4 rules");
            tui.send(F4);
            tui.wait_text("Rules in force (1)");
            let screen = tui.screen();
            assert!(
                screen.contains("always allow `echo ruled` in this session  made by"),
                "{screen}"
            );
            tui.send(b"d");
            tui.wait_text("remove rule-1?");
            tui.send(b"y");
            tui.wait_text("Rules in force (0)");
            tui.send(F4);
            tui.wait_text("removed rule-1");
            // The same command asks again.
            tui.send(b"echo ruled\r");
            tui.wait_text("Permission request 1 of 1");
        })
        .await;
}
