//! Convolutions of the one-hot semantic map, which the generator never
//! builds from a large class table. With few classes and no instance edges
//! (the landscapes model: 12), the level's one-hot map is built once and
//! convolved for real: k²·classes multiply-adds a pixel, compute-bound and
//! cheap. Otherwise (COCO-Stuff: 184), each of the k² kernel taps is a
//! lookup of weight columns by class, summed: memory-bound, but independent
//! of the class count. Both give the same values.

use super::{GeneratorGraph, Layer};
use crate::import::onnx::{int, ints, string};

/// Class tables up to this size are convolved as one-hot maps. Measured on
/// the landscapes model (12 classes, 2 cores): lookups took ~30% of its
/// time; see docs/benchmarks.md.
const ONEHOT_CONV_MAX_CLASSES: usize = 32;

impl GeneratorGraph<'_> {
    /// A convolution of the one-hot semantic map at `level` with `layer`
    /// (input channels: the semantic channels), then ReLU if `relu`.
    pub(super) fn onehot_conv(&mut self, level: usize, layer: &Layer, relu: bool) -> String {
        if !self.onehot_by_conv() {
            return self.lookup_conv(level, layer, relu);
        }
        let onehot = self.onehot_map(level);
        self.conv_then(&onehot, layer, relu)
    }

    /// Whether this generator's one-hot maps are convolved for real.
    pub(super) fn onehot_by_conv(&self) -> bool {
        !self.spec.instance && self.spec.classes() <= ONEHOT_CONV_MAX_CLASSES
    }

    /// `layer` applied to `x` (N, C, H, W), then ReLU if `relu`.
    pub(super) fn conv_then(&mut self, x: &str, layer: &Layer, relu: bool) -> String {
        let y = self.conv(x, layer, 1, "seg_conv");
        if relu {
            self.g.node("Relu", &[&y], vec![], "relu")
        } else {
            y
        }
    }

    /// The one-hot map at `level`, (N, classes, H, W) float; models without
    /// instance edges only.
    pub(super) fn onehot_map(&mut self, level: usize) -> String {
        if let Some(v) = self.onehots.get(&level) {
            return v.clone();
        }
        let idx = self.level_index(level);
        let g = &mut self.g;
        let depth = g.vec_i64("depth", &[self.spec.classes() as i64]);
        let values = g.const_f32("onehot_values", &[2], &[0.0, 1.0]);
        let v = g.node(
            "OneHot",
            &[&idx, &depth, &values],
            vec![int("axis", 1)],
            "onehot",
        );
        self.onehots.insert(level, v.clone());
        v
    }

    /// A convolution of the one-hot semantic map at `level`, as k² lookups.
    fn lookup_conv(&mut self, level: usize, layer: &Layer, relu: bool) -> String {
        let (out, sem, k) = (layer.shape[0], layer.shape[1], layer.shape[2]);
        let classes = self.spec.classes();
        let rows = if self.spec.instance {
            2 * classes
        } else {
            classes
        };
        let pad_row = rows;
        let p = k / 2;
        let idx = self.level_index(level);
        let g = &mut self.g;
        let pads = g.vec_i64("pads", &[0, p as i64, p as i64, 0, p as i64, p as i64]);
        let pad_value = g.scalar_i64("pad_row", pad_row as i64);
        let padded = g.node(
            "Pad",
            &[&idx, &pads, &pad_value],
            vec![string("mode", "constant")],
            "padded",
        );
        let axes = g.vec_i64("axes12", &[1, 2]);
        let mut sum: Option<String> = None;
        for dy in 0..k {
            for dx in 0..k {
                // Row r holds W[:, r, dy, dx]; instance rows add the edge channel.
                let mut table = vec![0f32; (rows + 1) * out];
                for r in 0..rows {
                    let c = r % classes;
                    let edge = r >= classes;
                    for o in 0..out {
                        let at = |ch: usize| layer.weight[((o * sem + ch) * k + dy) * k + dx];
                        let mut v = at(c);
                        if edge {
                            v += at(sem - 1);
                        }
                        if dy == p && dx == p {
                            v += layer.bias.as_ref().map_or(0.0, |b| b[o]);
                        }
                        table[r * out + o] = v;
                    }
                }
                let t = g.weight("tap", &[rows + 1, out], &table);
                let end = |d: usize| {
                    if d == 2 * p {
                        i64::MAX
                    } else {
                        d as i64 - 2 * p as i64
                    }
                };
                let starts = g.vec_i64("starts", &[dy as i64, dx as i64]);
                let ends = g.vec_i64("ends", &[end(dy), end(dx)]);
                let shifted = g.node(
                    "Slice",
                    &[&padded, &starts, &ends, &axes],
                    vec![],
                    "shifted",
                );
                let looked_up = g.node("Gather", &[&t, &shifted], vec![int("axis", 0)], "lookup");
                sum = Some(match sum {
                    None => looked_up,
                    Some(acc) => g.binary("Add", &acc, &looked_up),
                });
            }
        }
        let mut y = sum.unwrap_or_default();
        if relu {
            y = g.node("Relu", &[&y], vec![], "relu");
        }
        g.node(
            "Transpose",
            &[&y],
            vec![ints("perm", &[0, 3, 1, 2])],
            "nchw",
        )
    }
}
