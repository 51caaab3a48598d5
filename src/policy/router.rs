//! [`Router`]: the state machine that turns submitted calls and observed
//! outcomes into dispatch decisions and audit events.
//!
//! This module owns the call life cycle (queue, dispatch, retry, fallback,
//! completion) and the per-endpoint run-time state. Configuration checks live
//! in `plan`, queues in `queue`, timers in `timers`, the call slab in `calls`.

use std::collections::VecDeque;

use super::breaker::Breaker;
use super::budget::{Budget, BudgetStatus};
use super::calls::{AttemptIndex, CallState, Calls};
use super::config::{RouterConfig, Tier};
use super::error::ConfigError;
use super::lifecycle::Ending;
use super::limiter::TokenBucket;
use super::plan::Plan;
use super::queue::EndpointQueue;
use super::rng::SplitMix64;
use super::timers::{Due, TimerKind, Timers};
use super::types::{
    Action, AttemptId, AuditEvent, CallId, CallRequest, EndpointId, FailReason, Outcome, TenantId, Trigger,
};
use crate::time::{Span, Time};

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
///   [`waiting`](Router::waiting), [`budget`](Router::budget);
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
///   tenant's chain (or to its session's step, see *Session affinity*). After an attempt on step `i` fails, the next attempt
///   goes to step `i + 1`, wrapping to step 0 after the last step; the
///   tenant's `retry.max_attempts` counts every attempt of the call.
/// - **Busy is not failed.** When the chosen step's endpoint is at its
///   `max_concurrency`, the call waits in the router's queue for that
///   endpoint; it is *not* sent to a lower tier. When a slot frees, the
///   endpoint takes a waiting call of the highest class (Gold, then
///   Silver, then Bronze) that has one and that *Reserved slots* admits.
/// - **Waiting limit.** For a tenant with `max_wait`, a call's wait starts
///   when it is first queued after submission or its latest dispatch (a
///   re-route keeps it). At exactly that instant plus `max_wait` it is
///   dispatched on the first later step of its chain (wrapping, before any
///   suspend step) that can take it at once: another endpoint, not blocked,
///   rate limits ready, a free slot and nobody queued there (trigger
///   [`Trigger::Saturated`]). If none can, it also joins the queue of the
///   first such step that is not blocked, keeps its place in its own, and
///   is dispatched by whichever endpoint takes it first (on the fallback,
///   again with [`Trigger::Saturated`]). `max_wait` never suspends a call.
/// - **Fair share.** Inside a class, tenants waiting for the same endpoint
///   share its freed slots in proportion to their `weight` (weighted fair
///   queuing; each tenant's calls stay in order). A tenant at its
///   `max_concurrency` (attempts in flight over all endpoints) keeps its
///   calls waiting while other tenants' calls pass them.
/// - **Reserved slots.** An endpoint's `reserved` shares give class `C`
///   `r_C = floor(share_C × max_concurrency)` slots. Let `f_C` be the
///   endpoint's attempts in flight of class `C` (first legs and hedge legs
///   alike), `u_C = max(0, r_C − f_C)` its unused reservation, and say `C`
///   *waits* when a call of class `C` is queued for the endpoint (counted
///   even while its tenant is at its `max_concurrency`). A call of class
///   `K` may take a slot exactly when the endpoint is below its
///   `max_concurrency` and either `f_K < r_K` (a class may always use its
///   own reservation), or the slots still free after this dispatch cover
///   the unused reservations of every *other* class that waits:
///   `max_concurrency − in_flight − 1 ≥ Σ u_J` over `J ≠ K` waiting.
///   Among the queued calls the rule admits, the highest class goes first
///   (then fair share). So a reservation is *borrowable when idle*: while
///   no call of `C` waits, any class may fill `C`'s slots (with nothing
///   queued a call is dispatched at once on any free slot), and a call of
///   `C` arriving then waits for a slot to free (attempts are never
///   preempted); from then on, while `C` waits, no class at or over its
///   own reservation takes a slot unless the free slots left after it still
///   cover `u_C` (and the other waiting classes' unused reservations), so
///   freed slots go to `C` until it holds `r_C` or stops waiting. While `C` waits, only a class below its own reservation may
///   take a slot that `C`'s unused reservation needs, so a class with a
///   reservation is never starved by higher classes. The rule is
///   re-applied after every input, so a slot it held is taken as soon as
///   the class it was held for stops waiting (its call was served
///   elsewhere, re-routed, shed or timed out). Some waiting class is always
///   admitted to a free slot, so reservations never leave an endpoint idle
///   while every waiting class is shut out. The rule applies to
///   dispatches from the queue only; hedge legs and `max_wait` fallbacks
///   still need an endpoint with nobody queued.
/// - **Shedding.** With `max_queue` set, when more calls than that wait for
///   one endpoint, the newest call of the lowest class waiting there fails
///   with [`FailReason::Shed`] and an
///   [`AuditKind::Shed`](super::AuditKind::Shed) event.
/// - **Unavailable is skipped.** A step is skipped (without spending an
///   attempt) while its endpoint cannot take the call: it answered 429 less
///   than `retry_after` ago, its circuit breaker is open (or half-open with
///   every probe out), or its `rpm`/`tpm` budget would reject the call.
///   Calls waiting for such an endpoint are re-routed the same way. A call
///   whose every step is unavailable waits until one comes back.
/// - **Breakers.** Each endpoint with a [`BreakerPolicy`](super::BreakerPolicy)
///   trips on its failure or slow share over a sliding window, stays open
///   for `open_for`, then lets `half_open_probes` probes through; success of
///   them all closes it, a failure reopens it. 429s do not count. Every
///   transition is an [`AuditKind::Breaker`](super::AuditKind::Breaker)
///   event. New calls without a session start at the top of their chain,
///   so a closed breaker promotes traffic back to its tier.
/// - **Session affinity.** A call whose request names an
///   [`affinity`](CallRequest::affinity) endpoint starts at the first
///   serving (non-suspend) step of its chain on that endpoint instead of
///   step 0, if there is one and, at submission, that endpoint is not
///   blocked (breaker open or out of probes, 429 cooldown) and its
///   `rpm`/`tpm` budgets admit the call now. That step is then the call's
///   first step in every rule: the call is dispatched there, or waits in
///   its queue when it is busy (full, or its queue not empty, or the
///   tenant at its `max_concurrency`), exactly as a call waits for its
///   primary; `max_wait`, shedding and re-routing of waiting calls apply
///   from it, and no [`AuditKind::TierChange`](super::AuditKind::TierChange)
///   is emitted for dispatching there. Otherwise (no such step: the
///   endpoint is not in the chain, or its tier is not allowed or needs
///   consent; or it is not eligible) the affinity is ignored and the call
///   starts at step 0 as usual. Affinity only picks the first step: a
///   failed attempt moves on to the step after the one it was sent to,
///   and a resumed call restarts at step 0. A session stays on a lower
///   tier after its primary recovers; only new sessions are promoted.
/// - **Suspension.** Reaching a tier-4 step, or a step whose tier needs the
///   tenant's consent, suspends the call ([`Action::Suspend`]) instead of
///   serving it there. It resumes ([`Action::Resume`], then a dispatch from
///   the top of the chain) when a tier 0 or 1 endpoint of its chain
///   recovers (its breaker closes or its 429 cooldown ends), or fails with
///   [`FailReason::SuspendedTooLong`] after the tenant's `max_suspend`.
///   Without breakers, only a cooldown ending counts as a recovery.
/// - **Latency ceiling.** A tenant's `latency_ceiling` is a per-attempt
///   limit: the attempt is cancelled and the call falls back to the next
///   step (trigger [`Trigger::SlowAttempt`]); the breaker counts it failed.
/// - **Hedging.** For a tenant with `hedge_after`, an attempt still
///   unanswered after that long gets a second leg on the next step of the
///   chain that can take it at once (another endpoint, a free slot, not
///   blocked; never queued, never a suspend step), if the call has attempts
///   left (trigger [`Trigger::Hedge`]). The first success wins:
///   [`Action::Cancel`] for the other leg, then [`Action::Complete`]. A
///   failed leg does not fail the call while the other is out; when both
///   fail, the call retries as after any failure.
/// - **Failures.** A 5xx, a connection error, a 429 and an attempt timeout
///   all fail the attempt. At the endpoint's `attempt_timeout` the router
///   emits [`Action::Cancel`] and frees the slot. With attempts left, the next
///   attempt is routed after `retry.backoff * 2^(n-1)` (capped at
///   `retry.backoff_max`, shortened by up to `retry.jitter` of itself with
///   the router's generator seeded from `seed`) for the `n`-th retry; without, the call fails with
///   [`FailReason::AttemptsExhausted`].
/// - **Deadlines.** A call is never dispatched at or after its deadline: it
///   fails with [`FailReason::DeadlineUnreachable`] as soon as it is waiting
///   at its deadline, or when its backoff would end at or after it. An
///   attempt already in flight at the deadline is left to finish.
/// - **Deadline awareness.** Each endpoint has a latency estimate: its
///   `expected_latency` at first, then after every successful attempt
///   `estimate += (latency - estimate) / 8` (the first success replaces a
///   missing prior). A call with a deadline fails early with
///   [`FailReason::DeadlineUnreachable`] and an
///   [`AuditKind::DeadlineUnreachable`](super::AuditKind::DeadlineUnreachable)
///   event (the smallest estimate and its endpoint) when an attempt sent at
///   `t` could not make it: `t + estimate > deadline` for the smallest
///   estimate over the chain's serving (non-suspend) steps. It is checked
///   when the call is routed (`t = now`), dispatched from a queue, moved by
///   `max_wait`, or fails an attempt (`t` = the end of its backoff); a
///   waiting call is also checked at the first instant the estimates of its
///   queueing time make it hopeless. If any serving step has no estimate
///   yet, the call never fails early. Hedge legs are not checked.
/// - **Constraints.** Chain steps at tiers the tenant (or the workflow's
///   override) does not allow, or on endpoints outside the tenant's
///   regions, are removed when the router is built.
/// - **Error budgets.** For a tenant with an `availability_target`, every
///   call that ends counts (served, or failed for any reason) at the
///   instant it ends. Burn rates are failure ratios over the budget's short
///   and long windows divided by `1 - target`; when a failure brings both
///   to an alert threshold, the router emits
///   [`AuditKind::BudgetAlert`](super::AuditKind::BudgetAlert), at most once
///   per threshold per short window. Counts live in fixed rings of time
///   buckets (windows are measured in whole buckets: 1/360 of the longer
///   window, 1/720 of the period), so memory does not grow.
/// - **Audit.** Whenever an attempt is dispatched on a different tier than
///   the call's previous attempt (for the first attempt: than the chain's
///   first step), the router emits
///   [`AuditKind::TierChange`](super::AuditKind::TierChange) naming the new
///   endpoint and what made the call leave its tier. Tenants with
///   `notify_on_degradation` also get an
///   [`AuditKind::Notification`](super::AuditKind::Notification) whenever
///   one of their calls goes to a worse tier than their previous dispatch.
///   With serde, an [`AuditEvent`] is one flat JSON object (one line with
///   serde_json): `at`, `tenant`, `workflow`, `call`, `endpoint`, then the
///   kind's tag under `event` and its fields, all in snake_case.
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
///         ..Default::default()
///     }],
///     tenants: vec![TenantPolicy {
///         name: "acme".into(),
///         class: SlaClass::Gold,
///         chain: vec![ChainStep { endpoint: "sonnet@eu".into(), tier: Tier(0) }],
///         ..Default::default()
///     }],
///     seed: 0,
///     budget: Default::default(),
///     max_queue: None,
///     breaker: None,
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
///     affinity: None,
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
    pub(super) config: RouterConfig,
    pub(super) plan: Plan,
    pub(super) endpoints: Vec<EndpointState>,
    pub(super) calls: Calls,
    pub(super) attempts: AttemptIndex,
    pub(super) timers: Timers,
    pub(super) parked: Vec<(u32, u32)>,
    pub(super) actions: VecDeque<Action>,
    pub(super) events: VecDeque<AuditEvent>,
    pub(super) next_call: u64,
    pub(super) next_attempt: u64,
    pub(super) calls_in_flight: usize,
    pub(super) suspended: Vec<(u32, u32)>,
    pub(super) tenants: Vec<TenantState>,
    pub(super) rng: SplitMix64,
    /// The latest `now` seen (for invariant checks in tests).
    pub(super) now: Time,
}

/// Run-time state of one endpoint.
#[derive(Debug, Default)]
pub(super) struct EndpointState {
    pub(super) in_flight: u32,
    /// `in_flight` per SLA class (indexed by [`SlaClass::rank`](super::SlaClass::rank)).
    pub(super) class_in_flight: [u32; 3],
    pub(super) cooldown_until: Time,
    pub(super) queue: EndpointQueue,
    pub(super) breaker: Option<Breaker>,
    pub(super) rpm: Option<TokenBucket>,
    pub(super) tpm: Option<TokenBucket>,
    /// Estimated attempt latency (EWMA of successes, from the prior).
    pub(super) latency: Option<Span>,
}

/// Run-time state of one tenant.
#[derive(Debug, Default)]
pub(super) struct TenantState {
    /// Tier of the tenant's latest dispatch (for degradation notices).
    pub(super) last_tier: Tier,
    /// Error-budget accounting, for tenants with an availability target.
    pub(super) budget: Option<Budget>,
    /// The tenant's attempts in flight, over all endpoints.
    pub(super) in_flight: u32,
}

impl Router {
    /// Checks `config` and builds a router with no calls; a configuration
    /// with problems is rejected with the first of them (all of them:
    /// [`RouterConfig::problems`]).
    pub fn new(config: RouterConfig) -> Result<Router, ConfigError> {
        let plan = Plan::resolve(&config).map_err(|mut problems| problems.swap_remove(0))?;
        let n = plan.endpoints.len();
        let endpoints = plan
            .endpoints
            .iter()
            .zip(&config.endpoints)
            .map(|(e, p)| EndpointState {
                breaker: e.breaker.clone().map(Breaker::new),
                rpm: e.rpm.map(|r| TokenBucket::new(u64::from(r))),
                tpm: e.tpm.map(TokenBucket::new),
                latency: p.expected_latency,
                ..EndpointState::default()
            })
            .collect();
        Ok(Router {
            endpoints,
            suspended: Vec::new(),
            tenants: config
                .tenants
                .iter()
                .map(|t| TenantState {
                    budget: t.availability_target.map(|a| Budget::new(a, &config.budget)),
                    ..TenantState::default()
                })
                .collect(),
            rng: SplitMix64::new(config.seed),
            now: Time::ZERO,
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

    /// The error budget of `tenant` as of the latest instant the router was
    /// given; `None` for an unknown tenant or one without an
    /// `availability_target`.
    pub fn budget(&self, tenant: TenantId) -> Option<BudgetStatus> {
        let b = self.tenants.get(tenant.0 as usize)?.budget.as_ref()?;
        Some(b.status(self.now, &self.config.budget))
    }

    /// Accepts a call and routes it; its decisions are available from
    /// [`poll_action`](Router::poll_action) right away. A call naming an
    /// unknown tenant or workflow fails with [`FailReason::InvalidRequest`].
    pub fn submit(&mut self, now: Time, request: CallRequest) -> CallId {
        self.now = self.now.max(now);
        let id = CallId(self.next_call);
        self.next_call += 1;
        if self.chain(request.tenant.0, request.workflow.0).is_none() {
            self.actions.push_back(Action::Fail {
                call: id,
                reason: FailReason::InvalidRequest,
            });
            return id;
        }
        let tokens = u64::from(request.input_tokens) + u64::from(request.output_tokens);
        let start = request
            .affinity
            .and_then(|e| self.affinity_step(now, request.tenant.0, request.workflow.0, e, tokens))
            .unwrap_or(0);
        let chain = self.chain(request.tenant.0, request.workflow.0).unwrap_or_default();
        let first_tier = chain[start].tier;
        let slot = self.calls.alloc();
        let c = self.calls.get_mut(slot);
        c.id = id;
        c.set_state(CallState::Backoff);
        c.tenant = request.tenant.0;
        c.workflow = request.workflow.0;
        c.deadline = request.deadline.unwrap_or(Time::MAX);
        c.attempts = 0;
        c.failures = 0;
        c.next_step = start as u16;
        c.last_tier = first_tier;
        c.trigger = None;
        c.live = None;
        c.hedge = None;
        c.tokens = tokens;
        c.waiting_since = None;
        c.spilled = false;
        if let Some(d) = request.deadline {
            self.timers.set(d, TimerKind::Deadline { slot, call: id.0 });
        }
        self.route(now, slot);
        self.settle_reservations(now);
        self.prune();
        id
    }

    /// Reports what became of `attempt`. Outcomes of attempts that are not
    /// outstanding (cancelled, already reported, unknown) are ignored.
    pub fn on_outcome(&mut self, now: Time, attempt: AttemptId, outcome: Outcome) {
        self.now = self.now.max(now);
        let Some(slot) = self.attempts.get(attempt) else {
            return;
        };
        let Some(live) = self.calls.get(slot).leg(attempt) else {
            return;
        };
        let ending = match outcome {
            Outcome::Success => Ending::Success,
            Outcome::ServerError | Outcome::ConnectionError => Ending::Failed(Trigger::Error),
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
                Ending::Failed(Trigger::RateLimited)
            }
        };
        self.attempt_over(now, slot, live, ending, false);
        self.settle_reservations(now);
        self.prune();
    }

    /// Processes every timer due at or before `now`. Calling it early, or
    /// twice for the same instant, does nothing.
    pub fn handle_timeout(&mut self, now: Time) {
        self.now = self.now.max(now);
        while let Some(due) = self.timers.pop_due(now) {
            match due {
                Due::Attempt { attempt, .. } | Due::Timer(TimerKind::Ceiling { attempt }) => {
                    let trigger = match due {
                        Due::Attempt { .. } => Trigger::Timeout,
                        _ => Trigger::SlowAttempt,
                    };
                    let Some(slot) = self.attempts.get(attempt) else {
                        continue;
                    };
                    let c = self.calls.get(slot);
                    let Some(live) = c.leg(attempt) else {
                        continue;
                    };
                    self.attempt_over(now, slot, live, Ending::Failed(trigger), true);
                }
                Due::Timer(TimerKind::Retry { slot, epoch }) => {
                    let c = self.calls.get(slot);
                    if c.epoch == epoch && c.state == CallState::Backoff {
                        self.route(now, slot);
                    }
                }
                Due::Timer(TimerKind::Deadline { slot, call }) => {
                    let c = self.calls.get(slot);
                    let waiting = matches!(
                        c.state,
                        CallState::Waiting | CallState::Backoff | CallState::Parked | CallState::Suspended
                    );
                    if c.id.0 == call && waiting {
                        self.fail(slot, FailReason::DeadlineUnreachable);
                    }
                }
                Due::Timer(TimerKind::Hedge { slot, epoch }) => self.hedge(now, slot, epoch),
                Due::Timer(TimerKind::Hopeless { slot, call }) => {
                    let c = self.calls.get(slot);
                    if c.id.0 == call && c.state == CallState::Waiting && !self.fail_if_hopeless(now, now, slot) {
                        self.arm_hopeless(now, slot);
                    }
                }
                Due::Timer(TimerKind::MaxWait { slot, call }) => {
                    if self.calls.get(slot).id.0 == call {
                        self.max_wait_over(now, slot);
                    }
                }
                Due::Timer(TimerKind::SuspendLimit { slot, epoch }) => {
                    let c = self.calls.get(slot);
                    if c.epoch == epoch && c.state == CallState::Suspended {
                        self.fail(slot, FailReason::SuspendedTooLong);
                    }
                }
                Due::Timer(TimerKind::EndpointReady { endpoint }) => {
                    let e = EndpointId(endpoint);
                    if now >= self.endpoints[endpoint as usize].cooldown_until {
                        self.pump(now, e);
                        self.unpark(now);
                        self.resume_on(now, e);
                    }
                }
                Due::Timer(TimerKind::Unpark) => self.unpark(now),
                Due::Timer(TimerKind::BreakerProbe { endpoint }) => {
                    let e = EndpointId(endpoint);
                    let transition = self.endpoints[endpoint as usize]
                        .breaker
                        .as_mut()
                        .and_then(|b| b.on_timer(now));
                    if let Some(t) = transition {
                        self.breaker_moved(now, e, t, None);
                    }
                }
            }
        }
        self.settle_reservations(now);
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

    /// Panics (naming `context`) if the router's bookkeeping is
    /// inconsistent or a usable free slot is left idle while a call waits.
    pub(crate) fn check_invariants(&self, context: &str) {
        let now = self.now;
        let mut per_endpoint = vec![0u32; self.endpoints.len()];
        let (mut held, mut flying) = (0usize, 0usize);
        for (_, c) in self.calls.iter() {
            for l in [c.live, c.hedge].into_iter().flatten() {
                per_endpoint[l.endpoint.0 as usize] += 1;
            }
            assert!(
                c.hedge.is_none() || c.live.is_some(),
                "hedge leg without a first leg; {context}"
            );
            match c.state {
                CallState::Free => {}
                CallState::InFlight => flying += 1,
                _ => held += 1,
            }
        }
        assert_eq!(self.waiting(), held, "waiting(); {context}");
        assert_eq!(self.calls_in_flight, flying, "calls in flight; {context}");
        let mut per_class = vec![[0u32; 3]; self.endpoints.len()];
        for (_, c) in self.calls.iter() {
            let class = self.plan.tenants[c.tenant as usize].class;
            for l in [c.live, c.hedge].into_iter().flatten() {
                per_class[l.endpoint.0 as usize][class.rank()] += 1;
            }
        }
        for (i, es) in self.endpoints.iter().enumerate() {
            let e = EndpointId(i as u32);
            assert_eq!(es.in_flight, per_endpoint[i], "in_flight({i}); {context}");
            assert_eq!(es.class_in_flight, per_class[i], "class in_flight({i}); {context}");
            let plan = &self.plan.endpoints[i];
            let free = es.in_flight < plan.max_concurrency;
            if !free || self.blocked(now, e).is_some() {
                continue;
            }
            let live = |w: &super::queue::Waiter| {
                let c = self.calls.get(w.slot);
                c.epoch == w.epoch && c.state == CallState::Waiting
            };
            let mut waiting = [false; 3];
            for (class, w) in es.queue.iter() {
                waiting[class.rank()] |= live(w);
            }
            assert!(
                !waiting.contains(&true)
                    || super::SlaClass::ALL
                        .into_iter()
                        .any(|k| waiting[k.rank()] && super::lifecycle::admits(plan, es, k, waiting)),
                "endpoint {i}: reservations shut every waiting class out of a free slot; {context}"
            );
            for (class, w) in es.queue.iter() {
                // Reserved slots: a free slot may stay idle while a call
                // waits only if the reservation rule keeps its class out.
                if self.tenant_capped(w.tenant) || !super::lifecycle::admits(plan, es, class, waiting) {
                    continue;
                }
                let c = self.calls.get(w.slot);
                assert!(
                    !live(w) || self.limits_ready(now, e, c.tokens) > now,
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
            let live = |w: &super::queue::Waiter| {
                let c = self.calls.get(w.slot);
                c.epoch == w.epoch && c.state == CallState::Waiting
            };
            let mut waiting = [false; 3];
            for (class, w) in es.queue.iter() {
                waiting[class.rank()] |= live(w);
            }
            super::SlaClass::ALL
                .into_iter()
                .any(|k| waiting[k.rank()] && !super::lifecycle::admits(plan, es, k, waiting))
        })
    }

    /// Attempt-index entries held.
    pub(crate) fn attempt_index_len(&self) -> usize {
        self.attempts.len()
    }
}
