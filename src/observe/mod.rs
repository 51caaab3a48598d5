//! The SLA observers: the one place where what a router driver sees (calls
//! submitted, the router's dispatches and ends of calls, attempts that
//! failed, served attempts' prices, tasks, and the router's tenant-level
//! audit events) becomes the events the clauses judge (`sla::Recorder`).
//!
//! Two drivers feed the same [`Observer`]: the simulated world
//! (`model::World`) as it carries out the router's actions, and `judge`
//! replaying a gateway's logs (the request log for calls and fallbacks,
//! the audit log for tier changes and notices). What a clause is computed
//! from is therefore decided here once: fallback timing per call
//! ([`ObservedCall`]), notices and tier periods per tenant (`tiers.rs`),
//! blame (a function of time and endpoint the driver supplies: the world
//! knows its endpoints' outages, a log does not).
//!
//! **Architecture Invariant:** observers decide nothing and drive nothing:
//! tiers, notices and dispatches are the router's; the observers only time
//! them. They hold per call only what a driver keeps in its own call table
//! (an [`ObservedCall`]) and per tenant its pending notices; memory does
//! not grow with calls.

mod call;
mod tiers;

pub use call::{CallFallback, NO_ENDPOINT, ObservedCall};
pub use tiers::TimelineRow;

use crate::policy::{AuditEvent, AuditKind};
use crate::sla::{Attainment, CallEnd, CallOutcome, Cause, Clause, LazyCause, Measures, Quality, Recorder, Window};
use crate::time::{Span, Time};
use tiers::TenantTiers;

/// Blame for a bad event at a time on an endpoint index (out of range,
/// e.g. [`NO_ENDPOINT`]: the router).
pub trait Blame {
    /// The cause of a bad event at `at` on endpoint `endpoint`.
    fn cause(&self, at: Time, endpoint: u32) -> Cause;
}

impl<F: Fn(Time, u32) -> Cause> Blame for F {
    fn cause(&self, at: Time, endpoint: u32) -> Cause {
        self(at, endpoint)
    }
}

/// What the observers turned one run (or one set of logs) into.
#[derive(Debug)]
pub struct Observed {
    /// Every clause × window judgement.
    pub attainment: Vec<Attainment>,
    /// Pooled latency counts, budget use and blame.
    pub measures: Measures,
    /// Tenant tier periods, when asked for ([`Observer::record_timeline`]).
    pub tier_rows: Option<Vec<TimelineRow>>,
}

/// The SLA observers of one run: the recorder of every clause, fed the
/// events derived here.
pub struct Observer {
    recorder: Recorder,
    tiers: TenantTiers,
}

impl Observer {
    /// Observers for `clauses` over the period from `start` (`duration`
    /// long), of tenants named `tenants` (`notify[t]`: tenant `t` gets
    /// degradation notices), `workflows[t]` workflows each, over the
    /// endpoints whose quality `quality` gives (with the seed of the
    /// quality clauses' audits).
    pub fn new(
        clauses: Vec<Clause>,
        start: chrono::NaiveDateTime,
        duration: Span,
        tenants: Vec<String>,
        notify: Vec<bool>,
        workflows: &[usize],
        quality: Quality,
    ) -> Observer {
        Observer {
            recorder: Recorder::new(clauses, start, duration, workflows, quality),
            tiers: TenantTiers::new(tenants, notify),
        }
    }

    /// Keeps the timeline's tenant tier periods (at most 20,000 rows).
    pub fn record_timeline(&mut self) {
        self.tiers.record_timeline();
    }

    /// A call was submitted.
    pub fn call_submitted(&mut self, call: &ObservedCall) {
        self.recorder
            .call_submitted(call.tenant as usize, call.workflow as usize, call.submitted);
    }

    /// The router dispatched an attempt of `call` to `endpoint` at `now`:
    /// the end of a fallback if the call failed on its first endpoint and
    /// now leaves it.
    pub fn dispatched(&mut self, call: &mut ObservedCall, now: Time, endpoint: u32, blame: &impl Blame) {
        if let Some(delay) = call.dispatched(now, endpoint) {
            // Blame is needed only for a fallback: spare the lookup on
            // every other dispatch.
            let cause = blame.cause(call.failed_first, call.first_endpoint);
            self.recorder.fallback(
                call.tenant as usize,
                call.workflow as usize,
                call.submitted,
                Some(delay),
                cause,
            );
        }
    }

    /// A served (or partly served) attempt of a call of `tenant`'s
    /// `workflow` submitted at `submitted` was billed `usd`.
    pub fn cost(&mut self, tenant: u32, workflow: u32, submitted: Time, usd: f64) {
        self.recorder.cost(tenant as usize, workflow as usize, submitted, usd);
    }

    /// `call` ended at `now`: served by endpoint `served_by` at the tier in
    /// `outcome`, failed, or still open at the end of the run (its cause
    /// then `open_cause`, where it was stuck). A call that failed on its
    /// first endpoint and never left it is a fallback that never happened.
    pub fn call_ended(
        &mut self,
        call: &ObservedCall,
        now: Time,
        outcome: CallOutcome,
        served_by: Option<u32>,
        blame: &impl Blame,
    ) {
        // Worked out only if a clause blames the call.
        let cause = || blame.cause(now, call.blamed(served_by));
        self.call_end(call, now, outcome, cause, served_by, blame);
    }

    /// A call still open at the end of the run (`end`), stuck at `at_endpoint`
    /// (an attempt out there) or in the router.
    pub fn call_open(&mut self, call: &ObservedCall, end: Time, at_endpoint: Option<u32>, blame: &impl Blame) {
        let cause = match at_endpoint {
            Some(e) => blame.cause(end, e),
            None => Cause::Router,
        };
        self.call_end(call, end, CallOutcome::Open, cause, None, blame);
    }

    fn call_end(
        &mut self,
        call: &ObservedCall,
        ended: Time,
        outcome: CallOutcome,
        cause: impl LazyCause,
        served_by: Option<u32>,
        blame: &impl Blame,
    ) {
        let (tenant, workflow) = (call.tenant as usize, call.workflow as usize);
        self.recorder.call_done(
            tenant,
            workflow,
            CallEnd {
                submitted: call.submitted,
                ended,
                outcome,
                cause,
                served_by,
            },
        );
        if !matches!(outcome, CallOutcome::Served { .. })
            && let Some((failed, endpoint)) = call.stranded()
        {
            let cause = blame.cause(failed, endpoint);
            self.recorder.fallback(tenant, workflow, call.submitted, None, cause);
        }
    }

    /// A call the client withdrew at `ended` (a real log's `cancelled`
    /// row), last at `at_endpoint` if it had reached one: only latency
    /// clauses count it, censored at its wait ([`Recorder::call_withdrawn`]).
    pub fn call_withdrawn(
        &mut self,
        call: &ObservedCall,
        ended: Time,
        first_token: Option<Time>,
        at_endpoint: Option<u32>,
        blame: &impl Blame,
    ) {
        let cause = at_endpoint.map_or(Cause::Router, |e| blame.cause(ended, e));
        self.recorder.call_withdrawn(
            call.tenant as usize,
            call.workflow as usize,
            call.submitted,
            ended,
            first_token,
            cause,
        );
    }

    /// A task of `tenant`'s `workflow` that started at `started` ended:
    /// succeeded after `latency`, or failed (`None`).
    pub fn task_ended(&mut self, tenant: u32, workflow: u32, started: Time, latency: Option<Span>) {
        self.recorder
            .task_done(tenant as usize, workflow as usize, started, latency);
    }

    /// A task still open at the end of the run.
    pub fn task_open(&mut self, tenant: u32, workflow: u32, started: Time) {
        self.recorder.task_open(tenant as usize, workflow as usize, started);
    }

    /// One router audit event, in the order the router emitted it: tier
    /// changes and notices feed the notification clause and the timeline;
    /// other kinds concern no clause.
    pub fn router_event(&mut self, event: &AuditEvent, blame: &impl Blame) {
        if matches!(
            event.kind,
            AuditKind::Degraded { .. } | AuditKind::Promoted { .. } | AuditKind::Notification { .. }
        ) {
            self.tiers
                .on_event(event, &mut self.recorder, |at, e| blame.cause(at, e));
        }
    }

    /// The windows of every clause, in clause order.
    pub fn windows(&self) -> Vec<Vec<Window>> {
        self.recorder.windows()
    }

    /// Judges every window: degradations never told count unnotified,
    /// open tier periods close at `end` (the period's end).
    pub fn finish(mut self, end: Time) -> Observed {
        let tier_rows = self.tiers.finish(end, &mut self.recorder);
        let (attainment, measures) = self.recorder.finish();
        Observed {
            attainment,
            measures,
            tier_rows,
        }
    }
}
