//! Test-only views of [`Router`]'s internals: structure sizes (for memory
//! bounds) and a full consistency check of its bookkeeping.

use super::calls::CallState;
use super::config::SlaClass;
use super::lifecycle::admits;
use super::route::entry_live;
use super::router::Router;
use super::types::EndpointId;

/// Paths the router took, for tests that check they are reached.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Seen {
    /// A hedge leg was dispatched.
    pub hedge: bool,
    /// A call moved on after its `max_wait`.
    pub saturated: bool,
    /// A call went out as its tenant's probe.
    pub probe: bool,
    /// A pool had two or more candidates to balance over.
    pub balanced: bool,
}

/// Entries held by each internal structure.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Sizes {
    /// Call slots allocated, free or not.
    pub call_slots: usize,
    /// Call-id index entries.
    pub call_index: usize,
    /// Attempt-id index entries.
    pub attempt_index: usize,
    /// Timer entries (heap and attempt FIFOs), live or not.
    pub timers: usize,
    /// Queue entries over every endpoint, live or not.
    pub queues: usize,
    /// Suspended-call entries over every tenant, live or not.
    pub suspended: usize,
    /// Parked-call entries, live or not.
    pub parked: usize,
    /// Actions and events not yet polled.
    pub outputs: usize,
}

impl Sizes {
    /// The largest of the sizes.
    pub fn max(&self) -> usize {
        [
            self.call_slots,
            self.call_index,
            self.attempt_index,
            self.timers,
            self.queues,
            self.suspended,
            self.parked,
        ]
        .into_iter()
        .max()
        .unwrap_or(0)
    }
}

impl Router {
    /// Call slots allocated, free or not.
    pub(crate) fn calls_capacity(&self) -> usize {
        self.calls.capacity()
    }

    /// Timer entries held, live or not.
    pub(crate) fn timer_entries(&self) -> usize {
        self.timers.len()
    }

    /// Attempt-index entries held.
    pub(crate) fn attempt_index_len(&self) -> usize {
        self.attempts.len()
    }

    /// Calls alive.
    pub(crate) fn live_calls(&self) -> usize {
        self.calls.live()
    }

    /// Entries in every internal structure.
    pub(crate) fn sizes(&self) -> Sizes {
        Sizes {
            call_slots: self.calls.capacity(),
            call_index: self.calls.index_len(),
            attempt_index: self.attempts.len(),
            timers: self.timers.len(),
            queues: self.endpoints.iter().map(|e| e.queue.entries()).sum(),
            suspended: self.tenants.iter().map(|t| t.suspended.len()).sum(),
            parked: self.parked.len(),
            outputs: self.actions.len() + self.events.len(),
        }
    }

    /// Panics (naming `context`) if the router's bookkeeping is
    /// inconsistent or a usable free slot is left idle while a call waits.
    pub(crate) fn check_invariants(&self, context: &str) {
        let now = self.now;
        let n = self.endpoints.len();
        let mut per_endpoint = vec![0u32; n];
        let mut per_class = vec![[0u32; 3]; n];
        let mut queued = vec![[0u32; 3]; n];
        let (mut held, mut flying, mut suspended) = (0usize, 0usize, 0usize);
        for (_, c) in self.calls.iter() {
            for l in [c.live, c.hedge].into_iter().flatten() {
                per_endpoint[l.endpoint.0 as usize] += 1;
                per_class[l.endpoint.0 as usize][c.class.rank()] += 1;
            }
            assert!(
                c.hedge.is_none() || c.live.is_some(),
                "hedge leg without a first leg; {context}"
            );
            match c.state {
                CallState::Free => {}
                CallState::InFlight => flying += 1,
                CallState::Suspended => {
                    suspended += 1;
                    held += 1;
                }
                _ => held += 1,
            }
            if c.state == CallState::Waiting {
                assert!(
                    c.wait.mask != 0 || c.spill.is_some_and(|s| s.mask != 0),
                    "call {:?} waits nowhere; {context}",
                    c.id
                );
                let chain = &self.plan.tenants[c.tenant as usize].workflows[c.workflow as usize].chain;
                for step in c.wait.entries().chain(c.spill.into_iter().flat_map(|s| s.entries())) {
                    queued[chain[step as usize].endpoint.0 as usize][c.class.rank()] += 1;
                }
            } else {
                assert!(
                    c.wait.mask == 0 && c.spill.is_none(),
                    "call {:?} holds entries while {:?}; {context}",
                    c.id,
                    c.state
                );
            }
        }
        assert_eq!(self.waiting(), held, "waiting(); {context}");
        assert_eq!(self.calls_in_flight, flying, "calls in flight; {context}");
        assert_eq!(self.suspended_calls, suspended, "suspended calls; {context}");
        for (t, ts) in self.tenants.iter().enumerate() {
            if let Some(p) = ts.probe {
                let slot = self
                    .calls
                    .find(p)
                    .unwrap_or_else(|| panic!("tenant {t}'s probe {p:?} is gone; {context}"));
                assert!(
                    self.calls.get(slot).probe,
                    "tenant {t}'s probe is not marked; {context}"
                );
            }
        }
        for (i, es) in self.endpoints.iter().enumerate() {
            let e = EndpointId(i as u32);
            assert_eq!(es.in_flight, per_endpoint[i], "in_flight({i}); {context}");
            assert_eq!(es.class_in_flight, per_class[i], "class in_flight({i}); {context}");
            assert_eq!(es.queue.live(), queued[i], "live queue counts({i}); {context}");
            let live_entries = es.queue.iter().filter(|(_, w)| entry_live(&self.calls, w)).count() as u32;
            assert_eq!(
                live_entries,
                es.queue.live_total(),
                "live entries in queue({i}); {context}"
            );
            let plan = &self.plan.endpoints[i];
            let free = es.in_flight < plan.max_concurrency;
            if !free || self.blocked(now, e).is_some() {
                continue;
            }
            let waiting = es.queue.live().map(|n| n > 0);
            assert!(
                !waiting.contains(&true)
                    || SlaClass::ALL
                        .into_iter()
                        .any(|k| waiting[k.rank()] && admits(plan, es, k, waiting)),
                "endpoint {i}: reservations shut every waiting class out of a free slot; {context}"
            );
            for (class, w) in es.queue.iter() {
                // Reserved slots: a free slot may stay idle while a call
                // waits only if the reservation rule keeps its class out.
                if !entry_live(&self.calls, w) || self.tenant_capped(w.tenant) || !admits(plan, es, class, waiting) {
                    continue;
                }
                let c = self.calls.get(w.slot);
                assert!(
                    self.limits_ready(now, e, c.tokens) > now,
                    "endpoint {i} has a free slot while call {:?} waits for it; {context}",
                    c.id
                );
            }
        }
    }

    /// Whether some endpoint keeps a free slot from a waiting call because
    /// the reservation rule does not admit its class.
    pub(crate) fn reservation_holding(&self) -> bool {
        self.endpoints.iter().enumerate().any(|(i, es)| {
            let plan = &self.plan.endpoints[i];
            if es.in_flight >= plan.max_concurrency || self.blocked(self.now, EndpointId(i as u32)).is_some() {
                return false;
            }
            let waiting = es.queue.live().map(|n| n > 0);
            SlaClass::ALL
                .into_iter()
                .any(|k| waiting[k.rank()] && !admits(plan, es, k, waiting))
        })
    }
}
