//! Call by call, on common random numbers: the gateway's measured calls
//! paired with the simulator's replication 0 by `draw_key` (`fidelity
//! --out`'s `paired.csv`, and `slaplan fidelity-paired`).
//!
//! Since draws are keyed by call identity, the measured run and
//! replication 0 of the same scenario make the same calls with the same
//! draws; their difference, call by call, is what the simulator does not
//! model, free of one run's spread. Per tenant: the calls served on both
//! sides, the per-call latency correlation (Pearson, exact), p50/p95/p99
//! of call latency measured and simulated over those pairs (the same HDR
//! histogram of microseconds at 3 significant digits as `fidelity.csv`,
//! nearest rank), the relative error and its 95 % block bootstrap
//! interval; availability (served over the calls judged on both sides,
//! the client's own endings left out as `fidelity` leaves them out) with
//! the difference in percentage points and its interval. The method is
//! `notebooks/fidelity_paired.py`'s, which stays as the independent check.
//!
//! Calls on one side only are counted per tenant and the first
//! [`SHOWN`] of them listed: a call missing on one side never vanishes.
//!
//! Memory is bounded, not grown with log rows: the two logs come in
//! nearly the same order (the order calls end), so they are read in step
//! (whichever side's next call ends earlier, counted from each log's first
//! arrival) and joined in a window of [`WINDOW`] unmatched keys per side;
//! a key that falls out of the window is one-sided (and counted as
//! such). The bootstrap keeps, per tenant and one-minute block of
//! arrivals, the availability counts and the pairs' latencies as sparse
//! histograms per side (8 bytes per HDR bucket reached: at most about
//! 23,500 buckets whatever the calls, in practice a few hundred), so
//! memory grows with the run's minutes, not its calls: a 10-minute run
//! holds kilobytes, a day of one tenant a few megabytes.
//!
//! The bootstrap resamples blocks of 60 s of measured arrivals (pairs
//! stay together), 2,000 times, from the project's seeded stream (master
//! seed 1, replication 0, one stream per tenant and figure), and takes the
//! 2.5 and 97.5 percentiles of the resampled errors (linear interpolation,
//! as numpy's default).

mod read;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};

use hdrhistogram::Histogram;
use rand::RngExt;
use serde::Serialize;

use self::read::{Call, Line, LogReader, first_arrival};
use super::QUANTILES;
use super::compare::{Sig6, csv_text};
use crate::engine as rng;

/// Unmatched keys kept per side while joining.
pub const WINDOW: usize = 100_000;
/// One-sided calls listed in `paired.json` (all are counted).
pub const SHOWN: usize = 50;
/// The bootstrap's block of arrivals, in nanoseconds.
pub const BLOCK_NANOS: i128 = 60_000_000_000;
/// Bootstrap resamples.
pub const RESAMPLES: usize = 2000;
/// The bootstrap's master seed (the script's seed).
const SEED: u64 = 1;
/// The largest latency recorded (longer ones count as this), in µs: an
/// hour, as `calls`.
const MAX_MICROS: u64 = 3_600_000_000;

/// Why a paired comparison failed: the input's fault (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum PairedError {
    /// A log cannot be opened or read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The log.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// A line is not what the gateway's request log holds.
    #[error("{}, line {line}: {message}", path.display())]
    Line {
        /// The log.
        path: PathBuf,
        /// 1-based.
        line: u64,
        /// What is wrong, naming the field.
        message: String,
    },
}

/// Which log a call was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// The gateway's log.
    Measured,
    /// The simulator's.
    Simulated,
}

/// A call found on one side only.
#[derive(Clone, Debug, Serialize)]
pub struct OneSided {
    /// The log it is in.
    pub side: Side,
    /// Its key.
    pub draw_key: String,
    /// Its tenant.
    pub tenant: String,
    /// Its line in that log.
    pub line: u64,
    /// How it ended.
    pub outcome: String,
    /// Whether it fell out of the join's window (rather than reaching the
    /// end of both logs unmatched).
    pub out_of_window: bool,
}

/// One tenant's counts.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TenantCounts {
    /// The tenant's name.
    pub tenant: String,
    /// Calls judged (not ended by the client) in the gateway's log.
    pub judged_measured: u64,
    /// ... in the simulator's.
    pub judged_simulated: u64,
    /// Calls judged on both sides.
    pub pairs_judged: u64,
    /// Calls served in the gateway's log.
    pub served_measured: u64,
    /// ... in the simulator's.
    pub served_simulated: u64,
    /// Calls served on both sides.
    pub pairs_served: u64,
    /// Calls judged in the gateway's log with no partner in the simulator's.
    pub only_measured: u64,
    /// Calls judged in the simulator's log with no partner in the gateway's.
    pub only_simulated: u64,
    /// Of the one-sided calls, those that fell out of the join's window.
    pub out_of_window: u64,
    /// Pairs served on one side only.
    pub disagreeing: u64,
    /// Lines left out as the client's doing, gateway's log.
    pub client_measured: u64,
    /// ... simulator's.
    pub client_simulated: u64,
}

/// One row of `paired.csv`: a latency percentile or availability.
#[derive(Clone, Debug, Serialize)]
pub struct PairedRow {
    /// The tenant's name.
    pub tenant: String,
    /// `p50_ms`, `p95_ms`, `p99_ms` or `availability`.
    pub figure: String,
    /// Pairs it is computed over (served on both sides for latency, judged
    /// on both sides for availability).
    pub pairs: u64,
    /// Measured value (ms, or the share served).
    pub measured: Option<f64>,
    /// Simulated value.
    pub simulated: Option<f64>,
    /// Latency: measured / simulated − 1; availability: the difference in
    /// percentage points.
    pub error: Option<f64>,
    /// The error's 95 % block bootstrap interval.
    pub low: Option<f64>,
    /// See `low`.
    pub high: Option<f64>,
}

/// What the comparison found.
#[derive(Clone, Debug, Serialize)]
pub struct Paired {
    /// The gateway's log.
    pub measured_log: String,
    /// The simulator's log.
    pub simulated_log: String,
    /// Per tenant, by name.
    pub tenants: Vec<TenantCounts>,
    /// Per tenant, the per-call latency correlation of the calls served on
    /// both sides (none with fewer than two).
    pub correlation: Vec<Option<f64>>,
    /// Per tenant p50, p95, p99, availability.
    pub rows: Vec<PairedRow>,
    /// The first [`SHOWN`] calls found on one side only (by side, then line).
    pub one_sided: Vec<OneSided>,
    /// The join's window, in unmatched keys per side.
    pub window: usize,
    /// Bootstrap block, seconds.
    pub block_seconds: u64,
    /// Bootstrap resamples.
    pub resamples: usize,
}

/// A block's figures for the bootstrap.
#[derive(Default)]
struct Block {
    judged: u64,
    served_measured: u64,
    served_simulated: u64,
    /// Latency of the pairs served per side: (HDR bucket's lowest
    /// equivalent µs, count), sorted by bucket.
    latency: [Vec<(u32, u32)>; 2],
}

/// One tenant's accumulation.
struct Tenant {
    counts: TenantCounts,
    histograms: [Histogram<u64>; 2],
    blocks: BTreeMap<i128, Block>,
    /// Σx, Σy, Σx², Σy², Σxy of the pairs' latencies in ms (shifted by the
    /// first pair's, for accuracy).
    sums: [f64; 5],
    shift: Option<(f64, f64)>,
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_MICROS, 3)
        .unwrap_or_else(|_| unreachable!("1 µs to an hour at 3 significant digits is a valid histogram"))
}

fn micros(nanos: i128) -> u64 {
    u64::try_from(nanos / 1000).unwrap_or(u64::MAX).clamp(1, MAX_MICROS)
}

impl Tenant {
    fn new(name: &str) -> Tenant {
        Tenant {
            counts: TenantCounts {
                tenant: name.to_string(),
                ..TenantCounts::default()
            },
            histograms: [histogram(), histogram()],
            blocks: BTreeMap::new(),
            sums: [0.0; 5],
            shift: None,
        }
    }

    fn pair(&mut self, m: &Call, s: &Call, block: i128) {
        let c = &mut self.counts;
        c.pairs_judged += 1;
        let b = self.blocks.entry(block).or_default();
        b.judged += 1;
        b.served_measured += u64::from(m.latency.is_some());
        b.served_simulated += u64::from(s.latency.is_some());
        if m.latency.is_some() != s.latency.is_some() {
            c.disagreeing += 1;
        }
        let (Some(lm), Some(ls)) = (m.latency, s.latency) else {
            return;
        };
        c.pairs_served += 1;
        for (side, nanos) in [lm, ls].into_iter().enumerate() {
            let v = micros(nanos);
            let _ = self.histograms[side].record(v);
            // An hour in µs is below u32::MAX, and a block's count too.
            let bucket = u32::try_from(self.histograms[side].lowest_equivalent(v)).unwrap_or(u32::MAX);
            let entries = &mut b.latency[side];
            match entries.binary_search_by_key(&bucket, |e| e.0) {
                Ok(i) => entries[i].1 = entries[i].1.saturating_add(1),
                Err(i) => entries.insert(i, (bucket, 1)),
            }
        }
        let (x, y) = (lm as f64 / 1e6, ls as f64 / 1e6);
        let (x0, y0) = *self.shift.get_or_insert((x, y));
        let (x, y) = (x - x0, y - y0);
        for (acc, v) in self.sums.iter_mut().zip([x, y, x * x, y * y, x * y]) {
            *acc += v;
        }
    }

    fn correlation(&self) -> Option<f64> {
        let n = self.counts.pairs_served as f64;
        if n < 2.0 {
            return None;
        }
        let [sx, sy, sxx, syy, sxy] = self.sums;
        let cov = sxy - sx * sy / n;
        let (vx, vy) = (sxx - sx * sx / n, syy - sy * sy / n);
        Some(cov / (vx * vy).sqrt())
    }
}

/// The unmatched calls of one side, oldest first.
struct Pending {
    calls: HashMap<String, (u64, Call)>,
    order: VecDeque<(u64, String)>,
    next: u64,
    window: usize,
}

impl Pending {
    fn insert(&mut self, call: Call) -> Option<Call> {
        let key = call.key.clone();
        let seq = self.next;
        self.next += 1;
        if let Some((_, old)) = self.calls.insert(key.clone(), (seq, call)) {
            return Some(old);
        }
        self.order.push_back((seq, key));
        None
    }

    fn remove(&mut self, key: &str) -> Option<Call> {
        let (_, call) = self.calls.remove(key)?;
        // Keep the order's stale entries bounded.
        if self.order.len() > 2 * self.window.max(self.calls.len()) {
            let calls = &self.calls;
            self.order
                .retain(|(seq, k)| calls.get(k).is_some_and(|(s, _)| s == seq));
        }
        Some(call)
    }

    /// The oldest unmatched call, if more than the window are kept.
    fn overflow(&mut self) -> Option<Call> {
        if self.calls.len() <= self.window {
            return None;
        }
        while let Some((seq, key)) = self.order.pop_front() {
            if self.calls.get(&key).is_some_and(|(s, _)| *s == seq) {
                return self.calls.remove(&key).map(|(_, c)| c);
            }
        }
        None
    }
}

/// The comparison being accumulated.
struct Join {
    tenants: BTreeMap<String, Tenant>,
    pending: [Pending; 2],
    one_sided: Vec<OneSided>,
    first_measured: i128,
    paths: [PathBuf; 2],
}

impl Join {
    fn tenant(&mut self, name: &str) -> &mut Tenant {
        self.tenants
            .entry(name.to_string())
            .or_insert_with(|| Tenant::new(name))
    }

    fn add(&mut self, side: usize, call: Call) -> Result<(), PairedError> {
        let t = self.tenant(&call.tenant);
        if side == 0 {
            t.counts.judged_measured += 1;
            t.counts.served_measured += u64::from(call.latency.is_some());
        } else {
            t.counts.judged_simulated += 1;
            t.counts.served_simulated += u64::from(call.latency.is_some());
        }
        if let Some(other) = self.pending[1 - side].remove(&call.key) {
            let (m, s) = if side == 0 { (&call, &other) } else { (&other, &call) };
            if m.tenant != s.tenant {
                return Err(PairedError::Line {
                    path: self.paths[side].clone(),
                    line: call.line,
                    message: format!(
                        "field `tenant`: {:?} for draw_key {}, which is {:?} on line {} of {}",
                        call.tenant,
                        call.key,
                        other.tenant,
                        other.line,
                        self.paths[1 - side].display()
                    ),
                });
            }
            let block = (m.arrival - self.first_measured).div_euclid(BLOCK_NANOS);
            self.tenant(&m.tenant.clone()).pair(m, s, block);
            return Ok(());
        }
        let (line, key) = (call.line, call.key.clone());
        if let Some(old) = self.pending[side].insert(call) {
            return Err(PairedError::Line {
                path: self.paths[side].clone(),
                line,
                message: format!(
                    "field `draw_key`: {key} is also on line {}; a call's key is unique in a log",
                    old.line
                ),
            });
        }
        if let Some(evicted) = self.pending[side].overflow() {
            self.one_side(side, evicted, true);
        }
        Ok(())
    }

    fn one_side(&mut self, side: usize, call: Call, out_of_window: bool) {
        let c = &mut self.tenant(&call.tenant).counts;
        if side == 0 {
            c.only_measured += 1;
        } else {
            c.only_simulated += 1;
        }
        c.out_of_window += u64::from(out_of_window);
        self.one_sided.push(OneSided {
            side: if side == 0 { Side::Measured } else { Side::Simulated },
            draw_key: call.key,
            tenant: call.tenant,
            line: call.line,
            outcome: call.outcome,
            out_of_window,
        });
        // Keep the first SHOWN by side and line, and no more.
        if self.one_sided.len() > 2 * SHOWN {
            self.trim();
        }
    }

    fn trim(&mut self) {
        self.one_sided.sort_by_key(|c| (c.side == Side::Simulated, c.line));
        self.one_sided.truncate(SHOWN);
    }
}

/// Pairs the gateway's request log with the simulator's replication 0's
/// (both in the gateway's schema) and computes the comparison.
pub fn compare(measured: &Path, simulated: &Path) -> Result<Paired, PairedError> {
    compare_in_window(measured, simulated, WINDOW)
}

/// [`compare`] with a join window of `window` unmatched keys per side.
pub fn compare_in_window(measured: &Path, simulated: &Path, window: usize) -> Result<Paired, PairedError> {
    let firsts = [first_arrival(measured)?, first_arrival(simulated)?];
    let pending = || Pending {
        calls: HashMap::new(),
        order: VecDeque::new(),
        next: 0,
        window,
    };
    let mut join = Join {
        tenants: BTreeMap::new(),
        pending: [pending(), pending()],
        one_sided: Vec::new(),
        first_measured: firsts[0].unwrap_or(0),
        paths: [measured.to_path_buf(), simulated.to_path_buf()],
    };
    let mut readers = [LogReader::open(measured)?, LogReader::open(simulated)?];
    let mut next: [Option<Call>; 2] = [None, None];
    for side in 0..2 {
        next[side] = next_call(&mut readers[side], side, &mut join)?;
    }
    loop {
        // Whichever side's next call ends earlier (from its log's first
        // arrival) goes first: the logs stay in step.
        let at = |side: usize| next[side].as_ref().map(|c| c.end - firsts[side].unwrap_or(0));
        let side = match (at(0), at(1)) {
            (None, None) => break,
            (Some(_), None) => 0,
            (None, Some(_)) => 1,
            (Some(m), Some(s)) => usize::from(s < m),
        };
        let call = next[side]
            .take()
            .unwrap_or_else(|| unreachable!("the side chosen has a call"));
        join.add(side, call)?;
        next[side] = next_call(&mut readers[side], side, &mut join)?;
    }
    for side in 0..2 {
        let mut left: Vec<Call> = std::mem::take(&mut join.pending[side].calls)
            .into_values()
            .map(|(_, c)| c)
            .collect();
        left.sort_by_key(|c| c.line);
        for call in left {
            join.one_side(side, call, false);
        }
    }
    join.trim();
    Ok(finish(join, measured, simulated, window))
}

/// The next judged call of a log, counting the client's endings on the way.
fn next_call(reader: &mut LogReader, side: usize, join: &mut Join) -> Result<Option<Call>, PairedError> {
    loop {
        match reader.next_line()? {
            None => return Ok(None),
            Some(Line::Call(c)) => return Ok(Some(c)),
            Some(Line::Client { tenant, .. }) => {
                let c = &mut join.tenant(&tenant).counts;
                if side == 0 {
                    c.client_measured += 1;
                } else {
                    c.client_simulated += 1;
                }
            }
        }
    }
}

fn finish(join: Join, measured: &Path, simulated: &Path, window: usize) -> Paired {
    let mut rows = Vec::new();
    let mut correlation = Vec::new();
    let mut tenants = Vec::new();
    for (name, t) in &join.tenants {
        correlation.push(t.correlation());
        rows.extend(latency_rows(name, t));
        rows.push(availability_row(name, t));
        tenants.push(t.counts.clone());
    }
    Paired {
        measured_log: measured.display().to_string(),
        simulated_log: simulated.display().to_string(),
        tenants,
        correlation,
        rows,
        one_sided: join.one_sided,
        window,
        block_seconds: (BLOCK_NANOS / 1_000_000_000) as u64,
        resamples: RESAMPLES,
    }
}

/// The stream of one tenant's figure's bootstrap.
fn bootstrap_rng(tenant: &str, figure: &str) -> rng::Rng {
    rng::stream(SEED, 0, &format!("fidelity-paired/{figure}/{tenant}"))
}

/// numpy's default percentile (linear interpolation) of sorted values.
pub fn percentile_linear(sorted: &[f64], p: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * p / 100.0;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// The resampled errors of a tenant's latency percentiles, sorted: one
/// vector per quantile of [`QUANTILES`] (each resample gives all three).
pub fn latency_bootstrap(blocks: &[[&[(u32, u32)]; 2]], tenant: &str) -> [Vec<f64>; 3] {
    let mut out: [Vec<f64>; 3] = Default::default();
    if blocks.is_empty() {
        return out;
    }
    let mut rng = bootstrap_rng(tenant, "latency");
    let mut scratch = [histogram(), histogram()];
    for _ in 0..RESAMPLES {
        for h in &mut scratch {
            h.reset();
        }
        for _ in 0..blocks.len() {
            let pick = blocks[rng.random_range(0..blocks.len())];
            for side in 0..2 {
                for &(v, n) in pick[side] {
                    let _ = scratch[side].record_n(u64::from(v), u64::from(n));
                }
            }
        }
        for (i, (q, _)) in QUANTILES.iter().enumerate() {
            let (m, s) = (scratch[0].value_at_quantile(*q), scratch[1].value_at_quantile(*q));
            out[i].push(m as f64 / s as f64 - 1.0);
        }
    }
    for v in &mut out {
        v.sort_by(f64::total_cmp);
    }
    out
}

fn latency_rows(name: &str, t: &Tenant) -> Vec<PairedRow> {
    let blocks: Vec<[&[(u32, u32)]; 2]> = t
        .blocks
        .values()
        .filter(|b| !b.latency[0].is_empty())
        .map(|b| [b.latency[0].as_slice(), b.latency[1].as_slice()])
        .collect();
    let boot = latency_bootstrap(&blocks, name);
    QUANTILES
        .iter()
        .enumerate()
        .map(|(i, (q, figure))| {
            let value = |side: usize| {
                (!t.histograms[side].is_empty()).then(|| t.histograms[side].value_at_quantile(*q) as f64 / 1000.0)
            };
            let (m, s) = (value(0), value(1));
            let interval = |p: f64| (!boot[i].is_empty()).then(|| percentile_linear(&boot[i], p));
            PairedRow {
                tenant: name.to_string(),
                figure: figure.to_string(),
                pairs: t.counts.pairs_served,
                measured: m,
                simulated: s,
                error: m.zip(s).map(|(m, s)| m / s - 1.0),
                low: interval(2.5),
                high: interval(97.5),
            }
        })
        .collect()
}

/// The resampled differences of availability in percentage points, sorted.
pub fn availability_bootstrap(blocks: &[[u64; 3]], tenant: &str) -> Vec<f64> {
    if blocks.is_empty() {
        return Vec::new();
    }
    let mut rng = bootstrap_rng(tenant, "availability");
    let mut out: Vec<f64> = (0..RESAMPLES)
        .map(|_| {
            let mut sum = [0u64; 3];
            for _ in 0..blocks.len() {
                let b = blocks[rng.random_range(0..blocks.len())];
                for (acc, v) in sum.iter_mut().zip(b) {
                    *acc += v;
                }
            }
            100.0 * (sum[1] as f64 - sum[2] as f64) / sum[0] as f64
        })
        .collect();
    out.sort_by(f64::total_cmp);
    out
}

fn availability_row(name: &str, t: &Tenant) -> PairedRow {
    let blocks: Vec<[u64; 3]> = t
        .blocks
        .values()
        .filter(|b| b.judged > 0)
        .map(|b| [b.judged, b.served_measured, b.served_simulated])
        .collect();
    let boot = availability_bootstrap(&blocks, name);
    let n: u64 = blocks.iter().map(|b| b[0]).sum();
    let share = |i: usize| (n > 0).then(|| blocks.iter().map(|b| b[i]).sum::<u64>() as f64 / n as f64);
    let (m, s) = (share(1), share(2));
    let interval = |p: f64| (!boot.is_empty()).then(|| percentile_linear(&boot, p));
    PairedRow {
        tenant: name.to_string(),
        figure: "availability".into(),
        pairs: t.counts.pairs_judged,
        measured: m,
        simulated: s,
        error: m.zip(s).map(|(m, s)| 100.0 * (m - s)),
        low: interval(2.5),
        high: interval(97.5),
    }
}

impl Paired {
    /// `paired.csv`: per tenant and figure the pairs, the one-sided counts,
    /// the correlation, both values, the error and its interval.
    pub fn csv(&self) -> Vec<u8> {
        let num = |x: Option<f64>| x.map_or(String::new(), |x| format!("{}", Sig6(x)));
        let mut out = String::from(
            "tenant,figure,pairs,calls_measured,calls_simulated,only_measured,only_simulated,correlation,measured,\
             simulated,error,error_low,error_high,calls_disagreeing\n",
        );
        for r in &self.rows {
            let (i, t) = self
                .tenants
                .iter()
                .enumerate()
                .find(|(_, t)| t.tenant == r.tenant)
                .unwrap_or_else(|| unreachable!("every row's tenant is counted"));
            let latency = r.figure != "availability";
            let (calls_m, calls_s) = if latency {
                (t.served_measured, t.served_simulated)
            } else {
                (t.judged_measured, t.judged_simulated)
            };
            out.push_str(&format!(
                "{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
                csv_text(&r.tenant),
                r.figure,
                r.pairs,
                calls_m,
                calls_s,
                t.only_measured,
                t.only_simulated,
                num(self.correlation[i]),
                num(r.measured),
                num(r.simulated),
                num(r.error),
                num(r.low),
                num(r.high),
                if latency {
                    String::new()
                } else {
                    t.disagreeing.to_string()
                }
            ));
        }
        out.into_bytes()
    }

    /// `paired.json`: the counts per tenant, the first one-sided calls and
    /// the method's settings.
    pub fn json(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).unwrap_or_else(|_| unreachable!("plain data serializes"));
        out.push(b'\n');
        out
    }

    /// Calls on one side only, both sides, all tenants.
    pub fn one_sided_calls(&self) -> u64 {
        self.tenants.iter().map(|t| t.only_measured + t.only_simulated).sum()
    }
}
