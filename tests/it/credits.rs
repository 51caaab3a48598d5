//! Service credits against a hand-worked case and a closed form.

use slaplan::plan::credits::{CreditSummary, CreditTally};
use slaplan::plan::quantile::ValueStore;
use slaplan::plan::{INTERVAL_LEVEL, Replication};
use slaplan::scenario::Scenario;
use slaplan::sla::Clause;

use crate::common::{replicate, scenario, slaplan, tempdir};

fn tally(s: &Scenario, reps: &[Replication]) -> Vec<CreditSummary> {
    let clauses = Clause::all(s);
    let mut t = CreditTally::new(&clauses, ValueStore::in_memory());
    for r in reps {
        t.add(&clauses, r).unwrap();
    }
    t.finish(INTERVAL_LEVEL).unwrap()
}

/// January to March 2026; 2-hour hard outages on 10 January and 10 March,
/// none in February. About 1.2 calls a minute, one attempt each: a 2-hour
/// outage fails about 144 of January's 53,568 calls (0.27%, a hundred
/// standard deviations from either 0.1% or 1%), so availability lands in
/// [99%, 99.9%) in January and March and is 100% in February.
///
/// Availability >= 99.9%, fee $20,000, 10% below 99.9%, 25% below 99%: $2,000
/// in January and March. Availability >= 99.99%, fee $20,000, 5% below
/// 99.99%: $1,000 in January and March. The tenant owes $3,000 in January
/// and March, nothing in February: $2,000 a month on average, $24,000 a
/// year, any credit in 2 months of 3, the same every replication.
const HAND_WORKED: &str = r#"
[simulation]
start = "2026-01-01"
duration = "90d"
seed = 5

[[endpoints]]
name = "only"
concurrency = 100
attempt_timeout = "10s"
latency = { model = "exponential", mean = "50ms" }
outages = [
  { start = "9d", duration = "2h" },
  { start = "2026-03-10T00:00:00", duration = "2h" },
]

[[tenants]]
name = "acme"
class = "gold"
chain = ["only"]
retry = { max_attempts = 1 }

[[tenants.workflows]]
name = "w"
rate = 0.02

[[tenants.clauses]]
metric = "availability"
target = 0.999
monthly_fee = 20000
credits = [{ below = 0.999, credit = 0.10 }, { below = 0.99, credit = 0.25 }]

[[tenants.clauses]]
metric = "availability"
target = 0.9999
monthly_fee = 20000
credits = [{ below = 0.9999, credit = 0.05 }]

[[tenants.clauses]]
metric = "latency"
percentile = 50
threshold = "10s"
"#;

#[test]
fn a_scripted_outage_pays_exactly_its_step_in_its_months() {
    let s = scenario(HAND_WORKED);
    let reps = replicate(&s, 3);
    for r in &reps {
        let values: Vec<f64> = r
            .attainment
            .iter()
            .filter(|a| a.clause == 0)
            .map(|a| a.value.unwrap())
            .collect();
        assert!(
            (0.99..0.999).contains(&values[0]) && values[1] == 1.0 && (0.99..0.999).contains(&values[2]),
            "the hand-worked months: {values:?}"
        );
    }
    let credits = tally(&s, &reps);
    // The two credited clauses, then the tenant.
    assert_eq!(credits.len(), 3);
    let (first, second, tenant) = (&credits[0], &credits[1], &credits[2]);
    assert_eq!((first.clause, second.clause, tenant.clause), (Some(0), Some(1), None));
    assert_eq!(first.month_mean, 4000.0 / 3.0);
    assert_eq!(second.month_mean, 2000.0 / 3.0);
    assert_eq!(tenant.month_mean, 2000.0);
    assert_eq!(tenant.year_mean(), 24_000.0);
    assert_eq!(
        tenant.month_interval,
        Some((2000.0, 2000.0)),
        "every replication owes the same"
    );
    assert_eq!((tenant.months, tenant.months_paying), (9, 6));
    assert_eq!(tenant.p_any, 2.0 / 3.0);
    assert_eq!(tenant.year_p95, 24_000.0);
    assert_eq!(first.year_p95, 16_000.0);
}

#[test]
fn run_writes_credits_csv_and_prints_a_line_per_tenant() {
    let dir = tempdir();
    let path = dir.path().join("s.toml");
    std::fs::write(&path, HAND_WORKED).unwrap();
    let out = dir.path().join("out");
    let o = slaplan()
        .args(["run"])
        .arg(&path)
        .args(["--replications", "2", "--quiet", "--report", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains(
            "credits acme: $2,000.00/month [$2,000.00, $2,000.00], $24,000.00/year [$24,000.00, $24,000.00]; \
             P(any credit in a month) 0.667; p95 of a year $24,000.00"
        ),
        "{stdout}"
    );
    let credits = std::fs::read_to_string(out.join("credits.csv")).unwrap();
    let lines: Vec<&str> = credits.lines().collect();
    assert!(lines[0].starts_with("tenant,scope,clause,months,months_paying,credit_month_usd,"));
    assert!(
        lines[1].starts_with("acme,tenant,,6,4,2000.00,2000.00,2000.00,24000.00,"),
        "{credits}"
    );
    assert!(
        lines[2].starts_with("acme,clause,availability >= 99.9% fee $20000 credit 10% below 99.9%, 25% below 99%,")
            || lines[2]
                .starts_with("acme,clause,\"availability >= 99.9% fee $20000 credit 10% below 99.9%, 25% below 99%\","),
        "{credits}"
    );
    let summary = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    let header = summary.lines().next().unwrap();
    // Columns may be appended after the credit columns (internal_objective, ...).
    assert!(header.contains(
        "credit_schedule,credit_month_usd,credit_month_low,credit_month_high,credit_year_usd,credit_year_low,\
         credit_year_high,credit_p_any_month,credit_year_p95"
    ));
    // The clause without a schedule has empty credit cells.
    assert!(summary.lines().nth(3).unwrap().ends_with(",,,,,,,,,"), "{summary}");
    // The review: the exposure chart, and each tenant's clauses in words.
    assert!(out.join("charts/credits.svg").exists() && out.join("charts/credits.png").exists());
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("![Expected service credits by tenant and clause](charts/credits.png)"));
    assert!(
        report.contains(
            "acme: 0 of 3 clause(s) can be offered with the required confidence. \"availability >= 99.9%\" held in \
             2 of 6 simulated windows"
        ),
        "{report}"
    );
    assert!(
        report.contains(
            "Under its credit terms (fee $20000 credit 10% below 99.9%, 25% below 99%), breaches are expected to \
             cost $16,000.00 a year ($16,000.00 to $16,000.00); a month pays a credit with probability 0.667"
        ),
        "{report}"
    );
}

/// One endpoint hit by a renewal process started in its long-run state:
/// exponential up times (mean 30 d) and repairs of exactly 6 h, calls
/// every 5 minutes on average (a 6-hour outage fails one with certainty
/// but for e^-72). January (31 d) has no failed call exactly when the
/// process is up on 1 January and its up time outlasts the month:
/// P = mtbf / (mtbf + mttr) · e^(-31/30). The credit, 10% of $1,000 below
/// 100%, is then expected to be 100 · (1 − P) a month.
#[test]
fn stochastic_outages_cost_the_closed_form_within_the_interval() {
    let text = r#"
[simulation]
start = "2026-01-01"
duration = "31d"
seed = 17

[[endpoints]]
name = "only"
concurrency = 100
attempt_timeout = "10s"
latency = { model = "exponential", mean = "50ms" }

[[outage_processes]]
endpoint = "only"
mtbf = "30d"
mttr = "6h"
repair = "lognormal"
repair_sigma = 0

[[tenants]]
name = "acme"
class = "gold"
chain = ["only"]
retry = { max_attempts = 1 }

[[tenants.workflows]]
name = "w"
rate = 0.0033333333

[[tenants.clauses]]
metric = "availability"
target = 1
monthly_fee = 1000
credits = [{ below = 1.0, credit = 0.1 }]
"#;
    let s = scenario(text);
    let reps = replicate(&s, 1000);
    let credits = tally(&s, &reps);
    let tenant = &credits[1];
    let (mtbf, mttr) = (30.0 * 24.0, 6.0);
    let clean = mtbf / (mtbf + mttr) * (-31.0f64 / 30.0).exp();
    let expected = 100.0 * (1.0 - clean);
    let (lo, hi) = tenant.month_interval.unwrap();
    assert!(
        lo <= expected && expected <= hi,
        "expected monthly credit {expected:.3} outside the reported 95% interval [{lo:.3}, {hi:.3}] (mean {:.3})",
        tenant.month_mean
    );
    let (plo, phi) = tenant.p_any_interval;
    assert!(
        plo <= 1.0 - clean && 1.0 - clean <= phi,
        "P(any) [{plo:.4}, {phi:.4}] vs {:.4}",
        1.0 - clean
    );
}

#[test]
fn a_bad_schedule_names_its_field() {
    let (first, rest) = HAND_WORKED.split_once("monthly_fee = 20000\n").unwrap();
    let bad = format!("{first}{rest}")
        .replace("[{ below = 0.999, credit = 0.10 }", "[{ above = 0.999, credit = 0.10 }")
        .replace(
            "[{ below = 0.9999, credit = 0.05 }]",
            "[{ below = \"2s\", credit = 1.5 }]",
        );
    let e = slaplan::scenario::parse(&bad, std::path::Path::new("bad.toml"))
        .unwrap_err()
        .to_string();
    for wanted in [
        "tenants[0].clauses[0].monthly_fee: a clause with credits needs a monthly_fee",
        "tenants[0].clauses[0].credits[0].above: this clause's metric breaches a step when it is below its level",
        "tenants[0].clauses[1].credits[0].below: the level is written as the clause's threshold is (a number)",
        "tenants[0].clauses[1].credits[0].credit: 1.5 is outside (0, 1]",
    ] {
        assert!(e.contains(wanted), "{wanted:?} not in:\n{e}");
    }
}
