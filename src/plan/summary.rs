//! Per-clause summary across replications and windows: probability that the
//! clause holds in a window, its interval, the verdict, metric quantiles.

use serde::{Deserialize, Serialize};

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

/// Summarizes `replications` for `n_clauses` clauses. `required` is the
/// probability a clause must hold with (e.g. 0.95); `level` the interval's
/// confidence level.
pub fn summarize(replications: &[Replication], n_clauses: usize, required: f64, level: f64) -> Vec<ClauseSummary> {
    let mut values: Vec<Vec<f64>> = vec![Vec::new(); n_clauses];
    let mut counts = vec![(0u64, 0u64, 0u64, 0u64); n_clauses];
    for rep in replications {
        for a in &rep.attainment {
            let Some(c) = counts.get_mut(a.clause) else {
                continue;
            };
            c.0 += 1;
            c.1 += u64::from(a.met);
            c.2 += a.eligible;
            c.3 += a.succeeded;
            if let Some(v) = a.value {
                values[a.clause].push(v);
            }
        }
    }
    (0..n_clauses)
        .map(|ci| {
            let (windows, met, eligible, succeeded) = counts[ci];
            let probability = if windows == 0 { 0.0 } else { met as f64 / windows as f64 };
            let (ci_low, ci_high) = clopper_pearson(met, windows, level);
            let verdict = if ci_low >= required {
                Verdict::Enforceable
            } else if probability >= required {
                Verdict::AtRisk
            } else {
                Verdict::NotEnforceable
            };
            let v = &mut values[ci];
            v.sort_by(f64::total_cmp);
            let metric_quantiles =
                (!v.is_empty()).then(|| [nearest_rank(v, 0.05), nearest_rank(v, 0.5), nearest_rank(v, 0.95)]);
            ClauseSummary {
                clause: ci,
                windows,
                met,
                probability,
                ci_low,
                ci_high,
                verdict,
                metric_quantiles,
                eligible,
                succeeded,
                interval: IntervalKind::ClopperPearson,
                decided_after: None,
            }
        })
        .collect()
}

/// Nearest-rank quantile of sorted, non-empty `v`.
fn nearest_rank(v: &[f64], q: f64) -> f64 {
    let rank = (q * v.len() as f64).ceil().max(1.0) as usize;
    v[rank.min(v.len()) - 1]
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
