//! A flood of output on the real binary: the TUI asks for the tail of a
//! flood (`flood=tail`), shows the end, and pages back in what it was not
//! sent when the reader goes looking for it.

use crate::support::TuiTest;

#[tokio::test(flavor = "multi_thread")]
async fn a_flood_shows_its_end_and_pages_its_start_back_in() {
    TuiTest::new()
        .run(|tui| {
            // About 1.2 MB of output in well under a second: most of it
            // goes to this TUI as `skipped`.
            tui.send(b"seq -f 'flood line %g' 1 60000\r");
            tui.wait_text("asks permission");
            tui.send(b"\t"); // the permissions pane
            tui.send(b"y");
            tui.wait_for("the end of the flood", |s| {
                s.contains("flood line 60000") && s.contains("── done")
            });
            tui.send(b"\t"); // the transcript pane
            tui.send(b"\x1b[H"); // Home: the session's first page
            tui.wait_for("the start of the session", |s| {
                s.contains("seq -f") && s.contains("flood line 1 ")
            });
            // From there, a line between the first page and the live end,
            // which the host skipped: the host's search finds it.
            tui.send(b"/flood line 31234\r");
            tui.wait_for("the match after the first page", |s| {
                s.contains("flood line 31234 ") && s.contains("1/1")
            });
            tui.send(b"\x1b");
            tui.wait_for("the search to close", |s| !s.contains("1/1"));
            tui.send(b"\x1b[F"); // End: back to the live end
            tui.wait_text("flood line 60000");
            // And from the live end, one further back.
            tui.send(b"/flood line 12345\r");
            tui.wait_for("the match before the live end", |s| {
                s.contains("flood line 12345 ") && s.contains("1/1")
            });
        })
        .await;
}
