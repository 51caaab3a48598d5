//! The attainment table printed by `slaplan run`.

use crate::plan::{ClauseSummary, IntervalKind};
use crate::scenario::Scenario;
use crate::sla::Clause;

/// Formats a metric value in the clause's unit.
pub fn format_value(clause: &Clause, value: f64) -> String {
    match clause.value_unit() {
        "ms" if value >= 10_000.0 => format!("{:.1}s", value / 1000.0),
        "ms" => format!("{value:.0}ms"),
        "usd" => format!("${value:.4}"),
        _ => format!("{:.3}%", value * 100.0),
    }
}

/// What became of the calls and tasks: `1200 calls: 1100 served, 20 failed,
/// 80 still open at the end (judged as failed); 300 tasks, 25 still open`.
/// Open counts are always shown, so a run that dropped nothing says so.
pub fn outcome_counts(t: &crate::model::RunStats) -> String {
    format!(
        "{} calls: {} served, {} failed, {} still open at the end (judged as failed); {} tasks, {} still open",
        t.calls, t.completed, t.failed, t.open_calls, t.tasks, t.open_tasks
    )
}

/// The table: one row per tenant and clause, the clause named as the
/// one-line grammar writes it (its threshold, scope and period included).
/// A run judged on the
/// confidence sequence of `--until-decided` says so in the interval's
/// header ("95% CS") and adds when each verdict settled.
pub fn attainment_table(scenario: &Scenario, clauses: &[Clause], summary: &[ClauseSummary]) -> String {
    let sequential = summary.iter().any(|s| s.interval == IntervalKind::ConfidenceSequence);
    let mut header = vec![
        "tenant",
        "clause",
        "observed p50",
        "met",
        "P(hold)",
        if sequential { "95% CS" } else { "95% CI" },
        "verdict",
    ];
    if sequential {
        header.push("decided after");
    }
    let mut rows: Vec<Vec<String>> = Vec::new();
    for s in summary {
        let c = &clauses[s.clause];
        let mut row = vec![
            c.tenant_name.clone(),
            c.describe(scenario),
            s.metric_quantiles
                .map(|q| format_value(c, q[1]))
                .unwrap_or_else(|| "-".into()),
            format!("{}/{}", s.met, s.windows),
            format!("{:.3}", s.probability),
            format!("[{:.3}, {:.3}]", s.ci_low, s.ci_high),
            s.verdict.label().to_string(),
        ];
        if sequential {
            row.push(s.decided_after.map_or_else(|| "undecided".into(), |n| n.to_string()));
        }
        rows.push(row);
    }
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<&str>, out: &mut String| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        out.push_str(padded.join("  ").trim_end());
        out.push('\n');
    };
    line(header.clone(), &mut out);
    line(
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str)
            .collect(),
        &mut out,
    );
    for r in &rows {
        line(r.iter().map(String::as_str).collect(), &mut out);
    }
    out
}
