//! A call's attempts merged back into the one call a clause judges, for
//! logs that write a row per attempt: LiteLLM spend logs, where a router's
//! retries and fallbacks share the call's `trace_id` ([`CallRecord::call`]).
//!
//! The call runs from its first attempt's start to the end of its served
//! attempt (or, if none was served, of its last attempt), and is served
//! when any attempt was: a clause's latency counts retries and fallbacks,
//! and a failed attempt that was retried is no failed call. Judged as
//! separate calls, a call served by its retry would count at the retry's
//! own latency. A served call is never retried: a row with its id that
//! starts once it was served begins a new call (clients may give all the
//! calls of a task one trace id).
//!
//! Rows are held until the logs have gone [`ATTEMPT_GAP`] past the call's
//! latest end (then a later row with its id would start a new call), and
//! at the end: memory holds the calls of that last stretch of log time.

use std::collections::HashMap;

use crate::logs::{CallRecord, Status};

/// A call with no new attempt for this long (log time, ns) is complete.
pub const ATTEMPT_GAP: u64 = 10 * 60 * 1_000_000_000;

/// The calls whose attempts may still come.
#[derive(Default)]
pub(super) struct Attempts {
    open: HashMap<String, CallRecord>,
    /// The latest row end seen (ns since the epoch).
    newest: u64,
    /// Rows merged into a call already read.
    pub merged: u64,
}

impl Attempts {
    /// Takes one attempt of the call `id`. A served call is not retried:
    /// a row with its id that starts once it was served is a new call (a
    /// client that gives the calls of one task a single trace id), and the
    /// served one is returned, complete.
    pub fn add(&mut self, id: &str, r: &CallRecord) -> Option<CallRecord> {
        self.newest = self.newest.max(r.end);
        match self.open.get_mut(id) {
            Some(call) if call.status == Status::Ok && r.start >= call.end => Some(std::mem::replace(call, r.clone())),
            Some(call) => {
                merge(call, r);
                self.merged += 1;
                None
            }
            None => {
                self.open.insert(id.to_string(), r.clone());
                None
            }
        }
    }

    /// The calls complete (every call with `all`), in a fixed order.
    pub fn take(&mut self, all: bool) -> Vec<CallRecord> {
        let newest = self.newest;
        let mut done = Vec::new();
        self.open.retain(|_, c| {
            let quiet = all || c.end.saturating_add(ATTEMPT_GAP) < newest;
            if quiet {
                done.push(c.clone());
            }
            !quiet
        });
        done.sort_by(|a, b| (a.start, a.end, &a.call).cmp(&(b.start, b.end, &b.call)));
        done
    }
}

/// `attempt` folded into `call`, another attempt of the same call.
fn merge(call: &mut CallRecord, attempt: &CallRecord) {
    let start = call.start.min(attempt.start);
    let cost = match (call.cost, attempt.cost) {
        (Some(a), Some(b)) => Some(a + b),
        (a, b) => a.or(b),
    };
    let served = |r: &CallRecord| r.status == Status::Ok;
    // The attempt that decides: a served one (the first to end, if
    // several were), else the last to end.
    let decides = match (served(call), served(attempt)) {
        (true, true) => attempt.end < call.end,
        (true, false) => false,
        (false, true) => true,
        (false, false) => attempt.end >= call.end,
    };
    if decides {
        let first = call.clone();
        *call = attempt.clone();
        // Who called, and for what, as its first row said.
        call.tenant = first.tenant;
        call.key = first.key;
        call.workflow = first.workflow;
        call.task = first.task;
        call.session = first.session;
    }
    call.start = start;
    call.cost = cost;
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    fn attempt(start: u64, end: u64, status: Status, cost: f64) -> CallRecord {
        let mut r = CallRecord::model(start * S, end * S, 100, 10);
        r.status = status;
        r.cost = Some(cost);
        r.call = Some("x".into());
        r.endpoint = Some(format!("e{start}"));
        r
    }

    #[test]
    fn a_retry_served_makes_one_served_call_from_the_first_start() {
        let mut a = Attempts::default();
        a.add("x", &attempt(10, 40, Status::Timeout, 0.0));
        a.add("x", &attempt(41, 43, Status::Ok, 0.5));
        let calls = a.take(true);
        assert_eq!(calls.len(), 1);
        let c = &calls[0];
        assert_eq!((c.start, c.end, c.status), (10 * S, 43 * S, Status::Ok));
        assert_eq!((c.endpoint.as_deref(), c.cost), (Some("e41"), Some(0.5)));
        assert_eq!(a.merged, 1);
    }

    #[test]
    fn a_hedge_is_served_at_its_winner_and_failures_end_at_the_last_attempt() {
        // Rows in end order: the winner (served at 12) before the loser
        // (cancelled at 13).
        let mut a = Attempts::default();
        a.add("x", &attempt(10, 12, Status::Ok, 0.1));
        a.add("x", &attempt(11, 13, Status::Error, 0.0));
        let c = &a.take(true)[0];
        assert_eq!((c.start, c.end, c.status), (10 * S, 12 * S, Status::Ok));
        // Every attempt failed: the call failed when the last one did.
        let mut a = Attempts::default();
        a.add("x", &attempt(10, 20, Status::Error, 0.0));
        a.add("x", &attempt(21, 22, Status::RateLimited, 0.0));
        let c = &a.take(true)[0];
        assert_eq!((c.start, c.end, c.status), (10 * S, 22 * S, Status::RateLimited));
    }

    #[test]
    fn a_call_closes_once_the_logs_are_the_gap_past_it() {
        let mut a = Attempts::default();
        a.add("x", &attempt(10, 20, Status::Ok, 0.0));
        let mut later = attempt(0, 0, Status::Ok, 0.0);
        later.start = 20 * S + ATTEMPT_GAP;
        later.end = later.start;
        a.add("y", &later);
        assert!(a.take(false).is_empty(), "exactly the gap is not past it");
        later.end += 1;
        a.add("z", &later);
        let done = a.take(false);
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].start, 10 * S);
        assert_eq!(a.take(true).len(), 2);
    }

    #[test]
    fn calls_after_a_served_one_under_the_same_trace_id_are_new_calls() {
        // An agent that gives its task's calls one trace id: served at 12,
        // then a new call at 12 (retried once) and another at 30.
        let mut a = Attempts::default();
        assert!(a.add("x", &attempt(10, 12, Status::Ok, 0.1)).is_none());
        let first = a
            .add("x", &attempt(12, 14, Status::Error, 0.0))
            .expect("the first call is complete");
        assert_eq!((first.start, first.end, first.status), (10 * S, 12 * S, Status::Ok));
        assert!(a.add("x", &attempt(15, 20, Status::Ok, 0.2)).is_none());
        let second = a
            .add("x", &attempt(30, 31, Status::Ok, 0.3))
            .expect("the second call is complete");
        assert_eq!((second.start, second.end, second.status), (12 * S, 20 * S, Status::Ok));
        assert_eq!(a.merged, 1, "only the retry is merged");
        let last = a.take(true);
        assert_eq!(last.len(), 1);
        assert_eq!((last[0].start, last[0].end), (30 * S, 31 * S));
        // A hedge's loser that started before the winner ended is merged.
        let mut a = Attempts::default();
        a.add("y", &attempt(10, 12, Status::Ok, 0.1));
        assert!(a.add("y", &attempt(11, 13, Status::Error, 0.0)).is_none());
        assert_eq!(a.take(true).len(), 1);
    }
}
