//! `slaplan validate` on bad scenario files: each case from the issue exits
//! 2, names the field path, the line and what was expected, prints nothing
//! on stdout and never panics.

use std::path::Path;
use std::process::{Command, Output};

/// Runs `slaplan validate FILE` from the package root, so paths in the
/// messages are the relative ones given here.
fn validate(file: &str) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_slaplan"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["validate", file])
        .output();
    match output {
        Ok(output) => output,
        Err(e) => panic!("cannot run slaplan: {e}"),
    }
}

fn fixture(name: &str) -> String {
    format!("tests/fixtures/bad/{name}.toml")
}

/// Asserts the run was rejected cleanly and returns its stderr.
#[track_caller]
fn rejected(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    assert!(output.stdout.is_empty(), "partial output on stdout");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("RUST_BACKTRACE"), "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    stderr
}

/// Asserts that the bad fixture `name` is rejected with exactly one
/// problem, at `file:line: path:`, whose message contains each of `words`.
#[track_caller]
fn one_problem(name: &str, line: usize, path: &str, words: &[&str]) {
    let file = fixture(name);
    let stderr = rejected(&validate(&file));
    assert!(stderr.starts_with(&format!("error: {file}: 1 problem\n")), "{stderr}");
    let place = format!("\n  {file}:{line}: {path}: ");
    assert!(stderr.contains(&place), "{place:?} not in:\n{stderr}");
    for w in words {
        assert!(stderr.contains(w), "{w:?} not in:\n{stderr}");
    }
}

#[test]
fn a_missing_file_is_named() {
    let stderr = rejected(&validate("tests/fixtures/bad/no-such-file.toml"));
    assert!(
        stderr.contains("tests/fixtures/bad/no-such-file.toml: cannot read the file"),
        "{stderr}"
    );
    assert!(stderr.contains("expected a readable scenario TOML file"), "{stderr}");
}

#[test]
fn a_toml_syntax_error_has_its_line() {
    one_problem(
        "syntax_error",
        3,
        "simulation.start",
        &["invalid basic string, expected `\"`"],
    );
}

#[test]
fn an_unknown_endpoint_in_a_chain_suggests_the_near_one() {
    one_problem(
        "unknown_endpoint",
        19,
        "tenants[0].chain[1]",
        &[
            "unknown endpoint \"haiku@antropic/eu\"",
            "did you mean \"haiku@anthropic/eu\"?",
            "expected one of the [[endpoints]] names",
        ],
    );
}

#[test]
fn a_negative_rate_is_rejected() {
    one_problem(
        "negative_rate",
        23,
        "tenants[0].workflows[0].rate",
        &["-2.5 is negative", "expected calls per second, 0 or more"],
    );
}

#[test]
fn a_zero_duration_is_rejected() {
    one_problem(
        "zero_duration",
        4,
        "simulation.duration",
        &["zero duration", "expected a positive duration such as \"31d\""],
    );
}

#[test]
fn an_unknown_clause_metric_lists_the_metrics() {
    one_problem(
        "unknown_metric",
        31,
        "tenants[0].clauses[1].metric",
        &[
            "unknown variant `throughputz`, expected one of `latency`, `availability`, `task_latency`, `task_availability`",
        ],
    );
}

#[test]
fn a_percentile_outside_0_100_is_rejected() {
    for p in ["0", "100", "150"] {
        one_problem(
            &format!("percentile_{p}"),
            27,
            "tenants[0].clauses[0].percentile",
            &[&format!("{p} is outside (0, 100)"), "expected e.g. 95 or 99.9"],
        );
    }
}

#[test]
fn a_bare_number_where_a_duration_is_expected_asks_for_a_unit() {
    one_problem(
        "bare_number_duration",
        28,
        "tenants[0].clauses[0].threshold",
        &["a bare number (4) is not a duration", "add a unit"],
    );
}

#[test]
fn three_independent_problems_are_all_reported_in_line_order() {
    let file = fixture("three_problems");
    let stderr = rejected(&validate(&file));
    let expected = format!(
        "error: {file}: 3 problems\n\
         \x20 {file}:4: simulation.duration: a zero duration is not allowed: expected a positive duration such as \"31d\"\n\
         \x20 {file}:23: tenants[0].workflows[0].rate: -2.5 is negative: expected calls per second, 0 or more, e.g. 1.5\n\
         \x20 {file}:27: tenants[0].clauses[0].percentile: 100 is outside (0, 100): expected e.g. 95 or 99.9\n"
    );
    assert_eq!(stderr, expected);
}

#[test]
fn every_bad_fixture_is_rejected_cleanly() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad");
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) => panic!("cannot list {}: {e}", dir.display()),
    };
    let mut seen = 0;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(stem) = name.strip_suffix(".toml") {
            rejected(&validate(&fixture(stem)));
            seen += 1;
        }
    }
    assert!(seen >= 10, "only {seen} fixtures found");
}

#[test]
fn the_quickstart_scenario_validates() {
    let output = validate("scenarios/quickstart.toml");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.stderr.is_empty());
    assert_eq!(
        stdout,
        "scenarios/quickstart.toml: ok (3 endpoints, 3 tenants, 8 clauses)\n"
    );
}

#[test]
fn keys_of_the_earlier_format_name_their_new_spelling() {
    let file = fixture("renamed_keys");
    let stderr = rejected(&validate(&file));
    let expected = format!(
        "error: {file}: 3 problems\n\
         \x20 {file}:9: endpoints[0].max_in_flight: `max_in_flight` is now `max_concurrency` (the router's cap on attempts in flight here; default: the endpoint's `concurrency`)\n\
         \x20 {file}:21: tenants[0].max_attempts: `max_attempts` is now `retry.max_attempts`: write e.g. retry = {{ max_attempts = 3 }}\n\
         \x20 {file}:22: tenants[0].jitter: `jitter` is now `retry.jitter`: write e.g. retry = {{ jitter = 0.2 }}\n"
    );
    assert_eq!(stderr, expected);
}

#[test]
fn the_router_cores_own_problems_come_with_their_lines() {
    let file = fixture("router_settings");
    let stderr = rejected(&validate(&file));
    let expected = format!(
        "error: {file}: 2 problems\n\
         \x20 {file}:14: endpoints[1].reserved: reserved shares sum to 1.2, expected at most 1 (they are shares of max_concurrency)\n\
         \x20 {file}:21: tenants[0].retry.max_attempts: retry.max_attempts must be at least 1\n"
    );
    assert_eq!(stderr, expected);
}
