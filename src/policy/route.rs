//! Routing inside [`Router`]: the walk down a call's chain pool by pool,
//! the choice of an endpoint inside a pool, queueing a call on every
//! endpoint of its pool, shedding, and pumping queued calls into free
//! slots.
//!
//! This module owns where a call goes next; `lifecycle` owns what happens
//! once it is dispatched.

use super::balance::{Candidate, pick};
use super::calls::{CallState, Range};
use super::config::{SlaClass, Tier};
use super::lifecycle::admits;
use super::queue::Waiter;
use super::router::Router;
use super::timers::TimerKind;
use super::types::{AuditKind, EndpointId, FailReason, Trigger};
use crate::time::Time;

/// Where the chain walk of [`Router::route`] stopped.
enum Walk {
    /// Dispatch or queue on steps `lo..hi` of pool `p`; `ready` is the
    /// first of them found not blocked and within its rate limits, on
    /// endpoint `endpoint`.
    Pool {
        p: u16,
        lo: u16,
        hi: u16,
        ready: u16,
        endpoint: EndpointId,
    },
    /// A suspend pool was reached first.
    Suspend(u16),
    /// Every pool is unavailable; wake up no later than this.
    Park(Option<Time>),
}

impl Router {
    pub(super) fn chain(&self, tenant: u32, workflow: u32) -> Option<&[super::plan::Step]> {
        let t = self.plan.tenants.get(tenant as usize)?;
        let w = t.workflows.get(workflow as usize)?;
        Some(&w.chain)
    }

    /// Why endpoint `e` cannot take any attempt now (cooling down after a
    /// 429, breaker open or out of probes), if it cannot.
    pub(super) fn blocked(&self, now: Time, e: EndpointId) -> Option<Trigger> {
        let es = &self.endpoints[e.0 as usize];
        if now < es.cooldown_until {
            Some(Trigger::RateLimited)
        } else if es.breaker.as_ref().is_some_and(|b| !b.allows()) {
            Some(Trigger::BreakerOpen)
        } else {
            None
        }
    }

    /// When `e`'s rate limits admit a call of `tokens` tokens (`now` if
    /// they do now).
    pub(super) fn limits_ready(&self, now: Time, e: EndpointId, tokens: u64) -> Time {
        let es = &self.endpoints[e.0 as usize];
        let rpm = es.rpm.as_ref().map_or(now, |b| now + b.wait(now, 1));
        let tpm = es.tpm.as_ref().map_or(now, |b| now + b.wait(now, tokens));
        rpm.max(tpm)
    }

    /// Whether `e` can take a call of `tokens` tokens now, rate limits
    /// included (its slots aside).
    fn eligible(&self, now: Time, e: EndpointId, tokens: u64) -> bool {
        self.blocked(now, e).is_none() && self.limits_ready(now, e, tokens) <= now
    }

    /// Whether `e` could dispatch a call at once: eligible, a free slot,
    /// nobody waiting for it.
    pub(super) fn free(&self, now: Time, e: EndpointId, tokens: u64) -> bool {
        self.has_room(e) && self.eligible(now, e, tokens)
    }

    /// Whether `e` has a free slot and nobody waiting for it.
    fn has_room(&self, e: EndpointId) -> bool {
        let es = &self.endpoints[e.0 as usize];
        es.queue.live_total() == 0 && es.in_flight < self.plan.endpoints[e.0 as usize].max_concurrency
    }

    /// The chain step a call of `tenant`/`workflow` with session affinity
    /// to `e` starts at: the first serving step on `e`, if `e` is not
    /// blocked and its rate limits admit `tokens` now. `None`: no pin.
    /// The caller has checked that tenant and workflow exist.
    pub(super) fn affinity_step(
        &self,
        now: Time,
        tenant: u32,
        workflow: u32,
        e: EndpointId,
        tokens: u64,
    ) -> Option<usize> {
        let chain = self.chain(tenant, workflow)?;
        let i = chain.iter().position(|s| !s.suspend && s.endpoint == e)?;
        self.eligible(now, e, tokens).then_some(i)
    }

    /// Finds the pool for the call's next attempt and dispatches, queues,
    /// parks or suspends it.
    pub(super) fn route(&mut self, now: Time, slot: u32) {
        let c = self.calls.get(slot);
        if now >= c.deadline {
            self.fail(slot, FailReason::DeadlineUnreachable);
            return;
        }
        if self.fail_if_hopeless(now, now, slot) {
            return;
        }
        let c = self.calls.get(slot);
        let (tenant, workflow, start, pin, tokens) = (c.tenant, c.workflow, c.next_pool, c.pin, c.tokens);
        let wp = &self.plan.tenants[tenant as usize].workflows[workflow as usize];
        let n = wp.pools.len();
        let mut skip = None;
        // Pools every endpoint of which was blocked: the call left them.
        let mut left: Vec<(Tier, EndpointId)> = Vec::new();
        let mut wake: Option<Time> = None;
        let mut walk = Walk::Park(None);
        for k in 0..n {
            let p = (start as usize + k) % n;
            let pool = &wp.pools[p];
            if pool.suspend {
                walk = Walk::Suspend(p as u16);
                break;
            }
            let (lo, hi) = match pin {
                Some(s) if k == 0 => (s, s + 1),
                _ => (pool.lo, pool.hi),
            };
            let (mut ready, mut all_blocked) = (None, true);
            let mut first_block = None;
            for step in lo..hi {
                let e = wp.chain[step as usize].endpoint;
                if let Some(t) = self.blocked(now, e) {
                    first_block.get_or_insert((t, e));
                    continue;
                }
                all_blocked = false;
                let at = self.limits_ready(now, e, tokens);
                if at > now {
                    wake = Some(wake.map_or(at, |w| w.min(at)));
                    continue;
                }
                ready = Some((step, e));
                break;
            }
            if let Some((ready, endpoint)) = ready {
                walk = Walk::Pool {
                    p: p as u16,
                    lo,
                    hi,
                    ready,
                    endpoint,
                };
                break;
            }
            match first_block.filter(|_| all_blocked) {
                Some((t, e)) => {
                    skip.get_or_insert(t);
                    left.push((pool.tier, e));
                }
                None => {
                    skip.get_or_insert(Trigger::RateLimited);
                }
            }
        }
        if let Walk::Park(_) = walk {
            walk = Walk::Park(wake);
        }
        let c = self.calls.get_mut(slot);
        if let Some(t) = skip {
            c.trigger.get_or_insert(t);
        }
        if let Walk::Pool { lo, hi, .. } = walk
            && c.pin.is_some_and(|s| (s, s + 1) != (lo, hi))
        {
            // The walk went past the session's pool: the pin is spent.
            c.pin = None;
        }
        for (tier, e) in left {
            self.note_left(now, slot, tier, e);
        }
        match walk {
            Walk::Pool {
                p,
                lo,
                hi,
                ready,
                endpoint,
            } => self.queue_or_dispatch(now, slot, p, lo, hi, (ready, endpoint)),
            Walk::Suspend(p) => self.suspend(now, slot, p),
            Walk::Park(wake) => {
                self.set_state(slot, CallState::Parked);
                let epoch = self.calls.get(slot).epoch;
                if self.parked.len() > 2 * self.calls.live() + 32 {
                    let calls = &self.calls;
                    self.parked
                        .retain(|&(s, e)| calls.get(s).epoch == e && calls.get(s).state == CallState::Parked);
                }
                self.parked.push((slot, epoch));
                // Rate limits have no timer of their own: wake the parked
                // calls when the first bucket has refilled, unless a
                // wake-up at or before then is already pending (one per
                // parked call would multiply at every wake-up).
                if let Some(at) = wake
                    && self.unpark_at.is_none_or(|p| p > at)
                {
                    self.unpark_at = Some(at);
                    self.timers.set(at, TimerKind::Unpark);
                }
            }
        }
    }

    /// Whether tenant `t` has its `max_concurrency` attempts in flight.
    pub(super) fn tenant_capped(&self, t: u32) -> bool {
        let t = t as usize;
        self.tenants[t].in_flight >= self.plan.tenants[t].max_concurrency
    }

    /// Collects in `self.candidates` the endpoints of steps `lo..hi` of the
    /// call's chain that could dispatch it at once (none if its tenant is at
    /// its cap); returns whether there is any. `skip`: endpoints to leave
    /// out. `ready`: a step of `lo..hi` the caller has just found not
    /// blocked and within its rate limits at `now`, every step before it
    /// not (the chain walk of `route` knows it): those are not checked
    /// again. The buffer is kept in the router and reused: a fresh vector
    /// per routed call was one allocation per call.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn find_candidates(
        &mut self,
        now: Time,
        slot: u32,
        p: u16,
        lo: u16,
        hi: u16,
        ready: Option<u16>,
        skip: &[EndpointId],
    ) -> bool {
        #[cfg(test)]
        if let Some(r) = ready {
            let c = self.calls.get(slot);
            let chain = &self.plan.tenants[c.tenant as usize].workflows[c.workflow as usize].chain;
            let eligible = |s: u16| self.eligible(now, chain[s as usize].endpoint, c.tokens);
            assert!(
                eligible(r) && !(lo..r).any(eligible),
                "`ready` is the first eligible step"
            );
        }
        let mut out = std::mem::take(&mut self.candidates);
        out.clear();
        let c = self.calls.get(slot);
        if !self.tenant_capped(c.tenant) {
            let tp = &self.plan.tenants[c.tenant as usize];
            let wp = &tp.workflows[c.workflow as usize];
            let pool = &wp.pools[p as usize];
            let p2c = tp.balance == super::config::BalancePolicy::P2cPeakEwma;
            for step in ready.unwrap_or(lo)..hi {
                let e = wp.chain[step as usize].endpoint;
                if skip.contains(&e) || !self.has_room(e) {
                    continue;
                }
                if Some(step) != ready && !self.eligible(now, e, c.tokens) {
                    continue;
                }
                let es = &self.endpoints[e.0 as usize];
                out.push(Candidate {
                    step,
                    weight: pool.weights[(step - pool.lo) as usize],
                    in_flight: es.in_flight,
                    latency: if p2c && hi - lo > 1 { es.peak.read(now) } else { None },
                });
            }
        }
        self.candidates = out;
        !self.candidates.is_empty()
    }

    /// Picks one of the candidates [`find_candidates`](Router::find_candidates)
    /// found (at least one) by the tenant's balancing policy.
    pub(super) fn balance(&mut self, slot: u32) -> u16 {
        let policy = self.plan.tenants[self.calls.get(slot).tenant as usize].balance;
        #[cfg(test)]
        {
            self.seen.balanced |= self.candidates.len() > 1;
        }
        pick(policy, &self.candidates, &mut self.rng)
    }

    /// Dispatches the call on a member of steps `lo..hi` of pool `p` that
    /// can take it at once, or queues it on every member. `ready`: the
    /// first member not blocked and within its rate limits, and its
    /// endpoint.
    fn queue_or_dispatch(&mut self, now: Time, slot: u32, p: u16, lo: u16, hi: u16, ready: (u16, EndpointId)) {
        if let Some(step) = self.dispatch_step(now, slot, p, lo, hi, ready) {
            self.dispatch(now, slot, step, false);
            return;
        }
        self.set_state(slot, CallState::Waiting);
        let c = self.calls.get_mut(slot);
        let generation = c.next_generation();
        c.wait = Range::new(lo, hi, generation);
        let since = *c.waiting_since.get_or_insert(now);
        let members = self.push_entries(now, slot, lo, hi, &[]);
        let c = self.calls.get(slot);
        let tp = &self.plan.tenants[c.tenant as usize];
        if let Some(max_wait) = tp.max_wait {
            let at = since.saturating_add(max_wait);
            if at > now {
                let call = c.id.0;
                self.timers.set(at, TimerKind::MaxWait { slot, call });
            }
        }
        self.after_push(now, &members);
        self.arm_hopeless(now, slot);
        // Waited out its `max_wait` before (then was re-routed): move on.
        self.max_wait_over(now, slot);
    }

    /// The member of pool `p` (steps `lo..hi`, `ready` as for
    /// [`queue_or_dispatch`](Router::queue_or_dispatch)) the call in `slot`
    /// is dispatched on at once, by its tenant's balancing policy, if any.
    fn dispatch_step(
        &mut self,
        now: Time,
        slot: u32,
        p: u16,
        lo: u16,
        hi: u16,
        ready: (u16, EndpointId),
    ) -> Option<u16> {
        let (step, e) = ready;
        if hi - lo == 1 {
            // A pool of one (most chains): its member is the only possible
            // candidate, and the balancer draws nothing for one.
            let capped = self.tenant_capped(self.calls.get(slot).tenant);
            return (!capped && self.has_room(e)).then_some(step);
        }
        self.find_candidates(now, slot, p, lo, hi, Some(step), &[])
            .then(|| self.balance(slot))
    }

    /// Queues the waiting call in `slot` on every step of `lo..hi` whose
    /// endpoint is not in `skip`, marking the entries in its wait range or
    /// (if `lo` is outside it) its spill range; returns the endpoints. An
    /// eligible endpoint whose rate limit is spent for the call gets a
    /// `Pump` timer for when it refills.
    pub(super) fn push_entries(
        &mut self,
        now: Time,
        slot: u32,
        lo: u16,
        hi: u16,
        skip: &[EndpointId],
    ) -> Vec<EndpointId> {
        let c = self.calls.get(slot);
        let (class, epoch, tenant, tokens) = (c.class, c.epoch, c.tenant, c.tokens);
        let tp = &self.plan.tenants[tenant as usize];
        let weight = tp.weight;
        let chain = &tp.workflows[c.workflow as usize].chain;
        let mut members = Vec::with_capacity((hi - lo) as usize);
        for step in lo..hi {
            let e = chain[step as usize].endpoint;
            if skip.contains(&e) {
                continue;
            }
            let c = self.calls.get(slot);
            let generation = if c.wait.holds(step) {
                c.wait.generation
            } else {
                c.spill.map_or(0, |s| s.generation)
            };
            let w = Waiter {
                slot,
                epoch,
                step,
                tenant,
                generation,
            };
            self.endpoints[e.0 as usize].queue.push(class, weight, w);
            let c = self.calls.get_mut(slot);
            if c.wait.holds(step) {
                c.wait.set(step, true);
            } else if let Some(s) = c.spill.as_mut() {
                s.set(step, true);
            }
            members.push(e);
            if self.blocked(now, e).is_none() {
                let at = self.limits_ready(now, e, tokens);
                let es = &mut self.endpoints[e.0 as usize];
                if at > now && es.pump_at.is_none_or(|p| p > at) {
                    es.pump_at = Some(at);
                    self.timers.set(at, TimerKind::Pump { endpoint: e.0 });
                }
            }
        }
        members
    }

    /// After queueing on `members`: sheds beyond `max_queue`, drops stale
    /// entries if they pile up, and pumps the members that can dispatch.
    pub(super) fn after_push(&mut self, now: Time, members: &[EndpointId]) {
        for &e in members {
            self.shed(now, e);
            let calls = &self.calls;
            self.endpoints[e.0 as usize]
                .queue
                .compact_if_stale(|w| entry_live(calls, w));
        }
        for &e in members {
            if self.blocked(now, e).is_none() {
                self.pump(now, e);
            }
        }
    }

    /// Sheds calls waiting for `e` beyond the router's `max_queue`: the
    /// newest call of the lowest class waiting there, until the queue fits.
    pub(super) fn shed(&mut self, now: Time, e: EndpointId) {
        let Some(max_queue) = self.config.max_queue else {
            return;
        };
        while self.endpoints[e.0 as usize].queue.live_total() > max_queue {
            let q = &self.endpoints[e.0 as usize].queue;
            let Some(class) = SlaClass::ALL.into_iter().rev().find(|k| q.live()[k.rank()] > 0) else {
                return;
            };
            let calls = &self.calls;
            let Some(w) = self.endpoints[e.0 as usize]
                .queue
                .newest_live(class, |w| entry_live(calls, w))
            else {
                return;
            };
            self.audit(now, Some(w.slot), Some(e), AuditKind::Shed { class, max_queue });
            self.fail(w.slot, FailReason::Shed);
        }
    }

    /// Pumps every endpoint with calls waiting (a tenant fell below its
    /// concurrency cap: its calls may wait anywhere).
    pub(super) fn pump_all(&mut self, now: Time) {
        for i in 0..self.endpoints.len() {
            if self.endpoints[i].queue.live_total() > 0 {
                self.pump(now, EndpointId(i as u32));
            }
        }
    }

    /// Whether another endpoint of the range holding `step` (the call's
    /// wait or spill range) still has the call's entry and could take it
    /// now (not blocked, rate limits ready).
    fn taken_elsewhere(&self, now: Time, slot: u32, step: u16, here: EndpointId) -> bool {
        let c = self.calls.get(slot);
        let range = if c.wait.holds(step) { Some(c.wait) } else { c.spill };
        let Some(range) = range else { return false };
        let chain = &self.plan.tenants[c.tenant as usize].workflows[c.workflow as usize].chain;
        range.entries().any(|s| {
            let e = chain[s as usize].endpoint;
            e != here && self.eligible(now, e, c.tokens)
        })
    }

    /// The call in `slot` lost its last usable entry for `step`'s range:
    /// re-routed from that pool (wait range), or spilled again (spill).
    fn reroute(&mut self, now: Time, slot: u32, step: u16) {
        let c = self.calls.get(slot);
        if c.wait.holds(step) {
            let pool = self.plan.tenants[c.tenant as usize].workflows[c.workflow as usize].pool_of[step as usize];
            self.calls.get_mut(slot).next_pool = pool;
            self.route(now, slot);
        } else {
            self.unspill(slot);
            self.max_wait_over(now, slot);
        }
    }

    /// Drops the call's spill entries.
    pub(super) fn unspill(&mut self, slot: u32) {
        let c = self.calls.get(slot);
        let Some(spill) = c.spill else { return };
        let chain = &self.plan.tenants[c.tenant as usize].workflows[c.workflow as usize].chain;
        for step in spill.entries() {
            let e = chain[step as usize].endpoint;
            self.endpoints[e.0 as usize].queue.dead(c.class);
        }
        self.calls.get_mut(slot).spill = None;
    }

    /// Marks the call's entry for `step` dead (it was popped).
    fn drop_entry(&mut self, slot: u32, step: u16) {
        let c = self.calls.get_mut(slot);
        if c.wait.holds(step) {
            c.wait.set(step, false);
        } else if let Some(s) = c.spill.as_mut() {
            s.set(step, false);
        }
    }

    /// Dispatches queued calls on `e` while it has free slots. A call `e`
    /// cannot take (blocked, or its rate limit spent for the call) loses
    /// its entry here; it is re-routed only if no other endpoint of its
    /// pool still holds it and could take it. A blocked endpoint is swept
    /// once per blocked spell.
    pub(super) fn pump(&mut self, now: Time, e: EndpointId) {
        if self.blocked(now, e).is_some() {
            self.sweep(now, e);
            return;
        }
        let es = &mut self.endpoints[e.0 as usize];
        es.swept = false;
        // Nobody waiting (the usual case after an attempt ends): nothing to
        // pop, so the loop below would stop at once.
        if es.queue.live_total() == 0 {
            return;
        }
        let max = self.plan.endpoints[e.0 as usize].max_concurrency;
        // Calls of tenants at their cap, put back once the loop is over.
        let mut aside = Vec::new();
        loop {
            if self.blocked(now, e).is_some() {
                self.sweep(now, e);
                break;
            }
            let es = &self.endpoints[e.0 as usize];
            if es.in_flight >= max {
                break;
            }
            let live = es.queue.live();
            let mut waiting = live.map(|n| n > 0);
            for &(class, _) in &aside {
                waiting[SlaClass::rank(class)] = true;
            }
            let plan = &self.plan.endpoints[e.0 as usize];
            let allowed = SlaClass::ALL.map(|k| live[k.rank()] > 0 && admits(plan, es, k, waiting));
            let Some((class, entry)) = self.endpoints[e.0 as usize].queue.pop_allowed(allowed) else {
                break;
            };
            let w = entry.2;
            if !entry_live(&self.calls, &w) {
                continue;
            }
            self.endpoints[e.0 as usize].queue.dead(class);
            self.drop_entry(w.slot, w.step);
            let c = self.calls.get(w.slot);
            if self.limits_ready(now, e, c.tokens) > now {
                if !self.taken_elsewhere(now, w.slot, w.step, e) {
                    self.reroute(now, w.slot, w.step);
                }
            } else if now >= c.deadline {
                self.fail(w.slot, FailReason::DeadlineUnreachable);
            } else if self.tenant_capped(w.tenant) {
                aside.push((class, entry));
            } else {
                let spilled = !c.wait.holds(w.step);
                if self.fail_if_hopeless(now, now, w.slot) {
                    continue;
                }
                if spilled {
                    // The call's spilled entry: it leaves its tier after `max_wait`.
                    self.calls.get_mut(w.slot).trigger = Some(Trigger::Saturated);
                }
                self.dispatch(now, w.slot, w.step, false);
            }
        }
        for (class, entry) in aside {
            let w = entry.2;
            let c = self.calls.get(w.slot);
            if c.epoch == w.epoch && c.state == CallState::Waiting {
                self.endpoints[e.0 as usize].queue.restore(class, entry);
                let c = self.calls.get_mut(w.slot);
                if c.wait.holds(w.step) {
                    c.wait.set(w.step, true);
                } else if let Some(s) = c.spill.as_mut() {
                    s.set(w.step, true);
                }
            }
        }
    }

    /// A blocked endpoint's queue: the calls no other endpoint of their
    /// pool could take are re-routed (or spilled again); the others keep
    /// their entry here, to be served by whichever endpoint frees first,
    /// this one included once it is unblocked. Once per blocked spell.
    fn sweep(&mut self, now: Time, e: EndpointId) {
        if self.endpoints[e.0 as usize].swept {
            return;
        }
        self.endpoints[e.0 as usize].swept = true;
        let calls = &self.calls;
        let waiters: Vec<Waiter> = self.endpoints[e.0 as usize]
            .queue
            .iter()
            .map(|(_, w)| *w)
            .filter(|w| entry_live(calls, w))
            .collect();
        for w in waiters {
            if !entry_live(&self.calls, &w) || self.taken_elsewhere(now, w.slot, w.step, e) {
                continue;
            }
            self.reroute(now, w.slot, w.step);
        }
    }
}

/// Whether queue entry `w` is live: its call is still waiting in the same
/// epoch and holds the entry.
pub(super) fn entry_live(calls: &super::calls::Calls, w: &Waiter) -> bool {
    let c = calls.get(w.slot);
    c.epoch == w.epoch && c.has_entry(w.step, w.generation)
}
