//! Clauses in resolved form: which calls they measure and what they require.

use serde::Serialize;

use crate::scenario::{self, ClauseMetric, Scenario};
use crate::time::Span;

/// What a clause requires.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ClauseKind {
    /// The `percentile`-th percentile of successful call latency ≤ `threshold`.
    Latency {
        /// In (0, 100).
        percentile: f64,
        /// The ceiling.
        threshold: Span,
    },
    /// Successful calls / submitted calls ≥ `target`.
    Availability {
        /// In (0, 1].
        target: f64,
    },
    /// Served calls at a tier worse than `tier` / served calls ≤ `max_share`.
    Degradation {
        /// The lowest tier that is not a degradation.
        tier: u8,
        /// In [0, 1]; 0 means never.
        max_share: f64,
    },
}

/// What a clause counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Model calls: latency from submission to completion, success per call.
    Call,
    /// Agent tasks: end-to-end latency, success when every required call
    /// succeeded before the deadline.
    Task,
}

/// One tenant's clause, resolved to indices.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Clause {
    /// Index of the tenant in the scenario.
    pub tenant: usize,
    /// Tenant name.
    pub tenant_name: String,
    /// Index of the workflow within the tenant, if the clause is scoped to one.
    pub workflow: Option<usize>,
    /// Whether it judges single calls or whole tasks.
    pub unit: Unit,
    /// What it requires.
    pub kind: ClauseKind,
}

impl Clause {
    /// Every clause of a validated scenario, tenant by tenant, in file order.
    pub fn all(scenario: &Scenario) -> Vec<Clause> {
        let mut out = Vec::new();
        for (ti, t) in scenario.tenants.iter().enumerate() {
            for c in &t.clauses {
                if let Some(clause) = Clause::resolve(ti, t, c) {
                    out.push(clause);
                }
            }
        }
        out
    }

    fn resolve(ti: usize, tenant: &scenario::Tenant, c: &scenario::Clause) -> Option<Clause> {
        let workflow = match &c.workflow {
            Some(name) => Some(tenant.workflows.iter().position(|w| &w.name == name)?),
            None => None,
        };
        let (unit, kind) = match c.metric {
            ClauseMetric::Latency => (
                Unit::Call,
                ClauseKind::Latency {
                    percentile: c.percentile?,
                    threshold: c.threshold?,
                },
            ),
            ClauseMetric::Availability => (Unit::Call, ClauseKind::Availability { target: c.target? }),
            ClauseMetric::TaskLatency => (
                Unit::Task,
                ClauseKind::Latency {
                    percentile: c.percentile?,
                    threshold: c.threshold?,
                },
            ),
            ClauseMetric::TaskAvailability => (Unit::Task, ClauseKind::Availability { target: c.target? }),
            ClauseMetric::Degradation => (
                Unit::Call,
                ClauseKind::Degradation {
                    tier: c.tier?,
                    max_share: c.target?,
                },
            ),
        };
        Some(Clause {
            tenant: ti,
            tenant_name: tenant.name.clone(),
            workflow,
            unit,
            kind,
        })
    }

    /// The clause in words, e.g. `p95 call latency <= 800ms`.
    pub fn describe(&self, scenario: &Scenario) -> String {
        let scope = match self.workflow {
            Some(w) => format!(" for workflow {}", scenario.tenants[self.tenant].workflows[w].name),
            None => String::new(),
        };
        match self.kind {
            ClauseKind::Latency { percentile, threshold } => {
                format!(
                    "p{} {} latency <= {threshold}{scope}",
                    trim_float(percentile),
                    self.unit_name()
                )
            }
            ClauseKind::Availability { target } => match self.unit {
                Unit::Call => format!("availability >= {}%{scope}", trim_pct(target)),
                Unit::Task => format!("task success >= {}%{scope}", trim_pct(target)),
            },
            ClauseKind::Degradation { tier, max_share } => {
                format!("calls served below tier {tier} <= {}%{scope}", trim_pct(max_share))
            }
        }
    }

    fn unit_name(&self) -> &'static str {
        match self.unit {
            Unit::Call => "call",
            Unit::Task => "task",
        }
    }

    /// Short metric name for tables: `p95 latency`, `availability`.
    pub fn metric_name(&self) -> String {
        match self.kind {
            ClauseKind::Latency { percentile, .. } => match self.unit {
                Unit::Call => format!("p{} latency", trim_float(percentile)),
                Unit::Task => format!("p{} task latency", trim_float(percentile)),
            },
            ClauseKind::Availability { .. } => match self.unit {
                Unit::Call => "availability".to_string(),
                Unit::Task => "task success".to_string(),
            },
            ClauseKind::Degradation { tier, .. } => format!("below tier {tier}"),
        }
    }

    /// The threshold in the units of [`Attainment::value`](super::Attainment):
    /// milliseconds for latency, a ratio for availability.
    pub fn threshold_value(&self) -> f64 {
        match self.kind {
            ClauseKind::Latency { threshold, .. } => threshold.as_millis_f64(),
            ClauseKind::Availability { target } => target,
            ClauseKind::Degradation { max_share, .. } => max_share,
        }
    }
}

/// `95.0` → `95`, `99.9` → `99.9`.
pub fn trim_float(x: f64) -> String {
    let s = format!("{x:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A ratio as a trimmed percentage: `0.999` → `99.9`.
pub fn trim_pct(ratio: f64) -> String {
    trim_float((ratio * 100.0 * 1e6).round() / 1e6)
}
