//! Predicted against measured: one row per tenant and metric, the
//! prediction with its interval from the simulator's replications, the
//! measured value, the error, and whether the measurement falls outside
//! the interval.
//!
//! The measured run is one more draw of the same period, so the interval
//! is a *prediction* interval for a single replication: `mean ± t(n-1) ·
//! s · √(1 + 1/n)` over the `n` replications' values (Student's t at the
//! chosen level), not the narrower interval of the mean.

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, StudentsT};

/// One comparison.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FidelityRow {
    /// The tenant's name.
    pub tenant: String,
    /// What is compared, e.g. `p95_ms`, `availability`, or a clause.
    pub metric: String,
    /// Mean of the replications' values.
    pub predicted: f64,
    /// The prediction interval's bounds.
    pub low: f64,
    /// See `low`.
    pub high: f64,
    /// Replications that had a value.
    pub replications: usize,
    /// The replications' sample standard deviation (0 with one value):
    /// what `fidelity-pool` needs to combine several runs' errors.
    pub sd: f64,
    /// What the gateway's log gave, if it gave a value.
    pub measured: Option<f64>,
}

/// How a row comparing a clause's own metric names it: this, then the
/// clause in the one-line grammar's words.
pub const CLAUSE_PREFIX: &str = "clause: ";

impl FidelityRow {
    /// The clause compared, in the one-line grammar's words, for a row
    /// about a clause (`fidelity.csv`'s `clause` column).
    pub fn clause(&self) -> Option<&str> {
        self.metric.strip_prefix(CLAUSE_PREFIX)
    }

    /// Measured less predicted.
    pub fn error(&self) -> Option<f64> {
        self.measured.map(|m| m - self.predicted)
    }

    /// The error relative to the prediction.
    pub fn relative_error(&self) -> Option<f64> {
        self.error()
            .filter(|_| self.predicted != 0.0)
            .map(|e| e / self.predicted)
    }

    /// Whether the measurement lies outside the prediction interval (or
    /// is missing while the prediction is not).
    pub fn differs(&self) -> bool {
        match self.measured {
            Some(m) => m < self.low || m > self.high,
            None => true,
        }
    }
}

/// The prediction and its interval from `values` at `level` (e.g. 0.95);
/// `None` without any value. One value gives a zero-width interval.
pub fn prediction(values: &[f64], level: f64) -> Option<(f64, f64, f64)> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    if n == 1 {
        return Some((mean, mean, mean));
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let t = StudentsT::new(0.0, 1.0, (n - 1) as f64)
        .map(|d| d.inverse_cdf(0.5 + level / 2.0))
        .unwrap_or(f64::INFINITY);
    let half = t * var.sqrt() * (1.0 + 1.0 / n as f64).sqrt();
    Some((mean, mean - half, mean + half))
}

/// The sample standard deviation of `values` about their `mean`; 0 for
/// fewer than two values.
fn sample_sd(values: &[f64], mean: f64) -> f64 {
    if values.len() < 2 {
        return 0.0;
    }
    (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (values.len() - 1) as f64).sqrt()
}

/// A row for `metric` of `tenant` from the replications' `values` and the
/// `measured` value; `None` when no replication had a value.
pub fn row(tenant: &str, metric: &str, values: &[f64], measured: Option<f64>, level: f64) -> Option<FidelityRow> {
    let (predicted, low, high) = prediction(values, level)?;
    Some(FidelityRow {
        sd: sample_sd(values, predicted),
        tenant: tenant.to_string(),
        metric: metric.to_string(),
        predicted,
        low,
        high,
        replications: values.len(),
        measured,
    })
}

/// `fidelity.csv`: the rows, numbers to 6 significant digits, an empty
/// cell for a value that does not exist; `clause` is the clause in the
/// grammar's words on a clause's row, empty on the others; `sd` (last, so
/// readers by position of the older columns are unaffected) is the
/// replications' standard deviation.
pub fn fidelity_csv(rows: &[FidelityRow]) -> Vec<u8> {
    let num = |x: f64| format!("{}", Sig6(x));
    let opt = |x: Option<f64>| x.map_or(String::new(), num);
    let mut out = String::from(
        "tenant,metric,predicted,interval_low,interval_high,replications,measured,error,relative_error,differs_beyond_interval,clause,sd\n",
    );
    for r in rows {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{}\n",
            csv_text(&r.tenant),
            csv_text(&r.metric),
            num(r.predicted),
            num(r.low),
            num(r.high),
            r.replications,
            opt(r.measured),
            opt(r.error()),
            opt(r.relative_error()),
            if r.differs() { "yes" } else { "no" },
            csv_text(r.clause().unwrap_or_default()),
            num(r.sd)
        ));
    }
    out.into_bytes()
}

/// A text cell, quoted when it must be.
pub(super) fn csv_text(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// A number to 6 significant digits, without exponent for everyday sizes.
pub(super) struct Sig6(pub(super) f64);

impl std::fmt::Display for Sig6 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let x = self.0;
        if !x.is_finite() || x == 0.0 {
            return write!(f, "{}", if x.is_finite() { 0.0 } else { x });
        }
        let digits = (5 - x.abs().log10().floor() as i32).clamp(0, 12) as usize;
        let s = format!("{x:.digits$}");
        let s = if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        };
        write!(f, "{s}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prediction_interval_is_the_hand_worked_one() {
        // Values 1..=5: mean 3, s = sqrt(2.5); t(4, 0.975) = 2.776445;
        // half width 2.776445 * 1.581139 * sqrt(1.2) = 4.808935.
        let (m, lo, hi) = prediction(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.95).unwrap();
        assert_eq!(m, 3.0);
        assert!((hi - 3.0 - 4.808935).abs() < 1e-5, "{hi}");
        assert!((3.0 - lo - 4.808935).abs() < 1e-5, "{lo}");
        assert_eq!(prediction(&[], 0.95), None);
        assert_eq!(prediction(&[7.0], 0.95), Some((7.0, 7.0, 7.0)));
    }

    #[test]
    fn a_measurement_outside_the_interval_is_flagged() {
        let r = row("a", "p50_ms", &[100.0, 102.0, 98.0, 101.0, 99.0], Some(100.5), 0.95).unwrap();
        assert!(!r.differs());
        let far = FidelityRow {
            measured: Some(120.0),
            ..r.clone()
        };
        assert!(far.differs());
        assert!((far.relative_error().unwrap() - 0.2).abs() < 1e-12);
        let clause = FidelityRow {
            metric: format!("{CLAUSE_PREFIX}availability >= 99.9%"),
            ..r.clone()
        };
        let r_sd = r.sd;
        let csv = String::from_utf8(fidelity_csv(&[r, far, clause])).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[1].starts_with("a,p50_ms,100,"), "{}", lines[1]);
        // The replications' sd: deviations 0, 2, -2, 1, -1, so sqrt(10 / 4).
        assert!((r_sd - 2.5f64.sqrt()).abs() < 1e-12, "{r_sd}");
        assert!(lines[1].ends_with(",no,,1.58114"), "{}", lines[1]);
        assert!(lines[2].ends_with(",120,20,0.2,yes,,1.58114"), "{}", lines[2]);
        // A clause's row names it in the grammar's words in `clause`.
        assert!(lines[3].ends_with(",no,availability >= 99.9%,1.58114"), "{}", lines[3]);
    }
}
