//! `judge`: a scenario's clauses judged on real request logs, written as
//! one replication's outputs (plus `coverage.csv` and `judge.json`).

use std::path::PathBuf;

use slaplan::judge::{self, JudgeError, coverage_csv};
use slaplan::plan::credits::CreditTally;
use slaplan::plan::quantile::ValueStore;
use slaplan::plan::{self, summarize_clauses};
use slaplan::report::{self, RunIdentity, RunMeta, Timing};
use slaplan::scenario::{self, Scenario};

use super::Failure;
use super::stdout::{note, out, outln};

#[derive(clap::Args)]
pub(crate) struct JudgeArgs {
    /// The scenario file (TOML): its tenants, workflows, endpoints, period
    /// (`simulation.start`, `simulation.duration`) and clauses.
    scenario: PathBuf,
    /// Log files, in any mix: the gateway's request log (`serve
    /// --request-log`, `run --request-log`), LiteLLM spend logs or OTLP
    /// JSON lines.
    #[arg(long = "log", value_name = "FILE", required = true, num_args = 1..)]
    logs: Vec<PathBuf>,
    /// The router's audit logs (`serve --audit-log`, `run --audit-log`):
    /// the degradations and notices the notification clause judges
    /// (without one, notification clauses are not judged).
    #[arg(long = "audit-log", value_name = "FILE", num_args = 1..)]
    audit_logs: Vec<PathBuf>,
    /// Probability a clause must hold with to be called enforceable, in
    /// (0, 1), as `run` takes it (one judged period is one replication, so
    /// only a clause held in every window can reach it).
    #[arg(long, default_value_t = 0.95, value_parser = super::parse_probability)]
    confidence: f64,
    /// Output directory (summary.csv, windows.csv, ..., coverage.csv, judge.json).
    #[arg(long)]
    out: PathBuf,
    /// Also write the review report into the output directory.
    #[arg(long)]
    report: bool,
}

/// What `judge.json` records beyond `run.json`.
#[derive(serde::Serialize)]
struct JudgeNotes<'a> {
    logs: Vec<String>,
    audit_logs: Vec<String>,
    rows: &'a judge::RowCounts,
    skipped: &'a [judge::Skipped],
    windows_not_fully_covered: usize,
}

pub(crate) fn judge(args: JudgeArgs) -> Result<(), Failure> {
    let scenario: Scenario = scenario::load(&args.scenario).map_err(Failure::input)?;
    let bytes =
        std::fs::read(&args.scenario).map_err(|e| Failure::input(format!("{}: {e}", args.scenario.display())))?;
    #[allow(clippy::disallowed_methods)] // the CLI's timer: timing the judgement for run.json
    let started = std::time::Instant::now();
    let judged = judge::judge(&scenario, &args.logs, &args.audit_logs).map_err(|e| match e {
        JudgeError::Log(_)
        | JudgeError::Start(_)
        | JudgeError::NoLog
        | JudgeError::FallbackUnrecorded { .. }
        | JudgeError::QualityUnknown { .. } => Failure::input(e),
    })?;
    let wall = started.elapsed().as_secs_f64();
    let reps = [judged.replication.clone()];
    let summary = summarize_clauses(&reps, &judged.clauses, args.confidence, plan::INTERVAL_LEVEL, None);
    let meta = RunMeta::new(
        RunIdentity {
            scenario: args.scenario.display().to_string(),
            scenario_sha256: super::sha256_hex(&bytes),
            slaplan_version: env!("CARGO_PKG_VERSION").to_string(),
            replications: 1,
            required_confidence: args.confidence,
            interval_level: plan::INTERVAL_LEVEL,
        },
        &scenario,
        judged.replication.stats,
        Timing {
            wall_seconds: wall,
            threads: 1,
            calls_per_second: if wall > 0.0 {
                judged.replication.stats.calls as f64 / wall
            } else {
                0.0
            },
        },
    );
    let coverage = coverage_csv(&scenario, &judged.coverage).map_err(Failure::runtime)?;
    let notes = JudgeNotes {
        logs: args.logs.iter().map(|p| p.display().to_string()).collect(),
        audit_logs: args.audit_logs.iter().map(|p| p.display().to_string()).collect(),
        rows: &judged.rows,
        skipped: &judged.skipped,
        windows_not_fully_covered: judged.coverage.partial(),
    };
    let mut notes_json = serde_json::to_vec_pretty(&notes).map_err(Failure::runtime)?;
    notes_json.push(b'\n');
    let extra = [("coverage.csv", coverage), ("judge.json", notes_json)];
    report::write_outputs(&args.out, &meta, &scenario, &judged.clauses, &reps, &extra).map_err(Failure::runtime)?;
    if args.report {
        super::write_review(&args.out)?;
    }
    for s in &judged.skipped {
        note!("{}: {}: not judged: {}", s.tenant, s.clause, s.reason);
    }
    let partial = judged.coverage.partial();
    if partial > 0 {
        note!("{partial} clause window(s) not fully covered by the logs: see coverage.csv");
    }
    out!("{}", report::attainment_table(&scenario, &judged.clauses, &summary))?;
    // The credits the logged months owe, one line per tenant, as `run` prints them.
    let mut credits = CreditTally::new(&judged.clauses, ValueStore::in_memory());
    credits
        .add(&judged.clauses, &judged.replication)
        .map_err(Failure::runtime)?;
    let credits = credits.finish(plan::INTERVAL_LEVEL).map_err(Failure::runtime)?;
    out!("{}", report::credits_table(&scenario, &credits))?;
    // As `run` prints them, over the log's windows (README: `judge`).
    out!("{}", report::internal_table(&scenario, &judged.clauses, &summary))?;
    let r = &judged.rows;
    outln!(
        "\njudged {} call(s) of {} row(s) ({} further attempts of a call merged into it, {} of other tenants or \
         workflows, {} outside the period, {} client outcomes, {} not calls)",
        r.judged,
        r.read,
        r.attempts_merged,
        r.unmatched,
        r.outside_period,
        r.client_outcome,
        r.not_calls
    )?;
    outln!("wrote {}", args.out.display())
}
