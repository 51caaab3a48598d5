//! The resolved configuration: names turned into dense ids, chains checked,
//! limits turned into the integers the hot path compares.
//!
//! This module owns validation (every [`ConfigError`] of a configuration, not
//! just the first), the split of chains into pools, and the read-only tables
//! the router consults on every decision. It holds no run-time state.

use std::collections::BTreeMap;

use super::config::{
    BalancePolicy, BreakerPolicy, EndpointPolicy, RetryPolicy, RouterConfig, SlaClass, TenantPolicy, Tier,
};
use super::error::{ConfigError, Setting};
use super::types::EndpointId;
use crate::time::Span;

/// The most endpoints one pool may hold (a call's queue entries are a
/// 64-bit set over its pool's members).
pub(crate) const MAX_POOL: usize = 64;

/// One usable step of a resolved chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Step {
    /// Where the step dispatches.
    pub endpoint: EndpointId,
    /// The tier it serves at.
    pub tier: Tier,
    /// Reaching this step suspends the call instead of dispatching it
    /// (tier 4, or a tier that needs the tenant's consent).
    pub suspend: bool,
}

/// The consecutive steps of a chain at one tier: a pool, balanced by the
/// tenant's [`BalancePolicy`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Pool {
    /// First step of the pool in the chain.
    pub lo: u16,
    /// One past its last step.
    pub hi: u16,
    /// The tier of its steps.
    pub tier: Tier,
    /// Reaching it suspends the call (tier 4, or a tier needing consent).
    pub suspend: bool,
    /// Each member's weight for weighted random balancing (at least 1).
    pub weights: Vec<u64>,
}

impl Pool {
    /// The pool's steps.
    pub fn steps(&self) -> std::ops::Range<usize> {
        self.lo as usize..self.hi as usize
    }
}

/// What the router needs of one endpoint on the hot path.
#[derive(Clone, Debug)]
pub(crate) struct EndpointPlan {
    /// Concurrency cap; `u32::MAX` for none.
    pub max_concurrency: u32,
    /// Attempt timeout.
    pub attempt_timeout: Span,
    /// First-token timeout, if shorter than the attempt timeout.
    pub first_token_timeout: Option<Span>,
    /// The breaker, if any.
    pub breaker: Option<BreakerPolicy>,
    /// Requests per minute.
    pub rpm: Option<u32>,
    /// Tokens per minute.
    pub tpm: Option<u64>,
    /// Slots reserved per class (indexed by [`SlaClass::rank`]):
    /// `floor(share × max_concurrency)`.
    pub reserved: [u32; 3],
}

/// What the router needs of one workflow of a tenant.
#[derive(Clone, Debug)]
pub(crate) struct WorkflowPlan {
    /// The workflow's name.
    pub name: String,
    /// The chain after the tenant's and the workflow's constraints.
    pub chain: Vec<Step>,
    /// The chain's pools, in chain order.
    pub pools: Vec<Pool>,
    /// The pool of each step.
    pub pool_of: Vec<u16>,
}

impl WorkflowPlan {
    /// The pool new calls start at while their tenant is at `tier`: the
    /// first pool at `tier` or worse, else the last pool.
    pub fn start_pool(&self, tier: Tier) -> u16 {
        let i = self.pools.iter().position(|p| p.tier >= tier);
        i.unwrap_or(self.pools.len() - 1) as u16
    }
}

/// What the router needs of one tenant.
#[derive(Clone, Debug)]
pub(crate) struct TenantPlan {
    /// Priority class.
    pub class: SlaClass,
    /// Retries and backoff.
    pub retry: RetryPolicy,
    /// One entry per workflow (at least one).
    pub workflows: Vec<WorkflowPlan>,
    /// Latency ceiling of one attempt.
    pub latency_ceiling: Option<Span>,
    /// Whether degradations raise a notification.
    pub notify: bool,
    /// Delay before a hedge leg, if the tenant hedges.
    pub hedge_after: Option<Span>,
    /// Fair-share weight inside the class (at least 1).
    pub weight: u32,
    /// Attempts in flight at once; `u32::MAX` for no cap.
    pub max_concurrency: u32,
    /// Longest suspension.
    pub max_suspend: Span,
    /// Longest wait in an endpoint's queue before moving on.
    pub max_wait: Option<Span>,
    /// How its pools are balanced.
    pub balance: BalancePolicy,
    /// Calls in a row leaving its tier before it is degraded.
    pub degrade_after: u32,
    /// Least time at a lower tier before a probe; time between probes.
    pub promote_after: Span,
    /// Least time between two notices.
    pub notice_interval: Span,
}

/// The whole resolved configuration.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    /// Indexed by [`EndpointId`].
    pub endpoints: Vec<EndpointPlan>,
    /// Indexed by `TenantId`.
    pub tenants: Vec<TenantPlan>,
    /// Endpoint name to id.
    pub endpoint_names: BTreeMap<String, u32>,
    /// Tenant name to id.
    pub tenant_names: BTreeMap<String, u32>,
    /// For each endpoint, the tenants with a serving step on it at tier 0
    /// or 1 in some workflow's chain: whose suspended calls it may wake.
    pub wakes: Vec<Vec<u32>>,
    /// The endpoints with reserved slots, in id order: the only ones the
    /// reservation rule can hold a waiting call back on.
    pub reserving: Vec<u32>,
    /// The cap on a 429's cooldown.
    pub max_retry_after: Span,
}

impl RouterConfig {
    /// Every problem that makes this configuration unusable, in
    /// configuration order (router-wide settings, then each endpoint, then
    /// each tenant); empty when [`Router::new`](super::Router::new) accepts
    /// it. `Router::new` rejects a configuration with the first of them.
    pub fn problems(&self) -> Vec<ConfigError> {
        match Plan::resolve(self) {
            Ok(_) => Vec::new(),
            Err(problems) => problems,
        }
    }
}

impl Plan {
    /// Checks `config` and resolves it; on failure, every problem found,
    /// in configuration order (never an empty list).
    pub fn resolve(config: &RouterConfig) -> Result<Plan, Vec<ConfigError>> {
        let mut errors = Vec::new();
        if let Some(b) = &config.breaker {
            check_breaker(b, &|key| Setting::router(format!("breaker.{key}")), &mut errors);
        }
        let budget = &config.budget;
        for (f, span) in [
            ("period", budget.period),
            ("short_window", budget.short_window),
            ("long_window", budget.long_window),
        ] {
            if span == Span::ZERO {
                errors.push(ConfigError::ZeroSpan {
                    field: Setting::router(format!("budget.{f}")),
                });
            }
        }
        if u32::try_from(config.endpoints.len()).is_err() {
            errors.push(ConfigError::TooMany("endpoints"));
        }
        if u32::try_from(config.tenants.len()).is_err() {
            errors.push(ConfigError::TooMany("tenants"));
        }

        let mut endpoint_names = BTreeMap::new();
        let mut endpoints = Vec::with_capacity(config.endpoints.len());
        for (i, e) in config.endpoints.iter().enumerate() {
            if endpoint_names.insert(e.name.clone(), i as u32).is_some() {
                errors.push(ConfigError::DuplicateEndpoint(e.name.clone()));
            }
            endpoints.push(endpoint_plan(config, e, &mut errors));
        }

        let mut tenant_names = BTreeMap::new();
        let mut tenants = Vec::with_capacity(config.tenants.len());
        for (i, t) in config.tenants.iter().enumerate() {
            if tenant_names.insert(t.name.clone(), i as u32).is_some() {
                errors.push(ConfigError::DuplicateTenant(t.name.clone()));
            }
            tenants.push(tenant_plan(config, t, &endpoint_names, &mut errors));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut wakes = vec![Vec::new(); endpoints.len()];
        for (t, tp) in tenants.iter().enumerate() {
            for w in &tp.workflows {
                for s in w.chain.iter().filter(|s| !s.suspend && s.tier <= Tier(1)) {
                    let list: &mut Vec<u32> = &mut wakes[s.endpoint.0 as usize];
                    if list.last() != Some(&(t as u32)) {
                        list.push(t as u32);
                    }
                }
            }
        }
        let reserving = (0..endpoints.len() as u32)
            .filter(|&e| endpoints[e as usize].reserved != [0; 3])
            .collect();
        Ok(Plan {
            endpoints,
            tenants,
            endpoint_names,
            tenant_names,
            wakes,
            reserving,
            max_retry_after: config.max_retry_after,
        })
    }
}

/// Checks endpoint `e` and resolves it, adding its problems to `errors`.
fn endpoint_plan(config: &RouterConfig, e: &EndpointPolicy, errors: &mut Vec<ConfigError>) -> EndpointPlan {
    let field = |f: &str| Setting::endpoint(&e.name, f);
    let max_concurrency = match e.max_concurrency {
        Some(0) => {
            errors.push(ConfigError::ZeroConcurrency(e.name.clone()));
            u32::MAX
        }
        Some(n) => n,
        None => u32::MAX,
    };
    if e.attempt_timeout == Span::ZERO {
        errors.push(ConfigError::ZeroAttemptTimeout(e.name.clone()));
    }
    if e.rpm == Some(0) {
        errors.push(ConfigError::ZeroLimit { field: field("rpm") });
    }
    if e.tpm == Some(0) {
        errors.push(ConfigError::ZeroLimit { field: field("tpm") });
    }
    if let Some(b) = &e.breaker {
        check_breaker(b, &|key| field(&format!("breaker.{key}")), errors);
    }
    if e.weight == Some(0) {
        errors.push(ConfigError::ZeroLimit { field: field("weight") });
    }
    if e.first_token_timeout == Some(Span::ZERO) {
        errors.push(ConfigError::ZeroSpan {
            field: field("first_token_timeout"),
        });
    }
    EndpointPlan {
        reserved: check_reserved(e, &field, errors),
        max_concurrency,
        attempt_timeout: e.attempt_timeout,
        first_token_timeout: e.first_token_timeout.filter(|&f| f < e.attempt_timeout),
        breaker: e.breaker.as_ref().or(config.breaker.as_ref()).cloned(),
        rpm: e.rpm,
        tpm: e.tpm,
    }
}

/// Checks tenant `t` and resolves it, adding its problems to `errors`.
fn tenant_plan(
    config: &RouterConfig,
    t: &TenantPolicy,
    endpoint_names: &BTreeMap<String, u32>,
    errors: &mut Vec<ConfigError>,
) -> TenantPlan {
    if t.chain.is_empty() {
        errors.push(ConfigError::EmptyChain(t.name.clone()));
    }
    if t.retry.max_attempts == 0 {
        errors.push(ConfigError::ZeroAttempts(t.name.clone()));
    }
    let mut chain = Vec::with_capacity(t.chain.len());
    for step in &t.chain {
        let endpoint = endpoint_names.get(&step.endpoint);
        if endpoint.is_none() {
            errors.push(ConfigError::UnknownEndpoint {
                tenant: t.name.clone(),
                endpoint: step.endpoint.clone(),
            });
        }
        if step.tier > Tier::SUSPEND {
            errors.push(ConfigError::TierOutOfRange {
                tenant: t.name.clone(),
                tier: step.tier.0,
            });
        }
        if let Some(&e) = endpoint {
            chain.push(Step {
                endpoint: EndpointId(e),
                tier: step.tier,
                suspend: step.tier == Tier::SUSPEND || t.requires_consent.contains(&step.tier),
            });
        }
    }
    let mut seen = BTreeMap::new();
    for w in &t.workflows {
        if seen.insert(w.name.as_str(), ()).is_some() {
            errors.push(ConfigError::DuplicateWorkflow {
                tenant: t.name.clone(),
                workflow: w.name.clone(),
            });
        }
    }
    let field = |f: &str| Setting::tenant(&t.name, f);
    check_ratio(t.retry.jitter, field("retry.jitter"), errors);
    if let Some(target) = t.availability_target
        && !(target > 0.0 && target < 1.0)
    {
        errors.push(ConfigError::RatioOutOfRange {
            field: field("availability_target"),
            value: format!("{target} (it must be above 0 and below 1)"),
        });
    }
    if t.weight == 0 {
        errors.push(ConfigError::ZeroLimit { field: field("weight") });
    }
    if t.max_concurrency == Some(0) {
        errors.push(ConfigError::ZeroLimit {
            field: field("max_concurrency"),
        });
    }
    if t.latency_ceiling == Some(Span::ZERO) {
        errors.push(ConfigError::ZeroSpan {
            field: field("latency_ceiling"),
        });
    }
    if t.degrade_after == 0 {
        errors.push(ConfigError::ZeroLimit {
            field: field("degrade_after"),
        });
    }
    if t.promote_after == Span::ZERO {
        errors.push(ConfigError::ZeroSpan {
            field: field("promote_after"),
        });
    }
    let default_workflow = [None];
    let overrides: Vec<_> = if t.workflows.is_empty() {
        default_workflow.to_vec()
    } else {
        t.workflows.iter().map(Some).collect()
    };
    let mut workflows = Vec::with_capacity(overrides.len());
    for w in overrides {
        let allowed = w.and_then(|w| w.allowed_tiers.as_deref()).unwrap_or(&t.allowed_tiers);
        let usable: Vec<Step> = chain
            .iter()
            .copied()
            .filter(|s| {
                let region = &config.endpoints[s.endpoint.0 as usize].region;
                s.tier == Tier::SUSPEND
                    || ((allowed.is_empty() || allowed.contains(&s.tier))
                        && (t.regions.is_empty() || t.regions.contains(region)))
            })
            .collect();
        let name = w.map_or("default", |w| w.name.as_str());
        // A chain already reported empty or unknown is not reported again.
        if usable.iter().all(|s| s.suspend) && !chain.is_empty() && chain.len() == t.chain.len() {
            errors.push(ConfigError::NoUsableStep {
                tenant: t.name.clone(),
                workflow: name.to_string(),
            });
        }
        let pools = pools_of(&usable, &config.endpoints, &t.name, errors);
        let mut pool_of = vec![0u16; usable.len()];
        for (p, pool) in pools.iter().enumerate() {
            pool_of[pool.steps()].fill(p as u16);
        }
        workflows.push(WorkflowPlan {
            name: name.to_string(),
            chain: usable,
            pools,
            pool_of,
        });
    }
    TenantPlan {
        class: t.class,
        retry: t.retry.clone(),
        workflows,
        latency_ceiling: t.latency_ceiling,
        notify: t.notify_on_degradation,
        hedge_after: t.hedge_after,
        weight: t.weight,
        max_concurrency: t.max_concurrency.unwrap_or(u32::MAX),
        max_suspend: t.max_suspend,
        max_wait: t.max_wait,
        balance: t.balance.unwrap_or(config.balance),
        degrade_after: t.degrade_after,
        promote_after: t.promote_after,
        notice_interval: t.notice_interval,
    }
}

/// Splits a resolved chain into pools: runs of consecutive steps at one
/// tier (suspend steps at one tier form a pool too). Weights for weighted
/// random balancing: explicit `weight` if every member has one, else `rpm`
/// if every member has one, else `tpm`, else 1 each.
/// A pool's problems go to `errors`.
fn pools_of(chain: &[Step], endpoints: &[EndpointPolicy], tenant: &str, errors: &mut Vec<ConfigError>) -> Vec<Pool> {
    let mut pools: Vec<Pool> = Vec::new();
    for (i, s) in chain.iter().enumerate() {
        match pools.last_mut() {
            Some(p) if p.tier == s.tier && p.suspend == s.suspend => p.hi = i as u16 + 1,
            _ => pools.push(Pool {
                lo: i as u16,
                hi: i as u16 + 1,
                tier: s.tier,
                suspend: s.suspend,
                weights: Vec::new(),
            }),
        }
    }
    for p in &mut pools {
        let members: Vec<&EndpointPolicy> = chain[p.steps()]
            .iter()
            .map(|s| &endpoints[s.endpoint.0 as usize])
            .collect();
        if members.len() > MAX_POOL {
            push_once(
                errors,
                ConfigError::PoolTooLarge {
                    tenant: tenant.to_string(),
                    tier: p.tier.0,
                    size: members.len(),
                },
            );
        }
        for (k, m) in members.iter().enumerate() {
            if members[..k].iter().any(|o| o.name == m.name) {
                push_once(
                    errors,
                    ConfigError::DuplicatePoolMember {
                        tenant: tenant.to_string(),
                        tier: p.tier.0,
                        endpoint: m.name.clone(),
                    },
                );
                break;
            }
        }
        let all =
            |f: &dyn Fn(&EndpointPolicy) -> Option<u64>| -> Option<Vec<u64>> { members.iter().map(|m| f(m)).collect() };
        p.weights = all(&|m| m.weight.map(u64::from))
            .or_else(|| all(&|m| m.rpm.map(u64::from)))
            .or_else(|| all(&|m| m.tpm))
            .unwrap_or_else(|| vec![1; members.len()]);
    }
    pools
}

/// Adds `error` unless it is already listed (each workflow of a tenant
/// splits the same chain into pools).
fn push_once(errors: &mut Vec<ConfigError>, error: ConfigError) {
    if !errors.contains(&error) {
        errors.push(error);
    }
}

fn check_ratio(value: f64, field: Setting, errors: &mut Vec<ConfigError>) {
    if !(0.0..=1.0).contains(&value) {
        errors.push(ConfigError::RatioOutOfRange {
            field,
            value: value.to_string(),
        });
    }
}

/// Checks a breaker; `field` names one of its keys.
fn check_breaker(b: &BreakerPolicy, field: &dyn Fn(&str) -> Setting, errors: &mut Vec<ConfigError>) {
    check_ratio(b.error_ratio, field("error_ratio"), errors);
    check_ratio(b.slow_ratio, field("slow_ratio"), errors);
    if b.half_open_probes == 0 {
        errors.push(ConfigError::ZeroLimit {
            field: field("half_open_probes"),
        });
    }
    for (f, span) in [("window", b.window), ("open_for", b.open_for)] {
        if span == Span::ZERO {
            errors.push(ConfigError::ZeroSpan { field: field(f) });
        }
    }
}

/// The delay before retry number `retry` (1 for the first retry):
/// `backoff * 2^(retry-1)`, capped at `backoff_max`.
pub(crate) fn backoff_delay(policy: &RetryPolicy, retry: u32) -> Span {
    let shift = retry.saturating_sub(1).min(63);
    let raw = policy.backoff.saturating_mul(1u64 << shift);
    raw.min(policy.backoff_max)
}

/// Checks an endpoint's `reserved` shares and turns them into slot counts
/// (none while they are not valid).
fn check_reserved(e: &EndpointPolicy, field: &dyn Fn(&str) -> Setting, errors: &mut Vec<ConfigError>) -> [u32; 3] {
    let mut slots = [0; 3];
    if e.reserved.is_none() {
        return slots;
    }
    let before = errors.len();
    let mut sum = 0.0;
    for class in SlaClass::ALL {
        let share = e.reserved.get(class);
        if !(0.0..=1.0).contains(&share) {
            errors.push(ConfigError::RatioOutOfRange {
                field: field(&format!("reserved.{}", class.name())),
                value: share.to_string(),
            });
        }
        sum += share;
    }
    if errors.len() == before && sum > 1.0 + 1e-9 {
        errors.push(ConfigError::ReservedOverOne {
            endpoint: e.name.clone(),
            // Rounded so that 0.6 + 0.3 + 0.2 reads 1.1.
            sum: ((sum * 1e6).round() / 1e6).to_string(),
        });
    }
    let Some(max) = e.max_concurrency else {
        if errors.len() == before {
            errors.push(ConfigError::ReservedWithoutCap(e.name.clone()));
        }
        return slots;
    };
    if errors.len() > before {
        return slots;
    }
    for class in SlaClass::ALL {
        // Shares summing to at most 1 give at most `max` slots in all.
        slots[class.rank()] = (e.reserved.get(class) * f64::from(max) + 1e-9).floor() as u32;
    }
    slots
}
