//! Streaming per-window statistics for every clause, and their judgement.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::{Clause, ClauseKind, Unit, Window};
use crate::time::{Span, Time};

/// Whether one clause held in one window of one replication.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Attainment {
    /// Index into the clause list.
    pub clause: usize,
    /// Index into the window list.
    pub window: usize,
    /// The measured value: latency in milliseconds, availability as a ratio.
    /// `None` when the window had no eligible call (the clause holds vacuously).
    pub value: Option<f64>,
    /// Whether the clause held.
    pub met: bool,
    /// Calls the clause judged in this window.
    pub eligible: u64,
    /// Of those, calls that succeeded.
    pub succeeded: u64,
    /// Mean latency of the successful calls in milliseconds (exact to 0.1%).
    pub mean_latency_ms: Option<f64>,
}

struct Accumulator {
    latency_us: Histogram<u64>,
    eligible: u64,
    succeeded: u64,
    /// Successful calls by the tier that served them (0 to 4).
    by_tier: [u64; 5],
}

impl Accumulator {
    fn new() -> Accumulator {
        // 3 significant digits: a percentile is exact to within 0.1%.
        let latency_us =
            Histogram::new(3).unwrap_or_else(|_| unreachable!("3 significant digits is a valid precision"));
        Accumulator {
            latency_us,
            eligible: 0,
            succeeded: 0,
            by_tier: [0; 5],
        }
    }
}

/// Records finished calls against the clauses that cover them.
pub struct Recorder {
    windows: Vec<Window>,
    clauses: Vec<Clause>,
    /// tenant → workflow → indices of the call clauses covering it.
    covering: Vec<Vec<Vec<usize>>>,
    /// tenant → workflow → indices of the task clauses covering it.
    covering_tasks: Vec<Vec<Vec<usize>>>,
    /// clause × window, row-major by clause.
    acc: Vec<Accumulator>,
}

impl Recorder {
    /// A recorder for `clauses` over `windows`; `workflows[t]` is the number
    /// of workflows of tenant `t`.
    pub fn new(windows: Vec<Window>, clauses: Vec<Clause>, workflows: &[usize]) -> Recorder {
        let mut covering: Vec<Vec<Vec<usize>>> = workflows.iter().map(|n| vec![Vec::new(); *n]).collect();
        let mut covering_tasks = covering.clone();
        for (ci, c) in clauses.iter().enumerate() {
            let table = match c.unit {
                Unit::Call => &mut covering,
                Unit::Task => &mut covering_tasks,
            };
            let Some(flows) = table.get_mut(c.tenant) else { continue };
            for (wi, list) in flows.iter_mut().enumerate() {
                if c.workflow.is_none_or(|w| w == wi) {
                    list.push(ci);
                }
            }
        }
        let acc = (0..clauses.len() * windows.len()).map(|_| Accumulator::new()).collect();
        Recorder {
            windows,
            clauses,
            covering,
            covering_tasks,
            acc,
        }
    }

    /// The window containing `t`, if any.
    fn window_of(&self, t: Time) -> Option<usize> {
        let idx = self.windows.partition_point(|w| w.start <= t);
        (idx > 0 && t < self.windows[idx - 1].end).then(|| idx - 1)
    }

    /// Records a finished call submitted at `submitted`: its latency if it
    /// succeeded, `None` if it failed. Calls submitted outside every window
    /// are ignored.
    pub fn record(&mut self, tenant: usize, workflow: usize, submitted: Time, latency: Option<Span>) {
        self.record_in(Unit::Call, tenant, workflow, submitted, latency, None);
    }

    /// Records a call served at `tier` (for degradation clauses) with its latency.
    pub fn record_served(&mut self, tenant: usize, workflow: usize, submitted: Time, latency: Span, tier: u8) {
        self.record_in(Unit::Call, tenant, workflow, submitted, Some(latency), Some(tier));
    }

    /// Records a finished task that arrived at `started`: its end-to-end
    /// latency if it succeeded, `None` if it failed.
    pub fn record_task(&mut self, tenant: usize, workflow: usize, started: Time, latency: Option<Span>) {
        self.record_in(Unit::Task, tenant, workflow, started, latency, None);
    }

    fn record_in(
        &mut self,
        unit: Unit,
        tenant: usize,
        workflow: usize,
        submitted: Time,
        latency: Option<Span>,
        tier: Option<u8>,
    ) {
        let Some(window) = self.window_of(submitted) else {
            return;
        };
        let table = match unit {
            Unit::Call => &self.covering,
            Unit::Task => &self.covering_tasks,
        };
        let Some(list) = table.get(tenant).and_then(|f| f.get(workflow)) else {
            return;
        };
        let n_windows = self.windows.len();
        for &ci in list {
            let a = &mut self.acc[ci * n_windows + window];
            a.eligible += 1;
            if let Some(lat) = latency {
                a.succeeded += 1;
                // Auto-resizing: the histogram grows to the largest latency seen.
                let _ = a.latency_us.record(lat.as_micros().max(1));
                if let Some(t) = tier {
                    a.by_tier[usize::from(t.min(4))] += 1;
                }
            }
        }
    }

    /// Judges every clause in every window.
    pub fn finish(&self) -> Vec<Attainment> {
        let n_windows = self.windows.len();
        let mut out = Vec::with_capacity(self.acc.len());
        for (ci, clause) in self.clauses.iter().enumerate() {
            for wi in 0..n_windows {
                let a = &self.acc[ci * n_windows + wi];
                let (value, met) = judge(clause.kind, a);
                out.push(Attainment {
                    clause: ci,
                    window: wi,
                    value,
                    met,
                    eligible: a.eligible,
                    succeeded: a.succeeded,
                    mean_latency_ms: (a.succeeded > 0).then(|| a.latency_us.mean() / 1000.0),
                });
            }
        }
        out
    }
}

fn judge(kind: ClauseKind, a: &Accumulator) -> (Option<f64>, bool) {
    if a.eligible == 0 {
        return (None, true);
    }
    match kind {
        ClauseKind::Latency { percentile, threshold } => {
            if a.succeeded == 0 {
                return (None, false);
            }
            // The top of the value's bucket: at most 0.1% above the true
            // percentile, never below it, so a ceiling is judged conservatively.
            let us = a.latency_us.value_at_quantile(percentile / 100.0);
            let ms = us as f64 / 1000.0;
            (Some(ms), ms <= threshold.as_millis_f64())
        }
        ClauseKind::Availability { target } => {
            let ratio = a.succeeded as f64 / a.eligible as f64;
            (Some(ratio), ratio >= target)
        }
        ClauseKind::Degradation { tier, max_share } => {
            let served: u64 = a.by_tier.iter().sum();
            if served == 0 {
                return (None, true);
            }
            let below: u64 = a.by_tier.iter().skip(usize::from(tier) + 1).sum();
            let share = below as f64 / served as f64;
            (Some(share), share <= max_share)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sla::Window;

    fn one_window() -> Vec<Window> {
        vec![Window {
            label: "w".into(),
            start: Time::ZERO,
            end: Time::from_nanos(1_000_000_000_000),
            complete: true,
        }]
    }

    fn clause(kind: ClauseKind, workflow: Option<usize>) -> Clause {
        Clause {
            tenant: 0,
            tenant_name: "t".into(),
            workflow,
            unit: Unit::Call,
            kind,
        }
    }

    #[test]
    fn hand_worked_percentile_and_availability() {
        let clauses = vec![
            clause(
                ClauseKind::Latency {
                    percentile: 90.0,
                    threshold: Span::from_millis(90),
                },
                None,
            ),
            clause(
                ClauseKind::Latency {
                    percentile: 90.0,
                    threshold: Span::from_micros(90_100),
                },
                None,
            ),
            clause(ClauseKind::Availability { target: 0.9 }, None),
            clause(ClauseKind::Availability { target: 0.9 }, Some(1)),
        ];
        let mut r = Recorder::new(one_window(), clauses, &[2]);
        // 100 successes at 1..=100 ms on workflow 0, 5 failures on workflow 1.
        for ms in 1..=100 {
            r.record(0, 0, Time::from_nanos(ms), Some(Span::from_millis(ms)));
        }
        for _ in 0..5 {
            r.record(0, 1, Time::from_nanos(1), None);
        }
        let a = r.finish();
        // p90 of 1..=100 ms is 90 ms; the histogram reports the top of its
        // 0.1%-wide bucket (conservative for a ceiling): 90 ms ≤ v ≤ 90.09 ms.
        let v = a[0].value.unwrap();
        assert!((90.0..=90.09).contains(&v), "{v}");
        assert!(!a[0].met, "90.0x ms is above a 90 ms ceiling: judged conservatively");
        assert!(a[1].met, "90.0x ms is under a 90.1 ms ceiling");
        // 100 of 105 calls succeeded: 0.952 ≥ 0.9.
        assert_eq!((a[2].eligible, a[2].succeeded), (105, 100));
        assert!(a[2].met);
        // Workflow 1 alone: 0 of 5.
        assert_eq!(a[3].value, Some(0.0));
        assert!(!a[3].met);
    }

    #[test]
    fn an_empty_window_holds_vacuously() {
        let r = Recorder::new(
            one_window(),
            vec![clause(ClauseKind::Availability { target: 0.99 }, None)],
            &[1],
        );
        let a = r.finish();
        assert_eq!(a[0].value, None);
        assert!(a[0].met);
    }
}
