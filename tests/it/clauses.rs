//! The clause kinds beyond latency and availability, and the windows beyond
//! months, against hand-worked values: uptime minutes, fallback and
//! notification times, cost, throughput; days and rolling windows.

use slaplan::plan::Replication;
use slaplan::scenario;
use slaplan::sla::Attainment;

use crate::common::{replicate, scenario, tempdir};

/// Three days; the primary is hard down for exactly two hours on day 2
/// (10:00-12:00). Tenant `a` falls back to a tier-1 secondary after a fixed
/// 150 ms backoff and asks for degradation notices; `b` is the same without
/// notices; `c` has the primary only. Calls are Poisson at 2/s per tenant,
/// so every minute of the outage has calls.
///
/// With tenant tiers (default `degrade_after` 3, `promote_after` 30 s),
/// `a` and `b` are degraded to tier 1 by their third call that fails over,
/// and from then on their calls start on the secondary; one probe call at a
/// time tries the primary: the first call arriving at least 30 s after the
/// previous probe fell back (its 20 ms failure plus the 150 ms backoff).
/// Probes come every 30.17 s + Exp(mean 0.5 s), so about 7,200 / 30.67 ≈
/// 235 of them fail in the outage (a renewal count with a standard
/// deviation of √(7,200 × 0.5² / 30.67³) ≈ 0.25); the first after 12:00 is
/// served and promotes the tenant back.
const OUTAGE_DAY: &str = r#"
[simulation]
start = "2026-03-01"
duration = "3d"
seed = 5

[[endpoints]]
name = "primary"
concurrency = 1000
attempt_timeout = "10s"
latency = { model = "exponential", mean = "50ms" }
outages = [{ start = "2026-03-02T10:00:00", duration = "2h", mode = "down" }]

[[endpoints]]
name = "secondary"
concurrency = 1000
attempt_timeout = "10s"
latency = { model = "exponential", mean = "80ms" }

[[tenants]]
name = "a"
class = "gold"
chain = ["primary", { endpoint = "secondary", tier = 1 }]
max_attempts = 2
backoff = "150ms"
notify_on_degradation = true

[[tenants.workflows]]
name = "w"
rate = 2

[[tenants.clauses]]
metric = "fallback_time"
threshold = "200ms"
window = "day"

[[tenants.clauses]]
metric = "fallback_time"
threshold = "100ms"
window = "day"

[[tenants.clauses]]
metric = "notification"
threshold = "200ms"
window = "day"

[[tenants.clauses]]
metric = "uptime"
target = 0.999
window = "day"

[[tenants]]
name = "b"
class = "gold"
chain = ["primary", { endpoint = "secondary", tier = 1 }]
max_attempts = 2
backoff = "150ms"

[[tenants.workflows]]
name = "w"
rate = 2

[[tenants.clauses]]
metric = "notification"
threshold = "1h"
window = "day"

[[tenants]]
name = "c"
class = "gold"
chain = ["primary"]
max_attempts = 1

[[tenants.workflows]]
name = "w"
rate = 2

[[tenants.clauses]]
metric = "uptime"
target = 0.99
max_error_ratio = 0.5
window = "day"

[[tenants.clauses]]
metric = "uptime"
target = 0.95
max_error_ratio = 0.5
window = "rolling 2d"

[[tenants.clauses]]
metric = "fallback_time"
threshold = "1s"
window = "day"
"#;

/// The judgements of clause `clause`, window by window.
fn of(rep: &Replication, clause: usize) -> Vec<Attainment> {
    rep.attainment.iter().filter(|a| a.clause == clause).copied().collect()
}

fn within(value: Option<f64>, low: f64, high: f64) -> bool {
    value.is_some_and(|v| (low..=high).contains(&v))
}

#[test]
fn fallback_notification_and_uptime_over_an_outage_day() {
    let reps = replicate(&scenario(OUTAGE_DAY), 1);
    let r = &reps[0];

    // a: the 3 calls before the degradation and every probe fail once on
    // the primary (after its 20 ms error latency) and are dispatched to the
    // secondary exactly 150 ms later; the other calls of the outage start
    // on the secondary and have no fallback. Other days have no failure:
    // vacuous.
    let fb200 = of(r, 0);
    assert_eq!(fb200.len(), 3, "three day windows");
    assert_eq!((fb200[0].value, fb200[0].met, fb200[0].eligible), (None, true, 0));
    assert!(within(fb200[1].value, 150.0, 150.15), "{:?}", fb200[1]);
    assert!(fb200[1].met);
    // 3 + about 235 probes (the count varies by well under ±5).
    assert!(
        (3 + 230..=3 + 240).contains(&fb200[1].eligible),
        "{}",
        fb200[1].eligible
    );
    assert_eq!(fb200[1].succeeded, fb200[1].eligible);
    assert_eq!((fb200[2].value, fb200[2].met), (None, true));
    let fb100 = of(r, 1);
    assert!(!fb100[1].met, "150 ms is over a 100 ms ceiling");
    // One degradation, one notice: it goes out when the third failed-over
    // call is dispatched on tier 1, 150 ms after the failure that degraded
    // the tenant (the recovery notice at the promotion is not a
    // degradation to judge).
    let notice = of(r, 2);
    assert!(within(notice[1].value, 150.0, 150.15), "{:?}", notice[1]);
    assert_eq!(notice[1].eligible, 1, "one incident, one degradation notice");
    assert!(notice[1].met && notice[0].met && notice[2].met);
    // No call of `a` failed: every minute is up.
    assert!(of(r, 3).iter().all(|a| a.value == Some(1.0) && a.met));

    // b is degraded once too but gets no notice: the clause fails on day
    // 2 with no value, and holds vacuously on the other days.
    let silent = of(r, 4);
    assert_eq!((silent[1].value, silent[1].met), (None, false));
    assert_eq!(silent[1].succeeded, 0);
    assert_eq!(silent[1].eligible, 1, "one incident");
    assert!(silent[0].met && silent[2].met);

    // c: exactly the 120 outage minutes are down, out of 1440 a day.
    let up = of(r, 5);
    assert_eq!(up.iter().map(|a| a.eligible).collect::<Vec<_>>(), [1440, 1440, 1440]);
    assert_eq!(up[1].succeeded, 1440 - 120);
    assert_eq!(up[1].value, Some(1.0 - 120.0 / 1440.0));
    assert!(up[0].met && !up[1].met && up[2].met);
    // Rolling two days: both windows hold day 2, 120 of 2880 minutes down.
    let rolling = of(r, 6);
    assert_eq!(rolling.len(), 2);
    for w in &rolling {
        assert_eq!((w.eligible, w.succeeded), (2880, 2880 - 120));
        assert!(w.met, "0.9583 >= 0.95");
    }
    // c has nowhere to fall back to: every failure is a fallback that never
    // happened.
    let never = of(r, 7);
    assert_eq!((never[1].value, never[1].met, never[1].succeeded), (None, false, 0));
    assert!((13_500..=15_300).contains(&never[1].eligible), "{}", never[1].eligible);
}

/// One endpoint at 3 USD per million input tokens and 15 per million
/// output; every call has 1000 input and 100 output tokens, so each costs
/// 0.003 + 0.0015 = 0.0045 USD, and a single-call task costs the same.
const COST: &str = r#"
[simulation]
start = "2026-03-01"
duration = "2d"
seed = 9

[[endpoints]]
name = "e"
concurrency = 1000
attempt_timeout = "10s"
cost_per_million_input = 3
cost_per_million_output = 15
latency = { model = "exponential", mean = "50ms" }

[[tenants]]
name = "t"
class = "gold"
chain = ["e"]

[[tenants.workflows]]
name = "w"
rate = 0.5
input_tokens = { dist = "constant", value = 1000 }
output_tokens = { dist = "constant", value = 100 }

[[tenants.clauses]]
metric = "cost"
budget = 0.0045
per = "task"

[[tenants.clauses]]
metric = "cost"
budget = 0.00449

[[tenants.clauses]]
metric = "cost"
budget = 400
per = "window"
window = "day"
"#;

#[test]
fn cost_per_task_and_per_window_match_the_price_list() {
    let reps = replicate(&scenario(COST), 1);
    let r = &reps[0];
    let per_task = of(r, 0)[0];
    assert!((per_task.value.unwrap() - 0.0045).abs() < 1e-12, "{per_task:?}");
    assert!(per_task.met);
    assert!(!of(r, 1)[0].met, "0.0045 is over 0.00449");
    for day in of(r, 2) {
        // The day's cost is 0.0045 per task that arrived that day.
        let tasks = day.eligible as f64;
        assert!((day.value.unwrap() - 0.0045 * tasks).abs() < 1e-9 * tasks, "{day:?}");
        assert!(day.met, "about 43,200 tasks × 0.0045 = 194 USD");
    }
}

/// A trace of 25 calls: minute 0 has 5, 12 s apart; minute 1 has 20, 3 s
/// apart. The endpoint has one slot, no queue, and serves in exactly 10 s,
/// so minute 0 is served whole and minute 1 loses 15 of its 20 calls (75%):
/// a call finds the slot free only 12 s after the last one it took, at 60,
/// 72, 84, 96 and 108 s.
fn throughput_scenario(rpm: u32) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempdir();
    let mut trace = String::from("timestamp,input_tokens,output_tokens\n");
    for s in (0..60).step_by(12).chain((60..120).step_by(3)) {
        trace.push_str(&format!("{s},100,10\n"));
    }
    std::fs::write(dir.path().join("trace.csv"), trace).unwrap();
    let text = format!(
        r#"
[simulation]
start = "2026-03-01"
duration = "1d"
seed = 3

[[endpoints]]
name = "e"
concurrency = 1
queue_limit = 0
max_in_flight = 100
attempt_timeout = "1m"
latency = {{ model = "lognormal", ttft = "10s" }}

[[tenants]]
name = "t"
class = "gold"
chain = ["e"]
max_attempts = 1

[[tenants.workflows]]
name = "w"
rate = 0
replay = {{ path = "trace.csv", format = "generic" }}

[[tenants.clauses]]
metric = "throughput"
rpm = {rpm}

[[tenants.clauses]]
metric = "availability"
target = 0.3
"#
    );
    let path = dir.path().join("scenario.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

#[test]
fn throughput_judges_the_contracted_rate_when_a_tenant_sends_more() {
    let judge = |rpm| {
        let (_dir, path) = throughput_scenario(rpm);
        let s = scenario::load(&path).expect("valid");
        let r = &replicate(&s, 1)[0];
        (of(r, 0)[0], of(r, 1)[0])
    };
    // 10 rpm: minute 1 offered 20 and 15 were refused (75%); only 5 were
    // served, short of the contracted 10. Every other minute holds (minute
    // 0 served all 5 it offered, the rest offered nothing).
    let (throughput, availability) = judge(10);
    assert_eq!((availability.eligible, availability.succeeded), (25, 10));
    assert_eq!((throughput.eligible, throughput.succeeded), (1440, 1439));
    assert!(!throughput.met, "5 admitted of a contracted 10 rpm");
    // 5 rpm: the 5 admitted are the contracted rate: the refusals are all
    // beyond it.
    let (throughput, _) = judge(5);
    assert_eq!((throughput.eligible, throughput.succeeded), (1440, 1440));
    assert!(throughput.met);
    // 30 rpm: minute 1 is within the contract: no call may be turned away.
    let (throughput, _) = judge(30);
    assert_eq!((throughput.succeeded, throughput.met), (1439, false));
}

/// Reads a CSV output into rows of (header → value).
fn rows(path: &std::path::Path) -> Vec<std::collections::BTreeMap<String, String>> {
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

#[test]
fn the_outage_day_in_the_output_files() {
    let dir = tempdir();
    let scenario_path = dir.path().join("outage.toml");
    std::fs::write(&scenario_path, OUTAGE_DAY).unwrap();
    let out = dir.path().join("out");
    let status = crate::common::slaplan()
        .args(["run", "--replications", "2", "--out"])
        .arg(&out)
        .arg(&scenario_path)
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));

    // Tenant c's daily uptime (clause 5): its budget is 1% of 1440 minutes,
    // 14.4; the 120 down minutes fall in hours 11 and 12 of 2 March.
    let budget = rows(&out.join("budget.csv"));
    let at = |hour: &str| {
        budget
            .iter()
            .find(|r| r["clause_index"] == "5" && r["window"] == "2026-03-02" && r["hour"] == hour)
            .map(|r| r["consumed_p50"].parse::<f64>().unwrap())
            .unwrap()
    };
    assert_eq!(at("10"), 0.0);
    assert!((at("11") - 60.0 / 14.4).abs() < 1e-6);
    assert!((at("12") - 120.0 / 14.4).abs() < 1e-6);
    assert!((at("24") - 120.0 / 14.4).abs() < 1e-6);
    let windows = rows(&out.join("windows.csv"));
    let consumed: Vec<&str> = windows
        .iter()
        .filter(|r| r["clause_index"] == "5" && r["replication"] == "0")
        .map(|r| r["budget_consumed"].as_str())
        .collect();
    assert_eq!(consumed, ["0.000000", "8.333333", "0.000000"]);

    // The outage is on the sample timeline, 34 h to 36 h into the period,
    // and tenant a's tier-1 periods lie within it.
    let timeline = rows(&out.join("timeline.csv"));
    let outage: Vec<_> = timeline.iter().filter(|r| r["kind"] == "outage").collect();
    assert_eq!(outage.len(), 1);
    assert_eq!(
        (
            outage[0]["lane"].as_str(),
            outage[0]["start_ms"].as_str(),
            outage[0]["end_ms"].as_str()
        ),
        ("primary", "122400000.000", "129600000.000")
    );
    let tiers: Vec<_> = timeline.iter().filter(|r| r["lane"] == "a").collect();
    assert!(!tiers.is_empty());
    for t in tiers {
        let (s, e): (f64, f64) = (t["start_ms"].parse().unwrap(), t["end_ms"].parse().unwrap());
        assert!(s >= 122_400_000.0 && e <= 129_600_000.0 + 60_000.0, "{t:?}");
        assert_eq!(t["detail"], "1");
    }

    // c's failed uptime windows are blamed on the primary, in its outage.
    let drivers = rows(&out.join("drivers.csv"));
    let c: Vec<_> = drivers.iter().filter(|r| r["clause_index"] == "5").collect();
    assert_eq!(c.len(), 1, "{c:?}");
    assert_eq!(
        (
            c[0]["cause"].as_str(),
            c[0]["during_outage"].as_str(),
            c[0]["share"].as_str()
        ),
        ("primary", "true", "1.000000")
    );

    // a's fallbacks all took 150 ms: none at or under 141 ms, all by 150.1 ms.
    let latency = rows(&out.join("latency.csv"));
    let share = |upper: f64| {
        latency
            .iter()
            .filter(|r| r["clause_index"] == "0")
            .find(|r| r["upper_ms"].parse::<f64>().unwrap() >= upper)
            .map(|r| r["cumulative_share"].parse::<f64>().unwrap())
            .unwrap()
    };
    assert_eq!(share(140.0), 0.0);
    assert_eq!(share(150.2), 1.0);

    // The summary names each clause's kind, period and direction.
    let summary = rows(&out.join("summary.csv"));
    let kinds: Vec<(&str, &str, &str)> = summary
        .iter()
        .map(|r| (r["kind"].as_str(), r["period"].as_str(), r["direction"].as_str()))
        .collect();
    assert_eq!(kinds[5], ("uptime", "day", ">="));
    assert_eq!(kinds[6], ("uptime", "rolling 2d", ">="));
    assert_eq!(kinds[0], ("fallback_time", "day", "<="));
    assert_eq!(summary[6]["windows"], "4", "two rolling windows × two replications");
}
