//! P(hold) per clause: a horizontal bar in the verdict's colour, the
//! interval as a whisker, and a line at the required confidence.

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{DrawError, Figure, GREY, INK, clause_label, font, verdict_colour, widest};
use crate::plan::IntervalKind;
use crate::report::review::inputs::ClauseRow;

/// The probability chart of every clause, top to bottom in file order.
pub struct ProbabilityChart<'a> {
    /// The clauses.
    pub rows: &'a [ClauseRow],
    /// The required confidence.
    pub required: f64,
    /// Which interval the whiskers are.
    pub interval: IntervalKind,
}

/// Height of one clause's row, px.
const ROW: u32 = 34;

impl ProbabilityChart<'_> {
    /// The left end of the probability axis: 0, or 0.5 when every interval
    /// and the required confidence lie above 0.5 (to show the differences).
    pub fn axis_start(&self) -> f64 {
        let lowest = self.rows.iter().map(|r| r.ci_low).fold(self.required, f64::min);
        if lowest >= 0.5 { 0.5 } else { 0.0 }
    }

    /// The top of the value axis: the rows, plus headroom for the label of
    /// the required-confidence line.
    fn top(&self) -> f64 {
        self.rows.len() as f64 + 0.6
    }
}

impl Figure for ProbabilityChart<'_> {
    fn size(&self) -> (u32, u32) {
        (960, 140 + ROW * self.rows.len() as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawError> {
        let n = self.rows.len();
        let labels: Vec<String> = self.rows.iter().map(clause_label).collect();
        let label_font = font(15);
        let label_width = (widest(root, &labels, &label_font) + 16).clamp(80, 560);
        let x0 = self.axis_start();
        let mut chart = ChartBuilder::on(root)
            .caption("Probability that each clause holds in a window", font(20))
            .margin(14)
            .margin_right(28)
            .x_label_area_size(44)
            .y_label_area_size(label_width)
            .build_cartesian_2d(x0..1.0f64, 0.0..self.top())?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_labels(11)
            .x_label_formatter(&|x| format!("{x:.2}"))
            .x_desc(match self.interval {
                IntervalKind::ClopperPearson => "P(hold), with the Clopper-Pearson interval",
                IntervalKind::ConfidenceSequence => "P(hold), with the anytime-valid confidence sequence",
            })
            .label_style(font(15))
            .axis_desc_style(font(15))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()?;

        // Row i (file order) is drawn from the top.
        let centre = |i: usize| (n - 1 - i) as f64 + 0.5;
        let whisker = INK.stroke_width(2);
        for (i, row) in self.rows.iter().enumerate() {
            let y = centre(i);
            let p = row.probability.clamp(x0, 1.0);
            chart.draw_series(std::iter::once(Rectangle::new(
                [(x0, y - 0.3), (p, y + 0.3)],
                verdict_colour(row.verdict).filled(),
            )))?;
            let (lo, hi) = (row.ci_low.clamp(x0, 1.0), row.ci_high.clamp(x0, 1.0));
            chart.draw_series(std::iter::once(PathElement::new(vec![(lo, y), (hi, y)], whisker)))?;
            for end in [lo, hi] {
                chart.draw_series(std::iter::once(
                    EmptyElement::at((end, y)) + PathElement::new(vec![(0, -7), (0, 7)], whisker),
                ))?;
            }
            // The clause's name, right-aligned left of the axis.
            let (px, py) = chart.backend_coord(&(x0, y));
            root.draw(&Text::new(
                labels[i].clone(),
                (px - 8, py),
                label_font.pos(Pos::new(HPos::Right, VPos::Center)),
            ))?;
        }
        chart.draw_series(std::iter::once(DashedPathElement::new(
            vec![(self.required, 0.0), (self.required, self.top())],
            6,
            4,
            GREY.stroke_width(2),
        )))?;
        let (rx, ry) = chart.backend_coord(&(self.required, self.top()));
        root.draw(&Text::new(
            format!("required {}", self.required),
            (rx - 6, ry + 3),
            font(14).pos(Pos::new(HPos::Right, VPos::Top)),
        ))?;
        Ok(())
    }
}
