//! Waiting limits inside [`Router`]: a tenant's `max_wait` in an endpoint's
//! queue.
//!
//! A call queued for a busy endpoint starts a wait; the wait lasts until its
//! next dispatch, across re-routes. At `max_wait` after the wait started the
//! call moves on to a fallback step: dispatched there at once if the step
//! can take it, else it also joins that step's queue (it "spills") and goes
//! to whichever endpoint takes it first.

use super::calls::CallState;
use super::queue::Waiter;
use super::router::Router;
use super::types::Trigger;
use crate::time::Time;

impl Router {
    /// If the waiting call in `slot` has waited its tenant's `max_wait`,
    /// dispatches it on the first later step of its chain (wrapping, before
    /// any suspend step) that can take it now, on another endpoint; if none
    /// can, queues it also on the first such step that is not blocked.
    pub(super) fn max_wait_over(&mut self, now: Time, slot: u32) {
        let c = self.calls.get(slot);
        if c.state != CallState::Waiting || c.spilled {
            return;
        }
        let tp = &self.plan.tenants[c.tenant as usize];
        let (Some(max_wait), Some(since)) = (tp.max_wait, c.waiting_since) else {
            return;
        };
        if now < since.saturating_add(max_wait) {
            return;
        }
        let chain = &tp.workflows[c.workflow as usize].chain;
        let n = chain.len();
        let here = chain[c.wait_step as usize].endpoint;
        let capped = self.tenant_capped(c.tenant);
        let mut spill = None;
        for k in 1..n {
            let j = (c.wait_step as usize + k) % n;
            let step = chain[j];
            if step.suspend {
                break;
            }
            let e = step.endpoint;
            if e == here || self.blocked(now, e).is_some() || self.limits_ready(now, e, c.tokens) > now {
                continue;
            }
            let es = &self.endpoints[e.0 as usize];
            let free = es.queue.is_empty() && es.in_flight < self.plan.endpoints[e.0 as usize].max_concurrency;
            if free && !capped {
                self.calls.get_mut(slot).trigger = Some(Trigger::Saturated);
                self.dispatch(now, slot, j as u16, false);
                return;
            }
            spill.get_or_insert((j, e));
        }
        let Some((j, e)) = spill else {
            return;
        };
        let (class, weight) = (tp.class, tp.weight);
        let c = self.calls.get_mut(slot);
        c.spilled = true;
        let w = Waiter {
            slot,
            epoch: c.epoch,
            step: j as u16,
            tenant: c.tenant,
        };
        self.endpoints[e.0 as usize].queue.push(class, weight, w);
        self.shed(now, e);
        self.pump(now, e);
    }
}
