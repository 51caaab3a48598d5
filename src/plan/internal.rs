//! Internal objectives: for each enforceable clause, the tightest objective
//! on the same metric (same percentile or ratio, same windows) that still
//! holds with the required confidence, and its buffer to the contract.
//!
//! It is the frontier's best point ([`super::frontier`]) found without
//! sorting: a ceiling `t` holds in `vacuous + #(value <= t)` windows, the
//! lower bound of the interval grows with the windows held, so the tightest
//! objective is the window value at the rank where the fewest windows that
//! reach the required confidence are held. The value is then one exact
//! order statistic of the windows' values, which a streamed run selects
//! from its spilled [`super::quantile::ValueStore`] in bounded memory.
//!
//! Running the service at the internal objective leaves the buffer to
//! absorb what the simulation did not see before the contract breaks.

use serde::{Deserialize, Serialize};

use super::frontier::{Bounds, Direction};
use crate::sla::{Clause, ClauseKind};
use crate::time::Span;

/// A clause's suggested internal objective.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct InternalObjective {
    /// The objective, in the clause's value unit (ms, ratio or USD): at most
    /// the contract's ceiling, at least its floor.
    pub objective: f64,
    /// How far it is inside the contract's threshold, in the same unit
    /// (never negative for an enforceable clause).
    pub buffer: f64,
}

/// The windows of one clause as the frontier counts them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WindowCounts {
    /// Windows with no eligible event: they hold at any objective.
    pub vacuous: u64,
    /// Windows with eligible events but no value (the percentile's event
    /// never happened): they hold at no objective.
    pub never: u64,
    /// Windows with a value.
    pub valued: u64,
}

impl WindowCounts {
    /// Every window judged.
    pub fn windows(&self) -> u64 {
        self.vacuous + self.never + self.valued
    }
}

/// Whether a kind's contract threshold is a level of its judged value, so
/// that a tighter level of the same metric is a meaningful objective.
/// Throughput's contract is a rate judged in every minute; its value (the
/// share of minutes that hold) is not what the contract bounds.
pub fn has_internal_objective(kind: ClauseKind) -> bool {
    !matches!(kind, ClauseKind::Throughput { .. })
}

/// The fewest windows held, out of `windows`, whose interval's lower end
/// reaches `required`; `None` when not even all of them do.
pub fn windows_needed(windows: u64, required: f64, bounds: &Bounds) -> Option<u64> {
    let reaches = |k: u64| bounds.interval(k, windows).0 >= required;
    if windows == 0 || !reaches(windows) {
        return None;
    }
    // The lower end grows with the windows held: bisect for the first.
    let (mut lo, mut hi) = (0, windows);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if reaches(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Some(if reaches(0) { 0 } else { hi })
}

/// The 1-based rank, in increasing order of the valued windows' values, of
/// the tightest objective that holds with `required` confidence; `None`
/// when no objective does.
pub fn objective_rank(counts: WindowCounts, direction: Direction, required: f64, bounds: &Bounds) -> Option<u64> {
    if counts.valued == 0 {
        return None;
    }
    let needed = windows_needed(counts.windows(), required, bounds)?;
    // Among the valued windows, the `r` most favourable must hold.
    let r = needed.saturating_sub(counts.vacuous).max(1);
    if r > counts.valued {
        return None;
    }
    Some(match direction {
        Direction::Ceiling => r,
        Direction::Floor => counts.valued - r + 1,
    })
}

/// The internal objective at `value` (the order statistic of
/// [`objective_rank`]) for a clause whose contract threshold is `threshold`.
pub fn objective_at(value: f64, threshold: f64, direction: Direction) -> InternalObjective {
    let buffer = match direction {
        Direction::Ceiling => threshold - value,
        Direction::Floor => value - threshold,
    };
    InternalObjective {
        objective: value,
        buffer,
    }
}

/// The clause with its threshold moved to `objective`, rounded outwards to
/// what the grammar writes (a ceiling up to the millisecond or the
/// millionth, a floor down to the millionth), so the clause as written
/// holds wherever the exact objective does; `None` for a kind without an
/// internal objective.
pub fn internal_clause(clause: &Clause, objective: f64) -> Option<Clause> {
    let up = |x: f64| (x * 1e6).ceil() / 1e6;
    let down = |x: f64| (x * 1e6).floor() / 1e6;
    let ms = |x: f64| Span::from_millis(x.max(0.0).ceil() as u64);
    let kind = match clause.kind {
        ClauseKind::Latency { percentile, .. } => ClauseKind::Latency {
            percentile,
            threshold: ms(objective),
        },
        ClauseKind::Ttft { percentile, .. } => ClauseKind::Ttft {
            percentile,
            threshold: ms(objective),
        },
        ClauseKind::FallbackTime { percentile, .. } => ClauseKind::FallbackTime {
            percentile,
            threshold: ms(objective),
        },
        ClauseKind::Notification { percentile, .. } => ClauseKind::Notification {
            percentile,
            threshold: ms(objective),
        },
        ClauseKind::Availability { .. } => ClauseKind::Availability {
            target: down(objective),
        },
        ClauseKind::Uptime { max_error_ratio, .. } => ClauseKind::Uptime {
            target: down(objective),
            max_error_ratio,
        },
        ClauseKind::Degradation { tier, .. } => ClauseKind::Degradation {
            tier,
            max_share: up(objective),
        },
        ClauseKind::Cost { per, .. } => ClauseKind::Cost {
            budget: up(objective),
            per,
        },
        ClauseKind::EvalPassRate { samples, .. } => ClauseKind::EvalPassRate {
            target: down(objective),
            samples,
        },
        ClauseKind::MeanQuality { .. } => ClauseKind::MeanQuality {
            target: down(objective),
        },
        ClauseKind::Throughput { .. } => return None,
    };
    Some(Clause {
        kind,
        credits: None,
        ..clause.clone()
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::frontier::frontier_from_values;
    use super::*;

    /// The nearest order statistic by sorting, for the tests.
    fn at_rank(values: &[f64], rank: u64) -> f64 {
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        v[rank as usize - 1]
    }

    #[test]
    fn hand_worked_ceiling_objective() {
        // Ten windows with p95 latency 1..=10 ms. Clopper-Pearson 95%: 9/10
        // has lower bound 0.5550 and 8/10 0.4439, so at a required 0.5 the
        // objective must hold in 9 windows: the 9th smallest value, 9 ms.
        let bounds = Bounds::from(0.95);
        let counts = WindowCounts {
            vacuous: 0,
            never: 0,
            valued: 10,
        };
        assert_eq!(windows_needed(10, 0.5, &bounds), Some(9));
        assert_eq!(objective_rank(counts, Direction::Ceiling, 0.5, &bounds), Some(9));
        // 10/10 has lower bound 0.025^(1/10) = 0.6915: at 0.6 every window
        // must hold (10 ms), at 0.7 none can.
        assert_eq!(objective_rank(counts, Direction::Ceiling, 0.6, &bounds), Some(10));
        assert_eq!(objective_rank(counts, Direction::Ceiling, 0.7, &bounds), None);
        // Two vacuous windows hold anyway: 7 of 8 valued ones suffice.
        let counts = WindowCounts {
            vacuous: 2,
            never: 0,
            valued: 8,
        };
        assert_eq!(objective_rank(counts, Direction::Ceiling, 0.5, &bounds), Some(7));
        // A window whose percentile never happened holds at no objective.
        let counts = WindowCounts {
            vacuous: 0,
            never: 1,
            valued: 9,
        };
        assert_eq!(objective_rank(counts, Direction::Ceiling, 0.5, &bounds), Some(9));
        assert_eq!(objective_rank(counts, Direction::Ceiling, 0.6, &bounds), None);
        // A contract of 12 ms with the objective at 9 ms: 3 ms of buffer.
        assert_eq!(
            objective_at(9.0, 12.0, Direction::Ceiling),
            InternalObjective {
                objective: 9.0,
                buffer: 3.0
            }
        );
    }

    #[test]
    fn hand_worked_floor_objective() {
        // Availability 0.990, 0.991, ..., 0.999 in ten windows: holding in
        // 9 of them needs the second lowest, rank 2 of 10 increasing.
        let counts = WindowCounts {
            vacuous: 0,
            never: 0,
            valued: 10,
        };
        let bounds = Bounds::from(0.95);
        assert_eq!(objective_rank(counts, Direction::Floor, 0.5, &bounds), Some(2));
        let o = objective_at(0.991, 0.99, Direction::Floor);
        assert!((o.buffer - 0.001).abs() < 1e-12, "{o:?}");
    }

    proptest! {
        /// The objective is the frontier's best point, found by sorting
        /// every candidate threshold and judging each.
        #[test]
        fn the_objective_is_the_frontiers_best(
            values in prop::collection::vec(0u32..40, 0..120),
            vacuous in 0u64..5,
            never in 0u64..5,
            floor in any::<bool>(),
            required in 0.3f64..0.97,
        ) {
            let values: Vec<f64> = values.into_iter().map(f64::from).collect();
            let direction = if floor { Direction::Floor } else { Direction::Ceiling };
            let counts = WindowCounts { vacuous, never, valued: values.len() as u64 };
            let bounds = Bounds::from(0.95);
            let f = frontier_from_values(values.clone(), vacuous, never, direction, required, 0.95);
            let got = objective_rank(counts, direction, required, &bounds).map(|r| at_rank(&values, r));
            prop_assert_eq!(got, f.best.map(|p| p.threshold));
        }

        /// Re-judged over the same windows, the objective holds with the
        /// required confidence, and the next tighter window value does not.
        #[test]
        fn the_objective_is_enforceable_and_one_step_tighter_is_not(
            values in prop::collection::vec(0u32..1000, 1..200),
            vacuous in 0u64..4,
            never in 0u64..4,
            floor in any::<bool>(),
            required in 0.3f64..0.97,
        ) {
            let values: Vec<f64> = values.into_iter().map(f64::from).collect();
            let direction = if floor { Direction::Floor } else { Direction::Ceiling };
            let counts = WindowCounts { vacuous, never, valued: values.len() as u64 };
            let bounds = Bounds::from(0.95);
            let n = counts.windows();
            let holds = |t: f64| {
                vacuous + values.iter().filter(|&&v| match direction {
                    Direction::Ceiling => v <= t,
                    Direction::Floor => v >= t,
                }).count() as u64
            };
            let enforceable = |t: f64| bounds.interval(holds(t), n).0 >= required;
            match objective_rank(counts, direction, required, &bounds) {
                Some(r) => {
                    let t = at_rank(&values, r);
                    prop_assert!(enforceable(t));
                    let tighter = values.iter().copied().filter(|&v| match direction {
                        Direction::Ceiling => v < t,
                        Direction::Floor => v > t,
                    });
                    let next = match direction {
                        Direction::Ceiling => tighter.max_by(f64::total_cmp),
                        Direction::Floor => tighter.min_by(f64::total_cmp),
                    };
                    if let Some(next) = next {
                        prop_assert!(!enforceable(next), "{next} is tighter than {t} and enforceable");
                    }
                }
                // No value is enforceable: not even the loosest.
                None => {
                    let loosest = match direction {
                        Direction::Ceiling => values.iter().copied().max_by(f64::total_cmp),
                        Direction::Floor => values.iter().copied().min_by(f64::total_cmp),
                    };
                    prop_assert!(loosest.is_none_or(|t| !enforceable(t)));
                }
            }
        }
    }
}
