//! Random-weight state dicts in the reference's layout, for benchmarks of
//! full-size generators without a trained checkpoint.

use crate::import::checkpoint::{StateDict, Tensor};

use super::arch::{GeneratorSpec, Layout, Modulation, Upsampling};
use super::oasis::{BLOCKS, CHANNELS};

struct Rng(u64);

impl Rng {
    fn uniform(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    }
}

fn put(sd: &mut StateDict, rng: &mut Rng, key: String, shape: Vec<usize>, scale: f32) {
    let n = shape.iter().product();
    let data = (0..n).map(|_| rng.uniform() * scale).collect();
    sd.insert(key, Tensor { shape, data });
}

/// A conv (or linear) layer with xavier-uniform weights, spectral-normed when asked.
fn layer(
    sd: &mut StateDict,
    rng: &mut Rng,
    prefix: &str,
    shape: Vec<usize>,
    bias: bool,
    spectral: bool,
) {
    let fan_in: usize = shape[1..].iter().product();
    let fan_out = shape[0] * shape[2..].iter().product::<usize>();
    let bound = (6.0 / (fan_in + fan_out) as f32).sqrt();
    let out = shape[0];
    if spectral {
        put(sd, rng, format!("{prefix}.weight_orig"), shape, bound);
        put(sd, rng, format!("{prefix}.weight_u"), vec![out], 1.0);
        put(sd, rng, format!("{prefix}.weight_v"), vec![fan_in], 1.0);
    } else {
        put(sd, rng, format!("{prefix}.weight"), shape, bound);
    }
    if bias {
        put(sd, rng, format!("{prefix}.bias"), vec![out], 0.01);
    }
}

/// A normalisation layer: SPADE's convolutions or CLADE's class tables, and
/// the batch norm's running statistics.
fn norm(sd: &mut StateDict, rng: &mut Rng, spec: &GeneratorSpec, prefix: &str, channels: usize) {
    match spec.modulation {
        Modulation::Spade => spade(sd, rng, spec, prefix, channels),
        Modulation::Clade => {
            let affine = format!("{prefix}.class_specified_affine");
            let rows = spec.classes();
            put(
                sd,
                rng,
                format!("{affine}.weight"),
                vec![rows, channels],
                1.0,
            );
            put(sd, rng, format!("{affine}.bias"), vec![rows, channels], 0.5);
            if spec.instance {
                layer(
                    sd,
                    rng,
                    &format!("{prefix}.inst_conv"),
                    vec![1, 1, 1, 1],
                    true,
                    false,
                );
            }
            if spec.positional_encoding {
                for name in ["dist_conv_w", "dist_conv_b"] {
                    layer(
                        sd,
                        rng,
                        &format!("{affine}.{name}"),
                        vec![1, 2, 1, 1],
                        true,
                        false,
                    );
                }
            }
        }
    }
    if spec.norm.param_free.uses_running_stats() {
        let stats = match spec.layout {
            Layout::Spade => "param_free_norm",
            Layout::Oasis => "first_norm",
        };
        put(
            sd,
            rng,
            format!("{prefix}.{stats}.running_mean"),
            vec![channels],
            0.1,
        );
        let var = (0..channels).map(|_| 1.0 + rng.uniform().abs()).collect();
        sd.insert(
            format!("{prefix}.{stats}.running_var"),
            Tensor {
                shape: vec![channels],
                data: var,
            },
        );
    }
}

fn spade(sd: &mut StateDict, rng: &mut Rng, spec: &GeneratorSpec, prefix: &str, channels: usize) {
    let (k, hidden) = (spec.norm.kernel, spec.spade_hidden);
    layer(
        sd,
        rng,
        &format!("{prefix}.mlp_shared.0"),
        vec![hidden, spec.seg_nc(), k, k],
        true,
        false,
    );
    layer(
        sd,
        rng,
        &format!("{prefix}.mlp_gamma"),
        vec![channels, hidden, k, k],
        true,
        false,
    );
    layer(
        sd,
        rng,
        &format!("{prefix}.mlp_beta"),
        vec![channels, hidden, k, k],
        true,
        false,
    );
}

/// Every tensor of the generator `spec` describes, with random values.
pub fn random_generator(spec: &GeneratorSpec, seed: u64) -> StateDict {
    let mut sd = StateDict::new();
    let rng = &mut Rng(seed | 1);
    let nf = spec.ngf;
    let spectral = spec.norm.spectral;
    match spec.z_dim {
        Some(z) => layer(
            &mut sd,
            rng,
            "fc",
            vec![16 * nf * spec.latent.0 * spec.latent.1, z],
            true,
            false,
        ),
        None => layer(
            &mut sd,
            rng,
            "fc",
            vec![16 * nf, spec.seg_nc(), 3, 3],
            true,
            false,
        ),
    }
    let mut blocks: Vec<(String, usize, usize)> = match spec.layout {
        Layout::Spade => [
            ("head_0", 16, 16),
            ("G_middle_0", 16, 16),
            ("G_middle_1", 16, 16),
            ("up_0", 16, 8),
            ("up_1", 8, 4),
            ("up_2", 4, 2),
            ("up_3", 2, 1),
        ]
        .into_iter()
        .map(|(name, fin, fout)| (name.to_string(), fin * nf, fout * nf))
        .collect(),
        Layout::Oasis => (0..BLOCKS)
            .map(|i| (format!("body.{i}"), CHANNELS[i] * nf, CHANNELS[i + 1] * nf))
            .collect(),
    };
    if spec.upsampling == Upsampling::Most {
        blocks.push(("up_4".into(), nf, nf / 2));
    }
    // CLADE's instance models feed the edge feature on as one more channel.
    let extra = (spec.modulation == Modulation::Clade && spec.instance) as usize;
    for (name, fin, fout) in blocks {
        let fmid = fin.min(fout);
        layer(
            &mut sd,
            rng,
            &format!("{name}.conv_0"),
            vec![fmid, fin + extra, 3, 3],
            true,
            spectral,
        );
        layer(
            &mut sd,
            rng,
            &format!("{name}.conv_1"),
            vec![fout, fmid + extra, 3, 3],
            true,
            spectral,
        );
        norm(&mut sd, rng, spec, &format!("{name}.norm_0"), fin);
        norm(&mut sd, rng, spec, &format!("{name}.norm_1"), fmid);
        if fin != fout {
            layer(
                &mut sd,
                rng,
                &format!("{name}.conv_s"),
                vec![fout, fin + extra, 1, 1],
                false,
                spectral,
            );
            norm(&mut sd, rng, spec, &format!("{name}.norm_s"), fin);
        }
    }
    let final_nc = if spec.upsampling == Upsampling::Most {
        nf / 2
    } else {
        nf
    };
    layer(
        &mut sd,
        rng,
        "conv_img",
        vec![3, final_nc, 3, 3],
        true,
        false,
    );
    sd
}
