//! `frontier --capacity`: the smallest concurrency of an endpoint making
//! every judged clause enforceable, by bisection, each probe a simulation
//! of its own; every probe is printed and written to capacity.csv.

use std::path::Path;

use slaplan::plan;
use slaplan::plan::frontier as fr;
use slaplan::plan::sequential::Schedule;
use slaplan::scenario::Scenario;
use slaplan::sla::Clause;

use super::progress::Progress;
use super::stdout::outln;
use super::{Failure, FrontierArgs, Judged, reach, streamed, write_csv};

/// Bisects the concurrency of `endpoint` in `scenario` for the smallest
/// making every clause of tenant `tenant_index` (or every clause)
/// enforceable.
pub(crate) fn search(
    args: &FrontierArgs,
    endpoint: &str,
    scenario: &Scenario,
    tenant_index: Option<usize>,
    schedule: Option<&Schedule>,
    pool: &rayon::ThreadPool,
    out: &Path,
) -> Result<(), Failure> {
    let Some(ei) = scenario.endpoints.iter().position(|e| e.name == endpoint) else {
        let names: Vec<&str> = scenario.endpoints.iter().map(|e| e.name.as_str()).collect();
        return Err(Failure::input(format!(
            "no endpoint {endpoint:?}: expected one of {}",
            names.join(", ")
        )));
    };
    let clauses = Clause::all(scenario);
    let judged: Vec<usize> = (0..clauses.len())
        .filter(|&c| tenant_index.is_none_or(|t| clauses[c].tenant == t))
        .collect();
    if judged.is_empty() {
        return Err(Failure::input("no clause to make enforceable"));
    }
    let reach = Judged {
        scenario,
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
        let probed = match schedule {
            None => {
                let progress = Progress::start("replications", replications, args.sim.quiet);
                let tick = |stats: &slaplan::model::RunStats| progress.done(stats.calls);
                let summary = streamed::summaries(pool, &s, replications, args.sim.confidence, &tick);
                progress.finish();
                summary.map(|summary| (summary, replications))
            }
            Some(schedule) => {
                let progress = Progress::start("replications", schedule.max, args.sim.quiet);
                let tick = |stats: &slaplan::model::RunStats| progress.done(stats.calls);
                let probed = streamed::probe_until_decided(pool, &s, &judged, schedule, args.sim.confidence, &tick);
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
    outln!("wrote {}", out.join("capacity.csv").display())
}
