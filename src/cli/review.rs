//! `report`: the review report (report.html, report.md, charts/) of an
//! output directory, drawn from its files alone.

use std::path::Path;

use slaplan::report;

use super::Failure;
use super::stdout::outln;

/// `report OUT`: the review report of an existing output directory.
pub(crate) fn review_report(out: &Path) -> Result<(), Failure> {
    let summary = write_review(out)?;
    for line in &summary.unavailable {
        outln!("{line}")?;
    }
    let charts = summary
        .written
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "svg"))
        .count();
    outln!(
        "wrote {} and {} ({charts} chart(s) in {})",
        out.join("report.html").display(),
        out.join("report.md").display(),
        out.join("charts").display()
    )
}

/// Writes the review report into `out`; bad input exits 2, failing to
/// draw or write exits 1.
pub(crate) fn write_review(out: &Path) -> Result<report::ReportSummary, Failure> {
    report::write_report(out).map_err(|e| {
        if e.is_input() {
            Failure::input(e)
        } else {
            Failure::runtime(e)
        }
    })
}
