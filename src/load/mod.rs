//! `slaplan load`: a scenario's workload driven against a running gateway
//! in wall-clock time, by the simulator's own workload code.
//!
//! The arrivals are [`crate::model::Source`]'s (the same random streams as
//! the simulator's replication `r`: `arrivals/TENANT/WORKFLOW` and
//! `work/TENANT/WORKFLOW`), and each task walks [`crate::model::Tasks`],
//! the simulator's task state machine: a chain's next call waits for the
//! answer to the last, a tool call waits its tool time, a swarm fans out and
//! joins. Where the simulator hands a call to the router, `load` sends a
//! real HTTP request (`POST TARGET/chat/completions`, streamed) with the
//! tenant's key, `x-slaplan-workflow`, and the task's id in `x-slaplan-task`
//! and `x-slaplan-session` (and the time left to its deadline in
//! `x-slaplan-deadline`); the answer (or its failure) goes back to the
//! state machine. Endpoint behaviour is whatever the target does.
//!
//! Time: `time_scale` K runs the scenario's clock K times faster than the
//! wall clock: a task arriving at scenario time `t` is sent at wall time
//! `t / K`, think and tool times last `1 / K` of theirs, so arrival rates
//! are K times higher. Arrivals stop after `duration` (wall); tasks still
//! running then go on for at most `drain` more, and whatever is still in
//! flight after that is abandoned. It stops by itself.
//!
//! The client side of every call goes to the request log (the gateway's
//! [`crate::gateway::RequestLine`] schema, as the client saw it: see
//! [`client`]).
//!
//! **Architecture Invariant:** `load` sends to the one target URL it is
//! given and nowhere else. Memory is bounded by the tasks and calls in
//! flight (at most `max_in_flight` requests; a call beyond it is not sent
//! and counts as failed), never by the calls made.

mod client;
mod drive;

use std::path::PathBuf;

pub use client::{CallResult, client_outcome};
pub use drive::{LoadSummary, run};

use crate::scenario::Scenario;
use crate::time::Span;

/// What to drive, where, for how long.
#[derive(Clone, Debug)]
pub struct LoadConfig {
    /// The gateway's base URL, e.g. `http://127.0.0.1:8080/v1`.
    pub target: String,
    /// How long arrivals go on, in wall time.
    pub duration: Span,
    /// Scenario seconds per wall second (1: real time).
    pub time_scale: f64,
    /// The master seed (the scenario's unless overridden).
    pub seed: u64,
    /// Which replication's random streams draw the workload.
    pub replication: u64,
    /// Per tenant (by index), its API key; a tenant without one sends
    /// nothing.
    pub keys: Vec<Option<String>>,
    /// Where the client-side request log goes, if anywhere.
    pub log: Option<PathBuf>,
    /// After `duration`, how long running tasks may go on (wall).
    pub drain: Span,
    /// Requests in flight at most.
    pub max_in_flight: usize,
}

impl LoadConfig {
    /// A configuration for `scenario` at `target` for `duration`, real
    /// time, the scenario's seed, replication 0, a drain of 60 s and at
    /// most 10,000 requests in flight.
    pub fn new(scenario: &Scenario, target: &str, duration: Span, keys: Vec<Option<String>>) -> LoadConfig {
        LoadConfig {
            target: target.to_string(),
            duration,
            time_scale: 1.0,
            seed: scenario.simulation.seed,
            replication: 0,
            keys,
            log: None,
            drain: Span::from_secs(60),
            max_in_flight: 10_000,
        }
    }
}

/// Why a load cannot run. Each variant is a sentence a user can act on.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A workflow replays a trace or sessions.
    #[error(
        "tenants[{tenant}].workflows[{workflow}] ({name:?}) replays a trace: `load` drives generated workloads only (rate, shape)"
    )]
    Replay {
        /// Tenant index.
        tenant: usize,
        /// Workflow index.
        workflow: usize,
        /// Its name.
        name: String,
    },
    /// A tenant with work to send has no key.
    #[error(
        "tenants[{index}] ({name:?}) has workflows but no key: give it `auth = {{ api_key_env = \"VAR\" }}` and set VAR to its key"
    )]
    NoKey {
        /// Tenant index.
        index: usize,
        /// Its name.
        name: String,
    },
    /// The target is not a plain http(s) URL.
    #[error("--target {0:?}: expected an http:// or https:// base URL such as http://127.0.0.1:8080/v1")]
    Target(String),
    /// The time scale is not a positive number.
    #[error("--time-scale {0}: expected a positive number (1 is real time)")]
    TimeScale(f64),
    /// The duration is zero.
    #[error("--duration: expected a positive duration such as \"10m\"")]
    Duration,
    /// The log file cannot be written.
    #[error("{path}: cannot write the request log: {source}")]
    Log {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The HTTP client cannot be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

/// Checks that `scenario` and `config` can be driven: no replayed
/// workflow, a key for every tenant with workflows, a plain URL.
pub fn check(scenario: &Scenario, config: &LoadConfig) -> Result<(), LoadError> {
    let t = config.target.as_str();
    if !(t.starts_with("http://") || t.starts_with("https://")) || t.contains(char::is_whitespace) {
        return Err(LoadError::Target(config.target.clone()));
    }
    if !(config.time_scale.is_finite() && config.time_scale > 0.0) {
        return Err(LoadError::TimeScale(config.time_scale));
    }
    if config.duration == Span::ZERO {
        return Err(LoadError::Duration);
    }
    for (ti, tenant) in scenario.tenants.iter().enumerate() {
        for (wi, w) in tenant.workflows.iter().enumerate() {
            if w.replay.is_some() {
                return Err(LoadError::Replay {
                    tenant: ti,
                    workflow: wi,
                    name: w.name.clone(),
                });
            }
        }
        let keyed = config.keys.get(ti).is_some_and(Option::is_some);
        if !tenant.workflows.is_empty() && !keyed {
            return Err(LoadError::NoKey {
                index: ti,
                name: tenant.name.clone(),
            });
        }
    }
    Ok(())
}

/// Each tenant's key, read through `env` from the variable its
/// `auth.api_key_env` names (the gateway's own source of the key).
pub fn keys_from_env(scenario: &Scenario, env: &dyn Fn(&str) -> Option<String>) -> Vec<Option<String>> {
    scenario
        .tenants
        .iter()
        .map(|t| t.auth.as_ref().and_then(|a| a.api_key_env.as_deref()).and_then(env))
        .collect()
}
