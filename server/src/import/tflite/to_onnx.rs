//! A TFLite segmenter as an ONNX graph, written with easel's builder: the
//! same arithmetic in NCHW (ONNX's layout), weights dequantised to fp32 once
//! here, and a head that maps the segmenter's classes to a package's and
//! takes the argmax inside the graph (151 × 513² float scores never leave
//! it).
//!
//! TFLite tensors are NHWC; every 4-D activation here is NCHW, so weights,
//! constants and axes are permuted as they are translated. The head is in
//! `head`, TensorFlow's spatial batching (atrous convolutions) in `atrous`.

use std::collections::HashMap;

use super::{
    Activation, DataType, Head, Model, Op, Operator, Options, Padding, Tensor, TfliteError, Window,
};
use crate::import::onnx::proto::{Dim, ElemType, Model as OnnxModel};
use crate::import::onnx::{int, ints, GraphBuilder};
use crate::package::graph::{CLASSES_OUTPUT, PHOTO_INPUT};

/// The optional graph output with the raw class scores, NCHW (parity tests).
pub const LOGITS_OUTPUT: &str = "logits";

/// A CONV_2D or DEPTHWISE_CONV_2D to translate: TFLite tensor indices, its
/// window, and pads when they are not the window's own (a fused atrous
/// convolution's).
pub(super) struct Convolution {
    pub(super) op: Op,
    pub(super) x: i32,
    pub(super) weight: i32,
    pub(super) bias: Option<i32>,
    pub(super) window: Window,
    pub(super) out: i32,
    pub(super) pads: Option<[i64; 4]>,
}

/// Operators with their index in the file.
type Numbered<'m> = Vec<(usize, &'m Operator)>;

/// What the graph takes and gives, for the card and the runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contract {
    /// The network's fixed input, (width, height).
    pub input: (usize, usize),
    /// Classes it scores.
    pub classes: usize,
}

/// `model` as an ONNX graph: `photo` (1, 3, H, W) RGB as the TFLite model
/// takes it → `classes` (1, H', W') package class indices; with `logits`,
/// also the raw scores (1, C, H', W') as `logits`.
pub fn translate(
    model: &Model,
    head: &Head,
    logits: bool,
    name: &str,
) -> Result<(OnnxModel, Contract), TfliteError> {
    let [input] = model.inputs[..] else {
        return Err(unsupported(format!(
            "has {} inputs; a segmenter has one photo",
            model.inputs.len()
        )));
    };
    let [output] = model.outputs[..] else {
        return Err(unsupported(format!(
            "has {} outputs; a segmenter has one map",
            model.outputs.len()
        )));
    };
    let photo = model
        .tensor(input)
        .ok_or_else(|| damaged("its input names no tensor"))?;
    let (h, w) = match (photo.dtype, photo.shape.as_slice()) {
        (DataType::Float32, &[1, h, w, 3]) if h > 0 && w > 0 => (h as usize, w as usize),
        _ => {
            return Err(unsupported(format!(
                "takes a {:?} input of shape {:?}; a segmenter takes one float RGB photo, 1×H×W×3",
                photo.dtype, photo.shape
            )))
        }
    };
    let mut t = Translator {
        model,
        b: GraphBuilder::new(name),
        values: HashMap::new(),
        folded: HashMap::new(),
    };
    let x =
        t.b.input(PHOTO_INPUT, ElemType::Float, fixed(&[1, 3, h, w]));
    t.values.insert(input, x);
    // A final ARG_MAX is the head's job: translate up to the scores it reads.
    let mut ops: &[Operator] = &model.operators;
    let mut scores = output;
    if let Some(last) = ops
        .last()
        .filter(|o| o.op == Op::ArgMax && o.outputs == [output] && !o.inputs.is_empty())
    {
        scores = last.inputs[0];
        ops = &ops[..ops.len() - 1];
    }
    // A linear head commutes with a final resize: it runs before it, on
    // fewer pixels, and the resize then moves fewer channels.
    let final_resize = ops
        .last()
        .filter(|o| o.op == Op::ResizeBilinear && o.outputs == [scores] && o.inputs.len() >= 2)
        .filter(|_| matches!(head, Head::Linear { .. }) && !logits)
        .cloned();
    if final_resize.is_some() {
        ops = &ops[..ops.len() - 1];
    }
    // Weights' DEQUANTIZE operators first (they only name constants), so
    // that the operators that compute stand next to each other.
    let (weights, compute): (Numbered, Numbered) = ops
        .iter()
        .enumerate()
        .partition(|(_, o)| o.op == Op::Dequantize);
    for (index, op) in weights {
        t.operator(index, op)?;
    }
    let (indices, compute): (Vec<usize>, Vec<Operator>) =
        compute.into_iter().map(|(i, o)| (i, o.clone())).unzip();
    let mut at = 0;
    while at < compute.len() {
        if t.atrous(&compute[at..], &compute)? {
            at += 3;
            continue;
        }
        t.operator(indices[at], &compute[at])?;
        at += 1;
    }
    let shape = nchw(t.tensor(scores)?)?;
    let classes = shape[1];
    head.check(classes).map_err(|e| unsupported(e.0))?;
    let map = match final_resize {
        Some(resize) => {
            let before = t.dynamic(resize.inputs[0])?;
            let narrowed = t.linear(&before, classes, head);
            let resized = t.resize_op(&resize, &narrowed, head.len())?;
            t.argmax(&resized, head)
        }
        None => {
            let scores_value = t.dynamic(scores)?;
            if logits {
                t.b.output(&scores_value, LOGITS_OUTPUT, ElemType::Float, fixed(&shape));
            }
            t.head(&scores_value, classes, head)
        }
    };
    t.b.output(
        &map,
        CLASSES_OUTPUT,
        ElemType::Int64,
        fixed(&[1, shape[2], shape[3]]),
    );
    let doc = format!("a TFLite segmenter of {classes} classes, translated by easel");
    Ok((
        t.b.finish(&doc, vec![]),
        Contract {
            input: (w, h),
            classes,
        },
    ))
}

pub(super) fn unsupported(what: String) -> TfliteError {
    TfliteError::Unsupported(what)
}

pub(super) fn damaged(what: &str) -> TfliteError {
    TfliteError::Damaged(what.to_string())
}

pub(super) fn fixed(dims: &[usize]) -> Vec<Dim> {
    dims.iter().map(|&d| Dim::Fixed(d as i64)).collect()
}

/// A 4-D NHWC shape as NCHW.
pub(super) fn nchw(t: &Tensor) -> Result<[usize; 4], TfliteError> {
    match t.shape.as_slice() {
        &[n, h, w, c] if n > 0 && h > 0 && w > 0 && c > 0 => {
            Ok([n as usize, c as usize, h as usize, w as usize])
        }
        other => Err(unsupported(format!(
            "has tensor {} of shape {other:?} where a 4-D image is expected",
            t.name
        ))),
    }
}

pub(super) struct Translator<'m> {
    pub(super) model: &'m Model,
    pub(super) b: GraphBuilder,
    /// The ONNX value of each translated activation, by TFLite tensor index.
    pub(super) values: HashMap<i32, String>,
    /// DEQUANTIZE outputs: the constant each stands for.
    pub(super) folded: HashMap<i32, i32>,
}

impl Translator<'_> {
    pub(super) fn tensor(&self, index: i32) -> Result<&Tensor, TfliteError> {
        self.model
            .tensor(index)
            .ok_or_else(|| damaged("an operator names a tensor that is not there"))
    }

    pub(super) fn dynamic(&self, index: i32) -> Result<String, TfliteError> {
        self.values.get(&index).cloned().ok_or_else(|| {
            let name = self.model.tensor(index).map_or("?", |t| t.name.as_str());
            unsupported(format!("reads tensor {name} before any operator writes it"))
        })
    }

    pub(super) fn is_constant(&self, index: i32) -> bool {
        self.folded.contains_key(&index)
            || self.model.tensor(index).is_some_and(|t| !t.data.is_empty())
    }

    /// The constant tensor behind `index` (through a DEQUANTIZE).
    pub(super) fn constant(&self, index: i32) -> Result<&Tensor, TfliteError> {
        self.tensor(self.folded.get(&index).copied().unwrap_or(index))
    }

    /// A constant tensor's values as f32, dequantised when it is int8/uint8.
    pub(super) fn floats(&self, index: i32) -> Result<Vec<f32>, TfliteError> {
        let t = self.constant(index)?;
        let elements = elements(&t.shape)
            .ok_or_else(|| damaged(&format!("weight {} has shape {:?}", t.name, t.shape)))?;
        let values: Vec<f32> = match t.dtype {
            DataType::Float32 => t
                .data
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            DataType::Float16 => t
                .data
                .chunks_exact(2)
                .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            DataType::Int8 | DataType::UInt8 => dequantize(t)?,
            other => {
                return Err(unsupported(format!(
                    "has weight {} of type {other:?}",
                    t.name
                )))
            }
        };
        if values.len() != elements {
            return Err(damaged(&format!(
                "weight {} holds {} values for shape {:?}",
                t.name,
                values.len(),
                t.shape
            )));
        }
        Ok(values)
    }

    pub(super) fn ints(&self, index: i32) -> Result<Vec<i64>, TfliteError> {
        let t = self.tensor(index)?;
        match t.dtype {
            DataType::Int32 => Ok(t
                .data
                .chunks_exact(4)
                .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64)
                .collect()),
            DataType::Int64 => Ok(t
                .data
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                .collect()),
            other => Err(unsupported(format!(
                "has an integer operand {} of type {other:?}",
                t.name
            ))),
        }
    }

    fn operator(&mut self, index: usize, op: &Operator) -> Result<(), TfliteError> {
        let input = |i: usize| -> Result<i32, TfliteError> {
            op.inputs
                .get(i)
                .copied()
                .filter(|&t| t >= 0)
                .ok_or_else(|| {
                    damaged(&format!(
                        "operator {index} ({}) lacks input {i}",
                        op.op.name()
                    ))
                })
        };
        let out = *op.outputs.first().ok_or_else(|| {
            damaged(&format!(
                "operator {index} ({}) has no output",
                op.op.name()
            ))
        })?;
        let value = match (op.op, op.options) {
            (Op::Dequantize, _) => {
                let from = input(0)?;
                if !self.is_constant(from) {
                    return Err(unsupported(format!(
                        "dequantises an activation (operator {index}); only weights are taken"
                    )));
                }
                let source = self.folded.get(&from).copied().unwrap_or(from);
                self.folded.insert(out, source);
                return Ok(());
            }
            (Op::Conv2d | Op::DepthwiseConv2d, Options::Window { window, activation }) => {
                let bias = op.inputs.get(2).copied().filter(|&b| b >= 0);
                let y = self.conv(Convolution {
                    op: op.op,
                    x: input(0)?,
                    weight: input(1)?,
                    bias,
                    window,
                    out,
                    pads: None,
                })?;
                self.activation(y, activation)
            }
            (Op::AveragePool2d, Options::Window { window, activation }) => {
                let x = self.dynamic(input(0)?)?;
                let in_shape = nchw(self.tensor(input(0)?)?)?;
                let pads = pads(window, (in_shape[2], in_shape[3]), window.filter);
                let y = self.b.node(
                    "AveragePool",
                    &[&x],
                    vec![
                        ints("kernel_shape", &[window.filter.0 as i64, window.filter.1 as i64]),
                        ints("strides", &[window.stride.0 as i64, window.stride.1 as i64]),
                        ints("pads", &pads),
                    ],
                    "avgpool",
                );
                self.activation(y, activation)
            }
            (Op::Add | Op::Mul, Options::Elementwise(activation)) => {
                let a = self.operand(input(0)?)?;
                let c = self.operand(input(1)?)?;
                let y = self.b.binary(if op.op == Op::Add { "Add" } else { "Mul" }, &a, &c);
                self.activation(y, activation)
            }
            (Op::Concatenation, Options::Concatenation { axis, activation }) => {
                let rank = self.tensor(out)?.shape.len() as i32;
                let axis = if axis < 0 { axis + rank } else { axis };
                let axis = match (rank, axis) {
                    (4, a @ 0..=3) => [0, 2, 3, 1][a as usize],
                    _ => return Err(unsupported(format!("concatenates on axis {axis} of a {rank}-D tensor"))),
                };
                let parts = op
                    .inputs
                    .iter()
                    .map(|&i| self.operand(i))
                    .collect::<Result<Vec<_>, _>>()?;
                let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
                let y = self.b.node("Concat", &refs, vec![int("axis", axis)], "concat");
                self.activation(y, activation)
            }
            (Op::ResizeBilinear, Options::ResizeBilinear { align_corners, half_pixel_centers }) => {
                let x = self.dynamic(input(0)?)?;
                let size = self.ints(input(1)?)?;
                let [n, c, ..] = nchw(self.tensor(input(0)?)?)?;
                let &[h, w] = size.as_slice() else {
                    return Err(damaged(&format!("operator {index} resizes to {size:?}")));
                };
                self.resize(&x, [n as i64, c as i64, h, w], resize_mode(align_corners, half_pixel_centers))
            }
            (Op::SpaceToBatchNd, _) => self.space_to_batch(input(0)?, input(1)?, input(2)?, out)?,
            (Op::BatchToSpaceNd, _) => self.batch_to_space(input(0)?, input(1)?, input(2)?, out)?,
            (other, _) => {
                return Err(unsupported(format!(
                    "uses {} inside the network (operator {index}); the reader translates it only as the last operator",
                    other.name()
                )))
            }
        };
        self.values.insert(out, value);
        Ok(())
    }

    /// An operand of ADD, MUL or CONCATENATION: an activation, or a
    /// constant broadcast NHWC-wise (a per-channel vector becomes 1×C×1×1).
    fn operand(&mut self, index: i32) -> Result<String, TfliteError> {
        if !self.is_constant(index) {
            return self.dynamic(index);
        }
        let values = self.floats(index)?;
        // The constant's own shape (a DEQUANTIZE's output may say another).
        let shape: Vec<usize> = self
            .constant(index)?
            .shape
            .iter()
            .map(|&d| d.max(0) as usize)
            .collect();
        Ok(match shape.as_slice() {
            [] | [1] => self.b.const_f32("scalar", &[], &values[..1]),
            [c] => self.b.const_f32("per_channel", &[1, *c, 1, 1], &values),
            &[n, h, w, c] => {
                let permuted = nhwc_to_nchw(&values, [n, h, w, c]);
                self.b.const_f32("constant", &[n, c, h, w], &permuted)
            }
            other => {
                return Err(unsupported(format!(
                    "broadcasts a constant of shape {other:?}"
                )))
            }
        })
    }

    pub(super) fn conv(&mut self, c: Convolution) -> Result<String, TfliteError> {
        let Convolution {
            op,
            x,
            weight,
            bias,
            window,
            out,
            pads: explicit_pads,
        } = c;
        let in_shape = nchw(self.tensor(x)?)?;
        let x = self.dynamic(x)?;
        let w_tensor = self.constant(weight)?;
        let w_name = w_tensor.name.clone();
        let &[o, kh, kw, i] = w_tensor.shape.as_slice() else {
            return Err(unsupported(format!(
                "has a convolution weight {w_name} of shape {:?}",
                w_tensor.shape
            )));
        };
        if [o, kh, kw, i].iter().any(|&d| d < 1) {
            return Err(damaged(&format!(
                "convolution weight {w_name} has shape {:?}",
                [o, kh, kw, i]
            )));
        }
        let [o, kh, kw, i] = [o, kh, kw, i].map(|d| d as usize);
        let depthwise = op == Op::DepthwiseConv2d;
        // CONV_2D: (O, KH, KW, I) → (O, I, KH, KW). DEPTHWISE: (1, KH, KW, C·M)
        // → (C·M, 1, KH, KW), in groups of the input's channels.
        let (dims, group) = if depthwise {
            ([i, o, kh, kw], in_shape[1])
        } else {
            ([o, i, kh, kw], 1)
        };
        if (!depthwise && i * group != in_shape[1]) || (depthwise && i % in_shape[1] != 0) {
            return Err(damaged(&format!(
                "weight {w_name} of shape {:?} for an input of {} channels",
                [o, kh, kw, i],
                in_shape[1]
            )));
        }
        let w = self.weight(weight, [o, kh, kw, i], dims, depthwise)?;
        let mut inputs = vec![x, w];
        if let Some(b) = bias {
            let values = self.floats(b)?;
            inputs.push(self.b.const_f32("bias", &[values.len()], &values));
        }
        let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        let pads =
            explicit_pads.unwrap_or_else(|| pads(window, (in_shape[2], in_shape[3]), (kh, kw)));
        let y = self.b.node(
            "Conv",
            &refs,
            vec![
                ints("kernel_shape", &[kh as i64, kw as i64]),
                ints("strides", &[window.stride.0 as i64, window.stride.1 as i64]),
                ints(
                    "dilations",
                    &[window.dilation.0 as i64, window.dilation.1 as i64],
                ),
                ints("pads", &pads),
                int("group", group as i64),
            ],
            "conv",
        );
        let expected = nchw(self.tensor(out)?)?;
        let reach = (kh - 1) * window.dilation.0 + 1;
        let got = match explicit_pads {
            Some([t, _, b, _]) => (in_shape[2] + (t + b) as usize + 1).saturating_sub(reach),
            None => conv_out(in_shape[2], window.stride.0, window.padding, reach),
        };
        if got != expected[2] {
            return Err(damaged(&format!(
                "a convolution's output is {} rows, not {got}",
                expected[2]
            )));
        }
        Ok(y)
    }

    /// A filter in ONNX order: int8 with its per-output-channel scales,
    /// dequantised in the graph (the package keeps TFLite's 8-bit size and
    /// the very values TFLite multiplies by), else fp32.
    fn weight(
        &mut self,
        index: i32,
        tflite: [usize; 4],
        dims: [usize; 4],
        depthwise: bool,
    ) -> Result<String, TfliteError> {
        let model = self.model;
        let t = model
            .tensor(self.folded.get(&index).copied().unwrap_or(index))
            .ok_or_else(|| damaged("a convolution names a weight that is not there"))?;
        let out_axis = if depthwise { 3 } else { 0 };
        if let (DataType::Int8, Some(q)) = (t.dtype, &t.quantization) {
            let symmetric = q.zero_point.iter().all(|&z| z == 0);
            if symmetric
                && (q.scale.len() == 1 || (q.axis == out_axis && q.scale.len() == dims[0]))
                && t.data.len() == dims.iter().product::<usize>()
            {
                let raw: Vec<f32> = t.data.iter().map(|&b| b as i8 as f32).collect();
                let permuted: Vec<i8> = nhwc_to_nchw(&raw, tflite)
                    .iter()
                    .map(|&v| v as i8)
                    .collect();
                // One scale for the tensor, or one per output channel.
                let per: &[usize] = if q.scale.len() == 1 { &[] } else { &dims[..1] };
                let q8 = self.b.const_i8("weight_int8", &dims, &permuted);
                let scale = self.b.const_f32("weight_scale", per, &q.scale);
                let zero = self.b.const_i8("weight_zero", per, &vec![0; q.scale.len()]);
                return Ok(self.b.node(
                    "DequantizeLinear",
                    &[&q8, &scale, &zero],
                    vec![int("axis", 0)],
                    "weight",
                ));
            }
        }
        let values = self.floats(index)?;
        Ok(self
            .b
            .const_f32("weight", &dims, &nhwc_to_nchw(&values, tflite)))
    }

    pub(super) fn activation(&mut self, y: String, activation: Activation) -> String {
        match activation {
            Activation::None => y,
            Activation::Relu => self.b.relu(&y),
            Activation::Relu6 => {
                let lo = self.b.const_f32("zero", &[], &[0.0]);
                let hi = self.b.const_f32("six", &[], &[6.0]);
                self.b.node("Clip", &[&y, &lo, &hi], vec![], "relu6")
            }
        }
    }

    pub(super) fn resize(&mut self, x: &str, sizes: [i64; 4], mode: &str) -> String {
        crate::import::scores_head::resize(&mut self.b, x, sizes, mode)
    }
}

pub(super) fn resize_mode(align_corners: bool, half_pixel_centers: bool) -> &'static str {
    match (align_corners, half_pixel_centers) {
        (true, _) => "align_corners",
        (false, true) => "half_pixel",
        (false, false) => "asymmetric",
    }
}

/// (top, left, bottom, right) padding of a window over an (h, w) input:
/// SAME puts the odd pixel after, as TensorFlow does.
fn pads(window: Window, (h, w): (usize, usize), (kh, kw): (usize, usize)) -> [i64; 4] {
    if window.padding == Padding::Valid {
        return [0; 4];
    }
    let total = |size: usize, stride: usize, k: usize, dilation: usize| -> usize {
        let out = size.div_ceil(stride);
        let reach = (k - 1) * dilation + 1;
        ((out - 1) * stride + reach).saturating_sub(size)
    };
    let th = total(h, window.stride.0, kh, window.dilation.0);
    let tw = total(w, window.stride.1, kw, window.dilation.1);
    [th / 2, tw / 2, th - th / 2, tw - tw / 2].map(|v| v as i64)
}

fn conv_out(size: usize, stride: usize, padding: Padding, reach: usize) -> usize {
    match padding {
        Padding::Same => size.div_ceil(stride),
        Padding::Valid => (size + 1).saturating_sub(reach).div_ceil(stride),
    }
}

/// Values laid out (a, b, c, d) rearranged to (a, d, b, c): NHWC → NCHW, and
/// a TFLite filter (O, KH, KW, I) → ONNX's (O, I, KH, KW).
fn nhwc_to_nchw(values: &[f32], [a, b, c, d]: [usize; 4]) -> Vec<f32> {
    let mut out = vec![0.0; values.len()];
    for ia in 0..a {
        for ib in 0..b {
            for ic in 0..c {
                for id in 0..d {
                    out[((ia * d + id) * b + ib) * c + ic] =
                        values[((ia * b + ib) * c + ic) * d + id];
                }
            }
        }
    }
    out
}

/// How many values a tensor of `shape` holds; None for a negative or
/// overflowing shape (a damaged file).
fn elements(shape: &[i32]) -> Option<usize> {
    shape.iter().try_fold(1usize, |n, &d| {
        usize::try_from(d).ok().and_then(|d| n.checked_mul(d))
    })
}

/// An int8/uint8 weight as floats: (q − zero point) × scale, per channel
/// along the quantised axis when it has one scale per channel.
fn dequantize(t: &Tensor) -> Result<Vec<f32>, TfliteError> {
    let q = t
        .quantization
        .as_ref()
        .ok_or_else(|| unsupported(format!("has an 8-bit weight {} without a scale", t.name)))?;
    elements(&t.shape)
        .ok_or_else(|| damaged(&format!("weight {} has shape {:?}", t.name, t.shape)))?;
    let shape: Vec<usize> = t.shape.iter().map(|&d| d.max(0) as usize).collect();
    let channels = shape.get(q.axis).copied().unwrap_or(1);
    let inner: usize = shape.iter().skip(q.axis + 1).product();
    let per_channel = q.scale.len() > 1;
    if per_channel && q.scale.len() != channels {
        return Err(damaged(&format!(
            "weight {} has {} scales for {channels} channels",
            t.name,
            q.scale.len()
        )));
    }
    let raw: Vec<f32> = match t.dtype {
        DataType::Int8 => t.data.iter().map(|&b| b as i8 as f32).collect(),
        _ => t.data.iter().map(|&b| b as f32).collect(),
    };
    Ok(raw
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let c = if per_channel {
                (i / inner.max(1)) % channels
            } else {
                0
            };
            let zero = q
                .zero_point
                .get(c)
                .or(q.zero_point.first())
                .copied()
                .unwrap_or(0) as f32;
            (v - zero) * q.scale[c]
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_padding_puts_the_odd_pixel_after() {
        let w = Window {
            padding: Padding::Same,
            stride: (2, 2),
            dilation: (1, 1),
            filter: (3, 3),
        };
        // 513 at stride 2 → 257 outputs reaching 515: one before, one after.
        assert_eq!(pads(w, (513, 513), (3, 3)), [1, 1, 1, 1]);
        // 514 → 257 outputs reaching 515: none before, one after.
        assert_eq!(pads(w, (514, 514), (3, 3)), [0, 0, 1, 1]);
    }

    #[test]
    fn filters_and_images_are_permuted_to_onnx_order() {
        // (1, 2, 1, 3): values 0..6 as (a, b, c, d) → (a, d, b, c).
        let v: Vec<f32> = (0..6).map(|x| x as f32).collect();
        assert_eq!(
            nhwc_to_nchw(&v, [1, 2, 1, 3]),
            [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]
        );
    }
}
