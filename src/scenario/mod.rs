//! The scenario file: serde types, loading, and validation with precise
//! errors.
//!
//! This module owns the mapping from what a user writes to validated values:
//! every problem is reported with the file, the field path (e.g.
//! `tenants[2].workflows[0].rate`), the line where it can be found, and what
//! was expected. It does not simulate anything.

mod decode;
mod error;
mod profiles;
#[cfg(test)]
mod robustness_tests;
mod serving;
mod spans;
mod types;
mod validate;
mod workload;

use std::path::Path;

use chrono::{NaiveDate, NaiveDateTime};

pub use error::{Problem, ScenarioError};
pub use profiles::{OutageProfile, PROVIDERS_TOML, ProfileProcess, Renewal, Scope, profile, profiles};
pub use serving::{TenantAuth, Upstream};
pub use spans::SourceMap;
pub use types::*;

use crate::policy::{ChainStep, EndpointPolicy, RetryPolicy, RouterConfig, TenantPolicy, Tier, WorkflowPolicy};
use crate::time::Span;

/// Reads, parses and validates the scenario at `path`.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let source = std::fs::read_to_string(path).map_err(|e| {
        ScenarioError::single(
            path,
            Problem::new(
                "",
                None,
                format!("cannot read the file ({e}): expected a readable scenario TOML file"),
            ),
        )
    })?;
    parse(&source, path)
}

/// Parses and validates scenario text; `path` is only used in messages.
///
/// Every problem found is reported, sorted by line: all TOML syntax errors;
/// else every type error (one per independent piece of the file); else
/// every semantic problem from [`validate::check`].
pub fn parse(source: &str, path: &Path) -> Result<Scenario, ScenarioError> {
    let map = SourceMap::parse(source);
    let scenario = decode::decode(&map).map_err(|mut problems| {
        problems.sort_by_key(|p| p.line.unwrap_or(usize::MAX));
        ScenarioError::new(path, problems)
    })?;
    let mut scenario = scenario;
    scenario.base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let problems = validate::check(&scenario, source);
    if !problems.is_empty() {
        return Err(ScenarioError::new(path, problems));
    }
    let problems = check_traces(&scenario, source);
    if !problems.is_empty() {
        return Err(ScenarioError::new(path, problems));
    }
    // The router core has the last word on its own settings: whatever it
    // would reject is reported here, before anything runs.
    if let Err(e) = crate::policy::Router::new(scenario.router_config()) {
        let problem = Problem::new("", None, format!("the router configuration is not usable: {e}"));
        return Err(ScenarioError::single(path, problem));
    }
    Ok(scenario)
}

/// Parses a UTC date (`2026-01-01`) or date-time (`2026-01-01T03:00:00`).
pub fn parse_datetime(text: &str) -> Option<NaiveDateTime> {
    let t = text.trim().trim_end_matches('Z');
    NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S"))
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(t, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })
}

/// An instant written either as an offset from the simulation start (`"9d"`)
/// or as a UTC date-time; returns the offset from `start`.
pub fn parse_offset(text: &str, start: NaiveDateTime) -> Option<Span> {
    if let Ok(span) = Span::parse(text) {
        return Some(span);
    }
    let at = parse_datetime(text)?;
    let delta = at.signed_duration_since(start);
    u64::try_from(delta.num_nanoseconds()?).ok().map(Span::from_nanos)
}

impl Scenario {
    /// The first simulated instant (validated, so this cannot fail after [`load`]).
    pub fn start(&self) -> NaiveDateTime {
        parse_datetime(&self.simulation.start).unwrap_or_default()
    }

    /// The router configuration this scenario implies: the part a production
    /// router would load.
    pub fn router_config(&self) -> RouterConfig {
        RouterConfig {
            endpoints: self
                .endpoints
                .iter()
                .map(|e| EndpointPolicy {
                    name: e.name.clone(),
                    provider: e.provider.clone(),
                    region: e.region.clone(),
                    max_concurrency: Some(e.max_in_flight.unwrap_or(e.concurrency.saturating_add(e.queue_limit))),
                    attempt_timeout: e.attempt_timeout,
                    rpm: e.rpm,
                    tpm: e.tpm,
                    breaker: e.breaker.clone(),
                    expected_latency: e.expected_latency,
                    reserved: e.reserved,
                    weight: e.weight,
                    // The simulated world does not report first tokens.
                    first_token_timeout: None,
                })
                .collect(),
            tenants: self
                .tenants
                .iter()
                .map(|t| TenantPolicy {
                    name: t.name.clone(),
                    class: t.class,
                    chain: t
                        .chain
                        .iter()
                        .enumerate()
                        .map(|(i, c)| match c {
                            ChainEntry::Name(n) => ChainStep {
                                endpoint: n.clone(),
                                tier: Tier(i.min(3) as u8),
                            },
                            ChainEntry::Step { endpoint, tier } => ChainStep {
                                endpoint: endpoint.clone(),
                                tier: *tier,
                            },
                        })
                        .collect(),
                    retry: RetryPolicy {
                        max_attempts: t.max_attempts,
                        backoff: t.backoff,
                        jitter: t.jitter,
                        ..RetryPolicy::default()
                    },
                    workflows: t
                        .workflows
                        .iter()
                        .map(|w| WorkflowPolicy {
                            name: w.name.clone(),
                            allowed_tiers: w.allowed_tiers.clone(),
                        })
                        .collect(),
                    allowed_tiers: t.allowed_tiers.clone(),
                    regions: t.regions.clone(),
                    requires_consent: t.requires_consent.clone(),
                    notify_on_degradation: t.notify_on_degradation,
                    notice_interval: t.notice_interval,
                    degrade_after: t.degrade_after,
                    promote_after: t.promote_after,
                    balance: t.balance,
                    latency_ceiling: t.latency_ceiling,
                    max_suspend: t.max_suspend,
                    hedge_after: t.hedge_after,
                    availability_target: t.availability_target.or_else(|| {
                        t.clauses
                            .iter()
                            .filter(|c| c.metric == ClauseMetric::Availability)
                            .filter_map(|c| c.target)
                            .filter(|x| *x < 1.0)
                            .reduce(f64::max)
                    }),
                    weight: t.weight,
                    max_concurrency: t.max_concurrency,
                    max_wait: t.max_wait,
                })
                .collect(),
            seed: self.simulation.seed,
            budget: self.router.budget.clone(),
            max_queue: self.router.max_queue,
            breaker: self.router.breaker.clone(),
            balance: self.router.balance,
            max_retry_after: self.router.max_retry_after,
        }
    }
}

/// Reads every replayed trace once, end to end, so a bad row is reported
/// now (with the trace's file, line and field) rather than in mid-run.
fn check_traces(scenario: &Scenario, source: &str) -> Vec<Problem> {
    let map = SourceMap::parse(source);
    let mut problems = Vec::new();
    for (ti, t) in scenario.tenants.iter().enumerate() {
        for (wi, w) in t.workflows.iter().enumerate() {
            let Some(cfg) = &w.replay else { continue };
            let field = format!("tenants[{ti}].workflows[{wi}].replay");
            let once = ReplaySource {
                loop_to_fill: false,
                ..cfg.clone()
            };
            match crate::model::open_replay(&once, &scenario.base_dir, scenario.simulation.duration) {
                Ok(replay) => {
                    let mut rows = 0u64;
                    for row in replay {
                        match row {
                            Ok(_) => rows += 1,
                            Err(e) => {
                                problems.push(Problem::new(&field, map.nearest_line(&field), e.to_string()));
                                break;
                            }
                        }
                    }
                    if rows == 0 && problems.is_empty() {
                        let message = "the trace has no rows: expected at least one call";
                        problems.push(Problem::new(format!("{field}.path"), map.nearest_line(&field), message));
                    }
                }
                Err(e) => problems.push(Problem::new(format!("{field}.path"), map.nearest_line(&field), e)),
            }
        }
    }
    problems
}
