//! The frontier: the tightest latency threshold (or highest availability
//! target) a clause can promise at the required confidence, and the
//! smallest capacity that makes clauses enforceable.
//!
//! The threshold frontier is exact and needs no re-simulation: over the
//! `n` judged windows, a ceiling `t` holds in `k(t) = vacuous + #(value <= t)`
//! of them, non-decreasing in `t`, and the Clopper-Pearson lower bound of
//! `k/n` is increasing in `k`. So the tightest enforceable threshold is a
//! window value, found by walking the sorted values. Windows with no eligible
//! call hold whatever the threshold (as in the judgement); windows whose
//! calls all failed never hold a latency ceiling.

use crate::sla::{Attainment, ClauseKind};

use super::clopper_pearson;
use super::sequential::BetaMixture;

/// How a frontier point's interval is computed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Bounds {
    /// Two-sided Clopper-Pearson over the windows at this level: a run of a
    /// fixed number of replications.
    ClopperPearson(f64),
    /// The confidence sequence of `--until-decided` over replications of
    /// `windows_per_replication` windows each (see [`super::sequential`]):
    /// valid at whatever replication the run stopped. The frontier stays
    /// valid with it: the tightest enforceable threshold is an order
    /// statistic whose error is the sequence's error at the true quantile.
    Sequence {
        /// The sequence.
        mixture: BetaMixture,
        /// Windows each replication judges.
        windows_per_replication: u64,
    },
}

impl From<f64> for Bounds {
    /// Clopper-Pearson at `level`.
    fn from(level: f64) -> Bounds {
        Bounds::ClopperPearson(level)
    }
}

impl Bounds {
    /// The interval of `met` windows held out of `windows`.
    pub fn interval(&self, met: u64, windows: u64) -> (f64, f64) {
        match *self {
            Bounds::ClopperPearson(level) => clopper_pearson(met, windows, level),
            Bounds::Sequence {
                mixture,
                windows_per_replication,
            } => {
                let w = windows_per_replication.max(1);
                let replications = windows / w;
                let held = (met as f64 / w as f64).min(replications as f64);
                mixture.interval(held, replications)
            }
        }
    }
}

/// One candidate threshold (or target) and how often it would hold.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    /// The threshold in ms (latency) or the target ratio (availability).
    pub threshold: f64,
    /// Windows in which it would hold.
    pub met: u64,
    /// Windows judged.
    pub windows: u64,
    /// `met / windows`.
    pub probability: f64,
    /// Its interval ([`Bounds`]).
    pub ci_low: f64,
    /// Upper end.
    pub ci_high: f64,
    /// Whether `ci_low` reaches the required confidence.
    pub enforceable: bool,
}

/// A clause's frontier curve.
#[derive(Clone, Debug, PartialEq)]
pub struct Frontier {
    /// From the loosest to the tightest promise is not the order: points are
    /// in increasing threshold for a ceiling, decreasing target for a floor,
    /// i.e. from the most demanding promise to the least.
    pub points: Vec<Point>,
    /// The most demanding enforceable promise, if any.
    pub best: Option<Point>,
}

/// Whether the clause is a ceiling (latency) or a floor (availability).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// `metric <= threshold`.
    Ceiling,
    /// `metric >= target`.
    Floor,
}

impl Direction {
    /// The direction of a clause kind.
    pub fn of(kind: ClauseKind) -> Direction {
        match kind {
            ClauseKind::Latency { .. }
            | ClauseKind::Ttft { .. }
            | ClauseKind::Degradation { .. }
            | ClauseKind::FallbackTime { .. }
            | ClauseKind::Notification { .. }
            | ClauseKind::Cost { .. } => Direction::Ceiling,
            ClauseKind::Availability { .. }
            | ClauseKind::Uptime { .. }
            | ClauseKind::Throughput { .. }
            | ClauseKind::EvalPassRate { .. }
            | ClauseKind::MeanQuality { .. } => Direction::Floor,
        }
    }
}

/// The frontier from windows' values: `vacuous` windows hold always,
/// `never` windows never, `values` hold when on the right side. `bounds`:
/// a level for Clopper-Pearson, or the confidence sequence.
pub fn frontier_from_values(
    mut values: Vec<f64>,
    vacuous: u64,
    never: u64,
    direction: Direction,
    required: f64,
    bounds: impl Into<Bounds>,
) -> Frontier {
    let bounds = bounds.into();
    let n = values.len() as u64 + vacuous + never;
    match direction {
        Direction::Ceiling => values.sort_by(f64::total_cmp),
        Direction::Floor => values.sort_by(|a, b| b.total_cmp(a)),
    }
    let mut points = Vec::new();
    let mut j = 0;
    while j < values.len() {
        let t = values[j];
        // Every value equal to t holds too.
        while j + 1 < values.len() && values[j + 1] == t {
            j += 1;
        }
        let met = vacuous + j as u64 + 1;
        let (ci_low, ci_high) = bounds.interval(met, n);
        points.push(Point {
            threshold: t,
            met,
            windows: n,
            probability: met as f64 / n as f64,
            ci_low,
            ci_high,
            enforceable: ci_low >= required,
        });
        j += 1;
    }
    let best = points.iter().find(|p| p.enforceable).copied();
    Frontier { points, best }
}

/// The frontier of clause `clause` over every replication's windows.
pub fn frontier<'a>(
    attainment: impl IntoIterator<Item = &'a Attainment>,
    clause: usize,
    kind: ClauseKind,
    required: f64,
    bounds: impl Into<Bounds>,
) -> Frontier {
    let mut windows = ClauseWindows::new(clause);
    windows.add(attainment);
    windows.frontier(kind, required, bounds)
}

/// One clause's windows as the frontier counts them, gathered replication
/// by replication so that the replications need not be kept: the values of
/// the windows with eligible calls (the frontier's candidate thresholds,
/// one row each of `frontier.csv`), and counts of the others.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClauseWindows {
    clause: usize,
    values: Vec<f64>,
    vacuous: u64,
    never: u64,
}

impl ClauseWindows {
    /// No window yet of clause `clause`.
    pub fn new(clause: usize) -> ClauseWindows {
        ClauseWindows {
            clause,
            ..ClauseWindows::default()
        }
    }

    /// Adds the clause's judgements among `attainment` (others are ignored).
    pub fn add<'a>(&mut self, attainment: impl IntoIterator<Item = &'a Attainment>) {
        for a in attainment.into_iter().filter(|a| a.clause == self.clause) {
            match a.value {
                _ if a.eligible == 0 => self.vacuous += 1,
                Some(v) => self.values.push(v),
                None => self.never += 1,
            }
        }
    }

    /// Windows gathered.
    pub fn windows(&self) -> u64 {
        self.values.len() as u64 + self.vacuous + self.never
    }

    /// The frontier over the windows gathered, for a clause of `kind`.
    pub fn frontier(self, kind: ClauseKind, required: f64, bounds: impl Into<Bounds>) -> Frontier {
        frontier_from_values(
            self.values,
            self.vacuous,
            self.never,
            Direction::of(kind),
            required,
            bounds,
        )
    }
}

/// The smallest capacity in `1..=max` for which `passes` holds, assuming it
/// is monotone, starting from `start`: downward by bisection if `start`
/// passes, else doubling until a capacity passes, then bisection. Every
/// probe is one call of `passes`. On success, `capacity - 1` was probed and
/// failed (or is 0).
pub fn bisect_capacity(start: u32, max: u32, mut passes: impl FnMut(u32) -> bool) -> Option<u32> {
    let start = start.clamp(1, max.max(1));
    let (mut lo, mut hi) = if passes(start) {
        (0, start)
    } else {
        let mut lo = start;
        loop {
            if lo >= max {
                return None;
            }
            let next = lo.saturating_mul(2).min(max);
            if passes(next) {
                break (lo, next);
            }
            lo = next;
        }
    };
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if passes(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Some(hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_worked_ceiling_frontier() {
        // Ten windows with p95 = 1..=10 ms. Clopper-Pearson 95%: 8/10 has
        // lower bound 0.4439, 9/10 has 0.5550, 10/10 has 0.025^(1/10) = 0.6915.
        let values: Vec<f64> = (1..=10).map(f64::from).collect();
        let f = frontier_from_values(values.clone(), 0, 0, Direction::Ceiling, 0.5, 0.95);
        assert_eq!(f.points.len(), 10);
        let best = f.best.unwrap();
        assert_eq!((best.threshold, best.met, best.windows), (9.0, 9, 10));
        assert!((best.ci_low - 0.5550).abs() < 1e-4, "{}", best.ci_low);
        assert!((f.points[7].ci_low - 0.4439).abs() < 1e-4);
        assert!(!f.points[7].enforceable);
        // Requiring 0.6: only 10/10 qualifies, so the tightest is 10 ms.
        let f = frontier_from_values(values.clone(), 0, 0, Direction::Ceiling, 0.6, 0.95);
        assert_eq!(f.best.unwrap().threshold, 10.0);
        // Requiring 0.7: not even 10/10 (0.6915).
        assert!(
            frontier_from_values(values, 0, 0, Direction::Ceiling, 0.7, 0.95)
                .best
                .is_none()
        );
        // Two vacuous windows hold at any threshold: 8 values 1..=8 plus 2
        // vacuous need 7 values for 9/10.
        let f = frontier_from_values((1..=8).map(f64::from).collect(), 2, 0, Direction::Ceiling, 0.5, 0.95);
        assert_eq!(f.best.unwrap().threshold, 7.0);
        // A window with no successful call never holds: 9 values + 1 never
        // can reach 9/10 at most, at 9 ms.
        let f = frontier_from_values((1..=9).map(f64::from).collect(), 0, 1, Direction::Ceiling, 0.5, 0.95);
        assert_eq!(f.best.unwrap().threshold, 9.0);
        // Ties count together.
        let f = frontier_from_values(vec![5.0, 5.0, 1.0], 0, 0, Direction::Ceiling, 0.01, 0.95);
        assert_eq!(f.points.iter().map(|p| p.met).collect::<Vec<_>>(), vec![1, 3]);
    }

    #[test]
    fn hand_worked_floor_frontier() {
        // Availability 0.990, 0.991, ..., 0.999 in ten windows: the highest
        // target holding in 9/10 (lower bound 0.555) is the second lowest.
        let values: Vec<f64> = (0..10).map(|i| 0.990 + 0.001 * f64::from(i)).collect();
        let f = frontier_from_values(values.clone(), 0, 0, Direction::Floor, 0.5, 0.95);
        assert_eq!(f.best.unwrap().threshold, values[1]);
        assert_eq!(f.points[0].threshold, values[9]);
    }

    #[test]
    fn bisection_finds_the_boundary_with_few_probes() {
        for answer in [1u32, 2, 3, 7, 8, 9, 100] {
            for start in [1u32, 4, 8, 64] {
                let mut probes = Vec::new();
                let got = bisect_capacity(start, 1024, |c| {
                    probes.push(c);
                    c >= answer
                });
                assert_eq!(got, Some(answer), "answer {answer} start {start}");
                if answer > 1 {
                    assert!(probes.contains(&(answer - 1)), "{probes:?}");
                }
                assert!(probes.len() <= 20, "{probes:?}");
            }
        }
        assert_eq!(bisect_capacity(4, 64, |_| false), None);
    }
}
