//! Reading a run's output directory: `run.json` and `summary.csv` (required)
//! and the optional CSVs, columns by header name, extra columns ignored.
//!
//! Every problem is a [`ReportError::Input`] naming the file, the line, the
//! field or column and what was expected. Nothing here draws or writes.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::ReportError;
use crate::plan::Verdict;

/// One judgement window as `run.json` lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowInfo {
    /// Label, e.g. `2026-01`.
    pub label: String,
    /// Start, ns since the period start.
    pub start_ns: u64,
    /// End (exclusive), ns since the period start.
    pub end_ns: u64,
    /// Whether the period covers the whole calendar window.
    pub complete: bool,
}

/// What the report uses from `run.json`.
#[derive(Clone, Debug, PartialEq)]
pub struct RunInfo {
    /// slaplan's version that wrote the run.
    pub slaplan_version: String,
    /// The scenario file as given to `run`.
    pub scenario: String,
    /// SHA-256 of the scenario file.
    pub scenario_sha256: String,
    /// Master seed.
    pub seed: u64,
    /// Replications.
    pub replications: u64,
    /// Required probability for a verdict of enforceable.
    pub required_confidence: f64,
    /// Confidence level of the intervals.
    pub interval_level: f64,
    /// The scenario's name, when recorded.
    pub scenario_name: Option<String>,
    /// Start of the simulated period (ISO date-time, UTC), when recorded.
    pub start: Option<String>,
    /// Length of the simulated period in ms, when recorded.
    pub duration_ms: Option<f64>,
    /// Judgement windows (may be empty in old outputs).
    pub windows: Vec<WindowInfo>,
    /// Run totals, known counters first, then the rest by name.
    pub totals: Vec<(String, u64)>,
    /// Tenant names, when recorded.
    pub tenants: Vec<String>,
    /// Endpoint names, when recorded.
    pub endpoints: Vec<String>,
    /// Provider names, when recorded.
    pub providers: Vec<String>,
}

/// One row of `summary.csv`: one clause.
#[derive(Clone, Debug, PartialEq)]
pub struct ClauseRow {
    /// Index matching the other files (`clause_index`, else the row's position).
    pub index: usize,
    /// Tenant name.
    pub tenant: String,
    /// Workflow name; empty for the whole tenant.
    pub workflow: String,
    /// The clause in words.
    pub clause: String,
    /// Short metric name, e.g. `p95 latency`.
    pub metric: String,
    /// `ms` or `ratio`.
    pub unit: String,
    /// Threshold in `unit`.
    pub threshold: f64,
    /// Windows judged.
    pub windows: u64,
    /// Windows in which it held.
    pub met: u64,
    /// P(hold).
    pub probability: f64,
    /// Interval, lower end.
    pub ci_low: f64,
    /// Interval, upper end.
    pub ci_high: f64,
    /// Verdict.
    pub verdict: Verdict,
    /// Clause kind, when recorded.
    pub kind: Option<String>,
    /// `<=` or `>=`, when recorded.
    pub direction: Option<String>,
}

impl ClauseRow {
    /// Whether the clause is a time ceiling (latency, fallback time,
    /// notification delay): a threshold in ms the metric must stay under.
    pub fn is_latency_like(&self) -> bool {
        self.unit == "ms" && self.direction.as_deref() != Some(">=")
    }

    /// The percentile a latency clause is about (`p95 latency` → 0.95).
    pub fn percentile(&self) -> Option<f64> {
        let digits = self.metric.strip_prefix('p')?.split_whitespace().next()?;
        let p: f64 = digits.parse().ok()?;
        (p > 0.0 && p < 100.0).then_some(p / 100.0)
    }
}

/// A latency-like clause's window values from `windows.csv`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WindowValues {
    /// Values of windows that had one.
    pub values: Vec<f64>,
    /// Windows with no value that held (no eligible event: vacuous).
    pub vacuous: u64,
    /// Windows with no value that failed (every eligible event failed).
    pub never: u64,
}

/// One point of a pooled latency distribution (`latency.csv`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LatencyPoint {
    /// Upper end of the bucket, ms.
    pub upper_ms: f64,
    /// Share of events at most `upper_ms`.
    pub cumulative_share: f64,
}

/// One hour of a burn-down (`budget.csv`).
#[derive(Clone, Debug, PartialEq)]
pub struct BudgetPoint {
    /// Window label.
    pub window: String,
    /// Hours since the window's start.
    pub hour: u64,
    /// Budget consumed, 5th percentile across replications.
    pub consumed_p05: f64,
    /// Median.
    pub consumed_p50: f64,
    /// 95th percentile.
    pub consumed_p95: f64,
}

/// What an interval of the sample timeline is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpanKind {
    /// An endpoint's (or provider's) incident.
    Outage,
    /// A tenant degraded to a lower tier.
    Tier,
}

/// One interval of `timeline.csv`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct TimelineSpan {
    /// The sample replication's index.
    #[serde(default)]
    pub replication: Option<u64>,
    /// Endpoint or tenant name.
    pub lane: String,
    /// Outage or tier change.
    pub kind: SpanKind,
    /// Start, ms since the period start.
    pub start_ms: f64,
    /// End, ms since the period start.
    pub end_ms: f64,
    /// Outage mode or tier number.
    #[serde(default)]
    pub detail: Option<String>,
}

/// One attribution of `drivers.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct Driver {
    /// Endpoint name, or `router`.
    pub cause: String,
    /// The endpoint's provider; `None` for the router.
    pub provider: Option<String>,
    /// Whether the bad events fell during the endpoint's outages.
    pub during_outage: bool,
    /// Bad events attributed.
    pub bad_events: u64,
    /// Share of the clause's bad events in failed windows.
    pub share: f64,
}

/// Everything read from an output directory.
#[derive(Clone, Debug, PartialEq)]
pub struct Inputs {
    /// `run.json`.
    pub run: RunInfo,
    /// `summary.csv`, in file order.
    pub clauses: Vec<ClauseRow>,
    /// `windows.csv` values of latency-like clauses, by clause index.
    pub windows: Option<BTreeMap<usize, WindowValues>>,
    /// `latency.csv`, by clause index.
    pub latency: Option<BTreeMap<usize, Vec<LatencyPoint>>>,
    /// `budget.csv`, by clause index, in file order.
    pub budget: Option<BTreeMap<usize, Vec<BudgetPoint>>>,
    /// `timeline.csv`, in file order.
    pub timeline: Option<Vec<TimelineSpan>>,
    /// `drivers.csv`, by clause index, largest first.
    pub drivers: Option<BTreeMap<usize, Vec<Driver>>>,
}

/// Reads `dir`: errors for a missing or malformed `run.json` or
/// `summary.csv`, or a malformed optional file; `None` for an absent one.
pub fn read(dir: &Path) -> Result<Inputs, ReportError> {
    if !dir.is_dir() {
        return Err(ReportError::Input {
            path: dir.to_path_buf(),
            problem: "not a directory: expected the output directory of `slaplan run`".into(),
        });
    }
    let run = read_run(&dir.join("run.json"))?;
    let clauses = read_summary(&dir.join("summary.csv"))?;
    let latency_like: Vec<usize> = clauses
        .iter()
        .filter(|c| c.is_latency_like())
        .map(|c| c.index)
        .collect();
    Ok(Inputs {
        run,
        windows: optional(&dir.join("windows.csv"), |p| read_windows(p, &latency_like))?,
        latency: optional(&dir.join("latency.csv"), read_latency)?,
        budget: optional(&dir.join("budget.csv"), read_budget)?,
        timeline: optional(&dir.join("timeline.csv"), read_timeline)?,
        drivers: optional(&dir.join("drivers.csv"), read_drivers)?,
        clauses,
    })
}

fn optional<T>(path: &Path, read: impl FnOnce(&Path) -> Result<T, ReportError>) -> Result<Option<T>, ReportError> {
    if path.exists() { read(path).map(Some) } else { Ok(None) }
}

fn input(path: &Path, problem: impl Into<String>) -> ReportError {
    ReportError::Input {
        path: path.to_path_buf(),
        problem: problem.into(),
    }
}

// ---- run.json --------------------------------------------------------------

fn read_run(path: &Path) -> Result<RunInfo, ReportError> {
    let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => input(path, "not found: expected the run.json written by `slaplan run`"),
        _ => input(path, format!("cannot read: {e}")),
    })?;
    let value: Value = serde_json::from_str(&text).map_err(|e| input(path, format!("not valid JSON: {e}")))?;
    let obj = value
        .as_object()
        .ok_or_else(|| input(path, "expected a JSON object at the top level"))?;
    run_info(obj).map_err(|problem| input(path, problem))
}

fn run_info(obj: &Map<String, Value>) -> Result<RunInfo, String> {
    let required_confidence = number(obj, "required_confidence")?;
    if !(required_confidence > 0.0 && required_confidence < 1.0) {
        return Err(format!(
            "field \"required_confidence\": expected a probability strictly between 0 and 1, got {required_confidence}"
        ));
    }
    let interval_level = number(obj, "interval_level")?;
    if !(interval_level > 0.0 && interval_level < 1.0) {
        return Err(format!(
            "field \"interval_level\": expected a level strictly between 0 and 1, got {interval_level}"
        ));
    }
    Ok(RunInfo {
        slaplan_version: string(obj, "slaplan_version")?,
        scenario: string(obj, "scenario")?,
        scenario_sha256: string(obj, "scenario_sha256")?,
        seed: whole(obj, "seed")?,
        replications: whole(obj, "replications")?,
        required_confidence,
        interval_level,
        scenario_name: optional_field(obj, "scenario_name", string)?,
        start: optional_field(obj, "start", string)?,
        duration_ms: optional_field(obj, "duration_ms", number)?,
        windows: optional_field(obj, "windows", windows)?.unwrap_or_default(),
        totals: optional_field(obj, "totals", totals)?.unwrap_or_default(),
        tenants: optional_field(obj, "tenants", names)?.unwrap_or_default(),
        endpoints: optional_field(obj, "endpoints", names)?.unwrap_or_default(),
        providers: optional_field(obj, "providers", names)?.unwrap_or_default(),
    })
}

fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("{s:?}"),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "an object".into(),
    }
}

fn get<'a>(obj: &'a Map<String, Value>, name: &str) -> Result<&'a Value, String> {
    obj.get(name).ok_or_else(|| format!("field \"{name}\" is missing"))
}

fn optional_field<T>(
    obj: &Map<String, Value>,
    name: &str,
    read: impl Fn(&Map<String, Value>, &str) -> Result<T, String>,
) -> Result<Option<T>, String> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => read(obj, name).map(Some),
    }
}

fn string(obj: &Map<String, Value>, name: &str) -> Result<String, String> {
    match get(obj, name)? {
        Value::String(s) => Ok(s.clone()),
        other => Err(format!("field \"{name}\": expected a string, got {}", describe(other))),
    }
}

fn number(obj: &Map<String, Value>, name: &str) -> Result<f64, String> {
    let v = get(obj, name)?;
    v.as_f64()
        .ok_or_else(|| format!("field \"{name}\": expected a number, got {}", describe(v)))
}

fn whole(obj: &Map<String, Value>, name: &str) -> Result<u64, String> {
    let v = get(obj, name)?;
    v.as_u64().ok_or_else(|| {
        format!(
            "field \"{name}\": expected a non-negative whole number, got {}",
            describe(v)
        )
    })
}

fn windows(obj: &Map<String, Value>, name: &str) -> Result<Vec<WindowInfo>, String> {
    let Value::Array(items) = get(obj, name)? else {
        return Err(format!("field \"{name}\": expected a list of windows"));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let w = item
                .as_object()
                .ok_or_else(|| format!("field \"{name}[{i}]\": expected an object, got {}", describe(item)))?;
            let at = |e: String| format!("{name}[{i}]: {e}");
            Ok(WindowInfo {
                label: string(w, "label").map_err(at)?,
                start_ns: whole(w, "start").map_err(at)?,
                end_ns: whole(w, "end").map_err(at)?,
                complete: match w.get("complete") {
                    None => true,
                    Some(v) => v.as_bool().ok_or_else(|| {
                        at(format!(
                            "field \"complete\": expected true or false, got {}",
                            describe(v)
                        ))
                    })?,
                },
            })
        })
        .collect()
}

/// The counters shown first, in this order; any others follow by name.
const KNOWN_TOTALS: [&str; 8] = [
    "calls",
    "completed",
    "failed",
    "attempts",
    "tasks",
    "tasks_succeeded",
    "tool_calls",
    "migrations",
];

fn totals(obj: &Map<String, Value>, name: &str) -> Result<Vec<(String, u64)>, String> {
    let Value::Object(map) = get(obj, name)? else {
        return Err(format!("field \"{name}\": expected an object of counters"));
    };
    let mut known = Vec::new();
    let mut rest = BTreeMap::new();
    for (key, v) in map {
        // Counters only; anything else a later version adds is skipped.
        let Some(n) = v.as_u64() else { continue };
        match KNOWN_TOTALS.iter().position(|k| k == key) {
            Some(i) => known.push((i, key.clone(), n)),
            None => {
                rest.insert(key.clone(), n);
            }
        }
    }
    known.sort();
    Ok(known.into_iter().map(|(_, k, n)| (k, n)).chain(rest).collect())
}

/// A list of names: strings, or objects with a `name`.
fn names(obj: &Map<String, Value>, name: &str) -> Result<Vec<String>, String> {
    let Value::Array(items) = get(obj, name)? else {
        return Err(format!("field \"{name}\": expected a list of names"));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::String(s) => Ok(s.clone()),
            Value::Object(o) => string(o, "name").map_err(|e| format!("{name}[{i}]: {e}")),
            other => Err(format!(
                "field \"{name}[{i}]\": expected a name or an object with a name, got {}",
                describe(other)
            )),
        })
        .collect()
}

// ---- CSV -------------------------------------------------------------------

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

fn read_summary(path: &Path) -> Result<Vec<ClauseRow>, ReportError> {
    let mut rows = Vec::new();
    for_each_row(path, &SUMMARY_COLUMNS, |_, r: SummaryRecord| {
        for (column, v) in [
            ("probability", r.probability),
            ("ci_low", r.ci_low),
            ("ci_high", r.ci_high),
        ] {
            check_share(column, v)?;
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
        rows.push(ClauseRow {
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

fn read_windows(path: &Path, latency_like: &[usize]) -> Result<BTreeMap<usize, WindowValues>, ReportError> {
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

fn read_latency(path: &Path) -> Result<BTreeMap<usize, Vec<LatencyPoint>>, ReportError> {
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

fn read_budget(path: &Path) -> Result<BTreeMap<usize, Vec<BudgetPoint>>, ReportError> {
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

fn read_timeline(path: &Path) -> Result<Vec<TimelineSpan>, ReportError> {
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

fn read_drivers(path: &Path) -> Result<BTreeMap<usize, Vec<Driver>>, ReportError> {
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
        drivers.sort_by(|a, b| b.bad_events.cmp(&a.bad_events));
    }
    Ok(out)
}
