//! Every clause, as [`Clause::describe`] and [`Clause::describe_contract`]
//! write it (the words every output names it by), parses back with the
//! one-line grammar to the same clause: every kind, scope, period and
//! credit schedule.

use proptest::prelude::*;

use super::{Clause, CostBasis, Period};
use crate::plan::grammar::parse_clause;
use crate::scenario::{self, ClauseMetric, CreditStep, Scenario, StepLevel};
use crate::time::Span;

/// A valid scenario whose first tenant has a workflow named `chat`.
fn base() -> Scenario {
    let text = include_str!("../../tests/fixtures/small.toml");
    let s = scenario::parse(text, std::path::Path::new("small.toml")).expect("the fixture is valid");
    assert_eq!(s.tenants[0].workflows[0].name, "chat");
    s
}

/// `base` with `clause` as its only clause (its first tenant's), and the
/// clause resolved.
fn resolve(base: &Scenario, clause: scenario::Clause) -> (Scenario, Clause) {
    let mut s = base.clone();
    for t in &mut s.tenants {
        t.clauses.clear();
    }
    s.tenants[0].clauses = vec![clause];
    let resolved = Clause::all(&s);
    assert_eq!(resolved.len(), 1, "the clause resolves");
    let c = resolved[0].clone();
    (s, c)
}

const METRICS: [ClauseMetric; 13] = [
    ClauseMetric::Latency,
    ClauseMetric::Ttft,
    ClauseMetric::Availability,
    ClauseMetric::TaskLatency,
    ClauseMetric::TaskAvailability,
    ClauseMetric::Degradation,
    ClauseMetric::Uptime,
    ClauseMetric::FallbackTime,
    ClauseMetric::Notification,
    ClauseMetric::Cost,
    ClauseMetric::Throughput,
    ClauseMetric::EvalPassRate,
    ClauseMetric::MeanQuality,
];

/// Whether a kind's metric must stay at least its threshold (its credit
/// steps are `below` a level).
fn floor(metric: ClauseMetric) -> bool {
    matches!(
        metric,
        ClauseMetric::Availability
            | ClauseMetric::TaskAvailability
            | ClauseMetric::Uptime
            | ClauseMetric::Throughput
            | ClauseMetric::EvalPassRate
            | ClauseMetric::MeanQuality
    )
}

/// The figures a clause is drawn from, on the grids a contract writes
/// (a tenth of a percentile, a hundredth of a percent, whole ms, cents).
#[derive(Clone, Debug)]
struct Draw {
    metric: usize,
    tenths: u32,
    every: bool,
    millis: u64,
    basis_points: u32,
    tier: u8,
    cents: u32,
    window_cost: bool,
    scoped: bool,
    period: u8,
    days: u32,
    steps: Vec<(u32, u32)>,
}

fn draws() -> impl Strategy<Value = Draw> {
    (
        (
            0..METRICS.len(),
            1..1000u32,
            any::<bool>(),
            1..3_600_000u64,
            1..=10_000u32,
        ),
        (0..4u8, 1..100_000u32, any::<bool>(), any::<bool>(), 0..4u8, 1..60u32),
        prop::collection::vec((1..=100u32, 1..=10_000u32), 0..3),
    )
        .prop_map(
            |(
                (metric, tenths, every, millis, basis_points),
                (tier, cents, window_cost, scoped, period, days),
                steps,
            )| {
                Draw {
                    metric,
                    tenths,
                    every,
                    millis,
                    basis_points,
                    tier,
                    cents,
                    window_cost,
                    scoped,
                    period,
                    days,
                    steps,
                }
            },
        )
}

/// The scenario clause of a draw.
fn clause(d: &Draw) -> scenario::Clause {
    let metric = METRICS[d.metric];
    let percentile = f64::from(d.tenths) / 10.0;
    let share = f64::from(d.basis_points) / 10_000.0;
    let usd = f64::from(d.cents) / 100.0;
    let latency_like = matches!(
        metric,
        ClauseMetric::Latency
            | ClauseMetric::Ttft
            | ClauseMetric::TaskLatency
            | ClauseMetric::FallbackTime
            | ClauseMetric::Notification
    );
    let level = |k: u32| match metric {
        _ if latency_like => StepLevel::Duration(Span::from_millis(u64::from(k))),
        ClauseMetric::Cost => StepLevel::Number(f64::from(k) / 100.0),
        _ => StepLevel::Number(f64::from(k) / 10_000.0),
    };
    let steps: Vec<CreditStep> = d
        .steps
        .iter()
        .map(|&(pct, k)| CreditStep {
            below: floor(metric).then(|| level(k)),
            above: (!floor(metric)).then(|| level(k)),
            credit: f64::from(pct) / 100.0,
        })
        .collect();
    scenario::Clause {
        metric,
        workflow: d.scoped.then(|| "chat".to_string()),
        percentile: match metric {
            ClauseMetric::FallbackTime | ClauseMetric::Notification if d.every => Some(100.0),
            _ => Some(percentile),
        },
        threshold: Some(Span::from_millis(d.millis)),
        target: Some(match metric {
            // "never below tier" is a share of 0.
            ClauseMetric::Degradation if d.every => 0.0,
            _ => share,
        }),
        tier: Some(d.tier),
        max_error_ratio: Some(if d.every { 0.0 } else { share.min(0.9999) }),
        budget: Some(usd),
        per: Some(if d.window_cost {
            CostBasis::Window
        } else {
            CostBasis::Task
        }),
        rpm: Some(f64::from(d.cents) / 10.0),
        samples: Some(d.cents),
        window: Some(match d.period {
            0 => Period::Month,
            1 => Period::Week,
            2 => Period::Day,
            _ => Period::Rolling { days: d.days },
        }),
        monthly_fee: (!steps.is_empty()).then_some(f64::from(d.cents)),
        credits: (!steps.is_empty()).then_some(steps),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn every_clause_reads_back_from_its_own_words(d in draws()) {
        let base = base();
        let (s, original) = resolve(&base, clause(&d));
        // The words without the credit terms (summary.csv, windows, the
        // table, the charts) give the same clause but its schedule.
        let text = original.describe(&s);
        let parsed = parse_clause(&text).map_err(|e| TestCaseError::fail(format!("{text:?}: {e}")))?;
        let (_, back) = resolve(&base, parsed);
        prop_assert_eq!(&back, &Clause { credits: None, ..original.clone() }, "{}", text);
        // With them (credits.csv, the report's paragraphs): all of it.
        let contract = original.describe_contract(&s);
        let parsed = parse_clause(&contract).map_err(|e| TestCaseError::fail(format!("{contract:?}: {e}")))?;
        let (_, back) = resolve(&base, parsed);
        prop_assert_eq!(&back, &original, "{}", contract);
    }
}

#[test]
fn every_kind_is_drawn() {
    // The draws above cover every metric a scenario can name.
    for m in METRICS {
        let d = Draw {
            metric: METRICS.iter().position(|x| *x == m).unwrap(),
            tenths: 950,
            every: false,
            millis: 800,
            basis_points: 9990,
            tier: 1,
            cents: 5,
            window_cost: false,
            scoped: true,
            period: 3,
            days: 7,
            steps: vec![(10, 9_000)],
        };
        let (s, c) = resolve(&base(), clause(&d));
        let text = c.describe_contract(&s);
        assert!(
            text.contains("for workflow chat") && text.contains("per rolling 7d"),
            "{text}"
        );
    }
}
