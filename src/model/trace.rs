//! Trace replay: arrivals and token counts read from a recorded trace instead
//! of drawn from a law.
//!
//! This module owns reading trace files ([`TraceReader`]) and shaping them in
//! time ([`Replay`] under [`ReplayRules`]). It does not know the simulated
//! world: a replay is just a sorted stream of offsets with token counts, which
//! the world turns into calls.
//!
//! **Architecture Invariant:** replay is exact. Timestamps are parsed with
//! integer arithmetic, never through `f64`, so a record's offset is the
//! nanosecond the trace wrote, to the trace's own resolution. Readers stream:
//! memory does not grow with the trace.
//!
//! # Formats
//!
//! - [`TraceFormat::Generic`], CSV: a header naming `timestamp`,
//!   `input_tokens`, `output_tokens` and optionally `tenant`, `workflow`,
//!   `task`, `session`, in any order (unknown or repeated columns are refused),
//!   e.g. `timestamp,tenant,workflow,input_tokens,output_tokens,task,session`.
//!   `timestamp` is a non-negative time in seconds from any origin, as a decimal number
//!   (`12.5`) or as a duration with a unit (`"1.5s"`, `"800ms"`, `"250us"`,
//!   `"7ns"`, `"2m"`, `"1h"`, `"1d"`); at most nanosecond resolution. An
//!   empty text field means "not given".
//! - [`TraceFormat::Generic`], JSONL: one object per line with the same keys;
//!   `timestamp` is a string in the CSV grammar or a JSON number of seconds
//!   (a fractional JSON number is taken at its shortest decimal form, exact up
//!   to 15 significant digits, exponents refused: write a string for more).
//!   Unknown keys are refused. A generic trace is JSONL when its first non-blank byte is `{`.
//! - [`TraceFormat::Azure`]: the Azure LLM inference trace, CSV with
//!   `TIMESTAMP,ContextTokens,GeneratedTokens`, timestamps as
//!   `2023-11-16 18:15:46.6805900` (no time zone; read as a civil time).
//! - [`TraceFormat::Mooncake`]: the Mooncake trace, JSONL with `timestamp`
//!   (milliseconds), `input_length`, `output_length`; `hash_ids` and other
//!   keys are ignored.
//! - [`TraceFormat::SlaplanLog`]: the request log `slaplan serve` writes
//!   (JSONL): `arrival` (RFC 3339 UTC, e.g. `2026-11-30T01:02:03.123456789Z`)
//!   is the timestamp; `tenant`, `workflow`, `task`, `session`,
//!   `input_tokens`, `output_tokens` as in the generic schema; the other
//!   keys of the log are ignored.
//!
//! Files are UTF-8 (a leading byte-order mark is skipped), one record per
//! line with `\n` or `\r\n` endings; blank lines are skipped and counted. Offsets are relative to the first record's
//! timestamp. Records must be sorted by time; ties keep file order; a
//! timestamp earlier than the previous one is an error. The first error ends
//! the stream.
//!
//! # Replay rules
//!
//! [`ReplayRules`] turn records into calls, in this order:
//! 1. a record without tenant or workflow gets `default_tenant` /
//!    `default_workflow`;
//! 2. offsets are divided by `time_scale` (2.0 replays twice as fast), read to
//!    nine decimal places, with integer division rounding halves up;
//! 3. with `loop_to_fill: Some(period)`, the trace is replayed lap after lap
//!    until the period is filled: lap `k` is shifted by `k × L`, where the lap
//!    length `L` is the scaled span (last offset) plus one mean gap, the span
//!    divided by the number of records minus one, rounded down. Only records
//!    strictly before `period` are yielded (this also cuts a single lap that
//!    is longer than the period). A trace whose records are all at one
//!    instant cannot be looped. Each lap re-reads the file, so memory stays
//!    constant.
//!
//! [`TraceReader`] and [`Replay`] are `Send`, so each replication can own one.
//!
//! ```
//! # use slaplan::model::{ReplayRules, TraceFormat, TraceReader};
//! # use slaplan::time::Span;
//! let trace = "timestamp,tenant,input_tokens,output_tokens\n10,acme,100,20\n10.5,,300,40\n";
//! let reader = TraceReader::from_bytes("inline.csv", trace.as_bytes().to_vec(), TraceFormat::Generic)?;
//! let rules = ReplayRules { time_scale: 2.0, ..ReplayRules::default() };
//! let calls: Vec<_> = rules.apply(reader)?.collect::<Result<_, _>>()?;
//! assert_eq!(calls[1].record.at, Span::from_millis(250));
//! assert_eq!(calls[1].record.tenant.as_deref(), Some("trace"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod error;
mod field;
mod reader;
mod replay;
mod slaplan_log;

pub use error::TraceError;
pub use reader::TraceReader;
pub use replay::{Replay, ReplayRules, ReplayRulesError, ReplayedRecord};

use crate::time::Span;

/// One recorded call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceRecord {
    /// Offset from the trace's first record.
    pub at: Span,
    /// The tenant, if the trace says.
    pub tenant: Option<String>,
    /// The workflow within the tenant, if the trace says.
    pub workflow: Option<String>,
    /// Prompt (context) tokens.
    pub input_tokens: u32,
    /// Generated tokens.
    pub output_tokens: u32,
    /// The agent task this call belongs to, if the trace says.
    pub task: Option<String>,
    /// The conversation or session, if the trace says.
    pub session: Option<String>,
}

/// The layout of a trace file; see the module docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceFormat {
    /// slaplan's own schema, as CSV or JSONL.
    Generic,
    /// The Azure LLM inference trace (CSV).
    Azure,
    /// The Mooncake trace (JSONL).
    Mooncake,
    /// The request log of `slaplan serve` (JSONL).
    SlaplanLog,
}

#[cfg(test)]
mod tests;
