//! The SVG backend: plotters' SVG backend, with text drawn as glyph
//! outlines (`<path>`) from the embedded font, laid out by
//! [`super::glyphs`] exactly as in the PNG. The file needs no font at all,
//! so it looks the same in any SVG renderer, with or without fonts, and
//! each text keeps its words in `aria-label`.
//!
//! plotters writes its `<text>` elements straight into the document, so a
//! text is drawn as a numbered placeholder `<text>` in its place (keeping
//! the drawing order) and [`finish`] swaps each for its outline.

use std::fmt::Write;

use ab_glyph::{Font, FontRef, OutlineCurve, Point};
use plotters::prelude::*;
use plotters_backend::{BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingErrorKind, FontTransform};

use super::DrawError;
use super::glyphs::{embedded_font, layout};

/// An SVG backend drawing text as outlines; `paths` collects them for [`finish`].
pub struct TextSvg<'a> {
    inner: SVGBackend<'a>,
    font: &'static FontRef<'static>,
    paths: &'a mut Vec<String>,
}

impl<'a> TextSvg<'a> {
    /// Draws into `svg`, collecting text outlines in `paths`.
    pub fn new(svg: &'a mut String, paths: &'a mut Vec<String>, size: (u32, u32)) -> Result<TextSvg<'a>, DrawError> {
        Ok(TextSvg {
            inner: SVGBackend::with_string(svg, size),
            font: embedded_font()?,
            paths,
        })
    }
}

fn marker(n: usize) -> String {
    format!("@@slaplan-text-{n}@@")
}

/// Replaces each placeholder `<text>` element of `svg` by its outline.
pub fn finish(svg: &str, paths: &[String]) -> Result<String, DrawError> {
    let mut out = String::with_capacity(svg.len() + paths.iter().map(String::len).sum::<usize>());
    let mut rest = svg;
    for (n, path) in paths.iter().enumerate() {
        let mark = marker(n);
        let missing = || DrawError(format!("text {n} is missing from the SVG"));
        let at = rest.find(&mark).ok_or_else(missing)?;
        let open = rest[..at].rfind("<text").ok_or_else(missing)?;
        let close = at + rest[at..].find("</text>").ok_or_else(missing)? + "</text>".len();
        out.push_str(&rest[..open]);
        out.push_str(path);
        rest = &rest[close..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `text` safe inside a double-quoted XML attribute.
fn attr(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The outline of `text` anchored at `pos` as one `<path>` element.
fn outline_path(font: &FontRef<'static>, text: &str, style: &impl BackendTextStyle, pos: BackendCoord) -> String {
    let anchor = style.anchor();
    let layout = layout(font, text, style.size(), anchor.h_pos, anchor.v_pos);
    let s = layout.units_to_px;
    let mut d = String::new();
    for g in &layout.glyphs {
        let Some(outline) = font.outline(g.id) else { continue };
        // Font units (y up) to pixels (y down) at the glyph's pen position.
        let px = |p: Point| (pos.0 as f32 + g.x + p.x * s, pos.1 as f32 + g.y - p.y * s);
        let mut current: Option<(f32, f32)> = None;
        for curve in &outline.curves {
            let (start, end) = match curve {
                OutlineCurve::Line(a, b) | OutlineCurve::Quad(a, _, b) | OutlineCurve::Cubic(a, _, _, b) => {
                    (px(*a), px(*b))
                }
            };
            if current != Some(start) {
                if current.is_some() {
                    d.push('Z');
                }
                let _ = write!(d, "M{:.1} {:.1}", start.0, start.1);
            }
            let _ = match curve {
                OutlineCurve::Line(..) => write!(d, "L{:.1} {:.1}", end.0, end.1),
                OutlineCurve::Quad(_, c, _) => {
                    let c = px(*c);
                    write!(d, "Q{:.1} {:.1} {:.1} {:.1}", c.0, c.1, end.0, end.1)
                }
                OutlineCurve::Cubic(_, c1, c2, _) => {
                    let (c1, c2) = (px(*c1), px(*c2));
                    write!(
                        d,
                        "C{:.1} {:.1} {:.1} {:.1} {:.1} {:.1}",
                        c1.0, c1.1, c2.0, c2.1, end.0, end.1
                    )
                }
            };
            current = Some(end);
        }
        if current.is_some() {
            d.push('Z');
        }
    }
    let color = style.color();
    let (r, g, b) = color.rgb;
    let rotate = match style.transform() {
        FontTransform::None => String::new(),
        FontTransform::Rotate90 => format!(" transform=\"rotate(90, {}, {})\"", pos.0, pos.1),
        FontTransform::Rotate180 => format!(" transform=\"rotate(180, {}, {})\"", pos.0, pos.1),
        FontTransform::Rotate270 => format!(" transform=\"rotate(270, {}, {})\"", pos.0, pos.1),
    };
    format!(
        "<path aria-label=\"{}\" d=\"{d}\" fill=\"#{r:02X}{g:02X}{b:02X}\" opacity=\"{}\"{rotate}/>",
        attr(text),
        color.alpha
    )
}

type SvgError = <SVGBackend<'static> as DrawingBackend>::ErrorType;

impl DrawingBackend for TextSvg<'_> {
    type ErrorType = SvgError;

    forward_to_inner!(SvgError);

    fn draw_text<T: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &T,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<SvgError>> {
        if style.color().alpha == 0.0 {
            return Ok(());
        }
        let n = self.paths.len();
        self.paths.push(outline_path(self.font, text, style, pos));
        self.inner.draw_text(&marker(n), style, pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_swapped_for_outlines_in_place() {
        let svg =
            "<svg><rect/><text x=\"1\">\n@@slaplan-text-0@@\n</text><line/><text>\n@@slaplan-text-1@@\n</text></svg>";
        let paths = vec!["<path a/>".to_string(), "<path b/>".to_string()];
        assert_eq!(
            finish(svg, &paths).unwrap(),
            "<svg><rect/><path a/><line/><path b/></svg>"
        );
        assert!(finish("<svg></svg>", &paths).is_err());
    }

    #[test]
    fn labels_are_escaped() {
        assert_eq!(attr("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
    }
}
