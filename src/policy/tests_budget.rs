//! Error budgets, driven by hand with a moved clock.

use super::tests::{Harness, endpoint, ms, tenant};
use super::*;
use crate::time::{Span, Time};

fn budgeted(target: f64) -> Harness {
    let mut t = tenant("t", SlaClass::Gold, &[("a", 0)]);
    t.retry.max_attempts = 1;
    t.availability_target = Some(target);
    let plain = tenant("plain", SlaClass::Bronze, &[("a", 0)]);
    Harness::new(vec![endpoint("a", None, 1000)], vec![t, plain])
}

/// Submits a call at `at` and answers its only attempt at once.
fn call(h: &mut Harness, at: Time, outcome: Outcome) {
    let (_, acts) = h.submit(at, "t");
    let Some(Action::Dispatch { attempt, .. }) = acts.first().copied() else {
        panic!("not dispatched: {acts:?}");
    };
    h.outcome(at, attempt, outcome);
}

fn alerts(h: &Harness) -> Vec<f64> {
    h.events
        .iter()
        .filter_map(|e| match e.kind {
            AuditKind::BudgetAlert { threshold, .. } => Some(threshold),
            _ => None,
        })
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn budget_counts_served_and_failed_calls() {
    let mut h = budgeted(0.9);
    let t = h.router.tenant_id("t").unwrap();
    let fresh = h.router.budget(t).unwrap();
    assert!(close(fresh.remaining, 1.0) && fresh.calls == 0);
    for i in 0..9 {
        call(&mut h, ms(i), Outcome::Success);
    }
    call(&mut h, ms(9), Outcome::ServerError);
    let b = h.router.budget(t).unwrap();
    assert_eq!((b.calls, b.failed), (10, 1));
    // 1 failure out of 10 is exactly the 10 % the target allows.
    assert!(close(b.remaining, 0.0), "{b:?}");
    assert!(close(b.burn_rate_short, 1.0) && close(b.burn_rate_long, 1.0), "{b:?}");
    assert_eq!(h.router.budget(h.router.tenant_id("plain").unwrap()), None);
    assert_eq!(h.router.budget(TenantId(99)), None);
}

#[test]
fn fast_burn_alerts_once_per_threshold_per_short_window() {
    let mut h = budgeted(0.99);
    for i in 0..20 {
        call(&mut h, ms(i), Outcome::Success);
    }
    call(&mut h, ms(100), Outcome::ServerError);
    // 1/21 failed: burn rate 100/21 ~ 4.8, under both thresholds.
    assert!(alerts(&h).is_empty());
    call(&mut h, ms(200), Outcome::ServerError);
    // 2/22: ~9.1 reaches 6 only.
    assert_eq!(alerts(&h), vec![6.0]);
    call(&mut h, ms(300), Outcome::ServerError);
    call(&mut h, ms(400), Outcome::ServerError);
    // 4/24: ~16.7 reaches 14.4; 6 already alerted in this short window.
    assert_eq!(alerts(&h), vec![6.0, 14.4]);
    let e = h
        .events
        .iter()
        .rev()
        .find(|e| matches!(e.kind, AuditKind::BudgetAlert { .. }));
    let e = e.unwrap();
    assert_eq!(e.tenant, h.router.tenant_id("t"));
    let AuditKind::BudgetAlert {
        burn_rate_short,
        burn_rate_long,
        ..
    } = e.kind
    else {
        unreachable!()
    };
    assert!(close(burn_rate_short, 4.0 / 24.0 / 0.01) && close(burn_rate_long, burn_rate_short));
    // An hour later the short window has only this failure: it alerts again.
    let later = ms(400) + Span::from_hours(1) + Span::from_mins(2);
    call(&mut h, later, Outcome::ServerError);
    assert_eq!(alerts(&h), vec![6.0, 14.4, 14.4, 6.0]);
}

#[test]
fn windows_forget_old_calls_and_memory_stays_bounded() {
    let mut h = budgeted(0.99);
    let t = h.router.tenant_id("t").unwrap();
    call(&mut h, ms(0), Outcome::ServerError);
    let at = Time::ZERO + Span::from_hours(2);
    call(&mut h, at, Outcome::Success);
    let b = h.router.budget(t).unwrap();
    assert!(close(b.burn_rate_short, 0.0), "{b:?}");
    assert!(close(b.burn_rate_long, 50.0), "{b:?}");
    let at = Time::ZERO + Span::from_hours(8);
    call(&mut h, at, Outcome::Success);
    let b = h.router.budget(t).unwrap();
    assert!(close(b.burn_rate_long, 0.0), "{b:?}");
    assert_eq!((b.calls, b.failed), (3, 1), "the period still counts it");
    // Many days of traffic: the period forgets the first failure.
    for day in 1..=40u64 {
        call(&mut h, Time::ZERO + Span::from_days(day), Outcome::Success);
    }
    let b = h.router.budget(t).unwrap();
    assert_eq!(b.failed, 0, "{b:?}");
    assert!(close(b.remaining, 1.0));
}

#[test]
fn availability_target_must_be_a_share() {
    for bad in [0.0, 1.0, 1.5, -0.1, f64::NAN] {
        let mut t = tenant("t", SlaClass::Gold, &[("a", 0)]);
        t.availability_target = Some(bad);
        let config = RouterConfig {
            endpoints: vec![endpoint("a", None, 1000)],
            tenants: vec![t],
            seed: 0,
            breaker: None,
            budget: BudgetPolicy::default(),
            max_queue: None,
            ..Default::default()
        };
        assert!(
            matches!(Router::new(config), Err(ConfigError::RatioOutOfRange { .. })),
            "{bad}"
        );
    }
    let config = RouterConfig {
        endpoints: vec![endpoint("a", None, 1000)],
        tenants: vec![tenant("t", SlaClass::Gold, &[("a", 0)])],
        seed: 0,
        breaker: None,
        budget: BudgetPolicy {
            short_window: Span::ZERO,
            ..BudgetPolicy::default()
        },
        max_queue: None,
        ..Default::default()
    };
    assert!(matches!(Router::new(config), Err(ConfigError::ZeroSpan { .. })));
}

#[test]
fn budget_policy_defaults_from_serde() {
    let b: BudgetPolicy = serde_json::from_str("{}").unwrap();
    assert_eq!(b, BudgetPolicy::default());
    assert_eq!(b.period, Span::from_days(30));
    assert_eq!(b.alert_burn_rates, vec![14.4, 6.0]);
}
