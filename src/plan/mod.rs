//! The planner: Monte Carlo replications of the billing period, the
//! probability that each clause holds with a Clopper-Pearson interval, and
//! verdicts.
//!
//! **Architecture Invariant:** replication `r` depends only on the scenario,
//! the master seed and `r`. Replications run in parallel (rayon) and are
//! collected in index order, so results are identical for any thread count
//! and any shard split.

pub mod array_job;
pub mod check;
pub mod credits;
pub mod frontier;
pub mod grammar;
pub mod internal;
mod interval;
pub mod quantile;
pub mod reach;
pub mod sequential;
pub mod shard;
mod summary;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

pub use interval::{IntervalKind, clopper_pearson};

/// Confidence level of every interval slaplan reports (two-sided
/// Clopper-Pearson). The required probability for a verdict is separate
/// (`--confidence`).
pub const INTERVAL_LEVEL: f64 = 0.95;
pub use summary::{ClauseSummary, Summarizer, Verdict, clause_kinds, summarize, summarize_clauses};

use crate::model::{BuildError, RunStats, TimelineRow, World};
use crate::scenario::Scenario;
use crate::sla::{Attainment, Measures};

/// The outcome of one replication.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Replication {
    /// Its index.
    pub index: u64,
    /// Every clause × window judgement.
    pub attainment: Vec<Attainment>,
    /// Counters.
    pub stats: RunStats,
    /// Pooled latency counts, error-budget use and blame.
    #[serde(default)]
    pub measures: Measures,
    /// The timeline of outages and tier changes: kept for the first
    /// replication of a run (or shard) only.
    #[serde(default)]
    pub timeline: Option<Vec<TimelineRow>>,
}

/// Runs replication `index`; with `timeline`, keeps its timeline.
fn run_one(scenario: &Scenario, index: u64, timeline: bool) -> Result<Replication, BuildError> {
    let mut world = World::new(scenario, index)?;
    if timeline {
        world = world.record_timeline();
    }
    let r = world.run_full();
    if let Some(overload) = r.overload {
        return Err(BuildError::Overload(overload));
    }
    Ok(Replication {
        index,
        attainment: r.attainment,
        stats: r.stats,
        measures: r.measures,
        timeline: r.timeline,
    })
}

/// Runs replications `range` of `scenario`, in parallel, in index order.
/// `on_done` is called once per finished replication (for progress bars).
pub fn run_replications(
    scenario: &Scenario,
    range: std::ops::Range<u64>,
    on_done: &(dyn Fn() + Sync),
) -> Result<Vec<Replication>, BuildError> {
    run_replications_observed(scenario, range, &|_| on_done())
}

/// As [`run_replications`], showing `on_done` each finished replication's
/// counters (progress with calls per second).
pub fn run_replications_observed(
    scenario: &Scenario,
    range: std::ops::Range<u64>,
    on_done: &(dyn Fn(&RunStats) + Sync),
) -> Result<Vec<Replication>, BuildError> {
    let first = range.start;
    range
        .into_par_iter()
        .map(|index| {
            let r = run_one(scenario, index, index == first);
            if let Ok(rep) = &r {
                on_done(&rep.stats);
            }
            r
        })
        .collect()
}

/// Runs the replications listed in `indices`, in parallel, in that order;
/// the first keeps its timeline.
pub fn run_indices(
    scenario: &Scenario,
    indices: &[u64],
    on_done: &(dyn Fn() + Sync),
) -> Result<Vec<Replication>, BuildError> {
    run_indices_observed(scenario, indices, &|_| on_done())
}

/// As [`run_indices`], showing `on_done` each finished replication's counters.
pub fn run_indices_observed(
    scenario: &Scenario,
    indices: &[u64],
    on_done: &(dyn Fn(&RunStats) + Sync),
) -> Result<Vec<Replication>, BuildError> {
    let first = indices.first().copied();
    indices
        .par_iter()
        .map(|&index| {
            let r = run_one(scenario, index, Some(index) == first);
            if let Ok(rep) = &r {
                on_done(&rep.stats);
            }
            r
        })
        .collect()
}

/// Replications handed out by [`stream_indices`] at a time, per worker thread.
const CHUNK_PER_THREAD: usize = 4;

/// Why [`stream_indices`] stopped.
#[derive(Debug)]
pub enum StreamError<E> {
    /// The scenario's router config was refused.
    Build(BuildError),
    /// `each` failed.
    Sink(E),
}

/// Runs the replications listed in `indices` (ascending) in parallel on
/// `pool`, a chunk of a few per worker thread at a time, and hands each to `each` in
/// index order; the first keeps its timeline. Memory holds one chunk,
/// whatever the number of replications. `on_done` sees each finished
/// replication's counters (progress with calls per second).
pub fn stream_indices<E>(
    pool: &rayon::ThreadPool,
    scenario: &Scenario,
    indices: impl IntoIterator<Item = u64>,
    on_done: &(dyn Fn(&RunStats) + Sync),
    mut each: impl FnMut(Replication) -> Result<(), E>,
) -> Result<(), StreamError<E>> {
    let chunk = pool.current_num_threads().max(1) * CHUNK_PER_THREAD;
    let mut indices = indices.into_iter().peekable();
    let first = indices.peek().copied();
    loop {
        let batch: Vec<u64> = indices.by_ref().take(chunk).collect();
        if batch.is_empty() {
            return Ok(());
        }
        let reps: Vec<Replication> = pool
            .install(|| {
                batch
                    .par_iter()
                    .map(|&index| {
                        let r = run_one(scenario, index, Some(index) == first);
                        if let Ok(rep) = &r {
                            on_done(&rep.stats);
                        }
                        r
                    })
                    .collect::<Result<_, _>>()
            })
            .map_err(StreamError::Build)?;
        for r in reps {
            each(r).map_err(StreamError::Sink)?;
        }
    }
}

/// The totals `run.json` records over `replications`: sums of the counters,
/// the largest peak of calls in flight.
pub fn totals(replications: &[Replication]) -> RunStats {
    let mut totals = RunStats::default();
    for r in replications {
        totals.add(&r.stats);
    }
    totals
}
