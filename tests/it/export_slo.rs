//! Internal objectives and `export-slo`: the objective in `summary.csv` is
//! the frontier's best point over the same windows (an independent path:
//! `frontier --from` sorts the judged windows of `windows.parquet`), the
//! OpenSLO documents validate against the OpenSLO v1 schema checked in
//! under tests/data/openslo, the rules use only metrics and labels the
//! gateway exports, and promtool accepts them.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Deserialize;
use slaplan::export::{Export, OPENSLO_FILE, RULES_FILE};

use crate::common::{repo_path, slaplan, tempdir};

/// One endpoint with stochastic outages (down a few hours every few days)
/// and a lognormal latency, judged per day over 14 days: 14 windows a
/// replication, enough variety for each daily value to be its own
/// order statistic. Clauses: two that map to gateway metrics
/// (availability and p95 latency), one that cannot be enforced, and three
/// with no gateway SLI (task success, cost, a workflow-scoped latency).
const SCENARIO: &str = r#"
[simulation]
start = "2026-01-05"
duration = "14d"
seed = 11
replications = 12

[[endpoints]]
name = "only"
concurrency = 100
attempt_timeout = "20s"
latency = { model = "lognormal", ttft = "300ms", sigma = 0.6 }

[[outage_processes]]
endpoint = "only"
mtbf = "3d"
mttr = "40m"

[[tenants]]
name = "Acme Corp"
class = "gold"
chain = ["only"]
retry = { max_attempts = 1 }

[[tenants.workflows]]
name = "chat"
rate = 0.01

[[tenants.clauses]]
metric = "availability"
target = 0.9
window = "day"

[[tenants.clauses]]
metric = "latency"
percentile = 95
threshold = "5s"
window = "day"

[[tenants.clauses]]
metric = "availability"
target = 0.99999
window = "day"

[[tenants.clauses]]
metric = "task_availability"
target = 0.9
window = "day"

[[tenants.clauses]]
metric = "cost"
budget = 100
window = "day"

[[tenants.clauses]]
metric = "latency"
workflow = "chat"
percentile = 50
threshold = "5s"
window = "day"
"#;

#[derive(Debug, Deserialize)]
struct SummaryRow {
    clause_index: usize,
    verdict: String,
    threshold: f64,
    direction: String,
    internal_objective: Option<f64>,
    internal_buffer: Option<f64>,
}

fn summary(dir: &Path) -> Vec<SummaryRow> {
    let mut r = csv::Reader::from_path(dir.join("summary.csv")).unwrap();
    r.deserialize().map(|row| row.unwrap()).collect()
}

/// Runs the scenario into `tmp/out` and returns (scenario path, output dir).
fn run(tmp: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let scenario = tmp.join("slo.toml");
    std::fs::write(&scenario, SCENARIO).unwrap();
    let out = tmp.join("out");
    let o = slaplan()
        .args(["run", "--quiet", "--out"])
        .arg(&out)
        .arg(&scenario)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("Internal objectives"), "{stdout}");
    (scenario, out)
}

/// The frontier's best threshold for clause `k`, from `frontier --from`.
fn frontier_best(scenario: &Path, out: &Path, k: usize, tmp: &Path) -> Option<f64> {
    let fr = tmp.join(format!("frontier-{k}"));
    let o = slaplan()
        .args([
            "frontier",
            "--quiet",
            "--tenant",
            "Acme Corp",
            "--clause-index",
            &k.to_string(),
            "--from",
        ])
        .arg(out)
        .arg("--out")
        .arg(&fr)
        .arg(scenario)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut r = csv::Reader::from_path(fr.join("frontier.csv")).unwrap();
    let rows: Vec<(f64, bool)> = r
        .records()
        .map(|rec| {
            let rec = rec.unwrap();
            (rec[0].parse().unwrap(), rec[6].parse().unwrap())
        })
        .collect();
    rows.iter().find(|(_, enforceable)| *enforceable).map(|(t, _)| *t)
}

/// Parses a multi-document YAML stream into JSON values.
fn yaml_documents(text: &str) -> Vec<serde_json::Value> {
    serde_norway::Deserializer::from_str(text)
        .map(|d| serde_json::Value::deserialize(d).unwrap())
        .filter(|v| !v.is_null())
        .collect()
}

fn schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(repo_path("tests/data/openslo/slo-v1.schema.json")).unwrap();
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(schema["x-source"].as_str().unwrap().contains("OpenSLO"));
    jsonschema::validator_for(&schema).unwrap()
}

#[test]
fn internal_objectives_are_the_frontier_and_export_validates() {
    let tmp = tempdir();
    let (scenario, out) = run(tmp.path());
    let rows = summary(&out);
    assert_eq!(rows.len(), 6);

    // Every enforceable clause's objective is the frontier's best point,
    // found independently from windows.parquet; it lies inside the contract.
    let mut suggested = 0;
    for r in &rows {
        let best = frontier_best(&scenario, &out, r.clause_index, tmp.path());
        match (r.verdict.as_str(), r.internal_objective) {
            ("enforceable", Some(objective)) => {
                suggested += 1;
                // frontier.csv writes thresholds with 6 decimals.
                let best = best.unwrap_or_else(|| panic!("clause {}: no enforceable frontier point", r.clause_index));
                assert!(
                    (objective - best).abs() <= 5e-7,
                    "clause {}: {objective} vs {best}",
                    r.clause_index
                );
                let buffer = r.internal_buffer.unwrap();
                assert!(buffer >= 0.0, "clause {}: buffer {buffer}", r.clause_index);
                let expected = if r.direction == "<=" {
                    r.threshold - objective
                } else {
                    objective - r.threshold
                };
                assert!((buffer - expected).abs() < 1e-9, "{buffer} vs {expected}");
            }
            ("enforceable", None) => panic!("clause {} is enforceable without an objective", r.clause_index),
            (_, objective) => assert_eq!(objective, None, "clause {} is not enforceable", r.clause_index),
        }
    }
    assert!(suggested >= 2, "the test needs enforceable clauses: {rows:?}");
    assert_eq!(rows[2].verdict, "not_enforceable", "{rows:?}");

    // The export: availability and latency mapped, the rest skipped with reasons.
    let slo = tmp.path().join("slo");
    let o = slaplan()
        .args(["export-slo", "--format", "openslo", "--out"])
        .arg(&slo)
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for reason in ["not enforceable", "whole tasks", "no cost metric", "scoped to workflow"] {
        assert!(stdout.contains(reason), "no skip reason {reason:?} in:\n{stdout}");
    }
    let docs = yaml_documents(&std::fs::read_to_string(slo.join(OPENSLO_FILE)).unwrap());
    assert_eq!(docs.len(), 2, "{docs:#?}");
    let validator = schema();
    for d in &docs {
        let errors: Vec<String> = validator.iter_errors(d).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:?}\n{d:#}");
        assert_eq!(d["apiVersion"], "openslo/v1");
        assert_eq!(d["spec"]["timeWindow"][0]["duration"], "1d");
        assert!(
            d["metadata"]["annotations"]["slaplan/contract"]
                .as_str()
                .is_some_and(|c| !c.is_empty())
        );
    }
    // The availability objective is the summary's, rounded down to the millionth.
    let availability = rows[0].internal_objective.unwrap();
    let target = docs[0]["spec"]["objectives"][0]["target"].as_f64().unwrap();
    assert_eq!(target, (availability * 1e6).floor() / 1e6);
    assert_eq!(docs[1]["spec"]["objectives"][0]["target"].as_f64(), Some(0.95));
    // The latency SLO counts the clause's population (successful calls) at
    // a level from the internal objective up to the contract's 5 s.
    let good = docs[1]["spec"]["indicator"]["spec"]["ratioMetric"]["good"]["metricSource"]["spec"]["query"]
        .as_str()
        .unwrap();
    assert!(good.contains("outcome=\"success\""), "{good}");
    let level: f64 = good
        .split("le=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let objective_s = rows[1].internal_objective.unwrap() / 1000.0;
    assert!(
        level >= objective_s && level <= 5.0,
        "level {level} s, objective {objective_s} s"
    );

    // A document missing a required field fails the schema.
    for (pointer, field) in [
        ("/spec", "budgetingMethod"),
        ("/metadata", "name"),
        ("/spec", "objectives"),
    ] {
        let mut bad = docs[0].clone();
        bad.pointer_mut(pointer).unwrap().as_object_mut().unwrap().remove(field);
        assert!(!validator.is_valid(&bad), "{pointer}/{field} removed, still valid");
    }
    let mut bad = docs[0].clone();
    bad["spec"]["objectives"][0]["target"] = serde_json::json!(1.0);
    assert!(!validator.is_valid(&bad), "a target of 1 is outside [0, 1)");

    // The rules use only series and labels a gateway serving this scenario exports.
    let rules = std::fs::read_to_string(slo.join(RULES_FILE)).unwrap();
    let served = slaplan::scenario::parse(SCENARIO, Path::new("slo.toml")).unwrap();
    check_rule_metrics(&rules, &["Acme Corp".to_string()], &served);
    promtool_accepts(&slo.join(RULES_FILE));

    // The same directory gives the same bytes.
    let again = Export::read(&out).unwrap();
    assert_eq!(
        again.openslo_yaml().unwrap(),
        std::fs::read_to_string(slo.join(OPENSLO_FILE)).unwrap()
    );
    assert_eq!(again.rules_yaml().unwrap(), rules);
}

/// Every `slaplan_*` series a rule reads is one `/metrics` exposes for
/// these tenants, with the label values it selects, when serving `scenario`.
fn check_rule_metrics(rules: &str, tenants: &[String], scenario: &slaplan::scenario::Scenario) {
    let objectives = slaplan::gateway::histogram_objectives(scenario);
    let exposition = slaplan::gateway::metrics::Metrics::new(tenants, &["only".to_string()], &objectives).encode();
    let exposed: BTreeSet<&str> = exposition
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .collect();
    let doc: serde_json::Value = serde_norway::from_str(rules).unwrap();
    let mut seen = 0;
    for group in doc["groups"].as_array().unwrap() {
        for rule in group["rules"].as_array().unwrap() {
            let expr = rule["expr"].as_str().unwrap();
            for (i, _) in expr.match_indices("slaplan_") {
                let name: String = expr[i..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                    .collect();
                if name.contains(':') {
                    // A recorded series of this file.
                    continue;
                }
                seen += 1;
                assert!(
                    exposed.contains(name.as_str()),
                    "{name} is not exported; /metrics has {exposed:?}"
                );
                // Every exact label matcher of the selector appears on a series of that name.
                let selector = &expr[i + name.len()..];
                let body = selector
                    .strip_prefix('{')
                    .and_then(|s| s.split('}').next())
                    .unwrap_or("");
                for matcher in body.split(',').filter(|m| m.contains("=\"") && !m.contains("=~")) {
                    let (label, value) = matcher.split_once("=\"").unwrap();
                    let needle = format!("{label}=\"{}", value.trim_end_matches('"'));
                    assert!(
                        exposition
                            .lines()
                            .any(|l| l.starts_with(&format!("{name}{{")) && l.contains(&needle)),
                        "no {name} series with {needle}\""
                    );
                }
            }
        }
    }
    assert!(seen > 0, "no gateway metric in the rules:\n{rules}");
}

/// `promtool check rules` on `path`: skipped with a printed reason without
/// promtool, unless SLAPLAN_REQUIRE_PROMTOOL=1 (CI).
fn promtool_accepts(path: &Path) {
    let required = std::env::var("SLAPLAN_REQUIRE_PROMTOOL").is_ok_and(|v| v == "1");
    let found = std::process::Command::new("promtool").arg("--version").output();
    if found.is_err() {
        assert!(
            !required,
            "SLAPLAN_REQUIRE_PROMTOOL=1 but no promtool on PATH (apt-get install prometheus)"
        );
        eprintln!(
            "SKIPPED promtool check rules: no promtool on PATH (install Debian's prometheus to run it; \
             SLAPLAN_REQUIRE_PROMTOOL=1 makes this a failure)"
        );
        return;
    }
    let o = std::process::Command::new("promtool")
        .args(["check", "rules"])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "promtool rejected the rules:\n{}{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
        std::fs::read_to_string(path).unwrap()
    );
}

#[test]
fn promtool_rejects_a_broken_rule_file() {
    // The check above can fail: a rule with a bad expression is refused.
    let tmp = tempdir();
    let path = tmp.path().join("bad.yaml");
    std::fs::write(
        &path,
        "groups:\n- name: x\n  rules:\n  - record: a:b:rate5m\n    expr: sum(rate(x[5m]) /\n",
    )
    .unwrap();
    if std::process::Command::new("promtool")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED promtool_rejects_a_broken_rule_file: no promtool on PATH");
        return;
    }
    let o = std::process::Command::new("promtool")
        .args(["check", "rules"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!o.status.success());
}

#[test]
fn bad_directory_or_format_exits_2_and_writes_nothing() {
    let tmp = tempdir();
    let missing = tmp.path().join("nope");
    let o = slaplan()
        .args(["export-slo", "--format", "openslo"])
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("nope") && err.contains("output directory"), "{err}");
    assert!(!missing.join("slo").exists());

    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let o = slaplan()
        .args(["export-slo", "--format", "openslo"])
        .arg(&empty)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("run.json"));
    assert!(!empty.join("slo").exists());

    let o = slaplan()
        .args(["export-slo", "--format", "sloth"])
        .arg(&empty)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("expected openslo"));
}
