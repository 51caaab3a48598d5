//! Error-budget burn-down: the budget remaining (1 - consumed) hour by hour
//! over a window, the median across replications and the 5-95% band.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{BLUE, DrawError, Figure, RED, caption_font, clause_label, draw_panels, font, grid_size, trim_number};
use crate::report::review::inputs::{BudgetPoint, ClauseRow};

/// One hour of a burn-down in remaining-budget terms.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Remaining {
    /// Hours since the window's start.
    pub hour: f64,
    /// 5th percentile of the remaining budget (1 - consumed p95).
    pub low: f64,
    /// Median (1 - consumed p50).
    pub median: f64,
    /// 95th percentile (1 - consumed p05).
    pub high: f64,
}

/// The first window of `points` (in file order), its label, and how many
/// windows the points cover.
pub fn first_window(points: &[BudgetPoint]) -> Option<(String, Vec<Remaining>, usize)> {
    let label = points.first()?.window.clone();
    let mut windows: Vec<&str> = points.iter().map(|p| p.window.as_str()).collect();
    windows.sort_unstable();
    windows.dedup();
    let mut hours: Vec<Remaining> = points
        .iter()
        .filter(|p| p.window == label)
        .map(|p| Remaining {
            hour: p.hour as f64,
            low: 1.0 - p.consumed_p95,
            median: 1.0 - p.consumed_p50,
            high: 1.0 - p.consumed_p05,
        })
        .collect();
    hours.sort_by(|a, b| a.hour.total_cmp(&b.hour));
    Some((label, hours, windows.len()))
}

/// The burn-down chart: one panel per clause.
pub struct BudgetChart<'a> {
    /// The clauses, the window shown (as its caption says it) and its hours
    /// (at least one).
    pub panels: Vec<(&'a ClauseRow, String, Vec<Remaining>)>,
}

const PANEL_H: u32 = 300;

impl Figure for BudgetChart<'_> {
    fn size(&self) -> (u32, u32) {
        grid_size(self.panels.len(), PANEL_H)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawError> {
        draw_panels(
            root,
            "Error budget remaining over the window",
            "line: median across replications; band: 5% to 95%; red: budget exhausted",
            &self.panels,
            |area, (row, window, hours)| draw_panel(area, row, window, hours),
        )
    }
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    row: &ClauseRow,
    window: &str,
    hours: &[Remaining],
) -> Result<(), DrawError> {
    // The x axis is in days, so its ticks fall on whole (or half) days.
    let last = hours.iter().map(|h| h.hour).fold(1.0, f64::max) / 24.0;
    let bottom = hours.iter().map(|h| h.low).fold(0.0, f64::min).min(0.0) - 0.05;
    let caption = format!("{} ({window})", clause_label(row));
    let mut chart = ChartBuilder::on(area)
        .caption(&caption, caption_font(&caption))
        .margin(10)
        .x_label_area_size(36)
        .y_label_area_size(52)
        .build_cartesian_2d(0.0..last, bottom..1.05f64)?;
    chart
        .configure_mesh()
        .x_labels(8)
        .y_labels(6)
        .x_label_formatter(&|d| format!("{}d", trim_number(*d)))
        .y_label_formatter(&|y| format!("{:.0}%", y * 100.0))
        .x_desc("time into the window")
        .y_desc("budget left")
        .label_style(font(14))
        .axis_desc_style(font(14))
        .light_line_style(RGBColor(238, 238, 238))
        .draw()?;
    // The band: the upper edge forward, the lower edge back.
    let band: Vec<(f64, f64)> = hours
        .iter()
        .map(|h| (h.hour / 24.0, h.high))
        .chain(hours.iter().rev().map(|h| (h.hour / 24.0, h.low)))
        .collect();
    chart.draw_series(std::iter::once(Polygon::new(band, BLUE.mix(0.25).filled())))?;
    chart.draw_series(std::iter::once(PathElement::new(
        vec![(0.0, 0.0), (last, 0.0)],
        RED.stroke_width(1),
    )))?;
    chart.draw_series(std::iter::once(PathElement::new(
        hours.iter().map(|h| (h.hour / 24.0, h.median)).collect::<Vec<_>>(),
        BLUE.stroke_width(2),
    )))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(window: &str, hour: u64, p: [f64; 3]) -> BudgetPoint {
        BudgetPoint {
            window: window.into(),
            hour,
            consumed_p05: p[0],
            consumed_p50: p[1],
            consumed_p95: p[2],
        }
    }

    #[test]
    fn the_band_keeps_its_order_in_remaining_terms() {
        let points = [
            point("2026-02", 2, [0.1, 0.3, 1.4]),
            point("2026-02", 1, [0.0, 0.1, 0.2]),
            point("2026-03", 1, [0.5, 0.5, 0.5]),
        ];
        let (label, hours, windows) = first_window(&points).unwrap();
        assert_eq!((label.as_str(), windows), ("2026-02", 2));
        assert_eq!(hours.iter().map(|h| h.hour).collect::<Vec<_>>(), [1.0, 2.0]);
        for h in &hours {
            assert!(h.low <= h.median && h.median <= h.high, "{h:?}");
        }
        let h2 = hours[1];
        assert!((h2.low - -0.4).abs() < 1e-12 && (h2.median - 0.7).abs() < 1e-12 && (h2.high - 0.9).abs() < 1e-12);
    }
}
