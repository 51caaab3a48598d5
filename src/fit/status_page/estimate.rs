//! The fit of one service's history: each kind of outage (partial, major)
//! as a renewal process ([`OutageRecord::fit`]) with intervals, the law of
//! its daily minutes with its goodness of fit, and the incidents' rates.
//!
//! **Intervals.** f (share of days with minutes) and u (share of time in
//! outage) are means over days; their variances and covariance come from
//! the record's sums (Σ minutes² gives var u; cov(1{m > 0}, m) = E[m](1 − f)
//! exactly) and carry over to U = 1 d / ln((1 − u) / (1 − f)) and
//! D = U u / (1 − u) by the delta method: U's as the inverse of the normal
//! interval of g = ln((1 − u) / (1 − f)) (g is nearly linear in the two
//! means, U = 1 / g is skewed), D's on the log scale so that it stays
//! positive. They take days as independent: a record whose
//! outage days cluster or drift makes them too narrow.

use statrs::distribution::{ContinuousCDF, Normal};

use super::record::{ServiceRecord, ServiceSamples};
use crate::fit::stats::{self, Ks};
use crate::fit::{Estimate, FitError};
use crate::model::OutageRecord;
use crate::model::status_page::{FittedOutage, IncidentRates, MINUTES_PER_DAY, StatusPageError};
use crate::scenario::Law;

/// Seconds in a day.
const DAY_S: f64 = 86_400.0;

/// The two kinds of outage an uptime page records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutageKindName {
    /// Partial outage: a brownout failing the study's 0.3 of calls.
    Partial,
    /// Major outage: down.
    Major,
}

impl OutageKindName {
    /// The process's name, as `data/providers.toml` writes it.
    pub fn name(self) -> &'static str {
        match self {
            OutageKindName::Partial => "partial",
            OutageKindName::Major => "major",
        }
    }
}

/// A renewal process fitted to one kind's record, with its intervals.
#[derive(Clone, Debug, PartialEq)]
pub struct ProcessEstimate {
    /// The point fit.
    pub fitted: FittedOutage,
    /// Mean up time, seconds (delta-method interval).
    pub mtbf: Estimate,
    /// Mean outage, seconds (delta-method interval).
    pub mttr: Estimate,
    /// Share of days with minutes (Clopper-Pearson interval).
    pub share_of_days: Estimate,
    /// Mean minutes of a day with some (chi-square interval of an
    /// exponential mean).
    pub day_minutes: Estimate,
    /// Log-space deviation of the days' minutes (chi-square interval); NaN
    /// with fewer than two days.
    pub sigma: Estimate,
    /// KS of the days' minutes against the exponential and the lognormal
    /// fitted to them (rows only).
    pub ks: Option<(Ks, Ks)>,
}

/// One kind of outage of a service: its record and what it gives.
#[derive(Clone, Debug, PartialEq)]
pub struct KindFit {
    /// Partial or major.
    pub kind: OutageKindName,
    /// Its figures.
    pub record: OutageRecord,
    /// The process, or why there is none (no minute, or no day without).
    pub outcome: Result<ProcessEstimate, StatusPageError>,
    /// The days' minutes, sorted (rows only, for the Q-Q table).
    pub sample: Vec<f64>,
}

/// The incidents' rates with chi-square intervals (exponential gaps and
/// resolutions) and their goodness of fit.
#[derive(Clone, Debug, PartialEq)]
pub struct IncidentFit {
    /// The study's rates.
    pub rates: IncidentRates,
    /// MTBF, seconds.
    pub mtbf: Estimate,
    /// MTTR, seconds.
    pub mttr: Estimate,
    /// KS of the gaps between starts against the exponential of mean MTBF
    /// (rows only, and not beyond 100 000 incidents).
    pub gaps_ks: Option<Ks>,
    /// KS of the times to resolve against the exponential of mean MTTR (rows only).
    pub resolution_ks: Option<Ks>,
}

/// One service's profile.
#[derive(Clone, Debug, PartialEq)]
pub struct ProfileFit {
    /// The profile's name.
    pub name: String,
    /// The history's figures.
    pub record: ServiceRecord,
    /// Partial, then major.
    pub kinds: [KindFit; 2],
    /// The incidents, if a list with the service was read (and had two).
    pub incidents: Option<IncidentFit>,
}

impl ProfileFit {
    /// Fits the profile `name` to a service's figures, with the samples
    /// when the rows were read. The same figures give the same profile
    /// whether or not samples come with them: samples only add goodness of
    /// fit.
    pub fn from_record(
        name: &str,
        record: ServiceRecord,
        samples: Option<&ServiceSamples>,
    ) -> Result<ProfileFit, FitError> {
        let kind = |kind: OutageKindName, r: OutageRecord, sample: Option<&Vec<f64>>| {
            let mut sample = sample.cloned().unwrap_or_default();
            sample.sort_by(f64::total_cmp);
            let outcome = match r.fit() {
                Ok(fitted) => Ok(estimate(&r, fitted, (!sample.is_empty()).then_some(&sample))),
                Err(StatusPageError::Inconsistent(reason)) => {
                    return Err(FitError::Inconsistent {
                        profile: name.to_string(),
                        process: kind.name().to_string(),
                        reason,
                    });
                }
                Err(e) => Err(e),
            };
            Ok(KindFit {
                kind,
                record: r,
                outcome,
                sample,
            })
        };
        let kinds = [
            kind(OutageKindName::Partial, record.partial, samples.map(|s| &s.partial))?,
            kind(OutageKindName::Major, record.major, samples.map(|s| &s.major))?,
        ];
        let incidents = record
            .incidents
            .and_then(|i| i.tally.rates().map(|rates| (i, rates)))
            .map(|(i, rates)| {
                let gaps = (rates.incidents - 1) as u64;
                let (blo, bhi) =
                    stats::exponential_mean_interval(i.tally.first_to_last().as_secs_f64(), gaps, 0.95, false);
                let mttr = rates.mttr.as_secs_f64();
                let (rlo, rhi) =
                    stats::exponential_mean_interval(mttr * rates.resolved as f64, rates.resolved as u64, 0.95, false);
                let exponential_ks = |values: &[f64], mean: f64| {
                    let mut v = values.to_vec();
                    stats::ks_continuous(&mut v, |x| 1.0 - (-x / mean).exp())
                };
                IncidentFit {
                    rates,
                    mtbf: Estimate::interval(rates.mtbf.as_secs_f64(), blo, bhi),
                    mttr: Estimate::interval(mttr, rlo, rhi),
                    gaps_ks: samples
                        .and_then(|s| s.gaps.as_deref())
                        .map(|g| exponential_ks(g, rates.mtbf.as_secs_f64())),
                    resolution_ks: samples
                        .filter(|s| !s.resolutions.is_empty() && mttr > 0.0)
                        .map(|s| exponential_ks(&s.resolutions, mttr)),
                }
            });
        Ok(ProfileFit {
            name: name.to_string(),
            record,
            kinds,
            incidents,
        })
    }

    /// Whether any kind gave a process.
    pub fn has_process(&self) -> bool {
        self.kinds.iter().any(|k| k.outcome.is_ok())
    }

    /// Why no kind gives a process, e.g. `partial: no day has outage
    /// minutes: ...; major: every one of the 1 days has outage minutes: ...`.
    pub fn why_no_process(&self) -> String {
        self.kinds
            .iter()
            .filter_map(|k| k.outcome.as_ref().err().map(|e| format!("{}: {e}", k.kind.name())))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// The estimate of a fitted record: intervals and, given the days'
/// minutes, goodness of fit.
fn estimate(r: &OutageRecord, fitted: FittedOutage, sample: Option<&Vec<f64>>) -> ProcessEstimate {
    let (mtbf_days, mttr_days) = renewal_intervals(r);
    let n = r.days_with_minutes;
    let (flo, fhi) = crate::plan::clopper_pearson(n as u64, r.days as u64, 0.95);
    let mean = r.minutes / n;
    let (mlo, mhi) = stats::exponential_mean_interval(r.minutes, n as u64, 0.95, false);
    let mu = r.sum_ln_minutes / n;
    let sigma = (r.sum_sq_ln_minutes / n - mu * mu).max(0.0).sqrt();
    let (slo, shi) = if n >= 2.0 {
        stats::sigma_interval(sigma, n as u64, 0.95)
    } else {
        (f64::NAN, f64::NAN)
    };
    let ks = sample.map(|s| {
        let mut v = s.clone();
        let exponential = stats::ks_continuous(&mut v, |x| 1.0 - (-x / mean).exp());
        let lognormal = match Normal::new(mu, sigma) {
            Ok(d) if sigma > 0.0 => stats::ks_continuous(&mut v, |x| d.cdf(x.ln())),
            _ => Ks::new(1.0, v.len() as u64),
        };
        (exponential, lognormal)
    });
    let scale = |e: Estimate| Estimate {
        value: e.value * DAY_S,
        se: e.se * DAY_S,
        low: e.low * DAY_S,
        high: e.high * DAY_S,
    };
    ProcessEstimate {
        fitted,
        mtbf: scale(mtbf_days),
        mttr: scale(mttr_days),
        share_of_days: Estimate::interval(r.share_of_days(), flo, fhi),
        day_minutes: Estimate::interval(mean, mlo, mhi),
        sigma: Estimate::interval(if n >= 2.0 { sigma } else { f64::NAN }, slo, shi),
        ks,
    }
}

/// The delta-method 95% intervals of U (inverted from g's) and D (log scale), in days;
/// NaN bounds when the record's sums cannot give a variance.
pub fn renewal_intervals(r: &OutageRecord) -> (Estimate, Estimate) {
    let n = r.days;
    let (f, u) = (r.share_of_days(), r.share_of_time());
    let x2 = r.sum_sq_minutes / (MINUTES_PER_DAY * MINUTES_PER_DAY * n);
    let var_f = f * (1.0 - f) / n;
    let var_u = (x2 - u * u) / n;
    let cov = u * (1.0 - f) / n;
    let g = ((1.0 - u) / (1.0 - f)).ln();
    let up = 1.0 / g;
    let down = up * u / (1.0 - u);
    // Gradients with respect to (f, u).
    let dg = [1.0 / (1.0 - f), -1.0 / (1.0 - u)];
    let d_down = [
        -u / ((1.0 - u) * g * g * (1.0 - f)),
        1.0 / ((1.0 - u).powi(2) * g) + u / ((1.0 - u).powi(2) * g * g),
    ];
    let variance = |d: [f64; 2]| d[0] * d[0] * var_f + d[1] * d[1] * var_u + 2.0 * d[0] * d[1] * cov;
    let z = stats::z_of(0.95);
    let valid = var_u >= 0.0 && n > 1.0;
    let unavailable = |value: f64| Estimate {
        value,
        se: f64::NAN,
        low: f64::NAN,
        high: f64::NAN,
    };
    // U = 1 / g: g is nearly linear in the two means, so its normal
    // interval is inverted (U's own is skewed).
    let se_g = variance(dg).sqrt();
    let up_estimate = if valid && se_g.is_finite() && g - z * se_g > 0.0 {
        Estimate {
            value: up,
            se: se_g / (g * g),
            low: 1.0 / (g + z * se_g),
            high: 1.0 / (g - z * se_g),
        }
    } else if valid && se_g.is_finite() {
        Estimate {
            value: up,
            se: se_g / (g * g),
            low: 1.0 / (g + z * se_g),
            high: f64::INFINITY,
        }
    } else {
        unavailable(up)
    };
    // D on the log scale, so that its interval stays positive.
    let se_down = variance(d_down).sqrt();
    let down_estimate = if valid && se_down.is_finite() {
        let spread = (z * se_down / down).exp();
        Estimate {
            value: down,
            se: se_down,
            low: down / spread,
            high: down * spread,
        }
    } else {
        unavailable(down)
    };
    (up_estimate, down_estimate)
}

/// The law a kind's outages take in the profile.
pub fn law_name(law: Law) -> &'static str {
    match law {
        Law::Exponential => "exponential",
        Law::Lognormal => "lognormal",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The delta method's gradients against central finite differences.
    #[test]
    fn the_interval_gradients_match_finite_differences() {
        let r = OutageRecord {
            days: 1298.0,
            days_with_minutes: 78.0,
            minutes: 6501.0,
            sum_ln_minutes: 298.637069,
            sum_sq_ln_minutes: 1258.397509,
            sum_sq_minutes: 1_173_119.0,
        };
        let (up, down) = renewal_intervals(&r);
        let (f, u) = (r.share_of_days(), r.share_of_time());
        let fns = |f: f64, u: f64| {
            let g = ((1.0 - u) / (1.0 - f)).ln();
            (1.0 / g, u / ((1.0 - u) * g))
        };
        let h = 1e-7;
        let grad = |pick: fn((f64, f64)) -> f64| {
            [
                (pick(fns(f + h, u)) - pick(fns(f - h, u))) / (2.0 * h),
                (pick(fns(f, u + h)) - pick(fns(f, u - h))) / (2.0 * h),
            ]
        };
        let n = r.days;
        let var_f = f * (1.0 - f) / n;
        let var_u = (r.sum_sq_minutes / (1440.0 * 1440.0 * n) - u * u) / n;
        let cov = u * (1.0 - f) / n;
        let se = |d: [f64; 2]| (d[0] * d[0] * var_f + d[1] * d[1] * var_u + 2.0 * d[0] * d[1] * cov).sqrt();
        let (se_up, se_down) = (se(grad(|p| p.0)), se(grad(|p| p.1)));
        assert!((up.se / se_up - 1.0).abs() < 1e-5, "{} vs {se_up}", up.se);
        assert!((down.se / se_down - 1.0).abs() < 1e-5, "{} vs {se_down}", down.se);
        // U's interval inverts g's normal one: g = 1 / U, se(g) = se(U) g².
        let g = 1.0 / up.value;
        let se_g = up.se * g * g;
        assert!((up.low * (g + 1.959964 * se_g) - 1.0).abs() < 1e-6, "{up:?}");
        assert!((up.high * (g - 1.959964 * se_g) - 1.0).abs() < 1e-6, "{up:?}");
        // D's is the point times and over exp(1.96 se / value).
        let spread = (1.959964 * down.se / down.value).exp();
        assert!((down.low * spread / down.value - 1.0).abs() < 1e-6);
        assert!((down.high / spread / down.value - 1.0).abs() < 1e-6);
    }

    #[test]
    fn a_record_without_its_sum_of_squares_has_no_interval() {
        let r = OutageRecord {
            days: 100.0,
            days_with_minutes: 10.0,
            minutes: 1440.0,
            ..OutageRecord::default()
        };
        let (up, down) = renewal_intervals(&r);
        assert!(up.value > 0.0 && up.low.is_nan() && down.high.is_nan());
    }
}
