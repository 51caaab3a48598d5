//! Expected service credits per year by tenant and clause: a bar per
//! credited clause, its interval as a whisker and the 95th percentile of a
//! year as a tick.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::bars::{self, Bars};
use super::{BLUE, DrawError, Figure, RED};
use crate::report::review::inputs::ClauseRow;

/// The credits chart of the clauses with a schedule, in file order.
pub struct CreditsChart<'a> {
    /// The credited clauses.
    pub rows: Vec<&'a ClauseRow>,
}

impl CreditsChart<'_> {
    /// The right end of the USD axis: the largest bar, whisker or tick, plus 10%.
    fn top(&self) -> f64 {
        let most = self
            .rows
            .iter()
            .filter_map(|r| r.credit.as_ref())
            .map(|k| k.year_usd.max(k.year_p95).max(k.year_interval.map_or(0.0, |i| i.1)))
            .fold(0.0, f64::max);
        if most > 0.0 { most * 1.1 } else { 1.0 }
    }
}

impl Figure for CreditsChart<'_> {
    fn size(&self) -> (u32, u32) {
        bars::size(self.rows.len())
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawError> {
        let bars = Bars {
            caption: "Expected service credits per year, by tenant and clause",
            // Named as the contract writes the clause.
            labels: self
                .rows
                .iter()
                .map(|r| format!("{}: {}", r.tenant, r.clause))
                .collect(),
            x: 0.0..self.top(),
            top: self.rows.len() as f64,
            x_labels: 8,
            x_format: &|x| format!("${x:.0}"),
            x_desc: "USD per year: expected (bar, with its interval), 95th percentile of a year (red tick)",
        };
        let mut chart = bars.frame(root)?;
        for (i, row) in self.rows.iter().enumerate() {
            let Some(k) = &row.credit else { continue };
            let y = bars.centre(i);
            chart.draw_series(std::iter::once(Rectangle::new(
                [(0.0, y - 0.3), (k.year_usd, y + 0.3)],
                BLUE.filled(),
            )))?;
            if let Some((lo, hi)) = k.year_interval {
                bars::whisker(&mut chart, lo.max(0.0), hi, y)?;
            }
            chart.draw_series(std::iter::once(
                EmptyElement::at((k.year_p95, y)) + PathElement::new(vec![(0, -11), (0, 11)], RED.stroke_width(3)),
            ))?;
            bars.label(root, &chart, i)?;
        }
        Ok(())
    }
}
