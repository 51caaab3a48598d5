//! The simulated world: arrivals → router → endpoints → outcomes → router.

use crate::engine::{self, EventQueue, Model};
use crate::observe::{Blame, NO_ENDPOINT, ObservedCall, Observer};
use crate::policy::{
    Action, AttemptId, AuditEvent, CallId, CallRequest, ConfigError, EndpointId, FailReason, Outcome, Router, TenantId,
    WorkflowId,
};
use crate::scenario::Scenario;
use crate::sla::{Attainment, CallOutcome, Cause, Clause, Measures, Quality};
use crate::time::{Span, Time};

use super::endpoint::{Admission, AttemptDraws, AttemptState, EndpointSim};
use super::outage::process_incidents;
use super::task::{AgentId, Effect, Tasks};
use super::trace::RecordedSession;
use super::workload::{Source, open_replay, open_sessions};

mod ending;
mod guard;
mod ids;
mod request_log;
mod stats;
mod transit;

use ending::ServiceSpan;
pub use guard::Overload;
use ids::IdWindow;
use request_log::LoggedCall;
pub use request_log::{AuditLog, RequestLog};
pub use stats::RunStats;

pub use crate::observe::TimelineRow;

/// How long after the period the world keeps running to finish calls in flight.
const DRAIN: Span = Span::from_days(1);

/// What happens next in the world.
#[derive(Clone, Copy, Debug)]
pub enum Event {
    /// A new task from source `source` (its shaped Poisson stream).
    Arrival {
        /// Index into the world's sources.
        source: u32,
    },
    /// A new task from the trace replayed by source `source`.
    TraceArrival {
        /// Index into the world's sources.
        source: u32,
        /// The row's prompt tokens.
        input: u32,
        /// The row's output tokens.
        output: u32,
    },
    /// A recorded session of source `source` starts (closed-loop replay;
    /// the session waits in the source's feed).
    SessionArrival {
        /// Index into the world's sources.
        source: u32,
    },
    /// A new task from batch `batch` of source `source`.
    BatchArrival {
        /// Index into the world's sources.
        source: u32,
        /// Index into the source's batches.
        batch: u32,
    },
    /// An agent's think time is over.
    ThinkDone {
        /// The agent.
        agent: AgentId,
    },
    /// An agent's tool call finished.
    ToolDone {
        /// The agent.
        agent: AgentId,
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
    /// The first token of an attempt reaches the router (only on endpoints
    /// with a `first_token_timeout`, the one router setting that needs it).
    FirstToken {
        /// The attempt.
        attempt: AttemptId,
    },
    /// The router asked to be woken.
    RouterWake,
}

/// One submitted call, kept only when asked for ([`World::log_calls`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallRecord {
    /// When the call was submitted.
    pub submitted: Time,
    /// Its tenant.
    pub tenant: TenantId,
    /// Its workflow.
    pub workflow: WorkflowId,
    /// Prompt tokens.
    pub input_tokens: u32,
    /// Output tokens.
    pub output_tokens: u32,
    /// When it ended (`None`: still in flight when the run stopped).
    pub ended: Option<Time>,
    /// The endpoint that served it, or its last attempt's (`None`: never dispatched).
    pub endpoint: Option<u32>,
    /// Whether it was served.
    pub served: bool,
    /// Whether capacity turned an attempt away (a 429 or a full provider queue).
    pub refused: bool,
    /// The call's identity: its task, agent and place among the agent's
    /// calls, keyed from the seed (see `model::task`).
    pub key: u64,
}

/// One ended task, kept only when asked for ([`World::log_tasks`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskRecord {
    /// Its tenant.
    pub tenant: TenantId,
    /// Its workflow.
    pub workflow: WorkflowId,
    /// When it arrived.
    pub started: Time,
    /// When it ended (succeeded, or failed).
    pub ended: Time,
    /// Whether it succeeded (by its deadline).
    pub succeeded: bool,
}

/// Per-call and audit records of one replication, kept only when asked for.
#[derive(Clone, Debug, Default)]
pub struct Samples {
    /// The first calls submitted.
    pub calls: Vec<CallRecord>,
    /// The first tasks to end.
    pub tasks: Vec<TaskRecord>,
    /// The router's first audit events.
    pub audit: Vec<AuditEvent>,
}

/// What one replication measured: judgements, counters and the measures
/// behind the outputs.
#[derive(Clone, Debug, Default)]
pub struct RunResult {
    /// Every clause × window judgement.
    pub attainment: Vec<Attainment>,
    /// Counters.
    pub stats: RunStats,
    /// Pooled latency counts, budget use and blame.
    pub measures: Measures,
    /// The timeline of outages and tier changes, when asked for.
    pub timeline: Option<Vec<TimelineRow>>,
    /// Per-call and audit samples, when asked for.
    pub samples: Samples,
    /// Set when the overload guard stopped the run early: then nothing
    /// else here is a judgement of the period.
    pub overload: Option<Overload>,
    /// Why the request log or the audit log (see [`World::write_requests`],
    /// [`World::write_audit`]) could not be written, if one could not.
    pub request_log_error: Option<String>,
}

/// A replication that cannot be built, or was stopped.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The overload guard stopped it.
    #[error("{0}")]
    Overload(Overload),
    /// The router rejected its configuration.
    #[error("router configuration: {0}")]
    Router(ConfigError),
    /// A replayed trace could not be opened or read.
    #[error("trace: {0}")]
    Trace(String),
}

/// What the world remembers of a call in flight: what the observers
/// follow, and what the world needs to carry it out.
#[derive(Clone, Copy, Debug)]
struct CallInfo {
    observed: ObservedCall,
    input_tokens: u32,
    output_tokens: u32,
    agent: AgentId,
    /// The call's identity (see [`Effect::Call`]).
    key: u64,
    /// Attempts dispatched so far (the next one's number).
    attempts: u32,
}

/// What the world remembers of an attempt in flight.
#[derive(Clone, Copy, Debug)]
struct AttemptInfo {
    endpoint: u32,
    state: AttemptState,
    /// Its call, and what billing needs of it once the call is gone.
    call: u64,
    tenant: u32,
    workflow: u32,
    submitted: Time,
    /// The attempt's tokens (a session migration's included).
    input_tokens: u32,
    output_tokens: u32,
    /// Its service at the provider, once it holds a slot.
    service: Option<ServiceSpan>,
    /// Its draws (keyed by its call and attempt number).
    draws: AttemptDraws,
}

/// One replication of the scenario: the router core, the endpoints, the
/// sources, driven by the engine; what happens goes to the SLA observers.
pub struct World {
    router: Router,
    endpoints: Vec<EndpointSim>,
    sources: Vec<Source>,
    calls: IdWindow<CallInfo>,
    attempts: IdWindow<AttemptInfo>,
    observer: Observer,
    tasks: Tasks,
    /// Scratch buffer for the task layer's effects.
    effects: Vec<Effect>,
    /// Scratch buffer for the router's actions of one drain.
    actions: Vec<Action>,
    /// Draws the order in which simultaneous dispatches reach their
    /// endpoints (`transit`).
    transit: engine::Rng,
    /// Extra input tokens when a task's call lands on a new endpoint, per source.
    migration: Vec<u32>,
    wake: Option<Time>,
    /// Per-call records, only when asked for.
    call_log: Option<Vec<CallRecord>>,
    call_log_limit: usize,
    /// Ended tasks, only when asked for.
    task_log: Vec<TaskRecord>,
    task_log_limit: usize,
    /// Audit events, only when asked for.
    audit_log: Vec<AuditEvent>,
    audit_log_limit: usize,
    stats: RunStats,
    end: Time,
    /// Whether the timeline (outages and tier rows) is kept.
    timeline: bool,
    endpoint_names: Vec<String>,
    /// The calls as the gateway's request log, when asked for.
    request_log: Option<RequestLog>,
    /// Every audit event as the gateway's audit log, when asked for.
    audit_stream: Option<AuditLog>,
    /// Per endpoint: whether the router is told each attempt's first token
    /// (its `first_token_timeout` is set).
    reports_first_token: Vec<bool>,
    /// Calls submitted and not yet ended.
    live_calls: u64,
    /// The overload guard's limit on `live_calls`, and its verdict.
    live_limit: Option<u64>,
    replication: u64,
    overload: Option<Overload>,
}

impl World {
    /// Builds replication `replication` of a validated scenario.
    pub fn new(scenario: &Scenario, replication: u64) -> Result<World, BuildError> {
        let seed = scenario.simulation.seed;
        let start = scenario.start();
        let mut config = scenario.router_config();
        config.seed = engine::stream_seed(seed, replication, "router");
        let router = Router::new(config).map_err(BuildError::Router)?;
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
                let mut source = Source::of_scenario(scenario, ti, wi, seed, replication);
                if let Some(cfg) = &w.replay {
                    let (dir, period) = (&scenario.base_dir, scenario.simulation.duration);
                    source = if cfg.closed_loop() {
                        source.with_sessions(open_sessions(cfg, dir, period).map_err(BuildError::Trace)?, cfg)
                    } else {
                        source.with_trace(open_replay(cfg, dir, period).map_err(BuildError::Trace)?, cfg)
                    };
                }
                sources.push(source);
            }
        }
        let migration: Vec<u32> = scenario
            .tenants
            .iter()
            .flat_map(|t| t.workflows.iter().map(|w| w.migration_tokens))
            .collect();
        let workflows: Vec<usize> = scenario.tenants.iter().map(|t| t.workflows.len()).collect();
        let observer = Observer::new(
            Clause::all(scenario),
            start,
            scenario.simulation.duration,
            scenario.tenants.iter().map(|t| t.name.clone()).collect(),
            scenario.tenants.iter().map(|t| t.notify_on_degradation).collect(),
            &workflows,
            Quality {
                endpoints: scenario.endpoints.iter().map(|e| e.quality).collect(),
                seed,
                replication,
            },
        );
        Ok(World {
            router,
            endpoints,
            sources,
            calls: IdWindow::new(),
            attempts: IdWindow::new(),
            observer,
            tasks: Tasks::new(),
            effects: Vec::new(),
            actions: Vec::new(),
            transit: engine::stream(seed, replication, "transit"),
            migration,
            wake: None,
            call_log: None,
            call_log_limit: 0,
            task_log: Vec::new(),
            task_log_limit: 0,
            audit_log: Vec::new(),
            audit_log_limit: 0,
            stats: RunStats::default(),
            end: Time::ZERO + scenario.simulation.duration,
            timeline: false,
            endpoint_names: scenario.endpoints.iter().map(|e| e.name.clone()).collect(),
            request_log: None,
            audit_stream: None,
            reports_first_token: scenario
                .endpoints
                .iter()
                .map(|e| e.first_token_timeout.is_some())
                .collect(),
            live_calls: 0,
            live_limit: scenario.simulation.max_live_calls.map(|n| n.get()),
            replication,
            overload: None,
        })
    }

    /// Keeps a timeline of outages and tenant tier periods (at most 20,000
    /// tier rows), for the sample replication's chart.
    pub fn record_timeline(mut self) -> World {
        self.timeline = true;
        self.observer.record_timeline();
        self
    }

    /// Keeps a record of the first `limit` calls submitted (for samples and
    /// replay checks); off by default, so memory does not grow with calls.
    pub fn log_calls(mut self, limit: usize) -> World {
        self.call_log = Some(Vec::new());
        self.call_log_limit = limit;
        self
    }

    /// Writes every call, as it ends, to `log` in the gateway's request-log
    /// schema (for `judge`).
    pub fn write_requests(mut self, log: RequestLog) -> World {
        self.request_log = Some(log);
        self
    }

    /// Writes every router audit event, as it is emitted, to `log` in the
    /// gateway's audit-log format (for `judge`).
    pub fn write_audit(mut self, log: AuditLog) -> World {
        self.audit_stream = Some(log);
        self
    }

    /// Keeps a record of the first `limit` tasks to end (for replay
    /// checks); off by default.
    pub fn log_tasks(mut self, limit: usize) -> World {
        self.task_log_limit = limit;
        self
    }

    /// Keeps the router's first `limit` audit events (tier changes, breaker
    /// transitions, suspensions, sheds, budget alerts, notifications).
    pub fn log_audit(mut self, limit: usize) -> World {
        self.audit_log_limit = limit;
        self
    }

    /// Like [`World::run`], also returning the call records asked for with
    /// [`World::log_calls`].
    pub fn run_logged(self) -> (Vec<Attainment>, RunStats, Vec<CallRecord>) {
        let (a, s, samples) = self.run_sampled();
        (a, s, samples.calls)
    }

    /// Like [`World::run`], also returning the samples asked for with
    /// [`World::log_calls`] and [`World::log_audit`].
    pub fn run_sampled(self) -> (Vec<Attainment>, RunStats, Samples) {
        let r = self.run_full();
        (r.attainment, r.stats, r.samples)
    }

    /// Runs the whole period: arrivals stop at its end; calls in flight then
    /// are drained so every submitted call is judged.
    pub fn run(self) -> (Vec<Attainment>, RunStats) {
        let r = self.run_full();
        (r.attainment, r.stats)
    }

    /// Runs the whole period and returns everything measured.
    pub fn run_full(mut self) -> RunResult {
        let mut queue = EventQueue::new();
        for i in 0..self.sources.len() {
            let end = self.end;
            let src = &mut self.sources[i];
            if let Some(feed) = &mut src.sessions {
                if let Some(at) = feed.advance()
                    && Time::ZERO + at < end
                {
                    queue.schedule(Time::ZERO + at, Event::SessionArrival { source: i as u32 });
                }
            } else if let Some(feed) = &mut src.trace {
                if let Some((at, input, output)) = feed.next_row() {
                    queue.schedule(
                        Time::ZERO + at,
                        Event::TraceArrival {
                            source: i as u32,
                            input,
                            output,
                        },
                    );
                }
            } else if let Some(at) = src.arrivals.next_after(Time::ZERO, end) {
                queue.schedule(at, Event::Arrival { source: i as u32 });
            }
            for (b, cursor) in src.batches.iter_mut().enumerate() {
                if let Some(at) = cursor.next(end) {
                    queue.schedule(
                        at,
                        Event::BatchArrival {
                            source: i as u32,
                            batch: b as u32,
                        },
                    );
                }
            }
        }
        // Arrivals stop at the end of the period; a day more lets the calls
        // still in flight finish (or time out). What is still open then is
        // judged as such (see `ending`), never dropped.
        let horizon = self.end + DRAIN;
        self.stats.events = engine::run_until(&mut self, &mut queue, horizon);
        self.stats.peak_live_tasks = self.tasks.capacity() as u64;
        self.judge_open(horizon);
        let samples = Samples {
            calls: self.call_log.take().unwrap_or_default(),
            tasks: std::mem::take(&mut self.task_log),
            audit: std::mem::take(&mut self.audit_log),
        };
        let request_log_error = self
            .request_log
            .take()
            .and_then(|log| log.finish().err())
            .or_else(|| self.audit_stream.take().and_then(|log| log.finish().err()))
            .map(|e| e.to_string());
        let observed = self.observer.finish(self.end);
        let timeline = self
            .timeline
            .then(|| timeline(&self.endpoints, &self.endpoint_names, self.end, observed.tier_rows));
        RunResult {
            attainment: observed.attainment,
            stats: self.stats,
            measures: observed.measures,
            timeline,
            samples,
            overload: self.overload,
            request_log_error,
        }
    }

    /// The overload guard fired: note where the calls piled up and stop
    /// (an empty queue ends the engine's loop).
    fn stop_overloaded(&mut self, now: Time, live: u64, q: &mut EventQueue<Event>) {
        let queue = (0..self.endpoint_names.len())
            .map(|e| (e, self.router.queue_depth(EndpointId(e as u32))))
            .filter(|&(_, waiting)| waiting > 0)
            .max_by_key(|&(e, waiting)| (waiting, std::cmp::Reverse(e)))
            .map(|(e, waiting)| (self.endpoint_names[e].clone(), waiting));
        let mut by_tenant = vec![0u64; self.router.config().tenants.len()];
        for (_, call) in self.calls.entries() {
            if let Some(n) = by_tenant.get_mut(call.observed.tenant as usize) {
                *n += 1;
            }
        }
        let mut tenants: Vec<(String, u64)> = by_tenant
            .into_iter()
            .enumerate()
            .filter(|&(_, n)| n > 0)
            .map(|(t, n)| (self.router.config().tenants[t].name.clone(), n))
            .collect();
        tenants.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        tenants.truncate(3);
        self.overload = Some(Overload {
            replication: self.replication,
            at: now - Time::ZERO,
            live,
            limit: self.live_limit.unwrap_or(0),
            queue,
            tenants,
        });
        q.clear();
    }

    /// An attempt of `call` on `endpoint` ended badly at `now` (an error
    /// answer, or cancelled).
    fn attempt_failed(&mut self, now: Time, call: u64, endpoint: u32) {
        if let Some(info) = self.calls.get_mut(call) {
            info.observed.attempt_failed(now, endpoint);
        }
    }

    fn dispatch(
        &mut self,
        now: Time,
        attempt: AttemptId,
        endpoint: EndpointId,
        call_id: CallId,
        call: CallInfo,
        q: &mut EventQueue<Event>,
    ) {
        self.stats.attempts += 1;
        let draws = AttemptDraws::keyed(call.key, call.attempts);
        if let Some(info) = self.calls.get_mut(call_id.0) {
            info.attempts += 1;
        }
        let ei = endpoint.0 as usize;
        let ep = &mut self.endpoints[ei];
        let admission = ep.admit(now, attempt, draws, call.input_tokens, call.output_tokens);
        if matches!(admission, Admission::Full(_) | Admission::RateLimited { .. })
            && let Some(info) = self.calls.get_mut(call_id.0)
        {
            info.observed.refused = true;
        }
        let service = match admission {
            Admission::Serve(s) => Some(ServiceSpan::new(ep, now, s, call.input_tokens, call.output_tokens)),
            _ => None,
        };
        if let Some(span) = &service
            && self.reports_first_token[ei]
        {
            q.schedule(span.first_token, Event::FirstToken { attempt });
        }
        let state = match admission {
            Admission::Serve(s) => AttemptState::InService(q.schedule(
                now + s,
                Event::ServiceDone {
                    endpoint: endpoint.0,
                    attempt,
                },
            )),
            Admission::Queued => AttemptState::Queued,
            Admission::Reject(after) | Admission::TooLong(after) | Admission::Full(after) => {
                AttemptState::Replying(q.schedule(
                    now + after,
                    Event::ErrorReply {
                        endpoint: endpoint.0,
                        attempt,
                        outcome: Outcome::ServerError,
                    },
                ))
            }
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
                call: call_id.0,
                tenant: call.observed.tenant,
                workflow: call.observed.workflow,
                submitted: call.observed.submitted,
                input_tokens: call.input_tokens,
                output_tokens: call.output_tokens,
                service,
                draws,
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
                let ep = &self.endpoints[ei];
                let span = ServiceSpan::new(ep, now, service, info.input_tokens, info.output_tokens);
                if self.reports_first_token[ei] {
                    q.schedule(span.first_token, Event::FirstToken { attempt: next });
                }
                info.service = Some(span);
            }
        }
    }

    /// The router abandoned `attempt` at `now`; `failed`: as a failure of
    /// the attempt (a timeout or the latency ceiling), else without a
    /// verdict (a hedge race lost).
    fn cancel(&mut self, now: Time, attempt: AttemptId, failed: bool, q: &mut EventQueue<Event>) {
        let Some(info) = self.attempts.remove(attempt.0) else {
            return;
        };
        if failed {
            self.attempt_failed(now, info.call, info.endpoint);
        }
        let ei = info.endpoint as usize;
        match info.state {
            AttemptState::InService(ev) => {
                q.cancel(ev);
                self.bill_unfinished(now, &info);
                self.start_next(now, ei, q);
            }
            AttemptState::Queued => {
                self.endpoints[ei].remove_queued(attempt);
            }
            AttemptState::Replying(ev) => q.cancel(ev),
            AttemptState::Hung => {}
        }
    }

    /// A call ended: served at `tier` by `endpoint`, or failed (`None`,
    /// with the reason).
    fn finish_call(
        &mut self,
        now: Time,
        call: CallId,
        served: Option<(u8, u32)>,
        reason: Option<FailReason>,
        q: &mut EventQueue<Event>,
    ) {
        let Some(info) = self.calls.remove(call.0) else { return };
        self.live_calls -= 1;
        let success = served.is_some();
        let observed = info.observed;
        // Call ids count from 0 and the log keeps the first calls, so the
        // record of call `i` is the log's `i`-th.
        if let Some(rec) = self.call_log.as_mut().and_then(|log| log.get_mut(call.0 as usize)) {
            rec.ended = Some(now);
            rec.endpoint = served
                .map(|s| s.1)
                .or((observed.last_endpoint != NO_ENDPOINT).then_some(observed.last_endpoint));
            rec.served = success;
            rec.refused = observed.refused;
        }
        if success {
            self.stats.completed += 1;
        } else {
            self.stats.failed += 1;
        }
        // A call served without a recorded first token (never, with the
        // endpoints simulated here) gets its completion.
        let first_token = observed.first_token_or(now);
        if let Some(log) = &mut self.request_log {
            log.write(&LoggedCall {
                call: call.0,
                observed,
                end: now,
                input_tokens: info.input_tokens,
                output_tokens: info.output_tokens,
                served: served.map(|(t, e)| (t, e, first_token)),
                reason,
                key: info.key,
            });
        }
        let outcome = match served {
            Some((tier, _)) => CallOutcome::Served { tier, first_token },
            None => CallOutcome::Failed {
                rejected: observed.refused || matches!(reason, Some(FailReason::Shed | FailReason::NoEligibleEndpoint)),
            },
        };
        let blame = EndpointBlame(&self.endpoints);
        self.observer
            .call_ended(&observed, now, outcome, served.map(|s| s.1), &blame);
        let Some(source) = self.tasks.source_of(info.agent) else {
            return;
        };
        let mut effects = std::mem::take(&mut self.effects);
        let src = &mut self.sources[source as usize];
        self.tasks.on_call_done(
            now,
            info.agent,
            success.then_some(info.output_tokens),
            src,
            &mut effects,
        );
        self.apply(now, &mut effects, q);
        self.effects = effects;
    }

    /// Starts a task from `source` at `now`.
    fn start_task(&mut self, now: Time, source: u32, q: &mut EventQueue<Event>) {
        self.start_task_with(now, source, None, q);
    }

    /// Starts a task whose first call has the given (input, output) tokens.
    fn start_task_with(&mut self, now: Time, source: u32, first: Option<(u32, u32)>, q: &mut EventQueue<Event>) {
        self.stats.tasks += 1;
        let mut effects = std::mem::take(&mut self.effects);
        self.tasks
            .start(now, source, &mut self.sources[source as usize], first, &mut effects);
        self.apply(now, &mut effects, q);
        self.effects = effects;
    }

    /// Starts the replay of a recorded session from `source` at `now`.
    fn start_session(&mut self, now: Time, source: u32, session: RecordedSession, q: &mut EventQueue<Event>) {
        self.stats.tasks += 1;
        let mut effects = std::mem::take(&mut self.effects);
        let src = &mut self.sources[source as usize];
        let (deadline, seed) = (src.plan.deadline, src.next_task_seed());
        self.tasks
            .start_session(now, source, deadline, seed, session, &mut effects);
        self.apply(now, &mut effects, q);
        self.effects = effects;
    }

    /// Carries out the task layer's effects (draining `effects`).
    fn apply(&mut self, now: Time, effects: &mut Vec<Effect>, q: &mut EventQueue<Event>) {
        for effect in effects.drain(..) {
            match effect {
                Effect::Call {
                    agent,
                    input_tokens,
                    output_tokens,
                    key,
                } => {
                    let Some(source) = self.tasks.source_of(agent) else {
                        continue;
                    };
                    let src = &self.sources[source as usize];
                    let (tenant, workflow) = (src.tenant, src.workflow);
                    let deadline = self.tasks.deadline_of(agent);
                    let request = CallRequest {
                        tenant,
                        workflow,
                        input_tokens,
                        output_tokens,
                        deadline,
                        affinity: self.tasks.endpoint_of(agent).map(EndpointId),
                        ..Default::default()
                    };
                    let call = self.router.submit(now, request);
                    self.stats.calls += 1;
                    let info = CallInfo {
                        observed: ObservedCall::new(tenant.0, workflow.0, now),
                        input_tokens,
                        output_tokens,
                        agent,
                        key,
                        attempts: 0,
                    };
                    self.calls.insert(call.0, info);
                    self.observer.call_submitted(&info.observed);
                    if let Some(log) = &mut self.call_log
                        && log.len() < self.call_log_limit
                    {
                        log.push(CallRecord {
                            submitted: now,
                            tenant,
                            workflow,
                            input_tokens,
                            output_tokens,
                            ended: None,
                            endpoint: None,
                            served: false,
                            refused: false,
                            key,
                        });
                    }
                    self.live_calls += 1;
                    self.stats.peak_live_calls = self.stats.peak_live_calls.max(self.calls.live() as u64);
                    if self.live_limit.is_some_and(|limit| self.live_calls > limit) {
                        self.stop_overloaded(now, self.live_calls, q);
                        return;
                    }
                }
                Effect::Think { agent, after } => {
                    q.schedule(now + after, Event::ThinkDone { agent });
                }
                Effect::Tool { agent, after } => {
                    self.stats.tool_calls += 1;
                    q.schedule(now + after, Event::ToolDone { agent });
                }
                Effect::TaskEnded {
                    source,
                    started,
                    latency,
                } => {
                    let src = &self.sources[source as usize];
                    if latency.is_some() {
                        self.stats.tasks_succeeded += 1;
                    }
                    if self.task_log.len() < self.task_log_limit {
                        self.task_log.push(TaskRecord {
                            tenant: src.tenant,
                            workflow: src.workflow,
                            started,
                            ended: now,
                            succeeded: latency.is_some(),
                        });
                    }
                    self.observer.task_ended(src.tenant.0, src.workflow.0, started, latency);
                }
            }
        }
    }

    /// Carries out everything the router decided, then re-arms its wake-up.
    /// Dispatches emitted together reach their endpoints in random order
    /// (see `transit`); actions that carrying out one of them brings
    /// follow, as before, after those already emitted.
    fn drain_router(&mut self, now: Time, q: &mut EventQueue<Event>) {
        let mut actions = std::mem::take(&mut self.actions);
        loop {
            actions.extend(std::iter::from_fn(|| self.router.poll_action()));
            if actions.is_empty() {
                break;
            }
            transit::shuffle_dispatch_runs(&mut actions, &mut self.transit);
            for action in actions.drain(..) {
                self.carry_out(now, action, q);
            }
        }
        self.actions = actions;
        self.drain_events_and_wake(q);
    }

    /// Carries out one action of the router.
    fn carry_out(&mut self, now: Time, action: Action, q: &mut EventQueue<Event>) {
        match action {
            Action::Dispatch {
                call,
                attempt,
                endpoint,
                ..
            } => {
                self.note_dispatch(now, call, endpoint.0);
                if let Some(mut info) = self.calls.get(call.0) {
                    // A session switching endpoint mid-task carries its
                    // context over: extra input tokens on this attempt.
                    if self.tasks.note_endpoint(info.agent, endpoint.0) {
                        self.stats.migrations += 1;
                        let source = self.tasks.source_of(info.agent).unwrap_or(0) as usize;
                        let extra = self.migration.get(source).copied().unwrap_or(0);
                        info.input_tokens = info.input_tokens.saturating_add(extra);
                    }
                    self.dispatch(now, attempt, endpoint, call, info, q);
                }
            }
            Action::Cancel { attempt, failed, .. } => self.cancel(now, attempt, failed.is_some(), q),
            Action::Complete {
                call, tier, endpoint, ..
            } => self.finish_call(now, call, Some((tier.0, endpoint.0)), None, q),
            Action::Fail { call, reason } => self.finish_call(now, call, None, Some(reason), q),
            Action::Suspend { .. } | Action::Resume { .. } => {}
        }
    }

    /// Passes the router's audit events on, then re-arms its wake-up.
    fn drain_events_and_wake(&mut self, q: &mut EventQueue<Event>) {
        while let Some(event) = self.router.poll_event() {
            self.stats.audit_events += 1;
            self.observer.router_event(&event, &EndpointBlame(&self.endpoints));
            if let Some(log) = &mut self.audit_stream {
                log.write(&event);
            }
            if self.audit_log.len() < self.audit_log_limit {
                self.audit_log.push(event);
            }
        }
        if let Some(t) = self.router.poll_timeout()
            && self.wake.is_none_or(|w| t < w)
        {
            self.wake = Some(t);
            q.schedule(t, Event::RouterWake);
        }
    }
}

impl World {
    /// A dispatch of `call` to `endpoint`: the observers time fallbacks.
    fn note_dispatch(&mut self, now: Time, call: CallId, endpoint: u32) {
        let Some(info) = self.calls.get_mut(call.0) else { return };
        self.observer
            .dispatched(&mut info.observed, now, endpoint, &EndpointBlame(&self.endpoints));
    }
}

impl Model for World {
    type Event = Event;

    fn handle(&mut self, now: Time, event: Event, q: &mut EventQueue<Event>) {
        if self.overload.is_some() {
            // Stopped by the overload guard: what was scheduled while it
            // fired is dropped.
            return;
        }
        match event {
            Event::Arrival { source } => {
                let end = self.end;
                if let Some(next) = self.sources[source as usize].arrivals.next_after(now, end) {
                    q.schedule(next, Event::Arrival { source });
                }
                self.start_task(now, source, q);
            }
            Event::TraceArrival { source, input, output } => {
                let end = self.end;
                if let Some(feed) = &mut self.sources[source as usize].trace
                    && let Some((at, input, output)) = feed.next_row()
                    && Time::ZERO + at < end
                {
                    q.schedule(Time::ZERO + at, Event::TraceArrival { source, input, output });
                }
                self.start_task_with(now, source, Some((input, output)), q);
            }
            Event::SessionArrival { source } => {
                let end = self.end;
                let feed = self.sources[source as usize].sessions.as_mut();
                if let Some(feed) = feed {
                    let session = feed.take();
                    if let Some(at) = feed.advance()
                        && Time::ZERO + at < end
                    {
                        q.schedule(Time::ZERO + at, Event::SessionArrival { source });
                    }
                    if let Some(session) = session {
                        self.start_session(now, source, session, q);
                    }
                }
            }
            Event::BatchArrival { source, batch } => {
                let end = self.end;
                if let Some(next) = self.sources[source as usize].batches[batch as usize].next(end) {
                    q.schedule(next, Event::BatchArrival { source, batch });
                }
                self.start_task(now, source, q);
            }
            Event::ThinkDone { agent } | Event::ToolDone { agent } => {
                if let Some(source) = self.tasks.source_of(agent) {
                    let mut effects = std::mem::take(&mut self.effects);
                    let src = &mut self.sources[source as usize];
                    if matches!(event, Event::ThinkDone { .. }) {
                        self.tasks.on_think_done(now, agent, src, &mut effects);
                    } else {
                        self.tasks.on_tool_done(now, agent, src, &mut effects);
                    }
                    self.apply(now, &mut effects, q);
                    self.effects = effects;
                }
            }
            Event::ServiceDone { endpoint, attempt } => {
                let ei = endpoint as usize;
                let done = self.attempts.remove(attempt.0);
                let error = done.is_some_and(|a| self.endpoints[ei].draw_error(now, a.draws.uniform));
                if let Some(a) = done {
                    if error {
                        self.attempt_failed(now, a.call, a.endpoint);
                    } else {
                        let usd = self.endpoints[ei].cost(a.input_tokens, a.output_tokens);
                        self.observer.cost(a.tenant, a.workflow, a.submitted, usd);
                        if let Some(call) = self.calls.get_mut(a.call) {
                            call.observed
                                .served_first_token(a.service.map_or(now, |s| s.first_token));
                        }
                    }
                }
                self.start_next(now, ei, q);
                let outcome = if error { Outcome::ServerError } else { Outcome::Success };
                self.router.on_outcome(now, attempt, outcome);
            }
            Event::ErrorReply { attempt, outcome, .. } => {
                if let Some(a) = self.attempts.remove(attempt.0) {
                    self.attempt_failed(now, a.call, a.endpoint);
                }
                self.router.on_outcome(now, attempt, outcome);
            }
            Event::FirstToken { attempt } => self.router.on_first_token(now, attempt),
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

/// Blame in the simulated world: the endpoint, and whether one of its
/// incidents was in force then (out of range: the router).
struct EndpointBlame<'a>(&'a [EndpointSim]);

impl Blame for EndpointBlame<'_> {
    fn cause(&self, at: Time, endpoint: u32) -> Cause {
        match self.0.get(endpoint as usize) {
            Some(ep) => Cause::Endpoint {
                index: endpoint,
                outage: ep.incident_at(at).is_some(),
            },
            None => Cause::Router,
        }
    }
}

/// The timeline: the observers' tenant tier rows and every endpoint's
/// outages in the period, in time order.
fn timeline(
    endpoints: &[EndpointSim],
    names: &[String],
    end: Time,
    tier_rows: Option<Vec<TimelineRow>>,
) -> Vec<TimelineRow> {
    let mut rows = tier_rows.unwrap_or_default();
    for (e, ep) in endpoints.iter().enumerate() {
        for i in ep.incidents().iter().filter(|i| i.start < end) {
            rows.push(TimelineRow {
                lane: names[e].clone(),
                kind: "outage".into(),
                start: i.start,
                end: i.end.min(end),
                detail: i.mode.name().into(),
            });
        }
    }
    rows.sort_by(|a, b| (a.start, &a.kind, &a.lane).cmp(&(b.start, &b.kind, &b.lane)));
    rows
}
