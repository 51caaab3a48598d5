//! Hedging: a second attempt for a call whose first one is slow to answer.
//!
//! When a tenant has `hedge_after`, every (non-hedge) dispatch arms a timer;
//! if the attempt is still out when it fires and the call has attempts
//! left, a second leg goes to the next eligible step of the chain. The
//! first success wins and the other leg is abandoned ([`Router::abandon_leg`],
//! also used for cancelled calls and client errors); a failed leg leaves
//! the call waiting for the other one. A streamed call can pass on one
//! stream only: there the leg whose first token arrives first wins, and
//! the other is cancelled at that instant ([`Router::on_first_token`]).

use super::calls::{CallState, Live};
use super::router::Router;
use super::types::{Action, AttemptId, Trigger};
use crate::time::Time;

impl Router {
    /// The hedge timer of the call in `slot` fired: sends the second leg if
    /// the call still waits for its only attempt and a step can take it now.
    pub(super) fn hedge(&mut self, now: Time, slot: u32, epoch: u32) {
        let c = self.calls.get(slot);
        if c.epoch != epoch || c.state != CallState::InFlight || c.hedge.is_some() || now >= c.deadline {
            return;
        }
        // A leg already streaming is not hedged: its client has one stream.
        let Some(live) = c.live.filter(|l| !l.first_token) else {
            return;
        };
        let tp = &self.plan.tenants[c.tenant as usize];
        if c.attempts >= tp.retry.max_attempts || self.tenant_capped(c.tenant) {
            return;
        }
        let chain = &tp.workflows[c.workflow as usize].chain;
        let n = chain.len();
        let tokens = c.tokens;
        let pick = (1..n).map(|k| (live.step as usize + k) % n).find(|&i| {
            let step = chain[i];
            !step.suspend && step.endpoint != live.endpoint && self.free(now, step.endpoint, tokens)
        });
        if let Some(i) = pick {
            self.calls.get_mut(slot).trigger = Some(Trigger::Hedge);
            self.dispatch(now, slot, i as u16, true);
        }
    }

    /// The first token of `attempt` (a leg of the call in `slot`) arrived:
    /// if the call is hedged, that leg wins the race and the other one is
    /// cancelled now (a client can be sent one stream only). The winner
    /// stays the call's live leg; a later failure of it is handled as any
    /// attempt's (retry, fallback).
    pub(super) fn first_token_wins(&mut self, now: Time, slot: u32, attempt: AttemptId) {
        let c = self.calls.get(slot);
        let (Some(live), Some(hedge)) = (c.live, c.hedge) else {
            return;
        };
        let (mut winner, mut loser) = if live.attempt == attempt {
            (live, hedge)
        } else {
            (hedge, live)
        };
        if loser.first_token {
            // The other leg streamed first (cannot happen: it would have
            // won then): it stays the winner.
            (winner, loser) = (loser, winner);
        }
        self.abandon_leg(slot, loser);
        // `abandon_leg` forgets both legs: keep the winner.
        self.calls.get_mut(slot).live = Some(winner);
        self.pump(now, loser.endpoint);
    }

    /// Abandons `leg` of the call in `slot` without a verdict (it lost a
    /// hedge race, the call was cancelled or refused): tells the driver,
    /// frees its slot and releases a breaker probe it held. The caller
    /// keeps `calls_in_flight` right.
    pub(super) fn abandon_leg(&mut self, slot: u32, leg: Live) {
        let call = self.calls.get(slot).id;
        self.actions.push_back(Action::Cancel {
            call,
            attempt: leg.attempt,
            failed: None,
        });
        self.attempts.remove(leg.attempt);
        let in_flight = self.endpoints[leg.endpoint.0 as usize].in_flight.saturating_sub(1);
        self.timers.attempt_ended(leg.endpoint.0, leg.attempt, in_flight);
        let c = self.calls.get_mut(slot);
        c.live = None;
        c.hedge = None;
        let t = &mut self.tenants[c.tenant as usize];
        t.in_flight = t.in_flight.saturating_sub(1);
        let class = c.class;
        let es = &mut self.endpoints[leg.endpoint.0 as usize];
        es.in_flight = es.in_flight.saturating_sub(1);
        let held = &mut es.class_in_flight[class.rank()];
        *held = held.saturating_sub(1);
        if let Some(b) = es.breaker.as_mut() {
            b.on_abandon(leg.probe);
        }
    }
}
