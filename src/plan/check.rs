//! `slaplan check`: a proposed clause (or a new tenant) against the
//! baseline, on common random numbers.
//!
//! Baseline and proposal run the same replications with the same seed.
//! Random streams are named per tenant, workflow and endpoint, so adding a
//! clause leaves the simulation unchanged and adding a tenant leaves the
//! existing tenants' arrivals and work unchanged: every difference in an
//! existing clause is the effect of the proposal, not noise.
//!
//! A clause changes when its verdict or its probability of holding does, or
//! when its metric moves: the median over windows of its value (p50), from
//! baseline to proposal, by more than [`METRIC_CHANGE`] relative. For
//! clauses whose value is a share that must stay high (availability, task
//! success, uptime, throughput), the move is measured on what is missing
//! (1 − value): availability going from 99.9% to 99.8% doubles the
//! failures, a +100% move.

use crate::scenario::{Clause as ScenarioClause, Scenario};
use crate::sla::{Clause, Direction};

use super::{ClauseSummary, Verdict};

/// A metric move larger than this (relative) makes a clause notable even
/// when its verdict and probability did not change: 5%.
pub const METRIC_CHANGE: f64 = 0.05;

/// How a clause's metric (its p50 over windows) moved.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MetricMove {
    /// The baseline's p50.
    pub baseline: f64,
    /// The proposal's p50.
    pub proposal: f64,
    /// The relative move: of the value, or of the shortfall (1 − value)
    /// for shares that must stay high. Infinite when it starts from 0.
    pub relative: f64,
    /// Whether `relative` is measured on the shortfall.
    pub on_shortfall: bool,
}

impl MetricMove {
    /// `p50 +13.2%`, or `failures +100.0%` for a share that must stay high.
    pub fn label(&self) -> String {
        let what = if self.on_shortfall { "failures" } else { "p50" };
        if self.relative.is_infinite() {
            format!("{what} from 0")
        } else {
            format!("{what} {:+.1}%", self.relative * 100.0)
        }
    }
}

/// One clause, baseline against proposal.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// Tenant name.
    pub tenant: String,
    /// The clause in words.
    pub clause: String,
    /// Whether the proposal adds it.
    pub proposed: bool,
    /// Its summary without the proposal (none for proposed clauses).
    pub baseline: Option<ClauseSummary>,
    /// Its summary with the proposal.
    pub proposal: ClauseSummary,
    /// Whether the clause's value is a share that must stay high (its
    /// move is measured on the shortfall).
    pub shortfall: bool,
}

impl Comparison {
    /// `new`, `unchanged`, or what changed: `verdict: at risk -> not
    /// enforceable`, `P -0.125`, and the metric's move when it is larger
    /// than [`METRIC_CHANGE`], e.g. `P -0.125; p50 +13.2%`.
    pub fn change(&self) -> String {
        let Some(b) = &self.baseline else {
            return "new".into();
        };
        let mut parts = Vec::new();
        if b.verdict != self.proposal.verdict {
            parts.push(format!(
                "verdict: {} -> {}",
                b.verdict.label(),
                self.proposal.verdict.label()
            ));
        } else if (b.met, b.windows) != (self.proposal.met, self.proposal.windows) {
            parts.push(format!("P {:+.3}", self.proposal.probability - b.probability));
        }
        if let Some(m) = self.metric_move().filter(|m| m.relative.abs() > METRIC_CHANGE) {
            parts.push(m.label());
        }
        if parts.is_empty() {
            "unchanged".into()
        } else {
            parts.join("; ")
        }
    }

    /// How the metric's p50 moved, when both runs have one.
    pub fn metric_move(&self) -> Option<MetricMove> {
        let baseline = self.baseline.as_ref()?.metric_quantiles?[1];
        let proposal = self.proposal.metric_quantiles?[1];
        let (from, to) = if self.shortfall {
            (1.0 - baseline, 1.0 - proposal)
        } else {
            (baseline, proposal)
        };
        let relative = if from == to {
            0.0
        } else if from == 0.0 {
            f64::INFINITY.copysign(to)
        } else {
            (to - from) / from.abs()
        };
        Some(MetricMove {
            baseline,
            proposal,
            relative,
            on_shortfall: self.shortfall,
        })
    }

    /// Whether the row belongs in the printed table: proposed or changed
    /// (verdict, probability, or a metric move beyond [`METRIC_CHANGE`]).
    pub fn notable(&self) -> bool {
        self.change() != "unchanged"
    }
}

/// Adds `clause` to the tenant named `tenant` of `scenario`, checking what
/// validation would: the tenant and workflow exist.
pub fn add_clause(scenario: &mut Scenario, tenant: &str, clause: ScenarioClause) -> Result<(), String> {
    let names: Vec<String> = scenario.tenants.iter().map(|t| t.name.clone()).collect();
    let Some(t) = scenario.tenants.iter_mut().find(|t| t.name == tenant) else {
        return Err(format!("no tenant {tenant:?}: expected one of {}", names.join(", ")));
    };
    if let Some(w) = &clause.workflow
        && !t.workflows.iter().any(|f| &f.name == w)
    {
        let flows: Vec<&str> = t.workflows.iter().map(|f| f.name.as_str()).collect();
        return Err(format!(
            "tenant {tenant:?} has no workflow {w:?}: expected one of {}",
            flows.join(", ")
        ));
    }
    t.clauses.push(clause);
    Ok(())
}

/// Pairs every clause of `proposal` with its baseline. The proposal must
/// extend the baseline: the same tenants first, each with the same clauses
/// first, then new clauses and new tenants.
pub fn compare(
    baseline: &Scenario,
    base_summary: &[ClauseSummary],
    proposal: &Scenario,
    prop_summary: &[ClauseSummary],
) -> Vec<Comparison> {
    let clauses = Clause::all(proposal);
    let mut out = Vec::new();
    let (mut gi, mut base_gi) = (0usize, 0usize);
    for (ti, t) in proposal.tenants.iter().enumerate() {
        let existing = baseline.tenants.get(ti).map_or(0, |b| b.clauses.len());
        for k in 0..t.clauses.len() {
            let baseline = (k < existing).then(|| base_summary[base_gi + k].clone());
            let c = &clauses[gi];
            out.push(Comparison {
                tenant: t.name.clone(),
                clause: c.describe(proposal),
                proposed: k >= existing,
                baseline,
                proposal: prop_summary[gi].clone(),
                shortfall: c.direction() == Direction::AtLeast && c.value_unit() == "ratio",
            });
            gi += 1;
        }
        base_gi += existing;
    }
    out
}

/// `0.875 [0.640, 0.997] at risk`.
pub fn cell(s: &ClauseSummary) -> String {
    format!(
        "{:.3} [{:.3}, {:.3}] {}",
        s.probability,
        s.ci_low,
        s.ci_high,
        s.verdict.label()
    )
}

/// Whether any verdict got worse.
pub fn any_worse(rows: &[Comparison]) -> bool {
    let rank = |v: Verdict| match v {
        Verdict::Enforceable => 2,
        Verdict::AtRisk => 1,
        Verdict::NotEnforceable => 0,
    };
    rows.iter().any(|r| {
        r.baseline
            .as_ref()
            .is_some_and(|b| rank(r.proposal.verdict) < rank(b.verdict))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(met: u64, p50: Option<f64>) -> ClauseSummary {
        ClauseSummary {
            clause: 0,
            windows: 10,
            met,
            probability: met as f64 / 10.0,
            ci_low: 0.0,
            ci_high: 1.0,
            verdict: Verdict::AtRisk,
            metric_quantiles: p50.map(|m| [m, m, m]),
            eligible: 0,
            succeeded: 0,
            interval: crate::plan::IntervalKind::ClopperPearson,
            decided_after: None,
            internal: None,
        }
    }

    fn row(base: ClauseSummary, prop: ClauseSummary, shortfall: bool) -> Comparison {
        Comparison {
            tenant: "t".into(),
            clause: "c".into(),
            proposed: false,
            baseline: Some(base),
            proposal: prop,
            shortfall,
        }
    }

    #[test]
    fn a_metric_move_beyond_five_percent_is_a_change() {
        // p95 latency 800 ms -> 904 ms: +13%, same verdict and probability.
        let r = row(summary(10, Some(800.0)), summary(10, Some(904.0)), false);
        assert_eq!(r.change(), "p50 +13.0%");
        assert!(r.notable());
        let m = r.metric_move().unwrap();
        assert_eq!((m.baseline, m.proposal), (800.0, 904.0));
        // +4%: unchanged.
        let r = row(summary(10, Some(800.0)), summary(10, Some(832.0)), false);
        assert_eq!(r.change(), "unchanged");
        // Availability 99.9% -> 99.8%: the failures double.
        let r = row(summary(10, Some(0.999)), summary(9, Some(0.998)), true);
        assert_eq!(r.change(), "P -0.100; failures +100.0%");
        // From no failure at all.
        let r = row(summary(10, Some(1.0)), summary(10, Some(0.99)), true);
        assert_eq!(r.change(), "failures from 0");
        // No value on one side: no metric move.
        let r = row(summary(10, None), summary(10, Some(5.0)), false);
        assert_eq!((r.metric_move(), r.change().as_str()), (None, "unchanged"));
    }
}
