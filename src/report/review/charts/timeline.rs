//! The sample replication's timeline: endpoint outages (coloured by mode)
//! and tenants' tier changes (darker for lower tiers), one lane each, over
//! the simulated period in days. Lanes come in the scenario's order:
//! endpoints first, then tenants, as `run.json` lists them.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{AMBER, DrawError, Figure, GREY, RED, font, shorten, trim_number, widest};
use crate::report::review::inputs::{SpanKind, TimelineSpan};

/// The timeline chart.
pub struct TimelineChart<'a> {
    /// The intervals (at least one).
    pub spans: &'a [TimelineSpan],
    /// Length of the period in ms, when known (else the last interval's end).
    pub period_ms: Option<f64>,
    /// The endpoints in scenario order (`run.json`), for the outage lanes.
    pub endpoints: &'a [String],
    /// The tenants in scenario order (`run.json`), for the tier lanes.
    pub tenants: &'a [String],
}

const LANE_H: u32 = 30;
const MS_PER_DAY: f64 = 86_400_000.0;

/// The lanes top to bottom: outage lanes in the order of `endpoints`, then
/// tier lanes in the order of `tenants` (the scenario's file order); a
/// lane neither list names comes after those of its kind, in order of
/// first appearance.
pub fn lanes(spans: &[TimelineSpan], endpoints: &[String], tenants: &[String]) -> Vec<(SpanKind, String)> {
    let mut out: Vec<(SpanKind, String)> = Vec::new();
    for (kind, order) in [(SpanKind::Outage, endpoints), (SpanKind::Tier, tenants)] {
        let mut of_kind: Vec<String> = Vec::new();
        for s in spans.iter().filter(|s| s.kind == kind) {
            if !of_kind.contains(&s.lane) {
                of_kind.push(s.lane.clone());
            }
        }
        // Stable: unlisted lanes keep their order of first appearance.
        of_kind.sort_by_key(|lane| order.iter().position(|o| o == lane).unwrap_or(usize::MAX));
        out.extend(of_kind.into_iter().map(|lane| (kind, lane)));
    }
    out
}

/// The colour and legend label of an interval.
pub fn style_of(span: &TimelineSpan) -> (RGBColor, String) {
    let detail = span.detail.as_deref().unwrap_or("").trim();
    match span.kind {
        SpanKind::Outage => {
            let colour = match detail {
                "down" => RED,
                "hang" => RGBColor(123, 31, 162),
                "brownout" => AMBER,
                "quota" => RGBColor(0, 121, 107),
                _ => GREY,
            };
            let name = if detail.is_empty() { "outage" } else { detail };
            (colour, format!("outage: {name}"))
        }
        SpanKind::Tier => {
            let colour = match detail {
                "1" => RGBColor(120, 165, 225),
                "2" => RGBColor(60, 115, 200),
                "3" => RGBColor(30, 70, 150),
                _ => RGBColor(15, 35, 90),
            };
            (colour, format!("tier {}", if detail.is_empty() { "?" } else { detail }))
        }
    }
}

impl TimelineChart<'_> {
    fn lanes(&self) -> Vec<(SpanKind, String)> {
        lanes(self.spans, self.endpoints, self.tenants)
    }
}

impl Figure for TimelineChart<'_> {
    fn size(&self) -> (u32, u32) {
        (960, 150 + LANE_H * self.lanes().len() as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawError> {
        let lanes = self.lanes();
        let n = lanes.len();
        let labels: Vec<String> = lanes.iter().map(|(_, l)| shorten(l, 28)).collect();
        let label_font = font(15);
        let label_width = (widest(root, &labels, &label_font) + 16).clamp(60, 260);
        let end_ms = self
            .spans
            .iter()
            .map(|s| s.end_ms)
            .fold(self.period_ms.unwrap_or(0.0), f64::max);
        let days = (end_ms / MS_PER_DAY).max(1.0 / 24.0);
        let replication = self.spans.iter().find_map(|s| s.replication);
        let title = match replication {
            Some(r) => format!("Outages and tier changes in replication {r}"),
            None => "Outages and tier changes in the sample replication".to_string(),
        };
        let (body, legend) = root.split_vertically(root.dim_in_pixel().1 - 40);
        let mut chart = ChartBuilder::on(&body)
            .caption(title, font(20))
            .margin(14)
            .margin_right(24)
            .x_label_area_size(40)
            .y_label_area_size(label_width)
            .build_cartesian_2d(0.0..days, 0.0..n as f64)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_labels(12)
            .x_label_formatter(&|d| trim_number(*d))
            .x_desc("days since the period start")
            .label_style(font(14))
            .axis_desc_style(font(14))
            .light_line_style(RGBColor(238, 238, 238))
            .draw()?;
        let lane_of = |s: &TimelineSpan| lanes.iter().position(|(k, l)| *k == s.kind && *l == s.lane);
        for s in self.spans {
            let Some(i) = lane_of(s) else { continue };
            let y = (n - 1 - i) as f64;
            let (colour, _) = style_of(s);
            // In pixels, at least 2 wide: a 45-minute outage stays visible
            // on a month.
            let (x0, y0) = chart.backend_coord(&(s.start_ms / MS_PER_DAY, y + 0.8));
            let (x1, y1) = chart.backend_coord(&(s.end_ms / MS_PER_DAY, y + 0.2));
            root.draw(&Rectangle::new([(x0, y0), (x1.max(x0 + 2), y1)], colour.filled()))?;
        }
        for (i, label) in labels.iter().enumerate() {
            let (px, py) = chart.backend_coord(&(0.0, (n - 1 - i) as f64 + 0.5));
            root.draw(&Text::new(
                label.clone(),
                (px - 8, py),
                label_font.pos(Pos::new(HPos::Right, VPos::Center)),
            ))?;
        }
        draw_legend(&legend, self.spans)
    }
}

fn draw_legend<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, spans: &[TimelineSpan]) -> Result<(), DrawError> {
    let mut seen: Vec<(RGBColor, String)> = Vec::new();
    for s in spans {
        let style = style_of(s);
        if !seen.iter().any(|(_, l)| *l == style.1) {
            seen.push(style);
        }
    }
    seen.sort_by(|a, b| a.1.cmp(&b.1));
    let mut x = 20;
    for (colour, label) in seen {
        area.draw(&Rectangle::new([(x, 8), (x + 14, 22)], colour.filled()))?;
        area.draw(&Text::new(
            label.clone(),
            (x + 20, 15),
            font(14).pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
        x += 40 + 8 * label.chars().count() as i32;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(kind: SpanKind, lane: &str, start_ms: f64) -> TimelineSpan {
        TimelineSpan {
            replication: Some(0),
            lane: lane.into(),
            kind,
            start_ms,
            end_ms: start_ms + 1.0,
            detail: None,
        }
    }

    #[test]
    fn lanes_come_in_scenario_order_endpoints_then_tenants() {
        // In time order the lanes appear as zeta, beta (tiers) and b, a
        // (outages); the scenario lists endpoints a, b and tenants zeta,
        // alpha, beta.
        let spans = [
            span(SpanKind::Tier, "zeta", 1.0),
            span(SpanKind::Outage, "b", 2.0),
            span(SpanKind::Tier, "beta", 3.0),
            span(SpanKind::Outage, "a", 4.0),
            span(SpanKind::Tier, "unlisted", 5.0),
            span(SpanKind::Tier, "zeta", 6.0),
        ];
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let got = lanes(&spans, &names(&["a", "b"]), &names(&["zeta", "alpha", "beta"]));
        let want = [
            (SpanKind::Outage, "a"),
            (SpanKind::Outage, "b"),
            (SpanKind::Tier, "zeta"),
            (SpanKind::Tier, "beta"),
            (SpanKind::Tier, "unlisted"),
        ];
        assert_eq!(got, want.map(|(k, l)| (k, l.to_string())));
    }
}
