//! What is left unfinished: attempts the provider had started serving when
//! they were cancelled (or when the run ended), and calls and tasks still
//! open when the run ended.
//!
//! **Billing an unfinished attempt.** An attempt that holds a slot at the
//! provider is billed its whole input and the output produced so far: the
//! output tokens times the share of its decode done, where decode runs from
//! its first token to the end of its service (the endpoint's latency model:
//! `ttft` and prefill before the first token, then decode), rounded down to
//! whole tokens. Cancelled before its first token, it costs its input only;
//! cancelled while still waiting in the provider's queue, or with an error
//! on its way, nothing.
//!
//! **Open calls and tasks.** The run stops one day after the period (the
//! drain). A call or task still open then was neither served nor failed;
//! it is reported to the observers as open, which judges it against every
//! clause (as a failure, or above every latency), and counted in
//! `RunStats::open_calls` and `open_tasks`.

use std::collections::BTreeMap;

use super::{AttemptInfo, EndpointBlame, World};
use crate::model::endpoint::{AttemptState, EndpointSim};
use crate::time::{Span, Time, round_half_away};

/// An attempt's service at the provider: when it got its slot, when its
/// first token came and when its service ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct ServiceSpan {
    pub(super) start: Time,
    pub(super) first_token: Time,
    pub(super) end: Time,
}

impl ServiceSpan {
    /// A service of `total` starting at `now` on `ep`, its first token after
    /// the endpoint's share of it before decode.
    pub(super) fn new(ep: &EndpointSim, now: Time, total: Span, input_tokens: u32, output_tokens: u32) -> ServiceSpan {
        let share = ep.first_token_share(input_tokens, output_tokens);
        // `round_half_away`: `f64::round`'s value without its libm call.
        let before = Span::from_nanos(round_half_away(total.as_nanos() as f64 * share) as u64).min(total);
        ServiceSpan {
            start: now,
            first_token: now + before,
            end: now + total,
        }
    }

    /// Output tokens produced by `now`, of `output_tokens`, rounded down.
    pub(super) fn produced(&self, now: Time, output_tokens: u32) -> u32 {
        if now <= self.first_token {
            return 0;
        }
        if now >= self.end {
            return output_tokens;
        }
        let done = u128::from((now - self.first_token).as_nanos());
        let decode = u128::from((self.end - self.first_token).as_nanos());
        (u128::from(output_tokens) * done / decode) as u32
    }
}

impl World {
    /// Bills an attempt that held a slot and will not finish (cancelled at
    /// `now`, or still in service when the run ends).
    pub(super) fn bill_unfinished(&mut self, now: Time, a: &AttemptInfo) {
        let Some(service) = a.service else { return };
        let ep = &self.endpoints[a.endpoint as usize];
        let usd = ep.cost(a.input_tokens, service.produced(now, a.output_tokens));
        self.stats.billed_unfinished_attempts += 1;
        self.observer.cost(a.tenant, a.workflow, a.submitted, usd);
    }

    /// At the end of the run (`end`): bills attempts still in service and
    /// judges every call and task still open.
    pub(super) fn judge_open(&mut self, end: Time) {
        // Where each open call is stuck: at an endpoint with an attempt out,
        // else in the router (queued, backing off or suspended).
        let mut at_endpoint: BTreeMap<u64, u32> = BTreeMap::new();
        let attempts: Vec<AttemptInfo> = self.attempts.entries().map(|(_, a)| a).collect();
        for a in &attempts {
            at_endpoint.insert(a.call, a.endpoint);
            if matches!(a.state, AttemptState::InService(_)) {
                self.bill_unfinished(end, a);
            }
        }
        let open: Vec<_> = self.calls.entries().collect();
        let blame = EndpointBlame(&self.endpoints);
        for (id, info) in open {
            self.stats.open_calls += 1;
            self.observer
                .call_open(&info.observed, end, at_endpoint.get(&id).copied(), &blame);
        }
        for (source, started) in self.tasks.unfinished() {
            self.stats.open_tasks += 1;
            let src = &self.sources[source as usize];
            self.observer.task_open(src.tenant.0, src.workflow.0, started);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_billed_pro_rata_of_decode_rounded_down() {
        let s = ServiceSpan {
            start: Time::ZERO,
            first_token: Time::ZERO + Span::from_millis(300),
            end: Time::ZERO + Span::from_millis(1300),
        };
        let at = |ms| Time::ZERO + Span::from_millis(ms);
        assert_eq!(s.produced(at(100), 200), 0, "before the first token");
        assert_eq!(s.produced(at(300), 200), 0, "at the first token");
        assert_eq!(s.produced(at(800), 200), 100, "half the decode");
        assert_eq!(s.produced(at(801), 200), 100, "100.2 rounds down");
        assert_eq!(s.produced(at(1300), 200), 200);
        assert_eq!(s.produced(at(5000), 200), 200);
    }
}
