//! Streaming per-window statistics for every clause, and their judgement.
//!
//! The world reports events (a call submitted or finished, a task finished,
//! a fallback, a degradation notice, a cost); the recorder adds each to the
//! buckets of the clauses covering its tenant and workflow. Memory is fixed
//! by the clauses and the period, never by the number of events.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::{Clause, ClauseKind, CostBasis, Layout, Unit};
use crate::time::{Span, Time};

const MINUTE_NANOS: u64 = 60_000_000_000;
const HOUR_NANOS: u64 = 3_600_000_000_000;

/// Whether one clause held in one window of one replication.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Attainment {
    /// Index into the clause list.
    pub clause: usize,
    /// Index into the clause's window list.
    pub window: usize,
    /// The measured value in the clause's unit (ms, ratio or USD).
    /// `None` when the window had no eligible event (the clause holds
    /// vacuously), or when the percentile falls on an event that never
    /// happened (a call never served, a fallback or notice never made).
    pub value: Option<f64>,
    /// Whether the clause held.
    pub met: bool,
    /// Events the clause judged in this window: calls, tasks, fallbacks,
    /// degradations or minutes (uptime and throughput).
    pub eligible: u64,
    /// Of those, the good ones: calls or tasks that succeeded, fallbacks or
    /// notices that happened, minutes up or free of rejections.
    pub succeeded: u64,
    /// Mean of the successful latencies in milliseconds (exact to 0.1%),
    /// for latency-like clauses.
    pub mean_latency_ms: Option<f64>,
}

/// What a bad event (a failed or slow call, a late fallback) is blamed on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    /// The endpoint of the attempt concerned, and whether it was in an
    /// outage (any mode) at the time.
    Endpoint {
        /// Index of the endpoint.
        index: u32,
        /// An outage of the endpoint was in force.
        outage: bool,
    },
    /// The router never got the call served: shed, no eligible endpoint,
    /// deadline unreachable, suspended too long.
    Router,
}

/// How a finished call went.
#[derive(Clone, Copy, Debug)]
pub struct CallEnd {
    /// When it was submitted (its window).
    pub submitted: Time,
    /// When it ended (its minute, for uptime and throughput).
    pub ended: Time,
    /// Served at this tier, or failed.
    pub served: Option<u8>,
    /// Whether it failed because capacity turned it away (shed, no
    /// eligible endpoint, a 429 or a full provider queue).
    pub rejected: bool,
    /// What a bad outcome is blamed on.
    pub cause: Cause,
}

/// The pooled distribution of a latency-like clause's metric: counts of
/// successful events at or under each of [`cdf_edges_ms`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatencyCounts {
    /// Index of the clause.
    pub clause: usize,
    /// Cumulative counts at each edge.
    pub at_or_under: Vec<u64>,
    /// All successful events (the last edge may hold fewer).
    pub total: u64,
}

/// One window's error-budget use of an availability-like clause.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetUse {
    /// Index of the clause.
    pub clause: usize,
    /// Index of the window.
    pub window: usize,
    /// Eligible events in the whole window (calls, tasks or minutes); the
    /// budget is `(1 - target)` of it.
    pub eligible: u64,
    /// Bad events (failed calls or tasks, down minutes) up to the end of
    /// each hour of the window, cumulative.
    pub bad_by_hour: Vec<u64>,
}

/// Bad events of a clause in the windows where it failed, by cause.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CauseCounts {
    /// Index of the clause.
    pub clause: usize,
    /// `2 × endpoint + outage` for endpoint causes, then the router.
    pub counts: Vec<u64>,
}

/// Everything a replication's recorder measured beyond the judgements.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Measures {
    /// Latency-like clauses' pooled distributions.
    pub latency: Vec<LatencyCounts>,
    /// Availability-like clauses' budget use, per window.
    pub budget: Vec<BudgetUse>,
    /// Bad events by cause in failed windows, per clause.
    pub causes: Vec<CauseCounts>,
}

/// The upper edges (ms) of the pooled latency distributions: 40 per decade
/// from 1 ms to 1000 s.
pub fn cdf_edges_ms() -> Vec<f64> {
    (0..=240).map(|k| 10f64.powf(f64::from(k) / 40.0)).collect()
}

/// The event streams clauses listen to.
#[derive(Clone, Copy)]
enum Stream {
    Submitted = 0,
    CallDone = 1,
    TaskDone = 2,
    Fallback = 3,
    Notice = 4,
    Cost = 5,
}
const STREAMS: usize = 6;

fn streams_of(c: &Clause) -> &'static [Stream] {
    match (c.kind, c.unit) {
        (ClauseKind::Latency { .. } | ClauseKind::Availability { .. }, Unit::Task) => &[Stream::TaskDone],
        (ClauseKind::Cost { .. }, _) => &[Stream::TaskDone, Stream::Cost],
        (ClauseKind::Throughput { .. }, _) => &[Stream::Submitted, Stream::CallDone],
        (ClauseKind::FallbackTime { .. }, _) => &[Stream::Fallback],
        (ClauseKind::Notification { .. }, _) => &[Stream::Notice],
        _ => &[Stream::CallDone],
    }
}

#[derive(Clone)]
struct Acc {
    eligible: u64,
    succeeded: u64,
    /// Latency-like clauses: successful latencies in microseconds.
    latency_us: Option<Histogram<u64>>,
    /// Degradation: served calls by tier (0 to 4).
    by_tier: [u64; 5],
    /// Cost: USD.
    cost: f64,
    /// Uptime: down minutes; throughput: minutes with a rejection, and
    /// minutes over the contracted rate.
    bad_minutes: u64,
    over_minutes: u64,
    /// Minutes in the bucket.
    minutes: u64,
    /// Availability-like: (eligible, bad) per hour of the bucket.
    hourly: Vec<[u64; 2]>,
    /// Bad events by cause.
    causes: Vec<u64>,
}

impl Acc {
    fn new(clause: &Clause, start: Time, end: Time, n_causes: usize) -> Acc {
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
            latency_us,
            by_tier: [0; 5],
            cost: 0.0,
            bad_minutes: 0,
            over_minutes: 0,
            minutes: span.div_ceil(MINUTE_NANOS),
            hourly: vec![[0; 2]; hours],
            causes: vec![0; if blamed { n_causes } else { 0 }],
        }
    }

    fn merge(&mut self, o: &Acc) {
        self.eligible += o.eligible;
        self.succeeded += o.succeeded;
        if let (Some(a), Some(b)) = (self.latency_us.as_mut(), o.latency_us.as_ref()) {
            // Same precision, auto-resizing: adding cannot fail.
            let _ = a.add(b);
        }
        for (a, b) in self.by_tier.iter_mut().zip(o.by_tier) {
            *a += b;
        }
        self.cost += o.cost;
        self.bad_minutes += o.bad_minutes;
        self.over_minutes += o.over_minutes;
        self.minutes += o.minutes;
        self.hourly.extend_from_slice(&o.hourly);
        for (a, b) in self.causes.iter_mut().zip(&o.causes) {
            *a += b;
        }
    }

    fn blame(&mut self, cause: Cause) {
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

    fn hour(&mut self, bucket_start: Time, at: Time, bad: bool) {
        let h = ((at.as_nanos() - bucket_start.as_nanos()) / HOUR_NANOS) as usize;
        if let Some(slot) = self.hourly.get_mut(h) {
            slot[0] += 1;
            slot[1] += u64::from(bad);
        }
    }
}

/// The minute a minute-based clause (uptime, throughput) is counting.
#[derive(Clone, Copy, Default)]
struct Minute {
    index: u64,
    events: u64,
    bad: u64,
    open: bool,
}

struct Track {
    clause: Clause,
    layout: Layout,
    /// One per bucket.
    acc: Vec<Acc>,
    minute: Minute,
}

impl Track {
    fn bucket_of(&self, t: Time) -> Option<usize> {
        let b = &self.layout.buckets;
        let idx = b.partition_point(|w| w.start <= t);
        (idx > 0 && t < b[idx - 1].end).then(|| idx - 1)
    }

    /// Moves the minute tally to the minute of `now`, closing the previous one.
    fn roll(&mut self, now: Time) {
        let index = now.as_nanos() / MINUTE_NANOS;
        if self.minute.open && self.minute.index == index {
            return;
        }
        self.close_minute();
        self.minute = Minute {
            index,
            events: 0,
            bad: 0,
            open: true,
        };
    }

    fn close_minute(&mut self) {
        let m = self.minute;
        if !m.open {
            return;
        }
        self.minute.open = false;
        let at = Time::from_nanos(m.index * MINUTE_NANOS);
        let Some(b) = self.bucket_of(at) else { return };
        let start = self.layout.buckets[b].start;
        let acc = &mut self.acc[b];
        match self.clause.kind {
            ClauseKind::Uptime { max_error_ratio, .. } => {
                let down = m.events > 0 && m.bad as f64 > max_error_ratio * m.events as f64;
                if down {
                    acc.bad_minutes += 1;
                    let h = ((at.as_nanos() - start.as_nanos()) / HOUR_NANOS) as usize;
                    if let Some(slot) = acc.hourly.get_mut(h) {
                        slot[1] += 1;
                    }
                }
            }
            ClauseKind::Throughput { rpm } => {
                if m.events as f64 > rpm {
                    acc.over_minutes += 1;
                } else if m.bad > 0 {
                    acc.bad_minutes += 1;
                }
            }
            _ => {}
        }
    }
}

/// Records events against the clauses that cover them.
pub struct Recorder {
    tracks: Vec<Track>,
    /// stream → tenant → workflow → indices of the clauses listening.
    covering: [Vec<Vec<Vec<u32>>>; STREAMS],
}

impl Recorder {
    /// A recorder for `clauses`, each over its own windows cut from
    /// `[start, start + duration)`; `workflows[t]` is the number of
    /// workflows of tenant `t`; `endpoints` the number of endpoints (for
    /// blame).
    pub fn new(
        clauses: Vec<Clause>,
        start: chrono::NaiveDateTime,
        duration: Span,
        workflows: &[usize],
        endpoints: usize,
    ) -> Recorder {
        let n_causes = 2 * endpoints + 1;
        let empty: Vec<Vec<Vec<u32>>> = workflows.iter().map(|n| vec![Vec::new(); *n]).collect();
        let mut covering: [Vec<Vec<Vec<u32>>>; STREAMS] = std::array::from_fn(|_| empty.clone());
        for (ci, c) in clauses.iter().enumerate() {
            for &stream in streams_of(c) {
                let Some(flows) = covering[stream as usize].get_mut(c.tenant) else {
                    continue;
                };
                for (wi, list) in flows.iter_mut().enumerate() {
                    if c.workflow.is_none_or(|w| w == wi) {
                        list.push(ci as u32);
                    }
                }
            }
        }
        let tracks = clauses
            .into_iter()
            .map(|clause| {
                let layout = Layout::new(clause.period, start, duration);
                let acc = layout
                    .buckets
                    .iter()
                    .map(|b| Acc::new(&clause, b.start, b.end, n_causes))
                    .collect();
                Track {
                    clause,
                    layout,
                    acc,
                    minute: Minute::default(),
                }
            })
            .collect();
        Recorder { tracks, covering }
    }

    /// The clauses listening to `stream` for this tenant and workflow.
    fn listeners(&self, stream: Stream, tenant: usize, workflow: usize) -> &[u32] {
        self.covering[stream as usize]
            .get(tenant)
            .and_then(|f| f.get(workflow))
            .map_or(&[], Vec::as_slice)
    }

    /// A call was submitted at `now` (throughput counts the minute's calls).
    pub fn call_submitted(&mut self, tenant: usize, workflow: usize, now: Time) {
        for i in 0..self.listeners(Stream::Submitted, tenant, workflow).len() {
            let ci = self.listeners(Stream::Submitted, tenant, workflow)[i] as usize;
            let track = &mut self.tracks[ci];
            track.roll(now);
            track.minute.events += 1;
        }
    }

    /// A call ended. It counts in the window it was submitted in; uptime
    /// and throughput count it in the minute it ended.
    pub fn call_done(&mut self, tenant: usize, workflow: usize, end: CallEnd) {
        let latency = end.ended - end.submitted;
        for i in 0..self.listeners(Stream::CallDone, tenant, workflow).len() {
            let ci = self.listeners(Stream::CallDone, tenant, workflow)[i] as usize;
            let track = &mut self.tracks[ci];
            let kind = track.clause.kind;
            match kind {
                ClauseKind::Uptime { .. } | ClauseKind::Throughput { .. } => {
                    track.roll(end.ended);
                    let bad = match kind {
                        ClauseKind::Uptime { .. } => {
                            track.minute.events += 1;
                            end.served.is_none()
                        }
                        _ => end.rejected,
                    };
                    if bad {
                        track.minute.bad += 1;
                        if let Some(b) = track.bucket_of(end.ended) {
                            track.acc[b].blame(end.cause);
                        }
                    }
                    continue;
                }
                _ => {}
            }
            let Some(b) = track.bucket_of(end.submitted) else {
                continue;
            };
            let bucket_start = track.layout.buckets[b].start;
            let acc = &mut track.acc[b];
            acc.eligible += 1;
            match (kind, end.served) {
                (ClauseKind::Latency { threshold, .. }, Some(_)) => {
                    acc.succeeded += 1;
                    if let Some(h) = acc.latency_us.as_mut() {
                        // Auto-resizing: the histogram grows to the largest latency seen.
                        let _ = h.record(latency.as_micros().max(1));
                    }
                    if latency > threshold {
                        acc.blame(end.cause);
                    }
                }
                (ClauseKind::Availability { .. }, served) => {
                    acc.succeeded += u64::from(served.is_some());
                    acc.hour(bucket_start, end.submitted, served.is_none());
                    if served.is_none() {
                        acc.blame(end.cause);
                    }
                }
                (ClauseKind::Degradation { tier, .. }, Some(t)) => {
                    acc.succeeded += 1;
                    acc.by_tier[usize::from(t.min(4))] += 1;
                    if t > tier {
                        acc.blame(end.cause);
                    }
                }
                _ => {}
            }
        }
    }

    /// A task that arrived at `started` ended: its end-to-end latency if it
    /// succeeded, `None` if it failed.
    pub fn task_done(&mut self, tenant: usize, workflow: usize, started: Time, latency: Option<Span>) {
        for i in 0..self.listeners(Stream::TaskDone, tenant, workflow).len() {
            let ci = self.listeners(Stream::TaskDone, tenant, workflow)[i] as usize;
            let track = &mut self.tracks[ci];
            let Some(b) = track.bucket_of(started) else { continue };
            let bucket_start = track.layout.buckets[b].start;
            let acc = &mut track.acc[b];
            acc.eligible += 1;
            match track.clause.kind {
                ClauseKind::Latency { .. } => {
                    if let Some(lat) = latency {
                        acc.succeeded += 1;
                        if let Some(h) = acc.latency_us.as_mut() {
                            let _ = h.record(lat.as_micros().max(1));
                        }
                    }
                }
                ClauseKind::Availability { .. } => {
                    acc.succeeded += u64::from(latency.is_some());
                    acc.hour(bucket_start, started, latency.is_none());
                }
                _ => acc.succeeded += u64::from(latency.is_some()),
            }
        }
    }

    /// A fallback (the call submitted at `submitted` left its first endpoint
    /// `delay` after failing there; `None`: it never did) or a degradation
    /// notice (`delay` from the failure to the notice; `None`: never sent).
    fn delayed(&mut self, stream: Stream, tenant: usize, workflow: usize, at: Time, delay: Option<Span>, cause: Cause) {
        for i in 0..self.listeners(stream, tenant, workflow).len() {
            let ci = self.listeners(stream, tenant, workflow)[i] as usize;
            let track = &mut self.tracks[ci];
            let Some(b) = track.bucket_of(at) else { continue };
            let threshold = match track.clause.kind {
                ClauseKind::FallbackTime { threshold, .. } | ClauseKind::Notification { threshold, .. } => threshold,
                _ => Span::MAX,
            };
            let acc = &mut track.acc[b];
            acc.eligible += 1;
            match delay {
                Some(d) => {
                    acc.succeeded += 1;
                    if let Some(h) = acc.latency_us.as_mut() {
                        // Zero is a valid delay: recorded as the smallest value.
                        let _ = h.record(d.as_micros().max(1));
                    }
                    if d > threshold {
                        acc.blame(cause);
                    }
                }
                None => acc.blame(cause),
            }
        }
    }

    /// See [`Recorder::delayed`]: a fallback.
    pub fn fallback(&mut self, tenant: usize, workflow: usize, submitted: Time, delay: Option<Span>, cause: Cause) {
        self.delayed(Stream::Fallback, tenant, workflow, submitted, delay, cause);
    }

    /// See [`Recorder::delayed`]: a degradation notice due at `at`.
    pub fn notice(&mut self, tenant: usize, workflow: usize, at: Time, delay: Option<Span>, cause: Cause) {
        self.delayed(Stream::Notice, tenant, workflow, at, delay, cause);
    }

    /// A served attempt of a call submitted at `submitted` cost `usd`.
    pub fn cost(&mut self, tenant: usize, workflow: usize, submitted: Time, usd: f64) {
        for i in 0..self.listeners(Stream::Cost, tenant, workflow).len() {
            let ci = self.listeners(Stream::Cost, tenant, workflow)[i] as usize;
            let track = &mut self.tracks[ci];
            if let Some(b) = track.bucket_of(submitted) {
                track.acc[b].cost += usd;
            }
        }
    }

    /// The windows of every clause, in clause order.
    pub fn windows(&self) -> Vec<Vec<super::Window>> {
        self.tracks.iter().map(|t| t.layout.windows.clone()).collect()
    }

    /// Judges every clause in every window of its own.
    pub fn finish(mut self) -> (Vec<Attainment>, Measures) {
        let mut out = Vec::new();
        let mut measures = Measures::default();
        let edges: Vec<u64> = cdf_edges_ms().iter().map(|ms| (ms * 1000.0).round() as u64).collect();
        for (ci, track) in self.tracks.iter_mut().enumerate() {
            track.close_minute();
            let clause = &track.clause;
            let mut pooled: Option<Histogram<u64>> = None;
            let mut causes: Vec<u64> = Vec::new();
            for (wi, range) in track.layout.members.iter().enumerate() {
                let mut acc = track.acc[range.start].clone();
                for b in &track.acc[range.start + 1..range.end] {
                    acc.merge(b);
                }
                let (value, met, eligible, succeeded) = judge(clause, &acc);
                out.push(Attainment {
                    clause: ci,
                    window: wi,
                    value,
                    met,
                    eligible,
                    succeeded,
                    mean_latency_ms: acc
                        .latency_us
                        .as_ref()
                        .filter(|h| !h.is_empty())
                        .map(|h| h.mean() / 1000.0),
                });
                if !met {
                    if causes.is_empty() {
                        causes = vec![0; acc.causes.len()];
                    }
                    for (a, b) in causes.iter_mut().zip(&acc.causes) {
                        *a += b;
                    }
                }
                if clause.budget_target().is_some() {
                    let mut total = 0;
                    let bad_by_hour = acc
                        .hourly
                        .iter()
                        .map(|h| {
                            total += h[1];
                            total
                        })
                        .collect();
                    measures.budget.push(BudgetUse {
                        clause: ci,
                        window: wi,
                        eligible,
                        bad_by_hour,
                    });
                }
            }
            if clause.is_latency_like() {
                // Buckets do not overlap: the pooled distribution adds each once.
                for acc in &track.acc {
                    if let Some(h) = &acc.latency_us {
                        match pooled.as_mut() {
                            Some(p) => {
                                let _ = p.add(h);
                            }
                            None => pooled = Some(h.clone()),
                        }
                    }
                }
                let mut at_or_under = vec![0u64; edges.len()];
                let mut total = 0;
                if let Some(p) = &pooled {
                    for v in p.iter_recorded() {
                        let us = p.highest_equivalent(v.value_iterated_to());
                        let count = v.count_at_value();
                        total += count;
                        let first = edges.partition_point(|&e| e < us);
                        if let Some(slot) = at_or_under.get_mut(first) {
                            *slot += count;
                        }
                    }
                }
                let mut running = 0;
                for slot in at_or_under.iter_mut() {
                    running += *slot;
                    *slot = running;
                }
                measures.latency.push(LatencyCounts {
                    clause: ci,
                    at_or_under,
                    total,
                });
            }
            if !causes.is_empty() && causes.iter().any(|&c| c > 0) {
                measures.causes.push(CauseCounts {
                    clause: ci,
                    counts: causes,
                });
            }
        }
        (out, measures)
    }
}

/// (value, met, eligible, succeeded) of a clause over one window's statistics.
fn judge(clause: &Clause, a: &Acc) -> (Option<f64>, bool, u64, u64) {
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
            let within = a.minutes.saturating_sub(a.over_minutes);
            if within == 0 {
                return (None, true, 0, 0);
            }
            let clean = within - a.bad_minutes.min(within);
            return (Some(clean as f64 / within as f64), a.bad_minutes == 0, within, clean);
        }
        _ => {}
    }
    let (eligible, succeeded) = (a.eligible, a.succeeded);
    if eligible == 0 {
        return (None, true, 0, 0);
    }
    let (value, met) = match clause.kind {
        ClauseKind::Latency { percentile, threshold } => {
            if succeeded == 0 {
                (None, false)
            } else {
                let ms = percentile_ms(a, percentile / 100.0);
                (Some(ms), ms <= threshold.as_millis_f64())
            }
        }
        ClauseKind::FallbackTime { percentile, threshold } | ClauseKind::Notification { percentile, threshold } => {
            // Events that never happened rank above every delay: the
            // percentile is read over all eligible events.
            let rank = ((percentile / 100.0) * eligible as f64).ceil().max(1.0) as u64;
            if rank > succeeded {
                (None, false)
            } else {
                let ms = percentile_ms(a, rank as f64 / succeeded as f64);
                (Some(ms), ms <= threshold.as_millis_f64())
            }
        }
        ClauseKind::Availability { target } => {
            let ratio = succeeded as f64 / eligible as f64;
            (Some(ratio), ratio >= target)
        }
        ClauseKind::Degradation { tier, max_share } => {
            let served: u64 = a.by_tier.iter().sum();
            if served == 0 {
                return (None, true, eligible, succeeded);
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
        ClauseKind::Uptime { .. } | ClauseKind::Throughput { .. } => (None, true),
    };
    (value, met, eligible, succeeded)
}

/// The value at quantile `q` of the successful latencies, in milliseconds:
/// the top of its HDR bucket, at most 0.1% above the true value and never
/// below it, so a ceiling is judged conservatively.
fn percentile_ms(a: &Acc, q: f64) -> f64 {
    a.latency_us
        .as_ref()
        .map_or(0.0, |h| h.value_at_quantile(q.clamp(0.0, 1.0)) as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sla::Period;
    use chrono::NaiveDate;

    fn start() -> chrono::NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
    }

    fn clause(kind: ClauseKind, workflow: Option<usize>) -> Clause {
        Clause {
            tenant: 0,
            tenant_name: "t".into(),
            workflow,
            unit: Unit::Call,
            kind,
            period: Period::Month,
        }
    }

    /// A recorder over January 2026 (one month window) for one tenant with
    /// two workflows and two endpoints.
    fn recorder(clauses: Vec<Clause>) -> Recorder {
        Recorder::new(clauses, start(), Span::from_days(31), &[2], 2)
    }

    fn at_ms(ms: u64) -> Time {
        Time::ZERO + Span::from_millis(ms)
    }

    fn served(submitted: Time, latency: Span, tier: u8) -> CallEnd {
        CallEnd {
            submitted,
            ended: submitted + latency,
            served: Some(tier),
            rejected: false,
            cause: Cause::Endpoint {
                index: 0,
                outage: false,
            },
        }
    }

    fn failed(submitted: Time, cause: Cause, rejected: bool) -> CallEnd {
        CallEnd {
            submitted,
            ended: submitted + Span::from_millis(10),
            served: None,
            rejected,
            cause,
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
        let mut r = recorder(clauses);
        // 100 successes at 1..=100 ms on workflow 0, 5 failures on workflow 1.
        for ms in 1..=100 {
            r.call_done(0, 0, served(at_ms(ms), Span::from_millis(ms), 0));
        }
        for _ in 0..5 {
            r.call_done(0, 1, failed(at_ms(1), Cause::Router, false));
        }
        let (a, _) = r.finish();
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
        let r = recorder(vec![clause(ClauseKind::Availability { target: 0.99 }, None)]);
        let (a, _) = r.finish();
        assert_eq!(a[0].value, None);
        assert!(a[0].met);
    }

    #[test]
    fn uptime_counts_down_minutes_over_the_whole_window() {
        // January has 44,640 minutes. Three minutes are hit: minute 10 by
        // 1 failure in 10 calls (10% > 5%: down), minute 20 by 1 in 100 (1%:
        // up), minute 30 by 2 in 2 (down). Uptime = 1 - 2/44640.
        let kind = ClauseKind::Uptime {
            target: 0.99995,
            max_error_ratio: 0.05,
        };
        let mut r = recorder(vec![clause(kind, None)]);
        let minute = |m: u64, s: u64| Time::ZERO + Span::from_secs(m * 60 + s);
        for (m, calls, fails) in [(10, 10, 1), (20, 100, 1), (30, 2, 2)] {
            for k in 0..calls {
                let end = if k < fails {
                    failed(minute(m, 1), Cause::Router, false)
                } else {
                    served(minute(m, 1), Span::from_millis(5), 0)
                };
                r.call_done(0, 0, end);
            }
        }
        let (a, m) = r.finish();
        assert_eq!((a[0].eligible, a[0].succeeded), (44_640, 44_638));
        let want = 1.0 - 2.0 / 44_640.0;
        assert!((a[0].value.unwrap() - want).abs() < 1e-12);
        // 0.999955 ≥ 0.99995: holds; the budget is 0.00005 × 44640 = 2.232
        // minutes, of which 2 were spent by the end of hour 1.
        assert!(a[0].met);
        assert_eq!(m.budget[0].eligible, 44_640);
        assert_eq!(m.budget[0].bad_by_hour.len(), 744);
        assert_eq!(m.budget[0].bad_by_hour[0], 2);
        assert_eq!(*m.budget[0].bad_by_hour.last().unwrap(), 2);
    }

    #[test]
    fn throughput_fails_on_a_rejection_within_the_contracted_rate() {
        let kind = ClauseKind::Throughput { rpm: 3.0 };
        let mut r = recorder(vec![clause(kind, None)]);
        let t = |m: u64| Time::ZERO + Span::from_secs(m * 60 + 1);
        // Minute 5: 5 calls (over 3 rpm), one rejected: not counted.
        for _ in 0..5 {
            r.call_submitted(0, 0, t(5));
        }
        r.call_done(0, 0, failed(t(5), Cause::Router, true));
        let (a, _) = r.finish();
        assert!(a[0].met, "a rejection above the contracted rate does not count");
        assert_eq!(a[0].eligible, 44_640 - 1);

        let mut r = recorder(vec![clause(kind, None)]);
        // Minute 7: 2 calls, one rejected (within contract): breach. A
        // failure that is not a rejection does not count.
        r.call_submitted(0, 0, t(7));
        r.call_submitted(0, 0, t(7));
        r.call_done(0, 0, failed(t(7), Cause::Router, true));
        r.call_done(0, 0, failed(t(8), Cause::Endpoint { index: 1, outage: true }, false));
        let (a, m) = r.finish();
        assert!(!a[0].met);
        assert_eq!(a[0].eligible - a[0].succeeded, 1);
        // Blame: the router (last slot of 2 × 2 + 1).
        assert_eq!(m.causes[0].counts, vec![0, 0, 0, 0, 1]);
    }

    #[test]
    fn fallbacks_that_never_happen_rank_above_every_delay() {
        let p99 = ClauseKind::FallbackTime {
            percentile: 99.0,
            threshold: Span::from_millis(200),
        };
        let all = ClauseKind::FallbackTime {
            percentile: 100.0,
            threshold: Span::from_millis(200),
        };
        let mut r = recorder(vec![clause(p99, None), clause(all, None)]);
        let cause = Cause::Endpoint { index: 0, outage: true };
        // 199 fallbacks at 100 ms and one that never happened.
        for _ in 0..199 {
            r.fallback(0, 0, at_ms(1), Some(Span::from_millis(100)), cause);
        }
        r.fallback(0, 0, at_ms(1), None, cause);
        let (a, m) = r.finish();
        // p99 of 200 events is the 198th: a 100 ms fallback.
        assert!(a[0].met);
        assert!((100.0..=100.1).contains(&a[0].value.unwrap()));
        // Every event: the missing one fails it, with no value.
        assert!(!a[1].met);
        assert_eq!(a[1].value, None);
        assert_eq!((a[1].eligible, a[1].succeeded), (200, 199));
        // Blamed on endpoint 0 during an outage (slot 1), in the failed
        // clause only.
        assert_eq!(m.causes.len(), 1);
        assert_eq!(m.causes[0].clause, 1);
        assert_eq!(m.causes[0].counts[1], 1);
    }

    #[test]
    fn cost_per_task_is_the_window_cost_over_its_tasks() {
        let mut per_task = clause(
            ClauseKind::Cost {
                budget: 0.02,
                per: CostBasis::Task,
            },
            None,
        );
        per_task.unit = Unit::Task;
        let mut per_window = per_task.clone();
        per_window.kind = ClauseKind::Cost {
            budget: 0.05,
            per: CostBasis::Window,
        };
        let mut r = recorder(vec![per_task, per_window]);
        // Four tasks; attempts costing 0.01 + 0.02 + 0.03 + 0.02 = 0.08.
        for usd in [0.01, 0.02, 0.03, 0.02] {
            r.task_done(0, 0, at_ms(5), Some(Span::from_millis(1)));
            r.cost(0, 1, at_ms(5), usd);
        }
        let (a, _) = r.finish();
        assert!((a[0].value.unwrap() - 0.02).abs() < 1e-12);
        assert!(a[0].met, "0.02 per task within 0.02");
        assert!((a[1].value.unwrap() - 0.08).abs() < 1e-12);
        assert!(!a[1].met, "0.08 in the window over 0.05");
    }

    #[test]
    fn rolling_windows_merge_their_days() {
        let mut c = clause(ClauseKind::Availability { target: 0.75 }, None);
        c.period = Period::Rolling { days: 2 };
        let mut r = Recorder::new(vec![c], start(), Span::from_days(3), &[1], 1);
        let day = |d: u64| Time::ZERO + Span::from_hours(d * 24 + 1);
        // Day 0: 2 ok; day 1: 1 ok 1 failed; day 2: 2 failed.
        for (d, ok, bad) in [(0, 2, 0), (1, 1, 1), (2, 0, 2)] {
            for _ in 0..ok {
                r.call_done(0, 0, served(day(d), Span::from_millis(1), 0));
            }
            for _ in 0..bad {
                r.call_done(0, 0, failed(day(d), Cause::Router, false));
            }
        }
        let (a, m) = r.finish();
        // Windows {0,1}: 3/4 = 0.75 met; {1,2}: 1/4 not met.
        assert_eq!(a.len(), 2);
        assert_eq!((a[0].value, a[0].met), (Some(0.75), true));
        assert_eq!((a[1].value, a[1].met), (Some(0.25), false));
        // Budget curve of the second window: 48 hours, 1 failure in hour 1,
        // then 2 more in hour 25.
        let b = &m.budget[1];
        assert_eq!((b.window, b.eligible, b.bad_by_hour.len()), (1, 4, 48));
        assert_eq!(
            (b.bad_by_hour[0], b.bad_by_hour[1], b.bad_by_hour[25], b.bad_by_hour[47]),
            (0, 1, 3, 3)
        );
    }

    #[test]
    fn the_pooled_latency_distribution_counts_each_call_once() {
        let mut c = clause(
            ClauseKind::Latency {
                percentile: 50.0,
                threshold: Span::from_secs(1),
            },
            None,
        );
        c.period = Period::Rolling { days: 2 };
        let mut r = Recorder::new(vec![c], start(), Span::from_days(3), &[1], 1);
        // 10 calls of 5 ms and 10 of 50 ms spread over three days.
        for k in 0..20u64 {
            let lat = if k < 10 { 5 } else { 50 };
            r.call_done(
                0,
                0,
                served(Time::ZERO + Span::from_hours(k * 3), Span::from_millis(lat), 0),
            );
        }
        let (_, m) = r.finish();
        let l = &m.latency[0];
        assert_eq!(l.total, 20);
        let edges = cdf_edges_ms();
        let at = |ms: f64| l.at_or_under[edges.iter().position(|&e| e >= ms).unwrap()];
        assert_eq!(at(4.0), 0);
        assert_eq!(at(5.1), 10);
        assert_eq!(at(45.0), 10); // the edge at or above 45 ms is 47.3 ms
        assert_eq!(at(51.0), 20);
        assert_eq!(*l.at_or_under.last().unwrap(), 20);
    }
}
