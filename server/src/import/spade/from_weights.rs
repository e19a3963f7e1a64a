//! Which SPADE or CLADE generator a checkpoint holds, and its style encoder:
//! read from the weights' names and shapes, checked against opt.txt and the
//! importer's flags. Everything that the weights show is taken from them;
//! the rest must come from opt.txt or a flag, and a contradiction is refused
//! with both values and the fix (`oasis` shares these checks).

use std::fmt;

use super::arch::{
    ArchError, ArchFlags, EncoderNorm, EncoderSpec, GeneratorNorm, GeneratorSpec, Layout,
    Modulation, ParamFreeNorm, Upsampling,
};
use super::opt::TrainOptions;
use super::weights::Weights;

/// Python's round(): half to even, as the reference's `round(sw / aspect_ratio)`.
pub(super) fn round_half_even(x: f64) -> usize {
    let r = x.round();
    let v = if (x - x.trunc()).abs() == 0.5 && r % 2.0 != 0.0 {
        r - x.signum()
    } else {
        r
    };
    v.max(0.0) as usize
}

/// The reference's latent size: sw = crop // 2^k, sh = round(sw / aspect).
fn latent_size(crop: usize, aspect: f64, up: Upsampling) -> (usize, usize) {
    let sw = crop >> up.steps();
    (round_half_even(sw as f64 / aspect), sw)
}

pub(super) fn mismatch(
    what: &str,
    opt_value: impl fmt::Display,
    weights_value: impl fmt::Display,
    fix: &str,
) -> ArchError {
    ArchError::Contradiction(format!(
        "opt.txt says {what} {opt_value}, but the weights have {weights_value}; {fix}"
    ))
}

pub fn generator_spec(
    w: &Weights,
    opt: Option<&TrainOptions>,
    flags: &ArchFlags,
) -> Result<GeneratorSpec, ArchError> {
    let opt_str = |key: &str| opt.and_then(|o| o.get(key));
    let clade = w.has("head_0.norm_0.class_specified_affine.weight");
    let modulation = if clade {
        Modulation::Clade
    } else {
        Modulation::Spade
    };
    match opt_str("norm_mode") {
        Some("clade") if !clade => {
            return Err(mismatch(
                "norm_mode",
                "clade",
                "SPADE normalisation layers (mlp_shared, mlp_gamma, mlp_beta)",
                "correct norm_mode in opt.txt",
            ))
        }
        Some(mode) if mode != "clade" && clade => {
            return Err(mismatch(
                "norm_mode",
                mode,
                "CLADE normalisation layers (class_specified_affine)",
                "correct norm_mode in opt.txt (clade)",
            ))
        }
        _ => {}
    }
    let positional_encoding = w.has("head_0.norm_0.class_specified_affine.dist_conv_w.weight");
    if let Some(add_dist) = opt.map(|o| o.bool("add_dist")).transpose()?.flatten() {
        if add_dist != positional_encoding {
            let has = if positional_encoding {
                "positional-encoding convolutions (dist_conv_w, dist_conv_b: CLADE-ICPE)"
            } else {
                "no positional-encoding convolutions"
            };
            return Err(mismatch(
                "add_dist",
                add_dist,
                has,
                "correct add_dist in opt.txt",
            ));
        }
    }
    let (spade_hidden, semantic_nc, kernel) = if clade {
        let table = w.shape("head_0.norm_0.class_specified_affine.weight")?;
        let instance = w.has("head_0.norm_0.inst_conv.weight") as usize;
        // CLADE layers have no kernel; norm_G's "3x3" is kept as written.
        let kernel = match opt_str("norm_G").map(str::parse::<GeneratorNorm>) {
            Some(Ok(n)) => n.kernel,
            _ => 3,
        };
        (0, table[0] + instance, kernel)
    } else {
        let shared = w.shape("head_0.norm_0.mlp_shared.0.weight")?;
        if shared.len() != 4 {
            return Err(ArchError::Weights(format!(
                "head_0.norm_0.mlp_shared.0.weight has shape {shared:?}; a SPADE generator has a 4-d convolution there"
            )));
        }
        (shared[0], shared[1], shared[2])
    };
    let spectral = w.has("head_0.conv_0.weight_orig");
    let running = w.has("head_0.norm_0.param_free_norm.running_mean");
    let head = w.conv_shape("head_0.conv_0")?;
    if head[0] % 16 != 0 {
        return Err(ArchError::Weights(format!(
            "head_0.conv_0 has {} output channels; a SPADE generator has 16 × ngf there",
            head[0]
        )));
    }
    let ngf = head[0] / 16;
    let fc = w.conv_shape("fc")?;
    let z_dim = (fc.len() == 2).then_some(fc[1]);
    let has_up4 = w.has_prefix("up_4.");

    let opt_bool = |key: &str| opt.map(|o| o.bool(key)).transpose().map(Option::flatten);
    let opt_usize = |key: &str| opt.map(|o| o.usize(key)).transpose().map(Option::flatten);

    // Normalisation: the weights show spectral norm, running statistics and the kernel.
    let norm = match opt_str("norm_G") {
        Some(text) => {
            let n: GeneratorNorm = text.parse()?;
            if n.spectral != spectral {
                let has = if spectral {
                    "spectral norm (weight_orig, weight_u, weight_v)"
                } else {
                    "no spectral norm (plain weight)"
                };
                return Err(mismatch(
                    "norm_G",
                    text,
                    has,
                    "correct norm_G in opt.txt to match how the model was trained",
                ));
            }
            if n.param_free.uses_running_stats() != running {
                let has = if running {
                    "batch-norm running statistics"
                } else {
                    "no running statistics (instance norm)"
                };
                return Err(mismatch("norm_G", text, has, "correct norm_G in opt.txt"));
            }
            if n.kernel != kernel {
                return Err(mismatch(
                    "norm_G",
                    text,
                    format!("{kernel}x{kernel} SPADE kernels"),
                    "correct norm_G in opt.txt",
                ));
            }
            n
        }
        None => GeneratorNorm {
            spectral,
            param_free: if running {
                ParamFreeNorm::Batch
            } else {
                ParamFreeNorm::Instance
            },
            kernel,
        },
    };
    if let Some(opt_ngf) = opt_usize("ngf")? {
        if opt_ngf != ngf {
            return Err(mismatch(
                "ngf",
                opt_ngf,
                format!("ngf {ngf} (head_0 has {} channels)", 16 * ngf),
                "correct ngf in opt.txt",
            ));
        }
    }
    if let Some(vae) = opt_bool("use_vae")? {
        if vae != z_dim.is_some() {
            let has = if vae {
                "a convolutional fc (no VAE)"
            } else {
                "a linear fc from z (VAE)"
            };
            return Err(mismatch("use_vae", vae, has, "correct use_vae in opt.txt"));
        }
    }
    if let (Some(z), Some(opt_z)) = (z_dim, opt_usize("z_dim")?) {
        if z != opt_z {
            return Err(mismatch(
                "z_dim",
                opt_z,
                format!("z_dim {z}"),
                "correct z_dim in opt.txt",
            ));
        }
    }

    // Upsampling: `most` shows as an extra block; normal and more look the same.
    let opt_up = opt_str("num_upsampling_layers")
        .map(str::parse::<Upsampling>)
        .transpose()?;
    let upsampling = match flags.num_upsampling_layers.or(opt_up) {
        Some(up) if (up == Upsampling::Most) != has_up4 => {
            let has = if has_up4 { "an up_4 block (`most`)" } else { "no up_4 block (normal or more)" };
            return Err(mismatch("num_upsampling_layers", up, has, "correct num_upsampling_layers (or --num-upsampling-layers)"));
        }
        Some(up) => up,
        None if has_up4 => Upsampling::Most,
        None => {
            return Err(ArchError::Ambiguous(
                "num_upsampling_layers is not known: `normal` and `more` cannot be told apart from the weights \
                 (they differ only in where the network upsamples). Pass --num-upsampling-layers normal|more, \
                 or keep the opt.txt that training wrote next to the checkpoint"
                    .into(),
            ))
        }
    };

    let (label_nc, dontcare, instance) = semantic_split(semantic_nc, opt, flags)?;

    let crop = flags.crop_size.or(opt_usize("crop_size")?);
    let aspect = match flags.aspect_ratio {
        Some(a) => Some(a),
        None => opt.map(|o| o.f64("aspect_ratio")).transpose()?.flatten(),
    };
    if let Some(a) = aspect {
        if !(a.is_finite() && a > 0.0) {
            return Err(ArchError::Contradiction(format!(
                "aspect_ratio {a} must be a positive number"
            )));
        }
    }
    let latent = match (z_dim, crop) {
        (_, Some(crop)) => latent_size(crop, aspect.unwrap_or(1.0), upsampling),
        (None, None) => latent_size(256, aspect.unwrap_or(1.0), upsampling),
        (Some(_), None) => {
            return Err(ArchError::Ambiguous(
                "this VAE generator's image size is not known: its fc layer fixes the latent area but not its \
                 height and width. Pass --crop-size and --aspect-ratio as used in training, or keep opt.txt"
                    .into(),
            ))
        }
    };
    if latent.0 == 0 || latent.1 == 0 {
        return Err(ArchError::Contradiction(format!(
            "crop_size {} is too small for {upsampling} upsampling ({} steps): the latent map would be empty",
            crop.unwrap_or(256),
            upsampling.steps()
        )));
    }
    if let Some(z) = z_dim {
        let expected = 16 * ngf * latent.0 * latent.1;
        if fc[0] != expected {
            return Err(ArchError::Contradiction(format!(
                "the VAE fc layer maps z ({z}) to {} values, but crop_size {} with aspect_ratio {} and {upsampling} upsampling \
                 give a {}×{} latent map of 16·ngf = {} channels ({expected} values); correct crop_size / aspect_ratio / num_upsampling_layers",
                fc[0],
                crop.unwrap_or(0),
                aspect.unwrap_or(1.0),
                latent.0,
                latent.1,
                16 * ngf
            )));
        }
    }

    Ok(GeneratorSpec {
        layout: Layout::Spade,
        noise_dim: 0,
        label_nc,
        dontcare,
        instance,
        ngf,
        modulation,
        positional_encoding,
        spade_hidden,
        norm,
        upsampling,
        z_dim,
        latent,
    })
}

/// Splits the weights' semantic channels into classes + dontcare + instance edge.
pub(super) fn semantic_split(
    semantic_nc: usize,
    opt: Option<&TrainOptions>,
    flags: &ArchFlags,
) -> Result<(usize, bool, bool), ArchError> {
    let opt_label_nc = opt.map(|o| o.usize("label_nc")).transpose()?.flatten();
    let opt_dontcare = opt
        .map(|o| o.bool("contain_dontcare_label"))
        .transpose()?
        .flatten();
    let opt_no_instance = opt.map(|o| o.bool("no_instance")).transpose()?.flatten();
    let label_nc = flags.label_nc.or(opt_label_nc);
    let dontcare = flags.contain_dontcare_label.or(opt_dontcare);
    let instance = flags.no_instance.or(opt_no_instance).map(|n| !n);

    let label_nc = match label_nc {
        Some(n) => n,
        None => match (flags.class_table_len, dontcare, instance) {
            (_, Some(d), Some(i)) if semantic_nc > d as usize + i as usize => semantic_nc - d as usize - i as usize,
            (Some(n), _, _) => n,
            _ => {
                return Err(ArchError::Ambiguous(format!(
                    "the weights have {semantic_nc} semantic input channels, but how many are classes is not known \
                     (channels = label_nc + 1 if dontcare + 1 if instance edges). Pass --label-nc N, or --classes TABLE, \
                     or keep the opt.txt that training wrote"
                )))
            }
        },
    };
    let extra = semantic_nc as i64 - label_nc as i64;
    let from_flags = |d: bool, i: bool| (label_nc, d, i);
    let total = |d: bool, i: bool| label_nc + d as usize + i as usize;
    match (dontcare, instance) {
        (Some(d), Some(i)) if total(d, i) == semantic_nc => Ok(from_flags(d, i)),
        (Some(d), Some(i)) => {
            let hint = match extra {
                0 => "--contain-dontcare-label false --no-instance true".to_string(),
                1 if !d && i => "the weights have one channel fewer: if the model has a dontcare class but no instance edges, pass --contain-dontcare-label true --no-instance true".to_string(),
                1 if d && !i => "pass --no-instance false if the model was trained with instance maps, or --contain-dontcare-label false --no-instance false".to_string(),
                1 => "pass --contain-dontcare-label true or --no-instance false, whichever matches training".to_string(),
                2 => "pass --contain-dontcare-label true --no-instance false".to_string(),
                _ => format!("label_nc must be {} to {semantic_nc}; check --label-nc", semantic_nc.saturating_sub(2)),
            };
            Err(ArchError::Contradiction(format!(
                "the weights have {semantic_nc} semantic channels, but the options give {}: label_nc {label_nc} + {} dontcare + {} instance; {hint}",
                total(d, i),
                d as u8,
                i as u8
            )))
        }
        (d, i) => {
            // Infer what is unknown from the channel count; refuse if more than one split fits.
            let candidates: Vec<(bool, bool)> =
                [(false, false), (true, false), (false, true), (true, true)]
                    .into_iter()
                    .filter(|&(cd, ci)| {
                        d.is_none_or(|d| d == cd)
                            && i.is_none_or(|i| i == ci)
                            && total(cd, ci) == semantic_nc
                    })
                    .collect();
            match candidates.as_slice() {
                [(cd, ci)] => Ok(from_flags(*cd, *ci)),
                [] => Err(ArchError::Contradiction(format!(
                    "the weights have {semantic_nc} semantic channels, which label_nc {label_nc} cannot explain \
                     (at most label_nc + 1 dontcare + 1 instance = {}); check --label-nc / --classes",
                    label_nc + 2
                ))),
                _ => Err(ArchError::Ambiguous(format!(
                    "the weights have {semantic_nc} semantic channels = label_nc {label_nc} + 1, which is either a dontcare \
                     class or the instance edge channel; pass --contain-dontcare-label true --no-instance true, or \
                     --contain-dontcare-label false --no-instance false"
                ))),
            }
        }
    }
}

pub fn encoder_spec(w: &Weights, opt: Option<&TrainOptions>) -> Result<EncoderSpec, ArchError> {
    let layers = (1..=6)
        .take_while(|i| w.has_prefix(&format!("layer{i}.")))
        .count();
    if layers != 6 {
        return Err(ArchError::Weights(format!(
            "the encoder has {layers} conv layers (layer1..); the reference's ConvEncoder works only with 6 \
             (crop_size >= 256): with 5 its fc layer does not fit the 8×8 feature map, and the reference fails too"
        )));
    }
    let first = w.conv_shape("layer1.0")?;
    let ndf = first[0];
    let spectral = w.has("layer1.0.weight_orig");
    let running = w.has("layer1.1.running_mean");
    let has_bias = w.has("layer1.0.bias");
    let seen = EncoderNorm {
        spectral,
        norm: if running {
            Some(ParamFreeNorm::Batch)
        } else if has_bias {
            None
        } else {
            Some(ParamFreeNorm::Instance)
        },
    };
    let norm = match opt.and_then(|o| o.get("norm_E")) {
        Some(text) => {
            let n: EncoderNorm = text.parse()?;
            let same_norm = n.norm.map(ParamFreeNorm::uses_running_stats)
                == seen.norm.map(ParamFreeNorm::uses_running_stats);
            if n.spectral != seen.spectral || !same_norm {
                return Err(mismatch(
                    "norm_E",
                    text,
                    format!("an encoder normalised as {seen}"),
                    "correct norm_E in opt.txt",
                ));
            }
            n
        }
        None => seen,
    };
    let mu = w.conv_shape("fc_mu")?;
    Ok(EncoderSpec {
        ndf,
        layers,
        norm,
        z_dim: mu[0],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latent_size_rounds_half_to_even_like_python() {
        assert_eq!(latent_size(256, 2.0, Upsampling::More), (2, 4));
        assert_eq!(latent_size(256, 1.0, Upsampling::Normal), (8, 8));
        assert_eq!(round_half_even(2.5), 2);
        assert_eq!(round_half_even(3.5), 4);
    }
}
