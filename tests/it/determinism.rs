//! Same scenario and seed → byte-identical outputs, at any thread count.
//! `run.json`'s `timing` block measures the machine and is the one part
//! excluded; every other file of the output directory (`windows.parquet`
//! included) is compared byte for byte.

use std::fs;
use std::path::Path;

use crate::common::{output_files, repo_path, slaplan, tempdir};

fn run(out: &Path, threads: u32) {
    let status = slaplan()
        .args(["run", "--threads", &threads.to_string(), "--out"])
        .arg(out)
        .arg(repo_path("tests/fixtures/small.toml"))
        .output()
        .expect("slaplan runs");
    assert!(
        status.status.success(),
        "run failed: {}",
        String::from_utf8_lossy(&status.stderr)
    );
}

fn without_timing(run_json: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(run_json).expect("run.json is JSON");
    v.as_object_mut().expect("object").remove("timing");
    serde_json::to_string_pretty(&v).expect("serializes")
}

#[test]
fn same_seed_gives_byte_identical_outputs_at_any_thread_count() {
    let dir = tempdir();
    let (one, two, again) = (
        dir.path().join("t1"),
        dir.path().join("t2"),
        dir.path().join("t2-again"),
    );
    run(&one, 1);
    run(&two, 2);
    run(&again, 2);
    let files = output_files(&one);
    for dir in [&two, &again] {
        assert_eq!(files, output_files(dir), "different files in {}", dir.display());
    }
    for expected in [
        "summary.csv",
        "windows.csv",
        "windows.parquet",
        "run.json",
        "latency.csv",
        "budget.csv",
        "timeline.csv",
        "drivers.csv",
    ] {
        assert!(files.iter().any(|f| f == expected), "{expected} missing: {files:?}");
    }
    for file in files.iter().filter(|f| *f != "run.json") {
        let a = fs::read(one.join(file)).unwrap();
        assert!(!a.is_empty());
        assert_eq!(
            a,
            fs::read(two.join(file)).unwrap(),
            "{file} differs between 1 and 2 threads (seed 5)"
        );
        assert_eq!(
            a,
            fs::read(again.join(file)).unwrap(),
            "{file} differs between two runs (seed 5)"
        );
    }
    let a = without_timing(&fs::read_to_string(one.join("run.json")).unwrap());
    assert_eq!(
        a,
        without_timing(&fs::read_to_string(two.join("run.json")).unwrap()),
        "run.json differs (seed 5)"
    );
    // Two windows (January and February) × 3 clauses × 4 replications.
    let windows = fs::read_to_string(one.join("windows.csv")).unwrap();
    assert_eq!(windows.lines().count(), 1 + 2 * 3 * 4);
}

#[test]
fn a_different_seed_changes_the_outputs() {
    let dir = tempdir();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    run(&a, 2);
    let out = slaplan()
        .args(["run", "--seed", "6", "--out"])
        .arg(&b)
        .arg(repo_path("tests/fixtures/small.toml"))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_ne!(
        fs::read(a.join("windows.csv")).unwrap(),
        fs::read(b.join("windows.csv")).unwrap()
    );
}
