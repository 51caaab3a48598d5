//! Before simulating, whether the replications a command will run can prove
//! the required confidence at all ([`slaplan::plan::reach`]): the default
//! replications of `check` and `frontier`, the warning of `run`, `check`
//! and `frontier`, and the refusal of a capacity search that cannot succeed.

use slaplan::plan::{self, reach};
use slaplan::scenario::Scenario;
use slaplan::sla::Clause;

use super::Failure;
use super::stdout::note;

/// What a command will judge: the scenario, its clauses and the indices of
/// those whose verdicts it reports.
pub(crate) struct Judged<'a> {
    pub scenario: &'a Scenario,
    pub clauses: &'a [Clause],
    pub indices: Vec<usize>,
    pub required: f64,
}

impl<'a> Judged<'a> {
    /// Every clause of `scenario`.
    pub fn all(scenario: &'a Scenario, clauses: &'a [Clause], required: f64) -> Judged<'a> {
        Judged {
            scenario,
            clauses,
            indices: (0..clauses.len()).collect(),
            required,
        }
    }

    fn reach(&self, replications: u64) -> reach::Reach {
        reach::reach(
            self.scenario,
            self.clauses,
            &self.indices,
            replications,
            self.required,
            plan::INTERVAL_LEVEL,
        )
    }

    /// The replications of `check` and `frontier`: `--replications` when
    /// given; else the scenario's count, raised (with a note on stderr) to
    /// the fewest that prove every judged clause with
    /// [`reach::SPARE_BREACHES`] breached window to spare.
    pub fn search_replications(&self, flag: Option<u32>) -> u64 {
        if let Some(n) = flag {
            return u64::from(n);
        }
        let own = u64::from(self.scenario.simulation.replications);
        let margin = self.reach(own).replications_with_margin;
        if margin <= own {
            return own;
        }
        note!(
            "note: running {margin} replications, the fewest that can prove {} confidence for every judged clause \
             with {} breached window to spare (the scenario has {own}; choose with --replications)",
            self.required,
            reach::SPARE_BREACHES
        );
        margin
    }

    /// Warns on stderr when `replications` cannot prove the required
    /// confidence for some judged clause, whatever the simulation shows.
    pub fn warn_if_unreachable(&self, replications: u64) {
        let r = self.reach(replications);
        if !r.is_reachable() {
            note!("warning: {}", self.explain(&r));
        }
    }

    /// `Err` (exit 2) when `replications` cannot prove the required
    /// confidence for some judged clause: a search for a value making
    /// every clause enforceable could not succeed.
    pub fn require_reachable(&self, replications: u64, what: &str) -> Result<(), Failure> {
        let r = self.reach(replications);
        if r.is_reachable() {
            return Ok(());
        }
        Err(Failure::input(format!("{what} cannot succeed: {}", self.explain(&r))))
    }

    /// The unreachable clauses grouped by their window count, and the
    /// replications that would do.
    fn explain(&self, r: &reach::Reach) -> String {
        let short: Vec<&reach::ClauseReach> = r.unreachable().collect();
        let mut text = format!(
            "{} replication(s) cannot prove {} confidence for {} of {} clause(s), whatever the simulation shows:",
            r.replications,
            r.required,
            short.len(),
            r.clauses.len()
        );
        let mut counts: Vec<u64> = short.iter().map(|c| c.windows).collect();
        counts.sort_unstable();
        counts.dedup();
        for windows in counts {
            let group: Vec<&&reach::ClauseReach> = short.iter().filter(|c| c.windows == windows).collect();
            let names: Vec<String> = group
                .iter()
                .take(3)
                .map(|c| {
                    let clause = &self.clauses[c.clause];
                    format!("{} {}", clause.tenant_name, clause.describe(self.scenario))
                })
                .collect();
            let more = if group.len() > 3 {
                format!(" and {} more", group.len() - 3)
            } else {
                String::new()
            };
            text.push_str(&format!(
                "\n  {windows} window(s) judged: holding in every one gives at best [{:.3}, 1] ({}{more})",
                group[0].best_lower_bound,
                names.join(", ")
            ));
        }
        let bare = reach::windows_needed(r.required, plan::INTERVAL_LEVEL, 0);
        text.push_str(&format!(
            "\n  every clause needs at least {bare} windows: run --replications {} or more ({} leave room for {} breached window)",
            r.replications_needed,
            r.replications_with_margin,
            reach::SPARE_BREACHES
        ));
        text
    }
}

/// The judged clauses of a capacity probe that are not enforceable, by why
/// ([`reach::Shortfall`]): those short on the metric, then those short on
/// the statistics, each as "tenant clause (breached in k of n windows)".
pub(crate) fn shortfalls(
    scenario: &Scenario,
    clauses: &[Clause],
    judged: &[usize],
    summary: &[plan::ClauseSummary],
) -> [Vec<String>; 2] {
    let mut out = [Vec::new(), Vec::new()];
    for &c in judged {
        let s = &summary[c];
        let Some(why) = reach::Shortfall::of(s) else {
            continue;
        };
        let slot = match why {
            reach::Shortfall::Metric => 0,
            reach::Shortfall::Statistics => 1,
        };
        out[slot].push(format!(
            "{} {} (breached in {} of {} windows, P(hold) {:.3} [{:.3}, {:.3}])",
            clauses[c].tenant_name,
            clauses[c].describe(scenario),
            s.windows - s.met,
            s.windows,
            s.probability,
            s.ci_low,
            s.ci_high
        ));
    }
    out
}
