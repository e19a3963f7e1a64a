//! TensorFlow Lite models read from their FlatBuffers file, by hand and
//! bounds-checked (a file is untrusted input): the tensors, the operators
//! and the weights of the one subgraph a segmenter has, for translation
//! into ONNX (issue 26). Refuses, naming it, an operator it does not know.

mod atrous;
mod flat;
mod head;
mod options;
mod to_onnx;

pub use crate::import::scores_head::Head;
use flat::{Flat, Table};
pub use options::{Activation, Options, Padding, Window};
pub use to_onnx::{translate, Contract, LOGITS_OUTPUT};

/// Why a file is not a model this reader takes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TfliteError {
    #[error("not a TensorFlow Lite model (no `TFL3` identifier at byte 4)")]
    NotTflite,
    #[error("the model file is damaged ({0}); download or export the .tflite again")]
    Damaged(String),
    /// A use of a known operator that the translation does not take.
    #[error("the model {0}, which the reader does not translate")]
    Unsupported(String),
    #[error("the model has {0} subgraphs; a segmenter has one")]
    Subgraphs(usize),
    #[error("operator {index} is {name} (builtin code {code}), which the reader does not translate; it knows {known}")]
    UnknownOperator {
        index: usize,
        code: i32,
        name: String,
        known: String,
    },
}

/// The operators the reader takes (those of DeepLabV3 + MobileNetV2, MUL
/// included, which the fixture's README leaves out; and ARG_MAX), with
/// their builtin codes. Their translation into ONNX is the next step of
/// issue 26.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    Add,
    AveragePool2d,
    Concatenation,
    Conv2d,
    DepthwiseConv2d,
    Dequantize,
    ResizeBilinear,
    BatchToSpaceNd,
    SpaceToBatchNd,
    ArgMax,
    Mul,
}

impl Op {
    const ALL: [(i32, Op, &'static str); 11] = [
        (0, Op::Add, "ADD"),
        (1, Op::AveragePool2d, "AVERAGE_POOL_2D"),
        (2, Op::Concatenation, "CONCATENATION"),
        (3, Op::Conv2d, "CONV_2D"),
        (4, Op::DepthwiseConv2d, "DEPTHWISE_CONV_2D"),
        (6, Op::Dequantize, "DEQUANTIZE"),
        (23, Op::ResizeBilinear, "RESIZE_BILINEAR"),
        (37, Op::BatchToSpaceNd, "BATCH_TO_SPACE_ND"),
        (38, Op::SpaceToBatchNd, "SPACE_TO_BATCH_ND"),
        (56, Op::ArgMax, "ARG_MAX"),
        (18, Op::Mul, "MUL"),
    ];

    fn of_code(code: i32) -> Option<Op> {
        Self::ALL
            .iter()
            .find(|(c, ..)| *c == code)
            .map(|(_, op, _)| *op)
    }

    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, op, _)| *op == self)
            .map_or("?", |(.., name)| name)
    }
}

/// The element types the reader takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataType {
    Float32,
    Float16,
    Int32,
    Int8,
    UInt8,
    Int64,
    Other(u8),
}

impl DataType {
    fn of_code(code: u8) -> Self {
        match code {
            0 => DataType::Float32,
            1 => DataType::Float16,
            2 => DataType::Int32,
            3 => DataType::UInt8,
            4 => DataType::Int64,
            9 => DataType::Int8,
            other => DataType::Other(other),
        }
    }
}

/// Per-tensor or per-channel (along `axis`) quantisation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Quantization {
    pub scale: Vec<f32>,
    pub zero_point: Vec<i64>,
    pub axis: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub name: String,
    pub shape: Vec<i32>,
    pub dtype: DataType,
    /// The bytes of a constant tensor (weights); empty for activations.
    pub data: Vec<u8>,
    pub quantization: Option<Quantization>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Operator {
    pub op: Op,
    pub options: Options,
    /// Tensor indices; -1 is an absent optional input.
    pub inputs: Vec<i32>,
    pub outputs: Vec<i32>,
}

/// A model's one subgraph.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub tensors: Vec<Tensor>,
    pub inputs: Vec<i32>,
    pub outputs: Vec<i32>,
    pub operators: Vec<Operator>,
}

impl Model {
    /// Reads a `.tflite` file's bytes.
    pub fn read(bytes: &[u8]) -> Result<Model, TfliteError> {
        if bytes.get(4..8) != Some(b"TFL3".as_slice()) {
            return Err(TfliteError::NotTflite);
        }
        let flat = Flat::new(bytes);
        let root = flat.root()?;
        // Model: operator_codes 1, subgraphs 2, buffers 4.
        let codes = root
            .tables(1)?
            .iter()
            .map(|code| {
                // OperatorCode: deprecated_builtin_code 0 (byte), builtin_code 3 (int).
                let old = code.i8(0)? as i32;
                Ok(code.i32(3)?.max(old))
            })
            .collect::<Result<Vec<i32>, TfliteError>>()?;
        let buffers = root
            .tables(4)?
            .iter()
            .map(|b| b.bytes(0))
            .collect::<Result<Vec<&[u8]>, TfliteError>>()?;
        let subgraphs = root.tables(2)?;
        let [graph] = subgraphs.as_slice() else {
            return Err(TfliteError::Subgraphs(subgraphs.len()));
        };
        let tensors = graph
            .tables(0)?
            .iter()
            .map(|t| tensor(t, &buffers))
            .collect::<Result<Vec<_>, _>>()?;
        let operators = graph
            .tables(3)?
            .iter()
            .enumerate()
            .map(|(index, o)| {
                let code = *codes.get(o.u32(0)? as usize).ok_or_else(|| {
                    TfliteError::Damaged(format!("operator {index} names no operator code"))
                })?;
                let op = Op::of_code(code).ok_or_else(|| TfliteError::UnknownOperator {
                    index,
                    code,
                    name: builtin_name(code).to_string(),
                    known: Op::ALL.map(|(.., n)| n).join(", "),
                })?;
                Ok(Operator {
                    op,
                    options: Options::read(op, o.table(4)?, index)?,
                    inputs: o.i32s(1)?,
                    outputs: o.i32s(2)?,
                })
            })
            .collect::<Result<Vec<_>, TfliteError>>()?;
        let model = Model {
            inputs: graph.i32s(1)?,
            outputs: graph.i32s(2)?,
            tensors,
            operators,
        };
        model.check_indices()?;
        Ok(model)
    }

    /// Every tensor index an operator or the graph names exists.
    fn check_indices(&self) -> Result<(), TfliteError> {
        let n = self.tensors.len() as i32;
        let named = self
            .operators
            .iter()
            .flat_map(|o| o.inputs.iter().chain(&o.outputs))
            .chain(self.inputs.iter().chain(&self.outputs));
        for &i in named {
            if i < -1 || i >= n {
                return Err(TfliteError::Damaged(format!(
                    "tensor index {i} of {n} tensors"
                )));
            }
        }
        Ok(())
    }

    /// The tensor at `index` (`-1`: none).
    pub fn tensor(&self, index: i32) -> Option<&Tensor> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.tensors.get(i))
    }
}

/// Tensor: shape 0, type 1, buffer 2, name 3, quantization 4.
fn tensor(t: &Table, buffers: &[&[u8]]) -> Result<Tensor, TfliteError> {
    let quantization = match t.table(4)? {
        Some(q) => {
            // QuantizationParameters: scale 2, zero_point 3, quantized_dimension 6.
            let scale = q.f32s(2)?;
            let zero_point = q.i64s(3)?;
            (!scale.is_empty()).then(|| Quantization {
                scale,
                zero_point,
                axis: q.i32(6).unwrap_or(0).max(0) as usize,
            })
        }
        None => None,
    };
    let buffer = t.u32(2)? as usize;
    Ok(Tensor {
        name: t.string(3)?.unwrap_or_default(),
        shape: t.i32s(0)?,
        dtype: DataType::of_code(t.u8(1)?),
        data: buffers.get(buffer).map_or_else(Vec::new, |b| b.to_vec()),
        quantization,
    })
}

/// TFLite's name of a builtin operator the reader does not translate, for
/// the refusal (the common ones; others by number).
fn builtin_name(code: i32) -> &'static str {
    match code {
        5 => "DEPTH_TO_SPACE",
        9 => "FULLY_CONNECTED",
        14 => "LOGISTIC",
        17 => "MAX_POOL_2D",
        18 => "MUL",
        19 => "RELU",
        21 => "RELU6",
        22 => "RESHAPE",
        25 => "SOFTMAX",
        28 => "TANH",
        34 => "PAD",
        39 => "TRANSPOSE",
        40 => "MEAN",
        41 => "SUB",
        97 => "RESIZE_NEAREST_NEIGHBOR",
        _ => "an operator",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shared DeepLabV3 segmenter: under `$EASEL_SHARED_DIR`, else
    /// `shared/` beside the repository or inside it (as server/tests finds
    /// its fixtures).
    fn fixture() -> Vec<u8> {
        let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let file = "fixtures/segmenters/ade20k_deeplabv3_mnv2/deeplabv3_mobilenetv2_ade20k.tflite";
        let path = [
            std::env::var_os("EASEL_SHARED_DIR").map(std::path::PathBuf::from),
            Some(repo.join("../shared")),
            Some(repo.join("shared")),
        ]
        .into_iter()
        .flatten()
        .map(|dir| dir.join(file))
        .find(|p| p.is_file())
        .expect("the shared DeepLabV3 fixture (set EASEL_SHARED_DIR)");
        std::fs::read(path).unwrap()
    }

    #[test]
    fn the_deeplab_segmenter_reads_with_its_documented_shapes_and_ops() {
        let model = Model::read(&fixture()).unwrap();
        let input = model.tensor(model.inputs[0]).unwrap();
        let output = model.tensor(model.outputs[0]).unwrap();
        assert_eq!(
            (input.shape.as_slice(), input.dtype),
            (&[1, 513, 513, 3][..], DataType::Float32)
        );
        assert_eq!(output.shape, [1, 513, 513, 151]);
        let mut ops: Vec<Op> = model.operators.iter().map(|o| o.op).collect();
        ops.sort();
        ops.dedup();
        let names: Vec<&str> = ops.iter().map(|o| o.name()).collect();
        assert_eq!(
            names,
            [
                "ADD",
                "AVERAGE_POOL_2D",
                "CONCATENATION",
                "CONV_2D",
                "DEPTHWISE_CONV_2D",
                "DEQUANTIZE",
                "RESIZE_BILINEAR",
                "BATCH_TO_SPACE_ND",
                "SPACE_TO_BATCH_ND",
                "MUL"
            ],
            "the ops its README lists, and MUL, which it leaves out"
        );
        // int8 weights, dequantised by DEQUANTIZE operators.
        let dequantized = model
            .operators
            .iter()
            .filter(|o| o.op == Op::Dequantize)
            .map(|o| model.tensor(o.inputs[0]).unwrap())
            .collect::<Vec<_>>();
        assert!(!dequantized.is_empty());
        for t in dequantized {
            let q = t.quantization.as_ref().expect("a quantised weight");
            let elements: i32 = t.shape.iter().product();
            assert_eq!(
                t.data.len(),
                elements as usize,
                "{}: one byte a weight",
                t.name
            );
            assert!(q.scale.iter().all(|s| *s > 0.0), "{}", t.name);
        }
    }

    #[test]
    fn other_files_and_damaged_ones_are_refused_without_a_panic() {
        assert_eq!(
            Model::read(b"not a model at all"),
            Err(TfliteError::NotTflite)
        );
        let bytes = fixture();
        for cut in [8, 64, 4096, bytes.len() / 2] {
            assert!(Model::read(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        // Flipped bytes in the header's offsets: an error or a model, never a panic.
        for at in [0usize, 1, 9, 17, 33, 100, 1000] {
            let mut broken = bytes.clone();
            broken[at] ^= 0xA5;
            let _ = Model::read(&broken);
        }
    }

    #[test]
    fn an_unknown_operator_is_refused_by_name() {
        // The fixture with its first operator code's builtin code made RESHAPE.
        let mut bytes = fixture();
        let flat = Flat::new(&bytes);
        let codes = flat.root().unwrap().tables(1).unwrap();
        // Files of this age name the op in the byte field only
        // (deprecated_builtin_code); newer ones in an int field too.
        let (byte, int) = (codes[0].position(0), codes[0].position(3));
        assert!(byte.is_some() || int.is_some(), "a builtin code field");
        if let Some(at) = byte {
            bytes[at] = 22;
        }
        if let Some(at) = int {
            bytes[at..at + 4].copy_from_slice(&22i32.to_le_bytes());
        }
        let e = Model::read(&bytes).unwrap_err();
        let text = e.to_string();
        assert!(
            matches!(e, TfliteError::UnknownOperator { code: 22, .. }),
            "{text}"
        );
        assert!(
            text.contains("RESHAPE") && text.contains("CONV_2D"),
            "{text}"
        );
    }
}
