//! The labelled horizontal-bar layout the credits and probability charts
//! share: a row per clause, 34 px high, top to bottom in file order, its
//! name right-aligned left of the axis; a value axis along the bottom with
//! a light vertical mesh; whiskers with end ticks for intervals.

use std::ops::Range;

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{DrawError, INK, font, widest};

/// Height of one row, px.
const ROW: u32 = 34;

/// The chart area of a bar chart: the value on x, rows on y.
pub type BarArea<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The size of a bar chart of `rows` rows.
pub fn size(rows: usize) -> (u32, u32) {
    (960, 140 + ROW * rows as u32)
}

/// A bar chart's frame: everything but its bars.
pub struct Bars<'a> {
    /// The title above the chart.
    pub caption: &'a str,
    /// Each row's name, top to bottom.
    pub labels: Vec<String>,
    /// The value axis.
    pub x: Range<f64>,
    /// The top of the row axis: the rows, plus any headroom.
    pub top: f64,
    /// How many value labels, at most.
    pub x_labels: usize,
    /// How a value label reads.
    pub x_format: &'a dyn Fn(&f64) -> String,
    /// The value axis's description.
    pub x_desc: &'a str,
}

impl Bars<'_> {
    /// Draws the caption, the axes and the mesh on `root`, leaving room on
    /// the left for the widest row name; the area to draw the bars in.
    pub fn frame<'a, DB: DrawingBackend>(
        &self,
        root: &'a DrawingArea<DB, Shift>,
    ) -> Result<BarArea<'a, DB>, DrawError> {
        let label_width = (widest(root, &self.labels, &font(15)) + 16).clamp(80, 560);
        let mut chart = ChartBuilder::on(root)
            .caption(self.caption, font(20))
            .margin(14)
            .margin_right(28)
            .x_label_area_size(44)
            .y_label_area_size(label_width)
            .build_cartesian_2d(self.x.clone(), 0.0..self.top)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_labels(self.x_labels)
            .x_label_formatter(self.x_format)
            .x_desc(self.x_desc)
            .label_style(font(15))
            .axis_desc_style(font(15))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()?;
        Ok(chart)
    }

    /// The centre of row `i` on the row axis (row 0 at the top).
    pub fn centre(&self, i: usize) -> f64 {
        (self.labels.len() - 1 - i) as f64 + 0.5
    }

    /// Draws row `i`'s name, right-aligned left of the axis.
    pub fn label<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        chart: &BarArea<'_, DB>,
        i: usize,
    ) -> Result<(), DrawError> {
        let (px, py) = chart.backend_coord(&(self.x.start, self.centre(i)));
        root.draw(&Text::new(
            self.labels[i].clone(),
            (px - 8, py),
            font(15).pos(Pos::new(HPos::Right, VPos::Center)),
        ))?;
        Ok(())
    }
}

/// Draws the interval `lo..hi` at height `y` as a whisker with end ticks.
pub fn whisker<DB: DrawingBackend>(chart: &mut BarArea<'_, DB>, lo: f64, hi: f64, y: f64) -> Result<(), DrawError> {
    let style = INK.stroke_width(2);
    chart.draw_series(std::iter::once(PathElement::new(vec![(lo, y), (hi, y)], style)))?;
    for end in [lo, hi] {
        chart.draw_series(std::iter::once(
            EmptyElement::at((end, y)) + PathElement::new(vec![(0, -7), (0, 7)], style),
        ))?;
    }
    Ok(())
}
