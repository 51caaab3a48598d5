//! The exported latency SLO monitors the clause it was vetted on: its
//! population (successful calls), and a level between the internal
//! objective and the contract's threshold. Checked by hand-worked levels
//! and by `promtool test rules` on hand-written gateway series.

use std::path::Path;

use super::*;
use crate::plan::Verdict;
use crate::report::review::inputs::RunInfo;

fn ms(n: u64) -> Span {
    Span::from_millis(n)
}

#[test]
fn the_level_is_the_next_boundary_at_or_above_the_objective_within_the_contract() {
    // 700.5 ms under a 1 s contract: the grid's 0.8 s (the old export took
    // the power of two under it, 0.512 s, a level the run never vetted).
    assert_eq!(monitored_bound(700.5, ms(1000)), Some(ms(800)));
    // Exactly on a boundary: that boundary.
    assert_eq!(monitored_bound(800.0, ms(1000)), Some(ms(800)));
    // Between the last grid boundary under the contract and the contract,
    // which is off the grid: the contract's own threshold (the gateway has
    // a boundary there because the scenario names it).
    assert_eq!(monitored_bound(910.0, ms(950)), Some(ms(950)));
    assert_eq!(monitored_bound(950.0, ms(950)), Some(ms(950)));
    // Under the grid's first boundary: 1 ms.
    assert_eq!(monitored_bound(0.2, ms(1000)), Some(ms(1)));
    // Above the contract: none.
    assert_eq!(monitored_bound(1000.1, ms(1000)), None);
}

fn row(clause: &str, objective: f64, threshold_ms: f64) -> ClauseRow {
    ClauseRow {
        index: 0,
        tenant: "acme".into(),
        workflow: String::new(),
        clause: clause.into(),
        metric: "p95 latency".into(),
        unit: "ms".into(),
        threshold: threshold_ms,
        windows: 100,
        met: 100,
        probability: 1.0,
        ci_low: 0.96,
        ci_high: 1.0,
        verdict: Verdict::Enforceable,
        kind: Some("latency".into()),
        direction: Some("<=".into()),
        credit: None,
        internal: Some(InternalObjective {
            objective,
            buffer: threshold_ms - objective,
        }),
    }
}

fn run_info() -> RunInfo {
    RunInfo {
        slaplan_version: "test".into(),
        scenario: "s.toml".into(),
        scenario_sha256: "0".repeat(64),
        seed: 1,
        replications: 100,
        required_confidence: 0.95,
        interval_level: 0.95,
        interval_method: Default::default(),
        scenario_name: None,
        start: None,
        duration_ms: None,
        windows: Vec::new(),
        totals: Vec::new(),
        tenants: Vec::new(),
        endpoints: Vec::new(),
        providers: Vec::new(),
    }
}

#[test]
fn latency_and_ttft_slis_select_the_clauses_population_and_level() {
    let e = map_clause(&row("p95 call latency <= 1s", 700.5, 1000.0)).unwrap();
    assert_eq!(
        e.sli.good,
        "slaplan_request_duration_seconds_bucket{tenant=\"acme\",outcome=\"success\",le=\"0.8\"}"
    );
    assert_eq!(
        e.sli.total,
        "slaplan_request_duration_seconds_count{tenant=\"acme\",outcome=\"success\"}"
    );
    assert_eq!(e.sli.target, 0.95);
    assert_eq!(e.objective_words, "p95 latency <= 0.8 s");
    let e = map_clause(&row("p99 time to first token <= 950ms", 910.0, 950.0)).unwrap();
    assert_eq!(
        e.sli.good,
        "slaplan_time_to_first_token_seconds_bucket{tenant=\"acme\",le=\"0.95\"}"
    );
    assert_eq!(
        e.sli.total,
        "slaplan_time_to_first_token_seconds_count{tenant=\"acme\"}"
    );
    assert_eq!(e.sli.target, 0.99);
}

/// Runs `promtool test rules` on `test` in `dir`: skipped with a printed
/// reason without promtool, unless SLAPLAN_REQUIRE_PROMTOOL=1 (CI).
fn promtool_test(dir: &Path, test: &str) -> Option<(bool, String)> {
    let required = std::env::var("SLAPLAN_REQUIRE_PROMTOOL").is_ok_and(|v| v == "1");
    if std::process::Command::new("promtool")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(!required, "SLAPLAN_REQUIRE_PROMTOOL=1 but no promtool on PATH");
        eprintln!("SKIPPED promtool test rules: no promtool on PATH (install Debian's prometheus)");
        return None;
    }
    let path = dir.join("test.yaml");
    std::fs::write(&path, test).unwrap();
    let o = std::process::Command::new("promtool")
        .args(["test", "rules"])
        .arg(&path)
        .current_dir(dir)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    Some((o.status.success(), text))
}

/// A gateway's series for one hour: each minute 40 successful calls of
/// tenant acme, 38 of them within 0.8 s, and 10 failed calls, all fast.
/// The clause "p95 call latency <= 1s" at the level 0.8 s, judged on that
/// hour: 2,400 ranked calls, the 2,280th (⌈0.95 × 2,400⌉) is within
/// 0.8 s, so the level holds exactly, with attainment 2,280 / 2,400 = 0.95:
/// error ratio 0.05. Counting the failures too (the old histogram) would
/// read (2,280 + 600) / 3,000 = 0.96, an error ratio of 0.04.
const SERIES: &str = r#"
      - series: 'slaplan_request_duration_seconds_bucket{tenant="acme",outcome="success",le="0.8"}'
        values: '0+38x60'
      - series: 'slaplan_request_duration_seconds_count{tenant="acme",outcome="success"}'
        values: '0+40x60'
      - series: 'slaplan_request_duration_seconds_bucket{tenant="acme",outcome="failure",le="0.8"}'
        values: '0+10x60'
      - series: 'slaplan_request_duration_seconds_count{tenant="acme",outcome="failure"}'
        values: '0+10x60'
"#;

fn promtool_case(expected: &str) -> Option<(bool, String)> {
    let dir = tempfile::tempdir().unwrap();
    let export = Export {
        exported: vec![map_clause(&row("p95 call latency <= 1s", 700.5, 1000.0)).unwrap()],
        skipped: Vec::new(),
        run: run_info(),
    };
    std::fs::write(dir.path().join(RULES_FILE), export.rules_yaml().unwrap()).unwrap();
    // promtool compares values exactly; the recorded ratio is 1 - 38/40
    // in floating point, so the test asks whether it is within 1e-12 (far
    // under the 1/2,400 that one call would change).
    let test = format!(
        "rule_files:\n  - {RULES_FILE}\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:{SERIES}\
         \n    promql_expr_test:\n      - expr: abs(slaplan_slo:error_ratio:rate1h - {expected}) < bool 1e-12\n        \
         eval_time: 60m\n        exp_samples:\n          - labels: '{{slo=\"{name}\",tenant=\"acme\"}}'\n            \
         value: 1\n",
        name = export.exported[0].name
    );
    promtool_test(dir.path(), &test)
}

#[test]
fn the_exported_rule_reads_the_clauses_attainment_on_a_hand_worked_hour() {
    let Some((ok, text)) = promtool_case("0.05") else {
        return;
    };
    assert!(ok, "{text}");
    // The check can fail: the old population's reading is refused.
    let Some((ok, text)) = promtool_case("0.04") else {
        return;
    };
    assert!(!ok, "{text}");
}
