//! Keys that never surprise, on the real binary: leaving a search never
//! interrupts the agent, and letters typed in the transcript pane land in
//! the input box.

use crate::support::TuiTest;

/// The input box's text row (the third from the bottom).
fn input_row(screen: &vt100::Screen) -> String {
    let (rows, cols) = screen.size();
    screen.contents_between(rows - 3, 0, rows - 3, cols)
}

#[tokio::test(flavor = "multi_thread")]
async fn esc_in_search_does_not_interrupt() {
    TuiTest::new()
        .run(|tui| {
            tui.send(b"sleep 5; echo slept-through\r");
            tui.wait_text("asks permission");
            tui.send(b"\t"); // the permissions pane
            tui.send(b"y");
            tui.wait_text("running");
            tui.send(b"\t"); // the transcript pane
            // A search made and left with Esc (its highlights cleared) ...
            tui.send(b"/sleep\r");
            tui.wait_text("/sleep: ");
            tui.send(b"\x1b");
            // ... and a search prompt closed with Esc.
            tui.send(b"/zzz");
            tui.send(b"\x1b");
            tui.wait_for("the command to finish", |s| {
                s.contains("slept-through") && s.contains("── done")
            });
            let screen = tui.screen();
            assert!(!screen.contains("interrupted"), "{screen}");
        })
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn letters_typed_in_the_transcript_pane_land_in_the_input() {
    TuiTest::new()
        .run(|tui| {
            tui.send(b"\t\t"); // input -> permissions -> transcript
            tui.wait_text("Enter/o expand");
            tui.send(b"echo typed-from-the-transcript");
            assert!(
                tui.wait_screen(std::time::Duration::from_secs(10), |s| {
                    input_row(s).contains("echo typed-from-the-transcript")
                }),
                "the letters never reached the input:\n{}",
                tui.screen()
            );
            // The focus moved with them: Enter sends.
            tui.send(b"\r");
            tui.wait_text("asks permission");
        })
        .await;
}
