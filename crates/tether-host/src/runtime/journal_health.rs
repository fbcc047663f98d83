//! What the participants are told when the journal falls behind the
//! broadcast (a full disk) and when it catches up: a notice on each
//! change, never one per refused write.

use std::mem::discriminant;
use std::time::Duration;

use crate::host::journal::Health;
use crate::protocol::{EventKind, NoticeLevel};

/// How often a journal that is behind tries to write again while nothing
/// else happens.
pub const RETRY: Duration = Duration::from_secs(1);

/// The notice for the journal's health going from `before` to `after`;
/// `None` when it did not change kind.
pub fn notice_for(before: &Health, after: &Health) -> Option<EventKind> {
    if discriminant(before) == discriminant(after) {
        return None;
    }
    Some(match after {
        Health::Written => EventKind::notice(
            NoticeLevel::Info,
            "the journal is written again: every event is on disk",
        ),
        Health::Behind { from, error } => {
            tracing::error!("journal write failed: {error}");
            EventKind::notice(
                NoticeLevel::Error,
                format!(
                    "the journal cannot be written ({error}): events from seq {from} on are kept in memory only, and written as soon as the disk takes them again"
                ),
            )
        }
        Health::GaveUp { from } => {
            tracing::error!("journal gave up from seq {from}");
            EventKind::notice(
                NoticeLevel::Error,
                format!(
                    "the journal fell too far behind and stopped: events from seq {from} on will not survive a restart (the next start begins a new history)"
                ),
            )
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_notice_per_change_of_kind() {
        let behind = Health::Behind {
            from: 20,
            error: "No space left on device (os error 28)".into(),
        };
        let again = Health::Behind {
            from: 20,
            error: "other".into(),
        };
        assert!(notice_for(&Health::Written, &Health::Written).is_none());
        assert!(notice_for(&behind, &again).is_none(), "still behind: quiet");
        let Some(EventKind::Notice { level, text }) = notice_for(&Health::Written, &behind) else {
            panic!()
        };
        assert_eq!(level, NoticeLevel::Error);
        assert!(
            text.contains("No space left on device") && text.contains("seq 20"),
            "{text}"
        );
        let Some(EventKind::Notice { level, .. }) = notice_for(&behind, &Health::Written) else {
            panic!()
        };
        assert_eq!(level, NoticeLevel::Info);
        assert!(notice_for(&behind, &Health::GaveUp { from: 20 }).is_some());
    }
}
