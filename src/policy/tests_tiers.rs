//! Unit tests of tenant tiers: degradation after a streak, probes and
//! promotion with hysteresis, per-incident notices, and suspended calls
//! coming back without a breaker.

use super::tests::{Harness, dispatched, endpoint, ms, tenant};
use super::*;
use crate::time::{Span, Time};

fn secs(n: u64) -> Time {
    Time::ZERO + Span::from_secs(n)
}

/// A hand-driven outage: every attempt on `down` before `until` fails
/// (a 5xx 20 ms after dispatch), every other attempt succeeds 50 ms after
/// dispatch. One call of tenant `t` is submitted every `gap` up to `end`.
/// Returns the router's events and the calls' ends.
fn outage(h: &mut Harness, down: &str, until: Time, gap: Span, end: Time) -> Vec<Action> {
    let down = h.ep(down);
    let mut out: Vec<(Time, AttemptId, Outcome)> = Vec::new();
    let mut next = Time::ZERO;
    let mut ends = Vec::new();
    loop {
        out.sort_by_key(|&(t, a, _)| (t, a));
        let answer = out.first().map(|&(t, _, _)| t);
        let timer = h.router.poll_timeout();
        let arrival = (next < end).then_some(next);
        let Some(now) = [answer, timer, arrival].into_iter().flatten().min() else {
            break;
        };
        let acts = if answer == Some(now) {
            let (_, a, o) = out.remove(0);
            h.outcome(now, a, o)
        } else if timer == Some(now) {
            h.tick(now)
        } else {
            next += gap;
            h.submit(now, "t").1
        };
        for act in acts {
            match act {
                Action::Dispatch { attempt, endpoint, .. } => {
                    if endpoint == down && now < until {
                        out.push((now + Span::from_millis(20), attempt, Outcome::ServerError));
                    } else {
                        out.push((now + Span::from_millis(50), attempt, Outcome::Success));
                    }
                }
                Action::Cancel { attempt, .. } => out.retain(|&(_, a, _)| a != attempt),
                Action::Complete { .. } | Action::Fail { .. } => ends.push(act),
                _ => {}
            }
        }
    }
    ends
}

fn kinds(h: &Harness, f: impl Fn(&AuditKind) -> bool) -> Vec<(Time, AuditKind)> {
    h.events.iter().filter(|e| f(&e.kind)).map(|e| (e.at, e.kind)).collect()
}

/// Regression (issue 10, verdict 5): a one-hour hard-down primary with a
/// call a second used to raise a notice for every call that fell back
/// (3,600 in the hour, and as many tier-change events). Now: one
/// degradation and one notice when the incident starts, one promotion and
/// one notice when it ends.
#[test]
fn a_one_hour_outage_gives_one_notice_when_it_starts_and_one_when_it_ends() {
    let mut t = tenant("t", SlaClass::Gold, &[("p", 0), ("s", 1)]);
    t.notify_on_degradation = true;
    let mut h = Harness::new(vec![endpoint("p", None, 10_000), endpoint("s", None, 10_000)], vec![t]);
    let ends = outage(&mut h, "p", secs(3_600), Span::from_secs(1), secs(4_000));
    assert_eq!(ends.len(), 4_000);
    assert!(ends.iter().all(|a| matches!(a, Action::Complete { .. })));
    let notices = kinds(&h, |k| matches!(k, AuditKind::Notification { .. }));
    // Calls 0, 1, 2 fail on p (streak 3): the third's fallback at 2.020 s
    // degrades the tenant.
    assert_eq!(
        notices,
        vec![
            (
                Time::ZERO + Span::from_millis(2_020),
                AuditKind::Notification {
                    from: Tier(0),
                    to: Tier(1)
                }
            ),
            (
                notices[1].0,
                AuditKind::Notification {
                    from: Tier(1),
                    to: Tier(0)
                }
            ),
        ]
    );
    assert_eq!(
        kinds(&h, |k| matches!(k, AuditKind::Degraded { .. })),
        vec![(
            Time::ZERO + Span::from_millis(2_020),
            AuditKind::Degraded {
                from: Tier(0),
                to: Tier(1),
                trigger: Trigger::Error,
                since: Time::ZERO + Span::from_millis(2_020),
            }
        )]
    );
    // Probes: the first call at least 30 s after the previous probe fell
    // back (probes at 33 s, 64 s, ..., every 31 s). The first one after p
    // recovers (at 3,600 s) comes within 31 s; it is served 50 ms later
    // and promotes.
    let promoted = kinds(&h, |k| matches!(k, AuditKind::Promoted { .. }));
    assert_eq!(promoted.len(), 1);
    assert!(
        promoted[0].0 >= secs(3_600) && promoted[0].0 <= secs(3_600 + 31),
        "{promoted:?}"
    );
    assert_eq!(notices[1].0, promoted[0].0);
    assert_eq!(h.router.tenant_tier(TenantId(0)), Tier(0));
}

#[test]
fn two_failures_do_not_degrade_a_tenant_and_a_success_resets_the_streak() {
    let mut h = Harness::new(
        vec![endpoint("p", None, 10_000), endpoint("s", None, 10_000)],
        vec![tenant("t", SlaClass::Gold, &[("p", 0), ("s", 1)])],
    );
    let p = h.ep("p");
    let fail_on_p = |h: &mut Harness, at: u64| {
        let (_, acts) = h.submit(ms(at), "t");
        let (_, attempt, e) = dispatched(&acts)[0];
        assert_eq!(e, p, "starts at the primary");
        h.outcome(ms(at + 1), attempt, Outcome::ServerError);
    };
    fail_on_p(&mut h, 0);
    fail_on_p(&mut h, 10);
    // A success on the primary ends the streak.
    let (_, acts) = h.submit(ms(20), "t");
    h.outcome(ms(21), dispatched(&acts)[0].1, Outcome::Success);
    fail_on_p(&mut h, 30);
    fail_on_p(&mut h, 40);
    assert_eq!(h.router.tenant_tier(TenantId(0)), Tier(0));
    fail_on_p(&mut h, 50);
    assert_eq!(h.router.tenant_tier(TenantId(0)), Tier(1), "three in a row");
}

#[test]
fn probes_wait_for_promote_after_and_promote_on_success() {
    let mut t = tenant("t", SlaClass::Gold, &[("p", 0), ("s", 1)]);
    t.degrade_after = 1;
    t.promote_after = Span::from_secs(10);
    let mut h = Harness::new(vec![endpoint("p", None, 10_000), endpoint("s", None, 10_000)], vec![t]);
    let (p, s) = (h.ep("p"), h.ep("s"));
    let (_, acts) = h.submit(ms(0), "t");
    let acts = h.outcome(ms(5), dispatched(&acts)[0].1, Outcome::ServerError);
    assert_eq!(dispatched(&acts)[0].2, s);
    assert_eq!(h.router.tenant_tier(TenantId(0)), Tier(1));
    // Before 10 s: straight to s, no probe.
    let (_, acts) = h.submit(ms(9_000), "t");
    assert_eq!(dispatched(&acts)[0].2, s);
    // From 10.005 s: one probe at a time from the top.
    let (_, acts) = h.submit(ms(10_005), "t");
    let (_, probe, e) = dispatched(&acts)[0];
    assert_eq!(e, p, "the probe");
    let (_, acts) = h.submit(ms(10_006), "t");
    assert_eq!(dispatched(&acts)[0].2, s, "one probe at a time");
    // The probe fails: it falls back; the next probe waits 10 s more.
    let acts = h.outcome(ms(10_010), probe, Outcome::ServerError);
    assert_eq!(dispatched(&acts)[0].2, s);
    let (_, acts) = h.submit(ms(20_000), "t");
    assert_eq!(dispatched(&acts)[0].2, s, "not yet: 20.010 s");
    let (_, acts) = h.submit(ms(20_010), "t");
    let (_, probe, e) = dispatched(&acts)[0];
    assert_eq!(e, p);
    h.outcome(ms(20_020), probe, Outcome::Success);
    assert_eq!(h.router.tenant_tier(TenantId(0)), Tier(0));
    let (_, acts) = h.submit(ms(20_030), "t");
    assert_eq!(dispatched(&acts)[0].2, p, "promoted: back to the primary");
    let events: Vec<_> = h
        .events
        .iter()
        .filter(|e| matches!(e.kind, AuditKind::Degraded { .. } | AuditKind::Promoted { .. }))
        .map(|e| (e.at, e.kind))
        .collect();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(
        events[1],
        (
            ms(20_020),
            AuditKind::Promoted {
                from: Tier(1),
                to: Tier(0)
            }
        )
    );
}

#[test]
fn notices_are_at_least_notice_interval_apart_and_coalesce() {
    let mut t = tenant("t", SlaClass::Gold, &[("p", 0), ("s", 1)]);
    t.degrade_after = 1;
    t.promote_after = Span::from_secs(1);
    t.notify_on_degradation = true;
    t.notice_interval = Span::from_secs(60);
    let mut h = Harness::new(vec![endpoint("p", None, 10_000), endpoint("s", None, 10_000)], vec![t]);
    let notices = |h: &Harness| kinds(h, |k| matches!(k, AuditKind::Notification { .. }));
    // Degraded at 5 ms: told at once.
    let (_, acts) = h.submit(ms(0), "t");
    h.outcome(ms(5), dispatched(&acts)[0].1, Outcome::ServerError);
    assert_eq!(notices(&h).len(), 1);
    // Promoted at 2 s by a probe: not told yet (interval).
    let (_, acts) = h.submit(ms(2_000), "t");
    h.outcome(ms(2_010), dispatched(&acts)[0].1, Outcome::Success);
    assert_eq!(h.router.tenant_tier(TenantId(0)), Tier(0));
    assert_eq!(notices(&h).len(), 1);
    // Degraded again at 4 s, still within the interval; at 60.005 s the
    // tenant is at the tier it was told: nothing to tell.
    let (_, acts) = h.submit(ms(4_000), "t");
    h.outcome(ms(4_005), dispatched(&acts)[0].1, Outcome::ServerError);
    assert_eq!(h.router.tenant_tier(TenantId(0)), Tier(1));
    h.tick(ms(60_005));
    assert_eq!(notices(&h).len(), 1);
    // Promoted at 70 s: told at once, the interval is over.
    let (_, acts) = h.submit(ms(70_000), "t");
    h.outcome(ms(70_010), dispatched(&acts)[0].1, Outcome::Success);
    assert_eq!(
        notices(&h)[1],
        (
            ms(70_010),
            AuditKind::Notification {
                from: Tier(1),
                to: Tier(0)
            }
        )
    );
    // Degraded at 80 s: held until 130.01 s, then told.
    let (_, acts) = h.submit(ms(80_000), "t");
    h.outcome(ms(80_005), dispatched(&acts)[0].1, Outcome::ServerError);
    assert_eq!(notices(&h).len(), 2);
    assert!(h.router.poll_timeout().is_some_and(|t| t <= ms(130_010)));
    h.tick(ms(130_010));
    assert_eq!(
        notices(&h)[2],
        (
            ms(130_010),
            AuditKind::Notification {
                from: Tier(0),
                to: Tier(1)
            }
        )
    );
}

/// Regression (issue 10, verdict 3): with a tier-4 step and no breaker,
/// suspended calls never came back: the primary recovered seconds after
/// the suspensions, and they all failed at `max_suspend` (10 minutes).
/// Now the tenant's probe resumes one `promote_after` after it was
/// degraded to tier 4, is served, promotes the tenant and brings the
/// others back.
#[test]
fn suspended_calls_come_back_without_a_breaker() {
    let mut h = Harness::new(
        vec![endpoint("p", None, 10_000), endpoint("wait", None, 10_000)],
        vec![tenant("t", SlaClass::Gold, &[("p", 0), ("wait", 4)])],
    );
    // p is down for the first 5 s; a call every 100 ms for 10 s.
    let ends = outage(&mut h, "p", secs(5), Span::from_millis(100), secs(10));
    assert_eq!(ends.len(), 100);
    let failed: Vec<_> = ends.iter().filter(|a| matches!(a, Action::Fail { .. })).collect();
    assert!(failed.is_empty(), "{failed:?}");
    // Degraded to 4 by the third call (0.2 s + 20 ms); the probe goes 30 s
    // later, is served 50 ms after, and brings everyone back.
    let promoted = kinds(&h, |k| matches!(k, AuditKind::Promoted { .. }));
    assert_eq!(
        promoted,
        vec![(
            ms(220 + 30_000 + 50),
            AuditKind::Promoted {
                from: Tier(4),
                to: Tier(0)
            }
        )]
    );
    assert_eq!(h.router.waiting(), 0);
}

/// Other tenants' successful traffic on a tier 0 or 1 endpoint of a
/// suspended call's chain brings it back at once.
#[test]
fn another_tenants_success_resumes_suspended_calls() {
    let mut h = Harness::new(
        vec![endpoint("p", None, 10_000), endpoint("wait", None, 10_000)],
        vec![
            tenant("t", SlaClass::Gold, &[("p", 0), ("wait", 4)]),
            tenant("u", SlaClass::Gold, &[("p", 0)]),
        ],
    );
    let (call, acts) = h.submit(ms(0), "t");
    let acts = h.outcome(ms(20), dispatched(&acts)[0].1, Outcome::ServerError);
    assert_eq!(acts, vec![Action::Suspend { call }]);
    let (_, acts) = h.submit(ms(1_000), "u");
    let acts = h.outcome(ms(1_050), dispatched(&acts)[0].1, Outcome::Success);
    assert!(acts.contains(&Action::Resume { call }));
    let d = dispatched(&acts);
    assert_eq!(d, vec![(call, d[0].1, h.ep("p"))]);
}

#[test]
fn an_expired_suspension_is_an_audit_event() {
    let mut t = tenant("t", SlaClass::Gold, &[("p", 0), ("wait", 4)]);
    t.max_suspend = Span::from_secs(5);
    let mut h = Harness::new(
        vec![endpoint("p", None, 10_000), endpoint("wait", None, 10_000)],
        vec![t],
    );
    let (call, acts) = h.submit(ms(0), "t");
    h.outcome(ms(20), dispatched(&acts)[0].1, Outcome::ServerError);
    let acts = h.tick(ms(5_020));
    assert_eq!(
        acts,
        vec![Action::Fail {
            call,
            reason: FailReason::SuspendedTooLong
        }]
    );
    let last = h.events.last().expect("event");
    assert_eq!(
        (last.at, last.call, last.kind),
        (
            ms(5_020),
            Some(call),
            AuditKind::SuspendExpired {
                after: Span::from_secs(5)
            }
        )
    );
}

#[test]
fn a_degraded_tenant_starts_its_new_calls_at_its_tier() {
    // The fourth call goes straight to s: it does not pay p's failure.
    let mut h = Harness::new(
        vec![endpoint("p", None, 10_000), endpoint("s", None, 10_000)],
        vec![tenant("t", SlaClass::Gold, &[("p", 0), ("s", 1)])],
    );
    for i in 0..3 {
        let (_, acts) = h.submit(ms(10 * i), "t");
        h.outcome(ms(10 * i + 1), dispatched(&acts)[0].1, Outcome::ServerError);
    }
    assert_eq!(h.router.tenant_tier(TenantId(0)), Tier(1));
    let (_, acts) = h.submit(ms(100), "t");
    assert_eq!(dispatched(&acts)[0].2, h.ep("s"));
    assert_eq!(dispatched(&acts)[0].1, AttemptId(6), "one attempt, on s");
}
