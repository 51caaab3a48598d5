//! Replayed agent sessions in closed loop: a task that walks a recorded
//! session's graph ([`RecordedSession`]) instead of drawing a shape.
//!
//! A node starts once every node it waits for has ended; it first waits
//! out its delay (the recorded think time, tool gap or offset), then does
//! its work: a model call with its recorded tokens (submitted to the router
//! like any call, so it takes whatever time the simulated providers take),
//! a tool for its recorded duration, or nothing. Nodes whose delay is over
//! at the same instant start in node order. The task succeeds when its
//! last node ends, every call having succeeded, no tool having failed, and
//! before its deadline; its first failed call or failed tool fails it at
//! once, like any task (see [`super::task`]).
//!
//! Each node waiting or working holds an agent of the task table, so the
//! world routes its calls, tool ends and wake-ups back here as for any
//! task; the graph lives in a slab beside the tasks and goes with its task.

use std::collections::VecDeque;

use super::task::{AgentId, Effect, Role, Task, Tasks};
use super::trace::{RecordedSession, Work};
use crate::time::{Span, Time};

/// A replayed session in flight: its graph and how far it has got.
pub struct SessionRun {
    session: RecordedSession,
    /// Predecessors still to end, per node.
    pending: Vec<u32>,
    /// Nodes not yet ended.
    remaining: usize,
}

impl Tasks {
    /// A replayed session arrives at `now` for `source`; `deadline` is the
    /// workflow's task deadline, `seed` the task's draw seed (its calls'
    /// keys derive from it).
    pub fn start_session(
        &mut self,
        now: Time,
        source: u32,
        deadline: Option<Span>,
        seed: u64,
        session: RecordedSession,
        out: &mut Vec<Effect>,
    ) {
        let pending: Vec<u32> = session.nodes().iter().map(|n| n.preds).collect();
        let remaining = pending.len();
        let first: Vec<u32> = (0..pending.len() as u32)
            .filter(|&i| pending[i as usize] == 0)
            .collect();
        let run = self.runs.insert(SessionRun {
            session,
            pending,
            remaining,
        });
        let task = self.tasks.insert(Task {
            source,
            started: now,
            deadline: deadline.map(|d| now + d),
            live_agents: 0,
            ended: false,
            endpoint: None,
            run: Some(run),
            seed,
            spawned: 0,
        });
        let mut ready: VecDeque<u32> = first.into();
        self.start_nodes(now, task, &mut ready, out);
    }

    /// Starts the nodes in `ready`: those with a delay wait it out, the
    /// others do their work now (and pauses end at once, starting what
    /// waited for them).
    fn start_nodes(&mut self, now: Time, task: u32, ready: &mut VecDeque<u32>, out: &mut Vec<Effect>) {
        while let Some(node) = ready.pop_front() {
            let Some(n) = self.node(task, node) else { return };
            if n.delay > Span::ZERO {
                let agent = self.spawn_as(task, None, Role::Node(node), 0, node);
                out.push(Effect::Think { agent, after: n.delay });
                continue;
            }
            match n.work {
                Work::Call { .. } | Work::Tool { .. } => {
                    let agent = self.spawn_as(task, None, Role::Node(node), 0, node);
                    self.node_work(now, task, node, Some(agent), out);
                }
                Work::Pause => self.ended(now, task, node, ready, out),
            }
        }
    }

    /// Node `node` of `task` does its work, as `agent` (its delay is over).
    pub(super) fn node_work(&mut self, now: Time, task: u32, node: u32, agent: Option<AgentId>, out: &mut Vec<Effect>) {
        let Some(n) = self.node(task, node) else { return };
        let agent = match (n.work, agent) {
            (Work::Pause, agent) => {
                self.node_done(now, task, node, agent, out);
                return;
            }
            (_, Some(agent)) => agent,
            (_, None) => self.spawn_as(task, None, Role::Node(node), 0, node),
        };
        match n.work {
            Work::Call { input, output } => out.push(Effect::Call {
                agent,
                input_tokens: input,
                output_tokens: output,
                key: self.next_call_key(agent),
            }),
            Work::Tool { duration, .. } => out.push(Effect::Tool { agent, after: duration }),
            Work::Pause => {}
        }
    }

    /// Node `node`'s tool ended: a failed one fails the task.
    pub(super) fn node_tool_done(&mut self, now: Time, task: u32, node: u32, agent: AgentId, out: &mut Vec<Effect>) {
        if let Some(Work::Tool { failed: true, .. }) = self.node(task, node).map(|n| n.work) {
            self.fail(now, task, out);
            self.abandon(agent);
            return;
        }
        self.node_done(now, task, node, Some(agent), out);
    }

    /// Node `node` ended (its call succeeded, its tool did, or its pause
    /// is over): what waited for it may start; the task ends with its last
    /// node. `agent`, the node's, goes last, so the task outlives the step.
    pub(super) fn node_done(&mut self, now: Time, task: u32, node: u32, agent: Option<AgentId>, out: &mut Vec<Effect>) {
        let mut ready = VecDeque::new();
        self.ended(now, task, node, &mut ready, out);
        self.start_nodes(now, task, &mut ready, out);
        if let Some(agent) = agent {
            self.drop_agent(agent);
        }
    }

    /// Marks `node` ended, queues the nodes it releases, and ends the task
    /// with its last node.
    fn ended(&mut self, now: Time, task: u32, node: u32, ready: &mut VecDeque<u32>, out: &mut Vec<Effect>) {
        let Some(run) = self.tasks.get(task).and_then(|t| t.run) else {
            return;
        };
        let Some(r) = self.runs.get_mut(run) else { return };
        r.remaining = r.remaining.saturating_sub(1);
        for &next in r.session.successors(node) {
            let left = &mut r.pending[next as usize];
            *left = left.saturating_sub(1);
            if *left == 0 {
                ready.push_back(next);
            }
        }
        if r.remaining > 0 {
            return;
        }
        if let Some(t) = self.tasks.get_mut(task)
            && !t.ended
        {
            out.push(t.end(now));
        }
    }

    fn node(&self, task: u32, node: u32) -> Option<super::trace::Node> {
        let run = self.tasks.get(task)?.run?;
        self.runs.get(run)?.session.nodes().get(node as usize).copied()
    }
}
