//! slaplan's one integration-test binary.

mod bad_inputs;
mod check;
mod clauses;
mod common;
mod crash_safe;
mod determinism;
mod frontier;
mod import_litellm;
mod outages;
mod probability;
mod queueing;
mod reach;
mod report;
mod run_cli;
mod scenario_errors;
mod scripted_availability;
mod sessions;
mod shard_merge;
mod trace_replay;
mod windows_parquet;
mod workloads;
