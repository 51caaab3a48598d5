//! [`ConfigError`]: every reason the router refuses a configuration, each
//! a sentence a user can act on.
//!
//! The router core cannot depend on thiserror, so the messages are written
//! out by hand in `Display`.

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
    /// A ratio or fraction outside 0 to 1.
    RatioOutOfRange {
        /// Where it is, e.g. `endpoint "a": breaker.error_ratio`.
        field: String,
        /// The value given.
        value: String,
    },
    /// A count-type limit (breaker probes, rpm, tpm) is zero.
    ZeroLimit {
        /// Where it is, e.g. `tenant "t": max_concurrency`.
        field: String,
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
        /// Where it is, e.g. `endpoint "a": breaker.window`.
        field: String,
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
