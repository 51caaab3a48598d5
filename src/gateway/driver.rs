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
use super::logs::LogFile;
use super::metrics::Metrics;
use super::secret::Scrubber;
use super::sessions::SessionMap;
use super::wire::Usage;
use crate::observe::ObservedCall;
use crate::policy::{
    AttemptId, BreakerState, CallId, CallRequest, ConfigError, EndpointId, Outcome, ReloadReport, Router, RouterConfig,
};
use crate::scenario::Scenario;
use crate::time::Time;

mod react;

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
    /// The gateway is stopping and the grace period is over: end every
    /// call still in flight (outcome `gateway_stopped`), log it, and stop.
    Stop,
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
    /// [`Command::Stop`] came: the loop ends after this wake-up.
    stopped: bool,
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
            stopped: false,
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

    /// Runs until the server and every call's handler are gone, or until
    /// [`Command::Stop`] (every call still in flight ended and logged);
    /// then writes out the logs.
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
            if self.stopped {
                break;
            }
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
            Command::Stop => {
                self.stop_calls();
                self.stopped = true;
            }
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
