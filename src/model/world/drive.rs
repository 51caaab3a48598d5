//! The world as the engine's `Model`: each event handled, then
//! everything the router decided carried out and its wake-up re-armed.

use super::calls::AttemptOf;
use super::{EndpointBlame, Event, World, transit};
use crate::engine::{EventQueue, Model};
use crate::policy::{Action, Outcome};
use crate::time::Time;

impl World {
    /// Carries out everything the router decided, then re-arms its wake-up.
    /// Dispatches emitted together reach their endpoints in random order
    /// (see `transit`); actions that carrying out one of them brings
    /// follow, as before, after those already emitted.
    pub(super) fn drain_router(&mut self, now: Time, q: &mut EventQueue<Event>) {
        while let Some(first) = self.router.poll_action() {
            let Some(second) = self.router.poll_action() else {
                // A batch of one, the usual case: nothing to reorder, so
                // it is carried out without the buffer.
                self.carry_out(now, first, q);
                continue;
            };
            let mut actions = std::mem::take(&mut self.actions);
            actions.push(first);
            actions.push(second);
            actions.extend(std::iter::from_fn(|| self.router.poll_action()));
            transit::shuffle_dispatch_runs(&mut actions, &mut self.transit);
            for action in actions.drain(..) {
                self.carry_out(now, action, q);
            }
            self.actions = actions;
        }
        self.drain_events_and_wake(q);
    }

    /// Carries out one action of the router.
    pub(super) fn carry_out(&mut self, now: Time, action: Action, q: &mut EventQueue<Event>) {
        match action {
            Action::Dispatch {
                call,
                attempt,
                endpoint,
                ..
            } => {
                // One lookup of the call for the whole dispatch: the
                // observers time it, it counts the attempt, and the attempt
                // copies what it needs.
                let Some(info) = self.calls.get_mut(call.0) else { return };
                self.observer
                    .dispatched(&mut info.observed, now, endpoint.0, &EndpointBlame(&self.endpoints));
                let mut of = AttemptOf {
                    call: call.0,
                    key: info.key,
                    number: info.attempts,
                    tenant: info.observed.tenant,
                    workflow: info.observed.workflow,
                    submitted: info.observed.submitted,
                    input_tokens: info.input_tokens,
                    output_tokens: info.output_tokens,
                };
                info.attempts += 1;
                let agent = info.agent;
                // A session switching endpoint mid-task carries its
                // context over: extra input tokens on this attempt.
                if self.tasks.note_endpoint(agent, endpoint.0) {
                    self.stats.migrations += 1;
                    let source = self.tasks.source_of(agent).unwrap_or(0) as usize;
                    let extra = self.migration.get(source).copied().unwrap_or(0);
                    of.input_tokens = of.input_tokens.saturating_add(extra);
                }
                self.dispatch(now, attempt, endpoint, of, q);
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
    pub(super) fn drain_events_and_wake(&mut self, q: &mut EventQueue<Event>) {
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
                // Read in place, then discarded: the record is not copied out.
                let mut error = false;
                if let Some(a) = self.attempts.get(attempt.0) {
                    error = self.endpoints[ei].draw_error(now, a.error_draw);
                    let (call, on) = (a.call, a.endpoint);
                    if error {
                        self.attempts.discard(attempt.0);
                        self.attempt_failed(now, call, on);
                    } else {
                        let usd = self.endpoints[ei].cost(a.input_tokens, a.output_tokens);
                        self.observer.cost(a.tenant, a.workflow, a.submitted, usd);
                        let first_token = a.service.map_or(now, |s| s.first_token);
                        self.attempts.discard(attempt.0);
                        if let Some(info) = self.calls.get_mut(call) {
                            info.observed.served_first_token(first_token);
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
