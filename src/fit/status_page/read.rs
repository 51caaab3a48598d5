//! Readers of the two CSV files of a status-page history in the ICPE 2025
//! study's layout (`data/clean/` of atlarge-research/llm-service-analysis),
//! recognised by their header:
//!
//! - the *daily outage record* (the study's `outage_unexploded.csv`): one
//!   row per service and UTC day, with `Date` (`YYYY-MM-DD`), `Service`,
//!   `partial_outage_minutes` and `major_outage_minutes`, and optionally
//!   `incident_count` and `provider`;
//! - the *incident list* (the study's `incident_stages.csv`): one row per
//!   status-page incident, with `start_timestamp` and `close_timestamp`
//!   (`YYYY-MM-DD HH:MM:SS+00:00`), `incident_impact_level` (0 none, 1
//!   minor, 2 major, 3 critical, 4 maintenance), a 0/1 column per affected
//!   service, and optionally the stages' `investigating_timestamp`,
//!   `identified_timestamp`, `monitoring_timestamp`, `resolved_timestamp`
//!   and `postmortem_timestamp`.
//!
//! Other columns are ignored. Every malformed cell is a
//! [`FitError::Record`] naming the file, the 1-based line and the column.
//! One row is held at a time.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use chrono::{DateTime, NaiveDate};

use crate::fit::FitError;
use crate::model::status_page::MINUTES_PER_DAY;

/// Which of the study's files a CSV is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordFileKind {
    /// Daily partial and major outage minutes per service.
    Daily,
    /// Status-page incidents with their affected services.
    Incidents,
}

impl RecordFileKind {
    /// How the report names it.
    pub fn name(self) -> &'static str {
        match self {
            RecordFileKind::Daily => "daily outage minutes",
            RecordFileKind::Incidents => "incidents",
        }
    }
}

/// The stages of an incident in the order the study checks them
/// (`sec4-failure_recovery_analysis.ipynb`: an incident with two
/// consecutive stages out of this order is left out).
const STAGES: [&str; 5] = [
    "investigating_timestamp",
    "identified_timestamp",
    "monitoring_timestamp",
    "resolved_timestamp",
    "postmortem_timestamp",
];

/// An open CSV file of either kind.
pub struct RecordFile {
    file: String,
    reader: csv::Reader<Box<dyn Read>>,
    headers: csv::StringRecord,
    kind: RecordFileKind,
    row: csv::StringRecord,
    rows: u64,
}

/// One day of one service.
#[derive(Clone, Debug, PartialEq)]
pub struct DayRow {
    /// The 1-based line the row starts on.
    pub line: u64,
    /// The service as the record names it.
    pub service: String,
    /// Its provider, if the file has the column.
    pub provider: Option<String>,
    /// The UTC day.
    pub date: NaiveDate,
    /// Minutes of partial outage.
    pub partial: f64,
    /// Minutes of major outage.
    pub major: f64,
    /// Incidents on the status page that day, if the file has the column.
    pub incidents: Option<u32>,
}

/// One incident (services are read apart, with [`RecordFile::flag`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IncidentRow {
    /// The 1-based line the row starts on.
    pub line: u64,
    /// Its start, ns since 1970-01-01 UTC.
    pub start: u64,
    /// Its first status (investigating, identified or monitoring) to its
    /// resolution, ns; `None` when it has no such pair of stages. Without
    /// stage columns, close − start.
    pub resolution: Option<u64>,
    /// Two consecutive stages out of order: the study leaves it out.
    pub out_of_order: bool,
    /// Impact level 0..=4.
    pub impact: u8,
}

fn field(file: &str, line: u64, field: &str, expected: &str, got: &str) -> FitError {
    const MAX: usize = 60;
    let got = if got.chars().count() <= MAX {
        format!("{got:?}")
    } else {
        format!("{:?}…", got.chars().take(MAX).collect::<String>())
    };
    FitError::Record {
        file: file.to_string(),
        line,
        field: field.to_string(),
        expected: expected.to_string(),
        got,
    }
}

/// The daily record's required columns.
const DAILY: [&str; 4] = ["Date", "Service", "partial_outage_minutes", "major_outage_minutes"];
/// The incident list's required columns.
const INCIDENTS: [&str; 3] = ["start_timestamp", "close_timestamp", "incident_impact_level"];

impl RecordFile {
    /// Opens a file and recognises its kind from its header.
    pub fn open(path: &Path) -> Result<RecordFile, FitError> {
        let file = path.display().to_string();
        let f = File::open(path).map_err(|source| FitError::RecordOpen {
            file: file.clone(),
            source,
        })?;
        RecordFile::from_reader(&file, Box::new(f))
    }

    /// Reads a file held by `input`, called `name` in messages.
    pub fn from_reader(name: &str, input: Box<dyn Read>) -> Result<RecordFile, FitError> {
        let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(input);
        let headers = reader
            .headers()
            .map_err(|e| csv_error(name, &e))?
            .iter()
            .map(str::trim)
            .collect::<csv::StringRecord>();
        let has = |c: &str| headers.iter().any(|h| h == c);
        let kind = if has("partial_outage_minutes") || has("major_outage_minutes") {
            RecordFileKind::Daily
        } else if has("start_timestamp") || has("close_timestamp") {
            RecordFileKind::Incidents
        } else {
            return Err(field(
                name,
                1,
                "header",
                "the study's daily outage record (columns Date, Service, partial_outage_minutes, \
                 major_outage_minutes) or its incident list (start_timestamp, close_timestamp, \
                 incident_impact_level and a 0/1 column per service)",
                &headers.iter().collect::<Vec<_>>().join(","),
            ));
        };
        let required: &[&str] = match kind {
            RecordFileKind::Daily => &DAILY,
            RecordFileKind::Incidents => &INCIDENTS,
        };
        if let Some(missing) = required.iter().find(|c| !has(c)) {
            return Err(FitError::Record {
                file: name.to_string(),
                line: 1,
                field: (*missing).to_string(),
                expected: format!("a column {missing} in the {} (the study's layout)", kind.name()),
                got: "no such column".into(),
            });
        }
        Ok(RecordFile {
            file: name.to_string(),
            reader,
            headers,
            kind,
            row: csv::StringRecord::new(),
            rows: 0,
        })
    }

    /// The file's name as messages show it.
    pub fn name(&self) -> &str {
        &self.file
    }

    /// What the file holds.
    pub fn kind(&self) -> RecordFileKind {
        self.kind
    }

    /// Rows read so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The index of the column called `name` (case-insensitive when
    /// `ignore_case`).
    pub fn column(&self, name: &str, ignore_case: bool) -> Option<usize> {
        self.headers.iter().position(|h| {
            if ignore_case {
                h.eq_ignore_ascii_case(name)
            } else {
                h == name
            }
        })
    }

    /// Reads the next row into the buffer; false at the end.
    fn advance(&mut self) -> Result<bool, FitError> {
        let more = self
            .reader
            .read_record(&mut self.row)
            .map_err(|e| csv_error(&self.file, &e))?;
        if more {
            self.rows += 1;
        }
        Ok(more)
    }

    fn line(&self) -> u64 {
        self.row.position().map_or(0, csv::Position::line)
    }

    fn cell(&self, column: &str) -> &str {
        self.column(column, false)
            .and_then(|i| self.row.get(i))
            .map_or("", str::trim)
    }

    fn fail(&self, column: &str, expected: &str) -> FitError {
        field(&self.file, self.line(), column, expected, self.cell(column))
    }

    /// The next day of a daily record.
    pub fn next_day(&mut self) -> Result<Option<DayRow>, FitError> {
        debug_assert_eq!(self.kind, RecordFileKind::Daily);
        if !self.advance()? {
            return Ok(None);
        }
        let date = NaiveDate::parse_from_str(self.cell("Date"), "%Y-%m-%d")
            .map_err(|_| self.fail("Date", "a UTC day as YYYY-MM-DD, e.g. 2024-06-01"))?;
        let service = self.cell("Service").to_string();
        if service.is_empty() || service.chars().any(char::is_control) {
            return Err(self.fail("Service", "the service's name in printable characters, e.g. api"));
        }
        let minutes = |column: &str| -> Result<f64, FitError> {
            self.cell(column)
                .parse::<f64>()
                .ok()
                .filter(|m| (0.0..=1440.0).contains(m))
                .ok_or_else(|| self.fail(column, "minutes of the day, from 0 to 1440"))
        };
        let (partial, major) = (minutes("partial_outage_minutes")?, minutes("major_outage_minutes")?);
        // A minute is in partial or in major outage, not both.
        if partial + major > MINUTES_PER_DAY {
            return Err(self.fail(
                "major_outage_minutes",
                &format!(
                    "at most {} minutes with partial_outage_minutes {partial}: a day has 1440",
                    MINUTES_PER_DAY - partial
                ),
            ));
        }
        let incidents = match self.column("incident_count", false) {
            None => None,
            Some(_) => Some(
                self.cell("incident_count")
                    .parse::<u32>()
                    .map_err(|_| self.fail("incident_count", "a whole number of incidents, e.g. 0"))?,
            ),
        };
        let provider = self
            .column("provider", false)
            .map(|_| self.cell("provider").to_string())
            .filter(|p| !p.is_empty());
        if provider.as_ref().is_some_and(|p| p.chars().any(char::is_control)) {
            return Err(self.fail("provider", "the provider's name in printable characters, e.g. openai"));
        }
        Ok(Some(DayRow {
            line: self.line(),
            service,
            provider,
            date,
            partial,
            major,
            incidents,
        }))
    }

    /// The next incident of an incident list.
    pub fn next_incident(&mut self) -> Result<Option<IncidentRow>, FitError> {
        debug_assert_eq!(self.kind, RecordFileKind::Incidents);
        if !self.advance()? {
            return Ok(None);
        }
        let start = self
            .time("start_timestamp")?
            .ok_or_else(|| self.fail("start_timestamp", TIME))?;
        let close = self
            .time("close_timestamp")?
            .ok_or_else(|| self.fail("close_timestamp", TIME))?;
        if close < start {
            return Err(self.fail("close_timestamp", "a time at or after start_timestamp"));
        }
        let impact = self
            .cell("incident_impact_level")
            .parse::<u8>()
            .ok()
            .filter(|i| *i <= 4)
            .ok_or_else(|| {
                self.fail(
                    "incident_impact_level",
                    "0 (none), 1 (minor), 2 (major), 3 (critical) or 4 (maintenance)",
                )
            })?;
        let has_stages = STAGES.iter().any(|s| self.column(s, false).is_some());
        let mut stages = [None; STAGES.len()];
        for (slot, stage) in stages.iter_mut().zip(STAGES) {
            *slot = self.time(stage)?;
        }
        let out_of_order = stages
            .windows(2)
            .any(|pair| matches!(pair, [Some(a), Some(b)] if a > b));
        let resolution = if has_stages {
            let first = stages[..3].iter().flatten().min();
            match (first, stages[3]) {
                (Some(first), Some(resolved)) => Some(resolved.saturating_sub(*first)),
                _ => None,
            }
        } else {
            Some(close - start)
        };
        Ok(Some(IncidentRow {
            line: self.line(),
            start,
            resolution,
            out_of_order,
            impact,
        }))
    }

    /// Whether the current incident affects the service of column `index`.
    pub fn flag(&self, index: usize) -> Result<bool, FitError> {
        let column = self.headers.get(index).unwrap_or("");
        match self.row.get(index).map(str::trim) {
            Some("1") => Ok(true),
            Some("0") => Ok(false),
            _ => Err(self.fail(column, "1 if the incident affected this service, else 0")),
        }
    }

    /// A time cell: `None` when the column is absent or the cell empty.
    fn time(&self, column: &str) -> Result<Option<u64>, FitError> {
        let text = self.cell(column);
        if text.is_empty() {
            return Ok(None);
        }
        DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%:z")
            .or_else(|_| DateTime::parse_from_rfc3339(text))
            .ok()
            .and_then(|t| t.timestamp_nanos_opt())
            .and_then(|ns| u64::try_from(ns).ok())
            .map(Some)
            .ok_or_else(|| self.fail(column, TIME))
    }
}

const TIME: &str = "a time with its offset, e.g. 2024-02-26 17:09:00+00:00";

fn csv_error(file: &str, e: &csv::Error) -> FitError {
    let line = e.position().map_or(0, csv::Position::line);
    let reason = match e.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            return FitError::Record {
                file: file.to_string(),
                line,
                field: "row".into(),
                expected: format!("{expected_len} comma-separated fields, as the header"),
                got: format!("{len}"),
            };
        }
        csv::ErrorKind::Utf8 { .. } => "bytes that are not UTF-8".to_string(),
        _ => e.to_string(),
    };
    FitError::RecordRead {
        file: file.to_string(),
        line,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(text: &str) -> Result<RecordFile, FitError> {
        RecordFile::from_reader("t.csv", Box::new(std::io::Cursor::new(text.as_bytes().to_vec())))
    }

    fn message(e: FitError) -> String {
        e.to_string()
    }

    #[test]
    fn a_daily_row_reads_its_columns_whatever_their_order() {
        let mut f = open(
            "provider,major_outage_minutes,Service,Date,partial_outage_minutes,incident_count,extra\n\
             openai,3,api,2024-04-01,14,2,\"[{'x': 1}]\"\n",
        )
        .unwrap();
        assert_eq!(f.kind(), RecordFileKind::Daily);
        let day = f.next_day().unwrap().unwrap();
        assert_eq!(
            day,
            DayRow {
                line: 2,
                service: "api".into(),
                provider: Some("openai".into()),
                date: NaiveDate::from_ymd_opt(2024, 4, 1).unwrap(),
                partial: 14.0,
                major: 3.0,
                incidents: Some(2),
            }
        );
        assert_eq!(f.next_day().unwrap(), None);
        assert_eq!(f.rows(), 1);
    }

    #[test]
    fn malformed_daily_cells_name_the_line_and_column() {
        let head = "Date,Service,partial_outage_minutes,major_outage_minutes\n";
        let cases = [
            (
                "2024-13-01,api,0,0",
                "t.csv:2: field Date: expected a UTC day as YYYY-MM-DD",
            ),
            (",api,0,0", "t.csv:2: field Date"),
            ("2024-01-01,,0,0", "t.csv:2: field Service"),
            (
                "2024-01-01,a\u{17}pi,0,0",
                "t.csv:2: field Service: expected the service's name in printable characters",
            ),
            (
                "2024-01-01,api,-1,0",
                "t.csv:2: field partial_outage_minutes: expected minutes of the day, from 0 to 1440, got \"-1\"",
            ),
            ("2024-01-01,api,0,1441", "t.csv:2: field major_outage_minutes"),
            ("2024-01-01,api,0,NaN", "t.csv:2: field major_outage_minutes"),
            (
                "2024-01-01,api,0",
                "t.csv:2: field row: expected 4 comma-separated fields",
            ),
        ];
        for (row, want) in cases {
            let mut f = open(&format!("{head}{row}\n")).unwrap();
            let got = message(f.next_day().unwrap_err());
            assert!(got.starts_with(want), "{row}: {got}");
        }
        let mut f =
            open("Date,Service,partial_outage_minutes,major_outage_minutes,incident_count\n2024-01-01,api,0,0,x\n")
                .unwrap();
        assert!(message(f.next_day().unwrap_err()).starts_with("t.csv:2: field incident_count"));
        let mut f =
            open("Date,Service,partial_outage_minutes,major_outage_minutes,provider\n2024-01-01,api,0,0,o\tai\n")
                .unwrap();
        assert!(
            message(f.next_day().unwrap_err()).starts_with("t.csv:2: field provider: expected the provider's name")
        );
    }

    #[test]
    fn an_unknown_header_or_a_missing_column_is_named() {
        let got = message(open("a,b\n1,2\n").err().unwrap());
        assert!(
            got.starts_with("t.csv:1: field header: expected the study's daily outage record"),
            "{got}"
        );
        let got = message(
            open("Date,partial_outage_minutes,major_outage_minutes\n")
                .err()
                .unwrap(),
        );
        assert!(
            got.starts_with("t.csv:1: field Service: expected a column Service in the daily outage minutes"),
            "{got}"
        );
        let got = message(open("start_timestamp,close_timestamp,API\n").err().unwrap());
        assert!(got.starts_with("t.csv:1: field incident_impact_level"), "{got}");
    }

    const INCIDENT_HEAD: &str = "incident_id,incident_impact_level,API,claude.ai,investigating_timestamp,\
                                 identified_timestamp,monitoring_timestamp,resolved_timestamp,postmortem_timestamp,\
                                 start_timestamp,close_timestamp\n";

    #[test]
    fn an_incident_resolves_from_its_first_status_as_the_study_computes() {
        let mut f = open(&format!(
            "{INCIDENT_HEAD}\
             a,1,1,0,2024-02-26 17:09:00+00:00,2024-02-26 17:37:00+00:00,,2024-02-26 18:21:00+00:00,,\
             2024-02-26 17:09:00+00:00,2024-02-26 18:21:00+00:00\n\
             b,0,0,1,,,,2024-02-16 20:35:00+00:00,,2024-02-16 20:35:00+00:00,2024-02-16 20:35:00+00:00\n\
             c,2,1,1,2024-02-13 04:00:00+00:00,2024-02-13 03:59:00+00:00,,2024-02-13 04:36:00+00:00,,\
             2024-02-13 03:59:00+00:00,2024-02-13 04:36:00+00:00\n"
        ))
        .unwrap();
        assert_eq!(f.kind(), RecordFileKind::Incidents);
        let api = f.column("api", true).unwrap();
        let a = f.next_incident().unwrap().unwrap();
        assert_eq!((a.line, a.impact, a.out_of_order), (2, 1, false));
        assert_eq!(a.resolution, Some(72 * 60 * 1_000_000_000), "17:09 to 18:21");
        assert!(f.flag(api).unwrap());
        assert_eq!(a.start, 1_708_967_340_000_000_000);
        // Only a resolution: no first status, no time to resolve (as the study).
        let b = f.next_incident().unwrap().unwrap();
        assert_eq!((b.resolution, f.flag(api).unwrap()), (None, false));
        // Investigating after identified: out of order, left out by the study.
        let c = f.next_incident().unwrap().unwrap();
        assert!(c.out_of_order);
        assert_eq!(c.resolution, Some(37 * 60 * 1_000_000_000), "first status 03:59");
    }

    #[test]
    fn without_stage_columns_an_incident_lasts_from_start_to_close() {
        let mut f = open(
            "start_timestamp,close_timestamp,incident_impact_level,API\n\
             2024-01-01T10:00:00Z,2024-01-01T12:30:00Z,2,1\n",
        )
        .unwrap();
        let i = f.next_incident().unwrap().unwrap();
        assert_eq!(i.resolution, Some(150 * 60 * 1_000_000_000));
    }

    #[test]
    fn malformed_incident_cells_name_the_line_and_column() {
        let head = "start_timestamp,close_timestamp,incident_impact_level,API\n";
        let cases = [
            (
                "2024-01-01 10:00,2024-01-01 12:00:00+00:00,1,1",
                "t.csv:2: field start_timestamp: expected a time",
            ),
            (",2024-01-01 12:00:00+00:00,1,1", "t.csv:2: field start_timestamp"),
            (
                "2024-01-01 12:00:00+00:00,2024-01-01 10:00:00+00:00,1,1",
                "t.csv:2: field close_timestamp: expected a time at or after start_timestamp",
            ),
            (
                "2024-01-01 10:00:00+00:00,2024-01-01 12:00:00+00:00,5,1",
                "t.csv:2: field incident_impact_level",
            ),
        ];
        for (row, want) in cases {
            let mut f = open(&format!("{head}{row}\n")).unwrap();
            let got = message(f.next_incident().unwrap_err());
            assert!(got.starts_with(want), "{row}: {got}");
        }
        let mut f = open(&format!(
            "{head}2024-01-01 10:00:00+00:00,2024-01-01 12:00:00+00:00,1,yes\n"
        ))
        .unwrap();
        f.next_incident().unwrap().unwrap();
        let got = message(f.flag(3).unwrap_err());
        assert!(
            got.starts_with(
                "t.csv:2: field API: expected 1 if the incident affected this service, else 0, got \"yes\""
            ),
            "{got}"
        );
    }
}
