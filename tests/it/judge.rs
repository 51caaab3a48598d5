//! `slaplan judge`: clauses judged on request logs by the simulator's own
//! recorder. Hand-worked windows, the simulator's request log judged back
//! to the simulator's own bytes, and rows that cannot be read.

use std::path::Path;

use crate::common::{repo_path, slaplan, tempdir};

fn judge(scenario: &str, logs: &[&Path], out: &Path) -> std::process::Output {
    judge_with_audit(scenario, logs, &[], out)
}

fn judge_with_audit(scenario: &str, logs: &[&Path], audit: &[&Path], out: &Path) -> std::process::Output {
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
    for l in audit {
        cmd.arg("--audit-log").arg(l);
    }
    cmd.output().expect("slaplan runs")
}

/// `(kind, eligible, succeeded)` of each row of summary.csv.
fn summary(out: &Path) -> Vec<(String, u64, u64)> {
    let mut r = csv::Reader::from_path(out.join("summary.csv")).expect("summary.csv");
    let headers = r.headers().expect("header").clone();
    let col = |name: &str| headers.iter().position(|h| h == name).expect(name);
    let (kind, eligible, succeeded) = (col("kind"), col("eligible_calls"), col("succeeded_calls"));
    r.records()
        .map(|row| {
            let row = row.expect("row");
            (
                row[kind].to_string(),
                row[eligible].parse().expect("eligible"),
                row[succeeded].parse().expect("succeeded"),
            )
        })
        .collect()
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
///
/// Fallbacks (the request log's `fallback`): call 2 failed on e0 at
/// 30.400 s and went to e1 at 30.550 s (150 ms); call 3 failed on e0 and
/// never left, then failed (a fallback that never happened); call 9 left
/// e0 300 ms after failing there; call 5 failed on e0 and was served there
/// (no fallback event). So 3 events: 150 ms, 300 ms, never.
///
/// Notices (hand-audit.jsonl, written by a gateway whose instant zero was
/// an hour before the period: `at` is an hour ahead, `time` is UTC):
/// degraded to 1 (failure at 0:00:30.400) and told at 0:00:31.250: 850 ms;
/// degraded to 1 (failure at 0:03:02.500) and promoted back before any
/// notice: never; degraded to 2 (failure at 0:05:00) and told at 0:05:20:
/// 20 s; promoted to 1 with no notice (the tenant still knows tier 2),
/// then degraded to 2 again (failure at 0:06:30, event at 0:06:31): told
/// already, 1 s. Another tenant's degradation and a breaker event count for
/// nothing. So 4 events: 850 ms, 1 s, 20 s, never.
#[test]
fn hand_written_gateway_log_gives_hand_computed_windows() {
    let dir = tempdir();
    let out = dir.path().join("out");
    let log = repo_path("tests/fixtures/judge/hand.jsonl");
    let audit = repo_path("tests/fixtures/judge/hand-audit.jsonl");
    let o = judge_with_audit("tests/fixtures/judge/hand.toml", &[&log], &[&audit], &out);
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
    // Fallbacks: p99 of 3 events is rank 3, the one that never happened:
    // no value, not met; p50 is rank 2, 300 ms, met at 300 ms.
    exact(15, "", false, 3, 2);
    exact(17, "300.000000", true, 3, 2);
    // Notices: every one (rank 4) includes the one never sent; p50 (rank
    // 2) is 1 s, met at 1 s; p75 (rank 3) is 20 s.
    exact(16, "", false, 4, 3);
    exact(18, "1000.000000", true, 4, 3);
    exact(19, "20000.000000", true, 4, 3);
    assert_eq!(w.len(), 20, "every clause is judged");
    let notes = std::fs::read_to_string(out.join("judge.json")).unwrap();
    assert!(notes.contains("\"skipped\": []"), "{notes}");
    assert!(
        notes.contains("\"unmatched\": 1") && notes.contains("\"client_outcome\": 1"),
        "{notes}"
    );
    assert!(
        notes.contains("\"audit_events\": 12") && notes.contains("\"audit_unmatched\": 1"),
        "{notes}"
    );
    // run.json records what was asked and a real timing.
    let run: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(run["required_confidence"], 0.95, "{run}");
    assert!(run["timing"]["wall_seconds"].as_f64().unwrap() > 0.0, "{run}");
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
    // Without the audit log the notification clauses are left out, and
    // said so; the others keep their windows.
    let bare = dir.path().join("bare");
    let o = judge("tests/fixtures/judge/hand.toml", &[&log], &bare);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let notes = std::fs::read_to_string(bare.join("judge.json")).unwrap();
    assert!(
        notes.contains("notification time") && notes.contains("--audit-log"),
        "{notes}"
    );
    let b = windows(&bare);
    assert_eq!(b.len(), 17);
    assert_eq!(b[16], w[17], "the p50 fallback clause, now 17th");
    assert_eq!(&b[..16], &w[..16]);
}

/// A call the client cancelled is censored, not dropped: its latency is at
/// least its wait. The hand-written log plus two cancelled calls: one
/// after waiting 5 s (no first token), one after 0.2 s. Latency clauses
/// whose threshold the 5 s wait passed count it as a breach ranked above
/// every served call; the 0.2 s wait passes no threshold and is no
/// evidence; every other clause leaves both out. Dropping the 5 s call
/// (the old rule) kept p95 ≤ 3 s met while a call of the window took over
/// 5 s.
#[test]
fn a_call_the_client_cancelled_after_a_threshold_counts_against_latency_clauses() {
    let dir = tempdir();
    let base = dir.path().join("base");
    let log = repo_path("tests/fixtures/judge/hand.jsonl");
    let o = judge("tests/fixtures/judge/hand.toml", &[&log], &base);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let cancelled = |call: u32, arrival: &str, end: &str| {
        format!(
            "{{\"call\":{call},\"tenant\":\"t\",\"workflow\":\"w\",\"task\":null,\"session\":null,\"arrival\":\"2026-03-01T00:{arrival}Z\",\"first_token\":null,\"end\":\"2026-03-01T00:{end}Z\",\"input_tokens\":1000,\"output_tokens\":0,\"usage\":false,\"endpoint\":\"e0\",\"tier\":null,\"attempts\":1,\"outcome\":\"cancelled\",\"status\":499,\"fallback\":null}}\n"
        )
    };
    let mut text = std::fs::read_to_string(&log).unwrap();
    text.push_str(&cancelled(12, "04:20.000", "04:25.000"));
    text.push_str(&cancelled(13, "04:30.000", "04:30.200"));
    let with = dir.path().join("with-cancelled.jsonl");
    std::fs::write(&with, text).unwrap();
    let out = dir.path().join("out");
    let o = judge("tests/fixtures/judge/hand.toml", &[&with], &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (b, w) = (windows(&base), windows(&out));
    let row = |value: &str, met: bool, eligible: u64, succeeded: u64| (value.to_string(), met, eligible, succeeded);
    // p50 ≤ 1500 ms: 7 served and the 5 s call ranked above them: rank
    // ⌈0.5 × 8⌉ = 4 is still 1.5 s, met.
    assert_eq!(w[0], row("1500.000000", true, 11, 7));
    // p95 ≤ 3000 ms: rank ⌈0.95 × 8⌉ = 8 is the cancelled call, over 3 s:
    // no value, not met (met at 3 s without it).
    assert_eq!(b[2], row("3000.000000", true, 10, 7));
    assert_eq!(w[2], row("", false, 11, 7));
    // ttft p90 ≤ 700 ms: no first token in 5 s, rank ⌈0.9 × 8⌉ = 8: not met.
    assert_eq!(w[3], row("", false, 11, 7));
    // Availability, tier floor, uptime, throughput, tasks, cost, fallbacks:
    // unchanged (the client's doing).
    assert_eq!(&w[5..], &b[5..]);
    let notes = std::fs::read_to_string(out.join("judge.json")).unwrap();
    assert!(notes.contains("\"client_outcome\": 3"), "{notes}");
}

/// The simulator's request log and audit log, judged, give the
/// simulator's own judgement to the byte, on every clause kind: the same
/// events through the same observers.
#[test]
fn simulated_request_log_judged_gives_the_simulators_judgement() {
    let dir = tempdir();
    let sim = dir.path().join("sim");
    let log = dir.path().join("requests.jsonl");
    let audit = dir.path().join("audit.jsonl");
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
        .arg("--audit-log")
        .arg(&audit)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let judged = dir.path().join("judged");
    let o = judge_with_audit("tests/fixtures/judge/roundtrip.toml", &[&log], &[&audit], &judged);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("\"outcome\":\"attempts_exhausted\"") && text.contains("\"status\":429"));
    assert!(text.contains("\"tier\":1"), "some calls fell back");
    // The cost clauses agree only if no attempt was billed in part (see
    // the fixture).
    let run: serde_json::Value = serde_json::from_slice(&std::fs::read(sim.join("run.json")).unwrap()).unwrap();
    assert_eq!(run["totals"]["billed_unfinished_attempts"], 0);
    // Every clause kind is judged, on events that happened.
    let kinds = summary(&judged);
    for kind in [
        "latency",
        "ttft",
        "availability",
        "degradation",
        "uptime",
        "throughput",
        "fallback_time",
        "notification",
        "cost",
        "eval_pass_rate",
        "mean_quality",
    ] {
        assert!(
            kinds.iter().any(|(k, eligible, _)| k == kind && *eligible > 0),
            "{kind}: {kinds:?}"
        );
    }
    let fallbacks = kinds.iter().find(|k| k.0 == "fallback_time").unwrap();
    assert!(fallbacks.2 > 0, "some fallbacks ended: {fallbacks:?}");
    // Blame (drivers.csv) differs: a log does not know outages.
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
    // Without the audit log the notification clause is left out, said so.
    let no_audit = dir.path().join("no-audit");
    let o = judge("tests/fixtures/judge/roundtrip.toml", &[&log], &no_audit);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--audit-log"));
    assert!(!summary(&no_audit).iter().any(|k| k.0 == "notification"));
    // The quality audits do not move when a clause before them is left
    // out: their streams are named by the clause's place in the scenario.
    let quality = |rows: Vec<(String, u64, u64)>| -> Vec<(String, u64, u64)> {
        rows.into_iter()
            .filter(|k| k.0 == "eval_pass_rate" || k.0 == "mean_quality")
            .collect()
    };
    assert_eq!(quality(summary(&no_audit)), quality(summary(&sim)));
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
            first.replace(
                ",\"status\":200,\"fallback\":null}",
                ",\"status\":200,\"fallback\":{\"from\":\"e0\",\"failed\":\"2026-03-01T00:00:09Z\",\"to\":null,\"left\":null}}",
            ),
            "field fallback.failed",
        ),
        (
            first.replace(
                ",\"status\":200,\"fallback\":null}",
                ",\"status\":200,\"fallback\":{\"from\":\"e0\",\"failed\":\"2026-03-01T00:00:10.5Z\",\"to\":null,\"left\":\"2026-03-01T00:00:10.7Z\"}}",
            ),
            "field fallback.to",
        ),
        (
            first.replace(",\"status\":200,\"fallback\":null}", ",\"status\":200,\"fallback\":\"e1\"}"),
            "field fallback",
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

/// Each malformed audit-log row exits 2 naming the file, line and field,
/// and writes nothing.
#[test]
fn malformed_audit_rows_exit_2_naming_the_row() {
    let audit = std::fs::read_to_string(repo_path("tests/fixtures/judge/hand-audit.jsonl")).unwrap();
    let first = audit.lines().next().unwrap().to_string();
    let log = repo_path("tests/fixtures/judge/hand.jsonl");
    let cases = [
        (
            first.replace("\"time\":\"2026-03-01T00:00:31.000000000Z\"", "\"time\":\"soon\""),
            "field time",
        ),
        (
            first.replace("\"since\":3630400000000", "\"since\":3631000000001"),
            "field since",
        ),
        (first.replace("\"to\":1", "\"to\":\"up\""), "field event"),
        (first.replace(",\"to\":1", ""), "field to"),
        (first.replace("\"tenant\":\"t\"", "\"tenant\":[1]"), "field tenant"),
        ("[1, 2]".to_string(), "field row"),
    ];
    for (i, (bad, field)) in cases.iter().enumerate() {
        assert_ne!(bad, &first, "case {i} changed nothing");
        let dir = tempdir();
        let path = dir.path().join("bad-audit.jsonl");
        std::fs::write(&path, format!("{first}\n{bad}\n")).unwrap();
        let out = dir.path().join("out");
        let o = judge_with_audit("tests/fixtures/judge/hand.toml", &[&log], &[&path], &out);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "case {i}: {err}");
        assert!(
            err.contains("bad-audit.jsonl:2:") && err.contains(field),
            "case {i}: {err}"
        );
        assert!(!out.exists(), "case {i}: nothing written");
    }
}

/// A request log whose rows do not say whether their calls fell back (the
/// client side of `slaplan load`, or a log from before the field existed)
/// cannot judge a fallback-time clause: it would pass without evidence.
/// `judge` refuses, naming the rows and the clause, and writes nothing.
#[test]
fn a_log_that_does_not_record_fallbacks_cannot_pass_a_fallback_clause() {
    let dir = tempdir();
    let text = std::fs::read_to_string(repo_path("tests/fixtures/judge/hand.jsonl")).unwrap();
    // The same calls with the field taken out of the 8 lines that had no
    // fallback: they no longer say whether one happened (6 of them are
    // judged; the other two are a client error and a row of a tenant the
    // scenario does not have).
    let stripped = text.replace(",\"fallback\":null", "");
    assert_eq!(text.lines().count(), stripped.lines().count());
    let log = dir.path().join("client.jsonl");
    std::fs::write(&log, stripped).unwrap();
    let out = dir.path().join("out");
    let audit = repo_path("tests/fixtures/judge/hand-audit.jsonl");
    let o = judge_with_audit("tests/fixtures/judge/hand.toml", &[&log], &[&audit], &out);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("6 row(s) of the request log(s) have no `fallback` field"),
        "{stderr}"
    );
    assert!(stderr.contains("fallback time"), "{stderr}");
    assert!(!out.exists(), "nothing written");
    // With the field present on every line (null where no fallback), the
    // same calls are judged.
    let o = judge_with_audit(
        "tests/fixtures/judge/hand.toml",
        &[&repo_path("tests/fixtures/judge/hand.jsonl")],
        &[&audit],
        &out,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Quality clauses on the hand-written log: of the 10 judged calls, 6
/// were served by e0 (quality 0.9), 1 by e1 (0.6) and 3 never were
/// (quality 0): the mean is (6 × 0.9 + 0.6) / 10 = 0.6, and an audit of
/// 100 samples evaluates all 10, at most the 7 served passing. A served
/// row naming no endpoint of the scenario leaves its answer's quality
/// unknown: `judge` refuses (exit 2), naming the rows and the clauses.
#[test]
fn quality_clauses_on_a_hand_written_log_and_rows_of_unknown_quality() {
    let dir = tempdir();
    let toml = std::fs::read_to_string(repo_path("tests/fixtures/judge/hand.toml"))
        .unwrap()
        .replace("name = \"e0\"\n", "name = \"e0\"\nquality = 0.9\n")
        .replace("name = \"e1\"\n", "name = \"e1\"\nquality = 0.6\n")
        + "\n[[tenants.clauses]]\nmetric = \"mean_quality\"\ntarget = 0.55\nwindow = \"day\"\n\
           \n[[tenants.clauses]]\nmetric = \"eval_pass_rate\"\ntarget = 0.5\nsamples = 100\nwindow = \"day\"\n";
    let scenario = dir.path().join("hand-quality.toml");
    std::fs::write(&scenario, toml).unwrap();
    let audit = repo_path("tests/fixtures/judge/hand-audit.jsonl");
    let log = repo_path("tests/fixtures/judge/hand.jsonl");
    let out = dir.path().join("out");
    let o = judge_with_audit(scenario.to_str().unwrap(), &[&log], &[&audit], &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let w = windows(&out);
    let (value, met, eligible, succeeded) = &w[20];
    assert!((value.parse::<f64>().unwrap() - 0.6).abs() < 1e-12, "{value}");
    assert_eq!((*met, *eligible, *succeeded), (true, 10, 7));
    let (value, _, eligible, succeeded) = &w[21];
    assert_eq!(*eligible, 10, "fewer calls than samples: all of them");
    assert!(*succeeded <= 7);
    assert_eq!(value.parse::<f64>().unwrap(), *succeeded as f64 / 10.0);

    let text = std::fs::read_to_string(&log).unwrap();
    let renamed = text.replacen("\"endpoint\":\"e0\"", "\"endpoint\":\"gpt-x\"", 1);
    assert_ne!(text, renamed);
    let unknown = dir.path().join("unknown.jsonl");
    std::fs::write(&unknown, renamed).unwrap();
    let refused = dir.path().join("refused");
    let o = judge_with_audit(scenario.to_str().unwrap(), &[&unknown], &[&audit], &refused);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("1 served row(s) name no endpoint of the scenario"),
        "{stderr}"
    );
    assert!(
        stderr.contains("t mean quality >= 0.55 per day, t eval pass rate >= 50% with 100 samples per day"),
        "{stderr}"
    );
    assert!(!refused.exists(), "nothing written");
}

/// 80 days of one call a day, the call of day d (from 0) taking
/// (d + 1) × 10 ms: each day's p95 is that call's latency.
const EIGHTY_DAYS: &str = r#"
[simulation]
start = "2026-03-01"
duration = "80d"
seed = 1
replications = 1

[[endpoints]]
name = "e0"
concurrency = 4
latency = { model = "lognormal", ttft = "300ms", sigma = 0.4 }

[[tenants]]
name = "t"
class = "gold"
chain = ["e0"]

[[tenants.workflows]]
name = "w"
rate = 0.1

[[tenants.clauses]]
metric = "latency"
percentile = 95
threshold = "1s"
window = "day"

[[tenants.clauses]]
metric = "latency"
percentile = 95
threshold = "1s"
"#;

#[test]
fn judge_reports_the_internal_objective_its_windows_prove() {
    let dir = tempdir();
    let scenario = dir.path().join("eighty.toml");
    std::fs::write(&scenario, EIGHTY_DAYS).unwrap();
    let start = chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
    let log: String = (0..80u32)
        .map(|d| {
            let day = start + chrono::Days::new(u64::from(d));
            let ms = (d + 1) * 10;
            format!(
                "{{\"call\":{d},\"tenant\":\"t\",\"workflow\":\"w\",\"task\":null,\"session\":null,\
                 \"arrival\":\"{day}T00:00:10.000Z\",\"first_token\":null,\
                 \"end\":\"{day}T00:00:{:02}.{:03}Z\",\"input_tokens\":10,\"output_tokens\":10,\"usage\":true,\
                 \"endpoint\":\"e0\",\"tier\":0,\"attempts\":1,\"outcome\":\"success\",\"status\":200,\
                 \"fallback\":null}}\n",
                10 + ms / 1000,
                ms % 1000
            )
        })
        .collect();
    let path = dir.path().join("log.jsonl");
    std::fs::write(&path, log).unwrap();
    let out = dir.path().join("out");
    let o = slaplan()
        .args([
            "judge",
            scenario.to_str().unwrap(),
            "--log",
            path.to_str().unwrap(),
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Daily: all 80 days held. Clopper-Pearson 95%: 80/80 has lower bound
    // 0.025^(1/80) = 0.9549 >= 0.95, while 79/80 falls short
    // (P(X >= 79 | p = 0.95) = 0.95^80 + 80 × 0.95^79 × 0.05 = 0.086 > 0.025),
    // so a level is proven only if every day held: the largest daily p95,
    // 800 ms, 200 ms inside the contract.
    let mut r = csv::Reader::from_path(out.join("summary.csv")).unwrap();
    let headers = r.headers().unwrap().clone();
    let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
    let col = |row: &csv::StringRecord, name: &str| row[headers.iter().position(|h| h == name).unwrap()].to_string();
    assert_eq!(col(&rows[0], "verdict"), "enforceable");
    assert_eq!(col(&rows[0], "internal_objective"), "800");
    assert_eq!(col(&rows[0], "internal_buffer"), "200");
    // Monthly: three windows (March, April, part of May) prove nothing.
    assert_eq!(col(&rows[1], "verdict"), "at_risk");
    assert_eq!(col(&rows[1], "internal_objective"), "");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("Internal objectives"), "{stdout}");
    assert!(
        stdout.contains("internal p95 call latency <= 800ms per day"),
        "{stdout}"
    );
    assert!(stdout.contains("too few windows"), "{stdout}");
}

/// A LiteLLM spend log writes one row per attempt, a call's retries and
/// fallbacks sharing its `trace_id`. A clause judges calls: the attempts
/// are one call, from its first attempt's start to its last attempt's
/// end (a latency clause counts "retries and fallbacks included"), served
/// when an attempt was. Judged as separate calls, a call served by its
/// retry would count at the retry's own latency (and its failed attempt
/// as a failed call).
///
/// Worked by hand: call a fails after 30 s and is retried, served 2 s
/// later (30.1 s to 32.1 s): one call of 32.1 s. Call b is served in 1 s.
/// Call c fails twice: one failed call. So p99 of the 2 served calls
/// (rank 2) is 32.1 s, over 10 s; availability 2 / 3.
#[test]
fn a_calls_attempts_in_a_litellm_log_are_judged_as_one_call() {
    let dir = tempdir();
    let scenario = dir.path().join("s.toml");
    std::fs::write(
        &scenario,
        r#"
[simulation]
start = "2026-01-01"
duration = "1d"
seed = 1

[[endpoints]]
name = "gpt-4o@azure"
provider = "azure"
concurrency = 4
latency = { model = "exponential", mean = "1s" }

[[tenants]]
name = "insurer"
class = "gold"
chain = ["gpt-4o@azure"]

[[tenants.workflows]]
name = "claims"
rate = 0.1

[[tenants.clauses]]
metric = "latency"
percentile = 99
threshold = "10s"
window = "day"

[[tenants.clauses]]
metric = "availability"
target = 0.5
window = "day"
"#,
    )
    .unwrap();
    let t0 = 1_767_225_600.0;
    let row = |trace: &str, start: f64, end: f64, ok: bool| {
        serde_json::json!({
            "trace_id": trace,
            "status": if ok { "success" } else { "failure" },
            "custom_llm_provider": "azure",
            "model_group": "gpt-4o",
            "model": "azure/gpt-4o",
            "prompt_tokens": 100,
            "completion_tokens": if ok { 10 } else { 0 },
            "startTime": t0 + start,
            "endTime": t0 + end,
            "error_information": if ok { serde_json::Value::Null } else { serde_json::json!({"error_code": "500", "error_class": "InternalServerError"}) },
            "metadata": { "user_api_key_team_alias": "insurer", "spend_logs_metadata": { "workflow": "claims" } },
        })
        .to_string()
    };
    let rows = [
        row("a", 10.0, 40.0, false),
        row("b", 20.0, 21.0, true),
        row("a", 40.1, 42.1, true),
        row("c", 200.0, 201.0, false),
        row("c", 201.5, 202.0, false),
    ];
    let log = dir.path().join("spend.jsonl");
    std::fs::write(&log, rows.join("\n") + "\n").unwrap();
    let out = dir.path().join("out");
    let o = judge(scenario.to_str().unwrap(), &[&log], &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let w = windows(&out);
    assert_eq!(w[0], ("32100.000000".to_string(), false, 3, 2), "latency");
    assert_eq!(w[1], ("0.666667".to_string(), true, 3, 2), "availability");
    let notes = std::fs::read_to_string(out.join("judge.json")).unwrap();
    assert!(notes.contains("\"attempts_merged\": 2"), "{notes}");
    assert!(notes.contains("\"judged\": 3"), "{notes}");
}
