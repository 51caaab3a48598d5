//! The frontier of each latency-like clause: P(hold at threshold x) from
//! the windows' values (the empirical distribution function: the share of
//! windows whose value is at most x, windows without a value counting as
//! they were judged), the lower end of its interval, the clause's current
//! threshold and the required confidence. Where the lower end crosses the
//! required confidence is the tightest enforceable threshold.

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{
    BLUE, DrawError, Figure, GREY, INK, RED, draw_panels, font, format_ms, grid_size, share_panel, verdict_colour,
};
use crate::plan::frontier::{Bounds, Direction, frontier_from_values};
use crate::report::review::inputs::{ClauseRow, WindowValues};

/// One clause's curve: P(hold) as a step function of the threshold.
#[derive(Clone, Debug, PartialEq)]
pub struct FrontierCurve {
    /// Windows judged.
    pub windows: u64,
    /// P(hold) below the smallest value (windows that hold at any threshold).
    pub floor: f64,
    /// Lower end of its interval.
    pub floor_low: f64,
    /// `(threshold, P(hold), interval's lower end)` at each distinct window
    /// value, ascending; P(hold) holds from that threshold up to the next.
    pub steps: Vec<(f64, f64, f64)>,
    /// The tightest threshold whose lower end reaches the required confidence.
    pub tightest: Option<f64>,
}

impl FrontierCurve {
    /// The curve of `values` at `required` confidence, with `bounds` (an
    /// interval level for Clopper-Pearson, or the confidence sequence).
    pub fn new(values: &WindowValues, required: f64, bounds: impl Into<Bounds>) -> FrontierCurve {
        let bounds = bounds.into();
        let f = frontier_from_values(
            values.values.clone(),
            values.vacuous,
            values.never,
            Direction::Ceiling,
            required,
            bounds,
        );
        let windows = values.values.len() as u64 + values.vacuous + values.never;
        let (floor_low, _) = bounds.interval(values.vacuous, windows);
        FrontierCurve {
            windows,
            floor: if windows == 0 {
                0.0
            } else {
                values.vacuous as f64 / windows as f64
            },
            floor_low,
            steps: f
                .points
                .iter()
                .map(|p| (p.threshold, p.probability, p.ci_low))
                .collect(),
            tightest: f.best.map(|p| p.threshold),
        }
    }

    /// P(hold) at threshold `x`.
    pub fn at(&self, x: f64) -> f64 {
        self.steps
            .iter()
            .take_while(|s| s.0 <= x)
            .last()
            .map(|s| s.1)
            .unwrap_or(self.floor)
    }

    /// The step function from `from` to `to` as a polyline; `pick` chooses
    /// P(hold) or the interval's lower end.
    fn polyline(&self, from: f64, to: f64, pick: impl Fn(&(f64, f64, f64)) -> f64, floor: f64) -> Vec<(f64, f64)> {
        let mut points = vec![(from, floor)];
        let mut level = floor;
        for s in &self.steps {
            points.push((s.0, level));
            level = pick(s);
            points.push((s.0, level));
        }
        points.push((to, level));
        points
    }
}

/// The frontier chart: one panel per clause.
pub struct FrontierChart<'a> {
    /// The clauses shown and their curves.
    pub panels: Vec<(&'a ClauseRow, FrontierCurve)>,
    /// The required confidence.
    pub required: f64,
}

const PANEL_H: u32 = 320;

impl Figure for FrontierChart<'_> {
    fn size(&self) -> (u32, u32) {
        grid_size(self.panels.len(), PANEL_H)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawError> {
        draw_panels(
            root,
            "Frontier: P(hold) if the threshold were x",
            "blue: share of windows that hold at x; grey: lower end of its interval; \
             red dashed: required confidence; vertical: current threshold",
            &self.panels,
            |area, (row, curve)| draw_panel(area, row, curve, self.required),
        )
    }
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    row: &ClauseRow,
    curve: &FrontierCurve,
    required: f64,
) -> Result<(), DrawError> {
    let lowest = curve.steps.first().map_or(row.threshold, |s| s.0).min(row.threshold);
    let highest = curve.steps.last().map_or(row.threshold, |s| s.0).max(row.threshold);
    let pad = ((highest - lowest) * 0.08).max(highest.abs() * 0.01).max(1.0);
    let (from, to) = ((lowest - pad).max(0.0), highest + pad);
    let mut chart = share_panel(area, row, from..to, 6, "threshold")?;
    chart.draw_series(std::iter::once(PathElement::new(
        curve.polyline(from, to, |s| s.2, curve.floor_low),
        GREY.stroke_width(1),
    )))?;
    chart.draw_series(std::iter::once(PathElement::new(
        curve.polyline(from, to, |s| s.1, curve.floor),
        BLUE.stroke_width(2),
    )))?;
    chart.draw_series(std::iter::once(DashedPathElement::new(
        vec![(from, required), (to, required)],
        6,
        4,
        RED.stroke_width(1),
    )))?;
    chart.draw_series(std::iter::once(PathElement::new(
        vec![(row.threshold, 0.0), (row.threshold, 1.02)],
        verdict_colour(row.verdict).stroke_width(2),
    )))?;
    // The note goes bottom right, where a rising curve never is.
    let note = match curve.tightest {
        Some(t) => {
            chart.draw_series(std::iter::once(Circle::new((t, required), 4, INK.filled())))?;
            format!("tightest enforceable: {}", format_ms(t))
        }
        None => "no enforceable threshold in range".to_string(),
    };
    // On a white box, so no line runs through it.
    let style = font(14).pos(Pos::new(HPos::Right, VPos::Bottom));
    let (w, h) = area.estimate_text_size(&note, &style)?;
    let (w, h) = (w as i32, h as i32);
    chart.draw_series(std::iter::once(
        EmptyElement::at((to, 0.0))
            + Rectangle::new([(-w - 10, -h - 12), (-2, -2)], WHITE.filled())
            + Text::new(note, (-6, -6), style),
    ))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_curve_is_the_empirical_distribution_of_the_window_values() {
        // Values 300, 100, 200, 200 and one vacuous window: n = 5.
        let values = WindowValues {
            values: vec![300.0, 100.0, 200.0, 200.0],
            vacuous: 1,
            never: 0,
        };
        let c = FrontierCurve::new(&values, 0.5, 0.95);
        assert_eq!(c.windows, 5);
        assert_eq!(c.floor, 0.2);
        let ps: Vec<(f64, f64)> = c.steps.iter().map(|s| (s.0, s.1)).collect();
        assert_eq!(ps, [(100.0, 0.4), (200.0, 0.8), (300.0, 1.0)]);
        for (x, want) in [(50.0, 0.2), (100.0, 0.4), (150.0, 0.4), (250.0, 0.8), (1e9, 1.0)] {
            assert_eq!(c.at(x), want, "x = {x}");
        }
    }

    #[test]
    fn windows_whose_calls_all_failed_never_hold() {
        let values = WindowValues {
            values: vec![10.0],
            vacuous: 0,
            never: 1,
        };
        let c = FrontierCurve::new(&values, 0.5, 0.95);
        assert_eq!(c.at(1e12), 0.5);
        assert_eq!(c.tightest, None);
    }

    #[test]
    fn the_polyline_steps_up_at_each_value() {
        let values = WindowValues {
            values: vec![1.0, 2.0],
            vacuous: 0,
            never: 0,
        };
        let c = FrontierCurve::new(&values, 0.5, 0.95);
        assert_eq!(
            c.polyline(0.0, 3.0, |s| s.1, c.floor),
            [(0.0, 0.0), (1.0, 0.0), (1.0, 0.5), (2.0, 0.5), (2.0, 1.0), (3.0, 1.0)]
        );
    }
}
