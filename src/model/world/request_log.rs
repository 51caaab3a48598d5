//! The simulator's calls written as the gateway's request log (`run
//! --request-log`): one [`RequestLine`] per call as it ends, in the order
//! calls end, streamed to a writer (memory does not grow with calls); and
//! the router's audit events as the gateway's audit log (`run
//! --audit-log`, [`AuditLog`]).
//!
//! A line says what a gateway would have logged for the call: its arrival
//! (submission), the first token of the attempt that served it, its end,
//! its tokens (`usage` true: the simulator knows them), the endpoint and
//! tier that served it, the attempts dispatched, and its outcome with the
//! HTTP status the gateway answers for it; a call that capacity turned
//! away (shed, or an attempt refused with a 429 or a full queue) gets 429,
//! which is how `judge` recognises a call turned away. A call whose
//! attempt on its first endpoint failed carries its `fallback` (that
//! endpoint, the failure, and where and when it went next). Calls still open
//! when the run ends are not written (a gateway would not have logged them
//! either). Task and session ids are not written: `judge` then takes each
//! call as a task of its own, which matches the simulator's judgement for
//! workflows of single calls.

use std::io::Write;

use chrono::NaiveDateTime;

use crate::gateway::request::draw_key_text;
use crate::gateway::{FallbackField, FallbackLine, RequestLine, rfc3339};
use crate::observe::ObservedCall;
use crate::policy::FailReason;
use crate::scenario::Scenario;
use crate::time::Time;

/// How a call ended, as the request log needs it.
#[derive(Clone, Copy, Debug)]
pub(super) struct LoggedCall {
    pub call: u64,
    /// What the observers followed of it (tenant, arrival, attempts,
    /// fallback, refusals).
    pub observed: ObservedCall,
    pub end: Time,
    pub input_tokens: u32,
    pub output_tokens: u32,
    /// Served: tier, endpoint and first token.
    pub served: Option<(u8, u32, Time)>,
    pub reason: Option<FailReason>,
    /// The call's key (see `model::task`).
    pub key: u64,
}

/// A request log being written.
pub struct RequestLog {
    out: Box<dyn Write + Send>,
    start: NaiveDateTime,
    /// Tenant names and their workflows' names.
    names: Vec<(String, Vec<String>)>,
    endpoints: Vec<String>,
    /// The first write error, if any (later lines are not attempted).
    error: Option<std::io::Error>,
}

impl RequestLog {
    /// A request log of `scenario`'s calls, written to `out`.
    pub fn new(scenario: &Scenario, out: Box<dyn Write + Send>) -> RequestLog {
        RequestLog {
            out,
            start: scenario.start(),
            names: scenario
                .tenants
                .iter()
                .map(|t| (t.name.clone(), t.workflows.iter().map(|w| w.name.clone()).collect()))
                .collect(),
            endpoints: scenario.endpoints.iter().map(|e| e.name.clone()).collect(),
            error: None,
        }
    }

    fn utc(&self, t: Time) -> String {
        rfc3339(self.start + chrono::Duration::nanoseconds(t.as_nanos() as i64))
    }

    /// Writes the line of one call that ended.
    pub(super) fn write(&mut self, c: &LoggedCall) {
        if self.error.is_some() {
            return;
        }
        let o = &c.observed;
        let (tenant, workflows) = &self.names[o.tenant as usize];
        let (outcome, status) = match (c.served, c.reason) {
            (Some(_), _) => ("success", 200),
            (None, reason) => {
                let reason = reason.unwrap_or(FailReason::AttemptsExhausted);
                let (outcome, status) = outcome_of(reason);
                let turned_away = o.refused || reason == FailReason::Shed;
                (outcome, if turned_away { 429 } else { status })
            }
        };
        let line = RequestLine {
            call: c.call,
            tenant: tenant.clone(),
            workflow: workflows[o.workflow as usize].clone(),
            task: None,
            session: None,
            draw_key: Some(draw_key_text(c.key)),
            arrival: self.utc(o.submitted),
            first_token: c.served.map(|(_, _, t)| self.utc(t)),
            end: self.utc(c.end),
            input_tokens: c.input_tokens,
            output_tokens: c.output_tokens,
            usage: true,
            endpoint: c.served.map(|(_, e, _)| self.endpoints[e as usize].clone()),
            tier: c.served.map(|(t, _, _)| t),
            attempts: o.attempts,
            outcome: outcome.to_string(),
            status,
            fallback: FallbackField::recorded(FallbackLine::of(
                o,
                |e| self.endpoints[e as usize].clone(),
                |t| self.utc(t),
            )),
        };
        if let Err(e) = self.out.write_all(&line.to_jsonl()) {
            self.error = Some(e);
        }
    }

    /// Flushes the log; the first write error, if any.
    pub fn finish(mut self) -> std::io::Result<()> {
        match self.error.take() {
            Some(e) => Err(e),
            None => self.out.flush(),
        }
    }
}

/// The outcome and HTTP status the gateway logs for a call failed for
/// `reason` (`gateway::driver`'s refusals).
fn outcome_of(reason: FailReason) -> (&'static str, u16) {
    match reason {
        FailReason::AttemptsExhausted => ("attempts_exhausted", 502),
        FailReason::NoEligibleEndpoint => ("no_eligible_endpoint", 503),
        FailReason::DeadlineUnreachable => ("deadline_unreachable", 504),
        FailReason::InvalidRequest => ("invalid_request", 400),
        FailReason::SuspendedTooLong => ("suspended_too_long", 503),
        FailReason::Shed => ("shed", 429),
        FailReason::Cancelled => ("cancelled", 499),
        FailReason::ClientError { .. } => ("client_error", 400),
        FailReason::Reconfigured => ("reconfigured", 503),
    }
}

/// The router's audit events of a run, every one, written as the
/// gateway's audit log (`report::audit_line`, the one writer of both).
pub struct AuditLog {
    out: Box<dyn Write + Send>,
    scenario: Scenario,
    start: NaiveDateTime,
    line: Vec<u8>,
    error: Option<std::io::Error>,
}

impl AuditLog {
    /// An audit log of `scenario`'s router, written to `out`.
    pub fn new(scenario: &Scenario, out: Box<dyn Write + Send>) -> AuditLog {
        AuditLog {
            out,
            scenario: scenario.clone(),
            start: scenario.start(),
            line: Vec::new(),
            error: None,
        }
    }

    /// Writes one event's line.
    pub(super) fn write(&mut self, e: &crate::policy::AuditEvent) {
        if self.error.is_some() {
            return;
        }
        self.line.clear();
        crate::report::audit_line(&self.scenario, self.start, e, &mut self.line);
        if let Err(e) = self.out.write_all(&self.line) {
            self.error = Some(e);
        }
    }

    /// Flushes the log; the first write error, if any.
    pub fn finish(mut self) -> std::io::Result<()> {
        match self.error.take() {
            Some(e) => Err(e),
            None => self.out.flush(),
        }
    }
}
