//! Each tenant's clauses in the contract's own words: a short paragraph a
//! procurement reviewer can read without the table. Which clauses hold with
//! the required confidence and which do not, each named as the one-line
//! grammar writes it (`summary.csv`'s `clause`), how often it held, and
//! what breaches cost under the credit terms: per clause (`summary.csv`'s
//! credit columns) and for the tenant across its clauses (`credits.csv`).
//! Every number is one the output files hold, written as a reader says it.

use std::collections::BTreeMap;

use super::document::Block;
use super::inputs::{ClauseRow, TenantCredit};
use crate::plan::Verdict;
use crate::report::dollars;

/// `97.2%`, to a tenth of a percent.
fn pct(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

/// ` ($1,000.00 to $2,000.00)`, or nothing without an interval. A
/// Student-t interval can reach below zero; no credit is negative.
fn usd_interval(interval: Option<(f64, f64)>) -> String {
    interval
        .map(|(lo, hi)| format!(" ({} to {})", dollars(lo.max(0.0)), dollars(hi)))
        .unwrap_or_default()
}

/// `"a", "b" and "c"`.
fn quoted_list(items: &[&ClauseRow]) -> String {
    let quoted: Vec<String> = items.iter().map(|c| format!("\"{}\"", c.clause)).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

/// The figures of a credit: expected per month and per year with their
/// intervals, the share of months paying, the 95th percentile of a year.
struct Exposure {
    month: f64,
    month_interval: Option<(f64, f64)>,
    year: f64,
    year_interval: Option<(f64, f64)>,
    p_any_month: f64,
    year_p95: f64,
}

impl Exposure {
    /// `$1,333.33 a month ($… to $…) and $16,000.00 a year ($… to $…); a
    /// month pays a credit with probability 66.7%, and the 95th percentile
    /// of a year's credits is $16,000.00`.
    fn words(&self) -> String {
        format!(
            "{} a month{} and {} a year{}; a month pays a credit with probability {}, and the 95th percentile \
             of a year's credits is {}",
            dollars(self.month),
            usd_interval(self.month_interval),
            dollars(self.year),
            usd_interval(self.year_interval),
            pct(self.p_any_month),
            dollars(self.year_p95),
        )
    }
}

/// One sentence about one clause: how often it held, its P(hold) and
/// interval, and its credits.
fn clause_sentence(c: &ClauseRow, required: f64, level: f64) -> String {
    let verdict = match c.verdict {
        Verdict::Enforceable => format!(
            "it holds with the required confidence: even the low end of the {} interval clears the required {}",
            pct(level),
            pct(required)
        ),
        Verdict::AtRisk => format!(
            "it is at risk: the estimate reaches the required {} but the low end of the interval does not",
            pct(required)
        ),
        Verdict::NotEnforceable => format!(
            "it does not hold with the required confidence: it falls short of the required {}",
            pct(required)
        ),
    };
    let mut s = format!(
        "\"{}\" held in {} of {} simulated windows: P(hold) {} ({} interval {} to {}), so {verdict}.",
        c.clause,
        c.met,
        c.windows,
        pct(c.probability),
        pct(level),
        pct(c.ci_low),
        pct(c.ci_high),
    );
    if let Some(k) = &c.credit {
        let exposure = Exposure {
            month: k.month_usd,
            month_interval: k.month_interval,
            year: k.year_usd,
            year_interval: k.year_interval,
            p_any_month: k.p_any_month,
            year_p95: k.year_p95,
        };
        s.push_str(&format!(
            " Under its credit terms ({}), breaches are expected to cost {}.",
            k.schedule,
            exposure.words()
        ));
    }
    s
}

/// The opening: how many clauses hold with the required confidence, which
/// do, and which do not (at risk or not enforceable).
fn opening(tenant: &str, own: &[&ClauseRow], required: f64) -> String {
    let holding: Vec<&ClauseRow> = own
        .iter()
        .copied()
        .filter(|c| c.verdict == Verdict::Enforceable)
        .collect();
    let failing: Vec<&ClauseRow> = own
        .iter()
        .copied()
        .filter(|c| c.verdict != Verdict::Enforceable)
        .collect();
    let mut s = format!(
        "{tenant}: {} of {} clause(s) hold with the required confidence of {}.",
        holding.len(),
        own.len(),
        pct(required)
    );
    if !holding.is_empty() {
        s.push_str(&format!(" These can be offered: {}.", quoted_list(&holding)));
    }
    if !failing.is_empty() {
        s.push_str(&format!(
            " {} cannot be offered as written: {}.",
            if failing.len() == 1 { "This one" } else { "These" },
            quoted_list(&failing)
        ));
    }
    s
}

/// The section: one paragraph per tenant, in file order. `totals` are
/// `credits.csv`'s tenant rows, when the run has credits.
pub fn tenant_paragraphs(
    clauses: &[ClauseRow],
    totals: Option<&BTreeMap<String, TenantCredit>>,
    required: f64,
    level: f64,
) -> Vec<Block> {
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
            let mut text = opening(t, &own, required);
            for c in &own {
                text.push(' ');
                text.push_str(&clause_sentence(c, required, level));
            }
            if let Some(total) = totals.and_then(|m| m.get(t)) {
                let exposure = Exposure {
                    month: total.month_usd,
                    month_interval: total.month_interval,
                    year: total.year_usd,
                    year_interval: total.year_interval,
                    p_any_month: total.p_any_month,
                    year_p95: total.year_p95,
                };
                text.push_str(&format!(
                    " Across all its clauses, {t} is expected to pay credits of {}.",
                    exposure.words()
                ));
            }
            Block::Paragraph(text)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_read_as_a_sentence() {
        let row = |clause: &str| ClauseRow {
            index: 0,
            tenant: "t".into(),
            workflow: String::new(),
            clause: clause.into(),
            metric: String::new(),
            unit: "ratio".into(),
            threshold: 0.99,
            windows: 1,
            met: 1,
            probability: 1.0,
            ci_low: 0.5,
            ci_high: 1.0,
            verdict: Verdict::AtRisk,
            kind: None,
            direction: None,
            credit: None,
            internal: None,
        };
        let (a, b, c) = (row("a"), row("b"), row("c"));
        assert_eq!(quoted_list(&[&a]), "\"a\"");
        assert_eq!(quoted_list(&[&a, &b]), "\"a\" and \"b\"");
        assert_eq!(quoted_list(&[&a, &b, &c]), "\"a\", \"b\" and \"c\"");
        assert_eq!(usd_interval(Some((-3.0, 1234.5))), " ($0.00 to $1,234.50)");
        assert_eq!(usd_interval(None), "");
    }
}
