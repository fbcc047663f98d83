//! Message ids: bounded in length, and remembered across a restart (the
//! idempotency window is rebuilt from the journal's user messages).

use super::*;
use crate::protocol::{EventRecord, MAX_MESSAGE_ID_BYTES};

#[test]
fn an_overlong_id_is_refused_without_being_kept_or_echoed() {
    let mut h = Harness::new(SHELL);
    let alice = h.owner("alice");
    let long = "x".repeat(MAX_MESSAGE_ID_BYTES + 1);
    let out = h.send(alice, user(&long, "echo hi"));
    let [
        Output::Send {
            message: ServerMessage::Error { id, code, .. },
            ..
        },
    ] = &out[..]
    else {
        panic!("expected one error, got {out:?}");
    };
    assert_eq!((*code, id), (ErrorCode::BadRequest, &None));
    assert!(!h.session.state.recent_ids.contains("alice", &long));
    // The longest allowed id is taken.
    let longest = "y".repeat(MAX_MESSAGE_ID_BYTES);
    let out = h.send(alice, user(&longest, "echo hi"));
    assert_eq!(events(&out).len(), 1);
}

#[test]
fn a_resend_after_a_restart_is_still_a_duplicate() {
    let mut before = Harness::new(SHELL);
    let alice = before.owner("alice");
    let out = before.send(alice, user("m1", "echo once"));
    let sent = events(&out);
    // What a journal read at the next start hands the new session.
    let mut after = Harness::new(SHELL);
    for (i, event) in sent.into_iter().enumerate() {
        let record = EventRecord {
            seq: i as u64 + 2,
            ts: "t".into(),
            event,
        };
        after.session.restore_state(&record);
    }
    let alice = after.owner("alice");
    let out = after.send(alice, user("m1", "echo once"));
    assert!(
        matches!(
            &out[..],
            [Output::Send {
                message: ServerMessage::Ack {
                    duplicate: true,
                    ..
                },
                ..
            }]
        ),
        "{out:?}"
    );
}
