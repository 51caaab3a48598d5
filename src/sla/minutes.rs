//! Minute tallies of the minute-based clauses, uptime and throughput.
//!
//! Each such clause keeps two counters per minute of the simulated period,
//! so an event can land in a minute long gone: a throughput call counts in
//! the minute it was submitted when it ends, and an uptime call that ended
//! after the period (or never) counts in the minute it was submitted.
//! Memory is fixed by the period (8 bytes a minute), never by the calls.
//!
//! - **Uptime** counts `[calls ended, of which failed]`; a minute is down
//!   when the failed share is above the clause's `max_error_ratio`.
//! - **Throughput** counts `[calls submitted, of which admitted]` (not
//!   turned away by capacity, not still open at the end); a minute holds
//!   when the admitted ones reach `min(submitted, rpm)`.

use super::ClauseKind;
use super::acc::{Acc, HOUR_NANOS};
use crate::time::{Span, Time};

pub(super) const MINUTE_NANOS: u64 = 60_000_000_000;

/// Two counters per minute of the period.
pub(super) struct Minutes {
    tallies: Vec<[u32; 2]>,
}

impl Minutes {
    /// Zeroed tallies for every minute of a period of `duration`.
    pub(super) fn new(duration: Span) -> Minutes {
        Minutes {
            tallies: vec![[0; 2]; duration.as_nanos().div_ceil(MINUTE_NANOS) as usize],
        }
    }

    /// Whether `at` lies in a minute of the period.
    pub(super) fn covers(&self, at: Time) -> bool {
        ((at.as_nanos() / MINUTE_NANOS) as usize) < self.tallies.len()
    }

    /// Adds to the tallies of the minute holding `at` (ignored past the period).
    pub(super) fn add(&mut self, at: Time, first: u32, second: u32) {
        if let Some(t) = self.tallies.get_mut((at.as_nanos() / MINUTE_NANOS) as usize) {
            t[0] = t[0].saturating_add(first);
            t[1] = t[1].saturating_add(second);
        }
    }

    /// Counts the bad minutes of `[start, end)` into `acc` (and, for
    /// uptime, into its hourly budget use).
    pub(super) fn judge_into(&self, kind: ClauseKind, start: Time, end: Time, acc: &mut Acc) {
        let first = start.as_nanos() / MINUTE_NANOS;
        let last = end.as_nanos().div_ceil(MINUTE_NANOS);
        for m in first..last {
            let Some(&[a, b]) = self.tallies.get(m as usize) else {
                break;
            };
            let bad = match kind {
                ClauseKind::Uptime { max_error_ratio, .. } => a > 0 && f64::from(b) > max_error_ratio * f64::from(a),
                ClauseKind::Throughput { rpm } => f64::from(b) < f64::from(a).min(rpm),
                _ => false,
            };
            if !bad {
                continue;
            }
            acc.bad_minutes += 1;
            if matches!(kind, ClauseKind::Uptime { .. }) {
                let h = ((m * MINUTE_NANOS).saturating_sub(start.as_nanos()) / HOUR_NANOS) as usize;
                if let Some(slot) = acc.hourly.get_mut(h) {
                    slot[1] += 1;
                }
            }
        }
    }
}
