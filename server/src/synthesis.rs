//! From validated maps and a style to an image: instance edges, the style
//! vector z, the generator call and the conversion of its output to pixels.

use crate::maps::{InstanceMap, LabelMap, MapError};
use crate::package::ModelCard;
use crate::runtime::{GeneratorInput, ModelSession, Output, RuntimeError};

#[derive(Debug, thiserror::Error)]
pub enum SynthesisError {
    #[error(transparent)]
    Map(#[from] MapError),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error("model {0} has no style encoder, so it cannot take a style image; use a seed instead")]
    NoEncoder(String),
    #[error(
        "model {0} does not take a style: it has no z input; leave out the style image and seed"
    )]
    NoStyle(String),
}

/// How to choose the style vector z of models that take one.
#[derive(Debug, Clone)]
pub enum Style {
    /// z drawn from N(0, 1) with this seed.
    Seed(u64),
    /// z = mu of this RGB image (N=1, values in [-1, 1], CHW); with a seed,
    /// z = mu + σ·ε as the reference samples it.
    Image {
        pixels: Vec<f32>,
        height: usize,
        width: usize,
        sample: Option<u64>,
    },
}

impl Style {
    /// The style of an RGB image; with `sample`, z is drawn around its mu.
    pub fn from_image(image: &image::RgbImage, sample: Option<u64>) -> Self {
        let (width, height) = (image.width() as usize, image.height() as usize);
        Style::Image {
            pixels: rgb_to_chw(image.as_raw(), height, width),
            height,
            width,
            sample,
        }
    }
}

/// Standard normal samples from a seed: SplitMix64 and Box–Muller, so that a
/// seed gives the same z on every platform.
pub fn normal_samples(seed: u64, n: usize) -> Vec<f32> {
    let mut state = seed;
    let mut next = || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        // 53 random bits in (0, 1].
        ((z >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    };
    let mut out = Vec::with_capacity(n + 1);
    while out.len() < n {
        let (u1, u2) = (next(), next());
        let r = (-2.0 * u1.ln()).sqrt();
        let t = 2.0 * std::f64::consts::PI * u2;
        out.push((r * t.cos()) as f32);
        out.push((r * t.sin()) as f32);
    }
    out.truncate(n);
    out
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

/// Image `index` of a (N, 3, H, W) output in [-1, 1] as RGB bytes (HWC).
pub fn chw_to_rgb(output: &Output, index: usize) -> Vec<u8> {
    let (h, w) = (output.shape[2], output.shape[3]);
    let plane = h * w;
    let image = &output.data[index * 3 * plane..(index + 1) * 3 * plane];
    let mut rgb = vec![0u8; 3 * plane];
    for i in 0..plane {
        for c in 0..3 {
            let v = (image[c * plane + i] + 1.0) * 127.5;
            rgb[3 * i + c] = v.round().clamp(0.0, 255.0) as u8;
        }
    }
    rgb
}

/// The z vector for `style`, or None for models without z.
pub fn style_vector(
    session: &mut ModelSession,
    style: &Style,
) -> Result<Option<Vec<f32>>, SynthesisError> {
    let card = &session.package.card;
    let Some(z_dim) = card.z_dim else {
        return Ok(None);
    };
    match style {
        Style::Seed(seed) => Ok(Some(normal_samples(*seed, z_dim))),
        Style::Image {
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

/// Checks the size and style against the card before any work is done.
pub fn check_request(
    card: &ModelCard,
    label: &LabelMap,
    style: Option<&Style>,
) -> Result<(), SynthesisError> {
    if let Some(problem) = card.size_problem(label.height(), label.width()) {
        return Err(MapError::WrongSize(problem).into());
    }
    match style {
        Some(_) if card.z_dim.is_none() => Err(SynthesisError::NoStyle(card.name.clone())),
        Some(Style::Image { .. }) if !card.has_encoder => {
            Err(SynthesisError::NoEncoder(card.name.clone()))
        }
        _ => Ok(()),
    }
}

/// One image to make: a validated map, its instance edges and its style.
#[derive(Debug, Clone)]
pub struct Job {
    pub label: LabelMap,
    /// 0/1 per pixel, for models that use instance edges.
    pub edges: Option<Vec<u8>>,
    pub style: Style,
}

/// Images for `jobs`, which all have one size, in one generator call;
/// (1, 3, H, W) each, in order.
pub fn generate_batch(
    session: &mut ModelSession,
    jobs: &[Job],
) -> Result<Vec<Output>, SynthesisError> {
    let Some(first) = jobs.first() else {
        return Ok(Vec::new());
    };
    let (h, w) = (first.label.height(), first.label.width());
    let mut labels = Vec::with_capacity(jobs.len() * h * w);
    let mut edges = Vec::new();
    let mut z = Vec::new();
    for job in jobs {
        labels.extend(job.label.labels().iter().map(|&v| v as i64));
        if let Some(e) = &job.edges {
            edges.extend(e.iter().map(|&v| v as i64));
        }
        if let Some(v) = style_vector(session, &job.style)? {
            z.extend(v);
        }
    }
    let card = &session.package.card;
    let input = GeneratorInput {
        batch: jobs.len(),
        height: h,
        width: w,
        labels: &labels,
        edges: card.uses_instances.then_some(edges.as_slice()),
        z: card.z_dim.map(|_| z.as_slice()),
    };
    let out = session.generate(&input)?;
    Ok(out
        .data
        .chunks_exact(3 * h * w)
        .map(|c| Output {
            shape: vec![1, 3, h, w],
            data: c.to_vec(),
        })
        .collect())
}

/// One image from one map. Without an instance map, models that use instance
/// edges get the edges between classes.
pub fn synthesize(
    session: &mut ModelSession,
    label: &LabelMap,
    instance: Option<&InstanceMap>,
    style: &Style,
) -> Result<Output, SynthesisError> {
    let card = session.package.card.clone();
    check_request(&card, label, card.z_dim.is_some().then_some(style))?;
    let edges = match (card.uses_instances, instance) {
        (false, _) => None,
        (true, Some(inst)) => Some(inst.edges(label)?),
        (true, None) => Some(label.class_edges()),
    };
    let job = Job {
        label: label.clone(),
        edges,
        style: style.clone(),
    };
    let mut images = generate_batch(session, std::slice::from_ref(&job))?;
    images
        .pop()
        .ok_or_else(|| RuntimeError::BadOutput("no image".into()).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_z_is_reproducible_and_roughly_standard_normal() {
        let a = normal_samples(7, 10_000);
        assert_eq!(a, normal_samples(7, 10_000));
        assert_ne!(a, normal_samples(8, 10_000));
        let mean = a.iter().sum::<f32>() / a.len() as f32;
        let var = a.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / a.len() as f32;
        assert!(
            mean.abs() < 0.05 && (var - 1.0).abs() < 0.05,
            "mean {mean} var {var}"
        );
    }

    #[test]
    fn pixels_round_trip_through_the_network_range() {
        let rgb = [0u8, 128, 255, 10, 20, 30];
        let chw = rgb_to_chw(&rgb, 1, 2);
        let out = Output {
            shape: vec![1, 3, 1, 2],
            data: chw,
        };
        assert_eq!(chw_to_rgb(&out, 0), rgb.to_vec());
    }
}
