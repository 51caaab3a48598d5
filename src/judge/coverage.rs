//! How far the logs cover each window: `coverage.csv`.
//!
//! The logs' extent is from the earliest call start to the latest call end
//! over every model record read (of any tenant), widened to whole minutes
//! of the scenario's clock (a log whose first call came 2 s into the
//! period covers its first minute). A window is covered over
//! its overlap with that extent; a window the logs cover only in part is
//! judged on the calls they hold, and its row says `partial` (none:
//! `none`), so a reader knows the judgement speaks for part of the window.
//! Gaps inside the extent (a log file missing for a day) are not detected.

use serde::Serialize;

use crate::scenario::Scenario;
use crate::sla::{Clause, Window};
use crate::time::Time;

/// The extent of the rows read, in nanoseconds since the epoch.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Extent {
    first: Option<u64>,
    last: u64,
}

impl Extent {
    /// A record from `start` to `end`.
    pub(super) fn add(&mut self, start: u64, end: u64) {
        self.first = Some(self.first.map_or(start, |f| f.min(start)));
        self.last = self.last.max(end);
    }

    /// The extent as instants of a scenario starting at `epoch` (clipped
    /// to its start), widened to whole minutes; `None` when no row was read.
    pub(super) fn relative(&self, epoch: u64) -> Option<(Time, Time)> {
        const MINUTE: u64 = 60_000_000_000;
        let first = self.first?;
        let at = |ns: u64| Time::from_nanos(ns.saturating_sub(epoch));
        let from = epoch + first.saturating_sub(epoch) / MINUTE * MINUTE;
        let to = epoch + self.last.max(first).saturating_sub(epoch).div_ceil(MINUTE) * MINUTE;
        Some((at(from), at(to)))
    }
}

/// One clause window's coverage.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CoverageRow {
    /// The tenant.
    pub tenant: String,
    /// The clause, as the summary describes it.
    pub clause: String,
    /// Index of the clause among those judged.
    pub clause_index: usize,
    /// The window's label.
    pub window: String,
    /// Index of the window.
    pub window_index: usize,
    /// The window's first instant (ns since the scenario's start).
    pub window_start: Time,
    /// The window's end.
    pub window_end: Time,
    /// The share of the window the logs cover, in [0, 1].
    pub covered: f64,
    /// `full`, `partial` or `none`.
    pub note: &'static str,
}

/// Every clause window's coverage, in clause and window order.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Coverage {
    /// The rows.
    pub rows: Vec<CoverageRow>,
}

impl Coverage {
    /// The coverage of `windows[c]` (the windows of `clauses[c]`) by the
    /// logs' `extent`.
    pub(super) fn new(
        scenario: &Scenario,
        clauses: &[Clause],
        windows: &[Vec<Window>],
        extent: Option<(Time, Time)>,
    ) -> Coverage {
        let mut rows = Vec::new();
        for (ci, (c, ws)) in clauses.iter().zip(windows).enumerate() {
            for (wi, w) in ws.iter().enumerate() {
                let length = w.end.saturating_since(w.start).as_nanos();
                let overlap = extent.map_or(0, |(first, last)| {
                    let from = first.max(w.start);
                    let to = last.min(w.end);
                    to.saturating_since(from).as_nanos()
                });
                let covered = if length == 0 {
                    1.0
                } else {
                    overlap as f64 / length as f64
                };
                let note = if overlap >= length {
                    "full"
                } else if overlap == 0 {
                    "none"
                } else {
                    "partial"
                };
                rows.push(CoverageRow {
                    tenant: c.tenant_name.clone(),
                    clause: c.describe(scenario),
                    clause_index: ci,
                    window: w.label.clone(),
                    window_index: wi,
                    window_start: w.start,
                    window_end: w.end,
                    covered,
                    note,
                });
            }
        }
        Coverage { rows }
    }

    /// Windows not fully covered.
    pub fn partial(&self) -> usize {
        self.rows.iter().filter(|r| r.note != "full").count()
    }
}

/// `coverage.csv`: `tenant, clause, clause_index, window, window_index,
/// window_start, window_end` (RFC 3339 UTC), `covered` (share, 6
/// decimals), `note`.
pub fn coverage_csv(scenario: &Scenario, coverage: &Coverage) -> Result<Vec<u8>, csv::Error> {
    let start = scenario.start();
    let utc = |t: Time| {
        (start + chrono::Duration::nanoseconds(t.as_nanos() as i64))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "tenant",
        "clause",
        "clause_index",
        "window",
        "window_index",
        "window_start",
        "window_end",
        "covered",
        "note",
    ])?;
    for r in &coverage.rows {
        w.write_record([
            r.tenant.clone(),
            r.clause.clone(),
            r.clause_index.to_string(),
            r.window.clone(),
            r.window_index.to_string(),
            utc(r.window_start),
            utc(r.window_end),
            format!("{:.6}", r.covered),
            r.note.to_string(),
        ])?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}
