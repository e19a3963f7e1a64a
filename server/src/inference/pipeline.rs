//! The steps from a synthesis request to an image. Every caller (the HTTP
//! handlers, batch runs of `easel test` and `/api/v1/batches`, `easel
//! generate`) states what it wants as a [`SynthesisRequest`] and hands it to
//! the `Synthesizer`, which takes these steps in order: [`prepare`] checks it
//! against a model card and turns it into [`Work`] for the model (sizes,
//! instance maps, dontcare, edges and style are decided here, once, with one
//! set of messages); [`generate_batch`] runs works of one size in one
//! generator call, on the model's thread; [`render`] turns the output into
//! the image the caller asked for.

pub use super::error::SynthesisError;
pub use super::request::*;
use super::style::{noise_map, noise_map_over, region_z, resolve_style, style_vector};
pub use super::style::{rgb_to_chw, RegionNoise, StyleInput};
use crate::inference::runtime::{GeneratorInput, ModelSession, Output};
use crate::package::maps::{nearest, InstanceMap, LabelMap, MapError, RegionMask};
use crate::package::ModelCard;

/// What the model thread runs for one image: a validated map at a size the
/// model takes, its instance edges, and its style.
#[derive(Debug, Clone, PartialEq)]
pub struct Work {
    pub label: LabelMap,
    /// 0/1 per pixel, for models that use instance edges.
    pub edges: Option<Vec<u8>>,
    /// CLADE-ICPE's positional encoding, (2, H, W), for models that take it.
    pub position: Option<Vec<f32>>,
    pub style: StyleInput,
    /// Regions with their own z, in order, for models that take z per pixel.
    pub regions: Vec<RegionNoise>,
}

impl Work {
    pub fn size(&self) -> (usize, usize) {
        (self.label.width(), self.label.height())
    }
}

/// What `render` needs to finish the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finish {
    /// The label map's size as sent.
    pub source: (usize, usize),
    /// Scale the image to this (width, height), when it differs from the
    /// size it was made at.
    pub resize_to: Option<(usize, usize)>,
}

/// A request checked against a model: the work and how to finish it.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub work: Work,
    pub finish: Finish,
    /// The arithmetic the model runs it in.
    pub compute: Compute,
    /// What made the style, as the recipe names it (`seed:3`,
    /// `preset:noon+seed:2`, `image:1a2b3c4d`…; `;regions:N` with re-rolled
    /// regions).
    pub style: String,
}

/// The label map of a request, decoded and validated against `card`.
pub fn decode_label(
    card: &ModelCard,
    request: &SynthesisRequest,
    limits: Limits,
) -> Result<LabelMap, SynthesisError> {
    Ok(LabelMap::decode(
        &request.label,
        card,
        request.encoding,
        limits.max_pixels,
    )?)
}

/// The map (and instance map) at the size `mode` asks for, resized by
/// nearest neighbour where needed, as the reference's loader resizes both.
pub fn sized(
    card: &ModelCard,
    label: LabelMap,
    instance: Option<InstanceMap>,
    mode: SizeMode,
) -> Result<(LabelMap, Option<InstanceMap>, Finish), SynthesisError> {
    if let Some(inst) = &instance {
        inst.check_size(&label)?;
    }
    let source = (label.width(), label.height());
    let native = (card.native.width, card.native.height);
    let fits = card.size_problem(source.1, source.0).is_none();
    let target = match mode {
        SizeMode::Native => native,
        SizeMode::Input | SizeMode::Fit if fits => source,
        SizeMode::Input | SizeMode::Fit => native,
    };
    let resize_to = (mode == SizeMode::Input && target != source).then_some(source);
    let finish = Finish { source, resize_to };
    if target == source {
        return Ok((label, instance, finish));
    }
    let label = label.resized(target.0, target.1);
    let instance = instance.map(|i| i.resized(target.0, target.1));
    Ok((label, instance, finish))
}

/// Checks `request` against `card` and turns it into work for the model.
/// Decoding images is the expensive part: run it off async executors.
pub fn prepare(
    card: &ModelCard,
    request: &SynthesisRequest,
    limits: Limits,
    available: Compute,
) -> Result<Prepared, SynthesisError> {
    let compute = check_compute(card, request.compute, available)?;
    if !request.noise.regions.is_empty() && !card.z_per_pixel {
        return Err(SynthesisError::NoPixelNoise(card.name.clone()));
    }
    let label = decode_label(card, request, limits)?;
    let masks = request
        .noise
        .regions
        .iter()
        .map(|r| RegionMask::from_png(&r.mask, limits.max_pixels))
        .collect::<Result<Vec<_>, _>>()?;
    let instance = request
        .instance
        .as_ref()
        .map(|b| InstanceMap::from_png(b, limits.max_pixels))
        .transpose()?;
    // As the reference: computed on the map as given, then resized with it.
    let position = card
        .uses_positional_encoding
        .then(|| label.positional_encoding());
    let from = (label.width(), label.height());
    let (label, instance, finish) = sized(card, label, instance, request.size)?;
    let to = (label.width(), label.height());
    let position = position.map(|planes| {
        if from == to {
            return planes;
        }
        planes
            .chunks_exact(from.0 * from.1)
            .flat_map(|plane| nearest(plane, from, to))
            .collect()
    });
    if let Some(problem) = card.size_problem(label.height(), label.width()) {
        return Err(MapError::WrongSize(problem).into());
    }
    let edges = match (card.uses_instances, &instance, request.edges) {
        (false, _, _) => None,
        (true, Some(inst), _) => Some(inst.edges(&label)?),
        (true, None, EdgesMode::Classes) => Some(label.class_edges()),
        (true, None, EdgesMode::None) => Some(vec![0; label.width() * label.height()]),
    };
    let (style, style_recipe) =
        resolve_style(card, &request.style, request.noise.regions.len(), from, to)?;
    let regions = masks
        .iter()
        .zip(&request.noise.regions)
        .enumerate()
        .map(|(index, (mask, region))| {
            Ok(RegionNoise {
                inside: mask.fitted(from, to)?,
                z: region_z(card, index, &region.z)?,
            })
        })
        .collect::<Result<_, SynthesisError>>()?;
    Ok(Prepared {
        work: Work {
            label,
            edges,
            position,
            style,
            regions,
        },
        finish,
        compute,
        style: style_recipe,
    })
}

/// The arithmetic a request runs in: the one its model runs in
/// (`available`, from `--compute`); a request for other arithmetic is
/// refused rather than answered in the wrong one.
fn check_compute(
    card: &ModelCard,
    asked: Compute,
    available: Compute,
) -> Result<Compute, SynthesisError> {
    match asked {
        Compute::Auto => Ok(available),
        c if c == available => Ok(available),
        asked => Err(SynthesisError::Compute {
            model: card.name.clone(),
            asked,
            available,
        }),
    }
}

/// The image of a (1, 3, H, W) output in [-1, 1], finished as `finish` says.
pub fn render(output: &Output, finish: &Finish) -> Result<image::RgbImage, SynthesisError> {
    let [1, 3, h, w] = output.shape[..] else {
        return Err(SynthesisError::BadOutput(format!(
            "an output of shape {:?}, not (1, 3, H, W)",
            output.shape
        )));
    };
    let plane = h * w;
    let mut rgb = vec![0u8; 3 * plane];
    for i in 0..plane {
        for c in 0..3 {
            let v = (output.data[c * plane + i] + 1.0) * 127.5;
            rgb[3 * i + c] = v.round().clamp(0.0, 255.0) as u8;
        }
    }
    let image = image::RgbImage::from_raw(w as u32, h as u32, rgb)
        .ok_or_else(|| SynthesisError::BadOutput("an image buffer of the wrong size".into()))?;
    Ok(match finish.resize_to {
        Some((w, h)) => image::imageops::resize(
            &image,
            w as u32,
            h as u32,
            image::imageops::FilterType::Triangle,
        ),
        None => image,
    })
}

/// Images for `works`, which all have one size, in one generator call;
/// (1, 3, H, W) each, in order.
pub fn generate_batch(
    session: &mut ModelSession,
    works: &[Work],
) -> Result<Vec<Output>, SynthesisError> {
    let Some(first) = works.first() else {
        return Ok(Vec::new());
    };
    let (w, h) = first.size();
    let mut labels = Vec::with_capacity(works.len() * h * w);
    let mut edges = Vec::new();
    let mut position = Vec::new();
    let mut z = Vec::new();
    for work in works {
        labels.extend(work.label.labels().iter().map(|&v| v as i64));
        if let Some(e) = &work.edges {
            edges.extend(e.iter().map(|&v| v as i64));
        }
        if let Some(p) = &work.position {
            position.extend_from_slice(p);
        }
        if let Some(v) = style_vector(session, &work.style)? {
            if let StyleInput::Map(_) = work.style {
                z.extend(noise_map_over(v, &work.regions, h * w));
            } else if session.package.card.z_per_pixel {
                z.extend(noise_map(&v, &work.regions, h * w));
            } else {
                z.extend(v);
            }
        }
    }
    let card = &session.package.card;
    let input = GeneratorInput {
        batch: works.len(),
        height: h,
        width: w,
        labels: &labels,
        edges: card.uses_instances.then_some(edges.as_slice()),
        position: card.uses_positional_encoding.then_some(position.as_slice()),
        z: card
            .z_dim
            .filter(|_| !card.z_per_pixel)
            .map(|_| z.as_slice()),
        noise: card.z_per_pixel.then_some(z.as_slice()),
    };
    let out = session.generate(&input)?;
    if out.data.len() != works.len() * 3 * h * w {
        return Err(SynthesisError::BadOutput(format!(
            "{} values for {} images of {w}×{h}",
            out.data.len(),
            works.len()
        )));
    }
    Ok(out
        .data
        .chunks_exact(3 * h * w)
        .map(|c| Output {
            shape: vec![1, 3, h, w],
            data: c.to_vec(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::normal_samples;
    use bytes::Bytes;

    fn card(edit: impl FnOnce(&mut serde_json::Value)) -> ModelCard {
        let mut json: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/fixtures/fake_card.json")).unwrap();
        edit(&mut json);
        serde_json::from_value(json).unwrap()
    }

    fn png(width: u32, height: u32, value: impl Fn(u32, u32) -> u16) -> Bytes {
        let img =
            image::ImageBuffer::<image::Luma<u16>, Vec<u16>>::from_fn(width, height, |x, y| {
                image::Luma([value(x, y)])
            });
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner().into()
    }

    fn request(label: Bytes) -> SynthesisRequest {
        SynthesisRequest {
            label,
            ..SynthesisRequest::default()
        }
    }

    const LIMITS: Limits = Limits {
        max_pixels: 1 << 20,
    };

    #[test]
    fn an_instance_map_is_resized_with_its_label_map_and_its_edges_follow() {
        let card = card(|c| c["uses_instances"] = true.into());
        // 50×40 is not a multiple of 32: made at the native 64×64.
        let mut r = request(png(50, 40, |x, _| (x >= 25) as u16));
        r.instance = Some(png(50, 40, |x, y| (x / 10 + 5 * (y / 20)) as u16));
        let p = prepare(&card, &r, LIMITS, Compute::Fp32).unwrap();
        assert_eq!(p.work.size(), (64, 64));
        assert_eq!(
            p.finish.resize_to,
            Some((50, 40)),
            "scaled back to the map's size"
        );
        let ids: Vec<u64> = (0..40u64)
            .flat_map(|y| (0..50u64).map(move |x| x / 10 + 5 * (y / 20)))
            .collect();
        let instance = InstanceMap::from_ids(50, 40, ids).resized(64, 64);
        let label = p.work.label.clone();
        assert_eq!(p.work.edges, Some(instance.edges(&label).unwrap()));
        assert_ne!(
            p.work.edges,
            Some(label.class_edges()),
            "the instances' edges, not the classes'"
        );
    }

    #[test]
    fn an_instance_map_of_another_size_is_refused_with_both_sizes() {
        let mut r = request(png(64, 64, |_, _| 0));
        r.instance = Some(png(32, 32, |_, _| 1));
        let e = prepare(&card(|_| {}), &r, LIMITS, Compute::Fp32)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("32×32") && e.contains("64×64") && e.contains("same size"),
            "{e}"
        );
    }

    #[test]
    fn size_modes_decide_the_size_made_and_the_size_returned() {
        let card = card(|_| {});
        let mut r = request(png(96, 64, |_, _| 1));
        let p = prepare(&card, &r, LIMITS, Compute::Fp32).unwrap();
        assert_eq!(
            (p.work.size(), p.finish.resize_to),
            ((96, 64), None),
            "input, fits"
        );
        r.size = SizeMode::Native;
        let p = prepare(&card, &r, LIMITS, Compute::Fp32).unwrap();
        assert_eq!(
            (p.work.size(), p.finish.resize_to),
            ((64, 64), None),
            "native"
        );
        r.label = png(50, 40, |_, _| 1);
        r.size = SizeMode::Fit;
        let p = prepare(&card, &r, LIMITS, Compute::Fp32).unwrap();
        assert_eq!((p.work.size(), p.finish.resize_to), ((64, 64), None), "fit");
        assert_eq!(p.finish.source, (50, 40));
    }

    #[test]
    fn edges_between_classes_or_none_for_instance_models_without_instances() {
        let card = card(|c| c["uses_instances"] = true.into());
        let mut r = request(png(64, 64, |x, _| (x >= 32) as u16));
        let p = prepare(&card, &r, LIMITS, Compute::Fp32).unwrap();
        assert_eq!(p.work.edges, Some(p.work.label.class_edges()));
        assert!(p.work.edges.as_ref().unwrap().contains(&1));
        r.edges = EdgesMode::None;
        let p = prepare(&card, &r, LIMITS, Compute::Fp32).unwrap();
        assert_eq!(p.work.edges, Some(vec![0; 64 * 64]));
        let p = prepare(&super::tests::card(|_| {}), &r, LIMITS, Compute::Fp32).unwrap();
        assert_eq!(p.work.edges, None, "models without instances get none");
    }

    #[test]
    fn a_style_is_refused_by_models_without_z_and_checked_for_those_with() {
        let plain = card(|_| {});
        let mut r = request(png(64, 64, |_, _| 0));
        assert_eq!(
            prepare(&plain, &r, LIMITS, Compute::Fp32)
                .unwrap()
                .work
                .style,
            StyleInput::None
        );
        r.style = StyleSpec::Seed(3);
        let e = prepare(&plain, &r, LIMITS, Compute::Fp32)
            .unwrap_err()
            .to_string();
        assert!(e.contains("does not take a style"), "{e}");

        let vae = card(|c| c["z_dim"] = 4.into());
        assert_eq!(
            prepare(&vae, &r, LIMITS, Compute::Fp32).unwrap().work.style,
            StyleInput::Seed(3)
        );
        r.style = StyleSpec::Default;
        assert_eq!(
            prepare(&vae, &r, LIMITS, Compute::Fp32).unwrap().work.style,
            StyleInput::Seed(0)
        );
        r.style = StyleSpec::Image {
            image: png(8, 8, |_, _| 0),
            sample: None,
        };
        let e = prepare(&vae, &r, LIMITS, Compute::Fp32)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no style encoder"), "{e}");
        r.style = StyleSpec::Vector(ZVector(vec![0.5; 3]));
        let e = prepare(&vae, &r, LIMITS, Compute::Fp32)
            .unwrap_err()
            .to_string();
        assert!(e.contains("3 values") && e.contains("z of 4"), "{e}");
        r.style = StyleSpec::Vector(ZVector(vec![0.5; 4]));
        assert_eq!(
            prepare(&vae, &r, LIMITS, Compute::Fp32).unwrap().work.style,
            StyleInput::Vector(vec![0.5; 4])
        );
        r.style = StyleSpec::Preset {
            name: "noon".into(),
            sample: None,
        };
        let e = prepare(&vae, &r, LIMITS, Compute::Fp32)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no style preset `noon`"), "{e}");
    }

    #[test]
    fn arithmetic_and_region_noise_the_model_cannot_give_are_refused() {
        let card = card(|_| {});
        let mut r = request(png(64, 64, |_, _| 0));
        r.compute = Compute::Fp32;
        assert!(prepare(&card, &r, LIMITS, Compute::Fp32).is_ok());
        r.compute = Compute::Bf16;
        let e = prepare(&card, &r, LIMITS, Compute::Fp32)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not bf16"), "{e}");
        r.compute = Compute::Auto;
        let prepared = prepare(&card, &r, LIMITS, Compute::Fp32).unwrap();
        assert_eq!(
            prepared.compute,
            Compute::Fp32,
            "auto is what the model runs in"
        );
        r.noise.regions.push(NoiseRegion {
            mask: png(64, 64, |_, _| 1),
            z: RegionZ::Seed(1),
        });
        let e = prepare(&card, &r, LIMITS, Compute::Fp32)
            .unwrap_err()
            .to_string();
        assert!(e.contains("per-pixel noise"), "{e}");
    }

    #[test]
    fn region_masks_follow_their_map_and_each_pixel_takes_its_regions_z() {
        let card = card(|c| {
            c["z_dim"] = 2.into();
            c["z_per_pixel"] = true.into();
        });
        // 50×40 is made at the native 64×64: the mask is resized with the map.
        let mut r = request(png(50, 40, |_, _| 1));
        r.style = StyleSpec::Vector(ZVector(vec![0.5, -0.5]));
        r.noise.regions = vec![
            NoiseRegion {
                mask: png(50, 40, |x, _| (x < 25) as u16),
                z: RegionZ::Seed(4),
            },
            NoiseRegion {
                mask: png(50, 40, |_, y| (y < 20) as u16),
                z: RegionZ::Vector(ZVector(vec![7.0, 8.0])),
            },
        ];
        let p = prepare(&card, &r, LIMITS, Compute::Fp32).unwrap();
        assert_eq!(p.work.size(), (64, 64));
        let left = &p.work.regions[0];
        assert_eq!(
            left.z,
            normal_samples(4, 2),
            "a seed draws z as a style seed does"
        );
        let expected: Vec<bool> = (0..64 * 64).map(|i| ((i % 64) * 50 / 64) < 25).collect();
        assert_eq!(left.inside, expected);
        let map = noise_map(&[0.5, -0.5], &p.work.regions, 64 * 64);
        let at = |c: usize, x: usize, y: usize| map[c * 64 * 64 + y * 64 + x];
        assert_eq!((at(0, 63, 63), at(1, 63, 63)), (0.5, -0.5), "no region");
        assert_eq!(at(1, 0, 63), normal_samples(4, 2)[1], "the left region");
        assert_eq!(
            (at(0, 0, 0), at(1, 63, 0)),
            (7.0, 8.0),
            "the later region wins"
        );

        r.noise.regions[1].mask = png(32, 32, |_, _| 1);
        let e = prepare(&card, &r, LIMITS, Compute::Fp32)
            .unwrap_err()
            .to_string();
        assert!(e.contains("32×32") && e.contains("50×40"), "{e}");
        r.noise.regions[1].mask = png(50, 40, |_, _| 1);
        r.noise.regions[1].z = RegionZ::Vector(ZVector(vec![1.0; 3]));
        let e = prepare(&card, &r, LIMITS, Compute::Fp32)
            .unwrap_err()
            .to_string();
        assert!(e.contains("region 1") && e.contains("3 values"), "{e}");
    }

    #[test]
    fn a_preset_gives_its_z_and_variations_spread_around_it() {
        let plain = card(|c| c["z_dim"] = 2.into());
        let card = card(|c| {
            c["z_dim"] = 2.into();
            c["styles"] = serde_json::json!([
                {"name": "noon", "z": [1.0, 2.0]},
                {"name": "dawn", "z": [3.0, 4.0], "spread": [0.0, 1.0]},
            ]);
        });
        let mut r = request(png(64, 64, |_, _| 0));
        let mut preset = |name: &str, sample| {
            r.style = StyleSpec::Preset {
                name: name.into(),
                sample,
            };
            prepare(&card, &r, LIMITS, Compute::Fp32).map(|p| p.work.style)
        };
        assert_eq!(
            preset("noon", None).unwrap(),
            StyleInput::Vector(vec![1.0, 2.0])
        );
        let eps = normal_samples(5, 2);
        assert_eq!(
            preset("noon", Some(5)).unwrap(),
            StyleInput::Vector(vec![1.0 + 0.5 * eps[0], 2.0 + 0.5 * eps[1]]),
            "the default spread"
        );
        assert_eq!(
            preset("dawn", Some(5)).unwrap(),
            StyleInput::Vector(vec![3.0, 4.0 + eps[1]]),
            "the preset's own spread"
        );
        let e = preset("dusk", None).unwrap_err().to_string();
        assert!(
            e.contains("no style preset `dusk`") && e.contains("noon, dawn"),
            "{e}"
        );
        r.style = StyleSpec::Default;
        assert_eq!(
            prepare(&card, &r, LIMITS, Compute::Fp32)
                .unwrap()
                .work
                .style,
            StyleInput::Vector(vec![1.0, 2.0]),
            "no style: the first preset"
        );
        assert_eq!(
            prepare(&plain, &r, LIMITS, Compute::Fp32)
                .unwrap()
                .work
                .style,
            StyleInput::Seed(0),
            "no style and no presets: seed 0"
        );
    }

    #[test]
    fn equal_requests_are_equal_keys() {
        use std::collections::HashSet;
        let a = request(png(64, 64, |_, _| 0));
        let mut b = a.clone();
        let keys: HashSet<SynthesisRequest> = [a.clone(), b.clone()].into_iter().collect();
        assert_eq!(keys.len(), 1);
        b.style = StyleSpec::Seed(1);
        assert_ne!(a, b);
    }

    #[test]
    fn pixels_round_trip_through_the_network_range() {
        let rgb = [0u8, 128, 255, 10, 20, 30];
        let out = Output {
            shape: vec![1, 3, 1, 2],
            data: rgb_to_chw(&rgb, 1, 2),
        };
        let finish = Finish {
            source: (2, 1),
            resize_to: None,
        };
        assert_eq!(render(&out, &finish).unwrap().into_raw(), rgb.to_vec());
    }
}
