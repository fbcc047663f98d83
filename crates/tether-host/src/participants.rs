//! The `participants` message as the host writes it: assembled from each
//! participant's cached JSON entry (never re-serialised per join), and
//! sent whole or in fragments so no connection's write buffer grows to
//! the size of a large list.

use std::sync::Arc;

use bytes::Bytes;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use crate::host::session::Listing;
use crate::protocol::OwnerSlot;

/// The text before the first entry.
const OPEN: &str = r#"{"type":"participants","participants":["#;

/// One `participants` message: the entries, then what follows the array.
#[derive(Debug, Clone)]
pub struct ParticipantsMessage {
    entries: Vec<Arc<str>>,
    /// `]`, the `owner_slot` field when the slot is held, and `}`.
    tail: String,
    /// The length of the whole message in bytes.
    len: usize,
}

impl ParticipantsMessage {
    /// The message of a listing (or of a plain list of entries): its
    /// `unlisted` field says how many participants it leaves out.
    pub fn new(listing: impl Into<Listing>, owner_slot: Option<&OwnerSlot>) -> Self {
        let Listing { entries, unlisted } = listing.into();
        let mut tail = String::from("]");
        if unlisted > 0 {
            tail.push_str(&format!(r#","unlisted":{unlisted}"#));
        }
        if let Some(slot) = owner_slot {
            tail.push_str(r#","owner_slot":"#);
            tail.push_str(&serde_json::to_string(slot).expect("owner slot serialises"));
        }
        tail.push('}');
        let commas = entries.len().saturating_sub(1);
        let len = OPEN.len() + tail.len() + commas + entries.iter().map(|e| e.len()).sum::<usize>();
        ParticipantsMessage { entries, tail, len }
    }

    /// The message's text, piece by piece.
    fn pieces(&self) -> impl Iterator<Item = &str> {
        let entries = self
            .entries
            .iter()
            .enumerate()
            .flat_map(|(i, e)| [if i > 0 { "," } else { "" }, e.as_ref()]);
        std::iter::once(OPEN)
            .chain(entries)
            .chain(std::iter::once(self.tail.as_str()))
    }

    /// The length of the whole message in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// The whole message as one frame, in one allocation.
    /// Whether a serialised server message is a participant list.
    pub fn is_list(frame: &str) -> bool {
        frame.starts_with(OPEN)
    }

    pub fn to_frame(&self) -> Utf8Bytes {
        let mut text = String::with_capacity(self.len());
        self.pieces().for_each(|piece| text.push_str(piece));
        Utf8Bytes::from(text)
    }

    /// The message as WebSocket messages to write in order: one text
    /// message when it fits in `fragment` bytes, else fragments of about
    /// that size, each made only when the previous one was taken.
    pub fn messages(&self, fragment: usize) -> Box<dyn Iterator<Item = Message> + Send + '_> {
        if self.len() <= fragment {
            return Box::new(std::iter::once(Message::Text(self.to_frame())));
        }
        let mut pieces = self.pieces().peekable();
        let mut first = true;
        Box::new(std::iter::from_fn(move || {
            pieces.peek()?;
            let mut buffer = Vec::with_capacity(fragment * 2);
            while buffer.len() < fragment
                && let Some(piece) = pieces.next()
            {
                buffer.extend_from_slice(piece.as_bytes());
            }
            let last = pieces.peek().is_none();
            let opcode = OpCode::Data(if first { Data::Text } else { Data::Continue });
            first = false;
            let frame = Frame::message(Bytes::from(buffer), opcode, last);
            Some(Message::Frame(frame))
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ServerMessage;

    fn entry(n: usize) -> Arc<str> {
        format!(r#"{{"id":"p{n}","identity":"user{n}","role":"follower","grants":["view"],"mode":"control","client":null,"connected_at":"t"}}"#).into()
    }

    fn reassemble(messages: impl Iterator<Item = Message>) -> String {
        let mut text = Vec::new();
        let mut finished = false;
        for message in messages {
            assert!(!finished, "nothing follows the final fragment");
            match message {
                Message::Text(t) => {
                    text.extend_from_slice(t.as_bytes());
                    finished = true;
                }
                Message::Frame(frame) => {
                    finished = frame.header().is_final;
                    text.extend_from_slice(frame.payload());
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(finished);
        String::from_utf8(text).unwrap()
    }

    #[test]
    fn whole_and_fragmented_forms_carry_the_same_message() {
        let slot = OwnerSlot {
            held_for: "alice".into(),
            expires_in_ms: 1500,
        };
        for count in [0, 1, 3, 200] {
            for owner_slot in [None, Some(&slot)] {
                let message =
                    ParticipantsMessage::new((0..count).map(entry).collect::<Vec<_>>(), owner_slot);
                let whole = message.to_frame().to_string();
                assert_eq!(whole.len(), message.len());
                assert_eq!(reassemble(message.messages(256)), whole);
                let ServerMessage::Participants {
                    participants,
                    owner_slot: decoded,
                    ..
                } = serde_json::from_str(&whole).unwrap()
                else {
                    panic!("not a participants message: {whole}");
                };
                assert_eq!(participants.len(), count);
                assert_eq!(decoded.as_ref(), owner_slot);
            }
        }
    }

    #[test]
    fn a_large_list_is_sent_in_fragments() {
        let message = ParticipantsMessage::new((0..200).map(entry).collect::<Vec<_>>(), None);
        assert!(message.messages(4096).count() > 1);
        assert_eq!(message.messages(usize::MAX).count(), 1);
    }
}
