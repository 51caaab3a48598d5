//! The counters of one replication, summed over replications into
//! `run.json`'s `totals`.

/// Counters of one replication, for throughput and sanity figures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RunStats {
    /// Calls submitted to the router.
    pub calls: u64,
    /// Calls completed.
    pub completed: u64,
    /// Calls failed.
    pub failed: u64,
    /// Calls neither completed nor failed when the run ended (after its
    /// one-day drain): judged as failures, see `sla::Recorder`.
    #[serde(default)]
    pub open_calls: u64,
    /// Attempts dispatched.
    pub attempts: u64,
    /// Cancelled attempts (hedge losers, timeouts, latency ceilings) and
    /// attempts still in service at the end that the provider had started
    /// serving: billed their input and the output produced so far.
    #[serde(default)]
    pub billed_unfinished_attempts: u64,
    /// Audit events emitted by the router.
    pub audit_events: u64,
    /// Engine events handled.
    pub events: u64,
    /// Largest number of calls in flight at once (memory bound check).
    pub peak_live_calls: u64,
    /// Tasks started.
    pub tasks: u64,
    /// Tasks that succeeded.
    pub tasks_succeeded: u64,
    /// Tasks still running when the run ended: judged as failures.
    #[serde(default)]
    pub open_tasks: u64,
    /// Tool calls made.
    pub tool_calls: u64,
    /// Calls that landed on a different endpoint than their task's previous call.
    pub migrations: u64,
    /// Task-table slots allocated (the most tasks in flight at once).
    pub peak_live_tasks: u64,
}

impl RunStats {
    /// Adds another replication's counters; peaks take the maximum.
    pub fn add(&mut self, other: &RunStats) {
        let RunStats {
            calls,
            completed,
            failed,
            open_calls,
            attempts,
            billed_unfinished_attempts,
            audit_events,
            events,
            peak_live_calls,
            tasks,
            tasks_succeeded,
            open_tasks,
            tool_calls,
            migrations,
            peak_live_tasks,
        } = *other;
        self.calls += calls;
        self.completed += completed;
        self.failed += failed;
        self.open_calls += open_calls;
        self.attempts += attempts;
        self.billed_unfinished_attempts += billed_unfinished_attempts;
        self.audit_events += audit_events;
        self.events += events;
        self.tasks += tasks;
        self.tasks_succeeded += tasks_succeeded;
        self.open_tasks += open_tasks;
        self.tool_calls += tool_calls;
        self.migrations += migrations;
        self.peak_live_calls = self.peak_live_calls.max(peak_live_calls);
        self.peak_live_tasks = self.peak_live_tasks.max(peak_live_tasks);
    }
}
