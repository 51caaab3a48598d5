//! The task layer's side of the world: tasks and sessions started, and
//! their effects (calls submitted to the router, think and tool times,
//! tasks ended) carried out.

use super::{CallInfo, CallRecord, Event, TaskRecord, World};
use crate::engine::EventQueue;
use crate::model::task::Effect;
use crate::model::trace::RecordedSession;
use crate::observe::ObservedCall;
use crate::policy::{CallRequest, EndpointId};
use crate::time::Time;

impl World {
    pub(super) fn start_task(&mut self, now: Time, source: u32, q: &mut EventQueue<Event>) {
        self.start_task_with(now, source, None, q);
    }

    /// Starts a task whose first call has the given (input, output) tokens.
    pub(super) fn start_task_with(
        &mut self,
        now: Time,
        source: u32,
        first: Option<(u32, u32)>,
        q: &mut EventQueue<Event>,
    ) {
        self.stats.tasks += 1;
        let mut effects = std::mem::take(&mut self.effects);
        self.tasks
            .start(now, source, &mut self.sources[source as usize], first, &mut effects);
        self.apply(now, &mut effects, q);
        self.effects = effects;
    }

    /// Starts the replay of a recorded session from `source` at `now`.
    pub(super) fn start_session(
        &mut self,
        now: Time,
        source: u32,
        session: RecordedSession,
        q: &mut EventQueue<Event>,
    ) {
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
    pub(super) fn apply(&mut self, now: Time, effects: &mut Vec<Effect>, q: &mut EventQueue<Event>) {
        for effect in effects.drain(..) {
            match effect {
                Effect::Call {
                    agent,
                    input_tokens,
                    output_tokens,
                    key,
                } => {
                    let Some((source, deadline, endpoint)) = self.tasks.call_context(agent) else {
                        continue;
                    };
                    let src = &self.sources[source as usize];
                    let (tenant, workflow) = (src.tenant, src.workflow);
                    let request = CallRequest {
                        tenant,
                        workflow,
                        input_tokens,
                        output_tokens,
                        deadline,
                        affinity: endpoint.map(EndpointId),
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
}
