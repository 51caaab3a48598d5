//! Outputs: the attainment table, `summary.csv`, `windows.csv` /
//! `windows.parquet`, `run.json`, and the measures behind the charts
//! (`latency.csv`, `budget.csv`, `timeline.csv`, `drivers.csv`), written
//! atomically into one directory; and the review report (`report.html`,
//! `report.md`, charts) read back from such a directory.
//!
//! **Architecture Invariant:** reports only read results; they never run the
//! simulator. Every file is first written under a temporary directory that is
//! renamed into place at the end, so a failed run never leaves a half-written
//! result.

mod atomic;
mod columns;
mod credits;
mod files;
mod grid;
mod internal;
mod measures;
pub mod readback;
pub mod review;
mod sink;
mod table;

pub use atomic::{finish, interrupt, write_dir_atomically, write_file_atomically};
pub use credits::{credits_table, dollars};
pub use files::{
    EndpointMeta, OutputError, PeriodWindows, RunIdentity, RunMeta, TenantMeta, Timing, audit_jsonl, audit_line,
    clause_texts, write_outputs,
};
pub use grid::grid;
pub use internal::{format_buffer, internal_table, no_internal_reason};
pub use measures::{budget_consumed, clause_windows};
pub use review::{ReportError, ReportSummary, write_report};
pub use sink::{OutputSink, ROW_GROUP_ROWS, Written};
pub use table::{attainment_table, format_value, outcome_counts};
