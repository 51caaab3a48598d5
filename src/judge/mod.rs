//! `slaplan judge`: a scenario's clauses judged on real request logs, by
//! the same [`Observer`] the simulator feeds, as one replication ("what
//! happened"), so `report` draws the same review for a real month.
//!
//! This module owns turning log records ([`crate::logs::CallRecord`], from
//! any reader: the gateway's request log, LiteLLM spend logs, OTLP GenAI
//! spans; and [`AuditRecord`]s from the router's audit log) into the
//! observers' events, and saying how far the logs cover
//! each window. It writes nothing: the CLI writes the outputs.
//!
//! # What a log row becomes
//!
//! - A model record is one call, submitted at its start and ended at its
//!   end (a LiteLLM spend log's rows sharing a `trace_id` are the attempts
//!   of one call, merged first by `attempts.rs`: from the first start to
//!   the served attempt's end, served when any attempt was): served at
//!   its tier (0 when the log has none) with its first token (its end
//!   when the log has none), or failed; turned away
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
//!   `invalid_request`) are counted and left out of every clause, but for
//!   one rule: a call the client `cancelled` may have been a slow call
//!   given up on, so its latency is censored at its wait. A latency
//!   clause whose threshold the wait passed counts it as a breach ranked
//!   above every served call, as a call still open; a time-to-first-token
//!   clause counts its first token if it had one (else the same rule). A
//!   shorter wait is no evidence, and the call stays out.
//! - Fallback: a record carrying its fallback (the gateway's request log:
//!   its first endpoint, when the attempt there failed, and where and when
//!   it went next) replays those dispatches and that failure into the
//!   call's [`ObservedCall`], so the fallback clause is timed by the same
//!   rule as in the simulator. Judged only when every log is a request log
//!   (LiteLLM spend logs and OTLP spans do not record fallbacks).
//! - Notices: the router's audit logs (`--audit-log`: degradations,
//!   promotions and notices, placed by their UTC `time`) go to the same
//!   tier observer the simulator feeds. Without an audit log the
//!   notification clause is not judged.
//! - Blame: a bad call is put on the endpoint the observers blame (the
//!   first endpoint of a call that had to leave it, the serving endpoint,
//!   the record's endpoint for a failure), never "in an outage": a log does
//!   not know the provider's incidents; else on the router.
//!
//! [`Judged::skipped`] lists the clauses the logs given cannot judge, and
//! why.
//!
//! **Architecture Invariant:** memory is bounded by the clauses, the period,
//! the tasks open within [`TASK_GAP`] of the newest row and the calls whose
//! attempts may still come (`attempts::ATTEMPT_GAP`), never by the rows read.

mod attempts;
mod coverage;

use std::collections::HashMap;
use std::path::PathBuf;

use serde::Serialize;

pub use coverage::{Coverage, CoverageRow, coverage_csv};

use crate::logs::{
    AuditReader, AuditRecord, CLIENT_OUTCOMES, CallRecord, LogError, LogFormat, LogReader, RecordKind, Status,
};
use crate::model::RunStats;
use crate::observe::{Blame, NO_ENDPOINT, ObservedCall, Observer};
use crate::plan::Replication;
use crate::policy::{AuditKind, EndpointId, TenantId, WorkflowId};
use crate::scenario::Scenario;
use crate::sla::{CallOutcome, Cause, Clause, ClauseKind, Quality};
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
    /// Request-log rows that cannot say whether their calls fell back, with
    /// a fallback-time clause to judge: judging it on them would pass it
    /// without evidence.
    #[error(
        "{rows} row(s) of the request log(s) have no `fallback` field (the client side of `slaplan load`, or a \
         log written before the field existed), so they cannot tell whether their calls fell back: {clauses} \
         cannot be judged on them. Judge the gateway's own request log (serve --request-log) or a simulated \
         one (run --request-log)"
    )]
    FallbackUnrecorded {
        /// Rows without the field.
        rows: u64,
        /// The fallback-time clauses, as `tenant clause`.
        clauses: String,
    },
    /// Served rows that do not name an endpoint of the scenario, with a
    /// quality clause of their tenant to judge: the quality of their
    /// answers is unknown, and guessing it would judge the clause on no
    /// evidence.
    #[error(
        "{rows} served row(s) name no endpoint of the scenario (no endpoint or deployment field, or one the \
         scenario does not list), so the quality of their answers is unknown: {clauses} cannot be judged on \
         them. Name each deployment as the scenario's endpoint (its `name`)"
    )]
    QualityUnknown {
        /// Served rows without a known endpoint, of tenants with a quality clause.
        rows: u64,
        /// The quality clauses, as `tenant clause`.
        clauses: String,
    },
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
    /// Rows that were a further attempt (a retry or a fallback) of a call
    /// already read (LiteLLM rows sharing a `trace_id`), merged into it.
    pub attempts_merged: u64,
    /// Router audit events read (every kind).
    pub audit_events: u64,
    /// Audit events of a tenant the scenario does not have, left out.
    pub audit_unmatched: u64,
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

/// What the logs given can tell, beyond calls: which clauses they can judge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Evidence {
    /// Every call record says whether (and how) the call fell back: true
    /// for the gateway's request log, false for LiteLLM and OTLP logs.
    pub fallbacks: bool,
    /// The router's audit events (tier changes and notices) are given.
    pub notices: bool,
}

/// Judges `scenario`'s clauses on the log files `logs` (any format
/// [`LogReader`] reads, mixed freely) and the router's audit logs `audit`
/// (for the notification clause). The first unreadable row is an error
/// naming its file, line and field.
pub fn judge(scenario: &Scenario, logs: &[PathBuf], audit: &[PathBuf]) -> Result<Judged, JudgeError> {
    if logs.is_empty() {
        return Err(JudgeError::NoLog);
    }
    let readers = logs.iter().map(LogReader::open).collect::<Result<Vec<_>, _>>()?;
    let evidence = Evidence {
        fallbacks: readers.iter().all(|r| r.format() == LogFormat::Slaplan),
        notices: !audit.is_empty(),
    };
    let mut judge = Judge::new(scenario, evidence)?;
    for reader in readers {
        // LiteLLM writes a row per attempt; the other formats a row per call.
        let per_attempt = reader.format() == LogFormat::Litellm;
        for record in reader {
            judge.add(&record?, per_attempt);
        }
    }
    for path in audit {
        for event in AuditReader::open(path)? {
            judge.add_event(&event?);
        }
    }
    judge.finish()
}

/// Judges `records` and audit events `events` (already read) as [`judge`]
/// does the rows of its logs; `evidence` says which clauses they can judge.
pub fn judge_records<'a>(
    scenario: &Scenario,
    records: impl IntoIterator<Item = &'a CallRecord>,
    events: impl IntoIterator<Item = &'a AuditRecord>,
    evidence: Evidence,
) -> Result<Judged, JudgeError> {
    let mut judge = Judge::new(scenario, evidence)?;
    for r in records {
        judge.add(r, false);
    }
    for e in events {
        judge.add_event(e);
    }
    judge.finish()
}

/// Whether logs with `evidence` can judge a clause of this kind; if not, why.
pub fn unjudgeable(kind: &ClauseKind, evidence: Evidence) -> Option<&'static str> {
    match kind {
        ClauseKind::FallbackTime { .. } if !evidence.fallbacks => Some(
            "LiteLLM spend logs and OTLP spans do not record when a call's attempt on its first endpoint failed \
             and when it went elsewhere; the gateway's request log does",
        ),
        ClauseKind::Notification { .. } if !evidence.notices => Some(
            "the degradations and notices are in the router's audit log: pass it with --audit-log (serve \
             --audit-log, run --audit-log)",
        ),
        _ => None,
    }
}

/// Blame from a log: the endpoint, never in an outage (a log does not know
/// the providers' incidents); out of range, the router.
struct LogBlame(u32);

impl Blame for LogBlame {
    fn cause(&self, _at: Time, endpoint: u32) -> Cause {
        if endpoint < self.0 {
            Cause::Endpoint {
                index: endpoint,
                outage: false,
            }
        } else {
            Cause::Router
        }
    }
}

/// Stand-ins for endpoints a log names that the scenario does not have
/// (distinct, so the fallback rule still tells them apart; blamed on the
/// router).
const UNKNOWN_FROM: u32 = NO_ENDPOINT - 1;
const UNKNOWN_TO: u32 = NO_ENDPOINT - 2;

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
    observer: Observer,
    blame: LogBlame,
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
    /// Judged rows that do not say whether their call fell back.
    fallback_unrecorded: u64,
    /// Per tenant: served rows that name no endpoint of the scenario.
    served_unknown: Vec<u64>,
    /// Calls whose attempts may still come (logs with a row per attempt).
    attempts: attempts::Attempts,
}

impl<'s> Judge<'s> {
    fn new(scenario: &'s Scenario, evidence: Evidence) -> Result<Judge<'s>, JudgeError> {
        let start = scenario.start();
        let epoch = start
            .and_utc()
            .timestamp_nanos_opt()
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| JudgeError::Start(scenario.simulation.start.clone()))?;
        let mut clauses = Vec::new();
        let mut skipped = Vec::new();
        for c in Clause::all(scenario) {
            match unjudgeable(&c.kind, evidence) {
                Some(reason) => skipped.push(Skipped {
                    tenant: c.tenant_name.clone(),
                    clause: c.describe(scenario),
                    reason,
                }),
                None => clauses.push(c),
            }
        }
        let workflows: Vec<usize> = scenario.tenants.iter().map(|t| t.workflows.len()).collect();
        let observer = Observer::new(
            clauses.clone(),
            start,
            scenario.simulation.duration,
            scenario.tenants.iter().map(|t| t.name.clone()).collect(),
            scenario.tenants.iter().map(|t| t.notify_on_degradation).collect(),
            &workflows,
            // The one "replication" of what happened is replication 0 of
            // the scenario's seed: a simulated log judged draws the same
            // quality audits as the simulator's replication 0.
            Quality {
                endpoints: scenario.endpoints.iter().map(|e| e.quality).collect(),
                seed: scenario.simulation.seed,
                replication: 0,
            },
        );
        Ok(Judge {
            scenario,
            observer,
            blame: LogBlame(scenario.endpoints.len() as u32),
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
            fallback_unrecorded: 0,
            served_unknown: vec![0; scenario.tenants.len()],
            attempts: attempts::Attempts::default(),
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

    /// One row; `per_attempt`: its log writes a row per attempt, grouped
    /// into calls by [`CallRecord::call`].
    fn add(&mut self, r: &CallRecord, per_attempt: bool) {
        self.rows.read += 1;
        if r.kind != RecordKind::Model {
            self.rows.not_calls += 1;
            return;
        }
        self.coverage.add(r.start, r.end);
        match r.call.as_deref() {
            Some(id) if per_attempt => {
                if let Some(call) = self.attempts.add(id, r) {
                    self.call(&call);
                }
                if self.rows.read.is_multiple_of(SWEEP_EVERY) {
                    for call in self.attempts.take(false) {
                        self.call(&call);
                    }
                }
            }
            _ => self.call(r),
        }
    }

    /// One call (all its attempts).
    fn call(&mut self, r: &CallRecord) {
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
            if r.error_type.as_deref() == Some("cancelled") {
                // A client that gave up may have given up on a slow call:
                // latency clauses count it, censored at its wait.
                let submitted = self.at(r.start);
                let call = ObservedCall::new(tenant as u32, workflow as u32, submitted);
                let endpoint = Some(self.endpoint(r.endpoint.as_deref(), NO_ENDPOINT)).filter(|&e| e != NO_ENDPOINT);
                let first_token = r.first_token.map(|t| self.at(t));
                self.observer
                    .call_withdrawn(&call, self.at(r.end), first_token, endpoint, &self.blame);
            }
            return;
        }
        self.rows.judged += 1;
        self.fallback_unrecorded += u64::from(!r.fallback_recorded);
        let submitted = self.at(r.start);
        let ended = self.at(r.end);
        let ok = r.status == Status::Ok;
        let endpoint = self.endpoint(r.endpoint.as_deref(), NO_ENDPOINT);
        let mut call = ObservedCall::new(tenant as u32, workflow as u32, submitted);
        self.observer.call_submitted(&call);
        // The dispatches and the failure the log records, replayed.
        match &r.fallback {
            Some(f) => {
                let from = self.endpoint(Some(&f.from), UNKNOWN_FROM);
                self.observer.dispatched(&mut call, submitted, from, &self.blame);
                call.attempt_failed(self.at(f.failed), from);
                if let Some((to, left)) = &f.left {
                    let to = self.endpoint(Some(to), UNKNOWN_TO);
                    self.observer.dispatched(&mut call, self.at(*left), to, &self.blame);
                }
            }
            None if endpoint != NO_ENDPOINT => {
                self.observer.dispatched(&mut call, submitted, endpoint, &self.blame);
            }
            None => {}
        }
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
        let served_by = (ok && endpoint != NO_ENDPOINT).then_some(endpoint);
        if ok && served_by.is_none() {
            self.served_unknown[tenant] += 1;
        }
        self.observer.call_ended(&call, ended, outcome, served_by, &self.blame);
        let usd = r.cost.or_else(|| {
            let (pi, po) = *self.prices.get(served_by? as usize)?;
            Some(f64::from(r.input_tokens.unwrap_or(0)) * pi + f64::from(r.output_tokens.unwrap_or(0)) * po)
        });
        if let Some(usd) = usd {
            self.observer.cost(tenant as u32, workflow as u32, submitted, usd);
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
        self.observer.task_ended(tenant as u32, workflow as u32, start, latency);
    }

    /// The index of the endpoint named `name` (`unknown` for a name the
    /// scenario does not have, [`NO_ENDPOINT`] for none).
    fn endpoint(&self, name: Option<&str>, unknown: u32) -> u32 {
        match name {
            None => NO_ENDPOINT,
            Some(n) => self
                .scenario
                .endpoints
                .iter()
                .position(|e| e.name == n)
                .map_or(unknown, |i| i as u32),
        }
    }

    /// One router audit event: its tenant, workflow and endpoint by index,
    /// its instants on the scenario's clock, to the tier observer.
    fn add_event(&mut self, r: &AuditRecord) {
        self.rows.audit_events += 1;
        self.stats.audit_events += 1;
        let tenant = r
            .tenant
            .as_deref()
            .and_then(|n| self.scenario.tenants.iter().position(|t| t.name == n));
        let Some(ti) = tenant else {
            if r.tenant.is_some() {
                self.rows.audit_unmatched += 1;
            }
            return;
        };
        let mut event = r.event;
        event.tenant = Some(TenantId(ti as u32));
        event.workflow = r
            .workflow
            .as_deref()
            .and_then(|n| self.scenario.tenants[ti].workflows.iter().position(|w| w.name == n))
            .map(|w| WorkflowId(w as u32));
        event.endpoint = r
            .endpoint
            .as_deref()
            .and_then(|n| self.scenario.endpoints.iter().position(|e| e.name == n))
            .map(|e| EndpointId(e as u32));
        event.at = self.at(event.at.as_nanos());
        if let AuditKind::Degraded { since, .. } = &mut event.kind {
            *since = self.at(since.as_nanos());
        }
        self.observer.router_event(&event, &self.blame);
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

    fn finish(mut self) -> Result<Judged, JudgeError> {
        for call in self.attempts.take(true) {
            self.call(&call);
        }
        self.rows.attempts_merged = self.attempts.merged;
        let fallback_clauses: Vec<String> = self
            .clauses
            .iter()
            .filter(|c| matches!(c.kind, ClauseKind::FallbackTime { .. }))
            .map(|c| format!("{} {}", c.tenant_name, c.describe(self.scenario)))
            .collect();
        if self.fallback_unrecorded > 0 && !fallback_clauses.is_empty() {
            return Err(JudgeError::FallbackUnrecorded {
                rows: self.fallback_unrecorded,
                clauses: fallback_clauses.join(", "),
            });
        }
        let unknown: Vec<&Clause> = self
            .clauses
            .iter()
            .filter(|c| {
                matches!(c.kind, ClauseKind::EvalPassRate { .. } | ClauseKind::MeanQuality { .. })
                    && self.served_unknown[c.tenant] > 0
            })
            .collect();
        if !unknown.is_empty() {
            let mut tenants: Vec<usize> = unknown.iter().map(|c| c.tenant).collect();
            tenants.dedup();
            return Err(JudgeError::QualityUnknown {
                rows: tenants.iter().map(|t| self.served_unknown[*t]).sum(),
                clauses: unknown
                    .iter()
                    .map(|c| format!("{} {}", c.tenant_name, c.describe(self.scenario)))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        self.sweep(true);
        let windows = self.observer.windows();
        let coverage = Coverage::new(
            self.scenario,
            &self.clauses,
            &windows,
            self.coverage.relative(self.epoch),
        );
        let observed = self.observer.finish(self.end);
        let (attainment, measures) = (observed.attainment, observed.measures);
        Ok(Judged {
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
        })
    }
}
