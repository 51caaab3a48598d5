//! `--until-decided`: an interval that stays valid however many times it is
//! looked at, and the rule that stops a run once every verdict is settled.
//!
//! A fixed-n Clopper-Pearson interval covers the probability that a clause
//! holds with 95% probability *at the one sample size chosen in advance*.
//! Looking after every batch and stopping as soon as the interval clears the
//! required confidence breaks that guarantee: each look is another chance to
//! cross by luck. This module replaces it, for such runs, with a confidence
//! sequence: intervals `C_1, C_2, ...` that contain the true probability at
//! every sample size *simultaneously* with probability at least the level,
//! so any data-dependent stopping time keeps the guarantee.
//!
//! **The observations are replications, not windows.** Windows of one
//! replication share its outages and workload, so they are not independent
//! (rolling windows overlap outright). Replications are: replication `r` is
//! a function of the master seed and `r` alone. Each replication gives one
//! observation per clause, `Y_r` = the share of its windows in which the
//! clause held, a number in `[0, 1]` whose mean is the probability that the
//! clause holds in a window (what `summary.csv` estimates as `met / windows`).
//!
//! **The interval** is the beta-binomial mixture confidence sequence
//! (Robbins 1970; Howard, Ramdas, McAuliffe and Sekhon 2021, *Time-uniform,
//! nonparametric, nonasymptotic confidence sequences*, Ann. Statist. 49(2)):
//! for a candidate probability `p`, after `n` replications summing to `S`,
//!
//! ```text
//! M_n(p) = B(a + S, b + n - S) / B(a, b) / (p^S (1 - p)^(n - S))
//! ```
//!
//! is the wealth of a bettor who mixes, with a Beta(a, b) prior, over every
//! alternative to `p`. For `Y` in `[0, 1]` with mean `p`, each factor
//! `(θ/p)^Y ((1-θ)/(1-p))^(1-Y)` is convex in `Y`, so its mean is at most its
//! mean at a Bernoulli `Y` with the same mean, which is 1: `M_n(p)` is a
//! nonnegative supermartingale and Ville's inequality gives
//! `P(∃n: M_n(p) ≥ 1/α) ≤ α`. The interval `C_n = {p : M_n(p) < 1/α}` is an
//! interval around `S/n` (`ln M_n` is convex in `p`), found by bisection.
//! Reported bounds are the running intersection of `C_1..C_n`, so they only
//! tighten, and a settled verdict stays settled.
//!
//! Any prior fixed before the data keeps the guarantee; the prior decides
//! where the sequence is tight. This one mixes three Beta laws, for a
//! required confidence `q`:
//!
//! - 70% ([`HIGH_SHARE`]) on Beta(½ (10 / (1 - q) - 1), ½), Beta(99.5, ½)
//!   at `q` = 0.95: mean `1 - (1 - q) / 10`, the bet that the clause fails
//!   in a tenth as many windows as the requirement allows, or none. Most
//!   clauses a platform offers hold with room to spare, and these are the
//!   verdicts to settle fast: a clause that holds in every window is proven
//!   at 0.95 after 68 replications, one that failed once after 132. No
//!   anytime-valid method can beat 59 for the first (`M_n(p) ≤ p^-n` on an
//!   all-held path, for any bet; 59 is the one-sided fixed-n
//!   Clopper-Pearson bound, the fixed run's two-sided interval needs 72);
//! - 25% on Beta(10 q, 10 (1 - q)), centred on `q` with a weight of
//!   [`PRIOR_WEIGHT`] pseudo-replications, for clauses that fail the
//!   requirement without failing every window (held in 80-90% of them);
//! - [`JEFFREYS_SHARE`] on Jeffreys' Beta(½, ½), so that it narrows far from
//!   `q` too (a clause failing every window is settled after 3).
//!
//! For 0/1 observations a betting confidence sequence whose bet follows
//! the running estimate (Waudby-Smith and Ramdas 2024, Kelly's plug-in) *is*
//! such a mixture (its wealth is the predictive likelihood ratio), so the
//! prior is the only real choice; see the README for the alternatives
//! considered.
//!
//! **The rule**: look after the first `first` replications, then every
//! `batch`, up to `max`. A clause is decided once its interval's lower bound
//! reaches the required confidence (enforceable) or its upper bound falls
//! below it (not enforceable); a clause still straddling it at the cap is
//! undecided, reported "at risk". The run stops at the first look at which
//! every judged clause is decided.

use std::ops::Range;

use serde::Serialize;
use statrs::function::beta::checked_ln_beta;

use super::{ClauseSummary, IntervalKind, Replication, StreamError, Verdict};
use crate::model::RunStats;
use crate::scenario::Scenario;
use crate::sla::Clause;

/// Weight of the prior's centred component, in pseudo-replications: a
/// Beta(10 q, 10 (1 - q)) centred on the required confidence `q`.
pub const PRIOR_WEIGHT: f64 = 10.0;

/// Share of the prior on the component that bets on a clause holding with
/// room to spare: Beta(½ (10 / (1 - q) - 1), ½), mean `1 - (1 - q) / 10`.
pub const HIGH_SHARE: f64 = 0.7;

/// Share of the prior given to a Jeffreys Beta(½, ½) component, so that
/// the interval also narrows quickly far from `q` (a clause that fails in
/// every window gets an upper bound near 0, not near 0.3).
pub const JEFFREYS_SHARE: f64 = 0.05;

/// Share of the prior's centred component: the rest.
const CENTRED_SHARE: f64 = 1.0 - HIGH_SHARE - JEFFREYS_SHARE;

/// Default replications per look.
pub const DEFAULT_BATCH: u64 = 8;

/// Default largest number of replications.
pub const DEFAULT_MAX_REPLICATIONS: u64 = 1000;

/// Bisection stops when the bracket is this narrow.
const TOLERANCE: f64 = 1e-12;

/// The beta-binomial mixture confidence sequence at one level, with the
/// three-component Beta prior described in the module docs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BetaMixture {
    /// `(weight, a, b)` of each prior component.
    prior: [(f64, f64, f64); 3],
    /// `ln(1/α)`: a probability is excluded once `ln M_n` reaches it.
    threshold: f64,
}

impl BetaMixture {
    /// The sequence at `level` (e.g. 0.95: every interval of the sequence
    /// covers the truth with probability at least 0.95, simultaneously),
    /// with its prior centred on `centre` (the required confidence).
    /// Both lie in (0, 1); values outside are clamped into it.
    pub fn new(level: f64, centre: f64) -> BetaMixture {
        let centre = centre.clamp(1e-6, 1.0 - 1e-6);
        let alpha = (1.0 - level).clamp(1e-12, 1.0 - 1e-12);
        BetaMixture {
            prior: [
                (HIGH_SHARE, 0.5 * (10.0 / (1.0 - centre) - 1.0), 0.5),
                (CENTRED_SHARE, PRIOR_WEIGHT * centre, PRIOR_WEIGHT * (1.0 - centre)),
                (JEFFREYS_SHARE, 0.5, 0.5),
            ],
            threshold: -alpha.ln(),
        }
    }

    /// The prior's components, `[weight, a, b]` each.
    pub fn prior(&self) -> [[f64; 3]; 3] {
        self.prior.map(|(w, a, b)| [w, a, b])
    }

    /// `ln M_n(p)`: the log-evidence against `p` after `n` observations in
    /// `[0, 1]` summing to `sum`.
    pub fn log_evidence(&self, sum: f64, n: u64, p: f64) -> f64 {
        let fails = (n as f64 - sum).max(0.0);
        self.ln_mixture(sum, fails) - x_ln_y(sum, p) - x_ln_y(fails, 1.0 - p)
    }

    /// Whether `p` is outside the interval after `n` observations summing
    /// to `sum`.
    pub fn excludes(&self, sum: f64, n: u64, p: f64) -> bool {
        self.log_evidence(sum, n, p) >= self.threshold
    }

    /// `C_n`: the probabilities not excluded after `n` observations summing
    /// to `sum`, as `(low, high)`, each end rounded outwards. `n = 0` gives
    /// `[0, 1]`.
    pub fn interval(&self, sum: f64, n: u64) -> (f64, f64) {
        self.narrowed(sum, n, (0.0, 1.0)).unwrap_or((0.0, 1.0))
    }

    /// `C_n ∩ [low, high]`, or `None` when they do not meet. Cheaper than
    /// [`Self::interval`] when `[low, high]` is already narrow: an end that
    /// `C_n` does not exclude is kept without a search.
    fn narrowed(&self, sum: f64, n: u64, (low, high): (f64, f64)) -> Option<(f64, f64)> {
        if n == 0 {
            return Some((low, high));
        }
        let fails = (n as f64 - sum).max(0.0);
        let mixture = self.ln_mixture(sum, fails);
        let gap = |p: f64| mixture - x_ln_y(sum, p) - x_ln_y(fails, 1.0 - p) - self.threshold;
        let estimate = (sum / n as f64).clamp(0.0, 1.0);
        if estimate < low || estimate > high {
            // C_n lies around the estimate: it meets [low, high] only if
            // the near end of [low, high] is inside it.
            let near = if estimate < low { low } else { high };
            if gap(near) >= 0.0 {
                return None;
            }
        }
        // ln M_n is convex in p with its minimum (≤ 0) at the estimate: each
        // side of it has one crossing of the threshold.
        let low = if low < estimate && gap(low) >= 0.0 {
            // Decreasing and convex on [low, estimate].
            crossing(low, estimate, &gap, &|p| -sum / p + fails / (1.0 - p))
        } else {
            low
        };
        let high = if high > estimate && gap(high) >= 0.0 {
            // In q = 1 - p, decreasing and convex on [1 - high, 1 - estimate].
            1.0 - crossing(1.0 - high, 1.0 - estimate, &|q| gap(1.0 - q), &|q| {
                sum / (1.0 - q) - fails / q
            })
        } else {
            high
        };
        Some((low, high))
    }

    /// The fewest replications after which a clause that held in every
    /// window is proven to hold with probability at least `required`.
    pub fn clean_replications_needed(&self, required: f64) -> u64 {
        let proves = |n: u64| self.excludes(n as f64, n, required);
        let mut hi = 1u64;
        while !proves(hi) {
            if hi > 1 << 40 {
                return u64::MAX;
            }
            hi *= 2;
        }
        let mut lo = hi / 2;
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if proves(mid) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        hi
    }

    /// `ln ∫ θ^sum (1-θ)^fails dπ(θ)`: the part of `ln M_n` that does not
    /// depend on `p`.
    fn ln_mixture(&self, sum: f64, fails: f64) -> f64 {
        let terms = self
            .prior
            .map(|(w, a, b)| w.ln() + ln_beta(a + sum, b + fails) - ln_beta(a, b));
        let top = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        top + terms.iter().map(|t| (t - top).exp()).sum::<f64>().ln()
    }
}

/// `ln B(a, b)`; both are positive here by construction.
fn ln_beta(a: f64, b: f64) -> f64 {
    checked_ln_beta(a, b).unwrap_or(f64::NAN)
}

/// `x ln y`, with `0 ln 0 = 0`.
fn x_ln_y(x: f64, y: f64) -> f64 {
    if x == 0.0 { 0.0 } else { x * y.ln() }
}

/// The root of `gap` in `[from, to]`, where `gap` is decreasing and convex,
/// `gap(from) ≥ 0` (excluded) and `gap(to) < 0`, returned on the excluded
/// side. Newton steps from the excluded end never overshoot a convex
/// decreasing function's root, so they converge from that side; a step that
/// leaves the bracket (an infinite slope at 0) is replaced by bisection.
fn crossing(mut from: f64, mut to: f64, gap: &dyn Fn(f64) -> f64, slope: &dyn Fn(f64) -> f64) -> f64 {
    for _ in 0..200 {
        if to - from <= TOLERANCE {
            break;
        }
        let newton = from - gap(from) / slope(from);
        let step = if newton.is_finite() && newton > from && newton < to {
            newton
        } else {
            from + (to - from) / 2.0
        };
        if gap(step) >= 0.0 {
            let moved = step - from;
            from = step;
            if moved <= TOLERANCE {
                break;
            }
        } else {
            to = step;
        }
    }
    from
}

/// One clause's confidence sequence as replications arrive in index
/// order: the running intersection of the mixture's intervals, and when
/// it settled the verdict.
#[derive(Clone, Debug, PartialEq)]
pub struct ClauseSequence {
    mixture: BetaMixture,
    required: f64,
    replications: u64,
    sum: f64,
    low: f64,
    high: f64,
    decided_after: Option<u64>,
}

impl ClauseSequence {
    /// An empty sequence judged against `required`.
    pub fn new(mixture: BetaMixture, required: f64) -> ClauseSequence {
        ClauseSequence {
            mixture,
            required,
            replications: 0,
            sum: 0.0,
            low: 0.0,
            high: 1.0,
            decided_after: None,
        }
    }

    /// Adds the next replication: the share of its windows in which the
    /// clause held, in `[0, 1]`.
    pub fn push(&mut self, share: f64) {
        self.replications += 1;
        self.sum += share.clamp(0.0, 1.0);
        // The intersection is empty only if some earlier interval missed the
        // truth (probability at most α); the last non-empty one is kept, so
        // the bounds stay ordered and a settled verdict stays settled.
        if let Some((low, high)) = self
            .mixture
            .narrowed(self.sum, self.replications, (self.low, self.high))
        {
            self.low = low;
            self.high = high;
        }
        if self.decided_after.is_none() && self.is_decided() {
            self.decided_after = Some(self.replications);
        }
    }

    /// Replications observed.
    pub fn replications(&self) -> u64 {
        self.replications
    }

    /// The mean share of windows held.
    pub fn estimate(&self) -> f64 {
        if self.replications == 0 {
            0.0
        } else {
            self.sum / self.replications as f64
        }
    }

    /// The running interval `(low, high)`.
    pub fn interval(&self) -> (f64, f64) {
        (self.low, self.high)
    }

    /// Whether the verdict can no longer change.
    pub fn is_decided(&self) -> bool {
        self.low >= self.required || self.high < self.required
    }

    /// The replications after which the verdict was settled, if it is.
    pub fn decided_after(&self) -> Option<u64> {
        self.decided_after
    }

    /// A projection, not a guarantee: the fewest replications, up to `cap`,
    /// after which the verdict would settle if the mean share held so far
    /// stayed exactly the same. `None` when it would not settle by `cap`
    /// (an estimate on the required confidence never does). What the run
    /// says early about a clause that makes it long.
    pub fn settles_at_this_rate(&self, cap: u64) -> Option<u64> {
        if self.decided_after.is_some() {
            return self.decided_after;
        }
        let estimate = self.estimate();
        (self.replications.max(1)..=cap).find(|&n| self.mixture.excludes(estimate * n as f64, n, self.required))
    }

    /// Enforceable once the lower bound reaches the required confidence,
    /// not enforceable once the upper bound is below it, at risk (undecided)
    /// while the interval straddles it.
    pub fn verdict(&self) -> Verdict {
        if self.low >= self.required {
            Verdict::Enforceable
        } else if self.high < self.required {
            Verdict::NotEnforceable
        } else {
            Verdict::AtRisk
        }
    }
}

/// Every clause's sequence over the replications of one scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Sequential {
    clauses: Vec<ClauseSequence>,
    replications: u64,
}

impl Sequential {
    /// Sequences for `n_clauses` clauses at interval `level`, judged against
    /// `required`.
    pub fn new(n_clauses: usize, required: f64, level: f64) -> Sequential {
        let mixture = BetaMixture::new(level, required);
        Sequential {
            clauses: vec![ClauseSequence::new(mixture, required); n_clauses],
            replications: 0,
        }
    }

    /// Adds the next replication (index order): each clause's share of
    /// windows held. A clause the replication did not judge is skipped.
    pub fn observe(&mut self, rep: &Replication) {
        let mut counts = vec![(0u64, 0u64); self.clauses.len()];
        for a in &rep.attainment {
            if let Some(c) = counts.get_mut(a.clause) {
                c.0 += 1;
                c.1 += u64::from(a.met);
            }
        }
        for (seq, (windows, met)) in self.clauses.iter_mut().zip(counts) {
            if windows > 0 {
                seq.push(met as f64 / windows as f64);
            }
        }
        self.replications += 1;
    }

    /// Replications observed.
    pub fn replications(&self) -> u64 {
        self.replications
    }

    /// Clause `i`'s sequence.
    pub fn clause(&self, i: usize) -> &ClauseSequence {
        &self.clauses[i]
    }

    /// Whether every clause in `judged` is decided.
    pub fn all_decided(&self, judged: &[usize]) -> bool {
        judged
            .iter()
            .all(|&c| self.clauses.get(c).is_none_or(ClauseSequence::is_decided))
    }

    /// Indices of every clause.
    pub fn every_clause(&self) -> Vec<usize> {
        (0..self.clauses.len()).collect()
    }

    /// Replaces the fixed-n interval and verdict of every summary row with
    /// the sequence's, and records when each verdict settled; drops the
    /// internal objective of a clause the sequence does not find enforceable.
    pub fn apply(&self, summary: &mut [ClauseSummary]) {
        for s in summary {
            let Some(seq) = self.clauses.get(s.clause) else {
                continue;
            };
            (s.ci_low, s.ci_high) = seq.interval();
            s.verdict = seq.verdict();
            s.interval = IntervalKind::ConfidenceSequence;
            s.decided_after = seq.decided_after();
            // An internal objective only for a clause that is enforceable,
            // and never looser than the contract.
            if s.verdict != Verdict::Enforceable || s.internal.is_some_and(|i| i.buffer < 0.0) {
                s.internal = None;
            }
        }
    }
}

/// When to look: after `first` replications, then every `batch`, up to `max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Schedule {
    /// Replications before the first look.
    pub first: u64,
    /// Replications added between looks.
    pub batch: u64,
    /// The cap.
    pub max: u64,
}

/// Where a schedule stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Stop {
    /// Replications run.
    pub replications: u64,
    /// Whether it stopped because the look was settled (else: the cap or
    /// the wall-time budget).
    pub settled: bool,
    /// Whether it stopped because the wall-time budget (`--max-wall`) ran
    /// out before the cap, with a verdict still open.
    pub out_of_time: bool,
}

impl Schedule {
    /// A schedule; `first` and `batch` at least 1, and `max` at least `first`.
    pub fn new(first: u64, batch: u64, max: u64) -> Result<Schedule, String> {
        if first == 0 || batch == 0 {
            return Err("the first look and the batch need at least one replication each".into());
        }
        if max < first {
            return Err(format!(
                "--max-replications {max} is below the {first} replication(s) run before the first look"
            ));
        }
        Ok(Schedule { first, batch, max })
    }

    /// The new replications of each look, in order: `0..first`, then
    /// `first..first + batch`, ..., the last one ending at `max`.
    pub fn looks(&self) -> impl Iterator<Item = Range<u64>> + '_ {
        let mut end = 0u64;
        std::iter::from_fn(move || {
            if end >= self.max {
                return None;
            }
            let start = end;
            end = if start == 0 {
                self.first
            } else {
                start.saturating_add(self.batch).min(self.max)
            };
            Some(start..end)
        })
    }

    /// Calls `look` with each look's new replications until it reports the
    /// look settled, or the cap.
    pub fn drive<E>(&self, look: impl FnMut(Range<u64>) -> Result<bool, E>) -> Result<Stop, E> {
        self.drive_within(&|| false, look)
    }

    /// [`Self::drive`], also stopping after the first unsettled look at
    /// which `out_of_time()` holds (a wall-time budget; the caller reads
    /// the clock). A look in progress always completes, so the replications
    /// run are still a prefix `0..N` of a fixed run's.
    pub fn drive_within<E>(
        &self,
        out_of_time: &dyn Fn() -> bool,
        mut look: impl FnMut(Range<u64>) -> Result<bool, E>,
    ) -> Result<Stop, E> {
        let mut replications = 0;
        for range in self.looks() {
            replications = range.end;
            if look(range)? {
                return Ok(Stop {
                    replications,
                    settled: true,
                    out_of_time: false,
                });
            }
            if replications < self.max && out_of_time() {
                return Ok(Stop {
                    replications,
                    settled: false,
                    out_of_time: true,
                });
            }
        }
        Ok(Stop {
            replications,
            settled: false,
            out_of_time: false,
        })
    }
}

/// Runs the replications of `scenarios` (one, or a baseline and a proposal
/// on common random numbers) look by look on `pool`, until `settled` holds
/// over their sequences or the cap. Each look runs the same replications of
/// every scenario, one scenario after the other; each replication is fed to
/// its scenario's sequence in index order, then handed to `each` with the
/// scenario's position, and dropped: memory holds a chunk of replications
/// at a time ([`super::stream_indices`]), whatever the number run.
/// Replication `r` is exactly replication `r` of a fixed run (only
/// replication 0 keeps its timeline, as in a fixed run's outputs).
pub fn stream_until_decided<E>(
    pool: &rayon::ThreadPool,
    scenarios: &[&Scenario],
    schedule: &Schedule,
    sequentials: &mut [Sequential],
    settled: &dyn Fn(&[Sequential]) -> bool,
    on_done: &(dyn Fn(&RunStats) + Sync),
    mut each: impl FnMut(usize, &Replication) -> Result<(), E>,
) -> Result<Stop, StreamError<E>> {
    schedule.drive(|range| {
        for (i, (scenario, sequential)) in scenarios.iter().zip(sequentials.iter_mut()).enumerate() {
            super::stream_indices(pool, scenario, range.clone(), on_done, |mut r| {
                if r.index != 0 {
                    r.timeline = None;
                }
                sequential.observe(&r);
                each(i, &r)
            })?;
        }
        Ok(settled(sequentials))
    })
}

/// Whether a probe that passes only if every clause in `judged` is
/// enforceable is settled: one of them is proven not enforceable (it
/// fails whatever follows), or all are proven enforceable.
pub fn probe_settled(sequential: &Sequential, judged: &[usize]) -> bool {
    let verdicts = || {
        judged
            .iter()
            .filter_map(|&c| sequential.clauses.get(c))
            .map(ClauseSequence::verdict)
    };
    verdicts().any(|v| v == Verdict::NotEnforceable) || verdicts().all(|v| v == Verdict::Enforceable)
}

/// What `run.json` records of an `--until-decided` run.
#[derive(Clone, Debug, Serialize)]
pub struct UntilDecided {
    /// The looks.
    pub schedule: Schedule,
    /// Where it stopped.
    pub stop: Stop,
    /// The interval: the method and its prior.
    pub interval: &'static str,
    /// The mixture's prior: `[weight, a, b]` of each Beta component.
    pub prior: [[f64; 3]; 3],
    /// The wall-time budget (`run --max-wall`), in seconds, if one was set.
    pub max_wall_seconds: Option<f64>,
    /// Every clause: when its verdict settled.
    pub clauses: Vec<ClauseDecision>,
}

/// One clause of [`UntilDecided`].
#[derive(Clone, Debug, Serialize)]
pub struct ClauseDecision {
    /// Index among the scenario's clauses (`clause_index` in the CSVs).
    pub clause_index: usize,
    /// Tenant name.
    pub tenant: String,
    /// The clause in words.
    pub clause: String,
    /// Replications after which its verdict settled; `null` if undecided.
    pub decided_after: Option<u64>,
    /// Its verdict at the stop.
    pub verdict: Verdict,
}

/// The name of the interval in `run.json`.
pub const METHOD: &str = "beta-binomial mixture confidence sequence over replications (running intersection)";

impl UntilDecided {
    /// The record of a run of `scenario` that stopped at `stop`.
    pub fn new(
        scenario: &Scenario,
        clauses: &[Clause],
        schedule: Schedule,
        stop: Stop,
        sequential: &Sequential,
    ) -> UntilDecided {
        let prior = sequential.clauses.first().map_or([[0.0; 3]; 3], |c| c.mixture.prior());
        UntilDecided {
            schedule,
            stop,
            interval: METHOD,
            prior,
            max_wall_seconds: None,
            clauses: clauses
                .iter()
                .enumerate()
                .map(|(i, c)| ClauseDecision {
                    clause_index: i,
                    tenant: c.tenant_name.clone(),
                    clause: c.describe(scenario),
                    decided_after: sequential.clauses.get(i).and_then(ClauseSequence::decided_after),
                    verdict: sequential
                        .clauses
                        .get(i)
                        .map_or(Verdict::AtRisk, ClauseSequence::verdict),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests;
