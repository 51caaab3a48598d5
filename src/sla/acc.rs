//! One clause's statistics over one bucket of its windows (merged into a
//! window at the end), and the judgement of a window from them.
//!
//! Latency-like clauses keep an HDR histogram for the value they report and,
//! beside it, two exact figures: how many successful events were at or under
//! the clause's own threshold, and the largest one. A ceiling is judged from
//! the exact count, so a value met exactly (every fallback in exactly 50 ms
//! against "within 50 ms") holds, and a value above it never does.

use hdrhistogram::Histogram;

use super::{Cause, Clause, ClauseKind, CostBasis, Unit};
use crate::time::{Span, Time};

pub(super) const HOUR_NANOS: u64 = 3_600_000_000_000;

#[derive(Clone)]
pub(super) struct Acc {
    pub(super) eligible: u64,
    pub(super) succeeded: u64,
    /// Calls or tasks still open when the run ended: never served, never
    /// failed. They rank above every served event of a latency-like clause.
    pub(super) open: u64,
    /// Latency-like clauses: successful latencies in microseconds, rounded
    /// up, so a bucket's top is never below a value it holds.
    pub(super) latency_us: Option<Histogram<u64>>,
    /// Latency-like clauses: successful events at or under the clause's
    /// threshold, counted exactly (nanoseconds).
    pub(super) within: u64,
    /// Latency-like clauses: the largest successful value, exactly (ns).
    pub(super) max_ns: u64,
    /// Degradation: served calls by tier (0 to 4).
    pub(super) by_tier: [u64; 5],
    /// Cost: USD.
    pub(super) cost: f64,
    /// Uptime: down minutes; throughput: minutes whose contracted rate was
    /// not admitted.
    pub(super) bad_minutes: u64,
    /// Minutes in the bucket.
    pub(super) minutes: u64,
    /// Availability-like: (eligible, bad) per hour of the bucket.
    pub(super) hourly: Vec<[u64; 2]>,
    /// Bad events by cause.
    pub(super) causes: Vec<u64>,
    /// Quality clauses: calls per quality level (`quality::Levels`; level
    /// 0 is quality 0, the calls never served). Empty for other clauses.
    pub(super) by_level: Vec<u64>,
}

impl Acc {
    pub(super) fn new(clause: &Clause, start: Time, end: Time, n_causes: usize, n_levels: usize) -> Acc {
        let span = end.as_nanos() - start.as_nanos();
        let latency_us = clause.is_latency_like().then(|| {
            // 3 significant digits: a percentile is exact to within 0.1%.
            Histogram::new(3).unwrap_or_else(|_| unreachable!("3 significant digits is a valid precision"))
        });
        let hours = if clause.budget_target().is_some() {
            span.div_ceil(HOUR_NANOS) as usize
        } else {
            0
        };
        let blamed = !(clause.unit == Unit::Task || matches!(clause.kind, ClauseKind::Cost { .. }));
        Acc {
            eligible: 0,
            succeeded: 0,
            open: 0,
            latency_us,
            within: 0,
            max_ns: 0,
            by_tier: [0; 5],
            cost: 0.0,
            bad_minutes: 0,
            minutes: span.div_ceil(super::minutes::MINUTE_NANOS),
            hourly: vec![[0; 2]; hours],
            causes: vec![0; if blamed { n_causes } else { 0 }],
            by_level: if super::quality::is_quality(clause.kind) {
                vec![0; n_levels]
            } else {
                Vec::new()
            },
        }
    }

    pub(super) fn merge(&mut self, o: &Acc) {
        self.eligible += o.eligible;
        self.succeeded += o.succeeded;
        self.open += o.open;
        if let (Some(a), Some(b)) = (self.latency_us.as_mut(), o.latency_us.as_ref()) {
            // Same precision, auto-resizing: adding cannot fail.
            let _ = a.add(b);
        }
        self.within += o.within;
        self.max_ns = self.max_ns.max(o.max_ns);
        for (a, b) in self.by_tier.iter_mut().zip(o.by_tier) {
            *a += b;
        }
        self.cost += o.cost;
        self.bad_minutes += o.bad_minutes;
        self.minutes += o.minutes;
        self.hourly.extend_from_slice(&o.hourly);
        for (a, b) in self.causes.iter_mut().zip(&o.causes) {
            *a += b;
        }
        for (a, b) in self.by_level.iter_mut().zip(&o.by_level) {
            *a += b;
        }
    }

    pub(super) fn blame(&mut self, cause: Cause) {
        let n = self.causes.len();
        if n == 0 {
            return;
        }
        let i = match cause {
            Cause::Endpoint { index, outage } => 2 * index as usize + usize::from(outage),
            Cause::Router => n - 1,
        };
        if let Some(c) = self.causes.get_mut(i) {
            *c += 1;
        }
    }

    pub(super) fn hour(&mut self, bucket_start: Time, at: Time, bad: bool) {
        let h = ((at.as_nanos() - bucket_start.as_nanos()) / HOUR_NANOS) as usize;
        if let Some(slot) = self.hourly.get_mut(h) {
            slot[0] += 1;
            slot[1] += u64::from(bad);
        }
    }

    /// A successful latency-like event of `value` against `threshold`.
    pub(super) fn latency(&mut self, value: Span, threshold: Span) {
        self.succeeded += 1;
        let ns = value.as_nanos();
        if let Some(h) = self.latency_us.as_mut() {
            // Auto-resizing: the histogram grows to the largest value seen.
            // Zero is a valid delay: recorded as the smallest value.
            let _ = h.record(ns.div_ceil(1000).max(1));
        }
        self.within += u64::from(value <= threshold);
        self.max_ns = self.max_ns.max(ns);
    }
}

/// (value, met, eligible, succeeded) of a clause over one window's statistics.
pub(super) fn judge(clause: &Clause, a: &Acc) -> (Option<f64>, bool, u64, u64) {
    match clause.kind {
        ClauseKind::Uptime { target, .. } => {
            let up = a.minutes - a.bad_minutes.min(a.minutes);
            if a.minutes == 0 {
                return (None, true, 0, 0);
            }
            let ratio = up as f64 / a.minutes as f64;
            return (Some(ratio), ratio >= target, a.minutes, up);
        }
        ClauseKind::Throughput { .. } => {
            if a.minutes == 0 {
                return (None, true, 0, 0);
            }
            let held = a.minutes - a.bad_minutes.min(a.minutes);
            return (Some(held as f64 / a.minutes as f64), held == a.minutes, a.minutes, held);
        }
        _ => {}
    }
    let (eligible, succeeded) = (a.eligible, a.succeeded);
    if eligible == 0 {
        return (None, true, 0, 0);
    }
    let (value, met) = match clause.kind {
        ClauseKind::Latency { percentile, threshold } | ClauseKind::Ttft { percentile, threshold } => {
            // Failed events are not in the distribution; open ones rank
            // above every served one (their latency is unknown, at least
            // the time they had been waiting when the run ended).
            let ranked = succeeded + a.open;
            if ranked == 0 {
                (None, false)
            } else {
                at_rank(a, rank(percentile, ranked), threshold)
            }
        }
        ClauseKind::FallbackTime { percentile, threshold } | ClauseKind::Notification { percentile, threshold } => {
            // Events that never happened rank above every delay: the
            // percentile is read over all eligible events.
            at_rank(a, rank(percentile, eligible), threshold)
        }
        ClauseKind::Availability { target } => {
            let ratio = succeeded as f64 / eligible as f64;
            (Some(ratio), ratio >= target)
        }
        ClauseKind::Degradation { tier, max_share } => {
            let served: u64 = a.by_tier.iter().sum();
            if served == 0 {
                // Calls came and none was served (failed, or still open):
                // nothing shows the floor held, as for a latency clause.
                return (None, false, eligible, succeeded);
            }
            let below: u64 = a.by_tier.iter().skip(usize::from(tier) + 1).sum();
            let share = below as f64 / served as f64;
            (Some(share), share <= max_share)
        }
        ClauseKind::Cost { budget, per } => {
            let v = match per {
                CostBasis::Task => a.cost / eligible as f64,
                CostBasis::Window => a.cost,
            };
            // The cost is a sum of floating-point prices: a budget met to
            // within rounding (a part in 10⁹) is met.
            (Some(v), v <= budget * (1.0 + 1e-9))
        }
        // Judged by `quality::judge` from the counts per level.
        ClauseKind::Uptime { .. }
        | ClauseKind::Throughput { .. }
        | ClauseKind::EvalPassRate { .. }
        | ClauseKind::MeanQuality { .. } => (None, true),
    };
    (value, met, eligible, succeeded)
}

/// The nearest rank of `percentile` among `n` events: ⌈p/100 × n⌉, at least 1.
fn rank(percentile: f64, n: u64) -> u64 {
    ((percentile / 100.0) * n as f64).ceil().clamp(1.0, n as f64) as u64
}

/// (value in ms, met) of the `rank`-th smallest event against `threshold`.
/// A rank beyond the successful events falls on an event with no value (a
/// call still open, a fallback or notice that never came): no value, not
/// met. Otherwise it is met exactly when at least `rank` successful events
/// were at or under the threshold. The value is the top of the histogram
/// bucket holding that event, lowered to the exact largest value and, when
/// met, to the threshold: always at or above the true value, and at or
/// under the threshold exactly when the clause is met.
fn at_rank(a: &Acc, rank: u64, threshold: Span) -> (Option<f64>, bool) {
    if rank > a.succeeded {
        return (None, false);
    }
    let met = a.within >= rank;
    let top_ms = a
        .latency_us
        .as_ref()
        .map_or(0.0, |h| top_us_at_rank(h, rank) as f64 / 1000.0);
    let mut ms = top_ms.min(a.max_ns as f64 / 1e6);
    if met {
        ms = ms.min(threshold.as_millis_f64());
    }
    (Some(ms), met)
}

/// The top of the bucket holding the `rank`-th smallest recorded value
/// (counted exactly, no quantile arithmetic).
fn top_us_at_rank(h: &Histogram<u64>, rank: u64) -> u64 {
    let mut seen = 0;
    for v in h.iter_recorded() {
        seen += v.count_at_value();
        if seen >= rank {
            return h.highest_equivalent(v.value_iterated_to());
        }
    }
    h.max()
}
