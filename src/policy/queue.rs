//! The router's waiting room: for each endpoint, one queue per SLA class,
//! shared fairly between the class's tenants.
//!
//! A call waits in the queues of the endpoints its next attempt may go to
//! (every member of a pool). When an endpoint has a free slot, the router
//! pops from the highest class that has a call waiting (strict priority
//! between classes). Inside a class, tenants share by weighted fair
//! queuing (start-time fair queuing): each entry gets a virtual finish tag
//! `max(V, F_t) + 1/w_t`, where `V` is the tag of the entry last popped in
//! the class and `F_t` the tenant's latest tag, and the smallest tag goes
//! first (ties: arrival order). A tenant's calls stay FIFO; over a busy
//! period tenants are served in proportion to their weights. Tags are
//! 128-bit (one weight-1 call costs 2^32), so they cannot saturate: 2^96
//! calls would be needed. O(log n) per push and pop.
//!
//! Entries are removed lazily: a call that leaves the queue another way
//! (served by another member of its pool, its deadline passed) stays as a
//! stale entry that the router skips when it pops it. The router tells the
//! queue when one of its live entries dies ([`EndpointQueue::dead`]), so
//! the queue knows exactly how many live calls of each class wait: that is
//! what shedding, reservations and `queue_depth` read. Stale entries are
//! dropped in bulk ([`EndpointQueue::compact`]) once they outnumber the
//! live ones, so memory stays proportional to the calls waiting.
//!
//! With shedding on, a second heap per class orders entries newest first,
//! so the victim (the newest call of the lowest class) is found in
//! O(log n) amortized instead of by a scan.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use super::config::SlaClass;

/// Virtual time one call of a weight-1 tenant costs.
const UNIT: u128 = 1 << 32;

/// One queued call: a slot of the router's call slab and the slot's epoch
/// when it was queued (a different epoch now means the entry is stale).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Waiter {
    /// Call slot.
    pub slot: u32,
    /// Epoch of the slot at enqueue time.
    pub epoch: u32,
    /// The chain step the call waits to be dispatched on.
    pub step: u16,
    /// The call's tenant.
    pub tenant: u32,
    /// The generation of the call's range the entry belongs to.
    pub generation: u32,
}

/// A queue entry: `(virtual finish tag, arrival number, waiter)`.
pub(crate) type Entry = (u128, u64, Waiter);

/// The queue of one class on one endpoint.
#[derive(Clone, Debug, Default)]
struct ClassQueue {
    heap: BinaryHeap<Reverse<Entry>>,
    /// The same entries newest first (only with shedding on).
    newest: BinaryHeap<(u64, Waiter)>,
    /// The latest finish tag of each tenant that queued here.
    finish: BTreeMap<u32, u128>,
    /// The tag of the entry popped last.
    vtime: u128,
    /// Live entries (the router reports deaths).
    live: u32,
}

/// The queues of one endpoint.
#[derive(Clone, Debug, Default)]
pub(crate) struct EndpointQueue {
    classes: [ClassQueue; 3],
    seq: u64,
    /// Whether the newest-first heaps are kept (shedding is on).
    track_newest: bool,
}

impl EndpointQueue {
    /// An empty queue; `track_newest` keeps what shedding needs.
    pub fn new(track_newest: bool) -> EndpointQueue {
        EndpointQueue {
            track_newest,
            ..EndpointQueue::default()
        }
    }

    /// Queues `w` (a live entry) for a call of class `class` whose tenant
    /// has weight `weight`.
    pub fn push(&mut self, class: SlaClass, weight: u32, w: Waiter) {
        let q = &mut self.classes[class.rank()];
        let last = q.finish.get(&w.tenant).copied().unwrap_or(0);
        let tag = q.vtime.max(last) + UNIT / u128::from(weight.max(1));
        q.finish.insert(w.tenant, tag);
        self.seq += 1;
        q.heap.push(Reverse((tag, self.seq, w)));
        if self.track_newest {
            q.newest.push((self.seq, w));
        }
        q.live += 1;
    }

    /// Removes the entry with the smallest tag of the highest non-empty
    /// class among those `allowed` (indexed by [`SlaClass::rank`]). The
    /// entry may be stale; if it is live, the caller reports it with
    /// [`EndpointQueue::dead`] or puts it back with
    /// [`EndpointQueue::restore`].
    pub fn pop_allowed(&mut self, allowed: [bool; 3]) -> Option<(SlaClass, Entry)> {
        for class in SlaClass::ALL {
            if !allowed[class.rank()] {
                continue;
            }
            let q = &mut self.classes[class.rank()];
            if let Some(Reverse(e)) = q.heap.pop() {
                q.vtime = q.vtime.max(e.0);
                return Some((class, e));
            }
        }
        None
    }

    /// Puts back a live entry [`pop_allowed`](EndpointQueue::pop_allowed)
    /// returned, in its place (its tag and arrival number are kept).
    pub fn restore(&mut self, class: SlaClass, e: Entry) {
        let q = &mut self.classes[class.rank()];
        q.heap.push(Reverse(e));
        q.live += 1;
    }

    /// One live entry of `class` died (its call left, or the entry was
    /// popped and not restored).
    pub fn dead(&mut self, class: SlaClass) {
        let q = &mut self.classes[class.rank()];
        debug_assert!(q.live > 0, "a queue's live count went below zero");
        q.live = q.live.saturating_sub(1);
    }

    /// Live calls of each class (indexed by [`SlaClass::rank`]).
    pub fn live(&self) -> [u32; 3] {
        [self.classes[0].live, self.classes[1].live, self.classes[2].live]
    }

    /// Live calls waiting, all classes.
    pub fn live_total(&self) -> u32 {
        self.classes.iter().map(|q| q.live).sum()
    }

    /// The newest live entry of `class` (one `live` accepts), dropping the
    /// stale entries on top of the newest-first heap. Needs shedding on.
    pub fn newest_live(&mut self, class: SlaClass, live: impl Fn(&Waiter) -> bool) -> Option<Waiter> {
        let q = &mut self.classes[class.rank()];
        while let Some(&(_, w)) = q.newest.peek() {
            if live(&w) {
                return Some(w);
            }
            q.newest.pop();
        }
        None
    }

    /// Entries held, live or stale.
    pub fn entries(&self) -> usize {
        self.classes.iter().map(|q| q.heap.len() + q.newest.len()).sum()
    }

    /// Drops every stale entry if they outnumber the live ones (plus a
    /// little slack): amortized O(1) per push, since each compaction
    /// removes at least half of what it visits.
    pub fn compact_if_stale(&mut self, live: impl Fn(&Waiter) -> bool) {
        let live_total = self.live_total() as usize;
        let per_entry = if self.track_newest { 2 } else { 1 };
        if self.entries() > per_entry * (2 * live_total + 32) {
            for q in &mut self.classes {
                q.heap.retain(|Reverse(e)| live(&e.2));
                q.newest.retain(|(_, w)| live(w));
            }
        }
    }

    /// Every entry of the main heaps, live or stale, with its class.
    pub fn iter(&self) -> impl Iterator<Item = (SlaClass, &Waiter)> {
        SlaClass::ALL
            .into_iter()
            .zip(&self.classes)
            .flat_map(|(c, q)| q.heap.iter().map(move |Reverse(e)| (c, &e.2)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(slot: u32, tenant: u32) -> Waiter {
        Waiter {
            slot,
            epoch: 0,
            step: 0,
            tenant,
            generation: 0,
        }
    }

    /// Regression: tags were u64 with a weight-1 call costing 2^32, so
    /// after about 2^32 pops every tag saturated at u64::MAX and the queue
    /// fell back to arrival order, ignoring weights. Here the virtual time
    /// starts where a u64 tag would saturate.
    #[test]
    fn weights_hold_past_two_to_the_thirty_two_pops() {
        let mut q = EndpointQueue::new(false);
        q.classes[0].vtime = u128::from(u64::MAX) - UNIT;
        // Tenant 1 (weight 3) queues 6 calls, then tenant 2 (weight 1) 6.
        for i in 0..6 {
            q.push(SlaClass::Gold, 3, w(i, 1));
        }
        for i in 6..12 {
            q.push(SlaClass::Gold, 1, w(i, 2));
        }
        let order: Vec<u32> = (0..8)
            .map(|_| q.pop_allowed([true; 3]).expect("entry").1.2.tenant)
            .collect();
        // Weighted fair: three of tenant 1 per one of tenant 2.
        assert_eq!(order, [1, 1, 1, 2, 1, 1, 1, 2]);
    }

    #[test]
    fn newest_live_skips_stale_entries_and_compaction_keeps_live_ones() {
        let mut q = EndpointQueue::new(true);
        for i in 0..100 {
            q.push(SlaClass::Bronze, 1, w(i, 0));
        }
        // Calls 50.. left; the router reports their deaths.
        for _ in 50..100 {
            q.dead(SlaClass::Bronze);
        }
        let live = |w: &Waiter| w.slot < 50;
        assert_eq!(q.newest_live(SlaClass::Bronze, live).map(|w| w.slot), Some(49));
        assert_eq!(q.live(), [0, 0, 50]);
        for _ in 0..40 {
            q.dead(SlaClass::Bronze);
        }
        let live = |w: &Waiter| w.slot < 10;
        q.compact_if_stale(live);
        assert_eq!(q.entries(), 20, "10 live entries in each heap");
        let popped: Vec<u32> = std::iter::from_fn(|| q.pop_allowed([true; 3]).map(|e| e.1.2.slot)).collect();
        assert_eq!(popped, (0..10).collect::<Vec<_>>());
    }
}
