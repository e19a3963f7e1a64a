//! CLADE's normalisation layer: per-class γ and β tables instead of SPADE's
//! convolutions, with the instance-edge feature and ICPE's positional
//! encoding where the model has them.

use super::{ExportError, GeneratorGraph, Layer};
use crate::import::onnx::proto::ElemType;
use crate::import::onnx::{int, ints};

impl GeneratorGraph<'_> {
    /// CLADE: param-free norm of x times γ[class] plus β[class], looked up
    /// in per-class tables at the feature size (no "1 +"); instance models
    /// append a 1×1 conv of the edge map as one more channel.
    pub(super) fn clade(
        &mut self,
        x: &str,
        level: usize,
        prefix: &str,
        channels: usize,
    ) -> Result<String, ExportError> {
        let classes = self.spec.classes();
        let affine = format!("{prefix}.class_specified_affine");
        let gamma = self.w.take(&format!("{affine}.weight"))?;
        let beta = self.w.take(&format!("{affine}.bias"))?;
        for (name, t) in [("weight", gamma), ("bias", beta)] {
            if t.shape != [classes, channels] {
                return Err(ExportError::CladeTable {
                    table: format!("{affine}.{name}"),
                    found: t.shape.clone(),
                    classes,
                    channels,
                });
            }
        }
        let (normalized, inv_std) = self.param_free(x, prefix, channels)?;
        // Row c: γ[c]·(1/σ) then β[c], so one lookup gives both.
        let mut table = Vec::with_capacity(classes * 2 * channels);
        for c in 0..classes {
            let row = c * channels..(c + 1) * channels;
            table.extend(
                gamma.data[row.clone()]
                    .iter()
                    .zip(&inv_std)
                    .map(|(g, s)| g * s),
            );
            table.extend_from_slice(&beta.data[row]);
        }
        let index = self.level_index(level);
        let g = &mut self.g;
        let (class, edge) = if self.spec.instance {
            let n = g.scalar_i64("classes", classes as i64);
            (
                g.binary("Mod", &index, &n),
                Some(g.binary("Div", &index, &n)),
            )
        } else {
            (index, None)
        };
        let t = g.weight("clade_table", &[classes, 2 * channels], &table);
        let looked_up = g.node("Gather", &[&t, &class], vec![int("axis", 0)], "clade");
        let gb = g.node(
            "Transpose",
            &[&looked_up],
            vec![ints("perm", &[0, 3, 1, 2])],
            "clade_nchw",
        );
        let split = g.vec_i64("split", &[channels as i64, channels as i64]);
        let mut parts = g.node_n("Split", &[&gb, &split], vec![int("axis", 1)], "gb", 2);
        if let Some(position) = self.position.clone() {
            // ICPE: γ·(1 + conv_w(d)) and β·(1 + conv_b(d)), 1×1 convs 2 → 1.
            let d = self.level_map(level, &position);
            for (part, name) in parts.iter_mut().zip(["dist_conv_w", "dist_conv_b"]) {
                let conv = self
                    .w
                    .layer(&format!("{affine}.{name}"), &[1, 2, 1, 1], true)?;
                let mut bias = conv.bias.clone().unwrap_or_else(|| vec![0.0]);
                bias[0] += 1.0;
                let plus_one = Layer {
                    bias: Some(bias),
                    ..conv
                };
                let factor = self.conv(&d, &plus_one, 1, name);
                *part = self.g.binary("Mul", part, &factor);
            }
        }
        let g = &mut self.g;
        let scaled = g.binary("Mul", &normalized, &parts[0]);
        let out = g.binary("Add", &scaled, &parts[1]);
        let Some(edge) = edge else {
            return Ok(out);
        };
        let conv = self
            .w
            .layer(&format!("{prefix}.inst_conv"), &[1, 1, 1, 1], true)?;
        let g = &mut self.g;
        let axes = g.vec_i64("axes1", &[1]);
        let edge = g.node("Unsqueeze", &[&edge, &axes], vec![], "edge");
        let edge = g.node(
            "Cast",
            &[&edge],
            vec![int("to", ElemType::Float as i64)],
            "edge_f",
        );
        let w = g.const_f32("inst_w", &[1], &[conv.weight[0]]);
        let b = g.const_f32("inst_b", &[1], &[conv.bias.as_ref().map_or(0.0, |b| b[0])]);
        let scaled = g.binary("Mul", &edge, &w);
        let feature = g.binary("Add", &scaled, &b);
        Ok(g.node(
            "Concat",
            &[&out, &feature],
            vec![int("axis", 1)],
            "with_edges",
        ))
    }
}
