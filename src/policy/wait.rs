//! Waiting limits inside [`Router`]: a tenant's `max_wait` in an endpoint's
//! queue, and deadline awareness from per-endpoint latency estimates.
//!
//! A call queued for a busy pool starts a wait; the wait lasts until its
//! next dispatch, across re-routes. At `max_wait` after the wait started the
//! call moves on to a fallback pool: dispatched there at once if an
//! endpoint of it can take it, else it also joins the queues of that pool
//! (it "spills") and goes to whichever endpoint takes it first.
//!
//! Each endpoint keeps an estimate of attempt latency: an exponentially
//! weighted moving average (weight 1/8, integer nanoseconds) of its
//! successful attempts, starting from its `expected_latency`. A call whose
//! deadline no step of its chain can make by these estimates fails early.

use super::calls::{CallState, Range};
use super::router::Router;
use super::timers::TimerKind;
use super::types::{AuditKind, EndpointId, FailReason, Trigger};
use crate::time::{Span, Time};

impl Router {
    /// If the waiting call in `slot` has waited its tenant's `max_wait`,
    /// dispatches it on an endpoint of the first later pool of its chain
    /// (wrapping, before any suspend pool) that can take it now, on an
    /// endpoint it does not wait for already; if none can, queues it also
    /// on every endpoint of the first such pool with an endpoint that is
    /// not blocked and whose rate limits admit it.
    pub(super) fn max_wait_over(&mut self, now: Time, slot: u32) {
        let c = self.calls.get(slot);
        if c.state != CallState::Waiting || c.spill.is_some() {
            return;
        }
        let tp = &self.plan.tenants[c.tenant as usize];
        let (Some(max_wait), Some(since)) = (tp.max_wait, c.waiting_since) else {
            return;
        };
        if now < since.saturating_add(max_wait) {
            return;
        }
        let (tenant, workflow) = (c.tenant as usize, c.workflow as usize);
        let wp = &tp.workflows[workflow];
        let n = wp.pools.len();
        let here = wp.pool_of[c.wait.lo as usize] as usize;
        let waits_on: Vec<EndpointId> = (c.wait.lo..c.wait.hi).map(|s| wp.chain[s as usize].endpoint).collect();
        let tokens = c.tokens;
        let mut spill = None;
        for k in 1..n {
            let q = (here + k) % n;
            let pool = &self.plan.tenants[tenant].workflows[workflow].pools[q];
            if pool.suspend {
                break;
            }
            let (lo, hi) = (pool.lo, pool.hi);
            if self.find_candidates(now, slot, q as u16, lo, hi, None, &waits_on) {
                if self.fail_if_hopeless(now, now, slot) {
                    return;
                }
                let step = self.balance(slot);
                self.calls.get_mut(slot).trigger = Some(Trigger::Saturated);
                self.dispatch(now, slot, step, false);
                return;
            }
            let chain = &self.plan.tenants[tenant].workflows[workflow].chain;
            let eligible = (lo..hi).any(|s| {
                let e = chain[s as usize].endpoint;
                !waits_on.contains(&e) && self.blocked(now, e).is_none() && self.limits_ready(now, e, tokens) <= now
            });
            if eligible && spill.is_none() {
                spill = Some((lo, hi));
            }
        }
        let Some((lo, hi)) = spill else {
            return;
        };
        let c = self.calls.get_mut(slot);
        let generation = c.next_generation();
        c.spill = Some(Range::new(lo, hi, generation));
        let members = self.push_entries(now, slot, lo, hi, &waits_on);
        self.after_push(now, &members);
    }
}

/// Weight of a new sample in an endpoint's latency estimate.
const EWMA_SHIFT: u32 = 3;

/// `prev + (sample - prev) / 8`, or `sample` without a previous value.
pub(super) fn ewma(prev: Option<Span>, sample: Span) -> Span {
    match prev {
        None => sample,
        Some(prev) => {
            let (p, s) = (i128::from(prev.as_nanos()), i128::from(sample.as_nanos()));
            let next = p + ((s - p) >> EWMA_SHIFT);
            Span::from_nanos(u64::try_from(next.max(0)).unwrap_or(u64::MAX))
        }
    }
}

impl Router {
    /// Feeds the latency of a successful attempt on `e` to its estimate:
    /// `est += (sample - est) / 8`, or `sample` for the first one.
    pub(super) fn observe_latency(&mut self, e: EndpointId, sample: Span) {
        let est = &mut self.endpoints[e.0 as usize].latency;
        *est = Some(ewma(*est, sample));
    }

    /// The smallest latency estimate over the serving steps of the call's
    /// chain, with its endpoint; `None` if a step has no estimate.
    fn best_estimate(&self, slot: u32) -> Option<(Span, EndpointId)> {
        let c = self.calls.get(slot);
        let chain = &self.plan.tenants[c.tenant as usize].workflows[c.workflow as usize].chain;
        let mut best: Option<(Span, EndpointId)> = None;
        for s in chain.iter().filter(|s| !s.suspend) {
            let est = self.endpoints[s.endpoint.0 as usize].latency?;
            if best.is_none_or(|(b, _)| est < b) {
                best = Some((est, s.endpoint));
            }
        }
        best
    }

    /// Fails the call in `slot` (at `now`) if an attempt dispatched at `at`
    /// could not make its deadline by the estimates: `at + estimate >
    /// deadline` for every serving step. Returns whether it did.
    pub(super) fn fail_if_hopeless(&mut self, now: Time, at: Time, slot: u32) -> bool {
        let c = self.calls.get(slot);
        let deadline = c.deadline;
        if deadline == Time::MAX {
            return false;
        }
        // The usual answer, found at the first step that makes the deadline
        // (or has no estimate): not hopeless. Only a call no step can save
        // needs the whole minimum, for its audit event.
        let chain = &self.plan.tenants[c.tenant as usize].workflows[c.workflow as usize].chain;
        let saved = chain.iter().filter(|s| !s.suspend).any(|s| {
            self.endpoints[s.endpoint.0 as usize]
                .latency
                .is_none_or(|est| at.saturating_add(est) <= deadline)
        });
        if saved {
            #[cfg(test)]
            assert!(
                !matches!(self.best_estimate(slot), Some((est, _)) if at.saturating_add(est) > deadline),
                "the short cut agrees with the best estimate"
            );
            return false;
        }
        match self.best_estimate(slot) {
            Some((estimate, e)) if at.saturating_add(estimate) > deadline => {
                let kind = AuditKind::DeadlineUnreachable { estimate, deadline };
                self.audit(now, Some(slot), Some(e), kind);
                self.fail(slot, FailReason::DeadlineUnreachable);
                true
            }
            _ => false,
        }
    }

    /// Arms the timer that fails the waiting call in `slot` at the first
    /// instant its deadline becomes unreachable by the current estimates.
    pub(super) fn arm_hopeless(&mut self, now: Time, slot: u32) {
        let c = self.calls.get(slot);
        if c.state != CallState::Waiting || c.deadline == Time::MAX {
            return;
        }
        let (deadline, call) = (c.deadline, c.id.0);
        let Some((estimate, _)) = self.best_estimate(slot) else {
            return;
        };
        let Some(last) = deadline.as_nanos().checked_sub(estimate.as_nanos()) else {
            return;
        };
        let at = Time::from_nanos(last.saturating_add(1));
        if at > now && at < deadline {
            self.timers.set(at, TimerKind::Hopeless { slot, call });
        }
    }
}
