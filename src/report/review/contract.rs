//! Each tenant's clauses in the contract's own words: a short paragraph a
//! procurement reviewer can read without the table (what is promised, how
//! often it held, whether it can be offered, and what breaches cost).

use super::document::Block;
use super::inputs::ClauseRow;
use crate::plan::Verdict;
use crate::report::dollars;

/// `97.2%`, to a tenth of a percent.
fn pct(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

/// One sentence about one clause.
fn clause_sentence(c: &ClauseRow, required: f64, level: f64) -> String {
    let verdict = match c.verdict {
        Verdict::Enforceable => format!(
            "it can be offered: even the low end of the {} interval clears the required {}",
            pct(level),
            pct(required)
        ),
        Verdict::AtRisk => format!(
            "it is at risk: the estimate reaches the required {} but the low end of the interval does not",
            pct(required)
        ),
        Verdict::NotEnforceable => format!(
            "it should not be offered as written: it falls short of the required {}",
            pct(required)
        ),
    };
    let mut s = format!(
        "\"{}\" held in {} of {} simulated windows ({}; {} interval {} to {}), so {verdict}.",
        c.clause,
        c.met,
        c.windows,
        pct(c.probability),
        pct(level),
        pct(c.ci_low),
        pct(c.ci_high),
    );
    if let Some(k) = &c.credit {
        let interval = k
            .year_interval
            .map(|(lo, hi)| format!(" ({} to {})", dollars(lo.max(0.0)), dollars(hi)))
            .unwrap_or_default();
        s.push_str(&format!(
            " Under its credit terms ({}), breaches are expected to cost {} a year{interval}; a month pays a \
             credit with probability {:.3}, and one year in twenty costs {} or more.",
            k.schedule,
            dollars(k.year_usd),
            k.p_any_month,
            dollars(k.year_p95),
        ));
    }
    s
}

/// The section: one paragraph per tenant, in file order.
pub fn tenant_paragraphs(clauses: &[ClauseRow], required: f64, level: f64) -> Vec<Block> {
    let mut tenants: Vec<&str> = Vec::new();
    for c in clauses {
        if !tenants.contains(&c.tenant.as_str()) {
            tenants.push(&c.tenant);
        }
    }
    tenants
        .into_iter()
        .map(|t| {
            let own: Vec<&ClauseRow> = clauses.iter().filter(|c| c.tenant == t).collect();
            let offered = own.iter().filter(|c| c.verdict == Verdict::Enforceable).count();
            let mut text = format!(
                "{t}: {offered} of {} clause(s) can be offered with the required confidence.",
                own.len()
            );
            for c in own {
                text.push(' ');
                text.push_str(&clause_sentence(c, required, level));
            }
            Block::Paragraph(text)
        })
        .collect()
}
