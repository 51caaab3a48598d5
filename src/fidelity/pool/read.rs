//! Reading `slaplan fidelity` output directories for [`super`]: each run's
//! `fidelity.csv` (the figures), `run.json` (seed, tenants, endpoints),
//! `fidelity.json` (period, time scale, interval level) and `summary.csv`
//! (each clause's kind, which sets its goal), and the check that the runs
//! are independent runs of one scenario.
//!
//! Runs of one scenario: the same tenants and endpoints, period, time
//! scale and clauses. The scenario file's hash is not compared: a second
//! independent run is a copy of the scenario with another seed (the load
//! draws the simulator's replication 0, so a run at the same seed repeats
//! the same arrivals), which is why runs at the same seed are refused.
//!
//! `fidelity.csv` files written before the `sd` column existed are read
//! too: the replications' standard deviation is recovered from the
//! prediction interval, `s = (high − low) / (2 · t(R−1) · √(1 + 1/R))` at
//! the run's `level`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{Figure, Goal, RunValue, t_quantile};
use crate::fidelity::compare::CLAUSE_PREFIX;

/// Why runs cannot be pooled. Each names the file (and line and field where
/// there is one) and what was expected.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// A file could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file is not what `slaplan fidelity` writes.
    #[error("{}", malformed(path, *line, field.as_deref(), expected))]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The line (1 is a CSV file's header), when known.
        line: Option<u64>,
        /// The field (column or JSON key), when one is at fault.
        field: Option<String>,
        /// What was expected.
        expected: String,
    },
    /// Two directories hold runs of different scenarios.
    #[error(
        "{}: {what} is {value}, but {} has {first}: these are not runs of the same scenario",
        dir.display(),
        first_dir.display()
    )]
    NotSameScenario {
        /// The directory that differs from the first.
        dir: PathBuf,
        /// The file and field compared, e.g. `run.json field "tenants"`.
        what: &'static str,
        /// Its value in `dir`.
        value: String,
        /// The first directory.
        first_dir: PathBuf,
        /// Its value there.
        first: String,
    },
    /// Two directories hold runs at the same seed.
    #[error(
        "{}: run.json field \"seed\" is {seed}, as in {}: a run at the same seed repeats the same arrivals, so it \
         is not an independent draw (run a copy of the scenario with another seed)",
        dir.display(),
        other.display()
    )]
    SameSeed {
        /// The later directory.
        dir: PathBuf,
        /// The earlier one with the same seed.
        other: PathBuf,
        /// The seed.
        seed: u64,
    },
}

fn malformed(path: &Path, line: Option<u64>, field: Option<&str>, expected: &str) -> String {
    let mut s = path.display().to_string();
    if let Some(l) = line {
        s.push_str(&format!(": line {l}"));
    }
    if let Some(f) = field {
        s.push_str(&format!(": field \"{f}\""));
    }
    format!("{s}: {expected}")
}

fn bad(path: &Path, line: Option<u64>, field: Option<&str>, expected: impl Into<String>) -> PoolError {
    PoolError::Malformed {
        path: path.to_path_buf(),
        line,
        field: field.map(str::to_string),
        expected: expected.into(),
    }
}

/// One fidelity run, read from its output directory.
#[derive(Clone, Debug)]
pub struct MeasuredRun {
    /// The directory.
    pub dir: PathBuf,
    /// The scenario's master seed (`run.json`).
    pub seed: u64,
    /// What must be equal across runs: file and field, value.
    identity: Vec<(&'static str, String)>,
    /// `fidelity.csv`'s rows in file order: tenant, metric, goal, values.
    rows: Vec<(String, String, Goal, RunValue)>,
}

/// Reads the fidelity run in `dir`.
pub fn read_run(dir: &Path) -> Result<MeasuredRun, PoolError> {
    let run_path = dir.join("run.json");
    let run = read_json(&run_path)?;
    let seed = run
        .get("seed")
        .and_then(Value::as_u64)
        .ok_or_else(|| bad(&run_path, None, Some("seed"), "expected an unsigned integer"))?;
    let json_field = |v: &Value, path: &Path, key: &'static str| {
        v.get(key).map(Value::to_string).ok_or_else(|| {
            bad(
                path,
                None,
                Some(key),
                "expected this field (a file written by `slaplan fidelity`)",
            )
        })
    };
    let notes_path = dir.join("fidelity.json");
    let notes = read_json(&notes_path)?;
    let level = notes
        .get("level")
        .and_then(Value::as_f64)
        .filter(|l| *l > 0.0 && *l < 1.0)
        .ok_or_else(|| bad(&notes_path, None, Some("level"), "expected a number between 0 and 1"))?;
    let summary_path = dir.join("summary.csv");
    let kinds = read_clause_kinds(&summary_path)?;
    let clauses: Vec<String> = kinds.keys().map(|(t, c)| format!("{t}: {c}")).collect();
    let identity = vec![
        ("run.json field \"tenants\"", json_field(&run, &run_path, "tenants")?),
        (
            "run.json field \"endpoints\"",
            json_field(&run, &run_path, "endpoints")?,
        ),
        (
            "fidelity.json field \"duration\"",
            json_field(&notes, &notes_path, "duration")?,
        ),
        (
            "fidelity.json field \"time_scale\"",
            json_field(&notes, &notes_path, "time_scale")?,
        ),
        ("summary.csv column \"clause\"", format!("[{}]", clauses.join("; "))),
    ];
    let rows = read_fidelity_csv(&dir.join("fidelity.csv"), level, &kinds, &summary_path)?;
    Ok(MeasuredRun {
        dir: dir.to_path_buf(),
        seed,
        identity,
        rows,
    })
}

/// The figures of `runs` (each row of any run, in the order first met),
/// after checking that the runs are of one scenario at distinct seeds.
pub fn figures(runs: &[MeasuredRun]) -> Result<Vec<Figure>, PoolError> {
    let Some(first) = runs.first() else {
        return Ok(Vec::new());
    };
    for (i, run) in runs.iter().enumerate() {
        for ((what, value), (_, first_value)) in run.identity.iter().zip(&first.identity) {
            if value != first_value {
                return Err(PoolError::NotSameScenario {
                    dir: run.dir.clone(),
                    what,
                    value: shorten(value),
                    first_dir: first.dir.clone(),
                    first: shorten(first_value),
                });
            }
        }
        if let Some(other) = runs[..i].iter().find(|o| o.seed == run.seed) {
            return Err(PoolError::SameSeed {
                dir: run.dir.clone(),
                other: other.dir.clone(),
                seed: run.seed,
            });
        }
    }
    let mut figures: Vec<Figure> = Vec::new();
    let mut index: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (k, run) in runs.iter().enumerate() {
        for (tenant, metric, goal, value) in &run.rows {
            let i = *index.entry((tenant.clone(), metric.clone())).or_insert_with(|| {
                figures.push(Figure {
                    tenant: tenant.clone(),
                    metric: metric.clone(),
                    goal: *goal,
                    runs: vec![None; runs.len()],
                });
                figures.len() - 1
            });
            figures[i].runs[k] = Some(value.clone());
        }
    }
    Ok(figures)
}

/// A value short enough for a message.
fn shorten(value: &str) -> String {
    const MAX: usize = 160;
    if value.chars().count() <= MAX {
        value.to_string()
    } else {
        format!("{}...", value.chars().take(MAX).collect::<String>())
    }
}

fn read_text(path: &Path) -> Result<String, PoolError> {
    std::fs::read_to_string(path).map_err(|source| PoolError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn read_json(path: &Path) -> Result<Value, PoolError> {
    let text = read_text(path)?;
    let value: Value = serde_json::from_str(&text)
        .map_err(|e| bad(path, Some(e.line() as u64), None, format!("expected JSON: {e}")))?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(bad(path, Some(1), None, "expected a JSON object"))
    }
}

/// A CSV file's header and records, each with its line.
struct Table {
    path: PathBuf,
    header: csv::StringRecord,
    records: Vec<(u64, csv::StringRecord)>,
}

impl Table {
    fn read(path: &Path) -> Result<Table, PoolError> {
        let text = read_text(path)?;
        let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
        let csv_error = |e: csv::Error| {
            let line = e.position().map(|p| p.line());
            bad(path, line, None, format!("expected CSV: {e}"))
        };
        let header = reader.headers().map_err(csv_error)?.clone();
        let mut records = Vec::new();
        for record in reader.records() {
            let record = record.map_err(csv_error)?;
            let line = record.position().map_or(0, |p| p.line());
            records.push((line, record));
        }
        Ok(Table {
            path: path.to_path_buf(),
            header,
            records,
        })
    }

    fn column(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    fn required(&self, name: &str) -> Result<usize, PoolError> {
        self.column(name)
            .ok_or_else(|| bad(&self.path, Some(1), Some(name), "expected this column in the header"))
    }

    /// Cell `column` of the record on `line`, as a number (`None` when
    /// empty and `optional`).
    fn number(
        &self,
        line: u64,
        record: &csv::StringRecord,
        column: usize,
        optional: bool,
    ) -> Result<Option<f64>, PoolError> {
        let cell = record.get(column).unwrap_or_default().trim();
        if cell.is_empty() && optional {
            return Ok(None);
        }
        match cell.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(Some(x)),
            _ => Err(bad(
                &self.path,
                Some(line),
                Some(&self.header[column]),
                format!(
                    "expected a number{}, got {cell:?}",
                    if optional { " or an empty cell" } else { "" }
                ),
            )),
        }
    }
}

/// `summary.csv`: each clause's kind, by tenant and clause text.
fn read_clause_kinds(path: &Path) -> Result<BTreeMap<(String, String), String>, PoolError> {
    let table = Table::read(path)?;
    let (t, c, k) = (
        table.required("tenant")?,
        table.required("clause")?,
        table.required("kind")?,
    );
    Ok(table
        .records
        .iter()
        .map(|(_, r)| {
            let cell = |i: usize| r.get(i).unwrap_or_default().to_string();
            ((cell(t), cell(c)), cell(k))
        })
        .collect())
}

/// `fidelity.csv`'s rows: tenant, metric, goal and the run's values.
fn read_fidelity_csv(
    path: &Path,
    level: f64,
    kinds: &BTreeMap<(String, String), String>,
    summary: &Path,
) -> Result<Vec<(String, String, Goal, RunValue)>, PoolError> {
    let table = Table::read(path)?;
    let tenant = table.required("tenant")?;
    let metric = table.required("metric")?;
    let predicted = table.required("predicted")?;
    let low = table.required("interval_low")?;
    let high = table.required("interval_high")?;
    let replications = table.required("replications")?;
    let measured = table.required("measured")?;
    let sd = table.column("sd");
    let mut rows = Vec::new();
    let mut seen: BTreeMap<(String, String), u64> = BTreeMap::new();
    for (line, record) in &table.records {
        let line = *line;
        let cell = |i: usize| record.get(i).unwrap_or_default().to_string();
        let (tenant, metric) = (cell(tenant), cell(metric));
        if tenant.is_empty() {
            return Err(bad(path, Some(line), Some("tenant"), "expected a tenant's name"));
        }
        if let Some(first) = seen.insert((tenant.clone(), metric.clone()), line) {
            return Err(bad(
                path,
                Some(line),
                Some("metric"),
                format!("expected one row per tenant and metric: {tenant} {metric:?} is also on line {first}"),
            ));
        }
        let number = |i: usize| table.number(line, record, i, false).map(Option::unwrap_or_default);
        let (p, lo, hi) = (number(predicted)?, number(low)?, number(high)?);
        if lo > hi {
            return Err(bad(
                path,
                Some(line),
                Some("interval_high"),
                format!("expected at least interval_low ({lo}), got {hi}"),
            ));
        }
        let r_cell = cell(replications);
        let r: u32 = r_cell.trim().parse().ok().filter(|r| *r >= 1).ok_or_else(|| {
            bad(
                path,
                Some(line),
                Some("replications"),
                format!("expected a whole number of at least 1, got {r_cell:?}"),
            )
        })?;
        let m = table.number(line, record, measured, true)?;
        let s = match sd {
            Some(i) => {
                let s = number(i)?;
                if s < 0.0 {
                    return Err(bad(
                        path,
                        Some(line),
                        Some("sd"),
                        format!("expected a standard deviation (at least 0), got {s}"),
                    ));
                }
                s
            }
            // Before the `sd` column: from the interval at the run's level.
            None if r >= 2 => {
                let t = t_quantile(f64::from(r - 1), level);
                (hi - lo) / (2.0 * t * (1.0 + 1.0 / f64::from(r)).sqrt())
            }
            None => 0.0,
        };
        let kind = match metric.strip_prefix(CLAUSE_PREFIX) {
            Some(clause) => Some(kinds.get(&(tenant.clone(), clause.to_string())).ok_or_else(|| {
                bad(
                    path,
                    Some(line),
                    Some("metric"),
                    format!("expected a clause of tenant {tenant} in {}", summary.display()),
                )
            })?),
            None => None,
        };
        let goal = Goal::of(&metric, kind.map(String::as_str));
        let value = RunValue {
            predicted: p,
            sd: s,
            replications: r,
            measured: m,
        };
        rows.push((tenant, metric, goal, value));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fidelity::compare::{self, fidelity_csv};

    #[test]
    fn what_fidelity_writes_reads_back_with_its_sd() {
        let p95 = compare::row("gold", "p95_ms", &[100.0, 102.0, 98.0, 101.0, 99.0], Some(103.0), 0.95).unwrap();
        let clause = compare::row(
            "gold",
            &format!("{CLAUSE_PREFIX}availability >= 99.9%"),
            &[1.0, 0.998, 0.999],
            None,
            0.95,
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fidelity.csv");
        std::fs::write(&path, fidelity_csv(&[p95.clone(), clause])).unwrap();
        let kinds = BTreeMap::from([(
            ("gold".to_string(), "availability >= 99.9%".to_string()),
            "availability".to_string(),
        )]);
        let rows = read_fidelity_csv(&path, 0.95, &kinds, Path::new("summary.csv")).unwrap();
        assert_eq!(rows.len(), 2);
        let (tenant, metric, goal, value) = &rows[0];
        assert_eq!(
            (tenant.as_str(), metric.as_str(), *goal),
            ("gold", "p95_ms", Goal::Relative(0.05))
        );
        // sd = √(10 / 4) = 1.58114 (6 significant digits in the file).
        assert!((value.sd - 2.5f64.sqrt()).abs() < 1e-5, "{value:?}");
        assert_eq!(
            (value.predicted, value.replications, value.measured),
            (100.0, 5, Some(103.0))
        );
        assert_eq!(rows[1].2, Goal::Absolute(0.001));
        assert_eq!(rows[1].3.measured, None);
    }
}
