//! Clauses in resolved form: which events they measure and what they require.

use serde::{Deserialize, Serialize};

use super::{CreditSchedule, CreditStep, Period};
use crate::scenario::{self, ClauseMetric, Scenario, StepLevel};
use crate::time::Span;

/// What a cost clause divides by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CostBasis {
    /// The window's cost over the tasks that arrived in it (mean cost per task).
    #[default]
    Task,
    /// The window's whole cost.
    Window,
}

/// What a clause requires.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ClauseKind {
    /// The `percentile`-th percentile of successful call (or task) latency ≤ `threshold`.
    Latency {
        /// In (0, 100).
        percentile: f64,
        /// The ceiling.
        threshold: Span,
    },
    /// The `percentile`-th percentile of successful calls' time to first
    /// token (from submission to the first token of the attempt that served
    /// the call) ≤ `threshold`.
    Ttft {
        /// In (0, 100).
        percentile: f64,
        /// The ceiling.
        threshold: Span,
    },
    /// Successful calls (or tasks) / submitted ≥ `target`.
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
    /// Minutes whose error ratio (failed / finished calls) is at most
    /// `max_error_ratio`, over the window's minutes, ≥ `target`. A minute
    /// without calls is up.
    Uptime {
        /// In (0, 1].
        target: f64,
        /// In [0, 1); 0 means a single failure takes the minute down.
        max_error_ratio: f64,
    },
    /// After a call's first failure on its first endpoint, the time until it
    /// is dispatched to another endpoint: the `percentile`-th percentile ≤
    /// `threshold`. A call that fails without ever leaving counts as never.
    FallbackTime {
        /// In (0, 100]; 100 means every such event.
        percentile: f64,
        /// The ceiling.
        threshold: Span,
    },
    /// After the tenant's service degrades (a call dispatched at a worse tier
    /// than the tenant's previous one), the time from the failure that caused
    /// it until the router emits the degradation notice: the `percentile`-th
    /// percentile ≤ `threshold`; a degradation never notified counts as never.
    Notification {
        /// In (0, 100]; 100 means every degradation.
        percentile: f64,
        /// The ceiling.
        threshold: Span,
    },
    /// The cost of served attempts, per task (mean) or per window, ≤ `budget` USD.
    Cost {
        /// In USD.
        budget: f64,
        /// What the cost is divided by.
        per: CostBasis,
    },
    /// In every minute, the calls submitted in it that capacity did not turn
    /// away (shed, no eligible endpoint, a 429, a full provider queue, or
    /// still waiting when the run ended) number at least the smaller of the
    /// calls submitted and `rpm`: the contracted rate is admitted, capped by
    /// what was offered. The value is the share of the window's minutes
    /// that hold.
    Throughput {
        /// The contracted rate in calls per minute.
        rpm: f64,
    },
    /// The pass rate of an evaluation of `samples` of the window's calls,
    /// drawn uniformly without replacement (all of them when the window has
    /// fewer), ≥ `target`. Each sampled call passes with the quality of the
    /// endpoint that served it; a call never served (failed, shed, timed
    /// out, abandoned, still open) produced no answer and fails.
    EvalPassRate {
        /// In (0, 1].
        target: f64,
        /// Calls evaluated per window, at least 1.
        samples: u32,
    },
    /// The mean, over the window's calls, of the quality of the endpoint
    /// that served each (0 for a call never served) ≥ `target`.
    MeanQuality {
        /// In (0, 1].
        target: f64,
    },
}

/// Whether a clause's metric must stay under or above its threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Direction {
    /// The metric must be at most the threshold (latency, shares, cost).
    AtMost,
    /// The metric must be at least the threshold (availability, uptime).
    AtLeast,
}

impl Direction {
    /// `<=` or `>=`.
    pub fn symbol(self) -> &'static str {
        match self {
            Direction::AtMost => "<=",
            Direction::AtLeast => ">=",
        }
    }
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
    /// The windows it is judged over.
    pub period: Period,
    /// Its service credits, if it carries a schedule (monthly windows only).
    pub credits: Option<CreditSchedule>,
    /// Its position among its tenant's clauses in the scenario: with the
    /// tenant's name it names the clause's own random stream (the sampled
    /// evaluation of an eval pass rate clause), the same in the simulator
    /// and in `judge` whichever clauses either leaves out.
    pub ordinal: usize,
}

impl Clause {
    /// Every clause of a validated scenario, tenant by tenant, in file order.
    pub fn all(scenario: &Scenario) -> Vec<Clause> {
        let mut out = Vec::new();
        for (ti, t) in scenario.tenants.iter().enumerate() {
            for (ordinal, c) in t.clauses.iter().enumerate() {
                if let Some(clause) = Clause::resolve(ti, ordinal, t, c) {
                    out.push(clause);
                }
            }
        }
        out
    }

    fn resolve(ti: usize, ordinal: usize, tenant: &scenario::Tenant, c: &scenario::Clause) -> Option<Clause> {
        let workflow = match &c.workflow {
            Some(name) => Some(tenant.workflows.iter().position(|w| &w.name == name)?),
            None => None,
        };
        let latency = || -> Option<ClauseKind> {
            Some(ClauseKind::Latency {
                percentile: c.percentile?,
                threshold: c.threshold?,
            })
        };
        let (unit, kind) = match c.metric {
            ClauseMetric::Latency => (Unit::Call, latency()?),
            ClauseMetric::Availability => (Unit::Call, ClauseKind::Availability { target: c.target? }),
            ClauseMetric::TaskLatency => (Unit::Task, latency()?),
            ClauseMetric::TaskAvailability => (Unit::Task, ClauseKind::Availability { target: c.target? }),
            ClauseMetric::Degradation => (
                Unit::Call,
                ClauseKind::Degradation {
                    tier: c.tier?,
                    max_share: c.target?,
                },
            ),
            ClauseMetric::Uptime => (
                Unit::Call,
                ClauseKind::Uptime {
                    target: c.target?,
                    max_error_ratio: c.max_error_ratio.unwrap_or(0.0),
                },
            ),
            ClauseMetric::FallbackTime => (
                Unit::Call,
                ClauseKind::FallbackTime {
                    percentile: c.percentile.unwrap_or(100.0),
                    threshold: c.threshold?,
                },
            ),
            ClauseMetric::Notification => (
                Unit::Call,
                ClauseKind::Notification {
                    percentile: c.percentile.unwrap_or(100.0),
                    threshold: c.threshold?,
                },
            ),
            ClauseMetric::Cost => (
                Unit::Task,
                ClauseKind::Cost {
                    budget: c.budget?,
                    per: c.per.unwrap_or_default(),
                },
            ),
            ClauseMetric::Throughput => (Unit::Call, ClauseKind::Throughput { rpm: c.rpm? }),
            ClauseMetric::Ttft => (
                Unit::Call,
                ClauseKind::Ttft {
                    percentile: c.percentile?,
                    threshold: c.threshold?,
                },
            ),
            ClauseMetric::EvalPassRate => (
                Unit::Call,
                ClauseKind::EvalPassRate {
                    target: c.target?,
                    samples: c.samples?,
                },
            ),
            ClauseMetric::MeanQuality => (Unit::Call, ClauseKind::MeanQuality { target: c.target? }),
        };
        Some(Clause {
            tenant: ti,
            tenant_name: tenant.name.clone(),
            workflow,
            unit,
            kind,
            period: c.window.unwrap_or_default(),
            credits: credit_schedule(c),
            ordinal,
        })
    }

    /// The clause in words, e.g. `p95 call latency <= 800ms`, in the
    /// one-line grammar (it parses back to the same clause).
    pub fn describe(&self, scenario: &Scenario) -> String {
        let scope = match self.workflow {
            Some(w) => format!(" for workflow {}", scenario.tenants[self.tenant].workflows[w].name),
            None => String::new(),
        };
        let period = match self.period {
            Period::Month => String::new(),
            p => format!(" per {p}"),
        };
        let body = match self.kind {
            ClauseKind::Latency { percentile, threshold } => {
                format!(
                    "p{} {} latency <= {threshold}",
                    trim_float(percentile),
                    self.unit_name()
                )
            }
            ClauseKind::Ttft { percentile, threshold } => {
                format!("p{} time to first token <= {threshold}", trim_float(percentile))
            }
            ClauseKind::Availability { target } => match self.unit {
                Unit::Call => format!("availability >= {}%", trim_pct(target)),
                Unit::Task => format!("task success >= {}%", trim_pct(target)),
            },
            ClauseKind::Degradation { tier, max_share } => {
                format!("calls below tier {tier} <= {}%", trim_pct(max_share))
            }
            ClauseKind::Uptime {
                target,
                max_error_ratio,
            } => format!(
                "uptime >= {}% with error ratio <= {}%",
                trim_pct(target),
                trim_pct(max_error_ratio)
            ),
            ClauseKind::FallbackTime { percentile, threshold } => {
                format!("{}fallback time <= {threshold}", percentile_prefix(percentile))
            }
            ClauseKind::Notification { percentile, threshold } => {
                format!("{}notification time <= {threshold}", percentile_prefix(percentile))
            }
            ClauseKind::Cost { budget, per } => format!(
                "cost per {} <= ${}",
                match per {
                    CostBasis::Task => "task",
                    CostBasis::Window => "window",
                },
                trim_float(budget)
            ),
            ClauseKind::Throughput { rpm } => format!("throughput >= {} rpm", trim_float(rpm)),
            ClauseKind::EvalPassRate { target, samples } => {
                format!("eval pass rate >= {}% with {samples} samples", trim_pct(target))
            }
            ClauseKind::MeanQuality { target } => format!("mean quality >= {}", trim_float(target)),
        };
        format!("{body}{scope}{period}")
    }

    /// The credit schedule in the one-line grammar's words, e.g. `fee
    /// $20000 credit 10% below 99.9%, 25% below 99%` (it follows the
    /// clause: [`Clause::describe`], a space, then this parse back together).
    pub fn describe_credits(&self) -> Option<String> {
        let schedule = self.credits.as_ref()?;
        let word = match self.direction() {
            Direction::AtLeast => "below",
            Direction::AtMost => "above",
        };
        let steps: Vec<String> = schedule
            .steps
            .iter()
            .map(|s| format!("{}% {word} {}", trim_pct(s.share), self.format_level(s.level)))
            .collect();
        Some(format!(
            "fee ${} credit {}",
            trim_float(schedule.monthly_fee),
            steps.join(", ")
        ))
    }

    /// The clause and its credit schedule, as a contract writes it.
    pub fn describe_contract(&self, scenario: &Scenario) -> String {
        match self.describe_credits() {
            Some(credits) => format!("{} {credits}", self.describe(scenario)),
            None => self.describe(scenario),
        }
    }

    /// A level in the clause's value unit, as the grammar writes it.
    fn format_level(&self, level: f64) -> String {
        if matches!(self.kind, ClauseKind::MeanQuality { .. }) {
            return trim_float(level);
        }
        match self.value_unit() {
            "ms" => Span::from_nanos((level * 1e6).round() as u64).to_string(),
            "usd" => format!("${}", trim_float(level)),
            _ => format!("{}%", trim_pct(level)),
        }
    }

    fn unit_name(&self) -> &'static str {
        match self.unit {
            Unit::Call => "call",
            Unit::Task => "task",
        }
    }

    /// The kind's name in outputs: `latency`, `ttft`, `availability`,
    /// `uptime`, `fallback_time`, `notification`, `degradation`, `cost`,
    /// `throughput`, `eval_pass_rate`, `mean_quality`.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            ClauseKind::Latency { .. } => "latency",
            ClauseKind::Ttft { .. } => "ttft",
            ClauseKind::Availability { .. } => "availability",
            ClauseKind::Degradation { .. } => "degradation",
            ClauseKind::Uptime { .. } => "uptime",
            ClauseKind::FallbackTime { .. } => "fallback_time",
            ClauseKind::Notification { .. } => "notification",
            ClauseKind::Cost { .. } => "cost",
            ClauseKind::Throughput { .. } => "throughput",
            ClauseKind::EvalPassRate { .. } => "eval_pass_rate",
            ClauseKind::MeanQuality { .. } => "mean_quality",
        }
    }

    /// Short metric name for tables: `p95 latency`, `availability`.
    pub fn metric_name(&self) -> String {
        match self.kind {
            ClauseKind::Latency { percentile, .. } => match self.unit {
                Unit::Call => format!("p{} latency", trim_float(percentile)),
                Unit::Task => format!("p{} task latency", trim_float(percentile)),
            },
            ClauseKind::Ttft { percentile, .. } => format!("p{} ttft", trim_float(percentile)),
            ClauseKind::Availability { .. } => match self.unit {
                Unit::Call => "availability".to_string(),
                Unit::Task => "task success".to_string(),
            },
            ClauseKind::Degradation { tier, .. } => format!("below tier {tier}"),
            ClauseKind::Uptime { .. } => "uptime".to_string(),
            ClauseKind::FallbackTime { percentile, .. } => format!("{}fallback time", percentile_prefix(percentile)),
            ClauseKind::Notification { percentile, .. } => {
                format!("{}notification time", percentile_prefix(percentile))
            }
            ClauseKind::Cost { per, .. } => match per {
                CostBasis::Task => "cost per task".to_string(),
                CostBasis::Window => "cost per window".to_string(),
            },
            ClauseKind::Throughput { .. } => "throughput".to_string(),
            ClauseKind::EvalPassRate { .. } => "eval pass rate".to_string(),
            ClauseKind::MeanQuality { .. } => "mean quality".to_string(),
        }
    }

    /// Whether the metric must stay at most or at least the threshold.
    pub fn direction(&self) -> Direction {
        match self.kind {
            ClauseKind::Latency { .. }
            | ClauseKind::Ttft { .. }
            | ClauseKind::Degradation { .. }
            | ClauseKind::FallbackTime { .. }
            | ClauseKind::Notification { .. }
            | ClauseKind::Cost { .. } => Direction::AtMost,
            ClauseKind::Availability { .. }
            | ClauseKind::Uptime { .. }
            | ClauseKind::Throughput { .. }
            | ClauseKind::EvalPassRate { .. }
            | ClauseKind::MeanQuality { .. } => Direction::AtLeast,
        }
    }

    /// The unit of [`Attainment::value`](super::Attainment) and of
    /// [`Clause::threshold_value`]: `ms`, `ratio` or `usd`.
    pub fn value_unit(&self) -> &'static str {
        match self.kind {
            ClauseKind::Latency { .. }
            | ClauseKind::Ttft { .. }
            | ClauseKind::FallbackTime { .. }
            | ClauseKind::Notification { .. } => "ms",
            ClauseKind::Cost { .. } => "usd",
            ClauseKind::Availability { .. }
            | ClauseKind::Degradation { .. }
            | ClauseKind::Uptime { .. }
            | ClauseKind::Throughput { .. }
            | ClauseKind::EvalPassRate { .. }
            | ClauseKind::MeanQuality { .. } => "ratio",
        }
    }

    /// The threshold in the units of [`Attainment::value`](super::Attainment):
    /// milliseconds for latencies, a ratio for availability, uptime,
    /// shares, pass rates and mean quality, USD for cost; 1 for throughput
    /// (every minute in contract).
    pub fn threshold_value(&self) -> f64 {
        match self.kind {
            ClauseKind::Latency { threshold, .. }
            | ClauseKind::Ttft { threshold, .. }
            | ClauseKind::FallbackTime { threshold, .. }
            | ClauseKind::Notification { threshold, .. } => threshold.as_millis_f64(),
            ClauseKind::Availability { target }
            | ClauseKind::Uptime { target, .. }
            | ClauseKind::EvalPassRate { target, .. }
            | ClauseKind::MeanQuality { target } => target,
            ClauseKind::Degradation { max_share, .. } => max_share,
            ClauseKind::Cost { budget, .. } => budget,
            ClauseKind::Throughput { .. } => 1.0,
        }
    }

    /// The error-budget target of availability-like clauses (availability,
    /// task success, uptime): the budget is `(1 - target)` of the window's
    /// eligible events (calls, tasks or minutes).
    pub fn budget_target(&self) -> Option<f64> {
        match self.kind {
            ClauseKind::Availability { target } | ClauseKind::Uptime { target, .. } => Some(target),
            _ => None,
        }
    }

    /// Whether the metric is a latency-like distribution (its pooled CDF is
    /// an output): call or task latency, time to first token, fallback
    /// time, notification time.
    pub fn is_latency_like(&self) -> bool {
        self.latency_threshold().is_some()
    }

    /// The ceiling of a latency-like clause.
    pub fn latency_threshold(&self) -> Option<Span> {
        match self.kind {
            ClauseKind::Latency { threshold, .. }
            | ClauseKind::Ttft { threshold, .. }
            | ClauseKind::FallbackTime { threshold, .. }
            | ClauseKind::Notification { threshold, .. } => Some(threshold),
            _ => None,
        }
    }
}

/// The schedule of a validated clause: levels in the clause's value unit.
fn credit_schedule(c: &scenario::Clause) -> Option<CreditSchedule> {
    let steps = c.credits.as_ref()?;
    Some(CreditSchedule {
        monthly_fee: c.monthly_fee?,
        steps: steps
            .iter()
            .filter_map(|s| {
                let level = match s.below.or(s.above)? {
                    StepLevel::Number(x) => x,
                    StepLevel::Duration(d) => d.as_millis_f64(),
                };
                Some(CreditStep { level, share: s.credit })
            })
            .collect(),
    })
}

/// `p99 ` for a percentile below 100, nothing for 100 (every event).
fn percentile_prefix(percentile: f64) -> String {
    if percentile >= 100.0 {
        String::new()
    } else {
        format!("p{} ", trim_float(percentile))
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
