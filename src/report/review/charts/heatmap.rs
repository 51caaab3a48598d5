//! Tenant × clause heatmap of P(hold): one cell per clause, in the row of
//! its tenant and the column of its clause as the grammar writes it
//! (tenants with the same clause share a column), with its value and
//! verdict; no cell where a tenant has no such clause.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{AMBER, DrawError, Figure, GREEN, INK, RED, font, shorten, widest, wrap};
use crate::report::review::inputs::ClauseRow;

/// The heatmap.
pub struct HeatmapChart<'a> {
    /// The clauses.
    pub rows: &'a [ClauseRow],
    /// The required confidence (amber on the colour scale).
    pub required: f64,
}

/// One cell: (row, column, clause).
pub type Cell = (usize, usize, usize);

/// Tenants (rows) and clause columns in order of first appearance, and
/// the cell of every clause (index into `rows`).
pub fn layout(rows: &[ClauseRow]) -> (Vec<String>, Vec<String>, Vec<Cell>) {
    let mut tenants: Vec<String> = Vec::new();
    let mut columns: Vec<String> = Vec::new();
    let mut cells: Vec<Cell> = Vec::new();
    for (k, r) in rows.iter().enumerate() {
        let t = position_or_push(&mut tenants, &r.tenant);
        // The grammar's words carry the scope and period already.
        let base = r.clause.clone();
        // A tenant's second clause with the same words gets its own
        // column: `clause #2`.
        let mut key = base.clone();
        let mut nth = 1;
        loop {
            let c = position_or_push(&mut columns, &key);
            if !cells.iter().any(|&(ct, cc, _)| ct == t && cc == c) {
                cells.push((t, c, k));
                break;
            }
            nth += 1;
            key = format!("{base} #{nth}");
        }
    }
    (tenants, columns, cells)
}

fn position_or_push(list: &mut Vec<String>, item: &str) -> usize {
    match list.iter().position(|x| x == item) {
        Some(i) => i,
        None => {
            list.push(item.to_string());
            list.len() - 1
        }
    }
}

/// The colour of `p`: red up to 0.25 below the required confidence, amber
/// at it, green at 1, linear in between.
pub fn heat(p: f64, required: f64) -> RGBColor {
    let lo = (required - 0.25).max(0.0);
    let mix = |a: RGBColor, b: RGBColor, t: f64| {
        let t = t.clamp(0.0, 1.0);
        let c = |x: u8, y: u8| (f64::from(x) + (f64::from(y) - f64::from(x)) * t).round() as u8;
        RGBColor(c(a.0, b.0), c(a.1, b.1), c(a.2, b.2))
    };
    if p <= lo {
        RED
    } else if p < required {
        mix(RED, AMBER, (p - lo) / (required - lo))
    } else {
        mix(AMBER, GREEN, (p - required) / (1.0 - required).max(f64::EPSILON))
    }
}

const CELL_H: u32 = 52;

impl HeatmapChart<'_> {
    fn column_width(&self) -> u32 {
        let (_, columns, _) = layout(self.rows);
        let longest = columns
            .iter()
            .flat_map(|c| wrap(c, LABEL_CHARS))
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(0) as u32;
        (longest * 8 + 16).clamp(96, 200)
    }

    /// The lines of the longest wrapped column label.
    fn label_lines(&self) -> u32 {
        let (_, columns, _) = layout(self.rows);
        columns.iter().map(|c| wrap(c, LABEL_CHARS).len()).max().unwrap_or(1) as u32
    }
}

/// Characters per line of a column label (about 200 px at 15 px).
const LABEL_CHARS: usize = 22;
/// Height of one line of a column label, px.
const LABEL_LINE: u32 = 18;

impl Figure for HeatmapChart<'_> {
    fn size(&self) -> (u32, u32) {
        let (tenants, columns, _) = layout(self.rows);
        let w = 220 + self.column_width() * columns.len() as u32;
        (
            w.max(560),
            150 + LABEL_LINE * (self.label_lines() - 1) + CELL_H * tenants.len() as u32,
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawError> {
        let (tenants, columns, cells) = layout(self.rows);
        let (nr, nc) = (tenants.len() as f64, columns.len() as f64);
        let row_labels: Vec<String> = tenants.iter().map(|t| shorten(t, 24)).collect();
        let label_font = font(15);
        let label_width = (widest(root, &row_labels, &label_font) + 16).clamp(60, 220);
        let (body, legend) = root.split_vertically(root.dim_in_pixel().1 - 52);
        let mut chart = ChartBuilder::on(&body)
            .caption("P(hold) by tenant and clause", font(20))
            .margin(14)
            .x_label_area_size(12 + LABEL_LINE * self.label_lines())
            .y_label_area_size(label_width)
            .build_cartesian_2d(0.0..nc, 0.0..nr)?;
        chart.configure_mesh().disable_mesh().x_labels(0).y_labels(0).draw()?;
        for &(t, c, k) in &cells {
            let p = self.rows[k].probability;
            let (x, y) = (c as f64, nr - 1.0 - t as f64);
            let colour = heat(p, self.required);
            chart.draw_series(std::iter::once(Rectangle::new(
                [(x + 0.03, y + 0.06), (x + 0.97, y + 0.94)],
                colour.filled(),
            )))?;
            let dark = u32::from(colour.0) + u32::from(colour.1) + u32::from(colour.2) < 420;
            let text_colour = if dark { WHITE } else { INK };
            chart.draw_series(std::iter::once(Text::new(
                format!("{p:.3}"),
                (x + 0.5, y + 0.5),
                font(17).color(&text_colour).pos(Pos::new(HPos::Center, VPos::Bottom)),
            )))?;
            chart.draw_series(std::iter::once(Text::new(
                self.rows[k].verdict.label(),
                (x + 0.5, y + 0.5),
                font(13).color(&text_colour).pos(Pos::new(HPos::Center, VPos::Top)),
            )))?;
        }
        for (t, label) in row_labels.iter().enumerate() {
            let (px, py) = chart.backend_coord(&(0.0, nr - 0.5 - t as f64));
            root.draw(&Text::new(
                label.clone(),
                (px - 8, py),
                label_font.pos(Pos::new(HPos::Right, VPos::Center)),
            ))?;
        }
        for (c, label) in columns.iter().enumerate() {
            let (px, py) = chart.backend_coord(&(c as f64 + 0.5, 0.0));
            for (i, line) in wrap(label, LABEL_CHARS).into_iter().enumerate() {
                root.draw(&Text::new(
                    line,
                    (px, py + 8 + (LABEL_LINE as i32) * i as i32),
                    label_font.pos(Pos::new(HPos::Center, VPos::Top)),
                ))?;
            }
        }
        draw_scale(&legend, self.required)
    }
}

/// A colour bar from 0 to 1 with the required confidence marked above it.
fn draw_scale<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, required: f64) -> Result<(), DrawError> {
    let (x0, y0, w, h) = (40i32, 20i32, 300i32, 10i32);
    let steps = 100;
    for i in 0..steps {
        let p = (f64::from(i) + 0.5) / f64::from(steps);
        let left = x0 + w * i / steps;
        let right = x0 + w * (i + 1) / steps;
        area.draw(&Rectangle::new(
            [(left, y0), (right, y0 + h)],
            heat(p, required).filled(),
        ))?;
    }
    let at = |p: f64| x0 + (f64::from(w) * p).round() as i32;
    for (p, text) in [(0.0, "0".to_string()), (1.0, "1".to_string())] {
        area.draw(&Text::new(
            text,
            (at(p), y0 + h + 2),
            font(13).pos(Pos::new(HPos::Center, VPos::Top)),
        ))?;
    }
    area.draw(&PathElement::new(
        vec![(at(required), y0 - 4), (at(required), y0 + h)],
        INK,
    ))?;
    area.draw(&Text::new(
        format!("required {required}"),
        (at(required), y0 - 5),
        font(13).pos(Pos::new(HPos::Right, VPos::Bottom)),
    ))?;
    area.draw(&Text::new(
        "P(hold)",
        (x0 + w + 14, y0 + h / 2),
        font(14).pos(Pos::new(HPos::Left, VPos::Center)),
    ))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Verdict;

    fn row(tenant: &str, workflow: &str, clause: &str) -> ClauseRow {
        ClauseRow {
            index: 0,
            tenant: tenant.into(),
            workflow: workflow.into(),
            clause: clause.into(),
            metric: String::new(),
            unit: "ms".into(),
            threshold: 1.0,
            windows: 1,
            met: 1,
            probability: 1.0,
            ci_low: 0.5,
            ci_high: 1.0,
            verdict: Verdict::AtRisk,
            kind: None,
            direction: None,
            credit: None,
            internal: None,
        }
    }

    #[test]
    fn every_clause_has_its_own_cell() {
        let rows = [
            row("a", "", "p95 call latency <= 1s"),
            row("a", "", "availability >= 99.9%"),
            row("b", "claims", "p95 call latency <= 1s for workflow claims"),
            row("b", "", "availability >= 99.9%"),
            row("b", "", "availability >= 99.9%"),
        ];
        let (tenants, columns, cells) = layout(&rows);
        assert_eq!(tenants, ["a", "b"]);
        assert_eq!(
            columns,
            [
                "p95 call latency <= 1s",
                "availability >= 99.9%",
                "p95 call latency <= 1s for workflow claims",
                "availability >= 99.9% #2"
            ]
        );
        assert_eq!(cells, [(0, 0, 0), (0, 1, 1), (1, 2, 2), (1, 1, 3), (1, 3, 4)]);
    }

    #[test]
    fn the_scale_is_amber_at_the_required_confidence() {
        assert_eq!(heat(0.95, 0.95), AMBER);
        assert_eq!(heat(1.0, 0.95), GREEN);
        assert_eq!(heat(0.5, 0.95), RED);
    }
}
