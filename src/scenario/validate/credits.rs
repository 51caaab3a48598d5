//! Checks of a clause's credit schedule: a fee with the steps, each step's
//! level on the side and in the unit of the clause's own threshold.

use super::Checker;
use crate::scenario::{Clause, ClauseMetric, StepLevel};
use crate::sla::Period;

/// Whether the clause's metric is a floor (a month below a level breaches
/// it), as opposed to a ceiling.
fn is_floor(metric: ClauseMetric) -> bool {
    matches!(
        metric,
        ClauseMetric::Availability
            | ClauseMetric::TaskAvailability
            | ClauseMetric::Uptime
            | ClauseMetric::Throughput
            | ClauseMetric::EvalPassRate
            | ClauseMetric::MeanQuality
    )
}

/// Whether the clause's threshold is a duration.
fn is_duration(metric: ClauseMetric) -> bool {
    matches!(
        metric,
        ClauseMetric::Latency
            | ClauseMetric::TaskLatency
            | ClauseMetric::Ttft
            | ClauseMetric::FallbackTime
            | ClauseMetric::Notification
    )
}

impl Checker<'_, '_> {
    /// Checks the fee and steps of `clause` at `cpath`.
    pub(super) fn credits(&mut self, cpath: &str, clause: &Clause) {
        match (&clause.credits, clause.monthly_fee) {
            (None, None) => return,
            (None, Some(_)) => {
                self.report(
                    format!("{cpath}.monthly_fee"),
                    "a monthly_fee without credits is unused: expected credits = [{ below = 0.999, credit = 0.1 }] \
                     beside it, or no monthly_fee"
                        .into(),
                );
                return;
            }
            (Some(_), None) => self.report(
                format!("{cpath}.monthly_fee"),
                "a clause with credits needs a monthly_fee: expected the fee in USD the credits are shares of, \
                 e.g. monthly_fee = 20000"
                    .into(),
            ),
            (Some(_), Some(fee)) if !(fee.is_finite() && fee > 0.0) => self.report(
                format!("{cpath}.monthly_fee"),
                format!("{fee} is not a positive amount: expected USD such as 20000"),
            ),
            _ => {}
        }
        let Some(steps) = &clause.credits else { return };
        if !matches!(clause.window, None | Some(Period::Month)) {
            self.report(
                format!("{cpath}.credits"),
                "credits are owed per month: expected a clause judged per month (no window, or window = \"month\")"
                    .into(),
            );
        }
        if steps.is_empty() {
            self.report(
                format!("{cpath}.credits"),
                "an empty credit schedule: expected at least one step such as { below = 0.999, credit = 0.1 }".into(),
            );
        }
        let (side, other) = if is_floor(clause.metric) {
            ("below", "above")
        } else {
            ("above", "below")
        };
        let example = match (is_duration(clause.metric), side) {
            (true, _) => "{ above = \"2s\", credit = 0.1 }",
            (false, "below") => "{ below = 0.999, credit = 0.1 }",
            (false, _) => "{ above = 0.05, credit = 0.1 }",
        };
        for (k, step) in steps.iter().enumerate() {
            let spath = format!("{cpath}.credits[{k}]");
            let (given, wrong) = if side == "below" {
                (step.below, step.above)
            } else {
                (step.above, step.below)
            };
            if wrong.is_some() {
                self.report(
                    format!("{spath}.{other}"),
                    format!("this clause's metric breaches a step when it is {side} its level: expected {example}"),
                );
            }
            match given {
                None if wrong.is_none() => self.report(
                    format!("{spath}.{side}"),
                    format!("a credit step needs its level: expected e.g. {example}"),
                ),
                None => {}
                Some(StepLevel::Duration(d)) if is_duration(clause.metric) => {
                    self.positive_span(format!("{spath}.{side}"), d, "2s");
                }
                Some(StepLevel::Number(x)) if !is_duration(clause.metric) => {
                    let amount = matches!(clause.metric, ClauseMetric::Cost);
                    if !amount && !(0.0..=1.0).contains(&x) {
                        self.report(
                            format!("{spath}.{side}"),
                            format!("{x} is outside [0, 1]: expected a share such as 0.999, as the clause's target"),
                        );
                    } else if amount && !(x.is_finite() && x > 0.0) {
                        self.report(
                            format!("{spath}.{side}"),
                            format!("{x} is not a positive amount: expected USD such as 0.06"),
                        );
                    }
                }
                Some(_) => self.report(
                    format!("{spath}.{side}"),
                    format!(
                        "the level is written as the clause's threshold is ({}): expected e.g. {example}",
                        if is_duration(clause.metric) {
                            "a duration"
                        } else {
                            "a number"
                        }
                    ),
                ),
            }
            if !(step.credit > 0.0 && step.credit <= 1.0) {
                self.report(
                    format!("{spath}.credit"),
                    format!(
                        "{} is outside (0, 1]: expected a share of the monthly fee such as 0.1",
                        step.credit
                    ),
                );
            }
        }
    }
}
