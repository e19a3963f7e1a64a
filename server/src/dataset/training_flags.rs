//! The reference's training flags that fit a dataset: the preprocessing
//! mode, load and crop sizes for its label-map sizes (as the reference
//! trains square and non-square data), and how they are spelled.

use std::fmt::Write as _;

/// Aspect ratios closer than this (relative) count as the same.
const RATIO_TOLERANCE: f64 = 0.01;

/// The reference's crop for square data, and the load size it pairs with.
const SQUARE_CROP: usize = 256;
const SQUARE_LOAD: usize = 286;

/// The largest crop suggested for non-square data (the reference trains
/// Cityscapes at 512 × 256).
const MAX_FIXED_CROP: usize = 512;

/// The generator's latent grid is the crop divided by 2⁵ (normal upsampling).
const LATENT_STRIDE: usize = 32;

/// The reference training flags that fit the data, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingFlags {
    pub label_nc: usize,
    pub contain_dontcare_label: bool,
    pub no_instance: bool,
    pub preprocess_mode: &'static str,
    pub aspect_ratio: f64,
    pub load_size: usize,
    pub crop_size: usize,
    pub reasons: Vec<String>,
}

impl TrainingFlags {
    pub fn args(&self) -> String {
        let mut s = format!("--label_nc {}", self.label_nc);
        if self.contain_dontcare_label {
            s += " --contain_dontcare_label";
        }
        if self.no_instance {
            s += " --no_instance";
        }
        let ratio = format!("{:.4}", self.aspect_ratio);
        let ratio = ratio.trim_end_matches('0').trim_end_matches('.');
        write!(
            s,
            " --preprocess_mode {} --aspect_ratio {ratio} --load_size {} --crop_size {}",
            self.preprocess_mode, self.load_size, self.crop_size
        )
        .ok();
        s
    }
}

/// Reduced width:height.
pub(super) fn ratio_name(w: usize, h: usize) -> String {
    fn gcd(a: usize, b: usize) -> usize {
        if b == 0 {
            a
        } else {
            gcd(b, a % b)
        }
    }
    let g = gcd(w, h).max(1);
    format!("{}:{}", w / g, h / g)
}

/// Whether two aspect ratios count as the same.
pub(super) fn same_ratio(a: f64, b: f64) -> bool {
    (a / b - 1.0).abs() <= RATIO_TOLERANCE
}

/// The preprocessing that fits the label map sizes, as the reference
/// trains: square crops need square data (or `*_and_crop` modes that keep a
/// square window), other shapes a fixed resize to one aspect ratio.
pub fn suggest_preprocessing(
    sizes: &[((usize, usize), usize)],
) -> (&'static str, f64, usize, usize, Vec<String>) {
    let Some(&((w0, h0), _)) = sizes.first() else {
        return ("resize_and_crop", 1.0, SQUARE_LOAD, SQUARE_CROP, Vec::new());
    };
    let ratio = w0 as f64 / h0 as f64;
    let min_width = sizes.iter().map(|((w, _), _)| *w).min().unwrap_or(w0);
    let min_side = sizes
        .iter()
        .map(|((w, h), _)| *w.min(h))
        .min()
        .unwrap_or(w0.min(h0));
    let uniform = sizes
        .iter()
        .all(|((w, h), _)| same_ratio(*w as f64 / *h as f64, ratio));
    let square_crop = (min_side / LATENT_STRIDE * LATENT_STRIDE).clamp(LATENT_STRIDE, SQUARE_CROP);
    let square_load = (square_crop * SQUARE_LOAD).div_ceil(SQUARE_CROP);
    let mut why = Vec::new();
    if square_crop < SQUARE_CROP {
        why.push(format!(
            "crop_size {square_crop}: the smallest map side is {min_side}, under the usual {SQUARE_CROP}"
        ));
    }
    if uniform && same_ratio(ratio, 1.0) {
        why.insert(
            0,
            "preprocess_mode resize_and_crop: every map is square, so resizing keeps its shape and random square crops augment".into(),
        );
        return ("resize_and_crop", 1.0, square_load, square_crop, why);
    }
    if uniform {
        // A crop whose latent grid is whole in both directions, so that the
        // generator's output is exactly the size of the resized map.
        let fits = |crop: usize| {
            let latent_h = ((crop / LATENT_STRIDE) as f64 / ratio).round() as usize;
            (crop as f64 / ratio).round() as usize == latent_h * LATENT_STRIDE && latent_h > 0
        };
        let largest = (min_width.min(MAX_FIXED_CROP) / LATENT_STRIDE).max(1) * LATENT_STRIDE;
        let crop = (1..=largest / LATENT_STRIDE)
            .rev()
            .map(|k| k * LATENT_STRIDE)
            .find(|&c| fits(c));
        let mut why = vec![format!(
            "preprocess_mode fixed: every map is {} ({ratio:.4}), not square; the reference's crops are square, \
             so it trains non-square data resized whole to crop_size × crop_size/aspect_ratio, as it does Cityscapes",
            ratio_name(w0, h0)
        )];
        let crop = match crop {
            Some(c) => {
                why.push(format!(
                    "crop_size {c}: the largest width up to {MAX_FIXED_CROP} (and the maps' {min_width}) whose height {} is a multiple of {LATENT_STRIDE}, so the generator's output matches the resized map",
                    (c as f64 / ratio).round()
                ));
                c
            }
            None => {
                let c = square_crop;
                why.push(format!(
                    "crop_size {c}: no width up to {MAX_FIXED_CROP} gives a height that is a multiple of {LATENT_STRIDE} at this aspect ratio; the generator's output may be a row off, so consider cropping the data to a rounder ratio"
                ));
                c
            }
        };
        return ("fixed", ratio, crop, crop, why);
    }
    why.insert(
        0,
        "preprocess_mode scale_shortside_and_crop: the maps have different shapes; scaling the short side to load_size keeps each shape \
         and leaves room for every square crop (scale_width_and_crop would pad wide images with class 0, resize_and_crop would squash them)"
            .into(),
    );
    (
        "scale_shortside_and_crop",
        1.0,
        square_load,
        square_crop,
        why,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn square_maps_get_the_reference_resize_and_crop() {
        let (mode, ratio, load, crop, _) =
            suggest_preprocessing(&[((512, 512), 3), ((300, 300), 1)]);
        assert_eq!(
            (mode, ratio, load, crop),
            ("resize_and_crop", 1.0, 286, 256)
        );
    }

    #[test]
    fn one_non_square_shape_gets_a_fixed_resize_whose_height_fits_the_generator() {
        let (mode, ratio, load, crop, _) = suggest_preprocessing(&[((960, 720), 10)]);
        assert_eq!((mode, load, crop), ("fixed", 512, 512));
        assert!((ratio - 4.0 / 3.0).abs() < 1e-9);
        let (mode, _, _, crop, _) = suggest_preprocessing(&[((2048, 1024), 2), ((1024, 512), 1)]);
        assert_eq!((mode, crop), ("fixed", 512));
    }

    #[test]
    fn mixed_shapes_keep_their_shape_and_crop_squares() {
        let (mode, ratio, load, crop, _) =
            suggest_preprocessing(&[((640, 480), 2), ((480, 640), 1)]);
        assert_eq!(
            (mode, ratio, load, crop),
            ("scale_shortside_and_crop", 1.0, 286, 256)
        );
    }

    #[test]
    fn small_maps_get_a_smaller_crop() {
        let (_, _, load, crop, why) = suggest_preprocessing(&[((100, 100), 1)]);
        assert_eq!((load, crop), (108, 96));
        assert!(why.iter().any(|w| w.contains("smallest map side is 100")));
    }

    #[test]
    fn flags_print_as_the_reference_spells_them() {
        let flags = TrainingFlags {
            label_nc: 32,
            contain_dontcare_label: true,
            no_instance: true,
            preprocess_mode: "fixed",
            aspect_ratio: 4.0 / 3.0,
            load_size: 512,
            crop_size: 512,
            reasons: Vec::new(),
        };
        assert_eq!(
            flags.args(),
            "--label_nc 32 --contain_dontcare_label --no_instance --preprocess_mode fixed --aspect_ratio 1.3333 --load_size 512 --crop_size 512"
        );
    }
}
