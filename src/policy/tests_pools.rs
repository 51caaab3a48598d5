//! Unit and property tests of pools: balancing policies, one queue per
//! pool served by whichever member frees first, fallback after a failure
//! on a member, and determinism.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::tests::{Harness, dispatched, endpoint, ms, tenant};
use super::*;
use crate::time::{Span, Time};

fn pool_router(policy: BalancePolicy, members: &[(&str, Option<u32>, Option<u32>)], seed: u64) -> Harness {
    let endpoints: Vec<EndpointPolicy> = members
        .iter()
        .map(|&(name, max, weight)| {
            let mut e = endpoint(name, max, 10_000);
            e.weight = weight;
            e
        })
        .chain(std::iter::once(endpoint("fallback", None, 10_000)))
        .collect();
    let mut chain: Vec<(&str, u8)> = members.iter().map(|&(n, _, _)| (n, 0)).collect();
    chain.push(("fallback", 1));
    let mut t = tenant("t", SlaClass::Gold, &chain);
    t.balance = Some(policy);
    Harness::with(RouterConfig {
        endpoints,
        tenants: vec![t],
        seed,
        ..Default::default()
    })
}

/// Submits `n` calls one ms apart, each answered with success `service`
/// after its dispatch; returns the calls served per endpoint name.
fn serve(h: &mut Harness, n: u64, service: impl Fn(&str) -> Span) -> BTreeMap<String, u64> {
    let names: Vec<String> = h.router.config().endpoints.iter().map(|e| e.name.clone()).collect();
    let mut out: Vec<(Time, AttemptId)> = Vec::new();
    let mut served = BTreeMap::new();
    for i in 0..n {
        let now = ms(i);
        out.sort();
        while let Some(&(at, a)) = out.first().filter(|(at, _)| *at <= now) {
            out.remove(0);
            for act in h.outcome(at, a, Outcome::Success) {
                if let Action::Dispatch { attempt, endpoint, .. } = act {
                    out.push((at + service(&names[endpoint.0 as usize]), attempt));
                }
            }
        }
        let (_, acts) = h.submit(now, "t");
        for (_, attempt, e) in dispatched(&acts) {
            let name = &names[e.0 as usize];
            *served.entry(name.clone()).or_insert(0) += 1;
            out.push((now + service(name), attempt));
        }
    }
    served
}

/// `count` within `z` standard deviations of Binomial(`n`, `p`)'s mean.
fn binomial_ok(count: u64, n: u64, p: f64, z: f64) -> bool {
    let mean = n as f64 * p;
    let sd = (n as f64 * p * (1.0 - p)).sqrt();
    (count as f64 - mean).abs() <= z * sd
}

#[test]
fn weighted_random_follows_explicit_weights() {
    let mut h = pool_router(
        BalancePolicy::WeightedRandom,
        &[("a", None, Some(1)), ("b", None, Some(2)), ("c", None, Some(5))],
        11,
    );
    let n = 40_000;
    let served = serve(&mut h, n, |_| Span::from_micros(500));
    for (name, w) in [("a", 1.0), ("b", 2.0), ("c", 5.0)] {
        let count = served[name];
        // 4.5 sd: a false alarm about once in 150,000 runs.
        assert!(
            binomial_ok(count, n, w / 8.0, 4.5),
            "{name}: {count} of {n}, weight {w}/8"
        );
    }
}

#[test]
fn weighted_random_takes_rpm_when_every_member_has_one_and_equal_otherwise() {
    let rpm_pool = |rpms: [Option<u32>; 2]| {
        let mut a = endpoint("a", None, 10_000);
        let mut b = endpoint("b", None, 10_000);
        (a.rpm, b.rpm) = (rpms[0], rpms[1]);
        let mut t = tenant("t", SlaClass::Gold, &[("a", 0), ("b", 0)]);
        t.balance = Some(BalancePolicy::WeightedRandom);
        Harness::with(RouterConfig {
            endpoints: vec![a, b],
            tenants: vec![t],
            seed: 3,
            ..Default::default()
        })
    };
    // rpm 100,000 and 300,000: weights 1 : 3 (the buckets never run dry).
    let n = 20_000;
    let served = serve(&mut rpm_pool([Some(100_000), Some(300_000)]), n, |_| {
        Span::from_micros(100)
    });
    assert!(binomial_ok(served["a"], n, 0.25, 4.5), "{served:?}");
    // Only one member has an rpm: equal weights.
    let served = serve(&mut rpm_pool([Some(300_000), None]), n, |_| Span::from_micros(100));
    assert!(binomial_ok(served["a"], n, 0.5, 4.5), "{served:?}");
}

#[test]
fn least_outstanding_takes_the_least_busy_member() {
    let mut h = pool_router(
        BalancePolicy::LeastOutstanding,
        &[("a", None, None), ("b", None, None)],
        5,
    );
    // Three calls: they spread 2-1 whatever the tie draws.
    let mut on = BTreeMap::new();
    for i in 0..3 {
        let (_, acts) = h.submit(ms(i), "t");
        *on.entry(dispatched(&acts)[0].2).or_insert(0) += 1;
    }
    let mut counts: Vec<i32> = on.values().copied().collect();
    counts.sort_unstable();
    assert_eq!(counts, vec![1, 2]);
    // The next goes to the member with one out.
    let (a, b) = (h.ep("a"), h.ep("b"));
    let lighter = if h.router.in_flight(a) < h.router.in_flight(b) {
        a
    } else {
        b
    };
    let (_, acts) = h.submit(ms(3), "t");
    assert_eq!(dispatched(&acts)[0].2, lighter);
    // With nothing out, ties are drawn at random: both members serve.
    let mut h = pool_router(
        BalancePolicy::LeastOutstanding,
        &[("a", None, None), ("b", None, None)],
        5,
    );
    let served = serve(&mut h, 2_000, |_| Span::from_micros(100));
    assert!(binomial_ok(served["a"], 2_000, 0.5, 4.5), "{served:?}");
}

#[test]
fn p2c_prefers_the_faster_member_and_comes_back_to_the_slower_one() {
    let mut h = pool_router(
        BalancePolicy::P2cPeakEwma,
        &[("fast", None, None), ("slow", None, None)],
        9,
    );
    // Calls 1 ms apart; fast answers in 2 ms, slow in 50 ms. With two
    // members both are always drawn, so the cheaper one goes; the slow one's
    // estimate decays while unused (10 s / (10 s + dt)) until it is cheaper
    // again, so it is never starved for good.
    let served = serve(&mut h, 60_000, |name| {
        Span::from_millis(if name == "fast" { 2 } else { 50 })
    });
    let (fast, slow) = (served["fast"], served["slow"]);
    assert!(fast > 10 * slow, "{served:?}");
    assert!(
        slow >= 3,
        "the slow member is tried again as its estimate decays: {served:?}"
    );
}

#[test]
fn a_pool_queue_is_served_by_whichever_member_frees_first() {
    let mut h = pool_router(
        BalancePolicy::P2cPeakEwma,
        &[("a", Some(1), None), ("b", Some(1), None)],
        1,
    );
    let (a, b) = (h.ep("a"), h.ep("b"));
    let (_, x) = h.submit(ms(0), "t");
    let (_, y) = h.submit(ms(0), "t");
    let (third, z) = h.submit(ms(0), "t");
    assert!(dispatched(&z).is_empty(), "both busy: the call waits for the pool");
    assert_eq!((h.router.queue_depth(a), h.router.queue_depth(b)), (1, 1));
    let on_b = if dispatched(&x)[0].2 == b {
        dispatched(&x)[0].1
    } else {
        dispatched(&y)[0].1
    };
    let on_a = if dispatched(&x)[0].2 == a {
        dispatched(&x)[0].1
    } else {
        dispatched(&y)[0].1
    };
    // b frees first: it takes the waiting call; a's entry is dropped.
    let acts = h.outcome(ms(5), on_b, Outcome::Success);
    assert_eq!(dispatched(&acts)[0].0, third);
    assert_eq!(dispatched(&acts)[0].2, b);
    assert_eq!((h.router.queue_depth(a), h.router.queue_depth(b)), (0, 0));
    assert!(dispatched(&h.outcome(ms(6), on_a, Outcome::Success)).is_empty());
    h.router.check_invariants("pool queue");
}

#[test]
fn a_failure_on_a_member_moves_to_the_next_pool() {
    let mut h = pool_router(BalancePolicy::P2cPeakEwma, &[("a", None, None), ("b", None, None)], 2);
    let (call, acts) = h.submit(ms(0), "t");
    let first = dispatched(&acts)[0].1;
    let acts = h.outcome(ms(1), first, Outcome::ServerError);
    assert_eq!(dispatched(&acts), vec![(call, AttemptId(1), h.ep("fallback"))]);
}

#[test]
fn a_blocked_member_keeps_its_place_while_the_other_serves() {
    // a cools down after a 429; b takes the pool's waiting calls; once a
    // is back it serves the calls still waiting.
    let mut h = pool_router(
        BalancePolicy::P2cPeakEwma,
        &[("a", Some(1), None), ("b", Some(1), None)],
        4,
    );
    let (a, b) = (h.ep("a"), h.ep("b"));
    let mut on = BTreeMap::new();
    for i in 0..2 {
        let (_, acts) = h.submit(ms(i), "t");
        let (_, attempt, e) = dispatched(&acts)[0];
        on.insert(e, attempt);
    }
    let waiting: Vec<CallId> = (2..5).map(|i| h.submit(ms(i), "t").0).collect();
    let retry_after = Span::from_millis(100);
    // a's attempt gets a 429: it is retried on the fallback tier; a cools.
    let acts = h.outcome(ms(10), on[&a], Outcome::RateLimited { retry_after });
    assert_eq!(dispatched(&acts)[0].2, h.ep("fallback"));
    assert_eq!(h.router.queue_depth(b), 3, "the waiting calls stay, b can take them");
    // b frees: it takes the oldest waiting call.
    let acts = h.outcome(ms(20), on[&b], Outcome::Success);
    assert_eq!(dispatched(&acts)[0].0, waiting[0]);
    // a's cooldown ends at 110 ms: a takes the next waiting call itself.
    let acts = h.tick(ms(110));
    assert_eq!(dispatched(&acts), vec![(waiting[1], dispatched(&acts)[0].1, a)]);
    h.router.check_invariants("after the cooldown");
}

#[test]
fn same_seed_same_choices() {
    let run = |seed| {
        let mut h = pool_router(
            BalancePolicy::WeightedRandom,
            &[("a", None, Some(1)), ("b", None, Some(1)), ("c", None, Some(1))],
            seed,
        );
        serve(&mut h, 500, |_| Span::from_micros(100));
        h.actions
    };
    assert_eq!(run(7), run(7));
    assert_ne!(run(7), run(8));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Under load (calls arriving faster than the pool serves them, so a
    /// queue forms), whatever the policy, weights and capacities, every
    /// member serves calls, no free slot stays idle while a call waits
    /// (checked by the invariants after every input), and every call is
    /// served.
    #[test]
    fn no_member_starves_under_load(
        seed in any::<u64>(),
        policy in prop_oneof![
            Just(BalancePolicy::WeightedRandom),
            Just(BalancePolicy::LeastOutstanding),
            Just(BalancePolicy::P2cPeakEwma),
        ],
        members in prop::collection::vec((1u32..4, 1u32..10, 1u64..20), 2..5),
    ) {
        let names: Vec<String> = (0..members.len()).map(|i| format!("m{i}")).collect();
        let endpoints = names
            .iter()
            .zip(&members)
            .map(|(n, &(cap, w, _))| {
                let mut e = endpoint(n, Some(cap), 60_000);
                e.weight = Some(w);
                e
            })
            .collect();
        let chain: Vec<(&str, u8)> = names.iter().map(|n| (n.as_str(), 0)).collect();
        let mut t = tenant("t", SlaClass::Gold, &chain);
        t.balance = Some(policy);
        let mut h = Harness::with(RouterConfig { endpoints, tenants: vec![t], seed, ..Default::default() });
        let capacity: u64 = members.iter().map(|&(cap, _, ms)| u64::from(cap) * 1000 / ms).sum();
        let n = 600u64;
        // Arrivals at twice the pool's capacity per second.
        let gap_us = (500_000 / capacity).max(1);
        let mut out: Vec<(Time, AttemptId)> = Vec::new();
        let mut served = vec![0u64; members.len()];
        let mut done = 0u64;
        let mut i = 0u64;
        let mut now;
        while done < n {
            let next_arrival = (i < n).then(|| Time::ZERO + Span::from_micros(i * gap_us));
            out.sort();
            let next_answer = out.first().map(|&(at, _)| at);
            let acts = match (next_arrival, next_answer) {
                (Some(t), Some(a)) if a <= t => { now = a; let (_, x) = out.remove(0); h.outcome(now, x, Outcome::Success) }
                (Some(t), _) => { now = t; i += 1; h.submit(now, "t").1 }
                (None, Some(a)) => { now = a; let (_, x) = out.remove(0); h.outcome(now, x, Outcome::Success) }
                (None, None) => break,
            };
            for act in acts {
                match act {
                    Action::Dispatch { attempt, endpoint, .. } => {
                        served[endpoint.0 as usize] += 1;
                        out.push((now + Span::from_millis(members[endpoint.0 as usize].2), attempt));
                    }
                    Action::Complete { .. } | Action::Fail { .. } => done += 1,
                    _ => {}
                }
            }
            h.router.check_invariants("pool under load");
        }
        prop_assert_eq!(done, n);
        prop_assert!(served.iter().all(|&s| s > 0), "{:?} with {:?}", served, members);
        let failed = h.actions.iter().filter(|a| matches!(a, Action::Fail { .. })).count();
        prop_assert_eq!(failed, 0);
    }
}
