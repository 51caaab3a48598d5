//! Whether a run can prove the required confidence at all, worked out before
//! simulating: the number of windows a command will judge bounds the best
//! verdict it can give, whatever the simulation shows.
//!
//! A clause judged over `n` windows that held in every one of them has the
//! two-sided Clopper-Pearson interval `[(α/2)^(1/n), 1]` at level `1 - α`,
//! the best it can do. Below `windows_needed(required, level, 0)` windows no
//! clause can be enforceable; a search for a capacity or threshold that
//! makes it so cannot succeed, and a verdict of "at risk" says nothing about
//! the platform. The window count of a clause is the replications times the
//! windows its period cuts from the simulated period (one month, or the five
//! ISO weeks touching January, ...), exactly as [`super::summarize`] counts them.
//!
//! The default replications of `check` and `frontier` leave a margin of
//! [`SPARE_BREACHES`] breached window: at that count a clause that failed in
//! one window can still be proven, so one unlucky window does not decide
//! the verdict alone.

use crate::scenario::Scenario;
use crate::sla::{Clause, Layout};

use super::{ClauseSummary, Verdict, clopper_pearson};

/// Breached windows the default replications tolerate: with them a clause
/// that failed in this many windows, and held in all others, is still
/// enforceable.
pub const SPARE_BREACHES: u64 = 1;

/// The best lower bound of the interval at `level` over `windows` windows:
/// every window held. `(α/2)^(1/n)` with `α = 1 - level`.
pub fn best_lower_bound(windows: u64, level: f64) -> f64 {
    clopper_pearson(windows, windows, level).0
}

/// The smallest number of windows at which a clause breached in `breaches`
/// of them (and held in the others) has a lower bound of at least
/// `required`. `required` lies in (0, 1).
pub fn windows_needed(required: f64, level: f64, breaches: u64) -> u64 {
    let proves = |n: u64| n > breaches && clopper_pearson(n - breaches, n, level).0 >= required;
    // Start from the all-held closed form; `breaches` windows never prove
    // (there is nothing held), and more windows prove more: gallop up to a
    // count that proves, then bisect.
    let alpha = (1.0 - level) / 2.0;
    let guess = (alpha.ln() / required.ln()).ceil().max(1.0) as u64;
    let (mut lo, mut hi) = (breaches, guess.max(breaches + 1));
    while !proves(hi) {
        lo = hi;
        hi = hi.saturating_mul(2);
    }
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

/// What one clause can show with the replications a command will run.
#[derive(Clone, Debug, PartialEq)]
pub struct ClauseReach {
    /// Index of the clause among [`Clause::all`].
    pub clause: usize,
    /// Windows its period cuts from the simulated period.
    pub windows_per_replication: u64,
    /// Windows judged in all: replications × windows per replication.
    pub windows: u64,
    /// The interval's lower bound if every window held.
    pub best_lower_bound: f64,
    /// Whether that reaches the required confidence.
    pub reachable: bool,
}

/// The reach of a command's judged clauses at a number of replications.
#[derive(Clone, Debug, PartialEq)]
pub struct Reach {
    /// Replications the command will run.
    pub replications: u64,
    /// The required confidence.
    pub required: f64,
    /// One entry per judged clause.
    pub clauses: Vec<ClauseReach>,
    /// The fewest replications at which every judged clause can be proven
    /// (every window held).
    pub replications_needed: u64,
    /// The fewest at which every judged clause can be proven with
    /// [`SPARE_BREACHES`] breached window(s): the default of `check` and `frontier`.
    pub replications_with_margin: u64,
}

impl Reach {
    /// The clauses no outcome of the run can prove.
    pub fn unreachable(&self) -> impl Iterator<Item = &ClauseReach> {
        self.clauses.iter().filter(|c| !c.reachable)
    }

    /// Whether every judged clause can be proven.
    pub fn is_reachable(&self) -> bool {
        self.clauses.iter().all(|c| c.reachable)
    }
}

/// Windows per replication of each clause of `scenario`.
pub fn windows_per_replication(scenario: &Scenario, clauses: &[Clause]) -> Vec<u64> {
    clauses
        .iter()
        .map(|c| {
            Layout::new(c.period, scenario.start(), scenario.simulation.duration)
                .windows
                .len() as u64
        })
        .collect()
}

/// The reach of clauses `judged` (indices into `clauses`) with
/// `replications` replications, at required confidence `required` and
/// interval level `level`.
pub fn reach(
    scenario: &Scenario,
    clauses: &[Clause],
    judged: &[usize],
    replications: u64,
    required: f64,
    level: f64,
) -> Reach {
    let per_rep = windows_per_replication(scenario, clauses);
    let bare = windows_needed(required, level, 0);
    let spare = windows_needed(required, level, SPARE_BREACHES);
    let mut out = Reach {
        replications,
        required,
        clauses: Vec::new(),
        replications_needed: 1,
        replications_with_margin: 1,
    };
    for &c in judged {
        let w = per_rep.get(c).copied().unwrap_or(0);
        let windows = replications.saturating_mul(w);
        let best = best_lower_bound(windows, level);
        if w > 0 {
            out.replications_needed = out.replications_needed.max(bare.div_ceil(w));
            out.replications_with_margin = out.replications_with_margin.max(spare.div_ceil(w));
        }
        out.clauses.push(ClauseReach {
            clause: c,
            windows_per_replication: w,
            windows,
            best_lower_bound: best,
            reachable: best >= required,
        });
    }
    out
}

/// Why a clause that was simulated is not enforceable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shortfall {
    /// The share of windows held reaches the required confidence but the
    /// interval's lower bound does not: the sample is too small for the
    /// breaches seen (verdict "at risk"). More replications could prove it.
    Statistics,
    /// The share of windows held is below the required confidence: the
    /// clause was breached in too many windows (verdict "not enforceable").
    /// More replications will not prove it; only a change to the platform
    /// (capacity, chains, the clause) can.
    Metric,
}

impl Shortfall {
    /// Why `summary` falls short, or `None` when it is enforceable.
    pub fn of(summary: &ClauseSummary) -> Option<Shortfall> {
        match summary.verdict {
            Verdict::Enforceable => None,
            Verdict::AtRisk => Some(Shortfall::Statistics),
            Verdict::NotEnforceable => Some(Shortfall::Metric),
        }
    }

    /// How it is written in probe lines and `capacity.csv`.
    pub fn label(self) -> &'static str {
        match self {
            Shortfall::Statistics => "statistics",
            Shortfall::Metric => "metric",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEVEL: f64 = super::super::INTERVAL_LEVEL;

    #[test]
    fn four_clean_windows_prove_at_most_0_398() {
        // (0.025)^(1/4) = e^(ln 0.025 / 4) = e^(-3.688879 / 4) = e^(-0.922220) = 0.397635.
        assert!((best_lower_bound(4, LEVEL) - 0.397_635).abs() < 1e-6);
        assert_eq!(format!("{:.3}", best_lower_bound(4, LEVEL)), "0.398");
    }

    #[test]
    fn windows_needed_matches_the_hand_computed_counts() {
        // All windows held: n >= ln(0.025) / ln(required).
        // 0.95: -3.688879 / -0.051293 = 71.92, so 72 (0.025^(1/72) = 0.950056,
        //       0.025^(1/71) = 0.949371).
        // 0.99: -3.688879 / -0.010050 = 367.04, so 368 (0.025^(1/368) = 0.990026,
        //       0.025^(1/367) = 0.989999).
        // 0.80: -3.688879 / -0.223144 = 16.53, so 17.
        assert_eq!(windows_needed(0.95, LEVEL, 0), 72);
        assert_eq!(windows_needed(0.99, LEVEL, 0), 368);
        assert_eq!(windows_needed(0.80, LEVEL, 0), 17);
        assert!(best_lower_bound(72, LEVEL) >= 0.95 && best_lower_bound(71, LEVEL) < 0.95);
        assert!(best_lower_bound(368, LEVEL) >= 0.99 && best_lower_bound(367, LEVEL) < 0.99);
        // One breached window: the lower bound p solves
        // P(X >= n-1 | p) = n p^(n-1) - (n-1) p^n = 0.025 (bisection by hand
        // script): n = 110 gives p = 0.950389, n = 109 gives 0.949943; for
        // 0.99, n = 555 gives 0.990002 and n = 554 gives 0.989984.
        assert_eq!(windows_needed(0.95, LEVEL, 1), 110);
        assert_eq!(windows_needed(0.99, LEVEL, 1), 555);
        assert!((clopper_pearson(109, 110, LEVEL).0 - 0.950_389).abs() < 1e-5);
    }

    #[test]
    fn windows_needed_is_the_boundary_for_any_requirement() {
        for required in [0.3, 0.5, 0.6, 0.75, 0.9, 0.95, 0.975, 0.999] {
            for breaches in 0..4 {
                let n = windows_needed(required, LEVEL, breaches);
                assert!(
                    clopper_pearson(n - breaches, n, LEVEL).0 >= required,
                    "{required} {breaches}"
                );
                if n - 1 > breaches {
                    assert!(
                        clopper_pearson(n - 1 - breaches, n - 1, LEVEL).0 < required,
                        "{required} {breaches}: {n}"
                    );
                }
            }
        }
    }
}
