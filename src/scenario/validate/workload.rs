//! Checks of a workflow's arrival profiles and task shape.

use super::Checker;
use crate::scenario::{CountDist, ReplayMode, ReplaySource, Shape, Step, Workflow};
use crate::time::Span;

impl Checker<'_, '_> {
    /// Checks profiles, bursts, batches, deadline and shape of `w`.
    pub(super) fn workload(&mut self, path: &str, w: &Workflow) {
        if w.replay.is_some() {
            // The trace gives the arrivals: a drawn-arrival setting beside it
            // would be silently unused (batches do add their tasks).
            for (field, given) in [
                ("rate", w.rate.is_some()),
                ("diurnal", w.diurnal.is_some()),
                ("weekly", w.weekly.is_some()),
                ("bursts", w.bursts.is_some()),
            ] {
                if given {
                    self.report(
                        format!("{path}.{field}"),
                        format!(
                            "{field} is not used with replay (the trace gives the arrivals): expected no \
                             {field} beside replay; remove it, or remove replay to draw arrivals"
                        ),
                    );
                }
            }
        }
        if let Some(d) = &w.diurnal {
            self.factors(format!("{path}.diurnal"), d, 24, "hour of day (hour 0 first)");
        }
        if let Some(wk) = &w.weekly {
            self.factors(format!("{path}.weekly"), wk, 7, "day of week (Monday first)");
        }
        if let Some(b) = &w.bursts {
            if !(b.factor.is_finite() && b.factor >= 0.0) {
                self.report(
                    format!("{path}.bursts.factor"),
                    format!(
                        "{} is not a valid factor: expected a rate multiplier, 0 or more, e.g. 5",
                        b.factor
                    ),
                );
            }
            self.positive_span(format!("{path}.bursts.mean_on"), b.mean_on, "10m");
            self.positive_span(format!("{path}.bursts.mean_off"), b.mean_off, "2h");
        }
        for (i, b) in w.batches.iter().enumerate() {
            if b.time_of_day().is_none() {
                self.report(
                    format!("{path}.batches[{i}].at"),
                    format!(
                        "{:?} is not a time of day: expected \"HH:MM\" in UTC, e.g. \"02:00\"",
                        b.at
                    ),
                );
            }
            if b.tasks == 0 {
                self.report(
                    format!("{path}.batches[{i}].tasks"),
                    "a batch of 0 tasks: expected at least 1".into(),
                );
            }
        }
        if let Some(d) = w.deadline {
            self.positive_span(format!("{path}.deadline"), d, "60s");
        }
        if let Some(r) = &w.replay {
            self.replay(&format!("{path}.replay"), r);
        }
        match &w.shape {
            Shape::Single => {}
            Shape::Chain(step) => self.step(&format!("{path}.shape"), step),
            Shape::Swarm { agents, agent, .. } => {
                self.count(format!("{path}.shape.agents"), agents);
                self.step(&format!("{path}.shape.agent"), agent);
            }
        }
    }

    /// Checks that a replay's mode fits its format.
    fn replay(&mut self, path: &str, r: &ReplaySource) {
        let format = r.format.name();
        match r.mode {
            Some(ReplayMode::Arrivals) if r.format.closed_loop_only() => self.report(
                format!("{path}.mode"),
                format!(
                    "format {format:?} records whole agent sessions, which replay in closed loop only: \
                     expected mode = \"closed_loop\" (or no mode)"
                ),
            ),
            Some(ReplayMode::ClosedLoop) if !r.format.records_sessions() => self.report(
                format!("{path}.mode"),
                format!(
                    "format {format:?} records no call ends, tools or sessions, which a closed-loop replay \
                     needs: expected format \"otlp\", \"copilot-agent\" or \"slaplan-log\", or mode = \
                     \"arrivals\""
                ),
            ),
            _ => {}
        }
        match r.lookahead {
            Some(0) => self.report(
                format!("{path}.lookahead"),
                "0 sessions: expected at least 1 (1: each session's steps are contiguous and sessions \
                 come in order of their start)"
                    .into(),
            ),
            Some(_) if !r.closed_loop() => self.report(
                format!("{path}.lookahead"),
                "lookahead applies to closed-loop replay only: expected no lookahead with mode = \"arrivals\"".into(),
            ),
            _ => {}
        }
    }

    fn factors(&mut self, path: String, factors: &[f64], n: usize, what: &str) {
        if factors.len() != n {
            self.report(
                path.clone(),
                format!("{} factors given: expected exactly {n}, one per {what}", factors.len()),
            );
        }
        if let Some((i, f)) = factors.iter().enumerate().find(|(_, f)| !(f.is_finite() && **f >= 0.0)) {
            self.report(
                format!("{path}[{i}]"),
                format!("{f} is not a valid factor: expected a number, 0 or more"),
            );
        }
    }

    fn count(&mut self, path: String, dist: &CountDist) {
        match *dist {
            CountDist::Constant { value: 0 } => {
                self.report(format!("{path}.value"), "0: expected at least 1".into());
            }
            CountDist::Uniform { min, max } if min == 0 || min > max => {
                self.report(path, format!("uniform from {min} to {max}: expected 1 <= min <= max"))
            }
            CountDist::Geometric { mean } if !(mean.is_finite() && mean >= 1.0) => {
                self.report(format!("{path}.mean"), format!("{mean}: expected a mean of at least 1"));
            }
            _ => {}
        }
    }

    fn step(&mut self, path: &str, step: &Step) {
        self.count(format!("{path}.depth"), &step.depth);
        if let Some(tool) = &step.tool {
            for (field, p) in [
                ("probability", tool.probability),
                ("failure_probability", tool.failure_probability),
            ] {
                if !(p.is_finite() && (0.0..=1.0).contains(&p)) {
                    self.report(
                        format!("{path}.tool.{field}"),
                        format!("{p} is not a probability: expected 0 to 1"),
                    );
                }
            }
            if tool.duration == Span::ZERO {
                self.positive_span(format!("{path}.tool.duration"), tool.duration, "800ms");
            }
        }
        if step.max_context == 0 {
            self.report(
                format!("{path}.max_context"),
                "0 tokens: expected a positive context cap".into(),
            );
        }
    }
}
