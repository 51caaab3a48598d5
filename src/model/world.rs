//! The simulated world: arrivals → router → endpoints → outcomes → router.

use crate::engine::{self, EventQueue};
use crate::observe::{Blame, ObservedCall, Observer};
use crate::policy::{Action, AuditEvent, Router};
use crate::scenario::Scenario;
use crate::sla::{Attainment, Cause, Clause, Quality};
use crate::time::{Span, Time};

use super::endpoint::{AttemptState, EndpointSim};
use super::outage::process_incidents;
use super::task::{AgentId, Effect, Tasks};
use super::workload::{Source, open_replay, open_sessions};

mod calls;
mod drive;
mod ending;
mod event;
mod guard;
mod ids;
mod request_log;
mod results;
mod stats;
mod tasks;
mod transit;

use ending::ServiceSpan;
pub use event::Event;
pub use guard::Overload;
use ids::IdWindow;
pub use request_log::{AuditLog, RequestLog};
pub use results::{BuildError, CallRecord, RunResult, Samples, TaskRecord};
pub use stats::RunStats;

pub use crate::observe::TimelineRow;

/// How long after the period the world keeps running to finish calls in flight.
const DRAIN: Span = Span::from_days(1);

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
    /// Its uniform draw, for the error at the end of its service (the
    /// rest of its draws went to the endpoint with it).
    error_draw: f64,
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
