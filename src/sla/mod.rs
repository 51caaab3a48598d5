//! Clauses, windows and attainment: what a contract promises, the periods it
//! is judged over, and whether one simulated period kept it.
//!
//! **Architecture Invariant:** this module measures; it does not simulate and
//! does not know the router's internals. It sees finished calls (tenant,
//! workflow, submission time, latency or failure, first token), the calls and
//! tasks still open when the run ended, and nothing else, and keeps streaming
//! statistics only: memory does not grow with the number of calls.

mod acc;
mod clause;
mod credits;
mod minutes;
mod quality;
mod recorder;
#[cfg(test)]
mod tests_describe;
mod window;

pub use clause::{Clause, ClauseKind, CostBasis, Direction, Unit, trim_float, trim_pct};
pub use credits::{CreditSchedule, CreditStep};
pub use quality::Quality;
pub use recorder::{
    Attainment, BudgetUse, CDF_MIN_EDGES, CallEnd, CallOutcome, Cause, CauseCounts, LatencyCounts, LazyCause, Measures,
    Recorder, cdf_edge_ms,
};
pub use window::{Layout, Period, Window, calendar_months};
