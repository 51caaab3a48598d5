//! `slaplan check`: a proposed clause (or a new tenant) against the
//! baseline, on common random numbers.
//!
//! Baseline and proposal run the same replications with the same seed.
//! Random streams are named per tenant, workflow and endpoint, so adding a
//! clause leaves the simulation unchanged and adding a tenant leaves the
//! existing tenants' arrivals and work unchanged: every difference in an
//! existing clause is the effect of the proposal, not noise.

use crate::scenario::{Clause as ScenarioClause, Scenario};
use crate::sla::Clause;

use super::{ClauseSummary, Verdict};

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
}

impl Comparison {
    /// `new`, `unchanged`, `verdict: at risk -> not enforceable` or `P -0.125`.
    pub fn change(&self) -> String {
        match &self.baseline {
            None => "new".into(),
            Some(b) if b.verdict != self.proposal.verdict => {
                format!("verdict: {} -> {}", b.verdict.label(), self.proposal.verdict.label())
            }
            Some(b) if (b.met, b.windows) != (self.proposal.met, self.proposal.windows) => {
                format!("P {:+.3}", self.proposal.probability - b.probability)
            }
            Some(_) => "unchanged".into(),
        }
    }

    /// Whether the row belongs in the printed table: proposed or changed.
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
            out.push(Comparison {
                tenant: t.name.clone(),
                clause: clauses[gi].describe(proposal),
                proposed: k >= existing,
                baseline,
                proposal: prop_summary[gi].clone(),
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
