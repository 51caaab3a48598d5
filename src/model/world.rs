//! The simulated world: arrivals → router → endpoints → outcomes → router.

use std::collections::VecDeque;

use crate::engine::{self, EventQueue, Model};
use crate::policy::{
    Action, AttemptId, CallId, CallRequest, ConfigError, EndpointId, Outcome, Router, TenantId, WorkflowId,
};
use crate::scenario::Scenario;
use crate::sla::{Attainment, Clause, Recorder, calendar_months};
use crate::time::{Span, Time};

use super::endpoint::{Admission, AttemptState, EndpointSim};
use super::outage::process_incidents;
use super::workload::Source;

/// How long after the period the world keeps running to finish calls in flight.
const DRAIN: Span = Span::from_days(1);

/// What happens next in the world.
#[derive(Clone, Copy, Debug)]
pub enum Event {
    /// A new call from source `source`.
    Arrival {
        /// Index into the world's sources.
        source: u32,
    },
    /// An attempt finished its service at `endpoint`.
    ServiceDone {
        /// The endpoint.
        endpoint: u32,
        /// The attempt.
        attempt: AttemptId,
    },
    /// An error answer reaches the router.
    ErrorReply {
        /// The endpoint.
        endpoint: u32,
        /// The attempt.
        attempt: AttemptId,
        /// What the router is told: a 5xx or a 429 with its retry-after.
        outcome: Outcome,
    },
    /// The router asked to be woken.
    RouterWake,
}

/// What the world remembers of a call in flight.
#[derive(Clone, Copy, Debug)]
struct CallInfo {
    tenant: u32,
    workflow: u32,
    submitted: Time,
    input_tokens: u32,
    output_tokens: u32,
}

/// What the world remembers of an attempt in flight.
#[derive(Clone, Copy, Debug)]
struct AttemptInfo {
    endpoint: u32,
    state: AttemptState,
}

/// A table keyed by a dense, increasing id (call or attempt ids), whose
/// memory is bounded by the oldest entry still live, not by the total count.
struct IdWindow<T> {
    base: u64,
    slots: VecDeque<Option<T>>,
}

impl<T: Copy> IdWindow<T> {
    fn new() -> Self {
        IdWindow {
            base: 0,
            slots: VecDeque::new(),
        }
    }

    fn insert(&mut self, id: u64, value: T) {
        if id < self.base {
            return;
        }
        let idx = (id - self.base) as usize;
        while self.slots.len() <= idx {
            self.slots.push_back(None);
        }
        self.slots[idx] = Some(value);
    }

    fn get(&self, id: u64) -> Option<T> {
        let idx = usize::try_from(id.checked_sub(self.base)?).ok()?;
        self.slots.get(idx).copied().flatten()
    }

    fn get_mut(&mut self, id: u64) -> Option<&mut T> {
        let idx = usize::try_from(id.checked_sub(self.base)?).ok()?;
        self.slots.get_mut(idx)?.as_mut()
    }

    fn remove(&mut self, id: u64) -> Option<T> {
        let idx = usize::try_from(id.checked_sub(self.base)?).ok()?;
        let value = self.slots.get_mut(idx)?.take();
        while let Some(None) = self.slots.front() {
            self.slots.pop_front();
            self.base += 1;
        }
        value
    }

    fn live(&self) -> usize {
        self.slots.len()
    }
}

/// Counters of one replication, for throughput and sanity figures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RunStats {
    /// Calls submitted to the router.
    pub calls: u64,
    /// Calls completed.
    pub completed: u64,
    /// Calls failed.
    pub failed: u64,
    /// Attempts dispatched.
    pub attempts: u64,
    /// Audit events emitted by the router.
    pub audit_events: u64,
    /// Engine events handled.
    pub events: u64,
    /// Largest number of calls in flight at once (memory bound check).
    pub peak_live_calls: u64,
}

/// One replication of the scenario: the router core, the endpoints, the
/// sources and the recorder, driven by the engine.
pub struct World {
    router: Router,
    endpoints: Vec<EndpointSim>,
    sources: Vec<Source>,
    calls: IdWindow<CallInfo>,
    attempts: IdWindow<AttemptInfo>,
    recorder: Recorder,
    wake: Option<Time>,
    stats: RunStats,
    end: Time,
}

impl World {
    /// Builds replication `replication` of a validated scenario.
    pub fn new(scenario: &Scenario, replication: u64) -> Result<World, ConfigError> {
        let seed = scenario.simulation.seed;
        let start = scenario.start();
        let mut config = scenario.router_config();
        config.seed = engine::stream_seed(seed, replication, "router");
        let router = Router::new(config)?;
        let horizon = Time::ZERO + scenario.simulation.duration + DRAIN;
        let generated = process_incidents(scenario, replication, horizon);
        let endpoints = scenario
            .endpoints
            .iter()
            .zip(&generated)
            .map(|(e, incidents)| {
                EndpointSim::new(
                    e,
                    start,
                    engine::stream(seed, replication, &format!("endpoint/{}", e.name)),
                    incidents,
                )
            })
            .collect();
        let mut sources = Vec::new();
        for (ti, t) in scenario.tenants.iter().enumerate() {
            for (wi, w) in t.workflows.iter().enumerate() {
                let rng = engine::stream(seed, replication, &format!("workflow/{}/{}", t.name, w.name));
                sources.push(Source::new(TenantId(ti as u32), WorkflowId(wi as u32), w, rng));
            }
        }
        let windows = calendar_months(start, scenario.simulation.duration);
        let workflows: Vec<usize> = scenario.tenants.iter().map(|t| t.workflows.len()).collect();
        let recorder = Recorder::new(windows, Clause::all(scenario), &workflows);
        Ok(World {
            router,
            endpoints,
            sources,
            calls: IdWindow::new(),
            attempts: IdWindow::new(),
            recorder,
            wake: None,
            stats: RunStats::default(),
            end: Time::ZERO + scenario.simulation.duration,
        })
    }

    /// Runs the whole period: arrivals stop at its end; calls in flight then
    /// are drained so every submitted call is judged.
    pub fn run(mut self) -> (Vec<Attainment>, RunStats) {
        let mut queue = EventQueue::new();
        for i in 0..self.sources.len() {
            if let Some(gap) = self.sources[i].next_gap() {
                queue.schedule(Time::ZERO + gap, Event::Arrival { source: i as u32 });
            }
        }
        // Arrivals stop at the end of the period; a day more lets the calls
        // still in flight finish (or time out) so every call is judged.
        let horizon = self.end + DRAIN;
        self.stats.events = engine::run_until(&mut self, &mut queue, horizon);
        (self.recorder.finish(), self.stats)
    }

    fn dispatch(
        &mut self,
        now: Time,
        attempt: AttemptId,
        endpoint: EndpointId,
        call: CallInfo,
        q: &mut EventQueue<Event>,
    ) {
        self.stats.attempts += 1;
        let ei = endpoint.0 as usize;
        let ep = &mut self.endpoints[ei];
        let state = match ep.admit(now, attempt, call.input_tokens, call.output_tokens) {
            Admission::Serve(s) => AttemptState::InService(q.schedule(
                now + s,
                Event::ServiceDone {
                    endpoint: endpoint.0,
                    attempt,
                },
            )),
            Admission::Queued => AttemptState::Queued,
            Admission::Reject(after) => AttemptState::Replying(q.schedule(
                now + after,
                Event::ErrorReply {
                    endpoint: endpoint.0,
                    attempt,
                    outcome: Outcome::ServerError,
                },
            )),
            Admission::RateLimited { after, retry_after } => AttemptState::Replying(q.schedule(
                now + after,
                Event::ErrorReply {
                    endpoint: endpoint.0,
                    attempt,
                    outcome: Outcome::RateLimited { retry_after },
                },
            )),
            Admission::Hang => AttemptState::Hung,
        };
        self.attempts.insert(
            attempt.0,
            AttemptInfo {
                endpoint: endpoint.0,
                state,
            },
        );
    }

    fn start_next(&mut self, now: Time, ei: usize, q: &mut EventQueue<Event>) {
        if let Some((next, service)) = self.endpoints[ei].release(now) {
            let ev = q.schedule(
                now + service,
                Event::ServiceDone {
                    endpoint: ei as u32,
                    attempt: next,
                },
            );
            if let Some(info) = self.attempts.get_mut(next.0) {
                info.state = AttemptState::InService(ev);
            }
        }
    }

    fn cancel(&mut self, now: Time, attempt: AttemptId, q: &mut EventQueue<Event>) {
        let Some(info) = self.attempts.remove(attempt.0) else {
            return;
        };
        let ei = info.endpoint as usize;
        match info.state {
            AttemptState::InService(ev) => {
                q.cancel(ev);
                self.start_next(now, ei, q);
            }
            AttemptState::Queued => {
                self.endpoints[ei].remove_queued(attempt);
            }
            AttemptState::Replying(ev) => q.cancel(ev),
            AttemptState::Hung => {}
        }
    }

    fn finish_call(&mut self, now: Time, call: CallId, success: bool) {
        let Some(info) = self.calls.remove(call.0) else {
            return;
        };
        let latency = success.then(|| now - info.submitted);
        if success {
            self.stats.completed += 1;
        } else {
            self.stats.failed += 1;
        }
        self.recorder
            .record(info.tenant as usize, info.workflow as usize, info.submitted, latency);
    }

    /// Carries out everything the router decided, then re-arms its wake-up.
    fn drain_router(&mut self, now: Time, q: &mut EventQueue<Event>) {
        while let Some(action) = self.router.poll_action() {
            match action {
                Action::Dispatch {
                    call,
                    attempt,
                    endpoint,
                    ..
                } => {
                    if let Some(info) = self.calls.get(call.0) {
                        self.dispatch(now, attempt, endpoint, info, q);
                    }
                }
                Action::Cancel { attempt, .. } => self.cancel(now, attempt, q),
                Action::Complete { call, .. } => self.finish_call(now, call, true),
                Action::Fail { call, .. } => self.finish_call(now, call, false),
                Action::Suspend { .. } | Action::Resume { .. } => {}
            }
        }
        while self.router.poll_event().is_some() {
            self.stats.audit_events += 1;
        }
        if let Some(t) = self.router.poll_timeout()
            && self.wake.is_none_or(|w| t < w)
        {
            self.wake = Some(t);
            q.schedule(t, Event::RouterWake);
        }
    }
}

impl Model for World {
    type Event = Event;

    fn handle(&mut self, now: Time, event: Event, q: &mut EventQueue<Event>) {
        match event {
            Event::Arrival { source } => {
                let src = &mut self.sources[source as usize];
                let (input_tokens, output_tokens) = src.draw_tokens();
                let (tenant, workflow) = (src.tenant, src.workflow);
                if let Some(gap) = src.next_gap() {
                    let next = now + gap;
                    if next < self.end {
                        q.schedule(next, Event::Arrival { source });
                    }
                }
                let request = CallRequest {
                    tenant,
                    workflow,
                    input_tokens,
                    output_tokens,
                    deadline: None,
                };
                let call = self.router.submit(now, request);
                self.stats.calls += 1;
                self.calls.insert(
                    call.0,
                    CallInfo {
                        tenant: tenant.0,
                        workflow: workflow.0,
                        submitted: now,
                        input_tokens,
                        output_tokens,
                    },
                );
                self.stats.peak_live_calls = self.stats.peak_live_calls.max(self.calls.live() as u64);
            }
            Event::ServiceDone { endpoint, attempt } => {
                let ei = endpoint as usize;
                let error = self.endpoints[ei].draw_error(now);
                self.attempts.remove(attempt.0);
                self.start_next(now, ei, q);
                let outcome = if error { Outcome::ServerError } else { Outcome::Success };
                self.router.on_outcome(now, attempt, outcome);
            }
            Event::ErrorReply { attempt, outcome, .. } => {
                self.attempts.remove(attempt.0);
                self.router.on_outcome(now, attempt, outcome);
            }
            Event::RouterWake => {
                if self.wake == Some(now) {
                    self.wake = None;
                }
                self.router.handle_timeout(now);
            }
        }
        self.drain_router(now, q);
    }
}

impl World {
    /// Span of the simulated period.
    pub fn period(&self) -> Span {
        self.end - Time::ZERO
    }
}
