//! slaplan's one integration-test binary.

mod check;
mod clauses;
mod closed_pipe;
mod common;
mod determinism;
mod exact_thresholds;
mod fit;
mod frontier;
mod gateway;
mod hedges;
mod import_litellm;
mod open_calls;
mod outages;
mod probability;
mod queueing;
mod report;
mod run_cli;
mod scenario_errors;
mod scripted_availability;
mod sessions;
mod shard_merge;
mod trace_replay;
mod until_decided;
mod windows_parquet;
mod workloads;
