//! The router's driver: one task owns the [`Router`], as quinn's endpoint
//! driver owns its protocol state. Handles talk to it over channels:
//! request handlers submit calls and say when their client went away;
//! attempt tasks report first tokens and how they ended. The router's
//! [`poll_timeout`](Router::poll_timeout) is one [`tokio::time::Sleep`]
//! that is reset, never a timer per call.
//!
//! After every input the driver drains the router's events (audit log,
//! metrics) and actions: a `Dispatch` spawns an attempt task, a `Cancel`
//! aborts one (dropping its upstream connection), `Complete`/`Fail`/
//! `Suspend` answer the call's handler through its one-shot channel.
//!
//! **Architecture Invariant:** the driver decides nothing about routing.
//! Which endpoint, when, whether to retry, hedge, shed or suspend are the
//! router's; the driver only carries out actions and reports what it saw.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio::task::AbortHandle;

use super::clock::Clock;
use super::config::{Resolved, UpstreamTarget};
use super::core_api;
use super::logs::{EndedCall, LogFile};
use super::metrics::Metrics;
use super::secret::Scrubber;
use super::sessions::SessionMap;
use super::upstream::{self, AttemptJob};
use super::wire::{self, Usage};
use crate::observe::ObservedCall;
use crate::policy::{
    Action, AttemptId, AuditEvent, AuditKind, BreakerState, CallId, CallRequest, ConfigError, EndpointId, FailReason,
    Outcome, ReloadReport, Router, RouterConfig, Tier,
};
use crate::scenario::Scenario;
use crate::time::Time;

/// A call handed to the driver.
pub struct Submission {
    /// The router's request.
    pub request: CallRequest,
    /// The call's deadline, after its arrival (`x-slaplan-deadline`).
    pub deadline_after: Option<crate::time::Span>,
    /// Whether the client asked for a stream.
    pub stream: bool,
    /// Whether the client asked for a stream's usage chunk.
    pub client_usage: bool,
    /// The client's body.
    pub body: Arc<Value>,
    /// `x-slaplan-task`.
    pub task: Option<String>,
    /// `x-slaplan-draw-key`, passed on to every attempt.
    pub draw_key: Option<u64>,
    /// `x-slaplan-session`.
    pub session: Option<String>,
    /// Where streamed events go.
    pub chunks: mpsc::Sender<Bytes>,
    /// Where the call's end goes.
    pub done: oneshot::Sender<Final>,
    /// The call's id, once the router numbered it.
    pub reply: oneshot::Sender<CallId>,
}

/// Inputs to the driver.
pub enum Command {
    /// A new call.
    Submit(Box<Submission>),
    /// An attempt received its first streamed event; the reply says whether
    /// the client gets this attempt's events.
    FirstToken {
        /// The attempt.
        attempt: AttemptId,
        /// Whether to pass its events on.
        reply: oneshot::Sender<bool>,
    },
    /// An attempt ended.
    AttemptEnded {
        /// The attempt.
        attempt: AttemptId,
        /// What the router is told.
        outcome: Outcome,
        /// What came back.
        answer: AttemptAnswer,
    },
    /// Apply a new configuration (same tenants and endpoints, by name and
    /// in order): the router's [`Router::reload`], then the upstreams.
    Reload(Box<Reload>),
    /// Read the router's gauges into the metrics, then reply.
    Snapshot {
        /// Done.
        reply: oneshot::Sender<()>,
    },
}

/// A configuration to apply.
pub struct Reload {
    /// The scenario now served.
    pub scenario: Arc<Scenario>,
    /// Its router configuration.
    pub config: RouterConfig,
    /// Its upstreams, per endpoint.
    pub upstreams: Vec<UpstreamTarget>,
    /// Its keys to scrub.
    pub scrubber: Scrubber,
    /// The router's answer.
    pub reply: oneshot::Sender<Result<ReloadReport, ConfigError>>,
}

/// What an attempt brought back.
pub enum AttemptAnswer {
    /// Nothing to pass on.
    Nothing,
    /// A whole (non-streamed) answer.
    Body {
        /// The upstream's body.
        bytes: Bytes,
        /// Its `usage`.
        usage: Option<Usage>,
    },
    /// A stream, passed on already.
    Streamed {
        /// Its usage chunk.
        usage: Option<Usage>,
    },
    /// A 4xx to pass on to the client.
    Refused {
        /// The status.
        status: u16,
        /// The (scrubbed) body.
        body: Bytes,
    },
}

/// How a call ends, for its handler.
pub enum Final {
    /// A whole answer (non-streamed).
    Answer(Bytes),
    /// The stream is complete.
    End,
    /// No answer: the status, body and `retry-after` (seconds) to send.
    Refused {
        /// HTTP status.
        status: u16,
        /// JSON error body.
        body: Bytes,
        /// Seconds for `retry-after`.
        retry_after: Option<u64>,
    },
}

/// One live attempt.
struct Leg {
    attempt: AttemptId,
    endpoint: EndpointId,
    abort: AbortHandle,
}

/// What the driver keeps of a call in flight (removed when it ends).
struct LiveCall {
    tenant: u32,
    workflow: u32,
    task: Option<String>,
    draw_key: Option<u64>,
    session: Option<String>,
    stream: bool,
    client_usage: bool,
    body: Arc<Value>,
    chunks: mpsc::Sender<Bytes>,
    /// `None` once the handler was answered (or went away).
    done: Option<oneshot::Sender<Final>>,
    arrival: Time,
    first_token: Option<Time>,
    attempts: u32,
    legs: Vec<Leg>,
    streamer: Option<AttemptId>,
    input_tokens: u32,
    output_tokens: u32,
    usage: Option<Usage>,
    refusal: Option<(u16, Bytes)>,
    shed_at: Option<EndpointId>,
    /// How the client was answered before the router ended the call
    /// (suspended, or gone): the outcome and status for the log.
    answered: Option<(&'static str, u16)>,
    /// What the SLA observers follow of it (its fallback), for the log.
    observed: ObservedCall,
}

/// The driver's handles, cloned into every request handler.
#[derive(Clone)]
pub struct DriverHandle {
    /// Submissions and attempt reports.
    pub commands: mpsc::Sender<Command>,
    /// Calls whose client went away (never blocks: sent from `Drop`).
    pub gone: mpsc::UnboundedSender<CallId>,
}

/// The driver's state.
pub struct Driver {
    router: Router,
    clock: Clock,
    scenario: Arc<Scenario>,
    upstreams: Vec<Arc<UpstreamTarget>>,
    client: reqwest::Client,
    scrubber: Arc<Scrubber>,
    metrics: Arc<Metrics>,
    audit: Option<LogFile>,
    requests: Option<LogFile>,
    calls: HashMap<CallId, LiveCall>,
    attempts: HashMap<AttemptId, CallId>,
    answers: HashMap<AttemptId, AttemptAnswer>,
    breakers: Vec<BreakerState>,
    /// The endpoint each recent session was last sent to.
    sessions: SessionMap,
    commands_tx: mpsc::Sender<Command>,
    now: Time,
    /// The router numbers calls from 0 in submission order.
    next_call: u64,
}

/// Commands waiting for the driver, at most (handlers wait beyond).
const COMMAND_BACKLOG: usize = 4096;
/// Inputs taken per wake-up of the driver, at most.
const BATCH: usize = 64;
/// Sessions whose endpoint is remembered, at most (least recently used
/// forgotten first).
const SESSIONS_REMEMBERED: usize = 65_536;

impl Driver {
    /// A driver for `router`, with its handle and the channels it reads.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        router: Router,
        clock: Clock,
        scenario: Arc<Scenario>,
        resolved: &Resolved,
        client: reqwest::Client,
        metrics: Arc<Metrics>,
        audit: Option<LogFile>,
        requests: Option<LogFile>,
    ) -> (Driver, DriverHandle, Inbox) {
        let (tx, rx) = mpsc::channel(COMMAND_BACKLOG);
        let (gone_tx, gone_rx) = mpsc::unbounded_channel();
        let n = scenario.endpoints.len();
        let driver = Driver {
            router,
            clock,
            scenario,
            upstreams: resolved.upstreams.iter().cloned().map(Arc::new).collect(),
            client,
            scrubber: Arc::new(resolved.scrubber.clone()),
            metrics,
            audit,
            requests,
            calls: HashMap::new(),
            attempts: HashMap::new(),
            answers: HashMap::new(),
            breakers: vec![BreakerState::Closed; n],
            sessions: SessionMap::new(SESSIONS_REMEMBERED),
            commands_tx: tx.clone(),
            now: Time::ZERO,
            next_call: 0,
        };
        let handle = DriverHandle {
            commands: tx,
            gone: gone_tx,
        };
        (
            driver,
            handle,
            Inbox {
                commands: rx,
                gone: gone_rx,
            },
        )
    }

    /// Runs until the server and every call's handler are gone; then
    /// writes out the logs.
    pub async fn run(mut self, mut inbox: Inbox) {
        let mut armed: Option<Time> = None;
        let sleep = tokio::time::sleep_until(self.clock.instant(Time::ZERO).into());
        let mut sleep: Pin<Box<tokio::time::Sleep>> = Box::pin(sleep);
        loop {
            tokio::select! {
                biased;
                gone = inbox.gone.recv() => match gone {
                    Some(call) => self.client_gone(call),
                    // The server and every call's handler are gone.
                    None => break,
                },
                () = &mut sleep, if armed.is_some() => {
                    armed = None;
                    let now = self.tick();
                    self.router.handle_timeout(now);
                }
                cmd = inbox.commands.recv() => match cmd {
                    Some(c) => self.command(c),
                    None => break,
                },
            }
            // Whatever else is waiting is taken in the same wake-up: one
            // drain of the router's queued actions (in order, as one by
            // one) and one timer reset for the lot.
            for _ in 0..BATCH {
                if let Ok(call) = inbox.gone.try_recv() {
                    self.client_gone(call);
                } else if let Ok(c) = inbox.commands.try_recv() {
                    self.command(c);
                } else {
                    break;
                }
            }
            self.drain();
            let next = self.router.poll_timeout();
            if next != armed {
                armed = next;
                if let Some(t) = next {
                    sleep.as_mut().reset(self.clock.instant(t).into());
                }
            }
        }
    }

    /// The clock's now, never earlier than the last.
    fn tick(&mut self) -> Time {
        self.now = self.now.max(self.clock.now());
        self.now
    }

    fn command(&mut self, c: Command) {
        match c {
            Command::Submit(s) => self.submit(*s),
            Command::FirstToken { attempt, reply } => {
                let now = self.tick();
                let grant = match self.attempts.get(&attempt).and_then(|c| self.calls.get_mut(c)) {
                    Some(call) if call.streamer.is_none() && call.done.is_some() => {
                        call.streamer = Some(attempt);
                        call.first_token = Some(now);
                        true
                    }
                    _ => false,
                };
                core_api::first_token(&mut self.router, now, attempt);
                let _ = reply.send(grant);
            }
            Command::AttemptEnded {
                attempt,
                outcome,
                answer,
            } => self.attempt_ended(attempt, outcome, answer),
            Command::Reload(r) => self.reload(*r),
            Command::Snapshot { reply } => {
                self.metrics.set_state(self.calls.len(), self.sessions.len());
                for e in 0..self.scenario.endpoints.len() {
                    let in_flight = self.router.in_flight(EndpointId(e as u32));
                    self.metrics.set_endpoint(e, in_flight, self.breakers[e]);
                }
                for t in 0..self.scenario.tenants.len() {
                    if let Some(b) = self.router.budget(crate::policy::TenantId(t as u32)) {
                        self.metrics.set_budget(t, b.remaining);
                    }
                }
                let _ = reply.send(());
            }
        }
    }

    /// Applies a new configuration: the router first (a configuration it
    /// rejects changes nothing), then what attempts are sent with.
    fn reload(&mut self, r: Reload) {
        let now = self.tick();
        let result = self.router.reload(now, r.config);
        if result.is_ok() {
            self.scenario = r.scenario;
            self.upstreams = r.upstreams.into_iter().map(Arc::new).collect();
            self.scrubber = Arc::new(r.scrubber);
        }
        let _ = r.reply.send(result);
    }

    fn submit(&mut self, s: Submission) {
        let now = self.tick();
        let mut request = s.request.clone();
        request.deadline = s.deadline_after.map(|d| now + d);
        // The session's previous endpoint; the router decides what it means.
        request.affinity = s
            .session
            .as_deref()
            .and_then(|session| self.sessions.endpoint(request.tenant.0, session));
        self.metrics.request(request.tenant.0 as usize);
        // The call is known before the router's first actions for it.
        let id = CallId(self.peek_next_call());
        self.calls.insert(
            id,
            LiveCall {
                tenant: request.tenant.0,
                workflow: request.workflow.0,
                task: s.task,
                draw_key: s.draw_key,
                session: s.session,
                stream: s.stream,
                client_usage: s.client_usage,
                body: s.body,
                chunks: s.chunks,
                done: Some(s.done),
                arrival: now,
                first_token: None,
                attempts: 0,
                legs: Vec::new(),
                streamer: None,
                input_tokens: request.input_tokens,
                output_tokens: request.output_tokens,
                usage: None,
                refusal: None,
                shed_at: None,
                answered: None,
                observed: ObservedCall::new(request.tenant.0, request.workflow.0, now),
            },
        );
        let got = self.router.submit(now, request);
        debug_assert_eq!(got, id);
        self.next_call = got.0 + 1;
        let _ = s.reply.send(got);
    }

    fn peek_next_call(&self) -> u64 {
        self.next_call
    }
}

/// The driver's receiving ends.
pub struct Inbox {
    commands: mpsc::Receiver<Command>,
    gone: mpsc::UnboundedReceiver<CallId>,
}

/// The HTTP status and error body of a call the router failed.
fn refusal(reason: FailReason, retry_after: Option<u64>) -> (u16, Bytes, &'static str) {
    let (status, message, kind, outcome) = match reason {
        FailReason::Shed => (
            429,
            "the gateway is shedding load: retry later",
            "rate_limit_error",
            "shed",
        ),
        FailReason::DeadlineUnreachable => (
            504,
            "the call cannot finish before its deadline",
            "deadline_unreachable",
            "deadline_unreachable",
        ),
        FailReason::SuspendedTooLong => (
            503,
            "the call stayed suspended too long",
            "suspended",
            "suspended_too_long",
        ),
        FailReason::InvalidRequest => (
            400,
            "unknown tenant or workflow",
            "invalid_request_error",
            "invalid_request",
        ),
        FailReason::NoEligibleEndpoint => (
            503,
            "no endpoint of the tenant's chain can serve the call",
            "server_error",
            "no_eligible_endpoint",
        ),
        FailReason::AttemptsExhausted => (
            502,
            "every attempt upstream failed",
            "upstream_error",
            "attempts_exhausted",
        ),
        FailReason::ClientError { .. } => (
            400,
            "the upstream rejected the request",
            "invalid_request_error",
            "client_error",
        ),
        FailReason::Cancelled => (499, "the client went away", "cancelled", "cancelled"),
        FailReason::Reconfigured => (
            503,
            "a reload removed the call's tenant or workflow",
            "server_error",
            "reconfigured",
        ),
    };
    let mut body = wire::error_body(message, kind, None);
    if let Some(secs) = retry_after
        && let Ok(mut v) = serde_json::from_slice::<Value>(&body)
    {
        v["error"]["retry_after_seconds"] = Value::from(secs);
        body = Bytes::from(serde_json::to_vec(&v).unwrap_or_default());
    }
    (status, body, outcome)
}

impl Driver {
    /// The client of `call` went away.
    fn client_gone(&mut self, call: CallId) {
        let now = self.tick();
        let Some(c) = self.calls.get_mut(&call) else { return };
        if c.done.is_none() && c.answered.is_some() {
            return;
        }
        c.done = None;
        c.answered = Some(("cancelled", 0));
        core_api::cancel(&mut self.router, now, call);
    }

    fn attempt_ended(&mut self, attempt: AttemptId, outcome: Outcome, answer: AttemptAnswer) {
        let now = self.tick();
        let Some(&call) = self.attempts.get(&attempt) else {
            return;
        };
        let mut endpoint = None;
        if let Some(c) = self.calls.get_mut(&call) {
            if let Some(pos) = c.legs.iter().position(|l| l.attempt == attempt) {
                let leg = c.legs.swap_remove(pos);
                if !outcome.is_success() {
                    c.observed.attempt_failed(now, leg.endpoint.0);
                }
                endpoint = Some(leg.endpoint);
            }
            match &answer {
                AttemptAnswer::Refused { status, body } => c.refusal = Some((*status, body.clone())),
                AttemptAnswer::Streamed { usage } | AttemptAnswer::Body { usage, .. } if outcome.is_success() => {
                    c.usage = *usage;
                }
                _ => {}
            }
        }
        self.attempts.remove(&attempt);
        if let (Outcome::RateLimited { .. }, Some(e)) = (outcome, endpoint) {
            self.metrics.rate_limited(e.0 as usize);
        }
        if matches!(answer, AttemptAnswer::Body { .. }) {
            self.answers.insert(attempt, answer);
        }
        self.router.on_outcome(now, attempt, outcome);
        // A stream already passed on cannot be retried elsewhere.
        if !outcome.is_success() {
            self.stream_broken(now, call, attempt);
        }
    }

    /// `attempt` of `call` ended without an answer: if its events were
    /// being passed on, the client's stream is over.
    fn stream_broken(&mut self, now: Time, call: CallId, attempt: AttemptId) {
        let Some(c) = self.calls.get_mut(&call) else { return };
        if c.streamer != Some(attempt) {
            return;
        }
        if let Some(done) = c.done.take() {
            let body = wire::error_body("the upstream stream broke off", "upstream_error", None);
            let _ = done.send(Final::Refused {
                status: 502,
                body,
                retry_after: None,
            });
            c.answered = Some(("attempts_exhausted", 200));
        }
        core_api::cancel(&mut self.router, now, call);
    }

    /// Carries out everything the router decided.
    fn drain(&mut self) {
        while let Some(event) = self.router.poll_event() {
            self.audit_event(&event);
        }
        while let Some(action) = self.router.poll_action() {
            self.action(action);
        }
        // Carrying out actions may have given the router more input (a
        // broken stream's call withdrawn).
        while let Some(event) = self.router.poll_event() {
            self.audit_event(&event);
        }
        while let Some(action) = self.router.poll_action() {
            self.action(action);
        }
        self.answers.clear();
    }

    fn audit_event(&mut self, event: &AuditEvent) {
        match event.kind {
            AuditKind::Breaker { to, .. } => {
                if let Some(e) = event.endpoint.and_then(|e| self.breakers.get_mut(e.0 as usize)) {
                    *e = to;
                }
            }
            AuditKind::Shed { .. } => {
                if let (Some(call), Some(e)) = (event.call, event.endpoint)
                    && let Some(c) = self.calls.get_mut(&call)
                {
                    c.shed_at = Some(e);
                }
            }
            _ => {}
        }
        if let Some(log) = &self.audit {
            let mut line = Vec::new();
            crate::report::audit_line(&self.scenario, self.clock.utc_start(), event, &mut line);
            if !log.write(line) {
                self.metrics.log_dropped();
            }
        }
    }

    fn action(&mut self, action: Action) {
        let now = self.now;
        match action {
            Action::Dispatch {
                call,
                attempt,
                endpoint,
                ..
            } => {
                let Some(c) = self.calls.get_mut(&call) else { return };
                if c.attempts > 0 {
                    self.metrics.fallback(c.tenant as usize);
                }
                c.attempts += 1;
                c.observed.dispatched(now, endpoint.0);
                if let Some(session) = &c.session {
                    self.sessions.note(c.tenant, session, endpoint);
                }
                let job = AttemptJob {
                    attempt,
                    target: Arc::clone(&self.upstreams[endpoint.0 as usize]),
                    body: Arc::clone(&c.body),
                    stream: c.stream,
                    client_usage: c.client_usage,
                    draw_key: c.draw_key,
                    chunks: c.chunks.clone(),
                    commands: self.commands_tx.clone(),
                    client: self.client.clone(),
                    scrubber: Arc::clone(&self.scrubber),
                };
                let abort = tokio::spawn(upstream::run(job)).abort_handle();
                c.legs.push(Leg {
                    attempt,
                    endpoint,
                    abort,
                });
                self.attempts.insert(attempt, call);
            }
            Action::Cancel { call, attempt, failed } => {
                if let Some(c) = self.calls.get_mut(&call)
                    && let Some(pos) = c.legs.iter().position(|l| l.attempt == attempt)
                {
                    let leg = c.legs.swap_remove(pos);
                    leg.abort.abort();
                    if failed.is_some() {
                        c.observed.attempt_failed(now, leg.endpoint.0);
                    }
                }
                self.attempts.remove(&attempt);
                self.stream_broken(now, call, attempt);
            }
            Action::Complete {
                call,
                attempt,
                endpoint,
                tier,
            } => {
                let answer = self.answers.remove(&attempt);
                self.end_call(call, Some((endpoint, tier)), None, answer);
            }
            Action::Fail { call, reason } => self.end_call(call, None, Some(reason), None),
            Action::Suspend { call } => self.suspended(call),
            Action::Resume { .. } => {}
        }
    }

    /// The router suspended `call`: its client is told so, with when to
    /// retry, and the call is withdrawn.
    fn suspended(&mut self, call: CallId) {
        let now = self.now;
        let retry = self.suspend_retry_after(call);
        let Some(c) = self.calls.get_mut(&call) else { return };
        if let Some(done) = c.done.take() {
            let mut v: Value = serde_json::from_slice(&wire::error_body(
                "the call is suspended: no endpoint the tenant accepts can serve it now",
                "suspended",
                Some("suspended"),
            ))
            .unwrap_or_default();
            v["error"]["retry_after_seconds"] = Value::from(retry);
            let _ = done.send(Final::Refused {
                status: 503,
                body: Bytes::from(serde_json::to_vec(&v).unwrap_or_default()),
                retry_after: Some(retry),
            });
            c.answered = Some(("suspended", 503));
        }
        core_api::cancel(&mut self.router, now, call);
    }

    /// Seconds after which a suspended call of this tenant is worth
    /// retrying: when the breaker of its chain's first step will probe
    /// again (its `open_for`; the router-wide breaker's, else the
    /// breaker default's), at least 1.
    fn suspend_retry_after(&self, call: CallId) -> u64 {
        let cfg = self.router.config();
        let open_for = self
            .calls
            .get(&call)
            .and_then(|c| cfg.tenants.get(c.tenant as usize))
            .and_then(|t| t.chain.first())
            .and_then(|step| cfg.endpoints.iter().find(|e| e.name == step.endpoint))
            .and_then(|e| e.breaker.clone())
            .or_else(|| cfg.breaker.clone())
            .unwrap_or_default()
            .open_for;
        open_for.as_nanos().div_ceil(1_000_000_000).max(1)
    }

    /// The router ended `call`: answer its handler (if still there), log
    /// it, count it.
    fn end_call(
        &mut self,
        call: CallId,
        served: Option<(EndpointId, Tier)>,
        reason: Option<FailReason>,
        answer: Option<AttemptAnswer>,
    ) {
        let now = self.now;
        let Some(mut c) = self.calls.remove(&call) else { return };
        for leg in c.legs.drain(..) {
            leg.abort.abort();
            self.attempts.remove(&leg.attempt);
        }
        let (outcome, status) = if let Some(a) = c.answered {
            a
        } else if served.is_some() {
            let fin = match answer {
                Some(AttemptAnswer::Body { bytes, .. }) => Final::Answer(bytes),
                _ => Final::End,
            };
            if let Some(done) = c.done.take() {
                let _ = done.send(fin);
            }
            ("success", 200)
        } else {
            let reason = reason.unwrap_or(FailReason::AttemptsExhausted);
            let (status, body, outcome, retry_after) = if core_api::is_cancelled(reason) {
                (0, Bytes::new(), "cancelled", None)
            } else if let (Some((st, body)), FailReason::AttemptsExhausted | FailReason::ClientError { .. }) =
                (c.refusal.clone(), reason)
            {
                (st, body, "client_error", None)
            } else {
                let retry_after = (reason == FailReason::Shed).then(|| {
                    c.shed_at
                        .and_then(|e| core_api::latency_estimate(&self.router, e))
                        .map_or(1, |s| s.as_nanos().div_ceil(1_000_000_000).max(1))
                });
                let (st, body, outcome) = refusal(reason, retry_after);
                (st, body, outcome, retry_after)
            };
            if let Some(done) = c.done.take() {
                let _ = done.send(Final::Refused {
                    status,
                    body,
                    retry_after,
                });
            }
            (outcome, status)
        };
        let latency = now.saturating_since(c.arrival);
        let ttft = c.first_token.map(|t| t.saturating_since(c.arrival));
        self.metrics
            .call_ended(c.tenant as usize, outcome, latency, ttft, served.map(|(_, t)| t.0));
        if let Some(log) = &self.requests {
            // Rendered (names looked up, times formatted, JSON written) by
            // the log's writer thread, not here.
            let ended = EndedCall {
                call: call.0,
                tenant: c.tenant,
                workflow: c.workflow,
                task: c.task.take(),
                session: c.session.take(),
                draw_key: c.draw_key,
                arrival: c.arrival,
                first_token: c.first_token,
                end: now,
                usage: c.usage,
                input_tokens: c.input_tokens,
                output_tokens: c.output_tokens,
                served: served.map(|(e, t)| (e.0, t.0)),
                attempts: c.attempts,
                outcome,
                status,
                observed: c.observed,
            };
            let (scenario, start) = (Arc::clone(&self.scenario), self.clock.utc_start());
            if !log.write_with(move || ended.render(&scenario, start)) {
                self.metrics.log_dropped();
            }
        }
    }
}
