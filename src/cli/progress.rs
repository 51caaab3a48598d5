//! Progress of a long command on standard error.
//!
//! On a terminal, a bar that redraws itself (indicatif). Elsewhere (a log
//! file, a CI job, a pipe), one line every [`EVERY`]: units done of the
//! total, simulated calls per wall-clock second and the time left, e.g.
//! `progress: 12/100 replications, 1.24M calls/s, about 3m 10s left`. A run
//! shorter than [`EVERY`] prints nothing. `--quiet` turns both off.
//!
//! Progress reads the wall clock: it is the CLI's timer, like the one that
//! times a run for `run.json`, and never touches what is simulated.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::stdout::note;

/// How often the line form is printed.
pub(crate) const EVERY: Duration = Duration::from_secs(10);

/// What has been done so far, shared with the line printer.
struct Counts {
    done: AtomicU64,
    calls: AtomicU64,
}

/// The progress of one command.
pub(crate) struct Progress {
    bar: Option<indicatif::ProgressBar>,
    counts: Arc<Counts>,
    ticker: Option<(Sender<()>, JoinHandle<()>)>,
}

impl Progress {
    /// Progress over `total` units named `what` (`replications`, `shards`):
    /// a bar on a terminal, periodic lines elsewhere, nothing when `quiet`.
    pub(crate) fn start(what: &'static str, total: u64, quiet: bool) -> Progress {
        let counts = Arc::new(Counts {
            done: AtomicU64::new(0),
            calls: AtomicU64::new(0),
        });
        let mut progress = Progress {
            bar: None,
            counts: Arc::clone(&counts),
            ticker: None,
        };
        if quiet || total == 0 {
            return progress;
        }
        if std::io::stderr().is_terminal() {
            if total >= 2 {
                let bar = indicatif::ProgressBar::new(total);
                let template = format!("{{bar:40}} {{pos}}/{{len}} {what} ({{eta}} left)");
                if let Ok(style) = indicatif::ProgressStyle::with_template(&template) {
                    bar.set_style(style);
                }
                progress.bar = Some(bar);
            }
            return progress;
        }
        let (stop, stopped) = mpsc::channel::<()>();
        #[allow(clippy::disallowed_methods)] // the CLI's timer: progress only
        let started = Instant::now();
        let ticker = std::thread::spawn(move || {
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(EVERY) {
                let done = counts.done.load(Ordering::Relaxed);
                let calls = counts.calls.load(Ordering::Relaxed);
                note!("{}", line(what, done, total, calls, started.elapsed()));
            }
        });
        progress.ticker = Some((stop, ticker));
        progress
    }

    /// One unit done, which simulated `calls` calls.
    pub(crate) fn done(&self, calls: u64) {
        self.counts.done.fetch_add(1, Ordering::Relaxed);
        self.counts.calls.fetch_add(calls, Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    /// Runs `f`, which prints to standard error, with the bar out of the way.
    pub(crate) fn suspend(&self, f: impl FnOnce()) {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    /// Clears the bar and stops the line printer.
    pub(crate) fn finish(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        if let Some((stop, ticker)) = self.ticker.take() {
            drop(stop);
            let _ = ticker.join();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `progress: 12/100 replications, 1.24M calls/s, about 3m 10s left`.
fn line(what: &str, done: u64, total: u64, calls: u64, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64().max(1e-9);
    let rate = if calls > 0 {
        format!(", {:.2}M calls/s", calls as f64 / secs / 1e6)
    } else {
        String::new()
    };
    let left = if done == 0 {
        "time left unknown yet".to_string()
    } else {
        let remaining = secs / done as f64 * total.saturating_sub(done) as f64;
        format!("about {} left", human(remaining))
    };
    format!("progress: {done}/{total} {what}{rate}, {left}")
}

/// `3m 10s`, `1h 05m`, `42s`.
fn human(secs: f64) -> String {
    let s = secs.round() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_names_done_rate_and_time_left() {
        let l = line("replications", 25, 100, 5_000_000, Duration::from_secs(20));
        assert_eq!(l, "progress: 25/100 replications, 0.25M calls/s, about 1m 00s left");
        let l = line("shards", 0, 4, 0, Duration::from_secs(10));
        assert_eq!(l, "progress: 0/4 shards, time left unknown yet");
        assert_eq!(human(3725.0), "1h 02m");
        assert_eq!(human(59.4), "59s");
    }
}
