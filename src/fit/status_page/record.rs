//! One service's status-page history as the fit needs it: the summary
//! figures ([`ServiceRecord`]: enough to fit and to quote, and what
//! `data/providers.toml` ships) and the samples only rows can give
//! ([`ServiceSamples`]: for the goodness-of-fit tests and Q-Q tables), both
//! kept in fixed memory by [`ServiceAcc`] as the rows stream by.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::read::{DayRow, IncidentRow};
use crate::fit::FitError;
use crate::fit::stats::Reservoir;
use crate::model::status_page::{DailyTally, IncidentTally, OutageDay};
use crate::model::{DailyAvailability, OutageRecord};
use crate::time::{Span, Time};

/// Days and incident times kept for the goodness-of-fit tests, per service.
const SAMPLE: usize = 20_000;
/// Incident starts kept to test the gaps between them; beyond, the test is
/// skipped and the report says so.
const MAX_STARTS: usize = 100_000;

/// Days of a daily record that had status-page incidents.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IncidentDays {
    /// Days with at least one incident.
    pub with_incident: u64,
    /// Of them, days without a minute of partial or major outage: the
    /// incidents' mild share.
    pub without_minutes: u64,
}

/// A service's incident list, summarized.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct IncidentSummary {
    /// The incidents kept, as the study computes their rates.
    pub tally: IncidentTally,
    /// Incidents left out because two consecutive stages are out of order
    /// (as the study does).
    pub out_of_order: u64,
    /// Incidents kept by impact level: none, minor, major, critical,
    /// maintenance.
    pub by_impact: [u64; 5],
}

/// One service's history: the figures a profile is fitted to and quotes.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceRecord {
    /// The service as the record names it, e.g. `api`.
    pub service: String,
    /// Its provider, if the record says.
    pub provider: Option<String>,
    /// The first and last day recorded.
    pub span: Option<(NaiveDate, NaiveDate)>,
    /// Partial-outage minutes per day.
    pub partial: OutageRecord,
    /// Major-outage minutes per day.
    pub major: OutageRecord,
    /// The study's table of daily availability over the days.
    pub table: DailyAvailability,
    /// Days with both partial and major minutes.
    pub both_kinds: Option<u64>,
    /// Days with incidents, if every day says how many.
    pub incident_days: Option<IncidentDays>,
    /// The incident list, if one was read with a column for the service.
    pub incidents: Option<IncidentSummary>,
}

impl ServiceRecord {
    /// A record known only by its summary figures (those
    /// `data/providers.toml` quotes): each kind's [`OutageRecord`] and the
    /// table of daily availability.
    pub fn from_figures(
        service: &str,
        partial: OutageRecord,
        major: OutageRecord,
        table: DailyAvailability,
    ) -> ServiceRecord {
        ServiceRecord {
            service: service.to_string(),
            provider: None,
            span: None,
            partial,
            major,
            table,
            both_kinds: None,
            incident_days: None,
            incidents: None,
        }
    }
}

/// What only the rows give: samples of each kind's daily minutes (days
/// with minutes), of the gaps between incident starts and of the times to
/// resolve.
#[derive(Clone, Debug)]
pub struct ServiceSamples {
    /// Partial-outage minutes of the days with some.
    pub partial: Vec<f64>,
    /// Major-outage minutes of the days with some.
    pub major: Vec<f64>,
    /// Gaps between consecutive incident starts, seconds; `None` beyond
    /// [`MAX_STARTS`] incidents.
    pub gaps: Option<Vec<f64>>,
    /// Times to resolve, seconds.
    pub resolutions: Vec<f64>,
}

/// The streaming state of one service.
pub struct ServiceAcc {
    service: String,
    provider: Option<String>,
    days: BTreeMap<NaiveDate, u64>,
    partial: OutageRecord,
    major: OutageRecord,
    tally: DailyTally,
    both: u64,
    incident_days: IncidentDays,
    uncounted_days: u64,
    incidents: Option<IncidentSummary>,
    partial_sample: Reservoir<f64>,
    major_sample: Reservoir<f64>,
    starts: Option<Vec<u64>>,
    resolutions: Reservoir<f64>,
}

impl ServiceAcc {
    /// An empty history of `service`.
    pub fn new(service: &str) -> ServiceAcc {
        let stream = |what: &str| format!("fit/status_page/{what}/{service}");
        ServiceAcc {
            service: service.to_string(),
            provider: None,
            days: BTreeMap::new(),
            partial: OutageRecord::default(),
            major: OutageRecord::default(),
            tally: DailyTally::default(),
            both: 0,
            incident_days: IncidentDays::default(),
            uncounted_days: 0,
            incidents: None,
            partial_sample: Reservoir::new(SAMPLE, &stream("partial")),
            major_sample: Reservoir::new(SAMPLE, &stream("major")),
            starts: Some(Vec::new()),
            resolutions: Reservoir::new(SAMPLE, &stream("resolutions")),
        }
    }

    /// Adds one day of the service, read from `file`; a day recorded twice
    /// is an error naming both lines.
    pub fn add_day(&mut self, file: &str, day: &DayRow) -> Result<(), FitError> {
        if let Some(first) = self.days.insert(day.date, day.line) {
            return Err(FitError::Record {
                file: file.to_string(),
                line: day.line,
                field: "Date".into(),
                expected: format!("a day not yet recorded for service {:?}", self.service),
                got: format!("{} again (first at line {first})", day.date),
            });
        }
        if self.provider.is_none() {
            self.provider.clone_from(&day.provider);
        }
        self.partial.add_day(day.partial);
        self.major.add_day(day.major);
        let outage = OutageDay {
            partial_minutes: day.partial,
            major_minutes: day.major,
        };
        self.tally.add(outage.availability());
        if day.partial > 0.0 {
            self.partial_sample.offer(day.partial);
        }
        if day.major > 0.0 {
            self.major_sample.offer(day.major);
        }
        if day.partial > 0.0 && day.major > 0.0 {
            self.both += 1;
        }
        match day.incidents {
            Some(n) if n > 0 => {
                self.incident_days.with_incident += 1;
                if day.partial == 0.0 && day.major == 0.0 {
                    self.incident_days.without_minutes += 1;
                }
            }
            Some(_) => {}
            None => self.uncounted_days += 1,
        }
        Ok(())
    }

    /// Notes that an incident list was read with a column for the service,
    /// even if it flags no incident of it.
    pub fn has_incident_list(&mut self) {
        self.incidents.get_or_insert_with(IncidentSummary::default);
    }

    /// Adds one incident of the service.
    pub fn add_incident(&mut self, incident: &IncidentRow) {
        let summary = self.incidents.get_or_insert_with(IncidentSummary::default);
        if incident.out_of_order {
            summary.out_of_order += 1;
            return;
        }
        summary.by_impact[usize::from(incident.impact)] += 1;
        summary.tally.add(
            Time::from_nanos(incident.start),
            incident.resolution.map(Span::from_nanos),
        );
        if let Some(r) = incident.resolution {
            self.resolutions.offer(r as f64 / 1e9);
        }
        if let Some(starts) = &mut self.starts {
            if starts.len() < MAX_STARTS {
                starts.push(incident.start);
            } else {
                self.starts = None;
            }
        }
    }

    /// The summary and the samples; `None` for a service without a day.
    pub fn finish(self) -> Option<(ServiceRecord, ServiceSamples)> {
        let table = self.tally.table()?;
        let span = self
            .days
            .keys()
            .next()
            .copied()
            .zip(self.days.keys().next_back().copied());
        let gaps = self.starts.map(|mut s| {
            s.sort_unstable();
            s.windows(2).map(|w| (w[1] - w[0]) as f64 / 1e9).collect()
        });
        let record = ServiceRecord {
            service: self.service,
            provider: self.provider,
            span,
            partial: self.partial,
            major: self.major,
            table,
            both_kinds: Some(self.both),
            incident_days: (self.uncounted_days == 0).then_some(self.incident_days),
            incidents: self.incidents,
        };
        let samples = ServiceSamples {
            partial: self.partial_sample.items().to_vec(),
            major: self.major_sample.items().to_vec(),
            gaps,
            resolutions: self.resolutions.items().to_vec(),
        };
        Some((record, samples))
    }
}
