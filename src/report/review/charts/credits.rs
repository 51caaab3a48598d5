//! Expected service credits per year by tenant and clause: a bar per
//! credited clause, its interval as a whisker and the 95th percentile of a
//! year as a tick.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{BLUE, DrawError, Figure, INK, RED, font, widest};
use crate::report::review::inputs::ClauseRow;

/// The credits chart of the clauses with a schedule, in file order.
pub struct CreditsChart<'a> {
    /// The credited clauses.
    pub rows: Vec<&'a ClauseRow>,
}

/// Height of one clause's row, px.
const ROW: u32 = 34;

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
        (960, 140 + ROW * self.rows.len() as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawError> {
        let n = self.rows.len();
        // Named as the contract writes the clause.
        let labels: Vec<String> = self
            .rows
            .iter()
            .map(|r| format!("{}: {}", r.tenant, r.clause))
            .collect();
        let label_font = font(15);
        let label_width = (widest(root, &labels, &label_font) + 16).clamp(80, 560);
        let top = self.top();
        let mut chart = ChartBuilder::on(root)
            .caption("Expected service credits per year, by tenant and clause", font(20))
            .margin(14)
            .margin_right(28)
            .x_label_area_size(44)
            .y_label_area_size(label_width)
            .build_cartesian_2d(0.0..top, 0.0..n as f64)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_labels(8)
            .x_label_formatter(&|x| format!("${x:.0}"))
            .x_desc("USD per year: expected (bar, with its interval), 95th percentile of a year (red tick)")
            .label_style(font(15))
            .axis_desc_style(font(15))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()?;
        let centre = |i: usize| (n - 1 - i) as f64 + 0.5;
        let whisker = INK.stroke_width(2);
        for (i, row) in self.rows.iter().enumerate() {
            let Some(k) = &row.credit else { continue };
            let y = centre(i);
            chart.draw_series(std::iter::once(Rectangle::new(
                [(0.0, y - 0.3), (k.year_usd, y + 0.3)],
                BLUE.filled(),
            )))?;
            if let Some((lo, hi)) = k.year_interval {
                let (lo, hi) = (lo.max(0.0), hi);
                chart.draw_series(std::iter::once(PathElement::new(vec![(lo, y), (hi, y)], whisker)))?;
                for end in [lo, hi] {
                    chart.draw_series(std::iter::once(
                        EmptyElement::at((end, y)) + PathElement::new(vec![(0, -7), (0, 7)], whisker),
                    ))?;
                }
            }
            chart.draw_series(std::iter::once(
                EmptyElement::at((k.year_p95, y)) + PathElement::new(vec![(0, -11), (0, 11)], RED.stroke_width(3)),
            ))?;
            let (px, py) = chart.backend_coord(&(0.0, y));
            root.draw(&Text::new(
                labels[i].clone(),
                (px - 8, py),
                label_font.pos(Pos::new(HPos::Right, VPos::Center)),
            ))?;
        }
        Ok(())
    }
}
