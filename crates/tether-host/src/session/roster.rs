//! Who is connected and who owns the session (docs/protocol.md section 3).
//!
//! Pure: time comes in as an argument, nothing is sent from here. Every
//! operation returns the role changes it made so the caller can notify.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::refusal::Refusal;
use crate::protocol::{ErrorCode, Grant, Mode, OwnerSlot, ParticipantInfo, Role};

/// A connection's participant id; `p<n>` on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ParticipantId(pub u64);

impl fmt::Display for ParticipantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "p{}", self.0)
    }
}

impl ParticipantId {
    pub fn parse(text: &str) -> Option<Self> {
        text.strip_prefix('p')?.parse().ok().map(ParticipantId)
    }
}

#[derive(Debug, Clone)]
pub struct Participant {
    pub identity: String,
    pub grants: Vec<Grant>,
    pub mode: Mode,
    pub client: Option<String>,
    pub connected_at: String,
    /// Takes a free owner slot on joining (see `Join::claims`).
    pub claims: bool,
}

impl Participant {
    /// May own: a `control` grant and not connected with `mode=view`.
    pub fn eligible(&self) -> bool {
        self.mode == Mode::Control && self.grants.contains(&Grant::Control)
    }
}

/// The owner slot held for a disconnected owner's identity.
#[derive(Debug, Clone)]
struct Reservation {
    identity: String,
    until: Instant,
}

/// One participant whose role changed, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleChange {
    pub who: ParticipantId,
    pub role: Role,
    pub reason: String,
}

#[derive(Debug)]
pub struct Roster {
    participants: BTreeMap<ParticipantId, Participant>,
    owner: Option<ParticipantId>,
    reservation: Option<Reservation>,
    grace: Duration,
    next_id: u64,
    /// Each participant's entry of a `participants` message as JSON, with
    /// the role it was made for: a list is assembled from these without
    /// building (and freeing) one large string per join.
    entries: BTreeMap<ParticipantId, (Role, Arc<str>)>,
}

impl Roster {
    pub fn new(grace: Duration) -> Self {
        Roster {
            participants: BTreeMap::new(),
            owner: None,
            reservation: None,
            grace,
            next_id: 1,
            entries: BTreeMap::new(),
        }
    }

    pub fn owner(&self) -> Option<ParticipantId> {
        self.owner
    }

    pub fn get(&self, id: ParticipantId) -> Option<&Participant> {
        self.participants.get(&id)
    }

    pub fn len(&self) -> usize {
        self.participants.len()
    }

    pub fn is_empty(&self) -> bool {
        self.participants.is_empty()
    }

    pub fn ids(&self) -> impl Iterator<Item = ParticipantId> + '_ {
        self.participants.keys().copied()
    }

    pub fn role_of(&self, id: ParticipantId) -> Role {
        if self.owner == Some(id) {
            Role::Owner
        } else {
            Role::Follower
        }
    }

    /// The identity the owner slot is held for, if it still is at `now`.
    pub fn reserved_for(&self, now: Instant) -> Option<&str> {
        self.reservation
            .as_ref()
            .filter(|r| now < r.until)
            .map(|r| r.identity.as_str())
    }

    /// The reservation as `participants.owner_slot` shows it, while it holds.
    pub fn owner_slot(&self, now: Instant) -> Option<OwnerSlot> {
        let held = self.reservation.as_ref().filter(|r| now < r.until)?;
        Some(OwnerSlot {
            held_for: held.identity.clone(),
            expires_in_ms: u64::try_from((held.until - now).as_millis()).unwrap_or(u64::MAX),
        })
    }

    /// When the current reservation runs out, if there is one.
    pub fn reservation_deadline(&self) -> Option<Instant> {
        self.reservation.as_ref().map(|r| r.until)
    }

    /// Drops a reservation whose time is up; whether there was one.
    pub fn expire_reservation(&mut self, now: Instant) -> bool {
        let expired = self.reservation.as_ref().is_some_and(|r| now >= r.until);
        if expired {
            self.reservation = None;
        }
        expired
    }

    /// Holds the free owner slot for `identity` for the grace period, as
    /// when its connection drops (used after a host restart).
    pub fn reserve(&mut self, identity: String, now: Instant) {
        if self.owner.is_none() && !self.grace.is_zero() {
            self.reservation = Some(Reservation {
                identity,
                until: now + self.grace,
            });
        }
    }

    /// Whose the owner slot is at `now`: the owner's identity, or the
    /// identity it is held for.
    pub fn slot_holder(&self, now: Instant) -> Option<&str> {
        match self.owner {
            Some(owner) => Some(self.participants[&owner].identity.as_str()),
            None => self.reserved_for(now),
        }
    }

    /// Adds a connection; it owns when eligible and the slot is free or
    /// reserved for its identity. Returns its id and its initial role.
    pub fn join(&mut self, participant: Participant, now: Instant) -> (ParticipantId, RoleChange) {
        let id = ParticipantId(self.next_id);
        self.next_id += 1;
        let (role, reason) = if !participant.eligible() {
            let why = if participant.mode == Mode::View {
                "connected with mode=view"
            } else {
                "token has no control grant"
            };
            (Role::Follower, why.to_owned())
        } else if let Some(owner) = self.owner {
            let name = &self.participants[&owner].identity;
            (Role::Follower, format!("{name} owns the session"))
        } else {
            match self.reserved_for(now) {
                Some(held) if held != participant.identity => (
                    Role::Follower,
                    format!("owner slot held for {held} to reconnect"),
                ),
                Some(_) => (Role::Owner, "reconnected within the owner grace".into()),
                None if !participant.claims => (
                    Role::Follower,
                    "connected with claim=no: watching until it claims".into(),
                ),
                None => (Role::Owner, "first eligible connection".into()),
            }
        };
        if role == Role::Owner {
            self.owner = Some(id);
            self.reservation = None;
        }
        self.participants.insert(id, participant);
        (
            id,
            RoleChange {
                who: id,
                role,
                reason,
            },
        )
    }

    /// Removes a connection. An owner leaving hands the slot to another
    /// eligible connection of the same identity if one is here (its
    /// reconnect raced ahead of the old connection's close), else reserves
    /// it for that identity for the grace period. Returns the role change
    /// of a connection promoted that way.
    pub fn leave(&mut self, id: ParticipantId, now: Instant) -> Option<RoleChange> {
        let gone = self.participants.remove(&id)?;
        self.entries.remove(&id);
        if self.owner != Some(id) {
            return None;
        }
        self.owner = None;
        let heir = self
            .participants
            .iter()
            .rev()
            // A connection that only watches (`claim=no`) is not an heir:
            // it takes the slot when it claims it.
            .find(|(_, p)| p.identity == gone.identity && p.eligible() && p.claims)
            .map(|(heir, _)| *heir);
        if let Some(heir) = heir {
            self.owner = Some(heir);
            self.reservation = None;
            return Some(RoleChange {
                who: heir,
                role: Role::Owner,
                reason: "reconnected: the previous connection of this identity closed".into(),
            });
        }
        self.reservation = (!self.grace.is_zero()).then(|| Reservation {
            identity: gone.identity,
            until: now + self.grace,
        });
        None
    }

    pub fn claim(&mut self, id: ParticipantId, now: Instant) -> Result<Vec<RoleChange>, Refusal> {
        let Some(claimant) = self.participants.get(&id) else {
            return Err(Refusal::new(ErrorCode::NotEligible, "unknown participant"));
        };
        if self.owner == Some(id) {
            return Ok(Vec::new());
        }
        if !claimant.eligible() {
            return Err(Refusal::new(
                ErrorCode::NotEligible,
                "this connection may not own the session (view grant or mode=view)",
            ));
        }
        if let Some(owner) = self.owner {
            let name = &self.participants[&owner].identity;
            return Err(Refusal::new(
                ErrorCode::OwnerPresent,
                format!("{name} owns the session"),
            ));
        }
        if let Some(held) = self.reserved_for(now)
            && held != claimant.identity
        {
            return Err(Refusal::new(
                ErrorCode::OwnerPresent,
                format!("the owner slot is held for {held} to reconnect"),
            ));
        }
        self.owner = Some(id);
        self.reservation = None;
        Ok(vec![RoleChange {
            who: id,
            role: Role::Owner,
            reason: "claimed".into(),
        }])
    }

    pub fn release(&mut self, id: ParticipantId) -> Result<Vec<RoleChange>, Refusal> {
        self.require_owner(id, "release")?;
        self.owner = None;
        self.reservation = None;
        Ok(vec![RoleChange {
            who: id,
            role: Role::Follower,
            reason: "released".into(),
        }])
    }

    pub fn transfer(&mut self, id: ParticipantId, to: &str) -> Result<Vec<RoleChange>, Refusal> {
        self.require_owner(id, "transfer")?;
        // Messages are for people: they name identities, never the
        // participant ids of the wire.
        let target = ParticipantId::parse(to)
            .filter(|t| *t != id)
            .and_then(|t| self.participants.get(&t).map(|p| (t, p)));
        let Some((target, who)) = target else {
            return Err(Refusal::new(
                ErrorCode::NotEligible,
                "no other participant by that id is connected",
            ));
        };
        if !who.eligible() {
            return Err(Refusal::new(
                ErrorCode::NotEligible,
                format!(
                    "{} may not own the session (view grant or mode=view)",
                    who.identity
                ),
            ));
        }
        let from = self.participants[&id].identity.clone();
        self.owner = Some(target);
        Ok(vec![
            RoleChange {
                who: id,
                role: Role::Follower,
                reason: format!("transferred to {}", who.identity),
            },
            RoleChange {
                who: target,
                role: Role::Owner,
                reason: format!("transferred by {from}"),
            },
        ])
    }

    fn require_owner(&self, id: ParticipantId, action: &str) -> Result<(), Refusal> {
        if self.owner == Some(id) {
            Ok(())
        } else {
            Err(Refusal::not_owner(action))
        }
    }

    fn info(&self, id: ParticipantId, p: &Participant) -> ParticipantInfo {
        ParticipantInfo {
            id: id.to_string(),
            identity: p.identity.clone(),
            role: self.role_of(id),
            grants: p.grants.clone(),
            mode: p.mode,
            client: p.client.clone(),
            connected_at: p.connected_at.clone(),
        }
    }

    pub fn infos(&self) -> Vec<ParticipantInfo> {
        self.participants
            .iter()
            .map(|(id, p)| self.info(*id, p))
            .collect()
    }

    /// The participants' entries as JSON text, in join order (cached; an
    /// entry is remade only when its role changed): every one while there
    /// are at most [`LISTED_MAX`]; past that the owner and everyone who
    /// may own, then the others up to the limit, the rest counted.
    pub fn entries(&mut self) -> Listing {
        let controllers = self
            .participants
            .iter()
            .filter(|(id, p)| p.eligible() || self.owner == Some(**id))
            .count();
        let mut viewers_room = LISTED_MAX.saturating_sub(controllers);
        let mut listing = Listing {
            entries: Vec::with_capacity(self.participants.len().min(LISTED_MAX)),
            unlisted: 0,
        };
        for (id, p) in &self.participants {
            let role = self.role_of(*id);
            if !p.eligible() && role != Role::Owner {
                if viewers_room == 0 {
                    listing.unlisted += 1;
                    continue;
                }
                viewers_room -= 1;
            }
            match self.entries.get(id) {
                Some((cached, text)) if *cached == role => listing.entries.push(text.clone()),
                _ => {
                    let text: Arc<str> = serde_json::to_string(&self.info(*id, p))
                        .expect("participant info serialises")
                        .into();
                    self.entries.insert(*id, (role, text.clone()));
                    listing.entries.push(text);
                }
            }
        }
        listing
    }
}

/// The most participants a `participants` message lists (beyond, only the
/// owner and those who may own are added): every viewer receives the
/// list on every change, so a list of all of 10,000 viewers would cost
/// the host and the broker the square of their number (and pass the
/// broker's 1 MiB message limit).
pub const LISTED_MAX: usize = 100;

/// The entries of a `participants` message, and how many were left out.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    pub entries: Vec<Arc<str>>,
    pub unlisted: u64,
}

/// Every entry listed.
impl From<Vec<Arc<str>>> for Listing {
    fn from(entries: Vec<Arc<str>>) -> Listing {
        Listing {
            entries,
            unlisted: 0,
        }
    }
}

#[cfg(test)]
pub(super) mod tests;
