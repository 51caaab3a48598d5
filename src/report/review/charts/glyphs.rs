//! Text layout with the embedded font, shared by both backends so the PNG
//! and the SVG put every glyph in the same place.
//!
//! The layout follows what plotters' SVG backend asks of a browser (em =
//! size / 1.24, `text-anchor` from the advance width, the baseline at
//! `y + 0.76em` for top and `y - 0.5ex` for bottom anchors) except that a
//! centred text is centred halfway between its x-height and its capitals'
//! height, not on its x-height alone, so axis numbers sit on their ticks
//! and lowercase labels on their lanes. The caller rotates about
//! the anchor. Glyphs keep their side bearings and kerning (plotters
//! 0.3.7's own ab_glyph drawing drops the bearings: a visible gap in
//! "hosp ital").

use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, GlyphId, PxScale, ScaleFont};
use plotters_backend::text_anchor::{HPos, VPos};

use super::{DrawError, FONT_BYTES};

/// The embedded font, parsed once.
pub fn embedded_font() -> Result<&'static FontRef<'static>, DrawError> {
    static FONT: OnceLock<Option<FontRef<'static>>> = OnceLock::new();
    FONT.get_or_init(|| FontRef::try_from_slice(FONT_BYTES).ok())
        .as_ref()
        .ok_or_else(|| DrawError("the embedded font could not be parsed".into()))
}

/// One glyph placed relative to the text's anchor, before rotation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Placed {
    /// The glyph.
    pub id: GlyphId,
    /// Pen position (left of the glyph's advance), px from the anchor.
    pub x: f32,
    /// Baseline, px from the anchor (down is positive).
    pub y: f32,
}

/// A laid-out line of text.
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    /// The scale to draw the glyphs at (ab_glyph's, for `em`).
    pub scale: PxScale,
    /// Font units to pixels.
    pub units_to_px: f32,
    /// The glyphs in order.
    pub glyphs: Vec<Placed>,
}

/// Lays out `text` at plotters' `size` with the given anchor.
pub fn layout(font: &FontRef<'static>, text: &str, size: f64, h: HPos, v: VPos) -> Layout {
    let em = (size / 1.24) as f32;
    let upem = font.units_per_em().unwrap_or(1000.0);
    let scale = PxScale::from(em * font.height_unscaled() / upem);
    let scaled = font.as_scaled(scale);
    let ids: Vec<GlyphId> = text.chars().map(|c| font.glyph_id(c)).collect();
    let mut pens = Vec::with_capacity(ids.len());
    let mut x = 0.0;
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            x += scaled.kern(ids[i - 1], *id);
        }
        pens.push(x);
        x += scaled.h_advance(*id);
    }
    let width = x;
    let height_of = |c: char, otherwise: f32| {
        // ab_glyph's unscaled bounds keep the font's y-up top in `min.y`.
        font.outline(font.glyph_id(c))
            .map(|o| (o.bounds.min.y - o.bounds.max.y).abs() * em / upem)
            .unwrap_or(otherwise)
    };
    let (x_height, cap_height) = (height_of('x', em * 0.5), height_of('H', em * 0.7));
    let shift = match h {
        HPos::Left => 0.0,
        HPos::Center => -width / 2.0,
        HPos::Right => -width,
    };
    let baseline = match v {
        VPos::Top => 0.76 * em,
        VPos::Center => 0.25 * (x_height + cap_height),
        VPos::Bottom => -0.5 * x_height,
    };
    Layout {
        scale,
        units_to_px: em / upem,
        glyphs: ids
            .into_iter()
            .zip(pens)
            .map(|(id, pen)| Placed {
                id,
                x: pen + shift,
                y: baseline,
            })
            .collect(),
    }
}
