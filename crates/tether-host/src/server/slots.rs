//! WebSocket connection slots: a total cap, a cap per token, and a few
//! slots only connections that may own the session can take, so a view
//! token handed to many watchers can never lock the owner out.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotLimits {
    /// Connections at once, all tokens together.
    pub total: usize,
    /// Connections at once with one token.
    pub per_token: usize,
}

impl SlotLimits {
    /// These limits, raised as far as needed for `viewers` view-only
    /// connections with one token to fit next to a few owners (for load
    /// tests: they measure the load they ask for, not the guard).
    pub fn with_room_for(self, viewers: usize) -> SlotLimits {
        let headroom = 16;
        let per_token = self.per_token.max(viewers + headroom);
        // The viewers and the headroom must fit outside the reserved
        // sixteenth: total - total/16 >= wanted when total >= wanted*16/15.
        let wanted = viewers + headroom;
        let total = self.total.max(wanted + wanted.div_ceil(15) + 1);
        SlotLimits { total, per_token }
    }

    /// Slots kept for control-eligible connections: a sixteenth of the
    /// total, at least one.
    fn reserved(&self) -> usize {
        (self.total / 16).max(1).min(self.total)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotRefusal {
    /// Every slot this connection may take is in use.
    Full,
    /// This token has as many connections as one token may.
    TokenFull,
}

impl SlotRefusal {
    pub fn message(self) -> &'static str {
        match self {
            SlotRefusal::Full => "too many connections\n",
            SlotRefusal::TokenFull => "too many connections with this token\n",
        }
    }
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    by_token: HashMap<String, usize>,
}

#[derive(Debug)]
pub struct Slots {
    limits: SlotLimits,
    counts: Mutex<Counts>,
}

/// One taken slot, given back when dropped.
#[derive(Debug)]
pub struct Slot {
    slots: Arc<Slots>,
    token: String,
}

impl Slots {
    pub fn new(limits: SlotLimits) -> Arc<Self> {
        Arc::new(Slots {
            limits,
            counts: Mutex::default(),
        })
    }

    /// Takes a slot for a connection with `token`; `eligible` when it may
    /// own the session (control grant, not `mode=view`).
    pub fn take(self: &Arc<Self>, token: &str, eligible: bool) -> Result<Slot, SlotRefusal> {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let open_to_it = if eligible {
            self.limits.total
        } else {
            self.limits.total - self.limits.reserved()
        };
        if counts.total >= open_to_it {
            return Err(SlotRefusal::Full);
        }
        let mine = counts.by_token.entry(token.to_owned()).or_default();
        if *mine >= self.limits.per_token {
            return Err(SlotRefusal::TokenFull);
        }
        *mine += 1;
        counts.total += 1;
        Ok(Slot {
            slots: self.clone(),
            token: token.to_owned(),
        })
    }

    #[cfg(test)]
    fn open(&self) -> usize {
        self.counts.lock().unwrap_or_else(|e| e.into_inner()).total
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.slots.counts.lock().unwrap_or_else(|e| e.into_inner());
        counts.total -= 1;
        if let Some(mine) = counts.by_token.get_mut(&self.token) {
            *mine -= 1;
            if *mine == 0 {
                counts.by_token.remove(&self.token);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viewers_leave_the_reserved_slots_to_eligible_connections() {
        let slots = Slots::new(SlotLimits {
            total: 4,
            per_token: 10,
        });
        let viewers: Vec<_> = (0..3).map(|_| slots.take("v", false).unwrap()).collect();
        assert_eq!(slots.take("v", false).unwrap_err(), SlotRefusal::Full);
        let owner = slots.take("c", true).expect("the reserved slot");
        assert_eq!(slots.take("c", true).unwrap_err(), SlotRefusal::Full);
        drop(viewers);
        drop(owner);
        assert_eq!(slots.open(), 0);
    }

    #[test]
    fn room_for_viewers_lets_that_many_in_and_keeps_the_owners_slots() {
        let default = SlotLimits {
            total: 1024,
            per_token: 256,
        };
        for viewers in [1, 255, 300, 961, 1000, 5000] {
            let slots = Slots::new(default.with_room_for(viewers));
            let taken: Vec<_> = (0..viewers)
                .map(|n| {
                    slots
                        .take("v", false)
                        .unwrap_or_else(|e| panic!("{viewers}: {n}: {e:?}"))
                })
                .collect();
            assert!(
                slots.take("c", true).is_ok(),
                "{viewers}: an owner still fits"
            );
            drop(taken);
        }
        assert_eq!(default.with_room_for(10), default, "never lowered");
    }

    #[test]
    fn one_token_cannot_take_more_than_its_share() {
        let slots = Slots::new(SlotLimits {
            total: 100,
            per_token: 2,
        });
        let a = slots.take("v", false).unwrap();
        let _b = slots.take("v", false).unwrap();
        assert_eq!(slots.take("v", false).unwrap_err(), SlotRefusal::TokenFull);
        assert!(slots.take("other", false).is_ok());
        drop(a);
        assert!(
            slots.take("v", false).is_ok(),
            "a closed connection frees its slot"
        );
    }
}
