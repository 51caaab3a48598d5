//! The values that cross the router core's boundary: ids, call requests,
//! observed outcomes, decided actions and audit events.

use serde::{Deserialize, Serialize};

use super::config::{SlaClass, Tier};
use crate::time::{Span, Time};

/// Dense index of an endpoint in [`RouterConfig::endpoints`](super::RouterConfig).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EndpointId(pub u32);

/// Dense index of a tenant in [`RouterConfig::tenants`](super::RouterConfig).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TenantId(pub u32);

/// Index of a workflow within its tenant's workflow list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WorkflowId(pub u32);

/// A call, numbered by the router in submission order from 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CallId(pub u64);

/// One try of a call on one endpoint, numbered by the router from 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AttemptId(pub u64);

/// A model call handed to the router. `Default` gives tenant 0, workflow
/// 0, no tokens and no overrides, for struct update syntax.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRequest {
    /// Who is calling.
    pub tenant: TenantId,
    /// Which of the tenant's workflows.
    pub workflow: WorkflowId,
    /// Prompt tokens.
    pub input_tokens: u32,
    /// Expected output tokens (for token-rate limits).
    pub output_tokens: u32,
    /// When the task this call belongs to must be done, if it has a
    /// deadline (a per-request deadline).
    #[serde(default)]
    pub deadline: Option<Time>,
    /// The endpoint this call's session is on (the task's previous call
    /// went there), if any. The router starts at that chain step instead
    /// of the primary when that endpoint is eligible (an allowed, serving
    /// step of the call's chain, breaker not open, not cooling down, rate
    /// limits ready); if it is busy the call waits for it like for its
    /// primary; if it is not eligible the chain is walked from the primary
    /// as usual. Only the first attempt uses it; see the session affinity
    /// rule of [`Router`](super::Router).
    #[serde(default)]
    pub affinity: Option<EndpointId>,
    /// A per-request priority: the call is scheduled as this class instead
    /// of its tenant's. It may lower the class, never raise it: a class
    /// above the tenant's is clamped to the tenant's. `None`: the
    /// tenant's class.
    #[serde(default)]
    pub priority: Option<SlaClass>,
}

/// What the driver observed for an attempt. The router measures the
/// attempt's latency itself, from its dispatch to this report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// The endpoint answered.
    Success,
    /// A 5xx answer, including 503 for a full provider queue.
    ServerError,
    /// The connection failed or was reset.
    ConnectionError,
    /// A 429; the endpoint should not be used again before `retry_after`
    /// (capped at [`RouterConfig::max_retry_after`](super::RouterConfig)).
    RateLimited {
        /// How long the endpoint asked us to wait.
        retry_after: Span,
    },
    /// A 4xx other than 429 (bad request, context too long, ...): the
    /// request itself is at fault, so the call fails at once with
    /// [`FailReason::ClientError`] (no retry, no fallback), the endpoint's
    /// breaker does not count it and the tenant's error budget is not
    /// burnt.
    ClientError {
        /// The HTTP status.
        status: u16,
    },
}

impl Outcome {
    /// Whether the attempt served the call.
    pub const fn is_success(self) -> bool {
        matches!(self, Outcome::Success)
    }
}

/// Why a call ended without being served.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailReason {
    /// Every allowed attempt failed.
    AttemptsExhausted,
    /// No step of the chain was eligible and waiting would not help.
    NoEligibleEndpoint,
    /// The task's deadline cannot be met.
    DeadlineUnreachable,
    /// The request named a tenant or workflow the router does not know.
    InvalidRequest,
    /// The call stayed suspended longer than the tenant's `max_suspend`.
    SuspendedTooLong,
    /// Load shedding: the router's queue for the call's endpoint held more
    /// than `max_queue` calls and this was the newest of the lowest class.
    Shed,
    /// The client went away ([`Router::cancel`](super::Router::cancel)).
    Cancelled,
    /// An endpoint answered with a client error (a 4xx other than 429).
    ClientError {
        /// The HTTP status.
        status: u16,
    },
    /// A reload removed the call's tenant or workflow
    /// ([`Router::reload`](super::Router::reload)).
    Reconfigured,
}

/// A decision the driver must carry out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Send an attempt of `call` to `endpoint`; report its outcome with
    /// [`Router::on_outcome`](super::Router::on_outcome).
    Dispatch {
        /// The call.
        call: CallId,
        /// The new attempt.
        attempt: AttemptId,
        /// Where to send it.
        endpoint: EndpointId,
        /// The chain tier of that endpoint for this tenant.
        tier: Tier,
    },
    /// Abandon an attempt in flight (it timed out, or lost a hedge race).
    /// Any outcome reported for it later is ignored.
    Cancel {
        /// The call.
        call: CallId,
        /// The attempt to abandon.
        attempt: AttemptId,
        /// Why, when the attempt failed: [`Trigger::Timeout`] (its attempt
        /// or first-token timeout) or [`Trigger::SlowAttempt`] (the
        /// tenant's latency ceiling). `None`: abandoned without a verdict
        /// (it lost a hedge race, or its call was cancelled, failed on
        /// another leg or reconfigured away), which is no failure of the
        /// attempt's endpoint.
        failed: Option<Trigger>,
    },
    /// The call was served by `attempt`.
    Complete {
        /// The call.
        call: CallId,
        /// The winning attempt.
        attempt: AttemptId,
        /// Where it was served.
        endpoint: EndpointId,
        /// At which tier.
        tier: Tier,
    },
    /// The call ends unserved.
    Fail {
        /// The call.
        call: CallId,
        /// Why.
        reason: FailReason,
    },
    /// The call is suspended (tier 4, or a tier needing consent): no
    /// attempt is out; it will be resumed or failed later. Informational.
    Suspend {
        /// The call.
        call: CallId,
    },
    /// A suspended call is routed again; a `Dispatch` follows (now or
    /// when an endpoint frees). Informational.
    Resume {
        /// The call.
        call: CallId,
    },
}

impl Action {
    /// The call the action is about.
    pub const fn call(&self) -> CallId {
        match *self {
            Action::Dispatch { call, .. }
            | Action::Cancel { call, .. }
            | Action::Complete { call, .. }
            | Action::Fail { call, .. }
            | Action::Suspend { call }
            | Action::Resume { call } => call,
        }
    }
}

/// What made the router leave a tier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// A 5xx or connection error.
    Error,
    /// A 429.
    RateLimited,
    /// The attempt timed out.
    Timeout,
    /// The endpoint was skipped before dispatch (e.g. busy or cooling down).
    Unavailable,
    /// The endpoint was skipped because its circuit breaker is open.
    BreakerOpen,
    /// The attempt was abandoned at the tenant's latency ceiling.
    SlowAttempt,
    /// The call waited the tenant's `max_wait` in a busy endpoint's queue
    /// and moved on to a fallback.
    Saturated,
    /// A hedge: a second attempt sent while the first is still out.
    Hedge,
    /// A suspended call resumed: a tier 0 or 1 endpoint of its chain
    /// recovered, its tenant was promoted, or it is its tenant's probe.
    Recovered,
}

/// The state of an endpoint's circuit breaker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    /// Normal service.
    Closed,
    /// The endpoint is skipped.
    Open,
    /// A few probe attempts decide whether to close or reopen.
    HalfOpen,
}

/// Something an operator would want in the audit log.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum AuditKind {
    /// The tenant was degraded: its calls now start at a worse tier
    /// (tier 4 for suspension). Tenant-level: `call` and `workflow` are the
    /// call whose move tipped it, `endpoint` the endpoint that call left.
    Degraded {
        /// The tenant's previous tier.
        from: Tier,
        /// Its new tier.
        to: Tier,
        /// What made the tipping call leave `from`.
        trigger: Trigger,
        /// When the router saw that call fail at (or skip) `from`: the
        /// failure that degraded the tenant.
        since: Time,
    },
    /// The tenant was promoted back to a better tier: one of its calls was
    /// served there after the tenant spent `promote_after` at `from`
    /// (`call` and `endpoint`: that call and where it was served).
    Promoted {
        /// The tenant's previous tier.
        from: Tier,
        /// Its new tier.
        to: Tier,
    },
    /// An endpoint's circuit breaker changed state (tenant, workflow and
    /// call are those of the attempt whose result caused it, if any).
    Breaker {
        /// The previous state.
        from: BreakerState,
        /// The new state.
        to: BreakerState,
    },
    /// A call was suspended instead of being served at `tier`.
    Suspended {
        /// The tier it would have been served at.
        tier: Tier,
        /// Whether the tier needs the tenant's consent (else it is tier 4).
        consent: bool,
    },
    /// A suspended call resumed (a tier 0 or 1 endpoint of its chain
    /// recovered, its tenant was promoted, or it goes as its tenant's
    /// probe).
    Resumed,
    /// A suspended call reached its tenant's `max_suspend` and fails with
    /// [`FailReason::SuspendedTooLong`].
    SuspendExpired {
        /// How long it was suspended.
        after: Span,
    },
    /// A notice to a tenant with `notify_on_degradation`: its service tier
    /// changed from the one it was last told (`to > from`: degraded,
    /// `to < from`: recovered). Tenant-level (no call).
    Notification {
        /// The tier the tenant was last told.
        from: Tier,
        /// Its tier now.
        to: Tier,
    },
    /// A waiting call was shed (failed with
    /// [`FailReason::Shed`]): the router's queue for `endpoint` held more
    /// than `max_queue` calls, and it was the newest of the lowest class
    /// waiting there.
    Shed {
        /// The class of the shed call.
        class: SlaClass,
        /// The queue bound that was exceeded.
        max_queue: u32,
    },
    /// The tenant's error budget burns fast: over both the short and the
    /// long window of [`BudgetPolicy`](super::BudgetPolicy) the burn rate
    /// reached `threshold` (raised at most once per threshold per short
    /// window; call and workflow are those of the failure that raised it).
    BudgetAlert {
        /// Burn rate over the short window.
        burn_rate_short: f64,
        /// Burn rate over the long window.
        burn_rate_long: f64,
        /// The alert threshold reached.
        threshold: f64,
    },
    /// A call with a deadline failed early
    /// ([`FailReason::DeadlineUnreachable`]): even the fastest step of its
    /// chain (the event's endpoint) is estimated to answer after it.
    DeadlineUnreachable {
        /// The smallest latency estimate over the chain's steps.
        estimate: Span,
        /// The call's deadline.
        deadline: Time,
    },
}

/// One audit record. Serialized flat: the kind's fields sit next to `at`,
/// `tenant`, ... and its snake_case name is under `event`, e.g.
/// `{"at":3000000,"tenant":0,"workflow":0,"call":7,"endpoint":1,"event":"tier_change","from":0,"to":1,"trigger":"saturated"}`
/// (`at` in nanoseconds).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// When the router decided it.
    pub at: Time,
    /// The tenant concerned, if any.
    pub tenant: Option<TenantId>,
    /// The workflow concerned, if any.
    pub workflow: Option<WorkflowId>,
    /// The call concerned, if any.
    pub call: Option<CallId>,
    /// The endpoint concerned, if any.
    pub endpoint: Option<EndpointId>,
    /// What happened.
    #[serde(flatten)]
    pub kind: AuditKind,
}
