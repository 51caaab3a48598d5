//! The observer of tenant tiers: it follows the router's
//! tenant-level audit events (`degraded`, `promoted`, `notification`) and
//! turns them into the notification clause's events and the timeline's
//! tier rows.
//!
//! This module owns no policy: when a tenant is degraded, promoted or told
//! is the router's decision. It only measures, per degradation, the time
//! from the failure that degraded the tenant (the event's `since`) to the
//! notice that told it:
//! - a notice whose tier is at least the degradation's resolves it;
//! - a degradation to a tier the tenant was already told (its recovery
//!   notice was held back by `notice_interval`) is told as it happens;
//! - a promotion below a degradation's tier before any notice told it
//!   means the tenant was never told: the degradation counts unnotified;
//! - a tenant without notices, and every degradation still untold at the
//!   end of the run, counts unnotified.

use crate::policy::{AuditEvent, AuditKind, Tier};
use crate::sla::{Cause, Recorder};
use crate::time::{Span, Time};

/// One row of the sample replication's timeline.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TimelineRow {
    /// An endpoint's name (outages) or a tenant's (tiers).
    pub lane: String,
    /// `outage` or `tier`.
    pub kind: String,
    /// First instant.
    pub start: Time,
    /// First instant after.
    pub end: Time,
    /// The outage mode, or the tier the tenant was degraded to.
    pub detail: String,
}

/// Tier rows a timeline keeps at most (outages are always kept).
const TIMELINE_LIMIT: usize = 20_000;

/// Degradations of a tenant to the same tier less than this apart are one
/// row of the timeline.
const TIMELINE_GAP: Span = Span::from_secs(60);

/// A degradation waiting for its notice.
#[derive(Clone, Copy, Debug)]
struct PendingNotice {
    tenant: u32,
    workflow: u32,
    /// The failure that degraded the tenant.
    since: Time,
    /// The tier it was degraded to.
    tier: Tier,
    cause: Cause,
}

/// Tenant tiers as the router reports them, for notices and the timeline.
#[derive(Debug)]
pub(crate) struct TenantTiers {
    /// Whether each tenant asked for notices.
    notify: Vec<bool>,
    /// The tier each tenant was last told.
    notified: Vec<Tier>,
    pending: Vec<PendingNotice>,
    /// The timeline of tier periods, when asked for, with each tenant's
    /// open degradation (start, tier) and latest row.
    timeline: Option<Vec<TimelineRow>>,
    degraded_since: Vec<Option<(Time, Tier)>>,
    last_row: Vec<Option<usize>>,
    names: Vec<String>,
}

impl TenantTiers {
    /// An observer of tenants named `names`, `notify[t]` when tenant `t`
    /// asked for notices.
    pub(crate) fn new(names: Vec<String>, notify: Vec<bool>) -> TenantTiers {
        let n = names.len();
        TenantTiers {
            notify,
            notified: vec![Tier::PRIMARY; n],
            pending: Vec::new(),
            timeline: None,
            degraded_since: vec![None; n],
            last_row: vec![None; n],
            names,
        }
    }

    /// Keeps the timeline's tier rows.
    pub(crate) fn record_timeline(&mut self) {
        self.timeline = Some(Vec::new());
    }

    /// Takes one router audit event; `cause` blames a bad event at a time
    /// on an endpoint (or the router).
    pub(crate) fn on_event(&mut self, e: &AuditEvent, recorder: &mut Recorder, cause: impl Fn(Time, u32) -> Cause) {
        let Some(t) = e.tenant.map(|t| t.0) else { return };
        let ti = t as usize;
        match e.kind {
            AuditKind::Degraded { to, since, .. } => {
                let workflow = e.workflow.map_or(0, |w| w.0);
                let blame = cause(since, e.endpoint.map_or(u32::MAX, |x| x.0));
                if !self.notify.get(ti).copied().unwrap_or(false) {
                    recorder.notice(ti, workflow as usize, since, None, blame);
                } else if self.notified[ti] >= to {
                    recorder.notice(ti, workflow as usize, since, Some(e.at.saturating_since(since)), blame);
                } else {
                    self.pending.push(PendingNotice {
                        tenant: t,
                        workflow,
                        since,
                        tier: to,
                        cause: blame,
                    });
                }
                self.moved(ti, e.at, to);
            }
            AuditKind::Promoted { to, .. } => {
                self.resolve(recorder, |p| p.tenant == t && p.tier > to, None);
                self.moved(ti, e.at, to);
            }
            AuditKind::Notification { to, .. } => {
                self.notified[ti] = to;
                self.resolve(recorder, |p| p.tenant == t && p.tier <= to, Some(e.at));
            }
            _ => {}
        }
    }

    /// Resolves the pending notices `which` accepts: told at `told`, or
    /// never told.
    fn resolve(&mut self, recorder: &mut Recorder, which: impl Fn(&PendingNotice) -> bool, told: Option<Time>) {
        let mut k = 0;
        while k < self.pending.len() {
            let p = self.pending[k];
            if which(&p) {
                let delay = told.map(|at| at.saturating_since(p.since));
                recorder.notice(p.tenant as usize, p.workflow as usize, p.since, delay, p.cause);
                self.pending.swap_remove(k);
            } else {
                k += 1;
            }
        }
    }

    /// Tenant `t` moved to `tier` at `now`: the timeline's periods.
    fn moved(&mut self, t: usize, now: Time, tier: Tier) {
        if self.timeline.is_none() {
            return;
        }
        if let Some((start, old)) = self.degraded_since[t].take() {
            self.push_row(t, start, now, old);
        }
        if tier > Tier::PRIMARY {
            self.degraded_since[t] = Some((now, tier));
        }
    }

    /// Adds tenant `t`'s degradation to `tier` over `[start, end)` to the
    /// timeline, extending its previous row when it is the same tier and
    /// ended less than [`TIMELINE_GAP`] before.
    fn push_row(&mut self, t: usize, start: Time, end: Time, tier: Tier) {
        let Some(rows) = self.timeline.as_mut() else { return };
        let detail = tier.0.to_string();
        if let Some(i) = self.last_row[t]
            && let Some(row) = rows.get_mut(i)
            && row.detail == detail
            && start.saturating_since(row.end) < TIMELINE_GAP
        {
            row.end = end;
            return;
        }
        if rows.len() < TIMELINE_LIMIT {
            self.last_row[t] = Some(rows.len());
            rows.push(TimelineRow {
                lane: self.names[t].clone(),
                kind: "tier".into(),
                start,
                end,
                detail,
            });
        }
    }

    /// At the end of the run: every degradation still untold counts
    /// unnotified; open degradations close at `end` (the period's end);
    /// returns the tier rows, if kept.
    pub(crate) fn finish(&mut self, end: Time, recorder: &mut Recorder) -> Option<Vec<TimelineRow>> {
        self.resolve(recorder, |_| true, None);
        for t in 0..self.degraded_since.len() {
            if let Some((start, tier)) = self.degraded_since[t].take() {
                self.push_row(t, start, end.max(start), tier);
            }
        }
        self.timeline.take()
    }
}
