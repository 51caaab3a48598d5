//! The commands of the `slaplan` binary, one module each (or a few for a
//! large one), and what they share: the [`Failure`] every command returns,
//! the Monte Carlo settings, standard output and progress. Only the binary
//! prints and chooses exit codes; `main.rs` parses and dispatches here.

mod capacity;
mod check;
pub(crate) mod decide;
mod export;
mod failure;
mod fidelity;
mod fidelity_paired;
mod fidelity_pool;
mod files;
mod fit;
mod frontier;
pub(crate) mod guard;
pub(crate) mod interrupt;
mod judge;
pub(crate) mod progress;
mod reach;
mod review;
mod run;
mod scenario_file;
mod serve;
mod shard;
mod simulation;
pub(crate) mod stdout;
mod streamed;

pub(crate) use check::{CheckArgs, check};
pub(crate) use export::{ExportSloArgs, export_slo};
pub(crate) use failure::{Failure, stream_failure};
pub(crate) use fidelity::{FidelityArgs, LoadArgs, fidelity, load};
pub(crate) use fidelity_paired::{FidelityPairedArgs, fidelity_paired, print_paired};
pub(crate) use fidelity_pool::{FidelityPoolArgs, fidelity_pool};
pub(crate) use files::{default_out, sha256_hex, write_csv};
pub(crate) use fit::{FitArgs, fit};
pub(crate) use frontier::{FrontierArgs, frontier};
pub(crate) use judge::{JudgeArgs, judge};
pub(crate) use reach::Judged;
pub(crate) use review::{review_report, write_review};
pub(crate) use run::{RunArgs, run};
pub(crate) use scenario_file::{ImportArgs, import_litellm, print_warnings, validate};
pub(crate) use serve::{EmulateArgs, ServeArgs, emulate, serve};
pub(crate) use shard::{MergeArgs, merge};
pub(crate) use simulation::{SimArgs, parse_probability, worker_pool};
