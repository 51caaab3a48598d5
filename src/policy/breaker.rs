//! Circuit breakers: one per endpoint, closed / open / half-open, tripped
//! by the failure or slow share over a sliding time window.
//!
//! This module owns the breaker state machine and its window of counts. It
//! knows nothing of calls or chains: the router reports each attempt's end
//! and asks whether the endpoint may take an attempt.

use super::config::BreakerPolicy;
use super::types::BreakerState;
use crate::time::{Span, Time};

const BUCKETS: usize = 10;

#[derive(Clone, Copy, Debug, Default)]
struct Bucket {
    index: u64,
    total: u32,
    errors: u32,
    slow: u32,
}

/// A state change, `(from, to)`.
pub(crate) type Transition = (BreakerState, BreakerState);

/// One endpoint's breaker.
#[derive(Clone, Debug)]
pub(crate) struct Breaker {
    policy: BreakerPolicy,
    bucket_width: u64,
    state: BreakerState,
    buckets: [Bucket; BUCKETS],
    open_until: Time,
    probes_out: u32,
    probe_successes: u32,
    /// `Some(i)`: at bucket index `i`, after the last result recorded, the
    /// window held at least `min_requests` attempts and did not trip. A
    /// further success that is not slow, in the same bucket, only lowers
    /// both shares, so it cannot trip the breaker either: no need to sum
    /// the window again.
    quiet_at: Option<u64>,
    /// The window's sums as of the last result (see [`Window`]); `None`
    /// until the first result and after the buckets are cleared.
    window: Option<Window>,
}

/// The window ending in bucket `index`, summed, and the span of time that
/// bucket covers: a result inside that span adds to the sums as it adds to
/// the bucket; one in a later bucket first subtracts the buckets that left
/// the window. So no result sums the whole window (it did on every result
/// while the window held fewer than `min_requests`), and the results
/// inside one bucket need no division.
#[derive(Clone, Copy, Debug)]
struct Window {
    index: u64,
    /// The bucket's span, `[start, end)`.
    start: Time,
    end: Time,
    total: u64,
    errors: u64,
    slow: u64,
}

impl Breaker {
    /// A closed breaker; `policy` must have been validated.
    pub fn new(policy: BreakerPolicy) -> Breaker {
        let bucket_width = (policy.window.as_nanos() / BUCKETS as u64).max(1);
        Breaker {
            policy,
            bucket_width,
            state: BreakerState::Closed,
            buckets: [Bucket::default(); BUCKETS],
            open_until: Time::ZERO,
            probes_out: 0,
            probe_successes: 0,
            quiet_at: None,
            window: None,
        }
    }

    /// Takes a new policy (after a reload), keeping the state. The window's
    /// counts are kept when the window is unchanged; returns whether they
    /// were.
    pub fn reconfigure(&mut self, policy: BreakerPolicy) -> bool {
        let kept = policy.window == self.policy.window;
        if !kept {
            self.bucket_width = (policy.window.as_nanos() / BUCKETS as u64).max(1);
            self.buckets = [Bucket::default(); BUCKETS];
        }
        self.quiet_at = None;
        self.window = None;
        self.probes_out = self.probes_out.min(policy.half_open_probes);
        self.policy = policy;
        kept
    }

    /// The current state.
    pub fn state(&self) -> BreakerState {
        self.state
    }

    /// When an open breaker turns half-open.
    pub fn open_until(&self) -> Time {
        self.open_until
    }

    /// Whether an attempt may be dispatched now (closed, or half-open with
    /// a probe left).
    pub fn allows(&self) -> bool {
        match self.state {
            BreakerState::Closed => true,
            BreakerState::Open => false,
            BreakerState::HalfOpen => self.probes_out < self.policy.half_open_probes,
        }
    }

    /// Records a dispatch; returns whether the attempt is a probe.
    pub fn on_dispatch(&mut self) -> bool {
        if self.state == BreakerState::HalfOpen {
            self.probes_out += 1;
            true
        } else {
            false
        }
    }

    /// An attempt ended without a verdict (cancelled because another
    /// attempt of its call won).
    pub fn on_abandon(&mut self, probe: bool) {
        if probe && self.state == BreakerState::HalfOpen {
            self.probes_out = self.probes_out.saturating_sub(1);
        }
    }

    /// Records an attempt's end: `failed` for a failure, `latency` from its
    /// dispatch. Returns the state change it caused, if any.
    pub fn on_result(&mut self, now: Time, probe: bool, failed: bool, latency: Span) -> Option<Transition> {
        let slow = self.policy.slow_threshold.is_some_and(|t| latency > t);
        match self.state {
            BreakerState::Closed => {
                let index = self.record(now, failed, slow);
                if !failed && !slow && self.quiet_at == Some(index) {
                    return None;
                }
                self.quiet_at = None;
                self.tripped(index).then(|| self.open(now, BreakerState::Closed))
            }
            BreakerState::HalfOpen if probe => {
                self.probes_out = self.probes_out.saturating_sub(1);
                if failed || slow {
                    Some(self.open(now, BreakerState::HalfOpen))
                } else {
                    self.probe_successes += 1;
                    (self.probe_successes >= self.policy.half_open_probes).then(|| {
                        self.state = BreakerState::Closed;
                        self.buckets = [Bucket::default(); BUCKETS];
                        self.quiet_at = None;
                        self.window = None;
                        (BreakerState::HalfOpen, BreakerState::Closed)
                    })
                }
            }
            // Stragglers dispatched before the breaker opened say nothing
            // about the endpoint now.
            BreakerState::HalfOpen | BreakerState::Open => None,
        }
    }

    /// Moves an open breaker whose time is up to half-open.
    pub fn on_timer(&mut self, now: Time) -> Option<Transition> {
        if self.state == BreakerState::Open && now >= self.open_until {
            self.state = BreakerState::HalfOpen;
            self.probes_out = 0;
            self.probe_successes = 0;
            Some((BreakerState::Open, BreakerState::HalfOpen))
        } else {
            None
        }
    }

    fn open(&mut self, now: Time, from: BreakerState) -> Transition {
        self.state = BreakerState::Open;
        self.quiet_at = None;
        self.open_until = now + self.policy.open_for;
        (from, BreakerState::Open)
    }

    /// Counts a result at `now` in its bucket (index `now / bucket_width`)
    /// and in the window's sums; returns the bucket's index.
    fn record(&mut self, now: Time, failed: bool, slow: bool) -> u64 {
        let index = match self.window {
            Some(w) if w.start <= now && now < w.end => w.index,
            _ => {
                let index = now.as_nanos() / self.bucket_width;
                self.slide(index);
                index
            }
        };
        let b = &mut self.buckets[(index % BUCKETS as u64) as usize];
        if b.index != index {
            *b = Bucket {
                index,
                ..Bucket::default()
            };
        }
        b.total += 1;
        b.errors += u32::from(failed);
        b.slow += u32::from(slow);
        if let Some(w) = self.window.as_mut() {
            w.total += 1;
            w.errors += u64::from(failed);
            w.slow += u64::from(slow);
        }
        index
    }

    /// Moves the window's sums to the window ending in bucket `current`:
    /// the buckets that leave it are subtracted (at most `BUCKETS` of them;
    /// a window further back, or none, is summed again).
    fn slide(&mut self, current: u64) {
        match self.window.as_mut() {
            Some(w) if w.index < current && current - w.index < BUCKETS as u64 => {
                for k in (w.index + 1)..=current {
                    let b = &self.buckets[(k % BUCKETS as u64) as usize];
                    if k >= BUCKETS as u64 && b.index == k - BUCKETS as u64 {
                        w.total -= u64::from(b.total);
                        w.errors -= u64::from(b.errors);
                        w.slow -= u64::from(b.slow);
                    }
                }
                w.index = current;
                (w.start, w.end) = bucket_span(current, self.bucket_width);
            }
            _ => self.window = Some(self.sum(current)),
        }
    }

    /// The window ending in bucket `current`, summed.
    fn sum(&self, current: u64) -> Window {
        let (mut total, mut errors, mut slow) = (0u64, 0u64, 0u64);
        for b in &self.buckets {
            if b.index + (BUCKETS as u64) > current && b.total > 0 {
                total += u64::from(b.total);
                errors += u64::from(b.errors);
                slow += u64::from(b.slow);
            }
        }
        let (start, end) = bucket_span(current, self.bucket_width);
        Window {
            index: current,
            start,
            end,
            total,
            errors,
            slow,
        }
    }

    /// Whether the window ending in bucket `current` (the last result's)
    /// trips the breaker; remembers in `quiet_at` a window large enough
    /// that did not.
    fn tripped(&mut self, current: u64) -> bool {
        let Window {
            total, errors, slow, ..
        } = self
            .window
            .filter(|w| w.index == current)
            .unwrap_or_else(|| self.sum(current));
        if total == 0 || total < u64::from(self.policy.min_requests) {
            return false;
        }
        let total = total as f64;
        let trips = errors as f64 / total >= self.policy.error_ratio
            || (self.policy.slow_threshold.is_some() && slow as f64 / total >= self.policy.slow_ratio);
        if !trips {
            self.quiet_at = Some(current);
        }
        trips
    }
}

/// The span `[start, end)` of bucket `index` of width `width`.
fn bucket_span(index: u64, width: u64) -> (Time, Time) {
    let start = index.saturating_mul(width);
    (Time::from_nanos(start), Time::from_nanos(start.saturating_add(width)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> BreakerPolicy {
        BreakerPolicy {
            window: Span::from_secs(10),
            min_requests: 4,
            error_ratio: 0.5,
            slow_threshold: Some(Span::from_secs(2)),
            slow_ratio: 0.75,
            open_for: Span::from_secs(5),
            half_open_probes: 2,
        }
    }

    fn t(s: u64) -> Time {
        Time::ZERO + Span::from_secs(s)
    }

    const FAST: Span = Span::from_millis(100);

    #[test]
    fn trips_on_error_ratio_only_with_enough_requests() {
        let mut b = Breaker::new(policy());
        assert_eq!(b.on_result(t(1), false, true, FAST), None);
        assert_eq!(b.on_result(t(1), false, true, FAST), None);
        assert_eq!(b.on_result(t(1), false, false, FAST), None);
        assert_eq!(
            b.on_result(t(1), false, false, FAST),
            Some((BreakerState::Closed, BreakerState::Open))
        );
        assert!(!b.allows());
        assert_eq!(b.open_until(), t(6));
    }

    #[test]
    fn old_results_slide_out_of_the_window() {
        let mut b = Breaker::new(policy());
        b.on_result(t(0), false, true, FAST);
        b.on_result(t(0), false, true, FAST);
        for _ in 0..3 {
            assert_eq!(b.on_result(t(20), false, false, FAST), None);
        }
        assert_eq!(b.on_result(t(20), false, true, FAST), None, "1 of 4 failed");
    }

    #[test]
    fn trips_on_slow_ratio() {
        let mut b = Breaker::new(policy());
        let slow = Span::from_secs(3);
        for _ in 0..3 {
            assert_eq!(b.on_result(t(1), false, false, slow), None);
        }
        assert!(b.on_result(t(1), false, false, slow).is_some());
    }

    #[test]
    fn half_open_probes_close_or_reopen() {
        let mut b = Breaker::new(policy());
        for _ in 0..4 {
            b.on_result(t(1), false, true, FAST);
        }
        assert_eq!(b.on_timer(t(5)), None, "early timer is a no-op");
        assert_eq!(b.on_timer(t(6)), Some((BreakerState::Open, BreakerState::HalfOpen)));
        assert!(b.on_dispatch() && b.on_dispatch());
        assert!(!b.allows(), "only two probes");
        assert_eq!(b.on_result(t(7), false, true, FAST), None, "straggler");
        assert_eq!(b.on_result(t(7), true, false, FAST), None);
        assert_eq!(
            b.on_result(t(7), true, false, FAST),
            Some((BreakerState::HalfOpen, BreakerState::Closed))
        );
        for _ in 0..4 {
            b.on_result(t(8), false, true, FAST);
        }
        b.on_timer(t(13));
        b.on_dispatch();
        assert_eq!(
            b.on_result(t(14), true, true, FAST),
            Some((BreakerState::HalfOpen, BreakerState::Open))
        );
        assert_eq!(b.open_until(), t(19));
    }

    /// The window's sums kept result by result equal the results counted
    /// afresh: every result recorded since the buckets were last cleared
    /// whose bucket is one of the ten ending in the last result's, over
    /// gaps within a bucket, across a few buckets and past the window, and
    /// through trips and closes.
    #[test]
    fn window_sums_equal_a_recount() {
        use proptest::prelude::*;
        use proptest::test_runner::{Config, TestRunner};
        let results = prop::collection::vec((0u64..25_000, any::<bool>(), any::<bool>()), 1..400);
        let mut runner = TestRunner::new(Config {
            cases: 64,
            ..Config::default()
        });
        runner
            .run(&results, |results| {
                let mut p = policy();
                p.error_ratio = 0.6;
                let mut b = Breaker::new(p);
                let width = b.bucket_width;
                let mut recorded: Vec<(u64, bool, bool)> = Vec::new();
                let mut now = Time::ZERO;
                for (gap_ms, failed, slow_draw) in results {
                    now += Span::from_millis(gap_ms);
                    b.on_timer(now);
                    let probe = b.state() == BreakerState::HalfOpen && b.allows() && b.on_dispatch();
                    let before = b.state();
                    let latency = if slow_draw { Span::from_secs(3) } else { FAST };
                    b.on_result(now, probe, failed, latency);
                    if before == BreakerState::Closed {
                        recorded.push((now.as_nanos() / width, failed, slow_draw));
                    }
                    if before == BreakerState::HalfOpen && b.state() == BreakerState::Closed {
                        recorded.clear();
                    }
                    if before == BreakerState::Closed {
                        let current = now.as_nanos() / width;
                        let inside = recorded.iter().filter(|r| r.0 + BUCKETS as u64 > current);
                        let (mut total, mut errors, mut slow) = (0, 0, 0);
                        for &(_, f, s) in inside {
                            total += 1;
                            errors += u64::from(f);
                            slow += u64::from(s);
                        }
                        let w = b.window.expect("sums after a result");
                        prop_assert_eq!((w.index, w.total, w.errors, w.slow), (current, total, errors, slow));
                    }
                }
                Ok(())
            })
            .unwrap();
    }
}
