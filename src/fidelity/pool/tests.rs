//! The pooled interval against hand-worked cases, the decision's
//! boundaries, and the runs needed against a linear search.

use super::*;

fn value(predicted: f64, sd: f64, replications: u32, measured: Option<f64>) -> Option<RunValue> {
    Some(RunValue {
        predicted,
        sd,
        replications,
        measured,
    })
}

fn figure(metric: &str, runs: Vec<Option<RunValue>>) -> Figure {
    Figure {
        tenant: "gold".into(),
        metric: metric.into(),
        goal: Goal::of(metric, None),
        runs,
    }
}

#[test]
fn two_runs_pool_to_the_hand_worked_interval() {
    // Run 1: predicted 2000 ms (s = 100, R = 5), measured 2100: error +5 %,
    // s relative 0.05, variance 0.05² · 1.2 = 0.003.
    // Run 2: predicted 1000 ms (s = 40, R = 5), measured 980: error -2 %,
    // s relative 0.04, variance 0.04² · 1.2 = 0.00192.
    // Mean +1.5 %; df = 4 + 4 = 8, t(8, 0.975) = 2.306004;
    // half width 2.306004 · √0.00492 / 2 = 0.0808747.
    let f = figure(
        "p95_ms",
        vec![
            value(2000.0, 100.0, 5, Some(2100.0)),
            value(1000.0, 40.0, 5, Some(980.0)),
        ],
    );
    let p = pool(&f, 0.95);
    let t = t_quantile(8.0, 0.95);
    assert!((t - 2.306004).abs() < 1e-6, "{t}");
    let half = 2.306004 * 0.00492f64.sqrt() / 2.0;
    assert!((half - 0.0808747).abs() < 1e-6, "{half}");
    assert_eq!(p.errors, vec![Some(0.05), Some(-0.02)]);
    assert!((p.mean_error.unwrap() - 0.015).abs() < 1e-12);
    let (lo, hi) = p.interval.unwrap();
    assert!((lo - (0.015 - half)).abs() < 1e-6, "{lo}");
    assert!((hi - (0.015 + half)).abs() < 1e-6, "{hi}");
    assert_eq!(p.degrees_of_freedom, 8);
    assert_eq!(p.decision, Decision::Undecided);
    // If the bias is nil, N runs (variance 0.00246 and 4 df each) decide
    // it when t(4N) · √(0.00246 / N) ≤ 0.05: N = 4 gives t(16) = 2.1199 and
    // 0.0526; N = 5 gives t(20) = 2.0860 and 0.0463.
    assert_eq!(p.runs_to_decide, Some(5));
    assert_eq!(p.more_runs(), Some(3));
}

#[test]
fn fidelity_md_steady_gold_p50_is_reproduced() {
    // FIDELITY.md, "Tails within 5 %": steady gold p50, two runs of 30
    // replications, errors -1.2 % and +0.8 %, one-run intervals about
    // ±3.4 % wide (s ≈ 1.63 % of the prediction): bias interval -2.5 % to
    // +2.2 % with t(58). Here with s = 1.63 % exactly: half width
    // t(58) · √(2 · 0.0163² · 31/30) / 2 = 2.001717 · 0.023433 / 2.
    let f = figure(
        "p50_ms",
        vec![
            value(1000.0, 16.3, 30, Some(988.0)),
            value(1000.0, 16.3, 30, Some(1008.0)),
        ],
    );
    let p = pool(&f, 0.95);
    let half = 2.001717 * (2.0 * 0.0163f64.powi(2) * 31.0 / 30.0).sqrt() / 2.0;
    let (lo, hi) = p.interval.unwrap();
    assert!((lo - (-0.002 - half)).abs() < 1e-5, "{lo}");
    assert!((hi - (-0.002 + half)).abs() < 1e-5, "{hi}");
    assert!((lo - -0.025).abs() < 0.001 && (hi - 0.022).abs() < 0.001, "{lo} {hi}");
    assert_eq!(p.decision, Decision::Within);
    assert_eq!(p.runs_to_decide, None);
}

#[test]
fn the_decision_boundaries_are_inclusive_inside_and_strict_outside() {
    // With s = 0 the interval is the mean error itself.
    let point = |metric: &str, predicted: f64, measured: f64| {
        pool(
            &figure(
                metric,
                vec![
                    value(predicted, 0.0, 30, Some(measured)),
                    value(predicted, 0.0, 30, Some(measured)),
                ],
            ),
            0.95,
        )
    };
    // Exactly +5 % and -5 %: within (the interval touches the bound).
    assert_eq!(point("p95_ms", 100.0, 105.0).decision, Decision::Within);
    assert_eq!(point("p95_ms", 100.0, 95.0).decision, Decision::Within);
    // Just beyond: outside.
    assert_eq!(point("p95_ms", 100.0, 105.001).decision, Decision::Outside);
    assert_eq!(point("p95_ms", 100.0, 94.999).decision, Decision::Outside);
    // Availability is absolute: 0.1 pp either way. 0.75 - 0.25 and
    // 0.5 ± 2⁻¹⁰ are exact in binary, 2⁻¹⁰ = 0.000977 < 0.001.
    assert_eq!(
        point("availability", 0.5, 0.5 + 1.0 / 1024.0).decision,
        Decision::Within
    );
    assert_eq!(
        point("availability", 0.5, 0.5 - 1.0 / 512.0).decision,
        Decision::Outside
    );
    // A relative reading of the same would be 0.4 %: within 5 %.
    assert_eq!(point("p50_ms", 0.5, 0.5 - 1.0 / 512.0).decision, Decision::Within);

    // An interval straddling +5 %: undecided; wholly above: outside.
    let spread = |m1: f64, m2: f64| {
        pool(
            &figure(
                "p99_ms",
                vec![value(100.0, 1.0, 30, Some(m1)), value(100.0, 1.0, 30, Some(m2))],
            ),
            0.95,
        )
    };
    // Half width t(58) · √(2 · 0.01² · 31/30) / 2 = 0.0143882.
    let straddles = spread(105.0, 105.0);
    let (lo, hi) = straddles.interval.unwrap();
    assert!((hi - lo - 2.0 * 0.0143882).abs() < 1e-6, "{lo} {hi}");
    assert_eq!(straddles.decision, Decision::Undecided);
    assert_eq!(spread(106.5, 106.5).decision, Decision::Outside);
    assert_eq!(spread(103.5, 103.5).decision, Decision::Within);
    assert_eq!(spread(96.5, 103.5).decision, Decision::Within);
}

#[test]
fn missing_values_and_missing_degrees_of_freedom() {
    // A run without a measurement is left out of the mean.
    let p = pool(
        &figure(
            "p95_ms",
            vec![value(100.0, 1.0, 30, None), value(100.0, 1.0, 30, Some(102.0))],
        ),
        0.95,
    );
    assert_eq!(p.runs, 1);
    assert_eq!(p.errors, vec![None, Some(0.02)]);
    assert_eq!(p.degrees_of_freedom, 29);
    // Nothing measured anywhere: no data.
    let p = pool(&figure("p95_ms", vec![value(100.0, 1.0, 30, None), None]), 0.95);
    assert_eq!(p.decision, Decision::NoData);
    assert_eq!(p.mean_error, None);
    // One replication per run: no degrees of freedom, no interval.
    let p = pool(
        &figure(
            "p95_ms",
            vec![value(100.0, 0.0, 1, Some(101.0)), value(100.0, 0.0, 1, Some(99.0))],
        ),
        0.95,
    );
    assert_eq!(p.interval, None);
    assert_eq!(p.decision, Decision::Undecided);
    assert_eq!(p.runs_to_decide, None);
    // A figure without a goal: errors and interval, no decision.
    let p = pool(
        &figure(
            "throughput",
            vec![value(1.0, 0.1, 30, Some(1.03)), value(1.0, 0.1, 30, Some(0.97))],
        ),
        0.95,
    );
    assert_eq!(p.decision, Decision::NoGoal);
    assert!(p.interval.is_some());
}

#[test]
fn the_runs_to_decide_are_the_smallest_that_would() {
    for (variance, dof, g) in [
        (0.00246, 4.0, 0.05),
        (0.06, 29.0, 0.05),
        (1e-6, 29.0, 0.001),
        (0.0001, 1.0, 0.05),
    ] {
        let found = runs_to_decide(variance, dof, g, 0.95).unwrap();
        let first = (1..10_000u64)
            .find(|&n| t_quantile(n as f64 * dof, 0.95) * (variance / n as f64).sqrt() <= g)
            .unwrap();
        assert_eq!(found, first, "{variance} {dof} {g}");
    }
}

#[test]
fn goals_by_figure_and_clause_kind() {
    assert_eq!(Goal::of("p99_ms", None), Goal::Relative(0.05));
    assert_eq!(Goal::of("availability", None), Goal::Absolute(0.001));
    assert_eq!(
        Goal::of("clause: p95 task latency <= 1m", Some("latency")),
        Goal::Relative(0.05)
    );
    assert_eq!(Goal::of("clause: p95 ttft <= 1s", Some("ttft")), Goal::Relative(0.05));
    assert_eq!(
        Goal::of("clause: task success >= 99%", Some("availability")),
        Goal::Absolute(0.001)
    );
    assert_eq!(Goal::of("clause: throughput >= 60 rpm", Some("throughput")), Goal::None);
}

#[test]
fn the_csv_names_every_column() {
    let p = pool(
        &figure(
            "p95_ms",
            vec![
                value(2000.0, 100.0, 5, Some(2100.0)),
                value(1000.0, 40.0, 5, Some(980.0)),
            ],
        ),
        0.95,
    );
    let csv = String::from_utf8(pooled_csv(&[p])).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "tenant,metric,goal,goal_bound,runs,errors,mean_error,interval_low,interval_high,degrees_of_freedom,decided,\
         runs_to_decide,more_runs"
    );
    assert_eq!(
        lines[1],
        "gold,p95_ms,relative,0.05,2,0.05;-0.02,0.015,-0.0658747,0.0958747,8,undecided,5,3"
    );
}
