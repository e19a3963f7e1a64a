//! The map sizes a model takes: the canvas sizes the painting page offers
//! (and the server warms up), and why a map of a given size cannot be
//! generated, with the size to resize or pad it to.

use serde::Serialize;

use super::card::{ModelCard, Size};

impl ModelCard {
    /// The canvas sizes the page offers: native as it is; a 2:1 panorama and
    /// 3:2 on the native's shorter side, and twice native, each side rounded
    /// to the nearest multiple of `multiple_of` (at least one); those over
    /// `max_pixels` and repeats left out. A fixed-size model: native alone.
    pub fn canvas_sizes(&self, max_pixels: u64) -> Vec<CanvasSize> {
        let Size { width, height } = self.native;
        let mut sizes = vec![CanvasSize {
            name: "native",
            width,
            height,
        }];
        if self.sizes.fixed {
            return sizes;
        }
        let m = self.sizes.multiple_of.max(1);
        // Half away from zero, as the page rounded before this moved here.
        let round = |v: f64| ((v / m as f64).round() as usize).max(1) * m;
        let short = width.min(height) as f64;
        let candidates = [
            ("panorama", round(2.0 * short), round(short)),
            ("3:2", round(1.5 * short), round(short)),
            (
                "double",
                round(2.0 * width as f64),
                round(2.0 * height as f64),
            ),
        ];
        for (name, width, height) in candidates {
            let repeat = sizes.iter().any(|s| s.width == width && s.height == height);
            if (width * height) as u64 <= max_pixels && !repeat {
                sizes.push(CanvasSize {
                    name,
                    width,
                    height,
                });
            }
        }
        sizes
    }

    /// Why `height`×`width` cannot be generated, or None if it can.
    pub fn size_problem(&self, height: usize, width: usize) -> Option<String> {
        let native = &self.native;
        if self.sizes.fixed {
            return (height != native.height || width != native.width).then(|| {
                format!(
                    "the map is {width}×{height}, but this model starts from a style vector and only makes \
                     {}×{} images; resize the map to {}×{} (nearest neighbour)",
                    native.width, native.height, native.width, native.height
                )
            });
        }
        let m = self.sizes.multiple_of;
        (height == 0 || width == 0 || !height.is_multiple_of(m) || !width.is_multiple_of(m)).then(|| {
            let round = |v: usize| (v.div_ceil(m)).max(1) * m;
            format!(
                "the map is {width}×{height}, but this model needs width and height that are multiples of {m} \
                 (its native size is {}×{}); resize or pad it to {}×{}",
                native.width,
                native.height,
                round(width),
                round(height)
            )
        })
    }
}

/// A canvas size the painting page offers for a model (and the server warms
/// up where a new input shape costs a compile).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CanvasSize {
    /// `native`, `panorama` (2:1), `3:2` or `double` (twice native).
    pub name: &'static str,
    pub width: usize,
    pub height: usize,
}

#[cfg(test)]
mod tests {
    use crate::package::{AllowedSizes, ModelCard, Size};

    /// A card as easel wrote it in format 1 (the default model's, 2026-11).
    const FORMAT_1: &str = include_str!("../../tests/fixtures/cards/landscapes-format1.json");

    fn free(width: usize, height: usize, multiple_of: usize) -> ModelCard {
        let mut card = ModelCard::from_json(FORMAT_1).unwrap();
        card.native = Size { width, height };
        card.sizes = AllowedSizes {
            fixed: false,
            multiple_of,
        };
        card
    }

    /// Each size as "name W×H".
    fn listed(card: &ModelCard, max_pixels: u64) -> Vec<String> {
        let sizes = card.canvas_sizes(max_pixels);
        sizes
            .iter()
            .map(|s| format!("{} {}×{}", s.name, s.width, s.height))
            .collect()
    }

    const MAX: u64 = 16 << 20;

    #[test]
    fn a_free_256_model_is_offered_native_a_panorama_3_2_and_twice_native() {
        let card = free(256, 256, 32);
        let all = [
            "native 256×256",
            "panorama 512×256",
            "3:2 384×256",
            "double 512×512",
        ];
        assert_eq!(listed(&card, MAX), all);
        // Over max_pixels left out, never native; 512×256 is exactly 131,072.
        assert_eq!(listed(&card, 200_000), all[..3]);
        assert_eq!(listed(&card, 131_072), all[..3]);
        assert_eq!(listed(&card, 131_071), ["native 256×256", "3:2 384×256"]);
        assert_eq!(listed(&card, 1000), ["native 256×256"]);
    }

    #[test]
    fn canvas_sides_round_to_the_nearest_multiple_and_repeats_are_left_out() {
        // A 2:1 native is its own panorama.
        let wide = ["native 256×128", "3:2 192×128", "double 512×256"];
        assert_eq!(listed(&free(256, 128, 32), MAX), wide);
        // short side 150 → 160; 300 → 288; 225 → 224; 400 → 416 (12.5 rounds up).
        let odd = [
            "native 200×150",
            "panorama 288×160",
            "3:2 224×160",
            "double 416×288",
        ];
        assert_eq!(listed(&free(200, 150, 32), MAX), odd);
        // multiple_of 0 reads as 1: no rounding.
        let any = [
            "native 100×60",
            "panorama 120×60",
            "3:2 90×60",
            "double 200×120",
        ];
        assert_eq!(listed(&free(100, 60, 0), MAX), any);
        let mut fixed = free(256, 128, 32);
        fixed.sizes.fixed = true;
        assert_eq!(listed(&fixed, MAX), ["native 256×128"]);
    }
}
