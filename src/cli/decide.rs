//! `--until-decided` for `check` and `frontier`: the replications run look
//! by look ([`slaplan::plan::sequential`]) until the command's verdicts are
//! settled; `run`'s wall-time budget and its early word on the clauses
//! that keep a run going; and the line that says where a run stopped.

use std::time::Duration;

use slaplan::model::RunStats;
use slaplan::plan::frontier::Bounds;
use slaplan::plan::sequential::{self, BetaMixture, Schedule, Sequential, Stop};
use slaplan::plan::{self, ClauseSummary, Replication, summarize_clauses};
use slaplan::scenario::Scenario;
use slaplan::sla::Clause;
use slaplan::time::Span;

use super::Failure;

/// Baseline and proposal on common random numbers, look by look, until
/// every clause of both is decided: their summaries on the confidence
/// sequence, and where the run stopped.
pub(crate) fn check(
    pool: &rayon::ThreadPool,
    baseline: &Scenario,
    proposal: &Scenario,
    schedule: &Schedule,
    required: f64,
    tick: &(dyn Fn(&RunStats) + Sync),
) -> Result<(Vec<ClauseSummary>, Vec<ClauseSummary>, Stop), Failure> {
    let scenarios = [baseline, proposal];
    let mut seqs: Vec<Sequential> = scenarios
        .iter()
        .map(|s| Sequential::new(Clause::all(s).len(), required, plan::INTERVAL_LEVEL))
        .collect();
    let (reps, stop) = pool
        .install(|| {
            sequential::run_together_until_decided(
                &scenarios,
                schedule,
                &mut seqs,
                &|all| all.iter().all(|s| s.all_decided(&s.every_clause())),
                tick,
            )
        })
        .map_err(Failure::input)?;
    let mixture = Some(BetaMixture::new(plan::INTERVAL_LEVEL, required));
    let mut summaries = reps.iter().zip(&scenarios).zip(&seqs).map(|((reps, s), seq)| {
        let mut summary = summarize_clauses(reps, &Clause::all(s), required, plan::INTERVAL_LEVEL, mixture);
        seq.apply(&mut summary);
        summary
    });
    let base = summaries.next().unwrap_or_default();
    let prop = summaries.next().unwrap_or_default();
    Ok((base, prop, stop))
}

/// What a threshold frontier ran under `--until-decided`.
pub(crate) struct FrontierRun {
    /// The replications, in index order.
    pub reps: Vec<Replication>,
    /// The interval the frontier's points must use.
    pub bounds: Bounds,
    /// Where the run stopped.
    pub stop: Stop,
    /// The clause at its own threshold, on the confidence sequence.
    pub own: ClauseSummary,
}

/// The replications of a threshold frontier: look by look until the
/// clause's verdict at its own threshold is decided.
pub(crate) fn frontier(
    pool: &rayon::ThreadPool,
    scenario: &Scenario,
    clause: usize,
    schedule: &Schedule,
    required: f64,
    tick: &(dyn Fn(&RunStats) + Sync),
) -> Result<FrontierRun, Failure> {
    let clauses = Clause::all(scenario);
    let mut seq = Sequential::new(clauses.len(), required, plan::INTERVAL_LEVEL);
    let (reps, stop) = pool
        .install(|| sequential::run_until_decided(scenario, schedule, &mut seq, &|s| s.all_decided(&[clause]), tick))
        .map_err(Failure::input)?;
    let windows_per_replication = reps
        .first()
        .map_or(1, |r| r.attainment.iter().filter(|a| a.clause == clause).count() as u64);
    let bounds = Bounds::Sequence {
        mixture: BetaMixture::new(plan::INTERVAL_LEVEL, required),
        windows_per_replication,
    };
    let mixture = Some(BetaMixture::new(plan::INTERVAL_LEVEL, required));
    let mut summary = summarize_clauses(&reps, &clauses, required, plan::INTERVAL_LEVEL, mixture);
    seq.apply(&mut summary);
    let own = summary.swap_remove(clause);
    Ok(FrontierRun {
        reps,
        bounds,
        stop,
        own,
    })
}

/// One capacity probe: look by look until it is settled (a judged clause
/// proven not enforceable, or all proven enforceable). Its summary on the
/// confidence sequence, and the replications it ran.
pub(crate) fn probe(
    pool: &rayon::ThreadPool,
    scenario: &Scenario,
    judged: &[usize],
    schedule: &Schedule,
    required: f64,
    tick: &(dyn Fn(&RunStats) + Sync),
) -> Result<(Vec<ClauseSummary>, u64), Failure> {
    let clauses = Clause::all(scenario);
    let mut seq = Sequential::new(clauses.len(), required, plan::INTERVAL_LEVEL);
    let (reps, stop) = pool
        .install(|| {
            sequential::run_until_decided(
                scenario,
                schedule,
                &mut seq,
                &|s| sequential::probe_settled(s, judged),
                tick,
            )
        })
        .map_err(Failure::input)?;
    let mixture = Some(BetaMixture::new(plan::INTERVAL_LEVEL, required));
    let mut summary = summarize_clauses(&reps, &clauses, required, plan::INTERVAL_LEVEL, mixture);
    seq.apply(&mut summary);
    Ok((summary, stop.replications))
}

/// `--max-wall`: a duration such as "2m" or "90s", above zero.
pub(crate) fn parse_budget(text: &str) -> Result<Duration, String> {
    match Span::parse(text) {
        Ok(s) if s > Span::ZERO => Ok(Duration::from_nanos(s.as_nanos())),
        Ok(_) => Err("expected a duration above zero, such as \"2m\" or \"90s\"".into()),
        Err(e) => Err(format!("{e}: expected a duration such as \"2m\" or \"90s\"")),
    }
}

/// The clauses still open once a clause holding in every window would have
/// settled: each with its estimate, its interval and where it would settle
/// if its estimate held (a projection), so that a run that will be long
/// says so early. `seconds_per_replication` is the pace so far; `budget`
/// the `--max-wall` budget in seconds, if any. `None` when nothing is open.
pub(crate) fn open_clauses_note(
    seq: &Sequential,
    scenario: &Scenario,
    clauses: &[Clause],
    schedule: &Schedule,
    seconds_per_replication: f64,
    budget: Option<f64>,
) -> Option<String> {
    let open: Vec<String> = clauses
        .iter()
        .enumerate()
        .filter(|&(i, _)| !seq.clause(i).is_decided())
        .map(|(i, c)| {
            let s = seq.clause(i);
            let (low, high) = s.interval();
            let projection = match s.settles_at_this_rate(schedule.max) {
                None => format!("at that estimate it does not settle within the cap of {}", schedule.max),
                Some(n) => {
                    let seconds = seconds_per_replication * n as f64;
                    let over = budget.filter(|&b| seconds > b).map_or(String::new(), |b| {
                        format!(", beyond the --max-wall budget of {}", minutes(b))
                    });
                    format!(
                        "at that estimate it settles after about {n} replication(s), {} at this pace{over}",
                        minutes(seconds)
                    )
                }
            };
            format!(
                "  {} {}: P(hold) {:.3} [{:.3}, {:.3}]; {projection}",
                c.tenant_name,
                c.describe(scenario),
                s.estimate(),
                low,
                high
            )
        })
        .collect();
    if open.is_empty() {
        return None;
    }
    Some(format!(
        "until decided: after {} replication(s) (enough to prove a clause that held in all of them) \
         {} clause(s) still open:\n{}",
        seq.replications(),
        open.len(),
        open.join("\n")
    ))
}

/// Seconds as "95s" or "4.2 min".
fn minutes(seconds: f64) -> String {
    if seconds < 120.0 {
        format!("{seconds:.0}s")
    } else {
        format!("{:.1} min", seconds / 60.0)
    }
}

/// Where an `--until-decided` run stopped, in one line. `what` names what
/// had to be settled ("every verdict", "the clause's verdict").
pub(crate) fn stop_line(schedule: &Schedule, stop: &Stop, summary: &[ClauseSummary], what: &str) -> String {
    let looks = format!(
        "looks after {} then every {}, cap {}",
        schedule.first, schedule.batch, schedule.max
    );
    let open = summary.iter().filter(|s| s.decided_after.is_none()).count();
    if stop.settled {
        let slowest = summary.iter().filter_map(|s| s.decided_after).max().unwrap_or(0);
        format!(
            "until decided: {what} settled; stopped after {} replication(s), the slowest clause needed {slowest} ({looks})",
            stop.replications
        )
    } else if stop.out_of_time {
        format!(
            "until decided: the --max-wall budget ran out after {} replication(s) with {open} clause(s) undecided, reported at risk ({looks})",
            stop.replications
        )
    } else {
        format!(
            "until decided: the cap of {} replication(s) was reached with {open} clause(s) undecided, reported at risk ({looks})",
            stop.replications
        )
    }
}
