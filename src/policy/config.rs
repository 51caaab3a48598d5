//! The router's configuration: plain serde data, the same file a production
//! router loads and the simulator vets.
//!
//! Names (endpoints, tenants, workflows) are resolved to dense ids once, in
//! [`Router::new`](super::Router::new); everything after that works on ids.

use serde::{Deserialize, Serialize};

use super::budget::BudgetPolicy;
use crate::time::Span;

/// A rung of a tenant's fallback chain: 0 primary, 1 hot standby,
/// 2 capability-reduced, 3 minimal, 4 suspend-and-resume.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Tier(pub u8);

impl Tier {
    /// The primary tier.
    pub const PRIMARY: Tier = Tier(0);
    /// The suspend-and-resume tier: calls wait instead of being served worse.
    pub const SUSPEND: Tier = Tier(4);
}

/// A tenant's SLA class. Classes are served in strict priority: every waiting
/// Gold call goes before any Silver call, and so on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SlaClass {
    /// Highest priority.
    Gold,
    /// Middle priority.
    Silver,
    /// Lowest priority; shed first under saturation.
    Bronze,
}

impl SlaClass {
    /// All classes, highest priority first.
    pub const ALL: [SlaClass; 3] = [SlaClass::Gold, SlaClass::Silver, SlaClass::Bronze];

    /// 0 for Gold, 1 for Silver, 2 for Bronze.
    pub const fn rank(self) -> usize {
        self as usize
    }

    /// The lowercase name used in files.
    pub const fn name(self) -> &'static str {
        match self {
            SlaClass::Gold => "gold",
            SlaClass::Silver => "silver",
            SlaClass::Bronze => "bronze",
        }
    }
}

/// What the router knows about one endpoint: its identity and the limits it
/// was configured with. It never knows the endpoint's true health.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointPolicy {
    /// Unique name, e.g. `claude-sonnet@anthropic/eu`.
    pub name: String,
    /// The provider; endpoints of one provider share fate.
    #[serde(default)]
    pub provider: String,
    /// The region, for data-residency constraints.
    #[serde(default)]
    pub region: String,
    /// How many attempts the router keeps in flight on this endpoint at
    /// most; calls beyond that wait in the router's queue. `None`: no cap.
    #[serde(default)]
    pub max_concurrency: Option<u32>,
    /// An attempt with no answer after this long is abandoned (cancelled)
    /// and counts as a failure of the endpoint.
    pub attempt_timeout: Span,
    /// Requests per minute the endpoint accepts (its published rate limit).
    /// The router never dispatches a request the limit would reject: while
    /// it is spent, calls skip the endpoint as if it were cooling down.
    /// `None`: no limit.
    #[serde(default)]
    pub rpm: Option<u32>,
    /// Tokens per minute (prompt plus expected output tokens), enforced like
    /// `rpm`. `None`: no limit.
    #[serde(default)]
    pub tpm: Option<u64>,
    /// This endpoint's circuit breaker, overriding
    /// [`RouterConfig::breaker`]. `None`: use the router-wide one.
    #[serde(default)]
    pub breaker: Option<BreakerPolicy>,
    /// The latency an attempt is expected to take here: the prior of the
    /// router's latency estimate, which then follows observed successful
    /// attempts (see [`Router`](super::Router), deadline awareness). `None`
    /// (the default): no estimate until the first success.
    #[serde(default)]
    pub expected_latency: Option<Span>,
    /// Shares of `max_concurrency` reserved per SLA class, e.g.
    /// `{ gold = 0.5, silver = 0.2 }`: class `C` gets
    /// `floor(share × max_concurrency)` slots that other classes may only
    /// borrow while no call of `C` waits for this endpoint (see
    /// [`Router`](super::Router), *Reserved slots*). Each share is 0 to 1
    /// and they sum to at most 1; needs `max_concurrency`. Default: nothing
    /// reserved.
    #[serde(default)]
    pub reserved: ClassShares,
    /// This endpoint's share of its pool's calls under
    /// [`BalancePolicy::WeightedRandom`], at least 1. A pool uses explicit
    /// weights when every member has one, else the members' `rpm` when
    /// every member has one, else their `tpm`, else equal weights
    /// (LiteLLM's simple shuffle). `None` (the default): no explicit weight.
    #[serde(default)]
    pub weight: Option<u32>,
    /// An attempt whose first token has not arrived this long after its
    /// dispatch (see [`Router::on_first_token`](super::Router::on_first_token))
    /// is abandoned and fails as a timeout, separately from
    /// `attempt_timeout`, which bounds the whole answer. `None` (the
    /// default): no first-token limit. A driver that never reports first
    /// tokens must leave it unset.
    #[serde(default)]
    pub first_token_timeout: Option<Span>,
}

/// How the router spreads a pool's calls over its endpoints (a pool is the
/// consecutive steps of a chain at one tier; see
/// [`Router`](super::Router), *Pools*). Only endpoints that can take the
/// call at once (not blocked, rate limits ready, a free slot, nobody
/// waiting) are candidates; draws come from the router's seeded generator.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BalancePolicy {
    /// A random candidate, with probability proportional to its weight
    /// (explicit `weight`, else `rpm`, else `tpm`, else equal).
    WeightedRandom,
    /// The candidate with the fewest attempts in flight (ties: a random
    /// one among them).
    LeastOutstanding,
    /// Power of two choices: two distinct random candidates, the one with
    /// the lower cost `peak-EWMA latency × (attempts in flight + 1)` goes
    /// (ties: fewer in flight, then the first drawn). The default.
    #[default]
    P2cPeakEwma,
}

/// One share (0 to 1) per SLA class; a class left out has 0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassShares {
    /// Gold's share.
    #[serde(default)]
    pub gold: f64,
    /// Silver's share.
    #[serde(default)]
    pub silver: f64,
    /// Bronze's share.
    #[serde(default)]
    pub bronze: f64,
}

impl ClassShares {
    /// The share of `class`.
    pub fn get(&self, class: SlaClass) -> f64 {
        match class {
            SlaClass::Gold => self.gold,
            SlaClass::Silver => self.silver,
            SlaClass::Bronze => self.bronze,
        }
    }

    /// Whether every share is 0.
    pub fn is_none(&self) -> bool {
        SlaClass::ALL.iter().all(|&c| self.get(c) == 0.0)
    }
}

impl Default for EndpointPolicy {
    /// An unnamed endpoint with no caps and a 30 s attempt timeout; handy
    /// with struct update syntax (`..Default::default()`).
    fn default() -> Self {
        EndpointPolicy {
            name: String::new(),
            provider: String::new(),
            region: String::new(),
            max_concurrency: None,
            attempt_timeout: Span::from_secs(30),
            rpm: None,
            tpm: None,
            breaker: None,
            expected_latency: None,
            reserved: ClassShares::default(),
            weight: None,
            first_token_timeout: None,
        }
    }
}

/// A circuit breaker: closed (normal), open (the endpoint is skipped) and
/// half-open (a few probe attempts decide whether to close or reopen).
///
/// It trips when, over the last `window`, at least `min_requests` attempts
/// ended and either the share of failures reaches `error_ratio`, or
/// (with `slow_threshold` set) the share of attempts slower than it reaches
/// `slow_ratio`. It stays open for `open_for`, then lets up to
/// `half_open_probes` attempts through: if they all succeed it closes, the
/// first failure reopens it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakerPolicy {
    /// The sliding window the ratios are measured over (10 buckets).
    #[serde(default = "default_breaker_window")]
    pub window: Span,
    /// Fewer attempts than this in the window never trip the breaker.
    #[serde(default = "default_min_requests")]
    pub min_requests: u32,
    /// Failure share (0 to 1) that trips the breaker; 5xx, connection
    /// errors, timeouts and abandons at a tenant's latency ceiling are
    /// failures (a 429 is not: it has its own cooldown).
    #[serde(default = "default_half")]
    pub error_ratio: f64,
    /// An attempt slower than this counts as slow. `None`: latency never
    /// trips the breaker.
    #[serde(default)]
    pub slow_threshold: Option<Span>,
    /// Slow share (0 to 1) that trips the breaker.
    #[serde(default = "default_half")]
    pub slow_ratio: f64,
    /// How long the breaker stays open before probing.
    #[serde(default = "default_open_for")]
    pub open_for: Span,
    /// Probe attempts let through while half-open, at least 1.
    #[serde(default = "default_probes")]
    pub half_open_probes: u32,
}

fn default_breaker_window() -> Span {
    Span::from_secs(30)
}
fn default_min_requests() -> u32 {
    20
}
fn default_half() -> f64 {
    0.5
}
fn default_open_for() -> Span {
    Span::from_secs(30)
}
fn default_probes() -> u32 {
    3
}

impl Default for BreakerPolicy {
    fn default() -> Self {
        BreakerPolicy {
            window: default_breaker_window(),
            min_requests: default_min_requests(),
            error_ratio: default_half(),
            slow_threshold: None,
            slow_ratio: default_half(),
            open_for: default_open_for(),
            half_open_probes: default_probes(),
        }
    }
}

/// One step of a fallback chain.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainStep {
    /// The endpoint's name.
    pub endpoint: String,
    /// The tier this step serves at.
    pub tier: Tier,
}

/// Retries: how many attempts one call may make in all, and the backoff
/// between an attempt's failure and the next dispatch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryPolicy {
    /// Attempts per call across the whole chain, at least 1.
    pub max_attempts: u32,
    /// Delay before the first retry; doubles each retry.
    #[serde(default)]
    pub backoff: Span,
    /// Upper bound on the backoff delay.
    #[serde(default = "default_backoff_max")]
    pub backoff_max: Span,
    /// Random spread of each backoff, 0 to 1: the delay is drawn uniformly
    /// between `(1 - jitter) * d` and `d`, from the router's seeded generator.
    #[serde(default)]
    pub jitter: f64,
}

fn default_backoff_max() -> Span {
    Span::from_secs(10)
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            backoff: Span::ZERO,
            backoff_max: default_backoff_max(),
            jitter: 0.0,
        }
    }
}

/// A kind of agent task inside a tenant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowPolicy {
    /// Unique within the tenant.
    pub name: String,
    /// Tiers this workflow may be served at, overriding the tenant's
    /// `allowed_tiers` (e.g. tier 2 for summarization, not for code
    /// generation). `None`: the tenant's.
    #[serde(default)]
    pub allowed_tiers: Option<Vec<Tier>>,
}

/// One tenant: its class, its fallback chain and its limits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantPolicy {
    /// Unique name.
    pub name: String,
    /// SLA class.
    pub class: SlaClass,
    /// The ordered fallback chain: the router tries the first eligible step.
    pub chain: Vec<ChainStep>,
    /// Retries and backoff.
    #[serde(default)]
    pub retry: RetryPolicy,
    /// The tenant's workflows; calls name one by index. A tenant with none
    /// gets one workflow named `default`.
    #[serde(default)]
    pub workflows: Vec<WorkflowPolicy>,
    /// Tiers the tenant may be served at (e.g. `[0, 1]`: never below tier
    /// 1); chain steps at other tiers are removed. Empty: every tier.
    #[serde(default)]
    pub allowed_tiers: Vec<Tier>,
    /// Data residency: regions the tenant's calls may be served in; chain
    /// steps on endpoints elsewhere are removed. Empty: any region.
    #[serde(default)]
    pub regions: Vec<String>,
    /// Tiers that need the tenant's consent: instead of being served there,
    /// a call suspends (as at tier 4) until a tier 0 or 1 endpoint recovers.
    #[serde(default)]
    pub requires_consent: Vec<Tier>,
    /// Tell the tenant when its service tier changes: an
    /// [`AuditKind::Notification`](super::AuditKind::Notification) when the
    /// tenant is degraded and when it is promoted back, at most one per
    /// `notice_interval` (see [`Router`](super::Router), *Tenant tiers*).
    #[serde(default)]
    pub notify_on_degradation: bool,
    /// The shortest time between two notifications to the tenant; a tier
    /// change sooner is told when the interval is over, if the tenant's
    /// tier then differs from the one last told. Default 0: every change
    /// is told at once.
    #[serde(default)]
    pub notice_interval: Span,
    /// Calls in a row that must leave the tenant's current tier (an attempt
    /// failed there, or every endpoint of its pool was unavailable) before
    /// the tenant is degraded, at least 1. Default 3, so that one stray
    /// error does not move a whole tenant.
    #[serde(default = "default_degrade_after")]
    pub degrade_after: u32,
    /// Hysteresis of promotion: a degraded tenant stays at its lower tier
    /// at least this long, then one probe call at a time starts from the
    /// top of its chain (one per `promote_after` while probes fail); a
    /// probe served at a better tier promotes the tenant. Default 30 s.
    #[serde(default = "default_promote_after")]
    pub promote_after: Span,
    /// How this tenant's pools spread calls over their endpoints,
    /// overriding [`RouterConfig::balance`]. `None`: the router's.
    #[serde(default)]
    pub balance: Option<BalancePolicy>,
    /// An attempt of this tenant still unanswered after this long is
    /// abandoned (cancelled) and the call falls back to the next step, as
    /// for an attempt timeout; the endpoint's breaker counts it as a slow
    /// failure. `None`: only the endpoint's `attempt_timeout` applies.
    #[serde(default)]
    pub latency_ceiling: Option<Span>,
    /// A suspended call (tier 4 or a tier needing consent) fails with
    /// `SuspendedTooLong` after this long.
    #[serde(default = "default_max_suspend")]
    pub max_suspend: Span,
    /// Hedging: when an attempt is still unanswered after this long, a
    /// second attempt goes to the next eligible step of the chain (one with
    /// a free slot, not blocked, on another endpoint, and only while the
    /// call has attempts left). The first success wins and the other leg is
    /// cancelled; a failed leg does not fail the call while the other one is
    /// out. `None` (the default): no hedging.
    #[serde(default)]
    pub hedge_after: Option<Span>,
    /// The tenant's availability objective (e.g. 0.999): the share of its
    /// calls that must be served. Sets its error budget, which the router
    /// tracks ([`Router::budget`](super::Router::budget)) and alerts on
    /// ([`AuditKind::BudgetAlert`](super::AuditKind::BudgetAlert)). Strictly
    /// between 0 and 1. `None` (the default): no budget.
    #[serde(default)]
    pub availability_target: Option<f64>,
    /// The tenant's share among the tenants of its class waiting for the
    /// same endpoint (weighted fair queuing), at least 1. Default 1.
    #[serde(default = "default_weight")]
    pub weight: u32,
    /// Attempts of this tenant the router keeps in flight at once, over all
    /// endpoints; its further calls wait in the router's queues (other
    /// tenants' calls may pass them). `None` (the default): no cap.
    #[serde(default)]
    pub max_concurrency: Option<u32>,
    /// The longest a call of this tenant waits in the router's queue of a
    /// busy endpoint before it moves on: at `max_wait` after it started
    /// waiting, it is dispatched on the next step of its chain that can
    /// take it at once (another endpoint, a free slot, not blocked, not a
    /// suspend step; trigger [`Trigger::Saturated`](super::Trigger::Saturated)),
    /// or, if none can, it also joins the queue of the first such step and
    /// goes to whichever endpoint frees first. `None` (the default): a call
    /// waits for its endpoint as long as it takes.
    #[serde(default)]
    pub max_wait: Option<Span>,
}

fn default_weight() -> u32 {
    1
}

fn default_degrade_after() -> u32 {
    3
}

fn default_promote_after() -> Span {
    Span::from_secs(30)
}

fn default_max_suspend() -> Span {
    Span::from_mins(10)
}

impl Default for TenantPolicy {
    /// An unnamed Bronze tenant with an empty chain and default limits;
    /// handy with struct update syntax (`..Default::default()`).
    fn default() -> Self {
        TenantPolicy {
            name: String::new(),
            class: SlaClass::Bronze,
            chain: Vec::new(),
            retry: RetryPolicy::default(),
            workflows: Vec::new(),
            allowed_tiers: Vec::new(),
            regions: Vec::new(),
            requires_consent: Vec::new(),
            notify_on_degradation: false,
            notice_interval: Span::ZERO,
            degrade_after: default_degrade_after(),
            promote_after: default_promote_after(),
            balance: None,
            latency_ceiling: None,
            max_suspend: default_max_suspend(),
            hedge_after: None,
            availability_target: None,
            weight: default_weight(),
            max_concurrency: None,
            max_wait: None,
        }
    }
}

/// The router's whole configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouterConfig {
    /// Every endpoint the router may dispatch to.
    pub endpoints: Vec<EndpointPolicy>,
    /// Every tenant.
    pub tenants: Vec<TenantPolicy>,
    /// Seed of the router's own random generator (retry jitter). The same
    /// seed and inputs give the same decisions.
    #[serde(default)]
    pub seed: u64,
    /// The circuit breaker of every endpoint that has none of its own.
    /// `None`: no breakers.
    #[serde(default)]
    pub breaker: Option<BreakerPolicy>,
    /// How tenants' error budgets are measured and alerted on.
    #[serde(default)]
    pub budget: BudgetPolicy,
    /// Load shedding: when more calls than this wait in the router's queue
    /// of one endpoint, the newest call of the lowest class waiting there
    /// fails with [`FailReason::Shed`](super::FailReason::Shed). `None`
    /// (the default): queues are unbounded.
    #[serde(default)]
    pub max_queue: Option<u32>,
    /// How pools spread calls over their endpoints, for every tenant
    /// without its own `balance`. Default: power of two choices on a
    /// peak-EWMA latency estimate.
    #[serde(default)]
    pub balance: BalancePolicy,
    /// The longest cooldown a 429's `retry_after` can impose on an
    /// endpoint; a longer one is cut to this (a bogus "retry after 100
    /// years" must not take an endpoint out for good). Default 10 minutes.
    #[serde(default = "default_max_retry_after")]
    pub max_retry_after: Span,
}

fn default_max_retry_after() -> Span {
    Span::from_mins(10)
}

impl Default for RouterConfig {
    /// No endpoints, no tenants, seed 0, no breakers, default budgets, no
    /// shedding, peak-EWMA balancing, retry-after capped at 10 minutes;
    /// handy with struct update syntax (`..Default::default()`).
    fn default() -> Self {
        RouterConfig {
            endpoints: Vec::new(),
            tenants: Vec::new(),
            seed: 0,
            breaker: None,
            budget: BudgetPolicy::default(),
            max_queue: None,
            balance: BalancePolicy::default(),
            max_retry_after: default_max_retry_after(),
        }
    }
}
