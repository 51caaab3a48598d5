//! Applying a new configuration to a running [`Router`]
//! ([`Router::reload`]): what is carried over by name, what cannot be, and
//! the [`ReloadReport`] that says which.
//!
//! Endpoints and tenants are matched by name. Whatever belongs to a name
//! that survives is kept: an endpoint's breaker (its state and window),
//! token buckets (their level, capped by the new limit), cooldown and
//! latency estimates; a tenant's error budget (when its target and the
//! budget windows are unchanged), tier, probe and notice state. Calls keep
//! their ids, deadlines and attempt counts. New limits apply at once.

use serde::{Deserialize, Serialize};

use super::budget::Budget;
use super::calls::{CallState, Range};
use super::config::{RouterConfig, Tier};
use super::error::ConfigError;
use super::plan::{Plan, WorkflowPlan};
use super::router::{EndpointState, Router, TenantState};
use super::timers::TimerKind;
use super::types::{AttemptId, CallId, EndpointId, FailReason};
use crate::time::Time;

/// What a reload could not carry over, and what it did instead.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReloadReport {
    /// Endpoints new in the configuration (fresh state).
    pub endpoints_added: Vec<String>,
    /// Endpoints the configuration dropped.
    pub endpoints_removed: Vec<String>,
    /// Tenants new in the configuration (fresh state).
    pub tenants_added: Vec<String>,
    /// Tenants the configuration dropped.
    pub tenants_removed: Vec<String>,
    /// Attempts in flight on dropped endpoints: cancelled
    /// ([`Action::Cancel`](super::Action::Cancel)); their calls were routed again under the new
    /// configuration, the attempt not counting against `max_attempts`.
    pub attempts_cancelled: Vec<AttemptId>,
    /// Calls of dropped tenants or workflows: failed with
    /// [`FailReason::Reconfigured`] (their attempts cancelled).
    pub calls_failed: Vec<CallId>,
    /// Endpoints whose breaker counts started afresh (the breaker was
    /// added, or its window changed).
    pub breakers_reset: Vec<String>,
    /// Tenants whose error budget started afresh (availability target or
    /// budget windows changed).
    pub budgets_reset: Vec<String>,
    /// Calls that were waiting in queues and were queued again under the
    /// new configuration (in submission order; they keep their wait start).
    pub calls_requeued: u64,
}

impl Router {
    /// Applies `config` to the running router. Endpoints and tenants that
    /// keep their names keep their state: breakers, token buckets,
    /// cooldowns, latency estimates, error budgets, tiers, and their calls
    /// (waiting, in flight, backing off, suspended). New limits apply at
    /// once: attempts in flight get the new attempt timeout (from their
    /// dispatch), concurrency caps and rate limits govern the next
    /// dispatch. What cannot be carried over is in the report:
    /// - an endpoint that is dropped: its attempts in flight are cancelled
    ///   ([`Action::Cancel`](super::Action::Cancel)) and their calls routed again (the attempt
    ///   does not count against `max_attempts`);
    /// - a tenant or workflow that is dropped: its calls fail with
    ///   [`FailReason::Reconfigured`] (attempts cancelled, budget untouched);
    /// - a breaker that is new or whose window changed starts with empty
    ///   counts; a budget whose target or windows changed starts afresh.
    ///
    /// Calls waiting in queues are queued again, in submission order, on
    /// the pools of their chain under the new configuration (their wait
    /// start, for `max_wait`, is kept; fair-queuing positions are not).
    /// A configuration the router rejects leaves it untouched.
    pub fn reload(&mut self, now: Time, config: RouterConfig) -> Result<ReloadReport, ConfigError> {
        let plan = Plan::resolve(&config).map_err(|mut problems| problems.swap_remove(0))?;
        let now = self.advance(now);
        let mut report = ReloadReport::default();
        let endpoint_map: Vec<Option<u32>> = self
            .config
            .endpoints
            .iter()
            .map(|e| plan.endpoint_names.get(&e.name).copied())
            .collect();
        let tenant_map: Vec<Option<u32>> = self
            .config
            .tenants
            .iter()
            .map(|t| plan.tenant_names.get(&t.name).copied())
            .collect();
        // workflow_map[t][w]: the new index of old workflow w of old tenant t.
        let workflow_map: Vec<Vec<Option<u32>>> = self
            .plan
            .tenants
            .iter()
            .zip(&tenant_map)
            .map(|(tp, nt)| {
                tp.workflows
                    .iter()
                    .map(|w| {
                        let nt = (*nt)? as usize;
                        plan.tenants[nt]
                            .workflows
                            .iter()
                            .position(|x| x.name == w.name)
                            .map(|i| i as u32)
                    })
                    .collect()
            })
            .collect();
        for (e, m) in self.config.endpoints.iter().zip(&endpoint_map) {
            if m.is_none() {
                report.endpoints_removed.push(e.name.clone());
            }
        }
        for (t, m) in self.config.tenants.iter().zip(&tenant_map) {
            if m.is_none() {
                report.tenants_removed.push(t.name.clone());
            }
        }

        // Under the old plan: fail the calls whose tenant or workflow goes,
        // cancel attempts on endpoints that go, take waiting calls out of
        // the queues.
        let slots: Vec<u32> = self
            .calls
            .iter()
            .filter(|(_, c)| c.state != CallState::Free)
            .map(|(s, _)| s)
            .collect();
        let mut requeue = Vec::new();
        // The tier each call's next chain walk starts from.
        let mut start_tier = Vec::new();
        for slot in slots {
            let c = self.calls.get(slot);
            let legs: Vec<_> = [c.live, c.hedge].into_iter().flatten().collect();
            let id = c.id;
            if workflow_map[c.tenant as usize][c.workflow as usize].is_none() {
                for leg in &legs {
                    self.abandon_leg(slot, *leg);
                }
                if !legs.is_empty() {
                    self.calls_in_flight -= 1;
                }
                report.calls_failed.push(id);
                self.fail_quietly(slot, FailReason::Reconfigured);
                continue;
            }
            let gone: Vec<_> = legs
                .iter()
                .copied()
                .filter(|l| endpoint_map[l.endpoint.0 as usize].is_none())
                .collect();
            for leg in &gone {
                self.abandon_leg(slot, *leg);
                report.attempts_cancelled.push(leg.attempt);
                let c = self.calls.get_mut(slot);
                c.attempts = c.attempts.saturating_sub(1);
                // `abandon_leg` forgets both legs: keep the one that stays.
                if let Some(stay) = legs.iter().find(|l| l.attempt != leg.attempt && !gone.contains(l)) {
                    c.live = Some(*stay);
                }
            }
            let c = self.calls.get(slot);
            let wp = &self.plan.tenants[c.tenant as usize].workflows[c.workflow as usize];
            if c.state == CallState::InFlight && c.live.is_none() {
                self.calls_in_flight -= 1;
                let tier = legs.first().map_or(Tier::PRIMARY, |l| l.tier);
                self.calls.get_mut(slot).set_state(CallState::Backoff);
                requeue.push((id, slot));
                start_tier.push((slot, tier));
            } else if c.state == CallState::Waiting {
                let tier = wp.pools[wp.pool_of[c.wait.lo as usize] as usize].tier;
                self.unqueue(slot);
                self.calls.get_mut(slot).set_state(CallState::Backoff);
                requeue.push((id, slot));
                start_tier.push((slot, tier));
                report.calls_requeued += 1;
            } else {
                let tier = wp.pools[(c.next_pool as usize).min(wp.pools.len() - 1)].tier;
                start_tier.push((slot, tier));
            }
        }

        // New endpoint states, carried over by name.
        let mut old_endpoints: Vec<Option<EndpointState>> =
            std::mem::take(&mut self.endpoints).into_iter().map(Some).collect();
        let mut endpoints = Vec::with_capacity(plan.endpoints.len());
        for (j, (ep, policy)) in plan.endpoints.iter().zip(&config.endpoints).enumerate() {
            let old = self.config.endpoints.iter().position(|e| e.name == policy.name);
            let mut es = EndpointState::new(ep, policy, config.max_queue.is_some());
            match old.and_then(|i| old_endpoints[i].take()) {
                Some(prev) => {
                    es.cooldown_until = prev.cooldown_until;
                    es.latency = prev.latency.or(policy.expected_latency);
                    es.peak = prev.peak;
                    es.first_token = prev.first_token;
                    match (prev.breaker, ep.breaker.as_ref()) {
                        (Some(mut b), Some(p)) => {
                            if !b.reconfigure(p.clone()) {
                                report.breakers_reset.push(policy.name.clone());
                            }
                            es.breaker = Some(b);
                        }
                        (None, Some(_)) => report.breakers_reset.push(policy.name.clone()),
                        _ => {}
                    }
                    if let (Some(mut b), Some(r)) = (prev.rpm, ep.rpm) {
                        b.reconfigure(now, u64::from(r));
                        es.rpm = Some(b);
                    }
                    if let (Some(mut b), Some(r)) = (prev.tpm, ep.tpm) {
                        b.reconfigure(now, r);
                        es.tpm = Some(b);
                    }
                }
                None => report.endpoints_added.push(policy.name.clone()),
            }
            debug_assert_eq!(j, endpoints.len());
            endpoints.push(es);
        }

        // New tenant states, carried over by name.
        let mut old_tenants: Vec<Option<TenantState>> =
            std::mem::take(&mut self.tenants).into_iter().map(Some).collect();
        let mut tenants = Vec::with_capacity(plan.tenants.len());
        for policy in &config.tenants {
            let old = self.config.tenants.iter().position(|t| t.name == policy.name);
            let fresh_budget = policy.availability_target.map(|a| Budget::new(a, &config.budget));
            let ts = match old.and_then(|i| old_tenants[i].take().map(|s| (i, s))) {
                Some((i, mut prev)) => {
                    let same_budget = self.config.tenants[i].availability_target == policy.availability_target
                        && self.config.budget == config.budget;
                    if !same_budget {
                        if prev.budget.is_some() || fresh_budget.is_some() {
                            report.budgets_reset.push(policy.name.clone());
                        }
                        prev.budget = fresh_budget;
                    }
                    prev.in_flight = 0;
                    prev
                }
                None => {
                    report.tenants_added.push(policy.name.clone());
                    TenantState {
                        budget: fresh_budget,
                        ..TenantState::default()
                    }
                }
            };
            tenants.push(ts);
        }
        // Suspended lists follow their tenant's new id.
        for (i, ts) in old_tenants.iter_mut().enumerate() {
            if let (Some(ts), Some(j)) = (ts.as_mut(), tenant_map[i]) {
                tenants[j as usize].suspended = std::mem::take(&mut ts.suspended);
            }
        }

        // Calls under the new ids; legs at the new steps; counters again.
        let mut deadlines = Vec::new();
        for (slot, tier) in start_tier {
            let c = self.calls.get_mut(slot);
            if c.state == CallState::Free {
                continue;
            }
            let (t, w) = (c.tenant as usize, c.workflow as usize);
            let (nt, nw) = (tenant_map[t].unwrap_or(0), workflow_map[t][w].unwrap_or(0));
            c.tenant = nt;
            c.workflow = nw;
            c.pin = None;
            c.wait = Range::default();
            c.spill = None;
            let class_cap = plan.tenants[nt as usize].class;
            if c.class.rank() < class_cap.rank() {
                c.class = class_cap;
            }
            let wp = &plan.tenants[nt as usize].workflows[nw as usize];
            c.next_pool = wp.start_pool(tier);
            for leg in [c.live.as_mut(), c.hedge.as_mut()].into_iter().flatten() {
                let e = endpoint_map[leg.endpoint.0 as usize].unwrap_or(0);
                leg.endpoint = EndpointId(e);
                leg.step = step_for(wp, leg.endpoint, leg.tier);
                let es = &mut endpoints[e as usize];
                es.in_flight += 1;
                es.class_in_flight[c.class.rank()] += 1;
                tenants[nt as usize].in_flight += 1;
                let timeout = plan.endpoints[e as usize].attempt_timeout;
                deadlines.push((e, leg.started + timeout, leg.attempt));
            }
        }
        for ts in &mut tenants {
            if ts.probe.is_some_and(|p| self.calls.find(p).is_none()) {
                ts.probe = None;
            }
        }

        // Timers keyed by endpoint or tenant follow the new ids.
        let n = plan.endpoints.len();
        self.timers.rewrite(|k| match k {
            TimerKind::EndpointReady { endpoint } => {
                endpoint_map[endpoint as usize].map(|endpoint| TimerKind::EndpointReady { endpoint })
            }
            TimerKind::BreakerProbe { endpoint } => {
                endpoint_map[endpoint as usize].map(|endpoint| TimerKind::BreakerProbe { endpoint })
            }
            TimerKind::Pump { .. } => None,
            TimerKind::Probe { tenant } => tenant_map[tenant as usize].map(|tenant| TimerKind::Probe { tenant }),
            TimerKind::Notice { tenant } => tenant_map[tenant as usize].map(|tenant| TimerKind::Notice { tenant }),
            other => Some(other),
        });
        self.timers.reset_attempts(n, deadlines);
        self.arm_deadlines();
        for (j, ts) in tenants.iter().enumerate() {
            if ts.tier > Tier::PRIMARY && ts.probe.is_none() {
                self.timers
                    .set(ts.next_probe.max(now), TimerKind::Probe { tenant: j as u32 });
            }
        }
        self.endpoints = endpoints;
        self.tenants = tenants;
        self.plan = plan;
        self.config = config;

        requeue.sort_by_key(|&(id, _)| id);
        for (_, slot) in requeue {
            if self.calls.get(slot).state == CallState::Backoff {
                self.route(now, slot);
            }
        }
        self.unpark(now);
        for i in 0..self.endpoints.len() {
            self.pump(now, EndpointId(i as u32));
        }
        self.settle_reservations(now);
        self.prune();
        Ok(report)
    }
}

/// The step of `wp`'s chain a leg on `endpoint` at `tier` stands at: the
/// step on that endpoint at that tier, else the first step at that tier or
/// worse, else the last serving step.
fn step_for(wp: &WorkflowPlan, endpoint: EndpointId, tier: Tier) -> u16 {
    let chain = &wp.chain;
    let exact = chain.iter().position(|s| s.endpoint == endpoint && s.tier == tier);
    let worse = || chain.iter().position(|s| s.tier >= tier && !s.suspend);
    let last = || chain.iter().rposition(|s| !s.suspend).unwrap_or(0);
    exact.or_else(worse).unwrap_or_else(last) as u16
}
