//! Property tests (proptest) over call / outcome / timeout sequences.
//!
//! Properties: every call ends exactly once (Complete or Fail; a suspended
//! call that resumes still ends once; a cancelled call too); the router's
//! bookkeeping agrees with the driver's (attempts, queue entries and their
//! live counts per endpoint and class, tenants' probes); no free, usable endpoint is left idle while a call waits
//! for it that the reservation rule admits (so a lower class never goes
//! while a higher one waits for a free endpoint, unless the lower class is
//! below its own reservation or the slot is one the unused reservation of
//! a waiting class needs), and whenever a free, unblocked endpoint has calls
//! waiting, the rule admits at least one of their classes (reservations
//! never shut every waiting class out); dispatches never go to an open breaker except as allowed
//! half-open probes (a debug assertion in the router, active in tests); the
//! same inputs give the same outputs. Some calls name a session endpoint
//! (in or out of their chain, or unknown) or a priority; the driver also
//! cancels calls, reports first tokens and client errors, and reloads the
//! configuration (another concurrency cap and balancing policy). Chains
//! have pools.

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;

use super::tests::{endpoint, tenant};
use super::*;
use crate::time::{Span, Time};

/// One driver input.
#[derive(Clone, Debug)]
enum Op {
    /// Submit a call of tenant `tenant` (mod 4), with a deadline this many
    /// ms ahead if any, and session affinity to endpoint `affinity` if any
    /// (4 is an id the router does not know).
    Submit {
        tenant: u32,
        deadline_ms: Option<u64>,
        affinity: Option<u32>,
        priority: Option<usize>,
    },
    /// Report an outcome for outstanding attempt `index` (mod count).
    Answer { index: usize, outcome: Outcome },
    /// Report the first token of outstanding attempt `index` (mod count).
    FirstToken { index: usize },
    /// Cancel call `index` (mod calls submitted; ended calls too).
    Cancel { index: u64 },
    /// Reload the configuration, toggling its variant.
    Reload,
    /// Move the clock forward and fire due timers.
    Advance { ms: u64 },
}

fn outcome() -> impl Strategy<Value = Outcome> {
    prop_oneof![
        3 => Just(Outcome::Success),
        1 => Just(Outcome::ServerError),
        1 => Just(Outcome::ConnectionError),
        1 => (0u64..300).prop_map(|ms| Outcome::RateLimited { retry_after: Span::from_millis(ms) }),
        1 => Just(Outcome::ClientError { status: 400 }),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (
            0u32..4,
            prop::option::weighted(0.33, 50u64..2_050),
            prop::option::weighted(0.4, 0u32..5),
            prop::option::weighted(0.15, 0usize..3),
        )
            .prop_map(|(tenant, deadline_ms, affinity, priority)| Op::Submit { tenant, deadline_ms, affinity, priority }),
        4 => (any::<usize>(), outcome()).prop_map(|(index, outcome)| Op::Answer { index, outcome }),
        1 => any::<usize>().prop_map(|index| Op::FirstToken { index }),
        1 => any::<u64>().prop_map(|index| Op::Cancel { index }),
        1 => prop::bool::weighted(0.1).prop_map(|r| if r { Op::Reload } else { Op::Advance { ms: 1 } }),
        2 => (0u64..400).prop_map(|ms| Op::Advance { ms }),
    ]
}

fn ops(max: usize) -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(op(), 0..max)
}

fn config(seed: u64) -> RouterConfig {
    variant_config(seed, false)
}

/// [`config`], or its other variant for reloads: `c` capped at 2 and
/// weighted random balancing.
fn variant_config(seed: u64, other: bool) -> RouterConfig {
    let mut a = endpoint("a", Some(2), 1_000);
    a.first_token_timeout = Some(Span::from_millis(450));
    a.rpm = Some(600);
    // Silver keeps 1 of a's 2 slots against gold; gold keeps b's only slot
    // against bronze (its primary there).
    a.reserved = ClassShares {
        silver: 0.5,
        ..Default::default()
    };
    let mut b = endpoint("b", Some(1), 800);
    b.reserved = ClassShares {
        gold: 1.0,
        ..Default::default()
    };
    b.expected_latency = Some(Span::from_millis(300));
    let mut c = endpoint("c", other.then_some(2), 1_500);
    c.expected_latency = Some(Span::from_millis(150));
    let s = endpoint("s", None, 1_000);
    // Gold balances over the pool {a, c} at tier 0.
    let mut gold = tenant("gold", SlaClass::Gold, &[("a", 0), ("c", 0), ("b", 1), ("s", 4)]);
    gold.degrade_after = 2;
    gold.promote_after = Span::from_millis(400);
    gold.notice_interval = Span::from_millis(300);
    gold.max_suspend = Span::from_secs(3);
    gold.latency_ceiling = Some(Span::from_millis(700));
    gold.notify_on_degradation = true;
    gold.hedge_after = Some(Span::from_millis(250));
    gold.availability_target = Some(0.99);
    let mut silver = tenant("silver", SlaClass::Silver, &[("a", 0), ("c", 2)]);
    silver.requires_consent = vec![Tier(2)];
    silver.max_suspend = Span::from_secs(2);
    silver.hedge_after = Some(Span::from_millis(300));
    let mut bronze = tenant("bronze", SlaClass::Bronze, &[("b", 0), ("c", 0), ("a", 2)]);
    bronze.balance = Some(BalancePolicy::LeastOutstanding);
    bronze.retry.backoff = Span::from_millis(20);
    bronze.retry.jitter = 0.5;
    bronze.max_concurrency = Some(2);
    bronze.max_wait = Some(Span::from_millis(150));
    let mut silver2 = tenant("silver2", SlaClass::Silver, &[("a", 0), ("b", 1)]);
    silver2.weight = 3;
    silver2.max_concurrency = Some(1);
    silver2.max_wait = Some(Span::from_millis(60));
    RouterConfig {
        endpoints: vec![a, b, c, s],
        tenants: vec![gold, silver, bronze, silver2],
        seed,
        budget: Default::default(),
        max_queue: Some(4),
        breaker: Some(BreakerPolicy {
            window: Span::from_secs(2),
            min_requests: 3,
            error_ratio: 0.5,
            slow_threshold: Some(Span::from_millis(600)),
            slow_ratio: 0.8,
            open_for: Span::from_millis(500),
            half_open_probes: 2,
        }),
        balance: if other {
            BalancePolicy::WeightedRandom
        } else {
            BalancePolicy::P2cPeakEwma
        },
        ..Default::default()
    }
}

/// What a run emitted, in order.
type Trace = (Vec<Action>, Vec<AuditEvent>);

/// The driver's side of a run.
struct Driver {
    router: Router,
    now: Time,
    out: Vec<AttemptId>,
    ended: BTreeMap<CallId, u32>,
    submitted: u64,
    trace: Trace,
    /// Whether a reservation ever kept a free slot from a waiting call.
    held: bool,
    seed: u64,
    variant: bool,
    /// `poll_timeout` after every input, in order.
    timeouts: Vec<Option<Time>>,
}

impl Driver {
    fn drain(&mut self) {
        while let Some(a) = self.router.poll_action() {
            match a {
                Action::Dispatch { attempt, .. } => self.out.push(attempt),
                Action::Cancel { attempt, .. } => self.out.retain(|&x| x != attempt),
                Action::Complete { call, .. } | Action::Fail { call, .. } => {
                    *self.ended.entry(call).or_default() += 1;
                }
                Action::Suspend { .. } | Action::Resume { .. } => {}
            }
            self.trace.0.push(a);
        }
        while let Some(e) = self.router.poll_event() {
            self.trace.1.push(e);
        }
        self.router.check_invariants("property run");
        self.held |= self.router.reservation_holding();
        let timeout = self.router.poll_timeout();
        if let Some(t) = timeout {
            assert!(t >= self.now, "stale timeout {t:?} at {:?}", self.now);
        }
        self.timeouts.push(timeout);
    }

    fn apply(&mut self, op: &Op) {
        match *op {
            Op::Submit {
                tenant,
                deadline_ms,
                affinity,
                priority,
            } => {
                let deadline = deadline_ms.map(|d| self.now + Span::from_millis(d));
                let request = CallRequest {
                    tenant: TenantId(tenant % 4),
                    workflow: WorkflowId(0),
                    input_tokens: 100,
                    output_tokens: 50,
                    deadline,
                    affinity: affinity.map(EndpointId),
                    priority: priority.map(|p| SlaClass::ALL[p]),
                };
                self.router.submit(self.now, request);
                self.submitted += 1;
            }
            Op::FirstToken { index } => {
                if let Some(&a) = self.out.get(index % self.out.len().max(1)) {
                    self.router.on_first_token(self.now, a);
                }
            }
            Op::Cancel { index } => {
                if self.submitted > 0 {
                    self.router.cancel(self.now, CallId(index % self.submitted));
                }
            }
            Op::Reload => {
                self.variant = !self.variant;
                let report = self
                    .router
                    .reload(self.now, variant_config(self.seed, self.variant))
                    .expect("valid reload");
                assert!(report.calls_failed.is_empty() && report.attempts_cancelled.is_empty());
            }
            Op::Answer { index, outcome } => {
                if self.out.is_empty() {
                    return;
                }
                let attempt = self.out.remove(index % self.out.len());
                self.router.on_outcome(self.now, attempt, outcome);
            }
            Op::Advance { ms } => {
                self.now += Span::from_millis(ms);
                self.router.handle_timeout(self.now);
                self.drain();
                // A repeated handle_timeout at the same instant is a no-op.
                self.router.handle_timeout(self.now);
                assert!(self.router.poll_action().is_none(), "repeated handle_timeout acted");
            }
        }
        self.drain();
    }

    /// Answers everything with success and runs the timers until every call
    /// has ended.
    fn finish(&mut self) {
        for _ in 0..100_000 {
            if !self.out.is_empty() {
                let attempt = self.out.remove(0);
                self.router.on_outcome(self.now, attempt, Outcome::Success);
            } else if let Some(t) = self.router.poll_timeout() {
                self.now = self.now.max(t);
                self.router.handle_timeout(self.now);
            } else {
                break;
            }
            self.drain();
        }
    }
}

/// Runs `ops` on a fresh router seeded with `seed`, drives every call to its
/// end and checks the end-of-run properties; returns what the router emitted.
fn run(config: RouterConfig, ops: &[Op]) -> Trace {
    drive(config, ops).trace
}

/// [`run`], returning the whole driver.
fn drive(config: RouterConfig, ops: &[Op]) -> Driver {
    drive_with(Router::new(config).expect("valid config"), ops)
}

/// [`drive`] with a router built by the caller.
fn drive_with(router: Router, ops: &[Op]) -> Driver {
    let seed = router.config().seed;
    let mut d = Driver {
        router,
        now: Time::ZERO,
        out: Vec::new(),
        ended: BTreeMap::new(),
        submitted: 0,
        trace: (Vec::new(), Vec::new()),
        held: false,
        seed,
        variant: false,
        timeouts: Vec::new(),
    };
    for op in ops {
        d.apply(op);
    }
    d.finish();
    assert!(d.out.is_empty(), "attempts left after draining");
    assert_eq!(d.router.waiting(), 0, "calls left waiting");
    assert_eq!(d.ended.len() as u64, d.submitted, "every call ends");
    assert!(d.ended.values().all(|&n| n == 1), "every call ends exactly once");
    d
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn random_sequences_keep_every_invariant(seed in any::<u64>(), ops in ops(300)) {
        run(config(seed), &ops);
    }

    #[test]
    fn same_inputs_same_outputs(seed in any::<u64>(), ops in ops(300)) {
        prop_assert_eq!(run(config(seed), &ops), run(config(seed), &ops));
    }

    /// Deferred call deadlines (`Router::defer_deadline`) act exactly as
    /// deadlines armed at submission: the same actions and events, and the
    /// same `poll_timeout` after every input.
    #[test]
    fn deferred_deadlines_act_as_armed_ones(seed in any::<u64>(), ops in ops(300)) {
        let mut eager = Router::new(config(seed)).expect("valid config");
        eager.timers.eager_deadlines = true;
        let eager = drive_with(eager, &ops);
        let deferred = drive(config(seed), &ops);
        prop_assert_eq!(&deferred.trace, &eager.trace);
        prop_assert_eq!(&deferred.timeouts, &eager.timeouts);
    }
}

/// The generated cases reach the interesting paths, so the properties are
/// not vacuous: breakers open and close, calls suspend, resume, miss
/// their deadlines, hedge, are shed, move on after `max_wait`,
/// fail early on latency estimates, and reservations keep a free slot from
/// a waiting call of another class.
#[test]
fn generated_cases_reach_every_path() {
    let mut runner = TestRunner::deterministic();
    let strategy = (any::<u64>(), ops(300));
    let mut seen = [false; 14];
    for _ in 0..150 {
        let (seed, ops) = strategy.new_tree(&mut runner).expect("strategy").current();
        let d = drive(config(seed), &ops);
        seen[9] |= d.held;
        seen[5] |= d.router.seen.hedge;
        seen[7] |= d.router.seen.saturated;
        seen[10] |= d.router.seen.balanced;
        seen[11] |= d.router.seen.probe;
        let (actions, events) = d.trace;
        for e in &events {
            match e.kind {
                AuditKind::Breaker { to, .. } => seen[usize::from(to == BreakerState::Closed)] = true,
                AuditKind::Suspended { .. } => seen[2] = true,
                AuditKind::Resumed => seen[3] = true,
                AuditKind::Shed { .. } => seen[6] = true,
                AuditKind::DeadlineUnreachable { .. } => seen[8] = true,
                AuditKind::Promoted { .. } => seen[12] = true,
                _ => {}
            }
        }
        seen[13] |= actions.iter().any(|a| {
            matches!(
                a,
                Action::Fail {
                    reason: FailReason::Cancelled,
                    ..
                }
            )
        });
        seen[4] |= actions.iter().any(|a| {
            matches!(
                a,
                Action::Fail {
                    reason: FailReason::DeadlineUnreachable,
                    ..
                }
            )
        });
    }
    assert_eq!(
        seen, [true; 14],
        "breaker open/closed, suspend, resume, deadline, hedge, shed, max_wait, early deadline, reservation, \
         balancing, probe, promotion, cancel"
    );
}
