//! The replications of `check` and `frontier`, streamed: each one is folded,
//! in index order, into the per-clause tallies the command reports (and,
//! under `--until-decided`, into the confidence sequences that decide when
//! to stop, [`slaplan::plan::sequential`]), then dropped. Memory holds a
//! chunk of replications at a time whatever the number run: the windows'
//! metric values the summaries' quantiles need go to a temporary file, as
//! `run` spills them into its output directory.

use std::convert::Infallible;

use slaplan::model::RunStats;
use slaplan::plan::frontier::{Bounds, ClauseWindows};
use slaplan::plan::quantile::ValueStore;
use slaplan::plan::sequential::{self, BetaMixture, Schedule, Sequential, Stop};
use slaplan::plan::{self, ClauseSummary, Replication, StreamError, Summarizer};
use slaplan::scenario::Scenario;
use slaplan::sla::{Clause, ClauseKind};

use super::Failure;

/// Shown each finished replication's counters (progress).
type Tick<'a> = &'a (dyn Fn(&RunStats) + Sync);

/// One scenario's clause summaries, built as its replications stream by,
/// with its clauses' kinds (for their internal objectives).
struct Summaries {
    summarizer: Summarizer,
    kinds: Vec<(ClauseKind, f64)>,
}

impl Summaries {
    /// No replication yet of `scenario`; its metric values go to a
    /// temporary file (deleted when dropped).
    fn new(scenario: &Scenario) -> Result<Summaries, Failure> {
        let dir = std::env::temp_dir();
        let values = ValueStore::spill_in(&dir)
            .map_err(|e| Failure::runtime(format!("cannot create a temporary file in {}: {e}", dir.display())))?;
        let clauses = Clause::all(scenario);
        Ok(Summaries {
            summarizer: Summarizer::new(clauses.len(), values),
            kinds: plan::clause_kinds(&clauses),
        })
    }

    fn add(&mut self, r: &Replication) -> std::io::Result<()> {
        self.summarizer.add(r)
    }

    /// The summaries at the `required` confidence with their internal
    /// objectives (what [`plan::summarize_clauses`] gives for replications
    /// held in memory): on Clopper-Pearson intervals for a fixed run, on
    /// the confidence sequence of `--until-decided` when `sequence` is
    /// given.
    fn finish(self, required: f64, sequence: Option<BetaMixture>) -> Result<Vec<ClauseSummary>, Failure> {
        self.summarizer
            .finish(required, plan::INTERVAL_LEVEL, &self.kinds, sequence)
            .map_err(spill_failure)
    }
}

fn spill_failure(e: std::io::Error) -> Failure {
    Failure::runtime(format!("cannot use the temporary file of the metric values: {e}"))
}

/// A refused router config is bad input (exit 2); the temporary file
/// failing is not (exit 1).
fn stream_failure(e: StreamError<std::io::Error>) -> Failure {
    match e {
        StreamError::Build(e) => Failure::input(e),
        StreamError::Sink(e) => spill_failure(e),
    }
}

/// Replications `0..replications` of `scenario`: its clauses' summaries.
pub(crate) fn summaries(
    pool: &rayon::ThreadPool,
    scenario: &Scenario,
    replications: u64,
    required: f64,
    tick: Tick,
) -> Result<Vec<ClauseSummary>, Failure> {
    let mut summaries = Summaries::new(scenario)?;
    plan::stream_indices(pool, scenario, 0..replications, tick, |r| summaries.add(&r)).map_err(stream_failure)?;
    summaries.finish(required, None)
}

/// Replications `0..replications` of `scenario`: the windows of clause
/// `clause`, as its threshold frontier counts them.
pub(crate) fn clause_windows(
    pool: &rayon::ThreadPool,
    scenario: &Scenario,
    clause: usize,
    replications: u64,
    tick: Tick,
) -> Result<ClauseWindows, Failure> {
    let mut windows = ClauseWindows::new(clause);
    plan::stream_indices(pool, scenario, 0..replications, tick, |r| {
        windows.add(&r.attainment);
        Ok::<_, Infallible>(())
    })
    .map_err(|e| match e {
        StreamError::Build(e) => Failure::input(e),
        StreamError::Sink(never) => match never {},
    })?;
    Ok(windows)
}

/// Baseline and proposal on common random numbers, look by look, until
/// every clause of both is decided: their summaries on the confidence
/// sequence, and where the run stopped.
pub(crate) fn check_until_decided(
    pool: &rayon::ThreadPool,
    baseline: &Scenario,
    proposal: &Scenario,
    schedule: &Schedule,
    required: f64,
    tick: Tick,
) -> Result<(Vec<ClauseSummary>, Vec<ClauseSummary>, Stop), Failure> {
    let scenarios = [baseline, proposal];
    let mut seqs: Vec<Sequential> = scenarios
        .iter()
        .map(|s| Sequential::new(Clause::all(s).len(), required, plan::INTERVAL_LEVEL))
        .collect();
    let mut summaries = [Summaries::new(baseline)?, Summaries::new(proposal)?];
    let stop = sequential::stream_until_decided(
        pool,
        &scenarios,
        schedule,
        &mut seqs,
        &|all| all.iter().all(|s| s.all_decided(&s.every_clause())),
        tick,
        |i, r| summaries[i].add(r),
    )
    .map_err(stream_failure)?;
    let [base, prop] = summaries;
    let mixture = Some(BetaMixture::new(plan::INTERVAL_LEVEL, required));
    let (mut base, mut prop) = (base.finish(required, mixture)?, prop.finish(required, mixture)?);
    seqs[0].apply(&mut base);
    seqs[1].apply(&mut prop);
    Ok((base, prop, stop))
}

/// What a threshold frontier ran under `--until-decided`.
pub(crate) struct FrontierRun {
    /// The clause's windows over every replication run.
    pub windows: ClauseWindows,
    /// The interval the frontier's points must use.
    pub bounds: Bounds,
    /// Where the run stopped.
    pub stop: Stop,
    /// The clause at its own threshold, on the confidence sequence.
    pub own: ClauseSummary,
}

/// The replications of a threshold frontier: look by look until the
/// clause's verdict at its own threshold is decided.
pub(crate) fn frontier_until_decided(
    pool: &rayon::ThreadPool,
    scenario: &Scenario,
    clause: usize,
    schedule: &Schedule,
    required: f64,
    tick: Tick,
) -> Result<FrontierRun, Failure> {
    let mut seq = Sequential::new(Clause::all(scenario).len(), required, plan::INTERVAL_LEVEL);
    let mut summaries = Summaries::new(scenario)?;
    let mut windows = ClauseWindows::new(clause);
    // Replication 0's, as every replication judges the same windows.
    let mut windows_per_replication = None;
    let stop = sequential::stream_until_decided(
        pool,
        &[scenario],
        schedule,
        std::slice::from_mut(&mut seq),
        &|s| s[0].all_decided(&[clause]),
        tick,
        |_, r| {
            windows_per_replication
                .get_or_insert_with(|| r.attainment.iter().filter(|a| a.clause == clause).count() as u64);
            windows.add(&r.attainment);
            summaries.add(r)
        },
    )
    .map_err(stream_failure)?;
    let bounds = Bounds::Sequence {
        mixture: BetaMixture::new(plan::INTERVAL_LEVEL, required),
        windows_per_replication: windows_per_replication.unwrap_or(1),
    };
    let mut summary = summaries.finish(required, Some(BetaMixture::new(plan::INTERVAL_LEVEL, required)))?;
    seq.apply(&mut summary);
    let own = summary.swap_remove(clause);
    Ok(FrontierRun {
        windows,
        bounds,
        stop,
        own,
    })
}

/// One capacity probe: look by look until it is settled (a judged clause
/// proven not enforceable, or all proven enforceable). Its summary on the
/// confidence sequence, and the replications it ran.
pub(crate) fn probe_until_decided(
    pool: &rayon::ThreadPool,
    scenario: &Scenario,
    judged: &[usize],
    schedule: &Schedule,
    required: f64,
    tick: Tick,
) -> Result<(Vec<ClauseSummary>, u64), Failure> {
    let mut seq = Sequential::new(Clause::all(scenario).len(), required, plan::INTERVAL_LEVEL);
    let mut summaries = Summaries::new(scenario)?;
    let stop = sequential::stream_until_decided(
        pool,
        &[scenario],
        schedule,
        std::slice::from_mut(&mut seq),
        &|s| sequential::probe_settled(&s[0], judged),
        tick,
        |_, r| summaries.add(r),
    )
    .map_err(stream_failure)?;
    let mut summary = summaries.finish(required, Some(BetaMixture::new(plan::INTERVAL_LEVEL, required)))?;
    seq.apply(&mut summary);
    Ok((summary, stop.replications))
}
