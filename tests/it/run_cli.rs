//! `slaplan run` end to end: the table, the files, and bad input that leaves
//! no output behind.

use std::fs;

use crate::common::{repo_path, slaplan, tempdir};

#[test]
fn run_prints_the_table_and_writes_the_outputs() {
    let dir = tempdir();
    let out_dir = dir.path().join("out");
    let out = slaplan()
        .args(["run", "--out"])
        .arg(&out_dir)
        .arg(repo_path("tests/fixtures/small.toml"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "gold-co",
        "bronze-co",
        // Each clause as the grammar writes it.
        "p95 call latency <= 5s",
        "availability >= 99.5%",
        "availability >= 99%",
        "verdict",
    ] {
        assert!(stdout.contains(needle), "table lacks {needle:?}:\n{stdout}");
    }
    let summary = fs::read_to_string(out_dir.join("summary.csv")).unwrap();
    assert_eq!(summary.lines().count(), 1 + 3, "{summary}");
    assert!(
        summary
            .starts_with("tenant,workflow,clause,metric,unit,threshold,windows,met,probability,ci_low,ci_high,verdict")
    );
    let meta: serde_json::Value = serde_json::from_str(&fs::read_to_string(out_dir.join("run.json")).unwrap()).unwrap();
    assert_eq!(meta["seed"], 5);
    assert_eq!(meta["replications"], 4);
    // Every counter is summed over replications (single-call tasks: one call each).
    let totals = &meta["totals"];
    assert!(totals["calls"].as_u64().unwrap() > 0);
    assert_eq!(totals["tasks"], totals["calls"]);
    assert_eq!(meta["scenario_sha256"].as_str().map(str::len), Some(64));
    assert!(meta["timing"]["wall_seconds"].as_f64().unwrap() > 0.0);
    // No temporary directory is left beside the output.
    let leftovers: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, vec![std::ffi::OsString::from("out")]);
}

#[test]
fn a_bad_scenario_exits_2_and_writes_nothing() {
    let dir = tempdir();
    let bad = dir.path().join("bad.toml");
    let text = fs::read_to_string(repo_path("tests/fixtures/small.toml"))
        .unwrap()
        .replace("rate = 2.0", "rate = -2.0");
    fs::write(&bad, text).unwrap();
    let out_dir = dir.path().join("out");
    let out = slaplan()
        .args(["run", "--out"])
        .arg(&out_dir)
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("tenants[0].workflows[0].rate"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!out_dir.exists(), "a failed run must not create its output directory");
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "only bad.toml remains");
}

#[test]
fn bad_flags_exit_2_with_a_message() {
    for args in [
        vec!["run", "--replications", "0", "x.toml"],
        vec!["run", "--confidence", "1.5", "x.toml"],
        vec!["frobnicate"],
    ] {
        let out = slaplan().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!String::from_utf8_lossy(&out.stderr).is_empty());
    }
}

#[test]
fn a_missing_scenario_exits_2_naming_the_file() {
    let out = slaplan().args(["run", "no/such/scenario.toml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no/such/scenario.toml") && stderr.contains("cannot read"),
        "{stderr}"
    );
}

#[test]
fn an_audit_sample_is_written_as_json_lines_and_is_reproducible() {
    let dir = tempdir();
    let mut files = Vec::new();
    for (name, threads) in [("a", "1"), ("b", "2")] {
        let out_dir = dir.path().join(name);
        let out = slaplan()
            .args(["run", "--audit-sample", "40", "--threads", threads, "--out"])
            .arg(&out_dir)
            .arg(repo_path("tests/fixtures/small.toml"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        files.push(fs::read_to_string(out_dir.join("audit.jsonl")).unwrap());
    }
    assert_eq!(files[0], files[1], "the audit sample does not depend on threads");
    let lines: Vec<_> = files[0].lines().collect();
    // The fixture's hang and down outages force fallbacks: the sample fills up.
    assert_eq!(lines.len(), 40);
    for line in lines {
        let v: serde_json::Value = serde_json::from_str(line).expect("one JSON object per line");
        assert!(
            v["event"].is_string() && v["time"].is_string() && v["at"].is_u64(),
            "{line}"
        );
    }
}

#[test]
fn every_bad_fixture_makes_run_exit_2_without_output() {
    let dir = tempdir();
    let bad = fs::read_dir(repo_path("tests/fixtures/bad")).unwrap();
    let mut n = 0;
    for entry in bad {
        let path = entry.unwrap().path();
        let out_dir = dir.path().join("out");
        let out = slaplan()
            .args(["run", "--out"])
            .arg(&out_dir)
            .arg(&path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {stderr}", path.display());
        assert!(
            stderr.contains(&*path.to_string_lossy()),
            "the message names the file: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(!out_dir.exists(), "{}: a failed run must write nothing", path.display());
        n += 1;
    }
    assert!(n >= 9, "the bad-input fixtures are all there ({n})");
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no temporary directory is left behind"
    );
}
