//! The router's waiting room: for each endpoint, one queue per SLA class,
//! shared fairly between the class's tenants.
//!
//! A call waits in the queue of the endpoint its next attempt is bound for.
//! When that endpoint has a free slot, the router pops from the highest
//! class that has a call waiting (strict priority between classes). Inside
//! a class, tenants share by weighted fair queuing (start-time fair
//! queuing): each entry gets a virtual finish tag `max(V, F_t) + 1/w_t`,
//! where `V` is the tag of the entry last popped in the class and `F_t` the
//! tenant's latest tag, and the smallest tag goes first (ties: arrival
//! order). A tenant's calls stay FIFO; over a busy period tenants are
//! served in proportion to their weights. O(log n) per push and pop.
//!
//! Entries are removed lazily: a call that leaves the queue another way
//! (its deadline passed) stays as a stale entry that the router skips when
//! it pops it, or drops when it sheds.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use super::config::SlaClass;

/// Virtual time one call of a weight-1 tenant costs.
const UNIT: u64 = 1 << 32;

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
}

/// A queue entry: `(virtual finish tag, arrival number, waiter)`.
pub(crate) type Entry = (u64, u64, Waiter);

/// The queue of one class on one endpoint.
#[derive(Clone, Debug, Default)]
struct ClassQueue {
    heap: BinaryHeap<Reverse<Entry>>,
    /// The latest finish tag of each tenant that queued here.
    finish: BTreeMap<u32, u64>,
    /// The tag of the entry popped last.
    vtime: u64,
}

/// The queues of one endpoint.
#[derive(Clone, Debug, Default)]
pub(crate) struct EndpointQueue {
    classes: [ClassQueue; 3],
    seq: u64,
}

impl EndpointQueue {
    /// Queues `w` for a tenant of class `class` and weight `weight`.
    pub fn push(&mut self, class: SlaClass, weight: u32, w: Waiter) {
        let q = &mut self.classes[class.rank()];
        let last = q.finish.get(&w.tenant).copied().unwrap_or(0);
        let tag = q.vtime.max(last).saturating_add(UNIT / u64::from(weight.max(1)));
        q.finish.insert(w.tenant, tag);
        self.seq += 1;
        q.heap.push(Reverse((tag, self.seq, w)));
    }

    /// Removes the entry with the smallest tag of the highest non-empty
    /// class among those `allowed` (indexed by [`SlaClass::rank`]).
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

    /// Which classes have a live entry (one `live` accepts): drops the
    /// stale entries on top of each class's heap until a live one is on
    /// top. Amortized O(log n) per stale entry, O(1) otherwise.
    pub fn live_classes(&mut self, live: impl Fn(&Waiter) -> bool) -> [bool; 3] {
        let mut out = [false; 3];
        for (k, q) in self.classes.iter_mut().enumerate() {
            while let Some(Reverse(e)) = q.heap.peek() {
                if live(&e.2) {
                    out[k] = true;
                    break;
                }
                q.heap.pop();
            }
        }
        out
    }

    /// Puts back an entry [`pop`](EndpointQueue::pop) returned, in its
    /// place (its tag and arrival number are kept).
    pub fn restore(&mut self, class: SlaClass, e: Entry) {
        self.classes[class.rank()].heap.push(Reverse(e));
    }

    /// Whether no entry (live or stale) is queued.
    pub fn is_empty(&self) -> bool {
        self.classes.iter().all(|q| q.heap.is_empty())
    }

    /// Drops the entries `live` rejects; then, while more than `max` are
    /// left, removes and returns the newest entry of the lowest class.
    pub fn shed(&mut self, live: impl Fn(&Waiter) -> bool, max: usize) -> Vec<Waiter> {
        for q in &mut self.classes {
            q.heap.retain(|Reverse(e)| live(&e.2));
        }
        let mut len: usize = self.classes.iter().map(|q| q.heap.len()).sum();
        let mut shed = Vec::new();
        while len > max {
            let Some(q) = self.classes.iter_mut().rev().find(|q| !q.heap.is_empty()) else {
                break;
            };
            let newest = q.heap.iter().map(|Reverse(e)| e.1).max();
            let mut victim = None;
            q.heap.retain(|Reverse(e)| {
                let hit = Some(e.1) == newest;
                if hit {
                    victim = Some(e.2);
                }
                !hit
            });
            shed.extend(victim);
            len -= 1;
        }
        shed
    }

    /// Every entry, live or stale, with its class.
    #[cfg(test)]
    pub fn iter(&self) -> impl Iterator<Item = (SlaClass, &Waiter)> {
        SlaClass::ALL
            .into_iter()
            .zip(&self.classes)
            .flat_map(|(c, q)| q.heap.iter().map(move |Reverse(e)| (c, &e.2)))
    }
}
