//! Builds the ONNX graph of a SPADE generator from a determined spec and the
//! folded weights (its style encoder's graph: `encoder.rs`).
//!
//! The generator takes class indices, not a one-hot tensor. A convolution of
//! a one-hot map is a sum, over the kernel taps, of weight columns looked up by
//! class, so every first SPADE convolution (and the fc layer) of a large class
//! table becomes k² Gathers and Adds; small tables build the one-hot map
//! (onehot.rs). The instance edge channel is folded into the lookup: index
//! `class + classes·edge` selects a row that already adds the edge weights.
//! The map reaches each level by nearest resizing on indices (levels.rs).

mod clade;
mod encoder;
mod levels;
mod oasis;
mod onehot;

use std::collections::HashMap;

use super::arch::{GeneratorSpec, Layout, Modulation, ParamFreeNorm};
use super::weights::{Layer, Weights, WeightsError};
use crate::import::onnx::proto::{Dim, ElemType, Model};
use crate::import::onnx::{float, int, string, GraphBuilder};

pub use crate::package::graph::*;
pub use encoder::encoder;
const SLOPE: f32 = 0.2;
const EPS: f32 = 1e-5;

/// Why the weights do not make the graph of the detected architecture.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Weights(#[from] WeightsError),
    #[error(
        "{origin} has tensors this {network} does not use: {unused}; it was trained with a different architecture"
    )]
    Unused {
        origin: String,
        network: &'static str,
        /// The first few names, and how many more.
        unused: String,
    },
    #[error("{table} has shape {found:?}, expected [{classes}, {channels}]")]
    CladeTable {
        table: String,
        found: Vec<usize>,
        classes: usize,
        channels: usize,
    },
}

/// Options that change the graph but not its meaning.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExportOptions {
    /// Store weights as float16 (computation stays float32).
    pub half_weights: bool,
    /// Emulate bf16 arithmetic in fp32: weights rounded to bf16 and each
    /// convolution's input rounded through bf16 (accumulation stays fp32),
    /// as `--compute bf16` computes. Not a package to serve: it lets tests
    /// check the graph's tolerance to bf16 on CPUs without native bf16.
    pub emulate_bf16: bool,
}

struct GeneratorGraph<'a> {
    g: GraphBuilder,
    w: &'a Weights,
    spec: &'a GeneratorSpec,
    /// Combined class/edge index map at full resolution, (N, H, W) int64.
    index: String,
    /// (H, W) of the input as 1-d int64 tensors of length 1.
    input_hw: (String, String),
    /// Index maps resized to each level, by level.
    levels: HashMap<usize, String>,
    /// (rows, cols) source indices of each level, by level.
    level_indices: HashMap<usize, (String, String)>,
    /// CLADE-ICPE's positional encoding input, (N, 2, H, W), when used.
    position: Option<String>,
    /// OASIS's noise input, (N, noise_dim, H, W), when used.
    noise: Option<String>,
    /// Float inputs (positional encoding, noise) resized to each level, by
    /// input and level.
    map_levels: HashMap<(String, usize), String>,
    /// One-hot maps of each level, by level (small class tables only).
    onehots: HashMap<usize, String>,
    /// OASIS: the noise and one-hot maps of each level, concatenated, by level.
    conds: HashMap<usize, String>,
    /// (h, w) of level 0 as 1-d int64 tensors of length 1.
    latent_hw: (String, String),
}

pub fn generator(
    spec: &GeneratorSpec,
    w: &Weights,
    opts: ExportOptions,
) -> Result<Model, ExportError> {
    let mut g = GraphBuilder::new("spade_generator");
    g.half_weights = opts.half_weights;
    g.emulate_bf16 = opts.emulate_bf16;
    let (dims_h, dims_w) = if spec.z_dim.is_some() {
        let (h, w) = spec.native();
        (Dim::Fixed(h as i64), Dim::Fixed(w as i64))
    } else {
        (Dim::Named("height".into()), Dim::Named("width".into()))
    };
    let map_dims = || vec![Dim::Named("batch".into()), dims_h.clone(), dims_w.clone()];
    let label = g.input(LABEL_INPUT, ElemType::Int64, map_dims());
    let index = if spec.instance {
        let edges = g.input(EDGES_INPUT, ElemType::Int64, map_dims());
        let classes = g.scalar_i64("classes", spec.classes() as i64);
        let offset = g.binary("Mul", &edges, &classes);
        g.binary("Add", &label, &offset)
    } else {
        label.clone()
    };
    let position = spec.positional_encoding.then(|| {
        let dims = vec![
            Dim::Named("batch".into()),
            Dim::Fixed(2),
            dims_h.clone(),
            dims_w.clone(),
        ];
        g.input(POSITION_INPUT, ElemType::Float, dims)
    });
    let noise = (spec.noise_dim > 0).then(|| {
        let dims = vec![
            Dim::Named("batch".into()),
            Dim::Fixed(spec.noise_dim as i64),
            dims_h.clone(),
            dims_w.clone(),
        ];
        g.input(NOISE_INPUT, ElemType::Float, dims)
    });
    let shape = g.node("Shape", &[&label], vec![], "shape");
    let input_hw = (slice1(&mut g, &shape, 1), slice1(&mut g, &shape, 2));
    let latent_hw = if spec.z_dim.is_some() {
        (
            g.vec_i64("latent_h", &[spec.latent.0 as i64]),
            g.vec_i64("latent_w", &[spec.latent.1 as i64]),
        )
    } else {
        let f = g.vec_i64("factor", &[spec.size_multiple() as i64]);
        (
            g.binary("Div", &input_hw.0, &f),
            g.binary("Div", &input_hw.1, &f),
        )
    };
    let mut gg = GeneratorGraph {
        g,
        w,
        spec,
        index,
        input_hw,
        levels: HashMap::new(),
        level_indices: HashMap::new(),
        position,
        noise,
        map_levels: HashMap::new(),
        onehots: HashMap::new(),
        conds: HashMap::new(),
        latent_hw,
    };
    let image = gg.build()?;
    let mut g = gg.g;
    let out_dims = match spec.z_dim {
        Some(_) => {
            let (h, w) = spec.native();
            vec![
                Dim::Named("batch".into()),
                Dim::Fixed(3),
                Dim::Fixed(h as i64),
                Dim::Fixed(w as i64),
            ]
        }
        None => vec![
            Dim::Named("batch".into()),
            Dim::Fixed(3),
            Dim::Named("height".into()),
            Dim::Named("width".into()),
        ],
    };
    g.output(&image, IMAGE_OUTPUT, ElemType::Float, out_dims);
    let what = match spec.layout {
        Layout::Spade => "SPADE generator",
        Layout::Oasis => "OASIS generator",
    };
    all_used(w, what)?;
    Ok(g.finish(&format!("{what} imported by easel"), vec![]))
}

/// Every tensor of the checkpoint went into the graph; leftovers mean the
/// checkpoint is of another architecture than the one detected.
pub(super) fn all_used(w: &Weights, network: &'static str) -> Result<(), ExportError> {
    let unused = w.unused();
    if unused.is_empty() {
        return Ok(());
    }
    Err(ExportError::Unused {
        origin: w.origin().to_string(),
        network,
        unused: preview(&unused),
    })
}

fn preview(keys: &[String]) -> String {
    let shown: Vec<&str> = keys.iter().take(5).map(String::as_str).collect();
    let more = keys.len().saturating_sub(5);
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

/// Element `i` of a 1-d int64 tensor, as a 1-d tensor of length 1.
fn slice1(g: &mut GraphBuilder, v: &str, i: i64) -> String {
    let s = g.vec_i64("start", &[i]);
    let e = g.vec_i64("end", &[i + 1]);
    g.node("Slice", &[v, &s, &e], vec![], "dim")
}

impl GeneratorGraph<'_> {
    fn build(&mut self) -> Result<String, ExportError> {
        if self.spec.layout == Layout::Oasis {
            return self.build_oasis();
        }
        let spec = self.spec.clone();
        let nf = spec.ngf;
        let mut x = match spec.z_dim {
            Some(z_dim) => {
                let g = &mut self.g;
                let z = g.input(
                    Z_INPUT,
                    ElemType::Float,
                    vec![Dim::Named("batch".into()), Dim::Fixed(z_dim as i64)],
                );
                let out = 16 * nf * spec.latent.0 * spec.latent.1;
                let fc = self.w.layer("fc", &[out, z_dim], true)?;
                let g = &mut self.g;
                let wt = g.weight("fc_w", &fc.shape, &fc.weight);
                let b = g.weight("fc_b", &[out], fc.bias.as_deref().unwrap_or_default());
                let y = g.node("Gemm", &[&z, &wt, &b], vec![int("transB", 1)], "fc");
                let shape = g.vec_i64(
                    "latent_shape",
                    &[
                        -1,
                        16 * nf as i64,
                        spec.latent.0 as i64,
                        spec.latent.1 as i64,
                    ],
                );
                g.node("Reshape", &[&y, &shape], vec![], "latent")
            }
            None => {
                let fc = self
                    .w
                    .layer("fc", &[16 * nf, spec.semantic_nc(), 3, 3], true)?;
                self.seg_conv(0, &fc, false)
            }
        };
        let mut level = 0;
        let blocks: Vec<(&str, usize, usize, bool)> = {
            let more = spec.upsampling != super::arch::Upsampling::Normal;
            let mut b = vec![
                ("head_0", 16 * nf, 16 * nf, false),
                ("G_middle_0", 16 * nf, 16 * nf, true),
                ("G_middle_1", 16 * nf, 16 * nf, more),
            ];
            b.extend([
                ("up_0", 16 * nf, 8 * nf, true),
                ("up_1", 8 * nf, 4 * nf, true),
                ("up_2", 4 * nf, 2 * nf, true),
                ("up_3", 2 * nf, nf, true),
            ]);
            if spec.upsampling == super::arch::Upsampling::Most {
                b.push(("up_4", nf, nf / 2, true));
            }
            b
        };
        for (name, fin, fout, upsample_before) in blocks {
            if upsample_before {
                x = self.upsample(&x);
                level += 1;
            }
            x = self.resnet_block(&x, level, name, fin, fout)?;
        }
        let final_nc = if spec.upsampling == super::arch::Upsampling::Most {
            nf / 2
        } else {
            nf
        };
        let conv_img = self.w.layer("conv_img", &[3, final_nc, 3, 3], true)?;
        let a = self.g.leaky_relu(&x, SLOPE);
        let y = self.conv(&a, &conv_img, 1, "conv_img");
        Ok(self.g.node("Tanh", &[&y], vec![], "tanh"))
    }

    fn conv(&mut self, x: &str, layer: &Layer, stride: usize, hint: &str) -> String {
        conv_layer(&mut self.g, x, layer, stride, hint)
    }

    fn upsample(&mut self, x: &str) -> String {
        let g = &mut self.g;
        let scales = g.const_f32("scales", &[4], &[1.0, 1.0, 2.0, 2.0]);
        let attrs = vec![
            string("mode", "nearest"),
            string("coordinate_transformation_mode", "asymmetric"),
            string("nearest_mode", "floor"),
        ];
        g.node("Resize", &[x, "", &scales], attrs, "up")
    }

    /// The parameter-free part of a normalisation layer: x − mean with the
    /// batch norm's 1/σ to fold into γ, or instance norm (and 1).
    fn param_free(
        &mut self,
        x: &str,
        prefix: &str,
        channels: usize,
    ) -> Result<(String, Vec<f32>), ExportError> {
        if self.spec.norm.param_free == ParamFreeNorm::Instance {
            let g = &mut self.g;
            let ones = g.const_f32("ones", &[channels], &vec![1.0; channels]);
            let zeros = g.const_f32("zeros", &[channels], &vec![0.0; channels]);
            let n = g.node(
                "InstanceNormalization",
                &[x, &ones, &zeros],
                vec![float("epsilon", EPS)],
                "inorm",
            );
            Ok((n, vec![1.0; channels]))
        } else {
            let name = match self.spec.layout {
                Layout::Spade => "param_free_norm",
                Layout::Oasis => "first_norm",
            };
            let (mean, inv_std) = self
                .w
                .running_stats(&format!("{prefix}.{name}"), channels)?;
            let g = &mut self.g;
            let m = g.const_f32("mean", &[1, channels, 1, 1], &mean);
            Ok((g.binary("Sub", x, &m), inv_std))
        }
    }

    /// The block's normalisation layer: SPADE or CLADE.
    fn norm(
        &mut self,
        x: &str,
        level: usize,
        prefix: &str,
        channels: usize,
    ) -> Result<String, ExportError> {
        match self.spec.modulation {
            Modulation::Spade => self.spade(x, level, prefix, channels),
            Modulation::Clade => self.clade(x, level, prefix, channels),
        }
    }

    /// SPADE: param-free norm of x, modulated by γ and β computed from the map.
    fn spade(
        &mut self,
        x: &str,
        level: usize,
        prefix: &str,
        channels: usize,
    ) -> Result<String, ExportError> {
        let spec = self.spec;
        let (k, hidden) = (spec.norm.kernel, spec.spade_hidden);
        let shared = self.w.layer(
            &format!("{prefix}.mlp_shared.0"),
            &[hidden, spec.seg_nc(), k, k],
            true,
        )?;
        let gamma = self.w.layer(
            &format!("{prefix}.mlp_gamma"),
            &[channels, hidden, k, k],
            true,
        )?;
        let beta = self.w.layer(
            &format!("{prefix}.mlp_beta"),
            &[channels, hidden, k, k],
            true,
        )?;
        // γ' = s·(1 + γ), where s is 1/std for batch norm and 1 for instance norm,
        // so that out = (x − mean)·γ' + β, or norm(x)·γ' + β.
        let (normalized, inv_std) = self.param_free(x, prefix, channels)?;
        let per_out = hidden * k * k;
        let gb = gamma.bias.as_deref().unwrap_or_default();
        let scale = Layer {
            shape: gamma.shape.clone(),
            weight: (0..channels)
                .flat_map(|c| {
                    let s = inv_std[c];
                    gamma.weight[c * per_out..(c + 1) * per_out]
                        .iter()
                        .map(move |&v| v * s)
                })
                .collect(),
            bias: Some((0..channels).map(|c| inv_std[c] * (1.0 + gb[c])).collect()),
        };
        // γ' and β as two convolutions of the shared activation, not one of
        // 2·channels split after: OpenVINO runs Split with a reference kernel,
        // and the two convolutions cost ONNX Runtime the same (the default
        // model 161 against 160 ms, OpenVINO fp32 131 against 123 ms and a
        // distilled 1×1 student 53 against 44 ms on a 2-core AVX2 EPYC).
        let actv = self.seg_conv(level, &shared, true);
        let gamma = self.conv(&actv, &scale, 1, "gamma");
        let beta = self.conv(&actv, &beta, 1, "beta");
        let g = &mut self.g;
        let scaled = g.binary("Mul", &normalized, &gamma);
        Ok(g.binary("Add", &scaled, &beta))
    }

    fn resnet_block(
        &mut self,
        x: &str,
        level: usize,
        prefix: &str,
        fin: usize,
        fout: usize,
    ) -> Result<String, ExportError> {
        let fmid = fin.min(fout);
        // CLADE's instance models feed the edge feature on as one more channel.
        let extra = (self.spec.modulation == Modulation::Clade && self.spec.instance) as usize;
        let shortcut = if fin != fout {
            let n = self.norm(x, level, &format!("{prefix}.norm_s"), fin)?;
            let conv_s = self.w.layer(
                &format!("{prefix}.conv_s"),
                &[fout, fin + extra, 1, 1],
                false,
            )?;
            self.conv(&n, &conv_s, 1, "conv_s")
        } else {
            x.to_string()
        };
        let conv_0 = self.w.layer(
            &format!("{prefix}.conv_0"),
            &[fmid, fin + extra, 3, 3],
            true,
        )?;
        let conv_1 = self.w.layer(
            &format!("{prefix}.conv_1"),
            &[fout, fmid + extra, 3, 3],
            true,
        )?;
        let n0 = self.norm(x, level, &format!("{prefix}.norm_0"), fin)?;
        let a0 = self.g.leaky_relu(&n0, SLOPE);
        let dx = self.conv(&a0, &conv_0, 1, "conv_0");
        let n1 = self.norm(&dx, level, &format!("{prefix}.norm_1"), fmid)?;
        let a1 = self.g.leaky_relu(&n1, SLOPE);
        let dx = self.conv(&a1, &conv_1, 1, "conv_1");
        Ok(self.g.binary("Add", &shortcut, &dx))
    }
}

pub(super) fn conv_layer(
    g: &mut GraphBuilder,
    x: &str,
    layer: &Layer,
    stride: usize,
    hint: &str,
) -> String {
    let k = layer.shape[2];
    let w = g.weight(&format!("{hint}_w"), &layer.shape, &layer.weight);
    let b = layer
        .bias
        .as_ref()
        .map(|b| g.weight(&format!("{hint}_b"), &[b.len()], b));
    g.conv(x, &w, b.as_deref(), k, stride, hint)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::checkpoint::Tensor;
    use crate::import::spade::arch::Upsampling;
    use crate::import::spade::synthetic;

    #[test]
    fn tensors_the_graph_does_not_use_are_refused_by_name() {
        let spec = GeneratorSpec {
            layout: Layout::Spade,
            noise_dim: 0,
            label_nc: 5,
            dontcare: false,
            instance: false,
            ngf: 2,
            modulation: Modulation::Clade,
            positional_encoding: false,
            spade_hidden: 0,
            norm: "spectralspadesyncbatch3x3".parse().unwrap(),
            upsampling: Upsampling::Normal,
            z_dim: None,
            latent: (2, 2),
        };
        let mut tensors = synthetic::random_generator(&spec, 7);
        let aux = Tensor {
            shape: vec![1],
            data: vec![0.0],
        };
        tensors.insert("aux.weight".into(), aux);
        let weights = Weights::new(tensors, "net_G.pth");
        let e = generator(&spec, &weights, ExportOptions::default())
            .err()
            .unwrap();
        assert_eq!(
            e.to_string(),
            "net_G.pth has tensors this SPADE generator does not use: aux.weight; \
             it was trained with a different architecture"
        );
    }
}
