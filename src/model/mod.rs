//! Models of the world the router lives in: endpoints (latency, capacity,
//! errors, outages), workloads (arrivals, token counts), and the simulated
//! world that wires them to the router core in virtual time.
//!
//! **Architecture Invariant:** the world talks to the router only through its
//! public sans-IO API (`submit`, `on_outcome`, `handle_timeout`, `poll_*`),
//! exactly as a production gateway would. The router never sees the world's
//! ground truth (whether an endpoint is "really" down).

mod arrivals;
mod endpoint;
mod outage;
mod session;
pub mod status_page;
mod task;
mod trace;
mod workload;
mod world;

pub use arrivals::{Arrivals, BatchCursor};
pub use endpoint::{Admission, AttemptDraws, Bucket, EndpointSim, Incident, Pace, ServiceTime};
pub use outage::{process_incidents, renewal_incidents, timeline};
pub use status_page::{DailyAvailability, IncidentRates, OutageDay, OutageRecord};
pub use task::{AgentId, Effect, Tasks};
pub use trace::{
    DEFAULT_LOOKAHEAD, EXPECT_LOG_TIME, Node, RecordedSession, Replay, ReplayRules, ReplayRulesError, ReplayedRecord,
    ReplayedSession, SessionError, SessionFormat, SessionReader, SessionReplay, Step, StepKind, TraceError,
    TraceFormat, TraceReader, TraceRecord, Work, log_instant,
};
pub use workload::{
    Count, SessionFeed, Source, StepPlan, TaskPlan, Tokens, TraceFeed, WorkPlan, open_replay, open_sessions,
};
pub use world::{
    AuditLog, BuildError, CallRecord, RequestLog, RunResult, RunStats, Samples, TaskRecord, TimelineRow, World,
};
