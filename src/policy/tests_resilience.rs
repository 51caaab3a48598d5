//! Unit tests of breakers, suspension, consent, constraints, rate limits,
//! latency ceilings, notifications and jitter, driven by hand.

use super::tests::{Harness, dispatched, endpoint, ms, tenant};
use super::*;
use crate::time::Span;

fn breaker(min_requests: u32) -> BreakerPolicy {
    BreakerPolicy {
        min_requests,
        error_ratio: 0.5,
        open_for: Span::from_secs(1),
        half_open_probes: 1,
        ..BreakerPolicy::default()
    }
}

fn with_breaker(endpoints: Vec<EndpointPolicy>, tenants: Vec<TenantPolicy>) -> Harness {
    Harness::with(RouterConfig {
        endpoints,
        tenants,
        seed: 0,
        budget: Default::default(),
        max_queue: None,
        breaker: Some(breaker(2)),
        ..Default::default()
    })
}

fn breaker_events(h: &Harness) -> Vec<(BreakerState, BreakerState)> {
    h.events
        .iter()
        .filter_map(|e| match e.kind {
            AuditKind::Breaker { from, to } => Some((from, to)),
            _ => None,
        })
        .collect()
}

#[test]
fn open_breaker_is_skipped_then_probed_and_closed() {
    // The breaker alone: the tenant never degrades here (tenant tiers have
    // their own tests), so its new calls keep starting at the primary.
    let mut t = tenant("t", SlaClass::Gold, &[("a", 0), ("b", 1)]);
    t.degrade_after = 100;
    let mut h = with_breaker(vec![endpoint("a", None, 10_000), endpoint("b", None, 10_000)], vec![t]);
    let a = h.ep("a");
    h.submit(ms(0), "t");
    h.submit(ms(0), "t");
    h.outcome(ms(10), AttemptId(0), Outcome::ServerError);
    h.outcome(ms(10), AttemptId(1), Outcome::ServerError);
    assert_eq!(breaker_events(&h), vec![(BreakerState::Closed, BreakerState::Open)]);
    let (_, acts) = h.submit(ms(20), "t");
    assert_ne!(dispatched(&acts)[0].2, a, "open breaker is skipped");
    assert_eq!(h.router.poll_timeout(), Some(ms(1010)));
    h.tick(ms(1010));
    assert_eq!(breaker_events(&h)[1], (BreakerState::Open, BreakerState::HalfOpen));
    let (_, probe) = h.submit(ms(1020), "t");
    let (_, second) = h.submit(ms(1020), "t");
    assert_eq!(dispatched(&probe)[0].2, a, "one probe");
    assert_ne!(dispatched(&second)[0].2, a, "probes are bounded");
    h.outcome(ms(1030), dispatched(&probe)[0].1, Outcome::Success);
    assert_eq!(breaker_events(&h)[2], (BreakerState::HalfOpen, BreakerState::Closed));
    let (_, acts) = h.submit(ms(1040), "t");
    assert_eq!(dispatched(&acts)[0].2, a, "promoted back to the primary");
}

#[test]
fn tier_four_suspends_and_resumes_when_the_primary_recovers() {
    let mut h = Harness::with(RouterConfig {
        endpoints: vec![endpoint("a", None, 10_000), endpoint("s", None, 10_000)],
        tenants: vec![tenant("t", SlaClass::Gold, &[("a", 0), ("s", 4)])],
        seed: 0,
        budget: Default::default(),
        max_queue: None,
        breaker: Some(breaker(1)),
        ..Default::default()
    });
    let (call, _) = h.submit(ms(0), "t");
    let acts = h.outcome(ms(5), AttemptId(0), Outcome::ServerError);
    assert_eq!(acts, vec![Action::Suspend { call }]);
    assert_eq!(h.router.waiting(), 1);
    assert!(h.events.iter().any(|e| e.kind
        == AuditKind::Suspended {
            tier: Tier(4),
            consent: false
        }));
    h.tick(ms(1005)); // half-open
    let (_, probe) = h.submit(ms(1006), "t");
    let acts = h.outcome(ms(1007), dispatched(&probe)[0].1, Outcome::Success);
    assert!(acts.contains(&Action::Resume { call }));
    let d = dispatched(&acts);
    assert_eq!(d, vec![(call, d[0].1, h.ep("a"))]);
    assert!(h.events.iter().any(|e| e.kind == AuditKind::Resumed));
}

#[test]
fn suspension_has_a_time_limit() {
    let mut t = tenant("t", SlaClass::Gold, &[("a", 0), ("s", 4)]);
    t.max_suspend = Span::from_secs(60);
    let mut h = Harness::new(vec![endpoint("a", None, 10_000), endpoint("s", None, 10_000)], vec![t]);
    let (call, _) = h.submit(ms(0), "t");
    h.outcome(ms(5), AttemptId(0), Outcome::ServerError);
    assert_eq!(h.router.poll_timeout(), Some(ms(60_005)));
    assert_eq!(
        h.tick(ms(60_005)),
        vec![Action::Fail {
            call,
            reason: FailReason::SuspendedTooLong
        }]
    );
}

#[test]
fn a_tier_needing_consent_suspends_instead_of_downgrading() {
    let mut t = tenant("t", SlaClass::Gold, &[("a", 0), ("c", 2)]);
    t.requires_consent = vec![Tier(2)];
    let mut h = Harness::new(vec![endpoint("a", None, 10_000), endpoint("c", None, 10_000)], vec![t]);
    let (call, _) = h.submit(ms(0), "t");
    let acts = h.outcome(ms(5), AttemptId(0), Outcome::ServerError);
    assert_eq!(acts, vec![Action::Suspend { call }]);
    assert!(h.events.iter().any(|e| e.kind
        == AuditKind::Suspended {
            tier: Tier(2),
            consent: true
        }));
}

#[test]
fn residency_allowed_tiers_and_workflow_overrides_filter_the_chain() {
    let mut us = endpoint("b", None, 10_000);
    us.region = "us".into();
    let eu = |n: &str| {
        let mut e = endpoint(n, None, 10_000);
        e.region = "eu".into();
        e
    };
    let mut t = tenant("t", SlaClass::Gold, &[("a", 0), ("b", 1), ("c", 2)]);
    t.regions = vec!["eu".into()];
    t.allowed_tiers = vec![Tier(0), Tier(1)];
    t.workflows = vec![
        WorkflowPolicy {
            name: "codegen".into(),
            allowed_tiers: None,
        },
        WorkflowPolicy {
            name: "summarize".into(),
            allowed_tiers: Some(vec![Tier(0), Tier(1), Tier(2)]),
        },
    ];
    let mut h = Harness::new(vec![eu("a"), us, eu("c")], vec![t]);
    let submit = |h: &mut Harness, w: u32| {
        h.router.submit(
            ms(0),
            CallRequest {
                tenant: TenantId(0),
                workflow: WorkflowId(w),
                input_tokens: 1,
                output_tokens: 1,
                deadline: None,
                affinity: None,
                ..Default::default()
            },
        );
        h.router
            .on_outcome(ms(1), AttemptId(2 * u64::from(w)), Outcome::ServerError);
        let mut last = None;
        while let Some(a) = h.router.poll_action() {
            if let Action::Dispatch { endpoint, .. } = a {
                last = Some(endpoint);
            }
        }
        last
    };
    // codegen: only "a" is left (b is in the US, c is tier 2).
    assert_eq!(submit(&mut h, 0), Some(h.ep("a")));
    // summarize may use tier 2.
    assert_eq!(submit(&mut h, 1), Some(h.ep("c")));

    let mut t = tenant("t", SlaClass::Gold, &[("b", 0)]);
    t.regions = vec!["eu".into()];
    let err = Router::new(RouterConfig {
        endpoints: vec![endpoint("b", None, 10)],
        tenants: vec![t],
        seed: 0,
        budget: Default::default(),
        max_queue: None,
        breaker: None,
        ..Default::default()
    })
    .err();
    assert_eq!(
        err,
        Some(ConfigError::NoUsableStep {
            tenant: "t".into(),
            workflow: "default".into()
        })
    );
}

#[test]
fn degradation_raises_one_tenant_level_notification() {
    let mut t = tenant("t", SlaClass::Gold, &[("a", 0), ("b", 1)]);
    t.notify_on_degradation = true;
    t.degrade_after = 1;
    let mut h = Harness::new(vec![endpoint("a", None, 10_000), endpoint("b", None, 10_000)], vec![t]);
    h.submit(ms(0), "t");
    h.outcome(ms(1), AttemptId(0), Outcome::ConnectionError);
    // The tenant now starts at tier 1: further calls neither fail on the
    // primary first nor raise notices.
    for i in 2..5 {
        let (_, acts) = h.submit(ms(i), "t");
        assert_eq!(dispatched(&acts)[0].2, h.ep("b"));
    }
    let notes: Vec<_> = h
        .events
        .iter()
        .filter(|e| matches!(e.kind, AuditKind::Notification { .. }))
        .collect();
    assert_eq!(notes.len(), 1);
    assert_eq!(
        notes[0].kind,
        AuditKind::Notification {
            from: Tier(0),
            to: Tier(1)
        }
    );
    assert_eq!(
        (notes[0].at, notes[0].tenant, notes[0].call),
        (ms(1), Some(TenantId(0)), None)
    );
}

#[test]
fn spent_rate_limit_is_never_dispatched_to() {
    let mut a = endpoint("a", None, 100_000);
    a.rpm = Some(2);
    let mut h = Harness::new(
        vec![a, endpoint("b", None, 100_000)],
        vec![
            tenant("t", SlaClass::Gold, &[("a", 0), ("b", 1)]),
            tenant("solo", SlaClass::Gold, &[("a", 0)]),
        ],
    );
    let (_, x) = h.submit(ms(0), "t");
    let (_, y) = h.submit(ms(0), "t");
    let (_, z) = h.submit(ms(0), "t");
    assert_eq!(dispatched(&x)[0].2, h.ep("a"));
    assert_eq!(dispatched(&y)[0].2, h.ep("a"));
    assert_eq!(dispatched(&z)[0].2, h.ep("b"), "rpm spent: skip");
    // A single-step chain waits for the bucket (one request per 30 s).
    let (_, w) = h.submit(ms(0), "solo");
    assert!(w.is_empty());
    assert_eq!(h.router.poll_timeout(), Some(ms(30_000)));
    assert_eq!(dispatched(&h.tick(ms(30_000))).len(), 1);
}

#[test]
fn token_rate_limit_counts_prompt_and_output() {
    let mut a = endpoint("a", None, 10_000);
    a.tpm = Some(150); // harness calls cost 110 tokens
    let mut h = Harness::new(
        vec![a, endpoint("b", None, 10_000)],
        vec![tenant("t", SlaClass::Gold, &[("a", 0), ("b", 1)])],
    );
    assert_eq!(dispatched(&h.submit(ms(0), "t").1)[0].2, h.ep("a"));
    assert_eq!(dispatched(&h.submit(ms(0), "t").1)[0].2, h.ep("b"));
}

#[test]
fn latency_ceiling_abandons_slow_attempts() {
    let mut t = tenant("t", SlaClass::Gold, &[("a", 0), ("b", 1)]);
    t.latency_ceiling = Some(Span::from_millis(100));
    let mut h = Harness::new(vec![endpoint("a", None, 10_000), endpoint("b", None, 10_000)], vec![t]);
    let (call, _) = h.submit(ms(0), "t");
    assert_eq!(h.router.poll_timeout(), Some(ms(100)));
    let acts = h.tick(ms(100));
    assert_eq!(
        acts[0],
        Action::Cancel {
            call,
            attempt: AttemptId(0),
            failed: Some(Trigger::SlowAttempt),
        }
    );
    assert_eq!(dispatched(&acts)[0].2, h.ep("b"));
}

#[test]
fn jitter_is_seeded_and_bounded() {
    let run = |seed: u64| {
        let mut t = tenant("t", SlaClass::Gold, &[("a", 0)]);
        t.retry.backoff = Span::from_millis(100);
        t.retry.jitter = 0.5;
        let mut h = Harness::with(RouterConfig {
            endpoints: vec![endpoint("a", None, 10_000)],
            tenants: vec![t],
            seed,
            budget: Default::default(),
            max_queue: None,
            breaker: None,
            ..Default::default()
        });
        h.submit(ms(0), "t");
        h.outcome(ms(0), AttemptId(0), Outcome::ServerError);
        h.router.poll_timeout()
    };
    let a = run(1).expect("a retry timer");
    assert_eq!(Some(a), run(1));
    assert!(a >= ms(50) && a <= ms(100), "{a}");
    assert!((2..40).any(|s| run(s) != Some(a)), "jitter varies with seed");
}
