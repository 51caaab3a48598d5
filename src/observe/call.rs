//! One call as the SLA observers follow it: where its attempts went and
//! when the first of them failed, which is what the fallback clause, the
//! time to first token and blame need.
//!
//! A driver (the simulated world, the gateway, `judge` replaying a log)
//! keeps one [`ObservedCall`] per call in flight and tells it the router's
//! decisions as they are carried out: each dispatch, each attempt that
//! ended badly (an error or 429 answer, or an attempt the router cancelled:
//! a timeout or a latency ceiling), the first token of the attempt that
//! served it. The fallback rule lives here and only here:
//! - the first dispatch fixes the call's first endpoint;
//! - the first bad end of an attempt on that endpoint is the failure a
//!   fallback is timed from;
//! - the first dispatch to another endpoint after that failure ends the
//!   fallback (its delay); a dispatch elsewhere before any failure (a
//!   hedge, a queue skipped) means the call left without a fallback;
//! - a call that failed on its first endpoint and never left has a
//!   fallback that never happened, judged when the call ends.

use crate::time::{Span, Time};

/// No endpoint yet.
pub const NO_ENDPOINT: u32 = u32::MAX;

/// A call's fallback: see [`ObservedCall::fallback`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallFallback {
    /// Its first endpoint.
    pub from: u32,
    /// When the attempt there first failed.
    pub failed: Time,
    /// When it was next dispatched elsewhere, and where (`None`: never).
    pub left: Option<(Time, u32)>,
}

/// A call in flight as the observers see it. Plain data (`Copy`): drivers
/// keep it in their own call tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ObservedCall {
    /// Tenant index.
    pub tenant: u32,
    /// Workflow index within the tenant.
    pub workflow: u32,
    /// When it was submitted (its window).
    pub submitted: Time,
    /// The endpoint of its first attempt ([`NO_ENDPOINT`]: none yet).
    pub first_endpoint: u32,
    /// The endpoint of its latest attempt.
    pub last_endpoint: u32,
    /// When an attempt on the first endpoint first failed (`Time::MAX`: never).
    pub failed_first: Time,
    /// Whether it has been dispatched to an endpoint other than its first.
    pub left_first: bool,
    /// The dispatch that ended its fallback: when, and to which endpoint
    /// (`Time::MAX`: none).
    pub fell_back_at: Time,
    /// See `fell_back_at`.
    pub fell_back_to: u32,
    /// Whether capacity turned an attempt away (a 429 or a full queue).
    pub refused: bool,
    /// When the first token of the attempt that served it came
    /// (`Time::MAX`: not served yet).
    pub first_token: Time,
    /// Attempts dispatched.
    pub attempts: u32,
}

impl ObservedCall {
    /// A call of `tenant`'s `workflow` submitted at `submitted`.
    pub fn new(tenant: u32, workflow: u32, submitted: Time) -> ObservedCall {
        ObservedCall {
            tenant,
            workflow,
            submitted,
            first_endpoint: NO_ENDPOINT,
            last_endpoint: NO_ENDPOINT,
            failed_first: Time::MAX,
            left_first: false,
            fell_back_at: Time::MAX,
            fell_back_to: NO_ENDPOINT,
            refused: false,
            first_token: Time::MAX,
            attempts: 0,
        }
    }

    /// An attempt was dispatched to `endpoint` at `now`: the delay of the
    /// fallback this dispatch ends, if it ends one.
    pub fn dispatched(&mut self, now: Time, endpoint: u32) -> Option<Span> {
        let mut fallback = None;
        self.attempts = self.attempts.saturating_add(1);
        if self.first_endpoint == NO_ENDPOINT {
            self.first_endpoint = endpoint;
        } else if endpoint != self.first_endpoint && !self.left_first {
            self.left_first = true;
            if self.failed_first != Time::MAX {
                fallback = Some(now - self.failed_first);
                self.fell_back_at = now;
                self.fell_back_to = endpoint;
            }
        }
        self.last_endpoint = endpoint;
        fallback
    }

    /// An attempt on `endpoint` ended badly at `now` (an error answer, or
    /// cancelled by the router).
    pub fn attempt_failed(&mut self, now: Time, endpoint: u32) {
        if self.first_endpoint == endpoint && self.failed_first == Time::MAX {
            self.failed_first = now;
        }
    }

    /// An attempt served the call, its first token at `at` (the first
    /// served attempt's counts).
    pub fn served_first_token(&mut self, at: Time) {
        if self.first_token == Time::MAX {
            self.first_token = at;
        }
    }

    /// The first token of the attempt that served it, else `end`.
    pub fn first_token_or(&self, end: Time) -> Time {
        if self.first_token == Time::MAX {
            end
        } else {
            self.first_token
        }
    }

    /// A fallback that never happened: the call failed on its first
    /// endpoint (at the returned time) and never left it.
    pub fn stranded(&self) -> Option<(Time, u32)> {
        (self.failed_first != Time::MAX && !self.left_first && self.first_endpoint != NO_ENDPOINT)
            .then_some((self.failed_first, self.first_endpoint))
    }

    /// Its fallback, if it had one: its first endpoint, when the attempt
    /// there failed, and the dispatch elsewhere that ended the fallback
    /// (when, where), if one did. A call that left before failing had no
    /// fallback; one that failed and never left had one that never ended
    /// (which counts only if the call then failed, see
    /// [`ObservedCall::stranded`]).
    pub fn fallback(&self) -> Option<CallFallback> {
        if self.failed_first == Time::MAX || (self.left_first && self.fell_back_at == Time::MAX) {
            return None;
        }
        Some(CallFallback {
            from: self.first_endpoint,
            failed: self.failed_first,
            left: (self.fell_back_at != Time::MAX).then_some((self.fell_back_at, self.fell_back_to)),
        })
    }

    /// The endpoint a bad outcome is blamed on: a call served elsewhere
    /// than its first endpoint had to leave the first; a failed one, its
    /// last attempt's ([`NO_ENDPOINT`]: the router).
    pub fn blamed(&self, served_by: Option<u32>) -> u32 {
        match served_by {
            Some(e) if e == self.first_endpoint || self.first_endpoint == NO_ENDPOINT => e,
            Some(_) => self.first_endpoint,
            None => self.last_endpoint,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Time {
        Time::ZERO + Span::from_millis(ms)
    }

    #[test]
    fn a_fallback_runs_from_the_first_failure_on_the_first_endpoint_to_the_next_dispatch_elsewhere() {
        let mut c = ObservedCall::new(0, 0, at(0));
        assert_eq!(c.dispatched(at(0), 3), None);
        c.attempt_failed(at(100), 3);
        // A retry on the same endpoint is no fallback; a later failure there
        // does not move the start.
        assert_eq!(c.dispatched(at(150), 3), None);
        c.attempt_failed(at(400), 3);
        assert_eq!(c.dispatched(at(450), 5), Some(Span::from_millis(350)));
        // Only the first departure counts.
        c.attempt_failed(at(500), 5);
        assert_eq!(c.dispatched(at(600), 7), None);
        assert_eq!(c.stranded(), None);
        let f = CallFallback {
            from: 3,
            failed: at(100),
            left: Some((at(450), 5)),
        };
        assert_eq!(c.fallback(), Some(f));
        assert_eq!(c.attempts, 4);
        assert_eq!(c.blamed(Some(7)), 3, "served elsewhere: the first endpoint");
        assert_eq!(c.blamed(None), 7, "failed: the last attempt's");
    }

    #[test]
    fn leaving_before_any_failure_is_no_fallback_and_failing_without_leaving_is_a_stranded_one() {
        let mut hedge = ObservedCall::new(0, 0, at(0));
        hedge.dispatched(at(0), 1);
        assert_eq!(hedge.dispatched(at(10), 2), None);
        hedge.attempt_failed(at(20), 1);
        assert_eq!(hedge.stranded(), None);
        assert_eq!(hedge.fallback(), None);

        let mut stuck = ObservedCall::new(0, 0, at(0));
        assert_eq!(stuck.stranded(), None, "never dispatched");
        stuck.dispatched(at(0), 1);
        stuck.attempt_failed(at(30), 2);
        assert_eq!(
            stuck.stranded(),
            None,
            "a failure elsewhere is not on the first endpoint"
        );
        stuck.attempt_failed(at(40), 1);
        assert_eq!(stuck.stranded(), Some((at(40), 1)));
        let f = CallFallback {
            from: 1,
            failed: at(40),
            left: None,
        };
        assert_eq!(stuck.fallback(), Some(f));
        assert_eq!(ObservedCall::new(0, 0, at(0)).blamed(None), NO_ENDPOINT);
    }

    #[test]
    fn the_first_served_attempt_gives_the_first_token() {
        let mut c = ObservedCall::new(0, 0, at(0));
        assert_eq!(c.first_token_or(at(9)), at(9));
        c.served_first_token(at(5));
        c.served_first_token(at(7));
        assert_eq!(c.first_token_or(at(9)), at(5));
    }
}
