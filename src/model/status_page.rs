//! The status-page view of outages, computed the way the ICPE 2025 study of
//! LLM services computes it (Chu, Talluri, Lu, Iosup; data and notebooks in
//! the public repository atlarge-research/llm-service-analysis), and the
//! estimator that turns such a record into renewal processes.
//!
//! A provider's uptime page records, per UTC day, the minutes of *partial*
//! and of *major* outage. The study's daily availability weights a partial
//! minute at 0.3 of a major one (`scaled_total_outage_minutes = major +
//! 0.3 × partial` in `sec3.2-transformation_outage.ipynb`; availability
//! `1 − scaled / 1440` in `sec5.3-service_availability.ipynb`) and tabulates
//! the mean and the shares of days at 100%, ≥ 99.9%, ≥ 99%, ≥ 90%
//! ([`DailyAvailability`]).
//!
//! [`OutageRecord::fit`] estimates, from one kind's daily minutes, an
//! alternating renewal process (exponential up times) that reproduces in
//! expectation both the share of days with minutes and the share of time in
//! outage, and picks the law of the repair times (exponential or lognormal)
//! by Akaike's information criterion. `slaplan fit --status-page` calls it
//! on status-page histories in the study's layout, and the built-in
//! profiles of `data/providers.toml` are its output on the study's record.
//! [`IncidentRates`] are the rates of their incident lists (the mostly mild
//! status-page incidents, which the profiles do not simulate).
//!
//! [`OutageRecord`], [`DailyTally`] and [`IncidentTally`] are streaming
//! summaries: a record of any length is kept in a few numbers.
//!
//! This module owns arithmetic only: no I/O, no randomness.

use crate::scenario::{Law, OutageMode};
use crate::time::{Span, Time};

use super::Incident;

/// Minutes in a day.
pub const MINUTES_PER_DAY: f64 = 1440.0;

/// Weight of a partial-outage minute against a major-outage minute in the
/// study's daily availability.
pub const PARTIAL_OUTAGE_WEIGHT: f64 = 0.3;

/// One day of an uptime page.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct OutageDay {
    /// Minutes of partial outage.
    pub partial_minutes: f64,
    /// Minutes of major outage.
    pub major_minutes: f64,
}

impl OutageDay {
    /// The study's weighted outage minutes: major + 0.3 × partial.
    pub fn weighted_minutes(&self) -> f64 {
        self.major_minutes + PARTIAL_OUTAGE_WEIGHT * self.partial_minutes
    }

    /// The study's daily availability, 1 − weighted minutes / 1440, as a
    /// fraction (0 at worst).
    pub fn availability(&self) -> f64 {
        1.0 - (self.weighted_minutes() / MINUTES_PER_DAY).min(1.0)
    }
}

/// The share of calls an endpoint fails during an incident of this mode,
/// whatever the load: 1 down or hung, the error probability in a brownout,
/// 0 in a quota squeeze (whose failures depend on the offered load).
pub fn failure_probability(mode: OutageMode) -> f64 {
    match mode {
        OutageMode::Down | OutageMode::Hang => 1.0,
        OutageMode::Brownout { error_probability, .. } => error_probability,
        OutageMode::QuotaSqueeze { .. } => 0.0,
    }
}

/// The uptime page of a timeline of disjoint incidents (as
/// [`super::timeline`] returns), over the days `[0, days)` counted from
/// time zero: down and hung minutes are major, brownout minutes partial; a
/// quota squeeze is neither.
pub fn outage_days(timeline: &[Incident], days: usize) -> Vec<OutageDay> {
    let mut out = vec![OutageDay::default(); days];
    for_each_day_share(timeline, days, |day, mode, minutes| match mode {
        OutageMode::Down | OutageMode::Hang => out[day].major_minutes += minutes,
        OutageMode::Brownout { .. } => out[day].partial_minutes += minutes,
        OutageMode::QuotaSqueeze { .. } => {}
    });
    out
}

/// The expected share of each day's calls an endpoint fails under a
/// timeline of disjoint incidents, for calls arriving at a constant rate
/// (Poisson arrivals see time averages): the day's mean
/// [`failure_probability`].
pub fn failed_share_per_day(timeline: &[Incident], days: usize) -> Vec<f64> {
    let mut out = vec![0.0; days];
    for_each_day_share(timeline, days, |day, mode, minutes| {
        out[day] += failure_probability(mode) * minutes / MINUTES_PER_DAY;
    });
    out
}

/// Calls `f(day, mode, minutes)` for every piece of an incident within one
/// day, for the days `[0, days)`.
fn for_each_day_share(timeline: &[Incident], days: usize, mut f: impl FnMut(usize, OutageMode, f64)) {
    let day_nanos = Span::from_days(1).as_nanos();
    let horizon = day_nanos.saturating_mul(days as u64);
    for incident in timeline {
        let mut from = incident.start.as_nanos().min(horizon);
        let to = incident.end.as_nanos().min(horizon);
        while from < to {
            let day = from / day_nanos;
            let cut = ((day + 1) * day_nanos).min(to);
            f(day as usize, incident.mode, (cut - from) as f64 / 60e9);
            from = cut;
        }
    }
}

/// The study's table of daily availability (its Table 7,
/// `plot/backup_table_csv/table-service_availability.csv`): fractions, not
/// percentages.
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DailyAvailability {
    /// Days tabulated.
    pub days: usize,
    /// Mean daily availability.
    pub mean: f64,
    /// The worst day's availability.
    pub worst: f64,
    /// Share of days at 100%.
    pub full: f64,
    /// Share of days at or above 99.9%.
    pub at_least_99_9: f64,
    /// Share of days at or above 99%.
    pub at_least_99: f64,
    /// Share of days at or above 90%.
    pub at_least_90: f64,
}

impl DailyAvailability {
    /// The table of some days' availabilities (fractions); `None` for no day.
    pub fn of(availabilities: impl IntoIterator<Item = f64>) -> Option<DailyAvailability> {
        let mut tally = DailyTally::default();
        for a in availabilities {
            tally.add(a);
        }
        tally.table()
    }
}

/// [`DailyAvailability`] kept one day at a time: a fixed handful of counts
/// and sums, whatever the number of days.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DailyTally {
    days: usize,
    sum: f64,
    worst: f64,
    /// Days at 100%, ≥ 99.9%, ≥ 99%, ≥ 90%.
    at_least: [usize; 4],
}

impl Default for DailyTally {
    fn default() -> Self {
        DailyTally {
            days: 0,
            sum: 0.0,
            worst: f64::INFINITY,
            at_least: [0; 4],
        }
    }
}

impl DailyTally {
    /// Adds one day's availability (a fraction).
    pub fn add(&mut self, availability: f64) {
        // Thresholds compared with a little slack for the rounding of
        // minutes into fractions (a day of exactly 1.44 weighted minutes is
        // at 99.9%).
        const SLACK: f64 = 1e-12;
        self.days += 1;
        self.sum += availability;
        self.worst = self.worst.min(availability);
        for (count, threshold) in self.at_least.iter_mut().zip([1.0, 0.999, 0.99, 0.9]) {
            if availability >= threshold - SLACK {
                *count += 1;
            }
        }
    }

    /// The table of the days added; `None` for no day.
    pub fn table(&self) -> Option<DailyAvailability> {
        let days = self.days as f64;
        let share = |count: usize| count as f64 / days;
        (self.days > 0).then(|| DailyAvailability {
            days: self.days,
            mean: self.sum / days,
            worst: self.worst,
            full: share(self.at_least[0]),
            at_least_99_9: share(self.at_least[1]),
            at_least_99: share(self.at_least[2]),
            at_least_90: share(self.at_least[3]),
        })
    }
}

/// Status-page incidents' rates as the study computes them
/// (`sec4-failure_recovery_analysis.ipynb`, its Table 6): MTBF the mean gap
/// between consecutive incident starts, MTTR the mean time from an
/// incident's first status to its resolution, over the incidents that have
/// both.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IncidentRates {
    /// Incidents counted (starts).
    pub incidents: usize,
    /// Mean gap between consecutive starts.
    pub mtbf: Span,
    /// Incidents behind the MTTR (those with a first status and a resolution).
    pub resolved: usize,
    /// Mean time to resolve (zero when none is resolved).
    pub mttr: Span,
}

impl IncidentRates {
    /// The rates of incidents given as (first status, resolution) in any
    /// order; `None` for fewer than two (no gap between starts).
    pub fn of(incidents: &[(Time, Time)]) -> Option<IncidentRates> {
        let mut tally = IncidentTally::default();
        for (start, end) in incidents {
            tally.add(*start, Some(end.saturating_since(*start)));
        }
        tally.rates()
    }
}

/// [`IncidentRates`] kept one incident at a time, in any order: the count,
/// the first and last start and the total time to resolve.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct IncidentTally {
    incidents: usize,
    first: Option<Time>,
    last: Option<Time>,
    resolved: usize,
    resolving_nanos: u128,
}

impl IncidentTally {
    /// Adds an incident that started at `start` and, if it has both a first
    /// status and a resolution, took `resolution` to resolve.
    pub fn add(&mut self, start: Time, resolution: Option<Span>) {
        self.incidents += 1;
        self.first = Some(self.first.map_or(start, |f| f.min(start)));
        self.last = Some(self.last.map_or(start, |l| l.max(start)));
        if let Some(r) = resolution {
            self.resolved += 1;
            self.resolving_nanos += u128::from(r.as_nanos());
        }
    }

    /// Incidents added.
    pub fn incidents(&self) -> usize {
        self.incidents
    }

    /// The time from the first start to the last: the sum of the gaps.
    pub fn first_to_last(&self) -> Span {
        match (self.first, self.last) {
            (Some(f), Some(l)) => l.saturating_since(f),
            _ => Span::ZERO,
        }
    }

    /// The rates; `None` for fewer than two incidents.
    pub fn rates(&self) -> Option<IncidentRates> {
        if self.incidents < 2 {
            return None;
        }
        let mttr = if self.resolved == 0 {
            0
        } else {
            (self.resolving_nanos / self.resolved as u128) as u64
        };
        Some(IncidentRates {
            incidents: self.incidents,
            mtbf: Span::from_nanos(self.first_to_last().as_nanos() / (self.incidents as u64 - 1)),
            resolved: self.resolved,
            mttr: Span::from_nanos(mttr),
        })
    }
}

/// One kind of outage (partial or major) in a daily record, by its
/// sufficient statistics: enough to fit an exponential or a lognormal law
/// to the minutes of the days that have some, and to quote without copying
/// the record.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutageRecord {
    /// Days observed.
    pub days: f64,
    /// Days with minutes of this kind.
    pub days_with_minutes: f64,
    /// Minutes of this kind over all days.
    pub minutes: f64,
    /// Sum over the days with minutes of ln(minutes).
    pub sum_ln_minutes: f64,
    /// Sum over the days with minutes of ln(minutes)².
    pub sum_sq_ln_minutes: f64,
    /// Sum over the days of minutes²: with the rest, the day-to-day
    /// spread behind the fit's intervals.
    pub sum_sq_minutes: f64,
}

/// A renewal process fitted to an [`OutageRecord`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FittedOutage {
    /// Mean up time (exponential law).
    pub mtbf: Span,
    /// Mean repair time.
    pub mttr: Span,
    /// Law of the repair times: the one with the lower AIC.
    pub repair: Law,
    /// Log-space deviation of lognormal repair times (0 if exponential).
    pub repair_sigma: f64,
    /// Akaike's information criterion of an exponential law of the daily
    /// minutes (1 parameter).
    pub aic_exponential: f64,
    /// Akaike's information criterion of a lognormal law (2 parameters);
    /// infinite when fewer than two distinct days make it degenerate.
    pub aic_lognormal: f64,
}

/// Why a record cannot be fitted.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum StatusPageError {
    /// No day has minutes of this kind.
    #[error("no day has outage minutes: nothing to fit (leave the process out)")]
    NoOutage,
    /// Every day has minutes: no up time was seen.
    #[error("every one of the {days} days has outage minutes: the up times cannot be estimated")]
    NoUpTime {
        /// Days observed.
        days: f64,
    },
    /// The figures contradict one another.
    #[error("inconsistent record: {0}")]
    Inconsistent(String),
}

impl OutageRecord {
    /// The record of one kind's minutes per day (zero for a day without).
    pub fn from_daily_minutes(minutes: impl IntoIterator<Item = f64>) -> OutageRecord {
        let mut r = OutageRecord::default();
        for m in minutes {
            r.add_day(m);
        }
        r
    }

    /// Adds one day with `minutes` of this kind (zero for a day without).
    pub fn add_day(&mut self, minutes: f64) {
        self.days += 1.0;
        if minutes > 0.0 {
            let ln = minutes.ln();
            self.days_with_minutes += 1.0;
            self.minutes += minutes;
            self.sum_ln_minutes += ln;
            self.sum_sq_ln_minutes += ln * ln;
            self.sum_sq_minutes += minutes * minutes;
        }
    }

    /// Share of days with minutes, f.
    pub fn share_of_days(&self) -> f64 {
        self.days_with_minutes / self.days
    }

    /// Share of time in outage, u = minutes / (1440 × days).
    pub fn share_of_time(&self) -> f64 {
        self.minutes / (MINUTES_PER_DAY * self.days)
    }

    /// Fits an alternating renewal process: exponential up times of mean
    /// U, repairs of mean D, so that in the long run
    ///
    /// - the share of time in outage is D / (U + D) = u, and
    /// - a day is free of outage when the process is up at its start and
    ///   stays up for the day: (1 − u) · exp(−1 d / U) = 1 − f,
    ///
    /// hence U = 1 d / ln((1 − u) / (1 − f)) and D = U · u / (1 − u). Both
    /// are exact for exponential up times whatever the law of the repairs,
    /// so the fitted process has, in expectation, the record's share of
    /// days with minutes and its share of time in outage.
    ///
    /// The law of the repairs is fitted to the daily minutes (a day's
    /// minutes stand for one repair; an outage across midnight counts
    /// twice): exponential (maximum likelihood: the mean) or lognormal
    /// (maximum likelihood: the mean and deviation of ln minutes), the one
    /// with the lower AIC = 2k − 2 ln L. Its mean is D either way.
    pub fn fit(&self) -> Result<FittedOutage, StatusPageError> {
        let (n, days) = (self.days_with_minutes, self.days);
        if !(days > 0.0 && n >= 0.0 && n <= days && self.minutes >= 0.0) || self.minutes > MINUTES_PER_DAY * days {
            return Err(StatusPageError::Inconsistent(format!(
                "{n} days with {} minutes out of {days} days",
                self.minutes
            )));
        }
        if n == 0.0 || self.minutes == 0.0 {
            return Err(StatusPageError::NoOutage);
        }
        if n == days {
            return Err(StatusPageError::NoUpTime { days });
        }
        let (f, u) = (self.share_of_days(), self.share_of_time());
        // A day with minutes has at least its own share of time: u ≤ f.
        if u > f {
            return Err(StatusPageError::Inconsistent(format!(
                "{} minutes over {n} days is more than whole days",
                self.minutes
            )));
        }
        let up_days = 1.0 / ((1.0 - u) / (1.0 - f)).ln();
        let repair_days = up_days * u / (1.0 - u);
        let day = Span::from_days(1).as_secs_f64();
        let (aic_exponential, aic_lognormal, sigma) = self.aic();
        let repair = if aic_lognormal < aic_exponential {
            Law::Lognormal
        } else {
            Law::Exponential
        };
        Ok(FittedOutage {
            mtbf: Span::from_secs_f64(up_days * day),
            mttr: Span::from_secs_f64(repair_days * day),
            repair,
            repair_sigma: if repair == Law::Lognormal { sigma } else { 0.0 },
            aic_exponential,
            aic_lognormal,
        })
    }

    /// (AIC exponential, AIC lognormal, lognormal sigma) of the minutes of
    /// the days with minutes.
    fn aic(&self) -> (f64, f64, f64) {
        let n = self.days_with_minutes;
        let mean = self.minutes / n;
        // ln L = −n ln(mean) − Σ m / mean = −n ln(mean) − n.
        let ll_exponential = -n * mean.ln() - n;
        let mu = self.sum_ln_minutes / n;
        let variance = (self.sum_sq_ln_minutes / n - mu * mu).max(0.0);
        let sigma = variance.sqrt();
        // ln L = −Σ ln m − n ln σ − (n/2) ln 2π − Σ (ln m − μ)² / 2σ², the
        // last term n/2 at the maximum.
        let aic_lognormal = if n >= 2.0 && sigma > 1e-9 {
            let ll = -self.sum_ln_minutes - n * sigma.ln() - 0.5 * n * (2.0 * std::f64::consts::PI).ln() - 0.5 * n;
            2.0 * 2.0 - 2.0 * ll
        } else {
            f64::INFINITY
        };
        (2.0 * 1.0 - 2.0 * ll_exponential, aic_lognormal, sigma)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at_minutes(m: u64) -> Time {
        Time::ZERO + Span::from_mins(m)
    }

    #[test]
    fn a_day_weights_partial_minutes_at_three_tenths() {
        let day = OutageDay {
            partial_minutes: 100.0,
            major_minutes: 30.0,
        };
        assert!((day.weighted_minutes() - 60.0).abs() < 1e-12);
        assert!((day.availability() - (1.0 - 60.0 / 1440.0)).abs() < 1e-12);
        let worse_than_down = OutageDay {
            partial_minutes: 1440.0,
            major_minutes: 1440.0,
        };
        assert_eq!(worse_than_down.availability(), 0.0);
    }

    #[test]
    fn incidents_are_cut_at_midnight_and_classified_by_mode() {
        let partial = OutageMode::Brownout {
            latency_factor: 1.0,
            error_probability: PARTIAL_OUTAGE_WEIGHT,
        };
        let timeline = [
            // 23:00 to 01:30 the next day: 60 min on day 0, 90 min on day 1.
            Incident {
                start: at_minutes(23 * 60),
                end: at_minutes(25 * 60 + 30),
                mode: partial,
            },
            Incident {
                start: at_minutes(26 * 60),
                end: at_minutes(26 * 60 + 10),
                mode: OutageMode::Down,
            },
            // Past the last day: ignored.
            Incident {
                start: at_minutes(2 * 1440 + 5),
                end: at_minutes(2 * 1440 + 50),
                mode: OutageMode::Down,
            },
        ];
        let days = outage_days(&timeline, 2);
        assert_eq!(
            days,
            vec![
                OutageDay {
                    partial_minutes: 60.0,
                    major_minutes: 0.0
                },
                OutageDay {
                    partial_minutes: 90.0,
                    major_minutes: 10.0
                }
            ]
        );
        // With partial outages failing 30% of calls, the tenant's failed
        // share is the study's weighted minutes over the day.
        let failed = failed_share_per_day(&timeline, 2);
        for (d, f) in days.iter().zip(&failed) {
            assert!((1.0 - f - d.availability()).abs() < 1e-12, "{d:?} vs {f}");
        }
    }

    #[test]
    fn the_table_counts_shares_at_its_thresholds() {
        // 10 days: 6 at 100%, one exactly at 99.9%, one at 99.5%, one at 95%, one at 80%.
        let minutes = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.44, 7.2, 72.0, 288.0];
        let t = DailyAvailability::of(minutes.iter().map(|m| 1.0 - m / MINUTES_PER_DAY)).unwrap();
        assert_eq!(t.days, 10);
        assert_eq!(
            (t.full, t.at_least_99_9, t.at_least_99, t.at_least_90),
            (0.6, 0.7, 0.8, 0.9)
        );
        assert!((t.worst - 0.8).abs() < 1e-12);
        let mean = 1.0 - minutes.iter().sum::<f64>() / (10.0 * MINUTES_PER_DAY);
        assert!((t.mean - mean).abs() < 1e-15);
        assert_eq!(DailyAvailability::of(std::iter::empty()), None);
    }

    #[test]
    fn incident_rates_are_the_mean_gap_between_starts_and_the_mean_resolution() {
        let day = |d: u64| Time::ZERO + Span::from_days(d);
        // Starts at 0, 2 and 5 days (given out of order), resolved after 1, 2 and 6 hours.
        let incidents = [
            (day(5), day(5) + Span::from_hours(6)),
            (day(0), day(0) + Span::from_hours(1)),
            (day(2), day(2) + Span::from_hours(2)),
        ];
        let rates = IncidentRates::of(&incidents).unwrap();
        assert_eq!(rates.incidents, 3);
        assert_eq!(rates.mtbf, Span::from_hours(60), "(2 d + 3 d) / 2");
        assert_eq!(rates.mttr, Span::from_hours(3), "(1 h + 2 h + 6 h) / 3");
        assert_eq!(rates.resolved, 3);
        assert_eq!(IncidentRates::of(&incidents[..1]), None);
    }

    #[test]
    fn the_fit_solves_the_two_renewal_equations_by_hand() {
        // 100 days, 10 with minutes, 1440 minutes in all: f = 0.1, u = 0.01.
        // U = 1 / ln(0.99 / 0.9) = 1 / ln 1.1 = 10.4921 d; D = U × 0.01 / 0.99.
        let r = OutageRecord {
            days: 100.0,
            days_with_minutes: 10.0,
            minutes: 1440.0,
            sum_ln_minutes: 10.0 * 144f64.ln(),
            sum_sq_ln_minutes: 10.0 * 144f64.ln().powi(2),
            sum_sq_minutes: 10.0 * 144.0 * 144.0,
        };
        let fit = r.fit().unwrap();
        let up = 1.0 / 1.1f64.ln();
        assert!((fit.mtbf.as_secs_f64() / 86_400.0 - up).abs() < 1e-6);
        assert!((fit.mttr.as_secs_f64() / 86_400.0 - up * 0.01 / 0.99).abs() < 1e-6);
        // Every day 144 minutes: a lognormal is degenerate, exponential it is.
        assert_eq!((fit.repair, fit.repair_sigma), (Law::Exponential, 0.0));
        assert!(fit.aic_lognormal.is_infinite());
        // AIC of the exponential by hand: 2 − 2 (−10 ln 144 − 10).
        assert!((fit.aic_exponential - (2.0 + 20.0 * 144f64.ln() + 20.0)).abs() < 1e-9);
    }

    #[test]
    fn a_heavy_tail_picks_the_lognormal_and_exponential_deciles_the_exponential() {
        // Lognormal-looking minutes (wide spread in logs): 1, 3, 10, 30, 100, 300, 1000.
        let heavy = OutageRecord::from_daily_minutes(
            [1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0]
                .into_iter()
                .chain(std::iter::repeat_n(0.0, 93)),
        );
        let fit = heavy.fit().unwrap();
        assert_eq!(fit.repair, Law::Lognormal);
        // σ = population deviation of ln of the minutes.
        let logs: Vec<f64> = [1.0f64, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0]
            .iter()
            .map(|m| m.ln())
            .collect();
        let mu = logs.iter().sum::<f64>() / 7.0;
        let sigma = (logs.iter().map(|l| (l - mu).powi(2)).sum::<f64>() / 7.0).sqrt();
        assert!((fit.repair_sigma - sigma).abs() < 1e-9);
        // The 10 deciles' midpoints of an exponential law of mean 50
        // (-50 ln(1 - (i - 0.5) / 10)): AIC 99.54 against 102.54.
        let exponential = (1..=10).map(|i| -50.0 * (1.0 - (i as f64 - 0.5) / 10.0).ln());
        let flat = OutageRecord::from_daily_minutes(exponential.chain(std::iter::repeat_n(0.0, 90)));
        let fit = flat.fit().unwrap();
        assert_eq!(fit.repair, Law::Exponential);
        assert!((fit.aic_exponential - 99.5436).abs() < 1e-3 && (fit.aic_lognormal - 102.5392).abs() < 1e-3);
    }

    #[test]
    fn records_that_cannot_be_fitted_say_why() {
        let none = OutageRecord::from_daily_minutes([0.0; 30]);
        assert_eq!(none.fit(), Err(StatusPageError::NoOutage));
        let every = OutageRecord::from_daily_minutes([5.0; 30]);
        assert_eq!(every.fit(), Err(StatusPageError::NoUpTime { days: 30.0 }));
        let too_long = OutageRecord {
            days: 10.0,
            days_with_minutes: 1.0,
            minutes: 3000.0,
            ..OutageRecord::default()
        };
        assert!(matches!(too_long.fit(), Err(StatusPageError::Inconsistent(_))));
    }
}
