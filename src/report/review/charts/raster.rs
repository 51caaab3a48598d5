//! The PNG backend: plotters' bitmap backend, with text drawn from the
//! embedded font by [`super::glyphs`] (bearings and kerning kept, blended
//! by coverage). Everything else is the bitmap backend's.

use ab_glyph::{Font, FontRef, point};
use plotters::prelude::*;
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingErrorKind};

use super::DrawError;
use super::glyphs::{embedded_font, layout};

/// A bitmap backend drawing text with the embedded font.
pub struct TextBitmap<'a> {
    inner: BitMapBackend<'a>,
    font: &'static FontRef<'static>,
}

impl<'a> TextBitmap<'a> {
    /// Draws into `buffer` (RGB, `size.0 * size.1 * 3` bytes).
    pub fn new(buffer: &'a mut [u8], size: (u32, u32)) -> Result<TextBitmap<'a>, DrawError> {
        Ok(TextBitmap {
            inner: BitMapBackend::with_buffer(buffer, size),
            font: embedded_font()?,
        })
    }
}

/// The pixels of `text`: `(x, y, coverage)` relative to the anchor, before
/// rotation.
fn pixels(font: &FontRef<'static>, text: &str, size: f64, h: HPos, v: VPos) -> Vec<(i32, i32, f32)> {
    let layout = layout(font, text, size, h, v);
    let mut out = Vec::new();
    for g in &layout.glyphs {
        let Some(outline) = font.outline_glyph(g.id.with_scale_and_position(layout.scale, point(g.x, g.y))) else {
            continue;
        };
        let b = outline.px_bounds();
        let (left, top) = (b.min.x as i32, b.min.y as i32);
        outline.draw(|gx, gy, coverage| {
            if coverage > 0.0 {
                out.push((left + gx as i32, top + gy as i32, coverage.min(1.0)));
            }
        });
    }
    out
}

type BitmapError = <BitMapBackend<'static> as DrawingBackend>::ErrorType;

impl DrawingBackend for TextBitmap<'_> {
    type ErrorType = BitmapError;

    forward_to_inner!(BitmapError);

    fn draw_text<T: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &T,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<BitmapError>> {
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        let anchor = style.anchor();
        let transform = style.transform();
        let (w, h) = self.inner.get_size();
        for (x, y, coverage) in pixels(self.font, text, style.size(), anchor.h_pos, anchor.v_pos) {
            let (dx, dy) = transform.transform(x, y);
            let (px, py) = (pos.0 + dx, pos.1 + dy);
            if px >= 0 && py >= 0 && (px as u32) < w && (py as u32) < h {
                let blended = BackendColor {
                    alpha: color.alpha * f64::from(coverage),
                    rgb: color.rgb,
                };
                self.inner.draw_pixel((px, py), blended)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extent(pixels: &[(i32, i32, f32)]) -> (i32, i32, i32, i32) {
        let xs = pixels.iter().map(|p| p.0);
        let ys = pixels.iter().map(|p| p.1);
        (
            xs.clone().min().unwrap(),
            xs.max().unwrap(),
            ys.clone().min().unwrap(),
            ys.max().unwrap(),
        )
    }

    #[test]
    fn anchors_place_the_text_around_the_point() {
        let font = embedded_font().unwrap();
        let (l0, l1, t0, _) = extent(&pixels(font, "Hill", 20.0, HPos::Left, VPos::Top));
        assert!(
            (0..=2).contains(&l0) && l1 > 10,
            "left-anchored text starts at the anchor: {l0}..{l1}"
        );
        assert!((-3..=4).contains(&t0), "top-anchored text hangs from the anchor: {t0}");
        let (r0, r1, _, b1) = extent(&pixels(font, "Hill", 20.0, HPos::Right, VPos::Bottom));
        assert!(
            (-2..=0).contains(&r1) && r0 < -10,
            "right-anchored text ends at the anchor: {r0}..{r1}"
        );
        assert!(b1 < 0, "bottom-anchored text sits above the anchor: {b1}");
        let (c0, c1, _, _) = extent(&pixels(font, "Hill", 20.0, HPos::Center, VPos::Center));
        assert!((c0 + c1).abs() <= 3, "centred text straddles the anchor: {c0}..{c1}");
        // Vertically, capitals centre just below the anchor and lowercase
        // just above (halfway between x-height and cap height).
        let (_, _, h0, h1) = extent(&pixels(font, "HH", 30.0, HPos::Left, VPos::Center));
        assert!(
            h0 < 0 && h1 > 0 && (h0 + h1).abs() <= 4,
            "capitals around the anchor: {h0}..{h1}"
        );
        let (_, _, x0, x1) = extent(&pixels(font, "xx", 30.0, HPos::Left, VPos::Center));
        assert!(
            x0 < 0 && x1 > 0 && (x0 + x1).abs() <= 4,
            "lowercase around the anchor: {x0}..{x1}"
        );
    }

    #[test]
    fn glyphs_keep_their_side_bearings() {
        // "il" and "li" have the same advance; drawn with bearings the ink
        // spans differ by no more than a pixel or two either way, and no
        // glyph starts left of the pen (plotters' own drawing shifted each
        // glyph left by its bearing).
        let font = embedded_font().unwrap();
        let (a0, a1, _, _) = extent(&pixels(font, "il", 30.0, HPos::Left, VPos::Top));
        let (b0, b1, _, _) = extent(&pixels(font, "li", 30.0, HPos::Left, VPos::Top));
        assert!(a0 > 0 && b0 > 0, "ink starts after the pen: {a0}, {b0}");
        assert!((a1 - a0 - (b1 - b0)).abs() <= 2);
    }
}
