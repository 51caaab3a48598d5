//! The CSV files, read by header name (extra columns ignored), every
//! problem reported with its line and column.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{
    BudgetPoint, ClauseCredit, ClauseRow, Driver, FidelityLine, InternalObjective, LatencyPoint, PairedLine,
    ReportError, TenantCredit, TimelineSpan, WindowValues, input,
};
use crate::plan::Verdict;

/// Reads `path` row by row into `T` (columns by header name), after
/// checking that every `required` column is present. `each` gets the
/// 1-based line and the row, and may reject it naming the column.
fn for_each_row<T: DeserializeOwned>(
    path: &Path,
    required: &[&str],
    mut each: impl FnMut(u64, T) -> Result<(), String>,
) -> Result<(), ReportError> {
    let file = std::fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => input(path, "not found: expected the file written by `slaplan run`"),
        _ => input(path, format!("cannot read: {e}")),
    })?;
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(file);
    let headers = reader
        .headers()
        .map_err(|e| input(path, format!("cannot read the header line: {e}")))?
        .clone();
    for column in required {
        if !headers.iter().any(|h| h == *column) {
            let have: Vec<&str> = headers.iter().collect();
            return Err(input(
                path,
                format!("missing column \"{column}\" (the header has: {})", have.join(", ")),
            ));
        }
    }
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {}
            Err(e) => return Err(input(path, format!("{e}"))),
        }
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let row: T = record
            .deserialize(Some(&headers))
            .map_err(|e| input(path, format!("line {line}: {}", cell_problem(&e, &headers, &record))))?;
        each(line, row).map_err(|problem| input(path, format!("line {line}: {problem}")))?;
    }
}

/// "column \"x\": expected ..., got \"...\"" for a record that did not decode.
fn cell_problem(e: &csv::Error, headers: &csv::StringRecord, record: &csv::StringRecord) -> String {
    let csv::ErrorKind::Deserialize { err, .. } = e.kind() else {
        return e.to_string();
    };
    let index = err.field().map(|f| f as usize);
    let column = index.and_then(|i| headers.get(i)).unwrap_or("?");
    let got = index.and_then(|i| record.get(i)).unwrap_or("");
    let problem = match err.kind() {
        csv::DeserializeErrorKind::ParseFloat(_) => "expected a number".to_string(),
        csv::DeserializeErrorKind::ParseInt(_) => "expected a non-negative whole number".to_string(),
        csv::DeserializeErrorKind::ParseBool(_) => "expected true or false".to_string(),
        csv::DeserializeErrorKind::Message(m) if got.is_empty() && m.contains("invalid type") => {
            "expected a value, the cell is empty".to_string()
        }
        // serde's own words, e.g. "unknown variant `maybe`, expected one of ...".
        other => other.to_string(),
    };
    format!("column \"{column}\": {problem}, got {got:?}")
}

fn check_share(column: &str, v: f64) -> Result<(), String> {
    if (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err(format!(
            "column \"{column}\": expected a share between 0 and 1, got {v}"
        ))
    }
}

#[derive(Deserialize)]
struct SummaryRecord {
    tenant: String,
    #[serde(default)]
    workflow: Option<String>,
    clause: String,
    metric: String,
    unit: String,
    threshold: f64,
    windows: u64,
    met: u64,
    probability: f64,
    ci_low: f64,
    ci_high: f64,
    // Read as text: serde's enum errors do not say which column failed.
    verdict: String,
    #[serde(default)]
    clause_index: Option<usize>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    direction: Option<String>,
    #[serde(default)]
    credit_schedule: Option<String>,
    #[serde(default)]
    credit_month_usd: Option<f64>,
    #[serde(default)]
    credit_month_low: Option<f64>,
    #[serde(default)]
    credit_month_high: Option<f64>,
    #[serde(default)]
    credit_year_usd: Option<f64>,
    #[serde(default)]
    credit_year_low: Option<f64>,
    #[serde(default)]
    credit_year_high: Option<f64>,
    #[serde(default)]
    credit_p_any_month: Option<f64>,
    #[serde(default)]
    credit_year_p95: Option<f64>,
    #[serde(default)]
    internal_objective: Option<f64>,
    #[serde(default)]
    internal_buffer: Option<f64>,
}

impl SummaryRecord {
    /// The clause's credits: every credit cell filled, or none.
    fn credit(&self) -> Result<Option<ClauseCredit>, String> {
        let Some(schedule) = self.credit_schedule.clone().filter(|s| !s.is_empty()) else {
            return Ok(None);
        };
        let need = |column: &str, v: Option<f64>| {
            v.filter(|x| x.is_finite() && *x >= 0.0)
                .ok_or_else(|| format!("column \"{column}\": expected a non-negative amount beside a credit schedule"))
        };
        let p_any = need("credit_p_any_month", self.credit_p_any_month)?;
        check_share("credit_p_any_month", p_any)?;
        Ok(Some(ClauseCredit {
            schedule,
            // Outputs written before the monthly columns: a twelfth of the year.
            month_usd: match self.credit_month_usd {
                Some(_) => need("credit_month_usd", self.credit_month_usd)?,
                None => need("credit_year_usd", self.credit_year_usd)? / 12.0,
            },
            month_interval: self.credit_month_low.zip(self.credit_month_high),
            year_usd: need("credit_year_usd", self.credit_year_usd)?,
            year_interval: self.credit_year_low.zip(self.credit_year_high),
            p_any_month: p_any,
            year_p95: need("credit_year_p95", self.credit_year_p95)?,
        }))
    }
}

const SUMMARY_COLUMNS: [&str; 11] = [
    "tenant",
    "clause",
    "metric",
    "threshold",
    "windows",
    "met",
    "probability",
    "ci_low",
    "ci_high",
    "verdict",
    "unit",
];

pub(super) fn read_summary(path: &Path) -> Result<Vec<ClauseRow>, ReportError> {
    let mut rows = Vec::new();
    for_each_row(path, &SUMMARY_COLUMNS, |_, r: SummaryRecord| {
        for (column, v) in [
            ("probability", r.probability),
            ("ci_low", r.ci_low),
            ("ci_high", r.ci_high),
        ] {
            check_share(column, v)?;
        }
        if !r.threshold.is_finite() {
            return Err(format!(
                "column \"threshold\": expected a finite number, got {}",
                r.threshold
            ));
        }
        if r.ci_low > r.ci_high {
            return Err(format!(
                "columns \"ci_low\" and \"ci_high\": expected ci_low <= ci_high, got {} > {}",
                r.ci_low, r.ci_high
            ));
        }
        if r.met > r.windows {
            return Err(format!(
                "columns \"met\" and \"windows\": expected met <= windows, got {} > {}",
                r.met, r.windows
            ));
        }
        let verdict = match r.verdict.as_str() {
            "enforceable" => Verdict::Enforceable,
            "at_risk" => Verdict::AtRisk,
            "not_enforceable" => Verdict::NotEnforceable,
            other => {
                return Err(format!(
                    "column \"verdict\": expected enforceable, at_risk or not_enforceable, got {other:?}"
                ));
            }
        };
        let credit = r.credit()?;
        let internal = match (r.internal_objective, r.internal_buffer) {
            (None, None) => None,
            (Some(objective), Some(buffer)) if objective.is_finite() && buffer.is_finite() => {
                Some(InternalObjective { objective, buffer })
            }
            _ => {
                return Err(
                    "columns \"internal_objective\" and \"internal_buffer\": expected both finite \
                     numbers or both empty"
                        .into(),
                );
            }
        };
        rows.push(ClauseRow {
            internal,
            credit,
            index: r.clause_index.unwrap_or(rows.len()),
            tenant: r.tenant,
            workflow: r.workflow.unwrap_or_default(),
            clause: r.clause,
            metric: r.metric,
            unit: r.unit,
            threshold: r.threshold,
            windows: r.windows,
            met: r.met,
            probability: r.probability,
            ci_low: r.ci_low,
            ci_high: r.ci_high,
            verdict,
            kind: r.kind.filter(|k| !k.is_empty()),
            direction: r.direction.filter(|d| !d.is_empty()),
        });
        Ok(())
    })?;
    if rows.is_empty() {
        return Err(input(
            path,
            "no clause rows: expected one row per clause after the header",
        ));
    }
    Ok(rows)
}

#[derive(Deserialize)]
struct WindowRecord {
    clause_index: usize,
    value: Option<f64>,
    met: bool,
}

pub(super) fn read_windows(path: &Path, latency_like: &[usize]) -> Result<BTreeMap<usize, WindowValues>, ReportError> {
    let mut out: BTreeMap<usize, WindowValues> = latency_like.iter().map(|&i| (i, WindowValues::default())).collect();
    for_each_row(path, &["clause_index", "value", "met"], |_, r: WindowRecord| {
        let Some(w) = out.get_mut(&r.clause_index) else {
            return Ok(());
        };
        match r.value {
            Some(v) if v.is_finite() => w.values.push(v),
            Some(v) => return Err(format!("column \"value\": expected a finite number, got {v}")),
            // No value: the window holds at any threshold (no eligible
            // event) or at none (every eligible event failed).
            None if r.met => w.vacuous += 1,
            None => w.never += 1,
        }
        Ok(())
    })?;
    Ok(out)
}

#[derive(Deserialize)]
struct LatencyRecord {
    clause_index: usize,
    upper_ms: f64,
    cumulative_share: f64,
}

pub(super) fn read_latency(path: &Path) -> Result<BTreeMap<usize, Vec<LatencyPoint>>, ReportError> {
    let mut out: BTreeMap<usize, Vec<LatencyPoint>> = BTreeMap::new();
    for_each_row(
        path,
        &["clause_index", "upper_ms", "cumulative_share"],
        |_, r: LatencyRecord| {
            check_share("cumulative_share", r.cumulative_share)?;
            if !(r.upper_ms.is_finite() && r.upper_ms >= 0.0) {
                return Err(format!(
                    "column \"upper_ms\": expected a non-negative number of ms, got {}",
                    r.upper_ms
                ));
            }
            let points = out.entry(r.clause_index).or_default();
            if let Some(prev) = points.last() {
                if r.upper_ms < prev.upper_ms {
                    return Err(format!(
                        "column \"upper_ms\": expected ascending values per clause, got {} after {}",
                        r.upper_ms, prev.upper_ms
                    ));
                }
                if r.cumulative_share < prev.cumulative_share {
                    return Err(format!(
                        "column \"cumulative_share\": expected non-decreasing values per clause, got {} after {}",
                        r.cumulative_share, prev.cumulative_share
                    ));
                }
            }
            points.push(LatencyPoint {
                upper_ms: r.upper_ms,
                cumulative_share: r.cumulative_share,
            });
            Ok(())
        },
    )?;
    Ok(out)
}

// No `#[serde(flatten)]` in these records: with csv it makes every cell's
// type inferred, so a window labelled `1` would not read as a string.
#[derive(Deserialize)]
struct BudgetRecord {
    clause_index: usize,
    window: String,
    hour: u64,
    consumed_p05: f64,
    consumed_p50: f64,
    consumed_p95: f64,
}

pub(super) fn read_budget(path: &Path) -> Result<BTreeMap<usize, Vec<BudgetPoint>>, ReportError> {
    let mut out: BTreeMap<usize, Vec<BudgetPoint>> = BTreeMap::new();
    let columns = [
        "clause_index",
        "window",
        "hour",
        "consumed_p05",
        "consumed_p50",
        "consumed_p95",
    ];
    for_each_row(path, &columns, |_, r: BudgetRecord| {
        let p = BudgetPoint {
            window: r.window,
            hour: r.hour,
            consumed_p05: r.consumed_p05,
            consumed_p50: r.consumed_p50,
            consumed_p95: r.consumed_p95,
        };
        for (column, v) in [
            ("consumed_p05", p.consumed_p05),
            ("consumed_p50", p.consumed_p50),
            ("consumed_p95", p.consumed_p95),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(format!("column \"{column}\": expected a non-negative share, got {v}"));
            }
        }
        if !(p.consumed_p05 <= p.consumed_p50 && p.consumed_p50 <= p.consumed_p95) {
            return Err(format!(
                "columns \"consumed_p05\", \"consumed_p50\", \"consumed_p95\": expected p05 <= p50 <= p95, got {}, {}, {}",
                p.consumed_p05, p.consumed_p50, p.consumed_p95
            ));
        }
        out.entry(r.clause_index).or_default().push(p);
        Ok(())
    })?;
    Ok(out)
}

pub(super) fn read_timeline(path: &Path) -> Result<Vec<TimelineSpan>, ReportError> {
    let mut out = Vec::new();
    for_each_row(
        path,
        &["lane", "kind", "start_ms", "end_ms", "detail"],
        |_, r: TimelineSpan| {
            if !(r.start_ms.is_finite() && r.start_ms >= 0.0 && r.end_ms.is_finite() && r.end_ms >= r.start_ms) {
                return Err(format!(
                    "columns \"start_ms\" and \"end_ms\": expected 0 <= start_ms <= end_ms, got {} and {}",
                    r.start_ms, r.end_ms
                ));
            }
            out.push(r);
            Ok(())
        },
    )?;
    Ok(out)
}

#[derive(Deserialize)]
struct DriverRecord {
    clause_index: usize,
    cause: String,
    #[serde(default)]
    provider: Option<String>,
    during_outage: bool,
    bad_events: u64,
    share: f64,
}

pub(super) fn read_drivers(path: &Path) -> Result<BTreeMap<usize, Vec<Driver>>, ReportError> {
    let mut out: BTreeMap<usize, Vec<Driver>> = BTreeMap::new();
    let columns = [
        "clause_index",
        "cause",
        "provider",
        "during_outage",
        "bad_events",
        "share",
    ];
    for_each_row(path, &columns, |_, r: DriverRecord| {
        check_share("share", r.share)?;
        out.entry(r.clause_index).or_default().push(Driver {
            cause: r.cause,
            provider: r.provider.filter(|p| !p.is_empty()),
            during_outage: r.during_outage,
            bad_events: r.bad_events,
            share: r.share,
        });
        Ok(())
    })?;
    // Largest first whatever the file's order; ties keep file order.
    for drivers in out.values_mut() {
        drivers.sort_by_key(|d| std::cmp::Reverse(d.bad_events));
    }
    Ok(out)
}

pub(super) fn read_fidelity(path: &Path) -> Result<Vec<FidelityLine>, ReportError> {
    let mut out = Vec::new();
    let columns = [
        "tenant",
        "metric",
        "predicted",
        "interval_low",
        "interval_high",
        "measured",
        "relative_error",
        "differs_beyond_interval",
    ];
    for_each_row(path, &columns, |_, r: FidelityLine| {
        if !matches!(r.differs_beyond_interval.as_str(), "yes" | "no") {
            return Err(format!(
                "column \"differs_beyond_interval\": expected yes or no, got {:?}",
                r.differs_beyond_interval
            ));
        }
        out.push(r);
        Ok(())
    })?;
    Ok(out)
}

pub(super) fn read_paired(path: &Path) -> Result<Vec<PairedLine>, ReportError> {
    let mut out = Vec::new();
    let columns = [
        "tenant",
        "figure",
        "pairs",
        "only_measured",
        "only_simulated",
        "measured",
        "simulated",
        "error",
        "error_low",
        "error_high",
    ];
    for_each_row(path, &columns, |_, r: PairedLine| {
        out.push(r);
        Ok(())
    })?;
    Ok(out)
}

#[derive(Deserialize)]
struct CreditRecord {
    tenant: String,
    scope: String,
    credit_month_usd: f64,
    #[serde(default)]
    credit_month_low: Option<f64>,
    #[serde(default)]
    credit_month_high: Option<f64>,
    credit_year_usd: f64,
    #[serde(default)]
    credit_year_low: Option<f64>,
    #[serde(default)]
    credit_year_high: Option<f64>,
    credit_p_any_month: f64,
    credit_year_p95: f64,
}

/// `credits.csv`'s `tenant` rows (its `clause` rows repeat `summary.csv`).
pub(super) fn read_credits(path: &Path) -> Result<BTreeMap<String, TenantCredit>, ReportError> {
    let mut out = BTreeMap::new();
    let columns = [
        "tenant",
        "scope",
        "credit_month_usd",
        "credit_year_usd",
        "credit_p_any_month",
        "credit_year_p95",
    ];
    for_each_row(path, &columns, |_, r: CreditRecord| {
        match r.scope.as_str() {
            "tenant" => {}
            "clause" => return Ok(()),
            other => return Err(format!("column \"scope\": expected tenant or clause, got {other:?}")),
        }
        for (column, v) in [
            ("credit_month_usd", r.credit_month_usd),
            ("credit_year_usd", r.credit_year_usd),
            ("credit_year_p95", r.credit_year_p95),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(format!("column \"{column}\": expected a non-negative amount, got {v}"));
            }
        }
        check_share("credit_p_any_month", r.credit_p_any_month)?;
        if out.contains_key(&r.tenant) {
            return Err(format!("column \"tenant\": a second total for tenant {:?}", r.tenant));
        }
        out.insert(
            r.tenant,
            TenantCredit {
                month_usd: r.credit_month_usd,
                month_interval: r.credit_month_low.zip(r.credit_month_high),
                year_usd: r.credit_year_usd,
                year_interval: r.credit_year_low.zip(r.credit_year_high),
                p_any_month: r.credit_p_any_month,
                year_p95: r.credit_year_p95,
            },
        );
        Ok(())
    })?;
    Ok(out)
}
