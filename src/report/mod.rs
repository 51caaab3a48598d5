//! Outputs: the attainment table, `summary.csv`, `windows.csv` /
//! `windows.parquet` and `run.json`, written atomically into one directory.
//!
//! **Architecture Invariant:** reports only read results; they never run the
//! simulator. Every file is first written under a temporary directory that is
//! renamed into place at the end, so a failed run never leaves a half-written
//! result.

mod columns;
mod files;
mod grid;
mod table;

pub use files::{OutputError, RunMeta, Timing, audit_jsonl, write_dir_atomically, write_outputs};
pub use grid::grid;
pub use table::attainment_table;
