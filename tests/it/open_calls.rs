//! Calls and tasks still open when the run ends must count, never vanish.
//!
//! `tests/fixtures/five_day_overload.toml`: one endpoint serves 1 call/s on
//! average (10 slots, exponential 10 s); gold sends 0.2/s, bronze 1.11/s,
//! for five days, then a day of drain with no arrivals. The endpoint is busy
//! throughout, so it completes about 10 × 6 × 86,400 / 10 = 518,400 calls of
//! the (0.2 + 1.11) × 5 × 86,400 = 565,920 submitted: about 47,520 calls,
//! all bronze (strict priority), are still waiting at the end, 9.9% of
//! bronze's 479,520. The count has a standard deviation of about
//! √(565,920 + 518,400) ≈ 1,040 (arrivals and completions both Poisson).

use std::fs;

use slaplan::plan::Replication;
use slaplan::scenario;
use slaplan::sla::Attainment;

use crate::common::{replicate, repo_path, slaplan, tempdir};

fn of(rep: &Replication, clause: usize) -> Attainment {
    let a: Vec<_> = rep.attainment.iter().filter(|a| a.clause == clause).collect();
    assert_eq!(a.len(), 1, "one window");
    *a[0]
}

#[test]
fn calls_still_open_after_a_five_day_overload_count_as_failed() {
    let s = scenario::load(&repo_path("tests/fixtures/five_day_overload.toml")).expect("valid");
    let r = &replicate(&s, 1)[0];
    let open = r.stats.open_calls as f64;
    // 47,520 expected, ±5 standard deviations (5,200); the endpoint is idle
    // for a few seconds at the very start, which only adds a handful.
    assert!((42_300.0..=52_800.0).contains(&open), "open calls {open}");
    assert_eq!(r.stats.open_tasks, r.stats.open_calls, "single-call tasks");
    assert_eq!(
        r.stats.calls,
        r.stats.completed + r.stats.failed + r.stats.open_calls,
        "every call is accounted for"
    );

    // Gold is served whole.
    assert_eq!((of(r, 0).value, of(r, 0).met), (Some(1.0), true));
    // Bronze: every open call is a failure. Availability and task success
    // are the served share, about 0.90, not 100%.
    let bronze = of(r, 1);
    let share = bronze.succeeded as f64 / bronze.eligible as f64;
    assert_eq!(bronze.eligible - bronze.succeeded, r.stats.open_calls + r.stats.failed);
    assert!((0.88..=0.92).contains(&share), "bronze availability {share}");
    assert!(!bronze.met);
    let tasks = of(r, 2);
    assert_eq!((tasks.eligible, tasks.succeeded), (bronze.eligible, bronze.succeeded));
    assert!(!tasks.met);
    // Uptime: the open calls are the last ones bronze submitted (one class,
    // first come first served): every minute from about 12 h before the end
    // of the period on is down, about 47,520 / 1.11 / 60 ≈ 713 of 7,200.
    let uptime = of(r, 3);
    assert_eq!(uptime.eligible, 7_200);
    let down = (uptime.eligible - uptime.succeeded) as f64;
    let expected = open / 1.11 / 60.0;
    assert!(
        (down - expected).abs() < 0.05 * expected,
        "{down} down minutes, {expected} expected"
    );
    assert!(!uptime.met);
    // p95 latency lands on an open call: no value, not met, though no
    // served call took anywhere near 2 days.
    assert_eq!((of(r, 4).value, of(r, 4).met), (None, false));
    // Throughput: the minutes whose calls are still open got none of their
    // contracted 60 served.
    let throughput = of(r, 5);
    assert!(!throughput.met);
    assert!(throughput.eligible - throughput.succeeded >= uptime.eligible - uptime.succeeded - 5);
}

#[test]
fn the_table_run_json_and_report_say_how_many_were_still_open() {
    let dir = tempdir();
    let out = dir.path().join("out");
    let run = slaplan()
        .args(["run", "--quiet", "--report", "--out"])
        .arg(&out)
        .arg(repo_path("tests/fixtures/five_day_overload.toml"))
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let meta: serde_json::Value = serde_json::from_str(&fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    let totals = &meta["totals"];
    let open = totals["open_calls"].as_u64().unwrap();
    assert!(open > 40_000, "{totals}");
    assert_eq!(totals["open_tasks"].as_u64(), Some(open));
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        stdout.contains(&format!("{open} still open at the end (judged as failed)")),
        "{stdout}"
    );
    let md = fs::read_to_string(out.join("report.md")).unwrap();
    let thousands = slaplan::report::review::content::thousands(open);
    assert!(
        md.contains(&format!("{thousands} open calls")) && md.contains("were still open when it ended"),
        "{md}"
    );
}
