//! `slaplan judge`: clauses judged on request logs by the simulator's own
//! recorder. Hand-worked windows, the simulator's request log judged back
//! to the simulator's own bytes, and rows that cannot be read.

use std::path::Path;

use crate::common::{repo_path, slaplan, tempdir};

fn judge(scenario: &str, logs: &[&Path], out: &Path) -> std::process::Output {
    let mut cmd = slaplan();
    cmd.args([
        "judge",
        repo_path(scenario).to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    for l in logs {
        cmd.arg("--log").arg(l);
    }
    cmd.output().expect("slaplan runs")
}

/// `(value, met, eligible, succeeded)` of each row of windows.csv.
fn windows(out: &Path) -> Vec<(String, bool, u64, u64)> {
    let mut r = csv::Reader::from_path(out.join("windows.csv")).expect("windows.csv");
    r.records()
        .map(|row| {
            let row = row.expect("row");
            (
                row[5].to_string(),
                &row[6] == "true",
                row[7].parse().expect("eligible"),
                row[8].parse().expect("succeeded"),
            )
        })
        .collect()
}

/// The hand-written log (tests/fixtures/judge/hand.jsonl), worked out by
/// hand. Judged calls: 0-9 (10 is a client error, 11 another tenant's).
/// Served latencies (s): 1, 2, 3, 0.5, 1, 2, 1.5; sorted 0.5 1 1 1.5 2 2 3.
/// First tokens (s): 0.2 0.3 0.5 0.1 0.4 0.6 0.7. Failed: 3 (ends in
/// minute 0), 4 (shed, a 429, minute 1), 9 (minute 3). Tasks: 0-5 alone,
/// T1 = {6, 7} (0:02:00 to 0:02:05, served), T2 = {8, 9} (failed).
#[test]
fn hand_written_gateway_log_gives_hand_computed_windows() {
    let dir = tempdir();
    let out = dir.path().join("out");
    let log = repo_path("tests/fixtures/judge/hand.jsonl");
    let o = judge("tests/fixtures/judge/hand.toml", &[&log], &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let w = windows(&out);
    let exact = |i: usize, value: &str, met: bool, eligible: u64, succeeded: u64| {
        assert_eq!(w[i], (value.to_string(), met, eligible, succeeded), "clause {i}");
    };
    // p50 of 7 served calls: rank ⌈3.5⌉ = 4, 1.5 s; met at 1500 ms exactly.
    exact(0, "1500.000000", true, 10, 7);
    // Not met at 1499 ms; the value is 1.5 s to within the recorder's 0.1%.
    assert!(!w[1].1);
    let v: f64 = w[1].0.parse().unwrap();
    assert!((1500.0..=1501.5).contains(&v), "{v}");
    // p95: rank ⌈6.65⌉ = 7, 3 s.
    exact(2, "3000.000000", true, 10, 7);
    // ttft p90: rank ⌈6.3⌉ = 7, 0.7 s; p50: rank 4, 0.4 s > 399 ms.
    exact(3, "700.000000", true, 10, 7);
    assert!(!w[4].1);
    // Availability 7 / 10; below tier 0: call 2 of 7 served.
    exact(5, "0.700000", true, 10, 7);
    exact(6, "0.142857", true, 10, 7);
    // Uptime, no error allowed: minutes 0, 1 and 3 down (1437 / 1440 up);
    // at most 30% errors: minute 0 (1 of 4) up, 1 (1 of 2) and 3 (1 of 2) down.
    exact(7, "0.997917", true, 1440, 1437);
    exact(8, "0.998611", true, 1440, 1438);
    // Throughput: at 1 rpm every minute admits enough; at 2 rpm minute 1
    // (calls 4, shed, and 5) admits one.
    exact(9, "1.000000", true, 1440, 1440);
    exact(10, "0.999306", false, 1440, 1439);
    // Tasks: 8, of which 0, 1, 2, 5 and T1 served; p90 of 0.5 1 2 3 5 s: rank 5.
    exact(11, "0.625000", true, 8, 5);
    exact(12, "5000.000000", true, 8, 5);
    // Cost at list prices: 5 calls × (1000 × $2 + 100 × $10)/M on e0,
    // 500 × $2 + 50 × $10 on e0, 2000 × $1 + 200 × $4 on e1: $0.0193;
    // per task $0.0193 / 8.
    exact(13, "0.019300", true, 8, 5);
    exact(14, "0.002412", true, 8, 5);
    assert_eq!(w.len(), 15, "the fallback and notification clauses are not judged");
    let notes = std::fs::read_to_string(out.join("judge.json")).unwrap();
    assert!(
        notes.contains("fallback time") && notes.contains("notification time"),
        "{notes}"
    );
    assert!(
        notes.contains("\"unmatched\": 1") && notes.contains("\"client_outcome\": 1"),
        "{notes}"
    );
    // The log covers 0:00:10 to 0:04:11 of the day: minutes 0 to 4, 300 s of 86400.
    let coverage = std::fs::read_to_string(out.join("coverage.csv")).unwrap();
    assert!(
        coverage.lines().nth(1).unwrap().ends_with(",0.003472,partial"),
        "{coverage}"
    );
    for f in [
        "summary.csv",
        "windows.parquet",
        "latency.csv",
        "budget.csv",
        "drivers.csv",
        "run.json",
    ] {
        assert!(out.join(f).exists(), "{f}");
    }
}

/// The simulator's request log, judged, gives the simulator's own
/// judgement to the byte: same events through the same recorder.
#[test]
fn simulated_request_log_judged_gives_the_simulators_judgement() {
    let dir = tempdir();
    let sim = dir.path().join("sim");
    let log = dir.path().join("requests.jsonl");
    let scenario = repo_path("tests/fixtures/judge/roundtrip.toml");
    let o = slaplan()
        .args([
            "run",
            scenario.to_str().unwrap(),
            "--replications",
            "1",
            "--quiet",
            "--out",
        ])
        .arg(&sim)
        .arg("--request-log")
        .arg(&log)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let judged = dir.path().join("judged");
    let o = judge("tests/fixtures/judge/roundtrip.toml", &[&log], &judged);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("\"outcome\":\"attempts_exhausted\"") && text.contains("\"status\":429"));
    assert!(text.contains("\"tier\":1"), "some calls fell back");
    // Blame (drivers.csv) differs: a request log does not know outages.
    for f in [
        "summary.csv",
        "windows.csv",
        "windows.parquet",
        "latency.csv",
        "budget.csv",
    ] {
        let a = std::fs::read(sim.join(f)).unwrap();
        let b = std::fs::read(judged.join(f)).unwrap();
        assert!(a == b, "{f} differs");
    }
}

/// Each malformed row exits 2 naming the file, line and field, and writes
/// nothing.
#[test]
fn malformed_rows_exit_2_naming_the_row() {
    let good = std::fs::read_to_string(repo_path("tests/fixtures/judge/hand.jsonl")).unwrap();
    let first = good.lines().next().unwrap().to_string();
    let litellm = std::fs::read_to_string(repo_path("tests/fixtures/logs/litellm.jsonl")).unwrap();
    let otlp = std::fs::read_to_string(repo_path("tests/fixtures/logs/otlp.jsonl")).unwrap();
    let lit1 = litellm.lines().next().unwrap().to_string();
    let otlp1 = otlp.lines().next().unwrap().to_string();
    let cases: Vec<(String, &str)> = vec![
        (
            first.replace("\"end\":\"2026-03-01T00:00:11.000Z\"", "\"end\":\"yesterday\""),
            "field end",
        ),
        (
            first.replace(
                "\"end\":\"2026-03-01T00:00:11.000Z\"",
                "\"end\":\"2026-03-01T00:00:09.000Z\"",
            ),
            "field end",
        ),
        (
            first.replace("\"input_tokens\":1000", "\"input_tokens\":\"many\""),
            "field input_tokens",
        ),
        (first.replace("\"tier\":0", "\"tier\":-1"), "field tier"),
        (first.replace(",\"outcome\":\"success\"", ""), "field outcome"),
        (
            first.replace("\"outcome\":\"success\"", "\"outcome\":\"fine\""),
            "field outcome",
        ),
        (
            first.replace("\"endpoint\":\"e0\"", "\"endpoint\":null"),
            "field endpoint",
        ),
        (
            first.replace(
                "\"first_token\":\"2026-03-01T00:00:10.200Z\"",
                "\"first_token\":\"2026-03-01T00:00:12Z\"",
            ),
            "field first_token",
        ),
        (
            lit1.replace("\"startTime\":1767225600.25", "\"startTime\":\"soon\""),
            "field startTime",
        ),
        (
            otlp1.replace(
                "\"endTimeUnixNano\":\"1767225602100000000\"",
                "\"endTimeUnixNano\":\"later\"",
            ),
            "endTimeUnixNano",
        ),
    ];
    for (i, (bad, field)) in cases.iter().enumerate() {
        assert_ne!(bad, &first, "case {i} changed nothing");
        assert!(bad != &lit1 && bad != &otlp1, "case {i} changed nothing");
        let dir = tempdir();
        let log = dir.path().join("bad.jsonl");
        // The bad row is line 2, after a good one of the same format.
        let good_first = if bad.contains("resourceSpans") {
            &otlp1
        } else if bad.contains("startTime") {
            &lit1
        } else {
            &first
        };
        std::fs::write(&log, format!("{good_first}\n{bad}\n")).unwrap();
        let out = dir.path().join("out");
        let o = judge("tests/fixtures/judge/hand.toml", &[&log], &out);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "case {i}: {err}");
        assert!(err.contains("bad.jsonl:2:") && err.contains(field), "case {i}: {err}");
        assert!(!out.exists(), "case {i}: nothing written");
    }
}
