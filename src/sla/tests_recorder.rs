//! The recorder against hand-worked cases.

use super::*;
use crate::sla::{CostBasis, Period, Quality, Window};
use chrono::NaiveDate;

fn start() -> chrono::NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
}

fn clause(kind: ClauseKind, workflow: Option<usize>) -> Clause {
    Clause {
        tenant: 0,
        tenant_name: "t".into(),
        workflow,
        unit: Unit::Call,
        kind,
        period: Period::Month,
        credits: None,
        ordinal: 0,
    }
}

/// A recorder over January 2026 (one month window) for one tenant with
/// two workflows and two endpoints.
fn recorder(clauses: Vec<Clause>) -> Recorder {
    Recorder::new(clauses, start(), Span::from_days(31), &[2], Quality::perfect(2))
}

fn at_ms(ms: u64) -> Time {
    Time::ZERO + Span::from_millis(ms)
}

fn served(submitted: Time, latency: Span, tier: u8) -> CallEnd {
    CallEnd {
        submitted,
        ended: submitted + latency,
        outcome: CallOutcome::Served {
            tier,
            first_token: submitted + latency,
        },
        cause: Cause::Endpoint {
            index: 0,
            outage: false,
        },
        served_by: Some(0),
    }
}

fn failed(submitted: Time, cause: Cause) -> CallEnd {
    CallEnd {
        submitted,
        ended: submitted + Span::from_millis(10),
        outcome: CallOutcome::Failed { rejected: false },
        cause,
        served_by: None,
    }
}

/// A call capacity turned away (shed, no eligible endpoint, a 429, a full
/// provider queue).
fn rejected(submitted: Time, cause: Cause) -> CallEnd {
    CallEnd {
        outcome: CallOutcome::Failed { rejected: true },
        ..failed(submitted, cause)
    }
}

/// A call submitted at `submitted` still open when the run ended at `end`.
fn open(submitted: Time, end: Time) -> CallEnd {
    CallEnd {
        submitted,
        ended: end,
        outcome: CallOutcome::Open,
        cause: Cause::Router,
        served_by: None,
    }
}

#[test]
fn hand_worked_percentile_and_availability() {
    let clauses = vec![
        clause(
            ClauseKind::Latency {
                percentile: 90.0,
                threshold: Span::from_millis(90),
            },
            None,
        ),
        clause(
            ClauseKind::Latency {
                percentile: 90.0,
                threshold: Span::from_micros(90_100),
            },
            None,
        ),
        clause(ClauseKind::Availability { target: 0.9 }, None),
        clause(ClauseKind::Availability { target: 0.9 }, Some(1)),
    ];
    let mut r = recorder(clauses);
    // 100 successes at 1..=100 ms on workflow 0, 5 failures on workflow 1.
    for ms in 1..=100 {
        r.call_done(0, 0, served(at_ms(ms), Span::from_millis(ms), 0));
    }
    for _ in 0..5 {
        r.call_done(0, 1, failed(at_ms(1), Cause::Router));
    }
    let (a, _) = r.finish();
    // p90 of 1..=100 ms is 90 ms; the histogram reports the top of its
    // 0.1%-wide bucket, lowered to the threshold when the exact count shows
    // it is met: exactly 90 ms.
    assert_eq!(a[0].value, Some(90.0));
    assert!(a[0].met, "the 90th of 100 calls took exactly 90 ms: met");
    assert!(a[1].met, "90 ms is under a 90.1 ms ceiling");
    assert!((90.0..=90.09).contains(&a[1].value.unwrap()));
    // 100 of 105 calls succeeded: 0.952 ≥ 0.9.
    assert_eq!((a[2].eligible, a[2].succeeded), (105, 100));
    assert!(a[2].met);
    // Workflow 1 alone: 0 of 5.
    assert_eq!(a[3].value, Some(0.0));
    assert!(!a[3].met);
}

#[test]
fn an_empty_window_holds_vacuously() {
    let r = recorder(vec![clause(ClauseKind::Availability { target: 0.99 }, None)]);
    let (a, _) = r.finish();
    assert_eq!(a[0].value, None);
    assert!(a[0].met);
}

#[test]
fn uptime_counts_down_minutes_over_the_whole_window() {
    // January has 44,640 minutes. Three minutes are hit: minute 10 by
    // 1 failure in 10 calls (10% > 5%: down), minute 20 by 1 in 100 (1%:
    // up), minute 30 by 2 in 2 (down). Uptime = 1 - 2/44640.
    let kind = ClauseKind::Uptime {
        target: 0.99995,
        max_error_ratio: 0.05,
    };
    let mut r = recorder(vec![clause(kind, None)]);
    let minute = |m: u64, s: u64| Time::ZERO + Span::from_secs(m * 60 + s);
    for (m, calls, fails) in [(10, 10, 1), (20, 100, 1), (30, 2, 2)] {
        for k in 0..calls {
            let end = if k < fails {
                failed(minute(m, 1), Cause::Router)
            } else {
                served(minute(m, 1), Span::from_millis(5), 0)
            };
            r.call_done(0, 0, end);
        }
    }
    let (a, m) = r.finish();
    assert_eq!((a[0].eligible, a[0].succeeded), (44_640, 44_638));
    let want = 1.0 - 2.0 / 44_640.0;
    assert!((a[0].value.unwrap() - want).abs() < 1e-12);
    // 0.999955 ≥ 0.99995: holds; the budget is 0.00005 × 44640 = 2.232
    // minutes, of which 2 were spent by the end of hour 1.
    assert!(a[0].met);
    assert_eq!(m.budget[0].eligible, 44_640);
    assert_eq!(m.budget[0].bad_by_hour.len(), 744);
    assert_eq!(m.budget[0].bad_by_hour[0], 2);
    assert_eq!(*m.budget[0].bad_by_hour.last().unwrap(), 2);
}

#[test]
fn fallbacks_that_never_happen_rank_above_every_delay() {
    let p99 = ClauseKind::FallbackTime {
        percentile: 99.0,
        threshold: Span::from_millis(200),
    };
    let all = ClauseKind::FallbackTime {
        percentile: 100.0,
        threshold: Span::from_millis(200),
    };
    let mut r = recorder(vec![clause(p99, None), clause(all, None)]);
    let cause = Cause::Endpoint { index: 0, outage: true };
    // 199 fallbacks at 100 ms and one that never happened.
    for _ in 0..199 {
        r.fallback(0, 0, at_ms(1), Some(Span::from_millis(100)), cause);
    }
    r.fallback(0, 0, at_ms(1), None, cause);
    let (a, m) = r.finish();
    // p99 of 200 events is the 198th: a 100 ms fallback.
    assert!(a[0].met);
    assert!((100.0..=100.1).contains(&a[0].value.unwrap()));
    // Every event: the missing one fails it, with no value.
    assert!(!a[1].met);
    assert_eq!(a[1].value, None);
    assert_eq!((a[1].eligible, a[1].succeeded), (200, 199));
    // Blamed on endpoint 0 during an outage (slot 1), in the failed
    // clause only.
    assert_eq!(m.causes.len(), 1);
    assert_eq!(m.causes[0].clause, 1);
    assert_eq!(m.causes[0].counts[1], 1);
}

#[test]
fn cost_per_task_is_the_window_cost_over_its_tasks() {
    let mut per_task = clause(
        ClauseKind::Cost {
            budget: 0.02,
            per: CostBasis::Task,
        },
        None,
    );
    per_task.unit = Unit::Task;
    let mut per_window = per_task.clone();
    per_window.kind = ClauseKind::Cost {
        budget: 0.05,
        per: CostBasis::Window,
    };
    let mut r = recorder(vec![per_task, per_window]);
    // Four tasks; attempts costing 0.01 + 0.02 + 0.03 + 0.02 = 0.08.
    for usd in [0.01, 0.02, 0.03, 0.02] {
        r.task_done(0, 0, at_ms(5), Some(Span::from_millis(1)));
        r.cost(0, 1, at_ms(5), usd);
    }
    let (a, _) = r.finish();
    assert!((a[0].value.unwrap() - 0.02).abs() < 1e-12);
    assert!(a[0].met, "0.02 per task within 0.02");
    assert!((a[1].value.unwrap() - 0.08).abs() < 1e-12);
    assert!(!a[1].met, "0.08 in the window over 0.05");
}

#[test]
fn rolling_windows_merge_their_days() {
    let mut c = clause(ClauseKind::Availability { target: 0.75 }, None);
    c.period = Period::Rolling { days: 2 };
    let mut r = Recorder::new(vec![c], start(), Span::from_days(3), &[1], Quality::perfect(1));
    let day = |d: u64| Time::ZERO + Span::from_hours(d * 24 + 1);
    // Day 0: 2 ok; day 1: 1 ok 1 failed; day 2: 2 failed.
    for (d, ok, bad) in [(0, 2, 0), (1, 1, 1), (2, 0, 2)] {
        for _ in 0..ok {
            r.call_done(0, 0, served(day(d), Span::from_millis(1), 0));
        }
        for _ in 0..bad {
            r.call_done(0, 0, failed(day(d), Cause::Router));
        }
    }
    let (a, m) = r.finish();
    // Windows {0,1}: 3/4 = 0.75 met; {1,2}: 1/4 not met.
    assert_eq!(a.len(), 2);
    assert_eq!((a[0].value, a[0].met), (Some(0.75), true));
    assert_eq!((a[1].value, a[1].met), (Some(0.25), false));
    // Budget curve of the second window: 48 hours, 1 failure in hour 1,
    // then 2 more in hour 25.
    let b = &m.budget[1];
    assert_eq!((b.window, b.eligible, b.bad_by_hour.len()), (1, 4, 48));
    assert_eq!(
        (b.bad_by_hour[0], b.bad_by_hour[1], b.bad_by_hour[25], b.bad_by_hour[47]),
        (0, 1, 3, 3)
    );
}

#[test]
fn the_pooled_latency_distribution_counts_each_call_once() {
    let mut c = clause(
        ClauseKind::Latency {
            percentile: 50.0,
            threshold: Span::from_secs(1),
        },
        None,
    );
    c.period = Period::Rolling { days: 2 };
    let mut r = Recorder::new(vec![c], start(), Span::from_days(3), &[1], Quality::perfect(1));
    // 10 calls of 5 ms and 10 of 50 ms spread over three days.
    for k in 0..20u64 {
        let lat = if k < 10 { 5 } else { 50 };
        r.call_done(
            0,
            0,
            served(Time::ZERO + Span::from_hours(k * 3), Span::from_millis(lat), 0),
        );
    }
    let (_, m) = r.finish();
    let l = &m.latency[0];
    assert_eq!(l.total, 20);
    let at = |ms: f64| l.at_or_under[(0..).position(|k| cdf_edge_ms(k) >= ms).unwrap()];
    assert_eq!(at(4.0), 0);
    assert_eq!(at(5.1), 10);
    assert_eq!(at(45.0), 10); // the edge at or above 45 ms is 47.3 ms
    assert_eq!(at(51.0), 20);
    assert_eq!(*l.at_or_under.last().unwrap(), 20);
}

#[test]
fn a_threshold_met_exactly_holds_and_a_nanosecond_over_fails() {
    // Every fallback takes exactly 50 ms: the HDR bucket holding 50 ms
    // tops out at 50.015 ms, but "within 50 ms" is met.
    let fb = |percentile| ClauseKind::FallbackTime {
        percentile,
        threshold: Span::from_millis(50),
    };
    let p95 = ClauseKind::Latency {
        percentile: 95.0,
        threshold: Span::from_millis(50),
    };
    let mut r = recorder(vec![clause(fb(100.0), None), clause(fb(99.0), None), clause(p95, None)]);
    let cause = Cause::Endpoint { index: 0, outage: true };
    for _ in 0..200 {
        r.fallback(0, 0, at_ms(1), Some(Span::from_millis(50)), cause);
        r.call_done(0, 0, served(at_ms(1), Span::from_millis(50), 0));
    }
    let (a, m) = r.finish();
    for (c, a) in a.iter().enumerate() {
        assert_eq!((a.value, a.met), (Some(50.0), true), "clause {c}: {a:?}");
    }
    assert!(m.causes.is_empty(), "nothing is blamed in a window that held");

    // One nanosecond over, on the percentile's own event: never met.
    let mut r = recorder(vec![clause(fb(100.0), None), clause(p95, None)]);
    for k in 0..200u64 {
        let d = Span::from_millis(50) + Span::from_nanos(u64::from(k == 199));
        r.fallback(0, 0, at_ms(1), Some(d), cause);
        let lat = Span::from_millis(50) + Span::from_nanos(u64::from(k >= 190));
        r.call_done(0, 0, served(at_ms(1), lat, 0));
    }
    let (a, _) = r.finish();
    // Every fallback: the 200th took 50 ms + 1 ns.
    assert!(!a[0].met);
    assert!(a[0].value.unwrap() > 50.0, "{:?}", a[0]);
    // p95 of 200 calls is the 190th: exactly 50 ms (the ten slower ones
    // are the 191st to 200th).
    assert!(a[1].met, "{:?}", a[1]);
}

#[test]
fn throughput_judges_the_contracted_rate_capped_by_what_was_offered() {
    // 10 rpm. A minute holds when the calls submitted in it that capacity
    // did not turn away reach min(submitted, 10).
    let kind = ClauseKind::Throughput { rpm: 10.0 };
    let mut r = recorder(vec![clause(kind, None)]);
    let t = |m: u64, s: u64| Time::ZERO + Span::from_secs(m * 60 + s);
    let busy = Cause::Endpoint {
        index: 1,
        outage: false,
    };
    let mut minute = |m: u64, offered: u64, admitted: u64, errors: u64| {
        for k in 0..offered {
            r.call_submitted(0, 0, t(m, k % 60));
            // Ends a minute later: still counted in its submission minute.
            let end = if k < errors {
                failed(t(m, k % 60), Cause::Endpoint { index: 0, outage: true })
            } else if k < admitted {
                served(t(m, k % 60), Span::from_secs(60), 0)
            } else {
                rejected(t(m, k % 60), busy)
            };
            r.call_done(0, 0, end);
        }
    };
    minute(5, 40, 10, 0); // 75% refused, the contracted 10 admitted: holds
    minute(6, 40, 9, 0); // 9 < 10: breach
    minute(7, 4, 4, 0); // within the rate, all admitted: holds
    minute(8, 4, 3, 0); // within the rate, one refused: breach
    minute(9, 4, 4, 2); // two 5xx errors, none refused: holds (availability's)
    let (a, m) = r.finish();
    assert_eq!((a[0].eligible, a[0].succeeded), (44_640, 44_638));
    assert!(!a[0].met);
    assert_eq!(a[0].value, Some(44_638.0 / 44_640.0));
    // Blame: every call turned away, on the busy endpoint 1 (slot 2 of
    // 2 × 2 + 1); the errors are not throughput's.
    assert_eq!(m.causes[0].counts, vec![0, 0, 30 + 31 + 1, 0, 0]);

    // A fractional rate: 2.5 rpm needs 3 of 5 admitted.
    let mut r = recorder(vec![clause(ClauseKind::Throughput { rpm: 2.5 }, None)]);
    for k in 0..5 {
        r.call_submitted(0, 0, t(1, k));
        let end = if k < 2 {
            served(t(1, k), Span::from_secs(1), 0)
        } else {
            rejected(t(1, k), Cause::Router)
        };
        r.call_done(0, 0, end);
    }
    assert!(!r.finish().0[0].met, "2 admitted of 5 offered at 2.5 rpm");
}

#[test]
fn calls_and_tasks_still_open_count_against_every_clause() {
    let end = Time::ZERO + Span::from_days(32);
    let p50 = ClauseKind::Latency {
        percentile: 50.0,
        threshold: Span::from_secs(1),
    };
    let p99 = ClauseKind::Latency {
        percentile: 99.0,
        threshold: Span::from_days(40),
    };
    let ttft = ClauseKind::Ttft {
        percentile: 99.0,
        threshold: Span::from_days(40),
    };
    let uptime = ClauseKind::Uptime {
        target: 0.9,
        max_error_ratio: 0.5,
    };
    let clauses = vec![
        clause(p50, None),
        clause(p99, None),
        clause(ttft, None),
        clause(ClauseKind::Availability { target: 0.5 }, None),
        clause(uptime, None),
        clause(ClauseKind::Throughput { rpm: 100.0 }, None),
    ];
    let mut r = recorder(clauses);
    // Minute 3: 10 calls served in 1 ms, 10 still open at the end.
    let at = Time::ZERO + Span::from_secs(3 * 60);
    for _ in 0..10 {
        r.call_submitted(0, 0, at);
        r.call_done(0, 0, served(at, Span::from_millis(1), 0));
    }
    for _ in 0..10 {
        r.call_submitted(0, 0, at);
        r.call_done(0, 0, open(at, end));
    }
    let (a, m) = r.finish();
    // p50 over 20 ranked calls is the 10th: a served one, 1 ms.
    assert_eq!((a[0].value, a[0].met), (Some(1.0), true));
    // p99 is the 20th: an open call. No value, not met, whatever the
    // threshold (even 40 days, beyond anything the run could show).
    assert_eq!(
        (a[1].value, a[1].met, a[1].eligible, a[1].succeeded),
        (None, false, 20, 10)
    );
    assert_eq!((a[2].value, a[2].met), (None, false));
    // Availability: 10 of 20.
    assert_eq!((a[3].value, a[3].met), (Some(0.5), true));
    assert_eq!(m.budget[0].bad_by_hour[0], 10);
    // Uptime: minute 3 has 10 failures in 20 calls: not above 50%, up.
    // Throughput: 10 served of 20 offered at 100 rpm: breach.
    assert_eq!(a[4].succeeded, 44_640);
    assert_eq!((a[5].succeeded, a[5].met), (44_639, false));
    // The open calls are above every edge of the pooled distribution.
    let l = m.latency.iter().find(|l| l.clause == 1).unwrap();
    assert_eq!((l.total, l.open), (10, 10));

    // Tasks: one done in 2 s at 0.01 USD, one still open having spent
    // 0.03 USD. Task success 1 of 2; the cost per task divides by the task
    // that ended only: 0.04 / 1.
    let task = |kind| {
        let mut c = clause(kind, None);
        c.unit = Unit::Task;
        c
    };
    let clauses = vec![
        task(ClauseKind::Availability { target: 0.6 }),
        task(ClauseKind::Latency {
            percentile: 50.0,
            threshold: Span::from_secs(3),
        }),
        task(ClauseKind::Latency {
            percentile: 60.0,
            threshold: Span::from_secs(3),
        }),
        task(ClauseKind::Cost {
            budget: 0.05,
            per: CostBasis::Task,
        }),
    ];
    let mut r = recorder(clauses);
    r.task_done(0, 0, at, Some(Span::from_secs(2)));
    r.cost(0, 0, at, 0.01);
    r.task_open(0, 1, at);
    r.cost(0, 1, at, 0.03);
    let (a, _) = r.finish();
    assert_eq!((a[0].value, a[0].met, a[0].eligible), (Some(0.5), false, 2));
    assert_eq!((a[1].value, a[1].met), (Some(2000.0), true), "p50 of 2 is the first");
    assert_eq!((a[2].value, a[2].met), (None, false), "p60 of 2 is the open one");
    assert!((a[3].value.unwrap() - 0.04).abs() < 1e-12);
    assert_eq!(a[3].eligible, 1);
}

#[test]
fn uptime_counts_a_call_ending_after_the_period_in_its_submission_minute() {
    let kind = ClauseKind::Uptime {
        target: 0.5,
        max_error_ratio: 0.0,
    };
    let mut r = Recorder::new(
        vec![clause(kind, None)],
        start(),
        Span::from_days(1),
        &[2],
        Quality::perfect(2),
    );
    // Submitted in minute 1439 (the last), failed in the drain 2 h later.
    let at = Time::ZERO + Span::from_secs(1439 * 60);
    let mut late = failed(at, Cause::Router);
    late.ended = at + Span::from_hours(2);
    r.call_done(0, 0, late);
    let (a, m) = r.finish();
    assert_eq!((a[0].eligible, a[0].succeeded), (1440, 1439));
    assert_eq!(*m.budget[0].bad_by_hour.last().unwrap(), 1);
}

#[test]
fn the_pooled_distribution_reaches_the_largest_value() {
    let c = clause(
        ClauseKind::Latency {
            percentile: 50.0,
            threshold: Span::from_secs(1),
        },
        None,
    );
    let mut r = recorder(vec![c]);
    // 1 call of 10 ms and 1 of 5000 s (past the 1000 s of the minimum edges).
    r.call_done(0, 0, served(at_ms(1), Span::from_millis(10), 0));
    r.call_done(0, 0, served(at_ms(1), Span::from_secs(5000), 0));
    let (_, m) = r.finish();
    let l = &m.latency[0];
    let n = l.at_or_under.len();
    assert!(n > CDF_MIN_EDGES as usize);
    assert!(cdf_edge_ms(n as u32 - 1) >= 5_000_000.0);
    assert!(cdf_edge_ms(n as u32 - 2) < 5_000_000.0);
    assert_eq!(*l.at_or_under.last().unwrap(), 2);
    assert_eq!(
        l.at_or_under[CDF_MIN_EDGES as usize - 1],
        1,
        "1 of 2 at or under 1000 s"
    );
}

/// Quality clauses count calls by the quality of the endpoint that served
/// them; failed and open calls at quality 0. Endpoint 0 at 0.9, endpoint
/// 1 at 0.4: 2 calls served by 0, 1 by 1, 1 failed, 1 still open gives a
/// mean of (2 × 0.9 + 0.4) / 5 = 0.44, under a target of 0.5; the audit of 100 samples takes
/// all 5, at most the 3 served passing. Calls below the target (the one
/// served by endpoint 1, the failed and the open) are the bad events.
#[test]
fn quality_clauses_count_calls_by_the_serving_endpoint() {
    let quality = Quality {
        endpoints: vec![0.9, 0.4],
        seed: 3,
        replication: 0,
    };
    let clauses = vec![
        clause(ClauseKind::MeanQuality { target: 0.5 }, None),
        clause(
            ClauseKind::EvalPassRate {
                target: 0.5,
                samples: 100,
            },
            None,
        ),
    ];
    let mut r = Recorder::new(clauses, start(), Span::from_days(31), &[2], quality);
    let by = |e: u32| CallEnd {
        served_by: Some(e),
        cause: Cause::Endpoint {
            index: e,
            outage: false,
        },
        ..served(at_ms(1), Span::from_millis(5), 0)
    };
    r.call_done(0, 0, by(0));
    r.call_done(0, 1, by(0));
    r.call_done(0, 0, by(1));
    r.call_done(0, 0, failed(at_ms(2), Cause::Router));
    r.call_done(0, 0, open(at_ms(3), at_ms(9)));
    let (a, m) = r.finish();
    assert_eq!(
        a[0].value,
        Some(0.44),
        "rounded to 12 decimals: exact for a hand-worked mean"
    );
    assert!(!a[0].met);
    assert_eq!((a[0].eligible, a[0].succeeded), (5, 3));
    assert_eq!(a[1].eligible, 5, "fewer calls than samples: all of them");
    assert!(a[1].succeeded <= 3);
    assert_eq!(a[1].value, Some(a[1].succeeded as f64 / 5.0));
    // Blame, where a clause failed: endpoint 1 once, the router twice.
    assert!(m.causes.iter().any(|c| c.clause == 0));
    for c in m.causes.iter() {
        assert_eq!((c.counts[2], c.counts[4]), (1, 2), "clause {}", c.clause);
    }
}

/// The bucket a track finds from its hint is the plain lookup's (the last
/// bucket started by `t`, if `t` is before its end), for times in random
/// order, in order, and outside the period.
#[test]
fn the_bucket_hint_finds_what_the_plain_lookup_finds() {
    let mut c = clause(ClauseKind::Availability { target: 0.9 }, None);
    c.period = Period::Rolling { days: 3 };
    let mut r = Recorder::new(vec![c], start(), Span::from_days(10), &[1], Quality::perfect(1));
    let track = &mut r.tracks[0];
    let plain = |b: &[Window], t: Time| {
        let idx = b.partition_point(|w| w.start <= t);
        (idx > 0 && t < b[idx - 1].end).then(|| idx - 1)
    };
    let mut rng = crate::engine::stream(1, 0, "test");
    let mut draw = |n: u64| rand::RngExt::random_range(&mut rng, 0..n);
    let hour = Span::from_hours(1).as_nanos();
    let mut t = 0;
    for i in 0..5_000 {
        // Mostly forward in small steps, sometimes anywhere (up to a day
        // past the period).
        t = if i % 7 == 0 {
            draw(11 * 24 * hour)
        } else {
            t + draw(3 * hour)
        };
        let at = Time::from_nanos(t);
        let expected = plain(&track.layout.buckets, at);
        assert_eq!(track.bucket_of(at), expected, "at {at:?}");
    }
}

/// A cause worked out lazily is asked for only for bad calls, and judges
/// as the same cause given outright.
#[test]
fn a_lazy_cause_is_asked_only_for_bad_calls_and_judges_as_an_eager_one() {
    let clauses = || {
        vec![
            clause(ClauseKind::Availability { target: 0.99 }, None),
            clause(
                ClauseKind::Latency {
                    percentile: 50.0,
                    threshold: Span::from_millis(100),
                },
                None,
            ),
        ]
    };
    let cause = Cause::Endpoint { index: 1, outage: true };
    let asked = std::cell::Cell::new(0);
    let lazy = || {
        asked.set(asked.get() + 1);
        cause
    };
    let with = |e: CallEnd, cause| CallEnd {
        submitted: e.submitted,
        ended: e.ended,
        outcome: e.outcome,
        cause,
        served_by: e.served_by,
    };
    let mut eager_r = recorder(clauses());
    let mut lazy_r = recorder(clauses());
    for (i, latency) in [50u64, 150, 80, 300].into_iter().enumerate() {
        let end = CallEnd {
            cause,
            ..served(at_ms(1000 * i as u64), Span::from_millis(latency), 0)
        };
        eager_r.call_done(0, 0, end);
        lazy_r.call_done(0, 0, with(end, lazy));
    }
    let end = failed(at_ms(9000), cause);
    eager_r.call_done(0, 0, end);
    lazy_r.call_done(0, 0, with(end, lazy));
    // Two slow calls blamed by the latency clause, the failure by
    // availability only (a failed call is not in a latency distribution).
    assert_eq!(asked.get(), 2 + 1);
    assert_eq!(eager_r.finish(), lazy_r.finish());
}

/// A window whose calls were all submitted and none served (failed, or
/// still open at the end) has no served call to show the tier floor held:
/// like a latency clause on such a window, the degradation clause has no
/// value and does not hold. Only a window without calls holds vacuously.
#[test]
fn a_tier_floor_does_not_hold_on_a_window_where_nothing_was_served() {
    let degradation = ClauseKind::Degradation {
        tier: 0,
        max_share: 0.0,
    };
    let latency = ClauseKind::Latency {
        percentile: 50.0,
        threshold: Span::from_secs(1),
    };
    let mut r = recorder(vec![clause(degradation, None), clause(latency, None)]);
    for ms in 1..=3 {
        r.call_done(0, 0, failed(at_ms(ms), Cause::Router));
    }
    r.call_done(0, 0, open(at_ms(4), at_ms(5)));
    let (a, _) = r.finish();
    assert_eq!((a[1].value, a[1].met), (None, false), "latency, for comparison");
    assert_eq!((a[0].value, a[0].met), (None, false));
    assert_eq!((a[0].eligible, a[0].succeeded), (4, 0));
    // No call at all: vacuous.
    let (a, _) = recorder(vec![clause(degradation, None)]).finish();
    assert_eq!((a[0].value, a[0].met), (None, true));
}

/// A call the client withdrew is censored at its wait: a latency clause
/// whose threshold the wait passed counts it as a breach ranked above
/// every served call, a shorter wait counts nowhere, a time-to-first-token
/// clause takes the first token it had, and availability never counts it.
#[test]
fn a_withdrawn_call_counts_only_where_its_wait_proves_a_breach() {
    let p50 = |threshold: u64| ClauseKind::Latency {
        percentile: 50.0,
        threshold: Span::from_millis(threshold),
    };
    let ttft = ClauseKind::Ttft {
        percentile: 100.0,
        threshold: Span::from_millis(100),
    };
    let availability = ClauseKind::Availability { target: 0.5 };
    let clauses = vec![
        clause(p50(1000), None),
        clause(p50(5000), None),
        clause(ttft, None),
        clause(availability, None),
    ];
    let mut r = recorder(clauses);
    // One call served in 10 ms; one withdrawn after 2 s, its first token
    // at 50 ms; one withdrawn after 2 s without a first token.
    r.call_done(0, 0, served(at_ms(0), Span::from_millis(10), 0));
    r.call_withdrawn(0, 0, at_ms(100), at_ms(2100), Some(at_ms(150)), Cause::Router);
    r.call_withdrawn(0, 0, at_ms(200), at_ms(2200), None, Cause::Router);
    let (a, _) = r.finish();
    // p50 ≤ 1 s: both waits passed it; ranked 3, rank 2 is a breach.
    assert_eq!(
        (a[0].value, a[0].met, a[0].eligible, a[0].succeeded),
        (None, false, 3, 1)
    );
    // p50 ≤ 5 s: neither wait passed it; the served call alone.
    assert_eq!((a[1].met, a[1].eligible, a[1].succeeded), (true, 1, 1));
    // ttft p100 ≤ 100 ms: 10 ms served, 50 ms withdrawn (its first token
    // came), and the one without a first token after 2 s: a breach.
    assert_eq!(
        (a[2].value, a[2].met, a[2].eligible, a[2].succeeded),
        (None, false, 3, 2)
    );
    // Availability: the served call only.
    assert_eq!((a[3].eligible, a[3].succeeded), (1, 1));
}
