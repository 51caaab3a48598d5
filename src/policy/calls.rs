//! The calls the router holds: a slab of call records reused through a free
//! list, and the index from attempt ids to call slots.
//!
//! Memory is bounded by the calls alive at once, never by the calls served:
//! a finished call's slot is reused, and the attempt index only spans the
//! attempts issued since the oldest one still outstanding.

use std::collections::VecDeque;

use super::config::Tier;
use super::types::{AttemptId, CallId, EndpointId, Trigger};
use crate::time::Time;

/// Where a call is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CallState {
    /// The slot is free.
    Free,
    /// In an endpoint's queue.
    Waiting,
    /// Waiting out a retry backoff.
    Backoff,
    /// Every step of its chain is unavailable (cooling down); it waits
    /// for an endpoint to come back.
    Parked,
    /// At least one attempt is outstanding.
    InFlight,
    /// Suspended (tier 4 or a tier needing consent) until a tier 0 or 1
    /// endpoint recovers.
    Suspended,
}

/// An attempt in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Live {
    /// Its id.
    pub attempt: AttemptId,
    /// Where it went.
    pub endpoint: EndpointId,
    /// Its chain step.
    pub step: u16,
    /// Its tier.
    pub tier: Tier,
    /// When it was dispatched.
    pub started: Time,
    /// Whether it is a half-open breaker's probe.
    pub probe: bool,
}

/// One call's record.
#[derive(Clone, Debug)]
pub(crate) struct Call {
    /// The call's id.
    pub id: CallId,
    /// Bumped on every state change; stale queue entries and timers carry
    /// an older epoch.
    pub epoch: u32,
    /// Life-cycle state.
    pub state: CallState,
    /// Tenant index.
    pub tenant: u32,
    /// Workflow index within the tenant.
    pub workflow: u32,
    /// When the call must be done; `Time::MAX` for never.
    pub deadline: Time,
    /// Attempts dispatched so far.
    pub attempts: u32,
    /// Attempts failed so far.
    pub failures: u32,
    /// The chain step the next attempt starts looking from.
    pub next_step: u16,
    /// The tier of the previous attempt (the chain's first tier before any).
    pub last_tier: Tier,
    /// Why the call would leave its tier, reported on the next tier change.
    pub trigger: Option<Trigger>,
    /// The attempt in flight, if any (with a hedge out, the older leg).
    pub live: Option<Live>,
    /// The second leg of a hedged call, if one is out.
    pub hedge: Option<Live>,
    /// Prompt plus expected output tokens (for token-rate limits).
    pub tokens: u64,
    /// When the call started waiting in a queue, since its latest dispatch
    /// (or submission); `None` if it has not waited since.
    pub waiting_since: Option<Time>,
    /// The chain step whose queue the call waits in (while `Waiting`).
    pub wait_step: u16,
    /// Whether the call also waits in a fallback's queue (its `max_wait`
    /// passed while no fallback could take it at once).
    pub spilled: bool,
}

impl Call {
    fn vacant() -> Call {
        Call {
            id: CallId(0),
            epoch: 0,
            state: CallState::Free,
            tenant: 0,
            workflow: 0,
            deadline: Time::MAX,
            attempts: 0,
            failures: 0,
            next_step: 0,
            last_tier: Tier::PRIMARY,
            trigger: None,
            live: None,
            hedge: None,
            tokens: 0,
            waiting_since: None,
            wait_step: 0,
            spilled: false,
        }
    }

    /// The outstanding leg whose attempt is `attempt`, if any.
    pub fn leg(&self, attempt: AttemptId) -> Option<Live> {
        [self.live, self.hedge]
            .into_iter()
            .flatten()
            .find(|l| l.attempt == attempt)
    }

    /// Forgets the leg of `attempt`; the other leg, if one is out, becomes
    /// `live` and is returned.
    pub fn drop_leg(&mut self, attempt: AttemptId) -> Option<Live> {
        if self.hedge.is_some_and(|h| h.attempt == attempt) {
            self.hedge = None;
        } else if self.live.is_some_and(|l| l.attempt == attempt) {
            self.live = self.hedge.take();
        }
        self.live
    }

    /// Moves to `state`, invalidating queue entries and timers of the old one.
    pub fn set_state(&mut self, state: CallState) {
        self.state = state;
        self.epoch = self.epoch.wrapping_add(1);
    }
}

/// The slab of calls.
#[derive(Debug, Default)]
pub(crate) struct Calls {
    slots: Vec<Call>,
    free: Vec<u32>,
    live: usize,
}

impl Calls {
    /// Takes a free slot (reusing one if possible) and returns its index.
    pub fn alloc(&mut self) -> u32 {
        self.live += 1;
        if let Some(slot) = self.free.pop() {
            return slot;
        }
        self.slots.push(Call::vacant());
        (self.slots.len() - 1) as u32
    }

    /// Returns `slot` to the free list.
    pub fn release(&mut self, slot: u32) {
        if let Some(c) = self.slots.get_mut(slot as usize)
            && c.state != CallState::Free
        {
            c.set_state(CallState::Free);
            c.live = None;
            c.hedge = None;
            self.free.push(slot);
            self.live -= 1;
        }
    }

    /// The call in `slot`.
    pub fn get(&self, slot: u32) -> &Call {
        &self.slots[slot as usize]
    }

    /// The call in `slot`, mutably.
    pub fn get_mut(&mut self, slot: u32) -> &mut Call {
        &mut self.slots[slot as usize]
    }

    /// Calls alive (submitted and not finished).
    pub fn live(&self) -> usize {
        self.live
    }

    /// Every slot with its index, free or not.
    #[cfg(test)]
    pub fn iter(&self) -> impl Iterator<Item = (u32, &Call)> {
        self.slots.iter().enumerate().map(|(i, c)| (i as u32, c))
    }

    /// Slots allocated, free or not (for tests of memory bounds).
    #[cfg(test)]
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }
}

/// Attempt id to call slot, for the attempts issued since the oldest one
/// still outstanding. Attempt ids are issued in order, so this is a window.
#[derive(Debug, Default)]
pub(crate) struct AttemptIndex {
    base: u64,
    slots: VecDeque<u32>,
}

const DONE: u32 = u32::MAX;

impl AttemptIndex {
    /// Records attempt `id` (the next id in order) of the call in `slot`.
    pub fn insert(&mut self, id: AttemptId, slot: u32) {
        if self.slots.is_empty() {
            self.base = id.0;
        }
        debug_assert_eq!(id.0, self.base + self.slots.len() as u64);
        self.slots.push_back(slot);
    }

    /// The slot of the call whose outstanding attempt `id` is.
    pub fn get(&self, id: AttemptId) -> Option<u32> {
        let i = id.0.checked_sub(self.base)?;
        let slot = *self.slots.get(usize::try_from(i).ok()?)?;
        (slot != DONE).then_some(slot)
    }

    /// Forgets attempt `id`.
    pub fn remove(&mut self, id: AttemptId) {
        let Some(i) = id.0.checked_sub(self.base) else {
            return;
        };
        if let Some(s) = usize::try_from(i).ok().and_then(|i| self.slots.get_mut(i)) {
            *s = DONE;
        }
        while self.slots.front() == Some(&DONE) {
            self.slots.pop_front();
            self.base += 1;
        }
    }

    /// Entries held (for tests of memory bounds).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.slots.len()
    }
}
