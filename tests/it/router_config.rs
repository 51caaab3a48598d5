//! The simulator judges exactly the configuration a production router
//! loads: every shipped scenario's router configuration survives the
//! router's own file form unchanged, and a scenario that leaves a router
//! setting out gets the router's default for it.

use std::path::Path;

use slaplan::policy::{Router, RouterConfig};
use slaplan::scenario;

use crate::common::{repo_path, scenario};

/// Every whole scenario file shipped in `dir` (not the tenant fragments
/// `check --add` reads).
fn scenario_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .filter(|p| std::fs::read_to_string(p).is_ok_and(|t| t.contains("[simulation]")))
        .collect();
    files.sort();
    files
}

#[test]
fn every_shipped_scenarios_router_config_round_trips_through_the_routers_file_form() {
    let mut files = scenario_files(&repo_path("scenarios"));
    assert!(files.len() >= 2, "scenarios/ has {} files", files.len());
    files.extend(scenario_files(&repo_path("tests/fixtures")));
    for file in files {
        let s = scenario::load(&file).unwrap_or_else(|e| panic!("{e}"));
        let config = s.router_config();
        let text = toml::to_string(&config).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let loaded: RouterConfig = toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}\n{text}", file.display()));
        assert_eq!(loaded, config, "{}: the router's file form changed it", file.display());
        assert!(
            Router::new(loaded).is_ok(),
            "{}: the router rejects what the scenario accepted",
            file.display()
        );
    }
}

#[test]
fn a_scenario_that_leaves_router_settings_out_gets_the_routers_defaults() {
    let s = scenario(
        r#"
[simulation]
start = "2026-01-01"
duration = "1d"

[[endpoints]]
name = "a"
concurrency = 3
queue_limit = 10
latency = { model = "exponential", mean = "1s" }

[[tenants]]
name = "t"
class = "gold"
chain = ["a"]

[[tenants.workflows]]
name = "w"
rate = 1
"#,
    );
    // The same router settings in the router's own file, with what only the
    // scenario knows written out: the cap defaults to the provider's slots.
    let expected: RouterConfig = toml::from_str(
        r#"
[[endpoints]]
name = "a"
max_concurrency = 3

[[tenants]]
name = "t"
class = "gold"
chain = ["a"]
workflows = [{ name = "w" }]
"#,
    )
    .unwrap();
    assert_eq!(s.router_config(), expected);
}

#[test]
fn the_router_sections_settings_reach_the_router() {
    let s = scenario(
        r#"
[simulation]
start = "2026-01-01"
duration = "1d"
seed = 9

[router]
max_queue = 7
breaker = { open_for = "5s" }
balance = "least_outstanding"
max_retry_after = "2m"

[[endpoints]]
name = "a"
concurrency = 3
max_concurrency = 2
attempt_timeout = "5s"
weight = 4
first_token_timeout = "2s"
latency = { model = "exponential", mean = "1s" }

[[tenants]]
name = "t"
class = "silver"
chain = ["a"]
retry = { max_attempts = 2, backoff = "1s", backoff_max = "3s", jitter = 0.5 }
degrade_after = 5
promote_after = "1m"
notice_interval = "10m"
balance = "weighted_random"

[[tenants.workflows]]
name = "w"
rate = 1
allowed_tiers = [0]

[[tenants.clauses]]
metric = "availability"
target = 0.99
"#,
    );
    let expected: RouterConfig = toml::from_str(
        r#"
seed = 9
max_queue = 7
breaker = { open_for = "5s" }
balance = "least_outstanding"
max_retry_after = "2m"

[[endpoints]]
name = "a"
max_concurrency = 2
attempt_timeout = "5s"
weight = 4
first_token_timeout = "2s"

[[tenants]]
name = "t"
class = "silver"
chain = ["a"]
retry = { max_attempts = 2, backoff = "1s", backoff_max = "3s", jitter = 0.5 }
degrade_after = 5
promote_after = "1m"
notice_interval = "10m"
balance = "weighted_random"
workflows = [{ name = "w", allowed_tiers = [0] }]
availability_target = 0.99
"#,
    )
    .unwrap();
    assert_eq!(s.router_config(), expected);
}

#[test]
fn validate_prints_a_warning_on_stderr_and_still_exits_0() {
    let dir = crate::common::tempdir();
    let file = dir.path().join("fifo.toml");
    let text = r#"[simulation]
start = "2026-01-01"
duration = "1d"

[[endpoints]]
name = "shared"
concurrency = 4
queue_limit = 64
max_concurrency = 68
latency = { model = "exponential", mean = "1s" }

[[tenants]]
name = "gold"
class = "gold"
chain = ["shared"]

[[tenants.workflows]]
name = "w"
rate = 1

[[tenants]]
name = "bronze"
class = "bronze"
chain = ["shared"]

[[tenants.workflows]]
name = "w"
rate = 8
"#;
    std::fs::write(&file, text).unwrap();
    let out = crate::common::slaplan().arg("validate").arg(&file).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let place = format!("warning: {}:9: endpoints[0].max_concurrency: ", file.display());
    assert!(stderr.starts_with(&place), "{stderr}");
    assert!(stderr.contains("a gold call can wait behind bronze ones"), "{stderr}");
    // One priority warning; the bronze flood also draws the offered-load one.
    assert_eq!(
        stderr.lines().filter(|l| l.contains("max_concurrency")).count(),
        1,
        "{stderr}"
    );
    assert!(stderr.lines().all(|l| l.starts_with("warning: ")), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains(": ok ("));
}

/// One endpoint whose first token comes after exactly 2 s (no noise, no
/// decode, slots to spare), with the router's `first_token_timeout`.
fn first_token_scenario(first_token_timeout: &str) -> String {
    format!(
        r#"
[simulation]
start = "2026-01-01"
duration = "10m"

[[endpoints]]
name = "a"
concurrency = 50
first_token_timeout = "{first_token_timeout}"
latency = {{ model = "lognormal", ttft = "2s", per_output_token = "10ms" }}

[[tenants]]
name = "t"
class = "gold"
chain = ["a"]
retry = {{ max_attempts = 1 }}

[[tenants.workflows]]
name = "w"
rate = 1
output_tokens = {{ dist = "constant", value = 100 }}

[[tenants.clauses]]
metric = "latency"
percentile = 50
threshold = "1h"
"#
    )
}

#[test]
fn the_simulator_reports_first_tokens_so_first_token_timeout_acts_as_in_production() {
    // Hand-worked: every attempt's first token comes 2 s after dispatch and
    // its answer 3 s after (2 s + 100 tokens x 10 ms). A first-token limit of
    // 1 s abandons every attempt (one attempt each: every call fails); one of
    // 2.5 s lets each through, the whole answer (3 s) being longer than the
    // limit does not matter.
    let cut = crate::common::replicate(&scenario(&first_token_scenario("1s")), 1);
    assert!(cut[0].stats.calls > 500, "{:?}", cut[0].stats);
    assert_eq!(cut[0].stats.completed, 0, "{:?}", cut[0].stats);
    let kept = crate::common::replicate(&scenario(&first_token_scenario("2500ms")), 1);
    assert_eq!(kept[0].stats.completed, kept[0].stats.calls, "{:?}", kept[0].stats);
    assert_eq!(kept[0].attainment[0].value, Some(3000.0));
}
