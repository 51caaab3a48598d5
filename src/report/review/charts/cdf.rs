//! The pooled latency distribution of each latency-like clause (all
//! replications and windows) against its threshold, on a log axis: where
//! the curve crosses the clause's percentile is the pooled percentile.

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use super::{BLUE, DrawError, Figure, GREY, draw_panels, grid_size, share_panel, verdict_colour};
use crate::report::review::inputs::{ClauseRow, LatencyPoint};

/// The latency CDF chart: one panel per clause.
pub struct LatencyCdfChart<'a> {
    /// The clauses and their pooled distributions (at least one point each).
    pub panels: Vec<(&'a ClauseRow, &'a [LatencyPoint])>,
}

const PANEL_H: u32 = 300;

impl Figure for LatencyCdfChart<'_> {
    fn size(&self) -> (u32, u32) {
        grid_size(self.panels.len(), PANEL_H)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawError> {
        draw_panels(
            root,
            "Latency distribution against the clause threshold",
            "blue: share of calls at most x (pooled); vertical: threshold; dashed: the clause's percentile",
            &self.panels,
            |area, (row, points)| draw_panel(area, row, points),
        )
    }
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    row: &ClauseRow,
    points: &[LatencyPoint],
) -> Result<(), DrawError> {
    // A log axis needs positive values: buckets at 0 ms start the axis.
    let positive = |x: f64| x.max(0.1);
    let lowest = points
        .iter()
        .map(|p| positive(p.upper_ms))
        .fold(positive(row.threshold), f64::min);
    let highest = points.iter().map(|p| p.upper_ms).fold(row.threshold, f64::max);
    let (from, to) = (lowest / 1.5, positive(highest) * 1.5);
    let mut chart = share_panel(
        area,
        row,
        (from..to).log_scale().with_key_points(ticks_125(from, to)),
        12,
        "latency (log scale)",
    )?;
    if let Some(q) = row.percentile() {
        chart.draw_series(std::iter::once(DashedPathElement::new(
            vec![(from, q), (to, q)],
            6,
            4,
            GREY.stroke_width(1),
        )))?;
    }
    chart.draw_series(std::iter::once(PathElement::new(
        vec![(row.threshold.max(from), 0.0), (row.threshold.max(from), 1.02)],
        verdict_colour(row.verdict).stroke_width(2),
    )))?;
    let line: Vec<(f64, f64)> = std::iter::once((from, 0.0))
        .chain(points.iter().map(|p| (positive(p.upper_ms), p.cumulative_share)))
        .collect();
    chart.draw_series(std::iter::once(PathElement::new(line, BLUE.stroke_width(2))))?;
    Ok(())
}

/// Ticks at 1, 2 and 5 times the powers of ten within `[from, to]`.
pub fn ticks_125(from: f64, to: f64) -> Vec<f64> {
    let mut ticks = Vec::new();
    let mut decade = 10f64.powi(from.log10().floor() as i32);
    while decade <= to {
        for m in [1.0, 2.0, 5.0] {
            let t = decade * m;
            if t >= from && t <= to {
                ticks.push(t);
            }
        }
        decade *= 10.0;
    }
    ticks
}

#[cfg(test)]
mod tests {
    #[test]
    fn log_ticks_are_one_two_five() {
        assert_eq!(super::ticks_125(150.0, 3000.0), [200.0, 500.0, 1000.0, 2000.0]);
    }
}
