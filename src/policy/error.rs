//! What is wrong with a [`RouterConfig`](super::RouterConfig): one
//! [`ConfigError`] per problem, each naming the [`Setting`] it is about.
//!
//! This module owns the wording of configuration problems and where they
//! are; the checks themselves live in `plan`. A setting is named by its
//! owner (the router, an endpoint, a tenant, a workflow) and its key path
//! inside that owner, so a file format that embeds the router's types (a
//! scenario) can point at the line.

use std::fmt;

/// Who a setting belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Owner {
    /// The router-wide settings of [`RouterConfig`](super::RouterConfig).
    Router,
    /// The endpoint with this name.
    Endpoint(String),
    /// The tenant with this name.
    Tenant(String),
    /// A workflow of a tenant.
    Workflow {
        /// The tenant's name.
        tenant: String,
        /// The workflow's name.
        workflow: String,
    },
}

/// One setting of a [`RouterConfig`](super::RouterConfig): its owner and
/// its key path there, e.g. endpoint `"a"` and `breaker.error_ratio`. The
/// key is empty for the owner as a whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setting {
    /// Whose setting it is.
    pub owner: Owner,
    /// The key path inside the owner, dotted (`retry.max_attempts`).
    pub key: String,
}

impl Setting {
    /// A router-wide setting.
    pub fn router(key: impl Into<String>) -> Setting {
        Setting {
            owner: Owner::Router,
            key: key.into(),
        }
    }

    /// A setting of the endpoint called `name`.
    pub fn endpoint(name: &str, key: impl Into<String>) -> Setting {
        Setting {
            owner: Owner::Endpoint(name.to_string()),
            key: key.into(),
        }
    }

    /// A setting of the tenant called `name`.
    pub fn tenant(name: &str, key: impl Into<String>) -> Setting {
        Setting {
            owner: Owner::Tenant(name.to_string()),
            key: key.into(),
        }
    }

    /// A setting of workflow `workflow` of tenant `tenant`.
    pub fn workflow(tenant: &str, workflow: &str, key: impl Into<String>) -> Setting {
        Setting {
            owner: Owner::Workflow {
                tenant: tenant.to_string(),
                workflow: workflow.to_string(),
            },
            key: key.into(),
        }
    }
}

impl fmt::Display for Setting {
    /// `endpoint "a": breaker.error_ratio`, `tenant "t": retry.jitter`,
    /// `tenant "t", workflow "w": allowed_tiers`, `budget.period`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sep = if self.key.is_empty() { "" } else { ": " };
        match &self.owner {
            Owner::Router => write!(f, "{}", self.key),
            Owner::Endpoint(e) => write!(f, "endpoint {e:?}{sep}{}", self.key),
            Owner::Tenant(t) => write!(f, "tenant {t:?}{sep}{}", self.key),
            Owner::Workflow { tenant, workflow } => {
                write!(f, "tenant {tenant:?}, workflow {workflow:?}{sep}{}", self.key)
            }
        }
    }
}

/// A configuration the router cannot run with. Each variant is a sentence a
/// user can act on; [`ConfigError::setting`] says which setting it is about.
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
    /// A ratio or fraction outside 0 to 1.
    RatioOutOfRange {
        /// Where it is, e.g. endpoint `"a"`, `breaker.error_ratio`.
        field: Setting,
        /// The value given.
        value: String,
    },
    /// A count-type limit (breaker probes, rpm, tpm) is zero.
    ZeroLimit {
        /// Where it is, e.g. tenant `"t"`, `max_concurrency`.
        field: Setting,
    },
    /// The tenant's constraints (allowed tiers, regions) remove every step
    /// of the chain of one of its workflows.
    NoUsableStep {
        /// The tenant.
        tenant: String,
        /// The workflow.
        workflow: String,
    },
    /// An endpoint's `reserved` shares sum to more than 1.
    ReservedOverOne {
        /// The endpoint.
        endpoint: String,
        /// The sum of its shares, as written in the message.
        sum: String,
    },
    /// An endpoint reserves shares but has no `max_concurrency` to take
    /// them of.
    ReservedWithoutCap(String),
    /// A duration that must be positive is zero.
    ZeroSpan {
        /// Where it is, e.g. endpoint `"a"`, `breaker.window`.
        field: Setting,
    },
    /// A pool (the consecutive steps of a chain at one tier) holds more
    /// endpoints than the router balances over (64).
    PoolTooLarge {
        /// The tenant whose chain it is.
        tenant: String,
        /// The pool's tier.
        tier: u8,
        /// Its endpoints.
        size: usize,
    },
    /// A pool names the same endpoint twice.
    DuplicatePoolMember {
        /// The tenant whose chain it is.
        tenant: String,
        /// The pool's tier.
        tier: u8,
        /// The repeated endpoint.
        endpoint: String,
    },
}

impl ConfigError {
    /// The setting this problem is about. For a problem in a chain (an
    /// unknown endpoint, a tier out of range) it is the whole `chain`; for
    /// a repeated name, the `name` of the later owner.
    pub fn setting(&self) -> Setting {
        match self {
            ConfigError::DuplicateEndpoint(e) => Setting::endpoint(e, "name"),
            ConfigError::DuplicateTenant(t) => Setting::tenant(t, "name"),
            ConfigError::UnknownEndpoint { tenant, .. }
            | ConfigError::EmptyChain(tenant)
            | ConfigError::TierOutOfRange { tenant, .. }
            | ConfigError::PoolTooLarge { tenant, .. }
            | ConfigError::DuplicatePoolMember { tenant, .. } => Setting::tenant(tenant, "chain"),
            ConfigError::ZeroAttempts(t) => Setting::tenant(t, "retry.max_attempts"),
            ConfigError::ZeroConcurrency(e) => Setting::endpoint(e, "max_concurrency"),
            ConfigError::ZeroAttemptTimeout(e) => Setting::endpoint(e, "attempt_timeout"),
            ConfigError::DuplicateWorkflow { tenant, workflow } => Setting::workflow(tenant, workflow, "name"),
            ConfigError::TooMany(what) => Setting::router(*what),
            ConfigError::RatioOutOfRange { field, .. }
            | ConfigError::ZeroLimit { field }
            | ConfigError::ZeroSpan { field } => field.clone(),
            ConfigError::NoUsableStep { tenant, workflow } => Setting::workflow(tenant, workflow, ""),
            ConfigError::ReservedOverOne { endpoint, .. } | ConfigError::ReservedWithoutCap(endpoint) => {
                Setting::endpoint(endpoint, "reserved")
            }
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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
            ConfigError::RatioOutOfRange { field, value } => {
                write!(f, "{field} is {value}, expected a number from 0 to 1")
            }
            ConfigError::ZeroLimit { field } => {
                write!(f, "{field} must be at least 1 (omit it for no limit)")
            }
            ConfigError::NoUsableStep { tenant, workflow } => write!(
                f,
                "tenant {tenant:?}, workflow {workflow:?}: allowed tiers and regions leave no \
                 step of the chain to serve at; allow more tiers or regions, or add an \
                 endpoint that fits"
            ),
            ConfigError::ReservedOverOne { endpoint, sum } => write!(
                f,
                "endpoint {endpoint:?}: reserved shares sum to {sum}, expected at most 1 \
                 (they are shares of max_concurrency)"
            ),
            ConfigError::ReservedWithoutCap(e) => write!(
                f,
                "endpoint {e:?}: reserved needs max_concurrency to take its shares of; set \
                 max_concurrency or remove reserved"
            ),
            ConfigError::ZeroSpan { field } => write!(f, "{field} must be longer than zero"),
            ConfigError::PoolTooLarge { tenant, tier, size } => write!(
                f,
                "tenant {tenant:?}: the pool at tier {tier} has {size} endpoints, expected at most 64 \
                 (consecutive chain steps at one tier form a pool)"
            ),
            ConfigError::DuplicatePoolMember { tenant, tier, endpoint } => write!(
                f,
                "tenant {tenant:?}: endpoint {endpoint:?} appears twice in the pool at tier {tier}; \
                 list each endpoint of a pool once"
            ),
        }
    }
}

impl std::error::Error for ConfigError {}
