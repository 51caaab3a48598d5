//! [`RecordedSession`]: one recorded agent session compiled into the graph
//! a closed-loop replay walks: which step waits for which, how long after,
//! and what each step does (a model call, a tool, a pause).
//!
//! # From recorded steps to a graph
//!
//! A format reader turns a session into [`Step`]s: model calls (with their
//! tokens), tools (with their failure) and agent runs, each with its
//! recorded start and end, and optionally a parent (the agent run or tool
//! it ran under) and an explicit predecessor (`after`, e.g. the model call
//! that asked for a tool batch).
//!
//! - **Scopes.** A step whose parent is an agent run or a tool of the same
//!   session runs inside it; every other step runs in the session itself.
//! - **Order inside a scope.** A step waits for every sibling that had
//!   *ended* by the time it *started* in the recording, through the latest
//!   such siblings only: a sibling already followed by a finished one is
//!   waited for through it. Siblings that overlapped in the recording do not
//!   wait for each other: they stay parallel, and whatever started after
//!   all of them ended joins them. `after` adds its step to the wait when it
//!   is a sibling that started earlier; otherwise it is ignored.
//! - **Gaps.** A step that waits starts the recorded gap after the latest
//!   recorded end among what it waits for (think time, a user's idle time);
//!   a step that waits for nothing starts its recorded offset after its
//!   scope's start (the session's first step, for the session itself).
//!   Negative gaps (a step recorded as starting before what it waits for
//!   ended, possible only through `after` or a child starting before its
//!   parent) count as zero.
//! - **Scopes end** when all their steps have ended, plus the recorded time
//!   between the last of them ending and the scope's own recorded end. A
//!   tool without steps inside lasts its recorded duration; a failed tool
//!   fails the task when it ends.
//!
//! Against latencies equal to the recorded ones, every step therefore
//! starts and ends at its recorded offset from the session's start (gaps
//! clamped at zero excepted): the replay reproduces the recording.
//!
//! Sessions without a model call are not replayed (the compiler returns
//! `None`).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use super::TraceError;
use crate::time::Span;

/// What a recorded step was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepKind {
    /// A model call with its recorded tokens.
    Call {
        /// Prompt tokens.
        input: u32,
        /// Generated tokens.
        output: u32,
    },
    /// A tool (or a batch of tools run together).
    Tool {
        /// Whether it failed.
        failed: bool,
    },
    /// An agent run: a scope for the steps under it.
    Agent,
}

/// One recorded step of a session, in the trace's own clock (nanoseconds
/// from any origin).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// What it was.
    pub kind: StepKind,
    /// When it started.
    pub start: i128,
    /// When it ended (no earlier than `start`).
    pub end: i128,
    /// Its own id (a span id, a message id), if the format has one.
    pub id: Option<String>,
    /// The id of the agent run or tool it ran under.
    pub parent: Option<String>,
    /// The id of a step it explicitly followed (a tool batch's request).
    pub after: Option<String>,
    /// The tenant, if the record names one.
    pub tenant: Option<String>,
    /// The workflow, if the record names one.
    pub workflow: Option<String>,
    /// The 1-based line it was read from.
    pub line: u64,
}

/// What a node of the replay graph does once its delay is over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Work {
    /// Submit a model call with these tokens.
    Call {
        /// Prompt tokens.
        input: u32,
        /// Generated tokens.
        output: u32,
    },
    /// Run a tool for `duration`; a failed one fails the task.
    Tool {
        /// How long it runs.
        duration: Span,
        /// Whether it fails.
        failed: bool,
    },
    /// Nothing more: the node ends when its delay does (a scope's start, an
    /// agent run's end).
    Pause,
}

/// One node of the replay graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Node {
    /// How long after its last predecessor ended (or after the session
    /// started, for a node without predecessors) its work starts.
    pub delay: Span,
    /// Its work.
    pub work: Work,
    /// How many nodes it waits for.
    pub preds: u32,
}

/// A recorded session compiled for closed-loop replay: nodes (model calls,
/// tools, pauses) and who waits for whom.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedSession {
    /// The session's (or task's) id as the trace writes it.
    pub id: String,
    /// The tenant of its earliest step that names one.
    pub tenant: Option<String>,
    /// The workflow of its earliest step that names one.
    pub workflow: Option<String>,
    /// Its earliest step's start, in the trace's own clock.
    pub start: i128,
    /// The line of its first step in the file.
    pub line: u64,
    nodes: Vec<Node>,
    /// Successors of node `i`: `succ[succ_at[i]..succ_at[i + 1]]`.
    succ_at: Vec<u32>,
    succ: Vec<u32>,
}

impl RecordedSession {
    /// The nodes, in an order where every node comes after those it waits
    /// for.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The nodes waiting for node `i`, in increasing order.
    pub fn successors(&self, i: u32) -> &[u32] {
        let i = i as usize;
        match (self.succ_at.get(i), self.succ_at.get(i + 1)) {
            (Some(&a), Some(&b)) => &self.succ[a as usize..b as usize],
            _ => &[],
        }
    }

    /// Model calls in the session.
    pub fn calls(&self) -> usize {
        self.nodes
            .iter()
            .filter(|n| matches!(n.work, Work::Call { .. }))
            .count()
    }
}

/// Deepest nesting of agent runs and tools a session may have.
const MAX_DEPTH: usize = 64;

/// The scope of the session itself.
const ROOT: usize = usize::MAX;

/// Compiles one session's steps (in file order) into its replay graph;
/// `None` when it holds no model call. `file` and `id_field` name the file
/// and the field holding step ids, for errors.
pub(super) fn compile(
    file: &str,
    id: String,
    mut steps: Vec<Step>,
    id_field: &str,
    parent_field: &str,
) -> Result<Option<RecordedSession>, TraceError> {
    if !steps.iter().any(|s| matches!(s.kind, StepKind::Call { .. })) {
        return Ok(None);
    }
    let line = steps.iter().map(|s| s.line).min().unwrap_or(0);
    // Start order; ties keep file order (the sort is stable).
    steps.sort_by_key(|s| s.start);
    let n = steps.len();
    let mut by_id: HashMap<&str, usize> = HashMap::new();
    for (i, s) in steps.iter().enumerate() {
        if let Some(sid) = s.id.as_deref()
            && let Some(&j) = by_id.get(sid)
        {
            let (a, b) = (steps[j].line.min(s.line), steps[j].line.max(s.line));
            return Err(TraceError::Field {
                file: file.into(),
                line: b,
                field: id_field.into(),
                expected: format!("an id used once in session {id:?}"),
                got: format!("{sid:?}, already used on line {a}"),
            });
        }
        if let Some(sid) = s.id.as_deref() {
            by_id.insert(sid, i);
        }
    }
    let scope: Vec<usize> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| match s.parent.as_deref().and_then(|p| by_id.get(p)) {
            Some(&p) if p != i && !matches!(steps[p].kind, StepKind::Call { .. }) => p,
            _ => ROOT,
        })
        .collect();
    for (i, s) in steps.iter().enumerate() {
        let (mut at, mut depth) = (scope[i], 0);
        while at != ROOT {
            depth += 1;
            if depth > MAX_DEPTH.min(n) {
                return Err(TraceError::Field {
                    file: file.into(),
                    line: s.line,
                    field: parent_field.into(),
                    expected: format!("agent runs and tools nested at most {MAX_DEPTH} deep, without cycles"),
                    got: format!("{:?}", s.parent.as_deref().unwrap_or_default()),
                });
            }
            at = scope[at];
        }
    }
    let mut children: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, &s) in scope.iter().enumerate() {
        children.entry(s).or_default().push(i);
    }
    // Who waits for whom, scope by scope.
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut followed = vec![false; n];
    for kids in children.values() {
        wait_order(&steps, kids, &scope, &by_id, &mut preds, &mut followed);
    }
    let mut graph = Graph::default();
    let mut exits = vec![u32::MAX; n];
    let root_kids = children.get(&ROOT).cloned().unwrap_or_default();
    let start = steps.first().map_or(0, |s| s.start);
    graph.scope(
        &steps, &children, &preds, &followed, &root_kids, start, None, &mut exits,
    );
    let tenant = steps.iter().find_map(|s| s.tenant.clone());
    let workflow = steps.iter().find_map(|s| s.workflow.clone());
    Ok(Some(graph.finish(id, tenant, workflow, start, line)))
}

/// Sets `preds` of the siblings `kids` (in start order): each waits for the
/// latest siblings that had ended when it started, plus its `after` step.
fn wait_order(
    steps: &[Step],
    kids: &[usize],
    scope: &[usize],
    by_id: &HashMap<&str, usize>,
    preds: &mut [Vec<usize>],
    followed: &mut [bool],
) {
    let mut running: BinaryHeap<Reverse<(i128, usize)>> = BinaryHeap::new();
    let mut frontier: Vec<usize> = Vec::new();
    let mut in_frontier: HashMap<usize, bool> = HashMap::new();
    for &c in kids {
        while let Some(&Reverse((end, x))) = running.peek() {
            if end > steps[c].start {
                break;
            }
            running.pop();
            for p in &preds[x] {
                in_frontier.insert(*p, false);
            }
            in_frontier.insert(x, true);
            frontier.push(x);
        }
        frontier.retain(|f| in_frontier.get(f).copied().unwrap_or(false));
        let mut wait = frontier.clone();
        if let Some(&a) = steps[c].after.as_deref().and_then(|a| by_id.get(a))
            && a < c
            && scope[a] == scope[c]
            && !wait.contains(&a)
        {
            wait.push(a);
        }
        wait.sort_unstable();
        for &p in &wait {
            followed[p] = true;
        }
        preds[c] = wait;
        running.push(Reverse((steps[c].end, c)));
    }
}

/// The graph being built.
#[derive(Default)]
struct Graph {
    nodes: Vec<Node>,
    edges: Vec<(u32, u32)>,
}

impl Graph {
    fn node(&mut self, delay: Span, work: Work) -> u32 {
        self.nodes.push(Node { delay, work, preds: 0 });
        (self.nodes.len() - 1) as u32
    }

    fn edge(&mut self, from: u32, to: u32) {
        self.edges.push((from, to));
        self.nodes[to as usize].preds += 1;
    }

    /// Adds the nodes of the steps `kids` of one scope, which starts at
    /// `scope_start` (recorded) and is entered through `entry` (none: the
    /// session itself); records each step's exit node in `exits`.
    #[allow(clippy::too_many_arguments)]
    fn scope(
        &mut self,
        steps: &[Step],
        children: &HashMap<usize, Vec<usize>>,
        preds: &[Vec<usize>],
        followed: &[bool],
        kids: &[usize],
        scope_start: i128,
        entry: Option<u32>,
        exits: &mut [u32],
    ) {
        for &c in kids {
            let s = &steps[c];
            let since = preds[c].iter().map(|&p| steps[p].end).max().unwrap_or(scope_start);
            let delay = span(s.start - since);
            let inner = children.get(&c).map(Vec::as_slice).unwrap_or_default();
            let first = match (s.kind, inner.is_empty()) {
                (StepKind::Call { input, output }, _) => self.node(delay, Work::Call { input, output }),
                (StepKind::Tool { failed }, true) => self.node(
                    delay,
                    Work::Tool {
                        duration: span(s.end - s.start),
                        failed,
                    },
                ),
                (StepKind::Agent, true) => {
                    // An agent run with nothing under it: a pause of its length.
                    let start = self.node(delay, Work::Pause);
                    let end = self.node(span(s.end - s.start), Work::Pause);
                    self.edge(start, end);
                    exits[c] = end;
                    start
                }
                (_, false) => self.node(delay, Work::Pause),
            };
            if exits[c] == u32::MAX {
                exits[c] = first;
            }
            match (preds[c].is_empty(), entry) {
                (true, Some(e)) => self.edge(e, first),
                (true, None) => {}
                (false, _) => {
                    for &p in &preds[c] {
                        self.edge(exits[p], first);
                    }
                }
            }
            if !inner.is_empty() {
                self.scope(steps, children, preds, followed, inner, s.start, Some(first), exits);
                let last_end = inner.iter().map(|&k| steps[k].end).max().unwrap_or(s.start);
                let tail = span(s.end - last_end);
                let end = match s.kind {
                    StepKind::Tool { failed } => self.node(Span::ZERO, Work::Tool { duration: tail, failed }),
                    _ => self.node(tail, Work::Pause),
                };
                for &k in inner.iter().filter(|&&k| !followed[k]) {
                    self.edge(exits[k], end);
                }
                exits[c] = end;
            }
        }
    }

    fn finish(
        self,
        id: String,
        tenant: Option<String>,
        workflow: Option<String>,
        start: i128,
        line: u64,
    ) -> RecordedSession {
        let mut edges = self.edges;
        edges.sort_unstable();
        edges.dedup();
        let mut nodes = self.nodes;
        for n in &mut nodes {
            n.preds = 0;
        }
        let mut succ_at = vec![0u32; nodes.len() + 1];
        for &(from, to) in &edges {
            succ_at[from as usize + 1] += 1;
            nodes[to as usize].preds += 1;
        }
        for i in 0..nodes.len() {
            succ_at[i + 1] += succ_at[i];
        }
        RecordedSession {
            id,
            tenant,
            workflow,
            start,
            line,
            nodes,
            succ_at,
            succ: edges.iter().map(|&(_, to)| to).collect(),
        }
    }
}

/// A non-negative recorded difference as a span (negative: zero).
fn span(nanos: i128) -> Span {
    Span::from_nanos(u64::try_from(nanos.max(0)).unwrap_or(u64::MAX))
}
