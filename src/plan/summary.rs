//! Per-clause summary across replications and windows: probability that the
//! clause holds in a window, its interval, the verdict, metric quantiles.

use serde::{Deserialize, Serialize};

use super::frontier::{Bounds, Direction};
use super::internal::{self, InternalObjective, WindowCounts};
use super::quantile::{ValueStore, nearest_rank};
use super::sequential::BetaMixture;
use super::{IntervalKind, Replication, clopper_pearson};
use crate::sla::{Clause, ClauseKind};

/// Whether a clause can be offered at the required confidence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The interval's lower bound reaches the required confidence.
    Enforceable,
    /// Only the point estimate does.
    AtRisk,
    /// Not even the point estimate does.
    NotEnforceable,
}

impl Verdict {
    /// How it is written in tables.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Enforceable => "enforceable",
            Verdict::AtRisk => "at risk",
            Verdict::NotEnforceable => "not enforceable",
        }
    }
}

/// One clause across every replication and window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClauseSummary {
    /// Index of the clause.
    pub clause: usize,
    /// Windows judged (replications × windows).
    pub windows: u64,
    /// Windows in which the clause held.
    pub met: u64,
    /// `met / windows`.
    pub probability: f64,
    /// Interval of the probability: Clopper-Pearson, or the confidence
    /// sequence of `--until-decided` (see `interval`).
    pub ci_low: f64,
    /// Upper end of the interval.
    pub ci_high: f64,
    /// Verdict at the required confidence.
    pub verdict: Verdict,
    /// 5th, 50th and 95th percentile of the metric across windows (nearest
    /// rank), when any window had a value.
    pub metric_quantiles: Option<[f64; 3]>,
    /// Calls judged by the clause, across all windows.
    pub eligible: u64,
    /// Of those, calls that succeeded.
    pub succeeded: u64,
    /// Which interval `ci_low` and `ci_high` are.
    #[serde(default)]
    pub interval: IntervalKind,
    /// With `--until-decided`: the replications after which the verdict
    /// could no longer change; `None` for a fixed-n run or an undecided clause.
    #[serde(default)]
    pub decided_after: Option<u64>,
    /// The tightest objective on the clause's metric that holds with the
    /// required confidence, and its buffer to the contract
    /// ([`super::internal`]); `None` unless the clause is enforceable and
    /// its kind has one.
    #[serde(default)]
    pub internal: Option<InternalObjective>,
}

/// The running counts of one clause.
#[derive(Clone, Copy, Debug, Default)]
struct Tally {
    windows: u64,
    met: u64,
    eligible: u64,
    succeeded: u64,
    /// The windows as the frontier counts them.
    frontier: WindowCounts,
}

/// The summary built one replication at a time, in memory that does not
/// grow with the replications: counts per clause, and the windows' metric
/// values in a [`ValueStore`] (spilled to disk for streamed runs) for their
/// exact quantiles (under the clause's index), and the values of the
/// windows with eligible events (under the clause's index plus the number
/// of clauses) for the internal objective's order statistic. The order
/// replications arrive in does not matter.
pub struct Summarizer {
    tallies: Vec<Tally>,
    values: ValueStore,
    replications: u64,
}

impl Summarizer {
    /// A summary of `n_clauses` clauses keeping the metric values in `values`.
    pub fn new(n_clauses: usize, values: ValueStore) -> Summarizer {
        Summarizer {
            tallies: vec![Tally::default(); n_clauses],
            values,
            replications: 0,
        }
    }

    /// Counts one replication's judgements (those of unknown clauses are ignored).
    pub fn add(&mut self, rep: &Replication) -> std::io::Result<()> {
        self.replications += 1;
        let n_clauses = self.tallies.len();
        for a in &rep.attainment {
            let Some(t) = self.tallies.get_mut(a.clause) else {
                continue;
            };
            t.windows += 1;
            t.met += u64::from(a.met);
            t.eligible += a.eligible;
            t.succeeded += a.succeeded;
            if let Some(v) = a.value {
                self.values.push(a.clause as u32, v)?;
            }
            // As the frontier classifies a window.
            match a.value {
                _ if a.eligible == 0 => t.frontier.vacuous += 1,
                Some(v) => {
                    t.frontier.valued += 1;
                    self.values.push((n_clauses + a.clause) as u32, v)?;
                }
                None => t.frontier.never += 1,
            }
        }
        Ok(())
    }

    /// The summaries: `required` is the probability a clause must hold with
    /// (e.g. 0.95); `level` the interval's confidence level.
    ///
    /// `kinds` are the clauses' kinds and thresholds (in the value unit),
    /// for their internal objectives, computed with the interval the verdict
    /// uses: Clopper-Pearson at `level`, or `sequence` (`--until-decided`,
    /// whose verdicts [`super::sequential::Sequential::apply`] sets later).
    pub fn finish(
        self,
        required: f64,
        level: f64,
        kinds: &[(ClauseKind, f64)],
        sequence: Option<BetaMixture>,
    ) -> std::io::Result<Vec<ClauseSummary>> {
        let n_clauses = self.tallies.len();
        let replications = self.replications;
        let bounds = |t: &Tally| match sequence {
            Some(mixture) => Bounds::Sequence {
                mixture,
                windows_per_replication: t.windows / replications.max(1),
            },
            None => Bounds::ClopperPearson(level),
        };
        // The internal objective's rank among each clause's valued windows.
        let ranks: Vec<Option<u64>> = self
            .tallies
            .iter()
            .enumerate()
            .map(|(ci, t)| {
                let (kind, _) = kinds.get(ci)?;
                if !internal::has_internal_objective(*kind) {
                    return None;
                }
                internal::objective_rank(t.frontier, Direction::of(*kind), required, &bounds(t))
            })
            .collect();
        let selected = self.values.order_statistics(|key, n| {
            let key = key as usize;
            if key < n_clauses {
                METRIC_QUANTILES.iter().map(|&q| nearest_rank(n, q)).collect()
            } else {
                ranks.get(key - n_clauses).copied().flatten().into_iter().collect()
            }
        })?;
        Ok(self
            .tallies
            .iter()
            .enumerate()
            .map(|(ci, t)| {
                let probability = if t.windows == 0 {
                    0.0
                } else {
                    t.met as f64 / t.windows as f64
                };
                let (ci_low, ci_high) = clopper_pearson(t.met, t.windows, level);
                let verdict = if ci_low >= required {
                    Verdict::Enforceable
                } else if probability >= required {
                    Verdict::AtRisk
                } else {
                    Verdict::NotEnforceable
                };
                let metric_quantiles = selected.get(ci).filter(|q| q.len() == 3).map(|q| [q[0], q[1], q[2]]);
                let internal = match (selected.get(n_clauses + ci).and_then(|v| v.first()), kinds.get(ci)) {
                    // Under `--until-decided` the sequence's verdict, set
                    // later, decides.
                    (Some(&value), Some(&(kind, threshold)))
                        if sequence.is_some() || verdict == Verdict::Enforceable =>
                    {
                        Some(internal::objective_at(value, threshold, Direction::of(kind)))
                    }
                    _ => None,
                };
                ClauseSummary {
                    clause: ci,
                    windows: t.windows,
                    met: t.met,
                    probability,
                    ci_low,
                    ci_high,
                    verdict,
                    metric_quantiles,
                    eligible: t.eligible,
                    succeeded: t.succeeded,
                    interval: IntervalKind::ClopperPearson,
                    decided_after: None,
                    internal,
                }
            })
            .collect())
    }
}

/// The metric quantiles a summary reports: 5th, 50th and 95th percentile.
const METRIC_QUANTILES: [f64; 3] = [0.05, 0.5, 0.95];

/// Each clause's kind and threshold in its value unit: what
/// [`Summarizer::finish`] needs for the internal objectives.
pub fn clause_kinds(clauses: &[Clause]) -> Vec<(ClauseKind, f64)> {
    clauses.iter().map(|c| (c.kind, c.threshold_value())).collect()
}

/// Summarizes `replications` held in memory for `clauses`, with their
/// internal objectives, as a run's `summary.csv` has them: `required` is
/// the probability a clause must hold with, `level` the interval's
/// confidence level, `sequence` the confidence sequence of
/// `--until-decided` (apply its verdicts afterwards with
/// [`super::sequential::Sequential::apply`], which keeps an objective only
/// for a clause it proves).
pub fn summarize_clauses(
    replications: &[Replication],
    clauses: &[Clause],
    required: f64,
    level: f64,
    sequence: Option<BetaMixture>,
) -> Vec<ClauseSummary> {
    let mut s = Summarizer::new(clauses.len(), ValueStore::in_memory());
    // An in-memory store never fails to write or read.
    let summary = replications
        .iter()
        .try_for_each(|r| s.add(r))
        .and_then(|()| s.finish(required, level, &clause_kinds(clauses), sequence));
    match summary {
        Ok(summary) => summary,
        Err(e) => unreachable!("an in-memory value store failed: {e}"),
    }
}

/// Summarizes `replications` held in memory for `n_clauses` clauses
/// without their kinds, so without internal objectives (the commands use
/// [`summarize_clauses`]).
/// `required` is the probability a clause must hold with (e.g. 0.95);
/// `level` the interval's confidence level.
pub fn summarize(replications: &[Replication], n_clauses: usize, required: f64, level: f64) -> Vec<ClauseSummary> {
    let mut s = Summarizer::new(n_clauses, ValueStore::in_memory());
    // An in-memory store never fails to write or read.
    let summary = replications
        .iter()
        .try_for_each(|r| s.add(r))
        .and_then(|()| s.finish(required, level, &[], None));
    match summary {
        Ok(summary) => summary,
        Err(e) => unreachable!("an in-memory value store failed: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RunStats;
    use crate::sla::Attainment;

    fn rep(index: u64, met: &[bool]) -> Replication {
        let attainment = met
            .iter()
            .enumerate()
            .map(|(w, m)| Attainment {
                clause: 0,
                window: w,
                value: Some(index as f64),
                met: *m,
                eligible: 10,
                succeeded: 9,
                mean_latency_ms: None,
            })
            .collect();
        Replication {
            index,
            attainment,
            stats: RunStats::default(),
            measures: Default::default(),
            timeline: None,
        }
    }

    #[test]
    fn verdicts_follow_the_interval() {
        // 100 of 100 windows met: lower bound 0.9638 ≥ 0.95 → enforceable.
        let reps: Vec<_> = (0..100).map(|i| rep(i, &[true])).collect();
        let s = summarize(&reps, 1, 0.95, 0.95);
        assert_eq!(s[0].verdict, Verdict::Enforceable);
        assert_eq!((s[0].met, s[0].windows), (100, 100));
        // 19 of 20: point estimate 0.95 but lower bound 0.75 → at risk.
        let reps: Vec<_> = (0..20).map(|i| rep(i, &[i != 3])).collect();
        assert_eq!(summarize(&reps, 1, 0.95, 0.95)[0].verdict, Verdict::AtRisk);
        // 18 of 20 → not enforceable.
        let reps: Vec<_> = (0..20).map(|i| rep(i, &[i > 1])).collect();
        let s = summarize(&reps, 1, 0.95, 0.95);
        assert_eq!(s[0].verdict, Verdict::NotEnforceable);
        // Metric quantiles are nearest-rank over the 20 values 0..=19.
        assert_eq!(s[0].metric_quantiles, Some([0.0, 9.0, 18.0]));
    }
}
