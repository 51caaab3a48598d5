//! Unit tests of the router core, driven by hand with a moved clock and no
//! simulator.

use super::*;
use crate::time::{Span, Time};

pub(crate) fn endpoint(name: &str, max: Option<u32>, timeout_ms: u64) -> EndpointPolicy {
    EndpointPolicy {
        name: name.into(),
        max_concurrency: max,
        attempt_timeout: Span::from_millis(timeout_ms),
        ..Default::default()
    }
}

pub(crate) fn tenant(name: &str, class: SlaClass, chain: &[(&str, u8)]) -> TenantPolicy {
    TenantPolicy {
        name: name.into(),
        class,
        chain: chain
            .iter()
            .map(|&(e, t)| ChainStep {
                endpoint: e.into(),
                tier: Tier(t),
            })
            .collect(),
        retry: RetryPolicy {
            max_attempts: 3,
            backoff: Span::ZERO,
            backoff_max: Span::from_secs(10),
            jitter: 0.0,
        },
        ..Default::default()
    }
}

pub(crate) fn ms(n: u64) -> Time {
    Time::from_nanos(n * 1_000_000)
}

/// A router plus everything it emitted so far.
pub(crate) struct Harness {
    pub router: Router,
    pub actions: Vec<Action>,
    pub events: Vec<AuditEvent>,
}

impl Harness {
    pub fn new(endpoints: Vec<EndpointPolicy>, tenants: Vec<TenantPolicy>) -> Harness {
        Harness::with(RouterConfig {
            endpoints,
            tenants,
            seed: 0,
            budget: Default::default(),
            max_queue: None,
            breaker: None,
            ..Default::default()
        })
    }

    pub fn with(config: RouterConfig) -> Harness {
        let router = Router::new(config).expect("valid config");
        Harness {
            router,
            actions: Vec::new(),
            events: Vec::new(),
        }
    }

    pub fn drain(&mut self) -> Vec<Action> {
        let mut new = Vec::new();
        while let Some(a) = self.router.poll_action() {
            new.push(a);
        }
        while let Some(e) = self.router.poll_event() {
            self.events.push(e);
        }
        self.actions.extend(new.iter().copied());
        new
    }

    pub fn submit(&mut self, now: Time, tenant: &str) -> (CallId, Vec<Action>) {
        self.submit_with(now, tenant, None)
    }

    pub fn submit_with(&mut self, now: Time, tenant: &str, deadline: Option<Time>) -> (CallId, Vec<Action>) {
        self.submit_request(now, tenant, deadline, None)
    }

    /// Submits a call of `tenant` whose session is on `affinity`, if any.
    pub fn submit_request(
        &mut self,
        now: Time,
        tenant: &str,
        deadline: Option<Time>,
        affinity: Option<EndpointId>,
    ) -> (CallId, Vec<Action>) {
        let t = self.router.tenant_id(tenant).expect("known tenant");
        let id = self.router.submit(
            now,
            CallRequest {
                tenant: t,
                workflow: WorkflowId(0),
                input_tokens: 100,
                output_tokens: 10,
                deadline,
                affinity,
                ..Default::default()
            },
        );
        (id, self.drain())
    }

    pub fn outcome(&mut self, now: Time, attempt: AttemptId, o: Outcome) -> Vec<Action> {
        self.router.on_outcome(now, attempt, o);
        self.drain()
    }

    pub fn tick(&mut self, now: Time) -> Vec<Action> {
        self.router.handle_timeout(now);
        self.drain()
    }

    pub fn ep(&self, name: &str) -> EndpointId {
        self.router.endpoint_id(name).expect("known endpoint")
    }
}

pub(crate) fn dispatched(actions: &[Action]) -> Vec<(CallId, AttemptId, EndpointId)> {
    actions
        .iter()
        .filter_map(|a| match *a {
            Action::Dispatch {
                call,
                attempt,
                endpoint,
                ..
            } => Some((call, attempt, endpoint)),
            _ => None,
        })
        .collect()
}

fn two_tier() -> Harness {
    Harness::new(
        vec![endpoint("a", Some(1), 1000), endpoint("b", Some(1), 1000)],
        vec![tenant("t", SlaClass::Gold, &[("a", 0), ("b", 1)])],
    )
}

#[test]
fn primary_success_completes() {
    let mut h = two_tier();
    let (call, acts) = h.submit(ms(0), "t");
    let d = dispatched(&acts);
    assert_eq!(d, vec![(call, AttemptId(0), h.ep("a"))]);
    assert_eq!(h.router.in_flight(h.ep("a")), 1);
    let acts = h.outcome(ms(5), AttemptId(0), Outcome::Success);
    assert_eq!(
        acts,
        vec![Action::Complete {
            call,
            attempt: AttemptId(0),
            endpoint: h.ep("a"),
            tier: Tier(0)
        }]
    );
    assert_eq!(h.router.in_flight(h.ep("a")), 0);
    assert_eq!(h.router.waiting(), 0);
    assert!(h.events.is_empty());
    assert_eq!(h.router.poll_timeout(), None);
}

#[test]
fn error_falls_back_to_tier_one_without_degrading_the_tenant() {
    let mut h = two_tier();
    let (call, _) = h.submit(ms(0), "t");
    let acts = h.outcome(ms(3), AttemptId(0), Outcome::ServerError);
    assert_eq!(dispatched(&acts), vec![(call, AttemptId(1), h.ep("b"))]);
    // One call falling back is not an incident: the tenant stays at tier 0
    // (it takes `degrade_after` = 3 in a row) and nothing is audited.
    assert!(h.events.is_empty(), "{:?}", h.events);
    assert_eq!(h.router.tenant_tier(TenantId(0)), Tier(0));
    let acts = h.outcome(ms(9), AttemptId(1), Outcome::Success);
    assert!(matches!(acts[..], [Action::Complete { tier: Tier(1), .. }]));
}

#[test]
fn timeout_cancels_and_falls_back() {
    let mut h = two_tier();
    let (call, _) = h.submit(ms(0), "t");
    assert_eq!(h.router.poll_timeout(), Some(ms(1000)));
    let acts = h.tick(ms(1000));
    assert_eq!(
        acts[0],
        Action::Cancel {
            call,
            attempt: AttemptId(0)
        }
    );
    assert_eq!(dispatched(&acts), vec![(call, AttemptId(1), h.ep("b"))]);
    assert_eq!(h.router.in_flight(h.ep("a")), 0);
    // A late answer for the cancelled attempt is ignored.
    assert!(h.outcome(ms(1001), AttemptId(0), Outcome::Success).is_empty());
    assert_eq!(h.router.in_flight(h.ep("b")), 1);
}

#[test]
fn attempts_exhausted_fails_after_wrapping_the_chain() {
    let mut h = two_tier();
    let (call, _) = h.submit(ms(0), "t");
    let a1 = h.outcome(ms(1), AttemptId(0), Outcome::ConnectionError);
    assert_eq!(dispatched(&a1)[0].2, h.ep("b"));
    let a2 = h.outcome(ms(2), AttemptId(1), Outcome::ServerError);
    // Wraps back to the primary.
    assert_eq!(dispatched(&a2)[0].2, h.ep("a"));
    let a3 = h.outcome(ms(3), AttemptId(2), Outcome::ServerError);
    assert_eq!(
        a3,
        vec![Action::Fail {
            call,
            reason: FailReason::AttemptsExhausted
        }]
    );
    assert!(h.events.is_empty(), "one call's moves are not audited");
    assert_eq!(h.router.waiting(), 0);
    assert_eq!(h.router.poll_timeout(), None);
}

#[test]
fn gold_waiting_goes_before_an_earlier_bronze() {
    let mut h = Harness::new(
        vec![endpoint("a", Some(1), 1000)],
        vec![
            tenant("g", SlaClass::Gold, &[("a", 0)]),
            tenant("b", SlaClass::Bronze, &[("a", 0)]),
        ],
    );
    let (_, first) = h.submit(ms(0), "b");
    let (bronze, acts) = h.submit(ms(1), "b");
    assert!(acts.is_empty(), "busy primary: the call waits");
    let (gold, _) = h.submit(ms(2), "g");
    assert_eq!(h.router.waiting(), 2);
    let acts = h.outcome(ms(3), dispatched(&first)[0].1, Outcome::Success);
    assert_eq!(dispatched(&acts)[0].0, gold);
    let acts = h.outcome(ms(4), AttemptId(1), Outcome::Success);
    assert_eq!(dispatched(&acts)[0].0, bronze);
}

#[test]
fn fifo_within_a_class_and_busy_is_not_a_fallback() {
    let mut h = Harness::new(
        vec![endpoint("a", Some(1), 1000), endpoint("b", None, 1000)],
        vec![tenant("s", SlaClass::Silver, &[("a", 0), ("b", 1)])],
    );
    let ids: Vec<CallId> = (0..4).map(|i| h.submit(ms(i), "s").0).collect();
    assert_eq!(h.router.in_flight(h.ep("b")), 0, "busy is not a failure");
    assert_eq!(h.router.waiting(), 3);
    let mut order = vec![ids[0]];
    for k in 0..3 {
        let acts = h.outcome(ms(10 + k), AttemptId(k), Outcome::Success);
        order.push(dispatched(&acts)[0].0);
    }
    assert_eq!(order, ids);
}

#[test]
fn rate_limited_endpoint_is_skipped_until_retry_after() {
    let mut h = Harness::new(
        vec![endpoint("a", None, 1000), endpoint("b", None, 1000)],
        vec![tenant("t", SlaClass::Gold, &[("a", 0), ("b", 1)])],
    );
    h.submit(ms(0), "t");
    let acts = h.outcome(
        ms(1),
        AttemptId(0),
        Outcome::RateLimited {
            retry_after: Span::from_millis(100),
        },
    );
    assert_eq!(dispatched(&acts)[0].2, h.ep("b"));
    // A new call skips the cooling primary without spending an attempt.
    let (_, acts) = h.submit(ms(50), "t");
    assert_eq!(dispatched(&acts)[0].2, h.ep("b"));
    assert_eq!(
        h.router.tenant_tier(TenantId(0)),
        Tier(0),
        "two calls left tier 0: no degradation yet"
    );
    h.tick(ms(101));
    let (_, acts) = h.submit(ms(101), "t");
    assert_eq!(dispatched(&acts)[0].2, h.ep("a"));
}

#[test]
fn calls_wait_when_every_step_is_cooling_down() {
    let mut h = Harness::new(
        vec![endpoint("a", None, 1000)],
        vec![tenant("t", SlaClass::Gold, &[("a", 0)])],
    );
    h.submit(ms(0), "t");
    let acts = h.outcome(
        ms(1),
        AttemptId(0),
        Outcome::RateLimited {
            retry_after: Span::from_millis(100),
        },
    );
    assert!(acts.is_empty());
    assert_eq!(h.router.waiting(), 1);
    assert_eq!(h.router.poll_timeout(), Some(ms(101)));
    let acts = h.tick(ms(101));
    assert_eq!(dispatched(&acts).len(), 1);
}

#[test]
fn early_or_repeated_handle_timeout_is_a_no_op() {
    let mut h = two_tier();
    h.submit(ms(0), "t");
    assert!(h.tick(ms(0)).is_empty());
    assert!(h.tick(ms(999)).is_empty());
    assert_eq!(h.tick(ms(1000)).len(), 2); // cancel + dispatch on b
    assert!(h.tick(ms(1000)).is_empty());
    assert_eq!(h.router.poll_timeout(), Some(ms(2000)));
}

#[test]
fn poll_timeout_is_the_earliest_live_deadline() {
    let mut h = Harness::new(
        vec![endpoint("a", None, 1000), endpoint("b", None, 300)],
        vec![
            tenant("ta", SlaClass::Gold, &[("a", 0)]),
            tenant("tb", SlaClass::Gold, &[("b", 0)]),
        ],
    );
    h.submit(ms(0), "ta");
    assert_eq!(h.router.poll_timeout(), Some(ms(1000)));
    h.submit(ms(10), "tb");
    assert_eq!(h.router.poll_timeout(), Some(ms(310)));
    h.outcome(ms(20), AttemptId(1), Outcome::Success);
    assert_eq!(h.router.poll_timeout(), Some(ms(1000)));
    h.submit_with(ms(30), "ta", Some(ms(500)));
    assert_eq!(h.router.poll_timeout(), Some(ms(500)));
}

#[test]
fn backoff_doubles_and_is_capped() {
    let mut t = tenant("t", SlaClass::Gold, &[("a", 0)]);
    t.retry = RetryPolicy {
        max_attempts: 4,
        backoff: Span::from_millis(10),
        backoff_max: Span::from_millis(15),
        jitter: 0.0,
    };
    let mut h = Harness::new(vec![endpoint("a", None, 1000)], vec![t]);
    h.submit(ms(0), "t");
    assert!(h.outcome(ms(1), AttemptId(0), Outcome::ServerError).is_empty());
    assert_eq!(h.router.poll_timeout(), Some(ms(11)));
    assert_eq!(dispatched(&h.tick(ms(11))).len(), 1);
    h.outcome(ms(12), AttemptId(1), Outcome::ServerError);
    assert_eq!(h.router.poll_timeout(), Some(ms(27)), "20ms capped to 15ms");
}

#[test]
fn deadline_fails_waiting_calls_and_hopeless_backoffs() {
    let mut t = tenant("t", SlaClass::Gold, &[("a", 0)]);
    t.retry.backoff = Span::from_millis(100);
    let mut h = Harness::new(vec![endpoint("a", Some(1), 1000)], vec![t]);
    h.submit(ms(0), "t");
    let (waiter, _) = h.submit_with(ms(0), "t", Some(ms(50)));
    let acts = h.tick(ms(50));
    assert_eq!(
        acts,
        vec![Action::Fail {
            call: waiter,
            reason: FailReason::DeadlineUnreachable
        }]
    );
    assert_eq!(h.router.waiting(), 0);
    h.outcome(ms(60), AttemptId(0), Outcome::Success);
    let (late, _) = h.submit_with(ms(70), "t", Some(ms(150)));
    let acts = h.outcome(ms(80), AttemptId(1), Outcome::ServerError);
    assert_eq!(
        acts,
        vec![Action::Fail {
            call: late,
            reason: FailReason::DeadlineUnreachable
        }]
    );
    let (past, acts) = h.submit_with(ms(200), "t", Some(ms(200)));
    assert_eq!(
        acts,
        vec![Action::Fail {
            call: past,
            reason: FailReason::DeadlineUnreachable
        }]
    );
}

#[test]
fn unknown_tenant_or_workflow_fails_the_call() {
    let mut h = two_tier();
    let call = h.router.submit(
        ms(0),
        CallRequest {
            tenant: TenantId(7),
            workflow: WorkflowId(0),
            input_tokens: 1,
            output_tokens: 1,
            deadline: None,
            affinity: None,
            ..Default::default()
        },
    );
    assert_eq!(
        h.router.poll_action(),
        Some(Action::Fail {
            call,
            reason: FailReason::InvalidRequest
        })
    );
}

#[test]
fn memory_does_not_grow_with_completed_calls() {
    let mut h = two_tier();
    for i in 0..10_000u64 {
        h.router.submit(
            ms(i),
            CallRequest {
                tenant: TenantId(0),
                workflow: WorkflowId(0),
                input_tokens: 1,
                output_tokens: 1,
                deadline: Some(ms(i + 5)),
                affinity: None,
                ..Default::default()
            },
        );
        h.router.on_outcome(ms(i), AttemptId(i), Outcome::Success);
        while h.router.poll_action().is_some() {}
    }
    assert_eq!(h.router.calls_capacity(), 1);
    assert!(h.router.timer_entries() <= 8, "{}", h.router.timer_entries());
    assert_eq!(h.router.attempt_index_len(), 0);
}

fn config_error(endpoints: Vec<EndpointPolicy>, tenants: Vec<TenantPolicy>) -> ConfigError {
    match Router::new(RouterConfig {
        endpoints,
        tenants,
        seed: 0,
        budget: Default::default(),
        max_queue: None,
        breaker: None,
        ..Default::default()
    }) {
        Err(e) => e,
        Ok(_) => panic!("config should be rejected"),
    }
}

#[test]
fn bad_configs_are_errors_that_name_the_problem() {
    let a = || vec![endpoint("a", None, 1000)];
    let e = config_error(a(), vec![tenant("t", SlaClass::Gold, &[("zz", 0)])]);
    assert_eq!(e.to_string(), "tenant \"t\": chain names unknown endpoint \"zz\"");
    let e = config_error(a(), vec![tenant("t", SlaClass::Gold, &[])]);
    assert_eq!(e, ConfigError::EmptyChain("t".into()));
    let mut dup = a();
    dup.push(endpoint("a", None, 5));
    assert_eq!(config_error(dup, vec![]), ConfigError::DuplicateEndpoint("a".into()));
    let t = || tenant("t", SlaClass::Gold, &[("a", 0)]);
    assert_eq!(
        config_error(a(), vec![t(), t()]),
        ConfigError::DuplicateTenant("t".into())
    );
    let e = config_error(a(), vec![tenant("t", SlaClass::Gold, &[("a", 5)])]);
    assert_eq!(e.to_string(), "tenant \"t\": tier 5 is out of range, expected 0 to 4");
    let mut zero = t();
    zero.retry.max_attempts = 0;
    assert_eq!(config_error(a(), vec![zero]), ConfigError::ZeroAttempts("t".into()));
    assert_eq!(
        config_error(vec![endpoint("a", Some(0), 1000)], vec![]),
        ConfigError::ZeroConcurrency("a".into())
    );
    assert_eq!(
        config_error(vec![endpoint("a", None, 0)], vec![]),
        ConfigError::ZeroAttemptTimeout("a".into())
    );
}
