//! The one error type of trace reading: each variant is a sentence naming the
//! file, the 1-based line and the field, and what was expected there.

use std::io;

/// Why a trace could not be read. Except for [`TraceError::Open`], every
/// variant names the file, the 1-based line and the field at fault.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// The file could not be opened.
    #[error("{file}: cannot open the trace: {source}")]
    Open {
        /// The trace file.
        file: String,
        /// The operating system's reason.
        #[source]
        source: io::Error,
    },
    /// Reading failed part-way (an I/O error, not a content error).
    #[error("{file}:{line}: field {field}: cannot read the trace: {source}")]
    Read {
        /// The trace file.
        file: String,
        /// The 1-based line being read.
        line: u64,
        /// Always `record`: the whole line.
        field: String,
        /// The operating system's reason.
        #[source]
        source: io::Error,
    },
    /// A field (or the whole record, or the header) is malformed.
    #[error("{file}:{line}: field {field}: expected {expected}, got {got}")]
    Field {
        /// The trace file.
        file: String,
        /// The 1-based line.
        line: u64,
        /// The field's name (`record` for the whole line, `header` for the header).
        field: String,
        /// What the field must hold.
        expected: String,
        /// What it held, quoted and shortened.
        got: String,
    },
    /// A required field is absent or empty.
    #[error("{file}:{line}: field {field}: expected {expected}, got nothing")]
    Missing {
        /// The trace file.
        file: String,
        /// The 1-based line.
        line: u64,
        /// The missing field.
        field: String,
        /// What the field must hold.
        expected: String,
    },
    /// A timestamp is earlier than the one before it; replay needs sorted arrivals.
    #[error(
        "{file}:{line}: field {field}: expected a time no earlier than {previous} (line {previous_line}), \
         got {got}: the trace goes backwards; sort it by time"
    )]
    Backwards {
        /// The trace file.
        file: String,
        /// The 1-based line that goes backwards.
        line: u64,
        /// The timestamp field.
        field: String,
        /// The line holding the previous, later timestamp.
        previous_line: u64,
        /// The previous timestamp as written.
        previous: String,
        /// This line's timestamp as written.
        got: String,
    },
    /// A log (OTLP spans) could not be read; the message names file, line and field.
    #[error(transparent)]
    Log(#[from] crate::logs::LogError),
    /// Recorded sessions could not be grouped or ordered.
    #[error(transparent)]
    Session(Box<SessionError>),
    /// Looping was asked for, but the trace spans no time, so a lap has no length.
    #[error(
        "{file}:{line}: field {field}: expected a trace of two or more distinct times to loop it, \
         got {records} record(s) at one instant; do not set loop_to_fill for this trace"
    )]
    CannotLoop {
        /// The trace file.
        file: String,
        /// The last line of the trace.
        line: u64,
        /// The timestamp field.
        field: String,
        /// How many records the trace holds.
        records: u64,
    },
}

/// Why recorded agent sessions could not be read for a closed-loop replay;
/// part of [`TraceError`].
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// A step of a session came after the session was complete: more than
    /// `lookahead` other sessions began between two of its steps.
    #[error(
        "{file}:{line}: field {field}: expected the steps of session {session:?} within {lookahead} sessions \
         of each other, got a step after {between} other sessions began since its previous one (line \
         {previous_line}): group the file by session, or raise the replay's lookahead"
    )]
    Scattered {
        /// The file.
        file: String,
        /// The line of the late step.
        line: u64,
        /// The field holding the session's id.
        field: String,
        /// The session's id.
        session: String,
        /// The line of its previous step.
        previous_line: u64,
        /// Sessions begun in between.
        between: u64,
        /// The replay's lookahead.
        lookahead: u64,
    },
    /// A session starts before one already replayed: the file is not in
    /// order of session start, within the lookahead.
    #[error(
        "{file}:{line}: field {field}: expected a session starting no earlier than session {previous:?} \
         (line {previous_line}), already replayed, got session {session:?} starting {earlier_ns} ns before \
         it: sessions must come in order of their start within lookahead = {lookahead} sessions; sort the \
         file by session start, or raise the replay's lookahead"
    )]
    OutOfOrder {
        /// The file.
        file: String,
        /// The line of the session's first step.
        line: u64,
        /// The field holding start times.
        field: String,
        /// The session's id.
        session: String,
        /// The session already replayed.
        previous: String,
        /// Its first line.
        previous_line: u64,
        /// How much earlier this one starts, in nanoseconds.
        earlier_ns: u128,
        /// The replay's lookahead.
        lookahead: u64,
    },
}

impl From<SessionError> for TraceError {
    fn from(e: SessionError) -> TraceError {
        TraceError::Session(Box::new(e))
    }
}

/// `text` quoted, shortened to a readable length.
pub(super) fn shown(text: &str) -> String {
    const MAX: usize = 60;
    if text.chars().count() <= MAX {
        format!("{text:?}")
    } else {
        let head: String = text.chars().take(MAX).collect();
        format!("{head:?}…")
    }
}

/// A JSON value as the file has it (strings in their quotes), shortened
/// like [`shown`].
pub(super) fn shown_json(value: &serde_json::Value) -> String {
    let text = value.to_string();
    if text.chars().count() <= 60 {
        text
    } else {
        format!("{}…", text.chars().take(60).collect::<String>())
    }
}
