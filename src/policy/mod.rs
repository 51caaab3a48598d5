//! The router core: the scheduler and fallback policy a production LLM
//! router runs, sans-IO.
//!
//! [`Router`] is the one entry point; its doc comment is the contract.
//!
//! Code map:
//! - `config`: the serde configuration ([`RouterConfig`]); `error`:
//!   [`ConfigError`];
//! - `types`: the values crossing the boundary (ids, [`CallRequest`],
//!   [`Outcome`], [`Action`], [`AuditEvent`]);
//! - `plan`: validation and the resolved, id-indexed configuration (chains
//!   split into pools);
//! - `router`: the public API and the per-endpoint and per-tenant run-time
//!   state; `contract.md` is the [`Router`] doc comment, the contract;
//! - `route`: the chain walk pool by pool, balancing inside a pool,
//!   queueing a call on every endpoint of its pool, shedding, pumping
//!   queued calls into free slots;
//! - `balance`: the balancing policies and the peak-EWMA estimate;
//! - `queue`: per-endpoint, per-class waiting queues, weighted fair between
//!   the tenants of a class, with exact live counts;
//! - `calls`: the slab of live calls and the call and attempt indexes;
//! - `lifecycle`: state changes, dispatch (with the per-class
//!   reserved-slots rule, `admits`), attempt endings, failures, pruning;
//! - `recovery`: tenant tiers (degradation, probes, promotion), notices,
//!   suspension and resumption;
//! - `reload`: applying a new configuration to a running router;
//! - `hedge`: second attempts for slow calls, abandoned legs;
//! - `breaker`: per-endpoint circuit breakers;
//! - `budget`: per-tenant error budgets, burn rates and their alerts;
//! - `limiter`: requests- and tokens-per-minute buckets;
//! - `rng`: the router's seeded generator (jitter);
//! - `timers`: the timer heap and the attempt-deadline FIFOs;
//! - `wait`: a tenant's `max_wait` in a busy endpoint's queue, and the
//!   per-endpoint latency estimates behind early deadline failures.
//!
//! Tests: `tests` (life cycle), `tests_resilience`, `tests_hedge`,
//! `tests_fair`, `tests_budget`, `tests_wait` (`max_wait`, deadline
//! awareness), `tests_sessions` (session affinity), `tests_reserved`
//! (reserved slots per class), `tests_serde` (the audit log's JSON form),
//! `tests_pools` (balancing), `tests_tiers` (degradation, promotion,
//! notices, suspension), `tests_gateway` (cancel, first token, client
//! errors, priority, views), `tests_reload`, `tests_memory` (bounded
//! structures) and `tests_props` (proptest properties over random driver
//! inputs, and a long release-mode run bounding memory); `invariants` holds
//! the test-only consistency checks.
//!
//! **Architecture Invariant:** this module imports nothing from `engine`,
//! `model`, `sla`, `plan`, `report` or `scenario`, and no I/O, async or
//! randomness crate: it builds alone with `--no-default-features`, with serde
//! as its only dependency. It never reads a clock; time comes in as `now`.

mod balance;
mod breaker;
mod budget;
mod calls;
mod config;
mod error;
mod hedge;
mod lifecycle;
mod limiter;
mod plan;
mod queue;
mod recovery;
mod reload;
mod rng;
mod route;
mod router;
mod timers;
mod types;
mod wait;

#[cfg(test)]
mod invariants;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_budget;
#[cfg(test)]
mod tests_fair;
#[cfg(test)]
mod tests_gateway;
#[cfg(test)]
mod tests_hedge;
#[cfg(test)]
mod tests_memory;
#[cfg(test)]
mod tests_pools;
#[cfg(test)]
mod tests_props;
#[cfg(test)]
mod tests_reload;
#[cfg(test)]
mod tests_reserved;
#[cfg(test)]
mod tests_resilience;
#[cfg(test)]
mod tests_serde;
#[cfg(test)]
mod tests_sessions;
#[cfg(test)]
mod tests_tiers;
#[cfg(test)]
mod tests_wait;

pub use budget::{BudgetPolicy, BudgetStatus};
pub use config::*;
pub use error::ConfigError;
pub use reload::ReloadReport;
pub use router::Router;
pub use types::*;
