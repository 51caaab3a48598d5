//! The scenario file: serde types, loading, and validation with precise
//! errors.
//!
//! This module owns the mapping from what a user writes to validated values:
//! every problem is reported with the file, the field path (e.g.
//! `tenants[2].workflows[0].rate`), the line where it can be found, and what
//! was expected. It does not simulate anything.

pub mod capacity;
mod decode;
mod error;
pub mod keys;
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

use crate::policy::{EndpointPolicy, RouterConfig, TenantPolicy};
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
/// else every type error (one per independent piece of the file) and
/// unknown key; else every semantic problem, the world's and the router's
/// own ([`validate::check`]); else a problem in a replayed trace. A loaded
/// scenario carries its [`Scenario::warnings`].
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
    scenario.warnings = validate::warnings(&scenario, source);
    scenario.warnings.extend(capacity::warnings(&scenario, source));
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

    /// The router configuration this scenario implies: what a production
    /// router would load. It is the embedded router settings as written,
    /// plus what only the scenario knows:
    /// - an endpoint's `max_concurrency` defaults to its provider
    ///   `concurrency` (slots), so calls beyond the slots wait in the
    ///   router's class-ordered queues rather than the provider's FIFO;
    /// - a tenant's `workflows` are the scenario's workflows' router settings;
    /// - a tenant's `availability_target` defaults to its strictest
    ///   `availability` clause below 1;
    /// - the seed is `simulation.seed` (the simulator then derives one per
    ///   replication).
    pub fn router_config(&self) -> RouterConfig {
        RouterConfig {
            endpoints: self
                .endpoints
                .iter()
                .map(|e| EndpointPolicy {
                    max_concurrency: e
                        .router
                        .max_concurrency
                        .or((e.concurrency > 0).then_some(e.concurrency)),
                    ..e.router.clone()
                })
                .collect(),
            tenants: self
                .tenants
                .iter()
                .map(|t| TenantPolicy {
                    workflows: t.workflows.iter().map(|w| w.router.clone()).collect(),
                    availability_target: t.router.availability_target.or_else(|| {
                        t.clauses
                            .iter()
                            .filter(|c| c.metric == ClauseMetric::Availability)
                            .filter_map(|c| c.target)
                            .filter(|x| *x > 0.0 && *x < 1.0)
                            .reduce(f64::max)
                    }),
                    ..t.router.clone()
                })
                .collect(),
            seed: self.simulation.seed,
            ..self.router.clone()
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
            let (dir, period) = (&scenario.base_dir, scenario.simulation.duration);
            type Rows = Box<dyn Iterator<Item = Result<(), String>>>;
            let (rows, empty): (Result<Rows, String>, &str) = if cfg.closed_loop() {
                let sessions = crate::model::open_sessions(&once, dir, period);
                let rows = sessions.map(|r| Box::new(r.map(|s| s.map(|_| ()).map_err(|e| e.to_string()))) as Rows);
                (rows, "the file has no session with a model call: expected at least one")
            } else {
                let replay = crate::model::open_replay(&once, dir, period);
                let rows = replay.map(|r| Box::new(r.map(|s| s.map(|_| ()).map_err(|e| e.to_string()))) as Rows);
                (rows, "the trace has no rows: expected at least one call")
            };
            match rows {
                Ok(rows) => {
                    let before = problems.len();
                    let mut count = 0u64;
                    for row in rows {
                        match row {
                            Ok(()) => count += 1,
                            Err(e) => {
                                problems.push(Problem::new(&field, map.nearest_line(&field), e));
                                break;
                            }
                        }
                    }
                    if count == 0 && problems.len() == before {
                        problems.push(Problem::new(format!("{field}.path"), map.nearest_line(&field), empty));
                    }
                }
                Err(e) => problems.push(Problem::new(format!("{field}.path"), map.nearest_line(&field), e)),
            }
        }
    }
    problems
}
