//! `check`: a proposed clause or new tenant vetted against the baseline,
//! on common random numbers: every clause whose verdict, probability or
//! metric changes, printed and written to check.csv.

use std::path::{Path, PathBuf};

use slaplan::plan;
use slaplan::report;
use slaplan::scenario::{self, Scenario};
use slaplan::sla::Clause;

use super::progress::Progress;
use super::stdout::{out, outln};
use super::{Failure, Judged, SimArgs, decide, default_out, guard, streamed, worker_pool};

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
    let simulate = |s: &Scenario| streamed::summaries(&pool, s, replications, args.sim.confidence, &tick);
    let (base_summary, prop_summary, stop) = match &schedule {
        None => (simulate(&baseline)?, simulate(&proposal)?, None),
        Some(schedule) => {
            let (b, p, stop) =
                streamed::check_until_decided(&pool, &baseline, &proposal, schedule, args.sim.confidence, &tick)?;
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
    // What the proposal would be run against, clause by clause, as `run` prints it.
    out!("{}", report::internal_table(&proposal, &clauses, &prop_summary))?;
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
            "baseline_internal_objective",
            "baseline_internal_buffer",
            "proposal_internal_objective",
            "proposal_internal_buffer",
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
                // Exact, as summary.csv writes them.
                b.and_then(|b| b.internal)
                    .map(|i| i.objective.to_string())
                    .unwrap_or_default(),
                b.and_then(|b| b.internal)
                    .map(|i| i.buffer.to_string())
                    .unwrap_or_default(),
                p.internal.map(|i| i.objective.to_string()).unwrap_or_default(),
                p.internal.map(|i| i.buffer.to_string()).unwrap_or_default(),
            ])?;
        }
        report::write_file_atomically(&path, &w.into_inner()?)?;
        Ok(())
    };
    write().map_err(|e| Failure::runtime(format!("cannot write {}: {e}", path.display())))?;
    outln!("wrote {}", path.display())
}
