//! Agent tasks: the state machine that turns a workflow's shape into model
//! calls, tool calls and think time, and decides when a task has succeeded
//! or failed.
//!
//! A task has a root agent. A *single* task is a root that makes one call. A
//! *chain* root runs `depth` steps: a model call whose input is the base
//! prompt plus the context grown so far (previous outputs and tool results,
//! capped), then, with the tool's probability, a tool call (which may fail)
//! and its follow-up interpretation calls, then think time. A *swarm* root
//! makes an orchestrator call, spawns `agents` sub-agents running the agent
//! step shape in parallel (each starting from the orchestrator's context),
//! waits for all of them, and ends with an aggregator call whose input holds
//! the orchestrator's output and the last output of every sub-agent.
//!
//! A task succeeds when every call it needed succeeded, no tool failed and it
//! ended before its deadline; its first failure ends it at once (calls still
//! in flight for it are then ignored).
//!
//! A *replayed* task walks a recorded session's graph instead of a shape
//! (see [`super::session`]).
//!
//! Every draw is keyed by identity, never taken from a shared stream in
//! the order events happen: task `i` of a workflow has the seed
//! `keyed_seed(work_seed, i)`, each of its agents the seed keyed by its
//! ordinal in the task (the root 0, a swarm's sub-agents 1, 2, … in spawn
//! order, a replayed session's node its index), and each agent draws what
//! one event needs (a call's tokens, a tool decision, a think time) from
//! the generator keyed by its count of such events. So the tasks made are
//! the same whatever the capacity, the routing or the order in which calls
//! complete. Each call also gets a *key*, keyed by its agent and its place
//! among the agent's calls: the identity its attempts' endpoint draws are
//! keyed by.
//!
//! This module decides; the world carries out the [`Effect`]s it returns.

use rand::RngExt;
use rand_distr::{Distribution, Exp1};

use super::session::SessionRun;
use super::workload::{Source, StepPlan, TaskPlan};
use crate::engine::{self, Keyed};
use crate::time::{Span, Time};

/// Separates a call's key from its agent's draw seeds.
const CALL_KEYS: u64 = 0x6a09_e667_f3bc_c909;

/// Index of an agent in the task table.
pub type AgentId = u32;

/// What the world must do next for a task.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Effect {
    /// Submit a model call for `agent`.
    Call {
        /// The agent.
        agent: AgentId,
        /// Prompt tokens, context included.
        input_tokens: u32,
        /// Output tokens.
        output_tokens: u32,
        /// The call's identity (its task, agent and place among the
        /// agent's calls), stable under any completion order: the key of
        /// its attempts' endpoint draws.
        key: u64,
    },
    /// Wake `agent` after its think time.
    Think {
        /// The agent.
        agent: AgentId,
        /// How long.
        after: Span,
    },
    /// Finish `agent`'s tool call after its duration.
    Tool {
        /// The agent.
        agent: AgentId,
        /// How long.
        after: Span,
    },
    /// A task ended.
    TaskEnded {
        /// Its source.
        source: u32,
        /// When it arrived.
        started: Time,
        /// Its end-to-end latency if it succeeded.
        latency: Option<Span>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Role {
    /// Runs chain steps.
    Worker,
    /// A swarm root making its orchestrator call.
    Orchestrator,
    /// A swarm root waiting for its sub-agents.
    Join,
    /// A swarm root making its aggregator call.
    Aggregator,
    /// A node of a replayed session's graph, waiting out its delay or doing
    /// its work.
    Node(u32),
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Agent {
    pub(super) task: u32,
    parent: Option<AgentId>,
    pub(super) role: Role,
    steps_left: u32,
    followups_left: u32,
    context: u32,
    waiting_for: u32,
    /// Output tokens of the agent's latest call (what a sub-agent hands back).
    last_output: u32,
    /// The agent's draw seed (its task's, keyed by its ordinal).
    seed: u64,
    /// Events that have drawn so far (the next one's key).
    events: u32,
    /// Calls made so far (the next call's place).
    calls: u32,
}

impl Agent {
    /// A new agent of `task` with its draw seed, having drawn nothing.
    fn new(task: u32, parent: Option<AgentId>, role: Role, steps: u32, context: u32, seed: u64) -> Agent {
        Agent {
            task,
            parent,
            role,
            steps_left: steps,
            followups_left: 0,
            context,
            waiting_for: 0,
            last_output: 0,
            seed,
            events: 0,
            calls: 0,
        }
    }

    /// The generator of the agent's next drawing event, counting it.
    fn draws(&mut self) -> Keyed {
        self.events += 1;
        engine::keyed(self.seed, u64::from(self.events - 1))
    }

    /// Counts a drawing event that draws nothing (a step without a tool
    /// still spends its tool decision's key), without making its generator.
    fn skip_draw(&mut self) {
        self.events += 1;
    }

    /// The key of the agent's next call, counting it as made.
    fn next_call_key(&mut self) -> u64 {
        self.calls += 1;
        engine::keyed_seed(self.seed ^ CALL_KEYS, u64::from(self.calls - 1))
    }
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Task {
    pub(super) source: u32,
    pub(super) started: Time,
    pub(super) deadline: Option<Time>,
    pub(super) live_agents: u32,
    pub(super) ended: bool,
    pub(super) endpoint: Option<u32>,
    /// The replayed session it walks, if it is one.
    pub(super) run: Option<u32>,
    /// The task's draw seed.
    pub(super) seed: u64,
    /// Agents spawned so far (the next one's ordinal).
    pub(super) spawned: u32,
}

impl Task {
    /// Marks the task ended at `now` and reports it: with its latency when
    /// it made its deadline (or has none), as a failure otherwise.
    pub(super) fn end(&mut self, now: Time) -> Effect {
        self.ended = true;
        let on_time = self.deadline.is_none_or(|d| now <= d);
        Effect::TaskEnded {
            source: self.source,
            started: self.started,
            latency: on_time.then(|| now - self.started),
        }
    }
}

/// A slab: dense slots reused through a free list, so memory follows the
/// number of live entries, not the number ever created.
pub(super) struct Slab<T> {
    slots: Vec<Option<T>>,
    free: Vec<u32>,
}

impl<T> Slab<T> {
    pub(super) fn new() -> Self {
        Slab {
            slots: Vec::new(),
            free: Vec::new(),
        }
    }
    pub(super) fn insert(&mut self, value: T) -> u32 {
        match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some(value);
                i
            }
            None => {
                self.slots.push(Some(value));
                (self.slots.len() - 1) as u32
            }
        }
    }
    pub(super) fn get(&self, i: u32) -> Option<&T> {
        self.slots.get(i as usize)?.as_ref()
    }
    pub(super) fn get_mut(&mut self, i: u32) -> Option<&mut T> {
        self.slots.get_mut(i as usize)?.as_mut()
    }
    pub(super) fn remove(&mut self, i: u32) -> Option<T> {
        let v = self.slots.get_mut(i as usize)?.take();
        if v.is_some() {
            self.free.push(i);
        }
        v
    }
    fn capacity(&self) -> usize {
        self.slots.len()
    }
}

/// Every task and agent in flight.
pub struct Tasks {
    pub(super) tasks: Slab<Task>,
    pub(super) agents: Slab<Agent>,
    /// The graphs of replayed sessions in flight.
    pub(super) runs: Slab<SessionRun>,
}

impl Default for Tasks {
    fn default() -> Self {
        Self::new()
    }
}

impl Tasks {
    /// No task yet.
    pub fn new() -> Tasks {
        Tasks {
            tasks: Slab::new(),
            agents: Slab::new(),
            runs: Slab::new(),
        }
    }

    /// Slots allocated for tasks (the memory high-water mark).
    pub fn capacity(&self) -> usize {
        self.tasks.capacity()
    }

    /// The tasks still running (not ended): (source, arrival), in slot order.
    pub fn unfinished(&self) -> impl Iterator<Item = (u32, Time)> + '_ {
        self.tasks
            .slots
            .iter()
            .flatten()
            .filter(|t| !t.ended)
            .map(|t| (t.source, t.started))
    }

    /// The source of `agent`'s task, if it is live.
    pub fn source_of(&self, agent: AgentId) -> Option<u32> {
        let a = self.agents.get(agent)?;
        Some(self.tasks.get(a.task)?.source)
    }

    /// The slot of `agent`'s task in the task table, if it is live (slots
    /// are reused once a task is gone).
    pub fn task_of(&self, agent: AgentId) -> Option<u32> {
        let a = self.agents.get(agent)?;
        self.tasks.get(a.task).map(|_| a.task)
    }

    /// The task's deadline, if any.
    pub fn deadline_of(&self, agent: AgentId) -> Option<Time> {
        let a = self.agents.get(agent)?;
        self.tasks.get(a.task)?.deadline
    }

    /// The endpoint `agent`'s task last dispatched a call to (its session),
    /// if it is live and has dispatched one.
    pub fn endpoint_of(&self, agent: AgentId) -> Option<u32> {
        let a = self.agents.get(agent)?;
        self.tasks.get(a.task)?.endpoint
    }

    /// Records that `agent`'s call was dispatched to `endpoint`; returns
    /// whether the task switched endpoint mid-task (a session migration).
    pub fn note_endpoint(&mut self, agent: AgentId, endpoint: u32) -> bool {
        let Some(task) = self.agents.get(agent).map(|a| a.task) else {
            return false;
        };
        let Some(t) = self.tasks.get_mut(task) else {
            return false;
        };
        let switched = t.endpoint.is_some_and(|e| e != endpoint);
        t.endpoint = Some(endpoint);
        switched
    }

    /// What a call of `agent` is submitted with: its task's source, deadline
    /// and last endpoint (its session), if the agent is live. One lookup
    /// for the three (every call asks).
    pub fn call_context(&self, agent: AgentId) -> Option<(u32, Option<Time>, Option<u32>)> {
        let a = self.agents.get(agent)?;
        let t = self.tasks.get(a.task)?;
        Some((t.source, t.deadline, t.endpoint))
    }

    /// The context `agent` has accumulated, in tokens.
    pub fn context_of(&self, agent: AgentId) -> u32 {
        self.agents.get(agent).map_or(0, |a| a.context)
    }

    /// A new task from `source` arrives at `now`; `first` fixes the (input,
    /// output) tokens of its first call (trace replay).
    pub fn start(
        &mut self,
        now: Time,
        source: u32,
        src: &mut Source,
        first: Option<(u32, u32)>,
        out: &mut Vec<Effect>,
    ) {
        let deadline = src.plan.deadline.map(|d| now + d);
        let seed = src.next_task_seed();
        // The task is created with its root, its first agent (ordinal 0),
        // already counted: what `spawn_as` would do, without looking the
        // new task up again.
        let task = self.tasks.insert(Task {
            source,
            started: now,
            deadline,
            live_agents: 1,
            ended: false,
            endpoint: None,
            run: None,
            seed,
            spawned: 1,
        });
        let (role, steps) = match &src.plan.shape {
            TaskPlan::Single => (Role::Worker, 1),
            TaskPlan::Chain(_) => (Role::Worker, 0),
            TaskPlan::Swarm { .. } => (Role::Orchestrator, 0),
        };
        let mut root = Agent::new(task, None, role, steps, 0, engine::keyed_seed(seed, 0));
        if let TaskPlan::Chain(step) = &src.plan.shape {
            root.steps_left = step.depth.sample(&mut root.draws()).max(1);
        }
        let root = self.agents.insert(root);
        self.call(root, src, out);
        if let (
            Some((input, output)),
            Some(Effect::Call {
                input_tokens,
                output_tokens,
                ..
            }),
        ) = (first, out.last_mut())
        {
            *input_tokens = input;
            *output_tokens = output;
        }
    }

    /// Spawns the task's next agent (its ordinal: how many it spawned).
    pub(super) fn spawn(&mut self, task: u32, parent: Option<AgentId>, role: Role, steps: u32) -> AgentId {
        let ordinal = self.tasks.get(task).map_or(0, |t| t.spawned);
        self.spawn_as(task, parent, role, steps, ordinal)
    }

    /// Spawns an agent of `task` with the given ordinal (a replayed
    /// session's node: its index, whatever the order nodes start in).
    pub(super) fn spawn_as(
        &mut self,
        task: u32,
        parent: Option<AgentId>,
        role: Role,
        steps: u32,
        ordinal: u32,
    ) -> AgentId {
        let context = parent.and_then(|p| self.agents.get(p)).map_or(0, |p| p.context);
        let mut seed = 0;
        if let Some(t) = self.tasks.get_mut(task) {
            t.live_agents += 1;
            t.spawned = t.spawned.max(ordinal.saturating_add(1));
            seed = engine::keyed_seed(t.seed, u64::from(ordinal));
        }
        self.agents.insert(Agent::new(task, parent, role, steps, context, seed))
    }

    /// The key of `agent`'s next call, counting it as made.
    pub(super) fn next_call_key(&mut self, agent: AgentId) -> u64 {
        self.agents.get_mut(agent).map_or(0, Agent::next_call_key)
    }

    fn step_plan(src: &Source, role: Role, is_root: bool) -> Option<&StepPlan> {
        match (&src.plan.shape, role, is_root) {
            (TaskPlan::Chain(step), Role::Worker, true) => Some(step),
            (TaskPlan::Swarm { agent, .. }, Role::Worker, false) => Some(agent),
            _ => None,
        }
    }

    fn call(&mut self, agent: AgentId, src: &Source, out: &mut Vec<Effect>) {
        let Some(a) = self.agents.get_mut(agent) else {
            return;
        };
        let mut rng = a.draws();
        let key = a.next_call_key();
        let context = a.context;
        let base = src.plan.input.sample(&mut rng);
        let output_tokens = src.plan.output.sample(&mut rng);
        let input_tokens = base.saturating_add(context).min(src.plan.input_cap);
        out.push(Effect::Call {
            agent,
            input_tokens,
            output_tokens,
            key,
        });
    }

    /// `agent`'s model call ended: `output_tokens` produced if it succeeded.
    pub fn on_call_done(
        &mut self,
        now: Time,
        agent: AgentId,
        success: Option<u32>,
        src: &mut Source,
        out: &mut Vec<Effect>,
    ) {
        let Some(a) = self.agents.get(agent).copied() else {
            return;
        };
        if self.tasks.get(a.task).is_none_or(|t| t.ended) {
            self.abandon(agent);
            return;
        }
        let Some(output) = success else {
            self.fail(now, a.task, out);
            self.abandon(agent);
            return;
        };
        if let Role::Node(node) = a.role {
            self.node_done(now, a.task, node, Some(agent), out);
            return;
        }
        // The plan is read in place: `src` is not the task table's, so
        // nothing of it needs copying out.
        let src: &Source = src;
        let plan = Self::step_plan(src, a.role, a.parent.is_none());
        // Context grows by each output: a worker's under its own step plan,
        // a swarm root's (orchestrator, aggregator) under the agents' plan.
        let growth = match (plan, &src.plan.shape) {
            (Some(step), _) => Some(step),
            (None, TaskPlan::Swarm { agent: step, .. }) => Some(step),
            _ => None,
        };
        let Some(ag) = self.agents.get_mut(agent) else { return };
        ag.last_output = output;
        if let Some(step) = growth.filter(|s| s.grow_context) {
            ag.context = ag.context.saturating_add(output).min(step.max_context);
        }
        match a.role {
            Role::Orchestrator => {
                let TaskPlan::Swarm {
                    agents, agent: step, ..
                } = &src.plan.shape
                else {
                    return;
                };
                let mut rng = ag.draws();
                let n = agents.sample(&mut rng).max(1);
                ag.role = Role::Join;
                ag.waiting_for = n;
                for _ in 0..n {
                    let depth = step.depth.sample(&mut rng).max(1);
                    let child = self.spawn(a.task, Some(agent), Role::Worker, depth);
                    self.call(child, src, out);
                }
            }
            Role::Aggregator => self.finish_agent(now, agent, src, out),
            Role::Join | Role::Node(_) => {}
            Role::Worker => {
                if a.followups_left > 0 {
                    ag.followups_left -= 1;
                    if a.followups_left > 1 {
                        self.call(agent, src, out);
                    } else {
                        self.step_done(now, agent, plan, src, out);
                    }
                    return;
                }
                // The tool decision is a drawing event even when the step
                // has no tool (its key is spent either way); only a step
                // with a tool needs its generator.
                let tool = match plan.and_then(|p| p.tool.as_ref()) {
                    Some(tool) => {
                        let mut rng = ag.draws();
                        (rng.random::<f64>() < tool.probability).then(|| exp_span(tool.duration, &mut rng))
                    }
                    None => {
                        ag.skip_draw();
                        None
                    }
                };
                match tool {
                    Some(after) => out.push(Effect::Tool { agent, after }),
                    None => self.step_done(now, agent, plan, src, out),
                }
            }
        }
    }

    /// `agent`'s tool call finished.
    pub fn on_tool_done(&mut self, now: Time, agent: AgentId, src: &mut Source, out: &mut Vec<Effect>) {
        let Some(a) = self.agents.get(agent).copied() else {
            return;
        };
        if self.tasks.get(a.task).is_none_or(|t| t.ended) {
            self.abandon(agent);
            return;
        }
        if let Role::Node(node) = a.role {
            self.node_tool_done(now, a.task, node, agent, out);
            return;
        }
        let src: &Source = src;
        let Some(plan) = Self::step_plan(src, a.role, a.parent.is_none()) else {
            return;
        };
        let Some(tool) = &plan.tool else {
            return;
        };
        let Some(ag) = self.agents.get_mut(agent) else { return };
        if ag.draws().random::<f64>() < tool.failure_probability {
            self.fail(now, a.task, out);
            self.abandon(agent);
            return;
        }
        if plan.grow_context {
            ag.context = ag.context.saturating_add(tool.result_tokens).min(plan.max_context);
        }
        ag.followups_left = tool.followups;
        if tool.followups > 0 {
            self.call(agent, src, out);
        } else {
            self.step_done(now, agent, Some(plan), src, out);
        }
    }

    /// `agent`'s think time is over: its next step starts.
    pub fn on_think_done(&mut self, now: Time, agent: AgentId, src: &mut Source, out: &mut Vec<Effect>) {
        let Some(a) = self.agents.get(agent).copied() else {
            return;
        };
        if self.tasks.get(a.task).is_none_or(|t| t.ended) {
            self.abandon(agent);
            return;
        }
        if let Role::Node(node) = a.role {
            self.node_work(now, a.task, node, Some(agent), out);
            return;
        }
        self.call(agent, src, out);
    }

    fn step_done(&mut self, now: Time, agent: AgentId, plan: Option<&StepPlan>, src: &Source, out: &mut Vec<Effect>) {
        let Some(a) = self.agents.get_mut(agent) else { return };
        a.steps_left = a.steps_left.saturating_sub(1);
        if a.steps_left == 0 {
            self.finish_agent(now, agent, src, out);
            return;
        }
        match plan.map(|p| p.think).filter(|t| *t > Span::ZERO) {
            Some(think) => {
                let after = exp_span(think, &mut a.draws());
                out.push(Effect::Think { agent, after });
            }
            None => self.call(agent, src, out),
        }
    }

    fn finish_agent(&mut self, now: Time, agent: AgentId, src: &Source, out: &mut Vec<Effect>) {
        let Some(a) = self.agents.get(agent).copied() else {
            return;
        };
        match a.parent {
            Some(parent) => {
                self.drop_agent(agent);
                let cap = match &src.plan.shape {
                    TaskPlan::Swarm { agent: step, .. } if step.grow_context => Some(step.max_context),
                    _ => None,
                };
                let Some(p) = self.agents.get_mut(parent) else { return };
                // The aggregator reads what every sub-agent handed back.
                if let Some(cap) = cap {
                    p.context = p.context.saturating_add(a.last_output).min(cap);
                }
                p.waiting_for = p.waiting_for.saturating_sub(1);
                if p.waiting_for == 0 {
                    let aggregate = matches!(src.plan.shape, TaskPlan::Swarm { aggregator: true, .. });
                    if aggregate {
                        p.role = Role::Aggregator;
                        self.call(parent, src, out);
                    } else {
                        self.finish_agent(now, parent, src, out);
                    }
                }
            }
            None => {
                // The root ends its task: one lookup of the task both ends
                // it and drops the root (as `drop_agent` would).
                self.agents.remove(agent);
                let Some(t) = self.tasks.get_mut(a.task) else { return };
                out.push(t.end(now));
                t.live_agents = t.live_agents.saturating_sub(1);
                if t.live_agents == 0 {
                    self.remove_task(a.task);
                }
            }
        }
    }

    pub(super) fn fail(&mut self, _now: Time, task: u32, out: &mut Vec<Effect>) {
        let Some(t) = self.tasks.get_mut(task) else { return };
        if !t.ended {
            t.ended = true;
            out.push(Effect::TaskEnded {
                source: t.source,
                started: t.started,
                latency: None,
            });
        }
    }

    /// Drops an agent of an ended task; a swarm root waiting only for it
    /// goes too, so nothing of a failed task outlives its last call.
    pub(super) fn abandon(&mut self, agent: AgentId) {
        let parent = self.agents.get(agent).and_then(|a| a.parent);
        self.drop_agent(agent);
        if let Some(p) = parent
            && let Some(pa) = self.agents.get_mut(p)
        {
            pa.waiting_for = pa.waiting_for.saturating_sub(1);
            if pa.waiting_for == 0 && pa.role == Role::Join {
                self.abandon(p);
            }
        }
    }

    pub(super) fn drop_agent(&mut self, agent: AgentId) {
        let Some(a) = self.agents.remove(agent) else { return };
        let Some(t) = self.tasks.get_mut(a.task) else { return };
        t.live_agents = t.live_agents.saturating_sub(1);
        if t.live_agents == 0 {
            // A failed swarm may still have sub-agents; the task lives until the last goes.
            self.remove_task(a.task);
        }
    }

    /// Removes a task whose last agent has gone, with its session's graph.
    fn remove_task(&mut self, task: u32) {
        if let Some(run) = self.tasks.remove(task).and_then(|t| t.run) {
            self.runs.remove(run);
        }
    }
}

fn exp_span<R: rand::Rng + ?Sized>(mean: Span, rng: &mut R) -> Span {
    if mean == Span::ZERO {
        return Span::ZERO;
    }
    // `Exp1` is `Exp::new(1.0)` without its construction: the same value.
    let x: f64 = Exp1.sample(rng);
    Span::from_nanos((mean.as_nanos() as f64 * x) as u64)
}
