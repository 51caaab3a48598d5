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
    the_paragraph_says_what_the_files_hold(&out, &report);
}

/// `$1,234.50` from a CSV cell of USD (`1234.50`), written here rather
/// than through the report's own formatting.
fn money(cell: &str) -> String {
    let (whole, cents) = cell.split_once('.').unwrap();
    let mut grouped = String::new();
    for (i, ch) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    format!("${grouped}.{cents}")
}

/// `33.3%` from a CSV cell holding a share (`0.333333`).
fn share(cell: &str) -> String {
    format!("{:.1}%", cell.parse::<f64>().unwrap() * 100.0)
}

/// The review's paragraph for acme, against the figures of `summary.csv`
/// and `credits.csv` read back, and the hand-worked ones: $2,000 a month,
/// $24,000 a year, credits in 2 months of 3.
fn the_paragraph_says_what_the_files_hold(out: &std::path::Path, report: &str) {
    let paragraph = report
        .lines()
        .find(|l| l.starts_with("acme: "))
        .unwrap_or_else(|| panic!("no paragraph for acme:\n{report}"));
    let read = |file: &str| -> Vec<std::collections::BTreeMap<String, String>> {
        let mut r = csv::Reader::from_path(out.join(file)).unwrap();
        let headers = r.headers().unwrap().clone();
        r.records()
            .map(|rec| {
                headers
                    .iter()
                    .map(String::from)
                    .zip(rec.unwrap().iter().map(String::from))
                    .collect()
            })
            .collect()
    };
    // Which clauses hold (none at 2 replications: 6 windows cannot show
    // 95%), in the grammar's words.
    assert!(
        paragraph.starts_with(
            "acme: 0 of 3 clause(s) hold with the required confidence of 95.0%. These cannot be offered as written: \
             \"availability >= 99.9%\", \"availability >= 99.99%\" and \"p50 call latency <= 10s\"."
        ),
        "{paragraph}"
    );
    for row in read("summary.csv") {
        let mut wanted = vec![format!(
            "\"{}\" held in {} of {} simulated windows: P(hold) {} (95.0% interval {} to {})",
            row["clause"],
            row["met"],
            row["windows"],
            share(&row["probability"]),
            share(&row["ci_low"]),
            share(&row["ci_high"])
        )];
        if !row["credit_schedule"].is_empty() {
            wanted.push(format!(
                "Under its credit terms ({}), breaches are expected to cost {} a month ({} to {}) and {} a year ({} to \
                 {}); a month pays a credit with probability {}, and the 95th percentile of a year's credits is {}.",
                row["credit_schedule"],
                money(&row["credit_month_usd"]),
                money(&row["credit_month_low"]),
                money(&row["credit_month_high"]),
                money(&row["credit_year_usd"]),
                money(&row["credit_year_low"]),
                money(&row["credit_year_high"]),
                share(&row["credit_p_any_month"]),
                money(&row["credit_year_p95"]),
            ));
        }
        for w in wanted {
            assert!(paragraph.contains(&w), "{w:?} not in:\n{paragraph}");
        }
    }
    let total = read("credits.csv")
        .into_iter()
        .find(|r| r["scope"] == "tenant")
        .unwrap();
    let wanted = format!(
        "Across all its clauses, acme is expected to pay credits of {} a month ({} to {}) and {} a year ({} to {}); \
         a month pays a credit with probability {}, and the 95th percentile of a year's credits is {}.",
        money(&total["credit_month_usd"]),
        money(&total["credit_month_low"]),
        money(&total["credit_month_high"]),
        money(&total["credit_year_usd"]),
        money(&total["credit_year_low"]),
        money(&total["credit_year_high"]),
        share(&total["credit_p_any_month"]),
        money(&total["credit_year_p95"]),
    );
    assert!(paragraph.contains(&wanted), "{wanted:?} not in:\n{paragraph}");
    // The hand-worked figures (the case above): the files are not only
    // repeated but right.
    assert!(
        wanted.contains("$2,000.00 a month ($2,000.00 to $2,000.00) and $24,000.00 a year")
            && wanted.contains("probability 66.7%")
            && wanted.ends_with("is $24,000.00."),
        "{wanted}"
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

/// `judge` prints the same line per tenant as `run`: on the request log of
/// the hand-worked case (a quarter of its rate: about 36 of January's
/// 13,392 calls fail in the outage, 0.27%, still in [99%, 99.9%)), January
/// and March owe $3,000 and February nothing. One judged period has no
/// interval.
#[test]
fn judge_prints_the_credits_the_logged_months_owe() {
    let dir = tempdir();
    let path = dir.path().join("s.toml");
    std::fs::write(&path, HAND_WORKED.replace("rate = 0.02", "rate = 0.005")).unwrap();
    let log = dir.path().join("requests.jsonl");
    let o = slaplan()
        .arg("run")
        .arg(&path)
        .args(["--replications", "1", "--quiet", "--out"])
        .arg(dir.path().join("sim"))
        .arg("--request-log")
        .arg(&log)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = slaplan()
        .arg("judge")
        .arg(&path)
        .arg("--log")
        .arg(&log)
        .arg("--out")
        .arg(dir.path().join("judged"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains(
            "credits acme: $2,000.00/month, $24,000.00/year; P(any credit in a month) 0.667; p95 of a year $24,000.00"
        ),
        "{stdout}"
    );
}
