//! Per endpoint: the latency law (weighted least squares on the linear
//! scale, lognormal noise by maximum likelihood), errors, 429s, the
//! incidents seen in the log and an outage process fitted to them, and the
//! capacity the log used.
//!
//! **Why linear-scale weighted least squares.** The simulator's service
//! time is (ttft + a·input + b·output) × noise with E[noise] = 1, so
//! E[latency | tokens] is linear in the coefficients and least squares on
//! the linear scale is unbiased for them. Least squares on the log scale
//! would fit log latency as linear in tokens, a different (exponential)
//! model. The noise is multiplicative (standard deviation proportional to
//! the mean), so rows are weighted by 1/μ̂², μ̂ from an ordinary
//! least-squares pilot on the first rows: the quasi-likelihood estimator
//! for a constant coefficient of variation, one pass over the log, from
//! sufficient statistics. Intervals use the heteroscedasticity-robust
//! (sandwich) covariance with its middle term estimated on a reservoir
//! sample.

use std::collections::HashMap;

use statrs::distribution::{Binomial, ContinuousCDF, DiscreteCDF, Exp, Normal};

use super::stats::{self, Ks, LeastSquares, Moments, Reservoir};
use crate::logs::{CallRecord, Status};

/// Rows kept for the pilot fit and the reservoir of each endpoint.
const PILOT: usize = 2000;
const RESERVOIR: usize = 20_000;
/// Fewer successful calls than this fit no regression.
pub const MIN_LATENCY_ROWS: u64 = 30;
/// Tokens are regressed in thousands and latency in seconds.
const TOKENS_UNIT: f64 = 1000.0;
const NS: f64 = 1e9;
const MINUTE: u64 = 60_000_000_000;

/// One minute of one endpoint.
#[derive(Clone, Copy, Debug)]
struct Minute {
    ok: u32,
    failed: u32,
    timeouts: u32,
    limited: u32,
    /// Seconds of attempts started in the minute (Little's law).
    busy: f64,
    first_fail: u64,
    last_fail: u64,
    first_ok: u64,
    last_ok: u64,
}

impl Default for Minute {
    fn default() -> Self {
        Minute {
            ok: 0,
            failed: 0,
            timeouts: 0,
            limited: 0,
            busy: 0.0,
            first_fail: u64::MAX,
            last_fail: 0,
            first_ok: u64::MAX,
            last_ok: 0,
        }
    }
}

/// What one endpoint's rows add up to.
pub struct EndpointAcc {
    provider: Option<String>,
    attempts: u64,
    by_status: [u64; 4],
    minutes: HashMap<u64, Minute>,
    pilot: Vec<([f64; 3], f64)>,
    pilot_beta: Option<[f64; 3]>,
    wls: LeastSquares,
    sample: Reservoir<([f64; 3], f64)>,
    success_seconds: Moments,
    timeouts: Reservoir<f64>,
    fast_errors: Reservoir<f64>,
    first_token: Reservoir<f64>,
    cost: LeastSquares,
}

impl EndpointAcc {
    /// An empty accumulator for endpoint `name`.
    pub fn new(name: &str) -> EndpointAcc {
        EndpointAcc {
            provider: None,
            attempts: 0,
            by_status: [0; 4],
            minutes: HashMap::new(),
            pilot: Vec::new(),
            pilot_beta: None,
            wls: LeastSquares::default(),
            sample: Reservoir::new(RESERVOIR, &format!("fit/latency/{name}")),
            success_seconds: Moments::default(),
            timeouts: Reservoir::new(1000, &format!("fit/timeouts/{name}")),
            fast_errors: Reservoir::new(1000, &format!("fit/errors/{name}")),
            first_token: Reservoir::new(2000, &format!("fit/ttft/{name}")),
            cost: LeastSquares::default(),
        }
    }

    /// Adds one attempt.
    pub fn add(&mut self, r: &CallRecord) {
        if self.provider.is_none() {
            self.provider.clone_from(&r.provider);
        }
        self.attempts += 1;
        let idx = match r.status {
            Status::Ok => 0,
            Status::Error => 1,
            Status::Timeout => 2,
            Status::RateLimited => 3,
        };
        self.by_status[idx] += 1;
        let secs = r.duration() as f64 / NS;
        let m = self.minutes.entry(r.start / MINUTE).or_default();
        m.busy += secs;
        match r.status {
            Status::Ok => {
                m.ok += 1;
                m.first_ok = m.first_ok.min(r.start);
                m.last_ok = m.last_ok.max(r.start);
            }
            Status::Error | Status::Timeout => {
                m.failed += 1;
                if r.status == Status::Timeout {
                    m.timeouts += 1;
                    self.timeouts.offer(secs);
                } else {
                    self.fast_errors.offer(secs);
                }
                m.first_fail = m.first_fail.min(r.start);
                m.last_fail = m.last_fail.max(r.start);
            }
            Status::RateLimited => m.limited += 1,
        }
        if r.status != Status::Ok {
            return;
        }
        self.success_seconds.add(secs);
        if let Some(t) = r.first_token {
            self.first_token.offer(t.saturating_sub(r.start) as f64 / NS);
        }
        let (Some(input), Some(output)) = (r.input_tokens, r.output_tokens) else {
            return;
        };
        let x = [1.0, f64::from(input) / TOKENS_UNIT, f64::from(output) / TOKENS_UNIT];
        if let Some(c) = r.cost {
            self.cost.add([0.0, f64::from(input), f64::from(output)], c, 1.0);
        }
        self.sample.offer((x, secs));
        match self.pilot_beta {
            Some(beta) => self.wls.add(x, secs, weight(&beta, x)),
            None => {
                self.pilot.push((x, secs));
                if self.pilot.len() >= PILOT {
                    self.flush_pilot();
                }
            }
        }
    }

    /// Fits the pilot on the rows held so far and moves them into the
    /// weighted sums.
    fn flush_pilot(&mut self) {
        let mut ols = LeastSquares::default();
        for &(x, y) in &self.pilot {
            ols.add(x, y, 1.0);
        }
        let mean = self.pilot.iter().map(|p| p.1).sum::<f64>() / self.pilot.len().max(1) as f64;
        let beta = ols
            .solve(&[0, 1, 2])
            .filter(|b| self.pilot.iter().all(|&(x, _)| dot(b, x) > 0.0))
            .unwrap_or([mean.max(1e-9), 0.0, 0.0]);
        self.pilot_beta = Some(beta);
        for (x, y) in std::mem::take(&mut self.pilot) {
            self.wls.add(x, y, weight(&beta, x));
        }
    }
}

fn dot(b: &[f64; 3], x: [f64; 3]) -> f64 {
    b[0] * x[0] + b[1] * x[1] + b[2] * x[2]
}

fn weight(beta: &[f64; 3], x: [f64; 3]) -> f64 {
    let mu = dot(beta, x).max(1e-6);
    1.0 / (mu * mu)
}

/// An estimate with its 95% interval and standard error.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    /// The point estimate.
    pub value: f64,
    /// Its standard error (NaN when not available).
    pub se: f64,
    /// The 95% interval.
    pub low: f64,
    /// The 95% interval.
    pub high: f64,
}

impl Estimate {
    /// Point ± z·se at 95%.
    pub fn normal(value: f64, se: f64) -> Estimate {
        let z = stats::z_of(0.95);
        Estimate {
            value,
            se,
            low: value - z * se,
            high: value + z * se,
        }
    }

    /// An estimate with a given interval (no standard error).
    pub fn interval(value: f64, low: f64, high: f64) -> Estimate {
        Estimate {
            value,
            se: f64::NAN,
            low,
            high,
        }
    }

    /// The interval at another level, from the standard error (the 95%
    /// interval when there is none).
    pub fn at(&self, level: f64) -> (f64, f64) {
        if self.se.is_finite() {
            let z = stats::z_of(level);
            (self.value - z * self.se, self.value + z * self.se)
        } else {
            (self.low, self.high)
        }
    }
}

/// The fitted latency law of an endpoint.
#[derive(Clone, Debug, PartialEq)]
pub enum LatencyFit {
    /// (ttft + per_input·in + per_output·out) × lognormal noise of mean 1;
    /// coefficients in seconds (per token).
    Lognormal {
        /// Fixed part, seconds.
        ttft: Estimate,
        /// Seconds per input token.
        per_input: Estimate,
        /// Seconds per output token.
        per_output: Estimate,
        /// Log-space deviation of the noise.
        sigma: Estimate,
        /// Goodness of fit of the noise (the ratio latency / fitted mean).
        ks: Ks,
        /// Whether the KS test rejects the lognormal at 1%: kept because the
        /// exponential fitted no better.
        poor: bool,
    },
    /// Exponential with this mean (seconds), whatever the tokens.
    Exponential {
        /// Mean, seconds.
        mean: Estimate,
        /// Goodness of fit, when computed.
        ks: Option<Ks>,
        /// Why this law was chosen.
        reason: String,
    },
    /// No successful call at all: nothing to fit.
    Missing,
}

/// An incident: a run of failures (or timeouts) far above the endpoint's
/// own error rate. Times in ns since the epoch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Incident {
    /// Start estimate (midway between the last success and the first failure).
    pub start: u64,
    /// End estimate (midway between the last failure and the next success).
    pub end: u64,
    /// The start lies in this range: (last success before, first failure].
    pub start_range: (u64, u64),
    /// The end lies in this range: (last failure, first success after].
    pub end_range: (u64, u64),
    /// Mostly timeouts (`hang`) rather than fast errors (`down`).
    pub hang: bool,
    /// Failed attempts in it.
    pub failures: u64,
}

/// What the log says about one endpoint.
#[derive(Clone, Debug)]
pub struct EndpointFit {
    /// The endpoint's name as the log writes it.
    pub name: String,
    /// Its provider, if the log says.
    pub provider: Option<String>,
    /// Attempts seen, and of them ok, errors, timeouts, 429s.
    pub attempts: u64,
    /// Counts by status: ok, error, timeout, rate limited.
    pub by_status: [u64; 4],
    /// The latency law.
    pub latency: LatencyFit,
    /// Share of attempts outside incidents (429s aside) that failed, with
    /// its Clopper-Pearson 95% interval; failures and attempts counted.
    pub error_probability: Estimate,
    /// Failures and attempts behind `error_probability`.
    pub errors_outside: (u64, u64),
    /// Median duration of fast errors (seconds), if any.
    pub error_latency: Option<f64>,
    /// Median duration of timed-out attempts (seconds): the client's timeout.
    pub timeout: Option<f64>,
    /// Median admitted attempts per minute in minutes that saw 429s (at
    /// least 3 such minutes), the provider's requests per minute.
    pub provider_rpm: Option<u32>,
    /// Minutes that saw a 429.
    pub limited_minutes: u64,
    /// Incidents, in time order.
    pub incidents: Vec<Incident>,
    /// Slots: the smallest count whose Erlang C waiting probability is at
    /// most 1% at the busiest minute's offered load; and that load.
    pub concurrency: (u32, f64),
    /// USD per million input and output tokens, if the log has costs.
    pub prices: Option<(f64, f64)>,
    /// Median time to first token (seconds) when the log has it.
    pub first_token_median: Option<f64>,
    /// Successful calls with tokens behind the latency regression.
    pub latency_rows: u64,
    /// The reservoir's ratios latency / fitted mean, for the Q-Q table.
    pub residual_sample: Vec<f64>,
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(v[v.len() / 2])
}

impl EndpointAcc {
    /// Fits everything; `pooled_mean` is the mean successful latency over
    /// all endpoints, for an endpoint that has none of its own.
    pub fn finish(mut self, name: &str) -> EndpointFit {
        if self.pilot_beta.is_none() && !self.pilot.is_empty() {
            self.flush_pilot();
        }
        let mut minutes: Vec<(u64, Minute)> = self.minutes.drain().collect();
        minutes.sort_by_key(|m| m.0);
        let incidents = incidents(&minutes);
        let inside = |m: u64| incidents.iter().any(|i| m >= i.start / MINUTE && m <= i.end / MINUTE);
        let (mut fails, mut tries) = (0u64, 0u64);
        for (m, s) in &minutes {
            if !inside(*m) {
                fails += u64::from(s.failed);
                tries += u64::from(s.failed + s.ok);
            }
        }
        let (lo, hi) = crate::plan::clopper_pearson(fails, tries, 0.95);
        let p = if tries == 0 { 0.0 } else { fails as f64 / tries as f64 };
        let limited: Vec<&Minute> = minutes.iter().map(|m| &m.1).filter(|m| m.limited > 0).collect();
        let provider_rpm = (limited.len() >= 3)
            .then(|| median(limited.iter().map(|m| f64::from(m.ok + m.failed)).collect()))
            .flatten()
            .map(|m| m.max(1.0) as u32);
        let peak = minutes.iter().map(|m| m.1.busy / 60.0).fold(0.0, f64::max);
        let concurrency = (1..=100_000u32)
            .find(|&c| stats::erlang_c(c, peak) <= 0.01)
            .unwrap_or(100_000);
        let prices = (self.cost.n >= 2)
            .then(|| self.cost.solve(&[1, 2]))
            .flatten()
            .filter(|b| b[1] >= 0.0 && b[2] >= 0.0)
            .map(|b| (b[1] * 1e6, b[2] * 1e6));
        let (latency, residual_sample) = self.latency();
        EndpointFit {
            name: name.to_string(),
            provider: self.provider,
            attempts: self.attempts,
            by_status: self.by_status,
            latency,
            error_probability: Estimate::interval(p, lo, hi),
            errors_outside: (fails, tries),
            error_latency: median(self.fast_errors.items().to_vec()),
            timeout: median(self.timeouts.items().to_vec()),
            provider_rpm,
            limited_minutes: limited.len() as u64,
            incidents,
            concurrency: (concurrency, peak),
            prices,
            first_token_median: median(self.first_token.items().to_vec()),
            latency_rows: self.wls.n,
            residual_sample,
        }
    }

    fn latency(&self) -> (LatencyFit, Vec<f64>) {
        let n = self.wls.n;
        if n < MIN_LATENCY_ROWS {
            if self.success_seconds.n == 0 {
                return (LatencyFit::Missing, Vec::new());
            }
            let mean = self.success_seconds.mean();
            let k = self.success_seconds.n;
            let (lo, hi) = stats::exponential_mean_interval(mean * k as f64, k, 0.95, false);
            return (
                LatencyFit::Exponential {
                    mean: Estimate::interval(mean, lo, hi),
                    ks: None,
                    reason: format!(
                        "{n} successful call(s) with token counts, fewer than the {MIN_LATENCY_ROWS} a regression \
                         on tokens needs: an exponential law with the observed mean"
                    ),
                },
                Vec::new(),
            );
        }
        // Drop a regressor whose coefficient comes out negative (not a
        // possible cost), then refit on the rest.
        let mut keep = vec![0usize, 1, 2];
        let mut beta = self.wls.solve(&keep).unwrap_or([self.success_seconds.mean(), 0.0, 0.0]);
        while let Some(pos) = keep.iter().position(|&i| beta[i] < 0.0) {
            keep.remove(pos);
            if keep.is_empty() {
                break;
            }
            beta = self.wls.solve(&keep).unwrap_or([self.success_seconds.mean(), 0.0, 0.0]);
        }
        let sample = self.sample.items();
        let pilot = self.pilot_beta.unwrap_or(beta);
        // Sandwich covariance: bread (Σ w x xᵀ)⁻¹, meat estimated on the sample.
        let scale = self.sample.seen() as f64 / sample.len().max(1) as f64;
        let mut meat = [[0.0; 3]; 3];
        let mut logs = Vec::with_capacity(sample.len());
        let mut ratios = Vec::with_capacity(sample.len());
        for &(x, y) in sample {
            let mu = dot(&beta, x);
            let w = weight(&pilot, x);
            let e = y - mu;
            for i in 0..3 {
                for j in 0..3 {
                    meat[i][j] += scale * w * w * e * e * x[i] * x[j];
                }
            }
            if mu > 0.0 && y > 0.0 {
                logs.push((y / mu).ln());
                ratios.push(y / mu);
            }
        }
        let bread = self.wls.inverse(&keep).unwrap_or([[0.0; 3]; 3]);
        let mut cov = [[0.0; 3]; 3];
        for i in 0..3 {
            for j in 0..3 {
                cov[i][j] = (0..3)
                    .flat_map(|k| (0..3).map(move |l| (k, l)))
                    .map(|(k, l)| bread[i][k] * meat[k][l] * bread[l][j])
                    .sum();
            }
        }
        let se = |i: usize| cov[i][i].max(0.0).sqrt();
        let mut m = Moments::default();
        for &l in &logs {
            m.add(l);
        }
        let sigma = m.sd();
        let (slo, shi) = stats::sigma_interval(sigma, m.n, 0.95);
        let ks = match Normal::new(m.mean(), sigma.max(1e-12)) {
            Ok(d) => stats::ks_continuous(&mut logs, |x| d.cdf(x)),
            Err(_) => Ks::new(1.0, m.n),
        };
        let lognormal = LatencyFit::Lognormal {
            ttft: Estimate::normal(beta[0], se(0)),
            per_input: Estimate::normal(beta[1] / TOKENS_UNIT, se(1) / TOKENS_UNIT),
            per_output: Estimate::normal(beta[2] / TOKENS_UNIT, se(2) / TOKENS_UNIT),
            sigma: Estimate {
                se: sigma / (2.0 * m.n.max(1) as f64).sqrt(),
                ..Estimate::interval(sigma, slo, shi)
            },
            ks,
            poor: ks.p_value < 0.01,
        };
        if ks.p_value >= 0.01 || beta[0] <= 0.0 {
            return (lognormal, ratios);
        }
        // The lognormal is rejected: an exponential of the same mean, if it fits better.
        let mean = self.success_seconds.mean();
        let mut ys: Vec<f64> = sample.iter().map(|s| s.1).collect();
        let exp_ks = match Exp::new(1.0 / mean.max(1e-12)) {
            Ok(d) => stats::ks_continuous(&mut ys, |x| d.cdf(x)),
            Err(_) => Ks::new(1.0, 0),
        };
        if exp_ks.distance < ks.distance {
            let k = self.success_seconds.n;
            let (lo, hi) = stats::exponential_mean_interval(mean * k as f64, k, 0.95, false);
            let reason = format!(
                "the lognormal model was rejected (KS distance {:.4}, p {:.2e}) and an exponential law fits \
                 closer (KS distance {:.4})",
                ks.distance, ks.p_value, exp_ks.distance
            );
            let ratios = ys.iter().map(|y| y / mean).collect();
            return (
                LatencyFit::Exponential {
                    mean: Estimate::interval(mean, lo, hi),
                    ks: Some(exp_ks),
                    reason,
                },
                ratios,
            );
        }
        (lognormal, ratios)
    }
}

/// The runs of failures far above the endpoint's own error rate: a minute
/// is bad when its failures are improbable under the baseline rate
/// (binomial tail below 1% over all minutes, Bonferroni), and a run goes on
/// through minutes where failures are at least half the attempts, and
/// through minutes without traffic, until a minute mostly served.
fn incidents(minutes: &[(u64, Minute)]) -> Vec<Incident> {
    let busy: Vec<&(u64, Minute)> = minutes.iter().filter(|m| m.1.ok + m.1.failed > 0).collect();
    if busy.is_empty() {
        return Vec::new();
    }
    let alpha = 0.01 / busy.len() as f64;
    let mut bad = vec![false; busy.len()];
    for _ in 0..2 {
        let (mut f, mut n) = (0u64, 0u64);
        for (i, m) in busy.iter().enumerate() {
            if !bad[i] {
                f += u64::from(m.1.failed);
                n += u64::from(m.1.failed + m.1.ok);
            }
        }
        let p0 = (f as f64 + 1.0) / (n as f64 + 2.0);
        for (i, m) in busy.iter().enumerate() {
            let (k, n) = (u64::from(m.1.failed), u64::from(m.1.failed + m.1.ok));
            bad[i] = k > 0
                && Binomial::new(p0, n).is_ok_and(|b| {
                    let tail = if k == 0 { 1.0 } else { b.sf(k - 1) };
                    tail < alpha
                });
        }
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < busy.len() {
        if !bad[i] {
            i += 1;
            continue;
        }
        let first = i;
        let mut last = i;
        let mut j = i + 1;
        while j < busy.len() {
            let m = &busy[j].1;
            if bad[j] || m.failed >= m.ok {
                if m.failed > 0 {
                    last = j;
                }
                j += 1;
            } else {
                break;
            }
        }
        let run = &busy[first..=last];
        let first_fail = run[0].1.first_fail;
        let before = if run[0].1.ok > 0 && run[0].1.last_ok < first_fail {
            run[0].1.last_ok
        } else {
            busy[..first]
                .iter()
                .rev()
                .find(|m| m.1.ok > 0)
                .map_or(first_fail, |m| m.1.last_ok.min(first_fail))
        };
        let last_fail = run[run.len() - 1].1.last_fail;
        let tail = &run[run.len() - 1].1;
        let after = if tail.ok > 0 && tail.first_ok > last_fail {
            tail.first_ok
        } else {
            busy[last + 1..]
                .iter()
                .find(|m| m.1.ok > 0)
                .map_or(last_fail, |m| m.1.first_ok.max(last_fail))
        };
        let failures: u64 = run.iter().map(|m| u64::from(m.1.failed)).sum();
        let timeouts: u64 = run.iter().map(|m| u64::from(m.1.timeouts)).sum();
        out.push(Incident {
            start: before + (first_fail - before.min(first_fail)) / 2,
            end: last_fail + (after.max(last_fail) - last_fail) / 2,
            start_range: (before, first_fail),
            end_range: (last_fail, after.max(last_fail)),
            hang: 2 * timeouts > failures,
            failures,
        });
        i = last + 1;
    }
    out
}

/// An alternating renewal process fitted to the incidents: exponential up
/// times and repairs, with chi-square intervals.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OutageProcess {
    /// Mean time between failures (seconds of up time per incident).
    pub mtbf: Estimate,
    /// Mean time to repair (seconds).
    pub mttr: Estimate,
    /// Incidents behind it.
    pub incidents: u64,
}

/// Incidents at least this many, over at least this long, fit a process.
pub const MIN_INCIDENTS: usize = 3;
/// Seconds of log needed for an outage process.
pub const MIN_PROCESS_SPAN: f64 = 7.0 * 86_400.0;

/// The outage process of `incidents` over `span` seconds of log, when there
/// are enough of both.
pub fn outage_process(incidents: &[Incident], span: f64) -> Option<OutageProcess> {
    if incidents.len() < MIN_INCIDENTS || span < MIN_PROCESS_SPAN {
        return None;
    }
    let k = incidents.len() as u64;
    let down: f64 = incidents.iter().map(|i| (i.end - i.start) as f64 / NS).sum();
    let up = (span - down).max(0.0);
    let (blo, bhi) = stats::exponential_mean_interval(up, k, 0.95, true);
    let (rlo, rhi) = stats::exponential_mean_interval(down, k, 0.95, false);
    Some(OutageProcess {
        mtbf: Estimate::interval(up / k as f64, blo, bhi),
        mttr: Estimate::interval(down / k as f64, rlo, rhi),
        incidents: k,
    })
}
