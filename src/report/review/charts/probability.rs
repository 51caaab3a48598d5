//! P(hold) per clause: a horizontal bar in the verdict's colour, the
//! interval as a whisker, and a line at the required confidence.

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::bars::{self, Bars};
use super::{DrawError, Figure, GREY, clause_label, font, verdict_colour};
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
        bars::size(self.rows.len())
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawError> {
        let x0 = self.axis_start();
        let bars = Bars {
            caption: "Probability that each clause holds in a window",
            labels: self.rows.iter().map(clause_label).collect(),
            x: x0..1.0,
            top: self.top(),
            x_labels: 11,
            x_format: &|x| format!("{x:.2}"),
            x_desc: match self.interval {
                IntervalKind::ClopperPearson => "P(hold), with the Clopper-Pearson interval",
                IntervalKind::ConfidenceSequence => "P(hold), with the anytime-valid confidence sequence",
            },
        };
        let mut chart = bars.frame(root)?;
        for (i, row) in self.rows.iter().enumerate() {
            let y = bars.centre(i);
            let p = row.probability.clamp(x0, 1.0);
            chart.draw_series(std::iter::once(Rectangle::new(
                [(x0, y - 0.3), (p, y + 0.3)],
                verdict_colour(row.verdict).filled(),
            )))?;
            bars::whisker(&mut chart, row.ci_low.clamp(x0, 1.0), row.ci_high.clamp(x0, 1.0), y)?;
            bars.label(root, &chart, i)?;
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
