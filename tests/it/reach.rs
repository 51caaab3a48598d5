//! Before simulating, commands work out whether their replications can prove
//! the required confidence at all (issue 19): `frontier --capacity` refuses a
//! search that cannot succeed, `check` and `frontier` default to enough
//! replications, `run` warns.
//!
//! Hand-computed bounds used below (two-sided 95% Clopper-Pearson, every
//! window held: lower bound (0.025)^(1/n) = e^(ln 0.025 / n), ln 0.025 = -3.688879):
//! n = 4: e^-0.922220 = 0.398; n = 8: e^-0.461110 = 0.631;
//! n = 20: e^-0.184444 = 0.832. Proving 0.95 takes n >= 3.688879 / 0.051293
//! = 71.9, so 72 windows; with one breached window, 110 (see `plan::reach`).

use std::fs;

use crate::common::{repo_path, slaplan, tempdir};

#[test]
fn the_readme_capacity_search_exits_2_at_once_when_its_replications_cannot_prove_anything() {
    let dir = tempdir();
    let out_dir = dir.path().join("frontier");
    let out = slaplan()
        .args([
            "frontier",
            "--capacity",
            "sonnet@anthropic/eu",
            "--replications",
            "4",
            "--out",
        ])
        .arg(&out_dir)
        .arg(repo_path("scenarios/quickstart.toml"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    for needle in [
        "the capacity search cannot succeed: 4 replication(s) cannot prove 0.95 confidence for 8 of 8 clause(s)",
        // Seven monthly clauses: 4 windows.
        "4 window(s) judged: holding in every one gives at best [0.398, 1]",
        // The insurer's weekly uptime: 5 ISO weeks touch January, 20 windows.
        "20 window(s) judged: holding in every one gives at best [0.832, 1] (insurer uptime",
        "every clause needs at least 72 windows: run --replications 72 or more (110 leave room for 1 breached window)",
    ] {
        assert!(stderr.contains(needle), "missing {needle:?} in:\n{stderr}");
    }
    // Nothing was simulated or written.
    assert!(!stdout.contains("probe"), "{stdout}");
    assert!(!out_dir.exists());
}

#[test]
fn the_capacity_search_by_default_runs_enough_replications_and_says_why_probes_fail() {
    let dir = tempdir();
    let out = slaplan()
        .args(["frontier", "--capacity", "pool", "--out"])
        .arg(dir.path())
        .arg(repo_path("tests/fixtures/capacity.toml"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // One (partial) month per replication: 110 windows prove 0.95 even with
    // one breached window; the scenario's 20 could prove at most 0.832.
    assert!(
        stderr.contains("note: running 110 replications, the fewest that can prove 0.95 confidence"),
        "{stderr}"
    );
    assert!(!stderr.contains("warning"), "{stderr}");
    // Load 3 on c <= 3 slots: the queue grows without bound (closed form),
    // so those probes fail on the metric in every window.
    for c in [2, 3] {
        let line = format!(
            "probe concurrency {c}: 0/1 clause(s) enforceable -> fails (110 replication(s))\n  short on the metric: acme p95 call latency <= 5s (breached in 110 of 110 windows"
        );
        assert!(stdout.contains(&line), "missing {line:?} in:\n{stdout}");
    }
    let answer: u32 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("smallest concurrency of pool making every clause enforceable: "))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no capacity found:\n{stdout}"));
    assert!(answer >= 4, "{stdout}");
    assert!(
        stdout.contains(&format!(
            "probe concurrency {}: 0/1 clause(s) enforceable -> fails (110 replication(s))",
            answer - 1
        )),
        "{stdout}"
    );
    let csv = fs::read_to_string(dir.path().join("capacity.csv")).unwrap();
    assert!(
        csv.starts_with(
            "concurrency,all_enforceable,enforceable,clauses,weakest_clause,short_on_metric,short_on_statistics,replications\n"
        ),
        "{csv}"
    );
    let row2 = csv.lines().find(|l| l.starts_with("2,false")).unwrap();
    assert!(
        row2.contains("acme p95 call latency <= 5s (breached in 110 of 110 windows"),
        "{csv}"
    );
    let passing = csv.lines().find(|l| l.starts_with(&format!("{answer},true"))).unwrap();
    assert!(
        passing.ends_with(",,,110"),
        "a passing probe is short on nothing: {passing}"
    );
}

#[test]
fn run_warns_at_once_and_keeps_the_scenarios_replications() {
    let dir = tempdir();
    let out_dir = dir.path().join("out");
    let out = slaplan()
        .args(["run", "--out"])
        .arg(&out_dir)
        .arg(repo_path("tests/fixtures/shared_endpoint.toml"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    for needle in [
        "warning: 8 replication(s) cannot prove 0.95 confidence for 2 of 2 clause(s)",
        "8 window(s) judged: holding in every one gives at best [0.631, 1]",
        "run --replications 72 or more",
    ] {
        assert!(stderr.contains(needle), "missing {needle:?} in:\n{stderr}");
    }
    let meta: serde_json::Value = serde_json::from_str(&fs::read_to_string(out_dir.join("run.json")).unwrap()).unwrap();
    assert_eq!(meta["replications"], 8);
    // At 72 replications every clause can be proven: no warning.
    let out = slaplan()
        .args(["run", "--replications", "72", "--out"])
        .arg(&out_dir)
        .arg(repo_path("tests/fixtures/shared_endpoint.toml"))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("warning"));
}

#[test]
fn check_and_frontier_default_to_replications_that_can_prove_the_clause() {
    let dir = tempdir();
    let scenario = repo_path("tests/fixtures/shared_endpoint.toml");
    let out = slaplan()
        .args([
            "check",
            "--tenant",
            "bronze-co",
            "--clause",
            "p99 latency <= 10s",
            "--out",
        ])
        .arg(dir.path().join("check"))
        .arg(&scenario)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("note: running 110 replications"), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("; 110 replication(s), seed 11"));

    // A daily clause over a three-day period: 3 windows per replication,
    // so ceil(110 / 3) = 37 replications, 111 windows.
    let out = slaplan()
        .args([
            "frontier",
            "--tenant",
            "acme",
            "--clause",
            "availability >= 99% per day",
            "--out",
        ])
        .arg(dir.path().join("frontier"))
        .arg(repo_path("tests/fixtures/three_days.toml"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("note: running 37 replications"), "{stderr}");
    let csv = fs::read_to_string(dir.path().join("frontier/frontier.csv")).unwrap();
    let windows: Vec<&str> = csv.lines().skip(1).map(|l| l.split(',').nth(2).unwrap()).collect();
    assert!(!windows.is_empty() && windows.iter().all(|w| *w == "111"), "{csv}");
    // The scenario's own monthly clause is judged over 2 months per
    // replication when `check` adds a daily one: ceil(110 / 2) = 55.
    let out = slaplan()
        .args([
            "check",
            "--tenant",
            "acme",
            "--clause",
            "availability >= 99% per day",
            "--out",
        ])
        .arg(dir.path().join("check3"))
        .arg(repo_path("tests/fixtures/three_days.toml"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("note: running 55 replications"), "{stderr}");

    // An explicit count is kept, with a warning when it cannot prove the clause.
    let out = slaplan()
        .args([
            "frontier",
            "--tenant",
            "bronze-co",
            "--clause-index",
            "0",
            "--replications",
            "8",
            "--out",
        ])
        .arg(dir.path().join("frontier8"))
        .arg(&scenario)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning: 8 replication(s) cannot prove 0.95 confidence for 1 of 1 clause(s)"),
        "{stderr}"
    );
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("no threshold is enforceable at 0.95 confidence with 8 window(s)")
    );
}
