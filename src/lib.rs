//! slaplan: vet per-tenant SLA clauses for AI-agent inference before signing.
//!
//! Crate map (see ARCHITECTURE.md for the invariants):
//! - [`time`]: integer time and durations, shared by everything.
//! - [`policy`]: the sans-IO router core a production router links.
//! - `engine`: the discrete-event engine and RNG streams.
//! - `model`: endpoints, workloads and the simulated world that drives the router core.
//! - `scenario`: the scenario file and its validation.
//! - `import`: other routers' configuration files (LiteLLM) as a router config.
//! - `fit`: scenarios calibrated from production logs (`slaplan fit`).
//! - `logs`: production logs (LiteLLM spend logs, OTLP GenAI spans) as call records.
//! - `sla`: clauses, windows and attainment.
//! - `observe`: the SLA observers, fed by the simulated world and by `judge`.
//! - `judge`: a scenario's clauses judged on real request logs (`slaplan judge`).
//! - `load`: a scenario's workload driven against a running gateway (`slaplan load`).
//! - `fidelity`: predictions set against an emulated deployment (`slaplan fidelity`).
//! - `plan`: Monte Carlo replications, intervals and verdicts.
//! - `report`: tables, output files, and the review report (HTML, Markdown, charts).
//! - `gateway`, `emulate`: `slaplan serve` (the router core on real HTTP
//!   traffic) and `slaplan emulate` (the endpoints in wall-clock time).
//!
//! Everything but `time` and `policy` needs the default `cli` feature.

#![warn(missing_docs)]
// Outside tests, no `unwrap`/`expect`: input from a user, a file or the
// network gets an error naming what is wrong, never a panic; an invariant
// the types cannot show is spelled out with `unwrap_or_else(|| unreachable!(...))`.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod policy;
pub mod time;

#[cfg(feature = "cli")]
pub mod emulate;
#[cfg(feature = "cli")]
pub mod engine;
#[cfg(feature = "cli")]
pub mod export;
#[cfg(feature = "cli")]
pub mod fidelity;
#[cfg(feature = "cli")]
pub mod fit;
#[cfg(feature = "cli")]
pub mod gateway;
#[cfg(feature = "cli")]
pub mod import;
#[cfg(feature = "cli")]
pub mod judge;
#[cfg(feature = "cli")]
pub mod load;
#[cfg(feature = "cli")]
pub mod logs;
#[cfg(feature = "cli")]
pub mod model;
#[cfg(feature = "cli")]
pub mod observe;
#[cfg(feature = "cli")]
pub mod plan;
#[cfg(feature = "cli")]
pub mod report;
#[cfg(feature = "cli")]
pub mod scenario;
#[cfg(feature = "cli")]
pub mod sla;
