//! The overload guard (issue 17): `validate` warns of an endpoint offered
//! more than it serves, and a run whose calls in flight pass the limit
//! stops with exit 2 and a message naming where they piled up, before
//! memory runs out. A saturated scenario whose queue is bounded runs as
//! before. Every run here is capped (`ulimit -v`, `timeout`), so a broken
//! guard fails the test instead of eating the machine.

use std::process::{Command, Output};

use crate::common::tempdir;

/// A typo: ten million tasks a second on ten slots of 100 ms.
fn typo(extra_router: &str) -> String {
    format!(
        r#"
[simulation]
start = "2026-03-01"
duration = "1d"
seed = 1

[router]
{extra_router}

[[endpoints]]
name = "primary"
concurrency = 10
latency = {{ model = "exponential", mean = "100ms" }}

[[tenants]]
name = "typo"
class = "bronze"
chain = ["primary"]

[[tenants.workflows]]
name = "w"
rate = 10000000

[[tenants.clauses]]
metric = "availability"
target = 0.99
"#
    )
}

/// Runs the binary with `args` under 2 GB of address space and 120 s.
fn capped(args: &str) -> Output {
    let bin = env!("CARGO_BIN_EXE_slaplan");
    Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v 2000000; exec timeout 120 {bin} {args}"))
        .output()
        .expect("sh runs")
}

#[test]
fn validate_warns_of_an_endpoint_offered_more_than_it_serves() {
    let dir = tempdir();
    let path = dir.path().join("typo.toml");
    std::fs::write(&path, typo("")).unwrap();
    let out = capped(&format!("validate {}", path.display()));
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    // 10^7 calls/s × 0.1 s on 10 slots: 100,000 times the capacity.
    assert!(
        err.contains("endpoint \"primary\" is offered 100000×") && err.contains("\"typo\""),
        "{err}"
    );
}

#[test]
fn a_run_past_the_live_call_limit_stops_with_exit_2_naming_the_endpoint() {
    let dir = tempdir();
    let path = dir.path().join("typo.toml");
    std::fs::write(&path, typo("")).unwrap();
    let out_dir = dir.path().join("out");
    let out = capped(&format!(
        "run {} --out {} --quiet --threads 1 --max-live-calls 50000",
        path.display(),
        out_dir.display()
    ));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("50001 calls in flight, over the limit of 50000"), "{err}");
    assert!(err.contains("queue for endpoint \"primary\""), "{err}");
    assert!(err.contains("\"typo\" ("), "{err}");
    assert!(!out_dir.exists(), "nothing is written for a stopped run");
    // The scenario's own `max_live_calls` works the same.
    let own = typo("").replace("seed = 1", "seed = 1\nmax_live_calls = 20000");
    std::fs::write(&path, own).unwrap();
    let out = capped(&format!("run {} --out {} --quiet", path.display(), out_dir.display()));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("over the limit of 20000"));
}

#[test]
fn a_saturated_scenario_with_a_bounded_queue_runs_as_before() {
    // The same flood, but the router sheds what waits beyond 100 calls: at
    // most 100 waiting plus 10 in service are ever in flight at once, far
    // under the limit, so the run completes (had the guard fired, it
    // would have exited 2).
    let dir = tempdir();
    let path = dir.path().join("shed.toml");
    let text = typo("max_queue = 100")
        .replace("duration = \"1d\"", "duration = \"2s\"")
        .replace("rate = 10000000", "rate = 100000");
    std::fs::write(&path, text).unwrap();
    let out_dir = dir.path().join("out");
    let out = capped(&format!(
        "run {} --out {} --quiet --threads 1 --max-live-calls 5000",
        path.display(),
        out_dir.display()
    ));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("calls waiting beyond `max_queue` (100) are shed"), "{err}");
    assert!(out_dir.join("summary.csv").exists());
}
