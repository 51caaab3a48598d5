//! Calls and attempts at the endpoints: an attempt dispatched (admitted,
//! queued, refused or hung at its endpoint), the next queued attempt
//! started when a slot frees, an attempt cancelled, a call ended.

use super::ending::ServiceSpan;
use super::request_log::LoggedCall;
use super::{AttemptInfo, EndpointBlame, Event, World};
use crate::engine::EventQueue;
use crate::model::endpoint::{Admission, AttemptDraws, AttemptState};
use crate::observe::NO_ENDPOINT;
use crate::policy::{AttemptId, CallId, EndpointId, FailReason, Outcome};
use crate::sla::CallOutcome;
use crate::time::Time;

/// What dispatching an attempt needs of its call, copied out of the call
/// table in the one lookup that also counts the attempt (the call's whole
/// record is not copied around per attempt).
#[derive(Clone, Copy, Debug)]
pub(super) struct AttemptOf {
    /// The call's id and key (see `CallInfo::key`).
    pub(super) call: u64,
    pub(super) key: u64,
    /// The attempt's number (0 for the first).
    pub(super) number: u32,
    pub(super) tenant: u32,
    pub(super) workflow: u32,
    pub(super) submitted: Time,
    /// The attempt's tokens (a session migration's included).
    pub(super) input_tokens: u32,
    pub(super) output_tokens: u32,
}

impl World {
    /// An attempt of `call` on `endpoint` ended badly at `now` (an error
    /// answer, or cancelled).
    pub(super) fn attempt_failed(&mut self, now: Time, call: u64, endpoint: u32) {
        if let Some(info) = self.calls.get_mut(call) {
            info.observed.attempt_failed(now, endpoint);
        }
    }

    /// Sends `attempt` of `call` to `endpoint` at `now`.
    pub(super) fn dispatch(
        &mut self,
        now: Time,
        attempt: AttemptId,
        endpoint: EndpointId,
        call: AttemptOf,
        q: &mut EventQueue<Event>,
    ) {
        self.stats.attempts += 1;
        let draws = AttemptDraws::keyed(call.key, call.number);
        let ei = endpoint.0 as usize;
        let ep = &mut self.endpoints[ei];
        let admission = ep.admit(now, attempt, draws, call.input_tokens, call.output_tokens);
        if matches!(admission, Admission::Full(_) | Admission::RateLimited { .. })
            && let Some(info) = self.calls.get_mut(call.call)
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
                call: call.call,
                tenant: call.tenant,
                workflow: call.workflow,
                submitted: call.submitted,
                input_tokens: call.input_tokens,
                output_tokens: call.output_tokens,
                service,
                error_draw: draws.uniform,
            },
        );
    }

    pub(super) fn start_next(&mut self, now: Time, ei: usize, q: &mut EventQueue<Event>) {
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
    pub(super) fn cancel(&mut self, now: Time, attempt: AttemptId, failed: bool, q: &mut EventQueue<Event>) {
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
    pub(super) fn finish_call(
        &mut self,
        now: Time,
        call: CallId,
        served: Option<(u8, u32)>,
        reason: Option<FailReason>,
        q: &mut EventQueue<Event>,
    ) {
        // Read in place, then discarded: the record is not copied out.
        let Some(info) = self.calls.get(call.0) else { return };
        let (agent, output_tokens) = (info.agent, info.output_tokens);
        let success = served.is_some();
        let observed = &info.observed;
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
                observed: *observed,
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
            .call_ended(observed, now, outcome, served.map(|s| s.1), &blame);
        self.calls.discard(call.0);
        self.live_calls -= 1;
        let Some(source) = self.tasks.source_of(agent) else {
            return;
        };
        let mut effects = std::mem::take(&mut self.effects);
        let src = &mut self.sources[source as usize];
        self.tasks
            .on_call_done(now, agent, success.then_some(output_tokens), src, &mut effects);
        self.apply(now, &mut effects, q);
        self.effects = effects;
    }
}
