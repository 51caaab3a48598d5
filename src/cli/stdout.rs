//! Standard output and standard error for every command.
//!
//! A reader that stops early (`slaplan run X | head`) closes the pipe; the
//! next write then fails with `BrokenPipe`. That is a normal end, not an
//! error: the command stops where it is and exits 0 without a message
//! ([`Failure::closed_stdout`]). Standard error (progress, notes, errors)
//! is best effort: a closed one is ignored.

use std::io::Write;

use super::Failure;

/// Writes `text` to standard output and flushes it.
pub(crate) fn write_out(text: std::fmt::Arguments<'_>) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    match out.write_fmt(text).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(Failure::closed_stdout()),
        Err(e) => Err(Failure::runtime(format!("cannot write to standard output: {e}"))),
    }
}

/// Writes `text` and a newline to standard error, ignoring a closed one.
pub(crate) fn write_err(text: std::fmt::Arguments<'_>) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_fmt(text).and_then(|()| err.write_all(b"\n"));
}

/// `print!` that returns a [`Failure`] instead of panicking on a closed pipe.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::stdout::write_out(format_args!($($arg)*))
    };
}

/// `println!` that returns a [`Failure`] instead of panicking on a closed pipe.
macro_rules! outln {
    () => {
        $crate::cli::stdout::write_out(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::cli::stdout::write_out(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `eprintln!` that ignores a closed standard error.
macro_rules! note {
    ($($arg:tt)*) => {
        $crate::cli::stdout::write_err(format_args!($($arg)*))
    };
}

pub(crate) use {note, out, outln};
