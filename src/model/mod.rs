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
pub mod status_page;
mod task;
mod tiers;
mod trace;
mod workload;
mod world;

pub use arrivals::{Arrivals, BatchCursor};
pub use endpoint::{Admission, Bucket, EndpointSim, Incident, Pace, ServiceTime};
pub use outage::{process_incidents, renewal_incidents, timeline};
pub use status_page::{DailyAvailability, IncidentRates, OutageDay, OutageRecord};
pub use task::{AgentId, Effect, Tasks};
pub use trace::{
    Replay, ReplayRules, ReplayRulesError, ReplayedRecord, TraceError, TraceFormat, TraceReader, TraceRecord,
};
pub use workload::{Count, Source, StepPlan, TaskPlan, Tokens, TraceFeed, WorkPlan, open_replay};
pub use world::{BuildError, CallRecord, RunResult, RunStats, Samples, TimelineRow, World};
