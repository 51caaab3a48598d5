//! The world's events: what the engine's queue holds.

use crate::model::task::AgentId;
use crate::policy::{AttemptId, Outcome};

/// What happens next in the world.
#[derive(Clone, Copy, Debug)]
pub enum Event {
    /// A new task from source `source` (its shaped Poisson stream).
    Arrival {
        /// Index into the world's sources.
        source: u32,
    },
    /// A new task from the trace replayed by source `source`.
    TraceArrival {
        /// Index into the world's sources.
        source: u32,
        /// The row's prompt tokens.
        input: u32,
        /// The row's output tokens.
        output: u32,
    },
    /// A recorded session of source `source` starts (closed-loop replay;
    /// the session waits in the source's feed).
    SessionArrival {
        /// Index into the world's sources.
        source: u32,
    },
    /// A new task from batch `batch` of source `source`.
    BatchArrival {
        /// Index into the world's sources.
        source: u32,
        /// Index into the source's batches.
        batch: u32,
    },
    /// An agent's think time is over.
    ThinkDone {
        /// The agent.
        agent: AgentId,
    },
    /// An agent's tool call finished.
    ToolDone {
        /// The agent.
        agent: AgentId,
    },
    /// An attempt finished its service at `endpoint`.
    ServiceDone {
        /// The endpoint.
        endpoint: u32,
        /// The attempt.
        attempt: AttemptId,
    },
    /// An error answer reaches the router.
    ErrorReply {
        /// The endpoint.
        endpoint: u32,
        /// The attempt.
        attempt: AttemptId,
        /// What the router is told: a 5xx or a 429 with its retry-after.
        outcome: Outcome,
    },
    /// The first token of an attempt reaches the router (only on endpoints
    /// with a `first_token_timeout`, the one router setting that needs it).
    FirstToken {
        /// The attempt.
        attempt: AttemptId,
    },
    /// The router asked to be woken.
    RouterWake,
}
