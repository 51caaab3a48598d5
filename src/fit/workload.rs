//! Per tenant and workflow: arrivals (rate, hour-of-day and day-of-week
//! profile, dispersion), token laws, and task shapes from task ids.
//!
//! Memory: token counts are kept exactly as value → occurrences (bounded by
//! the range of counts, not by rows), arrivals as counts per hour of the
//! log's span, tasks only while open (closed after an idle hour).

use std::collections::{BTreeMap, HashMap};

use statrs::distribution::{ContinuousCDF, Normal};

use super::endpoint::Estimate;
use super::mmpp::{self, ArrivalBins, MmppFit};
use super::stats::{self, Ks};
use crate::logs::{CallRecord, RecordKind, Status};

const HOUR: u64 = 3_600_000_000_000;
/// A task with no record for this long is closed.
const IDLE: u64 = HOUR;
/// Fewer counts than this fit no token law.
pub const MIN_TOKEN_ROWS: u64 = 30;
/// Fewer arrivals than this fit no profile.
pub const MIN_PROFILE_ARRIVALS: u64 = 200;
/// Days of log a day-of-week profile needs.
pub const MIN_WEEKLY_DAYS: f64 = 13.0;
/// The dispersion test's level: below this p-value arrivals are bursty.
pub const BURSTY_P: f64 = 0.01;
/// Quantiles of an empirical token law (0%, 1%, …, 100%).
pub const QUANTILES: usize = 101;

/// An open task.
#[derive(Clone, Debug, Default)]
struct OpenTask {
    first: u64,
    last: u64,
    calls: u32,
    tools: u32,
    tool_seconds: f64,
    tool_failures: u32,
    agents: u32,
    busy_seconds: f64,
}

/// What one workflow's rows add up to.
#[derive(Default)]
pub struct WorkflowAcc {
    /// Task arrivals per absolute hour (ns / 3600e9).
    pub arrivals: HashMap<u64, u32>,
    /// Task arrivals in short bins, for bursts.
    pub bins: ArrivalBins,
    input: BTreeMap<u32, u64>,
    output: BTreeMap<u32, u64>,
    /// Endpoints used, by calls.
    pub endpoints: BTreeMap<String, u64>,
    /// Model groups used, by calls.
    pub groups: BTreeMap<String, u64>,
    open: HashMap<String, OpenTask>,
    shapes: Shapes,
    /// Model calls counted.
    pub calls: u64,
}

/// Closed tasks' shapes.
#[derive(Clone, Debug, Default)]
pub struct Shapes {
    /// Tasks closed.
    pub tasks: u64,
    /// Model calls per task → tasks.
    pub calls: BTreeMap<u32, u64>,
    /// Steps per task (calls less tool follow-ups) → tasks.
    pub depth: BTreeMap<u32, u64>,
    /// Sub-agents per task → tasks (agent runs under the root).
    pub agents: BTreeMap<u32, u64>,
    /// Tool calls, their seconds, their failures.
    pub tools: u64,
    /// Seconds of all tool calls.
    pub tool_seconds: f64,
    /// Tool calls that failed.
    pub tool_failures: u64,
    /// Seconds of tasks not spent in calls or tools, and the gaps they span.
    pub think_seconds: f64,
    /// Gaps between steps.
    pub think_gaps: u64,
}

impl WorkflowAcc {
    /// Adds a model call (counted once per call) or a tool or agent span.
    pub fn add(&mut self, r: &CallRecord, now: u64) {
        if r.kind == RecordKind::Model {
            self.calls += 1;
            if let Some(v) = r.input_tokens {
                *self.input.entry(v).or_default() += 1;
            }
            if let Some(v) = r.output_tokens
                && r.status == Status::Ok
            {
                *self.output.entry(v).or_default() += 1;
            }
            if let Some(e) = &r.endpoint {
                *self.endpoints.entry(e.clone()).or_default() += 1;
            }
            if let Some(g) = &r.model_group {
                *self.groups.entry(g.clone()).or_default() += 1;
            }
        }
        match &r.task {
            None if r.kind == RecordKind::Model => {
                *self.arrivals.entry(r.start / HOUR).or_default() += 1;
                self.bins.add(r.start);
                self.close(OpenTask {
                    first: r.start,
                    last: r.end,
                    calls: 1,
                    ..OpenTask::default()
                });
            }
            None => {}
            Some(id) => {
                let t = self.open.entry(id.clone()).or_insert_with(|| OpenTask {
                    first: r.start,
                    last: r.end,
                    ..OpenTask::default()
                });
                t.first = t.first.min(r.start);
                t.last = t.last.max(r.end);
                let secs = r.duration() as f64 / 1e9;
                match r.kind {
                    RecordKind::Model => {
                        t.calls += 1;
                        t.busy_seconds += secs;
                    }
                    RecordKind::Tool => {
                        t.tools += 1;
                        t.tool_seconds += secs;
                        if r.status != Status::Ok {
                            t.tool_failures += 1;
                        }
                    }
                    RecordKind::Agent => t.agents += 1,
                }
            }
        }
        if self.open.len() > 1024 && self.open.len().is_power_of_two() {
            self.sweep(now);
        }
    }

    /// Closes the tasks idle for an hour before `now` (all with `u64::MAX`).
    pub fn sweep(&mut self, now: u64) {
        let mut done: Vec<String> = self
            .open
            .iter()
            .filter(|(_, t)| t.last.saturating_add(IDLE) < now || now == u64::MAX)
            .map(|(k, _)| k.clone())
            .collect();
        done.sort();
        for k in done {
            if let Some(t) = self.open.remove(&k) {
                if t.calls > 0 {
                    *self.arrivals.entry(t.first / HOUR).or_default() += 1;
                    self.bins.add(t.first);
                }
                self.close(t);
            }
        }
    }

    fn close(&mut self, t: OpenTask) {
        if t.calls == 0 {
            return;
        }
        let s = &mut self.shapes;
        s.tasks += 1;
        *s.calls.entry(t.calls).or_default() += 1;
        let depth = t.calls.saturating_sub(t.tools).max(1);
        *s.depth.entry(depth).or_default() += 1;
        *s.agents.entry(t.agents.saturating_sub(1)).or_default() += 1;
        s.tools += u64::from(t.tools);
        s.tool_seconds += t.tool_seconds;
        s.tool_failures += u64::from(t.tool_failures);
        if depth > 1 && t.agents <= 1 {
            let span = t.last.saturating_sub(t.first) as f64 / 1e9;
            s.think_seconds += (span - t.busy_seconds - t.tool_seconds).max(0.0);
            s.think_gaps += u64::from(depth - 1);
        }
    }

    /// Token counts (input, output).
    pub fn tokens(&self) -> (&BTreeMap<u32, u64>, &BTreeMap<u32, u64>) {
        (&self.input, &self.output)
    }

    /// Closed tasks' shapes (after the final sweep).
    pub fn shapes(&self) -> &Shapes {
        &self.shapes
    }
}

/// A fitted token law.
#[derive(Clone, Debug, PartialEq)]
pub enum TokenFit {
    /// Rounded lognormal (at least 1) of this mean and log-space deviation.
    Lognormal {
        /// Mean count.
        mean: Estimate,
        /// Log-space deviation.
        sigma: Estimate,
        /// Goodness of fit.
        ks: Ks,
    },
    /// Equally spaced quantiles of the counts seen.
    Empirical {
        /// 0%, 1%, …, 100%.
        quantiles: Vec<u32>,
        /// Why not a lognormal.
        reason: String,
        /// The rejected lognormal's fit, when there was one.
        lognormal_ks: Option<Ks>,
    },
    /// Every count the same.
    Constant {
        /// The count.
        value: u32,
    },
    /// No counts in the log.
    Missing,
}

/// The k/(n-1)-quantiles of integer counts.
pub fn quantiles(counts: &BTreeMap<u32, u64>, n_points: usize) -> Vec<u32> {
    let n: u64 = counts.values().sum();
    let mut out = Vec::with_capacity(n_points);
    if n == 0 {
        return out;
    }
    let mut iter = counts.iter();
    let mut cum = 0u64;
    let mut current = 0u32;
    for k in 0..n_points {
        // The smallest value whose cumulative count reaches rank r (1-based).
        let rank = 1 + ((n - 1) as f64 * k as f64 / (n_points - 1) as f64).round() as u64;
        while cum < rank {
            match iter.next() {
                Some((&v, &c)) => {
                    cum += c;
                    current = v;
                }
                None => break,
            }
        }
        out.push(current);
    }
    out
}

/// Fits a token law: lognormal by maximum likelihood on log counts (zero
/// counts taken as 1, as the simulator draws at least 1), judged by KS
/// against the rounded lognormal; the empirical quantiles when it is
/// rejected at 1% or when there are too few counts for a law.
pub fn fit_tokens(counts: &BTreeMap<u32, u64>) -> TokenFit {
    let n: u64 = counts.values().sum();
    if n == 0 {
        return TokenFit::Missing;
    }
    if counts.len() == 1 {
        return TokenFit::Constant {
            value: *counts.keys().next().unwrap_or(&0),
        };
    }
    if n < MIN_TOKEN_ROWS {
        return TokenFit::Empirical {
            quantiles: quantiles(counts, QUANTILES.min(n as usize + 1).max(2)),
            reason: format!(
                "{n} count(s), fewer than the {MIN_TOKEN_ROWS} a law needs: the counts themselves, as quantiles"
            ),
            lognormal_ks: None,
        };
    }
    let (mut s1, mut s2) = (0.0, 0.0);
    for (&v, &c) in counts {
        let l = f64::from(v.max(1)).ln();
        s1 += c as f64 * l;
        s2 += c as f64 * l * l;
    }
    let nf = n as f64;
    let mu = s1 / nf;
    let sigma = (s2 / nf - mu * mu).max(0.0).sqrt();
    let ks = match Normal::new(mu, sigma.max(1e-12)) {
        Ok(d) => stats::ks_counts(counts, |k| if k < 1.0 { 0.0 } else { d.cdf((k + 0.5).ln()) }),
        Err(_) => Ks::new(1.0, n),
    };
    if ks.p_value < 0.01 {
        return TokenFit::Empirical {
            quantiles: quantiles(counts, QUANTILES),
            reason: format!(
                "the lognormal was rejected (KS distance {:.4}, p {:.2e}, n {n})",
                ks.distance, ks.p_value
            ),
            lognormal_ks: Some(ks),
        };
    }
    // mean = exp(mu + sigma²/2); Var of (mu + sigma²/2) by the delta method (Cox).
    let mean = (mu + sigma * sigma / 2.0).exp();
    let var = sigma * sigma / nf + sigma.powi(4) / (2.0 * (nf - 1.0));
    let (slo, shi) = stats::sigma_interval(sigma, n, 0.95);
    TokenFit::Lognormal {
        mean: Estimate::normal(mean, mean * var.sqrt()),
        sigma: Estimate {
            se: sigma / (2.0 * nf).sqrt(),
            ..Estimate::interval(sigma, slo, shi)
        },
        ks,
    }
}

/// The arrival law of a workflow.
#[derive(Clone, Debug, PartialEq)]
pub struct ArrivalFit {
    /// Task arrivals counted.
    pub arrivals: u64,
    /// Base rate, tasks per second (before the profiles).
    pub rate: Estimate,
    /// Hour-of-day factors (mean 1), when significant.
    pub diurnal: Option<Vec<Estimate>>,
    /// Day-of-week factors, Monday first (mean 1), when significant.
    pub weekly: Option<Vec<Estimate>>,
    /// Why a profile was left out, when it was.
    pub notes: Vec<String>,
    /// Pearson's index of dispersion of hourly counts around the fitted
    /// profile, and its p-value under Poisson arrivals.
    pub dispersion: Option<(f64, f64)>,
    /// On/off bursts (a two-state MMPP), fitted when the dispersion test
    /// rejects Poisson arrivals at 1% and an MMPP fits; `rate` is then the
    /// off rate. `Err`: Poisson was rejected but no MMPP fits, and why.
    pub bursts: Option<Result<MmppFit, String>>,
    /// Goodness of fit of hourly counts: KS of the probability integral
    /// transform is not meaningful for counts; the dispersion test is it.
    pub hours: u64,
}

/// Fits rate × diurnal[h] × weekly[d] by maximum likelihood (Poisson,
/// iterative proportional fitting) to arrivals per absolute hour, with the
/// exposure of each hour within the log's coverage `[from, to)` (ns); when
/// the hourly counts are overdispersed (Poisson rejected at 1%), on/off
/// bursts on top of that profile, from `bins`.
pub fn fit_arrivals(arrivals: &HashMap<u64, u32>, bins: &ArrivalBins, from: u64, to: u64) -> ArrivalFit {
    let total: u64 = arrivals.values().map(|&c| u64::from(c)).sum();
    let (h0, h1) = (from / HOUR, to.saturating_sub(1) / HOUR);
    let mut cells = Vec::new();
    for h in h0..=h1 {
        let lo = (h * HOUR).max(from);
        let hi = ((h + 1) * HOUR).min(to.max(from + 1));
        let exposure = hi.saturating_sub(lo) as f64 / HOUR as f64;
        let day = h / 24;
        // 1970-01-01 was a Thursday (Monday-first index 3).
        let dow = ((day + 3) % 7) as usize;
        cells.push(Cell {
            hour: (h % 24) as usize,
            dow,
            exposure,
            count: f64::from(arrivals.get(&h).copied().unwrap_or(0)),
        });
    }
    let exposure_total: f64 = cells.iter().map(|c| c.exposure).sum();
    let secs = exposure_total * 3600.0;
    let mut notes = Vec::new();
    let rate0 = total as f64 / secs.max(1e-9);
    let mut d = [1.0; 24];
    let mut w = [1.0; 7];
    let days = exposure_total / 24.0;
    let mut fit_d = days >= 1.0 && total >= MIN_PROFILE_ARRIVALS;
    let mut fit_w = days >= MIN_WEEKLY_DAYS && total >= MIN_PROFILE_ARRIVALS;
    if !fit_d {
        notes.push(format!(
            "no hour-of-day profile: {days:.1} day(s) of log and {total} arrival(s); it needs a day and {MIN_PROFILE_ARRIVALS}"
        ));
    }
    if !fit_w && fit_d {
        notes.push(format!(
            "no day-of-week profile: {days:.1} day(s) of log; it needs {MIN_WEEKLY_DAYS} (each weekday twice, nearly)"
        ));
    }
    let mut rate = rate0;
    for _ in 0..100 {
        if fit_d {
            for (h, dh) in d.iter_mut().enumerate() {
                let (n, e): (f64, f64) = cells.iter().filter(|c| c.hour == h).fold((0.0, 0.0), |(n, e), c| {
                    (n + c.count, e + c.exposure * 3600.0 * rate * w[c.dow])
                });
                *dh = if e > 0.0 { n / e } else { 1.0 };
            }
        }
        if fit_w {
            for (k, wk) in w.iter_mut().enumerate() {
                let (n, e): (f64, f64) = cells.iter().filter(|c| c.dow == k).fold((0.0, 0.0), |(n, e), c| {
                    (n + c.count, e + c.exposure * 3600.0 * rate * d[c.hour])
                });
                *wk = if e > 0.0 { n / e } else { 1.0 };
            }
        }
        let md = d.iter().sum::<f64>() / 24.0;
        let mw = w.iter().sum::<f64>() / 7.0;
        d.iter_mut().for_each(|x| *x /= md.max(1e-12));
        w.iter_mut().for_each(|x| *x /= mw.max(1e-12));
        let e: f64 = cells.iter().map(|c| c.exposure * 3600.0 * d[c.hour] * w[c.dow]).sum();
        rate = total as f64 / e.max(1e-9);
    }
    // Is each profile significant? Pearson χ² of the margin against flat,
    // scaled by the overdispersion of the full model's hourly counts
    // (quasi-Poisson): bursts alone must not pass for a profile.
    let scale = {
        let (mut x2, mut k) = (0.0, 0.0);
        for c in cells.iter().filter(|c| c.exposure >= 1.0) {
            let m = c.exposure * 3600.0 * rate * d[c.hour] * w[c.dow];
            if m > 0.0 {
                x2 += (c.count - m).powi(2) / m;
                k += 1.0;
            }
        }
        let df = k - 1.0 - if fit_d { 23.0 } else { 0.0 } - if fit_w { 6.0 } else { 0.0 };
        if df > 0.0 {
            let phi = x2 / df;
            // Only when the overdispersion is itself significant.
            if stats::chi_square_p(x2, df) < BURSTY_P {
                phi.max(1.0)
            } else {
                1.0
            }
        } else {
            1.0
        }
    };
    if fit_d {
        let mut n = [0.0; 24];
        let mut e = [0.0; 24];
        for c in &cells {
            n[c.hour] += c.count;
            e[c.hour] += c.exposure * 3600.0 * rate * if fit_w { w[c.dow] } else { 1.0 };
        }
        let x2: f64 = n
            .iter()
            .zip(&e)
            .filter(|(_, e)| **e > 0.0)
            .map(|(n, e)| (n - e).powi(2) / e)
            .sum();
        let p = stats::chi_square_p(x2 / scale, 23.0);
        if p >= 0.01 {
            fit_d = false;
            notes.push(format!(
                "no hour-of-day profile: arrivals do not vary by hour (χ² p = {p:.3})"
            ));
        }
    }
    if fit_w {
        let ds = d;
        let mut n = [0.0; 7];
        let mut e = [0.0; 7];
        for c in &cells {
            n[c.dow] += c.count;
            e[c.dow] += c.exposure * 3600.0 * rate * if fit_d { ds[c.hour] } else { 1.0 };
        }
        let x2: f64 = n
            .iter()
            .zip(&e)
            .filter(|(_, e)| **e > 0.0)
            .map(|(n, e)| (n - e).powi(2) / e)
            .sum();
        let p = stats::chi_square_p(x2 / scale, 6.0);
        if p >= 0.01 {
            fit_w = false;
            notes.push(format!(
                "no day-of-week profile: arrivals do not vary by weekday (χ² p = {p:.3})"
            ));
        }
    }
    if !fit_d {
        d = [1.0; 24];
    }
    if !fit_w {
        w = [1.0; 7];
    }
    let e: f64 = cells.iter().map(|c| c.exposure * 3600.0 * d[c.hour] * w[c.dow]).sum();
    rate = total as f64 / e.max(1e-9);
    // Dispersion of hourly counts around the fitted intensity (whole hours only).
    let mut x2 = 0.0;
    let mut k = 0u64;
    for c in cells.iter().filter(|c| c.exposure >= 1.0) {
        let m = c.exposure * 3600.0 * rate * d[c.hour] * w[c.dow];
        if m > 0.0 {
            x2 += (c.count - m).powi(2) / m;
            k += 1;
        }
    }
    let params = 1 + if fit_d { 23 } else { 0 } + if fit_w { 6 } else { 0 };
    let df = k.saturating_sub(params) as f64;
    let dispersion = (df > 0.0).then(|| (x2 / df, stats::chi_square_p(x2, df)));
    let factor = |values: &[f64], by_hour: bool| -> Vec<Estimate> {
        values
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                let n: f64 = cells
                    .iter()
                    .filter(|c| if by_hour { c.hour == i } else { c.dow == i })
                    .map(|c| c.count)
                    .sum();
                Estimate::normal(v, v / n.max(1.0).sqrt())
            })
            .collect()
    };
    let bursts = dispersion
        .filter(|&(_, p)| p < BURSTY_P && total >= MIN_PROFILE_ARRIVALS)
        .map(|_| mmpp::fit(bins, from, to, |h, dw| d[h] * w[dw]));
    let rate = match &bursts {
        Some(Ok(b)) => b.rate_off,
        _ => Estimate::normal(rate, rate / (total.max(1) as f64).sqrt()),
    };
    ArrivalFit {
        arrivals: total,
        rate,
        diurnal: fit_d.then(|| factor(&d, true)),
        weekly: fit_w.then(|| factor(&w, false)),
        notes,
        dispersion,
        bursts,
        hours: k,
    }
}

/// One hour of the log's span.
struct Cell {
    /// Hour of day, UTC.
    hour: usize,
    /// Day of week, Monday 0.
    dow: usize,
    /// Hours of it inside the log's coverage.
    exposure: f64,
    /// Arrivals in it.
    count: f64,
}
