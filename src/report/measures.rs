//! The measures behind the charts: `latency.csv` (pooled distributions),
//! `budget.csv` (error-budget burn-down), `timeline.csv` (the sample
//! replication's outages and tier changes) and `drivers.csv` (what the bad
//! events of failed windows are blamed on).
//!
//! [`MeasureSums`] takes the replications one at a time, in memory that does
//! not grow with their number: sums for the latency and driver counts, the
//! first replication's timeline, and the budget curves' points in a
//! [`ValueStore`] for their exact percentiles across replications.

use std::collections::BTreeMap;
use std::path::Path;

use super::files::{OutputError, csv_writer, io_err};
use crate::model::TimelineRow;
use crate::plan::Replication;
use crate::plan::quantile::ValueStore;
use crate::scenario::Scenario;
use crate::sla::{Clause, Layout, Window, cdf_edge_ms};

/// The measures of every replication seen so far.
pub(super) struct MeasureSums {
    /// Latency-like clause → pooled counts at each edge, the successful
    /// events and the events still open at the end.
    latency: BTreeMap<usize, (Vec<u64>, u64, u64)>,
    /// (clause, window, hour) → key of the budget consumed at that hour.
    budget_keys: BTreeMap<(usize, usize, usize), u32>,
    /// Budget consumed per key, one value per replication (finite only).
    budget: ValueStore,
    /// The first replication's index and timeline.
    timeline: Option<(u64, Vec<TimelineRow>)>,
    /// Clause → bad events by cause, summed.
    causes: BTreeMap<usize, Vec<u64>>,
}

impl MeasureSums {
    /// Nothing seen yet; budget points go to `budget`.
    pub(super) fn new(budget: ValueStore) -> MeasureSums {
        MeasureSums {
            latency: BTreeMap::new(),
            budget_keys: BTreeMap::new(),
            budget,
            timeline: None,
            causes: BTreeMap::new(),
        }
    }

    /// Adds one replication's measures. The first replication added gives
    /// the timeline (the others keep none).
    pub(super) fn add(&mut self, clauses: &[Clause], r: &Replication) -> std::io::Result<()> {
        for l in &r.measures.latency {
            let entry = self.latency.entry(l.clause).or_default();
            // A replication's counts stop at its own largest event, after
            // which they stay at its total: a shorter list extends with it.
            let n = entry.0.len().max(l.at_or_under.len());
            let last = entry.0.last().copied().unwrap_or(0);
            entry.0.resize(n, last);
            let theirs = l.at_or_under.last().copied().unwrap_or(l.total);
            for (k, a) in entry.0.iter_mut().enumerate() {
                *a += l.at_or_under.get(k).copied().unwrap_or(theirs);
            }
            entry.1 += l.total;
            entry.2 += l.open;
        }
        for b in &r.measures.budget {
            let Some(target) = clauses.get(b.clause).and_then(Clause::budget_target) else {
                continue;
            };
            for (h, &bad) in b.bad_by_hour.iter().enumerate() {
                let Some(consumed) = budget_consumed(target, b.eligible, bad).filter(|x| x.is_finite()) else {
                    continue;
                };
                let next = self.budget_keys.len() as u32;
                let key = *self.budget_keys.entry((b.clause, b.window, h)).or_insert(next);
                self.budget.push(key, consumed)?;
            }
        }
        if self.timeline.is_none() {
            self.timeline = Some((r.index, r.timeline.clone().unwrap_or_default()));
        }
        for c in &r.measures.causes {
            let entry = self.causes.entry(c.clause).or_insert_with(|| vec![0; c.counts.len()]);
            for (a, b) in entry.iter_mut().zip(&c.counts) {
                *a += b;
            }
        }
        Ok(())
    }

    /// Writes `latency.csv`, `budget.csv`, `timeline.csv` and `drivers.csv` into `dir`.
    pub(super) fn write(
        self,
        dir: &Path,
        scenario: &Scenario,
        clauses: &[Clause],
        texts: &[String],
        windows: &[Vec<Window>],
    ) -> Result<(), OutputError> {
        let named = Named { clauses, texts };
        write_latency(&dir.join("latency.csv"), named, &self.latency)?;
        let path = dir.join("budget.csv");
        let percentiles = self.budget.quantiles(&[0.05, 0.5, 0.95]).map_err(io_err(&path))?;
        write_budget(&path, named, windows, &self.budget_keys, &percentiles)?;
        write_timeline(&dir.join("timeline.csv"), self.timeline.as_ref())?;
        write_drivers(&dir.join("drivers.csv"), scenario, named, &self.causes)
    }
}

/// The clauses and their texts in the grammar's words, side by side.
#[derive(Clone, Copy)]
struct Named<'a> {
    clauses: &'a [Clause],
    texts: &'a [String],
}

impl<'a> Named<'a> {
    /// Clause `ci` and its text, if both exist.
    fn get(&self, ci: usize) -> Option<(&'a Clause, &'a str)> {
        Some((self.clauses.get(ci)?, self.texts.get(ci)?.as_str()))
    }
}

/// Every clause's windows, in clause order.
pub fn clause_windows(scenario: &Scenario, clauses: &[Clause]) -> Vec<Vec<Window>> {
    clauses
        .iter()
        .map(|c| Layout::new(c.period, scenario.start(), scenario.simulation.duration).windows)
        .collect()
}

/// Share of the window's error budget spent: `bad / ((1 - target) × eligible)`;
/// `None` without a budget (no eligible event, or a target of 1 with no
/// failure to measure against).
pub fn budget_consumed(target: f64, eligible: u64, bad: u64) -> Option<f64> {
    let budget = (1.0 - target) * eligible as f64;
    if budget > 0.0 {
        Some(bad as f64 / budget)
    } else if eligible > 0 && bad == 0 {
        Some(0.0)
    } else {
        None
    }
}

fn csv_err(path: &Path) -> impl Fn(csv::Error) -> OutputError + '_ {
    move |source| OutputError::Csv {
        path: path.to_path_buf(),
        source,
    }
}

/// `latency.csv`: for each latency-like clause, the share of its events at
/// or under each edge (40 per decade from 1 ms, up to the first edge at or
/// above the largest event), pooled over replications and windows. The
/// shares are of the successful events plus the calls or tasks still open
/// when the run ended, which are above every edge: with open events the
/// curve ends below 1. `pooled`: clause → (cumulative counts, successful
/// events, open events).
fn write_latency(
    path: &Path,
    named: Named<'_>,
    pooled: &BTreeMap<usize, (Vec<u64>, u64, u64)>,
) -> Result<(), OutputError> {
    let mut w = csv_writer(path)?;
    let err = csv_err(path);
    w.write_record([
        "clause_index",
        "tenant",
        "metric",
        "upper_ms",
        "cumulative_share",
        "clause",
    ])
    .map_err(&err)?;
    for (&ci, (counts, total, open)) in pooled {
        let Some((c, text)) = named.get(ci) else { continue };
        let ranked = total + open;
        if ranked == 0 {
            continue;
        }
        for (k, count) in counts.iter().enumerate() {
            w.write_record([
                ci.to_string(),
                c.tenant_name.clone(),
                c.metric_name(),
                format!("{:.6}", cdf_edge_ms(k as u32)),
                format!("{:.6}", *count as f64 / ranked as f64),
                text.to_string(),
            ])
            .map_err(&err)?;
        }
    }
    w.flush().map_err(io_err(path))
}

/// `budget.csv`: for each availability-like clause and window, the share
/// of the window's budget spent by the end of each hour, as the 5th, 50th
/// and 95th percentile across replications (`keys` names the points,
/// `percentiles` holds them by key).
fn write_budget(
    path: &Path,
    named: Named<'_>,
    windows: &[Vec<Window>],
    keys: &BTreeMap<(usize, usize, usize), u32>,
    percentiles: &[Option<Vec<f64>>],
) -> Result<(), OutputError> {
    let mut w = csv_writer(path)?;
    let err = csv_err(path);
    w.write_record([
        "clause_index",
        "tenant",
        "metric",
        "window",
        "hour",
        "consumed_p05",
        "consumed_p50",
        "consumed_p95",
        "remaining_p50",
        "clause",
    ])
    .map_err(&err)?;
    for (&(ci, wi, h), &key) in keys {
        let Some((c, text)) = named.get(ci) else { continue };
        let Some(p) = percentiles.get(key as usize).and_then(Option::as_deref) else {
            continue;
        };
        let label = windows
            .get(ci)
            .and_then(|ws| ws.get(wi))
            .map(|w| w.label.clone())
            .unwrap_or_default();
        w.write_record([
            ci.to_string(),
            c.tenant_name.clone(),
            c.metric_name(),
            label,
            (h + 1).to_string(),
            format!("{:.6}", p[0]),
            format!("{:.6}", p[1]),
            format!("{:.6}", p[2]),
            format!("{:.6}", 1.0 - p[1]),
            text.to_string(),
        ])
        .map_err(&err)?;
    }
    w.flush().map_err(io_err(path))
}

/// `timeline.csv`: the first replication's outages and tier changes.
fn write_timeline(path: &Path, first: Option<&(u64, Vec<TimelineRow>)>) -> Result<(), OutputError> {
    let mut w = csv_writer(path)?;
    let err = csv_err(path);
    w.write_record(["replication", "lane", "kind", "start_ms", "end_ms", "detail"])
        .map_err(&err)?;
    if let Some((index, rows)) = first {
        for row in rows {
            w.write_record([
                index.to_string(),
                row.lane.clone(),
                row.kind.clone(),
                format!("{:.3}", row.start.as_nanos() as f64 / 1e6),
                format!("{:.3}", row.end.as_nanos() as f64 / 1e6),
                row.detail.clone(),
            ])
            .map_err(&err)?;
        }
    }
    w.flush().map_err(io_err(path))
}

/// `drivers.csv`: each clause's bad events in the windows where it failed,
/// summed over replications, by cause (endpoint and whether it was in an
/// outage, or the router), largest first.
fn write_drivers(
    path: &Path,
    scenario: &Scenario,
    named: Named<'_>,
    sums: &BTreeMap<usize, Vec<u64>>,
) -> Result<(), OutputError> {
    let mut w = csv_writer(path)?;
    let err = csv_err(path);
    w.write_record([
        "clause_index",
        "tenant",
        "cause",
        "provider",
        "during_outage",
        "bad_events",
        "share",
        "clause",
    ])
    .map_err(&err)?;
    for (&ci, counts) in sums {
        let Some((c, text)) = named.get(ci) else { continue };
        let total: u64 = counts.iter().sum();
        if total == 0 {
            continue;
        }
        let router = counts.len().saturating_sub(1);
        let mut rows: Vec<(u64, usize)> = counts
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(i, n)| (*n, i))
            .collect();
        rows.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        for (n, i) in rows {
            let (cause, provider, outage) = if i == router {
                ("router".to_string(), String::new(), false)
            } else {
                let e = scenario.endpoints.get(i / 2);
                (
                    e.map(|e| e.name.clone()).unwrap_or_default(),
                    e.map(|e| e.provider.clone()).unwrap_or_default(),
                    i % 2 == 1,
                )
            };
            w.write_record([
                ci.to_string(),
                c.tenant_name.clone(),
                cause,
                provider,
                outage.to_string(),
                n.to_string(),
                format!("{:.6}", n as f64 / total as f64),
                text.to_string(),
            ])
            .map_err(&err)?;
        }
    }
    w.flush().map_err(io_err(path))
}
