//! Reserved slots: a share of an endpoint's concurrency kept per SLA class,
//! borrowable while that class has no call waiting. Driven by hand with a
//! moved clock.

use super::tests::{Harness, dispatched, endpoint, ms, tenant};
use super::*;

/// An endpoint `a` with `max` slots and the given reserved shares.
fn reserving(max: u32, reserved: ClassShares) -> EndpointPolicy {
    EndpointPolicy {
        reserved,
        ..endpoint("a", Some(max), 10_000)
    }
}

fn gold_half() -> ClassShares {
    ClassShares {
        gold: 0.5,
        ..Default::default()
    }
}

/// The single call dispatched by `acts`, with its attempt.
fn one(acts: &[Action]) -> (CallId, AttemptId) {
    let d = dispatched(acts);
    assert_eq!(d.len(), 1, "{acts:?}");
    (d[0].0, d[0].1)
}

#[test]
fn an_idle_reservation_is_borrowed_and_never_preempted() {
    // max_concurrency 4, gold reserves 0.5 (2 slots); no gold call waits.
    let mut h = Harness::new(
        vec![reserving(4, gold_half())],
        vec![
            tenant("g", SlaClass::Gold, &[("a", 0)]),
            tenant("b", SlaClass::Bronze, &[("a", 0)]),
        ],
    );
    let a = h.ep("a");
    let mut bronze = Vec::new();
    for i in 0..4 {
        let (_, acts) = h.submit(ms(i), "b");
        bronze.push(one(&acts).1);
    }
    // Borrowing when idle: bronze fills all 4 slots, gold's included.
    assert_eq!(h.router.in_flight(a), 4);
    let (b5, acts) = h.submit(ms(5), "b");
    assert!(dispatched(&acts).is_empty());
    // A gold call arriving now waits: attempts are never preempted.
    let (g1, acts) = h.submit(ms(6), "g");
    assert!(dispatched(&acts).is_empty());
    h.router.check_invariants("gold waits for a slot");
    // The first freed slot goes to gold, though bronze waited longer.
    let acts = h.outcome(ms(10), bronze[0], Outcome::Success);
    assert_eq!(one(&acts).0, g1);
    // With no gold call waiting, the next one is bronze's again.
    let acts = h.outcome(ms(11), bronze[1], Outcome::Success);
    assert_eq!(one(&acts).0, b5);
    h.router.check_invariants("borrowed");
}

#[test]
fn a_waiting_class_keeps_its_reserved_slots_and_gold_takes_one_at_once() {
    // Gold tenant `g` is capped at 1 attempt: its second call waits for
    // `a` even though `a` has free slots, and so holds gold's reservation.
    let mut g = tenant("g", SlaClass::Gold, &[("a", 0)]);
    g.max_concurrency = Some(1);
    let mut h = Harness::new(
        vec![reserving(4, gold_half())],
        vec![
            g,
            tenant("g2", SlaClass::Gold, &[("a", 0)]),
            tenant("b", SlaClass::Bronze, &[("a", 0)]),
        ],
    );
    let a = h.ep("a");
    let (_, acts) = h.submit(ms(0), "g");
    let g1 = one(&acts).1;
    let (g2, acts) = h.submit(ms(1), "g");
    assert!(dispatched(&acts).is_empty(), "tenant g is at its cap");
    // 1 slot is gold's, 1 more gold reserved slot is unused and gold waits:
    // bronze gets the 2 non-reserved slots, no more.
    let mut taken = 0;
    for i in 0..4 {
        let (_, acts) = h.submit(ms(2 + i), "b");
        taken += dispatched(&acts).len();
    }
    assert_eq!(taken, 2);
    assert_eq!(h.router.in_flight(a), 3);
    h.router.check_invariants("a reserved slot stays free");
    // A gold call arriving while bronze holds the non-reserved slots (and
    // bronze calls wait) gets the reserved slot immediately.
    let (g3, acts) = h.submit(ms(10), "g2");
    assert_eq!(one(&acts).0, g3);
    assert_eq!(h.router.in_flight(a), 4);
    // When g1 ends, its tenant's waiting call takes the freed slot (gold
    // is below its reservation again: 1 of 2).
    let acts = h.outcome(ms(20), g1, Outcome::Success);
    let d = dispatched(&acts);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].0, g2);
    h.router.check_invariants("gold back to 2");
}

#[test]
fn a_reservation_keeps_a_lower_class_from_starving() {
    // Silver reserves 0.5 of 4 slots; gold floods the endpoint.
    let shares = ClassShares {
        silver: 0.5,
        ..Default::default()
    };
    let mut h = Harness::new(
        vec![reserving(4, shares)],
        vec![
            tenant("g", SlaClass::Gold, &[("a", 0)]),
            tenant("s", SlaClass::Silver, &[("a", 0)]),
        ],
    );
    let mut gold = Vec::new();
    for i in 0..4 {
        let (_, acts) = h.submit(ms(i), "g");
        gold.push(one(&acts).1);
    }
    let (g5, _) = h.submit(ms(5), "g");
    let (s1, _) = h.submit(ms(6), "s");
    let (s2, _) = h.submit(ms(7), "s");
    let (s3, _) = h.submit(ms(8), "s");
    assert_eq!(h.router.waiting(), 4);
    // Without the reservation gold would take every freed slot (strict
    // priority); with it, silver gets its 2 slots first.
    let acts = h.outcome(ms(10), gold[0], Outcome::Success);
    assert_eq!(one(&acts).0, s1);
    let acts = h.outcome(ms(11), gold[1], Outcome::Success);
    assert_eq!(one(&acts).0, s2);
    h.router.check_invariants("silver at its reservation");
    // Silver holds its 2 slots: strict priority again.
    let acts = h.outcome(ms(12), gold[2], Outcome::Success);
    assert_eq!(one(&acts).0, g5);
    let acts = h.outcome(ms(13), gold[3], Outcome::Success);
    assert_eq!(one(&acts).0, s3);
    h.router.check_invariants("drained");
}

#[test]
fn over_borrowed_classes_each_take_back_their_own() {
    // Gold and silver reserve 2 slots each; bronze borrowed all 4.
    let shares = ClassShares {
        gold: 0.5,
        silver: 0.5,
        bronze: 0.0,
    };
    let mut h = Harness::new(
        vec![reserving(4, shares)],
        vec![
            tenant("g", SlaClass::Gold, &[("a", 0)]),
            tenant("s", SlaClass::Silver, &[("a", 0)]),
            tenant("b", SlaClass::Bronze, &[("a", 0)]),
        ],
    );
    let mut bronze = Vec::new();
    for i in 0..4 {
        let (_, acts) = h.submit(ms(i), "b");
        bronze.push(one(&acts).1);
    }
    let (_b5, _) = h.submit(ms(4), "b");
    let (s1, _) = h.submit(ms(5), "s");
    let (g1, _) = h.submit(ms(6), "g");
    let (g2, _) = h.submit(ms(7), "g");
    // Both gold and silver are below their reservations; neither blocks the
    // other, and the freed slot is never left idle: gold first.
    let acts = h.outcome(ms(10), bronze[0], Outcome::Success);
    assert_eq!(one(&acts).0, g1);
    let acts = h.outcome(ms(11), bronze[1], Outcome::Success);
    assert_eq!(one(&acts).0, g2);
    // Gold holds its 2; silver is next, bronze keeps waiting.
    let acts = h.outcome(ms(12), bronze[2], Outcome::Success);
    assert_eq!(one(&acts).0, s1);
    h.router.check_invariants("taken back");
}

#[test]
fn reserved_shares_are_validated() {
    let build = |e: EndpointPolicy| {
        Router::new(RouterConfig {
            endpoints: vec![e],
            tenants: vec![tenant("t", SlaClass::Gold, &[("a", 0)])],
            seed: 0,
            budget: Default::default(),
            max_queue: None,
            breaker: None,
            ..Default::default()
        })
    };
    let over = ClassShares {
        gold: 0.6,
        silver: 0.3,
        bronze: 0.2,
    };
    let err = build(reserving(4, over)).unwrap_err();
    assert!(matches!(err, ConfigError::ReservedOverOne { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "endpoint \"a\": reserved shares sum to 1.1, expected at most 1 (they are shares of max_concurrency)"
    );
    let err = build(reserving(
        4,
        ClassShares {
            gold: 1.5,
            ..Default::default()
        },
    ))
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "endpoint \"a\": reserved.gold is 1.5, expected a number from 0 to 1"
    );
    let err = build(reserving(
        4,
        ClassShares {
            silver: -0.1,
            ..Default::default()
        },
    ))
    .unwrap_err();
    assert!(matches!(err, ConfigError::RatioOutOfRange { .. }), "{err:?}");
    let uncapped = EndpointPolicy {
        reserved: gold_half(),
        ..endpoint("a", None, 1000)
    };
    let err = build(uncapped).unwrap_err();
    assert_eq!(err, ConfigError::ReservedWithoutCap("a".into()));
    assert!(err.to_string().contains("reserved needs max_concurrency"));
    // Exactly 1 in all is fine.
    let full = ClassShares {
        gold: 0.5,
        silver: 0.3,
        bronze: 0.2,
    };
    assert!(build(reserving(10, full)).is_ok());
}

#[cfg(feature = "cli")]
#[test]
fn reserved_reads_from_toml() {
    let e: EndpointPolicy = toml::from_str(
        "name = \"a\"\nmax_concurrency = 4\nattempt_timeout = \"30s\"\nreserved = { gold = 0.5, silver = 0.2 }\n",
    )
    .unwrap();
    assert_eq!(
        e.reserved,
        ClassShares {
            gold: 0.5,
            silver: 0.2,
            bronze: 0.0
        }
    );
    let e: EndpointPolicy = toml::from_str("name = \"a\"\nattempt_timeout = \"30s\"\n").unwrap();
    assert!(e.reserved.is_none());
}

#[test]
fn a_held_slot_is_taken_once_its_class_stops_waiting() {
    // As above: gold tenant `g` is capped, its second call waits for `a`
    // (with a deadline) and holds gold's unused reserved slot.
    let mut g = tenant("g", SlaClass::Gold, &[("a", 0)]);
    g.max_concurrency = Some(1);
    let mut h = Harness::new(
        vec![reserving(4, gold_half())],
        vec![g, tenant("b", SlaClass::Bronze, &[("a", 0)])],
    );
    let a = h.ep("a");
    h.submit(ms(0), "g");
    let (_, acts) = h.submit_with(ms(1), "g", Some(ms(50)));
    assert!(dispatched(&acts).is_empty());
    let mut taken = 0;
    for i in 0..3 {
        let (_, acts) = h.submit(ms(2 + i), "b");
        taken += dispatched(&acts).len();
    }
    assert_eq!(taken, 2);
    assert!(h.router.reservation_holding());
    // The gold call misses its deadline: gold no longer waits, so the slot
    // it held goes to the waiting bronze call at once.
    let acts = h.tick(ms(50));
    assert!(
        acts.iter().any(|a| matches!(
            a,
            Action::Fail {
                reason: FailReason::DeadlineUnreachable,
                ..
            }
        )),
        "{acts:?}"
    );
    assert_eq!(dispatched(&acts).len(), 1);
    assert_eq!(h.router.in_flight(a), 4);
    assert!(!h.router.reservation_holding());
    h.router.check_invariants("held slot taken");
}
