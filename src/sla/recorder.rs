//! Streaming per-window statistics for every clause, and their judgement.
//!
//! The world reports events (a call submitted or finished, a task finished,
//! a fallback, a degradation notice, a cost, and at the end the calls and
//! tasks still open); the recorder adds each to the buckets of the clauses
//! covering its tenant and workflow. Memory is fixed by the clauses and the
//! period, never by the number of events.
//!
//! **Calls and tasks still open** when the run ends (after the drain) are
//! never read as good: they count as failed for availability, task success
//! and uptime, as turned away for throughput; they rank above every served
//! event of a latency
//! clause (their latency is unknown, at least the time they had waited), so
//! a percentile that falls on one has no value and fails; a cost per task
//! leaves them out of the tasks it divides by, keeping what they spent.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::acc::{Acc, judge};
use super::minutes::Minutes;
use super::quality::{self, Levels, Quality};
use super::{Clause, ClauseKind, Layout, Unit};
use crate::time::{Span, Time};

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
    /// happened (a call never served or still open, a fallback or notice
    /// never made).
    pub value: Option<f64>,
    /// Whether the clause held.
    pub met: bool,
    /// Events the clause judged in this window: calls, tasks, fallbacks,
    /// degradations or minutes (uptime and throughput).
    pub eligible: u64,
    /// Of those, the good ones: calls or tasks that succeeded, fallbacks or
    /// notices that happened, minutes up or whose contracted rate was admitted.
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
    /// deadline unreachable, suspended too long, still waiting at the end.
    Router,
}

/// How a call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallOutcome {
    /// Served at `tier`; the attempt that served it gave its first token at
    /// `first_token`.
    Served {
        /// The chain tier of the endpoint that served it.
        tier: u8,
        /// The instant of its first token.
        first_token: Time,
    },
    /// Failed; `rejected` when capacity turned it away (shed, no eligible
    /// endpoint, a 429 or a full provider queue).
    Failed {
        /// Capacity turned it away.
        rejected: bool,
    },
    /// Still open when the run ended: neither served nor failed.
    Open,
}

/// What a bad outcome is blamed on, as [`CallEnd`] carries it: a
/// [`Cause`], or a function working it out, called only when a clause
/// blames the call (most calls are good, and working out blame looks the
/// endpoint's incidents up).
pub trait LazyCause {
    /// The cause (a function must answer the same every time).
    fn cause(&self) -> Cause;
}

impl LazyCause for Cause {
    fn cause(&self) -> Cause {
        *self
    }
}

impl<F: Fn() -> Cause> LazyCause for F {
    fn cause(&self) -> Cause {
        self()
    }
}

/// How a finished call went.
#[derive(Clone, Copy, Debug)]
pub struct CallEnd<C: LazyCause = Cause> {
    /// When it was submitted (its window).
    pub submitted: Time,
    /// When it ended (its minute, for uptime); for a call still open, the
    /// end of the run.
    pub ended: Time,
    /// Served, failed or still open.
    pub outcome: CallOutcome,
    /// What a bad outcome is blamed on.
    pub cause: C,
    /// The endpoint that served it (quality clauses: its quality is the
    /// call's); `None` when it was not served.
    pub served_by: Option<u32>,
}

impl<C: LazyCause> CallEnd<C> {
    fn served(&self) -> Option<u8> {
        match self.outcome {
            CallOutcome::Served { tier, .. } => Some(tier),
            CallOutcome::Failed { .. } | CallOutcome::Open => None,
        }
    }

    /// Whether capacity turned it away, as throughput judges it: rejected,
    /// or still waiting when the run ended.
    fn turned_away(&self) -> bool {
        matches!(self.outcome, CallOutcome::Failed { rejected: true } | CallOutcome::Open)
    }
}

/// The pooled distribution of a latency-like clause's metric: counts of
/// successful events at or under each of the edges [`cdf_edge_ms`]`(0..)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatencyCounts {
    /// Index of the clause.
    pub clause: usize,
    /// Cumulative counts at each edge, up to the first edge at or above the
    /// largest event: the last one is `total`.
    pub at_or_under: Vec<u64>,
    /// All successful events.
    pub total: u64,
    /// Events still open when the run ended: above every edge.
    #[serde(default)]
    pub open: u64,
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

/// Edge `k` (ms) of the pooled latency distributions: 40 per decade from
/// 1 ms, `10^(k/40)`.
pub fn cdf_edge_ms(k: u32) -> f64 {
    10f64.powf(f64::from(k) / 40.0)
}

/// The edges every distribution has at least: 1 ms to 1000 s.
pub const CDF_MIN_EDGES: u32 = 241;

/// The edges (µs, rounded) a distribution whose largest value is `max_us`
/// needs: at least [`CDF_MIN_EDGES`], and up to the first at or above it.
fn cdf_edges_us(max_us: u64) -> Vec<u64> {
    let mut edges = Vec::new();
    let mut k = 0;
    loop {
        let us = (cdf_edge_ms(k) * 1000.0).round() as u64;
        edges.push(us);
        k += 1;
        if k >= CDF_MIN_EDGES && us >= max_us {
            return edges;
        }
    }
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

/// The clauses listening to `stream` for this tenant and workflow, from
/// the recorder's `covering` (a free function, so the hot paths can walk
/// the list while they update the tracks, without copying it or looking
/// it up again for every clause).
fn listeners(covering: &[Vec<Vec<Vec<u32>>>; STREAMS], stream: Stream, tenant: usize, workflow: usize) -> &[u32] {
    covering[stream as usize]
        .get(tenant)
        .and_then(|f| f.get(workflow))
        .map_or(&[], Vec::as_slice)
}

struct Track {
    clause: Clause,
    layout: Layout,
    /// The bucket the last lookup found: events come in nearly time
    /// order, so the next one is almost always in it (checked, never
    /// trusted).
    hint: usize,
    /// One per bucket.
    acc: Vec<Acc>,
    /// Uptime and throughput: per-minute tallies over the period.
    minutes: Option<Minutes>,
}

impl Track {
    /// The bucket holding `t`, if any (buckets are sorted and disjoint, so
    /// the hint's bucket, when it holds `t`, is the one).
    fn bucket_of(&mut self, t: Time) -> Option<usize> {
        let b = &self.layout.buckets;
        if let Some(w) = b.get(self.hint)
            && w.start <= t
            && t < w.end
        {
            return Some(self.hint);
        }
        let idx = b.partition_point(|w| w.start <= t);
        let found = (idx > 0 && t < b[idx - 1].end).then(|| idx - 1);
        if let Some(i) = found {
            self.hint = i;
        }
        found
    }

    fn blame_at(&mut self, at: Time, cause: Cause) {
        if let Some(b) = self.bucket_of(at) {
            self.acc[b].blame(cause);
        }
    }

    /// A call ended (see [`Recorder::call_done`]). Not inlined into the
    /// loop over the listening clauses: inlined, the compiler works out
    /// every kind's figures (minutes, microseconds) before the loop for
    /// every call, whichever kinds listen.
    #[inline(never)]
    fn call_done<C: LazyCause>(&mut self, end: &CallEnd<C>, levels: &Levels) {
        let served = end.served();
        let kind = self.clause.kind;
        if let Some(minutes) = self.minutes.as_mut() {
            let at = match kind {
                ClauseKind::Uptime { .. } if end.outcome != CallOutcome::Open && minutes.covers(end.ended) => end.ended,
                _ => end.submitted,
            };
            let bad = match kind {
                ClauseKind::Uptime { .. } => {
                    minutes.add(at, 1, u32::from(served.is_none()));
                    served.is_none()
                }
                _ => {
                    minutes.add(at, 0, u32::from(!end.turned_away()));
                    end.turned_away()
                }
            };
            if bad {
                self.blame_at(at, end.cause.cause());
            }
            return;
        }
        let Some(b) = self.bucket_of(end.submitted) else {
            return;
        };
        let bucket_start = self.layout.buckets[b].start;
        let acc = &mut self.acc[b];
        acc.eligible += 1;
        match (kind, end.outcome) {
            (ClauseKind::Latency { threshold, .. }, CallOutcome::Served { .. }) => {
                let latency = end.ended - end.submitted;
                acc.latency(latency, threshold);
                if latency > threshold {
                    acc.blame(end.cause.cause());
                }
            }
            (ClauseKind::Ttft { threshold, .. }, CallOutcome::Served { first_token, .. }) => {
                let ttft = first_token.saturating_since(end.submitted);
                acc.latency(ttft, threshold);
                if ttft > threshold {
                    acc.blame(end.cause.cause());
                }
            }
            (ClauseKind::Latency { .. } | ClauseKind::Ttft { .. }, CallOutcome::Open) => {
                acc.open += 1;
                acc.blame(end.cause.cause());
            }
            (ClauseKind::Availability { .. }, _) => {
                acc.succeeded += u64::from(served.is_some());
                acc.hour(bucket_start, end.submitted, served.is_none());
                if served.is_none() {
                    acc.blame(end.cause.cause());
                }
            }
            (ClauseKind::EvalPassRate { target, .. } | ClauseKind::MeanQuality { target }, _) => {
                // A call never served is at level 0 (quality 0).
                let level = levels.of(end.served_by.filter(|_| served.is_some()));
                if let Some(n) = acc.by_level.get_mut(level) {
                    *n += 1;
                }
                acc.succeeded += u64::from(served.is_some());
                if levels.values[level] < target {
                    acc.blame(end.cause.cause());
                }
            }
            (ClauseKind::Degradation { tier, .. }, CallOutcome::Served { tier: t, .. }) => {
                acc.succeeded += 1;
                acc.by_tier[usize::from(t.min(4))] += 1;
                if t > tier {
                    acc.blame(end.cause.cause());
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
    /// The endpoints' quality and the seed of the audits.
    quality: Quality,
    /// The distinct quality levels quality clauses count calls by.
    levels: Levels,
}

impl Recorder {
    /// A recorder for `clauses`, each over its own windows cut from
    /// `[start, start + duration)`; `workflows[t]` is the number of
    /// workflows of tenant `t`; `quality` the endpoints' quality (their
    /// number, for blame) and the seed of the quality clauses' audits.
    pub fn new(
        clauses: Vec<Clause>,
        start: chrono::NaiveDateTime,
        duration: Span,
        workflows: &[usize],
        quality: Quality,
    ) -> Recorder {
        let n_causes = 2 * quality.endpoints.len() + 1;
        let levels = Levels::new(&quality.endpoints);
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
                    .map(|b| Acc::new(&clause, b.start, b.end, n_causes, levels.values.len()))
                    .collect();
                let minutes = matches!(clause.kind, ClauseKind::Uptime { .. } | ClauseKind::Throughput { .. })
                    .then(|| Minutes::new(duration));
                Track {
                    clause,
                    layout,
                    hint: 0,
                    acc,
                    minutes,
                }
            })
            .collect();
        Recorder {
            tracks,
            covering,
            quality,
            levels,
        }
    }

    /// A call was submitted at `now` (throughput counts the minute's calls).
    pub fn call_submitted(&mut self, tenant: usize, workflow: usize, now: Time) {
        let Recorder { tracks, covering, .. } = self;
        for &ci in listeners(covering, Stream::Submitted, tenant, workflow) {
            if let Some(m) = tracks[ci as usize].minutes.as_mut() {
                m.add(now, 1, 0);
            }
        }
    }

    /// A call ended (or was still open when the run ended). It counts in
    /// the window it was submitted in; uptime counts it in the minute it
    /// ended if that minute is in the period, else in the minute it was
    /// submitted; throughput in the minute it was submitted, as admitted
    /// unless capacity turned it away (or it was still open).
    pub fn call_done<C: LazyCause>(&mut self, tenant: usize, workflow: usize, end: CallEnd<C>) {
        let Recorder {
            tracks,
            covering,
            levels,
            ..
        } = self;
        for &ci in listeners(covering, Stream::CallDone, tenant, workflow) {
            tracks[ci as usize].call_done(&end, levels);
        }
    }

    /// A call the client withdrew (a `cancelled` row of a real log) at
    /// `ended`, after waiting since `submitted`, with its first token at
    /// `first_token` if one came. Its latency is censored: at least the
    /// wait. A latency clause whose threshold the wait passed counts it as
    /// a known breach, ranked above every served call (as a call still
    /// open); a time-to-first-token clause counts the first token it got,
    /// else a wait past the threshold as a breach. Any shorter wait is no
    /// evidence either way, and no other clause counts the call: it was
    /// the client's doing.
    pub fn call_withdrawn(
        &mut self,
        tenant: usize,
        workflow: usize,
        submitted: Time,
        ended: Time,
        first_token: Option<Time>,
        cause: Cause,
    ) {
        let Recorder { tracks, covering, .. } = self;
        let waited = ended.saturating_since(submitted);
        for &ci in listeners(covering, Stream::CallDone, tenant, workflow) {
            let track = &mut tracks[ci as usize];
            let known = match track.clause.kind {
                ClauseKind::Ttft { threshold, .. } => match first_token {
                    Some(t) => Some((Some(t.saturating_since(submitted)), threshold)),
                    None => (waited > threshold).then_some((None, threshold)),
                },
                ClauseKind::Latency { threshold, .. } => (waited > threshold).then_some((None, threshold)),
                _ => None,
            };
            let Some((value, threshold)) = known else { continue };
            let Some(b) = track.bucket_of(submitted) else { continue };
            let acc = &mut track.acc[b];
            acc.eligible += 1;
            match value {
                Some(v) => {
                    acc.latency(v, threshold);
                    if v > threshold {
                        acc.blame(cause);
                    }
                }
                None => {
                    acc.open += 1;
                    acc.blame(cause);
                }
            }
        }
    }

    /// A task that arrived at `started` ended: its end-to-end latency if it
    /// succeeded, `None` if it failed.
    pub fn task_done(&mut self, tenant: usize, workflow: usize, started: Time, latency: Option<Span>) {
        let Recorder { tracks, covering, .. } = self;
        for &ci in listeners(covering, Stream::TaskDone, tenant, workflow) {
            let track = &mut tracks[ci as usize];
            let Some(b) = track.bucket_of(started) else { continue };
            let bucket_start = track.layout.buckets[b].start;
            let acc = &mut track.acc[b];
            acc.eligible += 1;
            match track.clause.kind {
                ClauseKind::Latency { threshold, .. } => {
                    if let Some(lat) = latency {
                        acc.latency(lat, threshold);
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

    /// A task that arrived at `started` was still running when the run
    /// ended. Task success counts it as failed, task latency ranks it above
    /// every finished task, and a cost per task does not divide by it.
    pub fn task_open(&mut self, tenant: usize, workflow: usize, started: Time) {
        let Recorder { tracks, covering, .. } = self;
        for &ci in listeners(covering, Stream::TaskDone, tenant, workflow) {
            let track = &mut tracks[ci as usize];
            let Some(b) = track.bucket_of(started) else { continue };
            let bucket_start = track.layout.buckets[b].start;
            let acc = &mut track.acc[b];
            acc.open += 1;
            match track.clause.kind {
                ClauseKind::Latency { .. } => acc.eligible += 1,
                ClauseKind::Availability { .. } => {
                    acc.eligible += 1;
                    acc.hour(bucket_start, started, true);
                }
                _ => {}
            }
        }
    }

    /// A fallback (the call submitted at `submitted` left its first endpoint
    /// `delay` after failing there; `None`: it never did) or a degradation
    /// notice (`delay` from the failure to the notice; `None`: never sent).
    fn delayed(&mut self, stream: Stream, tenant: usize, workflow: usize, at: Time, delay: Option<Span>, cause: Cause) {
        let Recorder { tracks, covering, .. } = self;
        for &ci in listeners(covering, stream, tenant, workflow) {
            let track = &mut tracks[ci as usize];
            let Some(b) = track.bucket_of(at) else { continue };
            let threshold = track.clause.latency_threshold().unwrap_or(Span::MAX);
            let acc = &mut track.acc[b];
            acc.eligible += 1;
            match delay {
                Some(d) => {
                    acc.latency(d, threshold);
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

    /// An attempt of a call submitted at `submitted` was billed `usd`.
    pub fn cost(&mut self, tenant: usize, workflow: usize, submitted: Time, usd: f64) {
        let Recorder { tracks, covering, .. } = self;
        for &ci in listeners(covering, Stream::Cost, tenant, workflow) {
            let track = &mut tracks[ci as usize];
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
        for (ci, track) in self.tracks.iter_mut().enumerate() {
            if let Some(minutes) = &track.minutes {
                for (acc, bucket) in track.acc.iter_mut().zip(&track.layout.buckets) {
                    minutes.judge_into(track.clause.kind, bucket.start, bucket.end, acc);
                }
            }
            let clause = &track.clause;
            let mut causes: Vec<u64> = Vec::new();
            for (wi, range) in track.layout.members.iter().enumerate() {
                let mut acc = track.acc[range.start].clone();
                for b in &track.acc[range.start + 1..range.end] {
                    acc.merge(b);
                }
                let (value, met, eligible, succeeded) = if quality::is_quality(clause.kind) {
                    let mut rng = quality::audit_stream(&self.quality, clause, &track.layout.windows[wi].label);
                    quality::judge(clause.kind, &acc.by_level, &self.levels, &mut rng)
                } else {
                    judge(clause, &acc)
                };
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
                measures.latency.push(pooled_counts(ci, &track.acc));
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

/// The pooled distribution of a latency-like clause over its buckets
/// (buckets do not overlap: each event is added once). An event counts at
/// the first edge at or above its histogram bucket's top, so it is never
/// counted under an edge it might exceed.
fn pooled_counts(clause: usize, accs: &[Acc]) -> LatencyCounts {
    let mut pooled: Option<Histogram<u64>> = None;
    let mut open = 0;
    for acc in accs {
        open += acc.open;
        if let Some(h) = &acc.latency_us {
            match pooled.as_mut() {
                Some(p) => {
                    let _ = p.add(h);
                }
                None => pooled = Some(h.clone()),
            }
        }
    }
    let max_us = pooled.as_ref().filter(|p| !p.is_empty()).map_or(0, Histogram::max);
    let edges = cdf_edges_us(max_us);
    let mut at_or_under = vec![0u64; edges.len()];
    let mut total = 0;
    if let Some(p) = &pooled {
        for v in p.iter_recorded() {
            let us = p.highest_equivalent(v.value_iterated_to());
            let count = v.count_at_value();
            total += count;
            let first = edges.partition_point(|&e| e < us).min(edges.len() - 1);
            at_or_under[first] += count;
        }
    }
    let mut running = 0;
    for slot in at_or_under.iter_mut() {
        running += *slot;
        *slot = running;
    }
    LatencyCounts {
        clause,
        at_or_under,
        total,
        open,
    }
}

#[cfg(test)]
#[path = "tests_recorder.rs"]
mod tests;
