//! The router's waiting room: for each endpoint, one FIFO per SLA class.
//!
//! A call waits in the queue of the endpoint its next attempt is bound for.
//! When that endpoint has a free slot, the router pops the oldest call of
//! the highest class that has one: strict priority between classes, FIFO
//! inside a class, O(1) per pop. Entries are removed lazily: a call that
//! leaves the queue another way (its deadline passed) stays as a stale entry
//! that the router skips when it pops it.

use std::collections::VecDeque;

use super::config::SlaClass;

/// One queued call: a slot of the router's call slab and the slot's epoch
/// when it was queued (a different epoch now means the entry is stale).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Waiter {
    /// Call slot.
    pub slot: u32,
    /// Epoch of the slot at enqueue time.
    pub epoch: u32,
    /// The chain step the call waits to be dispatched on.
    pub step: u16,
}

/// The queues of one endpoint.
#[derive(Clone, Debug, Default)]
pub(crate) struct EndpointQueue {
    classes: [VecDeque<Waiter>; 3],
}

impl EndpointQueue {
    /// Appends `w` behind the calls of its class.
    pub fn push(&mut self, class: SlaClass, w: Waiter) {
        self.classes[class.rank()].push_back(w);
    }

    /// Removes the oldest entry of the highest non-empty class.
    pub fn pop(&mut self) -> Option<(SlaClass, Waiter)> {
        for class in SlaClass::ALL {
            if let Some(w) = self.classes[class.rank()].pop_front() {
                return Some((class, w));
            }
        }
        None
    }

    /// Whether no entry (live or stale) is queued.
    pub fn is_empty(&self) -> bool {
        self.classes.iter().all(VecDeque::is_empty)
    }

    /// Every entry, live or stale.
    #[cfg(test)]
    pub fn iter(&self) -> impl Iterator<Item = &Waiter> {
        self.classes.iter().flatten()
    }
}
