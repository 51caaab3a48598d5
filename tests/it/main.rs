//! slaplan's one integration-test binary.

mod common;
mod determinism;
mod queueing;
mod run_cli;
mod scripted_availability;
