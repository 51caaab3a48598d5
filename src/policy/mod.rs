//! The router core: the scheduler and fallback policy a production LLM
//! router runs, sans-IO.
//!
//! **Architecture Invariant:** this module imports nothing from `engine`,
//! `model`, `sla`, `plan`, `report` or `scenario`, and no I/O, async or
//! randomness crate: it builds alone with `--no-default-features`, with serde
//! as its only dependency. It never reads a clock; time comes in as `now`.

mod config;
mod types;

pub use config::*;
pub use types::*;
