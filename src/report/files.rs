//! `summary.csv`, `windows.csv` (and the same table as `windows.parquet`)
//! and `run.json`, written atomically.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::columns::{Table, TableError};
use super::measures::budget_consumed;
use crate::plan::credits::CreditSummary;
use crate::plan::sequential::UntilDecided;
use crate::plan::{ClauseSummary, IntervalKind};
use crate::scenario::Scenario;
use crate::sla::{Attainment, Clause, Window, calendar_months};

/// Writing the output directory failed.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// A file or directory could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// What was being written.
        path: PathBuf,
        /// Why it failed.
        source: std::io::Error,
    },
    /// A CSV record could not be written.
    #[error("cannot write {path}: {source}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// Why it failed.
        source: csv::Error,
    },
    /// A table (CSV or Parquet) could not be written.
    #[error(transparent)]
    Table(#[from] TableError),
    /// The results contradict the scenario they are written for.
    #[error("inconsistent results: {0}")]
    Inconsistent(String),
}

/// Wall-clock measurements of a run. They describe the machine, not the
/// scenario, so they are the one part of the outputs that differs between
/// two runs with the same seed.
#[derive(Clone, Debug, Serialize)]
pub struct Timing {
    /// Seconds from start to end of the simulation.
    pub wall_seconds: f64,
    /// Worker threads used.
    pub threads: usize,
    /// Simulated model calls per wall-clock second.
    pub calls_per_second: f64,
}

/// Everything `run.json` records.
#[derive(Clone, Debug, Serialize)]
pub struct RunMeta {
    /// slaplan's version.
    pub slaplan_version: String,
    /// The scenario file as given.
    pub scenario: String,
    /// SHA-256 of the scenario file's bytes.
    pub scenario_sha256: String,
    /// Master seed.
    pub seed: u64,
    /// Replications in this output.
    pub replications: u64,
    /// Required probability for a verdict of enforceable.
    pub required_confidence: f64,
    /// Confidence level of the intervals.
    pub interval_level: f64,
    /// Which interval `summary.csv`'s `ci_low` and `ci_high` are:
    /// `clopper_pearson` (a fixed number of replications) or
    /// `confidence_sequence` (`--until-decided`).
    pub interval_method: IntervalKind,
    /// Start of the simulated period (UTC, ISO 8601).
    pub start: String,
    /// Length of the simulated period in milliseconds.
    pub duration_ms: u64,
    /// The tenants, in scenario order.
    pub tenants: Vec<TenantMeta>,
    /// The endpoints, in scenario order.
    pub endpoints: Vec<EndpointMeta>,
    /// The calendar months of the period (the default windows).
    pub windows: Vec<Window>,
    /// The windows of every period a clause is judged over (`month`,
    /// `week`, `day`, `rolling Nd`), in order of first use.
    pub periods: Vec<PeriodWindows>,
    /// Totals over all replications.
    pub totals: crate::model::RunStats,
    /// With `--until-decided`: the looks, where the run stopped and after
    /// how many replications each clause's verdict settled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until_decided: Option<UntilDecided>,
    /// Wall-clock measurements (not reproducible by nature).
    pub timing: Timing,
}

/// A tenant in `run.json`.
#[derive(Clone, Debug, Serialize)]
pub struct TenantMeta {
    /// Its name.
    pub name: String,
    /// Its SLA class.
    pub class: String,
    /// Its workflows' names.
    pub workflows: Vec<String>,
}

/// An endpoint in `run.json`.
#[derive(Clone, Debug, Serialize)]
pub struct EndpointMeta {
    /// Its name.
    pub name: String,
    /// Its provider.
    pub provider: String,
    /// Its region.
    pub region: String,
}

/// The windows of one period.
#[derive(Clone, Debug, Serialize)]
pub struct PeriodWindows {
    /// `month`, `week`, `day` or `rolling Nd`.
    pub period: String,
    /// Its windows over the simulated period.
    pub windows: Vec<Window>,
}

/// What identifies a run in `run.json`, besides the scenario.
#[derive(Clone, Debug)]
pub struct RunIdentity {
    /// The scenario file as given.
    pub scenario: String,
    /// SHA-256 of its bytes.
    pub scenario_sha256: String,
    /// slaplan's version that ran it.
    pub slaplan_version: String,
    /// Replications.
    pub replications: u64,
    /// Required probability for a verdict of enforceable.
    pub required_confidence: f64,
    /// Confidence level of the intervals.
    pub interval_level: f64,
}

impl RunMeta {
    /// The metadata of a run of `scenario`.
    pub fn new(id: RunIdentity, scenario: &Scenario, totals: crate::model::RunStats, timing: Timing) -> RunMeta {
        let mut periods: Vec<PeriodWindows> = Vec::new();
        for c in Clause::all(scenario) {
            let name = c.period.to_string();
            if !periods.iter().any(|p| p.period == name) {
                let windows = crate::sla::Layout::new(c.period, scenario.start(), scenario.simulation.duration).windows;
                periods.push(PeriodWindows { period: name, windows });
            }
        }
        RunMeta {
            slaplan_version: id.slaplan_version,
            scenario: id.scenario,
            scenario_sha256: id.scenario_sha256,
            seed: scenario.simulation.seed,
            replications: id.replications,
            required_confidence: id.required_confidence,
            interval_level: id.interval_level,
            interval_method: IntervalKind::ClopperPearson,
            start: scenario.start().format("%Y-%m-%dT%H:%M:%S").to_string(),
            duration_ms: scenario.simulation.duration.as_nanos() / 1_000_000,
            tenants: scenario
                .tenants
                .iter()
                .map(|t| TenantMeta {
                    name: t.name.clone(),
                    class: format!("{:?}", t.class).to_lowercase(),
                    workflows: t.workflows.iter().map(|w| w.name.clone()).collect(),
                })
                .collect(),
            endpoints: scenario
                .endpoints
                .iter()
                .map(|e| EndpointMeta {
                    name: e.name.clone(),
                    provider: e.provider.clone(),
                    region: e.region.clone(),
                })
                .collect(),
            windows: calendar_months(scenario.start(), scenario.simulation.duration),
            periods,
            totals,
            until_decided: None,
            timing,
        }
    }

    /// The metadata of an `--until-decided` run: its intervals are the
    /// confidence sequence's.
    pub fn until_decided(self, record: UntilDecided) -> RunMeta {
        RunMeta {
            interval_method: IntervalKind::ConfidenceSequence,
            until_decided: Some(record),
            ..self
        }
    }
}

pub(super) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> OutputError + '_ {
    move |source| OutputError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `run.json` into `dir`.
pub(super) fn write_run_json(dir: &Path, meta: &RunMeta) -> Result<(), OutputError> {
    let path = dir.join("run.json");
    let mut f = fs::File::create(&path).map_err(io_err(&path))?;
    serde_json::to_writer_pretty(&mut f, meta).map_err(|e| OutputError::Io {
        path: path.clone(),
        source: e.into(),
    })?;
    f.write_all(b"\n").map_err(io_err(&path))
}

/// Writes every output file of `replications` into `out`, plus the `extra`
/// files (name, bytes), through the one path `run` and `merge` use
/// ([`super::OutputSink`]), atomically: into a sibling temporary directory
/// first, put in place when complete ([`super::atomic`]). `meta` gives the
/// run's identity and timing; its totals and `summary.csv` come from the
/// replications.
pub fn write_outputs(
    out: &Path,
    meta: &RunMeta,
    scenario: &Scenario,
    clauses: &[Clause],
    replications: &[crate::plan::Replication],
    extra: &[(&str, Vec<u8>)],
) -> Result<(), OutputError> {
    super::atomic::write_dir_atomically(
        out,
        |tmp| {
            let mut sink = super::sink::OutputSink::create(tmp, scenario, clauses)?;
            for r in replications {
                sink.add(r)?;
            }
            let id = RunIdentity {
                scenario: meta.scenario.clone(),
                scenario_sha256: meta.scenario_sha256.clone(),
                slaplan_version: meta.slaplan_version.clone(),
                replications: meta.replications,
                required_confidence: meta.required_confidence,
                interval_level: meta.interval_level,
            };
            sink.finish(id, meta.timing.wall_seconds, meta.timing.threads, extra)
                .map(drop)
        },
        |path, source| OutputError::Io { path, source },
    )
}

pub(super) fn csv_writer(path: &Path) -> Result<csv::Writer<fs::File>, OutputError> {
    csv::Writer::from_path(path).map_err(|source| OutputError::Csv {
        path: path.to_path_buf(),
        source,
    })
}

/// Every clause in the one-line grammar's words ([`Clause::describe`]): the
/// `clause` column of every output file that names a clause.
pub fn clause_texts(scenario: &Scenario, clauses: &[Clause]) -> Vec<String> {
    clauses.iter().map(|c| c.describe(scenario)).collect()
}

fn fmt_opt(x: Option<f64>) -> String {
    x.map(|v| format!("{v:.6}")).unwrap_or_default()
}

pub(super) fn write_summary(
    path: &Path,
    scenario: &Scenario,
    clauses: &[Clause],
    summary: &[ClauseSummary],
    credits: &[CreditSummary],
) -> Result<(), OutputError> {
    let mut w = csv_writer(path)?;
    let csv_err = |source| OutputError::Csv {
        path: path.to_path_buf(),
        source,
    };
    w.write_record([
        "tenant",
        "workflow",
        "clause",
        "metric",
        "unit",
        "threshold",
        "windows",
        "met",
        "probability",
        "ci_low",
        "ci_high",
        "verdict",
        "metric_p05",
        "metric_p50",
        "metric_p95",
        "eligible_calls",
        "succeeded_calls",
        "clause_index",
        "kind",
        "unit_of_count",
        "period",
        "direction",
        "interval",
        "decided_after",
        "credit_schedule",
        "credit_month_usd",
        "credit_month_low",
        "credit_month_high",
        "credit_year_usd",
        "credit_year_low",
        "credit_year_high",
        "credit_p_any_month",
        "credit_year_p95",
        "internal_objective",
        "internal_buffer",
    ])
    .map_err(csv_err)?;
    for s in summary {
        let c = &clauses[s.clause];
        let workflow = c
            .workflow
            .map(|w| scenario.tenants[c.tenant].workflows[w].name.clone())
            .unwrap_or_default();
        let unit = c.value_unit();
        let q = s.metric_quantiles;
        let record = [
            c.tenant_name.clone(),
            workflow,
            c.describe(scenario),
            c.metric_name(),
            unit.to_string(),
            format!("{}", c.threshold_value()),
            s.windows.to_string(),
            s.met.to_string(),
            format!("{:.6}", s.probability),
            format!("{:.6}", s.ci_low),
            format!("{:.6}", s.ci_high),
            s.verdict.label().replace(' ', "_"),
            fmt_opt(q.map(|q| q[0])),
            fmt_opt(q.map(|q| q[1])),
            fmt_opt(q.map(|q| q[2])),
            s.eligible.to_string(),
            s.succeeded.to_string(),
            s.clause.to_string(),
            c.kind_name().to_string(),
            match c.unit {
                crate::sla::Unit::Call => "call".to_string(),
                crate::sla::Unit::Task => "task".to_string(),
            },
            c.period.to_string(),
            c.direction().symbol().to_string(),
            s.interval.label().to_string(),
            s.decided_after.map(|n| n.to_string()).unwrap_or_default(),
        ];
        let credit = credits.iter().find(|k| k.clause == Some(s.clause));
        let mut record = record.to_vec();
        record.push(c.describe_credits().unwrap_or_default());
        record.extend(super::credits::credit_cells(credit));
        // Exact (shortest round-trip form): a rounded objective could move
        // past the window value it is.
        record.push(s.internal.map(|i| i.objective.to_string()).unwrap_or_default());
        record.push(s.internal.map(|i| i.buffer.to_string()).unwrap_or_default());
        w.write_record(&record).map_err(csv_err)?;
    }
    w.flush().map_err(io_err(path))?;
    Ok(())
}

/// One row of `windows.csv` / `windows.parquet`: one clause judged in one
/// window of one replication.
pub(super) struct WindowRow<'a> {
    replication: u64,
    clause: &'a Clause,
    /// The clause in the one-line grammar's words.
    text: &'a str,
    window: &'a Window,
    attainment: &'a Attainment,
}

/// The rows of `judgements` (replication index, judgement), in their
/// order; `texts` are the clauses in the grammar's words. A judgement
/// naming a clause or window that does not exist (a tampered shard) is an
/// error, not a panic.
pub(super) fn window_rows<'a>(
    clauses: &'a [Clause],
    texts: &'a [String],
    windows: &'a [Vec<Window>],
    judgements: &'a [(u64, Attainment)],
) -> Result<Vec<WindowRow<'a>>, OutputError> {
    let mut rows = Vec::with_capacity(judgements.len());
    for (replication, a) in judgements {
        let (Some(clause), Some(text), Some(window)) = (
            clauses.get(a.clause),
            texts.get(a.clause),
            windows.get(a.clause).and_then(|w| w.get(a.window)),
        ) else {
            return Err(OutputError::Inconsistent(format!(
                "replication {replication} judges clause {} in window {}, but there are {} clause(s) and the clause has {} window(s)",
                a.clause,
                a.window,
                clauses.len(),
                windows.get(a.clause).map_or(0, Vec::len)
            )));
        };
        rows.push(WindowRow {
            replication: *replication,
            clause,
            text,
            window,
            attainment: a,
        });
    }
    Ok(rows)
}

/// The columns of `windows.csv` and `windows.parquet`: the one place that
/// declares them (name, type and value), so both files always agree.
pub(super) fn windows_table<'r, 'a>(rows: &'r [WindowRow<'a>]) -> Table<'r, WindowRow<'a>> {
    Table::new(rows)
        .count("replication", |r| r.replication)
        .text("tenant", |r| r.clause.tenant_name.clone())
        .count("clause_index", |r| r.attainment.clause as u64)
        .text("metric", |r| r.clause.metric_name())
        .text("window", |r| r.window.label.clone())
        .real("value", |r| r.attainment.value)
        .flag("met", |r| r.attainment.met)
        .count("eligible_calls", |r| r.attainment.eligible)
        .count("succeeded_calls", |r| r.attainment.succeeded)
        .real("budget_consumed", |r| {
            let a = r.attainment;
            r.clause
                .budget_target()
                .and_then(|t| budget_consumed(t, a.eligible, a.eligible - a.succeeded))
        })
        // Appended, as every new column is: scripts read by position too.
        .text("clause", |r| r.text.to_string())
}

/// The audit sample as JSON lines: each router audit event with its time as
/// an offset (`at`, ns) and as a UTC date-time (`time`), and tenant, workflow
/// and endpoint by name.
pub fn audit_jsonl(scenario: &Scenario, events: &[crate::policy::AuditEvent]) -> Vec<u8> {
    let start = scenario.start();
    let mut out = Vec::new();
    for e in events {
        audit_line(scenario, start, e, &mut out);
    }
    out
}

/// Appends one audit event to `out` as a JSON line: the router's own
/// serialization, with names for the tenant, workflow and endpoint ids and
/// `time`, the UTC instant `at` after `start`. The simulator's `audit.jsonl`
/// and the gateway's audit log are written by this one function.
pub fn audit_line(scenario: &Scenario, start: chrono::NaiveDateTime, e: &crate::policy::AuditEvent, out: &mut Vec<u8>) {
    let Ok(mut v) = serde_json::to_value(e) else { return };
    if let Some(obj) = v.as_object_mut() {
        let time = start + chrono::Duration::nanoseconds(e.at.as_nanos() as i64);
        obj.insert(
            "time".into(),
            serde_json::Value::String(time.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()),
        );
        if let Some(t) = e.tenant.and_then(|t| scenario.tenants.get(t.0 as usize)) {
            obj.insert("tenant".into(), t.name.clone().into());
            if let Some(w) = e.workflow.and_then(|w| t.workflows.get(w.0 as usize)) {
                obj.insert("workflow".into(), w.name.clone().into());
            }
        }
        if let Some(ep) = e.endpoint.and_then(|x| scenario.endpoints.get(x.0 as usize)) {
            obj.insert("endpoint".into(), ep.name.clone().into());
        }
    }
    if serde_json::to_writer(&mut *out, &v).is_ok() {
        out.push(b'\n');
    }
}
