//! Exact binomial confidence intervals, and which kind of interval a
//! summary reports.

use serde::{Deserialize, Serialize};
use statrs::distribution::{Beta, ContinuousCDF};

/// Which interval a summary's `ci_low` / `ci_high` are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntervalKind {
    /// Two-sided Clopper-Pearson over the judged windows, valid at the one
    /// sample size fixed before the run.
    #[default]
    ClopperPearson,
    /// The anytime-valid confidence sequence of `--until-decided`
    /// ([`super::sequential`]), valid at whatever replication the run stopped.
    ConfidenceSequence,
}

impl IntervalKind {
    /// How it is written in `summary.csv` and `run.json`.
    pub fn label(self) -> &'static str {
        match self {
            IntervalKind::ClopperPearson => "clopper_pearson",
            IntervalKind::ConfidenceSequence => "confidence_sequence",
        }
    }
}

/// The two-sided Clopper-Pearson interval at `level` (e.g. 0.95) for `k`
/// successes in `n` trials. With `n = 0` the interval is `[0, 1]`.
pub fn clopper_pearson(k: u64, n: u64, level: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let alpha = 1.0 - level;
    let (kf, nf) = (k as f64, n as f64);
    let lower = if k == 0 {
        0.0
    } else {
        Beta::new(kf, nf - kf + 1.0)
            .map(|b| b.inverse_cdf(alpha / 2.0))
            .unwrap_or(0.0)
    };
    let upper = if k >= n {
        1.0
    } else {
        Beta::new(kf + 1.0, nf - kf)
            .map(|b| b.inverse_cdf(1.0 - alpha / 2.0))
            .unwrap_or(1.0)
    };
    (lower, upper)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_published_values() {
        // Clopper & Pearson (1934) / standard tables: k=0, n=10 at 95% gives
        // [0, 0.3085]; all successes give [(α/2)^(1/n), 1].
        let (lo, hi) = clopper_pearson(0, 10, 0.95);
        assert_eq!(lo, 0.0);
        assert!((hi - 0.308_45).abs() < 1e-4, "{hi}");
        let (lo, hi) = clopper_pearson(20, 20, 0.95);
        assert!((lo - 0.025f64.powf(1.0 / 20.0)).abs() < 1e-9, "{lo}");
        assert_eq!(hi, 1.0);
        // k=5, n=10: [0.1871, 0.8129].
        let (lo, hi) = clopper_pearson(5, 10, 0.95);
        assert!(
            (lo - 0.187_08).abs() < 1e-4 && (hi - 0.812_92).abs() < 1e-4,
            "{lo} {hi}"
        );
    }

    #[test]
    fn empty_sample_is_uninformative() {
        assert_eq!(clopper_pearson(0, 0, 0.95), (0.0, 1.0));
    }
}
