//! Which OASIS generator a checkpoint holds. OASIS (boschresearch/OASIS) feeds
//! SPADE blocks with noise concatenated before the one-hot map; its opt.txt
//! names neither the classes nor the image size, so the weights give the
//! channels, opt.txt the noise width, and the dataset (or flags) the size.

use super::arch::{
    ArchError, ArchFlags, GeneratorNorm, GeneratorSpec, Layout, Modulation, ParamFreeNorm,
    Upsampling,
};
use super::from_weights::{mismatch, round_half_even, semantic_split};
use super::opt::TrainOptions;
use super::weights::Weights;

/// OASIS's channel multipliers: block i maps CHANNELS[i]·ch to CHANNELS[i+1]·ch.
pub const CHANNELS: [usize; 7] = [16, 16, 16, 8, 4, 2, 1];
/// OASIS's blocks; the image is upsampled after every one but the last.
pub const BLOCKS: usize = 6;
/// The z_dim OASIS trains with when its options do not say.
const DEFAULT_Z_DIM: usize = 64;

/// Whether these weights are an OASIS generator (blocks named body.N).
pub fn is_oasis(w: &Weights) -> bool {
    w.has_prefix("body.0.") && !w.has_prefix("head_0.")
}

/// The crop size and aspect ratio OASIS's dataset classes set, by dataset_mode.
fn dataset_size(mode: &str) -> Option<(usize, f64)> {
    match mode {
        "ade20k" | "coco" => Some((256, 1.0)),
        "cityscapes" => Some((512, 2.0)),
        _ => None,
    }
}

pub fn generator_spec(
    w: &Weights,
    opt: Option<&TrainOptions>,
    flags: &ArchFlags,
    notes: &mut Vec<String>,
) -> Result<GeneratorSpec, ArchError> {
    let opt_bool = |key: &str| opt.map(|o| o.bool(key)).transpose().map(Option::flatten);
    let opt_usize = |key: &str| opt.map(|o| o.usize(key)).transpose().map(Option::flatten);
    for i in 0..BLOCKS {
        if !w.has_prefix(&format!("body.{i}.")) {
            return Err(ArchError::Weights(format!(
                "this OASIS generator has no block body.{i}; easel imports OASIS's six-block generator (num_res_blocks 6)"
            )));
        }
    }
    if w.has_prefix(&format!("body.{BLOCKS}.")) {
        return Err(ArchError::Unsupported(format!(
            "this OASIS generator has more than {BLOCKS} blocks; OASIS's conv_img fits only num_res_blocks 6"
        )));
    }
    if let Some(n) = opt_usize("num_res_blocks")? {
        if n != BLOCKS {
            return Err(mismatch(
                "num_res_blocks",
                n,
                format!("{BLOCKS} blocks"),
                "correct num_res_blocks in opt.txt",
            ));
        }
    }
    let conv_0 = w.conv_shape("body.0.conv_0")?;
    if conv_0[0] % CHANNELS[0] != 0 {
        return Err(ArchError::Weights(format!(
            "body.0.conv_0 has {} output channels; an OASIS generator has 16 × channels_G there",
            conv_0[0]
        )));
    }
    let ch = conv_0[0] / CHANNELS[0];
    for key in ["channels_G", "ngf"] {
        if let Some(v) = opt_usize(key)? {
            if v != ch {
                return Err(mismatch(
                    key,
                    v,
                    format!("{key} {ch} (body.0 has {} channels)", 16 * ch),
                    &format!("correct {key} in opt.txt"),
                ));
            }
        }
    }
    let shared = w.shape("body.0.norm_0.mlp_shared.0.weight")?;
    let [hidden, seg_nc, kernel, _] = shared[..] else {
        return Err(ArchError::Weights(format!(
            "body.0.norm_0.mlp_shared.0.weight has shape {shared:?}; an OASIS generator has a 4-d convolution there"
        )));
    };
    if let Some(ks) = opt_usize("spade_ks")? {
        if ks != kernel {
            return Err(mismatch(
                "spade_ks",
                ks,
                format!("{kernel}×{kernel} SPADE kernels"),
                "correct spade_ks in opt.txt",
            ));
        }
    }

    let noise_dim = noise_dim(opt, seg_nc, notes)?;
    if seg_nc <= noise_dim {
        return Err(ArchError::Contradiction(format!(
            "opt.txt says z_dim {noise_dim}, but the SPADE layers see only {seg_nc} channels (noise + classes); \
             correct z_dim or no_3dnoise in opt.txt"
        )));
    }
    let semantic_nc = seg_nc - noise_dim;
    // easel's trainer records label_nc (and dontcare) as SPADE does; OASIS's
    // own opt.txt does not, and every channel is a class (0 is "unknown").
    let (label_nc, dontcare, instance) =
        if opt.is_some_and(|o| o.get("label_nc").is_some()) || flags.label_nc.is_some() {
            semantic_split(semantic_nc, opt, flags)?
        } else {
            (semantic_nc, false, false)
        };
    if instance {
        return Err(ArchError::Unsupported(
            "this OASIS generator would take instance edges; OASIS has no instance maps, so check --no-instance / no_instance"
                .into(),
        ));
    }

    let spectral = w.has("body.0.conv_0.weight_orig");
    if let Some(no_sn) = opt_bool("no_spectral_norm")? {
        if no_sn == spectral {
            let has = if spectral {
                "spectral norm (weight_orig)"
            } else {
                "no spectral norm"
            };
            return Err(mismatch(
                "no_spectral_norm",
                no_sn,
                has,
                "correct no_spectral_norm in opt.txt",
            ));
        }
    }
    let running = w.has("body.0.norm_0.first_norm.running_mean");
    let param_free = match opt.and_then(|o| o.get("param_free_norm")) {
        Some(text) => {
            let n = match text {
                "instance" => ParamFreeNorm::Instance,
                "batch" => ParamFreeNorm::Batch,
                "syncbatch" => ParamFreeNorm::SyncBatch,
                other => {
                    return Err(ArchError::Contradiction(format!(
                        "opt.txt says param_free_norm {other}; OASIS offers instance, batch and syncbatch"
                    )))
                }
            };
            if n.uses_running_stats() != running {
                let has = if running {
                    "batch-norm running statistics"
                } else {
                    "no running statistics (instance norm)"
                };
                return Err(mismatch(
                    "param_free_norm",
                    text,
                    has,
                    "correct param_free_norm in opt.txt",
                ));
            }
            n
        }
        None if running => ParamFreeNorm::Batch,
        None => ParamFreeNorm::Instance,
    };

    let mode = opt.and_then(|o| o.get("dataset_mode"));
    let by_mode = mode.and_then(dataset_size);
    let crop = flags
        .crop_size
        .or(opt_usize("crop_size")?)
        .or(by_mode.map(|m| m.0));
    let aspect = match flags.aspect_ratio {
        Some(a) => Some(a),
        None => opt.map(|o| o.f64("aspect_ratio")).transpose()?.flatten(),
    }
    .or(by_mode.map(|m| m.1));
    if flags.crop_size.is_none() && opt_usize("crop_size")?.is_none() {
        notes.push(match (mode, crop) {
            (Some(mode), Some(crop)) => format!(
                "native size: OASIS's opt.txt has no crop_size; {mode} trains at {crop} wide (pass --crop-size and \
                 --aspect-ratio if this model was trained at another size). Any size that is a multiple of 32 works"
            ),
            _ => "native size: not known, 256×256 assumed (pass --crop-size and --aspect-ratio); any size that is a \
                  multiple of 32 works"
                .into(),
        });
    }
    let crop = crop.unwrap_or(256);
    let aspect = aspect.unwrap_or(1.0);
    if !(aspect.is_finite() && aspect > 0.0) {
        return Err(ArchError::Contradiction(format!(
            "aspect_ratio {aspect} must be a positive number"
        )));
    }
    let upsampling = Upsampling::Normal;
    let w0 = crop >> upsampling.steps();
    let latent = (round_half_even(w0 as f64 / aspect), w0);
    if latent.0 == 0 || latent.1 == 0 {
        return Err(ArchError::Contradiction(format!(
            "crop_size {crop} is too small for OASIS: its first layer works at 1/32 of the image size"
        )));
    }
    Ok(GeneratorSpec {
        layout: Layout::Oasis,
        noise_dim,
        label_nc,
        dontcare,
        instance: false,
        ngf: ch,
        modulation: Modulation::Spade,
        positional_encoding: false,
        spade_hidden: hidden,
        norm: GeneratorNorm {
            spectral,
            param_free,
            kernel,
        },
        upsampling,
        z_dim: None,
        latent,
    })
}

/// The noise channels before the one-hot map: OASIS's z_dim, or none with
/// `no_3dnoise`.
fn noise_dim(
    opt: Option<&TrainOptions>,
    seg_nc: usize,
    notes: &mut Vec<String>,
) -> Result<usize, ArchError> {
    let Some(opt) = opt else {
        return Err(ArchError::Ambiguous(format!(
            "the SPADE layers of this OASIS generator see {seg_nc} channels, noise and classes together, and \
             without opt.txt their split is not known; keep the opt.txt training wrote next to the checkpoint \
             (it states z_dim and no_3dnoise)"
        )));
    };
    // easel's trainer says whether z is used with use_vae / z_dim; OASIS with no_3dnoise.
    if opt.bool("no_3dnoise")? == Some(true) {
        return Ok(0);
    }
    Ok(match opt.usize("z_dim")? {
        Some(z) => z,
        None => {
            notes.push(format!(
                "noise: opt.txt does not state z_dim; OASIS's default {DEFAULT_Z_DIM} assumed"
            ));
            DEFAULT_Z_DIM
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dataset_modes_give_oasis_native_sizes() {
        assert_eq!(dataset_size("cityscapes"), Some((512, 2.0)));
        assert_eq!(dataset_size("ade20k"), Some((256, 1.0)));
        assert_eq!(dataset_size("custom"), None);
    }
}
