//! The label map (and the float maps beside it: positional encoding, noise)
//! at each level of the generator: nearest resizing on indices, with
//! PyTorch's float32 rule src = min(floor(dst · in/out), in − 1), each
//! level's indices built once and shared.

use super::GeneratorGraph;
use crate::import::onnx::int;
use crate::import::onnx::proto::ElemType;

impl GeneratorGraph<'_> {
    /// Source indices of nearest resizing from `input` to `output` elements.
    fn nearest_indices(&mut self, input: &str, output: &str) -> String {
        let g = &mut self.g;
        let to_float = vec![int("to", ElemType::Float as i64)];
        let zero = g.scalar_i64("zero", 0);
        let one = g.scalar_i64("one", 1);
        let axes = g.vec_i64("axes0", &[0]);
        let out_scalar = g.node("Squeeze", &[output, &axes], vec![], "len");
        let range = g.node("Range", &[&zero, &out_scalar, &one], vec![], "range");
        let in_f = g.node("Cast", &[input], to_float.clone(), "in_f");
        let out_f = g.node("Cast", &[output], to_float.clone(), "out_f");
        let scale = g.binary("Div", &in_f, &out_f);
        let range_f = g.node("Cast", &[&range], to_float, "range_f");
        let src = g.binary("Mul", &range_f, &scale);
        let src = g.node("Floor", &[&src], vec![], "floor");
        let src = g.node(
            "Cast",
            &[&src],
            vec![int("to", ElemType::Int64 as i64)],
            "src",
        );
        let one_v = g.vec_i64("one", &[1]);
        let last = g.binary("Sub", input, &one_v);
        g.binary("Min", &src, &last)
    }

    /// Source (rows, cols) of nearest resizing from the input to level
    /// `level` (latent size × 2^level).
    fn level_rows_cols(&mut self, level: usize) -> (String, String) {
        if let Some(v) = self.level_indices.get(&level) {
            return v.clone();
        }
        let factor = self.g.vec_i64("level_factor", &[1 << level]);
        let (lh, lw) = self.latent_hw.clone();
        let h = self.g.binary("Mul", &lh, &factor);
        let w = self.g.binary("Mul", &lw, &factor);
        let (ih, iw) = self.input_hw.clone();
        let rows = self.nearest_indices(&ih, &h);
        let cols = self.nearest_indices(&iw, &w);
        self.level_indices
            .insert(level, (rows.clone(), cols.clone()));
        (rows, cols)
    }

    /// The index map nearest-resized to level `level`.
    pub(super) fn level_index(&mut self, level: usize) -> String {
        if let Some(v) = self.levels.get(&level) {
            return v.clone();
        }
        let (rows, cols) = self.level_rows_cols(level);
        let index = self.index.clone();
        let r = self
            .g
            .node("Gather", &[&index, &rows], vec![int("axis", 1)], "rows");
        let v = self
            .g
            .node("Gather", &[&r, &cols], vec![int("axis", 2)], "level_index");
        self.levels.insert(level, v.clone());
        v
    }

    /// A float input (N, C, H, W) nearest-resized to level `level`, as the
    /// index map is.
    pub(super) fn level_map(&mut self, level: usize, input: &str) -> String {
        let key = (input.to_string(), level);
        if let Some(v) = self.map_levels.get(&key) {
            return v.clone();
        }
        let (rows, cols) = self.level_rows_cols(level);
        let r = self
            .g
            .node("Gather", &[input, &rows], vec![int("axis", 2)], "map_rows");
        let v = self
            .g
            .node("Gather", &[&r, &cols], vec![int("axis", 3)], "level_map");
        self.map_levels.insert(key, v.clone());
        v
    }
}
