//! The load's one driver: the workload's sources and task table, a heap of
//! wake-ups in scenario time (arrivals, think and tool times done), and the
//! calls in flight; each answer goes back to the task state machine.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::sync::Arc;

use serde::Serialize;
use tokio::task::JoinSet;

use super::client::{self, CallResult, CallSpec, client_outcome};
use super::{LoadConfig, LoadError, check};
use crate::gateway::clock::Clock;
use crate::gateway::request::draw_key_text;
use crate::gateway::{FallbackField, RequestLine, rfc3339};
use crate::model::{AgentId, Effect, Source, Tasks};
use crate::scenario::Scenario;
use crate::time::{Span, Time};

/// What a load did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LoadSummary {
    /// Tasks started.
    pub tasks: u64,
    /// Tasks that ended successfully.
    pub tasks_succeeded: u64,
    /// Tasks still running when the drain ran out (abandoned).
    pub tasks_unfinished: u64,
    /// Calls made (sent or not).
    pub calls: u64,
    /// Calls answered in full with success.
    pub calls_succeeded: u64,
    /// Calls not sent because `max_in_flight` requests were in flight.
    pub calls_not_sent: u64,
    /// Calls abandoned in flight when the drain ran out.
    pub calls_abandoned: u64,
    /// Tool calls waited out.
    pub tool_calls: u64,
    /// Think times waited out.
    pub thinks: u64,
}

/// A wake-up of the workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Wake {
    Arrival(u32),
    Batch(u32, u32),
    Think(AgentId),
    Tool(AgentId),
}

/// A call that came back.
struct Done {
    agent: AgentId,
    tenant: u32,
    workflow: u32,
    task: Arc<str>,
    draw_key: u64,
    input_tokens: u32,
    output_tokens: u32,
    result: CallResult,
}

struct Driver<'s> {
    scenario: &'s Scenario,
    config: &'s LoadConfig,
    sources: Vec<Source>,
    tasks: Tasks,
    /// Per task slot, the serial number of the task in it (its id).
    serials: Vec<u64>,
    next_serial: u64,
    heap: BinaryHeap<Reverse<(Time, u64, Wake)>>,
    seq: u64,
    /// The end of arrivals, in scenario time.
    end: Time,
    clock: Clock,
    http: reqwest::Client,
    url: Arc<str>,
    keys: Vec<Option<Arc<str>>>,
    names: Vec<Vec<Arc<str>>>,
    calls: JoinSet<Done>,
    effects: Vec<Effect>,
    log: Option<BufWriter<File>>,
    log_error: Option<std::io::Error>,
    next_call: u64,
    summary: LoadSummary,
}

/// Drives `scenario`'s workload against `config.target` until it stops by
/// itself: arrivals end after `duration`, the last tasks get `drain` more.
pub async fn run(scenario: &Scenario, config: &LoadConfig) -> Result<LoadSummary, LoadError> {
    check(scenario, config)?;
    let log = match &config.log {
        Some(path) => Some(BufWriter::new(File::create(path).map_err(|source| LoadError::Log {
            path: path.display().to_string(),
            source,
        })?)),
        None => None,
    };
    let http = reqwest::Client::builder()
        .tcp_nodelay(true)
        // Below the gateway's idle-connection timeout (`serve
        // --header-timeout`, 10 s by default): a pooled connection the
        // server is closing would fail a call the gateway never saw.
        .pool_idle_timeout(std::time::Duration::from_secs(4))
        .build()
        .map_err(|e| LoadError::Client(e.to_string()))?;
    let mut sources = Vec::new();
    for (ti, t) in scenario.tenants.iter().enumerate() {
        for wi in 0..t.workflows.len() {
            sources.push(Source::of_scenario(scenario, ti, wi, config.seed, config.replication));
        }
    }
    let k = config.time_scale;
    let mut driver = Driver {
        scenario,
        config,
        sources,
        tasks: Tasks::new(),
        serials: Vec::new(),
        next_serial: 0,
        heap: BinaryHeap::new(),
        seq: 0,
        end: Time::from_nanos((config.duration.as_nanos() as f64 * k) as u64),
        clock: Clock::start(),
        http,
        url: format!("{}/chat/completions", config.target.trim_end_matches('/')).into(),
        keys: config.keys.iter().map(|k| k.as_deref().map(Arc::from)).collect(),
        names: scenario
            .tenants
            .iter()
            .map(|t| t.workflows.iter().map(|w| Arc::from(w.name.as_str())).collect())
            .collect(),
        calls: JoinSet::new(),
        effects: Vec::new(),
        log,
        log_error: None,
        next_call: 0,
        summary: LoadSummary::default(),
    };
    driver.run().await;
    let Driver {
        mut log,
        mut log_error,
        summary,
        ..
    } = driver;
    if let Some(mut out) = log.take()
        && let Err(e) = out.flush()
    {
        log_error.get_or_insert(e);
    }
    match (log_error, &config.log) {
        (Some(source), Some(path)) => Err(LoadError::Log {
            path: path.display().to_string(),
            source,
        }),
        _ => Ok(summary),
    }
}

impl Driver<'_> {
    /// Scenario time at wall time `t` of the load's clock.
    fn scenario_time(&self, t: Time) -> Time {
        Time::from_nanos((t.as_nanos() as f64 * self.config.time_scale) as u64)
    }

    /// The wall instant of scenario time `t`.
    fn wall_instant(&self, t: Time) -> tokio::time::Instant {
        let wall = Time::from_nanos((t.as_nanos() as f64 / self.config.time_scale).ceil() as u64);
        self.clock.instant(wall).into()
    }

    fn schedule(&mut self, at: Time, wake: Wake) {
        self.seq += 1;
        self.heap.push(Reverse((at, self.seq, wake)));
    }

    async fn run(&mut self) {
        for i in 0..self.sources.len() {
            let end = self.end;
            let src = &mut self.sources[i];
            let first = src.arrivals.next_after(Time::ZERO, end);
            let batches: Vec<Option<Time>> = src.batches.iter_mut().map(|c| c.next(end)).collect();
            if let Some(at) = first {
                self.schedule(at, Wake::Arrival(i as u32));
            }
            for (b, at) in batches.into_iter().enumerate() {
                if let Some(at) = at {
                    self.schedule(at, Wake::Batch(i as u32, b as u32));
                }
            }
        }
        let stop = self
            .clock
            .instant(Time::ZERO + self.config.duration + self.config.drain);
        loop {
            if self.heap.is_empty() && self.calls.is_empty() {
                break;
            }
            let next = self.heap.peek().map(|Reverse((t, _, _))| self.wall_instant(*t));
            tokio::select! {
                biased;
                Some(joined) = self.calls.join_next(), if !self.calls.is_empty() => {
                    if let Ok(done) = joined {
                        self.on_done(done);
                    }
                }
                _ = tokio::time::sleep_until(next.unwrap_or_else(|| stop.into())), if next.is_some() => {
                    self.wake_due();
                }
                _ = tokio::time::sleep_until(stop.into()) => break,
            }
        }
        self.summary.calls_abandoned = self.calls.len() as u64;
        self.calls.abort_all();
        self.summary.tasks_unfinished = self.tasks.unfinished().count() as u64;
    }

    /// Handles every wake-up due by now, each at its own time.
    fn wake_due(&mut self) {
        let now = self.scenario_time(self.clock.now());
        while let Some(Reverse((at, _, wake))) = self.heap.peek().copied() {
            if at > now {
                break;
            }
            self.heap.pop();
            self.wake(at, wake);
        }
    }

    fn wake(&mut self, now: Time, wake: Wake) {
        let mut effects = std::mem::take(&mut self.effects);
        match wake {
            Wake::Arrival(i) => {
                self.start_task(now, i, &mut effects);
                let end = self.end;
                if let Some(at) = self.sources[i as usize].arrivals.next_after(now, end) {
                    self.schedule(at, Wake::Arrival(i));
                }
            }
            Wake::Batch(i, b) => {
                self.start_task(now, i, &mut effects);
                let end = self.end;
                if let Some(at) = self.sources[i as usize].batches[b as usize].next(end) {
                    self.schedule(at, Wake::Batch(i, b));
                }
            }
            Wake::Think(agent) => {
                if let Some(s) = self.tasks.source_of(agent) {
                    self.summary.thinks += 1;
                    self.tasks
                        .on_think_done(now, agent, &mut self.sources[s as usize], &mut effects);
                }
            }
            Wake::Tool(agent) => {
                if let Some(s) = self.tasks.source_of(agent) {
                    self.tasks
                        .on_tool_done(now, agent, &mut self.sources[s as usize], &mut effects);
                }
            }
        }
        self.apply(now, effects);
    }

    fn start_task(&mut self, now: Time, source: u32, effects: &mut Vec<Effect>) {
        let from = effects.len();
        self.tasks
            .start(now, source, &mut self.sources[source as usize], None, effects);
        self.summary.tasks += 1;
        let root = effects[from..].iter().find_map(|e| match e {
            Effect::Call { agent, .. } => Some(*agent),
            _ => None,
        });
        if let Some(slot) = root.and_then(|a| self.tasks.task_of(a)) {
            let slot = slot as usize;
            if self.serials.len() <= slot {
                self.serials.resize(slot + 1, 0);
            }
            self.serials[slot] = self.next_serial;
            self.next_serial += 1;
        }
    }

    /// Carries out the task layer's effects (and those they lead to).
    fn apply(&mut self, now: Time, mut effects: Vec<Effect>) {
        while !effects.is_empty() {
            let batch = std::mem::take(&mut effects);
            for effect in batch {
                match effect {
                    Effect::Call {
                        agent,
                        input_tokens,
                        output_tokens,
                        key,
                    } => self.call(now, agent, (input_tokens, output_tokens), key, &mut effects),
                    Effect::Think { agent, after } => self.schedule(now + after, Wake::Think(agent)),
                    Effect::Tool { agent, after } => {
                        self.summary.tool_calls += 1;
                        self.schedule(now + after, Wake::Tool(agent));
                    }
                    Effect::TaskEnded { latency, .. } => {
                        if latency.is_some() {
                            self.summary.tasks_succeeded += 1;
                        }
                    }
                }
            }
        }
        self.effects = effects;
    }

    fn call(&mut self, now: Time, agent: AgentId, tokens: (u32, u32), draw_key: u64, effects: &mut Vec<Effect>) {
        let (input, output) = tokens;
        let Some(s) = self.tasks.source_of(agent) else { return };
        let (tenant, workflow) = {
            let src = &self.sources[s as usize];
            (src.tenant.0, src.workflow.0)
        };
        self.summary.calls += 1;
        let serial = self
            .tasks
            .task_of(agent)
            .and_then(|slot| self.serials.get(slot as usize).copied())
            .unwrap_or(0);
        let task: Arc<str> = format!("task-{serial}").into();
        let key = self.keys.get(tenant as usize).cloned().flatten();
        let (Some(key), true) = (key, self.calls.len() < self.config.max_in_flight) else {
            // Not sent: the call fails at once, on the client's side.
            self.summary.calls_not_sent += 1;
            let t = self.clock.now();
            let result = CallResult {
                sent: t,
                first_token: None,
                end: t,
                status: 0,
                success: false,
                usage: None,
                model: None,
            };
            self.write_line(tenant, workflow, (&task, draw_key), input, output, &result);
            self.tasks
                .on_call_done(now, agent, None, &mut self.sources[s as usize], effects);
            return;
        };
        let k = self.config.time_scale;
        let deadline = self
            .tasks
            .deadline_of(agent)
            .map(|d| Span::from_nanos((d.saturating_since(now).as_nanos() as f64 / k) as u64));
        let spec = CallSpec {
            url: Arc::clone(&self.url),
            key,
            workflow: Arc::clone(&self.names[tenant as usize][workflow as usize]),
            task: Arc::clone(&task),
            draw_key,
            deadline,
            input_tokens: input,
            output_tokens: output,
        };
        let (http, clock) = (self.http.clone(), self.clock);
        self.calls.spawn(async move {
            let result = client::send(http, spec, clock).await;
            Done {
                agent,
                tenant,
                workflow,
                task,
                draw_key,
                input_tokens: input,
                output_tokens: output,
                result,
            }
        });
    }

    fn on_done(&mut self, done: Done) {
        let now = self.scenario_time(self.clock.now());
        let r = &done.result;
        if r.success {
            self.summary.calls_succeeded += 1;
        }
        self.write_line(
            done.tenant,
            done.workflow,
            (&done.task, done.draw_key),
            done.input_tokens,
            done.output_tokens,
            r,
        );
        let output = r.usage.map_or(done.output_tokens, |u| u.1);
        let Some(s) = self.tasks.source_of(done.agent) else {
            return;
        };
        let mut effects = std::mem::take(&mut self.effects);
        self.tasks.on_call_done(
            now,
            done.agent,
            r.success.then_some(output),
            &mut self.sources[s as usize],
            &mut effects,
        );
        self.apply(now, effects);
    }

    /// The client-side request-log line of one call.
    /// `call` is the task's name and the call's draw key.
    fn write_line(&mut self, tenant: u32, workflow: u32, call: (&str, u64), input: u32, output: u32, r: &CallResult) {
        let (task, draw_key) = call;
        let Some(out) = self.log.as_mut() else { return };
        if self.log_error.is_some() {
            return;
        }
        let t = &self.scenario.tenants[tenant as usize];
        let start = self.clock.utc_start();
        let utc = |at: Time| rfc3339(start + chrono::Duration::nanoseconds(at.as_nanos() as i64));
        let served = r
            .model
            .as_deref()
            .filter(|_| r.success)
            .and_then(|m| served_by(self.scenario, tenant as usize, m));
        let outcome = match (r.success, r.status) {
            // An answer from a model the tenant's chain does not name.
            (true, _) if served.is_none() => "attempts_exhausted",
            (true, _) => "success",
            (false, 200) | (false, 0) => "attempts_exhausted",
            (false, status) => client_outcome(status),
        };
        let line = RequestLine {
            call: self.next_call,
            tenant: t.name.clone(),
            workflow: t.workflows[workflow as usize].name.clone(),
            task: Some(task.to_string()),
            session: Some(task.to_string()),
            draw_key: Some(draw_key_text(draw_key)),
            arrival: utc(r.sent),
            first_token: r.first_token.map(utc),
            end: utc(r.end),
            input_tokens: r.usage.map_or(input, |u| u.0),
            output_tokens: r.usage.map_or(output, |u| u.1),
            usage: r.usage.is_some(),
            endpoint: served.as_ref().map(|(e, _)| e.clone()),
            tier: served.map(|(_, tier)| tier),
            attempts: u32::from(r.status != 0 || r.success),
            outcome: outcome.to_string(),
            status: r.status,
            // The client cannot see the gateway's attempts.
            fallback: FallbackField::Unrecorded,
        };
        self.next_call += 1;
        if let Err(e) = out.write_all(&line.to_jsonl()) {
            self.log_error = Some(e);
        }
    }
}

/// The endpoint of `tenant`'s chain an answer naming `model` came from
/// (its name, or its upstream's model id), with its tier in the chain.
fn served_by(scenario: &Scenario, tenant: usize, model: &str) -> Option<(String, u8)> {
    let t = scenario.tenants.get(tenant)?;
    t.chain.iter().find_map(|step| {
        let e = scenario.endpoints.iter().find(|e| e.name == step.endpoint)?;
        let upstream_model = e.upstream.as_ref().and_then(|u| u.model.as_deref());
        (e.name == model || upstream_model == Some(model)).then(|| (e.name.clone(), step.tier.0))
    })
}
