//! Service credits in the outputs: `credits.csv` (each tenant's total and
//! each credited clause), the credit columns of `summary.csv`, and the
//! terminal's one line per tenant.

use std::path::Path;

use super::files::{OutputError, csv_writer, io_err};
use crate::plan::credits::CreditSummary;
use crate::scenario::Scenario;
use crate::sla::Clause;

/// The credit columns of `summary.csv` (after `credit_schedule`), and of
/// `credits.csv` after its leading ones.
const CREDIT_COLUMNS: [&str; 8] = [
    "credit_month_usd",
    "credit_month_low",
    "credit_month_high",
    "credit_year_usd",
    "credit_year_low",
    "credit_year_high",
    "credit_p_any_month",
    "credit_year_p95",
];

fn usd(x: f64) -> String {
    format!("{x:.2}")
}

/// The cells of [`CREDIT_COLUMNS`] for `credit` (empty without one; an
/// interval is empty with fewer than two replications).
pub(super) fn credit_cells(credit: Option<&CreditSummary>) -> Vec<String> {
    let Some(k) = credit else {
        return vec![String::new(); CREDIT_COLUMNS.len()];
    };
    let (m, y) = (k.month_interval, k.year_interval());
    vec![
        usd(k.month_mean),
        m.map(|i| usd(i.0)).unwrap_or_default(),
        m.map(|i| usd(i.1)).unwrap_or_default(),
        usd(k.year_mean()),
        y.map(|i| usd(i.0)).unwrap_or_default(),
        y.map(|i| usd(i.1)).unwrap_or_default(),
        format!("{:.6}", k.p_any),
        usd(k.year_p95),
    ]
}

/// Writes `credits.csv`: one row per tenant with credits (`scope` =
/// `tenant`, its clauses' credits added month by month), then one per
/// credited clause (`scope` = `clause`).
pub(super) fn write_credits(
    path: &Path,
    scenario: &Scenario,
    clauses: &[Clause],
    credits: &[CreditSummary],
) -> Result<(), OutputError> {
    let mut w = csv_writer(path)?;
    let csv_err = |source| OutputError::Csv {
        path: path.to_path_buf(),
        source,
    };
    let mut header = vec!["tenant", "scope", "clause", "months", "months_paying"];
    header.extend(CREDIT_COLUMNS);
    header.extend(["credit_p_any_low", "credit_p_any_high"]);
    w.write_record(&header).map_err(csv_err)?;
    let tenants = credits.iter().filter(|k| k.clause.is_none());
    let clause_rows = credits.iter().filter(|k| k.clause.is_some());
    for k in tenants.chain(clause_rows) {
        let (scope, text) = match k.clause {
            None => ("tenant", String::new()),
            Some(ci) => ("clause", clauses[ci].describe_contract(scenario)),
        };
        let mut record = vec![
            scenario.tenants[k.tenant].name.clone(),
            scope.to_string(),
            text,
            k.months.to_string(),
            k.months_paying.to_string(),
        ];
        record.extend(credit_cells(Some(k)));
        record.push(format!("{:.6}", k.p_any_interval.0));
        record.push(format!("{:.6}", k.p_any_interval.1));
        w.write_record(&record).map_err(csv_err)?;
    }
    w.flush().map_err(io_err(path))
}

/// The terminal's credit lines, one per tenant with credits: expected
/// credits per month and per year with their intervals, the chance a
/// month pays any, the 95th percentile of a year. Empty without credits.
pub fn credits_table(scenario: &Scenario, credits: &[CreditSummary]) -> String {
    let mut out = String::new();
    for k in credits.iter().filter(|k| k.clause.is_none()) {
        let interval = |i: Option<(f64, f64)>| {
            i.map(|(lo, hi)| format!(" [{}, {}]", dollars(lo.max(0.0)), dollars(hi)))
                .unwrap_or_default()
        };
        out.push_str(&format!(
            "credits {}: {}/month{}, {}/year{}; P(any credit in a month) {:.3}; p95 of a year {}\n",
            scenario.tenants[k.tenant].name,
            dollars(k.month_mean),
            interval(k.month_interval),
            dollars(k.year_mean()),
            interval(k.year_interval()),
            k.p_any,
            dollars(k.year_p95),
        ));
    }
    out
}

/// `$1,234.50`-style amounts for the terminal and the report.
pub fn dollars(x: f64) -> String {
    let cents = (x * 100.0).round() as i64;
    let (whole, frac) = (cents.abs() / 100, cents.abs() % 100);
    let digits = whole.to_string();
    let mut grouped = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}${grouped}.{frac:02}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn dollars_group_thousands() {
        assert_eq!(super::dollars(1234.5), "$1,234.50");
        assert_eq!(super::dollars(0.004), "$0.00");
        assert_eq!(super::dollars(1_000_000.0), "$1,000,000.00");
        assert_eq!(super::dollars(999.999), "$1,000.00");
    }
}
