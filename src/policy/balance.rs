//! Load balancing inside a pool: which of the endpoints that can take a
//! call at once gets it, by the tenant's [`BalancePolicy`], and the
//! peak-EWMA latency estimate that power-of-two-choices compares.
//!
//! This module owns the choice and the estimator's arithmetic (integers,
//! no clock, randomness only from the router's generator). The router
//! decides which endpoints are candidates.

use super::config::BalancePolicy;
use super::rng::SplitMix64;
use crate::time::{Span, Time};

/// The decay constant τ of the peak-EWMA estimate: a sample `dt` after the
/// previous one moves the estimate by `dt / (dt + τ)` of the way towards
/// it (unless it is above: a peak is taken at once), and between samples
/// the estimate decays towards 0 as `τ / (τ + dt)`, so an endpoint that
/// was penalised is tried again after a while.
pub(crate) const PEAK_DECAY: Span = Span::from_secs(10);

/// A peak-EWMA estimate of an endpoint's attempt latency (Finagle's and
/// Linkerd's load estimator): peaks count at once, lower samples pull it
/// down with a time-based weight.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PeakEwma {
    /// The estimate at `at`, in nanoseconds; `None` before the first sample.
    estimate: Option<u64>,
    at: Time,
}

impl PeakEwma {
    /// An estimate starting from `prior` (none: no estimate yet).
    pub fn new(prior: Option<Span>) -> PeakEwma {
        PeakEwma {
            estimate: prior.map(Span::as_nanos),
            at: Time::ZERO,
        }
    }

    /// The estimate as of `now`: decayed towards 0 by `τ / (τ + dt)`.
    /// (Floating point here is exact IEEE arithmetic: the same inputs give
    /// the same result on every run.)
    pub fn read(&self, now: Time) -> Option<u64> {
        let e = self.estimate?;
        Some(match self.decay(now) {
            None => e,
            Some(w) => (e as f64 * w) as u64,
        })
    }

    /// The decay factor `τ / (τ + dt)` from the last sample to `now`;
    /// `None` when `dt` is 0 (no decay).
    fn decay(&self, now: Time) -> Option<f64> {
        let dt = now.saturating_since(self.at).as_nanos();
        if dt == 0 {
            return None;
        }
        let tau = PEAK_DECAY.as_nanos() as f64;
        Some(tau / (tau + dt as f64))
    }

    /// Takes a latency sample at `now`.
    pub fn observe(&mut self, now: Time, sample: Span) {
        let s = sample.as_nanos();
        // One division serves both the decayed estimate and the pull
        // towards the sample (the same factor).
        let w = self.decay(now);
        let decayed = self.estimate.map(|e| w.map_or(e, |w| (e as f64 * w) as u64));
        let next = match decayed {
            Some(e) if s < e => s + ((e - s) as f64 * w.unwrap_or(1.0)) as u64,
            _ => s,
        };
        self.estimate = Some(next);
        self.at = self.at.max(now);
    }
}

/// One endpoint that can take the call at once.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Candidate {
    /// Its chain step.
    pub step: u16,
    /// Its weight for weighted random balancing.
    pub weight: u64,
    /// Its attempts in flight.
    pub in_flight: u32,
    /// Its peak-EWMA estimate now (none: no sample and no prior yet; only
    /// read for power of two choices).
    pub latency: Option<u64>,
}

/// A uniform draw from `0..n` (`n` ≥ 1), by multiply-shift.
fn below(rng: &mut SplitMix64, n: u64) -> u64 {
    ((u128::from(rng.next_u64()) * u128::from(n)) >> 64) as u64
}

/// The cost power-of-two-choices compares: latency × (in flight + 1); an
/// endpoint with no estimate costs 0, so it is tried first.
fn cost(c: &Candidate) -> (u128, u32) {
    let latency = u128::from(c.latency.unwrap_or(0));
    (latency * (u128::from(c.in_flight) + 1), c.in_flight)
}

/// The candidate that gets the call. With one candidate no random number
/// is drawn, so chains without pools draw exactly as before.
pub(crate) fn pick(policy: BalancePolicy, candidates: &[Candidate], rng: &mut SplitMix64) -> u16 {
    debug_assert!(!candidates.is_empty(), "a pick needs a candidate");
    if candidates.len() == 1 {
        return candidates[0].step;
    }
    match policy {
        BalancePolicy::WeightedRandom => {
            let total: u64 = candidates.iter().map(|c| c.weight).sum();
            let mut x = below(rng, total);
            for c in candidates {
                if x < c.weight {
                    return c.step;
                }
                x -= c.weight;
            }
            candidates[candidates.len() - 1].step
        }
        BalancePolicy::LeastOutstanding => {
            let least = candidates.iter().map(|c| c.in_flight).min().unwrap_or(0);
            let tied = candidates.iter().filter(|c| c.in_flight == least).count() as u64;
            let k = below(rng, tied) as usize;
            candidates
                .iter()
                .filter(|c| c.in_flight == least)
                .nth(k)
                .map_or(candidates[0].step, |c| c.step)
        }
        BalancePolicy::P2cPeakEwma => {
            let n = candidates.len() as u64;
            let i = below(rng, n) as usize;
            let mut j = below(rng, n - 1) as usize;
            if j >= i {
                j += 1;
            }
            let (a, b) = (&candidates[i], &candidates[j]);
            if cost(b) < cost(a) { b.step } else { a.step }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: u64) -> Time {
        Time::from_nanos(ms * 1_000_000)
    }

    #[test]
    fn peaks_count_at_once_and_lower_samples_pull_down_with_time() {
        let mut e = PeakEwma::new(None);
        assert_eq!(e.read(t(0)), None);
        e.observe(t(0), Span::from_millis(100));
        assert_eq!(e.read(t(0)), Some(100_000_000));
        e.observe(t(0), Span::from_millis(400));
        assert_eq!(e.read(t(0)), Some(400_000_000), "a peak is taken at once");
        // A lower sample at the same instant does not move it...
        e.observe(t(0), Span::from_millis(100));
        assert_eq!(e.read(t(0)), Some(400_000_000));
        // ... 10 s (τ) later it moves halfway from the decayed value:
        // decayed = 400 × 10/20 = 200, then 100 + (200 - 100) × 10/20 = 150.
        e.observe(t(10_000), Span::from_millis(100));
        assert_eq!(e.read(t(10_000)), Some(150_000_000));
        // Without samples it decays towards 0: 150 × 10/(10+30) = 37.5.
        assert_eq!(e.read(t(40_000)), Some(37_500_000));
    }

    fn cand(step: u16, weight: u64, in_flight: u32, latency: Option<u64>) -> Candidate {
        Candidate {
            step,
            weight,
            in_flight,
            latency,
        }
    }

    #[test]
    fn one_candidate_draws_nothing() {
        let mut rng = SplitMix64::new(3);
        let before = rng.clone().next_u64();
        for policy in [
            BalancePolicy::WeightedRandom,
            BalancePolicy::LeastOutstanding,
            BalancePolicy::P2cPeakEwma,
        ] {
            assert_eq!(pick(policy, &[cand(4, 1, 0, None)], &mut rng), 4);
        }
        assert_eq!(rng.next_u64(), before);
    }

    #[test]
    fn least_outstanding_takes_the_least_busy() {
        let mut rng = SplitMix64::new(1);
        let c = [cand(0, 1, 3, None), cand(1, 1, 1, None), cand(2, 1, 2, None)];
        for _ in 0..20 {
            assert_eq!(pick(BalancePolicy::LeastOutstanding, &c, &mut rng), 1);
        }
    }

    #[test]
    fn p2c_takes_the_cheaper_of_two() {
        let mut rng = SplitMix64::new(9);
        // Two candidates: both are always drawn; cost 100 × 2 = 200 beats
        // 50 × 5 = 250.
        let c = [cand(0, 1, 1, Some(100)), cand(1, 1, 4, Some(50))];
        for _ in 0..20 {
            assert_eq!(pick(BalancePolicy::P2cPeakEwma, &c, &mut rng), 0);
        }
        // No estimate costs nothing: tried first.
        let c = [cand(0, 1, 0, Some(1)), cand(1, 1, 0, None)];
        assert_eq!(pick(BalancePolicy::P2cPeakEwma, &c, &mut rng), 1);
    }
}
