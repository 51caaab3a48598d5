//! slaplan's one integration-test binary.

mod common;
mod determinism;
mod import_litellm;
mod outages;
mod queueing;
mod run_cli;
mod scenario_errors;
mod scripted_availability;
mod sessions;
mod trace_replay;
mod workloads;
