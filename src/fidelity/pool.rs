//! `slaplan fidelity-pool`: several fidelity runs of one scenario, each an
//! independent measured draw (a run at its own seed), combined into one
//! estimate of each figure's bias and whether its goal is decided.
//!
//! One run cannot decide "within 5 %" for a queue-dominated tail: its
//! prediction interval is wider than the goal. With `n` runs, the bias of
//! a figure is estimated by the mean of the runs' errors `e_k` (measured
//! less predicted, relative to the prediction for latencies, absolute for
//! availability). Each measured run varies as one replication does, and
//! each prediction is the mean of `R_k` replications with standard
//! deviation `s_k`, so `Var(e_k) = s_k² (1 + 1/R_k)` (`s_k` relative to the
//! prediction for a relative error), and the interval of the bias is
//!
//! ```text
//! mean(e) ± t(df) · √(Σ s_k² (1 + 1/R_k)) / n,    df = Σ (R_k − 1)
//! ```
//!
//! (the runs' replications pooled for the degrees of freedom). A goal is
//! **decided within** when the whole interval lies in `[−g, g]`, **decided
//! outside** when none of it does, and undecided otherwise. For an
//! undecided figure, [`Pooled::runs_to_decide`] is the smallest number of
//! runs `N` whose interval would lie within `±g` if the bias were nil:
//! `t(N·r̄) · √(v̄ / N) ≤ g`, with `v̄` and `r̄` the runs' mean variance and
//! degrees of freedom, i.e. `N ≈ (t · s / g)²`.
//!
//! Goals (issue 12): call latency `p50_ms`, `p95_ms`, `p99_ms` and latency
//! or TTFT clauses within 5 % of the prediction ([`LATENCY_GOAL`],
//! relative); availability and availability clauses within 0.1 percentage
//! point ([`AVAILABILITY_GOAL`], absolute). Other clauses get their errors
//! and interval (relative) but no decision.
//!
//! [`read`] reads the runs' output directories and checks that they are
//! runs of one scenario; this module computes and formats. It writes and
//! prints nothing (the CLI does).

mod read;

use statrs::distribution::{ContinuousCDF, StudentsT};

pub use read::{MeasuredRun, PoolError, figures, read_run};

use super::compare::CLAUSE_PREFIX;

/// The latency goal: within 5 % of the prediction.
pub const LATENCY_GOAL: f64 = 0.05;

/// The availability goal: within 0.1 percentage point (availability is a
/// fraction, so 0.001).
pub const AVAILABILITY_GOAL: f64 = 0.001;

/// What a figure must agree to.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Goal {
    /// Within this fraction of the prediction (errors relative).
    Relative(f64),
    /// Within this much of the prediction, in the figure's unit (errors
    /// absolute).
    Absolute(f64),
    /// No goal: errors relative to the prediction, nothing decided.
    None,
}

impl Goal {
    /// The goal of a figure row (`p95_ms`, `availability`, ...); for a
    /// clause row, of the clause's `kind` (as `summary.csv` names it).
    pub fn of(metric: &str, clause_kind: Option<&str>) -> Goal {
        if metric.starts_with(CLAUSE_PREFIX) {
            return match clause_kind {
                Some("latency" | "ttft") => Goal::Relative(LATENCY_GOAL),
                Some("availability") => Goal::Absolute(AVAILABILITY_GOAL),
                _ => Goal::None,
            };
        }
        match metric {
            "p50_ms" | "p95_ms" | "p99_ms" => Goal::Relative(LATENCY_GOAL),
            "availability" => Goal::Absolute(AVAILABILITY_GOAL),
            _ => Goal::None,
        }
    }

    fn bound(self) -> Option<f64> {
        match self {
            Goal::Relative(g) | Goal::Absolute(g) => Some(g),
            Goal::None => None,
        }
    }

    fn is_absolute(self) -> bool {
        matches!(self, Goal::Absolute(_))
    }
}

/// One run's values of a figure, as its `fidelity.csv` gives them.
#[derive(Clone, Debug, PartialEq)]
pub struct RunValue {
    /// The prediction (mean of the replications).
    pub predicted: f64,
    /// The replications' standard deviation.
    pub sd: f64,
    /// The replications that had a value.
    pub replications: u32,
    /// What the gateway's log gave, if anything.
    pub measured: Option<f64>,
}

impl RunValue {
    /// The error and its variance `s² (1 + 1/R)` under `goal` (relative
    /// unless absolute), with the replications' degrees of freedom; `None`
    /// without a measurement, or for a relative error of a zero prediction.
    fn error(&self, goal: Goal) -> Option<(f64, f64, u64)> {
        let measured = self.measured?;
        let scale = if goal.is_absolute() {
            1.0
        } else if self.predicted != 0.0 {
            self.predicted.abs()
        } else {
            return None;
        };
        let error = (measured - self.predicted) / scale;
        let r = f64::from(self.replications.max(1));
        let variance = (self.sd / scale).powi(2) * (1.0 + 1.0 / r);
        Some((error, variance, u64::from(self.replications.saturating_sub(1))))
    }
}

/// A figure across the runs, in the order the runs were given.
#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    /// The tenant.
    pub tenant: String,
    /// The figure (`p95_ms`, `availability`, `clause: ...`).
    pub metric: String,
    /// What it must agree to.
    pub goal: Goal,
    /// Each run's values; `None` for a run without this row.
    pub runs: Vec<Option<RunValue>>,
}

/// Whether the pooled interval decides the goal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// The whole interval lies within the goal.
    Within,
    /// None of the interval lies within the goal.
    Outside,
    /// The interval straddles a bound of the goal (or is unbounded).
    Undecided,
    /// The figure has no goal.
    NoGoal,
    /// No run has a measured value.
    NoData,
}

impl Decision {
    /// Its name in `fidelity-pooled.csv`.
    pub fn name(self) -> &'static str {
        match self {
            Decision::Within => "within",
            Decision::Outside => "outside",
            Decision::Undecided => "undecided",
            Decision::NoGoal => "no goal",
            Decision::NoData => "no data",
        }
    }
}

/// A figure's runs combined.
#[derive(Clone, Debug, PartialEq)]
pub struct Pooled {
    /// The tenant.
    pub tenant: String,
    /// The figure.
    pub metric: String,
    /// What it must agree to.
    pub goal: Goal,
    /// Each run's error (relative or absolute, as the goal says).
    pub errors: Vec<Option<f64>>,
    /// The runs with an error.
    pub runs: usize,
    /// The mean error: the estimated bias.
    pub mean_error: Option<f64>,
    /// The bias's interval; `None` when it is unbounded (no degrees of
    /// freedom: every run had one replication).
    pub interval: Option<(f64, f64)>,
    /// Degrees of freedom of the interval's t.
    pub degrees_of_freedom: u64,
    /// Whether the goal is decided.
    pub decision: Decision,
    /// For an undecided figure: how many runs in all would decide it if
    /// the bias were nil.
    pub runs_to_decide: Option<u64>,
}

impl Pooled {
    /// Runs beyond the present ones that would decide the figure if the
    /// bias were nil (0 when the present number would, were it not for the
    /// mean error).
    pub fn more_runs(&self) -> Option<u64> {
        self.runs_to_decide.map(|n| n.saturating_sub(self.runs as u64))
    }
}

/// Student's t quantile at two-sided `level` with `df` degrees of freedom.
fn t_quantile(df: f64, level: f64) -> f64 {
    StudentsT::new(0.0, 1.0, df)
        .map(|d| d.inverse_cdf(0.5 + level / 2.0))
        .unwrap_or(f64::INFINITY)
}

/// Combines `figure`'s runs at `level` (e.g. 0.95).
pub fn pool(figure: &Figure, level: f64) -> Pooled {
    let per_run: Vec<Option<(f64, f64, u64)>> = figure
        .runs
        .iter()
        .map(|r| r.as_ref().and_then(|r| r.error(figure.goal)))
        .collect();
    let present: Vec<(f64, f64, u64)> = per_run.iter().flatten().copied().collect();
    let n = present.len();
    let mut pooled = Pooled {
        tenant: figure.tenant.clone(),
        metric: figure.metric.clone(),
        goal: figure.goal,
        errors: per_run.iter().map(|e| e.map(|(e, _, _)| e)).collect(),
        runs: n,
        mean_error: None,
        interval: None,
        degrees_of_freedom: 0,
        decision: Decision::NoData,
        runs_to_decide: None,
    };
    if n == 0 {
        return pooled;
    }
    let mean = present.iter().map(|p| p.0).sum::<f64>() / n as f64;
    let variance: f64 = present.iter().map(|p| p.1).sum();
    let df: u64 = present.iter().map(|p| p.2).sum();
    pooled.mean_error = Some(mean);
    pooled.degrees_of_freedom = df;
    if df > 0 {
        let half = t_quantile(df as f64, level) * variance.sqrt() / n as f64;
        pooled.interval = Some((mean - half, mean + half));
    }
    let Some(g) = figure.goal.bound() else {
        pooled.decision = Decision::NoGoal;
        return pooled;
    };
    pooled.decision = match pooled.interval {
        Some((low, high)) if -g <= low && high <= g => Decision::Within,
        Some((low, high)) if high < -g || low > g => Decision::Outside,
        _ => Decision::Undecided,
    };
    if pooled.decision == Decision::Undecided && df > 0 {
        pooled.runs_to_decide = runs_to_decide(variance / n as f64, df as f64 / n as f64, g, level);
    }
    pooled
}

/// The smallest number of runs `N` with `t(N·dof) · √(variance / N) ≤ g`
/// (`variance` and `dof` per run); `None` beyond 2⁴⁰ runs.
fn runs_to_decide(variance: f64, dof: f64, g: f64, level: f64) -> Option<u64> {
    let decides = |n: u64| t_quantile(n as f64 * dof, level) * (variance / n as f64).sqrt() <= g;
    let mut high = 1u64;
    while !decides(high) {
        if high >= 1 << 40 {
            return None;
        }
        high *= 2;
    }
    // `decides` is monotone in N: the smallest N is in (high / 2, high].
    let mut low = high / 2;
    while high - low > 1 {
        let mid = low + (high - low) / 2;
        if decides(mid) { high = mid } else { low = mid }
    }
    Some(high)
}

/// A number to 6 significant digits (as `fidelity.csv` writes them).
fn num(x: f64) -> String {
    let digits = if x == 0.0 || !x.is_finite() {
        0
    } else {
        (5 - x.abs().log10().floor() as i32).clamp(0, 12) as usize
    };
    let s = format!("{x:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

fn csv_text(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// `fidelity-pooled.csv`: per tenant and figure, the goal (`relative`,
/// `absolute` or `none`, and its bound), the runs with a value, each run's
/// error (`;`-separated in the runs' order, empty for a run without one),
/// the mean error, the bias's interval, its degrees of freedom, the
/// decision, and for an undecided figure the runs that would decide it if
/// the bias were nil (in all, and more than now).
pub fn pooled_csv(rows: &[Pooled]) -> Vec<u8> {
    let opt = |x: Option<f64>| x.map_or(String::new(), num);
    let count = |x: Option<u64>| x.map_or(String::new(), |n| n.to_string());
    let mut out = String::from(
        "tenant,metric,goal,goal_bound,runs,errors,mean_error,interval_low,interval_high,degrees_of_freedom,\
         decided,runs_to_decide,more_runs\n",
    );
    for r in rows {
        let (kind, bound) = match r.goal {
            Goal::Relative(g) => ("relative", num(g)),
            Goal::Absolute(g) => ("absolute", num(g)),
            Goal::None => ("none", String::new()),
        };
        let errors: Vec<String> = r.errors.iter().map(|e| opt(*e)).collect();
        out.push_str(&format!(
            "{},{},{kind},{bound},{},{},{},{},{},{},{},{},{}\n",
            csv_text(&r.tenant),
            csv_text(&r.metric),
            r.runs,
            errors.join(";"),
            opt(r.mean_error),
            opt(r.interval.map(|i| i.0)),
            opt(r.interval.map(|i| i.1)),
            r.degrees_of_freedom,
            r.decision.name(),
            count(r.runs_to_decide),
            count(r.more_runs()),
        ));
    }
    out.into_bytes()
}

/// An error as the terminal table shows it: `+2.9 %` (relative) or
/// `-0.064 pp` (absolute, of a fraction).
fn show(goal: Goal, x: f64) -> String {
    if goal.is_absolute() {
        format!("{:+.3} pp", x * 100.0)
    } else {
        format!("{:+.1} %", x * 100.0)
    }
}

/// The terminal table: one line per figure, as FIDELITY.md's tables.
pub fn pooled_table(rows: &[Pooled], level: f64) -> String {
    let mut lines = vec![format!(
        "{:<14} {:<34} {:<24} {:>10}  {:<26} {:<10} {}",
        "tenant",
        "figure",
        "errors of the runs",
        "mean",
        format!("{} % interval", num(level * 100.0)),
        "decided",
        "runs to decide (bias nil)"
    )];
    for r in rows {
        let errors: Vec<String> = r
            .errors
            .iter()
            .map(|e| e.map_or("-".to_string(), |e| show(r.goal, e)))
            .collect();
        let mean = r.mean_error.map_or("-".to_string(), |m| show(r.goal, m));
        let interval = r.interval.map_or("-".to_string(), |(lo, hi)| {
            format!("{} to {}", show(r.goal, lo), show(r.goal, hi))
        });
        let decide = match (r.runs_to_decide, r.more_runs()) {
            (Some(n), Some(more)) => format!("{n} ({more} more)"),
            _ => String::new(),
        };
        lines.push(format!(
            "{:<14} {:<34} {:<24} {:>10}  {:<26} {:<10} {}",
            r.tenant,
            r.metric,
            errors.join(", "),
            mean,
            interval,
            r.decision.name(),
            decide
        ));
    }
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests;
