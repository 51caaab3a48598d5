//! Tenant tiers inside [`Router`]: when a tenant is degraded, how it is
//! promoted back (hysteresis and probes), its notices, and the suspension
//! and resumption of calls.
//!
//! A tenant's tier is where its new calls start. Calls that leave the
//! tenant's tier (an attempt failed there, or every endpoint of the pool
//! was unavailable) count in a streak that a success there resets; when
//! the streak reaches `degrade_after`, the next such call dispatched (or
//! suspended) at a worse tier degrades the tenant to that tier. After
//! `promote_after` at a tier, one call at a time probes from the top of the
//! chain; any of the tenant's calls served at a better tier after that
//! time promotes it. Notices follow the tier, at most one per
//! `notice_interval`. Suspended calls come back when their tenant is
//! promoted, when a tier 0 or 1 endpoint of their chain is seen serving
//! (breaker closed, cooldown over, or any successful attempt there), or
//! one at a time as the tenant's probe.

use super::calls::{CallState, Live};
use super::config::Tier;
use super::router::Router;
use super::timers::TimerKind;
use super::types::{Action, AuditEvent, AuditKind, CallId, EndpointId, TenantId, Trigger};
use crate::time::Time;

impl Router {
    /// Where a new call of `tenant`/`workflow` starts: `(pool, probe)`.
    /// A degraded tenant with no probe out whose probe time has come sends
    /// this call as its probe, from the top of the chain.
    pub(super) fn start_of(&self, now: Time, tenant: u32, workflow: u32) -> (u16, bool) {
        let ts = &self.tenants[tenant as usize];
        if ts.tier == Tier::PRIMARY {
            return (0, false);
        }
        if ts.probe.is_none() && now >= ts.next_probe {
            return (0, true);
        }
        let wp = &self.plan.tenants[tenant as usize].workflows[workflow as usize];
        (wp.start_pool(ts.tier), false)
    }

    /// The call in `slot` left a pool at `tier` (an attempt on `endpoint`
    /// failed, or every endpoint of the pool was unavailable): it counts
    /// towards degrading its tenant if `tier` is the tenant's tier.
    pub(super) fn note_left(&mut self, now: Time, slot: u32, tier: Tier, endpoint: EndpointId) {
        let c = self.calls.get_mut(slot);
        c.left = Some((tier, now, endpoint));
        let ts = &mut self.tenants[c.tenant as usize];
        if tier == ts.tier && c.counted != Some(tier) {
            c.counted = Some(tier);
            ts.streak += 1;
        }
    }

    /// The call in `slot` is about to be dispatched (or suspended: tier 4)
    /// at `tier`: a probe that fell back to its tenant's tier has failed,
    /// and a call that left the tenant's tier may degrade the tenant. Hedge
    /// legs are not degradations.
    pub(super) fn dispatch_tier(&mut self, now: Time, slot: u32, tier: Tier, hedge: bool) {
        if hedge {
            return;
        }
        let c = self.calls.get(slot);
        let t = c.tenant as usize;
        let ts = &self.tenants[t];
        if c.probe && tier >= ts.tier {
            self.probe_over(now, slot, true);
        }
        let c = self.calls.get(slot);
        let ts = &self.tenants[t];
        let degrades = tier > ts.tier
            && c.counted == Some(ts.tier)
            && ts.streak >= self.plan.tenants[t].degrade_after
            && c.trigger != Some(Trigger::Saturated);
        if degrades {
            self.degrade(now, slot, tier);
        }
    }

    /// The call in `slot` was served by `live`: a success at the tenant's
    /// tier ends its streak, one at a better tier after `promote_after`
    /// promotes it, and a tier 0 or 1 endpoint seen serving wakes suspended
    /// calls.
    pub(super) fn served(&mut self, now: Time, slot: u32, live: Live) {
        let t = self.calls.get(slot).tenant as usize;
        let promote_after = self.plan.tenants[t].promote_after;
        let ts = &mut self.tenants[t];
        if live.tier == ts.tier {
            ts.streak = 0;
        }
        if live.tier < ts.tier && now >= ts.since.saturating_add(promote_after) {
            self.promote(now, slot, live.tier, live.endpoint);
        }
        self.probe_over(now, slot, true);
        if live.tier <= Tier(1) {
            self.resume_on(now, live.endpoint);
        }
    }

    /// Degrades the tenant of the call in `slot` to `to`.
    fn degrade(&mut self, now: Time, slot: u32, to: Tier) {
        let c = self.calls.get(slot);
        let t = c.tenant as usize;
        let trigger = c.trigger.unwrap_or(Trigger::Unavailable);
        let (since, endpoint) = c.left.map_or((now, None), |(_, at, e)| (at, Some(e)));
        let promote_after = self.plan.tenants[t].promote_after;
        let ts = &mut self.tenants[t];
        let from = ts.tier;
        ts.tier = to;
        ts.since = now;
        ts.streak = 0;
        ts.next_probe = now.saturating_add(promote_after);
        let at = ts.next_probe;
        self.timers.set(at, TimerKind::Probe { tenant: t as u32 });
        let kind = AuditKind::Degraded {
            from,
            to,
            trigger,
            since,
        };
        self.audit(now, Some(slot), endpoint, kind);
        self.notice(now, t as u32);
    }

    /// Promotes the tenant of the call in `slot` (served on `endpoint`) to
    /// `to`, and resumes the suspended calls that can start there.
    fn promote(&mut self, now: Time, slot: u32, to: Tier, endpoint: EndpointId) {
        let t = self.calls.get(slot).tenant as usize;
        let promote_after = self.plan.tenants[t].promote_after;
        let ts = &mut self.tenants[t];
        let from = ts.tier;
        ts.tier = to;
        ts.since = now;
        ts.streak = 0;
        ts.next_probe = now.saturating_add(promote_after);
        if to > Tier::PRIMARY {
            let at = ts.next_probe;
            self.timers.set(at, TimerKind::Probe { tenant: t as u32 });
        }
        self.audit(now, Some(slot), Some(endpoint), AuditKind::Promoted { from, to });
        self.notice(now, t as u32);
        self.resume_tenant(now, t as u32);
    }

    /// The probe call in `slot` (if it is one) is over: served or fell
    /// back (`conclusive`: the next probe waits `promote_after`), or
    /// cancelled or refused as a bad request (the next call may probe at
    /// once).
    ///
    /// Inlined for its first test: every call's end calls it, and few
    /// calls are probes.
    #[inline]
    pub(super) fn probe_over(&mut self, now: Time, slot: u32, conclusive: bool) {
        if self.calls.get(slot).probe {
            self.end_probe(now, slot, conclusive);
        }
    }

    /// [`probe_over`](Router::probe_over) for a probe call.
    fn end_probe(&mut self, now: Time, slot: u32, conclusive: bool) {
        let c = self.calls.get_mut(slot);
        c.probe = false;
        let (t, id) = (c.tenant as usize, c.id);
        let promote_after = self.plan.tenants[t].promote_after;
        let ts = &mut self.tenants[t];
        if ts.probe != Some(id) {
            return;
        }
        ts.probe = None;
        if ts.tier == Tier::PRIMARY {
            return;
        }
        ts.next_probe = if conclusive {
            ts.next_probe.max(now.saturating_add(promote_after))
        } else {
            ts.next_probe.max(now)
        };
        let at = ts.next_probe;
        self.timers.set(at, TimerKind::Probe { tenant: t as u32 });
    }

    /// The probe timer of `tenant` fired: if it is still degraded with no
    /// probe out, its oldest suspended call (if any) goes as the probe,
    /// from the top of its chain. Without suspended calls, its next new
    /// call will.
    pub(super) fn probe_due(&mut self, now: Time, tenant: u32) {
        let ts = &self.tenants[tenant as usize];
        if ts.tier == Tier::PRIMARY || ts.probe.is_some() || now < ts.next_probe {
            return;
        }
        while let Some((slot, epoch)) = self.tenants[tenant as usize].suspended.pop_front() {
            let c = self.calls.get(slot);
            if c.epoch == epoch && c.state == CallState::Suspended {
                self.resume_call(now, slot, 0, true, None);
                return;
            }
        }
    }

    /// Tells `tenant` its tier if it asked for notices, its tier differs
    /// from the one it was last told, and its notice interval allows;
    /// otherwise arms the notice timer for when it does.
    pub(super) fn notice(&mut self, now: Time, tenant: u32) {
        let tp = &self.plan.tenants[tenant as usize];
        if !tp.notify {
            return;
        }
        let interval = tp.notice_interval;
        let ts = &mut self.tenants[tenant as usize];
        if ts.tier == ts.notified {
            return;
        }
        if let Some(last) = ts.last_notice
            && now < last.saturating_add(interval)
        {
            self.timers
                .set(last.saturating_add(interval), TimerKind::Notice { tenant });
            return;
        }
        let kind = AuditKind::Notification {
            from: ts.notified,
            to: ts.tier,
        };
        ts.notified = ts.tier;
        ts.last_notice = Some(now);
        self.events.push_back(AuditEvent {
            at: now,
            tenant: Some(TenantId(tenant)),
            workflow: None,
            call: None,
            endpoint: None,
            kind,
        });
    }

    /// Suspends the call in `slot` at suspend pool `pool`.
    pub(super) fn suspend(&mut self, now: Time, slot: u32, pool: u16) {
        self.dispatch_tier(now, slot, Tier::SUSPEND, false);
        self.set_state(slot, CallState::Suspended);
        let c = self.calls.get_mut(slot);
        c.suspended_at = now;
        let (t, epoch, call) = (c.tenant as usize, c.epoch, c.id);
        let tp = &self.plan.tenants[t];
        let tier = tp.workflows[c.workflow as usize].pools[pool as usize].tier;
        let max = tp.max_suspend;
        let live = self.calls.live();
        let calls = &self.calls;
        let list = &mut self.tenants[t].suspended;
        if list.len() > 2 * live + 32 {
            list.retain(|&(s, e)| calls.get(s).epoch == e && calls.get(s).state == CallState::Suspended);
        }
        list.push_back((slot, epoch));
        self.timers.set(now + max, TimerKind::SuspendLimit { slot, epoch });
        self.actions.push_back(Action::Suspend { call });
        let consent = tier != Tier::SUSPEND;
        self.audit(now, Some(slot), None, AuditKind::Suspended { tier, consent });
    }

    /// Endpoint `e` was seen serving (its breaker closed, its cooldown
    /// ended, or an attempt there succeeded): resumes the suspended calls
    /// whose chain has a tier 0 or 1 step on it; they restart from the top
    /// of their chain.
    ///
    /// Inlined for its first test: every success calls it, and almost
    /// never with a call suspended.
    #[inline]
    pub(super) fn resume_on(&mut self, now: Time, e: EndpointId) {
        if self.suspended_calls > 0 {
            self.resume_suspended_on(now, e);
        }
    }

    /// [`resume_on`](Router::resume_on) with calls suspended.
    fn resume_suspended_on(&mut self, now: Time, e: EndpointId) {
        for i in 0..self.plan.wakes[e.0 as usize].len() {
            let t = self.plan.wakes[e.0 as usize][i];
            let wakes = |r: &Router, slot: u32| {
                let c = r.calls.get(slot);
                let chain = &r.plan.tenants[c.tenant as usize].workflows[c.workflow as usize].chain;
                chain.iter().any(|s| !s.suspend && s.tier <= Tier(1) && s.endpoint == e)
            };
            self.resume_where(now, t, wakes, |_, _| 0, Some(e));
        }
    }

    /// After a promotion: resumes the tenant's suspended calls whose chain
    /// now starts at a serving pool, at that pool.
    fn resume_tenant(&mut self, now: Time, tenant: u32) {
        let tier = self.tenants[tenant as usize].tier;
        let start = move |r: &Router, slot: u32| {
            let c = r.calls.get(slot);
            r.plan.tenants[c.tenant as usize].workflows[c.workflow as usize].start_pool(tier)
        };
        let serving = move |r: &Router, slot: u32| {
            let c = r.calls.get(slot);
            let wp = &r.plan.tenants[c.tenant as usize].workflows[c.workflow as usize];
            !wp.pools[wp.start_pool(tier) as usize].suspend
        };
        self.resume_where(now, tenant, serving, start, None);
    }

    /// Resumes the live suspended calls of `tenant` that `wakes` accepts,
    /// each at the pool `start` gives; drops stale entries.
    fn resume_where(
        &mut self,
        now: Time,
        tenant: u32,
        wakes: impl Fn(&Router, u32) -> bool,
        start: impl Fn(&Router, u32) -> u16,
        endpoint: Option<EndpointId>,
    ) {
        if self.tenants[tenant as usize].suspended.is_empty() {
            return;
        }
        let list = std::mem::take(&mut self.tenants[tenant as usize].suspended);
        let mut keep = std::collections::VecDeque::new();
        let mut resume = Vec::new();
        for (slot, epoch) in list {
            let c = self.calls.get(slot);
            if c.epoch != epoch || c.state != CallState::Suspended {
                continue;
            }
            if wakes(self, slot) {
                resume.push((slot, start(self, slot)));
            } else {
                keep.push_back((slot, epoch));
            }
        }
        self.tenants[tenant as usize].suspended = keep;
        for (slot, pool) in resume {
            let c = self.calls.get(slot);
            if c.state == CallState::Suspended {
                self.resume_call(now, slot, pool, false, endpoint);
            }
        }
    }

    /// Resumes the suspended call in `slot` at pool `pool` (as its tenant's
    /// probe if `probe`).
    fn resume_call(&mut self, now: Time, slot: u32, pool: u16, probe: bool, endpoint: Option<EndpointId>) {
        let c = self.calls.get_mut(slot);
        c.next_pool = pool;
        c.pin = None;
        c.trigger = Some(Trigger::Recovered);
        c.probe = probe;
        let call: CallId = c.id;
        if probe {
            self.tenants[c.tenant as usize].probe = Some(call);
        }
        self.set_state(slot, CallState::Backoff);
        self.actions.push_back(Action::Resume { call });
        self.audit(now, Some(slot), endpoint, AuditKind::Resumed);
        self.route(now, slot);
    }

    /// Routes again every call that waited for an endpoint to come back.
    pub(super) fn unpark(&mut self, now: Time) {
        let parked = std::mem::take(&mut self.parked);
        for (slot, epoch) in parked {
            let c = self.calls.get(slot);
            if c.epoch == epoch && c.state == CallState::Parked {
                self.route(now, slot);
            }
        }
    }
}
