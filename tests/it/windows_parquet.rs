//! `windows.parquet` holds exactly the rows of `windows.csv`, typed: read
//! back with polars, every row, value and empty cell agrees, and the file is
//! byte-identical across runs and thread counts.

use std::fs;
use std::path::Path;

use polars::prelude::{DataFrame, DataType, ParquetReader, SerReader};

use crate::common::{slaplan, tempdir};

/// Three tenants over two windows (January 31 and February 1): one served
/// normally, one whose every call fails (its latency clause has no value and
/// fails), one with no calls at all (no value, holds vacuously).
const SCENARIO: &str = r#"
[simulation]
start = "2026-01-31"
duration = "2d"
seed = 11
replications = 3

[[endpoints]]
name = "good"
concurrency = 8
queue_limit = 16
attempt_timeout = "5s"
error_probability = 0.01
latency = { model = "lognormal", ttft = "300ms", per_output_token = "5ms", sigma = 0.4 }

[[endpoints]]
name = "broken"
concurrency = 2
queue_limit = 4
attempt_timeout = "5s"
error_probability = 1.0
latency = { model = "lognormal", ttft = "300ms", per_output_token = "5ms", sigma = 0.4 }

[[tenants]]
name = "served"
class = "gold"
chain = ["good"]

[[tenants.workflows]]
name = "chat"
rate = 0.5

[[tenants.clauses]]
metric = "latency"
percentile = 95
threshold = "2s"

[[tenants.clauses]]
metric = "availability"
target = 0.995

[[tenants]]
name = "failing"
class = "silver"
chain = ["broken"]
retry = { max_attempts = 1 }

[[tenants.workflows]]
name = "jobs"
rate = 0.1

[[tenants.clauses]]
metric = "latency"
percentile = 50
threshold = "1s"

[[tenants]]
name = "idle"
class = "bronze"
chain = ["good"]

[[tenants.workflows]]
name = "nothing"
rate = 0.0

[[tenants.clauses]]
metric = "availability"
target = 0.99
"#;

fn run(scenario: &Path, out: &Path, threads: u32) {
    let status = slaplan()
        .args(["run", "--threads", &threads.to_string(), "--out"])
        .arg(out)
        .arg(scenario)
        .output()
        .expect("slaplan runs");
    assert!(
        status.status.success(),
        "run failed: {}",
        String::from_utf8_lossy(&status.stderr)
    );
}

fn read_parquet(path: &Path) -> DataFrame {
    let file = fs::File::open(path).expect("windows.parquet exists");
    ParquetReader::new(file).finish().expect("windows.parquet is Parquet")
}

/// The cell of `column` in `row` as CSV would show it ("" for null).
fn as_csv_text(frame: &DataFrame, column: &str, row: usize) -> String {
    let c = frame.column(column).expect("column exists");
    match c.dtype() {
        DataType::UInt64 => c.u64().unwrap().get(row).map(|v| v.to_string()),
        DataType::String => c.str().unwrap().get(row).map(str::to_string),
        DataType::Float64 => c.f64().unwrap().get(row).map(|v| format!("{v:.6}")),
        DataType::Boolean => c.bool().unwrap().get(row).map(|v| v.to_string()),
        other => panic!("{column}: unexpected type {other}"),
    }
    .unwrap_or_default()
}

#[test]
fn windows_parquet_equals_windows_csv_row_for_row() {
    let dir = tempdir();
    let scenario = dir.path().join("three.toml");
    fs::write(&scenario, SCENARIO).unwrap();
    let (one, two) = (dir.path().join("t1"), dir.path().join("t2"));
    run(&scenario, &one, 1);
    run(&scenario, &two, 2);
    let bytes = fs::read(one.join("windows.parquet")).unwrap();
    assert_eq!(
        bytes,
        fs::read(two.join("windows.parquet")).unwrap(),
        "windows.parquet differs between 1 and 2 threads (seed 11)"
    );

    let frame = read_parquet(&one.join("windows.parquet"));
    let types: Vec<(String, DataType)> = frame
        .columns()
        .iter()
        .map(|c| (c.name().to_string(), c.dtype().clone()))
        .collect();
    let expected = [
        ("replication", DataType::UInt64),
        ("tenant", DataType::String),
        ("clause_index", DataType::UInt64),
        ("metric", DataType::String),
        ("window", DataType::String),
        ("value", DataType::Float64),
        ("met", DataType::Boolean),
        ("eligible_calls", DataType::UInt64),
        ("succeeded_calls", DataType::UInt64),
        ("budget_consumed", DataType::Float64),
        ("clause", DataType::String),
    ];
    let expected: Vec<(String, DataType)> = expected.iter().map(|(n, t)| (n.to_string(), t.clone())).collect();
    assert_eq!(types, expected);

    let mut csv = csv::Reader::from_path(one.join("windows.csv")).unwrap();
    let header: Vec<String> = csv.headers().unwrap().iter().map(str::to_string).collect();
    let names: Vec<String> = expected.iter().map(|(n, _)| n.clone()).collect();
    assert_eq!(header, names, "same columns in the same order");
    let records: Vec<csv::StringRecord> = csv.records().map(|r| r.unwrap()).collect();
    // 3 replications × 4 clauses × 2 windows.
    assert_eq!(records.len(), 3 * 4 * 2);
    assert_eq!(frame.height(), records.len());
    for (row, record) in records.iter().enumerate() {
        for (column, cell) in names.iter().zip(record.iter()) {
            assert_eq!(
                as_csv_text(&frame, column, row),
                cell,
                "row {row}, column {column} (seed 11)"
            );
        }
    }

    // Empty CSV cells are nulls, for both reasons a window has no value.
    let value = frame.column("value").unwrap().f64().unwrap();
    let tenant = frame.column("tenant").unwrap().str().unwrap();
    let met = frame.column("met").unwrap().bool().unwrap();
    for row in 0..frame.height() {
        let (t, v, m) = (tenant.get(row), value.get(row), met.get(row));
        match t {
            Some("served") => assert!(v.is_some(), "row {row}"),
            Some("failing") => assert_eq!((v, m), (None, Some(false)), "row {row}: all calls failed"),
            Some("idle") => assert_eq!((v, m), (None, Some(true)), "row {row}: no call, holds vacuously"),
            other => panic!("unexpected tenant {other:?}"),
        }
    }
}
