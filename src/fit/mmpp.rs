//! Bursts: a two-state Markov-modulated Poisson process (the scenario's
//! `bursts`) fitted to a workflow's arrivals when their dispersion rejects
//! Poisson arrivals.
//!
//! The arrivals are counted in short bins ([`ArrivalBins`]); the fit is a
//! hidden Markov model over the bins (Baum-Welch, scaled forward-backward):
//! the hidden state is off or on, a bin's count is Poisson with mean
//! `rate[state] × profile(hour, day) × exposure`, and the per-bin switching
//! probabilities are those of the continuous-time chain sampled at the bin
//! width, so the fitted switching rates are the process's own (the state is
//! taken as constant within a bin: the bins are kept much shorter than a
//! burst). Intervals come from the observed information (a numerical
//! Hessian of the exact HMM log-likelihood in log parameters).
//!
//! Memory: at most [`MAX_BINS`] bins across the log's span; the bins widen
//! (1 s, 2 s, 4 s, … up to an hour) as the span grows, never with rows.

use std::collections::HashMap;

use super::endpoint::Estimate;
use super::stats;

const NANOS: u64 = 1_000_000_000;
const HOUR: u64 = 3600 * NANOS;
/// Bin widths, seconds: each divides the next and the hour.
const LADDER: [u64; 9] = [1, 2, 4, 8, 16, 48, 144, 720, 3600];
/// The most bins kept across the span.
pub const MAX_BINS: u64 = 1 << 16;
/// EM stops after this many iterations or when the log-likelihood gains
/// less than [`TOLERANCE`].
const MAX_ITERATIONS: usize = 2000;
const TOLERANCE: f64 = 1e-7;

/// Arrival counts in bins of one width (the finest that keeps at most
/// [`MAX_BINS`] bins between the first and the last arrival).
#[derive(Clone, Debug, Default)]
pub struct ArrivalBins {
    /// Index into [`LADDER`].
    rung: usize,
    counts: HashMap<u64, u32>,
    low: u64,
    high: u64,
}

impl ArrivalBins {
    /// Counts an arrival at `t` (ns).
    pub fn add(&mut self, t: u64) {
        let k = t / (LADDER[self.rung] * NANOS);
        if self.counts.is_empty() {
            (self.low, self.high) = (k, k);
        }
        *self.counts.entry(k).or_default() += 1;
        self.low = self.low.min(k);
        self.high = self.high.max(k);
        while self.high - self.low + 1 > MAX_BINS && self.rung + 1 < LADDER.len() {
            self.widen();
        }
    }

    fn widen(&mut self) {
        let f = LADDER[self.rung + 1] / LADDER[self.rung];
        self.rung += 1;
        let mut wider = HashMap::with_capacity(self.counts.len() / f as usize + 1);
        for (k, c) in self.counts.drain() {
            *wider.entry(k / f).or_default() += c;
        }
        self.counts = wider;
        (self.low, self.high) = (self.low / f, self.high / f);
    }

    /// The bin width, seconds.
    pub fn width_seconds(&self) -> f64 {
        LADDER[self.rung] as f64
    }

    /// Arrivals counted.
    pub fn total(&self) -> u64 {
        self.counts.values().map(|&c| u64::from(c)).sum()
    }
}

/// A fitted two-state MMPP: off rate × profile, and `factor` times that
/// while on.
#[derive(Clone, Debug, PartialEq)]
pub struct MmppFit {
    /// Tasks per second while off, before the profiles (the scenario's `rate`).
    pub rate_off: Estimate,
    /// Tasks per second while on, before the profiles.
    pub rate_on: Estimate,
    /// `rate_on / rate_off` (the scenario's `bursts.factor`).
    pub factor: Estimate,
    /// Mean on period, seconds.
    pub mean_on: Estimate,
    /// Mean off period, seconds.
    pub mean_off: Estimate,
    /// Bin width used, seconds.
    pub bin_seconds: f64,
    /// Bins fitted.
    pub bins: u64,
    /// Twice the log-likelihood gained over Poisson arrivals with the same profile.
    pub likelihood_ratio: f64,
    /// EM iterations.
    pub iterations: usize,
}

/// One bin: its count and its mean per unit rate (exposure seconds × profile).
#[derive(Clone, Copy)]
struct Bin {
    n: f64,
    mu: f64,
}

/// Parameters in the fitting scale: ln off rate, ln on rate, ln off→on
/// rate, ln on→off rate (per second).
type Theta = [f64; 4];

/// Fits the MMPP to `bins` over the log's coverage `[from, to)` (ns), with
/// the arrival profile `profile(hour, day)` (UTC hour, Monday-first day;
/// mean 1) already fitted. `Err` says why no MMPP fits.
pub fn fit(bins: &ArrivalBins, from: u64, to: u64, profile: impl Fn(usize, usize) -> f64) -> Result<MmppFit, String> {
    let width = LADDER[bins.rung] * NANOS;
    let (k0, k1) = (from / width, to.saturating_sub(1) / width);
    let mut data = Vec::with_capacity((k1 - k0 + 1) as usize);
    for k in k0..=k1 {
        let (lo, hi) = ((k * width).max(from), ((k + 1) * width).min(to));
        let exposure = hi.saturating_sub(lo) as f64 / 1e9;
        let hour = ((k * width / HOUR) % 24) as usize;
        // 1970-01-01 was a Thursday (Monday-first index 3).
        let day = ((k * width / (24 * HOUR) + 3) % 7) as usize;
        data.push(Bin {
            n: f64::from(bins.counts.get(&k).copied().unwrap_or(0)),
            mu: exposure * profile(hour, day),
        });
    }
    let dt = width as f64 / 1e9;
    let total: f64 = data.iter().map(|b| b.n).sum();
    let exposure: f64 = data.iter().map(|b| b.mu).sum();
    if total < 1.0 || exposure <= 0.0 {
        return Err("no arrivals to fit bursts to".into());
    }
    let mean = total / exposure;
    let poisson = total * mean.ln() - mean * exposure;
    let mut best: Option<(Theta, f64, usize)> = None;
    // A few starts (rates around the mean, bursts of a few bins to hours):
    // EM finds a local maximum; the best one is kept.
    for (lo, hi, stay) in [
        (0.5, 3.0, 0.001),
        (0.8, 1.5, 0.01),
        (0.2, 5.0, 0.0001),
        (0.9, 1.2, 0.05),
    ] {
        let start = [
            (mean * lo).ln(),
            (mean * hi).ln(),
            (stay / dt).ln(),
            (stay * 5.0 / dt).ln(),
        ];
        let (theta, ll, it) = em(&data, dt, start);
        if best.as_ref().is_none_or(|b| ll > b.1) {
            best = Some((theta, ll, it));
        }
    }
    let Some((mut theta, ll, iterations)) = best else {
        return Err("the fit did not converge".into());
    };
    if theta[0] > theta[1] {
        theta = [theta[1], theta[0], theta[3], theta[2]];
    }
    if !theta.iter().all(|x| x.is_finite()) {
        return Err("the fit did not converge".into());
    }
    let cov = covariance(&data, dt, theta).ok_or("the fitted parameters are not identified (singular information)")?;
    let z = stats::z_of(0.95);
    let log_estimate = |value_ln: f64, var: f64| {
        let (v, se) = (value_ln.exp(), var.max(0.0).sqrt());
        Estimate {
            value: v,
            se: v * se,
            low: (value_ln - z * se).exp(),
            high: (value_ln + z * se).exp(),
        }
    };
    let fit = MmppFit {
        rate_off: log_estimate(theta[0], cov[0][0]),
        rate_on: log_estimate(theta[1], cov[1][1]),
        factor: log_estimate(theta[1] - theta[0], cov[0][0] + cov[1][1] - 2.0 * cov[0][1]),
        mean_off: log_estimate(-theta[2], cov[2][2]),
        mean_on: log_estimate(-theta[3], cov[3][3]),
        bin_seconds: dt,
        bins: data.len() as u64,
        likelihood_ratio: 2.0 * (ll - poisson),
        iterations,
    };
    if fit.factor.low <= 1.0 {
        return Err(format!(
            "the on rate is not clearly above the off rate (factor {:.3}, 95% CI [{:.3}, {:.3}])",
            fit.factor.value, fit.factor.low, fit.factor.high
        ));
    }
    let shortest = fit.mean_on.value.min(fit.mean_off.value);
    if shortest < 5.0 * dt {
        return Err(format!(
            "the bursts switch faster than the {dt}s bins resolve (shortest mean period {shortest:.1}s)"
        ));
    }
    if !(fit.mean_on.high.is_finite() && fit.mean_off.high.is_finite()) {
        return Err("the on and off periods are not identified".into());
    }
    Ok(fit)
}

/// The per-bin transition matrix of the chain with rates `q01` (off→on)
/// and `q10` (on→off) sampled every `dt` seconds.
fn transitions(q01: f64, q10: f64, dt: f64) -> [[f64; 2]; 2] {
    let s = q01 + q10;
    let moved = -(-s * dt).exp_m1();
    let (p01, p10) = (q01 / s * moved, q10 / s * moved);
    [[1.0 - p01, p01], [p10, 1.0 - p10]]
}

/// Log emission weights of a bin in each state, less their maximum (the
/// count's own terms, `n ln mu - ln n!`, are common and left out).
/// `lr` is `[ln r[0], ln r[1]]`.
fn emissions(b: Bin, r: [f64; 2], lr: [f64; 2]) -> ([f64; 2], f64) {
    let l = [b.n * lr[0] - r[0] * b.mu, b.n * lr[1] - r[1] * b.mu];
    if l[0] >= l[1] {
        ([1.0, (l[1] - l[0]).exp()], l[0])
    } else {
        ([(l[0] - l[1]).exp(), 1.0], l[1])
    }
}

/// The scaled forward pass: the normalised forward vectors (when `keep`)
/// and the log-likelihood (without the common terms).
fn forward(data: &[Bin], r: [f64; 2], p: [[f64; 2]; 2], keep: Option<&mut Vec<[f64; 2]>>) -> f64 {
    let pi1 = p[0][1] / (p[0][1] + p[1][0]);
    let mut a = [1.0 - pi1, pi1];
    let mut ll = 0.0;
    let mut out = keep;
    let lr = [r[0].ln(), r[1].ln()];
    for (i, &b) in data.iter().enumerate() {
        let (e, m) = emissions(b, r, lr);
        let prior = if i == 0 {
            a
        } else {
            [a[0] * p[0][0] + a[1] * p[1][0], a[0] * p[0][1] + a[1] * p[1][1]]
        };
        let x = [prior[0] * e[0], prior[1] * e[1]];
        let c = x[0] + x[1];
        ll += c.ln() + m;
        a = [x[0] / c, x[1] / c];
        if let Some(v) = out.as_mut() {
            v.push(a);
        }
    }
    ll
}

/// The rates (off, on) and the switching rates (off→on, on→off) of `theta`.
fn rates(theta: Theta) -> ([f64; 2], f64, f64) {
    ([theta[0].exp(), theta[1].exp()], theta[2].exp(), theta[3].exp())
}

/// Baum-Welch from `start`: the fitted parameters, the log-likelihood and
/// the iterations taken.
fn em(data: &[Bin], dt: f64, start: Theta) -> (Theta, f64, usize) {
    let (mut r, q01, q10) = rates(start);
    let mut p = transitions(q01, q10, dt);
    let mut alphas = Vec::with_capacity(data.len());
    let mut last = f64::NEG_INFINITY;
    let mut iterations = 0;
    for it in 0..MAX_ITERATIONS {
        iterations = it + 1;
        alphas.clear();
        let ll = forward(data, r, p, Some(&mut alphas));
        if !ll.is_finite() || (ll - last).abs() < TOLERANCE * ll.abs().max(1.0) {
            last = ll;
            break;
        }
        last = ll;
        // Backward, accumulating posteriors as it goes.
        let mut beta = [1.0, 1.0];
        let (mut num, mut den) = ([0.0; 2], [0.0; 2]);
        let mut xi = [[0.0; 2]; 2];
        let lr = [r[0].ln(), r[1].ln()];
        for i in (0..data.len()).rev() {
            let g = [alphas[i][0] * beta[0], alphas[i][1] * beta[1]];
            let gs = g[0] + g[1];
            for s in 0..2 {
                num[s] += g[s] / gs * data[i].n;
                den[s] += g[s] / gs * data[i].mu;
            }
            if i == 0 {
                break;
            }
            let (e, _) = emissions(data[i], r, lr);
            let a = alphas[i - 1];
            let mut x = [[0.0; 2]; 2];
            let mut xs = 0.0;
            for s in 0..2 {
                for t in 0..2 {
                    x[s][t] = a[s] * p[s][t] * e[t] * beta[t];
                    xs += x[s][t];
                }
            }
            for s in 0..2 {
                for t in 0..2 {
                    xi[s][t] += x[s][t] / xs;
                }
            }
            let nb = [
                p[0][0] * e[0] * beta[0] + p[0][1] * e[1] * beta[1],
                p[1][0] * e[0] * beta[0] + p[1][1] * e[1] * beta[1],
            ];
            let c = nb[0] + nb[1];
            beta = [nb[0] / c, nb[1] / c];
        }
        for s in 0..2 {
            if den[s] > 0.0 && num[s] > 0.0 {
                r[s] = num[s] / den[s];
            }
        }
        let p01 = xi[0][1] / (xi[0][0] + xi[0][1]);
        let p10 = xi[1][0] / (xi[1][0] + xi[1][1]);
        if !(p01.is_finite() && p10.is_finite()) || p01 + p10 >= 1.0 || p01 <= 0.0 || p10 <= 0.0 {
            break;
        }
        p = [[1.0 - p01, p01], [p10, 1.0 - p10]];
    }
    // Back to continuous time: 1 − p01 − p10 = exp(−(q01 + q10) dt).
    let (p01, p10) = (p[0][1], p[1][0]);
    let s = -(1.0 - p01 - p10).ln() / dt;
    let (q01, q10) = (p01 / (p01 + p10) * s, p10 / (p01 + p10) * s);
    ([r[0].ln(), r[1].ln(), q01.ln(), q10.ln()], last, iterations)
}

/// The exact log-likelihood at `theta` (up to the common terms).
fn log_likelihood(data: &[Bin], dt: f64, theta: Theta) -> f64 {
    let (r, q01, q10) = rates(theta);
    forward(data, r, transitions(q01, q10, dt), None)
}

/// The inverse of the observed information at `theta` (central differences).
fn covariance(data: &[Bin], dt: f64, theta: Theta) -> Option<[[f64; 4]; 4]> {
    let h = 2e-3;
    let f = |d: [f64; 4]| {
        let mut t = theta;
        for (x, dx) in t.iter_mut().zip(d) {
            *x += dx;
        }
        log_likelihood(data, dt, t)
    };
    let f0 = f([0.0; 4]);
    let mut info = [[0.0; 4]; 4];
    for i in 0..4 {
        let mut e = [0.0; 4];
        e[i] = h;
        let neg = e.map(|x| -x);
        info[i][i] = -(f(e) - 2.0 * f0 + f(neg)) / (h * h);
        for j in 0..i {
            let mut pp = [0.0; 4];
            pp[i] = h;
            pp[j] = h;
            let mut pm = pp;
            pm[j] = -h;
            let mp = pm.map(|x| -x);
            let mm = pp.map(|x| -x);
            let v = -(f(pp) - f(pm) - f(mp) + f(mm)) / (4.0 * h * h);
            info[i][j] = v;
            info[j][i] = v;
        }
    }
    let mut cov = [[0.0; 4]; 4];
    for c in 0..4 {
        let a = (0..4)
            .map(|r| {
                let mut row = info[r].to_vec();
                row.push(if r == c { 1.0 } else { 0.0 });
                row
            })
            .collect();
        let col = stats::gauss(a)?;
        for (row, x) in cov.iter_mut().zip(col) {
            row[c] = x;
        }
    }
    (0..4).all(|i| cov[i][i] > 0.0).then_some(cov)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_widen_to_keep_the_span_bounded_and_keep_every_arrival() {
        let mut b = ArrivalBins::default();
        for i in 0..1000u64 {
            b.add(i * 3600 * NANOS);
        }
        assert_eq!(b.total(), 1000);
        assert!(b.high - b.low < MAX_BINS);
        // 999 hours need 56 s bins or wider: the next rung, 144 s.
        assert_eq!(b.width_seconds(), 144.0);
    }

    #[test]
    fn sampled_transitions_invert_to_the_rates() {
        let p = transitions(0.01, 0.05, 4.0);
        let (p01, p10) = (p[0][1], p[1][0]);
        let s = -(1.0 - p01 - p10).ln() / 4.0;
        assert!((p01 / (p01 + p10) * s - 0.01).abs() < 1e-12);
        assert!((p10 / (p01 + p10) * s - 0.05).abs() < 1e-12);
    }
}
