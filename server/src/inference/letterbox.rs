//! Reading a photo with a real-photo segmenter of fixed input size: the
//! photo letterboxed into the input and its map scaled back
//! (`Letterbox`), then the card's refinements (clouds and snow decided by
//! the package's own segmenter or by white regions).

use image::imageops::FilterType;
use image::RgbImage;

use crate::package::card::{PhotoInput, RefineBy, Refinement};
use crate::package::ModelCard;

/// A photo scaled to fit a segmenter's fixed input without distortion and
/// padded at the bottom and right with the middle grey, or the mean when
/// the input is normalised (DeepLab's evaluation pads so, with its mean
/// pixel), and how to undo it.
pub struct Letterbox {
    /// (3, H, W) in the input's range.
    pub pixels: Vec<f32>,
    /// The photo's part of the input, (width, height).
    pub inside: (usize, usize),
    /// The photo's size.
    pub photo: (usize, usize),
}

impl Letterbox {
    pub fn new(photo: &RgbImage, input: &PhotoInput) -> Self {
        let (pw, ph) = (photo.width() as usize, photo.height() as usize);
        let scale = (input.width as f64 / pw as f64).min(input.height as f64 / ph as f64);
        let inside = (
            ((pw as f64 * scale).round() as usize).clamp(1, input.width),
            ((ph as f64 * scale).round() as usize).clamp(1, input.height),
        );
        let resized = if inside == (pw, ph) {
            photo.clone()
        } else {
            image::imageops::resize(
                photo,
                inside.0 as u32,
                inside.1 as u32,
                FilterType::Triangle,
            )
        };
        let plane = input.width * input.height;
        let mut pixels: Vec<f32> = (0..3)
            .flat_map(|c| std::iter::repeat_n(input.pad(c), plane))
            .collect();
        for (x, y, p) in resized.enumerate_pixels() {
            let at = y as usize * input.width + x as usize;
            for c in 0..3 {
                pixels[c * plane + at] = input.value(c, f32::from(p[c]));
            }
        }
        Self {
            pixels,
            inside,
            photo: (pw, ph),
        }
    }

    /// A map of the whole input (`width` wide) back at the photo's size:
    /// the photo's part, scaled by nearest neighbour.
    pub fn unbox(&self, map: &[u32], width: usize) -> Vec<u32> {
        let (pw, ph) = self.photo;
        let (iw, ih) = self.inside;
        let mut out = Vec::with_capacity(pw * ph);
        for y in 0..ph {
            let sy = ((y * 2 + 1) * ih / (ph * 2)).min(ih - 1);
            for x in 0..pw {
                let sx = ((x * 2 + 1) * iw / (pw * 2)).min(iw - 1);
                out.push(map[sy * width + sx]);
            }
        }
        out
    }
}

/// Bright and nearly grey: the colour of clouds and snow (value at least
/// 0.7, saturation at most 0.15, on 0..1).
pub fn is_white(p: &image::Rgb<u8>) -> bool {
    let max = p.0.iter().copied().max().unwrap_or(0);
    let min = p.0.iter().copied().min().unwrap_or(0);
    max >= 179 && u32::from(max - min) * 100 <= 15 * u32::from(max)
}

/// The card's refinements (`Refinement`), one after another, each on the
/// classes the earlier ones left. Rules by the package's own segmenter are
/// skipped when it gave no map (`own`).
pub(crate) fn refine(
    values: &mut [u32],
    photo: &RgbImage,
    own: Option<&[u32]>,
    rules: &[Refinement],
    card: &ModelCard,
) {
    let index = |names: &[String]| -> Vec<u32> {
        names
            .iter()
            .filter_map(|n| card.classes.iter().position(|c| &c.name == n))
            .map(|i| i as u32)
            .collect()
    };
    let rules: Vec<(Vec<u32>, Vec<u32>, RefineBy)> = rules
        .iter()
        .map(|r| (index(&r.within), index(&r.take), r.by))
        .collect();
    let white = rules
        .iter()
        .any(|(.., by)| *by == RefineBy::White)
        .then(|| white_regions(photo));
    for (i, value) in values.iter_mut().enumerate() {
        for (within, take, by) in &rules {
            if !within.contains(value) {
                continue;
            }
            match by {
                RefineBy::Segmenter => {
                    if let Some(theirs) = own.map(|o| o[i]).filter(|t| take.contains(t)) {
                        *value = theirs;
                    }
                }
                RefineBy::White => {
                    let is = white.as_ref().is_some_and(|w| w[i]);
                    if let (true, Some(&first)) = (is, take.first()) {
                        *value = first;
                    }
                }
            }
        }
    }
}

/// Which pixels lie in white regions: white (`is_white`) pixels, kept or
/// dropped by the majority of their 5×5 neighbourhood, so that a hazy sky's
/// scattered light pixels do not speckle it with clouds.
fn white_regions(photo: &RgbImage) -> Vec<bool> {
    let (w, h) = (photo.width() as usize, photo.height() as usize);
    // Summed-area table of the white pixels, one row and column of zeros first.
    let mut sums = vec![0u32; (w + 1) * (h + 1)];
    for (y, row) in photo.rows().enumerate() {
        let mut run = 0;
        for (x, p) in row.enumerate() {
            run += u32::from(is_white(p));
            sums[(y + 1) * (w + 1) + x + 1] = sums[y * (w + 1) + x + 1] + run;
        }
    }
    let mut out = Vec::with_capacity(w * h);
    for y in 0..h {
        let (y0, y1) = (y.saturating_sub(2), (y + 3).min(h));
        for x in 0..w {
            let (x0, x1) = (x.saturating_sub(2), (x + 3).min(w));
            let at = |yy: usize, xx: usize| sums[yy * (w + 1) + xx];
            let count = at(y1, x1) + at(y0, x0) - at(y0, x1) - at(y1, x0);
            let area = ((y1 - y0) * (x1 - x0)) as u32;
            out.push(2 * count > area);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(width: usize, height: usize) -> PhotoInput {
        PhotoInput {
            width,
            height,
            range: [-1.0, 1.0],
            normalize: None,
        }
    }

    #[test]
    fn a_panorama_is_letterboxed_at_the_top_and_its_map_scaled_back_to_its_size() {
        // 2:1 into 8×8: the photo fills the top 8×4, mid grey below.
        let photo = RgbImage::from_fn(32, 16, |_, _| image::Rgb([255, 255, 255]));
        let boxed = Letterbox::new(&photo, &input(8, 8));
        assert_eq!(boxed.inside, (8, 4));
        assert_eq!(boxed.pixels[0], 1.0, "white is the top of the range");
        assert_eq!(boxed.pixels[5 * 8], 0.0, "the padding is mid grey");
        // A map whose rows are numbered: the photo's 16 rows come from rows 0..4.
        let map: Vec<u32> = (0..64).map(|i| i / 8).collect();
        let back = boxed.unbox(&map, 8);
        assert_eq!(back.len(), 32 * 16);
        let rows: Vec<u32> = (0..16).map(|y| back[y * 32]).collect();
        assert_eq!(rows, [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]);
    }

    #[test]
    fn a_portrait_is_letterboxed_at_the_left() {
        let photo = RgbImage::from_fn(16, 32, |_, _| image::Rgb([0, 0, 0]));
        let boxed = Letterbox::new(&photo, &input(8, 8));
        assert_eq!(boxed.inside, (4, 8));
        assert_eq!((boxed.pixels[0], boxed.pixels[5]), (-1.0, 0.0));
        let map: Vec<u32> = (0..64).map(|i| i % 8).collect();
        let back = boxed.unbox(&map, 8);
        assert_eq!(back.len(), 16 * 32);
        assert!(
            back.iter().all(|&c| c < 4),
            "only the photo's columns come back"
        );
    }

    #[test]
    fn white_regions_drop_lone_white_pixels_and_keep_white_areas() {
        // A blue frame with one white pixel and a white 6×6 block.
        let mut photo = RgbImage::from_pixel(20, 12, image::Rgb([90, 140, 230]));
        photo.put_pixel(3, 3, image::Rgb([250, 250, 250]));
        for y in 4..10 {
            for x in 10..16 {
                photo.put_pixel(x, y, image::Rgb([235, 238, 245]));
            }
        }
        let white = white_regions(&photo);
        assert!(!white[3 * 20 + 3], "a lone white pixel is not a cloud");
        assert!(white[6 * 20 + 12] && white[7 * 20 + 13], "the block is");
        assert!(!white[20], "the blue is not");
    }

    #[test]
    fn white_is_bright_and_nearly_grey() {
        assert!(is_white(&image::Rgb([240, 242, 250])));
        assert!(is_white(&image::Rgb([190, 190, 195])));
        assert!(!is_white(&image::Rgb([120, 170, 235])), "blue sky");
        assert!(!is_white(&image::Rgb([230, 210, 140])), "sand");
        assert!(!is_white(&image::Rgb([100, 100, 100])), "dark grey rock");
    }
}
