//! What a replication hands back: its records, samples and result, and
//! why it could not be built.

use super::{Overload, RunStats};
use crate::observe::TimelineRow;
use crate::policy::{AuditEvent, ConfigError, TenantId, WorkflowId};
use crate::sla::{Attainment, Measures};
use crate::time::Time;

/// One submitted call, kept only when asked for ([`World::log_calls`](super::World::log_calls)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallRecord {
    /// When the call was submitted.
    pub submitted: Time,
    /// Its tenant.
    pub tenant: TenantId,
    /// Its workflow.
    pub workflow: WorkflowId,
    /// Prompt tokens.
    pub input_tokens: u32,
    /// Output tokens.
    pub output_tokens: u32,
    /// When it ended (`None`: still in flight when the run stopped).
    pub ended: Option<Time>,
    /// The endpoint that served it, or its last attempt's (`None`: never dispatched).
    pub endpoint: Option<u32>,
    /// Whether it was served.
    pub served: bool,
    /// Whether capacity turned an attempt away (a 429 or a full provider queue).
    pub refused: bool,
    /// The call's identity: its task, agent and place among the agent's
    /// calls, keyed from the seed (see `model::task`).
    pub key: u64,
}

/// One ended task, kept only when asked for ([`World::log_tasks`](super::World::log_tasks)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskRecord {
    /// Its tenant.
    pub tenant: TenantId,
    /// Its workflow.
    pub workflow: WorkflowId,
    /// When it arrived.
    pub started: Time,
    /// When it ended (succeeded, or failed).
    pub ended: Time,
    /// Whether it succeeded (by its deadline).
    pub succeeded: bool,
}

/// Per-call and audit records of one replication, kept only when asked for.
#[derive(Clone, Debug, Default)]
pub struct Samples {
    /// The first calls submitted.
    pub calls: Vec<CallRecord>,
    /// The first tasks to end.
    pub tasks: Vec<TaskRecord>,
    /// The router's first audit events.
    pub audit: Vec<AuditEvent>,
}

/// What one replication measured: judgements, counters and the measures
/// behind the outputs.
#[derive(Clone, Debug, Default)]
pub struct RunResult {
    /// Every clause × window judgement.
    pub attainment: Vec<Attainment>,
    /// Counters.
    pub stats: RunStats,
    /// Pooled latency counts, budget use and blame.
    pub measures: Measures,
    /// The timeline of outages and tier changes, when asked for.
    pub timeline: Option<Vec<TimelineRow>>,
    /// Per-call and audit samples, when asked for.
    pub samples: Samples,
    /// Set when the overload guard stopped the run early: then nothing
    /// else here is a judgement of the period.
    pub overload: Option<Overload>,
    /// Why the request log or the audit log (see [`World::write_requests`](super::World::write_requests),
    /// [`World::write_audit`](super::World::write_audit)) could not be written, if one could not.
    pub request_log_error: Option<String>,
}

/// A replication that cannot be built, or was stopped.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The overload guard stopped it.
    #[error("{0}")]
    Overload(Overload),
    /// The router rejected its configuration.
    #[error("router configuration: {0}")]
    Router(ConfigError),
    /// A replayed trace could not be opened or read.
    #[error("trace: {0}")]
    Trace(String),
}
