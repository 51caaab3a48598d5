//! The call life cycle inside [`Router`]: routing a call to a chain step,
//! queueing, dispatching, attempt endings, retries, suspension and
//! breaker-driven recovery.
//!
//! This module owns the decisions; `router` owns the public API and the
//! state they act on.

use super::breaker::Transition;
use super::calls::{CallState, Live};
use super::config::{SlaClass, Tier};
use super::plan::{EndpointPlan, Step, backoff_delay};
use super::queue::Waiter;
use super::router::{EndpointState, Router};
use super::timers::{Due, TimerKind};
use super::types::{
    Action, AttemptId, AuditEvent, AuditKind, BreakerState, EndpointId, FailReason, TenantId, Trigger, WorkflowId,
};
use crate::time::Time;

/// How an attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Ending {
    /// It served the call.
    Success,
    /// It failed, for this reason.
    Failed(Trigger),
}

/// Where the chain walk of [`Router::route`] stopped.
enum Walk {
    /// Dispatch or queue on this step.
    Step(usize),
    /// A suspend step was reached first.
    Suspend(Step),
    /// Every step is unavailable; wake up no later than this.
    Park(Option<Time>),
}

impl Router {
    pub(super) fn chain(&self, tenant: u32, workflow: u32) -> Option<&[Step]> {
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

    /// The chain step a call of `tenant`/`workflow` with session affinity
    /// to `e` starts at: the first serving step on `e`, if `e` is not
    /// blocked and its rate limits admit `tokens` now. `None`: start at the
    /// primary. The caller has checked that tenant and workflow exist.
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
        let eligible = self.blocked(now, e).is_none() && self.limits_ready(now, e, tokens) <= now;
        eligible.then_some(i)
    }

    /// Finds the step for the call's next attempt and dispatches, queues,
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
        let (tenant, workflow, start, tokens) = (c.tenant, c.workflow, c.next_step as usize, c.tokens);
        let chain = &self.plan.tenants[tenant as usize].workflows[workflow as usize].chain;
        let n = chain.len();
        let mut skip = None;
        let mut wake: Option<Time> = None;
        let mut walk = Walk::Park(None);
        for k in 0..n {
            let i = (start + k) % n;
            let step = chain[i];
            if step.suspend {
                walk = Walk::Suspend(step);
                break;
            }
            if let Some(t) = self.blocked(now, step.endpoint) {
                skip.get_or_insert(t);
                continue;
            }
            let ready = self.limits_ready(now, step.endpoint, tokens);
            if ready > now {
                skip.get_or_insert(Trigger::RateLimited);
                wake = Some(wake.map_or(ready, |w| w.min(ready)));
                continue;
            }
            walk = Walk::Step(i);
            break;
        }
        if let Walk::Park(_) = walk {
            walk = Walk::Park(wake);
        }
        let c = self.calls.get_mut(slot);
        if let Some(t) = skip {
            c.trigger.get_or_insert(t);
        }
        match walk {
            Walk::Step(i) => self.queue_or_dispatch(now, slot, i),
            Walk::Suspend(step) => self.suspend(now, slot, step),
            Walk::Park(wake) => {
                c.set_state(CallState::Parked);
                self.parked.push((slot, c.epoch));
                if let Some(at) = wake {
                    // Rate limits have no timer of their own: wake the
                    // parked calls when the first bucket has refilled.
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

    fn queue_or_dispatch(&mut self, now: Time, slot: u32, i: usize) {
        let capped = self.tenant_capped(self.calls.get(slot).tenant);
        let c = self.calls.get_mut(slot);
        let tenant = &self.plan.tenants[c.tenant as usize];
        let e = tenant.workflows[c.workflow as usize].chain[i].endpoint;
        let es = &mut self.endpoints[e.0 as usize];
        let max = self.plan.endpoints[e.0 as usize].max_concurrency;
        if es.queue.is_empty() && es.in_flight < max && !capped {
            self.dispatch(now, slot, i as u16, false);
        } else {
            c.set_state(CallState::Waiting);
            c.wait_step = i as u16;
            c.spilled = false;
            let since = *c.waiting_since.get_or_insert(now);
            let w = Waiter {
                slot,
                epoch: c.epoch,
                step: i as u16,
                tenant: c.tenant,
            };
            es.queue.push(tenant.class, tenant.weight, w);
            if let Some(max_wait) = tenant.max_wait {
                let at = since.saturating_add(max_wait);
                if at > now {
                    let call = c.id.0;
                    self.timers.set(at, TimerKind::MaxWait { slot, call });
                }
            }
            self.shed(now, e);
            self.pump(now, e);
            self.arm_hopeless(now, slot);
            // Waited out its `max_wait` before (then was re-routed): move on.
            self.max_wait_over(now, slot);
        }
    }

    /// Sheds calls waiting for `e` beyond the router's `max_queue`.
    pub(super) fn shed(&mut self, now: Time, e: EndpointId) {
        let Some(max_queue) = self.config.max_queue else {
            return;
        };
        let calls = &self.calls;
        let live = |w: &Waiter| {
            let c = calls.get(w.slot);
            c.epoch == w.epoch && c.state == CallState::Waiting
        };
        let victims = self.endpoints[e.0 as usize].queue.shed(live, max_queue as usize);
        for w in victims {
            let class = self.plan.tenants[w.tenant as usize].class;
            self.audit(now, Some(w.slot), Some(e), AuditKind::Shed { class, max_queue });
            self.fail(w.slot, FailReason::Shed);
        }
    }

    /// Pumps every endpoint with calls waiting (a tenant fell below its
    /// concurrency cap: its calls may wait anywhere).
    fn pump_all(&mut self, now: Time) {
        for i in 0..self.endpoints.len() {
            if !self.endpoints[i].queue.is_empty() {
                self.pump(now, EndpointId(i as u32));
            }
        }
    }

    /// Dispatches queued calls on `e` while it has free slots; re-routes
    /// the calls `e` cannot take (it is blocked, or its rate limit is spent
    /// for them).
    pub(super) fn pump(&mut self, now: Time, e: EndpointId) {
        let max = self.plan.endpoints[e.0 as usize].max_concurrency;
        // Calls of tenants at their cap, put back once the loop is over.
        let mut aside = Vec::new();
        loop {
            let blocked = self.blocked(now, e).is_some();
            let es = &mut self.endpoints[e.0 as usize];
            if !blocked && es.in_flight >= max {
                break;
            }
            let allowed = if blocked {
                // Everything goes: the calls are re-routed, not dispatched.
                [true; 3]
            } else {
                let calls = &self.calls;
                let mut waiting = es.queue.live_classes(|w| {
                    let c = calls.get(w.slot);
                    c.epoch == w.epoch && c.state == CallState::Waiting
                });
                for (class, _) in &aside {
                    waiting[SlaClass::rank(*class)] = true;
                }
                let plan = &self.plan.endpoints[e.0 as usize];
                SlaClass::ALL.map(|k| waiting[k.rank()] && admits(plan, es, k, waiting))
            };
            let Some((class, entry)) = es.queue.pop_allowed(allowed) else {
                break;
            };
            let w = entry.2;
            let c = self.calls.get(w.slot);
            if c.epoch != w.epoch || c.state != CallState::Waiting {
                continue;
            }
            if (blocked || self.limits_ready(now, e, c.tokens) > now) && w.step != c.wait_step {
                // A spilled entry: drop it and spill again elsewhere.
                self.calls.get_mut(w.slot).spilled = false;
                self.max_wait_over(now, w.slot);
            } else if blocked || self.limits_ready(now, e, c.tokens) > now {
                self.calls.get_mut(w.slot).next_step = w.step;
                self.route(now, w.slot);
            } else if now >= c.deadline {
                self.fail(w.slot, FailReason::DeadlineUnreachable);
            } else if self.tenant_capped(w.tenant) {
                aside.push((class, entry));
            } else {
                let spilled = w.step != c.wait_step;
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
        let q = &mut self.endpoints[e.0 as usize].queue;
        for (class, entry) in aside {
            q.restore(class, entry);
        }
    }

    /// Sends the call's next attempt to chain step `step`; `hedge`: as a
    /// second leg next to the one in flight.
    pub(super) fn dispatch(&mut self, now: Time, slot: u32, step: u16, hedge: bool) {
        let c = self.calls.get(slot);
        let tp = &self.plan.tenants[c.tenant as usize];
        let Step { endpoint, tier, .. } = tp.workflows[c.workflow as usize].chain[step as usize];
        let ceiling = tp.latency_ceiling;
        let class = tp.class;
        let attempt = AttemptId(self.next_attempt);
        self.next_attempt += 1;
        if tier != c.last_tier {
            let kind = AuditKind::TierChange {
                from: c.last_tier,
                to: tier,
                trigger: c.trigger.unwrap_or(Trigger::Unavailable),
            };
            self.audit(now, Some(slot), Some(endpoint), kind);
        }
        self.note_tier(now, slot, Some(endpoint), tier);
        debug_assert!(
            self.blocked(now, endpoint).is_none(),
            "dispatch to a blocked endpoint (open breaker or cooling down)"
        );
        let es = &mut self.endpoints[endpoint.0 as usize];
        let probe = es.breaker.as_mut().is_some_and(|b| b.on_dispatch());
        let c = self.calls.get_mut(slot);
        if let Some(b) = es.rpm.as_mut() {
            b.take(now, 1);
        }
        if let Some(b) = es.tpm.as_mut() {
            b.take(now, c.tokens);
        }
        es.in_flight += 1;
        es.class_in_flight[class.rank()] += 1;
        self.tenants[c.tenant as usize].in_flight += 1;
        c.attempts += 1;
        c.last_tier = tier;
        c.trigger = None;
        c.waiting_since = None;
        let leg = Some(Live {
            attempt,
            endpoint,
            step,
            tier,
            started: now,
            probe,
        });
        let call = c.id;
        if hedge {
            c.hedge = leg;
        } else {
            c.live = leg;
            c.set_state(CallState::InFlight);
            self.calls_in_flight += 1;
            let tp = &self.plan.tenants[c.tenant as usize];
            if let Some(after) = tp.hedge_after.filter(|_| c.attempts < tp.retry.max_attempts) {
                let epoch = c.epoch;
                self.timers.set(now + after, TimerKind::Hedge { slot, epoch });
            }
        }
        self.attempts.insert(attempt, slot);
        let timeout = self.plan.endpoints[endpoint.0 as usize].attempt_timeout;
        self.timers.set_attempt(endpoint.0, now + timeout, attempt);
        if let Some(ceiling) = ceiling.filter(|&c| c < timeout) {
            self.timers.set(now + ceiling, TimerKind::Ceiling { attempt });
        }
        self.actions.push_back(Action::Dispatch {
            call,
            attempt,
            endpoint,
            tier,
        });
    }

    /// Raises a degradation notice if the tenant asked for one and `tier`
    /// is worse than its previous dispatch; remembers `tier`.
    fn note_tier(&mut self, now: Time, slot: u32, endpoint: Option<EndpointId>, tier: Tier) {
        let t = self.calls.get(slot).tenant as usize;
        let from = self.tenants[t].last_tier;
        self.tenants[t].last_tier = tier;
        if self.plan.tenants[t].notify && tier > from {
            let kind = AuditKind::Notification { from, to: tier };
            self.audit(now, Some(slot), endpoint, kind);
        }
    }

    /// An attempt ended: frees its slot, feeds the breaker, then completes
    /// the call or handles the failure. `cancel`: the router abandons the
    /// attempt (timeout, latency ceiling) and tells the driver.
    pub(super) fn attempt_over(&mut self, now: Time, slot: u32, live: Live, ending: Ending, cancel: bool) {
        let call = self.calls.get(slot).id;
        if cancel {
            self.actions.push_back(Action::Cancel {
                call,
                attempt: live.attempt,
            });
        }
        self.attempts.remove(live.attempt);
        self.timers.attempt_ended(live.endpoint.0);
        let t = self.calls.get(slot).tenant;
        let was_capped = self.tenant_capped(t);
        let ts = &mut self.tenants[t as usize];
        ts.in_flight = ts.in_flight.saturating_sub(1);
        let other = self.calls.get_mut(slot).drop_leg(live.attempt);
        if other.is_none() {
            self.calls_in_flight -= 1;
        }
        let class = self.plan.tenants[t as usize].class;
        let es = &mut self.endpoints[live.endpoint.0 as usize];
        es.in_flight = es.in_flight.saturating_sub(1);
        let held = &mut es.class_in_flight[class.rank()];
        *held = held.saturating_sub(1);
        let transition = es.breaker.as_mut().and_then(|b| match ending {
            Ending::Failed(Trigger::RateLimited) => {
                b.on_abandon(live.probe);
                None
            }
            _ => {
                let failed = ending != Ending::Success;
                b.on_result(now, live.probe, failed, now - live.started)
            }
        });
        if let Some(t) = transition {
            self.breaker_moved(now, live.endpoint, t, Some(slot));
        }
        match ending {
            Ending::Success => {
                self.observe_latency(live.endpoint, now - live.started);
                if let Some(other) = other {
                    self.lose_hedge(slot, other);
                    self.calls_in_flight -= 1;
                }
                self.account(slot, false);
                self.actions.push_back(Action::Complete {
                    call,
                    attempt: live.attempt,
                    endpoint: live.endpoint,
                    tier: live.tier,
                });
                self.calls.release(slot);
            }
            Ending::Failed(trigger) if other.is_some() => {
                // The other leg is still out: the call waits for it.
                let c = self.calls.get_mut(slot);
                c.failures += 1;
                c.trigger = Some(trigger);
            }
            Ending::Failed(trigger) => self.after_failure(now, slot, live, trigger),
        }
        if let Some(other) = other.filter(|_| ending == Ending::Success) {
            self.pump(now, other.endpoint);
        }
        if was_capped {
            self.pump_all(now);
        }
        self.pump(now, live.endpoint);
    }

    /// Reports a breaker transition and acts on it: an open breaker gets
    /// its probe timer; a half-open or closed one may take calls again.
    pub(super) fn breaker_moved(&mut self, now: Time, e: EndpointId, (from, to): Transition, slot: Option<u32>) {
        self.audit(now, slot, Some(e), AuditKind::Breaker { from, to });
        match to {
            BreakerState::Open => {
                if let Some(b) = &self.endpoints[e.0 as usize].breaker {
                    let endpoint = e.0;
                    self.timers.set(b.open_until(), TimerKind::BreakerProbe { endpoint });
                }
            }
            BreakerState::HalfOpen => {
                self.pump(now, e);
                self.unpark(now);
            }
            BreakerState::Closed => {
                self.pump(now, e);
                self.unpark(now);
                self.resume_on(now, e);
            }
        }
    }

    /// Decides what follows a failed attempt: retry on the next step after
    /// the backoff, or fail the call.
    fn after_failure(&mut self, now: Time, slot: u32, live: Live, trigger: Trigger) {
        let c = self.calls.get_mut(slot);
        let tenant = &self.plan.tenants[c.tenant as usize];
        let n = tenant.workflows[c.workflow as usize].chain.len();
        c.failures += 1;
        if c.attempts >= tenant.retry.max_attempts {
            self.fail(slot, FailReason::AttemptsExhausted);
            return;
        }
        c.next_step = ((live.step as usize + 1) % n) as u16;
        c.trigger = Some(trigger);
        let mut delay = backoff_delay(&tenant.retry, c.failures);
        if tenant.retry.jitter > 0.0 && delay.as_nanos() > 0 {
            delay = delay.mul_f64(1.0 - tenant.retry.jitter * self.rng.next_f64());
        }
        if delay.as_nanos() == 0 {
            self.route(now, slot);
            return;
        }
        let at = now + delay;
        if at >= c.deadline {
            self.fail(slot, FailReason::DeadlineUnreachable);
            return;
        }
        if self.fail_if_hopeless(now, at, slot) {
            return;
        }
        let c = self.calls.get_mut(slot);
        c.set_state(CallState::Backoff);
        let epoch = c.epoch;
        self.timers.set(at, TimerKind::Retry { slot, epoch });
    }

    /// Suspends the call at suspend step `step`.
    fn suspend(&mut self, now: Time, slot: u32, step: Step) {
        let c = self.calls.get_mut(slot);
        c.set_state(CallState::Suspended);
        let (epoch, call) = (c.epoch, c.id);
        let max = self.plan.tenants[c.tenant as usize].max_suspend;
        self.suspended.push((slot, epoch));
        self.timers.set(now + max, TimerKind::SuspendLimit { slot, epoch });
        self.actions.push_back(Action::Suspend { call });
        let consent = step.tier != Tier::SUSPEND;
        let kind = AuditKind::Suspended {
            tier: step.tier,
            consent,
        };
        self.audit(now, Some(slot), None, kind);
        self.note_tier(now, slot, None, Tier::SUSPEND);
    }

    /// Resumes the suspended calls that have a tier 0 or 1 step on `e`,
    /// which just recovered; they restart from the top of their chain.
    pub(super) fn resume_on(&mut self, now: Time, e: EndpointId) {
        if self.suspended.is_empty() {
            return;
        }
        let suspended = std::mem::take(&mut self.suspended);
        for (slot, epoch) in suspended {
            let c = self.calls.get(slot);
            if c.epoch != epoch || c.state != CallState::Suspended {
                continue;
            }
            let chain = &self.plan.tenants[c.tenant as usize].workflows[c.workflow as usize].chain;
            let wakes = chain.iter().any(|s| !s.suspend && s.tier <= Tier(1) && s.endpoint == e);
            if !wakes {
                self.suspended.push((slot, epoch));
                continue;
            }
            let c = self.calls.get_mut(slot);
            c.next_step = 0;
            c.trigger = Some(Trigger::Recovered);
            c.last_tier = Tier::SUSPEND;
            c.set_state(CallState::Backoff);
            let call = c.id;
            self.actions.push_back(Action::Resume { call });
            self.audit(now, Some(slot), Some(e), AuditKind::Resumed);
            self.route(now, slot);
        }
    }

    /// Routes again every call that waited for an endpoint to come back.
    pub(super) fn unpark(&mut self, now: Time) {
        let parked = std::mem::take(&mut self.parked);
        for (slot, epoch) in parked {
            let c = self.calls.get(slot);
            if c.epoch == epoch && c.state == CallState::Parked {
                self.route(now, slot);
            }
        }
    }

    pub(super) fn fail(&mut self, slot: u32, reason: FailReason) {
        self.account(slot, true);
        let call = self.calls.get(slot).id;
        self.actions.push_back(Action::Fail { call, reason });
        self.calls.release(slot);
    }

    /// Counts the end of the call in `slot` against its tenant's error
    /// budget, raising the alerts a failure brings.
    fn account(&mut self, slot: u32, failed: bool) {
        let now = self.now;
        let t = self.calls.get(slot).tenant as usize;
        let Some(b) = self.tenants.get_mut(t).and_then(|t| t.budget.as_mut()) else {
            return;
        };
        for (burn_rate_short, burn_rate_long, threshold) in b.record(now, failed, &self.config.budget) {
            let kind = AuditKind::BudgetAlert {
                burn_rate_short,
                burn_rate_long,
                threshold,
            };
            self.audit(now, Some(slot), None, kind);
        }
    }

    pub(super) fn audit(&mut self, now: Time, slot: Option<u32>, endpoint: Option<EndpointId>, kind: AuditKind) {
        let c = slot.map(|s| self.calls.get(s));
        self.events.push_back(AuditEvent {
            at: now,
            tenant: c.map(|c| TenantId(c.tenant)),
            workflow: c.map(|c| WorkflowId(c.workflow)),
            call: c.map(|c| c.id),
            endpoint,
            kind,
        });
    }

    /// Drops dead timers from the fronts so that `poll_timeout` is exact.
    /// Pumps every unblocked endpoint with reserved slots, a free slot and
    /// calls waiting, until none dispatches: a call leaving a queue any
    /// other way than a dispatch from it (deadline, re-route, shed, served
    /// elsewhere) can end its class's wait and so free the slots its
    /// reservation held. Run at the end of every input.
    pub(super) fn settle_reservations(&mut self, now: Time) {
        loop {
            let before = self.next_attempt;
            for i in 0..self.endpoints.len() {
                let (plan, es) = (&self.plan.endpoints[i], &self.endpoints[i]);
                let e = EndpointId(i as u32);
                if plan.reserved != [0; 3]
                    && es.in_flight < plan.max_concurrency
                    && !es.queue.is_empty()
                    && self.blocked(now, e).is_none()
                {
                    self.pump(now, e);
                }
            }
            if self.next_attempt == before {
                break;
            }
        }
    }

    pub(super) fn prune(&mut self) {
        let (attempts, calls, endpoints) = (&self.attempts, &self.calls, &self.endpoints);
        let parked = !self.parked.is_empty();
        self.timers.prune(|due| match due {
            Due::Attempt { attempt, .. } | Due::Timer(TimerKind::Ceiling { attempt }) => {
                attempts.get(attempt).is_some()
            }
            Due::Timer(TimerKind::Retry { slot, epoch })
            | Due::Timer(TimerKind::SuspendLimit { slot, epoch })
            | Due::Timer(TimerKind::Hedge { slot, epoch }) => calls.get(slot).epoch == epoch,
            Due::Timer(TimerKind::Deadline { slot, call }) => {
                let c = calls.get(slot);
                c.id.0 == call && c.state != CallState::Free
            }
            Due::Timer(TimerKind::MaxWait { slot, call }) => {
                let c = calls.get(slot);
                c.id.0 == call && c.state == CallState::Waiting && !c.spilled
            }
            Due::Timer(TimerKind::Hopeless { slot, call }) => {
                let c = calls.get(slot);
                c.id.0 == call && c.state == CallState::Waiting
            }
            Due::Timer(TimerKind::EndpointReady { .. }) => true,
            Due::Timer(TimerKind::Unpark) => parked,
            Due::Timer(TimerKind::BreakerProbe { endpoint }) => endpoints[endpoint as usize]
                .breaker
                .as_ref()
                .is_some_and(|b| b.state() == BreakerState::Open),
        });
    }
}

/// The reservation rule: whether a call of class `k` may take a slot of
/// the endpoint (`plan`, `es`) now, given the classes with a call
/// `waiting` for it (indexed by [`SlaClass::rank`]). It may when the
/// endpoint is below its cap and either `k` is below its own reservation,
/// or the slots still free after this dispatch cover the unused
/// reservations of every other class with a call waiting. See
/// [`Router`](super::Router), *Reserved slots*.
pub(super) fn admits(plan: &EndpointPlan, es: &EndpointState, k: SlaClass, waiting: [bool; 3]) -> bool {
    if es.in_flight >= plan.max_concurrency {
        return false;
    }
    let unused = |j: SlaClass| plan.reserved[j.rank()].saturating_sub(es.class_in_flight[j.rank()]);
    if unused(k) > 0 {
        return true;
    }
    let free_after = plan.max_concurrency - es.in_flight - 1;
    let held: u32 = SlaClass::ALL
        .into_iter()
        .filter(|&j| j != k && waiting[j.rank()])
        .map(unused)
        .sum();
    free_after >= held
}
