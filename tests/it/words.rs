//! Clauses in the contract's own words: every output of a run names each
//! clause as the one-line grammar writes it, and that text reads back
//! (`plan::grammar::parse_clause`) to the very clause the scenario states;
//! the review gives each tenant a paragraph with the figures of
//! `summary.csv` and `credits.csv`.

use std::collections::BTreeMap;
use std::path::Path;

use slaplan::plan::grammar::parse_clause;
use slaplan::scenario::Scenario;
use slaplan::sla::Clause;

use crate::common::{scenario, slaplan, tempdir};

/// One clause of every kind, some scoped to a workflow, over several
/// periods, two with credit schedules; a primary with a scripted outage
/// (so budgets burn and drivers are blamed) and a tier-1 fallback (so
/// fallbacks, degradations and notices happen).
const EVERY_KIND: &str = r#"
[simulation]
start = "2026-01-01"
duration = "10d"
seed = 3

[[endpoints]]
name = "primary"
concurrency = 100
attempt_timeout = "10s"
latency = { model = "exponential", mean = "50ms" }
cost_per_million_input = 3.0
cost_per_million_output = 15.0
outages = [{ start = "2026-01-03T10:00:00", duration = "1h" }]

[[endpoints]]
name = "secondary"
concurrency = 100
attempt_timeout = "10s"
latency = { model = "exponential", mean = "80ms" }
cost_per_million_input = 1.0
cost_per_million_output = 5.0

[[tenants]]
name = "acme"
class = "gold"
chain = ["primary", { endpoint = "secondary", tier = 1 }]
retry = { max_attempts = 2, backoff = "100ms" }
notify_on_degradation = true

[[tenants.workflows]]
name = "chat"
rate = 0.05

[[tenants.workflows]]
name = "other"
rate = 0.02

[[tenants.clauses]]
metric = "latency"
percentile = 95
threshold = "800ms"
monthly_fee = 5000
credits = [{ above = "1s", credit = 0.05 }]

[[tenants.clauses]]
metric = "ttft"
percentile = 99
threshold = "2s"
workflow = "chat"

[[tenants.clauses]]
metric = "availability"
target = 0.999
monthly_fee = 20000
credits = [{ below = 0.999, credit = 0.10 }, { below = 0.99, credit = 0.25 }]

[[tenants.clauses]]
metric = "degradation"
tier = 0
target = 0.02
window = "week"

[[tenants.clauses]]
metric = "uptime"
target = 0.999
max_error_ratio = 0.05
window = "day"

[[tenants.clauses]]
metric = "fallback_time"
percentile = 99
threshold = "200ms"

[[tenants.clauses]]
metric = "notification"
threshold = "1s"
window = "rolling 3d"

[[tenants.clauses]]
metric = "cost"
budget = 0.01
workflow = "other"

[[tenants.clauses]]
metric = "throughput"
rpm = 2

[[tenants.clauses]]
metric = "eval_pass_rate"
target = 0.92
samples = 200
monthly_fee = 1000
credits = [{ below = 0.9, credit = 0.05 }]

[[tenants.clauses]]
metric = "mean_quality"
target = 0.9
window = "week"

[[tenants]]
name = "beta"
class = "silver"
chain = ["primary"]
retry = { max_attempts = 1 }

[[tenants.workflows]]
name = "agent"
rate = 0.01
shape = { kind = "chain", depth = { dist = "uniform", min = 2, max = 3 } }

[[tenants.clauses]]
metric = "task_latency"
percentile = 90
threshold = "5s"

[[tenants.clauses]]
metric = "task_availability"
target = 0.999

[[tenants.clauses]]
metric = "cost"
budget = 50
per = "window"

[[tenants.clauses]]
metric = "availability"
target = 0.9999
window = "day"
"#;

/// `path`'s rows as column → cell.
fn rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            headers
                .iter()
                .map(String::from)
                .zip(rec.iter().map(String::from))
                .collect()
        })
        .collect()
}

/// The clause `text` says, resolved for tenant `tenant` of `s` (the
/// tenant's only clause, every other clause removed).
fn read_back(s: &Scenario, tenant: &str, text: &str) -> Clause {
    let parsed = parse_clause(text).unwrap_or_else(|e| panic!("{text:?} does not parse: {e}"));
    let mut alone = s.clone();
    for t in &mut alone.tenants {
        t.clauses.clear();
    }
    slaplan::plan::check::add_clause(&mut alone, tenant, parsed).unwrap();
    let mut all = Clause::all(&alone);
    assert_eq!(all.len(), 1, "{text:?}");
    all.remove(0)
}

/// Checks that `text`, found in `file` for clause `index`, is that clause:
/// with its credit terms when `with_credits`.
fn is_clause(s: &Scenario, clauses: &[Clause], file: &str, index: &str, text: &str, with_credits: bool) {
    let c = &clauses[index
        .parse::<usize>()
        .unwrap_or_else(|_| panic!("{file}: clause_index {index:?}"))];
    // The words name the clause, not its place among the tenant's clauses
    // (read back alone, it is the tenant's first).
    let want = Clause {
        credits: if with_credits { c.credits.clone() } else { None },
        ordinal: 0,
        ..c.clone()
    };
    assert_eq!(read_back(s, &c.tenant_name, text), want, "{file}: {text:?}");
}

#[test]
fn every_output_names_each_clause_in_words_that_read_back() {
    let s = scenario(EVERY_KIND);
    let clauses = Clause::all(&s);
    assert_eq!(clauses.len(), 15);
    let dir = tempdir();
    let path = dir.path().join("every.toml");
    std::fs::write(&path, EVERY_KIND).unwrap();
    let out = dir.path().join("out");
    let o = slaplan()
        .arg("run")
        .arg(&path)
        .args(["--replications", "2", "--quiet", "--report", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // summary.csv: the clause, and with its schedule the whole contract.
    let summary = rows(&out.join("summary.csv"));
    assert_eq!(summary.len(), clauses.len());
    for r in &summary {
        is_clause(&s, &clauses, "summary.csv", &r["clause_index"], &r["clause"], false);
        if !r["credit_schedule"].is_empty() {
            let contract = format!("{} {}", r["clause"], r["credit_schedule"]);
            is_clause(&s, &clauses, "summary.csv", &r["clause_index"], &contract, true);
        }
    }
    // The files of measures: every row's clause column.
    for file in ["windows.csv", "latency.csv", "budget.csv", "drivers.csv"] {
        let rows = rows(&out.join(file));
        assert!(!rows.is_empty(), "{file} has rows");
        let mut seen = std::collections::BTreeSet::new();
        for r in &rows {
            if seen.insert((r["clause_index"].clone(), r["clause"].clone())) {
                is_clause(&s, &clauses, file, &r["clause_index"], &r["clause"], false);
            }
        }
    }
    // credits.csv: each credited clause with its terms.
    let credits = rows(&out.join("credits.csv"));
    let credited: Vec<_> = credits.iter().filter(|r| r["scope"] == "clause").collect();
    assert_eq!(credited.len(), 3);
    for r in credited {
        let c = read_back(&s, &r["tenant"], &r["clause"]);
        assert!(
            clauses.iter().any(|k| Clause {
                ordinal: 0,
                ..k.clone()
            } == c)
                && c.credits.is_some(),
            "credits.csv: {:?}",
            r["clause"]
        );
    }
    // The terminal table, the verdicts of the report and its paragraphs
    // name every clause by the same words.
    let stdout = String::from_utf8_lossy(&o.stdout);
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    for c in &clauses {
        let text = c.describe(&s);
        assert!(stdout.contains(&text), "the table lacks {text:?}:\n{stdout}");
        assert!(
            report.contains(&format!("| {text} |")),
            "the verdict table lacks {text:?}"
        );
        assert!(
            report.contains(&format!("\"{text}\" held in")),
            "the paragraphs lack {text:?}"
        );
    }
    // One of the charts' texts: the probability chart labels each clause
    // whole (glyph outlines in the SVG, so only its size shows it grew).
    assert!(out.join("charts/probability.svg").exists());

    // frontier.csv names the clause it studies.
    let f = dir.path().join("frontier");
    let o = slaplan()
        .arg("frontier")
        .arg(&path)
        .args([
            "--tenant",
            "acme",
            "--clause-index",
            "5",
            "--replications",
            "2",
            "--quiet",
            "--out",
        ])
        .arg(&f)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for r in rows(&f.join("frontier.csv")) {
        is_clause(&s, &clauses, "frontier.csv", "5", &r["clause"], false);
    }
}
