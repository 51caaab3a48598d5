//! The router's configuration: plain serde data, the same file a production
//! router loads and the simulator vets.
//!
//! Names (endpoints, tenants, workflows) are resolved to dense ids once, in
//! [`Router::new`](super::Router::new); everything after that works on ids.

use serde::{Deserialize, Serialize};

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
        }
    }
}

/// A kind of agent task inside a tenant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowPolicy {
    /// Unique within the tenant.
    pub name: String,
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
}

/// The router's whole configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouterConfig {
    /// Every endpoint the router may dispatch to.
    pub endpoints: Vec<EndpointPolicy>,
    /// Every tenant.
    pub tenants: Vec<TenantPolicy>,
}

/// A configuration the router cannot run with. Each variant is a sentence a
/// user can act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// Two endpoints share a name.
    DuplicateEndpoint(String),
    /// Two tenants share a name.
    DuplicateTenant(String),
    /// A chain names an endpoint that is not configured.
    UnknownEndpoint {
        /// The tenant whose chain it is.
        tenant: String,
        /// The unknown name.
        endpoint: String,
    },
    /// A tenant has an empty chain.
    EmptyChain(String),
    /// A tier above 4.
    TierOutOfRange {
        /// The tenant whose chain it is.
        tenant: String,
        /// The tier given.
        tier: u8,
    },
    /// `max_attempts` is zero.
    ZeroAttempts(String),
    /// An endpoint's concurrency cap is zero.
    ZeroConcurrency(String),
    /// An endpoint's attempt timeout is zero.
    ZeroAttemptTimeout(String),
    /// Two workflows of one tenant share a name.
    DuplicateWorkflow {
        /// The tenant.
        tenant: String,
        /// The repeated workflow name.
        workflow: String,
    },
    /// More endpoints or tenants than ids can number (over 4 billion).
    TooMany(&'static str),
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigError::DuplicateEndpoint(n) => write!(f, "endpoint {n:?} is defined twice"),
            ConfigError::DuplicateTenant(n) => write!(f, "tenant {n:?} is defined twice"),
            ConfigError::UnknownEndpoint { tenant, endpoint } => {
                write!(f, "tenant {tenant:?}: chain names unknown endpoint {endpoint:?}")
            }
            ConfigError::EmptyChain(t) => write!(f, "tenant {t:?}: chain is empty, expected at least one endpoint"),
            ConfigError::TierOutOfRange { tenant, tier } => {
                write!(f, "tenant {tenant:?}: tier {tier} is out of range, expected 0 to 4")
            }
            ConfigError::ZeroAttempts(t) => {
                write!(f, "tenant {t:?}: retry.max_attempts must be at least 1")
            }
            ConfigError::ZeroConcurrency(e) => {
                write!(
                    f,
                    "endpoint {e:?}: max_concurrency must be at least 1 (omit it for no cap)"
                )
            }
            ConfigError::ZeroAttemptTimeout(e) => write!(
                f,
                "endpoint {e:?}: attempt_timeout must be longer than zero, e.g. \"30s\""
            ),
            ConfigError::DuplicateWorkflow { tenant, workflow } => {
                write!(f, "tenant {tenant:?}: workflow {workflow:?} is defined twice")
            }
            ConfigError::TooMany(what) => {
                write!(f, "too many {what}: at most 4294967295 are supported")
            }
        }
    }
}

impl std::error::Error for ConfigError {}
