//! TensorFlow's spatial batching (SPACE_TO_BATCH_ND, BATCH_TO_SPACE_ND)
//! in ONNX: the atrous pattern as one dilated convolution, anything else as
//! the exact reshapes and transposes it stands for.

use super::to_onnx::{damaged, nchw, unsupported, Convolution, Translator};
use super::{Op, Operator, Options, Padding, TfliteError, Window};
use crate::import::onnx::ints;

impl Translator<'_> {
    /// TensorFlow's atrous convolution, SPACE_TO_BATCH_ND → a stride-1 VALID
    /// convolution → BATCH_TO_SPACE_ND with the same block, as the one
    /// dilated convolution it computes (pads: the paddings less the crops).
    /// The exact reshapes and transposes cost ONNX Runtime more than half
    /// of DeepLab's time. False when `ops` does not start with the pattern.
    pub(super) fn atrous(
        &mut self,
        ops: &[Operator],
        all: &[Operator],
    ) -> Result<bool, TfliteError> {
        let [stb, conv, bts, ..] = ops else {
            return Ok(false);
        };
        let Options::Window { window, activation } = conv.options else {
            return Ok(false);
        };
        let chained = stb.op == Op::SpaceToBatchNd
            && matches!(conv.op, Op::Conv2d | Op::DepthwiseConv2d)
            && bts.op == Op::BatchToSpaceNd
            && conv.inputs.first() == stb.outputs.first()
            && bts.inputs.first() == conv.outputs.first()
            && window.padding == Padding::Valid
            && window.stride == (1, 1)
            && window.dilation == (1, 1);
        let complete = stb.inputs.len() >= 3
            && conv.inputs.len() >= 2
            && bts.inputs.len() >= 3
            && [stb, conv, bts].iter().all(|o| !o.outputs.is_empty());
        if !chained || !complete {
            return Ok(false);
        }
        // The in-between tensors must feed nothing else.
        let between = [stb.outputs[0], conv.outputs[0]];
        let readers = all
            .iter()
            .flat_map(|o| o.inputs.iter())
            .filter(|i| between.contains(i))
            .count();
        if readers != 2 || self.model.outputs.iter().any(|o| between.contains(o)) {
            return Ok(false);
        }
        let (block, [pt, pb, pl, pr]) = self.block(stb.inputs[1], stb.inputs[2])?;
        let (block_out, [ct, cb, cl, cr]) = self.block(bts.inputs[1], bts.inputs[2])?;
        if block != block_out || pt < ct || pb < cb || pl < cl || pr < cr {
            return Ok(false);
        }
        let dilated = Window {
            dilation: (block[0], block[1]),
            ..window
        };
        let pads = [pt - ct, pl - cl, pb - cb, pr - cr].map(|v| v as i64);
        let bias = conv.inputs.get(2).copied().filter(|&b| b >= 0);
        let y = self.conv(Convolution {
            op: conv.op,
            x: stb.inputs[0],
            weight: conv.inputs[1],
            bias,
            window: dilated,
            out: bts.outputs[0],
            pads: Some(pads),
        })?;
        let y = self.activation(y, activation);
        self.values.insert(bts.outputs[0], y);
        Ok(true)
    }

    /// The block's (height, width) and two (before, after) pairs.
    pub(super) fn block(
        &self,
        block: i32,
        pairs: i32,
    ) -> Result<([usize; 2], [usize; 4]), TfliteError> {
        let b = self.ints(block)?;
        let p = self.ints(pairs)?;
        match (b.as_slice(), p.as_slice()) {
            (&[bh, bw], &[t, bo, l, r])
                if bh > 0 && bw > 0 && [t, bo, l, r].iter().all(|&v| v >= 0) =>
            {
                Ok((
                    [bh as usize, bw as usize],
                    [t, bo, l, r].map(|v| v as usize),
                ))
            }
            _ => Err(unsupported(format!(
                "has a spatial block {b:?} with pads or crops {p:?}"
            ))),
        }
    }

    /// SPACE_TO_BATCH_ND: pad, then each (row, column) offset in the block
    /// becomes a batch entry, offsets outermost as TensorFlow orders them.
    pub(super) fn space_to_batch(
        &mut self,
        x: i32,
        block: i32,
        paddings: i32,
        out: i32,
    ) -> Result<String, TfliteError> {
        let [n, c, h, w] = nchw(self.tensor(x)?)?;
        let x = self.dynamic(x)?;
        let ([bh, bw], [t, bo, l, r]) = self.block(block, paddings)?;
        let (hp, wp) = (h + t + bo, w + l + r);
        if hp % bh != 0 || wp % bw != 0 {
            return Err(damaged(&format!(
                "padded to {hp}×{wp}, not a multiple of the block {bh}×{bw}"
            )));
        }
        let pads = self.b.vec_i64(
            "pads",
            &[0, 0, t as i64, l as i64, 0, 0, bo as i64, r as i64],
        );
        let padded = self.b.node("Pad", &[&x, &pads], vec![], "pad");
        let split = self
            .b
            .vec_i64("shape", &[n, c, hp / bh, bh, wp / bw, bw].map(|v| v as i64));
        let split = self
            .b
            .node("Reshape", &[&padded, &split], vec![], "reshape");
        let moved = self.b.node(
            "Transpose",
            &[&split],
            vec![ints("perm", &[3, 5, 0, 1, 2, 4])],
            "transpose",
        );
        let shape = [bh * bw * n, c, hp / bh, wp / bw];
        if shape != nchw(self.tensor(out)?)? {
            return Err(damaged(
                "SPACE_TO_BATCH_ND's output shape disagrees with its block",
            ));
        }
        let target = self.b.vec_i64("shape", &shape.map(|v| v as i64));
        Ok(self
            .b
            .node("Reshape", &[&moved, &target], vec![], "reshape"))
    }

    /// BATCH_TO_SPACE_ND: the inverse, then the crops.
    pub(super) fn batch_to_space(
        &mut self,
        x: i32,
        block: i32,
        crops: i32,
        out: i32,
    ) -> Result<String, TfliteError> {
        let [nb, c, h, w] = nchw(self.tensor(x)?)?;
        let x = self.dynamic(x)?;
        let ([bh, bw], [t, bo, l, r]) = self.block(block, crops)?;
        if nb % (bh * bw) != 0 || t + bo >= h * bh || l + r >= w * bw {
            return Err(damaged(
                "BATCH_TO_SPACE_ND's block or crops do not fit its input",
            ));
        }
        let n = nb / (bh * bw);
        let split = self
            .b
            .vec_i64("shape", &[bh, bw, n, c, h, w].map(|v| v as i64));
        let split = self.b.node("Reshape", &[&x, &split], vec![], "reshape");
        let moved = self.b.node(
            "Transpose",
            &[&split],
            vec![ints("perm", &[2, 3, 4, 0, 5, 1])],
            "transpose",
        );
        let whole = self
            .b
            .vec_i64("shape", &[n, c, h * bh, w * bw].map(|v| v as i64));
        let whole = self.b.node("Reshape", &[&moved, &whole], vec![], "reshape");
        let (oh, ow) = (h * bh - t - bo, w * bw - l - r);
        if [n, c, oh, ow] != nchw(self.tensor(out)?)? {
            return Err(damaged(
                "BATCH_TO_SPACE_ND's output shape disagrees with its crops",
            ));
        }
        let starts = self.b.vec_i64("starts", &[t as i64, l as i64]);
        let ends = self.b.vec_i64("ends", &[(t + oh) as i64, (l + ow) as i64]);
        let axes = self.b.vec_i64("axes", &[2, 3]);
        Ok(self
            .b
            .node("Slice", &[&whole, &starts, &ends, &axes], vec![], "crop"))
    }
}
