//! What the driver does with what the router decided and what the
//! attempts reported: a `Dispatch` spawns an attempt task, a `Cancel`
//! aborts one, `Complete`/`Fail`/`Suspend` answer the call's handler, and
//! every ended call is counted and logged.
//!
//! The driver's state and its inputs are in the parent module; this one
//! owns the reactions (and the refusal bodies a failed call gets).

use std::sync::Arc;

use bytes::Bytes;
use serde_json::Value;

use super::super::core_api;
use super::super::logs::EndedCall;
use super::super::upstream::{self, AttemptJob};
use super::super::wire;
use super::{AttemptAnswer, Driver, Final, Leg};
use crate::policy::{Action, AttemptId, AuditEvent, AuditKind, CallId, EndpointId, FailReason, Outcome, Tier};
use crate::time::Time;

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
    pub(super) fn client_gone(&mut self, call: CallId) {
        let now = self.tick();
        let Some(c) = self.calls.get_mut(&call) else { return };
        if c.done.is_none() && c.answered.is_some() {
            return;
        }
        c.done = None;
        c.answered = Some(("cancelled", 0));
        core_api::cancel(&mut self.router, now, call);
    }

    /// The gateway is stopping and the grace period for calls in flight
    /// is over: every call still live is ended now, its client told so (a
    /// 503, or an error event closing a stream already under way), and
    /// logged with outcome `gateway_stopped`: a failure of the gateway's,
    /// never left without a row, never read as the client's doing.
    pub(super) fn stop_calls(&mut self) {
        let now = self.tick();
        let mut live: Vec<CallId> = self.calls.keys().copied().collect();
        live.sort_unstable();
        for call in live {
            let Some(c) = self.calls.get_mut(&call) else { continue };
            if c.answered.is_none() {
                // A stream under way already sent its 200.
                let status = if c.streamer.is_some() { 200 } else { 503 };
                if let Some(done) = c.done.take() {
                    let _ = done.send(Final::Refused {
                        status: 503,
                        body: wire::error_body("the gateway is stopping", "server_error", None),
                        retry_after: None,
                    });
                }
                c.answered = Some(("gateway_stopped", status));
            }
            core_api::cancel(&mut self.router, now, call);
        }
    }

    pub(super) fn attempt_ended(&mut self, attempt: AttemptId, outcome: Outcome, answer: AttemptAnswer) {
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
    pub(super) fn drain(&mut self) {
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
