//! Rate-limit tracking: token buckets for an endpoint's requests per minute
//! and tokens per minute, refilled continuously from the configured limits.
//!
//! This module owns the arithmetic (exact, in integers) and nothing else:
//! the router asks whether a call fits, when it will, and charges it at
//! dispatch.

use crate::time::{Span, Time};

const MINUTE_NS: u128 = 60_000_000_000;

/// A bucket holding up to `per_minute` tokens, refilled at `per_minute`
/// tokens a minute. The level is kept in token-nanoseconds per minute so
/// that refills are exact.
#[derive(Clone, Debug)]
pub(crate) struct TokenBucket {
    per_minute: u64,
    level: u128,
    at: Time,
}

impl TokenBucket {
    /// A full bucket; `per_minute` must be at least 1.
    pub fn new(per_minute: u64) -> TokenBucket {
        TokenBucket {
            per_minute,
            level: u128::from(per_minute) * MINUTE_NS,
            at: Time::ZERO,
        }
    }

    fn refill(&mut self, now: Time) {
        let elapsed = u128::from(now.saturating_since(self.at).as_nanos());
        let cap = u128::from(self.per_minute) * MINUTE_NS;
        self.level = (self.level + elapsed * u128::from(self.per_minute)).min(cap);
        self.at = now.max(self.at);
    }

    /// What `cost` needs, scaled; a cost above the whole bucket needs a full
    /// bucket (so an oversized request is not starved forever).
    fn need(&self, cost: u64) -> u128 {
        u128::from(cost.min(self.per_minute)) * MINUTE_NS
    }

    /// How long until `cost` tokens are available (zero if they are now).
    pub fn wait(&self, now: Time, cost: u64) -> Span {
        let elapsed = u128::from(now.saturating_since(self.at).as_nanos());
        let cap = u128::from(self.per_minute) * MINUTE_NS;
        let level = (self.level + elapsed * u128::from(self.per_minute)).min(cap);
        let need = self.need(cost);
        if level >= need {
            return Span::ZERO;
        }
        let ns = (need - level).div_ceil(u128::from(self.per_minute));
        Span::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX))
    }

    /// Takes a new limit (after a reload): the bucket keeps its level as of
    /// `now`, capped by the new size.
    pub fn reconfigure(&mut self, now: Time, per_minute: u64) {
        self.refill(now);
        let tokens = self.level / MINUTE_NS;
        self.per_minute = per_minute;
        self.level = (tokens * MINUTE_NS).min(u128::from(per_minute) * MINUTE_NS);
    }

    /// Takes `cost` tokens (the caller checked [`TokenBucket::wait`]).
    pub fn take(&mut self, now: Time, cost: u64) {
        self.refill(now);
        self.level = self.level.saturating_sub(self.need(cost));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spends_and_refills_exactly() {
        let mut b = TokenBucket::new(60); // one a second
        let t0 = Time::ZERO;
        for _ in 0..60 {
            assert_eq!(b.wait(t0, 1), Span::ZERO);
            b.take(t0, 1);
        }
        assert_eq!(b.wait(t0, 1), Span::from_secs(1));
        assert_eq!(b.wait(t0, 3), Span::from_secs(3));
        let t1 = t0 + Span::from_secs(2);
        assert_eq!(b.wait(t1, 2), Span::ZERO);
        b.take(t1, 2);
        assert_eq!(b.wait(t1, 1), Span::from_secs(1));
        // Oversized requests need a full bucket, never more.
        assert_eq!(b.wait(t1, 1_000), Span::from_secs(60));
    }
}
