//! The measures behind the charts: `latency.csv` (pooled distributions),
//! `budget.csv` (error-budget burn-down), `timeline.csv` (the sample
//! replication's outages and tier changes) and `drivers.csv` (what the bad
//! events of failed windows are blamed on).

use std::collections::BTreeMap;
use std::path::Path;

use super::files::{OutputError, csv_writer, io_err};
use crate::plan::Replication;
use crate::scenario::Scenario;
use crate::sla::{Clause, Layout, Window, cdf_edge_ms};

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
/// curve ends below 1.
pub fn write_latency(path: &Path, clauses: &[Clause], reps: &[Replication]) -> Result<(), OutputError> {
    // clause → (cumulative counts, successful events, open events).
    let mut pooled: BTreeMap<usize, (Vec<u64>, u64, u64)> = BTreeMap::new();
    for r in reps {
        for l in &r.measures.latency {
            let entry = pooled.entry(l.clause).or_default();
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
    }
    let mut w = csv_writer(path)?;
    let err = csv_err(path);
    w.write_record(["clause_index", "tenant", "metric", "upper_ms", "cumulative_share"])
        .map_err(&err)?;
    for (ci, (counts, total, open)) in pooled {
        let Some(c) = clauses.get(ci) else { continue };
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
            ])
            .map_err(&err)?;
        }
    }
    w.flush().map_err(io_err(path))
}

/// Nearest-rank quantile of sorted, non-empty `v`.
fn nearest_rank(v: &[f64], q: f64) -> f64 {
    let rank = (q * v.len() as f64).ceil().max(1.0) as usize;
    v[rank.min(v.len()) - 1]
}

/// `budget.csv`: for each availability-like clause and window, the share
/// of the window's budget spent by the end of each hour, as the 5th, 50th
/// and 95th percentile across replications.
pub fn write_budget(
    path: &Path,
    clauses: &[Clause],
    windows: &[Vec<Window>],
    reps: &[Replication],
) -> Result<(), OutputError> {
    // (clause, window) → per replication, the consumption curve.
    let mut curves: BTreeMap<(usize, usize), Vec<Vec<f64>>> = BTreeMap::new();
    for r in reps {
        for b in &r.measures.budget {
            let Some(target) = clauses.get(b.clause).and_then(Clause::budget_target) else {
                continue;
            };
            let curve: Vec<f64> = b
                .bad_by_hour
                .iter()
                .map(|&bad| budget_consumed(target, b.eligible, bad).unwrap_or(f64::NAN))
                .collect();
            curves.entry((b.clause, b.window)).or_default().push(curve);
        }
    }
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
    ])
    .map_err(&err)?;
    for ((ci, wi), reps) in curves {
        let Some(c) = clauses.get(ci) else { continue };
        let label = windows
            .get(ci)
            .and_then(|ws| ws.get(wi))
            .map(|w| w.label.clone())
            .unwrap_or_default();
        let hours = reps.iter().map(Vec::len).max().unwrap_or(0);
        for h in 0..hours {
            let mut at: Vec<f64> = reps
                .iter()
                .filter_map(|curve| curve.get(h).copied())
                .filter(|x| x.is_finite())
                .collect();
            if at.is_empty() {
                continue;
            }
            at.sort_by(f64::total_cmp);
            w.write_record([
                ci.to_string(),
                c.tenant_name.clone(),
                c.metric_name(),
                label.clone(),
                (h + 1).to_string(),
                format!("{:.6}", nearest_rank(&at, 0.05)),
                format!("{:.6}", nearest_rank(&at, 0.5)),
                format!("{:.6}", nearest_rank(&at, 0.95)),
                format!("{:.6}", 1.0 - nearest_rank(&at, 0.5)),
            ])
            .map_err(&err)?;
        }
    }
    w.flush().map_err(io_err(path))
}

/// `timeline.csv`: the first replication's outages and tier changes.
pub fn write_timeline(path: &Path, reps: &[Replication]) -> Result<(), OutputError> {
    let mut w = csv_writer(path)?;
    let err = csv_err(path);
    w.write_record(["replication", "lane", "kind", "start_ms", "end_ms", "detail"])
        .map_err(&err)?;
    if let Some(r) = reps.first()
        && let Some(rows) = &r.timeline
    {
        for row in rows {
            w.write_record([
                r.index.to_string(),
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
pub fn write_drivers(
    path: &Path,
    scenario: &Scenario,
    clauses: &[Clause],
    reps: &[Replication],
) -> Result<(), OutputError> {
    let mut sums: BTreeMap<usize, Vec<u64>> = BTreeMap::new();
    for r in reps {
        for c in &r.measures.causes {
            let entry = sums.entry(c.clause).or_insert_with(|| vec![0; c.counts.len()]);
            for (a, b) in entry.iter_mut().zip(&c.counts) {
                *a += b;
            }
        }
    }
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
    ])
    .map_err(&err)?;
    for (ci, counts) in sums {
        let Some(c) = clauses.get(ci) else { continue };
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
            ])
            .map_err(&err)?;
        }
    }
    w.flush().map_err(io_err(path))
}
