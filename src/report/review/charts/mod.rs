//! The report's charts, each drawn once per backend with plotters: an SVG
//! and a PNG. Text is laid out once with the font embedded in the binary
//! ([`glyphs`]) and drawn as glyph outlines in the SVG ([`vector`]) and
//! rasterized by ab_glyph in the PNG ([`raster`]): neither depends on the
//! fonts of the machine that draws or shows them.
//!
//! Each chart is a [`Figure`]: plain data in, drawing calls out. The
//! figures never read files; [`super::inputs`] does.

/// Implements every [`DrawingBackend`] method but `draw_text` by forwarding
/// to the wrapped backend `self.inner`: the text backends (`raster`,
/// `vector`) only replace how text is drawn.
macro_rules! forward_to_inner {
    ($err:ty) => {
        fn get_size(&self) -> (u32, u32) {
            self.inner.get_size()
        }

        fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<$err>> {
            self.inner.ensure_prepared()
        }

        fn present(&mut self) -> Result<(), DrawingErrorKind<$err>> {
            self.inner.present()
        }

        fn draw_pixel(&mut self, point: BackendCoord, color: BackendColor) -> Result<(), DrawingErrorKind<$err>> {
            self.inner.draw_pixel(point, color)
        }

        fn draw_line<S: BackendStyle>(
            &mut self,
            from: BackendCoord,
            to: BackendCoord,
            style: &S,
        ) -> Result<(), DrawingErrorKind<$err>> {
            self.inner.draw_line(from, to, style)
        }

        fn draw_rect<S: BackendStyle>(
            &mut self,
            upper_left: BackendCoord,
            bottom_right: BackendCoord,
            style: &S,
            fill: bool,
        ) -> Result<(), DrawingErrorKind<$err>> {
            self.inner.draw_rect(upper_left, bottom_right, style, fill)
        }

        fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
            &mut self,
            path: I,
            style: &S,
        ) -> Result<(), DrawingErrorKind<$err>> {
            self.inner.draw_path(path, style)
        }

        fn draw_circle<S: BackendStyle>(
            &mut self,
            center: BackendCoord,
            radius: u32,
            style: &S,
            fill: bool,
        ) -> Result<(), DrawingErrorKind<$err>> {
            self.inner.draw_circle(center, radius, style, fill)
        }

        fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
            &mut self,
            vert: I,
            style: &S,
        ) -> Result<(), DrawingErrorKind<$err>> {
            self.inner.fill_polygon(vert, style)
        }

        fn blit_bitmap(
            &mut self,
            pos: BackendCoord,
            size: (u32, u32),
            src: &[u8],
        ) -> Result<(), DrawingErrorKind<$err>> {
            self.inner.blit_bitmap(pos, size, src)
        }
    };
}

mod bars;
mod budget;
mod cdf;
mod credits;
mod frontier;
pub mod glyphs;
mod heatmap;
mod probability;
pub mod raster;
mod timeline;
pub mod vector;

use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

pub use budget::{BudgetChart, Remaining, first_window as budget_window};
pub use cdf::LatencyCdfChart;
pub use credits::CreditsChart;
pub use frontier::{FrontierChart, FrontierCurve};
pub use heatmap::HeatmapChart;
pub use probability::ProbabilityChart;
pub use timeline::TimelineChart;

use super::inputs::ClauseRow;
use crate::plan::Verdict;

/// The font family name the charts use, in plotters and in the SVG's CSS.
pub const FAMILY: &str = "slaplan-sans";

/// The embedded font: Ubuntu Light, from `epaint_default_fonts`.
pub const FONT_BYTES: &[u8] = epaint_default_fonts::UBUNTU_LIGHT;

/// Why a chart could not be drawn (a bug or an unusable font, never input).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrawError(pub String);

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for DrawError {
    fn from(e: DrawingAreaErrorKind<E>) -> DrawError {
        DrawError(e.to_string())
    }
}

/// A chart: its pixel size and how to draw it on any backend.
pub trait Figure {
    /// Width and height in pixels.
    fn size(&self) -> (u32, u32);
    /// Draws the whole chart on `root` (already white).
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawError>;
}

/// A chart drawn on both backends.
#[derive(Clone, Debug, PartialEq)]
pub struct Rendered {
    /// The SVG document (text as outlines: it needs no font).
    pub svg: String,
    /// The PNG file's bytes.
    pub png: Vec<u8>,
}

/// The CSS rule declaring [`FAMILY`] from the embedded font's bytes, for
/// pages that set their own text in it.
pub fn font_face_css() -> &'static str {
    static CSS: OnceLock<String> = OnceLock::new();
    CSS.get_or_init(|| {
        format!(
            "@font-face{{font-family:\"{FAMILY}\";src:url(data:font/ttf;base64,{}) format(\"truetype\");}}",
            base64(FONT_BYTES)
        )
    })
}

/// Registers the embedded font with plotters (once per process): plotters
/// measures text with it to lay out captions and label areas.
fn ensure_font() -> Result<(), DrawError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, FONT_BYTES).is_ok());
    if ok {
        Ok(())
    } else {
        Err(DrawError("the embedded font could not be loaded".into()))
    }
}

/// Draws `figure` as an SVG document and as a PNG image.
pub fn render(figure: &impl Figure) -> Result<Rendered, DrawError> {
    ensure_font()?;
    let (w, h) = figure.size();
    let mut svg = String::new();
    let mut texts = Vec::new();
    {
        let root = vector::TextSvg::new(&mut svg, &mut texts, (w, h))?.into_drawing_area();
        root.fill(&WHITE)?;
        figure.draw(&root)?;
        root.present()?;
    }
    let mut pixels = vec![0u8; w as usize * h as usize * 3];
    {
        let root = raster::TextBitmap::new(&mut pixels, (w, h))?.into_drawing_area();
        root.fill(&WHITE)?;
        figure.draw(&root)?;
        root.present()?;
    }
    Ok(Rendered {
        svg: vector::finish(&svg, &texts)?,
        png: encode_png(&pixels, w, h)?,
    })
}

fn encode_png(rgb: &[u8], w: u32, h: u32) -> Result<Vec<u8>, DrawError> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let png_err = |e: png::EncodingError| DrawError(format!("cannot encode the PNG: {e}"));
    let mut writer = encoder.write_header().map_err(png_err)?;
    writer.write_image_data(rgb).map_err(png_err)?;
    writer.finish().map_err(png_err)?;
    Ok(out)
}

/// Standard base64 with padding.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

// ---- shared style ----------------------------------------------------------

/// Enforceable.
pub const GREEN: RGBColor = RGBColor(46, 125, 50);
/// At risk.
pub const AMBER: RGBColor = RGBColor(230, 152, 0);
/// Not enforceable.
pub const RED: RGBColor = RGBColor(198, 40, 40);
/// Reference lines and whiskers.
pub const INK: RGBColor = RGBColor(33, 33, 33);
/// Secondary lines.
pub const GREY: RGBColor = RGBColor(120, 120, 120);
/// Data series.
pub const BLUE: RGBColor = RGBColor(25, 90, 170);

/// The colour of a verdict.
pub fn verdict_colour(v: Verdict) -> RGBColor {
    match v {
        Verdict::Enforceable => GREEN,
        Verdict::AtRisk => AMBER,
        Verdict::NotEnforceable => RED,
    }
}

/// The chart font at `size` px.
pub fn font(size: u32) -> TextStyle<'static> {
    (FAMILY, f64::from(size)).into_font().color(&INK)
}

/// How a clause is named on a chart: `tenant: clause`, the clause as the
/// one-line grammar writes it (its scope, threshold and period included),
/// never cut.
pub fn clause_label(row: &ClauseRow) -> String {
    format!("{}: {}", row.tenant, row.clause)
}

/// The font of a panel's caption naming a clause: 16 px, smaller for a
/// long name so that it fits a panel of the two-column grid.
pub fn caption_font(caption: &str) -> TextStyle<'static> {
    match caption.chars().count() {
        0..=52 => font(16),
        53..=64 => font(13),
        _ => font(11),
    }
}

/// `text` broken at spaces into lines of at most `max` characters (a word
/// longer than `max` gets a line of its own), so a label is shown whole.
pub fn wrap(text: &str, max: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 1 + word.chars().count() <= max => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}

/// `text` cut to at most `max` characters, with `...` when cut.
pub fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let kept: String = text.chars().take(max.saturating_sub(3)).collect();
        format!("{kept}...")
    }
}

/// The widest of `labels` in `style` on `area`, in pixels.
pub fn widest<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, labels: &[String], style: &TextStyle) -> u32 {
    labels
        .iter()
        .filter_map(|l| area.estimate_text_size(l, style).ok())
        .map(|(w, _)| w)
        .max()
        .unwrap_or(0)
}

/// A tick value without trailing zeros: `1`, `1.5`, `0.25`.
pub fn trim_number(x: f64) -> String {
    let s = format!("{x:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".to_string() } else { s.to_string() }
}

/// A threshold in ms as people write it: `800ms`, `4s`, `2.5s`.
pub fn format_ms(ms: f64) -> String {
    if ms >= 1000.0 {
        let s = ms / 1000.0;
        if (s - s.round()).abs() < 1e-9 {
            format!("{s:.0}s")
        } else {
            format!("{}s", format!("{s:.2}").trim_end_matches('0'))
        }
    } else {
        format!("{ms:.0}ms")
    }
}

/// The size of a figure of `panels` panels, `panel_h` pixels high, two to a
/// row (one when alone), under a title and above a legend line.
pub fn grid_size(panels: usize, panel_h: u32) -> (u32, u32) {
    let rows = panels.div_ceil(grid_columns(panels)) as u32;
    (960, 70 + panel_h * rows)
}

fn grid_columns(panels: usize) -> usize {
    if panels > 1 { 2 } else { 1 }
}

/// Titles `root`, keeps a 28-pixel legend line at the bottom and splits the
/// rest into the grid of [`grid_size`]; draws each of `panels` in its cell
/// with `draw_panel`, in order, then the `legend` line.
pub fn draw_panels<DB: DrawingBackend, T>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    legend: &str,
    panels: &[T],
    mut draw_panel: impl FnMut(&DrawingArea<DB, Shift>, &T) -> Result<(), DrawError>,
) -> Result<(), DrawError> {
    let titled = root.titled(title, font(20))?;
    let (body, legend_area) = titled.split_vertically(titled.dim_in_pixel().1 - 28);
    let cols = grid_columns(panels.len());
    let areas = body.split_evenly((panels.len().div_ceil(cols), cols));
    for (panel, area) in panels.iter().zip(&areas) {
        draw_panel(area, panel)?;
    }
    legend_area.draw(&Text::new(legend, (20, 6), font(14).color(&GREY)))?;
    Ok(())
}

/// A panel of a clause's share against a value in ms (latency or
/// threshold) on `x`, linear or logarithmic: the clause named above it,
/// shares 0 to 1 on the left, a light mesh; the area to draw the curves in.
pub fn share_panel<'a, DB: DrawingBackend, X>(
    area: &'a DrawingArea<DB, Shift>,
    row: &ClauseRow,
    x: X,
    x_labels: usize,
    x_desc: &str,
) -> Result<ChartContext<'a, DB, Cartesian2d<X::CoordDescType, RangedCoordf64>>, DrawError>
where
    X: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
{
    let mut chart = ChartBuilder::on(area)
        .caption(clause_label(row), caption_font(&clause_label(row)))
        .margin(10)
        .x_label_area_size(36)
        .y_label_area_size(48)
        .build_cartesian_2d(x, 0.0..1.02f64)?;
    chart
        .configure_mesh()
        .x_labels(x_labels)
        .y_labels(6)
        .x_label_formatter(&|x| format_ms(*x))
        .y_label_formatter(&|y| format!("{y:.1}"))
        .x_desc(x_desc)
        .label_style(font(14))
        .axis_desc_style(font(14))
        .light_line_style(RGBColor(238, 238, 238))
        .draw()?;
    Ok(chart)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_rfc_4648_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded, "{plain:?}");
        }
        assert_eq!(base64(&[0xff, 0xfe, 0xfd]), "//79");
    }

    #[test]
    fn thresholds_read_as_written() {
        assert_eq!(format_ms(800.0), "800ms");
        assert_eq!(format_ms(4000.0), "4s");
        assert_eq!(format_ms(2500.0), "2.5s");
        assert_eq!(format_ms(1250.0), "1.25s");
    }
}
