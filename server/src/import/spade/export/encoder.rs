//! The style encoder's graph: an RGB image in [-1, 1], of any size, resized
//! to the reference's working size and turned into mu and logvar by the
//! encoder's six strided convolutions (batch norms folded into them).

use super::{
    all_used, conv_layer, ExportError, ExportOptions, EPS, LOGVAR_OUTPUT, MU_OUTPUT, SLOPE,
    STYLE_INPUT,
};
use crate::import::onnx::proto::{Dim, ElemType, Model};
use crate::import::onnx::{float, int, string, GraphBuilder};
use crate::import::spade::arch::{EncoderSpec, ParamFreeNorm};
use crate::import::spade::weights::Weights;

/// The encoder's fixed working size; the reference resizes any style image to it.
const ENCODER_SIZE: i64 = 256;

/// The style encoder: RGB in [-1, 1] (any size, resized bilinearly to 256×256)
/// to mu and logvar.
pub fn encoder(spec: &EncoderSpec, w: &Weights, opts: ExportOptions) -> Result<Model, ExportError> {
    let mut g = GraphBuilder::new("spade_encoder");
    g.half_weights = opts.half_weights;
    g.emulate_bf16 = opts.emulate_bf16;
    let batch = || Dim::Named("batch".into());
    let image = g.input(
        STYLE_INPUT,
        ElemType::Float,
        vec![
            batch(),
            Dim::Fixed(3),
            Dim::Named("height".into()),
            Dim::Named("width".into()),
        ],
    );
    let shape = g.node("Shape", &[&image], vec![], "shape");
    let s = g.vec_i64("s", &[0]);
    let e = g.vec_i64("e", &[2]);
    let nc = g.node("Slice", &[&shape, &s, &e], vec![], "nc");
    let hw = g.vec_i64("hw", &[ENCODER_SIZE, ENCODER_SIZE]);
    let sizes = g.node("Concat", &[&nc, &hw], vec![int("axis", 0)], "sizes");
    let attrs = vec![
        string("mode", "linear"),
        string("coordinate_transformation_mode", "half_pixel"),
    ];
    let mut x = g.node("Resize", &[&image, "", "", &sizes], attrs, "resized");
    let ndf = spec.ndf;
    let channels = [3, ndf, 2 * ndf, 4 * ndf, 8 * ndf, 8 * ndf, 8 * ndf];
    for i in 1..=spec.layers {
        if i > 1 {
            x = g.leaky_relu(&x, SLOPE);
        }
        let prefix = format!("layer{i}");
        let (cin, cout) = (channels[i - 1], channels[i]);
        let has_norm = spec.norm.norm.is_some();
        let mut conv = w.layer(&format!("{prefix}.0"), &[cout, cin, 3, 3], !has_norm)?;
        match spec.norm.norm {
            None => {}
            Some(ParamFreeNorm::Instance) => {}
            Some(_) => {
                // Batch norm right after a bias-free conv folds into it.
                let bn = w.batch_norm(&format!("{prefix}.1"), cout)?;
                let per_out = cin * 9;
                for o in 0..cout {
                    conv.weight[o * per_out..(o + 1) * per_out]
                        .iter_mut()
                        .for_each(|v| *v *= bn.scale[o]);
                }
                conv.bias = Some(bn.shift);
            }
        }
        x = conv_layer(&mut g, &x, &conv, 2, &prefix);
        if spec.norm.norm == Some(ParamFreeNorm::Instance) {
            let ones = g.const_f32("ones", &[cout], &vec![1.0; cout]);
            let zeros = g.const_f32("zeros", &[cout], &vec![0.0; cout]);
            x = g.node(
                "InstanceNormalization",
                &[&x, &ones, &zeros],
                vec![float("epsilon", EPS)],
                "inorm",
            );
        }
    }
    x = g.leaky_relu(&x, SLOPE);
    let flat = g.node("Flatten", &[&x], vec![int("axis", 1)], "flat");
    let features = channels[spec.layers] * 4 * 4;
    for (name, out) in [("fc_mu", MU_OUTPUT), ("fc_var", LOGVAR_OUTPUT)] {
        let fc = w.layer(name, &[spec.z_dim, features], true)?;
        let wt = g.weight(name, &fc.shape, &fc.weight);
        let b = g.weight(name, &[spec.z_dim], fc.bias.as_deref().unwrap_or_default());
        let y = g.node("Gemm", &[&flat, &wt, &b], vec![int("transB", 1)], name);
        g.output(
            &y,
            out,
            ElemType::Float,
            vec![batch(), Dim::Fixed(spec.z_dim as i64)],
        );
    }
    all_used(w, "style encoder")?;
    Ok(g.finish("SPADE style encoder imported by easel", vec![]))
}
