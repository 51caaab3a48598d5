//! [`Router`]: the state machine that turns submitted calls and observed
//! outcomes into dispatch decisions and audit events.
//!
//! This module owns the call life cycle (queue, dispatch, retry, fallback,
//! completion) and the per-endpoint run-time state. Configuration checks live
//! in `plan`, queues in `queue`, timers in `timers`, the call slab in `calls`.

use std::collections::VecDeque;

use super::calls::{AttemptIndex, CallState, Calls, Live};
use super::config::{ConfigError, RouterConfig};
use super::plan::{Plan, Step, backoff_delay};
use super::queue::{EndpointQueue, Waiter};
use super::timers::{Due, TimerKind, Timers};
use super::types::{
    Action, AttemptId, AuditEvent, AuditKind, CallId, CallRequest, EndpointId, FailReason, Outcome, TenantId, Trigger,
    WorkflowId,
};
use crate::time::Time;

/// The router core: a sans-IO state machine that decides, for every model
/// call, which endpoint serves it, when, and what to do when it fails.
///
/// # Contract
///
/// The router never reads a clock, never does I/O and draws no randomness
/// of its own beyond a generator seeded from its configuration. Time comes
/// in as `now`, which must never go backwards across calls. The same inputs
/// in the same order give the same outputs.
///
/// Methods come in four groups:
/// - getters: [`config`](Router::config), [`tenant_id`](Router::tenant_id),
///   [`endpoint_id`](Router::endpoint_id), [`in_flight`](Router::in_flight),
///   [`waiting`](Router::waiting);
/// - inputs: [`submit`](Router::submit) a call,
///   [`on_outcome`](Router::on_outcome) of an attempt,
///   [`handle_timeout`](Router::handle_timeout) when the clock reaches
///   [`poll_timeout`](Router::poll_timeout);
/// - outputs: [`poll_action`](Router::poll_action) (decisions the driver
///   must carry out) and [`poll_event`](Router::poll_event) (the audit log);
/// - [`poll_timeout`](Router::poll_timeout): the earliest instant at which
///   the router needs [`handle_timeout`](Router::handle_timeout).
///
/// After every input the driver drains `poll_action` and `poll_event`, then
/// asks `poll_timeout` again. An early or repeated `handle_timeout` is a
/// harmless no-op. Outcomes for attempts the router already abandoned (it
/// emitted [`Action::Cancel`]) or never issued are ignored.
///
/// # Routing rules
///
/// - **Chain walk.** A call's first attempt goes to the first step of its
///   tenant's chain. After an attempt on step `i` fails, the next attempt
///   goes to step `i + 1`, wrapping to step 0 after the last step; the
///   tenant's `retry.max_attempts` counts every attempt of the call.
/// - **Busy is not failed.** When the chosen step's endpoint is at its
///   `max_concurrency`, the call waits in the router's queue for that
///   endpoint; it is *not* sent to a lower tier. When a slot frees, the
///   endpoint takes the oldest waiting call of the highest class (Gold, then
///   Silver, then Bronze).
/// - **Unavailable is skipped.** An endpoint that answered 429 is not used
///   before `now + retry_after`: a call whose step names it moves on to the
///   next step (without spending an attempt), and calls waiting for it are
///   re-routed the same way. A call whose every step is unavailable waits
///   until one comes back.
/// - **Failures.** A 5xx, a connection error, a 429 and an attempt timeout
///   all fail the attempt. At the endpoint's `attempt_timeout` the router
///   emits [`Action::Cancel`] and frees the slot. With attempts left, the next
///   attempt is routed after `retry.backoff * 2^(n-1)` (capped at
///   `retry.backoff_max`) for the `n`-th retry; without, the call fails with
///   [`FailReason::AttemptsExhausted`].
/// - **Deadlines.** A call is never dispatched at or after its deadline: it
///   fails with [`FailReason::DeadlineUnreachable`] as soon as it is waiting
///   at its deadline, or when its backoff would end at or after it. An
///   attempt already in flight at the deadline is left to finish.
/// - **Audit.** Whenever an attempt is dispatched on a different tier than
///   the call's previous attempt (for the first attempt: than the chain's
///   first step), the router emits [`AuditKind::TierChange`] naming the new
///   endpoint and what made the call leave its tier.
///
/// # Example: the driver loop
///
/// ```
/// use slaplan::policy::*;
/// use slaplan::time::{Span, Time};
///
/// let config = RouterConfig {
///     endpoints: vec![EndpointPolicy {
///         name: "sonnet@eu".into(),
///         provider: "anthropic".into(),
///         region: "eu".into(),
///         max_concurrency: Some(8),
///         attempt_timeout: Span::from_secs(30),
///     }],
///     tenants: vec![TenantPolicy {
///         name: "acme".into(),
///         class: SlaClass::Gold,
///         chain: vec![ChainStep { endpoint: "sonnet@eu".into(), tier: Tier(0) }],
///         retry: RetryPolicy::default(),
///         workflows: vec![],
///     }],
/// };
/// let mut router = Router::new(config)?;
/// let acme = router.tenant_id("acme").unwrap();
/// let now = Time::ZERO;
/// let call = router.submit(now, CallRequest {
///     tenant: acme,
///     workflow: WorkflowId(0),
///     input_tokens: 1_000,
///     output_tokens: 200,
///     deadline: None,
/// });
/// // Drain the decisions; a real driver sends the request here.
/// let mut sent = Vec::new();
/// while let Some(action) = router.poll_action() {
///     if let Action::Dispatch { attempt, .. } = action {
///         sent.push(attempt);
///     }
/// }
/// while let Some(_event) = router.poll_event() {}
/// // The answer comes back 2 s later (before poll_timeout()).
/// assert_eq!(router.poll_timeout(), Some(now + Span::from_secs(30)));
/// let later = now + Span::from_secs(2);
/// router.on_outcome(later, sent[0], Outcome::Success);
/// assert!(matches!(router.poll_action(), Some(Action::Complete { call: c, .. }) if c == call));
/// assert_eq!(router.poll_timeout(), None);
/// # Ok::<(), ConfigError>(())
/// ```
#[derive(Debug)]
pub struct Router {
    config: RouterConfig,
    plan: Plan,
    endpoints: Vec<EndpointState>,
    calls: Calls,
    attempts: AttemptIndex,
    timers: Timers,
    parked: Vec<(u32, u32)>,
    actions: VecDeque<Action>,
    events: VecDeque<AuditEvent>,
    next_call: u64,
    next_attempt: u64,
    calls_in_flight: usize,
}

/// Run-time state of one endpoint.
#[derive(Debug, Default)]
struct EndpointState {
    in_flight: u32,
    cooldown_until: Time,
    queue: EndpointQueue,
}

impl Router {
    /// Checks `config` and builds a router with no calls.
    pub fn new(config: RouterConfig) -> Result<Router, ConfigError> {
        let plan = Plan::resolve(&config)?;
        let n = plan.endpoints.len();
        Ok(Router {
            endpoints: (0..n).map(|_| EndpointState::default()).collect(),
            timers: Timers::new(n),
            config,
            plan,
            calls: Calls::default(),
            attempts: AttemptIndex::default(),
            parked: Vec::new(),
            actions: VecDeque::new(),
            events: VecDeque::new(),
            next_call: 0,
            next_attempt: 0,
            calls_in_flight: 0,
        })
    }

    /// The configuration the router was built with.
    pub fn config(&self) -> &RouterConfig {
        &self.config
    }

    /// The id of the tenant named `name`.
    pub fn tenant_id(&self, name: &str) -> Option<TenantId> {
        self.plan.tenant_names.get(name).map(|&i| TenantId(i))
    }

    /// The id of the endpoint named `name`.
    pub fn endpoint_id(&self, name: &str) -> Option<EndpointId> {
        self.plan.endpoint_names.get(name).map(|&i| EndpointId(i))
    }

    /// Attempts the router has outstanding on `endpoint` (dispatched, not yet
    /// answered, timed out or cancelled). 0 for an unknown endpoint.
    pub fn in_flight(&self, endpoint: EndpointId) -> u32 {
        self.endpoints.get(endpoint.0 as usize).map_or(0, |e| e.in_flight)
    }

    /// Calls the router holds with no attempt in flight: queued for an
    /// endpoint, waiting out a backoff, or waiting for an endpoint to
    /// become available.
    pub fn waiting(&self) -> usize {
        self.calls.live() - self.calls_in_flight
    }

    /// Accepts a call and routes it; its decisions are available from
    /// [`poll_action`](Router::poll_action) right away. A call naming an
    /// unknown tenant or workflow fails with [`FailReason::InvalidRequest`].
    pub fn submit(&mut self, now: Time, request: CallRequest) -> CallId {
        let id = CallId(self.next_call);
        self.next_call += 1;
        let Some(chain) = self.chain(request.tenant.0, request.workflow.0) else {
            self.actions.push_back(Action::Fail {
                call: id,
                reason: FailReason::InvalidRequest,
            });
            return id;
        };
        let first_tier = chain[0].tier;
        let slot = self.calls.alloc();
        let c = self.calls.get_mut(slot);
        c.id = id;
        c.set_state(CallState::Backoff);
        c.tenant = request.tenant.0;
        c.workflow = request.workflow.0;
        c.deadline = request.deadline.unwrap_or(Time::MAX);
        c.attempts = 0;
        c.failures = 0;
        c.next_step = 0;
        c.last_tier = first_tier;
        c.trigger = None;
        c.live = None;
        if let Some(d) = request.deadline {
            self.timers.set(d, TimerKind::Deadline { slot, call: id.0 });
        }
        self.route(now, slot);
        self.prune();
        id
    }

    /// Reports what became of `attempt`. Outcomes of attempts that are not
    /// outstanding (cancelled, already reported, unknown) are ignored.
    pub fn on_outcome(&mut self, now: Time, attempt: AttemptId, outcome: Outcome) {
        let Some(slot) = self.attempts.get(attempt) else {
            return;
        };
        let Some(live) = self.calls.get(slot).live.filter(|l| l.attempt == attempt) else {
            return;
        };
        self.end_attempt(slot, live);
        match outcome {
            Outcome::Success => {
                let call = self.calls.get(slot).id;
                self.actions.push_back(Action::Complete {
                    call,
                    attempt,
                    endpoint: live.endpoint,
                    tier: live.tier,
                });
                self.calls.release(slot);
            }
            Outcome::ServerError | Outcome::ConnectionError => {
                self.after_failure(now, slot, live, Trigger::Error);
            }
            Outcome::RateLimited { retry_after } => {
                let e = &mut self.endpoints[live.endpoint.0 as usize];
                let until = now + retry_after;
                if until > e.cooldown_until {
                    e.cooldown_until = until;
                    self.timers.set(
                        until,
                        TimerKind::EndpointReady {
                            endpoint: live.endpoint.0,
                        },
                    );
                }
                self.after_failure(now, slot, live, Trigger::RateLimited);
            }
        }
        self.pump(now, live.endpoint);
        self.prune();
    }

    /// Processes every timer due at or before `now`. Calling it early, or
    /// twice for the same instant, does nothing.
    pub fn handle_timeout(&mut self, now: Time) {
        while let Some(due) = self.timers.pop_due(now) {
            match due {
                Due::Attempt { endpoint, attempt } => {
                    let Some(slot) = self.attempts.get(attempt) else {
                        continue;
                    };
                    let c = self.calls.get(slot);
                    let Some(live) = c.live.filter(|l| l.attempt == attempt) else {
                        continue;
                    };
                    self.actions.push_back(Action::Cancel { call: c.id, attempt });
                    self.end_attempt(slot, live);
                    self.after_failure(now, slot, live, Trigger::Timeout);
                    self.pump(now, EndpointId(endpoint));
                }
                Due::Timer(TimerKind::Retry { slot, epoch }) => {
                    let c = self.calls.get(slot);
                    if c.epoch == epoch && c.state == CallState::Backoff {
                        self.route(now, slot);
                    }
                }
                Due::Timer(TimerKind::Deadline { slot, call }) => {
                    let c = self.calls.get(slot);
                    let waiting = matches!(c.state, CallState::Waiting | CallState::Backoff | CallState::Parked);
                    if c.id.0 == call && waiting {
                        self.fail(slot, FailReason::DeadlineUnreachable);
                    }
                }
                Due::Timer(TimerKind::EndpointReady { endpoint }) => {
                    let e = EndpointId(endpoint);
                    if self.available(now, e) {
                        self.pump(now, e);
                        self.unpark(now);
                    }
                }
            }
        }
        self.prune();
    }

    /// The next decision for the driver to carry out, oldest first.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The next audit event, oldest first.
    pub fn poll_event(&mut self) -> Option<AuditEvent> {
        self.events.pop_front()
    }

    /// The earliest instant at which [`handle_timeout`](Router::handle_timeout)
    /// has work to do, if any.
    pub fn poll_timeout(&self) -> Option<Time> {
        self.timers.next()
    }

    // ---- internals -------------------------------------------------------

    fn chain(&self, tenant: u32, workflow: u32) -> Option<&[Step]> {
        let t = self.plan.tenants.get(tenant as usize)?;
        let w = t.workflows.get(workflow as usize)?;
        Some(&w.chain)
    }

    fn available(&self, now: Time, e: EndpointId) -> bool {
        now >= self.endpoints[e.0 as usize].cooldown_until
    }

    /// Finds the step for the call's next attempt and dispatches or queues it.
    fn route(&mut self, now: Time, slot: u32) {
        let c = self.calls.get(slot);
        if now >= c.deadline {
            self.fail(slot, FailReason::DeadlineUnreachable);
            return;
        }
        let (tenant, workflow, start) = (c.tenant, c.workflow, c.next_step as usize);
        let class = self.plan.tenants[tenant as usize].class;
        let chain = &self.plan.tenants[tenant as usize].workflows[workflow as usize].chain;
        let n = chain.len();
        let found = (0..n)
            .map(|k| (k, (start + k) % n))
            .find(|&(_, i)| self.available(now, chain[i].endpoint));
        let c = self.calls.get_mut(slot);
        let Some((skipped, i)) = found else {
            c.trigger.get_or_insert(Trigger::Unavailable);
            c.set_state(CallState::Parked);
            self.parked.push((slot, c.epoch));
            return;
        };
        if skipped > 0 {
            c.trigger.get_or_insert(Trigger::Unavailable);
        }
        let e = chain[i].endpoint;
        let es = &mut self.endpoints[e.0 as usize];
        let max = self.plan.endpoints[e.0 as usize].max_concurrency;
        if es.queue.is_empty() && es.in_flight < max {
            self.dispatch(now, slot, i as u16);
        } else {
            c.set_state(CallState::Waiting);
            es.queue.push(
                class,
                Waiter {
                    slot,
                    epoch: c.epoch,
                    step: i as u16,
                },
            );
            self.pump(now, e);
        }
    }

    /// Dispatches queued calls on `e` while it has free slots; re-routes
    /// them all if `e` became unavailable.
    fn pump(&mut self, now: Time, e: EndpointId) {
        let max = self.plan.endpoints[e.0 as usize].max_concurrency;
        loop {
            let available = self.available(now, e);
            let es = &mut self.endpoints[e.0 as usize];
            if available && es.in_flight >= max {
                return;
            }
            let Some((_, w)) = es.queue.pop() else {
                return;
            };
            let c = self.calls.get(w.slot);
            if c.epoch != w.epoch || c.state != CallState::Waiting {
                continue;
            }
            if !available {
                self.calls.get_mut(w.slot).next_step = w.step;
                self.route(now, w.slot);
            } else if now >= c.deadline {
                self.fail(w.slot, FailReason::DeadlineUnreachable);
            } else {
                self.dispatch(now, w.slot, w.step);
            }
        }
    }

    /// Sends the call's next attempt to chain step `step`.
    fn dispatch(&mut self, now: Time, slot: u32, step: u16) {
        let c = self.calls.get(slot);
        let chain = &self.plan.tenants[c.tenant as usize].workflows[c.workflow as usize].chain;
        let Step { endpoint, tier } = chain[step as usize];
        let attempt = AttemptId(self.next_attempt);
        self.next_attempt += 1;
        if tier != c.last_tier {
            let kind = AuditKind::TierChange {
                from: c.last_tier,
                to: tier,
                trigger: c.trigger.unwrap_or(Trigger::Unavailable),
            };
            self.audit(now, slot, Some(endpoint), kind);
        }
        let c = self.calls.get_mut(slot);
        c.attempts += 1;
        c.last_tier = tier;
        c.trigger = None;
        c.live = Some(Live {
            attempt,
            endpoint,
            step,
            tier,
            started: now,
        });
        c.set_state(CallState::InFlight);
        let call = c.id;
        self.calls_in_flight += 1;
        self.endpoints[endpoint.0 as usize].in_flight += 1;
        self.attempts.insert(attempt, slot);
        let timeout = self.plan.endpoints[endpoint.0 as usize].attempt_timeout;
        self.timers.set_attempt(endpoint.0, now + timeout, attempt);
        self.actions.push_back(Action::Dispatch {
            call,
            attempt,
            endpoint,
            tier,
        });
    }

    /// Forgets an attempt that ended (answered or abandoned).
    fn end_attempt(&mut self, slot: u32, live: Live) {
        self.attempts.remove(live.attempt);
        let c = self.calls.get_mut(slot);
        c.live = None;
        self.calls_in_flight -= 1;
        let e = &mut self.endpoints[live.endpoint.0 as usize];
        e.in_flight = e.in_flight.saturating_sub(1);
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
        let delay = backoff_delay(&tenant.retry, c.failures);
        if delay.as_nanos() == 0 {
            self.route(now, slot);
            return;
        }
        let at = now + delay;
        if at >= c.deadline {
            self.fail(slot, FailReason::DeadlineUnreachable);
            return;
        }
        c.set_state(CallState::Backoff);
        let epoch = c.epoch;
        self.timers.set(at, TimerKind::Retry { slot, epoch });
    }

    /// Routes again every call that waited for an endpoint to come back.
    fn unpark(&mut self, now: Time) {
        let parked = std::mem::take(&mut self.parked);
        for (slot, epoch) in parked {
            let c = self.calls.get(slot);
            if c.epoch == epoch && c.state == CallState::Parked {
                self.route(now, slot);
            }
        }
    }

    fn fail(&mut self, slot: u32, reason: FailReason) {
        let call = self.calls.get(slot).id;
        self.actions.push_back(Action::Fail { call, reason });
        self.calls.release(slot);
    }

    fn audit(&mut self, now: Time, slot: u32, endpoint: Option<EndpointId>, kind: AuditKind) {
        let c = self.calls.get(slot);
        self.events.push_back(AuditEvent {
            at: now,
            tenant: Some(TenantId(c.tenant)),
            workflow: Some(WorkflowId(c.workflow)),
            call: Some(c.id),
            endpoint,
            kind,
        });
    }

    /// Drops dead timers from the fronts so that `poll_timeout` is exact.
    fn prune(&mut self) {
        let (attempts, calls) = (&self.attempts, &self.calls);
        self.timers.prune(|due| match due {
            Due::Attempt { attempt, .. } => attempts.get(attempt).is_some(),
            Due::Timer(TimerKind::Retry { slot, epoch }) => calls.get(slot).epoch == epoch,
            Due::Timer(TimerKind::Deadline { slot, call }) => {
                let c = calls.get(slot);
                c.id.0 == call && c.state != CallState::Free
            }
            Due::Timer(TimerKind::EndpointReady { .. }) => true,
        });
    }
}

#[cfg(test)]
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
}
