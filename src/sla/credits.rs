//! Service credits: what a breached month costs under a clause's credit
//! schedule.
//!
//! A schedule is a monthly fee and steps, each a level on the clause's own
//! metric and a share of the fee: "10% below 99.9%, 25% below 99%". A month
//! whose measured value is worse than a step's level (below it for a floor,
//! above it for a ceiling) breaches that step; the month's credit is the
//! largest share among the steps it breaches (steps do not add up, as in
//! the usual contract table). This module owns that rule and the schedule's
//! wording; tallying credits over replications is the planner's.

use serde::Serialize;

use super::{Attainment, Direction};

/// One step of a credit schedule.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct CreditStep {
    /// The level in the clause's value unit (ms, ratio or USD): a month
    /// worse than it breaches the step.
    pub level: f64,
    /// The credit, as a share of the monthly fee, in (0, 1].
    pub share: f64,
}

/// A clause's credit schedule.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CreditSchedule {
    /// The tenant's monthly fee the shares are of, in USD.
    pub monthly_fee: f64,
    /// The steps, in the order written.
    pub steps: Vec<CreditStep>,
}

impl CreditSchedule {
    /// The share of the fee owed for one month judged as `a`, for a clause
    /// whose metric must stay `direction` of its levels. A month without a
    /// value owes nothing when the clause held there (no eligible event)
    /// and the largest share when it did not (the percentile fell on an
    /// event that never happened: worse than every level).
    pub fn share(&self, direction: Direction, a: &Attainment) -> f64 {
        let breached = |level: f64| match a.value {
            None => !a.met,
            Some(v) => match direction {
                Direction::AtLeast => v < level,
                Direction::AtMost => v > level,
            },
        };
        self.steps
            .iter()
            .filter(|s| breached(s.level))
            .map(|s| s.share)
            .fold(0.0, f64::max)
    }

    /// The credit in USD owed for one month judged as `a`.
    pub fn usd(&self, direction: Direction, a: &Attainment) -> f64 {
        self.share(direction, a) * self.monthly_fee
    }

    /// The largest share any month can owe.
    pub fn max_share(&self) -> f64 {
        self.steps.iter().map(|s| s.share).fold(0.0, f64::max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn month(value: Option<f64>, met: bool) -> Attainment {
        Attainment {
            clause: 0,
            window: 0,
            value,
            met,
            eligible: 1,
            succeeded: 1,
            mean_latency_ms: None,
        }
    }

    #[test]
    fn the_deepest_breached_step_pays() {
        let s = CreditSchedule {
            monthly_fee: 1000.0,
            steps: vec![
                CreditStep {
                    level: 0.999,
                    share: 0.10,
                },
                CreditStep {
                    level: 0.99,
                    share: 0.25,
                },
            ],
        };
        let floor = Direction::AtLeast;
        assert_eq!(s.usd(floor, &month(Some(0.9995), true)), 0.0);
        assert_eq!(
            s.usd(floor, &month(Some(0.999), true)),
            0.0,
            "at the level is not below it"
        );
        assert_eq!(s.usd(floor, &month(Some(0.995), false)), 100.0);
        assert_eq!(
            s.usd(floor, &month(Some(0.98), false)),
            250.0,
            "the largest step, not the sum"
        );
        assert_eq!(s.usd(floor, &month(None, true)), 0.0, "no eligible event");
        assert_eq!(
            s.usd(floor, &month(None, false)),
            250.0,
            "never served: worse than every level"
        );
        let ceiling = CreditSchedule {
            monthly_fee: 10.0,
            steps: vec![CreditStep {
                level: 800.0,
                share: 0.5,
            }],
        };
        assert_eq!(ceiling.usd(Direction::AtMost, &month(Some(800.0), true)), 0.0);
        assert_eq!(ceiling.usd(Direction::AtMost, &month(Some(801.0), false)), 5.0);
    }
}
