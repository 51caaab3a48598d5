//! `slaplan frontier`: the exact threshold frontier of a clause, and the
//! capacity bisection on an M/M/c fixture whose answer is known.

use std::fs;

use crate::common::{repo_path, slaplan, tempdir};

#[test]
fn capacity_bisection_finds_the_mmc_boundary() {
    let dir = tempdir();
    let out = slaplan()
        .args([
            "frontier",
            "--capacity",
            "pool",
            "--confidence",
            "0.8",
            "--replications",
            "20",
            "--out",
        ])
        .arg(dir.path())
        .arg(repo_path("tests/fixtures/capacity.toml"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Load 3 on c <= 3 slots is unstable; c = 4 has p95 about 4.1 s < 5 s.
    assert!(
        stdout.contains("smallest concurrency of pool making every clause enforceable: 4"),
        "{stdout}"
    );
    // Monotone at the boundary: 3 was probed and failed, 4 passed.
    assert!(
        stdout.contains("probe concurrency 3: 0/1 clause(s) enforceable -> fails"),
        "{stdout}"
    );
    assert!(
        stdout.contains("probe concurrency 4: 1/1 clause(s) enforceable -> passes"),
        "{stdout}"
    );
    let csv = fs::read_to_string(dir.path().join("capacity.csv")).unwrap();
    assert!(csv.starts_with("concurrency,all_enforceable"), "{csv}");
    assert!(csv.lines().any(|l| l.starts_with("2,false")), "{csv}");
}

#[test]
fn the_latency_frontier_is_read_from_the_windows() {
    let dir = tempdir();
    let out = slaplan()
        .args([
            "frontier",
            "--tenant",
            "bronze-co",
            "--clause-index",
            "0",
            "--confidence",
            "0.6",
            "--replications",
            "8",
            "--out",
        ])
        .arg(dir.path())
        .arg(repo_path("tests/fixtures/shared_endpoint.toml"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("tightest enforceable threshold"), "{stdout}");
    let csv = fs::read_to_string(dir.path().join("frontier.csv")).unwrap();
    let rows: Vec<Vec<&str>> = csv.lines().skip(1).map(|l| l.split(',').collect()).collect();
    // 8 replications × 1 window; 7/8 has lower bound 0.473 < 0.6, so only
    // 8/8 (lower bound 0.631) is enforceable: the largest window p95.
    assert_eq!(rows.last().unwrap()[1..3], ["8", "8"]);
    assert_eq!(rows.iter().filter(|r| r[6] == "true").count(), 1, "{csv}");
    let largest: f64 = rows.last().unwrap()[0].parse().unwrap();
    // Exponential(500 ms) service at load 0.25: p95 near 1.5 s.
    assert!((1000.0..2500.0).contains(&largest), "{largest}");
    assert!(stdout.contains(&format!("{largest:.3}ms")), "{stdout}");
}

#[test]
fn bad_frontier_requests_exit_2() {
    let scenario = repo_path("tests/fixtures/shared_endpoint.toml");
    for (args, needle) in [
        (vec!["--tenant", "bronze-co", "--clause-index", "5"], "has 2 clause(s)"),
        (vec!["--tenant", "nobody", "--clause-index", "0"], "no tenant"),
        (vec!["--capacity", "nowhere"], "no endpoint"),
        (
            vec!["--tenant", "bronze-co", "--clause", "p95 latency <= 1s per fortnight"],
            "\"fortnight\" is not a window",
        ),
    ] {
        let out = slaplan().arg("frontier").args(&args).arg(&scenario).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
}

/// A capacity probe changes only the endpoint's concurrency: every probe
/// that shares the seed also shares the replication's outage schedule and
/// its arrivals (common random numbers), because both are drawn from
/// streams named by scope and workflow and seeded by (seed, replication),
/// never from the stream of an endpoint's service. So the difference
/// between two probes is the capacity's effect, not noise.
#[test]
fn capacity_probes_share_outages_and_arrivals() {
    let probe = |concurrency: u32| {
        let mut s = crate::common::scenario(
            r#"
[simulation]
start = "2026-03-02"
duration = "2d"
seed = 11
replications = 2

[[endpoints]]
name = "pool"
concurrency = 2
queue_limit = 50
attempt_timeout = "30s"
latency = { model = "exponential", mean = "1s" }

[[outage_processes]]
endpoint = "pool"
mtbf = "6h"
mttr = "20m"

[[tenants]]
name = "acme"
class = "gold"
chain = ["pool"]
retry = { max_attempts = 2 }

[[tenants.workflows]]
name = "agent"
rate = 2.0
shape = { kind = "chain", depth = { dist = "constant", value = 3 }, think = "2s" }

[[tenants.clauses]]
metric = "latency"
percentile = 95
threshold = "5s"
"#,
        );
        s.endpoints[0].concurrency = concurrency;
        crate::common::replicate(&s, 2)
    };
    let outages = |r: &slaplan::plan::Replication| -> Vec<(u64, u64)> {
        let rows = r.timeline.as_ref().expect("the first replication keeps its timeline");
        rows.iter()
            .filter(|row| row.kind == "outage")
            .map(|row| (row.start.as_nanos(), row.end.as_nanos()))
            .collect()
    };
    let small = probe(1);
    for c in [2, 8] {
        let other = probe(c);
        assert!(!outages(&small[0]).is_empty(), "the fixture has outages");
        assert_eq!(outages(&small[0]), outages(&other[0]), "concurrency 1 vs {c}");
        for (a, b) in small.iter().zip(&other) {
            assert_eq!(
                a.stats.tasks, b.stats.tasks,
                "replication {}: tasks at 1 vs {c}",
                a.index
            );
        }
        // The probes do differ where capacity acts.
        assert_ne!(
            small[0].stats.completed, other[0].stats.completed,
            "concurrency 1 vs {c}"
        );
    }
}

/// A capacity bisection under `--until-decided` gives the answer of the
/// fixed run and runs fewer replications: on the M/M/c fixture (answer 4,
/// see `capacity_bisection_finds_the_mmc_boundary`) the unstable probes
/// (c <= 3: every window breached) are settled after their second look (at
/// `--confidence 0.8` five breaches settle it), where the fixed run spends
/// its full count on each of them.
#[test]
fn an_until_decided_bisection_keeps_its_answer_with_fewer_replications() {
    let dir = tempdir();
    let run = |name: &str, extra: &[&str]| {
        let out_dir = dir.path().join(name);
        let out = slaplan()
            .args(["frontier", "--capacity", "pool", "--confidence", "0.8"])
            .args(extra)
            .arg("--out")
            .arg(&out_dir)
            .arg(repo_path("tests/fixtures/capacity.toml"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let csv = fs::read_to_string(out_dir.join("capacity.csv")).unwrap();
        (stdout, csv)
    };
    let answer = "smallest concurrency of pool making every clause enforceable: 4";
    let (fixed, fixed_csv) = run("fixed", &["--replications", "20", "--max-capacity", "16"]);
    assert!(fixed.contains(answer), "{fixed}");
    let (decided, decided_csv) = run(
        "decided",
        &[
            "--replications",
            "4",
            "--until-decided",
            "--batch",
            "4",
            "--max-replications",
            "60",
            "--max-capacity",
            "16",
        ],
    );
    assert!(decided.contains(answer), "{decided}");
    // The same concurrencies probed, with the same verdicts.
    let verdicts = |csv: &str| -> Vec<(String, String)> {
        csv.lines()
            .skip(1)
            .map(|l| {
                let cells: Vec<&str> = l.split(',').collect();
                (cells[0].to_string(), cells[1].to_string())
            })
            .collect()
    };
    assert_eq!(verdicts(&fixed_csv), verdicts(&decided_csv));
    let probes = verdicts(&fixed_csv).len() as u64;
    let ran: u64 = decided
        .lines()
        .filter(|l| l.starts_with("probe concurrency"))
        .map(|l| {
            let n = l.rsplit_once(" (").unwrap().1.split(' ').next().unwrap();
            n.parse::<u64>().unwrap()
        })
        .sum();
    assert!(ran < 20 * probes, "{ran} replications for {probes} probes:\n{decided}");
    // The unstable probes breach every window: settled at the look after 5.
    for c in [2, 3] {
        let line = format!("probe concurrency {c}: 0/1 clause(s) enforceable -> fails (8 replication(s))");
        assert!(decided.contains(&line), "{decided}");
    }
}
