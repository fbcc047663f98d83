//! Who owns the session, seen from this client: the owner slot held for
//! someone who went away, transfers (confirmed first, and recorded in the
//! transcript on both sides) and the release sent on a deliberate quit.

use std::time::{Duration, Instant};

use crossterm::event::KeyEvent;

use super::{AfterClaim, App, Effect, Level};
use crate::protocol::{
    ClientMessage, ErrorCode, Grant, Mode, OwnerSlot, Release, Role, ServerMessage, Transfer,
};
use crate::tui::sanitize::sanitize_plain;
use crate::tui::theme;
use crate::tui::transcript::{Block, BlockKind, styled};

/// The owner slot the host keeps for a disconnected owner, as a local
/// deadline.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldSlot {
    pub held_for: String,
    pub expires_at: Instant,
}

/// The participant a transfer waits on the user's y/n for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferAsk {
    /// The participant id, for the host only.
    pub to: String,
    /// Shown to the user.
    pub identity: String,
}

/// Who owns the session, for the participants pane and status bar.
#[derive(Debug, Clone, PartialEq)]
pub enum Ownership {
    /// Someone is owner (maybe us); nothing to say.
    Owned,
    /// Nobody owns it; `claimable` when this client may claim it (F2).
    Free { claimable: bool },
    /// Kept for `identity` for `left` more.
    Held { identity: String, left: Duration },
}

impl App {
    /// Server messages pass here first: what this module tracks is noted
    /// around the general handling in `on_server`.
    pub(super) fn on_message(&mut self, message: ServerMessage) -> Vec<Effect> {
        let role_change = match &message {
            ServerMessage::Participants { owner_slot, .. } => {
                self.owner_slot = owner_slot.as_ref().map(|slot| self.held_slot(slot));
                None
            }
            ServerMessage::Role { role, reason } if *role != self.role && !self.greeting_role => {
                Some((*role, reason.clone()))
            }
            _ => None,
        };
        self.note_turn(&message);
        let message = self.in_people_words(message);
        let mut effects = self.on_server(message);
        effects.extend(self.settle_claim());
        self.note_turn_state();
        if let Some((role, Some(reason))) = role_change {
            self.record_transfer(role, &reason);
        }
        effects
    }

    /// A refused transfer is told with the target's identity: the host's
    /// wording names participant ids (`p4`), which mean nothing to people.
    fn in_people_words(&self, message: ServerMessage) -> ServerMessage {
        let ServerMessage::Error {
            id: Some(id),
            code,
            message: text,
            oldest,
        } = message
        else {
            return message;
        };
        let transfer_to = self
            .in_flight
            .iter()
            .find(|(i, _)| *i == id)
            .and_then(|(_, sent)| match &sent.message {
                ClientMessage::Transfer(Transfer { to, .. }) => Some(to.clone()),
                _ => None,
            });
        let text = match transfer_to {
            Some(to) => {
                let who = self
                    .participants
                    .iter()
                    .find(|p| p.id == to)
                    .map(|p| sanitize_plain(&p.identity));
                match (code, who) {
                    (ErrorCode::NotEligible, Some(who)) => {
                        format!("{who} may not own the session (watching only)")
                    }
                    (ErrorCode::NotEligible, None) => "they are no longer connected".to_owned(),
                    (_, Some(who)) => text.replace(&to, &who),
                    (_, None) => text,
                }
            }
            None => text,
        };
        ServerMessage::Error {
            id: Some(id),
            code,
            message: text,
            oldest,
        }
    }

    fn held_slot(&self, slot: &OwnerSlot) -> HeldSlot {
        HeldSlot {
            held_for: sanitize_plain(&slot.held_for),
            expires_at: self.now + Duration::from_millis(slot.expires_in_ms),
        }
    }

    pub fn ownership(&self) -> Ownership {
        // The list always holds this connection: empty means not yet known.
        let unknown = self.participants.is_empty();
        if unknown || self.participants.iter().any(|p| p.role == Role::Owner) {
            return Ownership::Owned;
        }
        if let Some(slot) = &self.owner_slot {
            let left = slot.expires_at.saturating_duration_since(self.now);
            if !left.is_zero() {
                return Ownership::Held {
                    identity: slot.held_for.clone(),
                    left,
                };
            }
        }
        Ownership::Free {
            claimable: self.may_own(),
        }
    }

    /// Whether this connection could own the session (control grant, not
    /// in view mode).
    fn may_own(&self) -> bool {
        !self.view_mode
            && self
                .me
                .as_ref()
                .is_some_and(|me| me.mode == Mode::Control && me.grants.contains(&Grant::Control))
    }

    /// While a held slot counts down, the screen changes every second.
    pub(super) fn slot_counting_down(&self) -> bool {
        matches!(self.ownership(), Ownership::Held { .. })
    }

    /// `role` changed with `reason`: a transfer leaves a line in the
    /// transcript (the host's reasons name identities, never ids).
    fn record_transfer(&mut self, role: Role, reason: &str) {
        let text = match (role, reason.strip_prefix("transferred ")) {
            (Role::Follower, Some(rest)) => {
                let to = rest.strip_prefix("to ").unwrap_or(rest);
                format!("⇄ you transferred ownership to {}", sanitize_plain(to))
            }
            (Role::Owner, Some(rest)) => {
                let by = rest.strip_prefix("by ").unwrap_or(rest);
                format!("⇄ {} transferred ownership to you", sanitize_plain(by))
            }
            _ => return,
        };
        let seq = self.last_applied();
        self.transcript.push(Block::new(
            BlockKind::Notice,
            seq,
            styled(text, theme::INFO),
        ));
    }

    /// `t` in the participants pane: ask before giving the session away.
    pub(super) fn ask_transfer(&mut self) {
        if !self.is_owner() {
            self.say("only the owner can transfer", Level::Info);
            return;
        }
        let Some(target) = self.participants.get(self.selected_participant) else {
            return;
        };
        let me = self.me.as_ref().map(|m| m.participant.as_str());
        if Some(target.id.as_str()) == me {
            self.say("you already own the session", Level::Info);
            return;
        }
        let ask = TransferAsk {
            to: target.id.clone(),
            identity: sanitize_plain(&target.identity),
        };
        self.modals
            .push(super::Modal::Question(super::Question::Transfer(ask)));
    }

    /// The answer to "transfer ownership to alice? y/n".
    pub(super) fn answer_transfer(&mut self, ask: TransferAsk, yes: bool) -> Vec<Effect> {
        if !yes {
            self.say("transfer cancelled", Level::Info);
            return Vec::new();
        }
        self.say(
            format!("transferring ownership to {}…", ask.identity),
            Level::Info,
        );
        let to = ask.to;
        self.send_tracked(|id| ClientMessage::Transfer(Transfer { id, to }), None)
    }

    /// Whether a `claim` this client sent is not answered yet.
    pub fn claiming(&self) -> bool {
        self.in_flight
            .iter()
            .any(|(_, f)| matches!(f.message, ClientMessage::Claim(_)))
    }

    /// Enter in a watched session's box: claims the free slot, and the
    /// message goes out once it is ours (F2 claims without sending).
    pub(super) fn claim_to_send(&mut self) -> Vec<Effect> {
        self.claim_then(
            AfterClaim::Send,
            "claiming the session to send your message (F3 gives it back)",
        )
    }

    /// A key answering a request of a watched session from the inbox:
    /// claims the free slot and answers once it is ours.
    pub fn claim_to_answer(&mut self, key: KeyEvent) -> Vec<Effect> {
        let free = self.ownership() == Ownership::Free { claimable: true };
        if !self.claim_on_send || self.is_owner() || !(free || self.claiming()) {
            return Vec::new();
        }
        self.claim_then(
            AfterClaim::Key(key),
            "claiming the session to answer (F3 gives it back)",
        )
    }

    fn claim_then(&mut self, then: AfterClaim, why: &str) -> Vec<Effect> {
        self.after_claim = Some(then);
        self.say(why, Level::Info);
        if self.claiming() {
            return Vec::new();
        }
        self.send_tracked(
            |id| ClientMessage::Claim(crate::protocol::Claim { id }),
            None,
        )
    }

    /// After each server message: what waited for a claim is done once
    /// this client owns; a refused claim drops it (a message stays in the
    /// box). The host's `role` comes before its `ack`, so a claim answered
    /// without the role was refused, and the reason is on screen.
    fn settle_claim(&mut self) -> Vec<Effect> {
        if self.after_claim.is_none() {
            return Vec::new();
        }
        if !self.is_owner() {
            if !self.claiming() {
                self.after_claim = None;
            }
            return Vec::new();
        }
        match self.after_claim.take() {
            Some(AfterClaim::Send) => self.submit(),
            Some(AfterClaim::Key(key)) => self.on_key(key),
            None => Vec::new(),
        }
    }

    /// On a deliberate quit: the `release` to send first when this client
    /// owns the session and is connected (so the slot is free at once
    /// instead of held for the grace). Its id comes with it, to wait for
    /// the ack.
    pub fn release_on_quit(&mut self) -> Option<(String, ClientMessage)> {
        if !self.is_owner() || !matches!(self.conn, super::ConnState::Connected { .. }) {
            return None;
        }
        let id = self.fresh_id();
        Some((id.clone(), ClientMessage::Release(Release { id })))
    }
}
