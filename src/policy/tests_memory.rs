//! Memory bounds: regression tests for each structure that used to grow
//! with the calls served or the uptime, and a long release-mode property
//! that drives the router for millions of calls with random outcomes,
//! timeouts, cancels, first tokens and reloads, and checks that every
//! internal structure stays within a constant times the calls alive plus a
//! constant.

use proptest::prelude::*;

use super::rng::SplitMix64;
use super::tests::{Harness, dispatched, endpoint, ms, tenant};
use super::*;
use crate::time::{Span, Time};

fn at_us(us: u64) -> Time {
    Time::ZERO + Span::from_micros(us)
}

/// Regression: a live timer at the front of the heap (a cooldown ending
/// after a 429's 55 s retry-after) kept every dead timer behind it: 20,000
/// calls a second with 60 s deadlines, all done at once, left a million
/// dead deadline timers (36 MB) in 55 s.
#[test]
fn dead_timers_behind_a_far_cooldown_do_not_pile_up() {
    let mut h = Harness::new(
        vec![endpoint("a", None, 10_000), endpoint("b", None, 10_000)],
        vec![tenant("t", SlaClass::Gold, &[("a", 0), ("b", 1)])],
    );
    let (_, acts) = h.submit(ms(0), "t");
    let retry_after = Span::from_secs(55);
    h.outcome(ms(1), dispatched(&acts)[0].1, Outcome::RateLimited { retry_after });
    let mut most = 0;
    for i in 0..200_000u64 {
        let now = ms(2) + Span::from_micros(50 * i);
        let (_, acts) = h.submit_with(now, "t", Some(now + Span::from_secs(60)));
        for (_, attempt, _) in dispatched(&acts) {
            h.outcome(now, attempt, Outcome::Success);
        }
        h.actions.clear();
        most = most.max(h.router.timer_entries());
    }
    assert!(most < 200, "{most} timer entries with at most 2 calls alive");
}

/// Regression: every call parked behind a spent rate limit armed its own
/// wake-up, and every wake-up re-parked every parked call, each arming
/// another: N parked calls made N timers per wake-up, N² the next (a
/// quota scenario's simulation ran out of memory at one instant, its
/// clock never moving). One wake-up is pending at a time now.
#[test]
fn calls_parked_behind_a_rate_limit_share_one_wake_up() {
    let mut a = endpoint("a", None, 60_000);
    a.rpm = Some(60);
    let mut h = Harness::new(vec![a], vec![tenant("t", SlaClass::Gold, &[("a", 0)])]);
    let mut served = 0;
    for i in 0..200 {
        let (_, acts) = h.submit(ms(i), "t");
        for (_, attempt, _) in dispatched(&acts) {
            served += 1;
            h.outcome(ms(i), attempt, Outcome::Success);
        }
    }
    let mut most = h.router.timer_entries();
    for _ in 0..400 {
        let Some(now) = h.router.poll_timeout() else { break };
        let acts = h.tick(now);
        for (_, attempt, _) in dispatched(&acts) {
            served += 1;
            h.outcome(now, attempt, Outcome::Success);
        }
        most = most.max(h.router.timer_entries());
    }
    assert!(
        most < 20,
        "{most} timer entries for 200 calls parked behind one rate limit"
    );
    // The limit still lets every call through in time.
    assert_eq!(served, 200, "calls served");
    h.router.check_invariants("parked calls");
}

/// Regression: attempt deadlines are kept in a FIFO per endpoint; one hung
/// attempt at the front (a one-hour timeout) kept every later attempt's
/// dead deadline behind it.
#[test]
fn dead_attempt_deadlines_behind_a_hung_attempt_do_not_pile_up() {
    let mut h = Harness::new(
        vec![endpoint("a", None, 3_600_000)],
        vec![tenant("t", SlaClass::Gold, &[("a", 0)])],
    );
    h.submit(ms(0), "t"); // never answered
    let mut most = 0;
    for i in 1..100_000u64 {
        let now = at_us(100 * i);
        let (_, acts) = h.submit(now, "t");
        h.outcome(now, dispatched(&acts)[0].1, Outcome::Success);
        h.actions.clear();
        most = most.max(h.router.timer_entries());
    }
    assert!(most < 100, "{most} timer entries with at most 2 attempts alive");
    assert!(h.router.attempt_index_len() < 100, "{}", h.router.attempt_index_len());
}

/// Regression: suspended calls were listed for `resume_on`, which only ran
/// when a breaker closed or a cooldown ended; without a breaker, every
/// expired suspension stayed in the list.
#[test]
fn expired_suspensions_do_not_pile_up_without_a_breaker() {
    let mut t = tenant("t", SlaClass::Gold, &[("p", 0), ("wait", 4)]);
    t.max_suspend = Span::from_secs(1);
    t.promote_after = Span::from_secs(3_600);
    let mut h = Harness::new(
        vec![endpoint("p", None, 10_000), endpoint("wait", None, 10_000)],
        vec![t],
    );
    let mut peak_live = 0;
    let mut most = 0;
    for i in 0..100_000u64 {
        let now = ms(10 * i);
        h.router.handle_timeout(now);
        let (_, acts) = h.submit(now, "t");
        for (_, attempt, _) in dispatched(&acts) {
            h.outcome(now, attempt, Outcome::ServerError);
        }
        h.actions.clear();
        h.events.clear();
        peak_live = peak_live.max(h.router.live_calls());
        most = most.max(h.router.sizes().suspended);
    }
    assert!(peak_live <= 102, "{peak_live}");
    assert!(
        most <= 2 * peak_live + 34,
        "{most} suspended entries, at most {peak_live} calls alive"
    );
}

/// Regression: a 429's retry-after was used as is: a bogus "100 years"
/// took the endpoint out for good. It is capped at `max_retry_after`
/// (10 minutes by default).
#[test]
fn a_retry_after_is_capped() {
    let mut h = Harness::new(
        vec![endpoint("a", None, 10_000)],
        vec![tenant("t", SlaClass::Gold, &[("a", 0)])],
    );
    let (call, acts) = h.submit(ms(0), "t");
    let century = Span::from_days(36_500);
    h.outcome(
        ms(1),
        dispatched(&acts)[0].1,
        Outcome::RateLimited { retry_after: century },
    );
    let ten_minutes = ms(1) + Span::from_mins(10);
    assert_eq!(h.router.poll_timeout(), Some(ten_minutes));
    let acts = h.tick(ten_minutes);
    assert_eq!(
        dispatched(&acts)[0].0,
        call,
        "the parked call goes when the capped cooldown ends"
    );
    assert_eq!(dispatched(&acts)[0].2, h.ep("a"));
}

#[test]
fn shedding_deep_queues_drops_the_newest_of_the_lowest_class() {
    let mut h = Harness::with(RouterConfig {
        endpoints: vec![endpoint("a", Some(1), 10_000)],
        tenants: vec![
            tenant("g", SlaClass::Gold, &[("a", 0)]),
            tenant("b", SlaClass::Bronze, &[("a", 0)]),
        ],
        max_queue: Some(1_000),
        ..Default::default()
    });
    let (_, acts) = h.submit(ms(0), "b");
    let busy = dispatched(&acts)[0].1;
    let bronze: Vec<CallId> = (0..1_500).map(|i| h.submit(ms(1 + i), "b").0).collect();
    let gold: Vec<CallId> = (0..800).map(|i| h.submit(ms(2_000 + i), "g").0).collect();
    assert_eq!(h.router.queue_depth(h.ep("a")), 1_000);
    let shed: Vec<CallId> = h
        .actions
        .iter()
        .filter_map(|a| match *a {
            Action::Fail {
                call,
                reason: FailReason::Shed,
            } => Some(call),
            _ => None,
        })
        .collect();
    // While bronze alone overflows, each bronze call past the 1,000th is
    // the newest and is shed as it comes (500 of them); then each gold call
    // sheds the newest bronze call left (800 of them, newest first); the
    // 200 oldest bronze calls stay.
    assert_eq!(shed.len(), 1_300);
    assert!(shed.iter().all(|c| !gold.contains(c)));
    let mut expect: Vec<CallId> = bronze[1_000..].to_vec();
    expect.extend(bronze[200..1_000].iter().rev().copied());
    assert_eq!(shed, expect);
    // Served next: all gold, then the oldest bronze.
    let acts = h.outcome(ms(3_000), busy, Outcome::Success);
    assert_eq!(dispatched(&acts)[0].0, gold[0]);
    h.router.check_invariants("after shedding");
}

/// The random configuration of the long run: pools, breakers, rate limits,
/// first-token timeouts, hedging, `max_wait`, suspension, shedding,
/// notices, degradation with fast promotion. `variant` 1 drops an endpoint
/// and changes limits (for reloads).
fn long_config(variant: u8) -> RouterConfig {
    let mut a = endpoint("a", Some(4), 2_000);
    a.rpm = Some(6_000);
    a.first_token_timeout = Some(Span::from_millis(400));
    let mut b = endpoint("b", Some(3), 1_500);
    b.expected_latency = Some(Span::from_millis(100));
    let c = endpoint("c", Some(if variant == 1 { 6 } else { 2 }), 1_000);
    let d = endpoint("d", None, 3_000);
    let s = endpoint("s", None, 1_000);
    let mut gold = tenant("gold", SlaClass::Gold, &[("a", 0), ("b", 0), ("c", 1), ("s", 4)]);
    gold.hedge_after = Some(Span::from_millis(300));
    gold.notify_on_degradation = true;
    gold.notice_interval = Span::from_secs(2);
    gold.promote_after = Span::from_secs(1);
    gold.max_suspend = Span::from_secs(3);
    gold.availability_target = Some(0.99);
    let mut silver = tenant("silver", SlaClass::Silver, &[("b", 0), ("c", 0), ("d", 2)]);
    silver.max_wait = Some(Span::from_millis(80));
    silver.max_concurrency = Some(5);
    silver.degrade_after = 2;
    silver.promote_after = Span::from_millis(500);
    silver.balance = Some(BalancePolicy::LeastOutstanding);
    let mut bronze = tenant("bronze", SlaClass::Bronze, &[("c", 0), ("d", 0), ("a", 1)]);
    bronze.retry.backoff = Span::from_millis(5);
    bronze.retry.jitter = 0.5;
    bronze.balance = Some(BalancePolicy::WeightedRandom);
    bronze.requires_consent = vec![Tier(1)];
    bronze.max_suspend = Span::from_secs(2);
    let mut endpoints = vec![a, b, c, d, s];
    if variant == 1 {
        endpoints.retain(|e| e.name != "d");
        silver.chain.retain(|s| s.endpoint != "d");
        bronze.chain.retain(|s| s.endpoint != "d");
    }
    RouterConfig {
        endpoints,
        tenants: vec![gold, silver, bronze],
        seed: 1,
        max_queue: Some(40),
        breaker: Some(BreakerPolicy {
            window: Span::from_secs(2),
            min_requests: 5,
            error_ratio: 0.5,
            open_for: Span::from_millis(300),
            half_open_probes: 2,
            ..BreakerPolicy::default()
        }),
        max_retry_after: Span::from_secs(5),
        ..Default::default()
    }
}

/// Drives a router with `calls` random calls from `seed`; every 1,000
/// inputs, checks every structure against the calls alive; returns the
/// peak of calls alive and the largest structure seen.
fn long_run(seed: u64, calls: u64) -> (usize, usize) {
    let mut rng = SplitMix64::new(seed);
    let mut router = Router::new(long_config(0)).expect("valid");
    let mut now = Time::ZERO;
    let mut out: Vec<AttemptId> = Vec::new();
    let mut live: Vec<CallId> = Vec::new();
    let (mut submitted, mut inputs, mut peak, mut most) = (0u64, 0u64, 0usize, 0usize);
    let mut variant = 0u8;
    while submitted < calls {
        let r = rng.next_u64() % 100;
        now += Span::from_micros(rng.next_u64() % 400);
        match r {
            0..=39 => {
                let tenant = TenantId((rng.next_u64() % 3) as u32);
                let priority =
                    (rng.next_u64().is_multiple_of(8)).then_some(SlaClass::ALL[(rng.next_u64() % 3) as usize]);
                let deadline =
                    (rng.next_u64().is_multiple_of(3)).then(|| now + Span::from_millis(rng.next_u64() % 3_000));
                let affinity = (rng.next_u64().is_multiple_of(4)).then(|| EndpointId((rng.next_u64() % 5) as u32));
                let id = router.submit(
                    now,
                    CallRequest {
                        tenant,
                        deadline,
                        affinity,
                        priority,
                        input_tokens: 100,
                        output_tokens: 50,
                        ..Default::default()
                    },
                );
                live.push(id);
                submitted += 1;
            }
            40..=79 if !out.is_empty() => {
                let a = out.swap_remove((rng.next_u64() % out.len() as u64) as usize);
                let outcome = match rng.next_u64() % 20 {
                    0..=12 => Outcome::Success,
                    13..=15 => Outcome::ServerError,
                    16 => Outcome::ConnectionError,
                    17 => Outcome::ClientError { status: 400 },
                    18 => Outcome::RateLimited {
                        retry_after: Span::from_millis(rng.next_u64() % 2_000),
                    },
                    _ => Outcome::RateLimited {
                        retry_after: Span::from_days(36_500),
                    },
                };
                if rng.next_u64().is_multiple_of(2) {
                    router.on_first_token(now, a);
                }
                router.on_outcome(now, a, outcome);
            }
            80..=84 if !live.is_empty() => {
                let c = live.swap_remove((rng.next_u64() % live.len() as u64) as usize);
                router.cancel(now, c);
            }
            85..=86 if !out.is_empty() => {
                let a = out[(rng.next_u64() % out.len() as u64) as usize];
                router.on_first_token(now, a);
            }
            87 if rng.next_u64().is_multiple_of(2_000) => {
                variant ^= 1;
                router.reload(now, long_config(variant)).expect("valid reload");
            }
            88..=89 => now += Span::from_millis(rng.next_u64() % 2_000),
            _ => router.handle_timeout(now),
        }
        if router.poll_timeout().is_some_and(|t| t <= now) {
            router.handle_timeout(now);
        }
        while let Some(a) = router.poll_action() {
            match a {
                Action::Dispatch { attempt, .. } => out.push(attempt),
                Action::Cancel { attempt, .. } => {
                    if let Some(i) = out.iter().position(|&x| x == attempt) {
                        out.swap_remove(i);
                    }
                }
                Action::Complete { call, .. } | Action::Fail { call, .. } => {
                    if let Some(i) = live.iter().position(|&x| x == call) {
                        live.swap_remove(i);
                    }
                }
                _ => {}
            }
        }
        while router.poll_event().is_some() {}
        if cfg!(debug_assertions) {
            router.check_invariants("long run");
        }
        inputs += 1;
        peak = peak.max(router.live_calls());
        if inputs.is_multiple_of(1_000) {
            let sizes = router.sizes();
            most = most.max(sizes.max());
            // Every structure within a constant times the calls alive (at
            // their peak so far) plus a constant.
            assert!(
                sizes.max() <= 24 * peak + 512,
                "{sizes:?} with at most {peak} calls alive after {submitted} calls"
            );
            // A submission can shed another call: one more alive meanwhile.
            assert!(sizes.call_slots <= peak + 1, "{sizes:?}");
        }
    }
    (peak, most)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2, ..ProptestConfig::default() })]

    /// A million calls per case in release mode (a few seconds); debug
    /// builds run a short version of the same drive, checking the router's
    /// invariants after every input.
    #[test]
    fn memory_stays_bounded_by_the_calls_alive(seed in any::<u64>()) {
        let calls = if cfg!(debug_assertions) { 30_000 } else { 1_000_000 };
        let (peak, most) = long_run(seed, calls);
        prop_assert!(peak < 2_000, "{} calls: the drive keeps the calls alive bounded: {}", calls, peak);
        prop_assert!(most > 0, "{} calls: at most {} alive, largest structure {} entries", calls, peak, most);
    }
}
