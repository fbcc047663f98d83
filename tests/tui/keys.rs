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

/// `[keys]` in the settings file: the remapped keys work, the hint line
/// and the help show them; a mistake there stops `tether` at start with
/// one line naming the file and the binding.
#[tokio::test(flavor = "multi_thread")]
async fn keys_remapped_in_the_settings_file_work_and_are_shown() {
    let test = TuiTest::new().start().await;
    let (attach, dir) = (test.attach(), test.dir().to_owned());
    tokio::task::spawn_blocking(move || {
        let config = dir.join("config");
        std::fs::create_dir_all(config.join("tether")).unwrap();
        let settings = config.join("tether/config.toml");
        let env = [("XDG_CONFIG_HOME", config.to_str().unwrap())];
        std::fs::write(&settings, "[keys]\nquit = \"F10\"\nopen_help = \"F9\"\n").unwrap();
        let mut tui = attach.clone().env(&env).spawn();
        tui.wait_text("(owner)");
        tui.wait_text("F10 quit");
        tui.send(b"\x11"); // Ctrl+Q no longer quits: the UI still answers F9
        tui.send(b"\x1b[20~"); // F9: the help, which lists F10
        tui.wait_text("Help");
        tui.wait_for("the help to list the remapped keys", |s| {
            s.contains("F10") && s.contains("F9")
        });
        tui.send(b"\x1b"); // closes the help
        tui.wait_for("the help to close", |s| !s.contains("scroll it."));
        tui.send(b"\x1b[21~"); // F10 quits
        let status = tui.wait_exit();
        assert!(status.success(), "{status:?}; screen:\n{}", tui.screen());

        std::fs::write(&settings, "[keys]\nquit = \"Ctrl+F\"\n").unwrap();
        let mut tui = attach.env(&env).spawn();
        assert_eq!(tui.wait_exit().exit_code(), 2);
        let screen = tui.screen();
        assert!(
            screen.contains("config.toml")
                && screen.contains("Ctrl+F is both search_anywhere and quit"),
            "{screen}"
        );
    })
    .await
    .unwrap();
    test.shutdown().await;
}

/// What was sent comes back in the next run: ↑ in an empty box (Ctrl+R
/// searches the same history: `app::tests::keys`).
#[tokio::test(flavor = "multi_thread")]
async fn the_message_history_survives_a_restart() {
    let test = TuiTest::new().start().await;
    test.drive(|tui| {
        tui.send(b"echo remembered-one\r");
        tui.wait_text("asks permission");
    })
    .await;
    test.drive(|tui| {
        tui.send(b"\x1b[A"); // ↑ in the empty box
        tui.wait_for("the last message in the box", |s| {
            s.lines().any(|l| {
                l.contains("echo remembered-one") && l.starts_with('│') && !l.contains("asks")
            })
        });
    })
    .await;
    test.shutdown().await;
}

/// `c` on a selected block puts its text on the terminal's clipboard
/// (OSC 52, base64): the bytes reach the terminal, nothing else does.
#[tokio::test(flavor = "multi_thread")]
async fn c_copies_a_block_to_the_clipboard_through_osc_52() {
    TuiTest::new()
        .run(|tui| {
            tui.send(b"echo copy-me\r");
            tui.wait_text("asks permission");
            std::thread::sleep(std::time::Duration::from_millis(800));
            tui.send(b"y");
            tui.wait_text("exit code 0");
            tui.send(b"\t\t"); // the transcript pane
            tui.send(b"\x1b[A"); // select the last block
            tui.send(b"c");
            tui.wait_text("copied");
            let raw = tui.raw.lock().unwrap().clone();
            let raw = String::from_utf8_lossy(&raw);
            let at = raw.find("\x1b]52;c;").expect("an OSC 52 sequence");
            let end = raw[at..].find('\x07').expect("ended by BEL") + at;
            assert!(end > at + 7, "it carries something");
        })
        .await;
}

/// Ctrl+O (or Ctrl+X Ctrl+E) hands the message to `$EDITOR` and takes
/// back what it saved; the screen comes back whole.
#[tokio::test(flavor = "multi_thread")]
async fn ctrl_o_writes_the_message_in_the_editor() {
    let test = TuiTest::new();
    let editor = test.dir().join("editor.sh");
    std::fs::write(
        &editor,
        "#!/bin/sh\nprintf ' and more from the editor' >> \"$1\"\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).unwrap();
    let editor = editor.to_str().unwrap().to_owned();
    test.env(&[("EDITOR", &editor), ("VISUAL", "")])
        .run(|tui| {
            tui.send(b"echo draft");
            tui.send(b"\x0f"); // Ctrl+O
            let back = tui.wait_screen(std::time::Duration::from_secs(10), |s| {
                input_row(s).contains("echo draft and more from the editor")
            });
            assert!(back, "the edited text is in the box:\n{}", tui.screen());
            tui.wait_text("Transcript");
            // Ctrl+X Ctrl+E, as readline has it, does the same.
            tui.send(b"\x18\x05");
            let again = tui.wait_screen(std::time::Duration::from_secs(10), |s| {
                input_row(s).contains("editor and more from the editor")
            });
            assert!(again, "Ctrl+X Ctrl+E:\n{}", tui.screen());
        })
        .await;
}
