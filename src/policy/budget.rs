//! Error budgets: per-tenant availability accounting over fixed-size rings
//! of time buckets, burn rates over a short and a long window, and
//! multiwindow burn-rate alerts (as in the Google SRE workbook).
//!
//! Every call of a tenant with an `availability_target` that ends (served
//! or failed) is counted in the bucket of the instant it ended. Two rings
//! per tenant keep memory constant: a fine one spanning the alert windows
//! and a coarse one spanning the budget period.

use serde::{Deserialize, Serialize};

use crate::time::{Span, Time};

/// How error budgets are measured and when they alert.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetPolicy {
    /// The period the budget is spent over (the SLO period).
    #[serde(default = "default_period")]
    pub period: Span,
    /// The short alert window.
    #[serde(default = "default_short")]
    pub short_window: Span,
    /// The long alert window.
    #[serde(default = "default_long")]
    pub long_window: Span,
    /// Burn-rate thresholds: an alert is raised for a threshold when the
    /// burn rates over both windows reach it (at most once per threshold
    /// per short window).
    #[serde(default = "default_alerts")]
    pub alert_burn_rates: Vec<f64>,
}

fn default_period() -> Span {
    Span::from_days(30)
}
fn default_short() -> Span {
    Span::from_hours(1)
}
fn default_long() -> Span {
    Span::from_hours(6)
}
fn default_alerts() -> Vec<f64> {
    vec![14.4, 6.0]
}

impl Default for BudgetPolicy {
    /// A 30-day period, 1 h and 6 h windows, alerts at burn rates 14.4 and 6.
    fn default() -> Self {
        BudgetPolicy {
            period: default_period(),
            short_window: default_short(),
            long_window: default_long(),
            alert_burn_rates: default_alerts(),
        }
    }
}

/// A tenant's error budget as of the router's latest input.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct BudgetStatus {
    /// The share of the period's error budget left: 1 with no failure,
    /// 0 when failures reach `(1 - target)` of the calls, negative beyond.
    pub remaining: f64,
    /// Failure ratio over the short window divided by `1 - target`.
    pub burn_rate_short: f64,
    /// Failure ratio over the long window divided by `1 - target`.
    pub burn_rate_long: f64,
    /// Calls counted over the period.
    pub calls: u64,
    /// Failed calls counted over the period.
    pub failed: u64,
}

/// Buckets in the fine ring (alert windows) and the coarse ring (period).
const FINE: u64 = 360;
const COARSE: u64 = 720;

/// A ring of `(bucket number, calls, failed)` buckets of one width.
#[derive(Clone, Debug)]
struct Ring {
    width: u64,
    buckets: Vec<(u64, u64, u64)>,
    /// The bucket the last call was added to: its number, its span
    /// `[start, end)` in nanoseconds and its position in `buckets`, so
    /// that the calls inside one bucket need no division.
    last: (u64, u64, u64, usize),
}

impl Ring {
    /// A ring whose `n` buckets span at least `span`.
    fn new(span: Span, n: u64) -> Ring {
        let width = span.as_nanos().div_ceil(n).max(1);
        Ring {
            width,
            buckets: vec![(u64::MAX, 0, 0); n as usize + 1],
            last: (0, 0, 0, 0),
        }
    }

    fn add(&mut self, at: Time, failed: bool) {
        let ns = at.as_nanos();
        let (k, start, end, pos) = self.last;
        let (k, pos) = if start <= ns && ns < end {
            (k, pos)
        } else {
            let k = ns / self.width;
            let pos = (k % self.buckets.len() as u64) as usize;
            let start = k.saturating_mul(self.width);
            self.last = (k, start, start.saturating_add(self.width), pos);
            (k, pos)
        };
        let b = &mut self.buckets[pos];
        if b.0 != k {
            *b = (k, 0, 0);
        }
        b.1 += 1;
        b.2 += u64::from(failed);
    }

    /// Calls and failures in the buckets overlapping the `span` up to `now`.
    fn sum(&self, now: Time, span: Span) -> (u64, u64) {
        let k = now.as_nanos() / self.width;
        let len = self.buckets.len() as u64;
        let n = span.as_nanos().div_ceil(self.width).clamp(1, len);
        let lo = k.saturating_sub(n - 1);
        self.buckets
            .iter()
            .filter(|b| b.0 >= lo && b.0 <= k)
            .fold((0, 0), |(c, f), b| (c + b.1, f + b.2))
    }
}

/// One tenant's budget accounting.
#[derive(Clone, Debug)]
pub(crate) struct Budget {
    /// `1 - target`: the failure share the budget allows.
    allowed: f64,
    fine: Ring,
    coarse: Ring,
    /// When each threshold last alerted.
    alerted: Vec<Option<Time>>,
}

/// Alert values: `(burn_rate_short, burn_rate_long, threshold)`.
pub(crate) type Alert = (f64, f64, f64);

impl Budget {
    /// Accounting for availability `target` (0 < target < 1).
    pub fn new(target: f64, policy: &BudgetPolicy) -> Budget {
        Budget {
            allowed: 1.0 - target,
            fine: Ring::new(policy.short_window.max(policy.long_window), FINE),
            coarse: Ring::new(policy.period, COARSE),
            alerted: vec![None; policy.alert_burn_rates.len()],
        }
    }

    fn burn(&self, (calls, failed): (u64, u64)) -> f64 {
        if calls == 0 {
            0.0
        } else {
            failed as f64 / calls as f64 / self.allowed
        }
    }

    /// The status as of `now`.
    pub fn status(&self, now: Time, policy: &BudgetPolicy) -> BudgetStatus {
        let (calls, failed) = self.coarse.sum(now, policy.period);
        let remaining = if calls == 0 {
            1.0
        } else {
            1.0 - failed as f64 / (self.allowed * calls as f64)
        };
        BudgetStatus {
            remaining,
            burn_rate_short: self.burn(self.fine.sum(now, policy.short_window)),
            burn_rate_long: self.burn(self.fine.sum(now, policy.long_window)),
            calls,
            failed,
        }
    }

    /// Counts a call that ended at `now`; on a failure, returns the alerts
    /// it raises.
    pub fn record(&mut self, now: Time, failed: bool, policy: &BudgetPolicy) -> Vec<Alert> {
        self.fine.add(now, failed);
        self.coarse.add(now, failed);
        let mut alerts = Vec::new();
        if !failed {
            return alerts;
        }
        let short = self.burn(self.fine.sum(now, policy.short_window));
        let long = self.burn(self.fine.sum(now, policy.long_window));
        for (i, &threshold) in policy.alert_burn_rates.iter().enumerate() {
            let quiet = self.alerted[i].is_none_or(|t| now >= t.saturating_add(policy.short_window));
            if quiet && short >= threshold && long >= threshold {
                self.alerted[i] = Some(now);
                alerts.push((short, long, threshold));
            }
        }
        alerts
    }
}
