//! A made-up session as its connection would hand it to the deck: the
//! benches (`benches/deck.rs`, `tether bench deck`) and the deck's tests
//! feed these instead of each writing its own.

use crate::protocol::{
    AgentState, EventKind, EventRecord, OutputStream, ServerMessage, SessionDescription, You,
};

/// Event `seq`: a line of assistant text (even seqs) or of coloured
/// command output (odd ones), so a transcript gets both kinds of block.
pub fn event(seq: u64) -> ServerMessage {
    let event = if seq.is_multiple_of(2) {
        EventKind::Assistant {
            text: format!("step {seq}: the agent says what it does next, in a sentence"),
        }
    } else {
        EventKind::Output {
            stream: OutputStream::Stdout,
            text: format!("\u{1b}[32mok\u{1b}[0m src/module.rs compiled in {seq} ms\n"),
        }
    };
    ServerMessage::Event(EventRecord {
        seq,
        ts: "2026-01-01T00:00:00.000Z".into(),
        event,
    })
}

/// The greeting of an idle shell session `id` titled `title`, with no
/// events yet, to the participant `you`; `features` as the host serves.
pub fn ready(id: &str, title: &str, you: You, features: Vec<String>) -> ServerMessage {
    ServerMessage::Ready {
        protocol: 1,
        session: SessionDescription {
            id: id.into(),
            epoch: "e".into(),
            title: title.into(),
            agent: "shell".into(),
            cwd: "/w".into(),
            started_at: "2026-01-01T00:00:00Z".into(),
            rules: Vec::new(),
            takes_updated_input: true,
        },
        you,
        last_seq: 0,
        state: AgentState::Idle,
        pending: Vec::new(),
        agent: None,
        features,
    }
}
