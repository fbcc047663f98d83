//! Entry points shared by the fuzz targets (`fuzz/`) and the regression
//! test that replays their corpus in `cargo test`. Each takes arbitrary
//! bytes and checks the invariants the real code relies on; a violation
//! panics.

use std::time::{Instant, SystemTime};

use crate::host::agent::line_process::lines::{Line, LineSplitter};
use crate::host::agent::stream_json::map::{Action, Mapper};
use crate::host::session::{AgentTraits, At, Join, Output, Session, SessionConfig, Since};
use crate::protocol::{Grant, Mode, decode_client_message};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use crate::client::ConnEvent;
use crate::protocol::fast_event::decode_text_event;
use crate::protocol::{ServerMessage, decode_server_message};
use crate::tui::app::{App, Msg};
use crate::tui::sanitize::{assert_shortcuts_match, sanitize, sanitize_plain};

/// Client-message decoding and handling: any frame, from an owner and
/// from a viewer, is either refused with an error or handled, and the
/// event log stays contiguous.
pub fn client_message(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut session = Session::new(SessionConfig::sample(
        AgentTraits {
            takes_input: true,
            queues_input: false,
            takes_updated_input: true,
        },
        16,
    ));
    let at = At {
        mono: Instant::now(),
        wall: SystemTime::UNIX_EPOCH,
    };
    let join = |identity: &str, grants: Vec<Grant>, mode| Join {
        identity: identity.into(),
        grants,
        mode,
        client: None,
        since: Since::Seq(0),
        claims: true,
    };
    let owner = session
        .join(join("ann", vec![Grant::Control], Mode::Control), at)
        .0
        .to;
    let viewer = session
        .join(join("vic", vec![Grant::View], Mode::View), at)
        .0
        .to;
    // Each line is one frame, so a corpus entry can be a conversation.
    for frame in text.split('\n') {
        match decode_client_message(frame) {
            Err(error) => assert!(!error.message.is_empty()),
            Ok(message) => {
                let before = session.last_seq();
                let out = session.handle(viewer, message.clone(), at);
                if !matches!(
                    message,
                    crate::protocol::ClientMessage::Ping(crate::protocol::Ping { .. })
                        | crate::protocol::ClientMessage::Resume(crate::protocol::Resume { .. })
                        | crate::protocol::ClientMessage::Claim(crate::protocol::Claim { .. })
                ) {
                    assert_eq!(
                        session.last_seq(),
                        before,
                        "a viewer's action had an effect"
                    );
                    assert!(out.iter().all(|o| matches!(o, Output::Send { .. })));
                }
                let mut last = session.last_seq();
                for o in session.handle(owner, message, at) {
                    if let Output::Event { seq, .. } = o {
                        assert_eq!(seq, last + 1, "event seqs are contiguous");
                        last = seq;
                    }
                }
            }
        }
    }
}

/// The stream-json side: any bytes from the agent split into bounded
/// lines, and every line maps to events and replies without a panic;
/// every reply is a whole JSON value.
pub fn stream_json_line(data: &[u8]) {
    let mut splitter = LineSplitter::new(4096);
    let mut lines = Vec::new();
    for chunk in data.chunks(97) {
        splitter.push(chunk, &mut lines);
    }
    splitter.finish(&mut lines);
    let mut mapper = Mapper::default();
    for line in lines {
        let Line::Text(line) = line else { continue };
        assert!(line.len() <= 4096);
        for action in mapper.from_agent(&line) {
            if let Action::Write(value) = action {
                let text = serde_json::to_string(&value).unwrap();
                assert!(!text.contains('\n'), "a reply spans lines");
            }
        }
    }
}

/// The sanitiser: whatever comes in, nothing that a terminal would act on
/// comes out.
pub fn sanitize_text(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let styled = sanitize(&text, ratatui::style::Style::default());
    for c in styled.text.chars() {
        assert!(c == '\n' || !c.is_control(), "control {c:?} survived");
        assert!(
            !crate::tui::sanitize::is_bidi_or_separator(c),
            "bidi {c:?} survived"
        );
    }
    assert_eq!(sanitize_plain(&text), styled.text);
    // The shortcuts give what feeding every byte to vte gives, in any style.
    let red = ratatui::style::Style::default().fg(ratatui::style::Color::Red);
    assert_shortcuts_match(&text, red, red.bg(ratatui::style::Color::Blue));
    let mut previous = 0;
    for run in &styled.runs {
        assert!(run.start as usize >= previous && (run.start as usize) <= styled.text.len());
        assert!(styled.text.is_char_boundary(run.start as usize));
        previous = run.start as usize;
    }
}

/// Frames from a host: decoding never panics, the event shortcut reads
/// what serde reads whenever it takes a frame, and the TUI applies any
/// sequence of decoded frames without a panic.
pub fn server_message(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut app = App::new(false, Arc::new(AtomicU64::new(0)));
    let (now, wall) = (Instant::now(), SystemTime::UNIX_EPOCH);
    // Each line is one frame, so a corpus entry can be a session.
    for frame in text.split('\n') {
        if let Some(record) = decode_text_event(frame) {
            let serde: ServerMessage = serde_json::from_str(frame).expect("serde reads it too");
            assert_eq!(serde, ServerMessage::Event(record));
        }
        if let Ok(message) = decode_server_message(frame) {
            app.update(Msg::Conn(ConnEvent::Message(message)), now, wall);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Replays every input kept in fuzz/corpus (seeds, and inputs that
    /// once found a bug) through the same checks the fuzzers run.
    #[test]
    fn the_fuzz_corpus_still_passes() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
        type Check = fn(&[u8]);
        let targets: [(&str, Check); 4] = [
            ("client_message", super::client_message),
            ("server_message", super::server_message),
            ("stream_json_line", super::stream_json_line),
            ("sanitize", super::sanitize_text),
        ];
        let mut replayed = 0;
        for (name, check) in targets {
            let dir = root.join(name);
            let mut files: Vec<_> = std::fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .map(|e| e.unwrap().path())
                .collect();
            files.sort();
            assert!(!files.is_empty(), "no corpus for {name}");
            for file in files {
                check(&std::fs::read(&file).unwrap());
                replayed += 1;
            }
        }
        assert!(replayed >= 3);
    }
}
