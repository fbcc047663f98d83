//! Owner changes: the role operations (`claim`, `release`, `transfer`)
//! and the `owner_changed` event every change of owner is recorded as
//! (docs/protocol.md section 6), so the transcript says who owns and why.

use super::commands::{reply_to, role_message, send};
use super::refusal::Refusal;
use super::roster::{ParticipantId, RoleChange, Roster};
use super::{At, Output, Session};
use crate::protocol::{EventKind, OwnerConnection, OwnerReason, ServerMessage};

impl Session {
    /// The connection that owns the session, as events name it.
    pub(super) fn owner_connection(&self) -> Option<OwnerConnection> {
        let id = self.roster.owner()?;
        let owner = self.roster.get(id)?;
        Some(OwnerConnection {
            identity: owner.identity.clone(),
            participant: Some(id.to_string()),
            client: owner.client.clone(),
            connected_at: Some(owner.connected_at.clone()),
        })
    }

    /// Records a change of owner since `before` (the owning connection
    /// then) as an `owner_changed` event; nothing when the same
    /// connection owns. The first owner a session ever has, taking the
    /// free slot by connecting, gets no event: nothing changed hands.
    pub(super) fn note_owner(
        &mut self,
        before: Option<OwnerConnection>,
        reason: OwnerReason,
        at: At,
        out: &mut Vec<Output>,
    ) {
        let owner = self.owner_connection();
        if owner == before {
            return;
        }
        let first = !std::mem::replace(&mut self.state.owner_seen, true);
        if first && reason == OwnerReason::Joined {
            return;
        }
        let held_ms = match owner {
            None => self.roster.owner_slot(at.mono).map(|s| s.expires_in_ms),
            Some(_) => None,
        };
        let event = EventKind::OwnerChanged {
            owner,
            previous: before,
            reason,
            held_ms,
        };
        self.emit(event, at, out);
    }

    /// After a restart from a journal: the slot is held for the identity
    /// that owned before (`owner`, from the journal), and the history
    /// says nobody owns now.
    pub(super) fn restore_owner(&mut self, owner: Option<String>, at: At, out: &mut Vec<Output>) {
        let Some(identity) = owner else {
            return;
        };
        self.roster.reserve(identity.clone(), at.mono);
        self.state.owner_seen = true;
        let event = EventKind::OwnerChanged {
            owner: None,
            previous: Some(OwnerConnection {
                identity,
                participant: None,
                client: None,
                connected_at: None,
            }),
            reason: OwnerReason::Restarted,
            held_ms: self.roster.owner_slot(at.mono).map(|s| s.expires_in_ms),
        };
        self.emit(event, at, out);
    }

    pub(super) fn on_claim(&mut self, from: ParticipantId, id: String, at: At) -> Vec<Output> {
        self.role_op(from, id, OwnerReason::Claimed, at, |roster| {
            roster.claim(from, at.mono)
        })
    }

    pub(super) fn on_release(&mut self, from: ParticipantId, id: String, at: At) -> Vec<Output> {
        self.role_op(from, id, OwnerReason::Released, at, |roster| {
            roster.release(from)
        })
    }

    pub(super) fn on_transfer(
        &mut self,
        from: ParticipantId,
        id: String,
        to: &str,
        at: At,
    ) -> Vec<Output> {
        self.role_op(from, id, OwnerReason::Transferred, at, |roster| {
            roster.transfer(from, to)
        })
    }

    /// One role operation: its `role` messages, the `owner_changed`
    /// event, a fresh `participants` and the sender's `ack` (or `error`).
    fn role_op(
        &mut self,
        from: ParticipantId,
        id: String,
        reason: OwnerReason,
        at: At,
        op: impl FnOnce(&mut Roster) -> Result<Vec<RoleChange>, Refusal>,
    ) -> Vec<Output> {
        let before = self.owner_connection();
        let changes = match op(&mut self.roster) {
            Err(refused) => return reply_to(from, refused.into_error(Some(id))),
            Ok(changes) => changes,
        };
        let mut out: Vec<Output> = changes.iter().map(role_message).collect();
        self.note_owner(before, reason, at, &mut out);
        if !changes.is_empty() {
            out.push(Output::ParticipantsChanged);
        }
        out.push(send(from, ServerMessage::ack(id)));
        out
    }
}
