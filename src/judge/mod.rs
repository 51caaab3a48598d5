//! `slaplan judge`: a scenario's clauses judged on real request logs, by
//! the same [`Recorder`] the simulator feeds, as one replication ("what
//! happened"), so `report` draws the same review for a real month.
//!
//! This module owns turning log records ([`crate::logs::CallRecord`], from
//! any reader: the gateway's request log, LiteLLM spend logs, OTLP GenAI
//! spans) into the recorder's events, and saying how far the logs cover
//! each window. It writes nothing: the CLI writes the outputs.
//!
//! # What a log row becomes
//!
//! - A model record is one call, submitted at its start and ended at its
//!   end: served at its tier (0 when the log has none) with its first
//!   token (its end when the log has none), or failed; turned away
//!   (throughput) when the record says capacity refused it (a 429, no
//!   eligible endpoint). It counts against the tenant named by the record's
//!   tenant (else its key) and the workflow named by its workflow (else the
//!   tenant's only workflow); rows of other tenants or workflows are
//!   counted and left out.
//! - Calls sharing a task id are one task, from the first call's start to
//!   the last call's end, succeeded when every call did; a call without a
//!   task id is a task of its own. A task is closed once the logs have gone
//!   [`TASK_GAP`] past its last call (memory holds only the tasks of that
//!   last stretch), and at the end.
//! - Cost: the record's price when the log has one, else the serving
//!   endpoint's list price for the call's tokens (failed attempts, which a
//!   request log does not itemise, cost nothing).
//! - Calls the client ended or got wrong (`client_error`, `cancelled`,
//!   `invalid_request`) are counted and left out of every clause.
//! - Blame: a bad call is put on the endpoint the record names (never "in
//!   an outage": a log does not know the provider's incidents), else on the
//!   router.
//!
//! Fallback-time and notification clauses need the attempts' times and the
//! router's notices, which a request log does not hold: they are not
//! judged, and [`Judged::skipped`] says so.
//!
//! **Architecture Invariant:** memory is bounded by the clauses, the period
//! and the tasks open within [`TASK_GAP`] of the newest row, never by the
//! rows read.

mod coverage;

use std::collections::HashMap;
use std::path::PathBuf;

use serde::Serialize;

pub use coverage::{Coverage, CoverageRow, coverage_csv};

use crate::logs::{CLIENT_OUTCOMES, CallRecord, LogError, LogReader, RecordKind, Status};
use crate::model::RunStats;
use crate::plan::Replication;
use crate::scenario::Scenario;
use crate::sla::{CallEnd, CallOutcome, Cause, Clause, ClauseKind, Recorder};
use crate::time::{Span, Time};

/// A task with no new call for this long (in log time) is closed.
pub const TASK_GAP: Span = Span::from_secs(3600);

/// Rows between sweeps for closed tasks.
const SWEEP_EVERY: u64 = 4096;

/// Why logs could not be judged.
#[derive(Debug, thiserror::Error)]
pub enum JudgeError {
    /// A row could not be read (names file, line and field).
    #[error(transparent)]
    Log(#[from] LogError),
    /// The scenario's start is not a time the logs can be placed against.
    #[error("the scenario's simulation.start {0:?} is before 1970 or after 2554")]
    Start(String),
    /// No log was given.
    #[error("no log given: pass at least one --log FILE")]
    NoLog,
}

/// A clause the logs cannot judge, and why.
#[derive(Clone, Debug, Serialize)]
pub struct Skipped {
    /// The tenant's name.
    pub tenant: String,
    /// The clause as the summary labels it.
    pub clause: String,
    /// Why it is not judged.
    pub reason: &'static str,
}

/// What the rows read came to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RowCounts {
    /// Records read from every log.
    pub read: u64,
    /// Model calls judged.
    pub judged: u64,
    /// Tool and agent records (not calls).
    pub not_calls: u64,
    /// Calls of a tenant or workflow the scenario does not have.
    pub unmatched: u64,
    /// Calls submitted outside the scenario's period.
    pub outside_period: u64,
    /// Calls the client ended or got wrong, left out.
    pub client_outcome: u64,
}

/// The judgement of a set of logs.
#[derive(Clone, Debug)]
pub struct Judged {
    /// The clauses judged (the scenario's, less [`Judged::skipped`]), in
    /// the scenario's order: `replication`'s clause indices are into this.
    pub clauses: Vec<Clause>,
    /// The one "replication": what happened.
    pub replication: Replication,
    /// Clauses the logs cannot judge.
    pub skipped: Vec<Skipped>,
    /// How far the logs cover each window of each clause judged.
    pub coverage: Coverage,
    /// What the rows came to.
    pub rows: RowCounts,
}

/// Judges `scenario`'s clauses on the log files `logs` (any format
/// [`LogReader`] reads, mixed freely). The first unreadable row is an
/// error naming its file, line and field.
pub fn judge(scenario: &Scenario, logs: &[PathBuf]) -> Result<Judged, JudgeError> {
    if logs.is_empty() {
        return Err(JudgeError::NoLog);
    }
    let mut judge = Judge::new(scenario)?;
    for path in logs {
        for record in LogReader::open(path)? {
            judge.add(&record?);
        }
    }
    Ok(judge.finish())
}

/// Judges `records` (already read) as [`judge`] does the rows of its logs.
pub fn judge_records<'a>(
    scenario: &Scenario,
    records: impl IntoIterator<Item = &'a CallRecord>,
) -> Result<Judged, JudgeError> {
    let mut judge = Judge::new(scenario)?;
    for r in records {
        judge.add(r);
    }
    Ok(judge.finish())
}

/// Whether the request log can judge a clause of this kind; if not, why.
pub fn unjudgeable(kind: &ClauseKind) -> Option<&'static str> {
    match kind {
        ClauseKind::FallbackTime { .. } => Some(
            "a request log does not hold the times of each attempt, so the time from a call's first failure \
             to its next dispatch is unknown",
        ),
        ClauseKind::Notification { .. } => Some("a request log does not hold the router's degradation notices"),
        _ => None,
    }
}

/// A task seen in the logs, still open.
#[derive(Clone, Copy, Debug)]
struct OpenTask {
    tenant: usize,
    workflow: usize,
    start: Time,
    end: Time,
    ok: bool,
}

/// The judge's state while rows stream in.
struct Judge<'s> {
    scenario: &'s Scenario,
    recorder: Recorder,
    /// The scenario's start, in nanoseconds since the epoch.
    epoch: u64,
    /// The period's end (relative).
    end: Time,
    tasks: HashMap<(usize, usize, String), OpenTask>,
    /// The latest call end seen (relative), for closing tasks.
    newest: Time,
    stats: RunStats,
    rows: RowCounts,
    coverage: coverage::Extent,
    /// `(input, output)` USD per token of each endpoint.
    prices: Vec<(f64, f64)>,
    clauses: Vec<Clause>,
    skipped: Vec<Skipped>,
}

impl<'s> Judge<'s> {
    fn new(scenario: &'s Scenario) -> Result<Judge<'s>, JudgeError> {
        let start = scenario.start();
        let epoch = start
            .and_utc()
            .timestamp_nanos_opt()
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| JudgeError::Start(scenario.simulation.start.clone()))?;
        let mut clauses = Vec::new();
        let mut skipped = Vec::new();
        for c in Clause::all(scenario) {
            match unjudgeable(&c.kind) {
                Some(reason) => skipped.push(Skipped {
                    tenant: c.tenant_name.clone(),
                    clause: c.describe(scenario),
                    reason,
                }),
                None => clauses.push(c),
            }
        }
        let workflows: Vec<usize> = scenario.tenants.iter().map(|t| t.workflows.len()).collect();
        let recorder = Recorder::new(
            clauses.clone(),
            start,
            scenario.simulation.duration,
            &workflows,
            scenario.endpoints.len(),
        );
        Ok(Judge {
            scenario,
            recorder,
            epoch,
            end: Time::ZERO + scenario.simulation.duration,
            tasks: HashMap::new(),
            newest: Time::ZERO,
            stats: RunStats::default(),
            rows: RowCounts::default(),
            coverage: coverage::Extent::default(),
            prices: scenario
                .endpoints
                .iter()
                .map(|e| (e.cost_per_million_input / 1e6, e.cost_per_million_output / 1e6))
                .collect(),
            clauses,
            skipped,
        })
    }

    /// A log time as an instant of the scenario (saturating at its start).
    fn at(&self, ns: u64) -> Time {
        Time::from_nanos(ns.saturating_sub(self.epoch))
    }

    /// The tenant and workflow indices a record belongs to.
    fn owner(&self, r: &CallRecord) -> Option<(usize, usize)> {
        let name = r.tenant.as_deref().or(r.key.as_deref())?;
        let ti = self.scenario.tenants.iter().position(|t| t.name == name)?;
        let t = &self.scenario.tenants[ti];
        let wi = match r.workflow.as_deref() {
            Some(w) => t.workflows.iter().position(|x| x.name == w)?,
            None if t.workflows.len() == 1 => 0,
            None => return None,
        };
        Some((ti, wi))
    }

    fn add(&mut self, r: &CallRecord) {
        self.rows.read += 1;
        if r.kind != RecordKind::Model {
            self.rows.not_calls += 1;
            return;
        }
        self.coverage.add(r.start, r.end);
        let Some((tenant, workflow)) = self.owner(r) else {
            self.rows.unmatched += 1;
            return;
        };
        if r.start < self.epoch || self.at(r.start) >= self.end {
            self.rows.outside_period += 1;
            return;
        }
        if r.error_type.as_deref().is_some_and(|e| CLIENT_OUTCOMES.contains(&e)) {
            self.rows.client_outcome += 1;
            return;
        }
        self.rows.judged += 1;
        let submitted = self.at(r.start);
        let ended = self.at(r.end);
        let ok = r.status == Status::Ok;
        let endpoint = r
            .endpoint
            .as_deref()
            .and_then(|e| self.scenario.endpoints.iter().position(|x| x.name == e));
        let cause = endpoint.map_or(Cause::Router, |e| Cause::Endpoint {
            index: e as u32,
            outage: false,
        });
        let outcome = if ok {
            CallOutcome::Served {
                tier: r.tier.unwrap_or(0),
                first_token: r.first_token.map_or(ended, |t| self.at(t)),
            }
        } else {
            CallOutcome::Failed {
                rejected: r.turned_away,
            }
        };
        self.stats.calls += 1;
        if ok {
            self.stats.completed += 1;
        } else {
            self.stats.failed += 1;
        }
        self.recorder.call_submitted(tenant, workflow, submitted);
        self.recorder.call_done(
            tenant,
            workflow,
            CallEnd {
                submitted,
                ended,
                outcome,
                cause,
            },
        );
        let usd = r.cost.or_else(|| {
            let (pi, po) = *self.prices.get(endpoint?)?;
            ok.then(|| f64::from(r.input_tokens.unwrap_or(0)) * pi + f64::from(r.output_tokens.unwrap_or(0)) * po)
        });
        if let Some(usd) = usd {
            self.recorder.cost(tenant, workflow, submitted, usd);
        }
        self.newest = self.newest.max(ended);
        match &r.task {
            None => self.task_done(tenant, workflow, submitted, ended, ok),
            Some(id) => {
                let task = self.tasks.entry((tenant, workflow, id.clone())).or_insert(OpenTask {
                    tenant,
                    workflow,
                    start: submitted,
                    end: ended,
                    ok: true,
                });
                task.start = task.start.min(submitted);
                task.end = task.end.max(ended);
                task.ok &= ok;
            }
        }
        if self.rows.judged.is_multiple_of(SWEEP_EVERY) {
            self.sweep(false);
        }
    }

    fn task_done(&mut self, tenant: usize, workflow: usize, start: Time, end: Time, ok: bool) {
        self.stats.tasks += 1;
        if ok {
            self.stats.tasks_succeeded += 1;
        }
        let latency = ok.then(|| end.saturating_since(start));
        self.recorder.task_done(tenant, workflow, start, latency);
    }

    /// Closes the tasks quiet for [`TASK_GAP`] (every task with `all`).
    fn sweep(&mut self, all: bool) {
        let cutoff = self.newest.saturating_since(Time::ZERO);
        let mut closed: Vec<OpenTask> = Vec::new();
        self.tasks.retain(|_, t| {
            let quiet = all || t.end + TASK_GAP < Time::ZERO + cutoff;
            if quiet {
                closed.push(*t);
            }
            !quiet
        });
        // Closed in a fixed order (the map's is not): sums of costs are
        // then the same on every run.
        closed.sort_by_key(|t| (t.start, t.end, t.tenant, t.workflow, t.ok));
        for t in closed {
            self.task_done(t.tenant, t.workflow, t.start, t.end, t.ok);
        }
    }

    fn finish(mut self) -> Judged {
        self.sweep(true);
        let windows = self.recorder.windows();
        let coverage = Coverage::new(
            self.scenario,
            &self.clauses,
            &windows,
            self.coverage.relative(self.epoch),
        );
        let (attainment, measures) = self.recorder.finish();
        Judged {
            clauses: self.clauses,
            replication: Replication {
                index: 0,
                attainment,
                stats: self.stats,
                measures,
                timeline: None,
            },
            skipped: self.skipped,
            coverage,
            rows: self.rows,
        }
    }
}
