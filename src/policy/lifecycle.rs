//! The call life cycle inside [`Router`]: state changes (with their queue
//! bookkeeping), dispatch, attempt endings, retries, failures, and the
//! pruning of dead timers.
//!
//! This module owns what happens to one call between its routing (`route`)
//! and its end; `router` owns the public API and the state acted on.

use super::breaker::Transition;
use super::calls::{CallState, Live};
use super::plan::{Step, backoff_delay};
use super::router::Router;
use super::timers::{Due, TimerKind};
use super::types::{
    Action, AuditEvent, AuditKind, BreakerState, EndpointId, FailReason, TenantId, Trigger, WorkflowId,
};
use crate::time::Time;

/// How an attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Ending {
    /// It served the call.
    Success,
    /// It failed, for this reason.
    Failed(Trigger),
    /// The endpoint answered with a client error (4xx other than 429).
    ClientError(u16),
}

impl Router {
    /// Moves the call in `slot` to `state`, first clearing the queue
    /// entries it held while waiting and keeping the count of suspended
    /// calls.
    pub(super) fn set_state(&mut self, slot: u32, state: CallState) {
        self.leave_state(slot);
        if state == CallState::Suspended {
            self.suspended_calls += 1;
        }
        self.calls.get_mut(slot).set_state(state);
        if state != CallState::InFlight {
            self.arm_deadline(slot);
        }
    }

    /// Takes the place of a new call's deadline timer (if `has_deadline`)
    /// without arming it yet.
    ///
    /// A deadline timer can act only while its call is alive, and most
    /// calls are dispatched at once and answered long before their
    /// deadline: armed at submission, almost every one would cost a heap
    /// push and, long after its call ended, a pop as a dead timer. So the
    /// timer is armed only when the call may still be alive at its
    /// deadline: when it enters any state but `InFlight`
    /// ([`set_state`](Router::set_state)), or when it is dispatched on an
    /// attempt whose timeout is not earlier than the deadline
    /// ([`dispatch`](Router::dispatch)). An attempt that times out first
    /// ends, and the call then changes state or ends, before the deadline.
    /// Armed under the insertion number taken here, the timer fires in the
    /// very place it would have had if armed at submission, and
    /// `poll_timeout` sees every deadline it would have seen: a deadline
    /// not armed is later than every attempt its call has in flight.
    pub(super) fn defer_deadline(&mut self, slot: u32, has_deadline: bool) {
        let seq = has_deadline.then(|| self.timers.reserve());
        self.calls.get_mut(slot).deadline_seq = seq;
        #[cfg(test)]
        if self.timers.eager_deadlines {
            self.arm_deadline(slot);
        }
    }

    /// Arms the deadline timer of the call in `slot` if it is deferred.
    fn arm_deadline(&mut self, slot: u32) {
        let c = self.calls.get_mut(slot);
        if let Some(seq) = c.deadline_seq.take() {
            let (at, call) = (c.deadline, c.id.0);
            self.timers.set_reserved(at, seq, TimerKind::Deadline { slot, call });
        }
    }

    /// Arms every deferred deadline timer (after a reload, which may give
    /// an attempt in flight a later timeout than its call's deadline).
    pub(super) fn arm_deadlines(&mut self) {
        for slot in 0..self.calls.slots() {
            if self.calls.get(slot).state != CallState::Free {
                self.arm_deadline(slot);
            }
        }
    }

    /// Ends the call in `slot`: frees it (and its queue entries).
    pub(super) fn release(&mut self, slot: u32) {
        self.leave_state(slot);
        self.calls.release(slot);
    }

    /// Bookkeeping of the call's current state, before it changes.
    fn leave_state(&mut self, slot: u32) {
        match self.calls.get(slot).state {
            CallState::Waiting => self.unqueue(slot),
            CallState::Suspended => self.suspended_calls -= 1,
            _ => {}
        }
    }

    /// Reports every live queue entry of the waiting call in `slot` dead
    /// and forgets them.
    pub(super) fn unqueue(&mut self, slot: u32) {
        let c = self.calls.get(slot);
        let chain = &self.plan.tenants[c.tenant as usize].workflows[c.workflow as usize].chain;
        let steps = c.wait.entries().chain(c.spill.into_iter().flat_map(|s| s.entries()));
        for step in steps {
            let e = chain[step as usize].endpoint;
            self.endpoints[e.0 as usize].queue.dead(c.class);
        }
        let c = self.calls.get_mut(slot);
        c.wait.mask = 0;
        c.spill = None;
    }

    /// Sends the call's next attempt to chain step `step`; `hedge`: as a
    /// second leg next to the one in flight.
    pub(super) fn dispatch(&mut self, now: Time, slot: u32, step: u16, hedge: bool) {
        let c = self.calls.get(slot);
        let tp = &self.plan.tenants[c.tenant as usize];
        let Step { endpoint, tier, .. } = tp.workflows[c.workflow as usize].chain[step as usize];
        let ceiling = tp.latency_ceiling;
        let attempt = super::types::AttemptId(self.next_attempt);
        self.next_attempt += 1;
        #[cfg(test)]
        {
            self.seen.hedge |= hedge;
            self.seen.saturated |= c.trigger == Some(Trigger::Saturated);
            self.seen.probe |= c.probe;
        }
        self.dispatch_tier(now, slot, tier, hedge);
        debug_assert!(
            self.blocked(now, endpoint).is_none(),
            "dispatch to a blocked endpoint (open breaker or cooling down)"
        );
        if !hedge {
            self.set_state(slot, CallState::InFlight);
            self.calls_in_flight += 1;
        }
        let c = self.calls.get_mut(slot);
        let es = &mut self.endpoints[endpoint.0 as usize];
        let probe = es.breaker.as_mut().is_some_and(|b| b.on_dispatch());
        if let Some(b) = es.rpm.as_mut() {
            b.take(now, 1);
        }
        if let Some(b) = es.tpm.as_mut() {
            b.take(now, c.tokens);
        }
        es.in_flight += 1;
        es.class_in_flight[c.class.rank()] += 1;
        self.tenants[c.tenant as usize].in_flight += 1;
        c.attempts += 1;
        c.trigger = None;
        c.waiting_since = None;
        c.pin = None;
        let leg = Some(Live {
            attempt,
            endpoint,
            step,
            tier,
            started: now,
            probe,
            first_token: false,
        });
        let call = c.id;
        if hedge {
            c.hedge = leg;
        } else {
            c.live = leg;
            let tp = &self.plan.tenants[c.tenant as usize];
            if let Some(after) = tp.hedge_after.filter(|_| c.attempts < tp.retry.max_attempts) {
                let epoch = c.epoch;
                self.timers.set(now + after, TimerKind::Hedge { slot, epoch });
            }
        }
        // The call may still be in flight at its deadline: arm it.
        if c.deadline_seq.is_some() && c.deadline <= now + self.plan.endpoints[endpoint.0 as usize].attempt_timeout {
            self.arm_deadline(slot);
        }
        self.attempts.insert(attempt, slot);
        let ep = &self.plan.endpoints[endpoint.0 as usize];
        let timeout = ep.attempt_timeout;
        self.timers.set_attempt(endpoint.0, now + timeout, attempt);
        if let Some(ft) = ep.first_token_timeout {
            self.timers.set(now + ft, TimerKind::FirstToken { attempt });
        }
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

    /// An attempt ended: frees its slot, feeds the breaker and the
    /// balancer, then completes the call or handles the failure. `cancel`:
    /// the router abandons the attempt (timeout, latency ceiling) and tells
    /// the driver.
    pub(super) fn attempt_over(&mut self, now: Time, slot: u32, live: Live, ending: Ending, cancel: bool) {
        let call = self.calls.get(slot).id;
        if cancel {
            self.actions.push_back(Action::Cancel {
                call,
                attempt: live.attempt,
                failed: match ending {
                    Ending::Failed(trigger) => Some(trigger),
                    _ => None,
                },
            });
        }
        self.attempts.remove(live.attempt);
        let in_flight = self.endpoints[live.endpoint.0 as usize].in_flight.saturating_sub(1);
        self.timers.attempt_ended(live.endpoint.0, live.attempt, in_flight);
        let (t, class) = {
            let c = self.calls.get(slot);
            (c.tenant, c.class)
        };
        let was_capped = self.tenant_capped(t);
        let ts = &mut self.tenants[t as usize];
        ts.in_flight = ts.in_flight.saturating_sub(1);
        let other = self.calls.get_mut(slot).drop_leg(live.attempt);
        if other.is_none() {
            self.calls_in_flight -= 1;
        }
        let latency = now - live.started;
        let penalty = self.plan.endpoints[live.endpoint.0 as usize].attempt_timeout;
        let es = &mut self.endpoints[live.endpoint.0 as usize];
        es.in_flight = es.in_flight.saturating_sub(1);
        let held = &mut es.class_in_flight[class.rank()];
        *held = held.saturating_sub(1);
        let transition = es.breaker.as_mut().and_then(|b| match ending {
            Ending::Failed(Trigger::RateLimited) | Ending::ClientError(_) => {
                b.on_abandon(live.probe);
                None
            }
            _ => b.on_result(now, live.probe, ending != Ending::Success, latency),
        });
        match ending {
            Ending::Success => es.peak.observe(now, latency),
            // A failure counts as an answer as slow as the attempt timeout:
            // power of two choices turns away from it until that decays.
            Ending::Failed(trigger) if trigger != Trigger::RateLimited => es.peak.observe(now, penalty.max(latency)),
            _ => {}
        }
        if let Some(tr) = transition {
            self.breaker_moved(now, live.endpoint, tr, Some(slot));
        }
        match ending {
            Ending::Success => {
                self.observe_latency(live.endpoint, latency);
                if let Some(other) = other {
                    self.abandon_leg(slot, other);
                    self.calls_in_flight -= 1;
                }
                self.served(now, slot, live);
                self.account(slot, false);
                self.actions.push_back(Action::Complete {
                    call,
                    attempt: live.attempt,
                    endpoint: live.endpoint,
                    tier: live.tier,
                });
                self.release(slot);
            }
            Ending::ClientError(status) => {
                if let Some(other) = other {
                    self.abandon_leg(slot, other);
                    self.calls_in_flight -= 1;
                }
                self.probe_over(now, slot, false);
                self.fail_quietly(slot, FailReason::ClientError { status });
            }
            Ending::Failed(trigger) if other.is_some() => {
                // The other leg is still out: the call waits for it.
                self.note_left(now, slot, live.tier, live.endpoint);
                let c = self.calls.get_mut(slot);
                c.failures += 1;
                c.trigger = Some(trigger);
            }
            Ending::Failed(trigger) => self.after_failure(now, slot, live, trigger),
        }
        if let Some(other) = other.filter(|_| !matches!(ending, Ending::Failed(_))) {
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

    /// Decides what follows a failed attempt: retry on the next pool after
    /// the backoff, or fail the call.
    fn after_failure(&mut self, now: Time, slot: u32, live: Live, trigger: Trigger) {
        self.note_left(now, slot, live.tier, live.endpoint);
        let c = self.calls.get_mut(slot);
        let tenant = &self.plan.tenants[c.tenant as usize];
        let wp = &tenant.workflows[c.workflow as usize];
        c.failures += 1;
        if c.attempts >= tenant.retry.max_attempts {
            self.fail(slot, FailReason::AttemptsExhausted);
            return;
        }
        let pool = wp.pool_of[live.step as usize] as usize;
        c.next_pool = ((pool + 1) % wp.pools.len()) as u16;
        c.pin = None;
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
        self.set_state(slot, CallState::Backoff);
        let epoch = self.calls.get(slot).epoch;
        self.timers.set(at, TimerKind::Retry { slot, epoch });
    }

    /// Fails the call in `slot`, counting it against its tenant's error
    /// budget.
    pub(super) fn fail(&mut self, slot: u32, reason: FailReason) {
        self.account(slot, true);
        self.fail_quietly(slot, reason);
    }

    /// Fails the call in `slot` without touching the error budget (the
    /// client cancelled, or its request was at fault).
    pub(super) fn fail_quietly(&mut self, slot: u32, reason: FailReason) {
        self.probe_over(self.now, slot, true);
        let call = self.calls.get(slot).id;
        self.actions.push_back(Action::Fail { call, reason });
        self.release(slot);
    }

    /// Counts the end of the call in `slot` against its tenant's error
    /// budget, raising the alerts a failure brings.
    pub(super) fn account(&mut self, slot: u32, failed: bool) {
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

    /// An audit event about the call in `slot` (if any).
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

    /// Pumps every unblocked endpoint with reserved slots, a free slot and
    /// calls waiting, until none dispatches: a call leaving a queue any
    /// other way than a dispatch from it (deadline, re-route, shed, served
    /// elsewhere) can end its class's wait and so free the slots its
    /// reservation held. Run at the end of every input.
    pub(super) fn settle_reservations(&mut self, now: Time) {
        if self.plan.reserving.is_empty() {
            return;
        }
        loop {
            let before = self.next_attempt;
            for k in 0..self.plan.reserving.len() {
                let i = self.plan.reserving[k] as usize;
                let (plan, es) = (&self.plan.endpoints[i], &self.endpoints[i]);
                let e = EndpointId(i as u32);
                if es.in_flight < plan.max_concurrency && es.queue.live_total() > 0 && self.blocked(now, e).is_none() {
                    self.pump(now, e);
                }
            }
            if self.next_attempt == before {
                break;
            }
        }
    }

    /// Drops dead timers from the fronts so that `poll_timeout` is exact,
    /// and compacts the timers when dead ones pile up behind a live front.
    pub(super) fn prune(&mut self) {
        let live = Liveness {
            plan: &self.plan,
            calls: &self.calls,
            attempts: &self.attempts,
            endpoints: &self.endpoints,
            tenants: &self.tenants,
            unpark_at: self.unpark_at,
        };
        let endpoints = &self.endpoints;
        let in_flight = |e: usize| endpoints[e].in_flight as usize;
        self.timers.prune(in_flight, |at, due| live.timer_live(at, due));
        let bound = 8 * self.calls.live() + 4 * self.endpoints.len() + 3 * self.tenants.len();
        self.timers.compact(bound, |at, due| live.timer_live(at, due));
    }
}

/// The router's state a timer's liveness depends on: everything but the
/// timers, borrowed apart from them so that pruning needs no copy of
/// either.
struct Liveness<'a> {
    plan: &'a super::plan::Plan,
    calls: &'a super::calls::Calls,
    attempts: &'a super::calls::AttemptIndex,
    endpoints: &'a [super::router::EndpointState],
    tenants: &'a [super::router::TenantState],
    unpark_at: Option<Time>,
}

impl Liveness<'_> {
    /// Whether the timer `due` armed for `at` can still do something.
    ///
    /// Inlined for the timers on top on almost every input (attempt
    /// deadlines, hedges, retries, call deadlines); the others are checked
    /// out of line.
    #[inline(always)]
    fn timer_live(&self, at: Time, due: Due) -> bool {
        match due {
            Due::Attempt { attempt, .. } => self.attempts.get(attempt).is_some(),
            Due::Timer(TimerKind::Retry { slot, epoch }) | Due::Timer(TimerKind::Hedge { slot, epoch }) => {
                self.calls.get(slot).epoch == epoch
            }
            Due::Timer(TimerKind::Deadline { slot, call }) => {
                let c = self.calls.get(slot);
                c.id.0 == call && c.state != CallState::Free
            }
            _ => self.other_timer_live(at, due),
        }
    }

    /// [`timer_live`](Liveness::timer_live) for every kind of timer.
    #[inline(never)]
    fn other_timer_live(&self, at: Time, due: Due) -> bool {
        let (calls, attempts, endpoints, tenants) = (self.calls, self.attempts, self.endpoints, self.tenants);
        match due {
            Due::Attempt { attempt, .. } | Due::Timer(TimerKind::Ceiling { attempt }) => {
                attempts.get(attempt).is_some()
            }
            Due::Timer(TimerKind::FirstToken { attempt }) => attempts
                .get(attempt)
                .and_then(|slot| calls.get(slot).leg(attempt))
                .is_some_and(|l| !l.first_token),
            Due::Timer(TimerKind::Retry { slot, epoch })
            | Due::Timer(TimerKind::SuspendLimit { slot, epoch })
            | Due::Timer(TimerKind::Hedge { slot, epoch }) => calls.get(slot).epoch == epoch,
            Due::Timer(TimerKind::Deadline { slot, call }) => {
                let c = calls.get(slot);
                c.id.0 == call && c.state != CallState::Free
            }
            Due::Timer(TimerKind::MaxWait { slot, call }) => {
                let c = calls.get(slot);
                c.id.0 == call && c.state == CallState::Waiting && c.spill.is_none()
            }
            Due::Timer(TimerKind::Hopeless { slot, call }) => {
                let c = calls.get(slot);
                c.id.0 == call && c.state == CallState::Waiting
            }
            Due::Timer(TimerKind::EndpointReady { endpoint }) => endpoints[endpoint as usize].cooldown_until == at,
            Due::Timer(TimerKind::Pump { endpoint }) => endpoints[endpoint as usize].pump_at == Some(at),
            Due::Timer(TimerKind::Unpark) => self.unpark_at == Some(at),
            Due::Timer(TimerKind::BreakerProbe { endpoint }) => endpoints[endpoint as usize]
                .breaker
                .as_ref()
                .is_some_and(|b| b.state() == BreakerState::Open && b.open_until() == at),
            Due::Timer(TimerKind::Probe { tenant }) => {
                let ts = &tenants[tenant as usize];
                ts.tier > super::config::Tier::PRIMARY && ts.probe.is_none() && ts.next_probe == at
            }
            Due::Timer(TimerKind::Notice { tenant }) => {
                let ts = &tenants[tenant as usize];
                let interval = self.plan.tenants[tenant as usize].notice_interval;
                ts.tier != ts.notified && ts.last_notice.is_some_and(|l| l + interval == at)
            }
        }
    }
}

/// The reservation rule: whether a call of class `k` may take a slot of
/// the endpoint (`plan`, `es`) now, given the classes with a call
/// `waiting` for it (indexed by [`SlaClass::rank`]). It may when the
/// endpoint is below its cap and either `k` is below its own reservation,
/// or the slots still free after this dispatch cover the unused
/// reservations of every other class with a call waiting. See
/// [`Router`](super::Router), *Reserved slots*.
pub(super) fn admits(
    plan: &super::plan::EndpointPlan,
    es: &super::router::EndpointState,
    k: super::config::SlaClass,
    waiting: [bool; 3],
) -> bool {
    use super::config::SlaClass;
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
