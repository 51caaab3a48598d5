//! SIGINT and SIGTERM: the run stops, the output it was writing is removed
//! (every output directory keeps its previous content), it says so on
//! stderr and exits 130. The bookkeeping of what is being written lives in
//! [`slaplan::report::interrupt`]; this module owns the signal thread.

use slaplan::report;

use super::stdout::note;

/// Exit code of an interrupted command (128 + SIGINT, the shell's
/// convention), for SIGTERM as well.
const INTERRUPTED: i32 = 130;

/// Starts the thread that waits for SIGINT and SIGTERM. Without it (if the
/// signals cannot be caught) the default action still leaves every output
/// complete or as it was, but prints nothing and exits by the signal.
pub(crate) fn install() {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
        return;
    };
    let _ = std::thread::Builder::new().name("interrupt".into()).spawn(move || {
        for signal in signals.forever() {
            let name = if signal == SIGINT { "SIGINT" } else { "SIGTERM" };
            // None: the command has finished; let it end with its own code.
            let Some(committed) = report::interrupt() else {
                continue;
            };
            if committed.is_empty() {
                note!("interrupted by {name}: no output written, existing outputs left as they were");
            } else {
                let paths: Vec<String> = committed.iter().map(|p| p.display().to_string()).collect();
                note!("interrupted by {name} after writing {}", paths.join(", "));
            }
            std::process::exit(INTERRUPTED);
        }
    });
}

/// Called by `main` once the command has returned: if an interrupt was
/// taken meanwhile, the command's result (likely an error caused by the
/// removal of its temporary output) is not reported: this thread waits for
/// the signal thread to end the process.
pub(crate) fn finish() {
    if report::finish() {
        loop {
            std::thread::park();
        }
    }
}
