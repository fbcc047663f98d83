//! Terminal safety, on the real binary in a pseudo-terminal: hostile agent
//! output stays harmless text inside the transcript, and the terminal is
//! restored after a panic, SIGTERM and SIGHUP.

use std::os::fd::BorrowedFd;
use std::time::Duration;

use crate::pty::Pty;
use crate::support::TuiTest;

/// Hostile output: titles, clipboard, links, DCS, cursor moves and
/// erases, alternate screen, C1 controls, bidi overrides, a very long
/// line, invalid UTF-8.
const HOSTILE: &str = r#"printf '%05000d\n' 7
printf '\033]0;pwned-title\007\033]2;pwned2\033\\'
printf '\033]52;c;cHduZWQ=\007'
printf '\033]8;;http://evil.example/\033\\click\033]8;;\033\\\n'
printf '\033Pq#0;2;0;0;0#0~~\033\\'
printf '\033[2J\033[H\033[10;10Hmoved\033[K\033[1J'
printf '\033[?1049h\033[?1049l\033[?25l'
printf '\302\233 31m c1-csi \302\235 0;osc \302\220 dcs\n'
printf 'abc \342\200\256 reversed \342\200\254 end\n'
printf 'bad \377\376 utf8\n'
echo hostile-done
"#;

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_agent_output_is_shown_harmlessly_inside_the_transcript() {
    let test = TuiTest::new();
    std::fs::write(test.dir().join("hostile.sh"), HOSTILE).unwrap();
    test.run(|tui| {
        let started = tui.raw.lock().unwrap().len();
        tui.send(b"sh hostile.sh\r");
        tui.wait_text("Permissions (1)");
        tui.send(b"\ty\x1b[Z");
        tui.wait_text("hostile-done");
        tui.wait_text("── done");
        let raw = tui.raw.lock().unwrap()[started..].to_vec();
        // The only OSC written is tether's own title (the count of
        // requests waiting), never one of the agent's.
        let ours = b"\x1b]0;tether";
        let foreign_osc = raw
            .windows(2)
            .enumerate()
            .any(|(at, w)| w == b"\x1b]" && !raw[at..].starts_with(ours));
        assert!(!foreign_osc, "an OSC of the agent reached the terminal");
        let raw: Vec<u8> = {
            let mut kept = Vec::new();
            let mut rest = &raw[..];
            while let Some(at) = rest.windows(ours.len()).position(|w| w == ours) {
                kept.extend_from_slice(&rest[..at]);
                rest = &rest[at + 2..];
            }
            kept.extend_from_slice(rest);
            kept
        };
        for (what, bytes) in [
            ("an OSC (title, clipboard, link)", &b"\x1b]"[..]),
            ("a DCS", b"\x1bP"),
            ("an alternate-screen switch", b"\x1b[?1049"),
            ("a C1 CSI", b"\xc2\x9b"),
            ("a C1 OSC", b"\xc2\x9d"),
            ("a bidi override", b"\xe2\x80\xae"),
            ("the agent's cursor move", b"\x1b[10;10H"),
        ] {
            assert!(!contains(&raw, bytes), "{what} reached the terminal");
        }
        let screen = tui.screen();
        let rows: Vec<&str> = screen.lines().collect();
        assert!(
            rows[0].starts_with(" tether"),
            "the status bar is intact:\n{screen}"
        );
        assert!(
            rows[1].starts_with("┌ Transcript"),
            "the pane border is intact:\n{screen}"
        );
        assert!(
            rows.iter()
                .rev()
                .find(|r| !r.trim().is_empty())
                .is_some_and(|r| r.contains("Ctrl+Q")),
            "the hint line is intact:\n{screen}"
        );
        // Every transcript row stays inside the pane's borders.
        for row in &rows[2..rows.len() - 6] {
            assert!(
                row.starts_with('│'),
                "a row escaped the pane: {row:?}\n{screen}"
            );
        }
        assert!(
            screen.contains("␛]0;pwned-title"),
            "the title sequence is visible as text:\n{screen}"
        );
        assert!(
            screen.contains("⟨U+202E⟩"),
            "the bidi override is visible:\n{screen}"
        );
        tui.with_screen(|s| assert!(s.alternate_screen(), "still on the UI's own screen"));
    })
    .await;
}

/// Whether the pty's line discipline is back in cooked mode (canonical
/// input and echo), read through the master side.
fn cooked(tui: &Pty) -> bool {
    let fd = tui.master_fd().expect("the master has a descriptor");
    // SAFETY: the descriptor belongs to the pty, alive as long as `tui`.
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    let termios = nix::sys::termios::tcgetattr(fd).unwrap();
    use nix::sys::termios::LocalFlags;
    termios
        .local_flags
        .contains(LocalFlags::ICANON | LocalFlags::ECHO)
}

async fn restored_after(how: &'static str) {
    let env: &[(&str, &str)] = if how == "panic" {
        &[("TETHER_TEST_PANIC", "1"), ("RUST_BACKTRACE", "0")]
    } else {
        &[]
    };
    let test = TuiTest::new().env(env).size(30, 100).start().await;
    let attach = test.attach();
    tokio::task::spawn_blocking(move || {
        // Not open(): a panicking TUI never shows who it is.
        let mut tui = attach.spawn();
        if how != "panic" {
            tui.wait_text("(owner)");
            assert!(!cooked(&tui), "raw mode while running");
            let signal = if how == "SIGTERM" {
                nix::sys::signal::Signal::SIGTERM
            } else {
                nix::sys::signal::Signal::SIGHUP
            };
            nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(tui.pid().unwrap() as i32),
                signal,
            )
            .unwrap();
        }
        let status = tui.wait_exit();
        std::thread::sleep(Duration::from_millis(100));
        tui.with_screen(|s| assert!(!s.alternate_screen(), "{how}: back on the main screen"));
        tui.with_screen(|s| assert!(!s.hide_cursor(), "{how}: the cursor is shown"));
        assert!(cooked(&tui), "{how}: the tty is back in cooked mode");
        if how == "panic" {
            assert!(!status.success());
            let screen = tui.screen();
            assert!(
                screen.contains("TETHER_TEST_PANIC"),
                "the panic message is printed after restoring:\n{screen}"
            );
        }
    })
    .await
    .unwrap();
    test.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_terminal_is_restored_after_a_panic() {
    restored_after("panic").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_terminal_is_restored_after_sigterm() {
    restored_after("SIGTERM").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_terminal_is_restored_after_sighup() {
    restored_after("SIGHUP").await;
}
