//! [`Router`]: the state machine that turns submitted calls and observed
//! outcomes into dispatch decisions and audit events.
//!
//! This module owns the public API (inputs, outputs, getters) and the
//! run-time state of endpoints and tenants. The decisions live in `route`
//! (chain walk, pools, queues), `lifecycle` (dispatch, attempt endings),
//! `recovery` (tenant tiers, probes, notices, suspension), `wait`
//! (`max_wait`, deadline estimates), `hedge` and `reload`. The contract is
//! the type's doc comment, written in `contract.md`.

use std::collections::VecDeque;

use super::balance::{Candidate, PeakEwma};
use super::breaker::Breaker;
use super::budget::{Budget, BudgetStatus};
use super::calls::{AttemptIndex, CallState, Calls, Range};
use super::config::{RouterConfig, Tier};
use super::error::ConfigError;
use super::lifecycle::Ending;
use super::limiter::TokenBucket;
use super::plan::Plan;
use super::queue::EndpointQueue;
use super::rng::SplitMix64;
use super::timers::{Due, TimerKind, Timers};
use super::types::{
    Action, AttemptId, AuditEvent, AuditKind, BreakerState, CallId, CallRequest, EndpointId, FailReason, Outcome,
    TenantId, Trigger,
};
use crate::time::{Span, Time};

#[doc = include_str!("contract.md")]
#[derive(Debug)]
pub struct Router {
    pub(super) config: RouterConfig,
    pub(super) plan: Plan,
    pub(super) endpoints: Vec<EndpointState>,
    pub(super) calls: Calls,
    pub(super) attempts: AttemptIndex,
    pub(super) timers: Timers,
    pub(super) parked: Vec<(u32, u32)>,
    /// When the one pending wake-up of the parked calls is due: a call
    /// parking later arms its own only if it is earlier (every wake-up
    /// re-routes every parked call, so one pending is enough).
    pub(super) unpark_at: Option<Time>,
    pub(super) actions: VecDeque<Action>,
    pub(super) events: VecDeque<AuditEvent>,
    pub(super) next_call: u64,
    pub(super) next_attempt: u64,
    pub(super) calls_in_flight: usize,
    /// Calls suspended.
    pub(super) suspended_calls: usize,
    pub(super) tenants: Vec<TenantState>,
    pub(super) rng: SplitMix64,
    /// The balancing candidates of the pool being routed to (filled by
    /// `find_candidates`, read by `balance`): kept here so that routing a
    /// call allocates nothing.
    pub(super) candidates: Vec<Candidate>,
    /// The latest `now` seen: time used by every decision (an earlier
    /// `now` given later is clamped to it).
    pub(super) now: Time,
    /// Paths taken, for tests that check they are reached.
    #[cfg(test)]
    pub(super) seen: super::invariants::Seen,
}

/// Run-time state of one endpoint.
#[derive(Debug, Default)]
pub(super) struct EndpointState {
    pub(super) in_flight: u32,
    /// `in_flight` per SLA class (indexed by [`SlaClass::rank`]).
    pub(super) class_in_flight: [u32; 3],
    pub(super) cooldown_until: Time,
    pub(super) queue: EndpointQueue,
    pub(super) breaker: Option<Breaker>,
    pub(super) rpm: Option<TokenBucket>,
    pub(super) tpm: Option<TokenBucket>,
    /// Estimated attempt latency for deadline awareness (EWMA of
    /// successes, from the prior).
    pub(super) latency: Option<Span>,
    /// Peak-EWMA latency for power-of-two-choices balancing.
    pub(super) peak: PeakEwma,
    /// Estimated time to first token (EWMA of reported first tokens).
    pub(super) first_token: Option<Span>,
    /// The queue was swept while the endpoint is blocked: calls that no
    /// other endpoint of their pool could take were re-routed.
    pub(super) swept: bool,
    /// When a `Pump` timer is armed for the endpoint (its rate limit
    /// refills for a waiting call).
    pub(super) pump_at: Option<Time>,
}

/// Run-time state of one tenant.
#[derive(Debug, Default)]
pub(super) struct TenantState {
    /// Error-budget accounting, for tenants with an availability target.
    pub(super) budget: Option<Budget>,
    /// The tenant's attempts in flight, over all endpoints.
    pub(super) in_flight: u32,
    /// The tier new calls start at (0: not degraded; 4: suspended).
    pub(super) tier: Tier,
    /// When the tenant reached `tier`.
    pub(super) since: Time,
    /// Calls in a row that left `tier`.
    pub(super) streak: u32,
    /// The probe call out, if any.
    pub(super) probe: Option<CallId>,
    /// The earliest instant of the next probe.
    pub(super) next_probe: Time,
    /// The tier the tenant was last told.
    pub(super) notified: Tier,
    /// When it was last told.
    pub(super) last_notice: Option<Time>,
    /// Suspended calls, oldest first `(slot, epoch)`; stale entries are
    /// skipped and compacted.
    pub(super) suspended: VecDeque<(u32, u32)>,
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
            .map(|(e, p)| EndpointState::new(e, p, config.max_queue.is_some()))
            .collect();
        Ok(Router {
            endpoints,
            tenants: config
                .tenants
                .iter()
                .map(|t| TenantState {
                    budget: t.availability_target.map(|a| Budget::new(a, &config.budget)),
                    ..TenantState::default()
                })
                .collect(),
            rng: SplitMix64::new(config.seed),
            candidates: Vec::new(),
            now: Time::ZERO,
            timers: Timers::new(n),
            config,
            plan,
            calls: Calls::default(),
            attempts: AttemptIndex::default(),
            parked: Vec::new(),
            unpark_at: None,
            actions: VecDeque::new(),
            events: VecDeque::new(),
            next_call: 0,
            next_attempt: 0,
            calls_in_flight: 0,
            suspended_calls: 0,
            #[cfg(test)]
            seen: Default::default(),
        })
    }

    /// Takes `now` as the latest instant, clamped so that time never goes
    /// backwards; every decision of the input uses the clamped value.
    pub(super) fn advance(&mut self, now: Time) -> Time {
        self.now = self.now.max(now);
        self.now
    }

    // --- getters ---

    /// The configuration the router runs with.
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
    /// endpoint, waiting out a backoff, waiting for an endpoint to become
    /// available, or suspended.
    pub fn waiting(&self) -> usize {
        self.calls.live() - self.calls_in_flight
    }

    /// Calls waiting in the router's queue of `endpoint` (a call waiting
    /// for a pool counts at every endpoint of the pool it may go to). 0 for
    /// an unknown endpoint.
    pub fn queue_depth(&self, endpoint: EndpointId) -> usize {
        self.endpoints
            .get(endpoint.0 as usize)
            .map_or(0, |e| e.queue.live_total() as usize)
    }

    /// The state of `endpoint`'s circuit breaker; `None` for an endpoint
    /// without one (or an unknown endpoint).
    pub fn breaker_state(&self, endpoint: EndpointId) -> Option<BreakerState> {
        let b = self.endpoints.get(endpoint.0 as usize)?.breaker.as_ref()?;
        Some(b.state())
    }

    /// The latency estimate behind deadline awareness for `endpoint` (its
    /// `expected_latency`, then the EWMA of its successful attempts);
    /// `None` before any.
    pub fn latency_estimate(&self, endpoint: EndpointId) -> Option<Span> {
        self.endpoints.get(endpoint.0 as usize)?.latency
    }

    /// The estimated time to first token of `endpoint`: an EWMA (weight
    /// 1/8) of the first tokens reported with
    /// [`on_first_token`](Router::on_first_token); `None` before any.
    pub fn first_token_estimate(&self, endpoint: EndpointId) -> Option<Span> {
        self.endpoints.get(endpoint.0 as usize)?.first_token
    }

    /// The tier `tenant`'s new calls start at: 0 unless the tenant is
    /// degraded, 4 while its calls are suspended (see *Tenant tiers*).
    /// Tier 0 for an unknown tenant.
    pub fn tenant_tier(&self, tenant: TenantId) -> Tier {
        self.tenants.get(tenant.0 as usize).map_or(Tier::PRIMARY, |t| t.tier)
    }

    /// The error budget of `tenant` as of the latest instant the router was
    /// given; `None` for an unknown tenant or one without an
    /// `availability_target`.
    pub fn budget(&self, tenant: TenantId) -> Option<BudgetStatus> {
        let b = self.tenants.get(tenant.0 as usize)?.budget.as_ref()?;
        Some(b.status(self.now, &self.config.budget))
    }

    // --- inputs ---

    /// Accepts a call and routes it; its decisions are available from
    /// [`poll_action`](Router::poll_action) right away. A call naming an
    /// unknown tenant or workflow fails with [`FailReason::InvalidRequest`].
    pub fn submit(&mut self, now: Time, request: CallRequest) -> CallId {
        let now = self.advance(now);
        let id = CallId(self.next_call);
        self.next_call += 1;
        let (t, w) = (request.tenant.0, request.workflow.0);
        if self.chain(t, w).is_none() {
            self.actions.push_back(Action::Fail {
                call: id,
                reason: FailReason::InvalidRequest,
            });
            return id;
        }
        let tenant_class = self.plan.tenants[t as usize].class;
        let class = match request.priority {
            Some(p) if p.rank() > tenant_class.rank() => p,
            _ => tenant_class,
        };
        let tokens = u64::from(request.input_tokens) + u64::from(request.output_tokens);
        let wp = &self.plan.tenants[t as usize].workflows[w as usize];
        // A session's call stays on its endpoint (at the tenant's tier or
        // worse) and is never a probe: moving it costs a context migration.
        let pinned = request.affinity.and_then(|e| {
            let tier_start = wp.start_pool(self.tenants[t as usize].tier);
            let i = self.affinity_step(now, t, w, e, tokens)?;
            (wp.pool_of[i] >= tier_start).then_some((i, tier_start))
        });
        let pin = pinned.map(|(i, _)| i);
        let (start, probe) = match pinned {
            Some((_, tier_start)) => (tier_start, false),
            None => self.start_of(now, t, w),
        };
        let slot = self.calls.alloc(id);
        let c = self.calls.get_mut(slot);
        c.set_state(CallState::Backoff);
        c.tenant = t;
        c.workflow = w;
        c.class = class;
        c.deadline = request.deadline.unwrap_or(Time::MAX);
        c.attempts = 0;
        c.failures = 0;
        // A pinned call starts at its session's pool, on that one step.
        c.next_pool = pin.map_or(start, |i| wp.pool_of[i]);
        c.pin = pin.map(|i| i as u16);
        c.trigger = None;
        c.live = None;
        c.hedge = None;
        c.tokens = tokens;
        c.waiting_since = None;
        c.wait = Range::default();
        c.spill = None;
        c.probe = probe;
        c.left = None;
        c.counted = None;
        if probe {
            self.tenants[t as usize].probe = Some(id);
        }
        self.defer_deadline(slot, request.deadline.is_some());
        self.route(now, slot);
        self.finish_input(now);
        id
    }

    /// Reports what became of `attempt`. Outcomes of attempts that are not
    /// outstanding (cancelled, already reported, unknown) are ignored.
    pub fn on_outcome(&mut self, now: Time, attempt: AttemptId, outcome: Outcome) {
        let now = self.advance(now);
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
                let retry_after = retry_after.min(self.plan.max_retry_after);
                let e = &mut self.endpoints[live.endpoint.0 as usize];
                let until = now + retry_after;
                if until > e.cooldown_until {
                    e.cooldown_until = until;
                    let endpoint = live.endpoint.0;
                    self.timers.set(until, TimerKind::EndpointReady { endpoint });
                }
                Ending::Failed(Trigger::RateLimited)
            }
            Outcome::ClientError { status } => Ending::ClientError(status),
        };
        self.attempt_over(now, slot, live, ending, false);
        self.finish_input(now);
    }

    /// The client went away: every attempt of `call` in flight gets
    /// [`Action::Cancel`], then the call gets [`Action::Fail`] with
    /// [`FailReason::Cancelled`]. A cancelled call trips no breaker, feeds
    /// no latency estimate and does not burn its tenant's error budget.
    /// Unknown or finished calls: no-op.
    pub fn cancel(&mut self, now: Time, call: CallId) {
        let now = self.advance(now);
        let Some(slot) = self.calls.find(call) else {
            return;
        };
        let t = self.calls.get(slot).tenant;
        let was_capped = self.tenant_capped(t);
        let legs: Vec<_> = {
            let c = self.calls.get(slot);
            [c.live, c.hedge].into_iter().flatten().collect()
        };
        for leg in &legs {
            self.abandon_leg(slot, *leg);
        }
        if !legs.is_empty() {
            self.calls_in_flight -= 1;
        }
        self.probe_over(now, slot, false);
        self.fail_quietly(slot, FailReason::Cancelled);
        for leg in legs {
            self.pump(now, leg.endpoint);
        }
        if was_capped {
            self.pump_all(now);
        }
        self.finish_input(now);
    }

    /// The first token of `attempt` arrived (streaming): ends that
    /// attempt's first-token timer (`first_token_timeout`) and feeds the
    /// endpoint's time-to-first-token estimate
    /// ([`first_token_estimate`](Router::first_token_estimate)), measured
    /// from the dispatch. Unknown or finished attempts, and a second report
    /// for one attempt: no-op.
    pub fn on_first_token(&mut self, now: Time, attempt: AttemptId) {
        let now = self.advance(now);
        let Some(slot) = self.attempts.get(attempt) else {
            return;
        };
        let c = self.calls.get_mut(slot);
        let Some(leg) = [c.live.as_mut(), c.hedge.as_mut()]
            .into_iter()
            .flatten()
            .find(|l| l.attempt == attempt)
        else {
            return;
        };
        if leg.first_token {
            return;
        }
        leg.first_token = true;
        let (e, ttft) = (leg.endpoint, now - leg.started);
        let est = &mut self.endpoints[e.0 as usize].first_token;
        *est = Some(super::wait::ewma(*est, ttft));
        self.first_token_wins(now, slot, attempt);
        self.finish_input(now);
    }

    /// Processes every timer due at or before `now`. Calling it early, or
    /// twice for the same instant, does nothing.
    pub fn handle_timeout(&mut self, now: Time) {
        let now = self.advance(now);
        while let Some(due) = self.timers.pop_due(now) {
            self.fire(now, due);
        }
        self.finish_input(now);
    }

    /// Acts on one due timer (ignoring dead ones).
    fn fire(&mut self, now: Time, due: Due) {
        match due {
            Due::Attempt { attempt, .. }
            | Due::Timer(TimerKind::Ceiling { attempt })
            | Due::Timer(TimerKind::FirstToken { attempt }) => {
                let trigger = match due {
                    Due::Timer(TimerKind::Ceiling { .. }) => Trigger::SlowAttempt,
                    _ => Trigger::Timeout,
                };
                let Some(slot) = self.attempts.get(attempt) else {
                    return;
                };
                let Some(live) = self.calls.get(slot).leg(attempt) else {
                    return;
                };
                if matches!(due, Due::Timer(TimerKind::FirstToken { .. })) && live.first_token {
                    return;
                }
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
                    let after = now - c.suspended_at;
                    self.audit(now, Some(slot), None, AuditKind::SuspendExpired { after });
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
            Due::Timer(TimerKind::Pump { endpoint }) => {
                let es = &mut self.endpoints[endpoint as usize];
                if es.pump_at.is_some_and(|at| at <= now) {
                    es.pump_at = None;
                }
                self.pump(now, EndpointId(endpoint));
            }
            Due::Timer(TimerKind::Unpark) => {
                if self.unpark_at.is_some_and(|at| at <= now) {
                    self.unpark_at = None;
                }
                self.unpark(now);
            }
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
            Due::Timer(TimerKind::Probe { tenant }) => self.probe_due(now, tenant),
            Due::Timer(TimerKind::Notice { tenant }) => self.notice(now, tenant),
        }
    }

    /// What every input ends with: reservations settled, dead timers
    /// pruned (and compacted), so that `poll_timeout` is exact.
    fn finish_input(&mut self, now: Time) {
        self.settle_reservations(now);
        self.prune();
    }

    // --- outputs ---

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

impl EndpointState {
    /// The state of a new endpoint.
    pub(super) fn new(
        plan: &super::plan::EndpointPlan,
        policy: &super::config::EndpointPolicy,
        shedding: bool,
    ) -> EndpointState {
        EndpointState {
            breaker: plan.breaker.clone().map(Breaker::new),
            rpm: plan.rpm.map(|r| TokenBucket::new(u64::from(r))),
            tpm: plan.tpm.map(TokenBucket::new),
            latency: policy.expected_latency,
            peak: PeakEwma::new(policy.expected_latency),
            queue: EndpointQueue::new(shedding),
            ..EndpointState::default()
        }
    }
}
