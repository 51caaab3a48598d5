//! `frontier`: the tightest enforceable threshold (or highest target) of a
//! clause, from simulated replications or an existing run's windows; with
//! `--capacity`, the smallest capacity of an endpoint ([`super::capacity`]).

use std::path::{Path, PathBuf};

use slaplan::plan;
use slaplan::plan::frontier::{Bounds, ClauseWindows};
use slaplan::report;
use slaplan::scenario::{self, Scenario};
use slaplan::sla::Clause;

use super::progress::Progress;
use super::stdout::outln;
use super::{
    Failure, Judged, SimArgs, capacity, decide, default_out, guard, sha256_hex, streamed, worker_pool, write_csv,
};

#[derive(clap::Args)]
pub(crate) struct FrontierArgs {
    /// The scenario file (TOML).
    pub(crate) scenario: PathBuf,
    /// The tenant whose clause (or, with --capacity, whose clauses) to study.
    #[arg(long)]
    pub(crate) tenant: Option<String>,
    /// The clause: its 0-based position among the tenant's clauses.
    #[arg(long, conflicts_with = "clause")]
    pub(crate) clause_index: Option<usize>,
    /// The clause in one line (its threshold is ignored), e.g. "p95 latency <= 1s".
    #[arg(long)]
    pub(crate) clause: Option<String>,
    /// Bisect this endpoint's concurrency for the smallest value making every clause enforceable.
    #[arg(long, conflicts_with_all = ["clause", "clause_index"])]
    pub(crate) capacity: Option<String>,
    /// Largest concurrency the bisection may try.
    #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) max_capacity: u32,
    /// Output directory for frontier.csv / capacity.csv (default: out/<scenario name>-frontier).
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
    /// Judge the thresholds over the windows of an existing run of this
    /// scenario (an output directory of `run` or `merge`, e.g. shards run on
    /// a cluster) instead of simulating; needs --clause-index.
    #[arg(long, value_name = "RUN_DIR", conflicts_with_all = ["clause", "capacity", "replications", "until_decided"])]
    pub(crate) from: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) sim: SimArgs,
}

/// The judgements of clause `clause` in the run directory `dir`, which must
/// be a run of the scenario file `scenario` at `seed`.
fn judgements_from(
    dir: &Path,
    scenario: &Path,
    seed: u64,
    clause: usize,
) -> Result<Vec<slaplan::sla::Attainment>, Failure> {
    let run = report::readback::read_run_record(dir).map_err(Failure::input)?;
    let bytes = std::fs::read(scenario).map_err(|e| Failure::input(format!("{}: {e}", scenario.display())))?;
    if sha256_hex(&bytes) != run.scenario_sha256 {
        return Err(Failure::input(format!(
            "{}: a run of another scenario (its run.json's scenario_sha256 differs from {}'s)",
            dir.display(),
            scenario.display()
        )));
    }
    if run.seed != seed {
        return Err(Failure::input(format!(
            "{}: a run at seed {}, not {seed}",
            dir.display(),
            run.seed
        )));
    }
    report::readback::read_judgements(dir, clause).map_err(Failure::input)
}

pub(crate) fn frontier(args: FrontierArgs) -> Result<(), Failure> {
    let mut scenario: Scenario = scenario::load(&args.scenario).map_err(Failure::input)?;
    if let Some(seed) = args.sim.seed {
        scenario.simulation.seed = seed;
    }
    let (pool, threads) = worker_pool(args.sim.threads)?;
    guard::apply(&mut scenario, args.sim.max_live_calls, threads);
    // Under --until-decided: the first look after --replications (the
    // scenario's by default).
    let first_look = u64::from(args.sim.replications.unwrap_or(scenario.simulation.replications));
    let schedule = args.sim.schedule(first_look)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| default_out(&args.scenario, "-frontier"));
    let tenant_index = match &args.tenant {
        Some(name) => Some(scenario.tenants.iter().position(|t| &t.name == name).ok_or_else(|| {
            let names: Vec<&str> = scenario.tenants.iter().map(|t| t.name.as_str()).collect();
            Failure::input(format!("no tenant {name:?}: expected one of {}", names.join(", ")))
        })?),
        None => None,
    };
    if let Some(endpoint) = &args.capacity {
        return capacity::search(&args, endpoint, &scenario, tenant_index, schedule.as_ref(), &pool, &out);
    }

    let Some(ti) = tenant_index else {
        return Err(Failure::input(
            "frontier needs --tenant T with --clause-index K or --clause \"...\" (or --capacity ENDPOINT)",
        ));
    };
    let tenant_name = scenario.tenants[ti].name.clone();
    let k = match (&args.clause, args.clause_index) {
        (Some(text), _) => {
            let clause =
                plan::grammar::parse_clause(text).map_err(|e| Failure::input(format!("--clause {text:?}: {e}")))?;
            plan::check::add_clause(&mut scenario, &tenant_name, clause).map_err(Failure::input)?;
            scenario.tenants[ti].clauses.len() - 1
        }
        (None, Some(k)) => {
            let n = scenario.tenants[ti].clauses.len();
            if k >= n {
                return Err(Failure::input(format!(
                    "--clause-index {k}: tenant {tenant_name:?} has {n} clause(s), numbered from 0"
                )));
            }
            k
        }
        (None, None) => return Err(Failure::input("frontier needs --clause-index K or --clause \"...\"")),
    };
    let clauses = Clause::all(&scenario);
    let global: usize = scenario.tenants[..ti].iter().map(|t| t.clauses.len()).sum::<usize>() + k;
    let clause = &clauses[global];
    let (windows, bounds, stop) = match (&args.from, &schedule) {
        (Some(dir), _) => {
            let mut windows = ClauseWindows::new(global);
            windows.add(&judgements_from(dir, &args.scenario, scenario.simulation.seed, global)?);
            (windows, Bounds::from(plan::INTERVAL_LEVEL), None)
        }
        (None, None) => {
            let reach = Judged {
                scenario: &scenario,
                clauses: &clauses,
                indices: vec![global],
                required: args.sim.confidence,
            };
            let replications = reach.search_replications(args.sim.replications);
            reach.warn_if_unreachable(replications);
            let progress = Progress::start("replications", replications, args.sim.quiet);
            let tick = |stats: &slaplan::model::RunStats| progress.done(stats.calls);
            let windows = streamed::clause_windows(&pool, &scenario, global, replications, &tick);
            progress.finish();
            (windows?, Bounds::from(plan::INTERVAL_LEVEL), None)
        }
        (None, Some(schedule)) => {
            let progress = Progress::start("replications", schedule.max, args.sim.quiet);
            let tick = |stats: &slaplan::model::RunStats| progress.done(stats.calls);
            let run = streamed::frontier_until_decided(&pool, &scenario, global, schedule, args.sim.confidence, &tick);
            progress.finish();
            let run = run?;
            (run.windows, run.bounds, Some((run.stop, run.own)))
        }
    };
    let f = windows.frontier(clause.kind, args.sim.confidence, bounds);
    let interval = if stop.is_some() {
        plan::IntervalKind::ConfidenceSequence
    } else {
        plan::IntervalKind::ClopperPearson
    };
    // Every row names the clause studied as the one-line grammar writes it.
    let text = clause.describe(&scenario);
    let rows: Vec<Vec<String>> = f
        .points
        .iter()
        .map(|p| {
            vec![
                format!("{:.6}", p.threshold),
                p.met.to_string(),
                p.windows.to_string(),
                format!("{:.6}", p.probability),
                format!("{:.6}", p.ci_low),
                format!("{:.6}", p.ci_high),
                p.enforceable.to_string(),
                interval.label().to_string(),
                text.clone(),
            ]
        })
        .collect();
    write_csv(
        &out.join("frontier.csv"),
        &[
            "threshold",
            "met",
            "windows",
            "probability",
            "ci_low",
            "ci_high",
            "enforceable",
            "interval",
            "clause",
        ],
        &rows,
    )?;
    if let (Some(schedule), Some((stop, own))) = (&schedule, &stop) {
        outln!(
            "{}; at its own threshold the clause is {} (P(hold) {:.3} [{:.3}, {:.3}])",
            decide::stop_line(
                schedule,
                stop,
                std::slice::from_ref(own),
                "the clause's verdict at its own threshold"
            ),
            own.verdict.label(),
            own.probability,
            own.ci_low,
            own.ci_high
        )?;
    }
    let what = format!("{tenant_name} {}", clause.describe(&scenario));
    let unit = clause.value_unit();
    let at_least = clause.direction() == slaplan::sla::Direction::AtLeast;
    match f.best {
        Some(p) => {
            let (what_best, value) = match (unit, at_least) {
                ("ms", _) => ("tightest enforceable threshold", format!("{:.3}ms", p.threshold)),
                ("usd", _) => ("tightest enforceable budget", format!("${:.6}", p.threshold)),
                (_, true) => (
                    "highest enforceable target",
                    format!("{}%", slaplan::sla::trim_pct(p.threshold)),
                ),
                (_, false) => (
                    "tightest enforceable share",
                    format!("{}%", slaplan::sla::trim_pct(p.threshold)),
                ),
            };
            outln!(
                "{what}: {what_best} at {} confidence: {value} (P(hold) {:.3} [{:.3}, {:.3}], {}/{} windows)",
                args.sim.confidence,
                p.probability,
                p.ci_low,
                p.ci_high,
                p.met,
                p.windows
            )?;
        }
        None => outln!(
            "{what}: no threshold is enforceable at {} confidence with {} window(s); run more replications",
            args.sim.confidence,
            f.points.first().map_or(0, |p| p.windows)
        )?,
    }
    outln!("wrote {}", out.join("frontier.csv").display())
}
