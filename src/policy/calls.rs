//! The calls the router holds: a slab of call records reused through a free
//! list, and the indexes from call ids and attempt ids to call slots.
//!
//! Memory is bounded by the calls alive at once, never by the calls served:
//! a finished call's slot is reused, and an id index keeps a window of the
//! recent ids plus the few older ones still alive.

use std::collections::{BTreeMap, VecDeque};

use super::config::{SlaClass, Tier};
use super::types::{AttemptId, CallId, EndpointId, Trigger};
use crate::time::Time;

/// Where a call is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CallState {
    /// The slot is free.
    Free,
    /// In the queues of a pool's endpoints.
    Waiting,
    /// Waiting out a retry backoff.
    Backoff,
    /// Every step of its chain is unavailable (cooling down); it waits
    /// for an endpoint to come back.
    Parked,
    /// At least one attempt is outstanding.
    InFlight,
    /// Suspended (tier 4 or a tier needing consent) until it is resumed.
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
    /// Whether its first token arrived.
    pub first_token: bool,
}

/// A run of chain steps a call waits on (a pool, or one step of it), with
/// the set of those steps whose endpoint queue holds a live entry of the
/// call (bit `i` for step `lo + i`). Its entries carry its generation: a
/// range dropped and queued again (a call spilling twice into the same
/// pool) gets a new one, so the old entries stay dead.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Range {
    /// First step.
    pub lo: u16,
    /// One past the last step.
    pub hi: u16,
    /// Steps with a live entry.
    pub mask: u64,
    /// The generation its queue entries carry.
    pub generation: u32,
}

impl Range {
    /// The steps `lo..hi` of generation `generation`, with no entry yet.
    pub fn new(lo: u16, hi: u16, generation: u32) -> Range {
        Range {
            lo,
            hi,
            mask: 0,
            generation,
        }
    }

    /// Whether `step` is in the range.
    pub fn holds(&self, step: u16) -> bool {
        (self.lo..self.hi).contains(&step)
    }

    /// Whether `step` has a live entry.
    pub fn has(&self, step: u16) -> bool {
        self.holds(step) && self.mask & (1 << (step - self.lo)) != 0
    }

    /// Marks `step`'s entry live (`true`) or dead.
    pub fn set(&mut self, step: u16, on: bool) {
        let bit = 1u64 << (step - self.lo);
        if on {
            self.mask |= bit;
        } else {
            self.mask &= !bit;
        }
    }

    /// The steps with a live entry, in order.
    pub fn entries(&self) -> impl Iterator<Item = u16> + use<> {
        let (lo, mut mask) = (self.lo, self.mask);
        std::iter::from_fn(move || {
            (mask != 0).then(|| {
                let i = mask.trailing_zeros() as u16;
                mask &= mask - 1;
                lo + i
            })
        })
    }
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
    /// The class it is scheduled as (its tenant's, or lower on request).
    pub class: SlaClass,
    /// When the call must be done; `Time::MAX` for never.
    pub deadline: Time,
    /// Attempts dispatched so far.
    pub attempts: u32,
    /// Attempts failed so far.
    pub failures: u32,
    /// The pool the next chain walk starts at.
    pub next_pool: u16,
    /// Session affinity: the one step of `next_pool` the walk uses, until
    /// the call's first dispatch.
    pub pin: Option<u16>,
    /// Why the call would leave its tier (the latest failure or skip).
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
    /// The steps (a pool, or the pinned step) it waits on while `Waiting`.
    pub wait: Range,
    /// A fallback pool it also waits on (its `max_wait` passed while no
    /// fallback could take it at once), if any.
    pub spill: Option<Range>,
    /// Whether the call is its tenant's probe (it started from the top of
    /// its chain while the tenant was degraded).
    pub probe: bool,
    /// The tier the call last left (failed there, or found every endpoint
    /// of the pool unavailable), when, and the endpoint concerned.
    pub left: Option<(Tier, Time, EndpointId)>,
    /// The tenant tier at which the call last counted towards degrading
    /// its tenant (a call counts once per tenant tier).
    pub counted: Option<Tier>,
    /// When the call was suspended (while `Suspended`).
    pub suspended_at: Time,
    /// The generation of the call's latest queued range.
    pub generation: u32,
    /// The insertion number reserved for the call's deadline timer while
    /// that timer is not armed yet (`Router::defer_deadline`).
    pub deadline_seq: Option<u64>,
}

impl Call {
    fn vacant() -> Call {
        Call {
            id: CallId(0),
            epoch: 0,
            state: CallState::Free,
            tenant: 0,
            workflow: 0,
            class: SlaClass::Bronze,
            deadline: Time::MAX,
            attempts: 0,
            failures: 0,
            next_pool: 0,
            pin: None,
            trigger: None,
            live: None,
            hedge: None,
            tokens: 0,
            waiting_since: None,
            wait: Range::default(),
            spill: None,
            probe: false,
            left: None,
            counted: None,
            suspended_at: Time::ZERO,
            generation: 0,
            deadline_seq: None,
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

    /// Whether the call holds a live queue entry for `step` of range
    /// generation `generation`.
    pub fn has_entry(&self, step: u16, generation: u32) -> bool {
        self.state == CallState::Waiting
            && ((self.wait.generation == generation && self.wait.has(step))
                || self.spill.is_some_and(|s| s.generation == generation && s.has(step)))
    }

    /// A new range generation.
    pub fn next_generation(&mut self) -> u32 {
        self.generation = self.generation.wrapping_add(1);
        self.generation
    }

    /// Moves to `state`, invalidating queue entries and timers of the old
    /// one. The router clears queue entries first (`Router::set_state`).
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
    ids: IdIndex,
}

impl Calls {
    /// Takes a free slot (reusing one if possible) for call `id` (the next
    /// id in order) and returns its index.
    pub fn alloc(&mut self, id: CallId) -> u32 {
        self.live += 1;
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.slots.push(Call::vacant());
                (self.slots.len() - 1) as u32
            }
        };
        self.ids.insert(id.0, slot);
        self.slots[slot as usize].id = id;
        slot
    }

    /// Returns `slot` to the free list.
    pub fn release(&mut self, slot: u32) {
        if let Some(c) = self.slots.get_mut(slot as usize)
            && c.state != CallState::Free
        {
            c.set_state(CallState::Free);
            c.live = None;
            c.hedge = None;
            c.spill = None;
            c.wait.mask = 0;
            self.ids.remove(c.id.0);
            self.free.push(slot);
            self.live -= 1;
        }
    }

    /// The slot of live call `id`.
    pub fn find(&self, id: CallId) -> Option<u32> {
        self.ids.get(id.0)
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

    /// Slots allocated, free or not.
    pub fn slots(&self) -> u32 {
        self.slots.len() as u32
    }

    /// Every slot with its index, free or not.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &Call)> {
        self.slots.iter().enumerate().map(|(i, c)| (i as u32, c))
    }

    /// Slots allocated, free or not.
    #[cfg(test)]
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Entries of the call-id index.
    #[cfg(test)]
    pub fn index_len(&self) -> usize {
        self.ids.len()
    }
}

/// Id to call slot, for ids issued in increasing order (call ids, attempt
/// ids). A window holds the recent ids; when the ids still alive are few
/// compared with the window (one long-lived call among many short ones),
/// the window's oldest part moves into a sorted map that holds only the
/// live ones, so memory follows the ids alive, not the ids issued since
/// the oldest one alive.
#[derive(Debug, Default)]
pub(crate) struct IdIndex {
    base: u64,
    window: VecDeque<u32>,
    /// Live ids older than `base`.
    old: BTreeMap<u64, u32>,
    /// Live ids in all.
    live: usize,
}

/// A window entry whose id is no longer alive.
const DONE: u32 = u32::MAX;

impl IdIndex {
    /// Records `id` (greater than every id recorded before) for `slot`.
    /// Inlined, like [`IdIndex::remove`]: once per call and per attempt.
    #[inline(always)]
    pub fn insert(&mut self, id: u64, slot: u32) {
        if self.window.is_empty() {
            self.base = id;
        }
        debug_assert!(id >= self.base + self.window.len() as u64, "ids come in order");
        while self.base + (self.window.len() as u64) < id {
            self.window.push_back(DONE);
        }
        self.window.push_back(slot);
        self.live += 1;
        if self.window.len() > 2 * self.live + 64 {
            self.shrink();
        }
    }

    /// Moves the window's oldest entries out (live ones to the map) until
    /// it is no longer than the live ids plus a little: amortized O(1),
    /// since every entry moved or dropped was inserted once.
    #[cold]
    fn shrink(&mut self) {
        while self.window.len() > self.live + 32 {
            let Some(slot) = self.window.pop_front() else { break };
            if slot != DONE {
                self.old.insert(self.base, slot);
            }
            self.base += 1;
        }
    }

    /// The slot of live id `id`.
    pub fn get(&self, id: u64) -> Option<u32> {
        if id < self.base {
            return self.old.get(&id).copied();
        }
        let slot = *self.window.get(usize::try_from(id - self.base).ok()?)?;
        (slot != DONE).then_some(slot)
    }

    /// Forgets `id`.
    #[inline(always)]
    pub fn remove(&mut self, id: u64) {
        if id < self.base {
            if self.old.remove(&id).is_some() {
                self.live -= 1;
            }
            return;
        }
        let Some(s) = usize::try_from(id - self.base)
            .ok()
            .and_then(|i| self.window.get_mut(i))
        else {
            return;
        };
        if *s != DONE {
            *s = DONE;
            self.live -= 1;
        }
        while self.window.front() == Some(&DONE) {
            self.window.pop_front();
            self.base += 1;
        }
    }

    /// Entries held (window and map).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.window.len() + self.old.len()
    }
}

/// Attempt id to call slot, for the attempts outstanding.
#[derive(Debug, Default)]
pub(crate) struct AttemptIndex(IdIndex);

impl AttemptIndex {
    /// Records attempt `id` (the next id in order) of the call in `slot`.
    pub fn insert(&mut self, id: AttemptId, slot: u32) {
        self.0.insert(id.0, slot);
    }

    /// The slot of the call whose outstanding attempt `id` is.
    pub fn get(&self, id: AttemptId) -> Option<u32> {
        self.0.get(id.0)
    }

    /// Forgets attempt `id`.
    pub fn remove(&mut self, id: AttemptId) {
        self.0.remove(id.0);
    }

    /// Entries held (for tests of memory bounds).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: the index was a window from the oldest id alive, so one
    /// attempt hung for an hour among thousands a second kept every id
    /// issued meanwhile.
    #[test]
    fn one_long_lived_id_does_not_hold_the_window_open() {
        let mut ix = IdIndex::default();
        ix.insert(0, 7); // the straggler
        for id in 1..100_000u64 {
            ix.insert(id, (id % 5) as u32);
            ix.remove(id);
            assert!(ix.len() <= 2 * 2 + 64, "{} entries at id {id}", ix.len());
        }
        assert_eq!(ix.get(0), Some(7));
        assert_eq!(ix.get(5), None);
        ix.remove(0);
        assert_eq!(ix.get(0), None);
        assert_eq!(ix.len(), 0);
    }

    #[test]
    fn ids_in_the_window_and_in_the_map_are_found() {
        let mut ix = IdIndex::default();
        for id in 0..1_000u64 {
            ix.insert(id, id as u32);
        }
        for id in (0..1_000u64).filter(|id| id % 10 != 0) {
            ix.remove(id);
        }
        for id in 1_000..1_400u64 {
            ix.insert(id, id as u32);
            ix.remove(id);
        }
        for id in (0..1_000u64).step_by(10) {
            assert_eq!(ix.get(id), Some(id as u32));
        }
        assert!(ix.len() < 400, "{}", ix.len());
    }
}
