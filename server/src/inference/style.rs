//! The z a model gets: from a seed, a style image (through the encoder, on
//! the model's thread), or given; and for models that take z per pixel
//! (OASIS), the map of z with each re-rolled region's own z over its pixels.

use super::error::SynthesisError;
use super::request::{RegionZ, StyleSpec, ZMap, ZVector};
use crate::inference::runtime::ModelSession;
use crate::package::maps::nearest;
use crate::package::{sha256_hex, short_digest, ModelCard, DEFAULT_PRESET_SPREAD};
use crate::random::normal_samples;

/// The style as the model thread resolves it (the encoder runs there).
#[derive(Debug, Clone, PartialEq)]
pub enum StyleInput {
    /// The model takes no z.
    None,
    /// z from N(0, 1) with this seed.
    Seed(u64),
    /// z given.
    Vector(Vec<f32>),
    /// z given for every pixel of the work's map, (z_dim, H, W).
    Map(Vec<f32>),
    /// z from the style encoder: an RGB image, CHW in [-1, 1].
    Encode {
        pixels: Vec<f32>,
        height: usize,
        width: usize,
        sample: Option<u64>,
    },
}

impl StyleInput {
    /// The style of an RGB image; with `sample`, z is drawn around its mu.
    pub fn from_image(image: &image::RgbImage, sample: Option<u64>) -> Self {
        let (width, height) = (image.width() as usize, image.height() as usize);
        StyleInput::Encode {
            pixels: rgb_to_chw(image.as_raw(), height, width),
            height,
            width,
            sample,
        }
    }
}

/// A region of the work's map (H·W flags) and the z its pixels take.
#[derive(Debug, Clone, PartialEq)]
pub struct RegionNoise {
    pub inside: Vec<bool>,
    pub z: Vec<f32>,
}

/// A z map for the label map as sent (`from`), nearest-resized to the
/// work's size `to` as the map is.
fn z_map(
    card: &ModelCard,
    map: &ZMap,
    from: (usize, usize),
    to: (usize, usize),
) -> Result<Vec<f32>, SynthesisError> {
    let refuse = |text: String| Err(SynthesisError::ZMap(text));
    let Some(z_dim) = card.z_dim.filter(|_| card.z_per_pixel) else {
        return refuse(format!(
            "model {} does not take z per pixel (its card has no z_per_pixel); give one z vector instead",
            card.name
        ));
    };
    if map.channels != z_dim {
        return refuse(format!(
            "the z map has {} channels, but model {} takes z of {z_dim}",
            map.channels, card.name
        ));
    }
    if (map.width, map.height) != from {
        return refuse(format!(
            "the z map is {}×{} but the label map is {}×{}; give one z per pixel of the map",
            map.width, map.height, from.0, from.1
        ));
    }
    let plane = from.0 * from.1;
    Ok(map
        .values
        .0
        .chunks_exact(plane)
        .flat_map(|channel| {
            if from == to {
                channel.to_vec()
            } else {
                nearest(channel, from, to)
            }
        })
        .collect())
}

/// The z of a region: drawn as a style seed draws z, or given.
pub(super) fn region_z(
    card: &ModelCard,
    index: usize,
    z: &RegionZ,
) -> Result<Vec<f32>, SynthesisError> {
    let z_dim = card.z_dim.unwrap_or(0);
    match z {
        RegionZ::Seed(seed) => Ok(normal_samples(*seed, z_dim)),
        RegionZ::Vector(v) if v.0.len() != z_dim => Err(SynthesisError::RegionLength {
            model: card.name.clone(),
            index,
            given: v.0.len(),
            z_dim,
        }),
        RegionZ::Vector(v) => Ok(v.0.clone()),
    }
}

/// z for every pixel, (z_dim, H, W): the image's z, and each region's z
/// over the pixels it covers.
pub(super) fn noise_map(z: &[f32], regions: &[RegionNoise], plane: usize) -> Vec<f32> {
    let map: Vec<f32> = z
        .iter()
        .flat_map(|&v| std::iter::repeat_n(v, plane))
        .collect();
    noise_map_over(map, regions, plane)
}

/// Each region's z written over a (z_dim, H, W) map.
pub(super) fn noise_map_over(mut map: Vec<f32>, regions: &[RegionNoise], plane: usize) -> Vec<f32> {
    for region in regions {
        for (c, &v) in region.z.iter().enumerate() {
            let channel = &mut map[c * plane..(c + 1) * plane];
            for (value, _) in channel.iter_mut().zip(&region.inside).filter(|(_, &i)| i) {
                *value = v;
            }
        }
    }
    map
}

/// What a request without style gets from a model with `card`: its first
/// preset (the model's own look), seed 0 without presets, and nothing for a
/// model without z.
pub fn default_style(card: &ModelCard) -> Option<StyleSpec> {
    card.z_dim?;
    Some(match card.styles.first() {
        Some(preset) => StyleSpec::Preset {
            name: preset.name.clone(),
            sample: None,
        },
        None => StyleSpec::Seed(0),
    })
}

/// What `style` gives a model with `card`, for a label map sent at `from`
/// (width, height) and made at `to`, and what made it as the recipe names
/// it: `preset:NAME`, `seed:N`, `preset:NAME+seed:N`, `z:DIGEST` (a z vector
/// or map), `image:DIGEST` (a style image; `+seed:N` when sampled around
/// it), `none` for models without z; then `;regions:N` when `regions`
/// regions take their own z. A digest is the first hex digits of the
/// SHA-256 of the image's bytes, or of the z values as little-endian
/// float32. A request's default style is named by what it resolves to
/// (`default_style`).
pub(super) fn resolve_style(
    card: &ModelCard,
    style: &StyleSpec,
    regions: usize,
    from: (usize, usize),
    to: (usize, usize),
) -> Result<(StyleInput, String), SynthesisError> {
    let (input, made) = style_input(card, style, from, to)?;
    Ok(match regions {
        0 => (input, made),
        n => (input, format!("{made};regions:{n}")),
    })
}

fn style_input(
    card: &ModelCard,
    style: &StyleSpec,
    from: (usize, usize),
    to: (usize, usize),
) -> Result<(StyleInput, String), SynthesisError> {
    let z_dim = card.z_dim;
    let with_seed = |made: String, sample: &Option<u64>| match sample {
        Some(seed) => format!("{made}+seed:{seed}"),
        None => made,
    };
    match style {
        // An unreadable file is a malformed request whatever the model, so
        // it is read before the model is asked whether it takes one.
        StyleSpec::Image { image, sample } => {
            let rgb = image::load_from_memory(image)
                .map_err(|e| SynthesisError::StyleImage(e.to_string()))?
                .to_rgb8();
            match (z_dim, card.has_encoder) {
                (None, _) => Err(SynthesisError::NoStyle(card.name.clone())),
                (Some(_), false) => Err(SynthesisError::NoEncoder(card.name.clone())),
                (Some(_), true) => Ok((
                    StyleInput::from_image(&rgb, *sample),
                    with_seed(
                        format!("image:{}", short_digest(&sha256_hex(image))),
                        sample,
                    ),
                )),
            }
        }
        StyleSpec::Default => match default_style(card) {
            Some(spec) => style_input(card, &spec, from, to),
            None => Ok((StyleInput::None, "none".into())),
        },
        _ if z_dim.is_none() => Err(SynthesisError::NoStyle(card.name.clone())),
        StyleSpec::Seed(seed) => Ok((StyleInput::Seed(*seed), format!("seed:{seed}"))),
        StyleSpec::Preset { name, sample } => {
            let preset = card
                .style_preset(name)
                .ok_or_else(|| SynthesisError::NoPreset {
                    model: card.name.clone(),
                    preset: name.clone(),
                    presets: card.styles.iter().map(|p| p.name.clone()).collect(),
                })?;
            let z = match sample {
                None => preset.z.clone(),
                Some(seed) => {
                    let eps = normal_samples(*seed, preset.z.len());
                    let spread = |i: usize| {
                        preset
                            .spread
                            .as_ref()
                            .map_or(DEFAULT_PRESET_SPREAD, |s| s[i])
                    };
                    (0..preset.z.len())
                        .map(|i| preset.z[i] + spread(i) * eps[i])
                        .collect()
                }
            };
            Ok((
                StyleInput::Vector(z),
                with_seed(format!("preset:{name}"), sample),
            ))
        }
        StyleSpec::Vector(z) if Some(z.0.len()) != z_dim => Err(SynthesisError::StyleLength {
            model: card.name.clone(),
            given: z.0.len(),
            z_dim: z_dim.unwrap_or(0),
        }),
        StyleSpec::Vector(z) => Ok((StyleInput::Vector(z.0.clone()), z_recipe(z))),
        StyleSpec::Map(map) => Ok((
            StyleInput::Map(z_map(card, map, from, to)?),
            z_recipe(&map.values),
        )),
    }
}

/// The z vector for `style`, on the model's thread (it may run the encoder).
pub(super) fn style_vector(
    session: &mut ModelSession,
    style: &StyleInput,
) -> Result<Option<Vec<f32>>, SynthesisError> {
    let card = &session.package.card;
    let Some(z_dim) = card.z_dim else {
        return Ok(None);
    };
    match style {
        // prepare() gives models with z a style; seed 0 is its default.
        StyleInput::None => Ok(Some(normal_samples(0, z_dim))),
        StyleInput::Seed(seed) => Ok(Some(normal_samples(*seed, z_dim))),
        StyleInput::Vector(z) | StyleInput::Map(z) => Ok(Some(z.clone())),
        StyleInput::Encode {
            pixels,
            height,
            width,
            sample,
        } => {
            let name = card.name.clone();
            let (mu, logvar) = session
                .encode([1, 3, *height, *width], pixels)?
                .ok_or(SynthesisError::NoEncoder(name))?;
            Ok(Some(match sample {
                None => mu.data,
                Some(seed) => {
                    let eps = normal_samples(*seed, z_dim);
                    (0..z_dim)
                        .map(|i| mu.data[i] + (0.5 * logvar.data[i]).exp() * eps[i])
                        .collect()
                }
            }))
        }
    }
}

/// RGB bytes (HWC) to the reference's input scaling: CHW in [-1, 1].
pub fn rgb_to_chw(rgb: &[u8], height: usize, width: usize) -> Vec<f32> {
    let mut out = vec![0f32; 3 * height * width];
    for (i, px) in rgb.chunks_exact(3).enumerate() {
        for c in 0..3 {
            out[c * height * width + i] = px[c] as f32 / 255.0 * 2.0 - 1.0;
        }
    }
    out
}

fn z_recipe(z: &ZVector) -> String {
    let bytes: Vec<u8> = z.0.iter().flat_map(|v| v.to_le_bytes()).collect();
    format!("z:{}", short_digest(&sha256_hex(&bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::StylePreset;

    fn card(z_dim: Option<usize>, presets: &[&str]) -> ModelCard {
        let json = include_str!("../../tests/fixtures/fake_card.json");
        let mut card: ModelCard = serde_json::from_str(json).unwrap();
        card.z_dim = z_dim;
        card.styles = presets
            .iter()
            .map(|name| StylePreset {
                name: name.to_string(),
                description: None,
                z: vec![0.0; z_dim.unwrap_or(0)],
                spread: None,
                thumbnail: None,
            })
            .collect();
        card
    }

    /// The recipe `prepare` gets for `style` on a 64×64 map.
    fn style_recipe(card: &ModelCard, style: &StyleSpec, regions: usize) -> String {
        resolve_style(card, style, regions, (64, 64), (64, 64))
            .unwrap()
            .1
    }

    fn png_bytes() -> bytes::Bytes {
        let mut out = std::io::Cursor::new(Vec::new());
        image::RgbImage::new(4, 4)
            .write_to(&mut out, image::ImageFormat::Png)
            .unwrap();
        out.into_inner().into()
    }

    #[test]
    fn the_style_recipe_names_what_made_the_style() {
        let presets = card(Some(4), &["noon", "dusk"]);
        let recipe = |style: StyleSpec| style_recipe(&presets, &style, 0);
        assert_eq!(recipe(StyleSpec::Default), "preset:noon");
        assert_eq!(recipe(StyleSpec::Seed(7)), "seed:7");
        let dusk = |sample| StyleSpec::Preset {
            name: "dusk".into(),
            sample,
        };
        assert_eq!(recipe(dusk(None)), "preset:dusk");
        assert_eq!(recipe(dusk(Some(3))), "preset:dusk+seed:3");
        assert_eq!(
            style_recipe(&presets, &dusk(None), 2),
            "preset:dusk;regions:2"
        );
        assert_eq!(
            style_recipe(&card(Some(4), &[]), &StyleSpec::Default, 0),
            "seed:0"
        );
        assert_eq!(
            style_recipe(&card(None, &[]), &StyleSpec::Default, 0),
            "none"
        );
    }

    #[test]
    fn style_images_and_z_are_named_by_a_short_digest_of_their_bytes() {
        let mut presets = card(Some(2), &[]);
        presets.has_encoder = true;
        let photo = png_bytes();
        let image = StyleSpec::Image {
            image: photo.clone(),
            sample: Some(5),
        };
        let expected = format!("image:{}+seed:5", &sha256_hex(&photo)[..12]);
        assert_eq!(style_recipe(&presets, &image, 0), expected);
        let z = |values: Vec<f32>| style_recipe(&presets, &StyleSpec::Vector(ZVector(values)), 0);
        let one = z(vec![0.5, -1.0]);
        assert!(one.starts_with("z:") && one.len() == 2 + 12, "{one}");
        assert_eq!(one, z(vec![0.5, -1.0]));
        assert_ne!(one, z(vec![0.5, 1.0]));
    }
}
