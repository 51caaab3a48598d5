//! The failure of a command: its message and the exit code it deserves.

use std::path::Path;

use slaplan::plan::StreamError;
use slaplan::report;

/// An error and the exit code it deserves: 2 for bad input, 1 otherwise.
pub(crate) struct Failure {
    pub(crate) code: u8,
    pub(crate) message: String,
}

impl From<report::OutputError> for Failure {
    fn from(e: report::OutputError) -> Failure {
        Failure::runtime(e)
    }
}

impl Failure {
    pub(crate) fn input(message: impl ToString) -> Failure {
        Failure {
            code: 2,
            message: message.to_string(),
        }
    }
    pub(crate) fn runtime(message: impl ToString) -> Failure {
        Failure {
            code: 1,
            message: message.to_string(),
        }
    }
    /// Adds that the output directory `out` was left as it was.
    pub(crate) fn nothing_written(self, out: &Path) -> Failure {
        Failure {
            message: format!("{}; nothing was written to {}", self.message, out.display()),
            ..self
        }
    }
    /// Standard output was closed by its reader (`| head`): a normal end,
    /// exit 0 and no message.
    pub(crate) fn closed_stdout() -> Failure {
        Failure {
            code: 0,
            message: String::new(),
        }
    }
}

/// A failure of a streamed run: a refused router config is bad input (exit
/// 2), a failure to write is not (exit 1).
pub(crate) fn stream_failure<E: std::fmt::Display>(e: StreamError<E>, scenario: &Path) -> Failure {
    match e {
        StreamError::Build(e) => Failure::input(format!("{}: {e}", scenario.display())),
        StreamError::Sink(e) => Failure::runtime(e),
    }
}
