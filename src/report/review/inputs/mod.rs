//! Reading a run's output directory: `run.json` and `summary.csv` (required)
//! and the optional CSVs, columns by header name, extra columns ignored.
//!
//! Every problem is a [`ReportError::Input`] naming the file, the line, the
//! field or column and what was expected. Nothing here draws or writes.

mod run_json;
mod tables;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::ReportError;
pub use crate::plan::internal::InternalObjective;
use crate::plan::{IntervalKind, Verdict};
use run_json::read_run;
use tables::{
    read_budget, read_credits, read_drivers, read_fidelity, read_latency, read_paired, read_summary, read_timeline,
    read_windows,
};

/// One judgement window as `run.json` lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowInfo {
    /// Label, e.g. `2026-01`.
    pub label: String,
    /// Start, ns since the period start.
    pub start_ns: u64,
    /// End (exclusive), ns since the period start.
    pub end_ns: u64,
    /// Whether the period covers the whole calendar window.
    pub complete: bool,
}

/// What the report uses from `run.json`.
#[derive(Clone, Debug, PartialEq)]
pub struct RunInfo {
    /// slaplan's version that wrote the run.
    pub slaplan_version: String,
    /// The scenario file as given to `run`.
    pub scenario: String,
    /// SHA-256 of the scenario file.
    pub scenario_sha256: String,
    /// Master seed.
    pub seed: u64,
    /// Replications.
    pub replications: u64,
    /// Required probability for a verdict of enforceable.
    pub required_confidence: f64,
    /// Confidence level of the intervals.
    pub interval_level: f64,
    /// Which interval `ci_low` and `ci_high` are (Clopper-Pearson when
    /// `run.json` does not say: outputs written before `--until-decided`).
    pub interval_method: IntervalKind,
    /// The scenario's name, when recorded.
    pub scenario_name: Option<String>,
    /// Start of the simulated period (ISO date-time, UTC), when recorded.
    pub start: Option<String>,
    /// Length of the simulated period in ms, when recorded.
    pub duration_ms: Option<f64>,
    /// Judgement windows (may be empty in old outputs).
    pub windows: Vec<WindowInfo>,
    /// Run totals, known counters first, then the rest by name.
    pub totals: Vec<(String, u64)>,
    /// Tenant names, when recorded.
    pub tenants: Vec<String>,
    /// Endpoint names, when recorded.
    pub endpoints: Vec<String>,
    /// Provider names, when recorded.
    pub providers: Vec<String>,
}

/// One row of `summary.csv`: one clause.
#[derive(Clone, Debug, PartialEq)]
pub struct ClauseRow {
    /// Index matching the other files (`clause_index`, else the row's position).
    pub index: usize,
    /// Tenant name.
    pub tenant: String,
    /// Workflow name; empty for the whole tenant.
    pub workflow: String,
    /// The clause in words.
    pub clause: String,
    /// Short metric name, e.g. `p95 latency`.
    pub metric: String,
    /// `ms` or `ratio`.
    pub unit: String,
    /// Threshold in `unit`.
    pub threshold: f64,
    /// Windows judged.
    pub windows: u64,
    /// Windows in which it held.
    pub met: u64,
    /// P(hold).
    pub probability: f64,
    /// Interval, lower end.
    pub ci_low: f64,
    /// Interval, upper end.
    pub ci_high: f64,
    /// Verdict.
    pub verdict: Verdict,
    /// Clause kind, when recorded.
    pub kind: Option<String>,
    /// `<=` or `>=`, when recorded.
    pub direction: Option<String>,
    /// Its service credits, when it carries a schedule.
    pub credit: Option<ClauseCredit>,
    /// Its internal objective and buffer, when it has one.
    pub internal: Option<InternalObjective>,
}

/// A clause's service credits as `summary.csv` gives them.
#[derive(Clone, Debug, PartialEq)]
pub struct ClauseCredit {
    /// The schedule in the grammar's words.
    pub schedule: String,
    /// Expected credit per month, USD.
    pub month_usd: f64,
    /// Its interval, when there were two replications or more.
    pub month_interval: Option<(f64, f64)>,
    /// Expected credit per year, USD.
    pub year_usd: f64,
    /// Its interval, when there were two replications or more.
    pub year_interval: Option<(f64, f64)>,
    /// The share of months that pay any credit.
    pub p_any_month: f64,
    /// The 95th percentile of a year's credits, USD.
    pub year_p95: f64,
}

impl ClauseRow {
    /// Whether the clause is a time ceiling (latency, fallback time,
    /// notification delay): a threshold in ms the metric must stay under.
    pub fn is_latency_like(&self) -> bool {
        self.unit == "ms" && self.direction.as_deref() != Some(">=")
    }

    /// The percentile a latency clause is about (`p95 latency` → 0.95).
    pub fn percentile(&self) -> Option<f64> {
        let digits = self.metric.strip_prefix('p')?.split_whitespace().next()?;
        let p: f64 = digits.parse().ok()?;
        (p > 0.0 && p < 100.0).then_some(p / 100.0)
    }
}

/// A tenant's service credits, all its credited clauses together, as
/// `credits.csv`'s `tenant` rows give them.
#[derive(Clone, Debug, PartialEq)]
pub struct TenantCredit {
    /// Expected credit per month, USD.
    pub month_usd: f64,
    /// Its interval, when there were two replications or more.
    pub month_interval: Option<(f64, f64)>,
    /// Expected credit per year, USD.
    pub year_usd: f64,
    /// Its interval, when there were two replications or more.
    pub year_interval: Option<(f64, f64)>,
    /// The share of months that pay any credit.
    pub p_any_month: f64,
    /// The 95th percentile of a year's credits, USD.
    pub year_p95: f64,
}

/// A latency-like clause's window values from `windows.csv`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WindowValues {
    /// Values of windows that had one.
    pub values: Vec<f64>,
    /// Windows with no value that held (no eligible event: vacuous).
    pub vacuous: u64,
    /// Windows with no value that failed (every eligible event failed).
    pub never: u64,
}

/// One point of a pooled latency distribution (`latency.csv`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LatencyPoint {
    /// Upper end of the bucket, ms.
    pub upper_ms: f64,
    /// Share of events at most `upper_ms`.
    pub cumulative_share: f64,
}

/// One hour of a burn-down (`budget.csv`).
#[derive(Clone, Debug, PartialEq)]
pub struct BudgetPoint {
    /// Window label.
    pub window: String,
    /// Hours since the window's start.
    pub hour: u64,
    /// Budget consumed, 5th percentile across replications.
    pub consumed_p05: f64,
    /// Median.
    pub consumed_p50: f64,
    /// 95th percentile.
    pub consumed_p95: f64,
}

/// What an interval of the sample timeline is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpanKind {
    /// An endpoint's (or provider's) incident.
    Outage,
    /// A tenant degraded to a lower tier.
    Tier,
}

/// One interval of `timeline.csv`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct TimelineSpan {
    /// The sample replication's index.
    #[serde(default)]
    pub replication: Option<u64>,
    /// Endpoint or tenant name.
    pub lane: String,
    /// Outage or tier change.
    pub kind: SpanKind,
    /// Start, ms since the period start.
    pub start_ms: f64,
    /// End, ms since the period start.
    pub end_ms: f64,
    /// Outage mode or tier number.
    #[serde(default)]
    pub detail: Option<String>,
}

/// One attribution of `drivers.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct Driver {
    /// Endpoint name, or `router`.
    pub cause: String,
    /// The endpoint's provider; `None` for the router.
    pub provider: Option<String>,
    /// Whether the bad events fell during the endpoint's outages.
    pub during_outage: bool,
    /// Bad events attributed.
    pub bad_events: u64,
    /// Share of the clause's bad events in failed windows.
    pub share: f64,
}

/// One comparison of `fidelity.csv` (`slaplan fidelity`): a tenant's
/// figure predicted by the simulator and measured on the gateway.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct FidelityLine {
    /// The tenant.
    pub tenant: String,
    /// The figure, e.g. `p95_ms` or a clause.
    pub metric: String,
    /// The simulator's prediction (mean of its replications).
    pub predicted: f64,
    /// The prediction interval.
    pub interval_low: f64,
    /// See `interval_low`.
    pub interval_high: f64,
    /// What the gateway's log gave, if anything.
    #[serde(default)]
    pub measured: Option<f64>,
    /// Measured less predicted, relative to the prediction.
    #[serde(default)]
    pub relative_error: Option<f64>,
    /// `yes` when the measurement is outside the interval.
    pub differs_beyond_interval: String,
}

/// One row of `paired.csv` (`slaplan fidelity`, `fidelity-paired`): a
/// tenant's figure over the calls paired by `draw_key`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct PairedLine {
    /// The tenant.
    pub tenant: String,
    /// `p50_ms`, `p95_ms`, `p99_ms` or `availability`.
    pub figure: String,
    /// Calls paired.
    pub pairs: u64,
    /// Calls judged in the gateway's log with no partner.
    pub only_measured: u64,
    /// Calls judged in the simulator's log with no partner.
    pub only_simulated: u64,
    /// Per-call latency correlation.
    #[serde(default)]
    pub correlation: Option<f64>,
    /// Measured value.
    #[serde(default)]
    pub measured: Option<f64>,
    /// Simulated value.
    #[serde(default)]
    pub simulated: Option<f64>,
    /// Relative error (latency) or difference in points (availability).
    #[serde(default)]
    pub error: Option<f64>,
    /// The error's bootstrap interval.
    #[serde(default)]
    pub error_low: Option<f64>,
    /// See `error_low`.
    #[serde(default)]
    pub error_high: Option<f64>,
}

/// Everything read from an output directory.
#[derive(Clone, Debug, PartialEq)]
pub struct Inputs {
    /// `run.json`.
    pub run: RunInfo,
    /// `summary.csv`, in file order.
    pub clauses: Vec<ClauseRow>,
    /// `windows.csv` values of latency-like clauses, by clause index.
    pub windows: Option<BTreeMap<usize, WindowValues>>,
    /// `latency.csv`, by clause index.
    pub latency: Option<BTreeMap<usize, Vec<LatencyPoint>>>,
    /// `budget.csv`, by clause index, in file order.
    pub budget: Option<BTreeMap<usize, Vec<BudgetPoint>>>,
    /// `timeline.csv`, in file order.
    pub timeline: Option<Vec<TimelineSpan>>,
    /// `drivers.csv`, by clause index, largest first.
    pub drivers: Option<BTreeMap<usize, Vec<Driver>>>,
    /// `fidelity.csv` (written by `slaplan fidelity`), in file order.
    pub fidelity: Option<Vec<FidelityLine>>,
    /// `paired.csv` (written by `slaplan fidelity`), in file order.
    pub paired: Option<Vec<PairedLine>>,
    /// `credits.csv`'s tenant totals, by tenant name (written when a
    /// clause carries a credit schedule).
    pub credits: Option<BTreeMap<String, TenantCredit>>,
}

/// Reads `dir`: errors for a missing or malformed `run.json` or
/// `summary.csv`, or a malformed optional file; `None` for an absent one.
pub fn read(dir: &Path) -> Result<Inputs, ReportError> {
    if !dir.is_dir() {
        return Err(ReportError::Input {
            path: dir.to_path_buf(),
            problem: "not a directory: expected the output directory of `slaplan run`".into(),
        });
    }
    let run = read_run(&dir.join("run.json"))?;
    let clauses = read_summary(&dir.join("summary.csv"))?;
    let latency_like: Vec<usize> = clauses
        .iter()
        .filter(|c| c.is_latency_like())
        .map(|c| c.index)
        .collect();
    Ok(Inputs {
        run,
        windows: optional(&dir.join("windows.csv"), |p| read_windows(p, &latency_like))?,
        latency: optional(&dir.join("latency.csv"), read_latency)?,
        budget: optional(&dir.join("budget.csv"), read_budget)?,
        timeline: optional(&dir.join("timeline.csv"), read_timeline)?,
        drivers: optional(&dir.join("drivers.csv"), read_drivers)?,
        fidelity: optional(&dir.join("fidelity.csv"), read_fidelity)?,
        paired: optional(&dir.join("paired.csv"), read_paired)?,
        credits: optional(&dir.join("credits.csv"), read_credits)?,
        clauses,
    })
}

fn optional<T>(path: &Path, read: impl FnOnce(&Path) -> Result<T, ReportError>) -> Result<Option<T>, ReportError> {
    if path.exists() { read(path).map(Some) } else { Ok(None) }
}

/// An input error on `path`.
fn input(path: &Path, problem: impl Into<String>) -> ReportError {
    ReportError::Input {
        path: path.to_path_buf(),
        problem: problem.into(),
    }
}
