//! The statistics `fit` needs, all in bounded memory: reservoir samples,
//! Kolmogorov-Smirnov distances and p-values, weighted least squares from
//! sufficient statistics, chi-square intervals and Erlang C.

use rand::RngExt;
use statrs::distribution::{ChiSquared, ContinuousCDF, Normal};

use crate::engine::{self, Rng};

/// z such that P(|Z| ≤ z) = level.
pub fn z_of(level: f64) -> f64 {
    Normal::standard().inverse_cdf(0.5 + level / 2.0)
}

/// A uniform sample of fixed size of everything offered (Vitter's
/// algorithm R), drawn from a generator with a fixed seed so that the same
/// input gives the same sample.
#[derive(Clone, Debug)]
pub struct Reservoir<T> {
    items: Vec<T>,
    seen: u64,
    capacity: usize,
    rng: Rng,
}

impl<T> Reservoir<T> {
    /// An empty reservoir of `capacity` items whose draws come from the
    /// stream `name`.
    pub fn new(capacity: usize, name: &str) -> Reservoir<T> {
        Reservoir {
            items: Vec::new(),
            seen: 0,
            capacity,
            rng: engine::stream(0, 0, name),
        }
    }

    /// Offers one item.
    pub fn offer(&mut self, item: T) {
        self.seen += 1;
        if self.items.len() < self.capacity {
            self.items.push(item);
        } else {
            let j = self.rng.random_range(0..self.seen);
            if (j as usize) < self.capacity {
                self.items[j as usize] = item;
            }
        }
    }

    /// The sample.
    pub fn items(&self) -> &[T] {
        &self.items
    }

    /// How many items were offered.
    pub fn seen(&self) -> u64 {
        self.seen
    }
}

/// A Kolmogorov-Smirnov comparison: the largest distance between two CDFs
/// and its asymptotic p-value (Stephens' small-sample correction). When the
/// law's parameters were fitted on the same data the p-value is
/// conservative (too large), as Lilliefors showed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ks {
    /// The sup distance.
    pub distance: f64,
    /// Observations compared.
    pub n: u64,
    /// P(distance at least this | the law is right).
    pub p_value: f64,
}

impl Ks {
    /// From a distance over `n` observations.
    pub fn new(distance: f64, n: u64) -> Ks {
        Ks {
            distance,
            n,
            p_value: kolmogorov_p(distance, n as f64),
        }
    }
}

/// P(D_n ≥ d) for the one-sample statistic, asymptotically.
pub fn kolmogorov_p(d: f64, n: f64) -> f64 {
    if n <= 0.0 {
        return 1.0;
    }
    let sn = n.sqrt();
    let lambda = (sn + 0.12 + 0.11 / sn) * d;
    if lambda < 0.2 {
        return 1.0;
    }
    let mut sum = 0.0;
    for k in 1..=100 {
        let k = f64::from(k);
        let term = (-2.0 * k * k * lambda * lambda).exp();
        sum += if k as u32 % 2 == 1 { term } else { -term };
        if term < 1e-12 {
            break;
        }
    }
    (2.0 * sum).clamp(0.0, 1.0)
}

/// The one-sample KS distance of `sample` (sorted in place) against `cdf`.
pub fn ks_continuous(sample: &mut [f64], cdf: impl Fn(f64) -> f64) -> Ks {
    sample.sort_by(f64::total_cmp);
    let n = sample.len() as f64;
    let mut d: f64 = 0.0;
    for (i, &x) in sample.iter().enumerate() {
        let f = cdf(x);
        d = d.max((i as f64 + 1.0) / n - f).max(f - i as f64 / n);
    }
    Ks::new(d, sample.len() as u64)
}

/// The KS distance between integer counts (value → occurrences) and the
/// CDF of an integer law `cdf(k) = P(X ≤ k)`, checked at every integer
/// where either step function can be farthest from the other.
pub fn ks_counts(counts: &std::collections::BTreeMap<u32, u64>, cdf: impl Fn(f64) -> f64) -> Ks {
    let n: u64 = counts.values().sum();
    if n == 0 {
        return Ks::new(0.0, 0);
    }
    let nf = n as f64;
    let mut below = 0u64;
    let mut d: f64 = 0.0;
    for (&v, &c) in counts {
        // Just before v the empirical CDF is below/n; the law may be
        // anywhere up to cdf(v - 1).
        if v > 0 {
            d = d.max((cdf(f64::from(v) - 1.0) - below as f64 / nf).abs());
        }
        below += c;
        d = d.max((below as f64 / nf - cdf(f64::from(v))).abs());
    }
    Ks::new(d, n)
}

/// Sums of a weighted least-squares regression of `y` on `x` (with the
/// intercept as `x[0] = 1`): `Σ w x xᵀ` and `Σ w x y`.
#[derive(Clone, Copy, Debug, Default)]
pub struct LeastSquares {
    xx: [[f64; 3]; 3],
    xy: [f64; 3],
    /// Observations added.
    pub n: u64,
}

impl LeastSquares {
    /// Adds one observation with weight `w`.
    pub fn add(&mut self, x: [f64; 3], y: f64, w: f64) {
        for i in 0..3 {
            for j in 0..3 {
                self.xx[i][j] += w * x[i] * x[j];
            }
            self.xy[i] += w * x[i] * y;
        }
        self.n += 1;
    }

    /// The coefficients using only the regressors in `keep` (others 0),
    /// or `None` when the system is singular.
    pub fn solve(&self, keep: &[usize]) -> Option<[f64; 3]> {
        let m = keep.len();
        let mut a = vec![vec![0.0; m + 1]; m];
        for (r, &i) in keep.iter().enumerate() {
            for (c, &j) in keep.iter().enumerate() {
                a[r][c] = self.xx[i][j];
            }
            a[r][m] = self.xy[i];
        }
        let sol = gauss(a)?;
        let mut beta = [0.0; 3];
        for (r, &i) in keep.iter().enumerate() {
            beta[i] = sol[r];
        }
        Some(beta)
    }

    /// `(Σ w x xᵀ)⁻¹` restricted to `keep` (zeros elsewhere).
    pub fn inverse(&self, keep: &[usize]) -> Option<[[f64; 3]; 3]> {
        let mut inv = [[0.0; 3]; 3];
        for (c, &j) in keep.iter().enumerate() {
            let m = keep.len();
            let mut a = vec![vec![0.0; m + 1]; m];
            for (r, &i) in keep.iter().enumerate() {
                for (cc, &jj) in keep.iter().enumerate() {
                    a[r][cc] = self.xx[i][jj];
                }
                a[r][m] = if r == c { 1.0 } else { 0.0 };
            }
            let col = gauss(a)?;
            for (r, &i) in keep.iter().enumerate() {
                inv[i][j] = col[r];
            }
        }
        Some(inv)
    }
}

/// Solves an augmented system by Gaussian elimination with partial pivoting.
pub(super) fn gauss(mut a: Vec<Vec<f64>>) -> Option<Vec<f64>> {
    let m = a.len();
    for col in 0..m {
        let pivot = (col..m).max_by(|&r, &s| a[r][col].abs().total_cmp(&a[s][col].abs()))?;
        if a[pivot][col].abs() < 1e-300 {
            return None;
        }
        a.swap(col, pivot);
        for r in 0..m {
            if r != col {
                let f = a[r][col] / a[col][col];
                let pivot_row = a[col].clone();
                for (x, p) in a[r][col..].iter_mut().zip(&pivot_row[col..]) {
                    *x -= f * p;
                }
            }
        }
    }
    let x: Vec<f64> = (0..m).map(|r| a[r][m] / a[r][r]).collect();
    x.iter().all(|v| v.is_finite()).then_some(x)
}

/// The `level` interval of an exponential mean from `k` events over total
/// time `total` (time-truncated when `truncated`: one more degree of
/// freedom pair for the lower bound), by the chi-square pivot.
pub fn exponential_mean_interval(total: f64, k: u64, level: f64, truncated: bool) -> (f64, f64) {
    let alpha = 1.0 - level;
    let kf = k as f64;
    let lower_df = if truncated { 2.0 * kf + 2.0 } else { 2.0 * kf };
    let lower = ChiSquared::new(lower_df).map_or(0.0, |c| 2.0 * total / c.inverse_cdf(1.0 - alpha / 2.0));
    let upper = if k == 0 {
        f64::INFINITY
    } else {
        ChiSquared::new(2.0 * kf).map_or(f64::INFINITY, |c| 2.0 * total / c.inverse_cdf(alpha / 2.0))
    };
    (lower, upper)
}

/// The `level` interval of a normal standard deviation estimated as `s`
/// (the maximum-likelihood form, divisor n) from `n` observations.
pub fn sigma_interval(s: f64, n: u64, level: f64) -> (f64, f64) {
    if n < 2 {
        return (0.0, f64::INFINITY);
    }
    let alpha = 1.0 - level;
    let ss = s * s * n as f64;
    match ChiSquared::new(n as f64 - 1.0) {
        Ok(c) => (
            (ss / c.inverse_cdf(1.0 - alpha / 2.0)).sqrt(),
            (ss / c.inverse_cdf(alpha / 2.0)).sqrt(),
        ),
        Err(_) => (0.0, f64::INFINITY),
    }
}

/// P(χ²_df ≥ x).
pub fn chi_square_p(x: f64, df: f64) -> f64 {
    if df <= 0.0 {
        return 1.0;
    }
    ChiSquared::new(df).map_or(1.0, |c| 1.0 - c.cdf(x))
}

/// Erlang C: the probability an arrival waits at `c` servers offered `a`
/// erlangs (1 when `c <= a`: the queue grows without bound).
pub fn erlang_c(c: u32, a: f64) -> f64 {
    if f64::from(c) <= a {
        return 1.0;
    }
    let mut b = 1.0;
    for k in 1..=c {
        b = a * b / (f64::from(k) + a * b);
    }
    let cf = f64::from(c);
    cf * b / (cf - a * (1.0 - b))
}

/// Streaming mean and variance (Welford).
#[derive(Clone, Copy, Debug, Default)]
pub struct Moments {
    /// Observations.
    pub n: u64,
    mean: f64,
    m2: f64,
}

impl Moments {
    /// Adds one observation.
    pub fn add(&mut self, x: f64) {
        self.n += 1;
        let d = x - self.mean;
        self.mean += d / self.n as f64;
        self.m2 += d * (x - self.mean);
    }

    /// The mean.
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// The maximum-likelihood standard deviation (divisor n).
    pub fn sd(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            (self.m2 / self.n as f64).sqrt()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kolmogorov_p_matches_the_tables() {
        // The 5% critical value of the limiting law is 1.358.
        let n: f64 = 1e6;
        let d = 1.358 / n.sqrt();
        assert!((kolmogorov_p(d, n) - 0.05).abs() < 2e-3, "{}", kolmogorov_p(d, n));
        assert!((kolmogorov_p(1.628 / 1000.0, 1e6) - 0.01).abs() < 1e-3);
        assert_eq!(kolmogorov_p(0.0, 100.0), 1.0);
    }

    #[test]
    fn least_squares_recovers_an_exact_plane() {
        let mut ls = LeastSquares::default();
        for i in 0..50 {
            let (a, b) = (f64::from(i % 7), f64::from(i % 5 + i / 10));
            ls.add([1.0, a, b], 2.0 + 3.0 * a - 0.5 * b, 1.0 + f64::from(i));
        }
        let beta = ls.solve(&[0, 1, 2]).unwrap();
        for (got, want) in beta.iter().zip([2.0, 3.0, -0.5]) {
            assert!((got - want).abs() < 1e-9, "{beta:?}");
        }
        let inv = ls.inverse(&[0, 1, 2]).unwrap();
        assert!(inv[0][0] > 0.0 && (inv[0][1] - inv[1][0]).abs() < 1e-9);
    }

    #[test]
    fn erlang_c_matches_the_textbook_case() {
        // 2 servers, 1 erlang: C = 1/3.
        assert!((erlang_c(2, 1.0) - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(erlang_c(1, 1.0), 1.0);
    }

    #[test]
    fn exponential_interval_covers_its_own_mean() {
        // 10 repairs totalling 10 h: the 95% interval of the mean is
        // [2T/χ²(20; .975), 2T/χ²(20; .025)] = [0.585, 2.085].
        let (lo, hi) = exponential_mean_interval(10.0, 10, 0.95, false);
        assert!(
            (lo - 20.0 / 34.170).abs() < 1e-3 && (hi - 20.0 / 9.591).abs() < 1e-3,
            "{lo} {hi}"
        );
    }

    #[test]
    fn reservoir_is_deterministic_and_bounded() {
        let mut a = Reservoir::new(10, "x");
        let mut b = Reservoir::new(10, "x");
        for i in 0..1000 {
            a.offer(i);
            b.offer(i);
        }
        assert_eq!(a.items(), b.items());
        assert_eq!((a.items().len(), a.seen()), (10, 1000));
    }
}
