//! Quality clauses: the eval pass rate of a sampled audit and the mean
//! quality of the endpoints that served a window's calls.
//!
//! A call's quality is that of the endpoint that served it; a call never
//! served (failed, shed, timed out, abandoned, still open at the end)
//! produced no answer: quality 0, and it fails any evaluation. Calls are
//! never stored: a window keeps one counter per distinct quality level
//! ([`Levels`]: the endpoints' qualities and 0), so memory is fixed by the
//! endpoints, never by the calls.
//!
//! The eval pass rate draws its audit exactly as if the calls had been
//! kept: the sample's composition by level (a uniform sample without
//! replacement of `n` of the window's `N` calls) by sequential
//! hypergeometric draws, level by level, then each level's passes as
//! Binomial(sampled at the level, its quality). The draws come from a
//! stream of their own, named after the tenant, the clause's position
//! among the tenant's clauses and the window, so they move no other
//! stream and the simulator and `judge` draw the same audit from the
//! same calls.

use rand::RngExt;
use rand_distr::{Binomial, Distribution, Hypergeometric};

use super::{Clause, ClauseKind};
use crate::engine::{Rng, stream};

/// What the quality clauses are computed from: each endpoint's quality
/// and the stream the audits draw from (the run's seed and replication).
#[derive(Clone, Debug, PartialEq)]
pub struct Quality {
    /// The quality of endpoint `i`, in [0, 1].
    pub endpoints: Vec<f64>,
    /// The master seed.
    pub seed: u64,
    /// The replication.
    pub replication: u64,
}

impl Quality {
    /// `n` endpoints of quality 1, seed 0, replication 0 (for runs with no
    /// quality clause, and tests).
    pub fn perfect(n: usize) -> Quality {
        Quality {
            endpoints: vec![1.0; n],
            seed: 0,
            replication: 0,
        }
    }
}

/// The distinct quality levels (ascending, 0 among them: a call never
/// served) and the level of each endpoint.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Levels {
    /// The distinct qualities, ascending; `values[0]` is 0.
    pub(super) values: Vec<f64>,
    /// The level of endpoint `i`.
    of_endpoint: Vec<u8>,
}

impl Levels {
    pub(super) fn new(endpoints: &[f64]) -> Levels {
        let mut values: Vec<f64> = std::iter::once(0.0).chain(endpoints.iter().copied()).collect();
        values.sort_by(f64::total_cmp);
        values.dedup();
        let of_endpoint = endpoints
            .iter()
            .map(|q| values.partition_point(|v| v < q) as u8)
            .collect();
        Levels { values, of_endpoint }
    }

    /// The level of a call served by `endpoint` (`None`: never served, or
    /// an endpoint the scenario does not have: level 0, quality 0).
    pub(super) fn of(&self, endpoint: Option<u32>) -> usize {
        endpoint
            .and_then(|e| self.of_endpoint.get(e as usize))
            .map_or(0, |l| usize::from(*l))
    }
}

/// Whether a clause is judged by [`judge`] (its window keeps counts per level).
pub(super) fn is_quality(kind: ClauseKind) -> bool {
    matches!(kind, ClauseKind::EvalPassRate { .. } | ClauseKind::MeanQuality { .. })
}

/// The stream of the audit of `clause` in the window labelled `window`.
pub(super) fn audit_stream(quality: &Quality, clause: &Clause, window: &str) -> Rng {
    stream(
        quality.seed,
        quality.replication,
        &format!("quality/{}/{}/{window}", clause.tenant_name, clause.ordinal),
    )
}

/// (value, met, eligible, succeeded) of a quality clause over a window
/// whose calls number `counts[k]` at level `k`. Mean quality: the mean
/// over the calls (to 12 decimals); eligible the calls, succeeded those
/// served. Eval pass
/// rate: the pass rate of the sample; eligible the calls sampled,
/// succeeded those that passed. A window without calls holds with no
/// value, as every ratio clause's.
pub(super) fn judge(kind: ClauseKind, counts: &[u64], levels: &Levels, rng: &mut Rng) -> (Option<f64>, bool, u64, u64) {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return (None, true, 0, 0);
    }
    match kind {
        ClauseKind::MeanQuality { target } => {
            let sum: f64 = counts.iter().zip(&levels.values).map(|(n, q)| *n as f64 * q).sum();
            // Rounded to 12 decimals: a mean that is exactly the target
            // (every call at 0.9 against 0.9) is not lost to the rounding
            // of a sum of products.
            let mean = (sum / total as f64 * 1e12).round() / 1e12;
            let served = total - counts.first().copied().unwrap_or(0);
            (Some(mean), mean >= target, total, served)
        }
        ClauseKind::EvalPassRate { target, samples } => {
            let n = u64::from(samples).min(total);
            let sampled = composition(counts, n, rng);
            let passed: u64 = sampled
                .iter()
                .zip(&levels.values)
                .map(|(k, q)| passes(*k, *q, rng))
                .sum();
            let rate = passed as f64 / n as f64;
            (Some(rate), rate >= target, n, passed)
        }
        _ => (None, true, 0, 0),
    }
}

/// How many of a uniform sample without replacement of `n` calls fall at
/// each level, the calls numbering `counts[k]` at level `k`: level by
/// level, Hypergeometric(calls left, calls at the level, sample left).
pub(super) fn composition(counts: &[u64], n: u64, rng: &mut Rng) -> Vec<u64> {
    let mut left: u64 = counts.iter().sum();
    let mut want = n.min(left);
    let mut out = Vec::with_capacity(counts.len());
    for &at_level in counts {
        let x = if want == 0 || at_level == 0 {
            0
        } else if at_level == left {
            want
        } else {
            match Hypergeometric::new(left, at_level, want) {
                Ok(h) => h.sample(rng),
                // The inverse transform underflows for some huge
                // populations: draw the calls one by one instead (exact too).
                Err(_) => one_by_one(left, at_level, want, rng),
            }
        };
        out.push(x);
        left -= at_level;
        want -= x;
    }
    out
}

/// Hypergeometric by drawing `n` calls one at a time without replacement
/// from `total`, `marked` of them marked: how many marked were drawn.
fn one_by_one(total: u64, marked: u64, n: u64, rng: &mut Rng) -> u64 {
    let (mut total, mut marked, mut got) = (total, marked, 0);
    for _ in 0..n {
        if rng.random_range(0..total) < marked {
            got += 1;
            marked -= 1;
        }
        total -= 1;
    }
    got
}

/// Passes among `n` sampled calls of quality `q`: Binomial(n, q).
fn passes(n: u64, q: f64, rng: &mut Rng) -> u64 {
    if n == 0 {
        return 0;
    }
    match Binomial::new(n, q.clamp(0.0, 1.0)) {
        Ok(b) => b.sample(rng),
        Err(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_the_distinct_qualities_with_zero_first() {
        let l = Levels::new(&[0.9, 0.7, 0.9, 0.0]);
        assert_eq!(l.values, vec![0.0, 0.7, 0.9]);
        assert_eq!(
            (l.of(Some(0)), l.of(Some(1)), l.of(Some(2)), l.of(Some(3))),
            (2, 1, 2, 0)
        );
        assert_eq!(l.of(None), 0, "never served");
        assert_eq!(l.of(Some(9)), 0, "not an endpoint of the scenario");
    }

    /// Hand-worked: 2 calls at level 0, 3 at level 1, a sample of 2.
    /// P(level 0 gets k) = C(2,k)·C(3,2-k)/C(5,2): 3/10, 6/10, 1/10, and
    /// level 1 gets the rest.
    #[test]
    fn a_small_composition_has_the_hypergeometric_law() {
        let mut rng = stream(1, 0, "test/composition");
        let draws = 200_000;
        let mut seen = [0u64; 3];
        for _ in 0..draws {
            let c = composition(&[2, 3], 2, &mut rng);
            assert_eq!(c.iter().sum::<u64>(), 2);
            assert!(c[0] <= 2 && c[1] <= 3);
            seen[c[0] as usize] += 1;
        }
        for (k, p) in [0.3, 0.6, 0.1].into_iter().enumerate() {
            let share = seen[k] as f64 / draws as f64;
            // 4.5 standard errors of a share of 200,000 draws.
            let tol = 4.5 * (p * (1.0 - p) / draws as f64).sqrt();
            assert!((share - p).abs() < tol, "k = {k}: {share} against {p} ± {tol}");
        }
    }

    /// Three levels, a sample of 3 from 1 + 2 + 2 calls: the exact law of
    /// the triple is multivariate hypergeometric, e.g. P(1, 1, 1) =
    /// 1·2·2/C(5,3) = 4/10, P(0, 2, 1) = 2/10, P(1, 2, 0) = 1/10.
    #[test]
    fn sequential_draws_give_the_multivariate_law() {
        let mut rng = stream(2, 0, "test/composition3");
        let draws = 200_000;
        let (mut a, mut b, mut c) = (0u64, 0u64, 0u64);
        for _ in 0..draws {
            match composition(&[1, 2, 2], 3, &mut rng).as_slice() {
                [1, 1, 1] => a += 1,
                [0, 2, 1] => b += 1,
                [1, 2, 0] => c += 1,
                _ => {}
            }
        }
        for (got, p) in [(a, 0.4), (b, 0.2), (c, 0.1)] {
            let share = got as f64 / draws as f64;
            let tol = 4.5 * (p * (1.0 - p) / draws as f64).sqrt();
            assert!((share - p).abs() < tol, "{share} against {p} ± {tol}");
        }
    }

    #[test]
    fn a_window_with_fewer_calls_than_the_sample_evaluates_them_all() {
        let levels = Levels::new(&[1.0]);
        let mut rng = stream(3, 0, "test/all");
        // 3 unserved, 7 served at quality 1, 200 samples: all 10, 7 pass.
        let kind = ClauseKind::EvalPassRate {
            target: 0.7,
            samples: 200,
        };
        assert_eq!(judge(kind, &[3, 7], &levels, &mut rng), (Some(0.7), true, 10, 7));
        assert_eq!(judge(kind, &[0, 0], &levels, &mut rng), (None, true, 0, 0));
        let mean = ClauseKind::MeanQuality { target: 0.75 };
        assert_eq!(judge(mean, &[3, 7], &levels, &mut rng), (Some(0.7), false, 10, 7));
    }

    #[test]
    fn the_fallback_draw_agrees_with_the_law() {
        let mut rng = stream(4, 0, "test/one_by_one");
        let draws = 100_000;
        let hits: u64 = (0..draws).map(|_| u64::from(one_by_one(5, 2, 2, &mut rng) == 0)).sum();
        let (share, p) = (hits as f64 / draws as f64, 0.3);
        assert!(
            (share - p).abs() < 4.5 * (p * (1.0 - p) / draws as f64).sqrt(),
            "{share}"
        );
    }
}
