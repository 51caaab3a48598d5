//! The one error type of log reading: each variant names the file, the
//! 1-based line and the field at fault, and what was expected there.

use std::io;

/// Why a log could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The file could not be opened.
    #[error("{file}: cannot open the log: {source}")]
    Open {
        /// The log file.
        file: String,
        /// The operating system's reason.
        #[source]
        source: io::Error,
    },
    /// Reading failed part-way (an I/O error or bytes that are not UTF-8).
    #[error("{file}:{line}: cannot read the log: {reason}")]
    Read {
        /// The log file.
        file: String,
        /// The 1-based line being read.
        line: u64,
        /// What went wrong.
        reason: String,
    },
    /// The file holds no row at all.
    #[error("{file}: the log is empty: expected LiteLLM spend-log JSON lines or OTLP JSON lines")]
    Empty {
        /// The log file.
        file: String,
    },
    /// A field (or the whole row) is malformed.
    #[error("{file}:{line}: field {field}: expected {expected}, got {got}")]
    Field {
        /// The log file.
        file: String,
        /// The 1-based line.
        line: u64,
        /// The field's path in the row, e.g. `metadata.user_api_key_team_alias`
        /// or `resourceSpans[0].scopeSpans[1].spans[3].endTimeUnixNano`
        /// (`row` for the whole line).
        field: String,
        /// What the field must hold.
        expected: String,
        /// What it held, shortened.
        got: String,
    },
    /// A required field is absent.
    #[error("{file}:{line}: field {field}: expected {expected}, got nothing")]
    Missing {
        /// The log file.
        file: String,
        /// The 1-based line.
        line: u64,
        /// The missing field's path.
        field: String,
        /// What the field must hold.
        expected: String,
    },
}

/// `text` quoted and shortened to a readable length.
pub(super) fn shown(text: &str) -> String {
    const MAX: usize = 60;
    if text.chars().count() <= MAX {
        format!("{text:?}")
    } else {
        let head: String = text.chars().take(MAX).collect();
        format!("{head:?}…")
    }
}

/// A JSON value as a message shows it.
pub(super) fn shown_json(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => shown(s),
        other => shown(&other.to_string()),
    }
}
