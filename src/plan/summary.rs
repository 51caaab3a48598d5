//! Per-clause summary across replications and windows: probability that the
//! clause holds in a window, its interval, the verdict, metric quantiles.

use serde::{Deserialize, Serialize};

use super::quantile::ValueStore;
use super::{IntervalKind, Replication, clopper_pearson};

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
}

/// The running counts of one clause.
#[derive(Clone, Copy, Debug, Default)]
struct Tally {
    windows: u64,
    met: u64,
    eligible: u64,
    succeeded: u64,
}

/// The summary built one replication at a time, in memory that does not
/// grow with the replications: counts per clause, and the windows' metric
/// values in a [`ValueStore`] (spilled to disk for streamed runs) for their
/// exact quantiles. The order replications arrive in does not matter.
pub struct Summarizer {
    tallies: Vec<Tally>,
    values: ValueStore,
}

impl Summarizer {
    /// A summary of `n_clauses` clauses keeping the metric values in `values`.
    pub fn new(n_clauses: usize, values: ValueStore) -> Summarizer {
        Summarizer {
            tallies: vec![Tally::default(); n_clauses],
            values,
        }
    }

    /// Counts one replication's judgements (those of unknown clauses are ignored).
    pub fn add(&mut self, rep: &Replication) -> std::io::Result<()> {
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
        }
        Ok(())
    }

    /// The summaries: `required` is the probability a clause must hold with
    /// (e.g. 0.95); `level` the interval's confidence level.
    pub fn finish(self, required: f64, level: f64) -> std::io::Result<Vec<ClauseSummary>> {
        let quantiles = self.values.quantiles(&METRIC_QUANTILES)?;
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
                let metric_quantiles = quantiles.get(ci).and_then(|q| q.as_deref()).map(|q| [q[0], q[1], q[2]]);
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
                }
            })
            .collect())
    }
}

/// The metric quantiles a summary reports: 5th, 50th and 95th percentile.
const METRIC_QUANTILES: [f64; 3] = [0.05, 0.5, 0.95];

/// Summarizes `replications` held in memory for `n_clauses` clauses.
/// `required` is the probability a clause must hold with (e.g. 0.95);
/// `level` the interval's confidence level.
pub fn summarize(replications: &[Replication], n_clauses: usize, required: f64, level: f64) -> Vec<ClauseSummary> {
    let mut s = Summarizer::new(n_clauses, ValueStore::in_memory());
    // An in-memory store never fails to write or read.
    let summary = replications
        .iter()
        .try_for_each(|r| s.add(r))
        .and_then(|()| s.finish(required, level));
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
