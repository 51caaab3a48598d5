//! `check` and `frontier`: vetting a proposed clause or tenant against the
//! baseline, and searching for the tightest enforceable clause or the
//! smallest capacity. Part of the binary: it prints and chooses exit codes
//! through [`Failure`].

use std::path::{Path, PathBuf};

use slaplan::plan::{self, summarize};
use slaplan::scenario::{self, Scenario};
use slaplan::sla::Clause;

use slaplan::report;

use super::{Failure, SimArgs, default_out, worker_pool};

pub(crate) mod decide;
pub(crate) mod guard;
pub(crate) mod interrupt;
mod reach;
pub(crate) use reach::Judged;
pub(crate) mod progress;
pub(crate) mod stdout;
use progress::Progress;
use stdout::{out, outln};
mod fit;
pub(crate) use fit::{FitArgs, fit};
mod fidelity;
pub(crate) use fidelity::{FidelityArgs, LoadArgs, fidelity, load};
mod fidelity_pool;
pub(crate) use fidelity_pool::{FidelityPoolArgs, fidelity_pool};
mod judge;
pub(crate) use judge::{JudgeArgs, judge};
mod export;
pub(crate) use export::{ExportSloArgs, export_slo};
mod serve;
pub(crate) use serve::{EmulateArgs, ServeArgs, emulate, serve};

#[derive(clap::Args)]
pub(crate) struct FrontierArgs {
    /// The scenario file (TOML).
    scenario: PathBuf,
    /// The tenant whose clause (or, with --capacity, whose clauses) to study.
    #[arg(long)]
    tenant: Option<String>,
    /// The clause: its 0-based position among the tenant's clauses.
    #[arg(long, conflicts_with = "clause")]
    clause_index: Option<usize>,
    /// The clause in one line (its threshold is ignored), e.g. "p95 latency <= 1s".
    #[arg(long)]
    clause: Option<String>,
    /// Bisect this endpoint's concurrency for the smallest value making every clause enforceable.
    #[arg(long, conflicts_with_all = ["clause", "clause_index"])]
    capacity: Option<String>,
    /// Largest concurrency the bisection may try.
    #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..))]
    max_capacity: u32,
    /// Output directory for frontier.csv / capacity.csv (default: out/<scenario name>-frontier).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Judge the thresholds over the windows of an existing run of this
    /// scenario (an output directory of `run` or `merge`, e.g. shards run on
    /// a cluster) instead of simulating; needs --clause-index.
    #[arg(long, value_name = "RUN_DIR", conflicts_with_all = ["clause", "capacity", "replications", "until_decided"])]
    from: Option<PathBuf>,
    #[command(flatten)]
    sim: SimArgs,
}

#[derive(clap::Args)]
pub(crate) struct CheckArgs {
    /// The scenario file (TOML): the baseline.
    scenario: PathBuf,
    /// The tenant the proposed clause is for (an existing one, or the new tenant's name).
    #[arg(long)]
    tenant: Option<String>,
    /// The proposed clause in one line, e.g. "p95 latency <= 800ms" (see README).
    #[arg(long)]
    clause: Option<String>,
    /// A TOML file with one [[tenants]] table (and its workflows and clauses) to add.
    #[arg(long)]
    new_tenant: Option<PathBuf>,
    /// Output directory for check.csv (default: out/<scenario name>-check).
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    sim: SimArgs,
}

/// The scenario at `path` with the one `[[tenants]]` table of `tenant_file`
/// appended, validated as a whole; problems are reported against the tenant file.
fn with_new_tenant(path: &Path, tenant_file: &Path) -> Result<Scenario, Failure> {
    let base = std::fs::read_to_string(path).map_err(|e| Failure::input(format!("{}: {e}", path.display())))?;
    let extra = std::fs::read_to_string(tenant_file)
        .map_err(|e| Failure::input(format!("{}: cannot read: {e}", tenant_file.display())))?;
    let table: toml::Table =
        toml::from_str(&extra).map_err(|e| Failure::input(format!("{}: {e}", tenant_file.display())))?;
    let one_tenant = table.len() == 1
        && table
            .get("tenants")
            .and_then(|t| t.as_array())
            .is_some_and(|a| a.len() == 1);
    if !one_tenant {
        return Err(Failure::input(format!(
            "{}: expected exactly one [[tenants]] table (with its [[tenants.workflows]] and [[tenants.clauses]]) and nothing else",
            tenant_file.display()
        )));
    }
    // The tenant file's line 1 is the combined text's line `offset + 1`.
    let base = base.trim_end_matches(['\n', '\r']);
    let offset = base.lines().count();
    let combined = format!("{base}\n{extra}");
    scenario::parse(&combined, tenant_file).map_err(|mut e| {
        for p in &mut e.problems {
            p.line = p.line.and_then(|l| l.checked_sub(offset));
        }
        Failure::input(format!("the new tenant does not fit the scenario: {e}"))
    })
}

pub(crate) fn check(args: CheckArgs) -> Result<(), Failure> {
    use slaplan::plan::check::{self as chk, Comparison};
    let mut baseline: Scenario = scenario::load(&args.scenario).map_err(Failure::input)?;
    let mut proposal = match &args.new_tenant {
        Some(file) => with_new_tenant(&args.scenario, file)?,
        None => baseline.clone(),
    };
    match (&args.clause, &args.tenant, &args.new_tenant) {
        (None, _, None) => {
            return Err(Failure::input(
                "nothing to check: give --tenant T --clause \"...\", or --new-tenant FILE.toml",
            ));
        }
        (Some(_), None, None) => return Err(Failure::input("--clause needs --tenant: the tenant the clause is for")),
        (Some(text), tenant, _) => {
            let clause =
                plan::grammar::parse_clause(text).map_err(|e| Failure::input(format!("--clause {text:?}: {e}")))?;
            let tenant = match tenant {
                Some(t) => t.clone(),
                None => proposal.tenants.last().map(|t| t.name.clone()).unwrap_or_default(),
            };
            chk::add_clause(&mut proposal, &tenant, clause).map_err(Failure::input)?;
        }
        (None, _, Some(_)) => {}
    }
    if let Some(seed) = args.sim.seed {
        baseline.simulation.seed = seed;
        proposal.simulation.seed = seed;
    }
    // Every clause of the proposal is judged (the baseline's are among them).
    let proposal_clauses = Clause::all(&proposal);
    let judged = Judged::all(&proposal, &proposal_clauses, args.sim.confidence);
    // Under --until-decided the first look comes after --replications (the
    // scenario's by default) and the cap bounds what can be proven.
    let replications = if args.sim.until_decided {
        u64::from(args.sim.replications.unwrap_or(proposal.simulation.replications))
    } else {
        judged.search_replications(args.sim.replications)
    };
    let schedule = args.sim.schedule(replications)?;
    judged.warn_if_unreachable(schedule.map_or(replications, |s| s.max));
    let (pool, threads) = worker_pool(args.sim.threads)?;
    guard::apply(&mut baseline, args.sim.max_live_calls, threads);
    guard::apply(&mut proposal, args.sim.max_live_calls, threads);
    let progress = Progress::start(
        "replications (baseline, then proposal)",
        2 * schedule.map_or(replications, |s| s.max),
        args.sim.quiet,
    );
    let tick = |stats: &slaplan::model::RunStats| progress.done(stats.calls);
    let simulate = |s: &Scenario| {
        pool.install(|| plan::run_replications_observed(s, 0..replications, &tick))
            .map_err(Failure::input)
            .map(|reps| summarize(&reps, Clause::all(s).len(), args.sim.confidence, plan::INTERVAL_LEVEL))
    };
    let (base_summary, prop_summary, stop) = match &schedule {
        None => (simulate(&baseline)?, simulate(&proposal)?, None),
        Some(schedule) => {
            let (b, p, stop) = decide::check(&pool, &baseline, &proposal, schedule, args.sim.confidence, &tick)?;
            (b, p, Some(stop))
        }
    };
    progress.finish();
    let replications = stop.map_or(replications, |s| s.replications);
    let interval = if stop.is_some() { "95% CS" } else { "95% CI" };
    let rows: Vec<Comparison> = chk::compare(&baseline, &base_summary, &proposal, &prop_summary);
    let clauses = Clause::all(&proposal);
    let p50 = |c: &Clause, s: Option<&slaplan::plan::ClauseSummary>| {
        s.and_then(|s| s.metric_quantiles)
            .map_or_else(|| "-".into(), |q| report::format_value(c, q[1]))
    };
    let cells = |(r, c): (&Comparison, &Clause)| -> Vec<String> {
        vec![
            r.tenant.clone(),
            r.clause.clone(),
            r.baseline.as_ref().map(chk::cell).unwrap_or_else(|| "-".into()),
            chk::cell(&r.proposal),
            format!("{} -> {}", p50(c, r.baseline.as_ref()), p50(c, Some(&r.proposal))),
            r.change(),
        ]
    };
    let shown: Vec<Vec<String>> = rows
        .iter()
        .zip(&clauses)
        .filter(|(r, _)| r.notable())
        .map(cells)
        .collect();
    out!(
        "{}",
        report::grid(
            &[
                "tenant",
                "clause",
                &format!("baseline P(hold) [{interval}] verdict"),
                &format!("proposal P(hold) [{interval}] verdict"),
                "metric p50",
                "change"
            ],
            &shown
        )
    )?;
    let unchanged = rows.iter().filter(|r| !r.notable()).count();
    outln!(
        "\n{unchanged} existing clause(s) unchanged (verdict, P(hold), and metric p50 within {}%); {} \
         replication(s), seed {}, common random numbers",
        chk::METRIC_CHANGE * 100.0,
        replications,
        baseline.simulation.seed
    )?;
    if let (Some(schedule), Some(stop)) = (&schedule, &stop) {
        let both: Vec<_> = base_summary.iter().chain(&prop_summary).cloned().collect();
        outln!(
            "{}",
            decide::stop_line(schedule, stop, &both, "every verdict, baseline and proposal,")
        )?;
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| default_out(&args.scenario, "-check"));
    std::fs::create_dir_all(&out).map_err(|e| Failure::runtime(format!("cannot create {}: {e}", out.display())))?;
    let path = out.join("check.csv");
    let write = || -> Result<(), Box<dyn std::error::Error>> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record([
            "tenant",
            "clause",
            "proposed",
            "baseline_probability",
            "baseline_ci_low",
            "baseline_ci_high",
            "baseline_verdict",
            "proposal_probability",
            "proposal_ci_low",
            "proposal_ci_high",
            "proposal_verdict",
            "change",
            "baseline_metric_p50",
            "proposal_metric_p50",
            "metric_change",
            "interval",
            "baseline_decided_after",
            "proposal_decided_after",
        ])?;
        let f = |x: f64| format!("{x:.6}");
        for r in &rows {
            let b = r.baseline.as_ref();
            let p = &r.proposal;
            w.write_record([
                r.tenant.clone(),
                r.clause.clone(),
                r.proposed.to_string(),
                b.map(|b| f(b.probability)).unwrap_or_default(),
                b.map(|b| f(b.ci_low)).unwrap_or_default(),
                b.map(|b| f(b.ci_high)).unwrap_or_default(),
                b.map(|b| b.verdict.label().replace(' ', "_")).unwrap_or_default(),
                f(p.probability),
                f(p.ci_low),
                f(p.ci_high),
                p.verdict.label().replace(' ', "_"),
                r.change(),
                b.and_then(|b| b.metric_quantiles).map(|q| f(q[1])).unwrap_or_default(),
                p.metric_quantiles.map(|q| f(q[1])).unwrap_or_default(),
                r.metric_move().map(|m| f(m.relative)).unwrap_or_default(),
                p.interval.label().to_string(),
                b.and_then(|b| b.decided_after)
                    .map(|n| n.to_string())
                    .unwrap_or_default(),
                p.decided_after.map(|n| n.to_string()).unwrap_or_default(),
            ])?;
        }
        report::write_file_atomically(&path, &w.into_inner()?)?;
        Ok(())
    };
    write().map_err(|e| Failure::runtime(format!("cannot write {}: {e}", path.display())))?;
    outln!("wrote {}", path.display())
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
    if super::sha256_hex(&bytes) != run.scenario_sha256 {
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

fn write_csv(path: &Path, header: &[&str], rows: &[Vec<String>]) -> Result<(), Failure> {
    let write = || -> Result<(), Box<dyn std::error::Error>> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(header)?;
        for r in rows {
            w.write_record(r)?;
        }
        report::write_file_atomically(path, &w.into_inner()?)?;
        Ok(())
    };
    write().map_err(|e| Failure::runtime(format!("cannot write {}: {e}", path.display())))
}

pub(crate) fn frontier(args: FrontierArgs) -> Result<(), Failure> {
    use slaplan::plan::frontier as fr;
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
    let simulate = |s: &Scenario, replications: u64| {
        let progress = Progress::start("replications", replications, args.sim.quiet);
        let tick = |stats: &slaplan::model::RunStats| progress.done(stats.calls);
        let reps = pool
            .install(|| plan::run_replications_observed(s, 0..replications, &tick))
            .map_err(Failure::input);
        progress.finish();
        reps
    };

    if let Some(endpoint) = &args.capacity {
        let Some(ei) = scenario.endpoints.iter().position(|e| &e.name == endpoint) else {
            let names: Vec<&str> = scenario.endpoints.iter().map(|e| e.name.as_str()).collect();
            return Err(Failure::input(format!(
                "no endpoint {endpoint:?}: expected one of {}",
                names.join(", ")
            )));
        };
        let clauses = Clause::all(&scenario);
        let judged: Vec<usize> = (0..clauses.len())
            .filter(|&c| tenant_index.is_none_or(|t| clauses[c].tenant == t))
            .collect();
        if judged.is_empty() {
            return Err(Failure::input("no clause to make enforceable"));
        }
        let reach = Judged {
            scenario: &scenario,
            clauses: &clauses,
            indices: judged.clone(),
            required: args.sim.confidence,
        };
        let replications = reach.search_replications(args.sim.replications);
        reach.require_reachable(schedule.map_or(replications, |s| s.max), "the capacity search")?;
        let mut probes: Vec<Vec<String>> = Vec::new();
        let mut error = None;
        let start = scenario.endpoints[ei].concurrency;
        let answer = fr::bisect_capacity(start, args.max_capacity, |c| {
            if error.is_some() {
                return false;
            }
            let mut s = scenario.clone();
            s.endpoints[ei].concurrency = c;
            let probed = match &schedule {
                None => simulate(&s, replications).map(|reps| {
                    let n = reps.len() as u64;
                    (
                        summarize(&reps, clauses.len(), args.sim.confidence, plan::INTERVAL_LEVEL),
                        n,
                    )
                }),
                Some(schedule) => {
                    let progress = Progress::start("replications", schedule.max, args.sim.quiet);
                    let tick = |stats: &slaplan::model::RunStats| progress.done(stats.calls);
                    let probed = decide::probe(&pool, &s, &judged, schedule, args.sim.confidence, &tick);
                    progress.finish();
                    probed
                }
            };
            let (summary, ran) = match probed {
                Ok(r) => r,
                Err(e) => {
                    error.get_or_insert(e);
                    return false;
                }
            };
            let ok = judged
                .iter()
                .filter(|&&c| summary[c].verdict == plan::Verdict::Enforceable)
                .count();
            let worst = judged
                .iter()
                .map(|&c| &summary[c])
                .min_by(|a, b| a.ci_low.total_cmp(&b.ci_low))
                .map(|w| format!("{} {}", clauses[w.clause].tenant_name, clauses[w.clause].describe(&s)))
                .unwrap_or_default();
            let pass = ok == judged.len();
            if let Err(e) = outln!(
                "probe concurrency {c}: {ok}/{} clause(s) enforceable -> {} ({ran} replication(s))",
                judged.len(),
                if pass { "passes" } else { "fails" }
            ) {
                error.get_or_insert(e);
                return false;
            }
            let [metric, statistics] = reach::shortfalls(&s, &clauses, &judged, &summary);
            for (why, list) in [("the metric", &metric), ("the statistics", &statistics)] {
                for clause in list {
                    if let Err(e) = outln!("  short on {why}: {clause}") {
                        error.get_or_insert(e);
                        return false;
                    }
                }
            }
            probes.push(vec![
                c.to_string(),
                pass.to_string(),
                ok.to_string(),
                judged.len().to_string(),
                worst,
                metric.join("; "),
                statistics.join("; "),
                ran.to_string(),
            ]);
            pass
        });
        if let Some(e) = error {
            return Err(e);
        }
        probes.sort_by_key(|p| p[0].parse::<u32>().unwrap_or(0));
        write_csv(
            &out.join("capacity.csv"),
            &[
                "concurrency",
                "all_enforceable",
                "enforceable",
                "clauses",
                "weakest_clause",
                "short_on_metric",
                "short_on_statistics",
                "replications",
            ],
            &probes,
        )?;
        match answer {
            Some(c) => outln!("smallest concurrency of {endpoint} making every clause enforceable: {c}")?,
            None => {
                outln!(
                    "no concurrency of {endpoint} up to {} makes every clause enforceable",
                    args.max_capacity
                )?;
                if let Some(last) = probes.last().filter(|p| !p[5].is_empty()) {
                    outln!(
                        "at concurrency {}, still short on the metric (breached in too many windows: \
                         more replications cannot prove them): {}",
                        last[0],
                        last[5]
                    )?;
                }
            }
        }
        return outln!("wrote {}", out.join("capacity.csv").display());
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
    let (judgements, bounds, stop): (Vec<slaplan::sla::Attainment>, _, _) = match (&args.from, &schedule) {
        (Some(dir), _) => (
            judgements_from(dir, &args.scenario, scenario.simulation.seed, global)?,
            fr::Bounds::from(plan::INTERVAL_LEVEL),
            None,
        ),
        (None, None) => {
            let reach = Judged {
                scenario: &scenario,
                clauses: &clauses,
                indices: vec![global],
                required: args.sim.confidence,
            };
            let replications = reach.search_replications(args.sim.replications);
            reach.warn_if_unreachable(replications);
            let judgements = simulate(&scenario, replications)?
                .into_iter()
                .flat_map(|r| r.attainment)
                .collect();
            (judgements, fr::Bounds::from(plan::INTERVAL_LEVEL), None)
        }
        (None, Some(schedule)) => {
            let progress = Progress::start("replications", schedule.max, args.sim.quiet);
            let tick = |stats: &slaplan::model::RunStats| progress.done(stats.calls);
            let run = decide::frontier(&pool, &scenario, global, schedule, args.sim.confidence, &tick);
            progress.finish();
            let run = run?;
            let judgements = run.reps.into_iter().flat_map(|r| r.attainment).collect();
            (judgements, run.bounds, Some((run.stop, run.own)))
        }
    };
    let f = fr::frontier(&judgements, global, clause.kind, args.sim.confidence, bounds);
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
